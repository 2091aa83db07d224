# nodes: 1
# Attack (item: mounts). Confined root (label a, no `system` permission)
# uses mount(2), open_tree(2)+move_mount(2), fsopen/fsmount and umount2(2).
# dsm has one mount hook today, sb_umount, and it guards only the bpffs
# superblock itself (bpf/system.h); sb_mount, move_mount, sb_remount,
# sb_pivotroot and sb_kern_mount have no dsm program, and mount_setattr(2)
# has no LSM hook at all in 6.1.
#   A. a tmpfs over /run/dsm and a fake dsmd.sock: dsmctl talks to the
#      attacker (status lies; `dsmctl exec --label b` runs the command
#      unconfined; the alarm log is the attacker's).
#   B. the policy file replaced under dsmd's path by a bind mount (mount(2)),
#      by open_tree+move_mount, and by an fsmount tmpfs over its directory;
#      a `reload` on the control socket then installs the attacker's text.
#   C. `umount -l /sys` (a parent of the bpffs): sb_umount sees the sysfs
#      mount, not the bpffs; when the last reference to the detached bpffs
#      goes, kill_litter_super drops the pins, bpf_destroy_inode puts the
#      links; every dsm LSM program is detached once the dsmd that
#      attached them (which keeps a fd of each link) is gone too, and a can
#      end dsmd itself (SIGPIPE, see attack_control).
#
# EXPECTS THE HOLES: this test passes while every attack succeeds, and
# prints which did. When dsm gains `system mount`, flip each expectation
# to "denied, with an alarm".
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs
ACTL=$build/tests/guest/tools/attack_ctl
holes=0
hole() { echo "ATTACK $1: SUCCEEDED (hole)"; holes=$((holes + 1)); }
expect_hole() { # expect_hole NAME WANT CMD...: the attack's last line must be WANT
	local name=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1 | tail -1)
	[[ $got == "$want" ]] || fail "$name: got '$got', want '$want' (the hole this test documents)"
	hole "$name"
}

# The mounts this test may leave behind, and the /sys tree, are put back on
# exit, before dsm is unloaded.
restore_mounts() {
	local rc=$?
	kill -KILL "${fakepid:-}" 2>/dev/null
	while mountpoint -q /run/dsm; do umount -l /run/dsm; done
	while mountpoint -q /tmp/dsm-etc; do umount -l /tmp/dsm-etc; done
	while findmnt /tmp/dsm-etc/p.policy >/dev/null 2>&1; do umount -l /tmp/dsm-etc/p.policy; done
	if ! mountpoint -q /sys; then
		mount -t sysfs sysfs /sys
		mount -t securityfs securityfs /sys/kernel/security
		mount -t bpf bpf /sys/fs/bpf
		mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
		mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
	fi
	return $rc
}
eval "set -- $(trap -p EXIT)"
trap -- "restore_mounts; ${3:-}" EXIT
set --

lsm_links() { bpftool -j link list 2>/dev/null | jq '[.[] | select(.attach_type == "lsm_mac")] | length'; }

mkdir -p /tmp/dsm-etc /tmp/m1
dsm_policy /tmp/dsm-etc/p.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
allow a self : socket unix stream *;
EOF2

echo "--- part 1: without dsm, root mounts and unmounts freely"
expect_probe "mount OK" "$AFS" tmpfs /tmp/m1
umount /tmp/m1

dsm_start /tmp/dsm-etc/p.policy
expect_probe "bpf EACCES" as a "$PROBE" bpf
echo "dsm hooks on mount operations today: $(bpftool -j prog list | jq -r '[.[] | select(.type == "lsm") | .name] | map(select(test("mount|umount|pivot|remount"))) | join(" ")')"

echo "--- part 2A: a tmpfs over /run/dsm, and a fake control socket"
# One process of a's: the mount, then the fake server on the new tmpfs
# (with dsmd's socket hidden, `dsmctl exec` could not reach dsmd any more).
"$DSMCTL" exec --label a -- bash -c "\"$AFS\" tmpfs /run/dsm &&
	exec \"$AFS\" fake-server /run/dsm/dsmd.sock /tmp/fake.log" >/tmp/fake.out 2>&1 &
fakepid=$!
for _ in $(seq 50); do grep -q 'listening OK' /tmp/fake.out && break; sleep 0.1; done
cat /tmp/fake.out
grep -q 'listening OK' /tmp/fake.out || fail "fake server: $(cat /tmp/fake.out)"
grep -q '^mount OK' /tmp/fake.out && hole "a mounts a tmpfs over /run/dsm (mount(2))"
st=$("$DSMCTL" status --json 2>&1)
echo "dsmctl status now says: $st"
[[ $(jq -r .policy.name <<<"$st" 2>/dev/null) == FAKE ]] && hole "dsmctl status answered by the attacker"
# The operator runs a command confined to b (which may not use bpf()): it
# runs unconfined, because no dsmd ever heard the request.
got=$("$DSMCTL" exec --label b -- "$PROBE" bpf 2>&1 | tail -1)
echo "dsmctl exec --label b -- probe bpf: $got"
[[ $got == "bpf OK" ]] && hole "dsmctl exec --label b ran the command unconfined"
echo "alarm log the operator sees: $([[ -e $DSM_ALARMS ]] && wc -l <"$DSM_ALARMS" || echo none) (dsmd writes to the hidden one)"
cat /tmp/fake.log
kill -KILL "$fakepid"; wait "$fakepid" 2>/dev/null; fakepid=
umount -l /run/dsm
expect_eq "real dsmd back" "$("$DSMCTL" status --json | jq -r .policy.name)" test

