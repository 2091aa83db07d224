# nodes: 1
# Attack 7c (second half), the pending-connection map dsm_conn_peers.
#
# A listener's SYN check stores the peer in an LRU hash keyed by the
# network namespace and the connection's addresses and ports;
# inet_csk_clone looks it up for the accepted socket and deletes it. An
# accepted socket whose entry is missing is marked PEER_UNKNOWN: every
# segment it receives is denied (fail closed) and the loss is counted
# (connections_lost), so a lost entry can cost the connection, never bind
# it to another label or let the unlabeled rules judge it.
#   (1) a connection with the same 4-tuple in another network namespace
#       (confined root makes one: unshare, CLONE_NEWNET) has an entry of
#       its own: a's connection keeps a's peer.
#   (2) a SYN flood that passes the check at any open listener fills the
#       map (65536 entries) and evicts another listener's pending peer:
#       that connection is denied and counted. s hears the world too, so a
#       connection judged by the unlabeled rules would go through: it
#       does not.
# The final ACK of a victim is delayed with netem on lo so that the race is
# deterministic (a slow path does the same). The qdiscs, lo in c's
# namespace and netdev_max_backlog are the test runner's: c may change
# none of them (system net, kernel tunables).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

guest_modprobe sch_prio cls_u32 || fail "tc modules"
trap 'DSM_TEST_FAILED=$?; tc qdisc del dev lo root 2>/dev/null; dsm_cleanup' EXIT
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
label s = 72;
allow unconfined s : process transition;
allow a@node1 s : peer recv;
allow world@any s : peer recv;
allow s@node1 a : peer recv;
allow c@node1 b : peer recv;
allow b@node1 c : peer recv;
allow { a b c s } self : socket inet stream { create bind listen connect accept send recv };
allow { b c s } self : socket unix stream { create connect send recv };  # getpeerlabel
allow s@any dsmd : peer recv;   # s's getpeerlabel: a unix connect to dsmd,
allow s dsmd : dsm peerlabel;   # then a class dsm request
allow c self : socket inet raw { create send };
allow c self : socket netlink { create bind connect send recv };
allow c self : process fork;
allow c unconfined : file exec;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

# Every segment with ACK set to port 9870 waits 4 s on lo, to 9871 and
# 9873 45 s; SYNs and everything else go at once.
tc qdisc add dev lo root handle 1: prio bands 4 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 ||
	fail "prio"
tc qdisc add dev lo parent 1:3 handle 30: netem delay 4s
tc qdisc add dev lo parent 1:4 handle 40: netem delay 45s
for p in 9870:3 9871:4 9873:4; do
	tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport "${p%:*}" 0xffff \
		match u8 0x10 0x10 at 33 flowid "1:${p#*:}" || fail "u32 filter"
done
peer_of() { grep -m1 '^peer' "$1" 2>/dev/null || echo "peer (none printed)"; }
lost() { "$DSMCTL" status --json | jq .counters.connections_lost; }

# Control: a's connection with the final ACK 45 s late, alone, is bound.
# (Runs while (1) does; (2) waits for it.)
as s "$PROBE" tcp-accept 9871 60 >/tmp/srv.9871 &
wait_ready /tmp/srv.9871 || fail "server 9871"
as a "$PROBE" connect-late 127.0.0.1 9871 45001 0 >/dev/null 2>&1 &

# ---- (1) the same 4-tuple in another network namespace -----------------

ns=$(netns_spawn c 120) || fail "no namespace for c"
[[ $(readlink /proc/$ns/ns/net) != $(readlink /proc/self/ns/net) ]] || fail "not a new namespace"
nsenter -t "$ns" -n ip link set lo up || fail "attacker's namespace"
as c nsenter -t "$ns" -n "$PROBE" tcp-accept 9870 20 >/tmp/srv.ns &
wait_ready /tmp/srv.ns || fail "attacker's server"
as s "$PROBE" tcp-accept 9870 20 >/tmp/srv.9870 &
wait_ready /tmp/srv.9870 || fail "server 9870"
as a "$PROBE" connect-late 127.0.0.1 9870 45000 0 >/dev/null 2>&1 &
sleep 1
as c nsenter -t "$ns" -n "$PROBE" connect-late 127.0.0.1 9870 45000 0 >/dev/null 2>&1
echo "attacker's own server (in its namespace): $(tail -1 /tmp/srv.ns), $(peer_of /tmp/srv.ns)"
got=$(wait_done /tmp/srv.9870 '^(accepted|accept timeout)' 300)
attack "7c same 4-tuple in c's namespace takes a's pending peer: s gets no data" blocked \
	"$got" "accepted "
control "s's accepted socket" "$(peer_of /tmp/srv.9870)" "peer a@node1 bound"

control "a -> s with a 45 s final ACK, alone" \
	"$(wait_done /tmp/srv.9871 '^(accepted|accept timeout)' 900)" "accepted x"
control "its peer" "$(peer_of /tmp/srv.9871)" "peer a@node1 bound"

# ---- (2) a SYN flood against another listener evicts the pending peer --
as b "$PROBE" tcp-accept 9872 60 >/tmp/srv.9872 &
wait_ready /tmp/srv.9872 || fail "server 9872"
as s "$PROBE" tcp-accept 9873 60 >/tmp/srv.9873 &
wait_ready /tmp/srv.9873 || fail "server 9873"
as a "$PROBE" connect-late 127.0.0.1 9873 45002 0 >/dev/null 2>&1 &
sleep 1
# lo's receive backlog would drop most of a fast flood before any socket
# (netdev_max_backlog 1000).
backlog=$(sysctl -n net.core.netdev_max_backlog)
sysctl -qw net.core.netdev_max_backlog=200000
lost0=$(lost)
start=$(date +%s)
as c "$PKT" synflood 127.0.0.2 127.0.0.1 9872 90000 | tail -1
echo "flood took $(($(date +%s) - start)) s (the victim's ACK waits 45 s)"
got=$(wait_done /tmp/srv.9873 '^(accepted|accept timeout)' 1300)
echo "s's accepted socket: $(peer_of /tmp/srv.9873), $got"
control "the flood evicts a's pending peer: the connection is lost (counted)" \
	"$(( $(lost) > lost0 ))" 1
alarm_expect subject_id=0 target=s class=peer verdict=deny
attack "7c SYN flood on b's open listener: a's connection judged by the unlabeled rules" \
	blocked "$got" "accepted x"
attack "7c SYN flood on b's open listener: a's connection bound to another label" \
	blocked "$(peer_of /tmp/srv.9873)" "peer c@node1 bound"
sysctl -qw net.core.netdev_max_backlog="$backlog"
tc qdisc del dev lo root
