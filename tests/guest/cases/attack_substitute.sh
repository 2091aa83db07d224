# nodes: 1
# Attack (item: policy and key file substitution). dsm protects the
# policy file's inode (dsm_protected, bpf/system.h: opens for write,
# unlink, rename and setattr of that inode, and entries of protected
# directories), but dsmd opens the policy by path at every reload
# (dsmd/policy.c dsmd_policy_load), and protects whatever stat(2) finds
# there: the path's parent directories and any symlink on it are not
# protected. The key file is not protected at all. Confined root (a):
#   - swaps the symlink the policy path is; a `reload` (control socket)
#     installs the attacker's policy;
#   - renames the policy's directory aside and makes a new one holding its
#     own policy at the old path; `reload` again installs it;
#   - overwrites the key file; the operator's next SIGHUP installs its keys.
#
# EXPECTS THE HOLES: this test passes while the attacks succeed, and shows
# what the protection does stop (write, unlink, rename of the policy
# file's inode). When dsmd reads its files through protected directories
# (or a descriptor kept from start-up), flip the expectations.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

ACTL=$build/tests/guest/tools/attack_ctl
AFS=$build/tests/guest/tools/attack_fs
holes=0
hole() { echo "ATTACK $1: SUCCEEDED (hole)"; holes=$((holes + 1)); }
version() { "$DSMCTL" status --json | jq -r .policy.version; }
wait_version() { for _ in $(seq 50); do [[ $(version) == "$1" ]] && return 0; sleep 0.1; done; return 1; }

d=/tmp/etc-dsm
mkdir -p $d
dsm_keyfile $d/cluster.key 1
dsm_policy $d/v1.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
allow a self : socket unix stream *;
EOF2
ln -s v1.policy $d/current.policy
# evil VERSION DST: as a, the policy in force (readable) with a new version
# and system * for a.
evil() {
	as a bash -c "sed 's/^policy test version [0-9]*;/policy test version $1;/' $d/v1.policy >$2 &&
		echo 'allow a self : system *;' >>$2"
}

dsm_start $d/current.policy --key-file $d/cluster.key
expect_probe "bpf EACCES" as a "$PROBE" bpf

echo "--- part 1: what the protection stops (the policy file's own inode)"
expect_probe "write EACCES" as a "$PROBE" write $d/v1.policy
expect_probe "unlink EACCES" as a "$PROBE" unlink $d/v1.policy
as a mv $d/v1.policy $d/moved.policy 2>/dev/null && fail "a renamed the policy file itself"
echo "CONFIRMED: a cannot write, unlink or rename the policy file's inode"
# An allowed label (unconfined holds dsm_files) changes it at will.
sed -i 's/^policy test version 1;/policy test version 2;/' $d/v1.policy
"$ACTL" send reload | head -1
wait_version 2 || fail "unconfined's edit and reload did not take"

echo "--- part 2a: a swaps the symlink the policy path is"
evil 3 /tmp/evil3.policy
if as a bash -c "ln -s /tmp/evil3.policy $d/new.link && mv -T $d/new.link $d/current.policy"; then
	hole "a replaced the symlink $d/current.policy"
fi
"$ACTL" send reload | head -1   # the operator's next reload (a may not reload: attack_control)
if wait_version 3; then hole "dsmd installed a's policy through the swapped symlink"; fi
expect_probe "bpf OK" as a "$PROBE" bpf
ln -sfn v1.policy $d/current.policy
kill -HUP "$DSMD_PID"; wait_version 2 || fail "restore failed"
expect_probe "bpf EACCES" as a "$PROBE" bpf

echo "--- part 2b: a renames the policy's directory and makes a new one"
evil 4 /tmp/evil4.policy
if as a bash -c "mv $d $d.old && mkdir $d && cp /tmp/evil4.policy $d/current.policy"; then
	hole "a renamed $d aside and put its policy at the old path"
fi
"$ACTL" send reload | head -1   # the operator's next reload (a may not reload: attack_control)
if wait_version 4; then hole "dsmd installed a's policy from the new directory"; fi
expect_probe "bpf OK" as a "$PROBE" bpf
rm -rf $d && mv $d.old $d
kill -HUP "$DSMD_PID"; wait_version 2 || fail "restore failed"
expect_probe "bpf EACCES" as a "$PROBE" bpf

echo "--- part 2c: a overwrites the key file; the operator reloads"
k0() { # k0 HEX32: the first key half as the pin prints it (decimal, little-endian)
	local h=$1 r= i
	for ((i = 7; i >= 0; i--)); do r+=${h:i*2:2}; done
	echo $((16#$r))
}
attacker_key=$(printf 'attacker-key-001' | od -An -tx1 | tr -d ' \n')
expect_probe "write OK" as a "$PROBE" write $d/cluster.key
as a bash -c "printf 'key 1 %s\nsend 1\n' $attacker_key >$d/cluster.key" && hole "a rewrote the key file"
kill -HUP "$DSMD_PID"
sleep 2
pin=$("$AFS" read /sys/fs/bpf/dsm/maps/dsm_keys)
echo "$pin" | head -4
grep -qE "(^|[^0-9])$(k0 "$attacker_key")([^0-9]|$)" <<<"$pin" &&
	hole "dsm_keys now holds the attacker's key (it can forge any label from any node)"

echo "RESULT: $holes substitution step(s) succeeded as confined root"
((holes >= 5)) || fail "expected every attack to succeed (the hole)"
