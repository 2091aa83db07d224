# guest-lib.sh: helpers for jobs running inside tests/vm/run nodes.
# Source it: . tests/vm/guest-lib.sh

# vm_barrier NAME [TIMEOUT]: return once every node has reached NAME.
# Uses the run directory shared by all nodes (9p, no caching).
vm_barrier() {
	local name=$1 limit=${2:-120} n waited=0
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
