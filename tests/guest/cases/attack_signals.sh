# nodes: 1
# Attack (item: signals by other paths). The policy denies a `process
# signal` on b, and kill(2) from a to b is denied (task_kill). dsm has no
# program on the other ways one process stops another; on 6.1:
#   - SIGIO: fcntl F_SETOWN + F_SETSIG(SIGKILL) + O_ASYNC on a pipe, then a
#     write: kill_fasync -> send_sigio -> send_sigio_to_task ->
#     do_send_sig_info (hook file_send_sigiotask; no task_kill);
#   - cgroup v2: a makes a cgroup, moves b's process in (cgroup.procs),
#     freezes it (cgroup.freeze) and kills it (cgroup.kill: cgroup_kill ->
#     send_sig(SIGKILL)); no LSM hook but file_open on cgroupfs;
#   - prlimit(RLIMIT_CPU): hooks task_prlimit / task_setrlimit; the CPU
#     timer then sends SIGXCPU/SIGKILL from the kernel;
#   - /proc/PID/oom_score_adj: a procfs write (file_open only);
#   - setpriority / sched_setscheduler(SCHED_IDLE): hooks task_setnice /
#     task_setscheduler;
#   - a pty master: TIOCSIG (pty_signal -> kill_pgrp(..., priv 1)) and the
#     hangup on its close (tty_signal_session_leader, SEND_SIG_PRIV):
#     kernel-sent signals pass check_kill_permission before task_kill.
#
# EXPECTS THE HOLES: this test passes while every attack reaches the
# victim, and says so. When dsm checks these paths, flip each to "denied,
# with an alarm".
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

ASIG=$build/tests/guest/tools/attack_sig
CG=/sys/fs/cgroup
holes=0
hole() { echo "ATTACK $1: SUCCEEDED (hole)"; holes=$((holes + 1)); }
gone() { [[ ! -e /proc/$1 ]] || [[ $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1) == Z ]]; }
wait_gone() { for _ in $(seq "${2:-50}"); do gone "$1" && return 0; sleep 0.1; done; return 1; }
[[ -e $CG/cgroup.procs ]] || skip_host "no cgroup2 at $CG"

cleanup_cg() {
	local rc=$?
	for g in "$CG"/dsm-evil*; do
		[[ -d $g ]] || continue
		echo 1 >"$g/cgroup.kill" 2>/dev/null
		sleep 0.2
		rmdir "$g" 2>/dev/null
	done
	return $rc
}
eval "set -- $(trap -p EXIT)"
trap -- "cleanup_cg; ${3:-}" EXIT
set --

# victim CMD...: start the victim (as b when dsm runs), leave its pid in $v.
victim() {
	: >/tmp/victim.out
	$VICTIM_AS "$@" >/tmp/victim.out 2>&1 &
	v=$!
	for _ in $(seq 50); do [[ -s /tmp/victim.out ]] && break; sleep 0.1; done
	[[ -s /tmp/victim.out ]] || fail "victim did not start"
	if [[ -n $VICTIM_AS ]]; then expect_eq "victim's label" "$(label_of "$v")" b; fi
}
reap() { kill -KILL "$v" 2>/dev/null; wait "$v" 2>/dev/null; }

# pty_attack OP [ARG]: a victim on a pty's slave (its session and
# controlling terminal), the attacker holding the master runs attack_sig OP.
# 0 if the victim is gone afterwards.
pty_attack() {
	local pty
	rm -f /tmp/vpid
	"$ASIG" pty /tmp/vpid $VICTIM_AS "$PROBE" pause :: $ATT_AS "$ASIG" "$1" 3 ${2:-} \
		>/tmp/pty.out 2>&1 &
	pty=$!
	for _ in $(seq 50); do [[ -s /tmp/vpid ]] && break; sleep 0.1; done
	v=$(cat /tmp/vpid)
	sleep 1.5
	if [[ -n $VICTIM_AS ]]; then expect_eq "pty victim's label" "$(label_of "$v")" b; fi
	echo "pty victim $v: $(tr '\0' ' ' <"/proc/$v/cmdline")"
	wait "$pty"
	cat /tmp/pty.out
	wait_gone "$v"
}

