#!/usr/bin/env bash
# make deb: the Debian packages build, lintian finds no error or warning,
# each package holds what it should with its modes, installing enables and
# starts nothing, and a purge leaves none of their files.
. "$(dirname "$0")/lib"

for c in dpkg-buildpackage dh lintian; do
	if ! command -v "$c" >/dev/null; then
		skip deb "$c is missing (scripts/deps.sh installs debhelper, dpkg-dev and lintian)"
		exit 0
	fi
done

out=$build/deb
start=$SECONDS
if ! make -C "$top" --no-print-directory BUILD="$build" deb >"$tmp/deb.log" 2>&1; then
	tail -20 "$tmp/deb.log"
	fail deb-build "make deb failed"
	exit 0
fi
echo "make deb: $((SECONDS - start)) s"
node=$(ls "$out"/dsm_*_amd64.deb 2>/dev/null)
server=$(ls "$out"/dsm-server_*_amd64.deb 2>/dev/null)
if [[ -n $node && -n $server && -n $(ls "$out"/*.changes 2>/dev/null) ]]; then
	pass deb-build
else
	fail deb-build "no dsm and dsm-server packages or no .changes in $out: $(ls "$out" | paste -sd' ')"
	exit 0
fi

if lintian --fail-on error,warning "$out"/*.changes >"$tmp/lintian.log" 2>&1; then
	pass deb-lintian
else
	fail deb-lintian "$(grep -E '^[EW]:' "$tmp/lintian.log" | paste -sd';' | cut -c1-600)"
fi
# the remaining tags (info, pedantic) for who reads the log
sed 's/^/lintian: /' "$tmp/lintian.log"

# contents PKG: "MODE PATH" per entry, directories with a trailing /.
contents() {
	dpkg-deb -c "$1" | awk '{ p = $6; sub(/^\./, "", p); print $1, p }'
}
# has PKG MODE PATH...: every PATH is in PKG with the ls-style MODE.
bad=""
has() {
	local list=$1 mode=$2 p
	shift 2
	for p in "$@"; do
		grep -qxF -e "$mode $p" "$list" ||
			bad+="${bad:+; }$(basename "$list"): $p not $mode ($(grep -F " $p" "$list" | head -1))"
	done
}
contents "$node" >"$tmp/dsm"
contents "$server" >"$tmp/dsm-server"
has "$tmp/dsm" -rwxr-xr-x /usr/sbin/dsmd /usr/bin/dsmctl
has "$tmp/dsm" -rw-r--r-- /lib/systemd/system/dsmd.service /usr/lib/tmpfiles.d/dsm.conf \
	/usr/share/bash-completion/completions/dsmctl /etc/default/dsmd \
	/usr/share/man/man8/dsmd.8.gz /usr/share/man/man8/dsmctl.8.gz /usr/share/man/man5/dsm-policy.5.gz \
	/usr/share/doc/dsm/README.Debian /usr/share/doc/dsm/copyright
has "$tmp/dsm" drwx------ /etc/dsm/ /etc/dsm/pki/ /var/lib/dsm/
has "$tmp/dsm" -rw------- /etc/dsm/dsm.policy.example
has "$tmp/dsm-server" -rwxr-xr-x /usr/sbin/dsm-server
has "$tmp/dsm-server" -rw-r--r-- /lib/systemd/system/dsm-server.service \
	/usr/lib/tmpfiles.d/dsm-server.conf /etc/default/dsm-server \
	/usr/share/man/man8/dsm-server.8.gz /usr/share/doc/dsm-server/README.Debian
has "$tmp/dsm-server" drwx------ /var/lib/dsm-server/
[[ -z $bad ]] && pass deb-contents || fail deb-contents "$bad"

# Nothing else, and nothing of one package in the other.
files() { grep -v '/$' "$1" | awk '{ print $2 }' | sort | paste -sd' '; }
want_node="/etc/default/dsmd /etc/dsm/dsm.policy.example /lib/systemd/system/dsmd.service"
want_node+=" /usr/bin/dsmctl /usr/lib/tmpfiles.d/dsm.conf /usr/sbin/dsmd"
want_node+=" /usr/share/bash-completion/completions/dsmctl /usr/share/doc/dsm/README.Debian"
want_node+=" /usr/share/doc/dsm/changelog.gz /usr/share/doc/dsm/copyright"
want_node+=" /usr/share/lintian/overrides/dsm"
want_node+=" /usr/share/man/man5/dsm-policy.5.gz /usr/share/man/man8/dsmctl.8.gz /usr/share/man/man8/dsmd.8.gz"
want_server="/etc/default/dsm-server /lib/systemd/system/dsm-server.service /usr/lib/tmpfiles.d/dsm-server.conf"
want_server+=" /usr/sbin/dsm-server /usr/share/doc/dsm-server/README.Debian"
want_server+=" /usr/share/doc/dsm-server/changelog.gz /usr/share/doc/dsm-server/copyright"
want_server+=" /usr/share/lintian/overrides/dsm-server /usr/share/man/man8/dsm-server.8.gz"
got_node=$(files "$tmp/dsm") got_server=$(files "$tmp/dsm-server")
if [[ $got_node == "$want_node" && $got_server == "$want_server" ]]; then
	pass deb-nothing-else
else
	fail deb-nothing-else "dsm: $got_node | dsm-server: $got_server"
fi

# The packaged unit names Debian's paths.
dpkg-deb -x "$node" "$tmp/x"
if grep -qx 'ExecStart=/usr/sbin/dsmd --policy /etc/dsm/dsm.policy $DSMD_OPTS' \
	"$tmp/x/lib/systemd/system/dsmd.service" &&
	grep -q '^file /usr/sbin/dsmd : dsmd_exec;' "$tmp/x/etc/dsm/dsm.policy.example"; then
	pass deb-paths
else
	fail deb-paths "dsmd.service or the example policy does not name /usr/sbin/dsmd"
fi

# The maintainer scripts enable a unit only on a reinstall where the admin
# had enabled it (debhelper's --no-enable snippet: within "if
# deb-systemd-helper debian-installed"; its enabling snippet has no such
# test, as was-enabled is true on a first install), start none, and
# restart one only if it runs.
bad=""
for pkg in "$node" "$server"; do
	n=$(basename "$pkg" | cut -d_ -f1)
	dpkg-deb -e "$pkg" "$tmp/ctl-$n"
	for s in "$tmp/ctl-$n"/{preinst,postinst,prerm,postrm}; do
		[[ -e $s ]] || continue
		enables=$(grep -c 'deb-systemd-helper enable' "$s")
		guarded=$(grep -c 'if deb-systemd-helper debian-installed' "$s")
		((enables == guarded)) || bad+="${bad:+; }$n $(basename "$s"): $enables enable, $guarded debian-installed"
		if grep -nE '(deb-systemd-invoke|systemctl)[^|;]* (start|restart|enable)( |$)' "$s" >"$tmp/start"; then
			bad+="${bad:+; }$n $(basename "$s"): $(paste -sd' ' "$tmp/start")"
		fi
	done
	grep -q 'try-restart' "$tmp/ctl-$n/postinst" || bad+="${bad:+; }$n postinst: no try-restart on upgrade"
done
[[ -z $bad ]] && pass deb-no-enable || fail deb-no-enable "$bad"

# The second copyright stanza lists exactly the dual-licensed files.
listed=$(awk '/^Files:$/ { f = 1; next } f && /^ / { print $1; next } { f = 0 }' \
	"$top/debian/copyright" | sort)
dual=$(git -C "$top" grep -lE '^(//|/\*) SPDX-License-Identifier: GPL-2\.0 OR BSD-2-Clause' | sort)
if [[ -n $listed && $listed == "$dual" ]]; then
	pass deb-copyright
else
	fail deb-copyright "debian/copyright's GPL-2 or BSD-2-clause files differ from the SPDX headers: $(diff <(echo "$listed") <(echo "$dual") | grep '^[<>]' | paste -sd' ')"
fi

# Install, then purge, on this host: only as root, and only where neither
# package nor any of its paths is there already (nothing of the admin's
# is touched). dsmd is never started.
why=""
((EUID == 0)) || why="not root"
for p in dsm dsm-server; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' && why="package $p is installed"
done
for p in /etc/dsm /etc/default/dsmd /etc/default/dsm-server /var/lib/dsm /var/lib/dsm-server \
	/usr/sbin/dsmd /usr/sbin/dsm-server /usr/bin/dsmctl; do
	[[ -e $p ]] && why="$p exists"
done
if [[ -n $why ]]; then
	skip deb-install "not installed on this host: $why"
	exit 0
fi
paths=$(cat "$tmp/dsm" "$tmp/dsm-server" | awk '{ print $2 }' | sed 's|/$||' |
	grep -E '^/etc/(dsm|default/dsm)|/dsm|dsmctl')
# the postinst's tmpfiles.d run makes these; the test removes them again
runs=""
for p in /run/dsm /run/dsm-server; do [[ -e $p ]] || runs+=" $p"; done
if ! dpkg -i "$node" "$server" >"$tmp/dpkg.log" 2>&1; then
	tail -5 "$tmp/dpkg.log"
	fail deb-install "dpkg -i failed"
	dpkg -P dsm dsm-server >/dev/null 2>&1
	exit 0
fi
bad=""
[[ $(stat -c %a /etc/dsm) == 700 ]] || bad+="/etc/dsm is $(stat -c %a /etc/dsm); "
[[ $(stat -c %a /var/lib/dsm) == 700 ]] || bad+="/var/lib/dsm is $(stat -c %a /var/lib/dsm); "
links=$(find /etc/systemd/system -name 'dsm*.service' 2>/dev/null | paste -sd' ')
[[ -z $links ]] || bad+="units enabled: $links; "
pgrep -x dsmd >/dev/null && bad+="a dsmd runs; "
pgrep -x dsm-server >/dev/null && bad+="a dsm-server runs; "
/usr/bin/dsmctl policy check /etc/dsm/dsm.policy.example >"$tmp/check.log" 2>&1 ||
	bad+="dsmctl policy check: $(tail -1 "$tmp/check.log"); "
[[ -z $bad ]] && pass deb-install || fail deb-install "$bad"

if [[ -d /run/systemd/system ]]; then
	st=$(systemctl is-enabled dsmd.service dsm-server.service 2>&1 | paste -sd' ')
	ac=$(systemctl is-active dsmd.service dsm-server.service 2>&1 | paste -sd' ')
	if [[ $st == "disabled disabled" && $ac == "inactive inactive" ]]; then
		pass deb-systemd
	else
		fail deb-systemd "is-enabled: $st; is-active: $ac"
	fi
else
	skip_host deb-systemd "systemd is not PID 1 here ($(ps -p 1 -o comm=)): enabled symlinks checked instead"
fi

if dpkg -P dsm dsm-server >"$tmp/dpkg.log" 2>&1; then
	left=""
	while read -r p; do [[ -e $p ]] && left+=" $p"; done <<<"$paths"
	state=$(find /var/lib/systemd/deb-systemd-helper-enabled -name 'dsm*' 2>/dev/null | paste -sd' ')
	if [[ -z $left && -z $state ]]; then
		pass deb-purge
	else
		fail deb-purge "left after dpkg -P:$left $state"
	fi
else
	tail -5 "$tmp/dpkg.log"
	fail deb-purge "dpkg -P failed"
fi
# (volatile, and left by a purge as by any package's tmpfiles.d entry)
for p in $runs; do rmdir "$p" 2>/dev/null; done
exit 0
