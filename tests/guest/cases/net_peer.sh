# nodes: 2
# Labels on the wire: node 1's processes send UDP and TCP to servers on
# node 2. Allowed flows work; a label the policy does not let talk to the
# server's label gets nothing through (datagrams never reach the receiver,
# TCP connect fails) and node 2 raises an alarm naming the remote label
# and node. The receiver reads the peer label bound at the handshake. A
# rule for the sender on any node (a@any) matches a labeled sender too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

server=$(vm_node_ip 2)
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
allow a@node1 b : peer recv;
allow b@node2 { a c } : peer recv;
allow a@any c : peer recv;
allow { a b c } self : socket inet { create bind listen connect accept send recv };
allow b self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

if ((DSM_NODE == 2)); then
	as b "$PROBE" udp-recv 9000 30 >/tmp/udp-a &
	as b "$PROBE" udp-recv 9001 30 >/tmp/udp-c &
	as c "$PROBE" udp-recv 9002 30 >/tmp/udp-any &
	as b "$PROBE" tcp-accept 9100 30 >/tmp/tcp-a &
	as b "$PROBE" tcp-accept 9101 30 >/tmp/tcp-c &
	# Every server listens before node 1 sends.
	for f in udp-a udp-c udp-any tcp-a tcp-c; do server_ready "/tmp/$f"; done
fi
vm_barrier servers-up

if ((DSM_NODE == 1)); then
	expect_probe "sent 5" as a "$PROBE" udp-send "$server" 9000 5
	expect_probe "sent 5" as c "$PROBE" udp-send "$server" 9001 5
	expect_probe "sent 5" as a "$PROBE" udp-send "$server" 9002 5
	expect_probe "send OK" as a "$PROBE" connect "$server" 9100
	expect_probe "connect EINPROGRESS" as c "$PROBE" connect "$server" 9101
	echo "node 1 packets: $("$DSMCTL" status --json | jq -c .packets)"
fi
vm_barrier clients-done 120

if ((DSM_NODE == 2)); then
	for _ in $(seq 450); do
		[[ $(grep -c -E '^(received|accepted|accept timeout)' /tmp/udp-a /tmp/udp-c /tmp/udp-any /tmp/tcp-a /tmp/tcp-c | awk -F: '{s+=$2} END {print s}') == 5 ]] && break
		sleep 0.1
	done
	for f in udp-a udp-c udp-any tcp-a tcp-c; do echo "$f: $(tail -1 "/tmp/$f")"; done
	echo "node 2 packets: $("$DSMCTL" status --json | jq -c .packets)"
	echo "node 2 errors: $("$DSMCTL" status --json | jq -c .counters)"
	grep -E '^(Udp|Icmp|Ip):' /proc/net/snmp | sed 's/^/node 2 snmp: /'
	expect_eq "UDP from a@node1" "$(tail -1 /tmp/udp-a)" "received 5"
	expect_eq "UDP from c@node1" "$(tail -1 /tmp/udp-c)" "received 0"
	expect_eq "UDP from a@node1 by a@any rule" "$(tail -1 /tmp/udp-any)" "received 5"
	expect_eq "TCP from a@node1" "$(tail -1 /tmp/tcp-a)" "accepted x"
	grep -qx 'peer a@node1 bound' /tmp/tcp-a || fail "getpeerlabel: $(grep peer /tmp/tcp-a)"
	expect_eq "TCP from c@node1" "$(tail -1 /tmp/tcp-c)" "accept timeout"
	alarm_expect subject=c subject_node=node1 subject_node_id=1 target=b class=peer perm=recv \
		verdict=deny reason=policy saddr="$(vm_node_ip 1)"
	expect_eq "alarms for a" "$(alarm_count subject=a)" 0
fi
vm_barrier checked 120
