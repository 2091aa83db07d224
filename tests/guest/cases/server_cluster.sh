# nodes: 4
# timeout: 480
# A cluster run from one place. Node 4 runs the Security Server (no dsm);
# nodes 1-3 join it with one-time tokens and take their policy from it.
#   1. cluster init, a token per node; every node enrols and connects; a
#      used token and an expired one are refused and write nothing; root
#      in a confined label cannot read a node's key.
#   2. a policy pushed on the server is enforced on every node: a flow it
#      newly allows (a@node1 -> b@node2) works, one it still denies
#      (c@node1 -> b@node2) does not; cluster status shows every node on
#      the new version; an older version is refused by the server. The
#      first pair-key generation is in force on every node (keys status,
#      each node's keys file), so those flows are version 3 options.
#   2b. a key rotation under traffic (a@node1 -> b@node2), node 3 away
#      during the install: the switch waits and keys status names node 3;
#      once it is back the switch follows; no datagram is lost.
#   3. the server is stopped: the nodes keep enforcing; node 3's dsmd is
#      restarted meanwhile and enforces its persisted bundle before any
#      server answers; the server comes back and every node reconnects.
#      Node 2's alarms raised during the outage (c@node1 -> b) reach the
#      server: its seqs there form one range without a gap or a repeat.
#      Freshness (statements valid 30 s, every 5 s): every node holds one
#      after the push and raises no policy_stale while the server is up;
#      during the outage nodes 2 and 3 (restarted) raise policy_stale and
#      keep enforcing version 2; back in session each is fresh again.
#   4. a removed node's session is closed and it cannot come back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../server.sh"

shared=$DSM_SHARED/server_cluster
server_args=(--fresh-expiry 30 --fresh-interval 5 --key-grace 5s)
# stale_alarms: how many policy_stale alarms this node has raised.
stale_alarms() {
	alarm_stream | jq -n '[inputs | select((.reason // "") | startswith("policy_stale"))] | length'
}
# wait_stale TENTHS: until this node has raised policy_stale, or fail.
wait_stale() {
	local i
	for ((i = 0; i < $1; i++)); do
		(($(stale_alarms) > 0)) && return 0
		sleep 0.1
	done
	fail "no policy_stale alarm: $(grep -i fresh "$DSM_LOG" | tail -3)"
}
dsm_keyfile /tmp/cluster.key 1
# The policy every node starts with (version 1) and the one pushed
# (version 2): the same, but 2 lets a@node1 talk to b.
cluster_policy() {
	dsm_policy "$1" "$2" <<EOF2
node node1 = 1;
node node2 = 2;
node node3 = 3;
allow { a b c } self : socket inet { create bind connect send recv };
allow a unconfined : file exec;
${3:-}
EOF2
}

if ((DSM_NODE == SERVER_NODE)); then
	mkdir -p "$shared"
	"$DSMCTL" cluster init --state "$SERVER_STATE" --cluster test --server-name srv >/dev/null ||
		fail "cluster init"
	server_start "${server_args[@]}"
	for k in 1 2 3; do
		srvctl node add "node$k" --json | jq -r .token >"$shared/token.$k" || fail "node add node$k"
	done
	cp "$SERVER_STATE/ca.pem" "$shared/ca.pem"
fi
vm_barrier tokens

join_args=(--key-file /tmp/cluster.key --server-state "$NODE_STATE")
if ((DSM_NODE != SERVER_NODE)); then
	cluster_policy /tmp/boot.policy 1
	dsm_start /tmp/boot.policy "${join_args[@]}" --join "$SERVER_ADDR" \
		--token "$(cat "$shared/token.$DSM_NODE")" --ca "$shared/ca.pem"
	for f in node.pem node.key ca.pem operator.pub cluster; do
		[[ -s $NODE_STATE/$f ]] || fail "enrolment left no $f"
	done
	expect_eq "node.key mode" "$(stat -c %a "$NODE_STATE/node.key")" 600
fi
if ((DSM_NODE == 2)); then
	# The node's key and the rest of its server state are dsm's: the
	# runner's label (system dsm_read) reads the key, root in a does not.
	afs=$build/tests/guest/tools/attack_fs
	expect_probe "read OK $(stat -c %s "$NODE_STATE/node.key")" "$afs" read "$NODE_STATE/node.key"
	expect_alarmed "open EACCES" subject=a class=system perm=dsm_read verdict=deny -- \
		as a "$afs" read "$NODE_STATE/node.key"
	expect_alarmed "open EACCES" subject=a class=system perm=dsm_read verdict=deny -- \
		as a "$afs" read "$NODE_STATE/operator.pub"
fi
vm_barrier joined 180

