# nodes: 2
# Node 2 runs dsm, node 1 does not. What node 1 sends is decided by the
# policy: a plain datagram gets the label of the unlabeled rule for its
# source (outsider), which b may hear and c may not; a hand-made dsm option
# claiming a@node1 is accepted only with the right MAC and a current
# epoch: a wrong MAC and a replayed old epoch are dropped and raise alarms
# saying so; a dsm option of an unknown version is dropped as malformed.
# The MACs are made with OpenSSL's SipHash, for version 2 options (the
# IP ID left out) and for version 1 (still accepted; the IP ID in).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_keyfile /tmp/cluster.key 1
if ((DSM_NODE == 2)); then
	dsm_policy /tmp/p.policy <<EOF2
node node1 = 1;
node node2 = 2;
label outsider = 60;
unlabeled $(vm_node_ip 1)/32 -> outsider;
allow outsider@any b : peer recv;
allow a@node1 c : peer recv;
allow { b c } self : socket inet dgram { create bind recv };
EOF2
	dsm_start /tmp/p.policy --key-file /tmp/cluster.key
	as b "$PROBE" udp-recv 9300 40 >/tmp/b-plain &
	as c "$PROBE" udp-recv 9301 40 >/tmp/c-plain &
	as c "$PROBE" udp-recv 9302 40 >/tmp/c-good &
	as c "$PROBE" udp-recv 9303 40 >/tmp/c-badmac &
	as c "$PROBE" udp-recv 9304 40 >/tmp/c-stale &
	as c "$PROBE" udp-recv 9305 40 >/tmp/c-badver &
	as c "$PROBE" udp-recv 9306 40 >/tmp/c-good1 &
	for f in b-plain c-plain c-good c-badmac c-stale c-badver c-good1; do
		server_ready "/tmp/$f"
	done
fi
vm_barrier ready 120

if ((DSM_NODE == 1)); then
	dst=$(vm_node_ip 2)
	expect_probe "sent 3" "$PROBE" udp-send "$dst" 9300 3
	expect_probe "sent 3" "$PROBE" udp-send "$dst" 9301 3
	# The good ones last: that they arrive shows the servers were still
	# listening when the bad ones came, so "received 0" means dropped.
	for port_kind in "9303 now badmac" "9304 1000 good" "9305 now badver" "9302 now good" \
		"9306 now good1"; do
		set -- $port_kind
		for _ in 1 2 3; do
			expect_probe "rawsend OK" "$PROBE" rawsend "$dst" "$1" 10 1 "$2" 1 /tmp/cluster.key "$3"
		done
	done
fi
vm_barrier sent 120

if ((DSM_NODE == 2)); then
	for _ in $(seq 500); do
		[[ $(cat /tmp/b-plain /tmp/c-plain /tmp/c-good /tmp/c-badmac /tmp/c-stale /tmp/c-badver \
			/tmp/c-good1 | grep -c '^received') == 7 ]] && break
		sleep 0.1
	done
	expect_eq "unlabeled to b" "$(tail -1 /tmp/b-plain)" "received 3"
	expect_eq "unlabeled to c" "$(tail -1 /tmp/c-plain)" "received 0"
	alarm_expect subject=outsider target=c class=peer verdict=deny reason=policy
	expect_eq "right MAC, current epoch" "$(tail -1 /tmp/c-good)" "received 3"
	expect_eq "version 1, right MAC" "$(tail -1 /tmp/c-good1)" "received 3"
	expect_eq "wrong MAC" "$(tail -1 /tmp/c-badmac)" "received 0"
	alarm_expect subject=a subject_node=node1 target=c class=peer verdict=deny reason=forged errno=129
	expect_eq "replayed old epoch" "$(tail -1 /tmp/c-stale)" "received 0"
	alarm_expect subject=a subject_node=node1 target=c class=peer verdict=deny reason=stale errno=116
	expect_eq "malformed option" "$(tail -1 /tmp/c-badver)" "received 0"
	alarm_expect target=c class=peer verdict=deny reason=malformed errno=74
fi
vm_barrier checked 120
