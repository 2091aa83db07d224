# nodes: 1
# file:exec: a label may run binaries of the labels it holds exec on.
# Unlisted binaries carry the initial label (unconfined here); a binary
# named by the policy carries its own. Denied execs fail with EACCES.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp /bin/true /tmp/true-labeled
dsm_policy /tmp/p.policy <<EOF2
label tools = 30;
file /tmp/true-labeled : tools;
allow a unconfined : file exec;
allow b tools : file exec;
EOF2
dsm_start /tmp/p.policy

expect_probe "" as a "$PROBE" exec /bin/true
expect_probe "exec EACCES" as a "$PROBE" exec /tmp/true-labeled
alarm_expect subject=a target=tools class=file perm=exec verdict=deny errno=13
expect_probe "" as b "$PROBE" exec /tmp/true-labeled
expect_probe "exec EACCES" as b "$PROBE" exec /bin/true
alarm_expect subject=b target=unconfined class=file perm=exec verdict=deny
