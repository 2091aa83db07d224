# nodes: 1
# The process that created a socket uses the permissions cached in it
# without a look at its own label (bpf/socket.h); exec ends that. A
# process labeled a sends twice on its UDP socket (the second send is
# served by the cache), then execs a binary that moves it to c and keeps
# the socket: the next send is c's on a's socket, and c may not send.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$PROBE" /tmp/probe-c
dsm_policy /tmp/p.policy <<EOF2
file /tmp/probe-c : probe_exec;
transition a probe_exec -> c;
allow a { unconfined probe_exec } : file exec;
allow a self : socket inet dgram *;
allow c a : socket inet dgram { recv };
EOF2
dsm_start /tmp/p.policy

"$PROBE" udp-recv 9711 10 >/tmp/recv &
recv=$!
server_ready /tmp/recv
out=$(as a bash -c 'exec 5>/dev/udp/127.0.0.1/9711 || exit 1
for i in 1 2; do echo x >&5 && echo "send OK"; done
exec /tmp/probe-c fd-send 5' 2>&1)
echo "$out"
wait "$recv"
expect_eq "sends before and after exec" "$(tr '\n' ' ' <<<"$out")" "send OK send OK send EACCES "
expect_eq "datagrams received" "$(tail -1 /tmp/recv)" "received 2"
alarm_expect subject=c target=a class=socket perm=send verdict=deny
