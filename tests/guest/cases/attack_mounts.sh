# nodes: 1
# Attack (item: mounts). Confined root (label a, no `system` permission)
# uses every mount operation to hide, shadow or detach dsm's pins, policy,
# keys or control socket: mount(2) (new, bind, remount, propagation,
# move), open_tree(2)+move_mount(2), fsopen/fsconfig/fsmount+move_mount,
# fspick+reconfigure, umount2(2) (lazy or not, of anything), pivot_root(2)
# and chroot(2). Each is `system mount` (bpf/system.bpf.h: sb_mount,
# move_mount, sb_remount, sb_umount, sb_pivotroot, path_chroot);
# open_tree, fsopen, fsconfig CREATE and fsmount reach no path by
# themselves and stay free. mount_setattr(2) has no LSM hook on 6.1.
#   part 1: without dsm, root does every one of them;
#   part 2: dsm enforcing: every one is denied to a, with its alarm, and
#           dsmd still answers, reads its own policy and enforces.
# An unmount the policy does allow is lsm_repin's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs
ACTL=$build/tests/guest/tools/attack_ctl

# The mounts this test may leave behind are undone on exit, before dsm is
# unloaded.
restore_mounts() {
	local rc=$? m
	kill -KILL "${fakepid:-}" 2>/dev/null
	for m in /run/dsm /tmp/dsm-etc/p.policy /tmp/dsm-etc /tmp/m1 /tmp/m2; do
		while findmnt "$m" >/dev/null 2>&1; do umount -l "$m" || break; done
	done
	return $rc
}
eval "set -- $(trap -p EXIT)"
trap -- "restore_mounts; ${3:-}" EXIT
set --

mkdir -p /tmp/dsm-etc /tmp/m1 /tmp/m2
dsm_policy /tmp/dsm-etc/p.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
allow a self : socket unix stream *;
EOF2
# The attacker's policy: the same, plus system * for a.
sed 's/^policy test version 1;/policy test version 2;/' /tmp/dsm-etc/p.policy >/tmp/evil.policy
echo 'allow a self : system *;' >>/tmp/evil.policy
mkdir -p /tmp/evil-dir && cp /tmp/evil.policy /tmp/evil-dir/p.policy

# every_mount_op WHO [RUN...]: each operation, run as RUN; its last lines.
every_mount_op() {
	local run=("$@")
	mount -t tmpfs -o size=1m m1 /tmp/m1 && mkdir -p /tmp/m1/old
	echo "tmpfs:        $("${run[@]}" "$AFS" tmpfs /tmp/m2 | tail -1)"
	umount /tmp/m2 2>/dev/null
	echo "bind:         $("${run[@]}" "$AFS" bind /tmp/evil.policy /tmp/dsm-etc/p.policy | tail -1)"
	umount /tmp/dsm-etc/p.policy 2>/dev/null
	echo "tree-bind:    $("${run[@]}" "$AFS" tree-bind /tmp/evil.policy /tmp/dsm-etc/p.policy | tail -1)"
	umount /tmp/dsm-etc/p.policy 2>/dev/null
	echo "fsmount:      $("${run[@]}" "$AFS" fsmount-tmpfs /tmp/m2 | tail -1)"
	umount /tmp/m2 2>/dev/null
	echo "remount:      $("${run[@]}" "$AFS" remount /tmp/m1 | tail -1)"
	echo "fspick:       $("${run[@]}" "$AFS" fspick /tmp/m1 | tail -1)"
	echo "make-private: $("${run[@]}" "$AFS" make-private /tmp/m1 | tail -1)"
	echo "pivot_root:   $("${run[@]}" unshare -m --propagation unchanged "$AFS" pivot-root /tmp/m1 /tmp/m1/old | tail -1)"
	echo "chroot:       $("${run[@]}" "$AFS" chroot /tmp/m1 | tail -1)"
	echo "chroot /:     $("${run[@]}" "$AFS" chroot / | tail -1)"
	echo "move:         $("${run[@]}" "$AFS" move /tmp/m1 /tmp/m2 | tail -1)"
	umount /tmp/m2 2>/dev/null
	findmnt /tmp/m1 >/dev/null || mount -t tmpfs -o size=1m m1 /tmp/m1
	echo "umount:       $("${run[@]}" "$AFS" umount /tmp/m1 | tail -1)"
	findmnt /tmp/m1 >/dev/null || mount -t tmpfs -o size=1m m1 /tmp/m1
	echo "umount -l:    $("${run[@]}" "$AFS" umount-lazy /tmp/m1 | tail -1)"
	while findmnt /tmp/m1 >/dev/null; do umount -l /tmp/m1; done
}

