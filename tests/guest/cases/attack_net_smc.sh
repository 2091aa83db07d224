# nodes: 2
# Attack 6d, AF_SMC without RDMA. EXPECTS THE ATTACKS MARKED "hole" TO
# SUCCEED (documents holes).
#
# The guest kernel has smc.ko (CONFIG_SMC=m). An AF_SMC socket is labeled
# (its family, 43, has no name in the policy language: only a socket rule
# without a family grants it), but smc_create makes the TCP socket that
# carries everything, smc->clcsock, with sock_create_kern: no dsm storage.
# On nodes without RDMA or ISM devices the connection is a TCP handshake
# on the clcsock whose SYN and SYN-ACK carry SMC's experimental TCP option
# (kind 254, magic 0xe2d4c3d9), a CLC decline from the client
# (smc_connect_decline_fallback: no SMC device), then the data over the
# same TCP connection (fallback). A listener's clcsock accepts in the
# kernel (smc_clcsock_accept -> kernel_accept). So, as with MPTCP: the
# packets leave unlabeled, and the receive check judges the clcsock as the
# initial label (unconfined): a plain client c@node1 to an SMC listener of s
# raises an alarm whose target is unconfined. An SMC client sheds its label:
# a@node1 reaches b, which hears unlabeled peers but not a.
# And an SMC listener cannot work under dsm at all: the accepted clcsock is
# a clone of the listener's (inet_csk_clone, where dsm's hook creates empty
# storage: label 0), and smc_listen_work, a kworker in the initial label,
# reads the CLC message from it with kernel_recvmsg -> sock_recvmsg, which
# dsm denies (unconfined -> 0 socket recv): the connection is dropped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"
. "$(dirname "$0")/../attack_net.sh"

server=$(vm_node_ip 2)
guest_modprobe smc || fail "cannot load smc"
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy <<'EOF2'
node node1 = 1;
node node2 = 2;
label s = 72;
allow unconfined s : process transition;
allow { a b c s } self : socket { create bind listen accept connect send recv };
allow s@node2 { a c } : peer recv;
allow b@node2 { a unconfined } : peer recv;
EOF2
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
vm_barrier dsm-up

# port  server (node 2)    client (node 1)
# 9811  s, plain TCP       a, plain TCP   control: a@node1 -> s denied
# 9812  s, plain TCP       a, SMC         unlabeled SYN: world -> s, denied
# 9813  s, SMC             a, SMC         world -> unconfined, then the listen
#                                         worker's read is denied
# 9814  s, SMC             c, plain TCP   c@node1 -> unconfined: denied
# 9815  b, plain TCP       a, plain TCP   control: a@node1 -> b denied
# 9816  b, plain TCP       a, SMC         a arrives as world, which b hears
if ((DSM_NODE == 2)); then
	for p in 9811:inet:s 9812:inet:s 9813:smc:s 9814:smc:s 9815:inet:b 9816:inet:b; do
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
	for p in 9811:inet:a 9812:smc:a 9813:smc:a 9814:inet:c 9815:inet:a 9816:smc:a; do
		IFS=: read -r port fam who <<<"$p"
		as "$who" "$SOCKT" connect "$fam" "$server" "$port" >"/tmp/cli.$port" 2>&1
		echo "client $who $fam -> $port: $(tr '\n' ' ' <"/tmp/cli.$port")"
	done
	kill "$sniffer" 2>/dev/null
	wait "$sniffer" 2>/dev/null
	echo "--- the SMC connection to 9813 as node 1 saw it:"
	grep -E ":9813 " /tmp/sniff
	syn() { grep -E "pkt out .*> $server:$1 .* flags 02" /tmp/sniff | head -1 | sed 's/.* dsm /dsm /'; }
	control "plain TCP SYN of a carries the option" "$(syn 9811 | cut -d' ' -f1-2)" "dsm 10@1"
	grep -E "pkt out .*> $server:9813 .* flags 02" /tmp/sniff | grep -q 'tcpopt smc' ||
		echo "note: no SMC TCP option seen on the SYN"
	attack "6d SMC clcsock SYN of a leaves without the option" hole "$(syn 9813)" "dsm none"
fi
vm_barrier clients-done 120

if ((DSM_NODE == 2)); then
	res() { # what the server on port $1 accepted, "not accepted" if nothing in 10 s
		local l
		l=$(wait_done "/tmp/srv.$1" '^accepted' 100 | cut -d' ' -f1-2)
		[[ $l == accepted* ]] && echo "$l" || echo "not accepted"
	}
	control "a@node1 -> s, plain TCP both ends" "$(res 9811)" "not accepted"
	alarm_expect subject=a subject_node=node1 target=s class=peer verdict=deny
	control "a's SMC SYN to a plain listener of s (unlabeled: world -> s)" "$(res 9812)" "not accepted"
	alarm_expect subject=world target=s class=peer verdict=deny
	attack "6d SMC listener: the listen worker may not read the accepted clcsock (label 0)" hole \
		"$(alarm_find subject=unconfined class=socket perm=recv target_id=0 verdict=deny \
			>/dev/null && echo denied)" "denied"
	control "SMC at both ends: s accepts nothing" "$(res 9813)" "not accepted"
	control "c@node1 plain TCP -> SMC listener of s" "$(res 9814)" "not accepted"
	attack "6d the receive check judges an SMC listener's clcsock as the initial label" hole \
		"$(alarm_find subject=c target=unconfined class=peer verdict=deny >/dev/null && echo target=unconfined)" \
		"target=unconfined"
	control "a@node1 -> b, plain TCP" "$(res 9815)" "not accepted"
	attack "6d a@node1 reaches b (which hears unlabeled peers, not a) with an SMC client" hole \
		"$(res 9816)" "accepted x"
fi
vm_barrier checked 120
