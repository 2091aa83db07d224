// SPDX-License-Identifier: GPL-2.0
/*
 * Scale: policies with 100 000 rules compile (linear-time merging), give
 * exactly the expected entries, and survive a bundle round trip. No timing
 * assertions: a quadratic compiler would simply not finish in the test
 * runner's patience.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "policy.h"

#define NLABELS 1000
#define NRULES  100000

struct text {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cap - t->len < 256) {
		t->cap = t->cap ? t->cap * 2 : 1 << 20;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < t->cap - t->len);
	t->len += (size_t)n;
}

static void header(struct text *t)
{
	add(t, "policy big version 1;\n");
	for (int i = 1; i <= NLABELS; i++)
		add(t, "label l%d = %d;\n", i, i);
	add(t, "initial l1;\n");
}

static void test_100k_distinct_rules(void **state)
{
	struct text t = { 0 };
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = NULL, *q = NULL;
	const struct dsm_pval *v;
	struct dsm_pkey k;
	uint8_t *buf;
	size_t n, len;
	(void)state;

	header(&t);
	/* Every (subject, target) pair once: 1000 subjects x 100 targets. */
	for (int i = 0; i < NRULES; i++)
		add(&t, "allow l%d l%d : socket inet stream { connect send };\n",
		    i % NLABELS + 1, i / NLABELS + 1);
	assert_int_equal(dsm_policy_compile("big.policy", t.s, t.len, &p, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(dsm_policy_nrules(p), NRULES);
	dsm_policy_entries(p, &n);
	assert_int_equal(n, NRULES + NLABELS + 3); /* rules, labels, config */

	k = dsm_key_rule(DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_STREAM), 1000, DSM_NODE_ANY, 100);
	v = dsm_policy_lookup(p, &k);
	assert_non_null(v);
	assert_int_equal(v->perms, DSM_PERM_CONNECT | DSM_PERM_SEND);
	k.rule.target = 101;
	assert_null(dsm_policy_lookup(p, &k));

	assert_int_equal(dsm_bundle_write(p, &buf, &len), 0);
	assert_int_equal(dsm_bundle_read(buf, len, &q), 0);
	dsm_policy_entries(q, &n);
	assert_int_equal(n, NRULES + NLABELS + 3);

	free(buf);
	free(t.s);
	dsm_diags_free(&d);
	dsm_policy_free(p);
	dsm_policy_free(q);
}

static void test_100k_rules_mostly_redundant(void **state)
{
	struct text t = { 0 };
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = NULL;
	size_t n;
	(void)state;

	header(&t);
	/* 100 distinct rules, each repeated 1000 times; the family-only form
	 * expands to 4 entries each. */
	for (int i = 0; i < NRULES; i++)
		add(&t, "allow l%d self : socket inet connect;\n", i % 100 + 1);
	assert_int_equal(dsm_policy_compile("big.policy", t.s, t.len, &p, &d), 0);
	dsm_policy_entries(p, &n);
	assert_int_equal(n, 100 * 4 + NLABELS + 3);
	/* Every repetition is a warning; only the first ones are stored. */
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, NRULES - 100);
	assert_int_equal(d.n, DSM_DIAG_MAX_WARNINGS);
	free(t.s);
	dsm_diags_free(&d);
	dsm_policy_free(p);
}

static void test_100k_rules_in_sets(void **state)
{
	struct text t = { 0 };
	struct dsm_policy *p = NULL;
	size_t n;
	(void)state;

	header(&t);
	/* 100 statements of 1000 subjects x 1 target = 100 000 entries. */
	for (int j = 1; j <= 100; j++) {
		add(&t, "allow {");
		for (int i = 1; i <= NLABELS; i++)
			add(&t, " l%d", i);
		add(&t, " } l%d : process signal;\n", j);
	}
	assert_int_equal(dsm_policy_compile("big.policy", t.s, t.len, &p, NULL), 0);
	dsm_policy_entries(p, &n);
	assert_int_equal(n, NRULES + NLABELS + 3);
	free(t.s);
	dsm_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_100k_distinct_rules),
		cmocka_unit_test(test_100k_rules_mostly_redundant),
		cmocka_unit_test(test_100k_rules_in_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
