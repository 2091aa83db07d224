// SPDX-License-Identifier: GPL-2.0
/*
 * dsm_policy_explain(): every verdict equals the decision library's
 * (dsm_perms(), the code the BPF programs run), the statement it names is
 * one that grants the permission (FILE:LINE:COL and the text as written),
 * and denials name what comes closest: another socket type, another node,
 * other permissions, another target, a permissive subject, an unlabeled
 * rule. A cross-check over every compiled entry: each permission bit has
 * a statement behind it, and no statement is credited with a bit its
 * entry lacks (here and on the example policy).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "dsm/decide.h"
#include "policy.h"
#include "policy_explain.h"

static const char src[] =
	"policy t version 1;\n"                                   /* 1 */
	"node n1 = 1; node n2 = 2;\n"                             /* 2 */
	"label a = 10; label b = 20; label c = 30;\n"             /* 3 */
	"label ext = 40; label p = 50;\n"                         /* 4 */
	"initial a;\n"                                            /* 5 */
	"permissive p;\n"                                         /* 6 */
	"allow a b : socket inet stream { connect send };\n"      /* 7 */
	"allow a b : socket recv;   # any family\n"               /* 8 */
	"allow a c : process signal;\n"                           /* 9 */
	"  allow a self : process fork;\n"                        /* 10 */
	"allow b@n1 a : peer recv;\n"                             /* 11 */
	"allow c@any a :\n"                                       /* 12 */
	"    peer recv; # two lines\n"                            /* 13 */
	"allow ext@any a : peer recv;\n"                          /* 14 */
	"unlabeled 0.0.0.0/0 -> ext;\n"                           /* 15 */
	"allow p b : process signal;\n";                          /* 16 */

static struct dsm_policy *compile(const char *text)
{
	struct dsm_policy *p = NULL;
	struct dsm_diags d = { 0 };

	assert_int_equal(dsm_policy_compile("t.policy", text, strlen(text), &p, &d), 0);
	dsm_diags_free(&d);
	return p;
}

/* Explain, and check the verdict against dsm_perms() itself. */
static struct dsm_explain explain(const struct dsm_policy *p, uint8_t class, uint16_t qual,
				  uint32_t s, uint32_t node, uint32_t t, uint32_t perm)
{
	struct dsm_explain_req q = { .class = class, .qual = qual, .subject = s,
				     .node = node, .target = t, .perm = perm };
	struct dsm_explain ex;

	assert_int_equal(dsm_policy_explain(p, &q, &ex), 0);
	assert_int_equal(ex.allowed, !!(dsm_perms(p, class, qual, s, node, t) & perm));
	assert_int_equal(ex.permissive, dsm_permissive(p, s));
	if (ex.allowed) {
		assert_non_null(ex.rule);
		assert_true(dsm_rule_src_grants(ex.rule, &ex.key, perm));
	} else {
		assert_null(ex.rule);
	}
	return ex;
}

static bool has_note(const struct dsm_explain *ex, enum dsm_note_kind k, uint32_t line)
{
	for (size_t i = 0; i < ex->nnotes; i++)
		if (ex->notes[i].kind == k && ex->notes[i].src->line == line)
			return true;
	return false;
}

#define INET_STREAM dsm_qual(AF_INET, SOCK_STREAM)
#define INET_DGRAM  dsm_qual(AF_INET, SOCK_DGRAM)
#define UNIX_STREAM dsm_qual(AF_UNIX, SOCK_STREAM)

static void test_allowed(void **state)
{
	struct dsm_policy *p = compile(src);
	struct dsm_explain ex;

	(void)state;
	assert_string_equal(dsm_policy_source_name(p), "t.policy");
	ex = explain(p, DSM_CLASS_SOCKET, INET_STREAM, 10, DSM_NODE_ANY, 20, DSM_PERM_CONNECT);
	assert_true(ex.allowed);
	assert_false(ex.via_wildcard);
	assert_int_equal(ex.rule->line, 7);
	assert_int_equal(ex.rule->col, 1);
	assert_string_equal(ex.rule->text, "allow a b : socket inet stream { connect send };");

	/* Folded: the exact entry holds the any-family rule's recv. */
	ex = explain(p, DSM_CLASS_SOCKET, INET_STREAM, 10, DSM_NODE_ANY, 20, DSM_PERM_RECV);
	assert_true(ex.allowed);
	assert_false(ex.via_wildcard);
	assert_int_equal(ex.rule->line, 8);
	assert_string_equal(ex.rule->text, "allow a b : socket recv;");

	/* No exact entry: the wildcard qualifier decides. */
	ex = explain(p, DSM_CLASS_SOCKET, UNIX_STREAM, 10, DSM_NODE_ANY, 20, DSM_PERM_RECV);
	assert_true(ex.allowed);
	assert_true(ex.via_wildcard);
	assert_int_equal(ex.key.rule.qual, DSM_QUAL_ANY);
	assert_int_equal(ex.rule->line, 8);

	/* self, at column 3. */
	ex = explain(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10, DSM_PERM_FORK);
	assert_true(ex.allowed);
	assert_int_equal(ex.rule->line, 10);
	assert_int_equal(ex.rule->col, 3);
	dsm_policy_free(p);
}

