# nodes: 1
# Attack (item: control socket). dsmd's control socket (dsmd/control.c)
# authorizes nobody by label: any root that can connect may ask `reload`,
# `exec-label` (for itself) and `ps`. It serves one client at a time on a
# blocking accepted socket with a 2 s receive timeout per recvmsg and reads
# up to 510 bytes for a line, from the same loop that drains alarms and
# advances the epoch (dsmd/main.c serve): a client that sends nothing costs
# 2 s per connection, one that sends a byte a second holds dsmd up to
# 510 s per connection. While it is held, alarms are not written, other
# clients time out and the epoch stands still. The socket is 0600: a
# service that dropped root cannot ask for getpeerlabel at all. And dsmd
# answers with write(2) on a socket whose client may have gone, without
# ignoring SIGPIPE: a client that closes before the answer (dsmctl after
# its 10 s timeout, too) kills dsmd.
#
# EXPECTS THE HOLES: this test passes while the attacks succeed. When the
# control socket checks class `dsm` permissions and serves clients without
# blocking, flip the expectations.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

ACTL=$build/tests/guest/tools/attack_ctl
holes=0
hole() { echo "ATTACK $1: SUCCEEDED (hole)"; holes=$((holes + 1)); }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
epoch() { bpftool -j map dump pinned /sys/fs/bpf/dsm/maps/dsm_net_config | jq '.[0].formatted.value.epoch'; }

cp "$PROBE" /tmp/probe-b
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/probe-b : probe_exec;
transition unconfined probe_exec -> b;
allow a unconfined : file exec;
allow a self : socket unix stream *;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key --epoch-seconds 2 --epoch-window 1

echo "--- part 1: unconfined (the operator) asks dsmd"
"$ACTL" send status | tail -1 | grep -q 'send OK' || fail "unconfined cannot talk to dsmd"

echo "--- part 2: confined root (label a) asks dsmd for what only an admin should"
out=$(as a "$ACTL" send reload)
echo "a: reload: $out"
grep -q '"ok":true' <<<"$out" && hole "a made dsmd reload its policy"
out=$(as a "$ACTL" send "exec-label dsmd")
echo "a: exec-label dsmd: $out"
grep -q '"ok":true' <<<"$out" && hole "dsmd accepted a's exec-label request for dsmd (the kernel checks only at exec)"
out=$(as a "$ACTL" send ps)
grep -q '"processes"' <<<"$out" && hole "a lists every process and its label (ps)"

echo "--- a service that dropped root (uid nobody) and wants getpeerlabel"
out=$("$ACTL" nobody "peerlabel" 2>&1 | tail -1)
echo "nobody: $out"
[[ $out == "connect EACCES" ]] || fail "nobody: got '$out', want 'connect EACCES' (the socket is 0600)"
echo "CONFIRMED: a non-root service cannot reach getpeerlabel (socket mode 0600)"

# The operator's check while dsmd is held: a client that waits as long as
# it takes (dsmctl gives up after 10 s, and its closed socket is itself an
# attack: see the end).
latency() { # latency: seconds until dsmd answers "status"
	local t0
	t0=$(now)
	"$ACTL" send status >/dev/null
	elapsed "$t0"
}

echo "--- silent clients: 8 connections that send nothing"
"$DSMCTL" exec --label a -- "$ACTL" silent 8 25 >/tmp/silent.out 2>&1 &
silent=$!
sleep 0.5
l=$(latency)
echo "dsmd answered the operator after $l s"
awk -v l="$l" 'BEGIN { exit !(l > 12) }' && hole "8 silent connections held dsmd for $l s (2 s each)"
kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null

echo "--- a drip client: one byte a second for 30 s"
alarms0=$(alarm_count subject=b perm=fork)
"$DSMCTL" exec --label a -- "$ACTL" drip 30 >/tmp/drip.out 2>&1 &
drip=$!
sleep 2
latency >/tmp/latency.out &
lat=$!
expect_probe "fork EACCES" /tmp/probe-b fork       # an alarm, raised while dsmd is held
sleep 15
n=$(alarm_count subject=b perm=fork)
echo "fork alarms in the log 15 s after the denial: $n (before: $alarms0)"
((n == alarms0)) && hole "alarms are not drained while a drips"
e=$(epoch) w=$(($(date +%s) / 2))
echo "epoch in dsm_net_config: $e; wall clock epoch: $w (2 s epochs, window 1)"
((w - e > 1)) && hole "the epoch fell $((w - e)) epochs behind while a drips (outside the window: labeled traffic is stale)"
wait "$drip"
cat /tmp/drip.out
wait "$lat"
echo "dsmd answered the operator's request (sent 2 s into the drip) after $(cat /tmp/latency.out) s"
awk -v l="$(cat /tmp/latency.out)" 'BEGIN { exit !(l > 20) }' && hole "a drip client held dsmd for the whole drip"
for _ in $(seq 100); do (($(alarm_count subject=b perm=fork) > alarms0)) && break; sleep 0.1; done
echo "after the drip: fork alarms $(alarm_count subject=b perm=fork), epoch $(epoch)"

echo "--- a client that closes before dsmd answers"
expect_probe "sigpipe OK" as a "$ACTL" sigpipe
wait "$DSMD_PID"
rc=$?
echo "dsmd exit status: $rc"
((rc == 141)) && hole "dsmd died of SIGPIPE (write to a closed client; SIGPIPE not ignored)"
DSMD_PID=

echo "RESULT: $holes control-socket attack step(s) succeeded as confined root"
((holes >= 8)) || fail "expected every attack to succeed (the hole)"
