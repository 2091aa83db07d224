# nodes: 1
# Attack (items: signals by other paths, kernel tunables). Confined root
# (label a) interferes with a process of label b, which it may not signal
# or trace, through files instead of syscalls:
#   - /proc/PID files of b's process: oom_score_adj (first to die),
#     coredump_filter, clear_refs, timerslack_ns: a write to another
#     process's /proc/PID file is `process ptrace` from the writer's label
#     to that process's (bpf/system.bpf.h: the owner recorded at
#     task_to_inode); one's own process's files are free;
#   - cgroup v2: a new cgroup, b's process moved into it (cgroup.procs),
#     frozen (cgroup.freeze), killed (cgroup.kill), a limit
#     (cgroup.max.descendants), the cgroup removed, and a child placed in
#     it by clone3(CLONE_INTO_CGROUP) (task_alloc): `system cgroup`;
#   - cgroup v1: release_agent, a program the kernel runs as root in the
#     initial label: `system kernel` on top of `system cgroup`.
#   part 1: without dsm, root does every one;
#   part 2: enforcing: each is denied to a, with its alarm, and allowed
#           where the policy says so (a label with system cgroup; a may
#           trace c, so it may write c's files).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs
ASIG=$build/tests/guest/tools/attack_sig
CG=/sys/fs/cgroup
[[ -e $CG/cgroup.procs ]] || skip_host "no cgroup2 at $CG"
gone() { [[ ! -e /proc/$1 ]] || [[ $(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1) == Z ]]; }

cleanup_cg() {
	local rc=$? g
	for g in "$CG"/dsm-proc*; do
		[[ -d $g ]] || continue
		echo 1 >"$g/cgroup.kill" 2>/dev/null
		sleep 0.2
		rmdir "$g" 2>/dev/null
	done
	umount /tmp/dsm-cg1 2>/dev/null
	return $rc
}
eval "set -- $(trap -p EXIT)"
trap -- "cleanup_cg; ${3:-}" EXIT
set --
mkdir -p /tmp/dsm-cg1
mount -t cgroup -o none,name=dsmtest cgroup /tmp/dsm-cg1 || fail "cannot mount a cgroup v1 hierarchy"

# victim [LABEL]: a process that waits (in LABEL); its pid in $v.
victim() {
	local run=()
	[[ -n ${1:-} ]] && run=("$DSMCTL" exec --label "$1" --)
	: >/tmp/victim.out
	"${run[@]}" "$PROBE" pause >/tmp/victim.out 2>&1 &
	v=$!
	for _ in $(seq 50); do [[ -s /tmp/victim.out ]] && break; sleep 0.1; done
	[[ -s /tmp/victim.out ]] || fail "victim did not start"
}
reap() { kill -KILL "$v" 2>/dev/null; wait "$v" 2>/dev/null; }

# steps [RUN...]: every attack by RUN on the victim $v; "NAME: RESULT".
steps() {
	local run=("$@") g=$CG/dsm-proc
	echo "oom_score_adj:   $("${run[@]}" "$ASIG" write "/proc/$v/oom_score_adj" 1000 | tail -1)"
	echo "coredump_filter: $("${run[@]}" "$AFS" open-write "/proc/$v/coredump_filter" | tail -1)"
	echo "clear_refs:      $("${run[@]}" "$AFS" open-write "/proc/$v/clear_refs" | tail -1)"
	echo "timerslack_ns:   $("${run[@]}" "$AFS" open-write "/proc/$v/timerslack_ns" | tail -1)"
	echo "thread's file:   $("${run[@]}" "$AFS" open-write "/proc/$v/task/$v/oom_score_adj" | tail -1)"
	echo "mkdir cgroup:    $("${run[@]}" "$AFS" mkdir $g-a | tail -1)"
	mkdir -p $g
	echo "clone3 into it:  $("${run[@]}" "$ASIG" clone-into $g | tail -1)"
	echo "cgroup.procs:    $("${run[@]}" "$ASIG" write $g/cgroup.procs "$v" | tail -1)"
	echo $v >$g/cgroup.procs
	echo "cgroup.freeze:   $("${run[@]}" "$ASIG" write $g/cgroup.freeze 1 | tail -1)"
	echo "limit:           $("${run[@]}" "$AFS" open-write $g/cgroup.max.descendants | tail -1)"
	echo "cgroup.kill:     $("${run[@]}" "$ASIG" write $g/cgroup.kill 1 | tail -1)"
	echo "release_agent:   $("${run[@]}" "$AFS" open-write /tmp/dsm-cg1/release_agent | tail -1)"
	echo 1 >$g/cgroup.kill
	for _ in $(seq 50); do gone "$v" && break; sleep 0.1; done
	echo "rmdir cgroup:    $("${run[@]}" "$PROBE" rmdir $g | tail -1)"
	rmdir $g-a $g 2>/dev/null
}

