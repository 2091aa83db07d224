# nodes: 2
# Key rotation under continuous traffic loses no allowed packet: node 1
# streams datagrams to node 2 while both nodes go through the three steps
# (add the new key; send with it; drop the old one), reloading at each.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_keyfile /tmp/cluster.key 1 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
allow a@node1 b : peer recv;
allow { a b } self : socket inet dgram { create bind send recv };
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
n=300  # one every 20 ms: 6 s of traffic, each reload inside it

if ((DSM_NODE == 2)); then
	as b "$PROBE" udp-recv 9500 30 >/tmp/recv &
	server_ready /tmp/recv
fi
vm_barrier receiving 120
if ((DSM_NODE == 1)); then
	as a "$PROBE" udp-send "$(vm_node_ip 2)" 9500 $n >/tmp/sent &
	sender=$!
fi
reload() { kill -HUP "$DSMD_PID"; sleep 1; }
sleep 1
vm_barrier step1 60
dsm_keyfile /tmp/cluster.key 1 1 2
reload
vm_barrier step2 60
dsm_keyfile /tmp/cluster.key 2 1 2
reload
vm_barrier step3 60
dsm_keyfile /tmp/cluster.key 2 2
reload
grep -E 'net: keys' "$DSM_LOG"
[[ $(grep -c 'net: keys' "$DSM_LOG") == 4 ]] || fail "not every reload installed keys"
grep -q 'sending with key 2' "$DSM_LOG" || fail "never sent with the new key"

if ((DSM_NODE == 1)); then
	wait "$sender"
	expect_eq "sent" "$(tail -1 /tmp/sent)" "sent $n"
fi
vm_barrier sent 120
if ((DSM_NODE == 2)); then
	for _ in $(seq 300); do grep -q '^received' /tmp/recv && break; sleep 0.1; done
	expect_eq "received during rotation" "$(tail -1 /tmp/recv)" "received $n"
	expect_eq "forged alarms" "$(alarm_count class=peer)" 0
fi
vm_barrier checked 120
