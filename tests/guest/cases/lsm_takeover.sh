# nodes: 1
# Enforcement survives dsmd: after kill -9 the programs stay attached
# (pinned) and keep denying; a new dsmd takes the pinned objects over,
# and the alarms raised while no dsmd ran are not lost.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$PROBE" /tmp/probe-b
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/probe-b : probe_exec;
transition unconfined probe_exec -> b;
EOF2
dsm_start /tmp/p.policy
expect_probe "fork EACCES" /tmp/probe-b fork
alarm_expect subject=b perm=fork verdict=deny
[[ $("$DSMCTL" status --json | jq -r .takeover) == false ]] || fail "fresh start says takeover"

kill -9 "$DSMD_PID"
wait "$DSMD_PID" 2>/dev/null
DSMD_PID=
[[ -e /sys/fs/bpf/dsm/links/hook_task_alloc ]] || fail "pins gone with dsmd"
expect_probe "fork EACCES" /tmp/probe-b fork
expect_probe "fork EACCES" /tmp/probe-b fork
expect_eq "alarms logged while down" "$(alarm_count subject=b perm=fork)" 1

dsm_start /tmp/p.policy
[[ $("$DSMCTL" status --json | jq -r .takeover) == true ]] || fail "restart did not take over"
for _ in $(seq 50); do [[ $(alarm_count subject=b perm=fork) == 3 ]] && break; sleep 0.1; done
expect_eq "alarms after takeover (none lost)" "$(alarm_count subject=b perm=fork)" 3
expect_probe "fork EACCES" /tmp/probe-b fork
alarm_expect subject=b perm=fork verdict=deny
expect_eq "denied counter" "$("$DSMCTL" status --json | jq -r .counters.denied)" 4
