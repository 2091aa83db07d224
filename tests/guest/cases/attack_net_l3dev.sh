# nodes: 1
# Attack 7d, dsm_egress on devices it was not written for. dsmd attaches it
# to every interface; the program takes the IPv4 header at offset 14 (an
# Ethernet header before it). EXPECTS THE OUTCOMES MARKED "hole" (here:
# breakage, not a privilege gain) TO BE SEEN (documents them).
#
# Devices without an Ethernet header (tun, ipip, WireGuard: skb->data is
# the IPv4 header at tc egress) make the program read bytes 14..33 of the
# real header as "the header":
#   - byte 14 (the third byte of the source address) is the "version and
#     IHL": unless it is 0x45..0x4f the header is "not IPv4", and a packet
#     of a labeled socket is dropped (DSM_NR_EGRESS_OPTIONS / E_HEADER):
#     every labeled packet over such a device is lost (fail closed);
#   - when it is 0x45 (an address like 10.99.69.1), the packet is
#     "labeled": bpf_skb_adjust_room(BPF_ADJ_ROOM_NET) opens the 24 bytes
#     after the real fixed header (offset mac_len + 20), and the program
#     then writes its first word at offset 14 (over the addresses), the
#     option at 34 (over the UDP header) and the checksum at 24: the
#     packet that leaves is corrupt (wrong addresses and checksum, a
#     length that does not match).
# Stacked Ethernet devices (a bridge and its port, a VLAN device and its
# parent): the packet passes the program twice with the same socket, the
# second time with the option the first one wrote, and is dropped as
# carrying a dsm option already (E_DUP): labeled traffic through a bridge
# or a VLAN device never leaves.
# Control: the same traffic with dsmd --no-label (no egress program).
# Found on the way: a fresh dsmd does not start while some interface has a
# route marked linkdown (a tun device nobody has opened, a NIC without
# carrier): dsmd_link_routes writes the dumped route back with its
# rtm_flags, RTNH_F_LINKDOWN included, which fib_create_info refuses
# (EINVAL), and dsmd stops. The tun readers therefore attach first.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

guest_modprobe ipip wireguard 8021q || fail "modules"
l3_cleanup() {
	local d
	for d in tun0 tun1 ipip0 wg0 br0 vb0 eth0.5; do ip link del "$d" 2>/dev/null; done
	ip neigh del 10.77.0.9 dev eth0 2>/dev/null
}
trap 'DSM_TEST_FAILED=$?; dsm_cleanup; l3_cleanup' EXIT
ip tuntap add dev tun0 mode tun && ip addr add 10.99.0.1/24 dev tun0 && ip link set tun0 up
ip tuntap add dev tun1 mode tun && ip addr add 10.99.69.1/24 dev tun1 && ip link set tun1 up
ip tunnel add ipip0 mode ipip local "$(vm_node_ip 1)" remote 10.77.0.9 &&
	ip addr add 10.98.0.1/24 dev ipip0 && ip link set ipip0 up
ip neigh replace 10.77.0.9 lladdr 02:00:00:00:00:09 dev eth0
ip link add wg0 type wireguard && ip addr add 10.97.0.1/24 dev wg0 && ip link set wg0 up
ip link add br0 type bridge && ip link add vb0 type veth peer name vb1 &&
	ip link set vb0 master br0 && ip link set vb0 up && ip link set vb1 up &&
	ip addr add 10.96.0.1/24 dev br0 && ip link set br0 up
ip neigh replace 10.96.0.9 lladdr 02:00:00:00:00:19 dev br0
ip link add link eth0 name eth0.5 type vlan id 5 && ip addr add 10.95.5.1/24 dev eth0.5 &&
	ip link set eth0.5 up
ip neigh replace 10.95.5.9 lladdr 02:00:00:00:00:29 dev eth0.5
ip -br link

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
allow a self : socket inet dgram { create send };
EOF2

# run MODE [DSMD ARGS]: start dsmd, one datagram from a to each device,
# what each device showed.
run() {
	local mode=$1 dev pids=()
	shift
	"$PKT" tun tun0 40 >/tmp/$mode.tun0 2>&1 &
	pids+=($!)
	"$PKT" tun tun1 40 >/tmp/$mode.tun1 2>&1 &
	pids+=($!)
	wait_ready /tmp/$mode.tun0 && wait_ready /tmp/$mode.tun1 || fail "tun readers"
	: >"$DSM_LOG" # a "ready" of the previous dsmd must not count
	dsm_start /tmp/p.policy --key-file /tmp/cluster.key "$@"
	for dev in ipip0 eth0 wg0 vb0; do
		"$PKT" sniff $dev 9850 7 >/tmp/$mode.$dev 2>&1 &
		pids+=($!)
	done
	sleep 1
	for dst in 10.99.0.2 10.99.69.2 10.98.0.2 10.97.0.2 10.96.0.9 10.95.5.9; do
		as a "$SOCKT" udp-send inet $dst 9850 1 >/dev/null 2>&1
	done
	sleep 7
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	for dev in tun0 tun1 ipip0 eth0 wg0 vb0; do
		echo "--- $mode, $dev:"
		grep -E '^(tun [0-9]|pkt)' /tmp/$mode.$dev
	done
}
seen() { # seen MODE DEV: what the device showed of the datagram
	case $2 in
	tun*) grep -m1 '^tun [0-9]' /tmp/$1.$2 | cut -d' ' -f1-2 ;;
	vlan) grep -m1 '> 10.95.5.9:9850' /tmp/$1.eth0 | sed 's/.* dsm /dsm /' | cut -d' ' -f1-2 ;;
	*) grep -m1 '^pkt' /tmp/$1.$2 | sed 's/.* dsm /dsm /' | cut -d' ' -f1-2 ;;
	esac
}

run plain --no-label
dsm_stop
control "no egress program: tun0 gets the datagram (20+8+6 bytes)" "$(seen plain tun0)" "tun 34"
control "no egress program: tun1 gets it" "$(seen plain tun1)" "tun 34"
control "no egress program: wg0 sends it" "$(seen plain wg0)" "dsm none"
control "no egress program: the bridge port sends it" "$(seen plain vb0)" "dsm none"
control "no egress program: eth0.5's frame leaves eth0" "$(seen plain vlan)" "dsm none"

run labeled
"$DSMCTL" status --json | jq -c .packets
attack "7d tun0 (source 10.99.0.1): a's datagram is dropped" hole "$(seen labeled tun0)" ""
attack "7d tun1 (source 10.99.69.1): a's datagram leaves corrupt" hole "$(seen labeled tun1)" "tun 58"
grep -m1 '^tun [0-9]' /tmp/labeled.tun1 | grep -q ' 0a 63 45 01 0a 63 45 02' &&
	fail "tun1: the addresses are intact"
attack "7d ipip0 (10.98.0.1): a's datagram is dropped before encapsulation" hole \
	"$(seen labeled ipip0)" ""
attack "7d wg0 (10.97.0.1): a's datagram is dropped" hole "$(seen labeled wg0)" ""
attack "7d bridge: labeled at br0, dropped at its port vb0 (duplicate option)" hole \
	"$(seen labeled vb0)" ""
attack "7d VLAN device: labeled at eth0.5, dropped at eth0 (duplicate option)" hole \
	"$(seen labeled vlan)" ""
