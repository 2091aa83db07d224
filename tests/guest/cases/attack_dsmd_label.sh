# nodes: 1
# Attack (item: dsmd's label by exec). The policy names PID 1's label
# (`service_manager svc;`) and gives dsmd its label by the manager's
# transition; the initial label (unconfined, the test's shell) is given no
# `system` permission, so root in it is confined as far as dsm's
# self-protection goes. The exec rules (dsm_exec() in dsm/decide.h,
# applied by bpf/task.bpf.h) stand against root in it:
#   - running dsmd's binary does not make it dsmd: the preamble's
#     `transition unconfined dsmd_exec -> dsmd` is denied at exec (a label
#     with system permissions is entered only from the service manager's),
#     with the alarm; an LD_PRELOAD of that exec runs nothing;
#   - `dsmctl exec --label dsmd` is denied the same way;
#   - every label change runs the new image in secure-exec mode (AT_SECURE
#     1), so the dynamic loader ignores LD_PRELOAD: a, which may not signal
#     c, runs b's entry binary with LD_PRELOAD and its code never runs as b;
#   - `dsmd --unload` from the initial label is an exec into dsmd: denied,
#     and enforcement outlives the dsmd it started with.
# What the rules allow: PID 1 carries svc; a service PID 1 starts (fork and
# one exec, vm_service) leaves svc at exec, for its binary's transition
# (dsmd's binary: dsmd, which takes over and serves) or the initial label.
# Without dsm, the preload runs in whatever it is preloaded into.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

# The initial label cannot run dsmd's binary here, so dsm is unloaded by a
# dsmd that PID 1 starts (svc -> dsmd), whatever way the test ends.
SVC_DSMD=
dsm_stop() {
	local p
	if [[ -e /sys/fs/bpf/dsm ]]; then
		p=$(vm_service --out /tmp/unload.log -- "$DSMD" --unload) &&
			vm_service_wait "$p" 60 >/dev/null
		cat /tmp/unload.log >>"$DSM_LOG" 2>/dev/null
	fi
	for p in $SVC_DSMD ${DSMD_PID:-}; do
		kill -TERM "$p" 2>/dev/null
	done
	[[ -n ${DSMD_PID:-} ]] && wait "$DSMD_PID" 2>/dev/null
	[[ -n $SVC_DSMD ]] && vm_service_wait "$SVC_DSMD" 30 >/dev/null
	DSMD_PID= SVC_DSMD=
	rm -rf "$DSM_RUN"
}

cat >/tmp/evil.c <<'EOC'
#include <errno.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Runs before main() of whatever binary it is preloaded into. */
__attribute__((constructor)) static void evil(void)
{
	const char *op = getenv("EVIL_OP");
	union bpf_attr a;
	long r;

	if (!op)
		return;
	printf("preload: pid %d, AT_SECURE %lu\n", getpid(), getauxval(AT_SECURE));
	if (!strcmp(op, "bpf")) {
		memset(&a, 0, sizeof(a));
		r = syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &a, sizeof(a));
		printf("preload bpf %s\n", r == 0 || errno == ENOENT ? "OK" : strerror(errno));
	} else if (!strncmp(op, "kill:", 5)) {
		printf("preload kill %s\n", kill(atoi(op + 5), SIGKILL) ? strerror(errno) : "OK");
	}
	fflush(stdout);
	_exit(0);
}
EOC
cat >/tmp/atsec.c <<'EOC'
#include <stdio.h>
#include <sys/auxv.h>
int main(void) { printf("AT_SECURE %lu\n", getauxval(AT_SECURE)); return 0; }
EOC
gcc -shared -fPIC -O2 -o /tmp/evil.so /tmp/evil.c || skip_host "no compiler in the guest"
gcc -O2 -o /tmp/atsec-b /tmp/atsec.c || skip_host "no compiler in the guest"

cp "$PROBE" /tmp/probe-b
cp "$PROBE" /tmp/probe-c
dsm_policy /tmp/p.policy <<EOF2
label svc = 30;
label b_exec = 21;
service_manager svc;
transition svc dsmd_exec -> dsmd;
allow svc { $DSM_TEST_LABELS svc } : process *;
allow svc { $DSM_TEST_LABELS svc b_exec } : file *;
allow svc self : socket *;
allow dsmd svc : process signal;
file /tmp/probe-b : probe_exec;
file /tmp/atsec-b : probe_exec;
file /tmp/probe-c : b_exec;
transition a probe_exec -> b;
transition svc b_exec -> c;
allow a { unconfined probe_exec } : file exec;
allow b { unconfined probe_exec } : file exec;
allow b c : process signal;
EOF2
# The initial label keeps everything but `system`, and the preamble's
# permission to request dsmd (which the compiler rejects with a service
# manager named).
sed -i -e '/^allow unconfined unconfined : system \*;$/d' \
	-e "s/^allow unconfined { $DSM_TEST_LABELS } : process \*;\$/allow unconfined { ${DSM_TEST_LABELS/ dsmd / } } : process *;\nallow unconfined dsmd : process { fork signal ptrace };/" \
	/tmp/p.policy
grep -q 'unconfined unconfined : system' /tmp/p.policy && fail "policy edit failed"
grep -q '^allow unconfined dsmd : process { fork signal ptrace };' /tmp/p.policy || fail "policy edit failed"

