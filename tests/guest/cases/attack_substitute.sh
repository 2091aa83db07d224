# nodes: 1
# Attack (item: policy and key file substitution). dsmd reads its policy
# and key file on every reload. Confined root (a) tries to change what it
# reads without touching the files themselves: swap a symlink for the
# policy, rename the policy's directory aside and put its own in its place,
# overwrite the key file, mount over it. dsmd resolves each configured path
# once, at start, refusing symlinks on it, and reads through the directory
# descriptor it opened then (dsmd/files.c: openat2 with no symlinks, no
# mount crossing); dsm protects the files (read and write), the
# directories they are in and every directory above them (rename, unlink:
# dsm_files), and all of a directory of dsm's own (named dsm).
#   part 1: dsmd refuses symlinked paths; what the protection stops, and
#           what it leaves alone (other files in a shared directory);
#   part 2: each substitution, as a: denied with its alarm;
#   part 3: the same substitutions by a label allowed to make them do not
#           change what dsmd reads either (the held directory); a file
#           replaced legitimately is protected again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

ACTL=$build/tests/guest/tools/attack_ctl
AFS=$build/tests/guest/tools/attack_fs
version() { "$DSMCTL" status --json | jq -r .policy.version; }
wait_version() { for _ in $(seq 50); do [[ $(version) == "$1" ]] && return 0; sleep 0.1; done; return 1; }
# keys_hold HEX32: does dsm_keys hold this key? (the map has no BTF: bytes)
keys_hold() {
	local spaced
	spaced=$(sed 's/../& /g; s/ $//' <<<"$1")
	bpftool map dump pinned /sys/fs/bpf/dsm/maps/dsm_keys | tr -s ' \n' ' ' | grep -q "$spaced"
}

d=/tmp/etc-dsm          # a shared directory: only the files are dsm's
k=/tmp/etc-keys/dsm     # a directory of dsm's own
mkdir -p $d $k
dsm_keyfile $k/cluster.key 1
key1=$(awk '$1 == "key" { print $3 }' $k/cluster.key)
dsm_policy $d/v1.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
allow a self : socket unix stream *;
EOF2
# evil VERSION DST: the policy in force with a new version and system * for a
# (made by unconfined, which may read it).
evil() {
	sed "s/^policy test version [0-9]*;/policy test version $1;/" $d/v1.policy >"$2"
	echo 'allow a self : system *;' >>"$2"
}

echo "--- part 1: dsmd refuses a path with a symlink on it"
ln -s v1.policy $d/current.policy
ln -s $d /tmp/etc-link
for p in $d/current.policy /tmp/etc-link/v1.policy; do
	out=$("$DSMD" --policy "$p" 2>&1)
	rc=$?
	echo "dsmd --policy $p: exit $rc: $(grep symlink <<<"$out" | head -1)"
	((rc != 0)) || fail "dsmd started with $p"
	grep -q "is a symlink" <<<"$out" || fail "no clear error for $p: $out"
done
dsm_start $d/v1.policy --key-file $k/cluster.key
expect_probe "bpf EACCES" as a "$PROBE" bpf
expect_probe "write EACCES" as a "$PROBE" write $d/v1.policy
expect_probe "unlink EACCES" as a "$PROBE" unlink $d/v1.policy
expect_probe "open EACCES" as a "$AFS" open-read $k/cluster.key
expect_probe "open EACCES" as a "$AFS" open-read $k   # dsm's own directory: not even listed
expect_probe "create EACCES" as a "$AFS" create $k/new
# A shared directory stays usable for everything else.
expect_probe "create OK" as a "$AFS" create $d/unrelated
expect_probe "rename OK" as a "$AFS" rename $d/unrelated $d/unrelated2
expect_probe "unlink OK" as a "$PROBE" unlink $d/unrelated2
echo "CONFIRMED: the files and dsm's own directory are protected; the shared directory is not"

