# nodes: 1
# Attack (item: creation in dsm's directories). Confined root (label a, no
# `system` permission) makes entries where dsm's own files live: a control
# socket of its own in the state directory while dsmd is down (dsmctl would
# talk to it), files, directories, symlinks and fifos among the pins, a
# second name for a pin, and /etc/ld.so.preload (which the dynamic loader
# reads for every program, whatever its label, and which need not exist).
# Making, linking, renaming or removing an entry of a protected directory,
# or of a reserved name, needs `system dsm_files` (bpf/system.bpf.h:
# inode_create, inode_mkdir, inode_mknod, inode_symlink, inode_link,
# inode_rename, inode_unlink; dsm_protected_names for /etc).
#   part 1: dsm permissive: every step works (alarms, verdict permissive);
#   part 2: enforcing, dsmd killed: every step is denied; the restarted
#           dsmd reports the alarms raised while it was down.
# /etc is a writable copy for the test (the guest's is read-only).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AFS=$build/tests/guest/tools/attack_fs
etc_copy=/tmp/dsm-etc-copy

restore_etc() {
	local rc=$?
	rm -f /etc/ld.so.preload 2>/dev/null
	while [[ $(findmnt -n -o SOURCE /etc 2>/dev/null) == *dsm-etc-copy* ]]; do
		umount -l /etc || break
	done
	return $rc
}
eval "set -- $(trap -p EXIT)"
trap -- "restore_etc; ${3:-}" EXIT
set --

mkdir -p $etc_copy
cp -a /etc/. $etc_copy/
mount --bind $etc_copy /etc
[[ -f /etc/ld.so.cache ]] || fail "no /etc/ld.so.cache to protect"

mkdir -p /tmp/dsm-c
dsm_policy /tmp/dsm-c/p.policy <<'EOF2'
allow a unconfined : file exec;
allow a self : process fork;
allow a self : socket unix stream *;
EOF2
sed -i 's/^mode enforcing;/mode permissive;/' /tmp/dsm-c/p.policy

pins=/sys/fs/bpf/dsm
# steps VERDICT: every creation as a; each line "NAME: RESULT".
steps() {
	echo "socket:    $(as a "$AFS" bind-unix $DSM_RUN/dsmd-fake.sock | tail -1)"
	echo "file:      $(as a "$AFS" create $DSM_RUN/evil | tail -1)"
	echo "pin dir:   $(as a "$AFS" mkdir $pins/links/evil | tail -1)"
	echo "symlink:   $(as a "$AFS" symlink /tmp $pins/maps/evil | tail -1)"
	echo "fifo:      $(as a "$AFS" mkfifo $DSM_RUN/evil.fifo | tail -1)"
	echo "pin link:  $(as a "$AFS" link $pins/maps/dsm_keys /sys/fs/bpf/evil-keys | tail -1)"
	echo "preload:   $(as a "$AFS" create /etc/ld.so.preload | tail -1)"
	rm -f /etc/ld.so.preload
	echo "preload ln: $(as a "$AFS" symlink /tmp/evil.so /etc/ld.so.preload | tail -1)"
	rm -f /etc/ld.so.preload
	as a "$AFS" create /etc/dsm-test-new >/dev/null
	echo "preload mv: $(as a "$AFS" rename /etc/dsm-test-new /etc/ld.so.preload | tail -1)"
	rm -f /etc/ld.so.preload /etc/dsm-test-new
	echo "ld.so.cache: $(as a "$AFS" open-write /etc/ld.so.cache | tail -1)"
	# Last: dsmctl (as) needs the socket where it is.
	echo "unlink:    $(as a "$AFS" rename $DSM_RUN/dsmd.sock $DSM_RUN/dsmd.old | tail -1)"
}
undo() { # what part 1 made, removed as unconfined (which holds dsm_files)
	[[ -e $DSM_RUN/dsmd.old ]] && mv $DSM_RUN/dsmd.old $DSM_RUN/dsmd.sock
	rm -rf $DSM_RUN/dsmd-fake.sock $DSM_RUN/evil $DSM_RUN/evil.fifo $pins/evil \
		$pins/links/evil $pins/maps/evil /sys/fs/bpf/evil-keys
}

dsm_start /tmp/dsm-c/p.policy
echo "--- part 1: permissive: every creation works"
out=$(steps)
echo "$out"
undo
grep -vE ': +(bind|rename|create|mkdir|symlink|mknod|link|open) OK$' <<<"$out" &&
	fail "a step failed in permissive mode"
for _ in $(seq 100); do
	(($(alarm_count subject=a perm=dsm_files verdict=permissive) >= 11)) && break
	sleep 0.1
done
n=$(alarm_count subject=a perm=dsm_files verdict=permissive)
((n >= 11)) || fail "11 permissive steps, $n alarms"
echo "CONFIRMED: 11 steps worked with dsm permissive, $n alarms"
# What is not dsm's stays free: a new file in /etc, under another name.
expect_probe "create OK" as a "$AFS" create /etc/dsm-test-free
rm -f /etc/dsm-test-free

echo "--- part 2: enforcing, dsmd down: every creation is denied"
sed -i 's/^mode permissive;/mode enforcing;/' /tmp/dsm-c/p.policy
kill -HUP "$DSMD_PID"
for _ in $(seq 50); do [[ $("$DSMCTL" status --json | jq -r .mode) == enforcing ]] && break; sleep 0.1; done
expect_eq mode "$("$DSMCTL" status --json | jq -r .mode)" enforcing
expect_probe "create OK" as a "$AFS" create /etc/dsm-test-free   # still free
rm -f /etc/dsm-test-free
# `as` needs dsmd: the attacker's shell is started before dsmd goes.
"$DSMCTL" exec --label a -- bash -c "while [[ ! -e /tmp/go ]]; do sleep 0.1; done
	AFS=$AFS DSM_RUN=$DSM_RUN pins=$pins
	as() { shift; \"\$@\"; }
	$(declare -f steps)
	steps" >/tmp/steps.out 2>&1 &
shell=$!
sleep 0.5
before=$(alarm_count subject=a perm=dsm_files verdict=deny)
kill -9 "$DSMD_PID"
wait "$DSMD_PID" 2>/dev/null
DSMD_PID=
[[ -S $DSM_RUN/dsmd.sock ]] || fail "the stale socket is gone"
touch /tmp/go
wait "$shell"
cat /tmp/steps.out
want="socket:    bind EACCES
file:      create EACCES
pin dir:   mkdir EACCES
symlink:   symlink EACCES
fifo:      mknod EACCES
pin link:  link EACCES
preload:   create EACCES
preload ln: symlink EACCES
preload mv: rename EACCES
ld.so.cache: open EACCES
unlink:    rename EACCES"
[[ $(cat /tmp/steps.out) == "$want" ]] || fail "a creation was not denied"
[[ -e /etc/ld.so.preload || -e $pins/links/evil || -e $DSM_RUN/evil ]] && fail "something was made"
echo "--- dsmd again: it reports what was denied while it was down"
dsm_start /tmp/dsm-c/p.policy
for _ in $(seq 100); do
	(($(alarm_count subject=a perm=dsm_files verdict=deny) >= before + 11)) && break
	sleep 0.1
done
n=$(($(alarm_count subject=a perm=dsm_files verdict=deny) - before))
((n >= 11)) || fail "11 steps denied, $n alarms"
echo "RESULT: every creation in dsm's directories denied to confined root ($n alarms)"
