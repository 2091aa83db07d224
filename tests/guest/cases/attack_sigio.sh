# nodes: 1
# SIGIO owners (bpf/signal.bpf.h): who may have the kernel send SIGIO, or
# the signal F_SETSIG picked, to whom.
#   1. Owners set before dsmd started: dsmd's start-up labeling records
#      the process holding the file as the label that chose the owner
#      (bpf/label_iter.bpf.h), so a service's own SIGIO keeps working (b may
#      signal itself) and stays a checked signal (c may not: denied).
#   2. Attack: a and b share one open file (a pipe a made, inherited by a
#      child that became b). b makes itself the owner; a, which may not
#      signal b, sets F_SETSIG SIGKILL on its copy and writes. Without dsm b
#      dies; with dsm the kernel's SIGKILL is checked against the label
#      that chose the signal (a) as well as the owner's (b): denied, with
#      the alarm, and b lives.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

ASIG=$build/tests/guest/tools/attack_sig
cp "$ASIG" /tmp/sig-b
cp "$ASIG" /tmp/sig-c
dsm_policy /tmp/p.policy <<'EOF2'
label b_exec = 21;
label c_exec = 22;
file /tmp/sig-b : b_exec;
file /tmp/sig-c : c_exec;
transition unconfined b_exec -> b;
transition unconfined c_exec -> c;
transition a b_exec -> b;
allow b self : process signal;
allow a self : process fork;
allow a { unconfined b_exec } : file exec;
EOF2
wait_line() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

echo "--- part 0: without dsm, a's F_SETSIG on the shared file kills b"
expect_probe "setsig killed" "$ASIG" setsig-shared "$ASIG" sigio-owner 3

echo "--- part 1: owners set before dsmd"
/tmp/sig-b sigio-self /tmp/go >/tmp/sigio.b 2>&1 &
pb=$!
/tmp/sig-c sigio-self /tmp/go >/tmp/sigio.c 2>&1 &
pc=$!
wait_line /tmp/sigio.b ready && wait_line /tmp/sigio.c ready || fail "sigio-self did not start"
dsm_start /tmp/p.policy
expect_eq "label of the b process" "$(label_of "$pb")" b
expect_eq "label of the c process" "$(label_of "$pc")" c
grep -q 'first pass in the kernel: .*, 2 SIGIO owners labeled' "$DSM_LOG" ||
	fail "dsmd did not record the two owners: $(grep 'pass in the kernel' "$DSM_LOG")"
touch /tmp/go
wait "$pb"
wait "$pc"
expect_eq "b's own SIGIO, owner set before dsmd" "$(tail -1 /tmp/sigio.b)" "sigio OK"
expect_eq "c's own SIGIO, owner set before dsmd" "$(tail -1 /tmp/sigio.c)" "sigio none"
alarm_expect subject=c target=c class=process perm=signal verdict=deny aux=10

echo "--- part 2: a picks the signal of a file b owns"
# The child execs b's entry binary (a -> b by transition), keeping the
# shared file as fd 3.
as a "$ASIG" setsig-shared /tmp/sig-b sigio-owner 3 >/tmp/setsig.out 2>&1
cat /tmp/setsig.out
child=$(sed -n 's/^child //p' /tmp/setsig.out)
expect_eq "b after a's F_SETSIG SIGKILL" "$(tail -1 /tmp/setsig.out)" "setsig survived"
expect_eq "the child's label" "$(label_of "$child")" b
kill -KILL "$child"
alarm_expect subject=a target=b class=process perm=signal verdict=deny aux=9
echo "RESULT: SIGIO is a signal from the labels that chose its owner and its signal"
