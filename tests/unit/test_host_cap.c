// SPDX-License-Identifier: GPL-2.0
/*
 * host_cap.h, the rule every unit test that needs the kernel follows: a
 * missing host capability skips with its reason, anything else fails.
 * Each case runs a one-test cmocka group in a child (this binary again,
 * with the case's name) and checks its summary and exit status, so a
 * verifier rejection (EACCES or EINVAL as root) is seen to fail, not skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "host_cap.h"

/* ---- the child's cases -------------------------------------------------- */

static void child_ok(void **state)
{
	(void)state;
	skip_unless_host_capability(0, "nothing wrong");
}

static void child_eperm(void **state)
{
	(void)state;
	skip_unless_host_capability(-EPERM, "loading an object");
	fail_msg("went on after a skip");
}

static void child_eacces(void **state)
{
	(void)state;
	skip_unless_host_capability(-EACCES, "loading an object");
}

static void child_einval(void **state)
{
	(void)state;
	skip_unless_host_capability(-EINVAL, "attaching a program");
}

static void child_positive_errno(void **state)
{
	(void)state;
	skip_unless_host_capability(ENOENT, "opening a pin");
}

static void libbpf_says(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_cap_libbpf_log(LIBBPF_WARN, fmt, ap);
	va_end(ap);
}

/* A load that fails shows the end of what libbpf said (the verifier's log),
 * however long it was. */
static void child_libbpf_log(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		libbpf_says("%d: (85) call bpf_probe_read_kernel#113\n", i);
	libbpf_says("R1 invalid mem access '%s'\n", "scalar");
	skip_unless_host_capability(-EINVAL, "loading an object");
}

static void child_skip_host(void **state)
{
	(void)state;
	skip_host("no loopback device in this network namespace");
}

static const struct CMUnitTest child_cases[] = {
	cmocka_unit_test(child_ok),
	cmocka_unit_test(child_eperm),
	cmocka_unit_test(child_eacces),
	cmocka_unit_test(child_einval),
	cmocka_unit_test(child_positive_errno),
	cmocka_unit_test(child_skip_host),
	cmocka_unit_test(child_libbpf_log),
};

static int run_child(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(child_cases) / sizeof(child_cases[0]); i++)
		if (!strcmp(child_cases[i].name, name))
			return _cmocka_run_group_tests(name, &child_cases[i], 1, NULL, NULL);
	fprintf(stderr, "test_host_cap: no case %s\n", name);
	return 2;
}

/* ---- the parent's checks ------------------------------------------------ */

struct outcome {
	int status;      /* the child's exit status */
	char out[8192];  /* its stdout and stderr */
};

static void run_case(const char *name, struct outcome *o)
{
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		setenv("CMOCKA_MESSAGE_OUTPUT", "stdout", 1);
		execl("/proc/self/exe", "test_host_cap", "--case", name, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (len < sizeof(o->out) - 1 && (n = read(fds[0], o->out + len, sizeof(o->out) - 1 - len)) > 0)
		len += (size_t)n;
	o->out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	o->status = WEXITSTATUS(status);
}

static void expect_skip(const char *name, const char *reason)
{
	struct outcome o;

	run_case(name, &o);
	if (o.status != 0 || !strstr(o.out, "[  SKIPPED ] 1 test(s)") || !strstr(o.out, reason))
		fail_msg("%s: want a skip saying '%s', got exit %d:\n%s", name, reason, o.status, o.out);
	assert_null(strstr(o.out, "[  FAILED  ]"));
}

static void expect_failure(const char *name, const char *message)
{
	struct outcome o;

	run_case(name, &o);
	if (o.status != 1 || !strstr(o.out, "[  FAILED  ] 1 test(s)") || !strstr(o.out, message))
		fail_msg("%s: want a failure saying '%s', got exit %d:\n%s", name, message, o.status, o.out);
	assert_null(strstr(o.out, "SKIP(host)"));
	assert_null(strstr(o.out, "[  SKIPPED ]"));
}

static void test_no_error_passes(void **state)
{
	struct outcome o;

	(void)state;
	run_case("child_ok", &o);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.out, "[  PASSED  ] 1 test(s)"));
	assert_null(strstr(o.out, "SKIP"));
}

static void test_eperm_skips_with_reason(void **state)
{
	(void)state;
	expect_skip("child_eperm", "SKIP(host): loading an object: Operation not permitted (");
}

/* As root EACCES is the verifier's answer: a failure. Without root it is
 * the kernel refusing an unprivileged load: a skip. */
static void test_eacces_fails_as_root(void **state)
{
	(void)state;
	if (geteuid() == 0)
		expect_failure("child_eacces", "loading an object: Permission denied (error 13)");
	else
		expect_skip("child_eacces", "SKIP(host): loading an object: Permission denied (not root)");
}

static void test_einval_fails(void **state)
{
	(void)state;
	expect_failure("child_einval", "attaching a program: Invalid argument (error 22)");
}

static void test_positive_errno_fails(void **state)
{
	(void)state;
	expect_failure("child_positive_errno", "opening a pin: No such file or directory (error 2)");
}

static void test_skip_host_says_why(void **state)
{
	(void)state;
	expect_skip("child_skip_host", "SKIP(host): no loopback device in this network namespace\n");
}

static void test_failure_shows_libbpf_log(void **state)
{
	(void)state;
	expect_failure("child_libbpf_log", "libbpf said (last lines):");
	expect_failure("child_libbpf_log", "999: (85) call bpf_probe_read_kernel#113\nR1 invalid mem access 'scalar'\n");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_error_passes),
		cmocka_unit_test(test_eperm_skips_with_reason),
		cmocka_unit_test(test_eacces_fails_as_root),
		cmocka_unit_test(test_einval_fails),
		cmocka_unit_test(test_positive_errno_fails),
		cmocka_unit_test(test_skip_host_says_why),
		cmocka_unit_test(test_failure_shows_libbpf_log),
	};

	if (argc == 3 && !strcmp(argv[1], "--case"))
		return run_child(argv[2]);
	return cmocka_run_group_tests_name("host_cap", tests, NULL, NULL);
}
