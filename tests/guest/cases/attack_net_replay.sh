# nodes: 3
# Attack 7a, replaying a captured dsm option from the node that wrote it.
#
# c on node 1 (confined root with packet and raw sockets) captures one
# datagram a sends to s@node2 (AF_PACKET sees it after tc egress, option
# included) and sends datagrams of its own behind the captured Ethernet and
# IPv4 header: same addresses, protocol and option, so the MAC verifies
# (it covers neither ports nor payload, and version 2 not the IP ID) and
# node 2 would take them for a@node1. s hears nobody but a@node1.
#
# The copy is good: sent past node 1's egress program by a label that may
# (PACKET_QDISC_BYPASS is system net; the test runner holds it), node 2
# takes it for a@node1 (control). Node 1's egress drops every copy c sends,
# whatever the path (docs/wire.md, "Options this node did not write"): it
# reads the frame, not skb->protocol, walks past VLAN tags, and a dsm option
# that claims node 1 passes only with the mark node 1's egress sets:
#   packet-ip     packet socket, sll_protocol ETH_P_IP
#   rawip         raw socket with IP_HDRINCL
#   packet-other  sll_protocol 0x88b5 (skb->protocol is not IPv4; node 2's
#                 eth_type_trans reads 0x0800 from the frame)
#   vlan0         an 802.1Q priority tag (VLAN 0), which node 2 untags
#   forward       from a network namespace of c's own (no dsm there) over a
#                 veth the test runner made (c may not: link changes are
#                 system net), forwarded by node 1 with no socket
# Each is counted (dropped_foreign) and raises a packet alarm on node 1.
#   bypass        PACKET_QDISC_BYPASS: refused to c (system net), alarm.
# Node 3 runs no dsm and has no key: it replays the captured header with a
# raw socket, spoofing node 1's address. That is the documented replay
# window within the epoch (docs/wire.md: the MAC does not cover the
# payload), not something dsm promises to stop: LIMIT, not ATTACK.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
label s = 72;
allow unconfined s : process transition;
allow a@node1 s : peer recv;
allow a self : socket inet dgram { create send };
allow c self : socket inet dgram { create send };
allow c self : socket packet raw { create bind send recv };
allow c self : socket inet raw { create send };
allow c self : socket netlink { create bind connect send recv };
allow c self : process fork;
allow c unconfined : file exec;
allow s self : socket inet dgram { create bind recv };
EOF2
# port: 9830 a's own datagrams (captured), 9831 c's own datagrams,
# 9832.. one per replay method, 9837 node 3, 9838 forwarded, 9839 the
# runner's copy past the egress
ports="9830 9831 9832 9833 9834 9835 9836 9837 9838 9839"
if ((DSM_NODE == 2)); then
	# VLAN 0 frames pass QEMU's VLAN filter once the guest registers VLAN
	# 0, which it does when the 8021q module is loaded (as on most hosts).
	guest_modprobe 8021q
fi
((DSM_NODE == 3)) || dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

if ((DSM_NODE == 2)); then
	for p in $ports; do
		as s "$PROBE" udp-recv "$p" 90 >"/tmp/srv.$p" &
		wait_ready "/tmp/srv.$p" || fail "server $p"
	done
fi
vm_barrier servers-up 180

