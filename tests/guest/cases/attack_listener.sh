# nodes: 1
# Attack/bug (item: a TCP listener older than dsmd). A listener made
# before dsmd starts has no socket storage (socket_post_create never ran
# for it). A connection to it after dsmd starts:
#   - the SYN is checked at socket_sock_rcv_skb with the policy's initial
#     label as the target (bpf/peer.h: no context -> DSM_CFG_INITIAL_LABEL),
#     even when the listening process has another label;
#   - inet_csk_clone then creates the child's context from nothing
#     (bpf_sk_storage_get with F_CREATE: no listener storage to clone, so
#     label 0) and binds the peer;
#   - accept() is checked on the listener (socket_accept: no context, so
#     the target is the caller's own label) and passes;
#   - every later operation on the accepted socket is checked against its
#     label 0, which no rule names: recv and send fail with EACCES.
# So services running when dsm starts stop serving new connections.
#
# EXPECTS THE BUG: this test passes while a pre-existing listener's
# connections fail after accept, and prints where. A listener made after
# dsmd (part 1) serves normally.
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

echo "--- part 2: listeners made before dsmd"
bug=0
for port in 7701 7702; do
	n=$((port - 7700))
	timeout 15 "$PROBE" connect 127.0.0.1 $port
	wait_done /tmp/l$n.out
	echo "listener on $port (made before dsmd):"
	sed 's/^/  /' /tmp/l$n.out
	if [[ $(tail -1 /tmp/l$n.out) != "send OK" ]]; then
		echo "BUG: the connection to $port was not served: $(grep -v '^listening' /tmp/l$n.out | grep -v OK | head -1)"
		bug=$((bug + 1))
	fi
done
echo "alarms:"
jq -c 'select(.class == "socket" or .class == "peer")' "$DSM_ALARMS" 2>/dev/null
echo "RESULT: $bug of 2 listeners made before dsmd failed to serve"
((bug == 2)) || fail "expected both pre-existing listeners to fail (the bug this test documents)"
