# nodes: 1
# Attack 7b, the same-node label in the skb.
#
# On lo, dsm_egress writes the sending socket's label into skb->priority
# and that label's tag into skb->hash (dsm/wire.h); the receive check takes
# a lo packet as label@this node only when the hash is the tag of the label
# in the priority. Whatever runs after the clsact egress program and before
# socket_sock_rcv_skb may rewrite the priority: lo's root qdisc and its
# filters, lo's ingress, netfilter (nft "meta priority set"). tc actions
# that write skb->priority: skbedit, ife; skb->hash: none (only BPF, the bpf
# permission). The rewrite no longer relabels: the hash is still the tag
# of the sender's label, so a packet whose priority names another label is
# nobody's, and the unlabeled rules decide it (here: world, which d does
# not hear).
#
# c may not reach d; a@node1 may. The rewrites are the test runner's (they
# are system net now, which c lacks: c's own attempt is denied with an
# alarm); c only sends.
#   (1) lo's root qdisc: prio with a matchall filter, skbedit priority 10
#   (2) lo's ingress: the same on the receive side
#   (3) TCP: a u32 filter on d's port at ingress; c connects
# Then IPv6 over lo: the egress program tags it as it tags IPv4 (the receive
# check of AF_INET6 sockets reads it).
# Last, confined root tries to delete dsm's egress filter from lo, or its
# clsact qdisc: denied (system net), the filter stays, a -> d stays labeled.
# Where dsm does not stand in the way (c permissive), the deletion works
# and same-node traffic leaves unlabeled: a -> d is then the world's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

# tc would have the kernel load these on demand; the guest's module
# autoloader has no module tree, so load them first.
guest_modprobe sch_prio cls_matchall cls_u32 act_skbedit || fail "tc modules"
trap 'DSM_TEST_FAILED=$?; tc qdisc del dev lo root 2>/dev/null;
	tc filter del dev lo ingress 2>/dev/null; dsm_cleanup' EXIT
dsm_keyfile /tmp/cluster.key 1
rules() {
	cat <<-'EOF2'
	node node1 = 1;
	label d = 71;
	allow unconfined d : process transition;
	allow a@node1 d : peer recv;
	allow d@node1 { a c } : peer recv;
	allow { a c d } self : socket inet { create bind listen connect accept send recv };
	allow { a c d } self : socket inet6 { create bind listen connect accept send recv };
	allow d self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
	allow c self : socket netlink { create bind connect send recv }; # tc
	allow c self : process fork;
	allow c unconfined : file exec;
	EOF2
}
rules | dsm_policy /tmp/p.policy
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

udp_to_d() { # udp_to_d PORT [PRIORITY [SENDER]]: 3 datagrams to d, how many arrived
	as d "$PROBE" udp-recv "$1" 4 >"/tmp/srv.$1" &
	wait_ready "/tmp/srv.$1" || fail "server $1"
	as "${3:-c}" "$SOCKT" udp-send inet 127.0.0.1 "$1" 3 ${2:-} >/dev/null 2>&1
	wait_done "/tmp/srv.$1" '^received' 100
}
# The packets a tc filter's action handled (matchall/u32 statistics).
tc_hits() { tc -s filter show dev lo "$@" | awk '/Sent .* pkt/ { n += $4 } END { print n + 0 }'; }

control "c -> d over lo" "$(udp_to_d 9840)" "received 0"
alarm_expect subject=c subject_node=node1 target=d class=peer verdict=deny
control "c -> d over lo with SO_PRIORITY 10 (a's id)" "$(udp_to_d 9841 10)" "received 0"

# c may not change traffic control at all.
if as c tc qdisc add dev lo root handle 1: prio 2>/dev/null; then
	fail "c added a root qdisc to lo: traffic control should be system net"
fi
alarm_expect subject=c class=system perm=net verdict=deny

# (1) lo's root qdisc: a prio qdisc whose filter sets priority 10 (tc
# reads a priority as a class id, in hex: 0:a).
tc qdisc add dev lo root handle 1: prio || fail "prio qdisc"
tc filter add dev lo parent 1: matchall action skbedit priority 0:a || fail "skbedit filter"
got=$(udp_to_d 9842)
hits=$(tc_hits parent 1:)
echo "root qdisc filter rewrote $hits packets"
((hits >= 3)) || fail "the root qdisc's skbedit did not run ($hits packets)"
attack "7b c relabels itself as a with lo's root qdisc (skbedit priority)" blocked \
	"$got" "received 3"
