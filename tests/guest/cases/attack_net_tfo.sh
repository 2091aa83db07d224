# nodes: 1
# Attack 6a, TCP Fast Open: sendto(..., MSG_FASTOPEN, addr) connects inside
# tcp_sendmsg (tcp_sendmsg_fastopen -> __inet_stream_connect) and never
# passes security_socket_connect, which only __sys_connect_file calls. dsm
# checks a sendmsg with MSG_FASTOPEN on a stream socket as connect as
# well as send (bpf/socket.bpf.h), so a label that may create and send on
# a TCP socket but not connect it cannot open a connection that way, by
# sendto or by an io_uring SENDMSG. Without dsm, and for a label that may
# connect, Fast Open works.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

sysctl -qw net.ipv4.tcp_fastopen=3

serve() { # PORT [LABEL]
	if [[ -n ${2:-} ]]; then
		as "$2" "$PROBE" tcp-accept "$1" 8 >"/tmp/srv.$1" &
	else
		"$PROBE" tcp-accept "$1" 8 >"/tmp/srv.$1" &
	fi
	wait_ready "/tmp/srv.$1" || fail "server on $1: $(cat "/tmp/srv.$1")"
}
accepted() { wait_done "/tmp/srv.$1" '^(accepted|accept timeout)'; }

# (0) No dsm: Fast Open connects, by sendto and by io_uring.
serve 9698
"$IO" tfo 127.0.0.1 9698 >/tmp/tfo.0 2>&1
control "no dsm: sendto(MSG_FASTOPEN)" "$(accepted 9698)" "accepted x"
serve 9699
"$IO" tfo 127.0.0.1 9699 uring >/tmp/tfo.0u 2>&1
control "no dsm: io_uring SENDMSG with MSG_FASTOPEN" "$(accepted 9699)" "accepted x"

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
allow a@node1 b : peer recv;
allow c@node1 b : peer recv;
allow b@node1 { a c } : peer recv;
allow { a c } self : process fork;   # io_uring workers are threads
allow a self : socket inet stream { create send };
allow c self : socket inet stream { create connect send };
allow b self : socket inet stream { create bind listen accept recv };
allow b self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

# (1) connect() itself is checked: a may not connect.
serve 9700 b
expect_probe "connect EACCES" as a "$PROBE" connect 127.0.0.1 9700
control "connect() by a" "$(accepted 9700)" "accept timeout"
alarm_expect subject=a target=a class=socket perm=connect verdict=deny

# (2) The same connection by Fast Open: checked as connect.
serve 9701 b
as a "$IO" tfo 127.0.0.1 9701 >/tmp/tfo 2>&1
cat /tmp/tfo
expect_eq "a's sendto(MSG_FASTOPEN)" "$(grep sendto-fastopen /tmp/tfo)" "sendto-fastopen EACCES"
attack "6a TFO: sendto(MSG_FASTOPEN) by a label without connect" blocked \
	"$(accepted 9701)" "accepted x"
serve 9702 b
as a "$IO" tfo 127.0.0.1 9702 uring >/tmp/tfo.u 2>&1
cat /tmp/tfo.u
attack "6a TFO: io_uring SENDMSG with MSG_FASTOPEN by a label without connect" blocked \
	"$(accepted 9702)" "accepted x"
expect_eq "connect alarms for a" "$(alarm_count subject=a target=a class=socket perm=connect verdict=deny)" 3

# (3) A label that may connect: Fast Open works, and the receive check
# ran (the SYN carried c@node1).
serve 9703 b
as c "$IO" tfo 127.0.0.1 9703 >/tmp/tfo.c 2>&1 || { cat /tmp/tfo.c; fail "c's Fast Open"; }
control "c (create connect send): sendto(MSG_FASTOPEN)" "$(accepted 9703)" "accepted x"
control "the server's peer" "$(grep -m1 '^peer' /tmp/srv.9703)" "peer c@node1 bound"
expect_eq "connect alarms for c" "$(alarm_count subject=c perm=connect)" 0