if ((DSM_NODE == SERVER_NODE)); then
	expect_eq "nodes enrolled and connected" \
		"$(server_nodes_where '.state == "enrolled" and .connected' 3)" 3
	# A used token: refused before dsmd loads anything, nothing written.
	cluster_policy /tmp/boot.policy 1
	out=$("$DSMD" --policy /tmp/boot.policy --join "$SERVER_ADDR" --token "$(cat "$shared/token.1")" \
		--ca "$SERVER_STATE/ca.pem" --server-state /tmp/used 2>&1)
	rc=$?
	expect_eq "enrolment with a used token: exit" "$rc" 1
	grep -q "refused the enrolment" <<<"$out" || fail "used token: $out"
	[[ -z $(ls -A /tmp/used 2>/dev/null) ]] || fail "used token wrote $(ls /tmp/used)"
	token=$(srvctl node add node9 --ttl 1s --json | jq -r .token)
	sleep 3
	out=$("$DSMD" --policy /tmp/boot.policy --join "$SERVER_ADDR" --token "$token" \
		--ca "$SERVER_STATE/ca.pem" --server-state /tmp/expired 2>&1)
	rc=$?
	expect_eq "enrolment with an expired token: exit" "$rc" 1
	grep -q "refused the enrolment" <<<"$out" || fail "expired token: $out"
	[[ -z $(ls -A /tmp/expired 2>/dev/null) ]] || fail "expired token wrote $(ls /tmp/expired)"
fi
vm_barrier refusals 120

# Before the push: a@node1 -> b@node2 is denied (version 1).
if ((DSM_NODE == 2)); then
	as b "$PROBE" udp-recv 9500 40 >/tmp/before-a &
	server_ready /tmp/before-a
fi
vm_barrier before-up
((DSM_NODE == 1)) && expect_probe "sent 3" as a "$PROBE" udp-send "$(vm_node_ip 2)" 9500 3
vm_barrier before-sent

if ((DSM_NODE == SERVER_NODE)); then
	cluster_policy /tmp/v2.policy 2 'allow a@node1 b : peer recv;'
	out=$(srvctl policy push /tmp/v2.policy --state "$SERVER_STATE") || fail "push: $out"
	expect_eq "push" "$out" "pushed policy 'test' version 2 to 3 nodes"
	expect_eq "nodes on version 2" "$(server_nodes_where '.policy_version == 2' 3)" 3
	# Keys per node pair: the first generation, made when the nodes
	# enrolled, is installed on all three and in force (switched).
	for _ in $(seq 300); do
		ks=$(srvctl keys status --json 2>/dev/null)
		[[ $(jq '.current >= 1 and ([.nodes[] | select(.key_generation >= 1)] | length) == 3' \
			<<<"$ks" 2>/dev/null) == true ]] && break
		sleep 0.1
	done
	expect_eq "nodes holding a pair-key generation" \
		"$(jq '[.nodes[] | select(.key_generation >= 1)] | length' <<<"$ks")" 3
	expect_eq "a pair-key generation in force" "$(jq '.current >= 1' <<<"$ks")" true
	srvctl keys status
	srvctl cluster status
	cluster_policy /tmp/v1.policy 1 'allow a@node1 b : peer recv; allow c@node1 b : peer recv;'
	srvctl policy push /tmp/v1.policy --state "$SERVER_STATE" 2>/tmp/old.err &&
		fail "an older version was pushed"
	grep -q "rollback" /tmp/old.err || fail "older version: $(cat /tmp/old.err)"
else
	expect_eq "policy version after the push" "$(policy_version_is 2)" 2
	# the pair keys the server sent, persisted and switched to: from here
	# on the flows between the nodes carry version 3 options
	for _ in $(seq 300); do grep -qE '^send [1-9]' "$NODE_STATE/keys" 2>/dev/null && break; sleep 0.1; done
	grep -qE '^send [1-9]' "$NODE_STATE/keys" ||
		fail "no pair-key generation switched to: $(head -3 "$NODE_STATE/keys" 2>&1)"
	expect_eq "keys file mode" "$(stat -c %a "$NODE_STATE/keys")" 600
	# the statement that follows the push's POLICY is held, and kept on disk
	for _ in $(seq 100); do [[ -s $NODE_STATE/policy.fresh ]] && break; sleep 0.1; done
	expect_eq "policy.fresh mode" "$(stat -c %a "$NODE_STATE/policy.fresh")" 600
	expect_eq "policy_stale with the server up" "$(stale_alarms)" 0
fi
vm_barrier pushed 180

