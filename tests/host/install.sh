#!/usr/bin/env bash
# make install: the tree, its modes, the paths the units and the example
# policy name, and that configuration an operator changed is kept.
. "$(dirname "$0")/lib"

d=$tmp/root
if ! stage "$d"; then
	fail install "make install DESTDIR=... failed"
	exit 0
fi

bad=""
check() { local why; why=$(mode_is "$@") || bad+="${bad:+; }$why"; }
check "$d/usr/local/sbin/dsmd" 755 f
check "$d/usr/local/sbin/dsm-server" 755 f
check "$d/usr/local/bin/dsmctl" 755 f
check "$d/usr/local/lib/systemd/system/dsmd.service" 644 f
check "$d/usr/local/lib/systemd/system/dsm-server.service" 644 f
check "$d/usr/local/lib/tmpfiles.d/dsm.conf" 644 f
check "$d/usr/local/lib/tmpfiles.d/dsm-server.conf" 644 f
check "$d/usr/local/share/bash-completion/completions/dsmctl" 644 f
for m in man8/dsmd.8 man8/dsm-server.8 man8/dsmctl.8 man5/dsm-policy.5; do
	check "$d/usr/local/share/man/$m" 644 f
done
check "$d/etc/dsm" 700 d
check "$d/etc/dsm/pki" 700 d
check "$d/etc/dsm/dsm.policy.example" 600 f
check "$d/etc/default/dsmd" 644 f
check "$d/etc/default/dsm-server" 644 f
check "$d/var/lib/dsm" 700 d
check "$d/var/lib/dsm-server" 700 d
[[ -z $bad ]] && pass install-tree || fail install-tree "$bad"

# Nothing else: every file installed is one of the above.
n=$(find "$d" -type f | wc -l)
((n == 15)) && pass install-nothing-else || fail install-nothing-else "$n files, want 15: $(find "$d" -type f | sed "s|$d||" | paste -sd' ')"

# The units and the example policy name where things were installed.
if grep -qx 'ExecStart=/usr/local/sbin/dsmd --policy /etc/dsm/dsm.policy $DSMD_OPTS' \
	"$d/usr/local/lib/systemd/system/dsmd.service" &&
	grep -qx 'ExecReload=/usr/local/bin/dsmctl reload' "$d/usr/local/lib/systemd/system/dsmd.service" &&
	grep -q '^file /usr/local/sbin/dsmd : dsmd_exec;' "$d/etc/dsm/dsm.policy.example" &&
	! grep -q '@[A-Z]*@' "$d/usr/local/lib/systemd/system/"*.service "$d/usr/local/lib/tmpfiles.d/"*.conf; then
	pass install-paths
else
	fail install-paths "the units or the example policy do not name /usr/local/sbin/dsmd"
fi
if "$build/dsmctl" policy check "$d/etc/dsm/dsm.policy.example" >"$tmp/check.log" 2>&1; then
	pass install-example-policy
else
	fail install-example-policy "$(tail -1 "$tmp/check.log")"
fi

# Again over the same tree: a changed /etc/default/dsmd stays.
echo 'DSMD_OPTS="--key-file /etc/dsm/keys"' >"$d/etc/default/dsmd"
if stage "$d" && grep -q 'key-file' "$d/etc/default/dsmd" && grep -q 'kept' "$tmp/make.log"; then
	pass install-keeps-config
else
	fail install-keeps-config "a second make install replaced /etc/default/dsmd"
fi

# Other directories end up in what is generated.
d2=$tmp/usr
if stage "$d2" PREFIX=/usr SYSCONFDIR=/etc &&
	grep -qx 'ExecStart=/usr/sbin/dsmd --policy /etc/dsm/dsm.policy $DSMD_OPTS' \
		"$d2/usr/lib/systemd/system/dsmd.service" &&
	grep -q '^file /usr/sbin/dsmd : dsmd_exec;' "$d2/etc/dsm/dsm.policy.example"; then
	pass install-prefix
else
	fail install-prefix "PREFIX=/usr: the unit or the example policy does not name /usr/sbin/dsmd"
fi
# leave build/ as a default build has it
make -C "$top" --no-print-directory -s BUILD="$build" units >/dev/null 2>&1
exit 0
