# attack_net.sh: helpers for the network attack tests (cases/attack_net_*).
# Source after lib.sh and dsm.sh. Each attack prints one line a reader can
# grep for:
#   CONTROL <what>: <outcome>              the path where dsm checks it
#   ATTACK <what>: SUCCEEDED (hole) [...]  the attack worked
#   ATTACK <what>: BLOCKED [...]           dsm stopped it
# A test states what it expects of each attack today (hole or blocked), so
# that it keeps passing while the hole is open and fails, pointing at the
# line, once a fix changes the outcome (then flip the expectation).

IO=$build/tests/guest/tools/attack_net_io
SOCKT=$build/tests/guest/tools/attack_net_sock
PKT=$build/tests/guest/tools/attack_net_pkt

# control WHAT GOT WANT: a path dsm checks must behave as the policy says.
control() {
	echo "CONTROL $1: $2"
	[[ $2 == "$3" ]] || fail "control $1: got '$2', want '$3'"
}

# attack WHAT EXPECT GOT SUCCESS: GOT == SUCCESS means the attack worked;
# EXPECT (hole or blocked) is what the test expects today.
attack() {
	local what=$1 expect=$2 got=$3 success=$4 verdict
	if [[ $got == "$success" ]]; then
		verdict=hole
		echo "ATTACK $what: SUCCEEDED (hole) [$got]"
	else
		verdict=blocked
		echo "ATTACK $what: BLOCKED [$got]"
	fi
	[[ $verdict == "$expect" ]] || fail "attack $what: expected $expect, got $verdict ($got)"
}

# wait_ready FILE: wait (60 s at most) for a server's "ready" line.
wait_ready() {
	local i
	for ((i = 0; i < 600; i++)); do vm_file_has "$1" ready && return 0; sleep 0.1; done
	return 1
}

# wait_done FILE PATTERN [TENTHS]: wait for a line matching PATTERN, then
# print the file's last line.
wait_done() {
	local i n=${3:-300}
	for ((i = 0; i < n; i++)); do vm_file_has "$1" "$2" && break; sleep 0.1; done
	tail -1 "$1" 2>/dev/null
}

# guest_modprobe MODULE...: load guest kernel modules (and what they need)
# from the guest kernel tree; the guest's own modprobe has no module tree.
guest_modprobe() {
	local ver
	ver=$(cat "$guest_dir/kernel-version")
	modprobe -d "$guest_dir/root" -S "$ver" -a "$@"
}

# netns_spawn LABEL SECONDS: a process of LABEL in a new network namespace
# (unshare -n), alive for SECONDS; prints its pid, for nsenter -t PID -n.
netns_spawn() {
	local f=/tmp/netns.$$.$RANDOM _
	as "$1" unshare -n sh -c "echo \$\$ >$f; exec sleep $2" >/dev/null 2>&1 &
	for _ in $(seq 100); do [[ -s $f ]] && break; sleep 0.1; done
	[[ -s $f ]] || return 1
	cat "$f"
	rm -f "$f"
}

# sock_serve PORT FAMILY [LABEL]: attack_net_sock's server on PORT, as LABEL
# when given, into /tmp/srv.PORT, once it is listening.
sock_serve() {
	local -a run=()
	[[ -n ${3:-} ]] && run=(as "$3")
	"${run[@]}" "$SOCKT" serve "$2" "$1" 150 >"/tmp/srv.$1" 2>&1 &
	wait_ready "/tmp/srv.$1" || fail "server $1: $(cat "/tmp/srv.$1")"
}
# sock_client PORT FAMILY [LABEL]: attack_net_sock connects to $server's
# PORT and sends, as LABEL when given; its steps into /tmp/cli.PORT.
sock_client() {
	local -a run=()
	[[ -n ${3:-} ]] && run=(as "$3")
	"${run[@]}" "$SOCKT" connect "$2" "$server" "$1" >"/tmp/cli.$1" 2>&1
	echo "client ${3:-(no dsm)} $2 -> $1: $(tr '\n' ' ' <"/tmp/cli.$1")"
}
