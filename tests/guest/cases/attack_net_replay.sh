# nodes: 3
# Attack 7a, replaying a captured dsm option. EXPECTS THE ATTACKS MARKED
# "hole" TO SUCCEED (documents holes).
#
# c on node 1 (confined root with packet and raw sockets) captures one
# datagram a sends to s@node2 (AF_PACKET sees it after tc egress, option
# included) and sends datagrams of its own behind the captured Ethernet and
# IPv4 header: same addresses, protocol and option, so the MAC verifies
# (it covers neither ports nor payload, and version 2 not the IP ID) and
# node 2 takes them for a@node1. s hears nobody but a@node1.
#
# dsm_egress must drop a packet that carries a dsm option it did not
# write; it only does so on the path it looks at:
#   packet-ip     skb->protocol IPv4, the packet socket labeled c: the
#                 option walk finds the copy, E_DUP, dropped (control)
#   rawip         raw socket with IP_HDRINCL: the same (control)
#   packet-other  sll_protocol 0x88b5: packet_snd sets skb->protocol from
#                 it (packet_parse_headers only parses the frame for 0 and
#                 ETH_P_ALL), the program returns at its first test
#                 (skb->protocol != ETH_P_IP); node 2's eth_type_trans
#                 reads 0x0800 from the frame
#   vlan0         an 802.1Q priority tag (VLAN 0): skb->protocol 0x8100;
#                 node 2 untags it and, VLAN 0 matching no VLAN device,
#                 delivers it as untagged IPv4 (__netif_receive_skb_core)
#   bypass        PACKET_QDISC_BYPASS: packet_direct_xmit -> dev_direct_xmit
#                 never reaches sch_handle_egress
#   forward       c's own network namespace (no dsm_egress there) sends it
#                 with IP_HDRINCL over a veth; node 1 forwards it out eth0
#                 (ip_forward and accept_local on the veth: sysctls dsm does
#                 not guard). A forwarded packet has no socket (ip_rcv_core
#                 orphans it), and dsm_egress passes every packet without a
#                 labeled socket untouched, dsm option or not
# Node 3 runs no dsm and has no key: it replays the captured header with a
# raw socket, spoofing node 1's address (the documented replay within the
# epoch window, docs/wire.md).
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
# 9832.. one per replay method, 9837 node 3, 9838 forwarded
ports="9830 9831 9832 9833 9834 9835 9836 9837 9838"
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
	port=9832
	for m in packet-ip rawip packet-other vlan0 bypass; do
		as c "$PKT" replay /tmp/cap "$m" $port 3 | tail -1
		port=$((port + 1))
	done
	# forward: from c's namespace through node 1's forwarding path.
	ns=$(netns_spawn c 100) || fail "no namespace for c"
	[[ $(readlink /proc/$ns/ns/net) != $(readlink /proc/self/ns/net) ]] || fail "not a new namespace"
	in_ns() { as c nsenter -t "$ns" -n "$@"; }
	as c ip link add rh type veth peer name r0 netns "$ns" || fail "veth"
	as c ip addr add 10.56.0.1/24 dev rh
	as c ip link set rh up
	in_ns ip link set lo up
	in_ns ip addr add 10.56.0.7/24 dev r0
	in_ns ip link set r0 up
	in_ns ip route add default via 10.56.0.1
	as c sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.rh.accept_local=1
	in_ns "$PKT" replay /tmp/cap rawip 9838 3 | tail -1
	sleep 1
	ip link del rh
	sysctl -qw net.ipv4.ip_forward=0
	"$DSMCTL" status --json | jq -c .packets
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
	control "c replays a's option from a packet socket (sll_protocol ETH_P_IP)" "$(got 9832)" "received 0"
	control "c replays a's option from a raw IP socket (IP_HDRINCL)" "$(got 9833)" "received 0"
	attack "7a c replays a's option, packet socket with sll_protocol 0x88b5" hole "$(got 9834)" "received 3"
	attack "7a c replays a's option in a VLAN 0 (priority-tagged) frame" hole "$(got 9835)" "received 3"
	attack "7a c replays a's option with PACKET_QDISC_BYPASS" hole "$(got 9836)" "received 3"
	attack "7a c replays a's option from its namespace, forwarded by node 1" hole \
		"$(got 9838)" "received 3"
	attack "7a node 3 (no dsm, no key) replays a's option with node 1's address" hole \
		"$(got 9837)" "received 3"
	expect_eq "alarms naming a" "$(alarm_count subject=a)" 0
fi
vm_barrier checked 180
