# nodes: 1
# Attack 6a, TCP Fast Open. EXPECTS THE ATTACK TO SUCCEED (documents a
# hole): a label that may create and send on a TCP socket but not connect
# it opens a connection with sendto(MSG_FASTOPEN, addr). The connect
# happens inside tcp_sendmsg (tcp_sendmsg_fastopen -> __inet_stream_connect)
# and never passes security_socket_connect, which only __sys_connect_file
# calls; the sendmsg hook sees a "send". The receive check still runs (the
# SYN is labeled a@node1 and b may hear a), so this is a bypass of the
# local connect permission only.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
allow a@node1 b : peer recv;
allow b@node1 a : peer recv;
allow a self : socket inet stream { create send };
allow b self : socket inet stream { create bind listen accept recv };
allow b self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
sysctl -qw net.ipv4.tcp_fastopen=3

serve() {
	as b "$PROBE" tcp-accept "$1" 8 >"/tmp/srv.$1" &
	wait_ready "/tmp/srv.$1" || fail "server on $1: $(cat "/tmp/srv.$1")"
}

# (1) connect() itself is checked: a may not connect.
serve 9700
expect_probe "connect EACCES" as a "$PROBE" connect 127.0.0.1 9700
control "connect() by a" "$(wait_done /tmp/srv.9700 '^(accepted|accept timeout)')" "accept timeout"
alarm_expect subject=a target=a class=socket perm=connect verdict=deny

# (2) the same connection by Fast Open: no connect check.
serve 9701
as a "$IO" tfo 127.0.0.1 9701 >/tmp/tfo 2>&1
cat /tmp/tfo
attack "6a TFO: sendto(MSG_FASTOPEN) by a label without connect" hole \
	"$(wait_done /tmp/srv.9701 '^(accepted|accept timeout)')" "accepted x"
grep -qx 'peer a@node1 bound' /tmp/srv.9701 && echo "server saw peer a@node1 (receive check ran)"
expect_eq "connect alarms for a" "$(alarm_count subject=a perm=connect)" 1
