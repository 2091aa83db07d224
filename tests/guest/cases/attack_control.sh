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
# service that dropped root cannot ask for getpeerlabel at all.
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

echo "--- silent clients: 5 connections that send nothing"
as a "$ACTL" silent 5 15 >/tmp/silent.out 2>&1 &
silent=$!
sleep 0.5
t0=$(now)
st=$("$DSMCTL" status --json 2>&1)
echo "operator's dsmctl status after $(elapsed "$t0") s: $(head -c 120 <<<"$st")"
jq -e .pid <<<"$st" >/dev/null 2>&1 || hole "5 silent connections time the operator's dsmctl out (10 s)"
kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null
sleep 4

echo "--- a drip client: one byte a second for 40 s"
alarms0=$(alarm_count subject=b perm=fork)
e0=$(epoch)
as a "$ACTL" drip 40 >/tmp/drip.out 2>&1 &
drip=$!
sleep 2
t0=$(now)
expect_probe "fork EACCES" /tmp/probe-b fork       # an alarm, raised while dsmd is held
st=$("$DSMCTL" status --json 2>&1)
echo "operator's dsmctl status after $(elapsed "$t0") s: $(head -c 120 <<<"$st")"
jq -e .pid <<<"$st" >/dev/null 2>&1 || hole "the operator's dsmctl times out while a drips"
sleep 10
n=$(alarm_count subject=b perm=fork)
echo "fork alarms in the log ~20 s after the denial: $n (before: $alarms0)"
((n == alarms0)) && hole "alarms are not drained while a drips"
e1=$(epoch)
echo "epoch in dsm_net_config: $e0 at the start, $e1 ~22 s later (2 s epochs, window 1); wall clock epoch $(($(date +%s) / 2))"
[[ -n $e0 && $e0 == "$e1" ]] && hole "the epoch stood still while a drips (labeled traffic goes stale after 2 epochs)"
wait "$drip"
cat /tmp/drip.out
for _ in $(seq 100); do (($(alarm_count subject=b perm=fork) > alarms0)) && break; sleep 0.1; done
echo "after the drip: fork alarms $(alarm_count subject=b perm=fork), epoch $(epoch)"

echo "RESULT: $holes control-socket attack step(s) succeeded as confined root"
((holes >= 7)) || fail "expected every attack to succeed (the hole)"
