# guest-lib.sh: helpers for jobs running inside tests/vm/run nodes.
# Source it: . tests/vm/guest-lib.sh

# vm_barrier NAME [TIMEOUT]: return once every node has reached NAME.
# Uses the run directory shared by all nodes (9p, no caching). The run
# directory outlives a test (a cluster runs many), so NAME is taken within
# DSM_BARRIER_SCOPE (the suite sets it to the test's name): a barrier an
# earlier test passed under the same NAME does not let a node through.
vm_barrier() {
	local name=${DSM_BARRIER_SCOPE:+$DSM_BARRIER_SCOPE.}$1 limit=${2:-120} n waited=0
	[[ -n ${DSM_SHARED:-} ]] || return 0
	: >"$DSM_SHARED/.barrier.$name.$DSM_NODE"
	while :; do
		n=$(find "$DSM_SHARED" -maxdepth 1 -name ".barrier.$name.*" | wc -l)
		((n >= DSM_NODES)) && return 0
		((waited >= limit * 10)) && { echo "vm_barrier $name: timeout ($n of $DSM_NODES nodes)" >&2; return 1; }
		sleep 0.1
		waited=$((waited + 1))
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