static void test_denied(void **state)
{
	struct dsm_policy *p = compile(src);
	struct dsm_explain ex;

	(void)state;
	/* Another type of the same family: the rule for stream is closest. */
	ex = explain(p, DSM_CLASS_SOCKET, INET_DGRAM, 10, DSM_NODE_ANY, 20, DSM_PERM_CONNECT);
	assert_false(ex.allowed);
	assert_false(ex.permissive);
	assert_true(ex.found); /* the any-family entry, without connect */
	assert_true(has_note(&ex, DSM_NOTE_OTHER_QUAL, 7));
	assert_true(has_note(&ex, DSM_NOTE_OTHER_PERMS, 8));

	/* Signal b: a may signal c. */
	ex = explain(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 20, DSM_PERM_SIGNAL);
	assert_false(ex.allowed);
	assert_false(ex.found);
	assert_true(has_note(&ex, DSM_NOTE_OTHER_TARGET, 9));
	assert_true(has_note(&ex, DSM_NOTE_OTHER_SUBJECT, 16)); /* p may signal b */

	/* Another subject with the same permission on the target. */
	ex = explain(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 30, DSM_NODE_ANY, 20, DSM_PERM_SIGNAL);
	assert_false(ex.allowed);
	assert_true(has_note(&ex, DSM_NOTE_OTHER_SUBJECT, 16));

	/* Permissive label: denied by the rules, only reported. */
	ex = explain(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 50, DSM_NODE_ANY, 30, DSM_PERM_SIGNAL);
	assert_false(ex.allowed);
	assert_true(ex.permissive);
	assert_true(ex.permissive_label);

	/* A permission the class does not have, or two at once. */
	{
		struct dsm_explain_req q = { .class = DSM_CLASS_PEER, .qual = DSM_QUAL_ANY,
					     .subject = 10, .node = 1, .target = 10,
					     .perm = DSM_PERM_CONNECT };

		assert_int_equal(dsm_policy_explain(p, &q, &ex), -EINVAL);
		q.class = DSM_CLASS_SOCKET;
		q.perm = DSM_PERM_CONNECT | DSM_PERM_SEND;
		assert_int_equal(dsm_policy_explain(p, &q, &ex), -EINVAL);
	}
	dsm_policy_free(p);
}

static void test_peer_node(void **state)
{
	struct dsm_policy *p = compile(src);
	struct dsm_explain ex;

	(void)state;
	ex = explain(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 20, 1, 10, DSM_PERM_PEER_RECV);
	assert_true(ex.allowed);
	assert_false(ex.via_wildcard);
	assert_int_equal(ex.key.rule.node, 1);
	assert_int_equal(ex.rule->line, 11);

	/* b from n2: only b@n1 is allowed. */
	ex = explain(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 20, 2, 10, DSM_PERM_PEER_RECV);
	assert_false(ex.allowed);
	assert_true(has_note(&ex, DSM_NOTE_OTHER_NODE, 11));

	/* c from any node, by the @any rule (written over two lines). */
	ex = explain(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 30, 2, 10, DSM_PERM_PEER_RECV);
	assert_true(ex.allowed);
	assert_true(ex.via_wildcard);
	assert_int_equal(ex.key.rule.node, DSM_NODE_ANY);
	assert_int_equal(ex.rule->line, 12);
	assert_string_equal(ex.rule->text, "allow c@any a : peer recv;");

	/* Unlabeled traffic's label, to a socket no rule lets it reach. */
	ex = explain(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 40, DSM_NODE_ANY, 20, DSM_PERM_PEER_RECV);
	assert_false(ex.allowed);
	assert_int_equal(ex.nunlabeled, 1);
	ex = explain(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 40, 2, 10, DSM_PERM_PEER_RECV);
	assert_true(ex.allowed);
	assert_int_equal(ex.rule->line, 14);
	dsm_policy_free(p);
}

/* Mode permissive: every denial is only reported. */
static void test_permissive_mode(void **state)
{
	char text[sizeof(src) + 32];
	struct dsm_policy *p;
	struct dsm_explain ex;

	(void)state;
	snprintf(text, sizeof(text), "%smode permissive;\n", src);
	p = compile(text);
	ex = explain(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 20, DSM_PERM_SIGNAL);
	assert_false(ex.allowed);
	assert_true(ex.permissive);
	assert_false(ex.permissive_label);
	dsm_policy_free(p);
}

/* Every bit of every RULE entry has a statement, and no statement is
 * credited with a bit its entry does not hold. */
