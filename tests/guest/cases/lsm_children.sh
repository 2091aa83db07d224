# nodes: 1
# A process forked by a labeled parent carries the parent's label from the
# fork on: dsmctl ps shows it; it stays when the parent's label changes
# later; and a label requested from such a process (dsmctl exec) is checked
# against it, not against the initial label (which may move to b).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$PROBE" /tmp/probe-c
dsm_policy /tmp/p.policy <<EOF2
file /tmp/probe-c : probe_exec;
transition a probe_exec -> c;
allow a { unconfined probe_exec } : file exec;
allow a self : process fork;
allow a self : socket unix *;
allow a dsmd : dsm admin;  # dsmctl exec asks dsmd for an exec label
EOF2
dsm_start /tmp/p.policy

wait_file() { for _ in $(seq 100); do [[ -s $1 ]] && return 0; sleep 0.1; done; fail "no $1"; }

# bash (a) forks sleep, then becomes c by exec'ing probe_exec.
as a bash -c 'sleep 600 & echo $! >/tmp/child; exec /tmp/probe-c pause' >/tmp/parent &
runner=$!
wait_file /tmp/child
wait_file /tmp/parent
expect_eq "parent after its exec" "$(label_of "$(cat /tmp/parent)")" c
expect_eq "child forked before that exec" "$(label_of "$(cat /tmp/child)")" a

# dsmctl run by a forked child of a: the request is a's, and a may not
# move to b (the initial label, unconfined, could).
out=$(as a bash -c '"$1" exec --label b -- "$2" fork' - "$DSMCTL" "$PROBE" 2>&1)
rc=$?
echo "$out"
expect_eq "request from a forked child" "$rc" 126
alarm_expect subject=a target=b class=process perm=transition verdict=deny errno=13

kill "$(cat /tmp/child)" "$(cat /tmp/parent)"
wait "$runner" 2>/dev/null
dsm_stop
