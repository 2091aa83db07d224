# nodes: 1
# process:fork is a permission of a label on itself: label a holds it and
# forks; label b does not, its fork fails with EACCES and raises an alarm.
# The denial shows in dsmd's --metrics-file (docs/metrics.md): the file is
# there, 0644, replaced whole, its denial count grows, and the last one
# dsmd writes as it stops says dsm_up 0.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

METRICS=/tmp/textfile/dsm.prom
# metric_value ERE: the value of the first sample of $METRICS matching
# ^ERE VALUE$ into $value ("" if none).
metric_value() {
	local lines l
	value=
	mapfile -t lines 2>/dev/null <"$METRICS" || return 0
	for l in "${lines[@]}"; do
		[[ $l =~ ^$1\ ([0-9]+)$ ]] && { value=${BASH_REMATCH[1]}; return 0; }
	done
}
DENY='dsm_denials_total\{verdict="deny"\}'
FORK='dsm_alarms_total\{class="process",perm="fork",verdict="deny"\}'

mkdir -p "${METRICS%/*}"
dsm_policy /tmp/p.policy <<'EOF2'
allow a self : process fork;
EOF2
dsm_start /tmp/p.policy --metrics-file "$METRICS"

expect_probe "fork OK" as a "$PROBE" fork
for ((i = 0; i < 100; i++)); do
	metric_value "$DENY"
	[[ -n $value ]] && break
	sleep 0.1
done
[[ -n $value ]] || fail "no $DENY in $METRICS after 10 s"
before=$value

expect_probe "fork EACCES" as b "$PROBE" fork
alarm_expect subject=b target=b class=process perm=fork verdict=deny errno=13 comm=probe
expect_eq "alarms for a" "$(alarm_count subject=a)" 0

# The next file (every 5 s) counts the denial.
for ((i = 0; i < 150; i++)); do
	metric_value "$FORK"
	fork=$value
	metric_value "$DENY"
	[[ -n $fork ]] && ((fork >= 1 && value > before)) && break
	sleep 0.1
done
[[ -n $fork ]] && ((fork >= 1 && value > before)) ||
	fail "metrics file: denials $before -> $value, fork alarms '${fork}' after 15 s"
expect_eq "metrics file mode" "$(stat -c %a "$METRICS")" 644
[[ ! -e $METRICS.tmp ]] || fail "$METRICS.tmp left behind"
vm_file_has "$METRICS" '^# TYPE dsm_denials_total counter$' || fail "no TYPE line in $METRICS"
vm_file_has "$METRICS" '^dsm_up 1$' || fail "dsm_up is not 1 while dsmd runs"
# dsmctl stats says the same, now.
"$DSMCTL" stats --prometheus >/tmp/stats.prom || fail "dsmctl stats --prometheus failed"
METRICS=/tmp/stats.prom metric_value "$FORK"
[[ -n $value ]] && ((value >= 1)) || fail "dsmctl stats: no fork denial counted"
expect_eq "dsmctl stats --json dsm_up" \
	"$("$DSMCTL" stats --json | jq '.metrics[] | select(.name == "dsm_up") | .samples[0].value')" 1

dsm_stop
vm_file_has "$METRICS" '^dsm_up 0$' || fail "dsmd's last metrics file does not say dsm_up 0"
