/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The start-up feature probe: can this kernel enforce dsm at all? dsmd runs
 * it before anything else and refuses to start when a check fails (it must
 * never look as if it enforced when the kernel would ignore its programs);
 * `dsmctl doctor` runs the same checks and prints them.
 *
 * Three checks, each failing with one line that says what is wrong and how
 * to fix it:
 *   btf     the kernel's BTF (/sys/kernel/btf/vmlinux), which CO-RE and the
 *           LSM hooks' attach points need;
 *   lsm     `bpf` in the active LSM list (/sys/kernel/security/lsm): with a
 *           kernel built with BPF LSM but booted without `bpf` in lsm=, BPF
 *           LSM programs load and attach and are never called;
 *   kernel  whether the kernel loads BPF LSM programs (CONFIG_BPF_LSM), by
 *           loading a minimal one, never attached; only against the real
 *           root, never a faked one.
 * The file checks read below a root directory ("/" in real use, a faked
 * tree in tests): ROOT/sys/kernel/btf/vmlinux, ROOT/sys/kernel/security/lsm
 * and, when that is missing, ROOT/proc/self/mounts (is securityfs mounted?).
 */
#ifndef DSM_PROBE_H
#define DSM_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DSM_PROBE_MSG_MAX 640

struct dsm_probe_result {
	const char *check;            /* "btf", "lsm", "kernel", or the caller's */
	bool ok;
	char msg[DSM_PROBE_MSG_MAX];  /* ok: what was found; else what is wrong
				       * and the fix, one line without newline */
};

/* BTF: ROOT/sys/kernel/btf/vmlinux is a readable, non-empty file. */
bool dsm_probe_btf(const char *root, struct dsm_probe_result *r);

/* `bpf` is an entry of ROOT/sys/kernel/security/lsm. */
bool dsm_probe_lsm(const char *root, struct dsm_probe_result *r);

/* The kernel loads BPF LSM programs (asks the running kernel). */
bool dsm_probe_kernel(struct dsm_probe_result *r);

/* What the kernel's answer ret means (1 it loaded the program, 0 it has no
 * BPF LSM, -errno it refused the load), into r; dsm_probe_kernel's half
 * that tests can drive. */
bool dsm_probe_kernel_result(int ret, struct dsm_probe_result *r);

/*
 * Every check against root (NULL or "/" for the real system; the kernel
 * check only then) into r[0..n) in the order btf, lsm, kernel. Returns the
 * number of checks written (at most n, 3 at most); *failed counts those
 * that failed.
 */
size_t dsm_probe_all(const char *root, struct dsm_probe_result *r, size_t n,
		     unsigned *failed);

/*
 * A private file or directory (keys, state): it exists, is not a symbolic
 * link, is owned by owner and has no group or other permission bits.
 * check names the result ("keys"); a missing path fails unless
 * absent_ok, then it passes saying so.
 */
bool dsm_probe_private(const char *check, const char *path, uid_t owner, bool absent_ok,
		       struct dsm_probe_result *r);

#endif /* DSM_PROBE_H */
