# nodes: 2
# Every TCP segment labeled (dsmd --tcp-all on both nodes): the handshake
# carries the IPv4 option, every later segment the connection token
# (docs/wire.md). A connection from a@node1 to b@node2 is bound to a@node1
# at the handshake; after that, node 2 takes no segment for it without
# a@node1's token but a bare ACK. A process labeled c on node 1 sends
# segments for the connection through a raw socket: with data and no
# token (dropped, malformed), with a token whose MAC is made up (dropped,
# forged: it claims a), and a bare ACK without a token (let through,
# counted). Node 2 raises the two alarms, and a's own data, sent after
# them on the same connection, still arrives with its token.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

server=$(vm_node_ip 2)
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
allow a@node1 b : peer recv;
allow b@node2 a : peer recv;
allow { a b } self : socket inet stream { create bind listen connect accept send recv };
allow c self : socket inet raw { create send };
allow c self : socket inet dgram { create connect };  # the probe asks the route for its address
allow b self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key --tcp-all
vm_barrier dsm-up

if ((DSM_NODE == 2)); then
	as b "$PROBE" tcp-accept 9500 60 >/tmp/tcp &
	server_ready /tmp/tcp
fi
vm_barrier server-up

if ((DSM_NODE == 1)); then
	as a "$PROBE" connect-late "$server" 9500 45000 8 >/tmp/client 2>&1 &
	client=$!
	for _ in $(seq 100); do grep -q connected /tmp/client && break; sleep 0.1; done
	grep -q connected /tmp/client || fail "client: $(cat /tmp/client)"
	expect_probe "inject OK" as c "$PROBE" tcp-inject "$server" 9500 45000 data
	expect_probe "inject OK" as c "$PROBE" tcp-inject "$server" 9500 45000 token
	expect_probe "inject OK" as c "$PROBE" tcp-inject "$server" 9500 45000 bare
	wait "$client" || fail "client: $(cat /tmp/client)"
	expect_eq "a's data" "$(tail -1 /tmp/client)" "send OK"
fi
vm_barrier sent 120

if ((DSM_NODE == 2)); then
	for _ in $(seq 300); do grep -q '^accepted' /tmp/tcp && break; sleep 0.1; done
	expect_eq "a's data, after the segment from c" "$(tail -1 /tmp/tcp)" "accepted x"
	grep -qx 'peer a@node1 bound' /tmp/tcp || fail "getpeerlabel: $(grep peer /tmp/tcp)"
	alarm_expect target=b class=peer perm=recv verdict=deny reason=malformed errno=74 \
		saddr="$(vm_node_ip 1)"
	alarm_expect subject=a subject_node=node1 target=b class=peer verdict=deny reason=forged \
		errno=129 saddr="$(vm_node_ip 1)"
	expect_eq "alarms for a (the forged token)" "$(alarm_count subject=a)" 1
	expect_eq "alarms for c" "$(alarm_count subject=c)" 0
	bare=$("$DSMCTL" status --json | jq -r .packets.token_bare_ack)
	((bare >= 1)) || fail "bare ACKs let through without a token: $bare"
fi
vm_barrier checked 120
