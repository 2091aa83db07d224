# nodes: 1
# Attack 6b, data through a socket without the send/recv hooks.
#
# Send side: sendfile(), splice() from a pipe, vmsplice()+splice() and the
# io_uring SPLICE request go pipe_to_sendpage -> sock_sendpage ->
# kernel_sendpage -> tcp_sendpage / udp_sendpage and never pass
# security_socket_sendmsg; every one passes rw_verify_area ->
# security_file_permission(MAY_WRITE) on the socket's file, which dsm
# checks as send (bpf/socket.bpf.h). send(), write() and the io_uring
# SEND, SEND_ZC, SENDMSG and WRITE requests reach sock_sendmsg.
#
# Receive side: splice() and sendfile() into a pipe and io_uring SPLICE
# (do_splice_to -> sock_splice_read -> tcp_splice_read) pass
# security_file_permission(MAY_READ), checked as recv;
# getsockopt(TCP_ZEROCOPY_RECEIVE) (tcp_zerocopy_receive ->
# receive_fallback_to_copy -> tcp_recvmsg_locked) is checked as recv at
# socket_getsockopt, with or without an mmap of the socket, and the mmap
# itself at mmap_file. A UDP socket has no splice_read: splice falls back
# to sock_recvmsg.
#
# Every path: with dsm off the data goes through; with dsm enforcing, a
# label without the permission is refused (EACCES, alarm) and a label with
# it is not.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

send_modes="send write uring-send uring-sendzc uring-sendmsg uring-write sendfile splice vmsplice uring-splice"
udp_send_modes="send sendfile splice"
recv_modes="recv read uring-recv uring-recvmsg uring-read splice sendfile uring-splice zerocopy zerocopy-copy"
udp_recv_modes="recv splice uring-recv"
port=9710

# outcome WANT WHAT GOT SUCCESS: WANT "works": a control, GOT must be
# SUCCESS; WANT "blocked": an attack that must fail. Paths dsm checked
# before (send, recv ...) take "control" either way.
outcome() {
	if [[ $1 == works ]]; then control "$2" "$3" "$4"; else attack "$2" blocked "$3" "$4"; fi
}

# send_all WHO WANT: WHO (a label, or "-" for no dsm) sends with every
# mode to a server of b; WANT: works or blocked ("accepted x": the server
# got the data, "accepted ": it did not).
send_all() {
	local who=$1 want=$2 m got
	local -a run=() srv=()
	[[ $who != - ]] && run=(as "$who") && srv=(as b)
	for m in $send_modes; do
		"${srv[@]}" "$PROBE" tcp-accept $port 6 >/tmp/snd.$who.$m &
		wait_ready /tmp/snd.$who.$m || fail "server for $m"
		"${run[@]}" "$IO" send "$m" tcp 127.0.0.1 $port >/tmp/cli.$who.$m 2>&1
		port=$((port + 1))
	done
	for m in $udp_send_modes; do
		"${srv[@]}" "$PROBE" udp-recv $port 4 >/tmp/snd.$who.udp-$m &
		wait_ready /tmp/snd.$who.udp-$m || fail "server for udp $m"
		"${run[@]}" "$IO" send "$m" udp 127.0.0.1 $port >/tmp/cli.$who.udp-$m 2>&1
		port=$((port + 1))
	done
	for m in $send_modes; do
		got=$(wait_done /tmp/snd.$who.$m '^(accepted|accept timeout)' 150)
		echo "  client $who $m: $(tail -1 /tmp/cli.$who.$m)"
		case $m in
		sendfile | splice | vmsplice | uring-splice)
			outcome "$want" "6b $who sends with $m" "$got" "accepted x" ;;
		*) control "$who sends with $m" "$got" \
			"$([[ $want == works ]] && echo "accepted x" || echo "accepted ")" ;;
		esac
	done
	for m in $udp_send_modes; do
		got=$(wait_done /tmp/snd.$who.udp-$m '^received' 100)
		echo "  client $who udp $m: $(tail -1 /tmp/cli.$who.udp-$m)"
		case $m in
		send) control "$who sends a datagram with send" "$got" \
			"$([[ $want == works ]] && echo "received 1" || echo "received 0")" ;;
		*) outcome "$want" "6b $who sends a datagram with $m" "$got" "received 1" ;;
		esac
	done
}

# recv_all WHO WANT: a server of WHO ("-": no dsm) takes data from c with
# every mode; WANT: works or blocked.
recv_all() {
	local who=$1 want=$2 m got
	local -a run=() cli=()
	[[ $who != - ]] && run=(as "$who") && cli=(as c)
	for m in $recv_modes; do
		"${run[@]}" "$IO" recv "$m" tcp $port 8 >/tmp/rcv.$who.$m 2>&1 &
		wait_ready /tmp/rcv.$who.$m || fail "server for $m: $(cat /tmp/rcv.$who.$m)"
		expect_probe "send OK" "${cli[@]}" "$PROBE" connect 127.0.0.1 $port
		port=$((port + 1))
	done
	for m in $udp_recv_modes; do
		"${run[@]}" "$IO" recv "$m" udp $port 8 >/tmp/rcv.$who.udp-$m 2>&1 &
		wait_ready /tmp/rcv.$who.udp-$m || fail "server for udp $m"
		expect_probe "sent 1" "${cli[@]}" "$PROBE" udp-send 127.0.0.1 $port 1
		port=$((port + 1))
	done
	for m in $recv_modes; do
		got=$(wait_done /tmp/rcv.$who.$m "^$m " 150)
		grep -h '^mmap-socket\|^zerocopy mapped' /tmp/rcv.$who.$m 2>/dev/null | sed 's/^/  /'
		case $m in
		recv | read | uring-recv | uring-recvmsg | uring-read)
			control "$who receives with $m" "$got" \
				"$([[ $want == works ]] && echo "$m OK x" || echo "$m EACCES")" ;;
		*) outcome "$want" "6b $who receives with $m" "$got" "$m OK x"
		   [[ $want == works ]] || expect_eq "$who: $m" "$got" "$m EACCES" ;;
		esac
	done
	for m in $udp_recv_modes; do
		got=$(wait_done /tmp/rcv.$who.udp-$m "^$m " 150 | cut -d' ' -f1-2)
		control "$who receives a datagram with $m" "$got" \
			"$([[ $want == works ]] && echo "$m OK" || echo "$m EACCES")"
	done
}

# ---- no dsm: every path moves the data ------------------------------------
send_all - works
recv_all - works

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
label r = 73;
allow unconfined r : process transition;
allow { a b c r } self : process fork;   # io_uring workers are threads
allow a self : socket inet { create connect };
allow b self : socket inet { create bind listen accept recv };
allow c self : socket inet { create connect send };
allow r self : socket inet { create bind listen accept };
allow a@node1 b : peer recv;
allow c@node1 { b r } : peer recv;
allow b@node1 { a c } : peer recv;
allow r@node1 { a c } : peer recv;
allow b self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

# ---- send side: a may not send, c may -------------------------------------
send_all a blocked
alarm_expect subject=a target=a class=socket perm=send verdict=deny
send_all c works
expect_eq "send alarms for c" "$(alarm_count subject=c perm=send)" 0

# ---- receive side: r may not receive, b may -------------------------------
recv_all r blocked
alarm_expect subject=r target=r class=socket perm=recv verdict=deny
recv_all b works
expect_eq "recv alarms for b" "$(alarm_count subject=b perm=recv)" 0
