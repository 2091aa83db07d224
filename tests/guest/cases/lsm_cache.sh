# nodes: 1
# Decisions cached in a socket last one policy generation. On sockets that
# already exist and already passed checks: a reload that gives the sender's
# source another unlabeled label takes effect on the receiver's next
# datagram (its source and peer caches go stale), and a reload that takes
# away the sender's send permission takes effect on its next send (its
# operation cache goes stale).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

rules='allow { a b } self : socket inet dgram *;'
dsm_policy /tmp/p.policy 1 <<<"$rules"
dsm_start /tmp/p.policy
version() { "$DSMCTL" status --json | jq -r .policy.version; }
reload() { # reload VERSION EXTRA-RULES
	dsm_policy /tmp/p.policy "$1" <<<"$2"
	kill -HUP "$DSMD_PID"
	for _ in $(seq 100); do [[ $(version) == "$1" ]] && break; sleep 0.1; done
	expect_eq "version after reload" "$(version)" "$1"
}

as a "$PROBE" udp-recv 9700 20 >/tmp/recv &
recv=$!
server_ready /tmp/recv
mkfifo /tmp/steps
as b "$PROBE" udp-step 127.0.0.1 9700 </tmp/steps >/tmp/send &
sender=$!
exec 7>/tmp/steps
sends() { # sends N: N datagrams, then wait until the sender answered them all
	local want=$(($(grep -c '^send' /tmp/send) + $1)) i
	for ((i = 0; i < $1; i++)); do echo x >&7; done
	for _ in $(seq 100); do (($(grep -c '^send' /tmp/send) >= want)) && return; sleep 0.05; done
	fail "the sender did not answer"
}

sends 3
# 127.0.0.1 is world (0.0.0.0/0) in version 1; c, which may not reach a,
# in version 2.
reload 2 "$rules
unlabeled 127.0.0.0/8 -> c;"
sends 3
reload 3 "allow a self : socket inet dgram *;
allow b self : socket inet dgram { create bind recv };"
sends 1
exec 7>&-
wait "$sender"
wait "$recv"

expect_eq "sends" "$(grep '^send' /tmp/send | tr '\n' ' ')" \
	"send OK send OK send OK send OK send OK send OK send EACCES "
expect_eq "datagrams received" "$(tail -1 /tmp/recv)" "received 3"
alarm_expect subject=c target=a class=peer perm=recv verdict=deny reason=policy
alarm_expect subject=b target=b class=socket perm=send verdict=deny
