# nodes: 1
# Policy reload is atomic: a loop of forks and connects under a label both
# policy versions allow never sees a denial while dsmd swaps versions over
# and over; a new version's rules apply at once; a broken policy is
# refused and the previous one stays in force.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

rules='allow a self : process fork;
allow a self : socket inet stream { create bind listen connect accept send recv };'
write_version() { # write_version N [EXTRA]
	dsm_policy /tmp/p.policy "$1" <<<"$rules
${2:-}"
}
write_version 1
dsm_start /tmp/p.policy
version() { "$DSMCTL" status --json | jq -r .policy.version; }
expect_eq "first version" "$(version)" 1

as a "$PROBE" loop 40 7300 >/tmp/loop.out 2>&1 &
loop=$!
sleep 3
for v in $(seq 2 11); do
	# Every other version differs in rules for other labels too.
	write_version "$v" "$( ((v % 2)) && echo 'allow b self : process fork;')"
	kill -HUP "$DSMD_PID"
	for _ in $(seq 100); do [[ $(version) == "$v" ]] && break; sleep 0.1; done
	expect_eq "version after reload" "$(version)" "$v"
done
wait "$loop"
rc=$?
cat /tmp/loop.out
expect_eq "loop exit" "$rc" 0
grep -q '^loop [1-9][0-9]* ok 0 failed$' /tmp/loop.out || fail "the loop saw failures"
expect_eq "denials during reloads" "$(alarm_count subject=a)" 0

# A version without a's fork applies at once.
dsm_policy /tmp/p.policy 20 <<'EOF2'
allow a self : socket inet stream *;
EOF2
kill -HUP "$DSMD_PID"
for _ in $(seq 100); do [[ $(version) == 20 ]] && break; sleep 0.1; done
expect_eq "version 20" "$(version)" 20
expect_probe "fork EACCES" as a "$PROBE" fork

# A broken policy changes nothing.
echo 'allow a nosuchlabel : process fork;' >>/tmp/p.policy
kill -HUP "$DSMD_PID"
sleep 2
expect_eq "version after a broken reload" "$(version)" 20
grep -q 'p.policy:.*nosuchlabel' "$DSM_LOG" || fail "no file:line:col diagnostic in the log"
expect_probe "fork EACCES" as a "$PROBE" fork
dsm_running || fail "dsmd died on a broken policy"
