# nodes: 1
# Bug (item: a TCP listener older than dsmd). A listener made before dsmd
# starts has no socket storage (socket_post_create never ran for it). Were
# it left so, a connection accepted on it after dsmd started would get a
# context cloned from nothing (label 0, which no rule names) and fail
# recv and send with EACCES: starting dsm would break running services.
# dsmd's start-up labeling in the kernel (bpf/label_iter.bpf.h,
# iter/task_file) gives every socket a process holds its holder's label,
# so both listeners made before dsmd (one in the initial label, one that
# dsmd labels b) serve as a listener made after dsmd does, with no alarm.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

AL=$build/tests/guest/tools/attack_listen
cp "$AL" /tmp/listen-b
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/listen-b : probe_exec;
transition unconfined probe_exec -> b;
allow b self : socket inet stream *;
EOF2
wait_listen() { for _ in $(seq 50); do grep -q '^listening' "$1" && return 0; sleep 0.1; done; fail "no listener: $(cat "$1")"; }
wait_done() { for _ in $(seq 100); do grep -qE '^send|EACCES|Permission' "$1" && return 0; sleep 0.1; done; return 1; }

# Before dsmd: one listener in the initial label, one that dsmd will label b.
"$AL" 7701 >/tmp/l1.out 2>&1 &
/tmp/listen-b 7702 >/tmp/l2.out 2>&1 &
l2=$!
wait_listen /tmp/l1.out
wait_listen /tmp/l2.out

dsm_start /tmp/p.policy
expect_eq "label of the b listener" "$(label_of "$l2")" b

echo "--- part 1: a listener made after dsmd serves"
"$AL" 7703 >/tmp/l3.out 2>&1 &
wait_listen /tmp/l3.out
timeout 15 "$PROBE" connect 127.0.0.1 7703
wait_done /tmp/l3.out
cat /tmp/l3.out
expect_eq "listener made after dsmd" "$(tail -1 /tmp/l3.out)" "send OK"

echo "--- part 2: listeners made before dsmd serve as well"
for port in 7701 7702; do
	n=$((port - 7700))
	timeout 15 "$PROBE" connect 127.0.0.1 $port
	wait_done /tmp/l$n.out
	echo "listener on $port (made before dsmd):"
	sed 's/^/  /' /tmp/l$n.out
	expect_eq "listener on $port made before dsmd" "$(tail -1 /tmp/l$n.out)" "send OK"
done
grep -q 'label: first pass in the kernel' "$DSM_LOG" || fail "dsmd did not label in the kernel"
expect_eq "socket and peer alarms" \
	"$(jq -c 'select(.class == "socket" or .class == "peer")' "$DSM_ALARMS" 2>/dev/null | wc -l)" 0
echo "RESULT: listeners made before dsmd serve"
