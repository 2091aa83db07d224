# nodes: 1
# Attack 7c (first half), interface rules and network namespaces.
#
# Confined root holds CAP_SYS_ADMIN and CAP_NET_ADMIN: unshare(CLONE_NEWNET)
# and setns ask dsm nothing, but every change of network interfaces does
# (system net: creating, deleting, renaming, moving links). Interface rules
# ("unlabeled PREFIX dev NAME") name an interface of one namespace: dsmd
# resolves each in its own namespace and in every --netns one, into entries
# keyed by (ifindex, namespace), at every policy load.
#   (A) label shedding: c makes a veth from his own namespace (no dsm
#       there) into dsmd's, to come in from 10.55.0.7, which a rule without
#       "dev" calls cluster: denied. Made by a label with system net, such
#       a link is a way in for whoever enters that namespace (LIMIT: label
#       it with --netns, or name the device in the rule).
#   (B) a stale "dev" rule: "dev vpn0" became an ifindex at load; c deletes
#       vpn0 and creates his veth with that very ifindex: denied. Where dsm
#       does not stand in the way (c permissive) he can, and dsmd, which
#       watches the links, resolves "vpn0" again within a second (now:
#       nothing): his veth is not vpn.
#   (C) the same ifindex in another namespace: dsmd --netns labels a
#       container namespace whose interface is ifindex 2, the host's eth0.
#       The "dev eth0" rule meant for cluster traffic on the host's eth0
#       does not match the container's ifindex 2; a rule for the
#       container's own ceth0 does, resolved in the container.
# s hears cluster and vpn only, s2 (in the container) ctrnet only; c itself
# may not reach s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

netns_cleanup() {
	local d
	for d in vh vh2 vh3 vh4 vc vpn0; do ip link del "$d" 2>/dev/null; done
	ip netns del ctr 2>/dev/null
	sysctl -qw net.ipv4.ip_forward=0
}
trap 'DSM_TEST_FAILED=$?; dsm_cleanup; netns_cleanup' EXIT

# Before dsmd: the interface a "dev" rule names (standing in for a VPN
# device), and a container namespace whose interface is ifindex 2.
ip link add vpn0 type dummy && ip link set vpn0 up
vpn_index=$(cat /sys/class/net/vpn0/ifindex)
# Tunnel modules loaded earlier would give every new namespace its
# fallback devices first (tunl0, gre0, ...): keep them out of ctr, so that
# its ceth0 is ifindex 2, as in a container.
fb=$(sysctl -n net.core.fb_tunnels_only_for_init_net)
sysctl -qw net.core.fb_tunnels_only_for_init_net=1
ip netns add ctr
ip link add vc type veth peer name ceth0 index "$(cat /sys/class/net/eth0/ifindex)" netns ctr
ip -n ctr link set lo up
ip -n ctr addr add 10.44.0.2/24 dev ceth0 && ip -n ctr link set ceth0 up
ip -n ctr route add default via 10.44.0.1
ip addr add 10.44.0.1/24 dev vc && ip link set vc up
ctr_index=$(ip netns exec ctr cat /sys/class/net/ceth0/ifindex)
sysctl -qw net.core.fb_tunnels_only_for_init_net="$fb"
echo "vpn0 is ifindex $vpn_index; the container's ceth0 is ifindex $ctr_index, eth0 $(cat /sys/class/net/eth0/ifindex)"
[[ $ctr_index == "$(cat /sys/class/net/eth0/ifindex)" ]] || fail "ceth0 does not have eth0's index"

dsm_keyfile /tmp/cluster.key 1
rules() {
	cat <<-'EOF2'
	node node1 = 1;
	label s = 72;
	label s2 = 75;
	label cluster = 73;
	label vpn = 74;
	label ctrnet = 76;
	allow unconfined { s s2 } : process transition;
	unlabeled 10.77.0.0/24 dev eth0 -> cluster;
	unlabeled 10.77.0.0/24 dev ceth0 -> ctrnet;
	unlabeled 10.55.0.0/24 -> cluster;
	unlabeled 10.66.0.0/24 dev vpn0 -> vpn;
	allow cluster@any s : peer recv;
	allow vpn@any s : peer recv;
	allow ctrnet@any s2 : peer recv;
	allow { s s2 } self : socket inet dgram { create bind recv };
	allow c self : socket inet dgram { create send };
	allow c self : socket netlink { create bind connect send recv };
	allow c self : process fork;
	allow c unconfined : file exec;
	EOF2
}
rules | dsm_policy /tmp/p.policy
dsm_start /tmp/p.policy --key-file /tmp/cluster.key --netns /run/netns/ctr
grep "interface rule entr" "$DSM_LOG" || fail "no interface entries for the container"

udp_s() { # udp_s PORT [NETNS [LABEL]]: a server, counting for 8 s from now
	if [[ -n ${2:-} ]]; then
		ip netns exec "$2" "$DSMCTL" exec --label "${3:-s}" -- "$PROBE" udp-recv "$1" 8 \
			>"/tmp/srv.$1" &
	else
		as s "$PROBE" udp-recv "$1" 8 >"/tmp/srv.$1" &
	fi
	wait_ready "/tmp/srv.$1" || fail "server $1"
}
got() { wait_done "/tmp/srv.$1" '^received' 500; }
in_ns() { nsenter -t "$ns" -n "$@"; }  # the test runner, in c's namespace
send_c() { as c nsenter -t "$ns" -n "$SOCKT" udp-send inet "$@" >/dev/null 2>&1; }