echo "--- part 1: without dsm the preload runs in whatever it is preloaded into"
expect_eq "preload without dsm" "$(EVIL_OP=bpf LD_PRELOAD=/tmp/evil.so /bin/true | tail -1)" "preload bpf OK"
expect_eq "preload into dsmd's binary without dsm" \
	"$(EVIL_OP=bpf LD_PRELOAD=/tmp/evil.so "$DSMD" --help 2>&1 | tail -1)" "preload bpf OK"

dsm_start /tmp/p.policy
echo "--- part 2: the labels dsm gives at start-up"
expect_eq "PID 1's label" "$(label_of 1)" svc
expect_eq "dsmd's label" "$(label_of "$DSMD_PID")" dsmd
expect_eq "the test shell's label" "$(label_of $$)" unconfined
expect_probe "bpf EACCES" "$PROBE" bpf
expect_probe "unlink EACCES" "$PROBE" unlink /sys/fs/bpf/dsm/links/hook_bpf

echo "--- part 3: root in the initial label against dsmd's label"
out=$("$DSMD" --help 2>&1)
echo "run dsmd's binary: ${out:-(nothing)}"
[[ $out == *"Permission denied"* ]] || fail "exec of dsmd's binary from the initial label was not denied"
alarm_expect subject=unconfined target=dsmd class=process perm=transition verdict=deny
out=$(EVIL_OP=bpf LD_PRELOAD=/tmp/evil.so "$DSMD" --help 2>&1)
echo "with LD_PRELOAD: ${out:-(nothing)}"
[[ $out == *preload* ]] && fail "the preload ran: $out"
[[ $out == *"Permission denied"* ]] || fail "exec of dsmd's binary with LD_PRELOAD was not denied"
before=$(alarm_count subject=unconfined target=dsmd class=process perm=transition)
out=$("$DSMCTL" exec --label dsmd -- "$PROBE" bpf 2>&1)
rc=$?
echo "dsmctl exec --label dsmd: $out (exit $rc)"
[[ $rc != 0 && $out != *"bpf OK"* ]] || fail "dsmctl exec --label dsmd ran the command"
for _ in $(seq 50); do
	(($(alarm_count subject=unconfined target=dsmd class=process perm=transition) > before)) && break
	sleep 0.1
done
(($(alarm_count subject=unconfined target=dsmd class=process perm=transition) > before)) ||
	fail "no alarm for dsmctl exec --label dsmd"

echo "--- part 4: a label change runs in secure-exec mode"
expect_probe "AT_SECURE 1" as a "$PROBE" exec /tmp/atsec-b   # a -> b: a label change
expect_probe "AT_SECURE 0" as b "$PROBE" exec /tmp/atsec-b   # b stays b: none
"$DSMCTL" exec --label c -- "$PROBE" pause >/tmp/victim-c.out &
victim=$!
for _ in $(seq 50); do [[ -s /tmp/victim-c.out ]] && break; sleep 0.1; done
expect_eq "victim's label" "$(label_of "$victim")" c
expect_probe "kill EACCES" as a "$PROBE" kill "$victim" 9
out=$(as a env EVIL_OP=kill:"$victim" LD_PRELOAD=/tmp/evil.so /tmp/probe-b fork 2>&1)
echo "a runs b's entry binary with LD_PRELOAD: $out"
[[ $out == *preload* ]] && fail "the preload ran in b: $out"
sleep 0.5
kill -0 "$victim" 2>/dev/null || fail "the victim is dead"
kill "$victim"
wait "$victim" 2>/dev/null

echo "--- part 5: dsmd --unload from the initial label, and dsmd exiting"
out=$("$DSMD" --unload 2>&1)
echo "dsmd --unload: ${out:-(nothing)}"
[[ -e /sys/fs/bpf/dsm/links/hook_bpf ]] || fail "dsm's pins are gone"
kill -TERM "$DSMD_PID"
wait "$DSMD_PID" 2>/dev/null
DSMD_PID=
expect_probe "bpf EACCES" "$PROBE" bpf

echo "--- part 6: services of PID 1 leave svc at exec"
SVC_DSMD=$(vm_service --out /tmp/svc-dsmd.log -- "$DSMD" --policy /tmp/p.policy) ||
	fail "PID 1 did not start dsmd"
for _ in $(seq 600); do
	grep -q "main: ready: .*, pid $SVC_DSMD\b" /tmp/svc-dsmd.log && break
	sleep 0.1
done
grep -q "main: ready: .*, pid $SVC_DSMD\b.*took over" /tmp/svc-dsmd.log ||
	{ cat /tmp/svc-dsmd.log; fail "dsmd started by PID 1 did not take over"; }
expect_eq "dsmd started by PID 1" "$(label_of "$SVC_DSMD")" dsmd
svc=$(vm_service -- "$PROBE" pause) || fail "PID 1 did not start the probe"
expect_eq "a service without a transition" "$(label_of "$svc")" unconfined
svc_c=$(vm_service -- /tmp/probe-c pause) || fail "PID 1 did not start probe-c"
expect_eq "a service with svc's transition" "$(label_of "$svc_c")" c
kill "$svc" "$svc_c"
expect_eq "PID 1's label still" "$(label_of 1)" svc
echo "RESULT: dsmd's label is entered only from the service manager; label changes are secure-exec"
