# nodes: 4
# timeout: 600
# A cluster run from one place. Node 4 runs the Security Server (no dsm);
# nodes 1-3 join it with one-time tokens and take their policy from it.
# No node has a cluster key (dsmd runs without --key-file): what a node
# holds at rest is its own node key and its pair keys K(self, peer), none
# of which lets it speak for another node; the only packet keys are the
# pair keys the server hands out. (The upgrade, a cluster key and pair
# keys together, is net_pair's.)
#   1. cluster init, a token per node; every node enrols and connects; a
#      used token and an expired one are refused and write nothing, and so
#      are another cluster's server (its certificate is of another CA) and
#      a client certificate of another CA at this server; root
#      in a confined label cannot read a node's key. The first pair-key
#      generation, made when the nodes enrolled, is in force on every
#      node (keys status, each node's keys file) before any flow between
#      nodes is looked at: until then a node without a cluster key labels
#      nothing (its packets would be unlabeled: "world", which the test
#      preamble lets reach every test label). From here on the flows
#      between the nodes carry version 3 options.
#   2. before the push a@node1 -> b@node2 is denied by policy version 1
#      (a peer alarm reason policy naming a@node1: its option verified);
#      a policy pushed on the server is enforced on every node: a flow it
#      newly allows (a@node1 -> b@node2) works, one it still denies
#      (c@node1 -> b@node2) does not; cluster status shows every node on
#      the new version, and so do the server's GET /metrics and each
#      node's dsmctl stats; an older version is refused by the server.
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
#   4. a removed node's packets are refused by the others. Before the
#      removal a@node3 -> b@node2 arrives (version 2 allows it).
#      `node remove node3` closes its session and starts a rotation that
#      leaves it out; once that has ended (keys status: no rotation, the
#      generation in force one on, nodes 1 and 2 on it; their keys files
#      hold that generation alone, no key of node 3's), node 3, whose dsmd
#      runs on with the keys it had, sends a@node3 -> b@node2 again: node 2
#      receives none and raises a peer alarm, reason forged (EKEYREJECTED:
#      it holds no key of that generation any more), while a@node1 -> b@node2
#      still arrives. Node 3 tries the server again and is refused at the
#      handshake. Root in dsmd's label on node 3 can do no better: it
#      holds what its dsmd holds, K(3, x) of the dropped generation, so an
#      option it forges with them, whatever label or node it names, is
#      the honest send above, refused the same way (naming another node,
#      a key of another pair: net_pair); a packet with no option is
#      unlabeled, which the policy's unlabeled rules decide, not keys.
#   5. a compromised server (its TLS key stolen: tests/guest/tools/
#      rogue_server, with the real server's identity, in its place) sends
#      nodes 1 and 2 a version 3 signed with another key, a version 3 cut
#      in half and a version 1 signed with the operator's key: each node
#      refuses each (POLICY_ACK: still version 2, and why) with an alarm,
#      and keeps enforcing version 2. The signature a node checks is the
#      operator's it pinned at enrolment, not the channel's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../server.sh"

shared=$DSM_SHARED/server_cluster
server_args=(--fresh-expiry 30 --fresh-interval 5 --key-grace 5s --metrics 127.0.0.1:9100)
# metrics_get PATH: the answer of dsm-server's metrics listener (bash's
# /dev/tcp: no HTTP client in the guest), carriage returns dropped.
metrics_get() {
	local fd line
	exec {fd}<>/dev/tcp/127.0.0.1/9100 || return 1
	printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$1" >&"$fd"
	while IFS= read -r -t 10 -u "$fd" line; do printf '%s\n' "${line%$'\r'}"; done
	exec {fd}>&-
}
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
# The policy every node starts with (version 1) and the one pushed
# (version 2): the same, but 2 lets a@node1 and a@node3 talk to b.
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

