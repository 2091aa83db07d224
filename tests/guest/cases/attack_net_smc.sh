# nodes: 2
# Attack 6d, AF_SMC without RDMA.
#
# The guest kernel has smc.ko (CONFIG_SMC=m). smc_create makes the TCP
# socket that carries everything, smc->clcsock, with sock_create_kern (no
# dsm label); on nodes without RDMA or ISM devices the connection is a TCP
# handshake on the clcsock (SMC's TCP option 254), a CLC decline and the
# data over the same TCP connection. So the packets left unlabeled (an SMC
# client shed its label) and the receive check judged an SMC listener's
# clcsock as the initial label. dsm cannot label the clcsock, so a rule
# without a family no longer covers AF_SMC (dsm_qual_any_covers() in
# include/dsm/decide.h: only unix, inet, inet6, key, netlink, packet and
# alg), and the language cannot name the family: no label may create an
# AF_SMC socket (EACCES, alarm), TIPC, VSOCK, RDS, XDP and the others
# alike.
#
# Without dsm, and in permissive mode (reported), SMC works, the
# listener's accept included: the accepted clcsock's storage, made by the
# inet_csk_clone hook, carries no label (0), which the socket checks take
# as the label of the task using it (smc_listen_work, a kworker). An SMC
# listener that predates dsm is refused cleanly: accept() gets EACCES.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
guest_modprobe smc || fail "cannot load smc"
res() { # what the server on port $1 accepted, "not accepted" if nothing in 10 s
	local l
	l=$(wait_done "/tmp/srv.$1" '^accept' 100 | cut -d' ' -f1-2)
	[[ $l == accept* ]] && echo "$l" || echo "not accepted"
}
SMC_CREATE_AUX=$(((43 << 8) | 1)) # AF_SMC, SOCK_STREAM

# ---- no dsm: SMC at both ends works ----------------------------------------
((DSM_NODE == 2)) && sock_serve 9810 smc
vm_barrier up0
((DSM_NODE == 1)) && sock_client 9810 smc
vm_barrier done0
if ((DSM_NODE == 2)); then
	control "no dsm: SMC client -> SMC listener" "$(res 9810)" "accepted x"
	# An SMC listener that predates dsm.
	sock_serve 9813 smc
fi

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
label s = 72;
allow unconfined s : process transition;
allow { a c s } self : socket { create bind listen accept connect send recv };
allow a@node1 { s unconfined } : peer recv;
allow s@node2 { a c } : peer recv;
allow unconfined@node2 { a c } : peer recv;
EOF2
sed 's/^mode enforcing;/mode permissive;/' /tmp/p.policy >/tmp/p-permissive.policy
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

# ---- enforcing ---------------------------------------------------------------
# port  server (node 2)                   client (node 1)
# 9811  s, plain TCP                      a, SMC: refused at create; a, plain TCP: accepted
# 9812  s, SMC: refused at create
# 9813  SMC listener from before dsm      a, plain TCP: accept() refused
if ((DSM_NODE == 2)); then
	as s "$SOCKT" serve smc 9812 5 >/tmp/srv.9812 2>&1
	attack "6d s listens on an SMC socket" blocked "$(head -1 /tmp/srv.9812)" "ready"
	expect_eq "s's SMC listener" "$(head -1 /tmp/srv.9812)" "listen EACCES"
	expect_eq "unconfined creates an SMC socket (socket * covers no SMC)" \
		"$("$SOCKT" connect smc 127.0.0.1 9 2>&1 | head -1)" "create EACCES"
	alarm_expect subject=unconfined class=socket perm=create verdict=deny aux=$SMC_CREATE_AUX
	sock_serve 9811 inet s
fi
vm_barrier servers-up
if ((DSM_NODE == 1)); then
	sock_client 9811 smc a
	attack "6d a creates an SMC socket" blocked "$(head -1 /tmp/cli.9811)" "create OK"
	alarm_expect subject=a target=a class=socket perm=create verdict=deny aux=$SMC_CREATE_AUX
	sock_client 9811 inet a
	sock_client 9813 inet a
fi
vm_barrier clients-done 120
if ((DSM_NODE == 2)); then
	control "a@node1 -> s, plain TCP" "$(res 9811)" "accepted x"
	control "a@node1 -> an SMC listener from before dsm: accept() refused" "$(res 9813)" \
		"accept EACCES"
	alarm_expect class=socket perm=accept verdict=deny aux=$SMC_CREATE_AUX
fi
vm_barrier checked 120

# ---- permissive: SMC works, the listener's kernel accept included -----------
dsm_stop
dsm_start /tmp/p-permissive.policy --key-file /tmp/cluster.key
vm_barrier permissive
((DSM_NODE == 2)) && sock_serve 9814 smc s
vm_barrier servers-up2
((DSM_NODE == 1)) && sock_client 9814 smc a
vm_barrier clients-done2 120
if ((DSM_NODE == 2)); then
	control "permissive: SMC a@node1 -> SMC listener of s" "$(res 9814)" "accepted x"
	alarm_expect subject=s class=socket perm=create verdict=permissive aux=$SMC_CREATE_AUX
	expect_eq "denials in permissive mode" "$(alarm_count verdict=deny)" 0
fi
((DSM_NODE == 1)) && alarm_expect subject=a class=socket perm=create verdict=permissive
vm_barrier checked2 120
