#!/usr/bin/env bash
# deps.sh: install every Debian package dsm's build, tests, demo and
# benchmarks use, and fetch the guest kernel package. Idempotent: a second
# run with everything present touches nothing and takes well under a second.
#
#   scripts/deps.sh            install what is missing
#   scripts/deps.sh --check    exit 1 (and list it) if anything is missing
#   scripts/deps.sh --kernel 6.12   also fetch the second guest kernel
#                              (Debian 13's; DSM_KERNEL=6.12 does the same)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${DSM_BUILD:-$top/build}
guest=$build/guest

# One package a line; the comment says who needs it.
packages=(
	make gcc pkg-config          # userspace build
	clang llvm                   # BPF objects (clang -target bpf), llvm-strip
	libbpf-dev bpftool           # libbpf, skeletons, vmlinux.h
	libelf-dev zlib1g-dev        # libbpf link deps
	libssl-dev                   # SipHash cross-check, TLS, Ed25519 signatures
	libsqlite3-dev               # the Security Server's store
	libclang-rt-14-dev           # libFuzzer and sanitizer runtimes for clang (tests/fuzz)
	libjson-c-dev                # JSON alarms and status
	libsystemd-dev               # dsmd: alarms to the journal (sd_journal_sendv)
	libcmocka-dev                # unit test framework
	qemu-system-x86              # guest nodes (BPF LSM cannot load on the host)
	busybox-static cpio kmod     # guest initramfs; PID 1 powers off with it
	xz-utils                     # the 6.12 guest kernel's modules are .ko.xz
	iproute2 tcpdump iputils-ping # private switch, captures
	jq                           # alarm checks in guest tests
	openssl                      # s_client with a foreign CA's certificate (server_cluster)
	procps psmisc                # pgrep/pkill in the harness checks
	python3                      # scripts/check-calls (make test)
	scdoc                        # man pages (make man, make all)
	systemd                      # systemd-analyze verify of the units (tests/host/units.sh)
	debhelper lintian            # make deb: dh and its checks (tests/host/deb.sh)
	dpkg-dev fakeroot            # make deb: dpkg-buildpackage, dpkg-deb
)

# Only for `make bench` (scripts/deps.sh --bench): the outside tools and
# the peer it compares with (SELinux + NetLabel, used inside the guest).
bench_packages=(
	sockperf iperf3              # UDP round trips, TCP throughput
	redis-server redis-tools     # a real application (redis-benchmark)
	gnuplot-nox                  # the plot
	selinux-policy-default policycoreutils netlabel-tools # the SELinux + CIPSO row
)

log() { printf 'deps: %s\n' "$*" >&2; }

missing_packages() {
	local p
	for p in "${packages[@]}"; do
		[[ $p == \#* ]] && continue
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || printf '%s\n' "$p"
	done
}

# The guest kernel: Debian's own, resolved through the linux-image-amd64
# metapackage so the ABI number follows Debian's updates.
guest_ready() { [[ -s $guest/kernel-version && -d $guest/root/lib/modules ]]; }

install_guest_kernel() {
	local pkg ver
	pkg=$(apt-cache "$@" depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[[ -n $pkg ]] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; return 1; }
	mkdir -p "$guest/deb"
	if ! ls "$guest/deb/$pkg"_*.deb >/dev/null 2>&1; then
		log "downloading $pkg"
		(cd "$guest/deb" && apt-get "$@" download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	fi
	ls "$guest/deb/$pkg"_*.deb >/dev/null 2>&1 || { log "download of $pkg failed"; return 1; }
	rm -rf "$guest/root.tmp"
	dpkg-deb -x "$guest/deb/$pkg"_*.deb "$guest/root.tmp"
	# Debian 13's package ships its modules under usr/ (merged /usr)
	if [[ ! -e $guest/root.tmp/lib && -d $guest/root.tmp/usr/lib/modules ]]; then
		ln -s usr/lib "$guest/root.tmp/lib"
	fi
	ver=$(ls "$guest/root.tmp/lib/modules")
	depmod -b "$guest/root.tmp" "$ver"
	rm -rf "$guest/root"
	mv "$guest/root.tmp" "$guest/root"
	printf '%s\n' "$ver" >"$guest/kernel-version"
	log "guest kernel $ver ready in $guest/root"
}

# The second guest kernel, Debian 13's (6.12), from the trixie suite of the
# same Debian archive the system's apt sources name, through an apt
# configuration of its own in $build/guest-6.12/apt: its own sources list,
# lists and cache, the system's archive keyring; the system's sources and
# state are left alone. Only on request (--kernel 6.12 or DSM_KERNEL=6.12).
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		# deb822: the URIs of the stanza whose suites name bookworm itself
		awk 'BEGIN { RS = ""; FS = "\n" }
		{ u = ""; s = ""
		  for (i = 1; i <= NF; i++) {
			if ($i ~ /^URIs:/) u = $i
			if ($i ~ /^Suites:/) s = $i
		  }
		  if (s ~ /[ \t]bookworm([ \t]|$)/ && u != "") { sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); print a[1]; exit } }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r $f ]] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) break
		      if ($(i + 1) == "bookworm") { print $i; exit } }' "$f"
	done
}