join_args=(--server-state "$NODE_STATE") # no --key-file: pair keys only
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
	# Another cluster's CA, both ways: a dsmd that pins this cluster's CA
	# refuses the server of another cluster, and this server refuses a
	# client certificate of another cluster's CA.
	"$DSMCTL" cluster init --state /tmp/other --cluster other --server-name srv >/dev/null ||
		fail "cluster init (another cluster)"
	"$SERVER" --state /tmp/other --listen 127.0.0.1:7811 --control /tmp/other.sock \
		>/tmp/other.log 2>&1 &
	other=$!
	for ((i = 0; i < 300; i++)); do
		vm_file_has /tmp/other.log ': serving, policy version' && [[ -S /tmp/other.sock ]] && break
		sleep 0.1
	done
	token=$("$DSMCTL" --server-socket /tmp/other.sock node add node8 --json | jq -r .token)
	out=$("$DSMD" --policy /tmp/boot.policy --join 127.0.0.1:7811 --token "$token" \
		--ca "$SERVER_STATE/ca.pem" --server-state /tmp/otherca 2>&1)
	rc=$?
	kill "$other"
	wait "$other" 2>/dev/null
	expect_eq "enrolment at another cluster's server: exit" "$rc" 1
	grep -q "enrolment at 127.0.0.1:7811 failed: .*peer certificate" <<<"$out" ||
		fail "another cluster's server: $out"
	[[ -z $(ls -A /tmp/otherca 2>/dev/null) ]] || fail "another cluster's server: wrote $(ls /tmp/otherca)"
	echo | timeout 30 openssl s_client -connect "$SERVER_ADDR" -tls1_3 -CAfile "$SERVER_STATE/ca.pem" \
		-cert /tmp/other/server.pem -key /tmp/other/server.key >/tmp/sclient.out 2>&1
	for ((i = 0; i < 100; i++)); do
		vm_file_has "$SERVER_LOG" "conn: $(vm_node_ip "$SERVER_NODE"): handshake refused: peer certificate" &&
			break
		sleep 0.1
	done
	vm_file_has "$SERVER_LOG" "conn: $(vm_node_ip "$SERVER_NODE"): handshake refused: peer certificate" ||
		fail "a certificate of another CA was not refused: $(tail -3 "$SERVER_LOG")"
	echo "another cluster's CA: refused both ways"
	# Keys per node pair: the first generation, made when the nodes
	# enrolled, is installed on all three and in force, its rotation over
	# (every node in session acknowledged the drop, so the switch before).
	for _ in $(seq 300); do
		ks=$(srvctl keys status --json 2>/dev/null)
		[[ $(jq '.current >= 1 and .rotation == null and
			([.nodes[] | select(.key_generation >= 1)] | length) == 3' <<<"$ks" 2>/dev/null) == true ]] &&
			break
		sleep 0.1
	done
	expect_eq "nodes holding a pair-key generation" \
		"$(jq '[.nodes[] | select(.key_generation >= 1)] | length' <<<"$ks")" 3
	expect_eq "a pair-key generation in force" "$(jq '.current >= 1 and .rotation == null' <<<"$ks")" true
fi
vm_barrier refusals 120
if ((DSM_NODE != SERVER_NODE)); then
	# the pair keys the server sent, persisted and switched to (a node
	# that enrolled after the first switch got it as it said HELLO)
	for _ in $(seq 100); do grep -qE '^send [1-9]' "$NODE_STATE/keys" 2>/dev/null && break; sleep 0.1; done
	grep -qE '^send [1-9]' "$NODE_STATE/keys" ||
		fail "no pair-key generation switched to: $(head -3 "$NODE_STATE/keys" 2>&1)"
	expect_eq "keys file mode" "$(stat -c %a "$NODE_STATE/keys")" 600
fi

# Before the push: a@node1 -> b@node2 is denied (version 1), a policy
# denial of a verified version 3 option.
if ((DSM_NODE == 2)); then
	as b "$PROBE" udp-recv 9500 40 >/tmp/before-a &
	server_ready /tmp/before-a
fi
vm_barrier before-up
((DSM_NODE == 1)) && expect_probe "sent 3" as a "$PROBE" udp-send "$(vm_node_ip 2)" 9500 3
vm_barrier before-sent

if ((DSM_NODE == SERVER_NODE)); then
	cluster_policy /tmp/v2.policy 2 'allow a@node1 b : peer recv; allow a@node3 b : peer recv;'
	out=$(srvctl policy push /tmp/v2.policy --state "$SERVER_STATE") || fail "push: $out"
	expect_eq "push" "$out" "pushed policy 'test' version 2 to 3 nodes"
	expect_eq "nodes on version 2" "$(server_nodes_where '.policy_version == 2' 3)" 3
	# The same from GET /metrics (docs/metrics.md).
	metrics_get /metrics >/tmp/metrics.txt
	expect_eq "GET /metrics" "$(head -1 /tmp/metrics.txt)" "HTTP/1.1 200 OK"
	for want in 'dsm_server_policy_version 2' 'dsm_server_policy_nodes{version="2"} 3' \
		'dsm_server_nodes{state="enrolled"} 3' 'dsm_server_nodes_in_session 3'; do
		grep -qxF "$want" /tmp/metrics.txt ||
			fail "server metrics: no '$want' in: $(grep '^dsm_server_[np]' /tmp/metrics.txt)"
	done
	grep -qE '^dsm_server_key_generation [1-9][0-9]*$' /tmp/metrics.txt ||
		fail "server metrics: $(grep '^dsm_server_key_gen' /tmp/metrics.txt)"
	expect_eq "GET /nothing" "$(metrics_get /nothing | head -1)" "HTTP/1.1 404 Not Found"
	srvctl keys status
	srvctl cluster status
	cluster_policy /tmp/v1.policy 1 'allow a@node1 b : peer recv; allow c@node1 b : peer recv;'
	srvctl policy push /tmp/v1.policy --state "$SERVER_STATE" 2>/tmp/old.err &&
		fail "an older version was pushed"
	grep -q "rollback" /tmp/old.err || fail "older version: $(cat /tmp/old.err)"
else
	expect_eq "policy version after the push" "$(policy_version_is 2)" 2
	# dsmctl stats: the version, the session, the pair keys held
	"$DSMCTL" stats --prometheus >/tmp/stats.prom || fail "dsmctl stats --prometheus"
	for want in 'dsm_policy_version 2' 'dsm_uplink_connected 1' 'dsm_up 1'; do
		grep -qxF "$want" /tmp/stats.prom || fail "dsmctl stats: no '$want'"
	done
	grep -qE '^dsm_key_generation [1-9][0-9]*$' /tmp/stats.prom ||
		fail "dsmctl stats: $(grep '^dsm_key_gen' /tmp/stats.prom)"
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
	alarm_expect subject=a subject_node=node1 target=b class=peer verdict=deny reason=policy
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
# The control of step 4, while the server looks at what node 2 forwarded:
# before the removal, a@node3 -> b@node2 arrives (version 2 allows it).
if ((DSM_NODE == 2)); then
	as b "$PROBE" udp-recv 9520 30 3 >/tmp/rm-before &
	server_ready /tmp/rm-before
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
fi
vm_barrier rm-before-up 120
((DSM_NODE == 3)) && expect_probe "sent 3" as a "$PROBE" udp-send "$(vm_node_ip 2)" 9520 3
vm_barrier rm-before-sent
if ((DSM_NODE == 2)); then
	for _ in $(seq 300); do grep -q '^received' /tmp/rm-before && break; sleep 0.1; done
	expect_eq "a@node3 -> b before the removal" "$(tail -1 /tmp/rm-before)" "received 3"
fi
if ((DSM_NODE == SERVER_NODE)); then
	ks=$(keys_json)
	expect_eq "no rotation before the removal" "$(jq .rotation <<<"$ks")" null
	jq .current <<<"$ks" >"$shared/rm-gen0"
	gen0=$(cat "$shared/rm-gen0")
fi
vm_barrier rm-before-checked 60

# The removal: node 3's session closed, and a rotation that leaves it out.
if ((DSM_NODE == SERVER_NODE)); then
	srvctl node remove node3 >/dev/null || fail "node remove"
	expect_eq "nodes left" "$(srvctl node list --json | jq '[.nodes[] | select(.name == "node3")] | length')" 0
	# install and switch on nodes 1 and 2 alone, the grace (--key-grace
	# 5s), the drop: the rotation ends and its older generation is gone
	for _ in $(seq 600); do
		ks=$(keys_json)
		[[ $(jq --argjson g $((gen0 + 1)) '.rotation == null and .current == $g' <<<"$ks" 2>/dev/null) == true ]] &&
			break
		sleep 0.1
	done
	srvctl keys status
	expect_eq "the removal's rotation: over" "$(jq .rotation <<<"$ks")" null
	expect_eq "the removal's rotation: generation in force" "$(jq .current <<<"$ks")" $((gen0 + 1))
	expect_eq "the removal's rotation: nodes" \
		"$(jq -r '[.nodes[] | select(.key_generation == '$((gen0 + 1))') | .name] | sort | join(",")' \
			<<<"$ks")" node1,node2
	grep -q "keys: rotation to generation $((gen0 + 1)) started (node node3 removed)" "$SERVER_LOG" ||
		fail "no rotation for the removal: $(grep 'keys:' "$SERVER_LOG" | tail -3)"
fi
if ((DSM_NODE == 3)); then
	for _ in $(seq 300); do grep -q "uplink: the server sent ERROR" "$DSM_LOG" && break; sleep 0.1; done
	grep -q "uplink: the server sent ERROR" "$DSM_LOG" || fail "node 3's session was not closed"
	expect_eq "node 3 still enforces" "$(policy_version_is 2 10)" 2
fi
vm_barrier rm-rotated 120
gen0=$(cat "$shared/rm-gen0")
if ((DSM_NODE == 1 || DSM_NODE == 2)); then
	# the old generation dropped here too: the new one alone, no key of node 3
	expect_eq "node $DSM_NODE sends with the removal's generation" "$(send_gen)" $((gen0 + 1))
	expect_eq "node $DSM_NODE's generations held" "$(grep '^gen ' "$NODE_STATE/keys" | tr '\n' ,)" \
		"gen $((gen0 + 1)),"
	expect_eq "node $DSM_NODE's keys of node 3" "$(grep -c '^key 3 ' "$NODE_STATE/keys")" 0
fi
# node 3's dsmd runs on with what it had: it still sends with the old one
((DSM_NODE == 3)) && expect_eq "node 3 sends with the dropped generation" "$(send_gen)" "$gen0"
forged=(subject=a subject_node=node3 target=b class=peer verdict=deny reason=forged errno=129)
if ((DSM_NODE == 2)); then
	as b "$PROBE" udp-recv 9522 30 3 >/tmp/rm-after-1 &
	server_ready /tmp/rm-after-1
	as b "$PROBE" udp-recv 9521 10 >/tmp/rm-after-3 &
	server_ready /tmp/rm-after-3
	alarm_count "${forged[@]}" >/tmp/rm-forged-before
fi
vm_barrier rm-after-up 60
((DSM_NODE == 1)) && expect_probe "sent 3" as a "$PROBE" udp-send "$(vm_node_ip 2)" 9522 3
((DSM_NODE == 3)) && expect_probe "sent 3" as a "$PROBE" udp-send "$(vm_node_ip 2)" 9521 3
vm_barrier rm-after-sent
if ((DSM_NODE == 2)); then
	for _ in $(seq 300); do grep -q '^received' /tmp/rm-after-1 && break; sleep 0.1; done
	expect_eq "a@node1 -> b after the removal's rotation" "$(tail -1 /tmp/rm-after-1)" "received 3"
	# node 3's datagrams arrive and are refused: no key of their generation
	for _ in $(seq 100); do
		(($(alarm_count "${forged[@]}") > $(cat /tmp/rm-forged-before))) && break
		sleep 0.1
	done
	(($(alarm_count "${forged[@]}") > $(cat /tmp/rm-forged-before))) || {
		alarm_stream | tail -5 >&2
		fail "no alarm with ${forged[*]}"
	}
	for _ in $(seq 150); do grep -q '^received' /tmp/rm-after-3 && break; sleep 0.1; done
	expect_eq "a@node3 -> b after the removal's rotation" "$(tail -1 /tmp/rm-after-3)" "received 0"
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
vm_barrier removal-checked 120

# 5. A compromised server. Node 3 is gone for good (else it would take one
# of the rogue's two sessions).
((DSM_NODE == 3)) && dsm_stop
rogue_reasons=("signed by another key" "malformed signed bundle"
	"rollback: version not newer than the one in force")
if ((DSM_NODE == SERVER_NODE)); then
	cluster_policy /tmp/v3.policy 3 'allow a@node1 b : peer recv;'
	cluster_policy /tmp/v1.policy 1 'allow a@node1 b : peer recv;'
	"$DSMCTL" policy sign /tmp/v3.policy --key /tmp/other/operator.key --cluster test \
		-o /tmp/rogue-key.signed >/dev/null || fail "sign with another key"
	"$DSMCTL" policy sign /tmp/v3.policy --key "$SERVER_STATE/operator.key" --cluster test \
		-o /tmp/v3.signed >/dev/null || fail "sign version 3"
	head -c $(($(stat -c %s /tmp/v3.signed) / 2)) /tmp/v3.signed >/tmp/rogue-cut.signed
	"$DSMCTL" policy sign /tmp/v1.policy --key "$SERVER_STATE/operator.key" --cluster test \
		-o /tmp/rogue-old.signed >/dev/null || fail "sign version 1"
	server_stop
	"$build/tests/guest/tools/rogue_server" "$SERVER_STATE" "$(vm_node_ip "$SERVER_NODE")" 7800 2 \
		/tmp/rogue-key.signed /tmp/rogue-cut.signed /tmp/rogue-old.signed >/tmp/rogue.out 2>&1 &
	rogue=$!
	wait "$rogue"
	cat /tmp/rogue.out
	for n in node1 node2; do
		expect_eq "$n: a version 3 signed with another key" \
			"$(sed -n "s/^$n ack \([0-9]*\) [0-9]* //p" /tmp/rogue.out | sed -n 1p)" \
			"${rogue_reasons[0]}"
		expect_eq "$n: a version 3 cut in half" \
			"$(sed -n "s/^$n ack \([0-9]*\) [0-9]* //p" /tmp/rogue.out | sed -n 2p)" \
			"${rogue_reasons[1]}"
		expect_eq "$n: a version 1" \
			"$(sed -n "s/^$n ack \([0-9]*\) [0-9]* //p" /tmp/rogue.out | sed -n 3p)" \
			"${rogue_reasons[2]}"
		expect_eq "$n: the version it enforces, each time" \
			"$(sed -n "s/^$n ack \([0-9]*\) .*/\1/p" /tmp/rogue.out | sort -u)" 2
		grep -q "^$n done$" /tmp/rogue.out || fail "$n: the rogue's session did not end"
	done
fi
vm_barrier rogue-served 180
if ((DSM_NODE == 1 || DSM_NODE == 2)); then
	for r in "${rogue_reasons[@]}"; do
		alarm_expect class=dsm verdict=deny reason="policy from the server refused: $r"
	done
	expect_eq "policy version after the rogue's bundles" "$(policy_version_is 2 10)" 2
fi
vm_barrier done 120
