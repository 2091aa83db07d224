# nodes: 2
# What is on the wire: every packet a labeled socket on node 2 sends
# carries option 158 with the expected version, key id, label and node,
# fragments of a large datagram included (the route MTU leaves room for
# the option), and a TCP connection's SYN carries it while its later
# segments do not (the peer is bound at the handshake).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
allow b@node2 a : peer recv;
allow a@node1 b : peer recv;
allow { a b } self : socket inet { create bind listen connect accept send recv };
allow a self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
# Fragments must leave room for the option: dsmd gives the routes of a
# labeled link an MTU 24 below the link's (the egress program drops what
# would not fit, never sends it bare).
expect_eq "route MTU set by dsmd" "$(ip route show 10.77.0.0/24 | grep -o 'mtu [0-9]*')" "mtu 1476"

if ((DSM_NODE == 1)); then
	tcpdump -i eth0 -nn -U -s 0 -w /tmp/cap.pcap "ip src $(vm_node_ip 2) and not icmp" \
		>/tmp/tcpdump.log 2>&1 &
	cap=$!
	as a "$PROBE" udp-recv 9400 20 >/tmp/udp &
	as a "$PROBE" tcp-accept 9401 20 >/tmp/tcp &
	for _ in $(seq 100); do [[ $(cat /tmp/udp /tmp/tcp 2>/dev/null | grep -c ready) == 2 ]] && break; sleep 0.1; done
	sleep 1
fi
vm_barrier listening 120
if ((DSM_NODE == 2)); then
	expect_probe "sent 2" as b "$PROBE" udp-send "$(vm_node_ip 1)" 9400 2 4000
	expect_probe "send OK" as b "$PROBE" connect "$(vm_node_ip 1)" 9401
fi
vm_barrier sent 120
if ((DSM_NODE == 1)); then
	# Until the capture holds what was sent (6 fragments, the handshake
	# and the data), at most 20 s: a loaded host may lag.
	for _ in $(seq 100); do
		(($(tcpdump -r /tmp/cap.pcap -nn 2>/dev/null | grep -c ' > ') >= 9)) && break
		sleep 0.2
	done
	sleep 0.5
	kill "$cap"
	wait "$cap" 2>/dev/null
	pcap_hex /tmp/cap.pcap >/tmp/packets
	tcpdump -r /tmp/cap.pcap -nn 2>/dev/null
	cat /tmp/packets | cut -c1-120
	want="9e180201""0000000b""00000002"
	frags=0 syn=0 unlabeled_tcp=0 udp_ids="" udp_epochs="" udp_macs=""
	while read -r p; do
		proto=${p:18:2}
		if [[ $proto == 11 ]]; then
			[[ ${p:0:2} == 4b && ${p:40:24} == "$want" ]] || fail "UDP packet without b@node2's option: ${p:0:64}"
			frags=$((frags + 1))
			udp_ids+=" ${p:8:4}" udp_epochs+=" ${p:64:8}" udp_macs+=" ${p:72:16}"
		elif [[ $proto == 06 ]]; then
			if [[ ${p:0:2} == 4b ]]; then
				[[ ${p:40:24} == "$want" ]] || fail "TCP option with wrong fields: ${p:0:64}"
				syn=$((syn + 1))
			else
				unlabeled_tcp=$((unlabeled_tcp + 1))
			fi
		fi
	done </tmp/packets
	echo "labeled UDP packets (fragments): $frags, labeled TCP: $syn, unlabeled TCP: $unlabeled_tcp"
	((frags == 6)) || fail "expected 2 datagrams of 3 fragments each, saw $frags labeled"
	# Version 2: the MAC leaves the IP ID out, so the two datagrams (two
	# IP IDs) of one flow carry one MAC per epoch (one epoch, unless they
	# straddled a tick).
	count() { tr ' ' '\n' <<<"$1" | sort -u | grep -c .; }
	expect_eq "IP IDs of the UDP fragments" "$(count "$udp_ids")" 2
	expect_eq "MACs of the UDP fragments, one per epoch" "$(count "$udp_macs")" "$(count "$udp_epochs")"
	expect_eq "labeled TCP segments (the SYN)" "$syn" 1
	((unlabeled_tcp >= 2)) || fail "expected the connection's later segments unlabeled"
	for _ in $(seq 300); do grep -q '^received' /tmp/udp && break; sleep 0.1; done
	expect_eq "UDP received" "$(tail -1 /tmp/udp)" "received 2"
	expect_eq "TCP received" "$(tail -1 /tmp/tcp)" "accepted x"
fi
vm_barrier checked 120
