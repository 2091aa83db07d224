# nodes: 1
# The shipped example policy (policy/example.policy, the demo's) on node1
# of its cluster, with labels on the wire: dsmd starts under it (it once
# did not: the policy gives dsmd no inet datagram socket, dsmd used one,
# and only the demo noticed, because the other tests' policies give dsmd
# every socket), and this node enforces what the file says: web has no
# UDP socket, a local unconfined task may not reach web's listener, PID 1
# carries the service manager's label, and the unconfined rest of the
# system (root here) may neither enter dsmd's label nor signal dsmd.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_keyfile /tmp/cluster.key 1
# The policy names dsmd's installed path; the tests run it from the tree.
sed "s|/usr/sbin/dsmd|$DSMD|" "$top/policy/example.policy" >/tmp/cluster.policy
dsm_start /tmp/cluster.policy --key-file /tmp/cluster.key
st=$("$DSMCTL" status --json)
expect_eq "policy in force" "$(jq -r '.policy.name' <<<"$st")" example-cluster
expect_eq "node" "$(jq -r '.node.name' <<<"$st")" node1

expect_probe "create EACCES" as web "$PROBE" socket inet dgram
alarm_expect subject=web target=web class=socket perm=create verdict=deny

as web "$PROBE" tcp-accept 9700 10 >/tmp/web &
server_ready /tmp/web
expect_probe "connect EINPROGRESS" "$PROBE" connect 127.0.0.1 9700
for _ in $(seq 150); do grep -q '^accept' /tmp/web && break; sleep 0.1; done
expect_eq "unconfined -> web over lo" "$(tail -1 /tmp/web)" "accept timeout"
alarm_expect subject=unconfined subject_node=node1 target=web class=peer verdict=deny

expect_eq "PID 1's label" "$(label_of 1)" init
expect_eq "dsmd's label" "$(label_of "$DSMD_PID")" dsmd
out=$("$DSMCTL" exec --label dsmd -- "$PROBE" bpf 2>&1) && fail "unconfined entered dsmd's label: $out"
echo "dsmctl exec --label dsmd: $(tail -1 <<<"$out")"
alarm_expect subject=unconfined target=dsmd class=process perm=transition verdict=deny
expect_probe "kill EACCES" "$PROBE" kill "$DSMD_PID" 0
alarm_expect subject=unconfined target=dsmd class=process perm=signal verdict=deny
# dsmd's binary run here stays unconfined: it may not use bpf().
expect_probe "bpf EACCES" "$PROBE" bpf
dsm_stop
