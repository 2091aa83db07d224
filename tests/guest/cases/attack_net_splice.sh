# nodes: 1
# Attack 6b, data through a socket without the send/recv hooks.
# EXPECTS THE ATTACKS MARKED "hole" TO SUCCEED (documents holes).
#
# Send side: label a may create and connect its sockets but not send.
# send(), write() and the io_uring SEND/SEND_ZC/SENDMSG/WRITE requests
# reach sock_sendmsg (security_socket_sendmsg) and are denied. sendfile(),
# splice() from a pipe and vmsplice()+splice() go pipe_to_sendpage ->
# sock_sendpage -> kernel_sendpage -> inet_sendpage -> tcp_sendpage /
# udp_sendpage (udp_sendmsg called directly), and io_uring SPLICE calls
# do_splice: none passes security_socket_sendmsg; all pass rw_verify_area
# -> security_file_permission(MAY_WRITE) on the socket's file.
#
# Receive side: label r may accept but not receive. recv(), read() and
# io_uring RECV/READ are denied; splice() and sendfile() into a pipe
# (do_splice_to -> sock_splice_read -> tcp_splice_read), io_uring SPLICE,
# and getsockopt(TCP_ZEROCOPY_RECEIVE) (tcp_zerocopy_receive ->
# receive_fallback_to_copy -> tcp_recvmsg_locked, after an mmap of the
# socket) take the data without security_socket_recvmsg. A UDP socket has
# no splice_read: splice falls back to generic_file_splice_read ->
# sock_read_iter -> sock_recvmsg and is denied.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
label r = 73;
allow unconfined r : process transition;
allow { a c r } self : process fork;   # io_uring workers are threads
allow a self : socket inet { create connect };
allow b self : socket inet { create bind listen accept recv };
allow c self : socket inet { create connect send };
allow r self : socket inet { create bind listen accept };
allow a@node1 b : peer recv;
allow c@node1 r : peer recv;
allow b@node1 { a c } : peer recv;
allow r@node1 { a c } : peer recv;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

# ---- send side: a -> b ----------------------------------------------------
send_modes="send write uring-send uring-sendzc uring-sendmsg uring-write sendfile splice vmsplice uring-splice"
port=9710
for m in $send_modes; do
	as b "$PROBE" tcp-accept $port 6 >/tmp/snd.$m &
	wait_ready /tmp/snd.$m || fail "server for $m"
	as a "$IO" send "$m" tcp 127.0.0.1 $port >/tmp/cli.$m 2>&1
	port=$((port + 1))
done
for m in udp-send udp-sendfile udp-splice; do
	as b "$PROBE" udp-recv $port 4 >/tmp/snd.$m &
	wait_ready /tmp/snd.$m || fail "server for $m"
	as a "$IO" send "${m#udp-}" udp 127.0.0.1 $port >/tmp/cli.$m 2>&1
	port=$((port + 1))
done
for m in $send_modes; do
	got=$(wait_done /tmp/snd.$m '^(accepted|accept timeout)' 150)
	echo "  client $m: $(tail -1 /tmp/cli.$m)"
	case $m in
	send | write | uring-*send* | uring-write)
		control "a sends with $m" "$got" "accepted " ;;
	*)
		attack "6b a (no send permission) sends with $m" hole "$got" "accepted x" ;;
	esac
done
for m in udp-send udp-sendfile udp-splice; do
	got=$(wait_done /tmp/snd.$m '^received' 100)
	echo "  client $m: $(tail -1 /tmp/cli.$m)"
	case $m in
	udp-send) control "a sends a datagram with send" "$got" "received 0" ;;
	*) attack "6b a (no send permission) sends a datagram with ${m#udp-}" hole "$got" "received 1" ;;
	esac
done
alarm_expect subject=a target=a class=socket perm=send verdict=deny

# ---- receive side: c -> r -------------------------------------------------
recv_modes="recv read uring-recv uring-read splice sendfile uring-splice zerocopy"
for m in $recv_modes; do
	as r "$IO" recv "$m" tcp $port 8 >/tmp/rcv.$m 2>&1 &
	wait_ready /tmp/rcv.$m || fail "server for $m: $(cat /tmp/rcv.$m)"
	expect_probe "send OK" as c "$PROBE" connect 127.0.0.1 $port
	port=$((port + 1))
done
for m in udp-recv udp-splice udp-uring-recv; do
	as r "$IO" recv "${m#udp-}" udp $port 8 >/tmp/rcv.$m 2>&1 &
	wait_ready /tmp/rcv.$m || fail "server for $m"
	expect_probe "sent 1" as c "$PROBE" udp-send 127.0.0.1 $port 1
	port=$((port + 1))
done
for m in $recv_modes udp-recv udp-splice udp-uring-recv; do
	got=$(wait_done /tmp/rcv.$m "^${m#udp-} " 150)
	case $m in
	recv | read | uring-recv | uring-read | udp-*)
		control "r receives with $m" "$got" "${m#udp-} EACCES" ;;
	*)
		grep -h '^zerocopy mapped' /tmp/rcv.$m 2>/dev/null
		attack "6b r (no recv permission) receives with $m" hole "$got" "$m OK x" ;;
	esac
done
alarm_expect subject=r target=r class=socket perm=recv verdict=deny
