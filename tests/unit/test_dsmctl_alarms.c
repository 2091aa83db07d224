// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl alarms reading dsmd's stream (request `alarms`) from a fake
 * daemon in a thread: records as text and as JSON lines, the header and
 * trailer kept out of the output, a note on records dropped, an error
 * answer (a refused permission), a stream that ends early, and no daemon
 * at all (exit 3).
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
#undef READ_CHUNK
#include "../../dsmctl/cmd_alarms.c"
#include "../../dsmctl/cmd_explain.c" /* alarms --suggest loads the policy */
#include "../../dsmctl/cmd_suggest.c"
#include "../../dsmctl/common.c"
#include "../../dsmctl/format.c"
#include "../../dsmctl/server_client.c" /* alarms --cluster */
#include "dsmctl_run.h"

void dsmctl_usage(FILE *out)
{
	fputs("usage\n", out);
}

#define REC1 "{\"time\":\"2026-11-27T06:30:00.123456Z\",\"node\":\"node1\",\"node_id\":1," \
	     "\"pid\":812,\"comm\":\"nc\",\"subject\":\"web\",\"target\":\"db\"," \
	     "\"class\":\"socket\",\"perm\":\"connect\",\"verdict\":\"deny\"}"
#define REC2 "{\"time\":\"2026-11-27T06:30:01.000000Z\",\"node\":\"node1\",\"node_id\":1," \
	     "\"subject\":\"a\",\"target\":\"dsmd\",\"class\":\"dsm\",\"perm\":\"admin\"," \
	     "\"verdict\":\"deny\",\"suppressed\":90}"

struct run {
	int status;
	char out[4096], err[4096];
};

/* dsmctl alarms ARGS against a daemon that answers answer (NULL: none). */
static void alarms(struct run *r, const char *answer, const char *arg, char *request)
{
	char dir[] = "/tmp/dsmctl-alarms-XXXXXX", sock[128];
	const struct dsmctl_global g = { .socket = sock };
	char *argv[3] = { "alarms", (char *)arg, NULL };
	struct fake_dsmd f;

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/dsmd.sock", dir);
	fake_dsmd_start(&f, sock, answer);
	r->status = dsmctl_run_captured(dsmctl_cmd_alarms, &g, arg ? 2 : 1, argv, r->out,
					sizeof(r->out), r->err, sizeof(r->err));
	fake_dsmd_stop(&f);
	if (answer && request)
		strcpy(request, f.request);
	unlink(sock);
	rmdir(dir);
}

static void test_stream_as_text(void **state)
{
	struct run r;
	char req[256];
	(void)state;

	alarms(&r, "{\"stream\":\"alarms\",\"follow\":false}\n" REC1 "\n" REC2 "\n"
		   "{\"end\":\"alarms\",\"lost_files\":0}\n", NULL, req);
	assert_string_equal(req, "alarms\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
		"2026-11-27T06:30:00.123456Z node1 deny web -> db socket connect pid=812 comm=nc\n"
		"2026-11-27T06:30:01.000000Z node1 deny a -> dsmd dsm admin "
		"(90 more not logged: rate limit)\n");
	assert_string_equal(r.err, "");
}

static void test_stream_as_json(void **state)
{
	struct run r;
	(void)state;

	alarms(&r, "{\"stream\":\"alarms\",\"follow\":false}\n" REC1 "\n{\"dropped\":3}\n"
		   "{\"end\":\"alarms\",\"lost_files\":1}\n", "--json", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, REC1 "\n");
	assert_non_null(strstr(r.err, "dsmctl: alarms: 3 alarm(s) not delivered"));
	assert_non_null(strstr(r.err, "dsmctl: alarms: 1 rotated log file(s) went"));
}

static void test_refused(void **state)
{
	struct run r;
	(void)state;

	alarms(&r, "{\"error\":\"alarms: permission denied (your label has no dsm query on "
		   "dsmd)\"}", NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "dsmctl: alarms: permission denied (your label has no dsm "
				   "query on dsmd)\n");
}

static void test_ended_early(void **state)
{
	struct run r;
	(void)state;

	alarms(&r, "{\"stream\":\"alarms\",\"follow\":false}\n" REC1 "\n", NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_non_null(strstr(r.out, "deny web -> db"));
	assert_string_equal(r.err, "dsmctl: alarms: dsmd ended the stream before its end "
				   "(stopped?)\n");
}

static void test_no_header(void **state)
{
	struct run r;
	(void)state;

	alarms(&r, "{\"ok\":true}", NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_non_null(strstr(r.err, "no stream header"));
}

static void test_no_daemon(void **state)
{
	struct run r;
	(void)state;

	alarms(&r, NULL, NULL, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_NOT_RUNNING);
	assert_non_null(strstr(r.err, "(is dsmd running?)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_as_text),
		cmocka_unit_test(test_stream_as_json),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ended_early),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_no_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
