# nodes: 1
# Attack (item: control socket), as confined root (label a) and as a
# service that dropped root. dsmd's control socket once authorized nobody
# by label, served one client at a time from the loop that drains alarms,
# and died of SIGPIPE when a client left early. Now:
#  - every request needs its class dsm permission from the caller's label,
#    which the kernel stamped on the connection (bpf/unix.bpf.h): a may
#    not reload, set an exec label, unload or list processes, and each
#    refusal is an alarm; with a permissive, the same requests pass and
#    are reported as permissive (the "dsm off" half: what the attack did
#    before);
#  - the socket is 0666: a service that dropped root asks for its peer;
#  - silent, dripping, flooding, lingering and early-closing clients hold
#    up neither other clients, nor alarms, nor the tick (heartbeat);
#  - denied requests in a flood are rate limited in the log, counted in
#    status;
#  - alarms come through the socket (also --follow);
#  - `dsmd --unload` goes through the running dsmd, which refuses a; with
#    no dsmd the kernel refuses a's direct unload;
#  - `dsmctl status` says plainly when dsmd is stalled (4) or not running
#    (3), and whether dsm's programs are loaded.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

ACTL=$build/tests/guest/tools/attack_ctl
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
under() { awk -v v="$1" -v m="$2" 'BEGIN { exit !(v < m) }'; }
st() { "$DSMCTL" status --json | jq -r "$1"; }
latency() { # seconds until dsmd answers the operator's status
	local t0
	t0=$(now)
	"$ACTL" send status >/dev/null
	elapsed "$t0"
}
expect_fast() { # expect_fast WHAT: the operator is answered within 2 s
	local l
	l=$(latency)
	echo "$1: dsmd answered the operator after $l s"
	under "$l" 2 || fail "$1: the operator waited $l s"
}

cp "$PROBE" /tmp/probe-b
dsm_keyfile /tmp/cluster.key 1
rules='file /tmp/probe-b : probe_exec;
transition unconfined probe_exec -> b;
allow a { unconfined dsmd_exec } : file exec;
allow a self : socket unix stream *;
allow a self : socket inet stream *;
allow a@any a : peer recv;'
dsm_policy /tmp/p.policy 1 <<<"$rules
permissive a;"
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

echo "--- with a permissive: what the attack did, reported"
out=$(as a "$ACTL" send reload)
echo "a (permissive): reload: $out"
grep -q '"ok":true' <<<"$out" || fail "a (permissive) could not reload"
alarm_expect subject=a target=dsmd class=dsm perm=admin verdict=permissive

echo "--- the operator reloads an enforcing policy"
dsm_policy /tmp/p.policy 2 <<<"$rules"
out=$("$DSMCTL" reload)
echo "$out"
[[ $out == "installed policy 'test' version 2; keys reloaded" ]] || fail "reload said '$out'"

echo "--- confined root (label a) asks dsmd for what only an admin may"
for req in reload "exec-label dsmd" unload ps; do
	out=$(as a "$ACTL" send "$req" | head -1)
	echo "a: $req: $out"
	grep -q '"error":".*permission denied' <<<"$out" || fail "a: $req was not refused"
done
alarm_expect subject=a target=dsmd class=dsm perm=admin verdict=deny errno=13
alarm_expect subject=a target=dsmd class=dsm perm=query verdict=deny errno=13
out=$(as a "$DSMD" --unload 2>&1)
rc=$?
echo "a: dsmd --unload: $out (exit $rc)"
((rc == 1)) || fail "a's dsmd --unload exited $rc"
grep -q "the running dsmd refused" <<<"$out" || fail "a's unload was not refused by dsmd"
[[ -e /sys/fs/bpf/dsm/maps/dsm_policy ]] || fail "a's unload removed the pins"
out=$(as a "$DSMCTL" alarms 2>&1)
rc=$?
echo "a: dsmctl alarms: $out (exit $rc)"
((rc == 1)) && grep -q "permission denied" <<<"$out" || fail "a read the alarms"
expect_eq "policy version after a's attempts" "$(st .policy.version)" 2

