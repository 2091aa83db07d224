# nodes: 1
# Attack (item: kernel tunables and memory). Confined root (label a, no
# `system` permission) reaches the initial label or the kernel's memory by
# the node's own knobs: kernel.core_pattern and kernel.modprobe (programs
# the kernel starts as root in the initial label), sysrq-trigger, sysfs,
# securityfs (lockdown), binfmt_misc (an interpreter for every exec),
# debugfs, tracefs (kprobe events), /proc/kcore, /dev/mem, raw I/O ports,
# a CPU-wide perf event, and the raw bytes of a block device (every file
# on it, dsm's secrets included). Each is `system kernel`
# (bpf/system.bpf.h: write-opens by superblock magic, block devices in any
# mode, the locked_down hook for its reasons, perf_event_open).
#   part 1: without dsm, root does every one of them;
#   part 2: dsm enforcing: every one is denied to a, with its alarm; reads
#           of sysctls and sysfs stay free, and so do writes to a's own
#           /proc/self files (attack_procfs has the rest of procfs).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs

# A block device holding a secret: a loop device on a file.
[[ -e /dev/loop-control ]] || "$PROBE" module "$(guest_module drivers/block/loop)" >/dev/null
[[ -e /proc/sys/fs/binfmt_misc/register ]] ||
	{ "$PROBE" module "$(guest_module fs/binfmt_misc)" >/dev/null
	  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; }
truncate -s 1M /tmp/dsm-disk.img
printf 'DSM-SECRET-ON-DISK' | dd of=/tmp/dsm-disk.img conv=notrunc status=none
loopdev=$(losetup -f --show /tmp/dsm-disk.img) || fail "no loop device"
cleanup_loop() {
	local rc=$?
	losetup -d "$loopdev" 2>/dev/null
	umount /proc/sys/fs/binfmt_misc 2>/dev/null
	return $rc
}
eval "set -- $(trap -p EXIT)"
trap -- "cleanup_loop; ${3:-}" EXIT
set --
sysfs_knob=$(ls /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/ksm/run \
	/sys/power/state 2>/dev/null | head -1)
debugfs_file=$(find /sys/kernel/debug -maxdepth 2 -type f -perm -u+w 2>/dev/null | head -1)
[[ -n $sysfs_knob && -n $debugfs_file ]] || fail "no sysfs knob ($sysfs_knob) or debugfs file ($debugfs_file)"
echo "sysfs knob $sysfs_knob, debugfs file $debugfs_file, block device $loopdev"

# steps [RUN...]: every attack as RUN; "NAME: RESULT" lines. Opens only:
# nothing is written.
steps() {
	local run=("$@")
	echo "core_pattern:   $("${run[@]}" "$AFS" open-write /proc/sys/kernel/core_pattern | tail -1)"
	echo "modprobe:       $("${run[@]}" "$AFS" open-write /proc/sys/kernel/modprobe | tail -1)"
	echo "sysrq-trigger:  $("${run[@]}" "$AFS" open-write /proc/sysrq-trigger | tail -1)"
	echo "sysfs:          $("${run[@]}" "$AFS" open-write "$sysfs_knob" | tail -1)"
	echo "lockdown:       $("${run[@]}" "$AFS" open-write /sys/kernel/security/lockdown | tail -1)"
	echo "binfmt_misc:    $("${run[@]}" "$AFS" open-write /proc/sys/fs/binfmt_misc/register | tail -1)"
	echo "debugfs:        $("${run[@]}" "$AFS" open-read "$debugfs_file" | tail -1)"
	echo "tracefs:        $("${run[@]}" "$AFS" open-read /sys/kernel/tracing/trace | tail -1)"
	echo "kprobe_events:  $("${run[@]}" "$AFS" open-write /sys/kernel/tracing/kprobe_events | tail -1)"
	echo "kcore:          $("${run[@]}" "$AFS" open-read /proc/kcore | tail -1)"
	echo "/dev/mem:       $("${run[@]}" "$AFS" open-read /dev/mem | tail -1)"
	echo "ioperm:         $("${run[@]}" "$AFS" ioperm | tail -1)"
	echo "perf CPU-wide:  $("${run[@]}" "$AFS" perf-cpu | tail -1)"
	echo "block device:   $("${run[@]}" "$AFS" read "$loopdev" 64 | grep -ao 'DSM-SECRET-ON-DISK\|open [A-Z]*' | head -1)"
}
n_steps=14

echo "--- part 1: without dsm, root does every one"
out=$(steps)
echo "$out"
grep -vE ': +(open OK|ioperm OK|perf_event_open OK|DSM-SECRET-ON-DISK)$' <<<"$out" &&
	fail "without dsm, a step failed: the test proves nothing"

dsm_policy /tmp/p.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
EOF2
dsm_start /tmp/p.policy
echo "--- part 2: enforcing: every one is denied to a, with its alarm"
before=$(alarm_count subject=a class=system perm=kernel verdict=deny)
out=$(steps as a)
echo "$out"
want="core_pattern:   open EACCES
modprobe:       open EACCES
sysrq-trigger:  open EACCES
sysfs:          open EACCES
lockdown:       open EACCES
binfmt_misc:    open EACCES
debugfs:        open EPERM
tracefs:        open EACCES
kprobe_events:  open EACCES
kcore:          open EACCES
/dev/mem:       open EACCES
ioperm:         ioperm EPERM
perf CPU-wide:  perf_event_open EACCES
block device:   open EACCES"
[[ $out == "$want" ]] || fail "a step was not denied"
for _ in $(seq 100); do
	(($(alarm_count subject=a class=system perm=kernel verdict=deny) >= before + n_steps)) && break
	sleep 0.1
done
n=$(($(alarm_count subject=a class=system perm=kernel verdict=deny) - before))
((n >= n_steps)) || fail "$n_steps steps denied, $n alarms"
echo "CONFIRMED: $n_steps kernel paths denied, $n alarms (debugfs and ioperm turn a lockdown refusal into EPERM)"

echo "--- what stays free"
expect_probe "open OK" as a "$AFS" open-read /proc/sys/kernel/core_pattern
expect_probe "open OK" as a "$AFS" open-read "$sysfs_knob"
expect_probe "open OK" as a "$AFS" open-write /proc/self/oom_score_adj
expect_probe "open OK" as a "$AFS" open-write /proc/self/comm
echo "RESULT: every kernel path denied to confined root, each with its alarm"
