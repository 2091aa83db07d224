# nodes: 1
# process:ptrace: attaching is checked from the tracer's label to the
# tracee's, and PTRACE_TRACEME from the parent's label to the child's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_policy /tmp/p.policy <<'EOF2'
allow a b : process ptrace;
allow a self : process { fork ptrace };
allow b self : process fork;
EOF2
dsm_start /tmp/p.policy

as b "$PROBE" pause >/tmp/pid.b &
for _ in $(seq 50); do [[ -s /tmp/pid.b ]] && break; sleep 0.1; done
pb=$(cat /tmp/pid.b)
as c "$PROBE" pause >/tmp/pid.c &
for _ in $(seq 50); do [[ -s /tmp/pid.c ]] && break; sleep 0.1; done
pc=$(cat /tmp/pid.c)

expect_probe "ptrace OK" as a "$PROBE" ptrace "$pb"
expect_probe "ptrace EACCES" as a "$PROBE" ptrace "$pc"
alarm_expect subject=a target=c class=process perm=ptrace verdict=deny errno=13
expect_probe "traceme OK" as a "$PROBE" traceme
expect_probe "traceme EACCES" as b "$PROBE" traceme
alarm_expect subject=b target=b class=process perm=ptrace verdict=deny
kill "$pb" "$pc"
