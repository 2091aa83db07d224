# nodes: 1
# One reload path with honest results: SIGHUP and the control socket's
# `reload` (dsmctl reload) run the same steps and say the same thing, keys
# included, in one of three forms:
#   installed policy 'P' version N; keys reloaded
#   not installed because ...; policy 'P' version M stays in force, ...
#   installed policy 'P' version N; then the cluster keys failed: ...
# A policy that was installed is never reported as the previous one
# staying, and one that was not changes nothing, keys included.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

version() { "$DSMCTL" status --json | jq -r .policy.version; }
keylog() { grep -c "net: keys from /tmp/cluster.key: $1" "$DSM_LOG"; }

dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy 1 </dev/null
dsm_start /tmp/p.policy --key-file /tmp/cluster.key
expect_eq "first version" "$(version)" 1

echo "--- through the socket: policy and keys"
dsm_policy /tmp/p.policy 2 </dev/null
dsm_keyfile /tmp/cluster.key 2 1 2
out=$("$DSMCTL" reload)
echo "$out"
expect_eq "reload result" "$out" "installed policy 'test' version 2; keys reloaded"
expect_eq "version" "$(version)" 2
expect_eq "keys reloaded by the socket's reload" "$(keylog "2 keys, sending with key 2")" 1

echo "--- installed, then the keys fail"
dsm_policy /tmp/p.policy 3 </dev/null
echo "key 3 nothex" >>/tmp/cluster.key
out=$("$DSMCTL" reload 2>&1)
rc=$?
echo "$out (exit $rc)"
((rc == 1)) || fail "a failed key reload exited $rc"
[[ $out == "dsmctl: installed policy 'test' version 3; then the cluster keys failed: Invalid argument (the previous keys stay in force)" ]] ||
	fail "result: $out"
expect_eq "version in force" "$(version)" 3
grep -q "previous policy stays" "$DSM_LOG" && fail "the log says the previous policy stays"

echo "--- not installed: nothing changes, keys included"
dsm_keyfile /tmp/cluster.key 1
dsm_policy /tmp/p.policy 4 <<<'allow a nosuchlabel : process fork;'
out=$("$DSMCTL" reload 2>&1)
rc=$?
echo "$out (exit $rc)"
((rc == 1)) || fail "a broken policy's reload exited $rc"
[[ $out == "dsmctl: not installed because /tmp/p.policy does not compile (1 error: see dsmd's log); policy 'test' version 3 stays in force, and the keys are unchanged" ]] ||
	fail "result: $out"
expect_eq "version in force" "$(version)" 3
expect_eq "keys untouched" "$(keylog "1 key, sending with key 1")" 1  # only the start's

echo "--- SIGHUP: the same path, the same words"
dsm_policy /tmp/p.policy 5 </dev/null
kill -HUP "$DSMD_PID"
for _ in $(seq 100); do [[ $(version) == 5 ]] && break; sleep 0.1; done
expect_eq "version after SIGHUP" "$(version)" 5
for _ in $(seq 50); do grep -q "reload (SIGHUP): installed policy 'test' version 5; keys reloaded" "$DSM_LOG" && break; sleep 0.1; done
grep -q "reload (SIGHUP): installed policy 'test' version 5; keys reloaded" "$DSM_LOG" ||
	fail "no result line for SIGHUP"
expect_eq "keys reloaded by SIGHUP" "$(keylog "1 key, sending with key 1")" 2
dsm_stop
