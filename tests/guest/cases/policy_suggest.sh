# nodes: 1
# dsmctl alarms --suggest and dsmctl policy explain on real denials: b
# signals a, a creates an inet dgram socket, b an inet stream one, all
# denied; the rules --suggest prints for them (asking dsmd for the alarms
# and the policy it enforces), appended to the policy and reloaded, let the
# same actions succeed, while a unix socket for a, which no alarm asked
# for, stays denied. explain names the suggested rule's line for one of
# them and explains the denial that is left (exit 0 and 1).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_policy /tmp/p.policy 1 </dev/null
cp /tmp/p.policy /tmp/base.policy
dsm_start /tmp/p.policy

as a "$PROBE" pause >/tmp/pid.a &
for _ in $(seq 50); do [[ -s /tmp/pid.a ]] && break; sleep 0.1; done
pa=$(cat /tmp/pid.a)
[[ -n $pa ]] || fail "a's paused process did not start"

echo "--- denials"
expect_alarmed "kill EACCES" subject=b target=a class=process perm=signal verdict=deny -- \
	as b "$PROBE" kill "$pa" 18
expect_alarmed "create EACCES" subject=a target=a class=socket perm=create verdict=deny -- \
	as a "$PROBE" socket inet dgram
expect_alarmed "create EACCES" subject=b target=b class=socket perm=create verdict=deny -- \
	as b "$PROBE" socket inet stream

echo "--- explain before: denied, exit 1"
out=$("$DSMCTL" policy explain b a process signal)
rc=$?
echo "$out (exit $rc)"
((rc == 1)) || fail "explain of a denial exited $rc"
[[ $out == "denied: no rule allows process signal from b to a"* ]] || fail "explain: $out"

echo "--- suggest"
"$DSMCTL" alarms --suggest >/tmp/suggest.txt || fail "alarms --suggest failed"
cat /tmp/suggest.txt
grep -q '^# FOR REVIEW ONLY: nothing here is applied' /tmp/suggest.txt || fail "no review header"
grep -qx 'allow b a : process signal;  # 1 alarm' /tmp/suggest.txt || fail "no signal rule"
grep -qx 'allow a a : socket inet dgram create;  # 1 alarm' /tmp/suggest.txt || fail "no dgram rule"
grep -qx 'allow b b : socket inet stream create;  # 1 alarm' /tmp/suggest.txt || fail "no stream rule"
grep -v '^#' /tmp/suggest.txt | grep -q '[*]' && fail "a suggestion holds a wildcard"
"$DSMCTL" alarms --suggest --json | jq -e '.rules | length >= 3' >/dev/null ||
	fail "alarms --suggest --json"
expect_eq "policy in force still version 1 (nothing applied)" \
	"$("$DSMCTL" status --json | jq -r .policy.version)" 1

echo "--- the suggestions, appended and reloaded"
{ sed 's/^policy test version 1;/policy test version 2;/' /tmp/base.policy; cat /tmp/suggest.txt; } >/tmp/p.policy
"$DSMCTL" reload || fail "reload with the suggested rules failed"
expect_eq "policy version" "$("$DSMCTL" status --json | jq -r .policy.version)" 2

expect_probe "kill OK" as b "$PROBE" kill "$pa" 18
expect_probe "create OK" as a "$PROBE" socket inet dgram
expect_probe "create OK" as b "$PROBE" socket inet stream
echo "--- still denied: not in the alarms"
expect_alarmed "create EACCES" subject=a target=a class=socket perm=create verdict=deny -- \
	as a "$PROBE" socket unix stream
expect_probe "create EACCES" as b "$PROBE" socket inet dgram

echo "--- explain after"
line=$(grep -n '^allow b a : process signal;' /tmp/p.policy | cut -d: -f1)
out=$("$DSMCTL" policy explain b a process signal)
rc=$?
echo "$out (exit $rc)"
((rc == 0)) || fail "explain of an allowed request exited $rc"
expect_eq "explain names the rule" "$out" "allowed by /tmp/p.policy:$line:1: allow b a : process signal;"
out=$("$DSMCTL" policy explain a a socket create --family unix --type stream)
rc=$?
echo "$out (exit $rc)"
((rc == 1)) || fail "explain of the remaining denial exited $rc"
[[ $out == *"nearest (the permission for another socket family or type): /tmp/p.policy:"*"allow a a : socket inet dgram create;"* ]] ||
	fail "explain does not name the nearest rule"
"$DSMCTL" policy explain a a socket create --family inet --type dgram --json |
	jq -e '.verdict == "allowed" and .rule.line > 0' >/dev/null || fail "explain --json"
kill "$pa"
