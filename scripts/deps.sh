#!/usr/bin/env bash
# deps.sh: install every Debian package dsm's build, tests, demo and
# benchmarks use, and fetch the guest kernel package. Idempotent: a second
# run with everything present touches nothing and takes well under a second.
#
#   scripts/deps.sh            install what is missing
#   scripts/deps.sh --check    exit 1 (and list it) if anything is missing
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
	libcmocka-dev                # unit test framework
	qemu-system-x86              # guest nodes (BPF LSM cannot load on the host)
	busybox-static cpio kmod     # guest initramfs; PID 1 powers off with it
	iproute2 tcpdump iputils-ping # private switch, captures
	jq                           # alarm checks in guest tests
	openssl                      # s_client with a foreign CA's certificate (server_cluster)
	procps psmisc                # pgrep/pkill in the harness checks
	python3                      # scripts/check-calls (make test)
	scdoc                        # man pages (make man, make all)
	systemd                      # systemd-analyze verify of the units (tests/host/units.sh)
)

# Only for `make bench` (scripts/deps.sh --bench): the outside tools and
# the peer it compares with (SELinux + NetLabel, used inside the guest).
bench_packages=(
	sockperf iperf3              # UDP round trips, TCP throughput
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
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[[ -n $pkg ]] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; return 1; }
	mkdir -p "$guest/deb"
	if ! ls "$guest/deb/$pkg"_*.deb >/dev/null 2>&1; then
		log "downloading $pkg"
		(cd "$guest/deb" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	fi
	ls "$guest/deb/$pkg"_*.deb >/dev/null 2>&1 || { log "download of $pkg failed"; return 1; }
	rm -rf "$guest/root.tmp"
	dpkg-deb -x "$guest/deb/$pkg"_*.deb "$guest/root.tmp"
	ver=$(ls "$guest/root.tmp/lib/modules")
	depmod -b "$guest/root.tmp" "$ver"
	rm -rf "$guest/root"
	mv "$guest/root.tmp" "$guest/root"
	printf '%s\n' "$ver" >"$guest/kernel-version"
	log "guest kernel $ver ready in $guest/root"
}

check=0
case ${1:-} in
--check) check=1 ;;
--bench) packages+=("${bench_packages[@]}") ;;
"") ;;
*) log "unknown option '$1' (--check or --bench)"; exit 2 ;;
esac

mapfile -t miss < <(missing_packages)
if ((check)); then
	rc=0
	((${#miss[@]} == 0)) || { log "missing packages: ${miss[*]}"; rc=1; }
	guest_ready || { log "guest kernel not fetched"; rc=1; }
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
