// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl stats against a fake dsmd in a thread: the request, the three
 * outputs (lines, --json, --prometheus exactly as sent), names and label
 * values made safe for the terminal, the usage error for both options,
 * an answer without metrics, an error answer and a dsmd that is not
 * running.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmctl/client.c"
#include "../../dsmctl/cmd_stats.c"
#include "../../dsmctl/common.c"
#include "../../dsmctl/format.c"
#include "dsmctl_run.h"

void dsmctl_usage(FILE *out)
{
	fputs("usage\n", out);
}

#define TEXT "# HELP dsm_up Up.\\n# TYPE dsm_up gauge\\ndsm_up 1\\n"
#define ANSWER "{\"metrics\":[" \
	"{\"name\":\"dsm_up\",\"type\":\"gauge\",\"help\":\"Up.\"," \
	"\"samples\":[{\"labels\":{},\"value\":1}]}," \
	"{\"name\":\"dsm_packets_total\",\"type\":\"counter\",\"help\":\"P.\"," \
	"\"samples\":[{\"labels\":{\"direction\":\"ingress\",\"outcome\":\"forged\"}," \
	"\"value\":18446744073709551615}," \
	"{\"labels\":{\"name\":\"a\\u001b[31mb\"},\"value\":2}]}]," \
	"\"prometheus\":\"" TEXT "\"}"

struct run {
	int status;
	char out[8192], err[4096], request[256];
};

/* dsmctl stats [ARG ARG2] against a daemon that answers answer (NULL: none). */
static void stats(struct run *r, const char *answer, const char *arg, const char *arg2)
{
	char dir[] = "/tmp/dsmctl-stats-XXXXXX", sock[128];
	const struct dsmctl_global g = { .socket = sock };
	char *argv[4] = { "stats", (char *)arg, (char *)arg2, NULL };
	struct fake_dsmd f;

	memset(r, 0, sizeof(*r));
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/dsmd.sock", dir);
	fake_dsmd_start(&f, sock, answer);
	r->status = dsmctl_run_captured(dsmctl_cmd_stats, &g, arg2 ? 3 : arg ? 2 : 1, argv,
					r->out, sizeof(r->out), r->err, sizeof(r->err));
	/* a usage error never connects: let the fake go */
	if (answer && !f.request[0] && r->status == DSMCTL_EXIT_USAGE) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_int_equal(connect(c, (struct sockaddr *)&f.sa, sizeof(f.sa)), 0);
		assert_int_equal(write(c, "\n", 1), 1);
		fake_dsmd_stop(&f);
		close(c);
	} else if (answer) {
		fake_dsmd_stop(&f);
		strcpy(r->request, f.request);
	}
	unlink(sock);
	rmdir(dir);
}

static void test_lines(void **state)
{
	struct run r;

	(void)state;
	stats(&r, ANSWER, NULL, NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.request, "stats\n");
	/* a control character in a label value is not sent to the terminal */
	assert_string_equal(r.out,
		"dsm_up 1\n"
		"dsm_packets_total{direction=\"ingress\",outcome=\"forged\"} 18446744073709551615\n"
		"dsm_packets_total{name=\"a?[31mb\"} 2\n");
	assert_string_equal(r.err, "");
}

static void test_prometheus(void **state)
{
	struct run r;

	(void)state;
	stats(&r, ANSWER, "--prometheus", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "# HELP dsm_up Up.\n# TYPE dsm_up gauge\ndsm_up 1\n");
}

static void test_json(void **state)
{
	struct run r;
	json_object *o, *fams;

	(void)state;
	stats(&r, ANSWER, "--json", NULL);
	assert_int_equal(r.status, 0);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "metrics", &fams));
	assert_int_equal(json_object_array_length(fams), 2);
	assert_false(json_object_object_get_ex(o, "prometheus", NULL)); /* the metrics only */
	json_object_put(o);
}

static void test_refusals(void **state)
{
	struct run r;

	(void)state;
	stats(&r, ANSWER, "--json", "--prometheus");
	assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
	assert_non_null(strstr(r.err, "dsmctl: stats: --json or --prometheus, not both"));
	assert_string_equal(r.out, "");

	stats(&r, ANSWER, "--bogus", NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_USAGE);

	stats(&r, "{\"ok\":true}", NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_string_equal(r.err, "dsmctl: stats: unexpected answer from dsmd (no \"metrics\" list)\n");

	stats(&r, "{\"metrics\":[{\"name\":\"x\"}],\"prometheus\":\"\"}", NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_non_null(strstr(r.err, "a malformed metric"));

	stats(&r, "{\"error\":\"stats: permission denied\"}", NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_non_null(strstr(r.err, "permission denied"));

	stats(&r, NULL, NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_NOT_RUNNING);
	assert_string_equal(r.out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
