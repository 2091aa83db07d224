# nodes: 1
# Attack (item: signals by other paths). The policy denies a `process
# signal` on b, and kill(2) from a to b is denied (task_kill). These are the
# other ways one process stops, kills or starves another on 6.1, each tried
# by confined root in a on a victim in b:
#   - SIGIO: fcntl F_SETOWN + F_SETSIG(SIGKILL) + O_ASYNC on a pipe, then a
#     write: send_sigio -> do_send_sig_info, no task_kill. dsm checks it at
#     file_send_sigiotask against the labels that set the owner and the
#     signal (bpf/signal.bpf.h);
#   - prlimit(RLIMIT_CPU): the CPU timer then sends SIGXCPU/SIGKILL from
#     the kernel; checked at task_setrlimit;
#   - setpriority / sched_setscheduler(SCHED_IDLE): checked at
#     task_setnice / task_setscheduler;
#   - a pty master: TIOCSIG (pty_signal -> kill_pgrp with privilege, which
#     skips task_kill) and TIOCSTI into the slave (input the victim reads);
#     checked at file_ioctl against every process of the terminal's
#     foreground group; and TIOCVHANGUP on the slave (SIGHUP to its
#     session), checked against every process of the session;
#   - cgroup v2: a makes a cgroup, moves b's process in (cgroup.procs),
#     freezes it (cgroup.freeze) and kills it (cgroup.kill: cgroup_kill ->
#     send_sig(SIGKILL)); and /proc/PID/oom_score_adj: writes to files,
#     mediated with the file paths (system cgroup; another label's /proc
#     files are process ptrace);
#   - closing the pty master hangs the slave up (SIGHUP from
#     tty_signal_session_leader): no hook on that path; not mediated, and
#     said so (a label must not hand its terminal's master to another).
# Each works without dsm; with dsm enforcing every mediated one fails with
# the alarm, and the victim lives on.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

