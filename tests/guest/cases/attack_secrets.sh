# nodes: 1
# Attack (item: secrets readable). Confined root (label a, no `system`
# permission) reads dsm's secrets with plain open(2)/read(2): the cluster
# key file, the policy source, the pins (a map with BTF prints its values
# when its pin is read: kernel/bpf/inode.c, no bpf() call, so the `bpf`
# hook never runs) and the state directory. Opening any of them, in any
# mode, needs `system dsm_read` (bpf/system.bpf.h, file_open: the
# inode's record in dsm_protected, or its directory's: every pin and
# every file of the state directory without one of its own).
#   part 1: dsm permissive: every read works, each raises an alarm
#           (verdict permissive): what a confined root would get without
#           the permission;
#   part 2: enforcing: every open is denied (EACCES), with its alarm;
# The alarm log is one of them (`dsmctl alarms` asks dsmd, class dsm
# query); and the key map's pin prints nothing even to a label allowed to
# open it (the map carries no BTF).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs
# dsm's own directory (named dsm): its entries are covered too.
etc=/tmp/dsm-sec/dsm
mkdir -p $etc
dsm_keyfile $etc/cluster.key 1
key_hex=$(awk '$1 == "key" { print $3 }' $etc/cluster.key)
dsm_policy $etc/p.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
EOF2
sed -i 's/^mode enforcing;/mode permissive;/' $etc/p.policy
# k0 is the first 8 key bytes read little-endian; a pin would print it in decimal.
k0_hex=
for ((i = 7; i >= 0; i--)); do k0_hex+=${key_hex:i*2:2}; done
k0=$((16#$k0_hex))
leaks_key() { grep -qiE "$key_hex|(^|[^0-9])($k0|0x$k0_hex)([^0-9]|$)"; }

files=($etc/cluster.key $etc/p.policy /sys/fs/bpf/dsm/maps/dsm_net_config
	/sys/fs/bpf/dsm/maps/dsm_policy_gen)
dirs=(/sys/fs/bpf/dsm /sys/fs/bpf/dsm/maps /sys/fs/bpf/dsm/links $DSM_RUN $etc)
pins_nobtf=(/sys/fs/bpf/dsm/maps/dsm_keys /sys/fs/bpf/dsm/maps/dsm_local_tags
	/sys/fs/bpf/dsm/links/hook_bpf)

dsm_start $etc/p.policy --key-file $etc/cluster.key
expect_eq mode "$("$DSMCTL" status --json | jq -r .mode)" permissive

echo "--- the key map's pin: no BTF, nothing to print (unconfined holds dsm_read)"
for f in "${pins_nobtf[@]}"; do
	expect_probe "open EIO" "$AFS" read "$f"
done
echo "CONFIRMED: dsm_keys, dsm_local_tags and link pins print nothing when read"

echo "--- part 1: permissive: a reads every secret (each an alarm)"
for f in "${files[@]}"; do
	out=$(as a "$AFS" read "$f" 2>&1)
	[[ $(tail -1 <<<"$out") == "read OK "* ]] || fail "a, permissive: read $f: $(tail -1 <<<"$out")"
	echo "a (permissive): $f: $(tail -1 <<<"$out")"
	[[ $f == *cluster.key ]] && { leaks_key <<<"$out" || fail "the key file's read shows no key"; }
done
for f in "${dirs[@]}"; do
	expect_probe "open OK" as a "$AFS" open-read "$f"
done
alarm_expect subject=a class=system perm=dsm_read verdict=permissive
n=$(alarm_count subject=a perm=dsm_read verdict=permissive)
((n >= ${#files[@]} + ${#dirs[@]})) || fail "permissive reads raised $n alarms, want one each"
echo "CONFIRMED: $n permissive alarms for ${#files[@]} files and ${#dirs[@]} directories"

echo "--- part 2: enforcing: every open is denied, with its alarm"
sed -i 's/^mode permissive;/mode enforcing;/' $etc/p.policy   # unconfined holds dsm_files
kill -HUP "$DSMD_PID"
for _ in $(seq 50); do [[ $("$DSMCTL" status --json | jq -r .mode) == enforcing ]] && break; sleep 0.1; done
expect_eq mode "$("$DSMCTL" status --json | jq -r .mode)" enforcing
expect_probe "bpf EACCES" as a "$PROBE" bpf   # the bpf() route, closed before
for f in "${files[@]}" "${pins_nobtf[@]}"; do
	expect_alarmed "open EACCES" subject=a class=system perm=dsm_read verdict=deny -- \
		as a "$AFS" read "$f"
	echo "a: read $f: EACCES, alarm"
done
for f in "${dirs[@]}"; do
	expect_alarmed "open EACCES" subject=a perm=dsm_read verdict=deny -- as a "$AFS" open-read "$f"
	echo "a: open directory $f: EACCES, alarm"
done
# Opening for write is no way around it (and needs dsm_files besides).
expect_alarmed "open EACCES" subject=a perm=dsm_read verdict=deny -- as a "$AFS" open-write $etc/cluster.key
# Nor a new name for the key file: a hard link elsewhere is denied.
expect_alarmed "link EACCES" subject=a perm=dsm_files verdict=deny -- \
	as a "$AFS" link $etc/cluster.key /tmp/key.link
[[ -e /tmp/key.link ]] && fail "a linked the key file"
out=$(as a cat $etc/cluster.key 2>&1)
leaks_key <<<"$out" && fail "a read the key: $out"

echo "--- the alarm log: neither read nor written by a"
expect_alarmed "open EACCES" subject=a perm=dsm_read verdict=deny -- as a "$AFS" open-read "$DSM_ALARMS"
expect_probe "write EACCES" as a "$PROBE" write "$DSM_ALARMS"
echo "RESULT: every secret read denied to confined root, each with its alarm"
