# guest-lib.sh: helpers for jobs running inside tests/vm/run nodes.
# Source it: . tests/vm/guest-lib.sh

# Waiting without forking. In a TCG guest a fork and exec costs about as
# much as the wait it serves: one `sleep 0.1` took 190 ms, a `find | wc`
# 300 ms, a `grep -q` 170 ms, and the CPU they burn is taken from the
# nodes doing the work (several guests share two host CPUs). So the
# polling helpers below use bash builtins only: read -t for a nap, globs
# and mapfile for looking, EPOCHREALTIME for deadlines.

# vm_nap SECONDS: sleep without a process: a read with a timeout on a FIFO
# nobody writes to (opened once per shell, kept on a descriptor).
vm_nap() {
	local s=$1 int frac end now left t
	[[ $s =~ ^[0-9]*(\.[0-9]*)?$ && -n $s ]] || { command sleep "$s"; return; }
	int=${s%%.*} frac=
	[[ $s == *.* ]] && frac=${s#*.}
	frac=${frac}000000
	end=$((${EPOCHREALTIME/./} + 10#${int:-0} * 1000000 + 10#${frac:0:6}))
	if [[ -z ${VM_NAP_FD:-} || ! -e /proc/self/fd/$VM_NAP_FD ]]; then
		local fifo=${TMPDIR:-/tmp}/.vm_nap.$BASHPID.$RANDOM
		mkfifo -m 600 "$fifo" 2>/dev/null && exec {VM_NAP_FD}<>"$fifo"
		rm -f "$fifo"
		[[ -n ${VM_NAP_FD:-} ]] || { command sleep "$s"; return; }
	fi
	while :; do
		now=${EPOCHREALTIME/./}
		left=$((end - now))
		((left > 0)) || return 0
		printf -v t '%d.%06d' $((left / 1000000)) $((left % 1000000))
		read -rt "$t" -u "$VM_NAP_FD"
	done
}

# sleep: the builtin nap for a plain number of seconds (what every polling
# loop uses), the real sleep for anything else (suffixes, "infinity").
sleep() {
	if (($# == 1)); then
		vm_nap "$1" # (itself the real sleep for what is not a plain number)
	else
		command sleep "$@"
	fi
}

# vm_file_has FILE ERE: whether a line of FILE matches ERE (grep -qE
# without the process; FILE missing: no).
vm_file_has() {
	local lines l
	mapfile -t lines 2>/dev/null <"$1" || return 1
	for l in "${lines[@]}"; do
		[[ $l =~ $2 ]] && return 0
	done
	return 1
}

# vm_barrier NAME [TIMEOUT]: return once every node has reached NAME, or
# fail after TIMEOUT seconds (default 120).
# Uses the run directory shared by all nodes (9p, no caching). The run
# directory outlives a test (a cluster runs many), so NAME is taken within
# DSM_BARRIER_SCOPE (the suite sets it to the test's name): a barrier an
# earlier test passed under the same NAME does not let a node through.
vm_barrier() {
	local name=${DSM_BARRIER_SCOPE:+$DSM_BARRIER_SCOPE.}$1 limit=${2:-120} here start
	[[ -n ${DSM_SHARED:-} ]] || return 0
	: >"$DSM_SHARED/.barrier.$name.$DSM_NODE"
	start=$SECONDS
	while :; do
		here=("$DSM_SHARED/.barrier.$name".*)
		if ((${#here[@]} >= DSM_NODES)); then
			((SECONDS - start < 30)) || echo "vm_barrier $name: waited $((SECONDS - start)) s"
			return 0
		fi
		((SECONDS - start >= limit)) &&
			{ echo "vm_barrier $name: timeout (${#here[@]} of $DSM_NODES nodes)" >&2; return 1; }
		vm_nap 0.1
	done
}

# vm_wait_ip ADDR [TIMEOUT]: wait until ADDR answers a ping.
vm_wait_ip() {
	local addr=$1 limit=${2:-30} i
	for ((i = 0; i < limit; i++)); do
		ping -c 1 -W 1 "$addr" >/dev/null 2>&1 && return 0
	done
	echo "vm_wait_ip $addr: no answer in ${limit}s" >&2
	return 1
}

# vm_node_ip K: the address of node K.
vm_node_ip() { echo "${DSM_NET:-10.77.0}.$1"; }

# vm_service [--env VAR=VAL]... [--out FILE] [--err FILE] [--cwd DIR] -- CMD [ARG...]
# Start CMD as a service of PID 1 (tests/vm/pid1): PID 1 forks and the
# child execs CMD itself, nothing in between, the way an init system starts
# a service; so CMD's parent is PID 1 and its only exec is CMD's. It gets
# the job's environment plus every --env, stdin from /dev/null, stdout to
# --out and stderr to --err (default: --out; both default to /dev/null),
# and runs in --cwd (default: the current directory). Prints CMD's pid once
# CMD has exec'd (or already ended); returns 1 with the reason on stderr
# if PID 1 did not start it.
vm_service() {
	local env=() out=/dev/null err="" cwd=$PWD dir req pid="" why init=() got=() i
	while (($#)); do
		case $1 in
		--env) [[ ${2:-} =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] ||
			{ echo "vm_service: --env wants VAR=VALUE, not '${2:-}'" >&2; return 2; }
		       env+=("$2"); shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		--err) err=${2:?}; shift 2 ;;
		--cwd) cwd=${2:?}; shift 2 ;;
		--)    shift; break ;;
		*)     echo "vm_service: unknown option '$1'" >&2; return 2 ;;
		esac
	done
	(($#)) || { echo "vm_service: no command" >&2; return 2; }
	[[ -p ${DSM_SVC_DIR:-}/wake ]] || { echo "vm_service: no service manager here (DSM_SVC_DIR)" >&2; return 1; }
	[[ $out == /* ]] || out=$PWD/$out
	[[ -z $err || $err == /* ]] || err=$PWD/$err
	[[ $cwd == /* ]] || cwd=$PWD/$cwd
	dir=$(mktemp -d "$DSM_SVC_DIR/new.XXXXXX") || return 1
	printf '%s\0' "$@" >"$dir/argv"
	((${#env[@]})) && printf '%s\0' "${env[@]}" >"$dir/env"
	printf '%s\0' "$cwd" >"$dir/cwd"
	printf '%s\0' "$out" >"$dir/out"
	[[ -n $err ]] && printf '%s\0' "$err" >"$dir/err"
	req=$DSM_SVC_DIR/req.${dir##*.}
	mv "$dir" "$req" || return 1
	echo >"$DSM_SVC_DIR/wake"
	for ((i = 0; i < 200; i++)); do
		[[ -s $req/pid ]] && read -r pid <"$req/pid" && break
		pid=""
		if [[ -s $req/error ]] && read -r why <"$req/error"; then
			echo "vm_service: PID 1 did not start $1: $why" >&2
			return 1
		fi
		sleep 0.05
	done
	[[ -n $pid ]] || { echo "vm_service: no answer from PID 1 in 10s" >&2; return 1; }
	# Until the exec, /proc/PID shows a copy of PID 1 (its command line).
	mapfile -d '' -t init </proc/1/cmdline
	for ((i = 0; i < 200; i++)); do
		[[ -e $req/exit ]] && break
		mapfile -d '' -t got 2>/dev/null <"/proc/$pid/cmdline" || break
		((${#got[@]})) || break # a zombie's is empty
		[[ "${got[*]}" != "${init[*]}" ]] && break
		sleep 0.05
	done
	((i < 200)) || { echo "vm_service: $pid did not exec $1 in 10s" >&2; return 1; }
	echo "$pid"
}

# vm_service_wait PID [TIMEOUT]: wait until service PID (from vm_service)
# has ended, at most TIMEOUT seconds (default 60); print its exit status
# (128+N: a signal N killed it) and return it. 124: still running; 2: PID
# is no service of PID 1's.
vm_service_wait() {
	local pid=$1 limit=${2:-60} f d p st running known i
	for ((i = 0; i <= limit * 20; i++)); do
		running=0 known=0 st=""
		for f in "${DSM_SVC_DIR:-/nonexistent}"/req.*/pid; do
			[[ -e $f ]] && read -r p <"$f" && [[ $p == "$pid" ]] || continue
			known=1
			d=${f%/pid}
			if [[ -s $d/exit ]] && read -r st <"$d/exit"; then :; else running=1; fi
		done
		((known)) || { echo "vm_service_wait: $pid is no service" >&2; return 2; }
		((running)) || { echo "$st"; return "$st"; }
		sleep 0.05
	done
	echo "vm_service_wait: $pid still runs after ${limit}s" >&2
	return 124
}
