# nodes: 2
# Attack 6e, AF_INET6 sockets.
#
# The receive check returned at once for every socket that was not
# AF_INET, so a dual-stack socket ([::]:port, IPV6_V6ONLY 0, the default
# of many daemons) took IPv4 from any label, and native IPv6 was never
# checked. Now it decides by (socket family, packet protocol)
# (bpf/peer.bpf.h): IPv4 to an AF_INET6 socket (v4-mapped) gets exactly
# the IPv4 checks (option, MAC, peer rule, the TCP handshake with pending
# entries of the packet's family); native IPv6 takes the same-node label of
# a loopback packet the egress program tagged, else the label the IPv6
# unlabeled rules give its source, and no rule is no label.
#
# s hears only b; s6 hears b@node2 and the labels the IPv6 rules give
# node 1's address and ::1; c has no rule to either.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
ip -6 addr add "fd77::$DSM_NODE/64" dev eth0 nodad || fail "no IPv6 address"
# node 1's second address, deprecated so that it is a source only when bound
((DSM_NODE == 1)) && { ip -6 addr add fd77::11/64 dev eth0 nodad preferred_lft 0 ||
	fail "no second address"; }
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
label s = 72;
label s6 = 73;
label v6n1 = 74;   # fd77::1, node 1's IPv6 address
label v6n2 = 75;   # fd77::2, node 2's
label lo6 = 76;    # ::1 without a same-node label
allow unconfined { s s6 } : process transition;
allow { b c s s6 } self : process fork;        # one shell starts a label's servers
allow { b c s s6 } unconfined : file exec;     # and clients
allow { b c s s6 } self : socket inet { create bind listen accept connect send recv };
allow { b c s s6 } self : socket inet6 { create bind listen accept connect send recv };
allow b@node1 s : peer recv;
allow b@node2 { s s6 } : peer recv;
allow { s@node2 s6@node2 } { b c } : peer recv;
unlabeled fd77::1 -> v6n1;
unlabeled fd77::2 -> v6n2;
unlabeled ::1 -> lo6;
allow { v6n1@any lo6@any } s6 : peer recv;
allow { v6n2@any lo6@any } { b c } : peer recv;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

# port  server on node 2             client                          expected
# 9821  s, inet TCP                  c@node1 -> 10.77.0.2            denied (control)
# 9822  s, inet6 TCP [::] dual       c@node1 -> 10.77.0.2            denied: IPv4 to a dual-stack socket
# 9823  s, inet6 UDP [::] dual       c@node1 -> 10.77.0.2            denied: the same, datagrams
# 9824  s, inet6 TCP [::] dual       c@node2 -> 127.0.0.1            denied: same node
# 9825  s, inet6 TCP [::]            c@node2 -> ::1                  denied: native IPv6, same node
# 9826  s, inet6 TCP [::]            c@node1 -> fd77::2              denied: native IPv6 (v6n1 -> s)
# 9827  s, inet UDP                  c@node1 -> 10.77.0.2            denied (control)
# 9828  s, inet TCP                  c@node1 inet6 -> ::ffff:10.77.0.2  denied: v4-mapped client
# 9829  s6, inet6 TCP [::]           node1 from fd77::11             denied: no IPv6 rule, no label
# 9831  s, inet6 TCP [::] dual       b@node1 -> 10.77.0.2            accepted
# 9832  s, inet6 UDP [::] dual       b@node1 -> 10.77.0.2            received
# 9833  s, inet6 TCP [::] dual       b@node2 -> 127.0.0.1            accepted
# 9834  s6, inet6 TCP [::]           b@node2 -> ::1                  accepted
# 9835  s6, inet6 TCP [::]           c@node1 -> fd77::2              accepted: the rule's label v6n1
# 9836  s6, inet6 TCP [::] v6only    b@node1 -> fd77::2 from fd77::1 accepted
# 9837  s, inet TCP                  b@node1 inet6 -> ::ffff:10.77.0.2  accepted: v4-mapped client
# serve LABEL PORT:FAMILY[:V6ONLY]...: TCP servers of LABEL, started by
# one shell in that label (each dsmctl exec costs seconds in a guest).
serve() {
	local who=$1 p port fam v6only cmd=
	shift
	for p in "$@"; do
		IFS=: read -r port fam v6only <<<"$p"
		cmd+="$SOCKT serve $fam $port 150 ${v6only:-0} >/tmp/srv.$port 2>&1 & "
	done
	as "$who" sh -c "$cmd wait" >/dev/null 2>&1 &
	for p in "$@"; do
		wait_ready "/tmp/srv.${p%%:*}" || fail "server $p: $(cat "/tmp/srv.${p%%:*}")"
	done
}
# clients LABEL "PORT ARGS..."...: clients of LABEL, all at once, each
# writing /tmp/cli.PORT.
clients() {
	local who=$1 c cmd=
	shift
	for c in "$@"; do
		set -- $c
		cmd+="$SOCKT ${*:2} >/tmp/cli.$1 2>&1 & "
	done
	as "$who" sh -c "$cmd wait"
}
if ((DSM_NODE == 2)); then
	serve s 9821:inet 9822:inet6 9824:inet6 9825:inet6 9826:inet6 9828:inet 9831:inet6 \
		9833:inet6 9837:inet
	serve s6 9829:inet6 9834:inet6 9835:inet6 9836:inet6:1
	# (the windows end once every client is done, below: /tmp/udp.stop)
	as s sh -c "$SOCKT udp-serve inet6 9823 90 0 /tmp/udp.stop >/tmp/srv.9823 2>&1 &
		$SOCKT udp-serve inet6 9832 90 0 /tmp/udp.stop >/tmp/srv.9832 2>&1 &
		$SOCKT udp-serve inet 9827 90 0 /tmp/udp.stop >/tmp/srv.9827 2>&1 & wait" >/dev/null 2>&1 &
	for p in 9823 9832 9827; do wait_ready /tmp/srv.$p || fail "udp server $p"; done
