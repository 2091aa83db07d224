// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl's text output: the status report, the ps table and alarm lines,
 * byte for byte, from the JSON the daemon sends (or leaves out).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../dsmctl/format.c"

typedef int (*format_fn)(FILE *out, const struct json_object *o);

/* Parse json, run fn on it, return what it wrote (malloc()ed) and its
 * return value in *ret. */
static char *render(format_fn fn, const char *json, int *ret)
{
	struct json_object *o = json_tokener_parse(json);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(o);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	*ret = fn(f, o);
	assert_int_equal(fclose(f), 0);
	json_object_put(o);
	return buf;
}

static void expect_output(format_fn fn, const char *json, const char *want)
{
	int ret;
	char *got = render(fn, json, &ret);

	assert_int_equal(ret, 0);
	assert_string_equal(got, want);
	free(got);
}

static void expect_failure(format_fn fn, const char *json)
{
	int ret;
	char *got = render(fn, json, &ret);

	assert_int_equal(ret, -1);
	assert_string_equal(got, "");
	free(got);
}

/* ---- status ------------------------------------------------------------- */

static const char STATUS[] =
	"{\"pid\":123,\"node\":{\"id\":1,\"name\":\"node1\"},\"mode\":\"enforcing\","
	"\"takeover\":false,\"policy\":{\"name\":\"cluster\",\"version\":3,\"labels\":7,"
	"\"entries\":42,\"source\":\"/etc/dsm/cluster.policy\"},"
	"\"counters\":{\"denied\":5,\"permissive\":0,\"events_dropped\":0,\"errors\":0},"
	"\"packets\":{\"labeled\":10,\"not_labeled\":2,\"local\":3},"
	"\"alarms\":[{\"subject\":\"web\",\"target\":\"db\",\"class\":\"socket\","
	"\"perm\":\"connect\",\"verdict\":\"deny\",\"count\":3},"
	"{\"subject_id\":555,\"target\":\"database\",\"target_id\":301,\"class\":\"process\","
	"\"perm\":\"signal\",\"verdict\":\"permissive\",\"count\":12},"
	"{\"subject\":\"api\",\"target\":\"db\",\"class\":\"socket\","
	"\"perm\":\"connect\",\"verdict\":\"deny\",\"count\":3}]}";

static void test_status_report(void **state)
{
	(void)state;
	expect_output(dsmctl_format_status, STATUS,
		"node            node1 (id 1)\n"
		"dsmd pid        123\n"
		"mode            enforcing\n"
		"takeover        no\n"
		"policy          cluster version 3 (7 labels, 42 entries)\n"
		"policy source   /etc/dsm/cluster.policy\n"
		"counters        denied 5, permissive 0, events dropped 0, errors 0\n"
		"packets         labeled 10, not labeled 2, local 3\n"
		"\n"
		"COUNT  VERDICT     SUBJECT  TARGET    CLASS    PERM\n"
		"   12  permissive  555      database  process  signal\n"
		"    3  deny        api      db        socket   connect\n"
		"    3  deny        web      db        socket   connect\n");
}

static void test_status_missing_fields(void **state)
{
	(void)state;
	expect_output(dsmctl_format_status, "{}",
		"node            ? (id ?)\n"
		"dsmd pid        ?\n"
		"mode            ?\n"
		"takeover        ?\n"
		"policy          none\n"
		"counters        unavailable\n"
		"packets         unavailable\n"
		"alarms          none\n");
	expect_output(dsmctl_format_status,
		"{\"pid\":7,\"node\":{\"id\":2},\"mode\":\"permissive\",\"takeover\":true,"
		"\"policy\":{\"name\":\"p\"},\"counters\":{},\"alarms\":[]}",
		"node            ? (id 2)\n"
		"dsmd pid        7\n"
		"mode            permissive\n"
		"takeover        yes\n"
		"policy          p version ? (? labels, ? entries)\n"
		"counters        unavailable\n"
		"packets         unavailable\n"
		"alarms          none\n");
	expect_output(dsmctl_format_status,
		"{\"policy\":null,\"alarms\":[{}]}",
		"node            ? (id ?)\n"
		"dsmd pid        ?\n"
		"mode            ?\n"
		"takeover        ?\n"
		"policy          none\n"
		"counters        unavailable\n"
		"packets         unavailable\n"
		"\n"
		"COUNT  VERDICT  SUBJECT  TARGET  CLASS  PERM\n"
		"    ?  ?        ?        ?       ?      ?\n");
}

static void test_status_large_and_new_counters(void **state)
{
	(void)state;
	expect_output(dsmctl_format_status,
		"{\"counters\":{\"denied\":18446744073709551615,\"errors\":-1,"
		"\"new_thing\":\"x\"}}",
		"node            ? (id ?)\n"
		"dsmd pid        ?\n"
		"mode            ?\n"
		"takeover        ?\n"
		"policy          none\n"
		"counters        denied 18446744073709551615, errors -1, new thing ?\n"
		"packets         unavailable\n"
		"alarms          none\n");
}

