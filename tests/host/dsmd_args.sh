#!/usr/bin/env bash
# dsmd's --alarm-sink: each value it takes is accepted (the usage names
# them), and anything else stops dsmd before it does anything, with exit
# status 2 (a usage error: the unit does not restart it) and one line
# saying what the option wants.
. "$(dirname "$0")/lib"

dsmd=$build/dsmd
if [[ ! -x $dsmd ]]; then
	fail alarm-sink-flag "$dsmd is missing (make all)"
	exit 0
fi
bad=()
for v in auto journal syslog none; do
	"$dsmd" --alarm-sink "$v" --help >/dev/null 2>"$tmp/err" || bad+=("$v: $(head -1 "$tmp/err")")
done
"$dsmd" --help | grep -q -- '--alarm-sink WHERE' || bad+=("the usage does not name --alarm-sink")
if ((${#bad[@]} == 0)); then
	pass alarm-sink-flag
else
	fail alarm-sink-flag "${bad[*]}"
fi

for v in journald "" Syslog; do
	"$dsmd" --policy /nonexistent --alarm-sink "$v" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	want="dsmd: --alarm-sink wants auto, journal, syslog or none, not '$v'"
	if ((rc == 2)) && [[ ! -s $tmp/out && $(wc -l <"$tmp/err") == 1 && $(cat "$tmp/err") == "$want" ]]; then
		pass "alarm-sink-bad-${v:-empty}"
	else
		fail "alarm-sink-bad-${v:-empty}" "exit $rc, stderr: $(paste -sd'|' "$tmp/err")"
	fi
done
exit 0
