# nodes: 1
# Self-protection: root confined to a label cannot use bpf(), load kernel
# modules, or change dsm's files (pins, policy, alarm log), while a label
# that holds those system permissions can.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

mod_a=$(guest_module drivers/net/ifb) || exit 1
mod_b=$(guest_module drivers/net/nlmon) || exit 1

dsm_policy /tmp/p.policy <<'EOF2'
label admin = 40;
allow admin self : system { bpf module dsm_files dsm_read };
allow unconfined admin : process transition;
EOF2
dsm_start /tmp/p.policy

expect_probe "bpf OK" as admin "$PROBE" bpf
expect_probe "bpf EACCES" as a "$PROBE" bpf
alarm_expect subject=a target=a class=system perm=bpf verdict=deny errno=13

expect_probe "module EACCES" as a "$PROBE" module "$mod_a"
alarm_expect subject=a class=system perm=module verdict=deny
expect_probe "module OK" as admin "$PROBE" module "$mod_b"

for f in /sys/fs/bpf/dsm/links/hook_bpf /sys/fs/bpf/dsm/maps/dsm_policy; do
	expect_probe "unlink EACCES" as a "$PROBE" unlink "$f"
	[[ -e $f ]] || fail "$f was removed"
done
alarm_expect subject=a class=system perm=dsm_files verdict=deny
expect_probe "write EACCES" as a "$PROBE" write /tmp/p.policy
expect_probe "write EACCES" as a "$PROBE" write "$DSM_ALARMS"
expect_probe "write OK" as admin "$PROBE" write /tmp/p.policy
# inode_setattr (its arguments moved in 6.9: an idmap comes first)
mode=$(stat -c %a /tmp/p.policy)
as a chmod 0600 /tmp/p.policy 2>/dev/null && fail "a changed the policy file's mode"
expect_eq "policy file mode after a's chmod" "$(stat -c %a /tmp/p.policy)" "$mode"
as admin chmod 0640 /tmp/p.policy || fail "admin (dsm_files) could not chmod the policy file"
expect_eq "policy file mode after admin's chmod" "$(stat -c %a /tmp/p.policy)" 640
expect_probe "rmdir EACCES" as a "$PROBE" rmdir /sys/fs/bpf/dsm/links
as a umount /sys/fs/bpf 2>/dev/null && fail "a unmounted the bpffs holding the pins"
mountpoint -q /sys/fs/bpf || fail "bpffs gone"