static void test_status_not_object(void **state)
{
	(void)state;
	expect_failure(dsmctl_format_status, "[1,2]");
	expect_failure(dsmctl_format_status, "\"status\"");
}

static void test_status_control_chars(void **state)
{
	(void)state;
	expect_output(dsmctl_format_status,
		"{\"node\":{\"id\":1,\"name\":\"n\\u001b[2J\"},\"mode\":\"a\\nb\","
		"\"alarms\":[{\"subject\":\"w\\te\",\"count\":1}]}",
		"node            n?[2J (id 1)\n"
		"dsmd pid        ?\n"
		"mode            a?b\n"
		"takeover        ?\n"
		"policy          none\n"
		"counters        unavailable\n"
		"packets         unavailable\n"
		"\n"
		"COUNT  VERDICT  SUBJECT  TARGET  CLASS  PERM\n"
		"    1  ?        w?e      ?       ?      ?\n");
}

/* ---- ps ----------------------------------------------------------------- */

static void test_ps_table(void **state)
{
	(void)state;
	expect_output(dsmctl_format_ps,
		"{\"processes\":[{\"pid\":812,\"label\":\"web\",\"label_id\":100,\"comm\":\"nginx\"},"
		"{\"pid\":1,\"label\":\"unconfined\",\"label_id\":1,\"comm\":\"init\"},"
		"{\"pid\":40000,\"label_id\":77,\"comm\":\"kworker/0:1\"}]}",
		"  PID  LABEL       COMM\n"
		"    1  unconfined  init\n"
		"  812  web         nginx\n"
		"40000  77          kworker/0:1\n");
}

static void test_ps_odd_entries(void **state)
{
	(void)state;
	/* No pid sorts last; missing label and comm; comm with an escape. */
	expect_output(dsmctl_format_ps,
		"{\"processes\":[{\"label\":\"x\"},{\"pid\":2,\"comm\":\"a\\u001bb\"},{}]}",
		"PID  LABEL  COMM\n"
		"  2  ?      a?b\n"
		"  ?  ?      ?\n"
		"  ?  x      ?\n");
	expect_output(dsmctl_format_ps, "{\"processes\":[]}", "PID  LABEL  COMM\n");
}

static void test_ps_utf8_width(void **state)
{
	(void)state;
	/* "é" is two bytes, one column. */
	expect_output(dsmctl_format_ps,
		"{\"processes\":[{\"pid\":1,\"label\":\"caf\\u00e9\",\"comm\":\"a\"},"
		"{\"pid\":2,\"label\":\"abcd\",\"comm\":\"b\"}]}",
		"PID  LABEL  COMM\n"
		"  1  caf\xc3\xa9   a\n"
		"  2  abcd   b\n");
}

static void test_ps_bad_answer(void **state)
{
	(void)state;
	expect_failure(dsmctl_format_ps, "{}");
	expect_failure(dsmctl_format_ps, "{\"processes\":{}}");
	expect_failure(dsmctl_format_ps, "[]");
}

/* ---- alarms ------------------------------------------------------------- */

static void test_alarm_line(void **state)
{
	(void)state;
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"2026-11-27T06:30:00.123456Z\",\"node\":\"node1\",\"node_id\":1,"
		"\"pid\":812,\"tid\":812,\"comm\":\"nc\",\"subject\":\"web\",\"subject_id\":100,"
		"\"subject_node\":\"node1\",\"target\":\"db\",\"target_id\":300,"
		"\"class\":\"socket\",\"perm\":\"connect\",\"verdict\":\"deny\",\"errno\":13,"
		"\"aux\":524}",
		"2026-11-27T06:30:00.123456Z node1 deny web -> db socket connect pid=812 comm=nc\n");
}

static void test_alarm_permissive_remote_ids(void **state)
{
	(void)state;
	/* A peer on another node, names unknown: ids. */
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"T\",\"node\":\"node1\",\"pid\":9,\"comm\":\"curl\","
		"\"subject_id\":555,\"subject_node\":\"node2\",\"target_id\":300,"
		"\"class\":\"peer\",\"perm\":\"recv\",\"verdict\":\"permissive\"}",
		"T node1 permissive 555@node2 -> 300 peer recv pid=9 comm=curl\n");
	/* Node by id; unknown class and permission; no comm. */
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"T\",\"node_id\":4,\"subject\":\"a\",\"target\":\"b\","
		"\"verdict\":\"deny\",\"pid\":1}",
		"T 4 deny a -> b ? ? pid=1\n");
	/* A packet refused on receipt: its source and why, no pid or comm. */
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"T\",\"node\":\"node3\",\"pid\":0,\"comm\":\"swapper/0\","
		"\"subject\":\"web\",\"subject_node\":\"node1\",\"target\":\"db\","
		"\"class\":\"peer\",\"perm\":\"recv\",\"verdict\":\"deny\","
		"\"saddr\":\"10.77.0.1\",\"reason\":\"forged\"}",
		"T node3 deny web@node1 -> db peer recv from 10.77.0.1 (forged)\n");
}

