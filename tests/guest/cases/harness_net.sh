# nodes: 2
# Two nodes reach each other over the private switch, each with its own
# hostname, node number and address; a file one node writes to the shared
# run directory is seen by the other.
. "$(dirname "$0")/../lib.sh"

expect_eq hostname "$(hostname)" "node$DSM_NODE"
ip -4 -o addr show dev eth0 | grep -q " $DSM_IP/24 " || fail "eth0 lacks $DSM_IP/24"
peer=$((DSM_NODE == 1 ? 2 : 1))
vm_wait_ip "$(vm_node_ip "$peer")" 30 || fail "node $peer unreachable"
echo "hello from node $DSM_NODE" >"$DSM_SHARED/hello.$DSM_NODE"
vm_barrier hello-written || fail barrier
expect_eq "peer's file" "$(cat "$DSM_SHARED/hello.$peer")" "hello from node $peer"

# A barrier waits for this test's nodes even when an earlier test in the
# same cluster passed one of the same name (the run directory outlives a
# test): both nodes pass "reused" as another test would, then node 2 is
# late to this test's own "reused"; node 1 must wait for it.
DSM_BARRIER_SCOPE=an_earlier_test vm_barrier reused || fail "barrier of the earlier test"
if ((DSM_NODE == 2)); then
	sleep 3
	echo late >"$DSM_SHARED/late.$DSM_NODE"
fi
vm_barrier reused || fail barrier
expect_eq "node 2 reached the barrier after writing" "$(cat "$DSM_SHARED/late.2" 2>/dev/null)" late
