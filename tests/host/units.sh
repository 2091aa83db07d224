#!/usr/bin/env bash
# The systemd units pass `systemd-analyze verify` as installed (their
# commands and man pages found in the staged tree), and a broken copy does
# not (so the check can fail).
. "$(dirname "$0")/lib"

if ! command -v systemd-analyze >/dev/null; then
	skip units-verify "systemd-analyze is missing (scripts/deps.sh installs the systemd package)"
	exit 0
fi
d=$tmp/root
if ! stage "$d"; then
	fail units-verify "make install DESTDIR=... failed"
	exit 0
fi
# The installed units with their commands' paths inside the staged tree.
v=$tmp/verify
mkdir -p "$v"
for u in dsmd.service dsm-server.service; do
	sed -e "s|/usr/local/s\?bin/|$d&|g" "$d/usr/local/lib/systemd/system/$u" >"$v/$u"
done
verify() { MANPATH=$d/usr/local/share/man systemd-analyze verify "$@" 2>&1; }
out=$(verify "$v/dsmd.service" "$v/dsm-server.service")
rc=$?
if ((rc == 0)) && [[ -z $out ]]; then
	pass units-verify
else
	fail units-verify "exit $rc: $(paste -sd' ' <<<"$out")"
fi

# A copy with an unknown directive and a missing man page must not pass.
mkdir -p "$tmp/broken"
sed -e 's/^Type=notify$/Typo=notify/' "$v/dsmd.service" >"$tmp/broken/dsmd.service"
out=$(verify "$tmp/broken/dsmd.service")
if grep -q "Typo" <<<"$out"; then
	pass units-verify-catches
else
	fail units-verify-catches "systemd-analyze verify let an unknown directive pass: $out"
fi
exit 0
