# nodes: 1
# Attack 7d, dsm_egress on devices that are not plain Ethernet. dsmd
# attaches the program that fits each link (docs/wire.md, "Which links are
# labeled"): dsm_egress where an Ethernet header comes first, dsm_egress_l3
# where the IPv4 header does (tun, ipip, WireGuard), none to bridges and
# VLAN devices (their ports and parents label what they send, with the
# socket still on the packet) nor to link types no program reads (here the
# GRE fallback device gre0, which builds its own header), each with a log
# line saying why.
#
# Once every labeled packet over tun, ipip and WireGuard was dropped (the
# header taken at offset 14), or left corrupt when the source address put
# 0x45 at byte 14 (tun1, 10.99.69.1); labeled traffic through a bridge or a
# VLAN device was labeled above and dropped below as a duplicate. Now each
# leaves labeled, once, intact.
# Control: the same traffic with dsmd --no-label (no egress program).
# And: a fresh dsmd starts while a route is linkdown (tun2, which nobody
# opens, has no carrier): the route rewrite keeps only the flags a request
# may carry. A link made after the start (late0) gets its program too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

guest_modprobe ipip ip_gre wireguard 8021q || fail "modules"
l3_cleanup() {
	local d
	for d in tun0 tun1 tun2 ipip0 wg0 br0 vb0 eth0.5 late0; do ip link del "$d" 2>/dev/null; done
	ip neigh del 10.77.0.9 dev eth0 2>/dev/null
}
trap 'DSM_TEST_FAILED=$?; dsm_cleanup; l3_cleanup' EXIT
ip tuntap add dev tun0 mode tun && ip addr add 10.99.0.1/24 dev tun0 && ip link set tun0 up
ip tuntap add dev tun1 mode tun && ip addr add 10.99.69.1/24 dev tun1 && ip link set tun1 up
ip tuntap add dev tun2 mode tun && ip addr add 10.99.2.1/24 dev tun2 && ip link set tun2 up
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
[[ $(ip route show dev tun2) == *linkdown* ]] || fail "tun2's route is not linkdown"

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
# tun_bytes MODE DEV FROM N: N bytes of what the tun reader got, from FROM
tun_bytes() { grep -m1 '^tun [0-9]' /tmp/$1.$2 | cut -d' ' -f$((4 + $3))-$((3 + $3 + $4)); }
# tun_state MODE DEV ADDRS: "labeled intact" when the packet carries the
# option right after its 20-byte header and the addresses ADDRS (hex)
tun_state() {
	local s=corrupt
	[[ $(tun_bytes "$1" "$2" 0 1) == 4b && $(tun_bytes "$1" "$2" 12 8) == "$3" &&
		$(tun_bytes "$1" "$2" 20 2) == "9e 18" ]] && s="labeled intact"
	echo "$s"
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
grep -E "net: (not )?labeling egress on" "$DSM_LOG"
control "a fresh dsmd starts while tun2's route is linkdown" "$(ip route show dev tun2 | grep -c mtu)" 1
attack "7d tun0 (source 10.99.0.1): a's datagram is dropped" blocked "$(seen labeled tun0)" ""
control "tun0: labeled, 24 bytes more" "$(seen labeled tun0)" "tun 58"
control "tun0: intact" "$(tun_state labeled tun0 '0a 63 00 01 0a 63 00 02')" "labeled intact"
attack "7d tun1 (source 10.99.69.1): a's datagram leaves corrupt" blocked \
	"$(tun_state labeled tun1 '0a 63 45 01 0a 63 45 02')" corrupt
attack "7d ipip0 (10.98.0.1): a's datagram is dropped before encapsulation" blocked \
	"$(seen labeled ipip0)" ""
control "ipip0: labeled" "$(seen labeled ipip0)" "dsm 10@1"
attack "7d wg0 (10.97.0.1): a's datagram is dropped" blocked "$(seen labeled wg0)" ""
control "wg0: labeled" "$(seen labeled wg0)" "dsm 10@1"
attack "7d bridge: labeled at br0, dropped at its port vb0 (duplicate option)" blocked \
	"$(seen labeled vb0)" ""
control "the bridge port sends it labeled, once" "$(seen labeled vb0)" "dsm 10@1"
attack "7d VLAN device: labeled at eth0.5, dropped at eth0 (duplicate option)" blocked \
	"$(seen labeled vlan)" ""
control "eth0.5's frame leaves eth0 labeled" "$(seen labeled vlan)" "dsm 10@1"
control "dropped packets" "$("$DSMCTL" status --json | jq '.packets.dropped_noroom + .packets.dropped_foreign')" 0
grep -q "not labeling egress on br0: a bridge device" "$DSM_LOG" || fail "no log line for br0"
grep -q "not labeling egress on eth0.5: a vlan device" "$DSM_LOG" || fail "no log line for eth0.5"
grep -q "not labeling egress on gre0: " "$DSM_LOG" || fail "no log line for gre0"
grep -q "labeling egress on wg0 (no link header)" "$DSM_LOG" || fail "wg0 not labeled as L3"

# A link that appears later gets its program, and its routes room, within
# a tick of dsmd's link watch.
ip link add late0 type dummy && ip link set late0 up && ip addr add 10.94.0.1/24 dev late0
for _ in $(seq 50); do
	[[ $(ip route show dev late0) == *"mtu 1476"* ]] && break
	sleep 0.1
done
grep "labeling egress on late0" "$DSM_LOG" || fail "late0 got no egress program"
control "late0's route has room for the option" "$(ip route show dev late0 | grep -c 'mtu 1476')" 1
[[ $(tc filter show dev late0 egress) == *bpf* ]] || fail "no filter on late0"
