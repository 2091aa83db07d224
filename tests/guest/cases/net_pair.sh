# nodes: 3
# Keys per node pair (docs/keys.md), without a Security Server: each node
# gets a server-state directory as enrolment would leave it (probe
# mkstate) and the `keys` file the server's KEYS phases would persist:
# generation 5, K(A, B) derived here from a fixed seed, the same at both
# ends, with the peers' addresses. dsmd runs joined (--server names an
# address where nothing answers) and takes its pair keys from that file
# at start-up. Every node also has the cluster key (the upgrade).
#   - node 2 starts installed but not switched: it sends version 2 under
#     the cluster key, which node 3 still accepts as a@node2;
#   - node 1 is switched: its datagrams to node 3 carry version 3 options
#     of generation 5 (seen on the wire at node 3), fragments of a large
#     datagram included, and arrive as a@node1;
#   - node 2 restarted switched: version 3, a@node2;
#   - root in dsmd's label on node 2 (which holds K(2, x) and may send
#     past the egress program: system net) forges an option naming a@node1
#     with the key it has: node 3 verifies it with K(1, 3) and drops it,
#     EKEYREJECTED, with an alarm; the same forger naming its own node is
#     accepted (a node speaks for its own labels), which shows the forged
#     frames reach node 3;
#   - a version 3 header captured on node 1 for one UDP port, replayed
#     past the egress in front of a datagram to another port of node 3:
#     refused (the MAC binds the ports); to the same port it passes (the
#     replay window within the epoch, docs/wire.md).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

G=5
SS=/tmp/server-state
dst=$(vm_node_ip 3)

# pairkey A B: K_G(A, B), a test key (never secret): the first 16 bytes of
# SHA-256 of the pair and generation.
pairkey() {
	local lo=$1 hi=$2
	((lo > hi)) && { lo=$2; hi=$1; }
	printf 'dsm-test-pair-%d-%d-g%d' "$lo" "$hi" "$G" | sha256sum | cut -c1-32
}

# write_keys SEND: this node's pair key file, sending with SEND (0: none).
write_keys() {
	local k
	{
		echo "dsm-pair-keys 1"
		echo "send $1"
		echo "gen $G"
		for k in 1 2 3; do
			((k == DSM_NODE)) && continue
			echo "key $k $(vm_node_ip "$k") $(pairkey "$DSM_NODE" "$k")"
		done
	} >"$SS/keys"
	chmod 600 "$SS/keys"
}

start() {
	dsm_start /tmp/p.policy --key-file /tmp/cluster.key --server 127.0.0.1:9 \
		--server-state "$SS"
}

rm -rf "$SS"
expect_probe "mkstate OK" "$PROBE" mkstate "$SS" c1 "$DSM_NODE" "node$DSM_NODE"
write_keys $((DSM_NODE == 2 ? 0 : G))
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
node node3 = 3;
label s1 = 71; # hears a@node1 only
label s2 = 72; # hears a@node2 only
allow unconfined { s1 s2 } : process transition;
allow a@node1 s1 : peer recv;
allow a@node2 s2 : peer recv;
allow a self : socket inet dgram { create bind send };
allow { s1 s2 } self : socket inet dgram { create bind recv };
EOF2
start
grep -q "pair keys: generations" "$DSM_LOG" || fail "dsmd did not load its pair keys"

# servers on node 3, s1 hearing a@node1 only, s2 a@node2 only:
#   phase A: 9501 s1 (v3 from node 1), 9502 s2 (v2 from node 2, not
#   switched), 9506 s1 (the captured port: a's datagram and its replays),
#   9507 s1 (replays to another port), 9508 s1 (large datagrams, v3)
#   phase B: 9503 s2 (v3 from node 2, switched), 9504 s1 (forged by node 2
#   as a@node1), 9505 s2 (forged by node 2 as a@node2)
# Each server counts for WINDOW seconds: the suite gives a test 300.
WINDOW=45
servers() {
	local p lab
	for p in "$@"; do
		lab=s1
		case $p in 9502 | 9503 | 9505) lab=s2 ;; esac
		as "$lab" "$PROBE" udp-recv "$p" "$WINDOW" >"/tmp/srv.$p" &
		wait_ready "/tmp/srv.$p" || fail "server $p"
	done
}
if ((DSM_NODE == 3)); then
	tcpdump -i eth0 -nn -U -s 0 -w /tmp/cap.pcap "udp and not src $(vm_node_ip 3)" \
		>/tmp/tcpdump.log 2>&1 &
	tcpd=$!
	servers 9501 9502 9506 9507 9508
	sleep 1
fi
vm_barrier servers-a 120

# A: node 2 not switched (v2), node 1 switched (v3, fragments too); the
# header of a's datagram to 9506 captured on node 1 and replayed past its
# egress (the runner holds system net) to 9506 and to 9507, at once (the
# replay window is the epoch's).
if ((DSM_NODE == 2)); then
	expect_probe "sent 3" as a "$PROBE" udp-send "$dst" 9502 3
