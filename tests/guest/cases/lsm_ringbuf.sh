# nodes: 1
# A full alarm ring buffer never blocks a syscall: with dsmd stopped, far
# more denials than the buffer holds all return at once; the events that
# did not fit are counted as dropped, and every event is either delivered
# or counted (denied = delivered + dropped). Delivered is what dsmd counted
# (status), not lines in the log: the log is rate limited.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$PROBE" /tmp/probe-b
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/probe-b : probe_exec;
transition unconfined probe_exec -> b;
EOF2
dsm_start /tmp/p.policy
n=20000  # the 256 KiB buffer holds 4096 events of 64 bytes

kill -STOP "$DSMD_PID"
out=$(/tmp/probe-b forkloop $n)  # labeled b by its file: dsmd is stopped
kill -CONT "$DSMD_PID"
echo "$out"
expect_eq "forkloop" "$out" "forkloop OK 0 EACCES $n"

status() { "$DSMCTL" status --json; }
counted() { status | jq '[.alarms[] | select(.subject == "b" and .perm == "fork") | .count] | add // 0'; }
for _ in $(seq 100); do
	delivered=$(counted)
	dropped=$(status | jq -r .counters.events_dropped)
	((delivered + dropped >= n)) && break
	sleep 0.2
done
denied=$(status | jq -r .counters.denied)
echo "denied $denied delivered $delivered dropped $dropped"
expect_eq "denied counter" "$denied" "$n"
((dropped > 0)) || fail "nothing dropped: the test did not fill the ring buffer"
((delivered > 0)) || fail "nothing delivered"
expect_eq "delivered + dropped" "$((delivered + dropped))" "$n"
logged=$(alarm_lines subject=b perm=fork)
echo "log lines for them: $logged (rate limited), not logged: $(status | jq .alarm_log.suppressed)"
((logged > 0 && logged < delivered)) || fail "log lines: $logged of $delivered delivered"
