// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus text format writer (lib/prom.h): the exact bytes of
 * families and samples, escaping, the name rules it refuses, and the JSON
 * it keeps alongside.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "prom.h"

static void test_exact_text(void **state)
{
	struct prom_buf b;
	const struct prom_label pkt[] = {
		{ "direction", "ingress" }, { "outcome", "forged" }, { "action", "drop" },
	};
	const struct prom_label v = { "verdict", "deny" };

	(void)state;
	prom_init(&b);
	assert_int_equal(prom_family(&b, "dsm_packets_total", PROM_COUNTER,
				     "Packets by direction and outcome."), 0);
	assert_int_equal(prom_sample(&b, pkt, 3, 7), 0);
	assert_int_equal(prom_sample(&b, &v, 1, UINT64_MAX), 0);
	assert_int_equal(prom_one(&b, "dsm_up", PROM_GAUGE, "1 while dsmd runs.", 1), 0);
	assert_int_equal(prom_family(&b, "dsm_offset_seconds", PROM_GAUGE, "An offset."), 0);
	assert_int_equal(prom_sample_signed(&b, NULL, 0, -5), 0);
	assert_string_equal(b.data,
		"# HELP dsm_packets_total Packets by direction and outcome.\n"
		"# TYPE dsm_packets_total counter\n"
		"dsm_packets_total{direction=\"ingress\",outcome=\"forged\",action=\"drop\"} 7\n"
		"dsm_packets_total{verdict=\"deny\"} 18446744073709551615\n"
		"# HELP dsm_up 1 while dsmd runs.\n"
		"# TYPE dsm_up gauge\n"
		"dsm_up 1\n"
		"# HELP dsm_offset_seconds An offset.\n"
		"# TYPE dsm_offset_seconds gauge\n"
		"dsm_offset_seconds -5\n");
	assert_int_equal(b.len, strlen(b.data));
	assert_int_equal(b.err, 0);
	prom_free(&b);
}

static void test_escaping(void **state)
{
	struct prom_buf b;
	const struct prom_label l[] = { { "label", "a\\b\"c\nd" }, { "empty", "" } };

	(void)state;
	prom_init(&b);
	prom_family(&b, "dsm_x_total", PROM_COUNTER, "Help with \\ and \"quotes\"\nand a line.");
	prom_sample(&b, l, 2, 0);
	assert_int_equal(b.err, 0);
	/* HELP escapes \ and newline only; label values \, " and newline. */
	assert_string_equal(b.data,
		"# HELP dsm_x_total Help with \\\\ and \"quotes\"\\nand a line.\n"
		"# TYPE dsm_x_total counter\n"
		"dsm_x_total{label=\"a\\\\b\\\"c\\nd\",empty=\"\"} 0\n");
	prom_free(&b);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(prom_name_valid("dsm_denials_total", PROM_COUNTER));
	assert_true(prom_name_valid("dsm_a:b_total", PROM_COUNTER));
	assert_true(prom_name_valid("dsm_policy_version", PROM_GAUGE));
	assert_false(prom_name_valid("dsm_denials", PROM_COUNTER));      /* no _total */
	assert_false(prom_name_valid("dsm_total", PROM_COUNTER));        /* nothing before */
	assert_false(prom_name_valid("dsm_up_total", PROM_GAUGE));       /* a gauge */
	assert_false(prom_name_valid("node_up", PROM_GAUGE));            /* not dsm_ */
	assert_false(prom_name_valid("dsm_", PROM_GAUGE));
	assert_false(prom_name_valid("dsm_a-b", PROM_GAUGE));
	assert_false(prom_name_valid("dsm_a b", PROM_GAUGE));
	assert_false(prom_name_valid("dsm_é", PROM_GAUGE));
	assert_false(prom_name_valid(NULL, PROM_GAUGE));
	assert_true(prom_label_name_valid("class"));
	assert_true(prom_label_name_valid("_x9"));
	assert_false(prom_label_name_valid("__name__"));
	assert_false(prom_label_name_valid("9x"));
	assert_false(prom_label_name_valid("a:b"));
	assert_false(prom_label_name_valid(""));
}

/* The first mistake is kept, and nothing is written after it. */
static void test_errors_stick(void **state)
{
	struct prom_buf b;
	const struct prom_label bad = { "__x", "v" };
	const struct prom_label dup[] = { { "a", "1" }, { "a", "2" } };
	const struct prom_label noval = { "a", NULL };
	size_t len;

	(void)state;
	prom_init(&b);
	assert_int_equal(prom_sample(&b, NULL, 0, 1), -EINVAL); /* no family yet */
	prom_free(&b);

	prom_init(&b);
	assert_int_equal(prom_one(&b, "dsm_a_total", PROM_COUNTER, "A.", 1), 0);
	len = b.len;
	assert_int_equal(prom_sample(&b, &bad, 1, 2), -EINVAL);
	assert_int_equal(b.len, len);
	assert_int_equal(prom_one(&b, "dsm_b_total", PROM_COUNTER, "B.", 1), -EINVAL);
	assert_int_equal(b.len, len);
	prom_free(&b);

	prom_init(&b);
	prom_family(&b, "dsm_a_total", PROM_COUNTER, "A.");
	assert_int_equal(prom_sample(&b, dup, 2, 1), -EINVAL);
	prom_free(&b);

	prom_init(&b);
	prom_family(&b, "dsm_a_total", PROM_COUNTER, "A.");
	assert_int_equal(prom_sample(&b, &noval, 1, 1), -EINVAL);
	prom_free(&b);

	prom_init(&b);
	prom_one(&b, "dsm_a_total", PROM_COUNTER, "A.", 1);
	assert_int_equal(prom_family(&b, "dsm_a_total", PROM_COUNTER, "A."), -EINVAL);
	prom_free(&b);

	prom_init(&b);
	prom_family(&b, "dsm_a_total", PROM_COUNTER, "A.");
	assert_int_equal(prom_sample_signed(&b, NULL, 0, -1), -EINVAL); /* a counter */
	prom_free(&b);

	prom_init(&b);
	assert_int_equal(prom_family(&b, "dsm_a", PROM_GAUGE, ""), -EINVAL); /* no help */
	prom_free(&b);
}

static void test_json(void **state)
{
	struct prom_buf b;
	const struct prom_label l = { "class", "file" };
	struct json_object *j;

	(void)state;
	prom_init_json(&b);
	prom_family(&b, "dsm_alarms_total", PROM_COUNTER, "Alarms.");
	prom_sample(&b, &l, 1, 4);
	prom_one(&b, "dsm_up", PROM_GAUGE, "Up.", 1);
	j = prom_take_json(&b);
	assert_non_null(j);
	assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
		"[{\"name\":\"dsm_alarms_total\",\"type\":\"counter\",\"help\":\"Alarms.\","
		"\"samples\":[{\"labels\":{\"class\":\"file\"},\"value\":4}]},"
		"{\"name\":\"dsm_up\",\"type\":\"gauge\",\"help\":\"Up.\","
		"\"samples\":[{\"labels\":{},\"value\":1}]}]");
	json_object_put(j);
	assert_null(prom_take_json(&b)); /* taken */
	prom_free(&b);

	prom_init_json(&b);
	prom_sample(&b, NULL, 0, 1);
	assert_null(prom_take_json(&b)); /* an error: nothing */
	prom_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_text),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_errors_stick),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