echo "--- part 2B: the policy file replaced under dsmd's path, then reload"
evil() { # evil VERSION FILE: as a, the current policy plus system * for a
	as a bash -c "sed 's/^policy test version [0-9]*;/policy test version $1;/' /tmp/dsm-etc/p.policy >$2 &&
		echo 'allow a self : system *;' >>$2"
}
restore_policy() {
	while findmnt /tmp/dsm-etc/p.policy >/dev/null 2>&1; do umount -l /tmp/dsm-etc/p.policy; done
	while mountpoint -q /tmp/dsm-etc; do umount -l /tmp/dsm-etc; done
	kill -HUP "$DSMD_PID"
	for _ in $(seq 50); do
		[[ $("$DSMCTL" status --json | jq -r .policy.version) == 1 ]] && break
		sleep 0.1
	done
	expect_probe "bpf EACCES" as a "$PROBE" bpf
}
evil 2 /tmp/evil2.policy
expect_probe "write EACCES" as a "$PROBE" write /tmp/dsm-etc/p.policy   # the inode is protected
expect_hole "a bind-mounts its policy over the policy file (mount(2))" "mount OK" \
	as a "$AFS" bind /tmp/evil2.policy /tmp/dsm-etc/p.policy
"$ACTL" send reload   # the operator's next reload (a may not reload: attack_control)
expect_hole "after a's reload, a holds system bpf" "bpf OK" as a "$PROBE" bpf
restore_policy

evil 3 /tmp/evil3.policy
expect_hole "a clones a tree over the policy file (open_tree + move_mount)" "move_mount OK" \
	as a "$AFS" tree-bind /tmp/evil3.policy /tmp/dsm-etc/p.policy
"$ACTL" send reload   # the operator's next reload (a may not reload: attack_control)
expect_hole "after a's reload (open_tree variant), a holds system bpf" "bpf OK" as a "$PROBE" bpf
restore_policy

evil 4 /tmp/evil4.policy
expect_hole "a mounts a new tmpfs over the policy's directory (fsopen/fsmount/move_mount)" \
	"move_mount OK" as a "$AFS" fsmount-tmpfs /tmp/dsm-etc
as a cp /tmp/evil4.policy /tmp/dsm-etc/p.policy
"$ACTL" send reload   # the operator's next reload (a may not reload: attack_control)
expect_hole "after a's reload (fsmount variant), a holds system bpf" "bpf OK" as a "$PROBE" bpf
restore_policy

echo "--- part 2C: umount -l /sys as a"
expect_probe "umount EACCES" as a "$AFS" umount-lazy /sys/fs/bpf   # the one guarded mount
# A process of a's that uses bpf() when told to, started while dsmd serves.
"$DSMCTL" exec --label a -- "$build/tests/guest/tools/attack_thread" leader /tmp/go.final \
	"$PROBE" bpf >/tmp/final.out 2>&1 &
before=$(lsm_links)
echo "dsm LSM links before: $before; bpf_link fds dsmd holds: $(ls -l /proc/"$DSMD_PID"/fd | grep -c bpf_link)"
((before > 0)) || fail "no LSM links to begin with"
# While something holds the detached bpffs, the pins live on.
bash -c 'cd /sys/fs/bpf/dsm/maps && sleep 4' &
holder=$!
sleep 0.5
expect_hole "a detaches /sys and everything under it (umount2 MNT_DETACH)" "umount OK" \
	as a "$AFS" umount-lazy /sys
[[ -e /sys/fs/bpf/dsm ]] || echo "the pins are out of every path"
echo "LSM links with a process's cwd still in the detached bpffs: $(lsm_links)"
wait "$holder"
sleep 1
echo "LSM links once nothing holds the bpffs: $(lsm_links) (a fresh dsmd still holds a fd of each link)"
# a can no longer end dsmd through its socket (a closed client costs it
# an EPIPE: attack_control); any end of dsmd will do (an operator's
# restart, a crash), so the test ends it.
expect_probe "sigpipe OK" as a "$ACTL" sigpipe
dsm_running || fail "dsmd died of a closed client"
kill -TERM "$DSMD_PID"
wait "$DSMD_PID"
echo "dsmd exit status: $?"
DSMD_PID=
for _ in $(seq 50); do [[ $(lsm_links) == 0 ]] && break; sleep 0.1; done
after=$(lsm_links)
echo "LSM links now: $after"
((after == 0)) && hole "every dsm LSM program detached: the pins died with the bpffs superblock"
touch /tmp/go.final
for _ in $(seq 50); do grep -q '^bpf' /tmp/final.out && break; sleep 0.1; done
echo "a's process: probe bpf: $(tail -1 /tmp/final.out)"
[[ $(tail -1 /tmp/final.out) == "bpf OK" ]] && hole "a uses bpf(): dsm no longer enforces"
restore_mounts
[[ -e /sys/fs/bpf/dsm ]] || echo "the new bpffs at /sys/fs/bpf has no dsm pins: a fresh superblock"

echo "RESULT: $holes mount attack step(s) succeeded as confined root"
((holes >= 12)) || fail "expected every attack to succeed (the hole)"
