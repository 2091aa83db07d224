# nodes: 1
# Permissive mode logs and allows: a permissive label's would-be denials
# succeed and raise alarms with verdict permissive, while other labels stay
# enforced; a node in permissive mode allows everything it reports.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

dsm_policy /tmp/p.policy <<'EOF2'
permissive b;
EOF2
dsm_start /tmp/p.policy
expect_probe "fork OK" as b "$PROBE" fork
alarm_expect subject=b target=b class=process perm=fork verdict=permissive errno=0
expect_probe "fork EACCES" as a "$PROBE" fork
alarm_expect subject=a perm=fork verdict=deny
dsm_stop

dsm_policy /tmp/p2.policy <<'EOF2'
EOF2
sed -i 's/^mode enforcing;/mode permissive;/' /tmp/p2.policy
dsm_start /tmp/p2.policy
expect_probe "fork OK" as a "$PROBE" fork
alarm_expect subject=a target=a class=process perm=fork verdict=permissive
expect_probe "bpf OK" as a "$PROBE" bpf
alarm_expect subject=a class=system perm=bpf verdict=permissive
[[ $("$DSMCTL" status --json | jq -r .mode) == permissive ]] || fail "status does not say permissive"