echo "--- part 2a: a swaps a symlink in for the policy"
evil 3 /tmp/evil3.policy
as a ln -s /tmp/evil3.policy $d/new.link
expect_alarmed "rename EACCES" subject=a perm=dsm_files verdict=deny -- \
	as a "$AFS" rename $d/new.link $d/v1.policy
rm -f $d/new.link
"$ACTL" send reload | head -1   # the operator's next reload (a may not: attack_control)
wait_version 3 && fail "dsmd installed a's policy"
expect_eq version "$(version)" 1

echo "--- part 2b: a renames the policy's directory aside"
expect_alarmed "rename EACCES" subject=a perm=dsm_files verdict=deny -- as a "$AFS" rename $d $d.old
expect_alarmed "rename EACCES" subject=a perm=dsm_files verdict=deny -- as a "$AFS" rename $k /tmp/etc-keys/old
[[ -d $d && -d $k ]] || fail "a directory was moved"

echo "--- part 2c: a overwrites the key file, the operator reloads"
attacker_key=$(printf 'attacker-key-001' | od -An -tx1 | tr -d ' \n')
expect_alarmed "write EACCES" subject=a perm=dsm_read verdict=deny -- as a "$PROBE" write $k/cluster.key
out=$(as a bash -c "printf 'key 1 %s\nsend 1\n' $attacker_key >$k/cluster.key" 2>&1)
echo "a's shell: $out"
grep -q "Permission denied" <<<"$out" || fail "a rewrote the key file"
kill -HUP "$DSMD_PID"
sleep 2
keys_hold "$key1" || fail "dsm_keys lost the operator's key"
keys_hold "$attacker_key" && fail "dsm_keys holds the attacker's key"
echo "CONFIRMED: dsm_keys holds the operator's key only"

echo "--- part 2d: a mounts over the key file"
printf 'key 1 %s\nsend 1\n' "$attacker_key" >/tmp/evil.key
chmod 600 /tmp/evil.key
expect_alarmed "mount EACCES" subject=a perm=mount verdict=deny -- \
	as a "$AFS" bind /tmp/evil.key $k/cluster.key

echo "--- part 3: a label allowed to do it (unconfined) does not change what dsmd reads"
# A bind mount on the key file: dsmd does not read across it.
mount --bind /tmp/evil.key $k/cluster.key
kill -HUP "$DSMD_PID"
for _ in $(seq 50); do grep -q "something is mounted on it" "$DSM_LOG" && break; sleep 0.1; done
grep "files: open key file" "$DSM_LOG" | tail -1
grep -q "something is mounted on it" "$DSM_LOG" || fail "dsmd read the key through a mount"
umount $k/cluster.key
keys_hold "$attacker_key" && fail "dsm_keys holds the attacker's key"
# The policy's directory renamed aside and a new one in its place.
mv $d $d.old
mkdir $d
evil 4 $d/v1.policy
kill -HUP "$DSMD_PID"
sleep 1
wait_version 4 && fail "dsmd read the policy from the new directory"
grep -q "not the directory dsmd opened at start" "$DSM_LOG" || fail "dsmd did not say it keeps the old directory"
expect_probe "bpf EACCES" as a "$PROBE" bpf
rm -rf $d && mv $d.old $d
# A legitimate edit (a new inode renamed over the old one), then a reload:
# installed, and the new file protected within a tick.
sed -i 's/^policy test version 1;/policy test version 2;/' $d/v1.policy
kill -HUP "$DSMD_PID"
wait_version 2 || fail "unconfined's edit and reload did not take"
expect_alarmed "write EACCES" subject=a perm=dsm_read verdict=deny -- as a "$PROBE" write $d/v1.policy
# An edit with no reload: the next tick protects the new file.
sed -i '$a # edited' $d/v1.policy
sleep 1.5
grep -q "protect: the policy was replaced" "$DSM_LOG" || fail "dsmd did not notice the new policy file"
expect_alarmed "write EACCES" subject=a perm=dsm_read verdict=deny -- as a "$PROBE" write $d/v1.policy
echo "RESULT: no substitution changed what dsmd reads"
