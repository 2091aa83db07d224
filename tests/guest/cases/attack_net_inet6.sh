# nodes: 2
# Attack 6e, AF_INET6. EXPECTS THE ATTACKS MARKED "hole" TO SUCCEED
# (documents holes).
#
# The receive check (socket_sock_rcv_skb in bpf/peer.h) returns 0 for
# every socket whose family is not AF_INET, and dsm_egress passes IPv6
# untouched. A dual-stack socket ([::]:port, IPV6_V6ONLY 0) receives IPv4
# too (tcp_v4_rcv / udp_v4 lookups find it as a v4-mapped socket): the
# SYN or datagram from c@node1 arrives with a valid dsm option naming c,
# the hook sees an AF_INET6 socket and lets it through. Native IPv6 (::1,
# and between nodes over fd77::/64) is not labeled and not checked. s
# hears nobody in this policy; c reaches it five ways. AF_INET sockets of
# s are the controls.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
ip -6 addr add "fd77::$DSM_NODE/64" dev eth0 nodad || fail "no IPv6 address"
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
label s = 72;
allow unconfined s : process transition;
allow { c s } self : socket inet { create bind listen accept connect send recv };
allow { c s } self : socket inet6 { create bind listen accept connect send recv };
allow s@node2 c : peer recv;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

# port  server on node 2 (label s)   client
# 9821  inet TCP                     c@node1 -> 10.77.0.2    control
# 9822  inet6 TCP [::] dual-stack    c@node1 -> 10.77.0.2    IPv4 to a dual-stack socket
# 9823  inet6 UDP [::] dual-stack    c@node1 -> 10.77.0.2    the same, datagrams
# 9824  inet6 TCP [::] dual-stack    c@node2 -> 127.0.0.1    same node
# 9825  inet6 TCP [::]               c@node2 -> ::1          native IPv6, same node
# 9826  inet6 TCP [::]               c@node1 -> fd77::2      native IPv6 between nodes
# 9827  inet UDP                     c@node1 -> 10.77.0.2    control
if ((DSM_NODE == 2)); then
	for p in 9821:inet 9822:inet6 9824:inet6 9825:inet6 9826:inet6; do
		as s "$SOCKT" serve "${p#*:}" "${p%:*}" 150 0 >"/tmp/srv.${p%:*}" 2>&1 &
		wait_ready "/tmp/srv.${p%:*}" || fail "server $p: $(cat "/tmp/srv.${p%:*}")"
	done
	as s "$SOCKT" udp-serve inet6 9823 60 0 >/tmp/srv.9823 2>&1 &
	wait_ready /tmp/srv.9823 || fail "udp server 9823"
	as s "$SOCKT" udp-serve inet 9827 60 >/tmp/srv.9827 2>&1 &
	wait_ready /tmp/srv.9827 || fail "udp server 9827"
fi
vm_barrier servers-up

if ((DSM_NODE == 1)); then
	"$PKT" sniff eth0 9822 10 4 >/tmp/sniff 2>&1 &
	sniffer=$!
	sleep 1
	as c "$SOCKT" connect inet "$server" 9821 >/tmp/cli.9821 2>&1
	as c "$SOCKT" connect inet "$server" 9822 >/tmp/cli.9822 2>&1
	as c "$SOCKT" udp-send inet "$server" 9823 3 >/tmp/cli.9823 2>&1
	as c "$SOCKT" connect inet6 fd77::2 9826 >/tmp/cli.9826 2>&1
	as c "$SOCKT" udp-send inet "$server" 9827 3 >/tmp/cli.9827 2>&1
	wait "$sniffer" 2>/dev/null
	echo "--- node 1's SYN to the dual-stack listener:"
	grep 'flags 02' /tmp/sniff
	grep -q 'flags 02 dsm 12@1' /tmp/sniff && echo "(labeled c@node1, as it should be)"
fi
if ((DSM_NODE == 2)); then
	as c "$SOCKT" connect inet 127.0.0.1 9824 >/tmp/cli.9824 2>&1
	as c "$SOCKT" connect inet6 ::1 9825 >/tmp/cli.9825 2>&1
fi
vm_barrier clients-done 120

if ((DSM_NODE == 2)); then
	res() { # what the server on port $1 accepted, "not accepted" if nothing in 10 s
		local l
		l=$(wait_done "/tmp/srv.$1" '^accepted' 100 | cut -d' ' -f1-2)
		[[ $l == accepted* ]] && echo "$l" || echo "not accepted"
	}
	control "c@node1 -> s, AF_INET listener" "$(res 9821)" "not accepted"
	alarm_expect subject=c subject_node=node1 target=s class=peer verdict=deny
	attack "6e c@node1 -> s, IPv4 to a dual-stack AF_INET6 listener" hole "$(res 9822)" "accepted x"
	attack "6e c@node1 -> s, IPv4 datagrams to a dual-stack AF_INET6 socket" hole \
		"$(wait_done /tmp/srv.9823 '^received' 700)" "received 3"
	attack "6e c@node2 -> s, 127.0.0.1 to a dual-stack listener" hole "$(res 9824)" "accepted x"
	attack "6e c@node2 -> s, native IPv6 over ::1" hole "$(res 9825)" "accepted x"
	attack "6e c@node1 -> s, native IPv6 between nodes" hole "$(res 9826)" "accepted x"
	control "c@node1 -> s, AF_INET datagrams" "$(wait_done /tmp/srv.9827 '^received' 700)" "received 0"
fi
vm_barrier checked 120