static void cross_check(const struct dsm_policy *p)
{
	size_t n, ns;
	const struct dsm_entry *e = dsm_policy_entries(p, &n);
	const struct dsm_rule_src *s = dsm_policy_rule_sources(p, &ns);
	size_t bits = 0;

	assert_true(ns > 0);
	for (size_t i = 0; i < n; i++) {
		if (e[i].key.kind != DSM_KEY_RULE)
			continue;
		for (uint32_t b = 1; b; b <<= 1) {
			bool any = false;

			for (size_t j = 0; j < ns; j++) {
				bool g = dsm_rule_src_grants(&s[j], &e[i].key, b);

				if (g)
					assert_true(e[i].val.perms & b);
				any = any || g;
			}
			assert_int_equal(any, !!(e[i].val.perms & b));
			bits += any;
		}
	}
	assert_true(bits > 0);
}

static void test_cross_check(void **state)
{
	struct dsm_policy *p = compile(src);
	struct dsm_diags d = { 0 };

	(void)state;
	cross_check(p);
	dsm_policy_free(p);
	assert_int_equal(dsm_policy_compile_file("policy/example.policy", &p, &d), 0);
	dsm_diags_free(&d);
	cross_check(p);
	dsm_policy_free(p);
}

/* Every request over the policy's labels (and one it lacks), nodes, socket
 * qualifiers, classes and permissions: explain's verdict is dsm_perms()',
 * and a rule is named exactly when it is allowed. */
static void exhaustive(const struct dsm_policy *p)
{
	const uint16_t quals[] = { DSM_QUAL_ANY, INET_STREAM, INET_DGRAM, UNIX_STREAM,
				   dsm_qual(AF_INET6, SOCK_RAW), dsm_qual(40, SOCK_STREAM) };
	size_t nl, nn, allowed = 0, denied = 0;
	const struct dsm_label *l = dsm_policy_labels(p, &nl);
	const struct dsm_node *nd = dsm_policy_nodes(p, &nn);
	uint32_t labels[64], nodes[16];
	size_t nlab = 0, nnod = 0;

	for (size_t i = 0; i < nl && nlab < 63; i++)
		labels[nlab++] = l[i].id;
	labels[nlab++] = 4242; /* not in the policy */
	for (size_t i = 0; i < nn && nnod < 14; i++)
		nodes[nnod++] = nd[i].id;
	nodes[nnod++] = DSM_NODE_ANY;
	nodes[nnod++] = 777;
	for (uint8_t c = DSM_CLASS_PROCESS; c < DSM_CLASS_MAX; c++) {
		uint32_t all = dsm_class_all_perms(c);

		for (size_t s = 0; s < nlab; s++)
			for (size_t t = 0; t < nlab; t++)
				for (size_t n = 0; n < (c == DSM_CLASS_PEER ? nnod : 1); n++)
					for (size_t q = 0; q < (c == DSM_CLASS_SOCKET ? 6 : 1); q++)
						for (uint32_t b = 1; b && b <= all; b <<= 1) {
							struct dsm_explain ex;

							if (!(all & b))
								continue;
							ex = explain(p, c, quals[q], labels[s],
								     c == DSM_CLASS_PEER ? nodes[n] : DSM_NODE_ANY,
								     labels[t], b);
							ex.allowed ? allowed++ : denied++;
						}
	}
	assert_true(allowed > 0);
	assert_true(denied > 0);
}

static void test_exhaustive(void **state)
{
	struct dsm_policy *p = compile(src);
	struct dsm_diags d = { 0 };

	(void)state;
	exhaustive(p);
	dsm_policy_free(p);
	assert_int_equal(dsm_policy_compile_file("policy/example.policy", &p, &d), 0);
	dsm_diags_free(&d);
	exhaustive(p);
	dsm_policy_free(p);
}

/* A bundle keeps no sources: the verdict stands, no statement is named. */
static void test_bundle_has_no_sources(void **state)
{
	struct dsm_policy *p = compile(src), *b;
	uint8_t *buf;
	size_t len, ns;
	struct dsm_explain_req q = { .class = DSM_CLASS_PROCESS, .qual = DSM_QUAL_ANY,
				     .subject = 10, .node = DSM_NODE_ANY, .target = 30,
				     .perm = DSM_PERM_SIGNAL };
	struct dsm_explain ex;

	(void)state;
	assert_int_equal(dsm_bundle_write(p, &buf, &len), 0);
	assert_int_equal(dsm_bundle_read(buf, len, &b), 0);
	assert_null(dsm_policy_source_name(b));
	dsm_policy_rule_sources(b, &ns);
	assert_int_equal(ns, 0);
	assert_int_equal(dsm_policy_explain(b, &q, &ex), 0);
	assert_true(ex.allowed);
	assert_null(ex.rule);
	free(buf);
	dsm_policy_free(b);
	dsm_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_denied),
		cmocka_unit_test(test_peer_node),
		cmocka_unit_test(test_permissive_mode),
		cmocka_unit_test(test_cross_check),
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_bundle_has_no_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