if ((DSM_NODE == 1)); then
	as c "$PKT" capture eth0 9830 30 /tmp/cap >/tmp/capture 2>&1 &
	cap=$!
	wait_ready /tmp/capture || fail "capture: $(cat /tmp/capture)"
	expect_probe "sent 3" as a "$PROBE" udp-send "$server" 9830 3
	wait "$cap" || fail "capture: $(cat /tmp/capture)"
	cat /tmp/capture
	cp /tmp/cap "$DSM_SHARED/cap"
	expect_probe "sent 3" as c "$PROBE" udp-send "$server" 9831 3
	# Where dsm does not stand in the way: past the egress program.
	"$PKT" replay /tmp/cap bypass 9839 3 | tail -1
	port=9832
	for m in packet-ip rawip packet-other vlan0 bypass; do
		as c "$PKT" replay /tmp/cap "$m" $port 3 | tail -1
		port=$((port + 1))
	done
	# forward: from c's namespace through node 1's forwarding path; the
	# veth and the sysctls are the test runner's (system net, kernel).
	ns=$(netns_spawn c 100) || fail "no namespace for c"
	[[ $(readlink /proc/$ns/ns/net) != $(readlink /proc/self/ns/net) ]] || fail "not a new namespace"
	in_ns() { nsenter -t "$ns" -n "$@"; }
	if as c ip link add rh9 type veth peer name r9 netns "$ns" 2>/dev/null; then
		fail "c made a veth: link changes should be system net"
	fi
	ip link add rh type veth peer name r0 netns "$ns" || fail "veth"
	ip addr add 10.56.0.1/24 dev rh
	ip link set rh up
	in_ns ip link set lo up
	in_ns ip addr add 10.56.0.7/24 dev r0
	in_ns ip link set r0 up
	in_ns ip route add default via 10.56.0.1
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.rh.accept_local=1
	as c nsenter -t "$ns" -n "$PKT" replay /tmp/cap rawip 9838 3 | tail -1
	sleep 1
	ip link del rh
	sysctl -qw net.ipv4.ip_forward=0
	"$DSMCTL" status --json | jq -c .packets
	dropped=$("$DSMCTL" status --json | jq .packets.dropped_foreign)
	# raw sockets send all three copies, packet sockets stop at the first
	# drop (dev_queue_xmit's NET_XMIT_DROP, ENOBUFS): 3 + 3 + 3 * 1
	((dropped >= 9)) || fail "dropped_foreign is $dropped, want 9"
	alarm_expect class=packet direction=egress verdict=drop \
		"reason=carried a dsm option this node did not write" saddr="$(vm_node_ip 1)"
	alarm_expect class=system subject=c perm=net verdict=deny
	echo "packet alarms: $(alarm_count class=packet direction=egress)"
fi
vm_barrier replayed-1 120
if ((DSM_NODE == 3)); then
	"$PKT" replay "$DSM_SHARED/cap" rawip 9837 3 | tail -1
fi
vm_barrier replayed-3 120

if ((DSM_NODE == 2)); then
	got() { wait_done "/tmp/srv.$1" '^received' 1000; }
	control "a@node1's own datagrams" "$(got 9830)" "received 3"
	control "c@node1's own datagrams" "$(got 9831)" "received 0"
	control "a copy sent past node 1's egress (by a label with system net)" "$(got 9839)" \
		"received 3"
	attack "7a c replays a's option from a packet socket (sll_protocol ETH_P_IP)" blocked \
		"$(got 9832)" "received 3"
	attack "7a c replays a's option from a raw IP socket (IP_HDRINCL)" blocked \
		"$(got 9833)" "received 3"
	attack "7a c replays a's option, packet socket with sll_protocol 0x88b5" blocked \
		"$(got 9834)" "received 3"
	attack "7a c replays a's option in a VLAN 0 (priority-tagged) frame" blocked \
		"$(got 9835)" "received 3"
	attack "7a c replays a's option with PACKET_QDISC_BYPASS" blocked "$(got 9836)" "received 3"
	attack "7a c replays a's option from its namespace, forwarded by node 1" blocked \
		"$(got 9838)" "received 3"
	echo "LIMIT node 3 (no dsm, no key) replays a's option with node 1's address:" \
		"$(got 9837) (the replay window within the epoch, docs/wire.md)"
	# (a's option may be stale by the time node 3 replays it on a slow
	# host: those alarms name a too; none may say the policy refused a)
	expect_eq "policy alarms naming a" "$(alarm_count subject=a reason=policy)" 0
fi
vm_barrier checked 180