echo "--- getpeerlabel: a service in a, and services that dropped root"
out=$(as a "$ACTL" peer | grep label_id)
echo "a: $out"
grep -q '"label":"a".*"bound":true' <<<"$out" || fail "a's getpeerlabel: $out"
out=$("$ACTL" nobody-peer | grep label_id)
echo "nobody (unconfined): $out"
grep -q '"label":"unconfined"' <<<"$out" || fail "nobody's getpeerlabel: $out"
out=$(as a "$ACTL" nobody-peer | grep label_id)
echo "nobody (a): $out"
grep -q '"label":"a"' <<<"$out" || fail "nobody in a: getpeerlabel: $out"

echo "--- silent clients: 8, then 40 connections from a that send nothing"
as a "$ACTL" silent 8 6 >/tmp/silent.out 2>&1 &
silent=$!
sleep 0.5
expect_fast "8 silent connections"
wait "$silent"
as a "$ACTL" silent 40 6 >/tmp/silent.out 2>&1 &
silent=$!
sleep 1
expect_fast "40 silent connections"
wait "$silent"
echo "connections turned away so far: $(st .control.turned_away), timed out: $(st .control.timed_out)"
(($(st .control.turned_away) >= 24)) || fail "a held more than 16 connections"
(($(st .control.timed_out) >= 8)) || fail "silent clients were not ended at their deadline"

echo "--- a drip client: one byte a second"
alarms0=$(alarm_count subject=b perm=fork)
as a "$ACTL" drip 12 >/tmp/drip.out 2>&1 &
drip=$!
sleep 2
expect_fast "drip"
expect_probe "fork EACCES" /tmp/probe-b fork       # an alarm, raised during the drip
for _ in $(seq 30); do (($(alarm_count subject=b perm=fork) > alarms0)) && break; sleep 0.1; done
(($(alarm_count subject=b perm=fork) > alarms0)) || fail "the alarm was not written during the drip"
hb=$(st .heartbeat_age_ms)
echo "heartbeat age during the drip: $hb ms"
((hb < 2500)) || fail "the tick stood still during the drip ($hb ms)"
wait "$drip"
cat /tmp/drip.out
grep -Eq '^drip cut off after [1-7] s$' /tmp/drip.out || fail "the drip was not cut off at its deadline"

echo "--- a flooding client: a megabyte without a newline"
out=$(as a "$ACTL" flood 1000000 | head -1)
echo "flood: $out"
grep -q "at most 510 bytes" <<<"$out" || fail "flood: $out"
expect_fast "flood"

echo "--- a client passes a socket whose close would linger, and closes its copy"
as a "$ACTL" linger 15 >/tmp/linger.out 2>&1 &
linger=$!
sleep 1
expect_fast "lingering socket"
"$DSMCTL" ps >/dev/null || fail "ps after the lingering socket"
expect_fast "lingering socket, later"

echo "--- a flood of denied requests: rate limited in the log, counted in status"
out=$(as a "$ACTL" repeat 200 reload)
echo "$out"
[[ $out == "repeat 200 200" ]] || fail "flood of reloads: $out"
logged=$(alarm_lines subject=a class=dsm perm=admin verdict=deny)
counted=$("$DSMCTL" status --json | jq '[.alarms[] | select(.subject == "a" and .perm == "admin" and .verdict == "deny") | .count] | add')
echo "denied reloads: $counted counted, $logged lines in the log, $(st .alarm_log.suppressed) not logged"
((counted >= 201)) || fail "dsmd counted $counted denied reloads"
((logged <= 20)) || fail "$logged alarm lines for one kind: no rate limit"
(($(st .alarm_log.suppressed) > 0)) || fail "nothing counted as not logged"
held() { alarm_stream | jq -e 'select(.suppressed != null and .subject == "a")' >/dev/null 2>&1; }
for _ in $(seq 40); do held && break; sleep 0.1; done
held || fail "no line says how many alarms were held back"