# check_flows TAG: on node 2, a@node1 -> b works, c@node1 -> b does not.
check_flows() {
	if ((DSM_NODE == 2)); then
		as b "$PROBE" udp-recv 9501 30 >"/tmp/$1-a" &
		as b "$PROBE" udp-recv 9502 30 >"/tmp/$1-c" &
		server_ready "/tmp/$1-a"
		server_ready "/tmp/$1-c"
	fi
	vm_barrier "$1-up"
	if ((DSM_NODE == 1)); then
		expect_probe "sent 3" as a "$PROBE" udp-send "$(vm_node_ip 2)" 9501 3
		expect_probe "sent 3" as c "$PROBE" udp-send "$(vm_node_ip 2)" 9502 3
	fi
	vm_barrier "$1-sent"
	if ((DSM_NODE == 2)); then
		for _ in $(seq 400); do
			[[ $(cat "/tmp/$1-a" "/tmp/$1-c" | grep -c '^received') == 2 ]] && break
			sleep 0.1
		done
		expect_eq "$1: a@node1 -> b" "$(tail -1 "/tmp/$1-a")" "received 3"
		expect_eq "$1: c@node1 -> b" "$(tail -1 "/tmp/$1-c")" "received 0"
	fi
	vm_barrier "$1-checked" 120
}

if ((DSM_NODE == 2)); then
	for _ in $(seq 450); do grep -q '^received' /tmp/before-a && break; sleep 0.1; done
	expect_eq "a@node1 -> b before the push" "$(tail -1 /tmp/before-a)" "received 0"
fi
check_flows pushed

# A key rotation under traffic, with node 3 away during the install: the
# switch waits for it (keys status names it pending), node 3 gets the
# install when it is back, the switch follows, and not one datagram of
# the allowed flow a@node1 -> b@node2 is lost on the way.
keys_json() { srvctl keys status --json 2>/dev/null; }
send_gen() { sed -nE 's/^send ([0-9]+)$/\1/p' "$NODE_STATE/keys"; }
if ((DSM_NODE == 2)); then
	as b "$PROBE" udp-recv 9510 60 >/tmp/rot-a &
	server_ready /tmp/rot-a
fi
((DSM_NODE == SERVER_NODE)) && keys_json | jq .current >"$shared/rot-gen0"
vm_barrier rot-up
if ((DSM_NODE == 1)); then
	(
		sent=0 stop_at=$((SECONDS + 45))
		while ((SECONDS < stop_at)); do
			as a "$PROBE" udp-send "$(vm_node_ip 2)" 9510 5 | grep -q '^sent 5$' && sent=$((sent + 5))
			# two more seconds of traffic once the switch is done
			[[ -e $shared/rot-switched ]] && ((stop_at > SECONDS + 2)) && stop_at=$((SECONDS + 2))
			sleep 0.3
		done
		echo "$sent" >"$shared/rot-sent"
	) &
	rot_sender=$!
fi
((DSM_NODE == 3)) && dsm_stop
vm_barrier rot-node3-away
if ((DSM_NODE == SERVER_NODE)); then
	gen0=$(cat "$shared/rot-gen0")
	# the first generation's rotation ends (its grace, --key-grace) first
	for _ in $(seq 300); do [[ $(keys_json | jq .rotation) == null ]] && break; sleep 0.1; done
	srvctl keys rotate --now >/dev/null || fail "keys rotate"
	for _ in $(seq 300); do
		ks=$(keys_json)
		[[ $(jq '[.nodes[] | select(.acked | index("install"))] | length' <<<"$ks") == 2 ]] && break
		sleep 0.1
	done
	expect_eq "rotation held at install" "$(jq -r '.rotation.phase' <<<"$ks")" install
	expect_eq "generation in force while held" "$(jq .current <<<"$ks")" "$gen0"
	expect_eq "node3 named pending" \
		"$(jq -r '[.nodes[] | select(.pending) | .name] | join(",")' <<<"$ks")" node3
	srvctl keys status
fi
vm_barrier rot-held 120
if ((DSM_NODE == 3)); then
	cluster_policy /tmp/boot.policy 1
	dsm_start /tmp/boot.policy "${join_args[@]}" --server "$SERVER_ADDR"
fi
if ((DSM_NODE == SERVER_NODE)); then
	for _ in $(seq 900); do
		[[ $(keys_json | jq .current) == $((gen0 + 1)) ]] && break
		sleep 0.1
	done
	touch "$shared/rot-switched"
	expect_eq "generation in force after node 3 came back" "$(keys_json | jq .current)" $((gen0 + 1))
fi
vm_barrier rot-switched 180
if ((DSM_NODE == 1)); then
	wait "$rot_sender"
	expect_eq "node 1 sends with the new generation" "$(send_gen)" $(($(cat "$shared/rot-gen0") + 1))
fi
vm_barrier rot-sent 120
if ((DSM_NODE == 2)); then
	for _ in $(seq 700); do grep -q '^received' /tmp/rot-a && break; sleep 0.1; done
	sent=$(cat "$shared/rot-sent")
	((sent >= 50)) || fail "only $sent datagrams sent during the rotation"
	expect_eq "a@node1 -> b through the rotation: none lost" "$(tail -1 /tmp/rot-a)" "received $sent"
	expect_eq "node 2 sends with the new generation" "$(send_gen)" $(($(cat "$shared/rot-gen0") + 1))