second_kernel() {
	local ver=$1 dir=$build/guest-$1 suite mirror keyring conf
	case $ver in
	6.12) suite=trixie ;;
	*) log "unknown guest kernel '$ver' (6.1 or 6.12)"; exit 2 ;;
	esac
	guest=$dir
	guest_ready && return 0
	mirror=$(debian_mirror | head -1)
	[[ -n $mirror ]] || { log "no Debian archive for bookworm in /etc/apt sources: cannot find $suite's"; return 1; }
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[[ -r $keyring ]] || { log "no $keyring (package debian-archive-keyring)"; return 1; }
	conf=$dir/apt
	mkdir -p "$conf/lists/partial" "$conf/cache/archives/partial" "$conf/etc/preferences.d"
	printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" >"$conf/sources.list"
	cat >"$conf/apt.conf" <<-CONF
	Dir::State "$conf";
	Dir::State::Lists "$conf/lists";
	Dir::State::status "$conf/status";
	Dir::Cache "$conf/cache";
	Dir::Etc::sourcelist "$conf/sources.list";
	Dir::Etc::sourceparts "-";
	Dir::Etc::preferencesparts "$conf/etc/preferences.d";
	APT::Architecture "amd64";
	CONF
	: >>"$conf/status"
	log "guest kernel $ver: $suite from $mirror (apt configuration $conf/apt.conf)"
	if ! apt-get -c "$conf/apt.conf" update -qq 2>&1 | grep -v '^W: Download is performed unsandboxed'; then :; fi
	apt-cache -c "$conf/apt.conf" show linux-image-amd64 >/dev/null 2>&1 ||
		{ log "apt-get update of $suite from $mirror failed (no package lists in $conf/lists)"; return 1; }
	install_guest_kernel -c "$conf/apt.conf"
}

check=0 kernel=${DSM_KERNEL:-6.1}
while (($#)); do
	case $1 in
	--check) check=1; shift ;;
	--bench) packages+=("${bench_packages[@]}"); shift ;;
	--kernel) kernel=${2:?--kernel wants 6.1 or 6.12}; shift 2 ;;
	*) log "unknown option '$1' (--check, --bench or --kernel VER)"; exit 2 ;;
	esac
done
case $kernel in 6.1|6.12) ;; *) log "unknown guest kernel '$kernel' (6.1 or 6.12)"; exit 2 ;; esac

mapfile -t miss < <(missing_packages)
if ((check)); then
	rc=0
	((${#miss[@]} == 0)) || { log "missing packages: ${miss[*]}"; rc=1; }
	guest_ready || { log "guest kernel not fetched"; rc=1; }
	if [[ $kernel != 6.1 ]]; then
		guest=$build/guest-$kernel
		guest_ready || { log "guest kernel $kernel not fetched"; rc=1; }
	fi
	exit $rc
fi

if ((${#miss[@]})); then
	log "installing: ${miss[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${miss[@]}" >/dev/null
fi
if ! guest_ready; then
	apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
	install_guest_kernel
fi
if [[ $kernel != 6.1 ]]; then
	second_kernel "$kernel"
fi