ASIG=$build/tests/guest/tools/attack_sig
CG=/sys/fs/cgroup
gone() { # gone PID: it has exited (no entry, or a zombie); builtins only
	local s
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 0
	s=${s##*) }
	[[ ${s%% *} == Z ]]
}
# wait_gone PID [TENTHS]: wait up to TENTHS tenths of a second (default 50)
# of wall time for PID to be gone.
wait_gone() {
	local end=$((${EPOCHREALTIME/./} + ${2:-50} * 100000))
	while ((${EPOCHREALTIME/./} < end)); do
		gone "$1" && return 0
		sleep 0.1
	done
	gone "$1"
}
[[ -e $CG/cgroup.procs ]] || skip_host "no cgroup2 at $CG"

# Which paths dsm mediates (1) and which still reach the victim with dsm
# enforcing (0, each said in docs/security.md).
declare -A mediated=(
	[sigio]=1 [prlimit]=1 [sched]=1 [tiocsig]=1 [tiocsti]=1 [vhangup]=1
	[cgroup_freeze]=1 [cgroup_kill]=1 [oom_score_adj]=1
	[hangup]=0 # no hook when a pty master is closed (documented)
)
# The alarm each mediated path raises: a signal, except for the file
# paths (cgroup files are system cgroup; another's /proc files, ptrace).
declare -A alarm_of=(
	[cgroup_freeze]="class=system perm=cgroup" [cgroup_kill]="class=system perm=cgroup"
	[oom_score_adj]="target=b class=process perm=ptrace"
)
ATTACKS="sigio cgroup_freeze cgroup_kill prlimit oom_score_adj sched tiocsig tiocsti vhangup hangup"

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

# pty_attack OP [ARG] :: VICTIM...: the victim on a pty's slave (its
# session, controlling terminal and foreground group), the attacker
# holding the master runs attack_sig OP 3 ARG. Returns once the attacker
# printed its step (it still holds the master for TIOCSIG and TIOCSTI,
# 8 s: the victim is not hung up meanwhile);
# leaves the victim in $v and the attacker's job in $pty.
pty_attack() {
	local op=$1 arg=$2
	shift 3
	rm -f /tmp/vpid
	"$ASIG" pty /tmp/vpid $VICTIM_AS "$@" :: $ATT_AS "$ASIG" "$op" 3 $arg \
		>/tmp/pty.out 2>&1 &
	pty=$!
	for _ in $(seq 50); do [[ -s /tmp/vpid ]] && break; sleep 0.1; done
	v=$(cat /tmp/vpid)
	sleep 1.5
	if [[ -n $VICTIM_AS ]]; then expect_eq "pty victim's label" "$(label_of "$v")" b; fi
	echo "pty victim $v: $(tr '\0' ' ' <"/proc/$v/cmdline")"
	for _ in $(seq 100); do grep -q "^$op " /tmp/pty.out && break; sleep 0.1; done
	cat /tmp/pty.out
}
reap_pty() { reap; kill -KILL "$pty" 2>/dev/null; wait "$pty" 2>/dev/null; }

# attack NAME: run one attack by $ATT_AS on a victim; 0 if it reached the
# victim.
attack() {
	local out rc=1 g=$CG/dsm-evil-$1
	case $1 in
	sigio)
		victim "$PROBE" pause
		$ATT_AS "$ASIG" sigio "$v" | tail -1
		wait_gone "$v" && rc=0
		reap ;;
	cgroup_freeze|cgroup_kill)
		victim "$PROBE" pause
		$ATT_AS bash -c "mkdir $g && echo $v >$g/cgroup.procs && echo 1 >$g/cgroup.freeze"
		sleep 0.5
		if [[ $1 == cgroup_freeze ]]; then
			grep -q '^frozen 1' "$g/cgroup.events" 2>/dev/null && rc=0
			echo "victim state: $(grep State "/proc/$v/status")"
		else
			$ATT_AS bash -c "echo 1 >$g/cgroup.kill"
			wait_gone "$v" && rc=0
		fi
		reap
		rmdir "$g" 2>/dev/null ;;
	prlimit)
		victim "$ASIG" spin
		out=$($ATT_AS "$ASIG" prlimit "$v" | tail -1)
		echo "$out"
		# A limit that was set ends the victim in 1-2 s of its CPU time.
		[[ $out == "prlimit OK" ]] && wait_gone "$v" 200 && rc=0
		reap ;;
	oom_score_adj)
		victim "$PROBE" pause
		out=$($ATT_AS "$ASIG" write "/proc/$v/oom_score_adj" 1000 | tail -1)
		echo "oom_score_adj: $out, now $(cat "/proc/$v/oom_score_adj")"
		[[ $(cat "/proc/$v/oom_score_adj") == 1000 ]] && rc=0
		reap ;;
	sched)
		victim "$PROBE" pause
		$ATT_AS "$ASIG" sched "$v"
		echo "victim: $(chrt -p "$v" | head -1), nice $(ps -o ni= -p "$v")"
		chrt -p "$v" | grep -q SCHED_IDLE && rc=0
		[[ $(ps -o ni= -p "$v" | tr -d ' ') == 19 ]] && rc=0
		reap ;;
	tiocsig)
		pty_attack tiocsig 2 :: "$PROBE" pause
		wait_gone "$v" 30 && rc=0
		reap_pty ;;
	tiocsti)
		rm -f /tmp/sti.out
		pty_attack tiocsti injected :: bash -c 'read -r l; echo "$l" >/tmp/sti.out; exec sleep 30'
		for _ in $(seq 20); do [[ -s /tmp/sti.out ]] && break; sleep 0.1; done
		echo "victim read: $(cat /tmp/sti.out 2>/dev/null)"
		[[ $(cat /tmp/sti.out 2>/dev/null) == injected ]] && rc=0
		reap_pty ;;
	vhangup)
		pty_attack vhangup "" :: "$PROBE" pause
		wait_gone "$v" 30 && rc=0
		reap_pty ;;
	hangup)
		pty_attack hangup "" :: "$PROBE" pause
		wait_gone "$v" && rc=0
		reap_pty ;;
	esac
	return $rc
}

echo "--- part 1: without dsm, every attack reaches the victim"
VICTIM_AS= ATT_AS=
for a in $ATTACKS; do
	attack "$a" || fail "without dsm, $a did not reach the victim: the test proves nothing"
	echo "nodsm: $a reached the victim"
done

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
open=0
for a in $ATTACKS; do
	what=${alarm_of[$a]:-target=b class=process perm=signal}
	before=$(alarm_count subject=a $what verdict=deny)
	if attack "$a"; then
		if ((mediated[$a])); then
			fail "$a reached the victim with dsm enforcing"
		fi
		echo "NOT MEDIATED: $a reached the victim (not a path dsm checks here)"
		open=$((open + 1))
		continue
	fi
	((mediated[$a])) || fail "$a no longer reaches the victim: mark it mediated"
	for _ in $(seq 50); do
		(($(alarm_count subject=a $what verdict=deny) > before)) && break
		sleep 0.1
	done
	(($(alarm_count subject=a $what verdict=deny) > before)) ||
		fail "$a was stopped without its alarm ($what)"
	echo "dsm: $a denied, with the alarm ($what)"
done
echo "RESULT: every mediated path denied; $open path(s) outside this test's mediation"