echo "--- a client that closes before dsmd answers"
expect_probe "sigpipe OK" as a "$ACTL" sigpipe
dsm_running || fail "dsmd died when a client left early"
expect_fast "after the early close"

echo "--- alarms through the socket"
"$DSMCTL" alarms --json | jq -e 'select(.class == "dsm" and .subject == "a")' >/dev/null ||
	fail "dsmctl alarms does not show a's denials"
"$DSMCTL" alarms | grep -q 'deny a -> dsmd dsm admin pid=' || fail "text alarms"
forks=$(alarm_count subject=b perm=fork)
"$DSMCTL" alarms --follow --json >/tmp/follow.out 2>/tmp/follow.err &
follow=$!
sleep 1
expect_probe "fork EACCES" /tmp/probe-b fork
for _ in $(seq 50); do (($(grep -c '"perm":"fork"' /tmp/follow.out) > forks)) && break; sleep 0.1; done
kill -INT "$follow"
wait "$follow"
rc=$?
echo "follower: $(wc -l </tmp/follow.out) records, exit $rc"
((rc == 0)) || { cat /tmp/follow.err; fail "alarms --follow exited $rc"; }
expect_eq "fork alarms followed (history and new)" "$(grep -c '"perm":"fork"' /tmp/follow.out)" "$((forks + 1))"

echo "--- a stalled dsmd"
kill -STOP "$DSMD_PID"
out=$("$DSMCTL" status 2>&1)
rc=$?
kill -CONT "$DSMD_PID"
echo "$out (exit $rc)"
((rc == 4)) && grep -q "not answering (stalled?).*heartbeat is [0-9]* s old" <<<"$out" ||
	fail "a stalled dsmd: '$out' exit $rc"

echo "--- dsmd stopped, dsm still loaded"
# a's unload once dsmd is gone: started now (nothing labels a task later).
rm -f /tmp/go-unload
as a "$ACTL" wait-exec /tmp/go-unload "$DSMD" --unload >/tmp/a-unload.out 2>&1 &
a_unload=$!
sleep 0.5
kill -TERM "$DSMD_PID"
wait "$DSMD_PID"
DSMD_PID=
out=$("$DSMCTL" status 2>&1)
rc=$?
echo "$out (exit $rc)"
((rc == 3)) && grep -q "dsmd is not running .*programs are loaded: yes" <<<"$out" ||
	fail "status with dsmd stopped: '$out' exit $rc"
touch /tmp/go-unload
wait "$a_unload"
rc=$?
out=$(cat /tmp/a-unload.out)
echo "a: dsmd --unload without dsmd: $out (exit $rc)"
((rc == 1)) || fail "a unloaded dsm directly"
grep -q "unloading directly" <<<"$out" || fail "a's unload did not say it went directly"
[[ -e /sys/fs/bpf/dsm/maps/dsm_policy ]] || fail "a's direct unload removed the pins"
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
alarm_expect subject=a class=system perm=dsm_files verdict=deny

echo "--- the operator unloads through the running dsmd"
"$DSMD" --unload >/tmp/unload.out 2>&1 || { cat /tmp/unload.out; fail "the operator's unload failed"; }
cat /tmp/unload.out
grep -q "unloaded by the running dsmd" /tmp/unload.out || fail "unload did not go through dsmd"
for _ in $(seq 50); do dsm_running || break; sleep 0.1; done
dsm_running && fail "dsmd still runs after the unload"
DSMD_PID=
out=$("$DSMCTL" status 2>&1)
rc=$?
echo "$out (exit $rc)"
((rc == 3)) && grep -q "programs are loaded: no" <<<"$out" || fail "status after the unload: '$out'"
kill "$linger" 2>/dev/null
echo "RESULT: every control-socket attack failed with dsm enforcing"
