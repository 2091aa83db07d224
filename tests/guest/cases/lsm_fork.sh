# nodes: 1
# process:fork is a permission of a label on itself: label a holds it and
# forks; label b does not, its fork fails with EACCES and raises an alarm.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_policy /tmp/p.policy <<'EOF2'
allow a self : process fork;
EOF2
dsm_start /tmp/p.policy

expect_probe "fork OK" as a "$PROBE" fork
expect_probe "fork EACCES" as b "$PROBE" fork
alarm_expect subject=b target=b class=process perm=fork verdict=deny errno=13 comm=probe
expect_eq "alarms for a" "$(alarm_count subject=a)" 0