echo "--- part 1: without dsm, root does every one"
victim
out=$(steps)
reap
echo "$out"
grep -vE ': +[a-z_]+ OK$' <<<"$out" && fail "without dsm, a step failed: the test proves nothing"

dsm_policy /tmp/p.policy <<'EOF2'
label cg = 41;
allow unconfined cg : process transition;
allow { a cg } unconfined : file exec;
allow { a cg } self : process fork;
allow cg self : system cgroup;
allow a c : process ptrace;
EOF2
dsm_start /tmp/p.policy
echo "--- part 2: enforcing: a, on b's process: each denied, with its alarm"
victim b
expect_eq "victim's label" "$(label_of "$v")" b
b0=$(alarm_count subject=a target=b class=process perm=ptrace verdict=deny)
c0=$(alarm_count subject=a class=system perm=cgroup verdict=deny)
out=$(steps as a)
reap
echo "$out"
want="oom_score_adj:   write EACCES
coredump_filter: open EACCES
clear_refs:      open EACCES
timerslack_ns:   open EACCES
thread's file:   open EACCES
mkdir cgroup:    mkdir EACCES
clone3 into it:  clone EACCES
cgroup.procs:    write EACCES
cgroup.freeze:   write EACCES
limit:           open EACCES
cgroup.kill:     write EACCES
release_agent:   open EACCES
rmdir cgroup:    rmdir EACCES"
[[ $out == "$want" ]] || fail "a step was not denied"
for _ in $(seq 100); do
	(($(alarm_count subject=a target=b class=process perm=ptrace verdict=deny) >= b0 + 5 &&
	  $(alarm_count subject=a class=system perm=cgroup verdict=deny) >= c0 + 8)) && break
	sleep 0.1
done
expect_eq "ptrace alarms (a -> b)" $(($(alarm_count subject=a target=b class=process perm=ptrace verdict=deny) - b0)) 5
(($(alarm_count subject=a class=system perm=cgroup verdict=deny) - c0 >= 8)) || fail "cgroup alarms missing"
echo "CONFIRMED: 5 /proc/PID writes denied as process ptrace a -> b, 7 cgroup writes and a clone3 into a cgroup as system cgroup"

echo "--- what the policy allows, and what is one's own"
victim c
expect_probe "write OK" as a "$ASIG" write "/proc/$v/oom_score_adj" 500   # a may trace c
expect_eq "c's oom_score_adj" "$(cat /proc/$v/oom_score_adj)" 500
reap
expect_probe "write OK" as a "$ASIG" write /proc/self/oom_score_adj 100     # its own
expect_probe "open OK" as a "$AFS" open-write /proc/thread-self/comm
# Another process of a's own label is another process: a holds no ptrace on a.
expect_alarmed "write EACCES" subject=a target=a perm=ptrace verdict=deny -- \
	as a bash -c "sleep 3 >/dev/null 2>&1 & $ASIG write /proc/\$!/oom_score_adj 1000"
# A label with system cgroup manages cgroups; release_agent also needs kernel.
expect_probe "mkdir OK" as cg "$AFS" mkdir $CG/dsm-proc-cg
expect_probe "open OK" as cg "$AFS" open-write $CG/dsm-proc-cg/cgroup.freeze
expect_probe "rmdir OK" as cg "$PROBE" rmdir $CG/dsm-proc-cg
expect_alarmed "open EACCES" subject=cg perm=kernel verdict=deny -- \
	as cg "$AFS" open-write /tmp/dsm-cg1/release_agent
echo "RESULT: /proc/PID and cgroup writes follow ptrace and system cgroup"
