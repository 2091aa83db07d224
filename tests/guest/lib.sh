# lib.sh: assertions for guest tests. A test is a bash script run by
# tests/guest/suite on every node of its cluster; exit 0 passes, exit 77
# skips (skip() prints the reason), anything else fails.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${DSM_BUILD:-$top/build}
. "$top/tests/vm/guest-lib.sh"

# The guest kernel's tree, of the kernel this node booted (tests/vm/run
# passes DSM_KERNEL when it is not the default 6.1).
guest_dir=$build/guest
[[ ${DSM_KERNEL:-6.1} == 6.1 ]] || guest_dir=$build/guest-$DSM_KERNEL

fail() { echo "FAIL: $*" >&2; exit 1; }

# guest_module REL: the path of a module file finit_module takes, for the
# module REL (its path under lib/modules/VER/kernel, without .ko): the
# .ko itself, or, for a kernel that ships .ko.xz (6.12), a copy unpacked
# into /tmp.
guest_module() {
	local ver f
	ver=$(cat "$guest_dir/kernel-version") || fail "no guest kernel in $guest_dir"
	f=$guest_dir/root/lib/modules/$ver/kernel/$1
	if [[ -f $f.ko ]]; then
		echo "$f.ko"
	elif [[ -f $f.ko.xz ]]; then
		mkdir -p /tmp/dsm-modules
		xz -dc "$f.ko.xz" >"/tmp/dsm-modules/${1##*/}.ko" || fail "cannot unpack $f.ko.xz"
		echo "/tmp/dsm-modules/${1##*/}.ko"
	else
		fail "no module $1 in $guest_dir"
	fi
}
# skip REASON: a skip the suite counts as a failure in CI.
skip() { echo "SKIP: $*"; exit 77; }
# skip_host REASON: the host lacks a capability; never a failure.
skip_host() { echo "SKIP(host): $*"; exit 77; }

# expect_eq WHAT GOT WANT
expect_eq() { [[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"; }

# expect_ok CMD...: CMD must exit 0.
expect_ok() { "$@" || fail "expected success: $*"; }

# pcap_hex PCAP: one line of hex per captured packet, the IP header
# onwards (tcpdump -x).
pcap_hex() {
	tcpdump -r "$1" -nn -x 2>/dev/null | awk '
		/^[0-9]/ { if (hex != "") print hex; hex = ""; next }
		{ for (i = 2; i <= NF; i++) hex = hex $i }
		END { if (hex != "") print hex }'
}

# server_ready FILE: wait for a server's "ready" line in FILE, and fail
# if none came within 60 s. A server that is not listening yet loses
# datagrams (they are not queued), and starting a labeled process takes
# a while in a loaded guest.
server_ready() {
	local i
	for ((i = 0; i < 600; i++)); do vm_file_has "$1" ready && return 0; sleep 0.1; done
	fail "server not ready: $1: $(cat "$1" 2>/dev/null)"
}
