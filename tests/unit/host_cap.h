/* SPDX-License-Identifier: GPL-2.0 */
/*
 * host_cap.h: the one rule for a unit test that cannot get what it needs
 * from the kernel (a BPF object that does not load, a program that does not
 * attach, a namespace that cannot be made).
 *
 * Only a missing host capability may skip: EPERM (not root, no CAP_BPF or
 * CAP_NET_ADMIN, a locked-down kernel, a container that refuses it), or
 * EACCES when the test does not run as root. Everything else fails: as
 * root, EACCES or EINVAL from a load is the verifier rejecting the program,
 * and a regression must never pass as a skip. A skip prints its reason on a
 * line of its own, "SKIP(host): ...", which tests/run requires of every
 * skipped test.
 *
 * Include after <cmocka.h>. In a fixture, record the first error and what
 * was being done; in each test, skip_unless_host_capability(err, what).
 * libbpf_set_print(host_cap_libbpf_log) keeps libbpf's warnings (the
 * verifier's log among them) quiet, to be printed when a load fails.
 */
#ifndef DSM_TESTS_HOST_CAP_H
#define DSM_TESTS_HOST_CAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

/* The last warnings libbpf printed (the end of a verifier log). */
static char host_cap_log_buf[4096];
static bool host_cap_log_shown;

static inline int host_cap_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t have = strlen(host_cap_log_buf), add, room = sizeof(host_cap_log_buf) - 1;
	char *msg = NULL;
	va_list aq;
	int n;

	if (level != LIBBPF_WARN)
		return 0;
	/* one message may be the whole verifier log: keep its end */
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n <= 0 || !(msg = malloc((size_t)n + 1)))
		return 0;
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	add = (size_t)n < room ? (size_t)n : room;
	if (have + add > room) {
		size_t drop = have + add - room;

		memmove(host_cap_log_buf, host_cap_log_buf + drop, have - drop + 1);
		have -= drop;
	}
	memcpy(host_cap_log_buf + have, msg + (size_t)n - add, add + 1);
	free(msg);
	return 0;
}

/* Does err (an errno, either sign) mean the host refuses this process? */
static inline bool host_capability_error(int err)
{
	if (err < 0)
		err = -err;
	return err == EPERM || (err == EACCES && geteuid() != 0);
}

static inline void host_cap_skip_(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

static inline void host_cap_skip_(const char *file, int line, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	print_message("SKIP(host): %s\n", why);
	_skip(file, line);
	__builtin_unreachable();
}

/* skip_host(FMT, ...): skip this test because the host lacks what it needs
 * (not root, no loopback device in a namespace), saying what. */
#define skip_host(...) host_cap_skip_(__FILE__, __LINE__, __VA_ARGS__)

static inline void host_cap_check_(const char *file, int line, int err, const char *what)
{
	int e = err < 0 ? -err : err;

	if (!e)
		return;
	if (host_capability_error(e))
		host_cap_skip_(file, line, "%s: %s (%s)", what, strerror(e),
			       geteuid() ? "not root" :
			       "root, but the kernel refuses: a missing capability, lockdown or a container");
	print_error("ERROR: %s: %s (error %d): not a missing host capability, so a failure\n",
		    what, strerror(e), e);
	if (host_cap_log_buf[0] && !host_cap_log_shown) {
		const char *p = host_cap_log_buf, *nl;

		/* line by line: cmocka's messages are short */
		print_error("libbpf said (last lines):\n");
		if (strlen(host_cap_log_buf) == sizeof(host_cap_log_buf) - 1 && (nl = strchr(p, '\n')))
			p = nl + 1; /* the first line was cut */
		for (; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl) {
				print_error("%s\n", p);
				break;
			}
			print_error("%.*s\n", (int)(nl - p), p);
		}
		host_cap_log_shown = true;
	}
	_fail(file, line);
}

/* skip_unless_host_capability(err, what): nothing if err is 0; a skip with
 * its reason if err is a missing host capability; otherwise a failure. */
#define skip_unless_host_capability(err, what) host_cap_check_(__FILE__, __LINE__, (err), (what))

#endif /* DSM_TESTS_HOST_CAP_H */
