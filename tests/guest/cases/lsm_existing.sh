# nodes: 1
# Processes that run before dsmd starts get labels too: by the policy's
# transition on their executable, else the initial label; their threads
# and children follow.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

cp "$PROBE" /tmp/probe-c
/tmp/probe-c pause >/tmp/pid.c &
sleeper=$!
"$PROBE" pause >/tmp/pid.u &
plain=$!
for _ in $(seq 50); do [[ -s /tmp/pid.c && -s /tmp/pid.u ]] && break; sleep 0.1; done

dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/probe-c : probe_exec;
transition unconfined probe_exec -> c;
EOF2
dsm_start /tmp/p.policy

expect_eq "pre-existing probe_exec process" "$(label_of "$sleeper")" c
expect_eq "pre-existing plain process" "$(label_of "$plain")" unconfined
expect_eq "dsmd itself" "$(label_of "$DSMD_PID")" dsmd
# c holds no signal permission on itself: its label is really enforced.
kill -0 "$sleeper" || fail "unconfined cannot signal c"
expect_probe "kill EACCES" as c "$PROBE" kill "$sleeper" 0
kill "$sleeper" "$plain"