echo "--- part 1: without dsm, root does every mount operation"
out=$(every_mount_op)
echo "$out"
want_off="tmpfs:        mount OK
bind:         mount OK
tree-bind:    move_mount OK
fsmount:      move_mount OK
remount:      mount OK
fspick:       fsconfig OK
make-private: mount OK
pivot_root:   pivot_root OK
chroot:       chroot OK
chroot /:     chroot OK
move:         mount OK
umount:       umount OK
umount -l:    umount OK"
[[ $out == "$want_off" ]] || fail "without dsm, not every mount operation worked"

dsm_start /tmp/dsm-etc/p.policy
expect_probe "bpf EACCES" as a "$PROBE" bpf

echo "--- part 2: enforcing: every mount operation is denied to a, with its alarm"
before=$(alarm_count subject=a class=system perm=mount verdict=deny)
out=$(every_mount_op as a)
echo "$out"
want_on="tmpfs:        mount EACCES
bind:         mount EACCES
tree-bind:    move_mount EACCES
fsmount:      move_mount EACCES
remount:      mount EACCES
fspick:       fsconfig EACCES
make-private: mount EACCES
pivot_root:   pivot_root EACCES
chroot:       chroot EACCES
chroot /:     chroot OK
move:         mount EACCES
umount:       umount EACCES
umount -l:    umount EACCES"
[[ $out == "$want_on" ]] || fail "a mount operation was not denied"
for _ in $(seq 100); do
	(($(alarm_count subject=a class=system perm=mount verdict=deny) >= before + 12)) && break
	sleep 0.1
done
n=$(($(alarm_count subject=a class=system perm=mount verdict=deny) - before))
((n >= 12)) || fail "12 mount operations denied, $n alarms"
echo "CONFIRMED: 12 mount operations denied, $n alarms (chroot to one's own root is free)"

echo "--- part 2A: a tmpfs over /run/dsm, for a fake control socket"
expect_alarmed "mount EACCES" subject=a perm=mount verdict=deny -- as a "$AFS" tmpfs /run/dsm
expect_eq "dsmd still answers" "$("$DSMCTL" status --json | jq -r .policy.name)" test

echo "--- part 2B: the policy swapped under dsmd's path, then a reload"
expect_alarmed "mount EACCES" subject=a perm=mount verdict=deny -- \
	as a "$AFS" bind /tmp/evil.policy /tmp/dsm-etc/p.policy
expect_alarmed "move_mount EACCES" subject=a perm=mount verdict=deny -- \
	as a "$AFS" tree-bind /tmp/evil-dir /tmp/dsm-etc
expect_alarmed "move_mount EACCES" subject=a perm=mount verdict=deny -- \
	as a "$AFS" fsmount-tmpfs /tmp/dsm-etc
"$ACTL" send reload | head -1   # the operator's next reload (a may not: attack_control)
sleep 1
expect_eq "policy version after a's reload" "$("$DSMCTL" status --json | jq -r .policy.version)" 1
expect_probe "bpf EACCES" as a "$PROBE" bpf

echo "--- part 2C: umount -l /sys (a parent of the pins)"
expect_alarmed "umount EACCES" subject=a perm=mount verdict=deny -- as a "$AFS" umount-lazy /sys
expect_alarmed "umount EACCES" subject=a perm=mount verdict=deny -- as a "$AFS" umount-lazy /sys/fs/bpf
mountpoint -q /sys/fs/bpf || fail "bpffs gone"
[[ -e /sys/fs/bpf/dsm/links/hook_bpf ]] || fail "pins gone"
expect_probe "bpf EACCES" as a "$PROBE" bpf
echo "RESULT: every mount operation denied to confined root, each with its alarm"
