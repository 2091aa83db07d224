# nodes: 3
# Liveness: the epoch is computed in BPF (CLOCK_TAI and dsmd's offset), so
# a stopped dsmd neither freezes its node's labels (they would go stale at
# the peers) nor keeps captured options valid. Nodes 1 and 2 run dsm with
# 3 s epochs and a window of 2; node 3 runs none and has no key.
#   1. a@node1 sends to b@node2; node 1 captures one of its datagrams (the
#      option included) and node 3 replays it at once: accepted, within the
#      window (the documented replay, docs/wire.md).
#   2. dsmd is stopped (SIGSTOP) on nodes 1 and 2 for 25 s, well past the
#      window. Meanwhile a@node1 sends again: the option carries a newer
#      epoch and node 2 verifies it; node 3 replays the old capture: node 2
#      drops it as stale.
#   3. dsmd continues and reports, from the ring buffer, the stale replay.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
dsm_keyfile /tmp/cluster.key 1
cp "$PROBE" /tmp/probe-a
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
file /tmp/probe-a : probe_exec;
transition unconfined probe_exec -> a;
allow a@node1 b : peer recv;
allow a self : socket inet dgram { create send };
allow b self : socket inet dgram { create bind recv };
EOF2
# A stopped dsmd must not be left so: SIGTERM would wait for SIGCONT.
eval "set -- $(trap -p EXIT)"
trap -- "liveness_rc=\$?; [[ -n \${DSMD_PID:-} ]] && kill -CONT \"\$DSMD_PID\" 2>/dev/null; (exit \$liveness_rc); ${3:-}" EXIT
set --
# Guest clocks drift apart by seconds under emulation; epochs compare
# clocks across nodes, so set nodes 2 and 3 to node 1's first (to within
# the shared directory's latency).
vm_barrier clock-sync
if ((DSM_NODE == 1)); then
	date +%s.%N >"$DSM_SHARED/clock.tmp" && mv "$DSM_SHARED/clock.tmp" "$DSM_SHARED/clock"
else
	for _ in $(seq 100); do [[ -s $DSM_SHARED/clock ]] && break; sleep 0.05; done
	date -s "@$(cat "$DSM_SHARED/clock")" >/dev/null || fail "cannot set the clock"
fi
vm_barrier clock-set
((DSM_NODE == 3)) || dsm_start /tmp/p.policy --key-file /tmp/cluster.key --epoch-seconds 3 --epoch-window 2
vm_barrier dsm-up
date +%s.%N >"$DSM_SHARED/clock.$DSM_NODE"
vm_barrier clocks
((DSM_NODE == 1)) && echo "clocks: node 1 $(cat "$DSM_SHARED/clock.1"), node 2 $(cat "$DSM_SHARED/clock.2"), node 3 $(cat "$DSM_SHARED/clock.3")"

# 9910 a's datagrams before the stop (captured), 9911 node 3's replay then,
# 9912 a's datagrams during the stop (captured again), 9913 node 3's
# replay of the old capture during the stop
if ((DSM_NODE == 2)); then
	for p in 9910 9911 9912 9913; do
		as b "$PROBE" udp-recv "$p" 75 >"/tmp/srv.$p" &
		wait_ready "/tmp/srv.$p" || fail "server $p"
	done
fi
vm_barrier servers-up 180

if ((DSM_NODE == 1)); then
	"$PKT" capture eth0 9910 30 /tmp/cap >/tmp/capture 2>&1 &
	cap=$!
	wait_ready /tmp/capture || fail "capture: $(cat /tmp/capture)"
	expect_probe "sent 3" /tmp/probe-a udp-send "$server" 9910 3
	wait "$cap" || fail "capture: $(cat /tmp/capture)"
	cat /tmp/capture
	cp /tmp/cap "$DSM_SHARED/cap"
	sed -n 's/.*epoch \([0-9]*\)$/\1/p' /tmp/capture >"$DSM_SHARED/epoch-before"
fi
vm_barrier captured 120
if ((DSM_NODE == 3)); then
	"$PKT" replay "$DSM_SHARED/cap" rawip 9911 3 | tail -1
fi
vm_barrier replayed-before 120

if ((DSM_NODE != 3)); then
	kill -STOP "$DSMD_PID"
	grep -q '^State:.*T (stopped)' "/proc/$DSMD_PID/status" || fail "dsmd did not stop"
	echo "dsmd $DSMD_PID stopped at $(date +%T)"
fi
vm_barrier stopped 120
sleep 25
if ((DSM_NODE == 1)); then
	"$PKT" capture eth0 9912 30 /tmp/cap2 >/tmp/capture2 2>&1 &
	cap=$!
	wait_ready /tmp/capture2 || fail "capture: $(cat /tmp/capture2)"
	expect_probe "sent 3" /tmp/probe-a udp-send "$server" 9912 3
	wait "$cap" || fail "capture: $(cat /tmp/capture2)"
	cat /tmp/capture2
	before=$(cat "$DSM_SHARED/epoch-before")
	after=$(sed -n 's/.*epoch \([0-9]*\)$/\1/p' /tmp/capture2)
	echo "epoch in a's option: $before before the stop, $after during it"
	((after - before > 2)) || fail "the epoch did not advance past the window while dsmd was stopped"
fi
if ((DSM_NODE == 3)); then
	"$PKT" replay "$DSM_SHARED/cap" rawip 9913 3 | tail -1
fi
vm_barrier sent-while-stopped 180

if ((DSM_NODE == 2)); then
	got() { wait_done "/tmp/srv.$1" '^received' 1300; }
	grep -q '^State:.*T (stopped)' "/proc/$DSMD_PID/status" || fail "dsmd is not stopped"
	# The servers count until they end; their counts are final then.
	expect_eq "a@node1 before the stop" "$(got 9910)" "received 3"
	expect_eq "node 3 replays within the window" "$(got 9911)" "received 3"
	expect_eq "a@node1 while dsmd is stopped" "$(got 9912)" "received 3"
	expect_eq "node 3 replays after the window, dsmd stopped" "$(got 9913)" "received 0"
fi
if ((DSM_NODE != 3)); then
	kill -CONT "$DSMD_PID"
	echo "dsmd continued at $(date +%T)"
fi
if ((DSM_NODE == 2)); then
	alarm_expect subject=a subject_node=node1 target=b class=peer verdict=deny reason=stale errno=116
fi
vm_barrier checked 120