fi
vm_barrier rot-checked 120

# alarm_seq_max: the highest "seq" of this node's alarm log (0: none).
alarm_seq_max() { alarm_stream | jq -n '[inputs | .seq // 0] | max // 0'; }

# The server goes away; node 3 restarts meanwhile.
((DSM_NODE == SERVER_NODE)) && server_stop
vm_barrier server-down
((DSM_NODE == 2)) && alarm_seq_max >"$shared/seq-before.2"
if ((DSM_NODE == 3)); then
	dsm_stop
	cluster_policy /tmp/boot.policy 1
	dsm_start /tmp/boot.policy "${join_args[@]}" --server "$SERVER_ADDR"
	expect_eq "node 3 restarted without a server: policy version" "$(policy_version_is 2 10)" 2
fi
vm_barrier restarted 180 # (a fresh start takes a while: the servers below time out)
check_flows server-down
if ((DSM_NODE == 2 || DSM_NODE == 3)); then
	# no statement for 30 s (node 3: since before its restart): stale,
	# and the bundle stays in force
	wait_stale 600
	expect_eq "node $DSM_NODE stale: policy version" "$(policy_version_is 2 10)" 2
fi
if ((DSM_NODE == 2)); then
	alarm_expect subject=c subject_node=node1 verdict=deny
	alarm_seq_max >"$shared/seq-outage.2"
	(($(cat "$shared/seq-outage.2") > $(cat "$shared/seq-before.2"))) ||
		fail "no alarm numbered during the outage"
fi

# node2_seqs: the seqs of node2's alarms on the server, sorted, as JSON.
node2_seqs() {
	srvctl alarms --cluster --json 2>/dev/null |
		jq -cn '[inputs | select(.node == "node2") | .seq] | sort'
}

((DSM_NODE == SERVER_NODE)) && server_start "${server_args[@]}"
vm_barrier server-up
if ((DSM_NODE == 2 || DSM_NODE == 3)); then
	for _ in $(seq 600); do grep -q "is fresh again" "$DSM_LOG" && break; sleep 0.1; done
	grep -q "is fresh again" "$DSM_LOG" || fail "node $DSM_NODE not fresh again"
fi
if ((DSM_NODE == SERVER_NODE)); then
	expect_eq "nodes connected again" "$(server_nodes_where '.connected' 3 900)" 3
	# Node 2 forwards what it held: wait for the last alarm of the outage.
	before=$(cat "$shared/seq-before.2")
	outage=$(cat "$shared/seq-outage.2")
	for _ in $(seq 600); do
		seqs=$(node2_seqs)
		(($(jq 'max // 0' <<<"$seqs") >= outage)) && break
		sleep 0.1
	done
	expect_eq "node2's alarms of the outage forwarded" \
		"$(jq --argjson b "$before" --argjson o "$outage" \
			'[.[] | select(. > $b and . <= $o)] | length' <<<"$seqs")" $((outage - before))
	expect_eq "node2's seqs on the server: one range, none missing or twice" \
		"$(jq '.[-1] - .[0] + 1 == length and length == (unique | length)' <<<"$seqs")" true
	expect_eq "node2's seqs reach the outage's first" \
		"$(jq --argjson b "$before" '.[0] <= $b + 1' <<<"$seqs")" true
	srvctl node remove node3 >/dev/null || fail "node remove"
	expect_eq "nodes left" "$(srvctl node list --json | jq '[.nodes[] | select(.name == "node3")] | length')" 0
fi
vm_barrier removed
if ((DSM_NODE == 3)); then
	for _ in $(seq 300); do grep -q "uplink: the server sent ERROR" "$DSM_LOG" && break; sleep 0.1; done
	grep -q "uplink: the server sent ERROR" "$DSM_LOG" || fail "node 3's session was not closed"
	expect_eq "node 3 still enforces" "$(policy_version_is 2 10)" 2
fi
if ((DSM_NODE == SERVER_NODE)); then
	# node 3 tries again (backoff of at most 30 s) and is refused at the handshake
	for _ in $(seq 900); do
		grep -q "conn: $(vm_node_ip 3): handshake refused" "$SERVER_LOG" && break
		sleep 0.1
	done
	grep -q "conn: $(vm_node_ip 3): handshake refused" "$SERVER_LOG" ||
		fail "node 3 was not refused: $(grep "$(vm_node_ip 3)" "$SERVER_LOG" | tail -3)"
	expect_eq "node 3 listed" \
		"$(srvctl node list --json | jq '[.nodes[] | select(.name == "node3")] | length')" 0
fi
vm_barrier done 120
