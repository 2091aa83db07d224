# nodes: 2
# A labeled UDP socket gets dsm's placeholder: after its first datagrams
# to another node (whose headers the egress grows), dsmd sets IP_OPTIONS
# of one empty dsm option on it, found among the sending process's
# descriptors by the socket's cookie. What goes on the wire does not
# change: every datagram, before and after, carries b@node2's option (no
# placeholder leaves the node), and all of them arrive.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
allow b@node2 a : peer recv;
allow { a b } self : socket inet { create bind send recv };
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

if ((DSM_NODE == 1)); then
	tcpdump -i eth0 -nn -U -s 0 -w /tmp/cap.pcap "ip src $(vm_node_ip 2) and udp port 9500" \
		>/tmp/tcpdump.log 2>&1 &
	cap=$!
	as a "$PROBE" udp-recv 9500 60 12 >/tmp/udp &
	server_ready /tmp/udp
	sleep 1
fi
vm_barrier listening 120
if ((DSM_NODE == 2)); then
	# 6 datagrams, the options (24 bytes: type 158, length 24, version 0),
	# 6 more.
	expect_probe "options 24 9e1800 sent 12" as b "$PROBE" udp-opts "$(vm_node_ip 1)" 9500 6
	expect_eq "placeholders dsmd set" "$("$DSMCTL" status --json | jq -c .placeholders)" \
		'{"set":1,"own_options":0,"gone":0,"refused":0,"failed":0}'
	if grep -q 'placeholder:' "$DSM_LOG"; then
		grep 'placeholder:' "$DSM_LOG"
		fail "dsmd reported a placeholder failure"
	fi
fi
vm_barrier sent 120
if ((DSM_NODE == 1)); then
	for _ in $(seq 300); do grep -q '^received' /tmp/udp && break; sleep 0.1; done
	expect_eq "UDP received" "$(tail -1 /tmp/udp)" "received 12"
	for _ in $(seq 100); do
		(($(tcpdump -r /tmp/cap.pcap -nn 2>/dev/null | grep -c ' > ') >= 12)) && break
		sleep 0.2
	done
	sleep 0.5
	kill "$cap"
	wait "$cap" 2>/dev/null
	pcap_hex /tmp/cap.pcap >/tmp/packets
	cut -c1-96 /tmp/packets
	want="9e180201""0000000b""00000002"
	labeled=0
	while read -r p; do
		[[ ${p:0:2} == 4b && ${p:40:24} == "$want" ]] || fail "datagram without b@node2's option: ${p:0:96}"
		labeled=$((labeled + 1))
	done </tmp/packets
	expect_eq "labeled datagrams on the wire" "$labeled" 12
fi
vm_barrier checked 120
