# nodes: 1
# Attack (item: exec from a thread older than dsmd). A process running
# when dsmd starts is labeled b; one of its threads that existed before
# dsmd calls execve. If that thread carried no label of its own it would
# read its leader's, and de_thread (fs/exec.c) would end the leader and
# its storage with it: the new image would run in the initial label, whose
# system bpf b lacks. dsmd labels every thread in the kernel at start-up
# (bpf/label_iter.bpf.h, iter/task), so each one keeps b across exec, as
# the leader and threads made after dsmd do (task_alloc).
#
# Without dsm the new image may use bpf() (root); with dsm enforcing it
# is denied, with the alarm, whichever thread ran the exec.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$build/tests/guest/tools/attack_thread" /tmp/thr-b
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/thr-b : probe_exec;
transition unconfined probe_exec -> b;
allow b self : process fork;
allow b unconfined : file exec;
EOF2
echo "--- part 0: without dsm the exec'd image may use bpf()"
expect_probe "bpf OK" "$PROBE" bpf
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

run() { # run MODE: let MODE's process exec, print what the new image said
	touch "/tmp/go.$1"
	for _ in $(seq 50); do [[ $(wc -l <"/tmp/thr.$1") -ge 2 ]] && break; sleep 0.1; done
	echo "$1: $(tail -1 "/tmp/thr.$1")"
}
grep -q 'label: first pass in the kernel' "$DSM_LOG" || fail "dsmd did not label in the kernel"
echo "--- part 1: exec by the leader, and by a thread made after dsmd: label b kept"
run leader
expect_eq "exec by the leader" "$(tail -1 /tmp/thr.leader)" "bpf EACCES"
run late
expect_eq "exec by a thread made after dsmd" "$(tail -1 /tmp/thr.late)" "bpf EACCES"

echo "--- part 2: exec by a thread that existed before dsmd labeled the process"
run thread
expect_eq "exec by a thread older than dsmd" "$(tail -1 /tmp/thr.thread)" "bpf EACCES"
alarm_expect subject=b target=b class=system perm=bpf verdict=deny pid="${pids[2]}"
run threadpause
for _ in $(seq 50); do [[ $(label_of "${pids[3]}") == b ]] && break; sleep 0.1; done
expect_eq "label of the new image (pid ${pids[3]})" "$(label_of "${pids[3]}")" b
kill -KILL "${pids[@]}" 2>/dev/null
echo "RESULT: every thread kept b across exec"
