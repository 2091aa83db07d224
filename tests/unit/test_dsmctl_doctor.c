// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl doctor (dsmctl/cmd_doctor.c) on a scratch configuration: one line
 * per check in a fixed order, the file checks' verdicts and fixes, a
 * policy that does not compile, dsmd answering or not, --json, and exit 1
 * whenever a check fails. (The kernel checks' messages are
 * test_probe.c's; here they only take their places.)
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmctl/client.c"
#include "../../dsmctl/cmd_doctor.c"
#include "../../dsmctl/common.c"
#include "../../dsmctl/format.c"
#include "dsmctl_run.h"

void dsmctl_usage(FILE *out)
{
	fputs("usage\n", out);
}

struct fixture {
	char dir[64], config[96], sock[96], keys[128], pki[128], policy[128], state[96];
};

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

#define POLICY "policy t version 7;\nnode node1 = 1;\nlabel unconfined = 1;\ninitial unconfined;\n"

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dsmctl-doctor-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->config, sizeof(f->config), "%s/etc", f->dir);
	snprintf(f->sock, sizeof(f->sock), "%s/dsmd.sock", f->dir);
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->config);
	snprintf(f->pki, sizeof(f->pki), "%s/pki", f->config);
	snprintf(f->policy, sizeof(f->policy), "%s/dsm.policy", f->config);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	if (mkdir(f->config, 0700))
		return -1;
	put(f->policy, POLICY, 0600);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

struct run {
	int status;
	char out[8192], err[2048];
};

/* dsmctl doctor --config-dir CONFIG --server-state STATE [extra], with a
 * dsmd that answers answer (NULL: none listens). */
static void doctor(const struct fixture *fx, struct run *r, const char *answer, const char *extra)
{
	const struct dsmctl_global g = { .socket = fx->sock };
	char *argv[7] = { "doctor", "--config-dir", (char *)fx->config, "--server-state",
			  (char *)fx->state, (char *)extra, NULL };
	struct fake_dsmd f;

	fake_dsmd_start(&f, fx->sock, answer);
	r->status = dsmctl_run_captured(dsmctl_cmd_doctor, &g, extra ? 6 : 5, argv, r->out,
					sizeof(r->out), r->err, sizeof(r->err));
	fake_dsmd_stop(&f);
	if (answer)
		unlink(fx->sock);
}

/* The line of check name in the text output, without its newline. */
static const char *line_of(const struct run *r, const char *name, char *buf, size_t len)
{
	char pfx[32];

	for (const char *p = r->out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		snprintf(pfx, sizeof(pfx), "%-12s ", name);
		if (n > 6 && !strncmp(p + 6, pfx, strlen(pfx))) {
			snprintf(buf, len, "%.*s", (int)n, p);
			return buf;
		}
		p += n + (nl != NULL);
	}
	return "";
}

