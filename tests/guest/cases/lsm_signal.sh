# nodes: 1
# process:signal from the sender's label to the target's: a may signal b,
# b may not signal a (EACCES, alarm naming the signal number in aux).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_policy /tmp/p.policy <<'EOF2'
allow a b : process signal;
EOF2
dsm_start /tmp/p.policy

start_paused() { # start_paused LABEL -> prints pid
	as "$1" "$PROBE" pause >"/tmp/pid.$1" &
	for _ in $(seq 50); do [[ -s /tmp/pid.$1 ]] && break; sleep 0.1; done
	cat "/tmp/pid.$1"
}
pa=$(start_paused a)
pb=$(start_paused b)
[[ -n $pa && -n $pb ]] || fail "paused processes did not start"

expect_probe "kill OK" as a "$PROBE" kill "$pb" 0
expect_probe "kill EACCES" as b "$PROBE" kill "$pa" 15
alarm_expect subject=b target=a class=process perm=signal verdict=deny errno=13 aux=15
kill -0 "$pa" || fail "a's process died although the signal was denied"
expect_probe "kill OK" as a "$PROBE" kill "$pb" 15
for _ in $(seq 50); do kill -0 "$pb" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pb" 2>/dev/null && fail "b's process survived an allowed SIGTERM"
kill "$pa"
