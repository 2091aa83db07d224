# nodes: 1
# Attack 7b, the same-node label in skb->priority. EXPECTS THE ATTACKS
# MARKED "hole" TO SUCCEED (documents holes).
#
# On lo, dsm_egress writes the sending socket's label into skb->priority
# and the node's tag into skb->hash; the receive check believes any lo
# packet whose hash is the tag. Whatever runs after the clsact egress
# program and before socket_sock_rcv_skb can rewrite priority without
# touching the hash: lo's root qdisc and its filters (__dev_queue_xmit:
# sch_handle_egress, then q->enqueue), lo's ingress (sch_handle_ingress in
# __netif_receive_skb_core), netfilter (nft "meta priority set" is valid in
# every hook: nft_meta_set_validate restricts only pkttype). tc actions
# that write skb->priority: skbedit (priority, or inheritdsfield: the
# DSCP), ife decode (skbprio from the packet); skb->mark: skbedit,
# connmark, ctinfo, ife; skb->hash: none (only BPF: bpf_set_hash, which
# needs the bpf permission). Confined root holds CAP_NET_ADMIN, and tc
# asks dsm nothing. SO_PRIORITY alone does not matter: it is copied into
# the skb before the egress program, which overwrites it.
#
# c may not reach d; a@node1 may. c relabels its own packets as a (10).
# Last, confined root simply deletes dsm's egress filter from lo and eth0:
# nothing protects it (it is a netlink tc filter, not a BPF link), and
# same-node traffic and all traffic to other nodes leaves unlabeled.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

# tc would have the kernel load these on demand; the guest's module
# autoloader has no module tree, so load them first.
guest_modprobe sch_prio cls_matchall cls_u32 act_skbedit || fail "tc modules"
trap 'DSM_TEST_FAILED=$?; tc qdisc del dev lo root 2>/dev/null;
	tc filter del dev lo ingress 2>/dev/null; dsm_cleanup' EXIT
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
label d = 71;
allow unconfined d : process transition;
allow a@node1 d : peer recv;
allow d@node1 { a c } : peer recv;
allow { a c d } self : socket inet { create bind listen connect accept send recv };
allow d self : socket unix stream { create connect send recv };  # getpeerlabel asks dsmd
allow c self : socket netlink { create bind connect send recv }; # tc
allow c self : process fork;
allow c unconfined : file exec;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

udp_to_d() { # udp_to_d PORT [PRIORITY [SENDER]]: 3 datagrams to d, how many arrived
	as d "$PROBE" udp-recv "$1" 4 >"/tmp/srv.$1" &
	wait_ready "/tmp/srv.$1" || fail "server $1"
	as "${3:-c}" "$SOCKT" udp-send inet 127.0.0.1 "$1" 3 ${2:-} >/dev/null 2>&1
	wait_done "/tmp/srv.$1" '^received' 100
}

control "c -> d over lo" "$(udp_to_d 9840)" "received 0"
alarm_expect subject=c subject_node=node1 target=d class=peer verdict=deny
control "c -> d over lo with SO_PRIORITY 10 (a's id)" "$(udp_to_d 9841 10)" "received 0"

# (1) lo's root qdisc: a prio qdisc whose filter sets priority 10 (tc
# reads a priority as a class id, in hex: 0:a).
as c tc qdisc add dev lo root handle 1: prio || fail "prio qdisc"
as c tc filter add dev lo parent 1: matchall action skbedit priority 0:a || fail "skbedit filter"
attack "7b c relabels itself as a with lo's root qdisc (skbedit priority)" hole \
	"$(udp_to_d 9842)" "received 3"
tc qdisc del dev lo root

# (2) lo's ingress (the clsact dsm made for its egress program has an
# ingress hook too): the same action on the receive side.
as c tc filter add dev lo ingress matchall action skbedit priority 0:a || fail "skbedit filter"
attack "7b c relabels itself as a with lo's ingress (skbedit priority)" hole \
	"$(udp_to_d 9843)" "received 3"
# For TCP only what goes to d's port: d's SYN-ACK must stay d's.
tc filter del dev lo ingress
as c tc filter add dev lo ingress protocol ip u32 match ip dport 9844 0xffff \
	action skbedit priority 0:a || fail "u32 skbedit filter"
as d "$PROBE" tcp-accept 9844 6 >/tmp/srv.9844 &
wait_ready /tmp/srv.9844 || fail "server 9844"
as c "$PROBE" connect 127.0.0.1 9844 >/dev/null 2>&1
attack "7b c connects to d over TCP as a (ingress skbedit)" hole \
	"$(wait_done /tmp/srv.9844 '^(accepted|accept timeout)')" "accepted x"
grep '^peer' /tmp/srv.9844
tc filter del dev lo ingress

# (3) Delete dsm's egress filter (priority 1) from lo; eth0's goes the
# same way (not done here: the test's cleanup unloads dsm from it).
control "a -> d over lo, filter in place" "$(udp_to_d 9845 '' a)" "received 3"
tc filter show dev lo egress
as c tc filter del dev lo egress prio 1 || fail "could not remove the filter"
tc filter show dev lo egress | grep -q bpf && fail "filter still there"
attack "7b confined root removes dsm's egress filter from lo: a -> d arrives unlabeled" hole \
	"$(udp_to_d 9846 '' a)" "received 0"
alarm_expect subject=world target=d class=peer verdict=deny saddr=127.0.0.1