static void expect_line(const struct run *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void expect_line(const struct run *r, const char *name, const char *fmt, ...)
{
	char want[1024], got[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	assert_string_equal(line_of(r, name, got, sizeof(got)), want);
}

static void test_order_and_files(void **state)
{
	struct fixture *f = *state;
	const char *order[] = { "btf", "lsm", "config", "keys", "pki", "server-state", "policy",
				"dsmd" };
	const char *p;
	struct run r;
	unsigned me = (unsigned)geteuid();

	doctor(f, &r, NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL); /* no dsmd, at least */
	/* every check once, in this order (kernel between lsm and config) */
	p = r.out;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		char pfx[32];

		snprintf(pfx, sizeof(pfx), "  %-12s ", order[i]);
		p = strstr(p, pfx);
		assert_non_null(p);
	}
	if (me == 0)
		expect_line(&r, "config", "ok    config       %s: owner 0, mode 0700", f->config);
	else
		expect_line(&r, "config", "FAIL  config       %s is owned by uid %u, not 0: chown 0 %s",
			    f->config, me, f->config);
	expect_line(&r, "keys", "ok    keys         %s: absent", f->keys);
	expect_line(&r, "pki", "ok    pki          %s: absent", f->pki);
	expect_line(&r, "server-state", "ok    server-state %s: absent", f->state);
	expect_line(&r, "policy", "ok    policy       %s: policy 't' version 7, enforcing, 0 warnings",
		    f->policy);
	expect_line(&r, "dsmd", "FAIL  dsmd         cannot connect to dsmd at %s: No such file or "
		    "directory (is dsmd running?); start it (systemctl start dsmd)", f->sock);
	assert_non_null(strstr(r.err, "dsmctl: doctor: "));
	assert_non_null(strstr(r.err, " checks failed\n"));
}

static void test_open_files(void **state)
{
	struct fixture *f = *state;
	struct run r;

	if (geteuid() != 0) {
		print_message("SKIP(host): the file checks want root's files\n");
		skip();
	}
	put(f->keys, "key 1 00\n", 0640);
	assert_int_equal(mkdir(f->pki, 0755), 0);
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(chmod(f->config, 0750), 0);
	doctor(f, &r, NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	expect_line(&r, "config", "FAIL  config       %s has mode 0750: its group or others may use "
		    "it; chmod 0700 %s", f->config, f->config);
	expect_line(&r, "keys", "FAIL  keys         %s has mode 0640: its group or others may use "
		    "it; chmod 0600 %s", f->keys, f->keys);
	expect_line(&r, "pki", "FAIL  pki          %s has mode 0755: its group or others may use "
		    "it; chmod 0700 %s", f->pki, f->pki);
	expect_line(&r, "server-state", "ok    server-state %s: owner 0, mode 0700", f->state);
}

static void test_policy_error(void **state)
{
	struct fixture *f = *state;
	struct run r;
	char line[1024], want[512], other[160], opt[200];

	put(f->policy, "policy t version 7;\nbogus;\n", 0600);
	doctor(f, &r, NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	line_of(&r, "policy", line, sizeof(line));
	snprintf(want, sizeof(want), "FAIL  policy       %s does not compile (", f->policy);
	assert_true(!strncmp(line, want, strlen(want)));
	snprintf(want, sizeof(want), "): %s:", f->policy);
	assert_non_null(strstr(line, want));
	snprintf(want, sizeof(want), "; `dsmctl policy check %s` lists them", f->policy);
	assert_string_equal(line + strlen(line) - strlen(want), want);

	/* --policy names another file */
	snprintf(other, sizeof(other), "%s/other.policy", f->dir);
	put(other, POLICY, 0600);
	snprintf(opt, sizeof(opt), "--policy=%s", other);
	doctor(f, &r, NULL, opt);
	expect_line(&r, "policy", "ok    policy       %s: policy 't' version 7, enforcing, 0 warnings",
		    other);
}

static void test_dsmd_answers(void **state)
{
	struct fixture *f = *state;
	struct run r;

	doctor(f, &r, "{\"policy\":{\"name\":\"cluster\",\"version\":4}}", NULL);
	expect_line(&r, "dsmd", "ok    dsmd         dsmd answers on %s: policy 'cluster' version 4",
		    f->sock);
	/* a refusal still says dsmd runs */
	doctor(f, &r, "{\"error\":\"permission denied\"}", NULL);
	expect_line(&r, "dsmd", "ok    dsmd         dsmd answers on %s (and refused status: "
		    "permission denied)", f->sock);
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	struct json_object *o, *checks, *c, *v;
	struct run r;

	doctor(f, &r, NULL, "--json");
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "ok", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "checks", &checks));
	assert_true(json_object_array_length(checks) >= 8);
	c = json_object_array_get_idx(checks, json_object_array_length(checks) - 1);
	assert_true(json_object_object_get_ex(c, "check", &v));
	assert_string_equal(json_object_get_string(v), "dsmd");
	assert_true(json_object_object_get_ex(c, "ok", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(c, "message", &v));
	assert_non_null(strstr(json_object_get_string(v), "cannot connect to dsmd"));
	json_object_put(o);
}

static void test_usage(void **state)
{
	struct fixture *f = *state;
	struct run r;

	doctor(f, &r, NULL, "--bogus");
	assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "dsmctl: doctor: unknown option '--bogus' (see dsmctl --help)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsmd_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
