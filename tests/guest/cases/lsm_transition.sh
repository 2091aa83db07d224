# nodes: 1
# Labels change on exec by rule: (subject, binary label) -> new label, and
# by request (dsmctl exec --label) when process:transition allows it. A
# denied request makes the exec fail; a failed exec changes no label.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$PROBE" /tmp/probe-c
dsm_policy /tmp/p.policy <<EOF2
file /tmp/probe-c : probe_exec;
transition a probe_exec -> c;
allow a { unconfined probe_exec } : file exec;
allow a self : process fork;
allow c { unconfined probe_exec } : file exec;
allow a self : socket unix *;
allow a dsmd : dsm admin;  # dsmctl exec asks dsmd for an exec label
EOF2
dsm_start /tmp/p.policy

# Automatic: a task labeled a runs the probe_exec binary and becomes c.
as a "$PROBE" exec /tmp/probe-c pause >/tmp/pid &
waitpid=$!
for _ in $(seq 50); do [[ -s /tmp/pid ]] && break; sleep 0.1; done
expect_eq "label after transition" "$(label_of "$(cat /tmp/pid)")" c
kill "$(cat /tmp/pid)"; wait "$waitpid" 2>/dev/null

# Without a rule for (a, unconfined) the label stays a.
as a "$PROBE" pause >/tmp/pid2 &
waitpid=$!
for _ in $(seq 50); do [[ -s /tmp/pid2 ]] && break; sleep 0.1; done
expect_eq "label without transition rule" "$(label_of "$(cat /tmp/pid2)")" a
kill "$(cat /tmp/pid2)"; wait "$waitpid" 2>/dev/null

# Requested: a may not request b (no process:transition a -> b).
out=$(as a "$DSMCTL" exec --label b -- "$PROBE" fork 2>&1)
rc=$?
echo "$out"
expect_eq "denied request exit" "$rc" 126
alarm_expect subject=a target=b class=process perm=transition verdict=deny errno=13
