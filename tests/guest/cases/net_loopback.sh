# nodes: 1
# Same-node traffic is labeled too, without touching the packet: with
# keys, the loopback egress records a labeled socket's label in the skb
# (priority, with the node's tag as the hash), and the receive check
# decides against this node's rules (a@node1 may reach b, c may not). No
# option is inserted, and a datagram that skips the egress program (a
# packet socket with PACKET_QDISC_BYPASS, its priority set to a label id)
# is an unlabeled packet, whatever it carries; sending past the egress is
# system net, which a lacks (the test runner holds it). Without keys (no IP
# modification) the same traffic is unlabeled and decided by the
# unlabeled rules instead.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_keyfile /tmp/cluster.key 1
rules='node node1 = 1;
label d = 71;
allow unconfined d : process transition;
allow a@node1 { b d } : peer recv;
allow b@node1 { a c } : peer recv;
allow { a b c d } self : socket inet { create bind listen connect accept send recv };
allow a self : socket packet raw { create send };
allow b self : socket unix stream { create connect send recv };'
dsm_policy /tmp/p.policy <<<"$rules"
dsm_start /tmp/p.policy --key-file /tmp/cluster.key

serve() { # serve KIND PORT [LABEL, default b] -> output file
	as "${3:-b}" "$PROBE" "$1" "$2" 20 >"/tmp/srv.$2" &
	server_ready "/tmp/srv.$2"
}
result() { for _ in $(seq 300); do grep -qE '^(received|accepted|accept timeout)' "/tmp/srv.$1" && break; sleep 0.1; done; tail -1 "/tmp/srv.$1"; }

serve udp-recv 9600
serve udp-recv 9601
serve tcp-accept 9602
serve tcp-accept 9603
expect_probe "sent 3" as a "$PROBE" udp-send 127.0.0.1 9600 3
expect_probe "sent 3" as c "$PROBE" udp-send 127.0.0.1 9601 3
expect_probe "send OK" as a "$PROBE" connect 127.0.0.1 9602
expect_probe "connect EINPROGRESS" as c "$PROBE" connect 127.0.0.1 9603
expect_eq "UDP a -> b over lo" "$(result 9600)" "received 3"
expect_eq "UDP c -> b over lo" "$(result 9601)" "received 0"
expect_eq "TCP a -> b over lo" "$(result 9602)" "accepted x"
grep -qx 'peer a@node1 bound' /tmp/srv.9602 || fail "getpeerlabel over lo: $(grep peer /tmp/srv.9602)"
expect_eq "TCP c -> b over lo" "$(result 9603)" "accept timeout"
alarm_expect subject=c subject_node=node1 target=b class=peer verdict=deny reason=policy saddr=127.0.0.1

# d hears a@node1 and not the world: the label comes from the egress
# program or not at all. The forged datagram claims a's id (10) as its
# priority; its source is not local (lo's input drops those as martians).
serve udp-recv 9604 d
expect_probe "sent 2" as a "$PROBE" udp-send 127.0.0.1 9604 2
expect_probe "bypass EACCES" as a "$PROBE" lo-inject 10.77.9.9 "$(vm_node_ip 1)" 9604 10
alarm_expect subject=a class=system perm=net verdict=deny
expect_probe "inject OK" "$PROBE" lo-inject 10.77.9.9 "$(vm_node_ip 1)" 9604 10
expect_eq "UDP a -> d, and a datagram that skipped the egress" "$(result 9604)" "received 2"
alarm_expect subject=world target=d class=peer verdict=deny saddr=10.77.9.9
st=$("$DSMCTL" status --json)
expect_eq "options inserted" "$(jq -r .packets.labeled <<<"$st")" 0
(($(jq -r .packets.local <<<"$st") >= 7)) ||
	fail "same-node packets labeled in the skb: $(jq -c .packets <<<"$st")"
dsm_stop

# No IP modification: the same flows are unlabeled. A rule naming the
# interface (lo) wins over the catch-all world rule of the preamble.
dsm_policy /tmp/p.policy <<<"$rules
label local_peer = 70;
unlabeled 127.0.0.0/8 dev lo -> local_peer;
allow local_peer@any { b c } : peer recv;"
dsm_start /tmp/p.policy --key-file /tmp/cluster.key --no-label
serve udp-recv 9610
expect_probe "sent 3" as c "$PROBE" udp-send 127.0.0.1 9610 3
expect_eq "UDP c -> b unlabeled" "$(result 9610)" "received 3"
serve tcp-accept 9611
expect_probe "send OK" as c "$PROBE" connect 127.0.0.1 9611
grep -qx 'peer local_peer@any bound' /tmp/srv.9611 || fail "unlabeled peer: $(grep peer /tmp/srv.9611)"
