# nodes: 2
# Attack 6c, MPTCP. EXPECTS THE ATTACKS MARKED "hole" TO SUCCEED
# (documents holes).
#
# socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) gives a labeled MPTCP socket
# (msk), but every packet goes through subflow TCP sockets the kernel makes
# with sock_create_kern (mptcp_init_sock -> __mptcp_socket_create ->
# mptcp_subflow_create_socket; later subflows from the path manager), for
# which socket_post_create returns early (kern): they have no dsm storage.
#   (i)  dsm_egress finds no label on a subflow (skb->sk is the subflow; a
#        SYN-ACK's listener is the listening subflow): the SYN and SYN-ACK
#        leave without the option, so the peer decides them as unlabeled
#        (the world rule of the test preamble).
#   (ii) socket_sock_rcv_skb runs for the subflow, not the msk: no storage,
#        so the target is the policy's initial label (unconfined), not the
#        msk's label. Data then moves from the subflow into the msk without
#        any further check.
# So a@node1 reaches s@node2, which no rule lets anyone reach: with MPTCP
# at both ends each side judges "world -> unconfined" (allowed by the
# preamble); a plain TCP client a@node1 reaching an MPTCP listener of s is
# judged "a@node1 -> unconfined" (allowed here as a stands for any label
# that may talk to unconfined services), and c@node1 is denied with an
# alarm naming unconfined, not s, as the target.
# Finally: can a BPF program map a subflow to its msk on 6.1?
# (tests/guest/progs/attack_net_mptcp).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
label s = 72;
allow unconfined s : process transition;
allow { a b c s } self : socket inet stream { create bind listen accept connect send recv };
allow s@node2 { a c } : peer recv;
allow b@node2 { a unconfined } : peer recv;
allow a@node1 unconfined : peer recv;
EOF2
sysctl -qw net.mptcp.enabled=1
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

# port  server (on node 2)           client (node 1)
# 9801  s, plain TCP                  a, plain TCP        control: denied
# 9802  s, plain TCP                  a, MPTCP            unlabeled SYN: world -> s, denied
# 9803  s, MPTCP                      a, MPTCP            world -> unconfined: the hole
# 9804  s, MPTCP                      c, plain TCP        c@node1 -> unconfined: denied
# 9805  s, MPTCP                      a, plain TCP        a@node1 -> unconfined: accepted,
#                                                         but the accepted socket (the
#                                                         subflow child) carries label 0
# 9806  b, plain TCP                  a, plain TCP        control: a@node1 -> b denied
# 9807  b, plain TCP                  a, MPTCP            a arrives as world, which b hears
if ((DSM_NODE == 2)); then
	for p in 9801:inet:s 9802:inet:s 9803:mptcp:s 9804:mptcp:s 9805:mptcp:s 9806:inet:b \
		9807:inet:b; do
		IFS=: read -r port fam who <<<"$p"
		as "$who" "$SOCKT" serve "$fam" "$port" 150 >"/tmp/srv.$port" 2>&1 &
		wait_ready "/tmp/srv.$port" || fail "server ${p}: $(cat "/tmp/srv.$port")"
	done
fi
vm_barrier servers-up

if ((DSM_NODE == 1)); then
	"$PKT" sniff eth0 0 150 400 >/tmp/sniff 2>&1 &
	sniffer=$!
	sleep 1
	for p in 9801:inet:a 9802:mptcp:a 9803:mptcp:a 9804:inet:c 9805:inet:a 9806:inet:a \
		9807:mptcp:a; do
		IFS=: read -r port fam who <<<"$p"
		as "$who" "$SOCKT" connect "$fam" "$server" "$port" >"/tmp/cli.$port" 2>&1
		echo "client $who $fam -> $port: $(tr '\n' ' ' <"/tmp/cli.$port")"
	done
	kill "$sniffer" 2>/dev/null
	wait "$sniffer" 2>/dev/null
	echo "--- SYNs node 1 sent (flags 02):"
	grep -E 'pkt out .* flags 02' /tmp/sniff
	syn() { grep -E "pkt out .*> $server:$1 .* flags 02" /tmp/sniff | head -1 | sed 's/.* dsm /dsm /'; }
	control "plain TCP SYN of a carries the option" "$(syn 9801 | cut -d' ' -f1-2)" "dsm 10@1"
	attack "6c(i) MPTCP subflow SYN of a leaves without the option" hole "$(syn 9803)" "dsm none"
fi
vm_barrier clients-done 120

if ((DSM_NODE == 2)); then
	res() { # what the server on port $1 accepted, "not accepted" if nothing in 10 s
		local l
		l=$(wait_done "/tmp/srv.$1" '^accepted' 100 | cut -d' ' -f1-2)
		[[ $l == accepted* ]] && echo "$l" || echo "not accepted"
	}
	control "a@node1 -> s, plain TCP both ends" "$(res 9801)" "not accepted"
	alarm_expect subject=a subject_node=node1 target=s class=peer verdict=deny
	control "a's MPTCP SYN to a plain listener of s (unlabeled: world -> s)" "$(res 9802)" "not accepted"
	alarm_expect subject=world target=s class=peer verdict=deny
	attack "6c a@node1 reaches s@node2 over MPTCP (both ends MPTCP)" hole "$(res 9803)" "accepted x"
	control "c@node1 plain TCP -> MPTCP listener of s" "$(res 9804)" "not accepted"
	attack "6c(ii) the receive check judges an MPTCP listener as the initial label" hole \
		"$(alarm_find subject=c target=unconfined class=peer verdict=deny >/dev/null && echo target=unconfined)" \
		"target=unconfined"
	expect_eq "alarms c -> s" "$(alarm_count subject=c target=s)" 0
	attack "6c(ii) an MPTCP listener of s accepts plain TCP from a@node1 (judged a -> unconfined)" hole \
		"$(res 9805)" "accepted "
	# A plain TCP client makes the listener fall back: accept returns the
	# subflow child itself, whose dsm storage the inet_csk_clone hook
	# created empty (label 0), so s may not read it.
	alarm_expect subject=s class=socket perm=recv target_id=0 verdict=deny
	control "a@node1 -> b, plain TCP" "$(res 9806)" "not accepted"
	attack "6c a@node1 reaches b (which hears unlabeled peers, not a) with an MPTCP client" hole \
		"$(res 9807)" "accepted x"
fi
vm_barrier checked 120

# Can a BPF program map a subflow to its msk? Without dsm: dsm's own lo
# filter ends the egress chain before a later one would run.
if ((DSM_NODE == 2)); then
	dsm_stop
	echo "--- bpf_skc_to_mptcp_sock() on this kernel"
	"$build/tests/guest/progs/attack_net_mptcp" >/tmp/bpf.out 2>/tmp/bpf.err ||
		{ cat /tmp/bpf.out /tmp/bpf.err; fail "attack_net_mptcp"; }
	cat /tmp/bpf.out
	grep -q '^tc: msk tagged [1-9]' /tmp/bpf.out || fail "tc: no subflow packet mapped to its msk"
	grep -q '^lsm: rejected' /tmp/bpf.out || fail "lsm: the helper verified"
fi
