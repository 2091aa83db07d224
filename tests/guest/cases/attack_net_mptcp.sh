# nodes: 2
# Attack 6c, MPTCP.
#
# socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) gives an MPTCP socket (msk)
# whose packets all go through subflow TCP sockets the kernel makes with
# sock_create_kern (no dsm label): the egress program finds no label on
# them (the SYN leaves unlabeled) and the receive check ran for the
# subflow, not the msk, judging it as the initial label; with MPTCP at
# both ends a@node1 reached a label nobody may reach. A BPF LSM program
# cannot map a subflow to its msk on 6.1 (bpf_skc_to_mptcp_sock() does
# not verify from LSM, shown at the end), so dsm does not try to label
# subflows:
#   - socket_create refuses IPPROTO_MPTCP to every label (EACCES, alarm
#     with the protocol in aux); applications fall back to TCP;
#   - the receive check denies a packet to an unlabeled subflow (is_mptcp
#     set): an MPTCP socket that predates dsm, or one made in permissive
#     mode, gets nothing once dsm enforces.
# Without dsm, and in permissive mode (reported), MPTCP works.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
sysctl -qw net.mptcp.enabled=1
res() { # what the server on port $1 accepted, "not accepted" if nothing in 10 s
	local l
	l=$(wait_done "/tmp/srv.$1" '^accepted' 100 | cut -d' ' -f1-2)
	[[ $l == accepted* ]] && echo "$l" || echo "not accepted"
}

# ---- no dsm: MPTCP at both ends works --------------------------------------
((DSM_NODE == 2)) && sock_serve 9800 mptcp
vm_barrier up0
((DSM_NODE == 1)) && sock_client 9800 mptcp
vm_barrier done0
if ((DSM_NODE == 2)); then
	control "no dsm: MPTCP client -> MPTCP listener" "$(res 9800)" "accepted x"
	# An MPTCP listener that predates dsm: its subflows carry no label.
	sock_serve 9803 mptcp
fi

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
label s = 72;
allow unconfined s : process transition;
allow { a c s } self : socket inet stream { create bind listen accept connect send recv };
allow { a c s } self : socket unix stream { create connect send recv };
allow a@node1 { s unconfined } : peer recv;
allow s@node2 { a c } : peer recv;
EOF2
sed 's/^mode enforcing;/mode permissive;/' /tmp/p.policy >/tmp/p-permissive.policy
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

# ---- enforcing ---------------------------------------------------------------
# port  server (node 2)                   client (node 1)
# 9801  s, plain TCP                      a, plain TCP      control: accepted
# 9802  s, plain TCP                      c, plain TCP      control: c@node1 -> s denied
# 9803  MPTCP listener from before dsm    a, plain TCP      unlabeled subflow: denied
#       (judged as its initial label, unconfined, it would hear a@node1)
((DSM_NODE == 2)) && { sock_serve 9801 inet s; sock_serve 9802 inet s; }
vm_barrier servers-up
if ((DSM_NODE == 1)); then
	sock_client 9801 mptcp a
	attack "6c a creates an MPTCP socket" blocked "$(head -1 /tmp/cli.9801)" "create OK"
	alarm_expect subject=a target=a class=socket perm=create verdict=deny aux=$(((262 << 16) | (2 << 8) | 1))
	sock_client 9801 inet a
	sock_client 9802 inet c
	sock_client 9803 inet a
fi
if ((DSM_NODE == 2)); then
	expect_eq "unconfined creates an MPTCP socket" \
		"$("$SOCKT" connect mptcp 127.0.0.1 9 2>&1 | head -1)" "create EACCES"
	alarm_expect subject=unconfined class=socket perm=create verdict=deny aux=$(((262 << 16) | (2 << 8) | 1))
fi
vm_barrier clients-done 120
if ((DSM_NODE == 2)); then
	control "a@node1 -> s, plain TCP" "$(res 9801)" "accepted x"
	control "c@node1 -> s, plain TCP" "$(res 9802)" "not accepted"
	alarm_expect subject=c subject_node=node1 target=s class=peer verdict=deny
	attack "6c a@node1 reaches an MPTCP listener from before dsm (unlabeled subflow)" blocked \
		"$(res 9803)" "accepted x"
	alarm_expect subject_id=0 target_id=0 class=peer verdict=deny saddr="$(vm_node_ip 1)"
fi
vm_barrier checked 120

# ---- permissive: MPTCP works, reported ---------------------------------------
dsm_stop
dsm_start /tmp/p-permissive.policy --key-file /tmp/cluster.key
vm_barrier permissive
((DSM_NODE == 2)) && sock_serve 9804 mptcp s
vm_barrier servers-up2
((DSM_NODE == 1)) && sock_client 9804 mptcp a
vm_barrier clients-done2 120
if ((DSM_NODE == 2)); then
	control "permissive: MPTCP a@node1 -> MPTCP listener of s" "$(res 9804)" "accepted x"
	alarm_expect subject=s class=socket perm=create verdict=permissive
	alarm_expect subject_id=0 target_id=0 class=peer verdict=permissive
fi
((DSM_NODE == 1)) && alarm_expect subject=a class=socket perm=create verdict=permissive
vm_barrier checked2 120

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
