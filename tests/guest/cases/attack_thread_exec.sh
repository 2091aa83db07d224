# nodes: 1
# Attack (item: exec from a thread older than dsmd). dsmd labels a running
# process by a task-storage update keyed by pidfd, which lands on the
# thread-group leader only (dsmd/label.c); threads that already existed
# carry no storage and read the leader's (bpf/decide.h task_ctx). When
# such a thread calls execve, hook_bprm_check finds no storage on it, takes
# the leader's label, finds no transition and records nothing; de_thread
# (fs/exec.c) then makes the exec'ing task the leader and releases the old
# leader with its storage, so the new image has no storage at all: it runs
# in the initial label. Threads made after dsmd started get their own
# storage at task_alloc and keep the label.
#
# EXPECTS THE HOLE: this test passes while the non-leader exec drops b for
# the initial label.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$build/tests/guest/tools/attack_thread" /tmp/thr-b
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/thr-b : probe_exec;
transition unconfined probe_exec -> b;
allow b self : process fork;
allow b unconfined : file exec;
EOF2
pids=()
for m in leader late thread threadpause; do
	mode=${m%pause}
	prog=("$PROBE" bpf)
	[[ $m == threadpause ]] && prog=("$PROBE" pause)
	/tmp/thr-b "$mode" "/tmp/go.$m" "${prog[@]}" >"/tmp/thr.$m" 2>&1 &
	pids+=("$!")
done
for m in leader late thread threadpause; do
	for _ in $(seq 50); do [[ -s /tmp/thr.$m ]] && break; sleep 0.1; done
done

dsm_start /tmp/p.policy
i=0
for m in leader late thread threadpause; do
	expect_eq "label of the $m process after dsmd's start" "$(label_of "${pids[i]}")" b
	i=$((i + 1))
done
expect_probe "bpf EACCES" as b "$PROBE" bpf   # b lacks system bpf; unconfined has it

holes=0
run() { # run MODE: let MODE's process exec, print what the new image said
	touch "/tmp/go.$1"
	for _ in $(seq 50); do [[ $(wc -l <"/tmp/thr.$1") -ge 2 ]] && break; sleep 0.1; done
	echo "$1: $(tail -1 "/tmp/thr.$1")"
}
echo "--- part 1: exec by the leader, and by a thread made after dsmd: label b kept"
run leader
expect_eq "exec by the leader" "$(tail -1 /tmp/thr.leader)" "bpf EACCES"
run late
expect_eq "exec by a thread made after dsmd" "$(tail -1 /tmp/thr.late)" "bpf EACCES"

echo "--- part 2: exec by a thread that existed before dsmd labeled the process"
run thread
[[ $(tail -1 /tmp/thr.thread) == "bpf OK" ]] && { holes=$((holes + 1)); echo "ATTACK non-leader exec: SUCCEEDED (hole): the new image holds unconfined's system bpf"; }
run threadpause
got=$(label_of "${pids[3]}")
echo "label of the new image (pid ${pids[3]}): $got"
[[ $got == unconfined ]] && { holes=$((holes + 1)); echo "ATTACK non-leader exec: SUCCEEDED (hole): dsmctl ps shows the initial label"; }
kill -KILL "${pids[@]}" 2>/dev/null
echo "RESULT: $holes of 2 checks show the label dropped to the initial one"
((holes == 2)) || fail "expected the non-leader exec to drop b (the hole)"
