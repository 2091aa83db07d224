# nodes: 1
# The harness boots a kernel where BPF LSM is active, and an LSM program
# attached from a guest denies a fork for a marked task (EPERM) and stops
# denying once detached.
. "$(dirname "$0")/../lib.sh"

grep -qw bpf /sys/kernel/security/lsm || fail "bpf not in active LSMs: $(cat /sys/kernel/security/lsm)"
out=$("$build/tests/guest/progs/fork_deny" 2>&1)
rc=$?
echo "$out"
expect_eq "fork_deny exit" "$rc" 0
grep -q '^attached: fork denied with EPERM (1 denial)$' <<<"$out" || fail "no denial reported"
grep -q '^detached: fork succeeds$' <<<"$out" || fail "fork not restored"