# attacks WHO: every attack, by $ATT_AS on a victim; WHO names the run.
attacks() {
	local who=$1 n=0 out
	victim "$PROBE" pause
	$ATT_AS "$ASIG" sigio "$v" | tail -1
	wait_gone "$v" && { n=$((n + 1)); hole "$who: SIGIO with F_SETSIG SIGKILL killed the victim"; }
	reap

	victim "$PROBE" pause
	$ATT_AS bash -c "mkdir $CG/dsm-evil-$who && echo $v >$CG/dsm-evil-$who/cgroup.procs &&
		echo 1 >$CG/dsm-evil-$who/cgroup.freeze"
	sleep 0.5
	if grep -q '^frozen 1' "$CG/dsm-evil-$who/cgroup.events" 2>/dev/null; then
		n=$((n + 1)); hole "$who: the victim moved into a's cgroup and frozen (cgroup.freeze)"
		echo "victim state: $(grep State "/proc/$v/status")"
	fi
	$ATT_AS bash -c "echo 1 >$CG/dsm-evil-$who/cgroup.kill"
	wait_gone "$v" && { n=$((n + 1)); hole "$who: cgroup.kill killed the victim"; }
	reap
	rmdir "$CG/dsm-evil-$who" 2>/dev/null

	victim "$ASIG" spin
	$ATT_AS "$ASIG" prlimit "$v" | tail -1
	wait_gone "$v" 200 && { n=$((n + 1)); hole "$who: prlimit(RLIMIT_CPU) killed the victim (SIGXCPU)"; }
	reap

	victim "$PROBE" pause
	out=$($ATT_AS "$ASIG" write "/proc/$v/oom_score_adj" 1000 | tail -1)
	echo "oom_score_adj: $out, now $(cat "/proc/$v/oom_score_adj")"
	[[ $(cat "/proc/$v/oom_score_adj") == 1000 ]] &&
		{ n=$((n + 1)); hole "$who: the victim's oom_score_adj set to 1000 (first to die)"; }
	$ATT_AS "$ASIG" sched "$v"
	echo "victim: $(chrt -p "$v" | head -1), nice $(ps -o ni= -p "$v")"
	chrt -p "$v" | grep -q SCHED_IDLE &&
		{ n=$((n + 1)); hole "$who: the victim moved to SCHED_IDLE and nice 19"; }
	reap

	pty_attack tiocsig 2 && { n=$((n + 1)); hole "$who: TIOCSIG SIGINT on the pty master killed the victim"; }
	pty_attack hangup && { n=$((n + 1)); hole "$who: closing the pty master hung the victim up (SIGHUP)"; }
	echo "$who: $n of 8 attacks reached the victim"
	got=$n
}

echo "--- part 1: without dsm"
VICTIM_AS= ATT_AS=
attacks nodsm
((got == 8)) || fail "without dsm only $got of 8 attacks worked: the test proves nothing"

dsm_policy /tmp/p.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
EOF2
dsm_start /tmp/p.policy
echo "--- part 2: confined root in a, victim in b, a may not signal b"
VICTIM_AS="$DSMCTL exec --label b --" ATT_AS="$DSMCTL exec --label a --"
victim "$PROBE" pause
expect_probe "kill EACCES" $ATT_AS "$PROBE" kill "$v" 9
alarm_expect subject=a target=b class=process perm=signal verdict=deny
reap
holes=0
attacks dsm
echo "RESULT: $got of 8 signal paths reached a victim a may not signal"
# Closed, with their alarms in attack_procfs: oom_score_adj (process
# ptrace), cgroup.freeze and cgroup.kill (system cgroup).
((got == 5)) || fail "expected the 5 other paths to reach the victim (the hole); $got did"
