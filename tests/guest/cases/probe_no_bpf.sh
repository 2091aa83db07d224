# nodes: 1
# lsm: lockdown,capability,landlock
# A kernel booted without bpf in lsm= (this node's: the header above)
# loads and attaches BPF LSM programs and never runs them. dsmd must not
# look as if it enforced: it refuses to start with the line that says so
# and gives the lsm= to boot with, exits 3, and leaves nothing in the
# kernel; `dsmctl doctor` fails the same check and passes the others.
. "$(dirname "$0")/../lib.sh"

list=$(cat /sys/kernel/security/lsm)
grep -qw bpf <<<"${list//,/ }" && fail "the harness booted with bpf in the LSM list: $list"
want="dsmd: probe: the active LSM list (/sys/kernel/security/lsm) is \"$list\": bpf is not in it; boot with lsm=$list,bpf (GRUB: add it to GRUB_CMDLINE_LINUX in /etc/default/grub, replacing any lsm= there, run update-grub, reboot)"

timeout 60 "$build/dsmd" --policy "$top/policy/example.policy" --node node1 \
	--state-dir /tmp/dsmd-state >/tmp/dsmd.out 2>&1
rc=$?
cat /tmp/dsmd.out
expect_eq "dsmd exit status" "$rc" 3
grep -qxF "$want" /tmp/dsmd.out || fail "dsmd did not say: $want"
grep -q '^dsmd: main: not starting: this kernel cannot enforce' /tmp/dsmd.out ||
	fail "dsmd did not say it is not starting"
[[ $(grep -c '^dsmd: probe: ' /tmp/dsmd.out) == 1 ]] || fail "dsmd reported more than the LSM list"
[[ ! -e /sys/fs/bpf/dsm ]] || fail "dsmd left pins in /sys/fs/bpf/dsm"
[[ ! -e /tmp/dsmd-state ]] || fail "dsmd made its state directory before the probe"

out=$("$build/dsmctl" doctor --config-dir /tmp/no-such-config 2>&1)
rc=$?
echo "$out"
expect_eq "doctor exit status" "$rc" 1
grep -qxF "FAIL  lsm          ${want#dsmd: probe: }" <<<"$out" || fail "doctor: no FAIL line for the LSM list"
grep -q '^ok    btf          the kernel has BTF' <<<"$out" || fail "doctor: btf not ok"
grep -qx 'ok    kernel       the kernel loads BPF LSM programs (BPF_PROG_TYPE_LSM)' <<<"$out" ||
	fail "doctor: the kernel check did not pass (this kernel has CONFIG_BPF_LSM)"
js=$("$build/dsmctl" doctor --json --config-dir /tmp/no-such-config 2>/dev/null)
expect_eq "doctor --json ok" "$(jq -r .ok <<<"$js")" false
expect_eq "doctor --json lsm" "$(jq -r '.checks[] | select(.check == "lsm") | .ok' <<<"$js")" false
exit 0