alarm_expect subject=world target=d class=peer verdict=deny saddr=127.0.0.1
control "a -> d over lo with the rewrite in place" "$(udp_to_d 9847 '' a)" "received 3"
tc qdisc del dev lo root

# (2) lo's ingress (the clsact dsm made for its egress program has an
# ingress hook too): the same action on the receive side.
tc filter add dev lo ingress matchall action skbedit priority 0:a || fail "skbedit filter"
got=$(udp_to_d 9843)
hits=$(tc_hits ingress)
echo "ingress filter rewrote $hits packets"
((hits >= 3)) || fail "the ingress skbedit did not run ($hits packets)"
attack "7b c relabels itself as a with lo's ingress (skbedit priority)" blocked \
	"$got" "received 3"
# For TCP only what goes to d's port: d's SYN-ACK must stay d's.
tc filter del dev lo ingress
tc filter add dev lo ingress protocol ip u32 match ip dport 9844 0xffff \
	action skbedit priority 0:a || fail "u32 skbedit filter"
as d "$PROBE" tcp-accept 9844 6 >/tmp/srv.9844 &
wait_ready /tmp/srv.9844 || fail "server 9844"
as c "$PROBE" connect 127.0.0.1 9844 >/dev/null 2>&1
attack "7b c connects to d over TCP as a (ingress skbedit)" blocked \
	"$(wait_done /tmp/srv.9844 '^(accepted|accept timeout)')" "accepted x"
grep '^peer' /tmp/srv.9844
tc filter del dev lo ingress

# IPv6 over lo gets the same-node label too (counted as local).
local0=$("$DSMCTL" status --json | jq .packets.local)
as a "$SOCKT" udp-serve inet6 9848 4 1 >/tmp/srv.9848 &
wait_ready /tmp/srv.9848 || fail "server 9848"
as a "$SOCKT" udp-send inet6 ::1 9848 3 >/dev/null 2>&1
wait_done /tmp/srv.9848 '^received' 100 >/dev/null
local1=$("$DSMCTL" status --json | jq .packets.local)
echo "IPv6 over lo: $((local1 - local0)) packets labeled in the skb"
((local1 - local0 >= 3)) || fail "IPv6 over lo was not labeled ($((local1 - local0)))"

# (3) Delete dsm's egress filter (priority 1) or its clsact qdisc from lo.
control "a -> d over lo, filter in place" "$(udp_to_d 9845 '' a)" "received 3"
tc filter show dev lo egress
as c tc filter del dev lo egress prio 1 2>/dev/null
as c tc qdisc del dev lo clsact 2>/dev/null
[[ $(tc filter show dev lo egress) == *bpf* ]] || fail "dsm's filter on lo is gone"
alarm_expect subject=c class=system perm=net verdict=deny
attack "7b confined root removes dsm's egress filter from lo: a -> d arrives unlabeled" blocked \
	"$(udp_to_d 9846 '' a)" "received 0"

# Where dsm does not stand in the way: c permissive. The deletion works
# (reported as permissive), and a -> d is the world's from then on.
{ rules; echo 'permissive c;'; } | dsm_policy /tmp/p2.policy 2
cp /tmp/p2.policy /tmp/p.policy
kill -HUP "$DSMD_PID"
for _ in $(seq 100); do
	grep -q "policy 'test' version 2 installed" "$DSM_LOG" && break
	sleep 0.1
done
grep -q "policy 'test' version 2 installed" "$DSM_LOG" || fail "reload to version 2"
as c tc filter del dev lo egress prio 1 || fail "c (permissive) could not remove the filter"
alarm_expect subject=c class=system perm=net verdict=permissive
[[ $(tc filter show dev lo egress) == *bpf* ]] && fail "filter still there"
control "without the filter, a -> d over lo is unlabeled" "$(udp_to_d 9849 '' a)" "received 0"
alarm_expect subject=world target=d class=peer verdict=deny saddr=127.0.0.1
