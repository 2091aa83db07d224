# nodes: 1
# Attack (item: secrets readable). Confined root (label a, no `system`
# permission) reads dsm's secrets with plain open(2)/read(2): the cluster
# key file, the key map through its bpffs pin (a map with BTF prints its
# values when its pin is read: kernel/bpf/inode.c bpffs_map_open, no
# bpf() call, so the `bpf` hook never runs), the policy source and the
# alarm log. dsm's file_open hook checks only opens for write of
# protected inodes.
#
# EXPECTS THE HOLE: this test passes while every read succeeds, and says
# so. When dsm gains `system dsm_read`, flip each expectation to
# "denied, with an alarm".
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs
holes=0
hole() { echo "ATTACK $1: SUCCEEDED (hole)"; holes=$((holes + 1)); }

mkdir -p /tmp/dsm-etc
dsm_keyfile /tmp/dsm-etc/cluster.key 1
key_hex=$(awk '$1 == "key" { print $3 }' /tmp/dsm-etc/cluster.key)
dsm_policy /tmp/dsm-etc/p.policy <<'EOF2'
allow a unconfined : file exec;
EOF2
secrets=(/tmp/dsm-etc/cluster.key /sys/fs/bpf/dsm/maps/dsm_keys /tmp/dsm-etc/p.policy "$DSM_ALARMS")

dsm_start /tmp/dsm-etc/p.policy --key-file /tmp/dsm-etc/cluster.key
# One alarm, so that the log has something in it.
expect_probe "bpf EACCES" as a "$PROBE" bpf
alarm_expect subject=a perm=bpf verdict=deny

echo "--- part 1: a label dsm lets through (unconfined, system *) reads them"
for f in "${secrets[@]}"; do
	got=$("$AFS" read "$f" 2>&1 | tail -1)
	[[ $got == "read OK "* ]] || fail "unconfined read of $f: $got"
	echo "unconfined: $f: $got"
done

echo "--- part 2: confined root (label a) reads them"
expect_probe "bpf EACCES" as a "$PROBE" bpf  # the bpf() route is closed
for f in "${secrets[@]}"; do
	out=$(as a "$AFS" read "$f" 2>&1)
	echo "$out" | head -20 | sed "s|^|a: $f: |"
	[[ $(tail -1 <<<"$out") == "read OK "* ]] && hole "read $f"
done
# The key map pin, read as a: the key's two 64-bit halves are in it.
pin=$(as a "$AFS" read /sys/fs/bpf/dsm/maps/dsm_keys 2>&1)
# k0 is the first 8 key bytes read little-endian; the pin prints it in decimal.
k0_hex=
for ((i = 7; i >= 0; i--)); do k0_hex+=${key_hex:i*2:2}; done
k0=$((16#$k0_hex))
echo "key file: key 1 $key_hex (k0 = $k0)"
if grep -qiE "(^|[^0-9])($k0|0x$k0_hex)([^0-9]|$)" <<<"$pin"; then
	hole "the pin of dsm_keys shows the key file's key (k0 $k0)"
fi
grep -q 'valid' <<<"$pin" && echo "the dsm_keys pin prints struct dsm_mac_key by field name"

echo "RESULT: $holes secret read(s) succeeded as confined root"
((holes >= 4)) || fail "expected every read to succeed (the hole); $holes did"
