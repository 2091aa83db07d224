# nodes: 1
# The protected set (dsmd/protect.c) holds what its roles name, and only
# that: dsmd's binary and every file it maps, the loader's files, the
# policy's labeled executables and the directories above them; a reload
# leaves no stale entry behind (the set does not grow), and an executable
# replaced by a label allowed to (rename over it) is the new inode after
# the reload. Confined root (a) cannot change a labeled executable in
# place, under another name, or by renaming a directory above it: each is
# `system dsm_files`, with its alarm.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs
# The protected inodes, as "dev:ino" lines (the kernel's dev encoding).
protected() {
	bpftool -j map dump pinned /sys/fs/bpf/dsm/maps/dsm_protected |
		jq -r '.[] | "\(.formatted.key.dev):\(.formatted.key.ino)"' | sort
}
# kdev:ino of a file, as the map has it (major << 20 | minor).
kkey() { stat -L -c '%Hd %Ld %i' "$1" | awk '{ printf "%d:%s\n", $1 * 1048576 + $2, $3 }'; }
# in_set FILE SET: FILE's inode is among the lines of SET (one dump of the
# map for many checks: a dump costs a second or more in a guest, and dsmd
# maps some 80 files).
in_set() { grep -qx "$(kkey "$1")" <<<"$2"; }
has() { in_set "$1" "$(protected)"; }

mkdir -p /tmp/lbl/bin
cp "$PROBE" /tmp/lbl/bin/probe-b
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/lbl/bin/probe-b : probe_exec;
transition unconfined probe_exec -> b;
allow a unconfined : file exec;
allow a self : process fork;
EOF2
dsm_start /tmp/p.policy

echo "--- what the roles name"
set_now=$(protected)
for f in /tmp/lbl/bin/probe-b /tmp/lbl/bin /tmp/lbl /tmp "$DSMD" /tmp/p.policy "$DSM_RUN" \
	/sys/fs/bpf/dsm /sys/fs/bpf/dsm/maps /sys/fs/bpf/dsm/links /etc/ld.so.cache; do
	in_set "$f" "$set_now" || fail "$f is not protected"
done
libs=0
while read -r _ _ _ dev ino path; do
	[[ $ino != 0 && $path == /* && $path != *" (deleted)" && -f $path ]] || continue
	in_set "$path" "$set_now" || fail "dsmd's mapped file $path is not protected"
	libs=$((libs + 1))
done </proc/"$DSMD_PID"/maps
echo "CONFIRMED: the labeled executable, its directories, dsmd and its $libs mappings, the loader cache"

echo "--- reloads leave no stale entry"
n0=$(protected | wc -l)
for i in 2 3 4 5; do
	sed -i "s/^policy test version [0-9]*;/policy test version $i;/" /tmp/p.policy
	kill -HUP "$DSMD_PID"
	for _ in $(seq 50); do [[ $("$DSMCTL" status --json | jq -r .policy.version) == "$i" ]] && break; sleep 0.1; done
done
sleep 1.5
n1=$(protected | wc -l)
echo "protected inodes: $n0 before, $n1 after 4 reloads (each a new policy file)"
expect_eq "protected inodes after reloads" "$n1" "$n0"

echo "--- a labeled executable replaced legitimately, then a reload"
old=$(kkey /tmp/lbl/bin/probe-b)
cp "$PROBE" /tmp/lbl/bin/probe-b.new && mv /tmp/lbl/bin/probe-b.new /tmp/lbl/bin/probe-b
sed -i "s/^policy test version [0-9]*;/policy test version 6;/" /tmp/p.policy
kill -HUP "$DSMD_PID"
for _ in $(seq 50); do [[ $("$DSMCTL" status --json | jq -r .policy.version) == 6 ]] && break; sleep 0.1; done
has /tmp/lbl/bin/probe-b || fail "the new executable is not protected"
protected | grep -qx "$old" && fail "the replaced executable's inode is still protected"
expect_probe "fork EACCES" /tmp/lbl/bin/probe-b fork   # runs as b, which may not fork

echo "--- confined root and the labeled executable"
expect_alarmed "write EACCES" subject=a perm=dsm_files verdict=deny -- as a "$PROBE" write /tmp/lbl/bin/probe-b
expect_alarmed "link EACCES" subject=a perm=dsm_files verdict=deny -- \
	as a "$AFS" link /tmp/lbl/bin/probe-b /tmp/probe-b.link
expect_alarmed "rename EACCES" subject=a perm=dsm_files verdict=deny -- \
	as a "$AFS" rename /tmp/lbl/bin /tmp/lbl/bin.old
expect_alarmed "rename EACCES" subject=a perm=dsm_files verdict=deny -- \
	as a "$AFS" rename /tmp/lbl /tmp/lbl.old
expect_alarmed "unlink EACCES" subject=a perm=dsm_files verdict=deny -- as a "$PROBE" unlink /tmp/lbl/bin/probe-b
# The directory is not dsm's: other files in it stay free.
expect_probe "create OK" as a "$AFS" create /tmp/lbl/bin/other
echo "RESULT: the protected set follows its roles"
