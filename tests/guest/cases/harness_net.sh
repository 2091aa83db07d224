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
