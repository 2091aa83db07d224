# server.sh: helpers for guest tests with a Security Server. Source after
# lib.sh and dsm.sh. The server runs on the cluster's last node (no dsm
# there); the others join it.
SERVER=$build/dsm-server
SERVER_NODE=$DSM_NODES
SERVER_ADDR="$(vm_node_ip "$SERVER_NODE"):7800"
SERVER_STATE=/tmp/dsm-server
SERVER_SOCK=/tmp/dsm-server.sock
SERVER_LOG=/tmp/dsm-server.log
NODE_STATE=/tmp/dsm-node-state # a joined dsmd's --server-state

# srvctl ARGS...: dsmctl against the server's control socket.
srvctl() { "$DSMCTL" --server-socket "$SERVER_SOCK" "$@"; }

# server_start [FLAGS...]: start dsm-server on its state directory (with
# FLAGS); wait until it serves (30 s) or fail with its log.
server_start() {
	local i
	"$SERVER" --state "$SERVER_STATE" --listen "$SERVER_ADDR" --control "$SERVER_SOCK" "$@" \
		>>"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	for ((i = 0; i < 300; i++)); do
		vm_file_has "$SERVER_LOG" ': serving, policy version' && [[ -S $SERVER_SOCK ]] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$SERVER_LOG" >&2
	fail "dsm-server did not start"
}

# server_stop: SIGTERM, and wait for it.
server_stop() {
	[[ -n ${SERVER_PID:-} ]] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# server_nodes_where JQ_FILTER N [TENTHS]: wait until N nodes of
# `node list --json` match JQ_FILTER (a select() body); print the count.
server_nodes_where() {
	local filter=$1 want=$2 limit=${3:-600} n=0 i
	for ((i = 0; i < limit; i++)); do
		n=$(srvctl node list --json 2>/dev/null | jq "[.nodes[] | select($filter)] | length" 2>/dev/null)
		[[ $n == "$want" ]] && break
		sleep 0.1
	done
	echo "${n:-0}"
}

# policy_version_is V [TENTHS]: wait until this node's dsmd enforces
# policy version V; print the version it enforces.
policy_version_is() {
	local want=$1 limit=${2:-600} v="" i
	for ((i = 0; i < limit; i++)); do
		v=$("$DSMCTL" status --json 2>/dev/null | jq -r .policy.version)
		[[ $v == "$want" ]] && break
		sleep 0.1
	done
	echo "$v"
}

server_cleanup() {
	server_stop
	if [[ ${DSM_TEST_FAILED:-0} != 0 && -s $SERVER_LOG ]]; then
		echo "--- dsm-server log"
		cat "$SERVER_LOG"
	fi
}
trap 'DSM_TEST_FAILED=$?; server_cleanup; dsm_cleanup' EXIT