fi
if ((DSM_NODE == 1)); then
	"$PKT" capture eth0 9506 30 /tmp/cap >/tmp/capture 2>&1 &
	cap=$!
	wait_ready /tmp/capture || fail "capture: $(cat /tmp/capture)"
	expect_probe "sent 3" as a "$PROBE" udp-send "$dst" 9501 3
	expect_probe "sent 2" as a "$PROBE" udp-send "$dst" 9508 2 3000
	# from port 40000, the replay tool's source port
	expect_probe "sent 1" as a "$PROBE" udp-send "$dst" 9506 1 64 40000
	wait "$cap" || fail "capture: $(cat /tmp/capture)"
	cat /tmp/capture
	expect_eq "captured option version" "$(od -An -tx1 -j36 -N1 /tmp/cap | tr -d ' ')" 03
	expect_probe "replay bypass OK" "$PKT" replay /tmp/cap bypass 9506 3
	expect_probe "replay bypass OK" "$PKT" replay /tmp/cap bypass 9507 3
fi
vm_barrier phase-a 120

# B: node 2 restarted switched (it reads the file again), then the forger.
if ((DSM_NODE == 2)); then
	dsm_stop
	write_keys "$G"
	start
fi
((DSM_NODE == 3)) && servers 9503 9504 9505
vm_barrier servers-b 150
if ((DSM_NODE == 2)); then
	expect_probe "sent 3" as a "$PROBE" udp-send "$dst" 9503 3
	# root in dsmd's label: reads this node's pair keys (system dsm_read),
	# makes options with K(2, 3) and sends them past the egress program
	# (PACKET_QDISC_BYPASS: system net, which dsmd's label holds)
	k23=$(as dsmd cat "$SS/keys" | awk '$1 == "key" && $2 == 3 { print $4 }')
	[[ ${#k23} == 32 ]] || fail "the forger could not read K(2, 3)"
	mac3=$(ip neigh show "$dst" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
	mac2=$(cat /sys/class/net/eth0/address)
	[[ -n $mac3 ]] || fail "no neighbour entry for node 3"
	expect_probe "forge3 OK" "$PROBE" forge3 /tmp/f-node1 "$mac3" "$mac2" "$(vm_node_ip 2)" \
		"$dst" 9504 10 1 now "$G" "$k23"
	expect_probe "forge3 OK" "$PROBE" forge3 /tmp/f-node2 "$mac3" "$mac2" "$(vm_node_ip 2)" \
		"$dst" 9505 10 2 now "$G" "$k23"
	expect_probe "replay bypass OK" as dsmd "$PKT" replay /tmp/f-node1 bypass 9504 3
	expect_probe "replay bypass OK" as dsmd "$PKT" replay /tmp/f-node2 bypass 9505 3
fi
vm_barrier phase-b 120

if ((DSM_NODE == 3)); then
	got() { wait_done "/tmp/srv.$1" '^received' $((WINDOW * 10 + 300)); }
	control "a@node1 -> s1, version 3" "$(got 9501)" "received 3"
	control "a@node1 -> s1, version 3, fragmented datagrams" "$(got 9508)" "received 2"
	control "a@node2 -> s2, version 2 from a node not switched" "$(got 9502)" "received 3"
	control "a's captured header replayed to its own port (the replay window)" \
		"$(got 9506)" "received 4"
	attack "a's version 3 header replayed in front of a datagram to another port" blocked \
		"$(got 9507)" "received 3"
	control "a@node2 -> s2, version 3 once switched" "$(got 9503)" "received 3"
	control "node 2's forger as a@node2, its own node" "$(got 9505)" "received 3"
	attack "root in dsmd's label on node 2 forges a@node1 with K(2, 3)" blocked \
		"$(got 9504)" "received 3"
	alarm_expect subject=a subject_node=node1 target=s1 class=peer verdict=deny reason=forged \
		errno=129
	kill "$tcpd"
	wait "$tcpd" 2>/dev/null
	# Of each packet: the source and the option's type, length, version
	# and key id.
	pcap_hex /tmp/cap.pcap >/tmp/packets
	v3_from1=0 v2_from2=0 v3_from2=0
	while read -r p; do
		src=$((16#${p:24:2})).$((16#${p:26:2})).$((16#${p:28:2})).$((16#${p:30:2}))
		case "$src:${p:40:8}" in
		"$(vm_node_ip 1):9e180305") v3_from1=$((v3_from1 + 1)) ;;
		"$(vm_node_ip 2):9e180201") v2_from2=$((v2_from2 + 1)) ;;
		"$(vm_node_ip 2):9e180305") v3_from2=$((v3_from2 + 1)) ;;
		esac
	done </tmp/packets
	echo "on the wire: version 3 from node 1: $v3_from1, version 2 from node 2: $v2_from2," \
		"version 3 from node 2: $v3_from2"
	# node 1: 3, 2 * 3 fragments, 1, 6 replays; node 2: 3 (v2); 3 and 6 forged (v3)
	((v3_from1 >= 10)) || fail "expected version 3 options from node 1, saw $v3_from1"
	((v2_from2 >= 3)) || fail "expected version 2 options from node 2, saw $v2_from2"
	((v3_from2 >= 3)) || fail "expected version 3 options from node 2, saw $v3_from2"
	"$DSMCTL" status --json | jq -c .packets
fi
vm_barrier checked 120