/* A unix peer (the sender is the process on the CPU), and a record that
 * stands for alarms the rate limit held back. */
static void test_alarm_unix_and_suppressed(void **state)
{
	(void)state;
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"T\",\"node\":\"node1\",\"pid\":7,\"comm\":\"logger\","
		"\"subject\":\"web\",\"subject_node\":\"node1\",\"target\":\"dsmd\","
		"\"class\":\"peer\",\"perm\":\"recv\",\"verdict\":\"deny\",\"family\":\"unix\","
		"\"reason\":\"policy\"}",
		"T node1 deny web -> dsmd peer recv over unix pid=7 comm=logger\n");
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"T\",\"node\":\"node1\",\"subject\":\"a\",\"target\":\"dsmd\","
		"\"class\":\"dsm\",\"perm\":\"admin\",\"verdict\":\"deny\",\"suppressed\":190}",
		"T node1 deny a -> dsmd dsm admin (190 more not logged: rate limit)\n");
}

/* The server's record of alarms a node lost: an alarm of its own, not a
 * malformed record. */
static void test_alarm_lost_at_node(void **state)
{
	(void)state;
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"T\",\"node\":\"node2\",\"verdict\":\"lost\",\"dropped\":12}",
		"T node2 lost 12 alarms (the node counted them, they never reached the server)\n");
}

/* dsmd's bookkeeping lines, when it sends them. */
static void test_status_bookkeeping(void **state)
{
	(void)state;
	expect_output(dsmctl_format_status,
		"{\"pid\":1,\"node\":{\"id\":1,\"name\":\"n\"},\"mode\":\"enforcing\","
		"\"takeover\":false,\"alarm_log\":{\"written\":15,\"suppressed\":190,"
		"\"write_errors\":0,\"rotations\":2,\"bytes\":4812,\"max_bytes\":8388608},"
		"\"control\":{\"clients\":1,\"turned_away\":24},\"alarms\":[]}",
		"node            n (id 1)\n"
		"dsmd pid        1\n"
		"mode            enforcing\n"
		"takeover        no\n"
		"policy          none\n"
		"counters        unavailable\n"
		"packets         unavailable\n"
		"alarm log       15 written, 190 not logged (rate limit), 0 write errors, 2 rotations, "
		"4812 of 8388608 bytes\n"
		"control         clients 1, turned away 24\n"
		"alarms          none\n");
}

static void test_alarm_control_chars(void **state)
{
	(void)state;
	expect_output(dsmctl_format_alarm,
		"{\"time\":\"T\",\"node\":\"n\",\"subject\":\"a\",\"target\":\"b\",\"class\":\"file\","
		"\"perm\":\"exec\",\"verdict\":\"deny\",\"pid\":3,\"comm\":\"x\\u001b]0;y\\u0007\"}",
		"T n deny a -> b file exec pid=3 comm=x?]0;y?\n");
}

static void test_alarm_malformed(void **state)
{
	(void)state;
	expect_failure(dsmctl_format_alarm, "{}");
	expect_failure(dsmctl_format_alarm, "{\"time\":\"T\"}");
	expect_failure(dsmctl_format_alarm, "{\"verdict\":\"deny\"}");
	expect_failure(dsmctl_format_alarm, "{\"time\":1,\"verdict\":\"deny\"}");
	expect_failure(dsmctl_format_alarm, "[\"time\",\"verdict\"]");
}

/* ---- JSON ----------------------------------------------------------------- */

static int print_json_const(FILE *out, const struct json_object *o)
{
	return dsmctl_print_json(out, (struct json_object *)o);
}

static void test_print_json(void **state)
{
	(void)state;
	expect_output(print_json_const, "{\"ok\":true,\"path\":\"/run/dsm\",\"n\":[1]}",
		"{\n"
		"  \"ok\": true,\n"
		"  \"path\": \"/run/dsm\",\n"
		"  \"n\": [\n"
		"    1\n"
		"  ]\n"
		"}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_report),
		cmocka_unit_test(test_status_missing_fields),
		cmocka_unit_test(test_status_large_and_new_counters),
		cmocka_unit_test(test_status_not_object),
		cmocka_unit_test(test_status_control_chars),
		cmocka_unit_test(test_ps_table),
		cmocka_unit_test(test_ps_odd_entries),
		cmocka_unit_test(test_ps_utf8_width),
		cmocka_unit_test(test_ps_bad_answer),
		cmocka_unit_test(test_alarm_line),
		cmocka_unit_test(test_alarm_permissive_remote_ids),
		cmocka_unit_test(test_alarm_control_chars),
		cmocka_unit_test(test_alarm_unix_and_suppressed),
		cmocka_unit_test(test_alarm_lost_at_node),
		cmocka_unit_test(test_status_bookkeeping),
		cmocka_unit_test(test_alarm_malformed),
		cmocka_unit_test(test_print_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
