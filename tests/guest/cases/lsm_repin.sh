# nodes: 1
# Enforcement survives an unmount the policy allows. Label mounter holds
# `system mount` only: `umount -l /sys` takes the bpffs that holds dsm's
# pins out of every path, and once nothing holds it any more the kernel
# drops the pins. No program detaches, because dsmd holds a descriptor of
# every link (dsmd/bpf.c), and within a second dsmd finds its pins gone
# from their bpffs: it pins every map and link again at the pin
# directory, on a fresh bpffs, and says so. When /sys comes back (a new
# bpffs at /sys/fs/bpf hides dsmd's), dsmd pins there again. The links and
# maps are the same objects throughout (their ids), and `dsmd --unload`
# still removes dsm: the dsmd that holds the links lets go and stops.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs

restore_sys() {
	local rc=$?
	if ! mountpoint -q /sys || [[ ! -e /sys/kernel ]]; then
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
trap -- "restore_sys; ${3:-}" EXIT
set --

lsm_link_ids() { bpftool -j link list 2>/dev/null | jq -c '[.[] | select(.attach_type == "lsm_mac") | .id] | sort'; }
# map_id NAME: the id of the map pinned as NAME, waiting (5 s at most)
# for a pin dsmd is putting back.
map_id() {
	local id _
	for _ in $(seq 50); do
		id=$(bpftool -j map show pinned "/sys/fs/bpf/dsm/maps/$1" 2>/dev/null | jq -r .id)
		[[ $id =~ ^[0-9]+$ ]] && break
		sleep 0.1
	done
	echo "$id"
}
wait_log() { # wait_log N PATTERN: until the log has N lines matching PATTERN
	for _ in $(seq 100); do (($(grep -c "$2" "$DSM_LOG") >= $1)) && return 0; sleep 0.1; done
	fail "dsmd did not log '$2' $1 time(s)"
}

dsm_policy /tmp/p.policy <<'EOF2'
label mounter = 40;
allow mounter self : system mount;
allow mounter unconfined : file exec;
allow unconfined mounter : process transition;
allow a unconfined : file exec;
allow a self : process fork;
EOF2
dsm_start /tmp/p.policy
links=$(lsm_link_ids)
policy_map=$(map_id dsm_policy)
echo "LSM links: $links; dsm_policy map id $policy_map"
[[ $links != "[]" && -n $policy_map ]] || fail "nothing attached"
echo "bpf_link fds dsmd holds: $(ls -l /proc/"$DSMD_PID"/fd | grep -c bpf_link)"
# A process of a's, started now, that uses bpf() when told to.
"$DSMCTL" exec --label a -- "$build/tests/guest/tools/attack_thread" leader /tmp/go.final \
	"$PROBE" bpf >/tmp/final.out 2>&1 &

echo "--- mounter (system mount) unmounts /sys, bpffs and pins with it"
expect_probe "umount OK" as mounter "$AFS" umount-lazy /sys
[[ -e /sys/fs/bpf/dsm/links/hook_bpf ]] && echo "(the path already shows pins again)"
wait_log 1 "pins: re-pinned"
grep "pins:" "$DSM_LOG"
[[ -e /sys/fs/bpf/dsm/links/hook_bpf ]] || fail "no pins at the pin directory after the re-pin"
expect_eq "fs of the pin directory" "$(stat -f -c %T /sys/fs/bpf/dsm)" bpf_fs
expect_eq "LSM links (the same ones)" "$(lsm_link_ids)" "$links"
expect_eq "dsm_policy map (the same one)" "$(map_id dsm_policy)" "$policy_map"
touch /tmp/go.final
for _ in $(seq 50); do grep -q '^bpf' /tmp/final.out && break; sleep 0.1; done
expect_eq "a's process uses bpf()" "$(tail -1 /tmp/final.out)" "bpf EACCES"
expect_probe "bpf EACCES" as a "$PROBE" bpf
alarm_expect subject=a perm=bpf verdict=deny
# The re-pinned objects are protected like the first ones.
expect_alarmed "unlink EACCES" subject=mounter perm=dsm_files verdict=deny -- \
	as mounter "$PROBE" unlink /sys/fs/bpf/dsm/links/hook_bpf
expect_eq "status" "$("$DSMCTL" status --json | jq -r .policy.name)" test

echo "--- /sys comes back: a new bpffs at /sys/fs/bpf hides dsmd's; dsmd pins there"
restore_sys
wait_log 2 "pins: re-pinned"
expect_eq "LSM links (the same ones)" "$(lsm_link_ids)" "$links"
expect_eq "dsm_policy map (the same one)" "$(map_id dsm_policy)" "$policy_map"
[[ -e /sys/fs/bpf/dsm/links/hook_bpf ]] || fail "no pins in the new bpffs"
expect_probe "bpf EACCES" as a "$PROBE" bpf

echo "--- dsmd --unload still removes dsm"
"$DSMD" --unload >>"$DSM_LOG" 2>&1 || fail "unload failed"
for _ in $(seq 50); do dsm_running || break; sleep 0.1; done
dsm_running && fail "dsmd still runs after its pins were removed"
wait "$DSMD_PID"
expect_eq "dsmd's exit status" $? 0
DSMD_PID=
grep "unloaded: dsm no longer enforces on this node; exiting" "$DSM_LOG" ||
	fail "dsmd did not say why it stopped"
for _ in $(seq 50); do [[ $(lsm_link_ids) == "[]" ]] && break; sleep 0.1; done
expect_eq "LSM links after unload" "$(lsm_link_ids)" "[]"