udp_s 9860
as c "$SOCKT" udp-send inet 127.0.0.1 9860 3 >/dev/null 2>&1
control "c -> s over lo" "$(got 9860)" "received 0"
alarm_expect subject=c subject_node=node1 target=s class=peer verdict=deny

# c's namespace. c may not link it to anything (A).
ns=$(netns_spawn c 150) || fail "no namespace for c"
[[ $(readlink /proc/$ns/ns/net) != $(readlink /proc/self/ns/net) ]] || fail "not a new namespace"
got_a="veth refused"
as c ip link add vh type veth peer name v0 netns "$ns" 2>/dev/null && got_a="veth made"
attack "7c(A) c links his own namespace to dsmd's with a veth" blocked "$got_a" "veth made"
alarm_expect subject=c class=system perm=net verdict=deny
# The runner does (system net): c then comes in as cluster through it.
ip link add vh type veth peer name v0 netns "$ns" || fail "veth"
ip addr add 10.55.0.1/24 dev vh
ip link set vh up
in_ns ip link set lo up
in_ns ip addr add 10.55.0.7/24 dev v0
in_ns ip link set v0 up
in_ns ip route add default via 10.55.0.1
udp_s 9861
send_c 10.55.0.1 9861 3
echo "LIMIT a link a label with system net makes from an unlabeled namespace:" \
	"c comes in from 10.55.0.7 as cluster: $(got 9861)"

# (B) c may not delete vpn0, nor take its index.
got_b="refused"
as c ip link del vpn0 2>/dev/null && got_b="vpn0 deleted"
as c ip link add vh2 index "$vpn_index" type veth peer name v2 netns "$ns" 2>/dev/null &&
	got_b="$got_b, index taken"
ip link show vpn0 >/dev/null 2>&1 || fail "vpn0 is gone"
attack "7c(B) c deletes vpn0 and gives its ifindex to his own veth" blocked "$got_b" \
	"vpn0 deleted, index taken"

# Where dsm does not stand in the way: c permissive.
{ rules; echo 'permissive c;'; } | dsm_policy /tmp/p2.policy 2
cp /tmp/p2.policy /tmp/p.policy
reload_to() { # reload_to VERSION
	kill -HUP "$DSMD_PID"
	for _ in $(seq 100); do
		grep -q "policy 'test' version $1 installed" "$DSM_LOG" && return 0
		sleep 0.1
	done
	fail "reload to version $1"
}
reload_to 2
as c ip link del vpn0 || fail "c (permissive) could not delete vpn0"
as c ip link add vh2 index "$vpn_index" type veth peer name v2 netns "$ns" ||
	fail "c (permissive) could not make a veth with vpn0's index"
alarm_expect subject=c class=system perm=net verdict=permissive
ip addr add 10.66.0.1/24 dev vh2
ip link set vh2 up
in_ns ip addr add 10.66.0.7/24 dev v2
in_ns ip link set v2 up
echo "c's veth vh2 is ifindex $(cat /sys/class/net/vh2/ifindex)"
for _ in $(seq 50); do
	grep -q "links changed: reloading the policy" "$DSM_LOG" && break
	sleep 0.1
done
grep "links changed" "$DSM_LOG" || fail "dsmd did not see the links change"
sleep 1
udp_s 9862
send_c 10.66.0.1 9862 3
attack "7c(B) c (permissive) gives vpn0's ifindex to his veth: its traffic is vpn" blocked \
	"$(got 9862)" "received 3"
alarm_expect subject=world target=s class=peer verdict=deny saddr=10.66.0.7
# The next load by hand agrees.
sed -i 's/^policy test version 2;/policy test version 3;/' /tmp/p.policy
reload_to 3
udp_s 9866
send_c 10.66.0.1 9866 3
control "after a reload, 10.66.0.7 on that index is still the world's" "$(got 9866)" "received 0"
# Control: 10.66.0.7 over an interface that is not vpn0 is the world's.
ip link add vh3 type veth peer name v3 netns "$ns"
ip addr add 10.66.1.1/24 dev vh3
ip link set vh3 up
in_ns ip addr add 10.66.0.8/24 dev v3
in_ns ip link set v3 up
in_ns ip route add 10.66.1.0/24 dev v3
udp_s 9863
send_c 10.66.1.1 9863 3
control "10.66.0.8 over an interface that is not vpn0" "$(got 9863)" "received 0"

# (C) 10.77.0.200 (c's choice) from c's namespace, forwarded into the
# container: not cluster (that rule is the host's eth0), ctrnet by the
# container's own ceth0 rule.
# Forwarding is a sysctl (system kernel: c enforcing may not set it,
# attack_kernel); the runner turns it on.
sysctl -qw net.ipv4.ip_forward=1
in_ns ip addr add 10.77.0.200/32 dev v0
in_ns ip route replace default via 10.55.0.1 src 10.77.0.200
ip route add 10.77.0.200/32 dev vh
udp_s 9864 ctr
udp_s 9865 ctr s2
send_c 10.44.0.2 9864 3 || echo "send from 10.77.0.200 failed"
send_c 10.44.0.2 9865 3 || echo "send from 10.77.0.200 failed"
attack "7c(C) 'dev eth0' matches the container's ifindex $ctr_index: c's packets are cluster there" \
	blocked "$(got 9864)" "received 3"
control "the container's own 'dev ceth0' rule, resolved in the container" "$(got 9865)" \
	"received 3"