fi
vm_barrier servers-up

if ((DSM_NODE == 1)); then
	"$PKT" sniff eth0 9822 10 4 >/tmp/sniff 2>&1 &
	sniffer=$!
	sleep 1
	clients c "9821 connect inet $server 9821" "9822 connect inet $server 9822" \
		"9823 udp-send inet $server 9823 3" "9826 connect inet6 fd77::2 9826" \
		"9827 udp-send inet $server 9827 3" "9828 connect inet6 ::ffff:$server 9828" \
		"9829 connect inet6 fd77::2 9829 fd77::11" "9835 connect inet6 fd77::2 9835"
	clients b "9831 connect inet $server 9831" "9832 udp-send inet $server 9832 3" \
		"9836 connect inet6 fd77::2 9836 fd77::1" "9837 connect inet6 ::ffff:$server 9837"
	wait "$sniffer" 2>/dev/null
	echo "--- node 1's SYN to the dual-stack listener:"
	grep 'flags 02' /tmp/sniff
	grep -q 'flags 02 dsm 12@1' /tmp/sniff && echo "(labeled c@node1, as it should be)"
	for p in 9821 9822 9826 9828 9829 9831 9835 9836 9837; do
		echo "client $p: $(tr '\n' ' ' <"/tmp/cli.$p")"
	done
fi
if ((DSM_NODE == 2)); then
	clients c "9824 connect inet 127.0.0.1 9824" "9825 connect inet6 ::1 9825"
	clients b "9833 connect inet 127.0.0.1 9833" "9834 connect inet6 ::1 9834"
	for p in 9824 9825 9833 9834; do echo "client $p: $(tr '\n' ' ' <"/tmp/cli.$p")"; done
fi
vm_barrier clients-done 120

if ((DSM_NODE == 2)); then
	# every datagram is sent: two more seconds for the last in flight
	sleep 2
	: >/tmp/udp.stop
	res() { # what the server on port $1 accepted, "not accepted" if nothing in
		# 2 s (every client is done: connects time out after 6 s)
		local l
		l=$(wait_done "/tmp/srv.$1" '^accepted' 20 | cut -d' ' -f1-2)
		[[ $l == accepted* ]] && echo "$l" || echo "not accepted"
	}
	n1=$(vm_node_ip 1)
	control "c@node1 -> s, AF_INET listener" "$(res 9821)" "not accepted"
	alarm_expect subject=c subject_node=node1 target=s class=peer verdict=deny saddr="$n1"
	attack "6e c@node1 -> s, IPv4 to a dual-stack AF_INET6 listener" blocked "$(res 9822)" "accepted x"
	attack "6e c@node1 -> s, IPv4 datagrams to a dual-stack AF_INET6 socket" blocked \
		"$(wait_done /tmp/srv.9823 '^received' 100)" "received 3"
	attack "6e c@node2 -> s, 127.0.0.1 to a dual-stack listener" blocked "$(res 9824)" "accepted x"
	alarm_expect subject=c subject_node=node2 target=s class=peer verdict=deny saddr=127.0.0.1
	attack "6e c@node2 -> s, native IPv6 over ::1" blocked "$(res 9825)" "accepted x"
	alarm_expect target=s class=peer verdict=deny saddr=::1
	attack "6e c@node1 -> s, native IPv6 between nodes" blocked "$(res 9826)" "accepted x"
	alarm_expect subject=v6n1 target=s class=peer verdict=deny saddr=fd77::1
	control "c@node1 -> s, AF_INET datagrams" "$(wait_done /tmp/srv.9827 '^received' 100)" "received 0"
	attack "6e c@node1 -> s, from a v4-mapped AF_INET6 client" blocked "$(res 9828)" "accepted x"
	attack "6e IPv6 from an address no rule names -> s6" blocked "$(res 9829)" "accepted x"
	alarm_expect subject_id=0 target=s6 class=peer verdict=deny saddr=fd77::11

	control "b@node1 -> s, IPv4 to a dual-stack listener" "$(res 9831)" "accepted x"
	control "b@node1 -> s, IPv4 datagrams to a dual-stack socket" \
		"$(wait_done /tmp/srv.9832 '^received' 100)" "received 3"
	control "b@node2 -> s, 127.0.0.1 to a dual-stack listener" "$(res 9833)" "accepted x"
	control "b@node2 -> s6, native IPv6 over ::1" "$(res 9834)" "accepted x"
	control "fd77::1 (v6n1) -> s6, native IPv6 between nodes" "$(res 9835)" "accepted x"
	control "fd77::1 (v6n1) -> s6, an IPv6-only listener" "$(res 9836)" "accepted x"
	control "b@node1 -> s, from a v4-mapped AF_INET6 client" "$(res 9837)" "accepted x"
fi
vm_barrier checked 120
