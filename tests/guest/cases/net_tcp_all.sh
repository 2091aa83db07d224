# nodes: 2
# Every TCP segment labeled (dsmd --tcp-all on both nodes). A connection
# from a@node1 to b@node2 is bound to a@node1 at the handshake; after
# that, a segment for the connection from anyone else is dropped before
# the socket. Here a process labeled c on node 1 sends one through a raw
# socket, so dsm labels it c@node1 with a good MAC: a real label, the
# wrong peer. Node 2 raises an alarm naming c, and a's own data, sent
# after it on the same connection, still arrives.
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
	expect_probe "inject OK" as c "$PROBE" tcp-inject "$server" 9500 45000
	wait "$client" || fail "client: $(cat /tmp/client)"
	expect_eq "a's data" "$(tail -1 /tmp/client)" "send OK"
fi
vm_barrier sent 120

if ((DSM_NODE == 2)); then
	for _ in $(seq 300); do grep -q '^accepted' /tmp/tcp && break; sleep 0.1; done
	expect_eq "a's data, after the segment from c" "$(tail -1 /tmp/tcp)" "accepted x"
	grep -qx 'peer a@node1 bound' /tmp/tcp || fail "getpeerlabel: $(grep peer /tmp/tcp)"
	alarm_expect subject=c subject_node=node1 target=b class=peer perm=recv verdict=deny \
		errno=13 saddr="$(vm_node_ip 1)"
	expect_eq "alarms for a" "$(alarm_count subject=a)" 0
fi
vm_barrier checked 120
