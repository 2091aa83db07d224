// SPDX-License-Identifier: GPL-2.0
/*
 * Load-time resolution: file paths become FILE entries keyed exactly as
 * the kernel keys inodes, interface names become NET entries, and whatever
 * cannot be resolved is reported to the caller, never dropped silently.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>
#include "host_cap.h"

#include "policy.h"

struct warnings {
	int n;
	char last[512];
};

static void collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

struct fixture {
	char dir[32];
	char bin[64], link[64], missing[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	FILE *fp;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dsm-resolve-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->bin, sizeof(f->bin), "%s/bin", f->dir);
	snprintf(f->link, sizeof(f->link), "%s/link", f->dir);
	snprintf(f->missing, sizeof(f->missing), "%s/missing", f->dir);
	fp = fopen(f->bin, "w");
	if (!fp)
		return -1;
	fputs("#!/bin/sh\n", fp);
	fclose(fp);
	if (symlink(f->bin, f->link))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->link);
	unlink(f->bin);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct dsm_policy *compile(const char *fmt, ...)
{
	struct dsm_policy *p = NULL;
	char src[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(src, sizeof(src), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(src));
	assert_int_equal(dsm_policy_compile("r.policy", src, (size_t)n, &p, NULL), 0);
	return p;
}

#define HEADER "policy r version 1;\nlabel init = 1; label a = 2; label b = 3;\ninitial init;\n"

static void test_file_key(void **state)
{
	struct dsm_pkey k;
	(void)state;

	assert_int_equal(dsm_file_key(makedev(8, 1), 77, &k), 0);
	assert_int_equal(k.kind, DSM_KEY_FILE);
	assert_int_equal(k.file.dev, 8u << 20 | 1);
	assert_true(dsm_key_file_ino(&k) == 77);
	assert_int_equal(dsm_file_key(makedev(4095, (1u << 20) - 1), 1, &k), 0);
	assert_int_equal(k.file.dev, 0xffffffffu);
	assert_int_equal(dsm_file_key(makedev(4096, 0), 1, &k), -ERANGE);
	assert_int_equal(dsm_file_key(makedev(0, 1u << 20), 1, &k), -ERANGE);
}

static void test_resolve_file(void **state)
{
	struct fixture *f = *state;
	struct warnings w = { 0 };
	struct dsm_policy *p = compile(HEADER "file \"%s\" : a;\n", f->bin);
	const struct dsm_entry *e;
	const struct dsm_pval *v;
	struct dsm_pkey k;
	struct stat st;
	size_t n;

	e = dsm_policy_resolved_entries(p, &n);
	assert_int_equal(n, 0);
	assert_int_equal(dsm_policy_resolve(p, collect, &w), 0);
	assert_int_equal(w.n, 0);

	assert_int_equal(stat(f->bin, &st), 0);
	e = dsm_policy_resolved_entries(p, &n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].key.kind, DSM_KEY_FILE);
	assert_int_equal(e[0].key.file.dev, major(st.st_dev) << 20 | minor(st.st_dev));
	assert_true(dsm_key_file_ino(&e[0].key) == st.st_ino);
	assert_int_equal(e[0].val.aux, 2);
	k = dsm_key_file(major(st.st_dev) << 20 | minor(st.st_dev), st.st_ino);
	v = dsm_policy_lookup(p, &k);
	assert_non_null(v);
	assert_int_equal(v->aux, 2);

	/* A reload replaces the resolved entries. */
	assert_int_equal(dsm_policy_resolve(p, NULL, NULL), 0);
	dsm_policy_resolved_entries(p, &n);
	assert_int_equal(n, 1);
	dsm_policy_free(p);
}

static void test_resolve_missing_file(void **state)
{
	struct fixture *f = *state;
	struct warnings w = { 0 };
	struct dsm_policy *p = compile(HEADER "file %s : a;\nfile %s : b;\n", f->missing, f->bin);
	char want[256];
	size_t n;

	assert_int_equal(dsm_policy_resolve(p, collect, &w), 1);
	assert_int_equal(w.n, 1);
	snprintf(want, sizeof(want), "file %s (label a): No such file or directory", f->missing);
	assert_string_equal(w.last, want);
	/* The other file still resolves. */
	dsm_policy_resolved_entries(p, &n);
	assert_int_equal(n, 1);
	/* No callback: still counted. */
	assert_int_equal(dsm_policy_resolve(p, NULL, NULL), 1);
	dsm_policy_free(p);
}

static void test_resolve_symlink(void **state)
{
	struct fixture *f = *state;
	struct warnings w = { 0 };
	struct dsm_policy *p;
	const struct dsm_entry *e;
	char want[256];
	size_t n;

	/* Same inode, same label: nothing to say. */
	p = compile(HEADER "file %s : a;\nfile %s : a;\n", f->link, f->bin);
	assert_int_equal(dsm_policy_resolve(p, collect, &w), 0);
	assert_int_equal(w.n, 0);
	dsm_policy_resolved_entries(p, &n);
	assert_int_equal(n, 1);
	dsm_policy_free(p);

	/* Same inode, two labels: the first in the source wins, reported. */
	p = compile(HEADER "file %s : b;\nfile %s : a;\n", f->link, f->bin);
	assert_int_equal(dsm_policy_resolve(p, collect, &w), 1);
	assert_int_equal(w.n, 1);
	snprintf(want, sizeof(want), "%s is the same object as %s: keeping label b, not a",
		 f->bin, f->link);
	assert_string_equal(w.last, want);
	e = dsm_policy_resolved_entries(p, &n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].val.aux, 3);
	dsm_policy_free(p);
}

static void test_resolve_interfaces(void **state)
{
	struct warnings w = { 0 };
	struct dsm_policy *p;
	const struct dsm_pval *v;
	struct dsm_pkey k;
	unsigned int lo = if_nametoindex("lo");
	size_t n;
	(void)state;

	__be32 fd00[4] = { htonl(0xfd000000), 0, 0, 0 };
	struct dsm_entry pl[8];
	size_t npl;

	p = compile(HEADER "unlabeled 0.0.0.0/0 -> a;\n"
		    "unlabeled 127.0.0.0/8 dev lo -> b;\n"
		    "unlabeled fd00::/8 dev lo -> a;\n"
		    "unlabeled dev dsmnosuch0 -> b;\n");
	/* The device-less rule is compiled; the others wait for the loader. */
	k = dsm_key_net(0, 0, 0, 0);
	assert_non_null(dsm_policy_lookup(p, &k));
	/* The interface without a prefix is two rules (IPv4 and IPv6), each
	 * reported. */
	assert_int_equal(dsm_policy_resolve(p, collect, &w), lo ? 2 : 4);
	assert_int_equal(w.n, lo ? 2 : 4);
	assert_string_equal(w.last, "interface dsmnosuch0 (unlabeled ::/0 -> b): No such device");
	if (!lo) {
		dsm_policy_free(p);
		skip_host("no loopback device in this network namespace");
	}
	dsm_policy_resolved_entries(p, &n);
	assert_int_equal(n, 2);
	k = dsm_key_net(htonl(0x7f000000), 8, lo, dsm_netns_self());
	v = dsm_policy_lookup(p, &k);
	assert_non_null(v);
	assert_int_equal(v->aux, 3);
	/* IPv6 like IPv4: the interface and this network namespace. */
	k = dsm_key_net6(fd00, 8, lo, dsm_netns_self());
	v = dsm_policy_lookup(p, &k);
	assert_non_null(v);
	assert_int_equal(v->aux, 2);
	k = dsm_key_net6(fd00, 8, 0, 0);
	assert_null(dsm_policy_lookup(p, &k));
	/* The prefix lengths in use, per family and kind of rule. */
	npl = dsm_policy_plens_entries(p, pl);
	assert_int_equal(npl, 3);
	assert_int_equal(pl[0].key.config.index, DSM_PLENS_V4_ANY);
	assert_int_equal(pl[0].val.perms, 1u << 0);
	assert_int_equal(pl[1].key.config.index, DSM_PLENS_V4_DEV);
	assert_int_equal(pl[1].val.perms, 1u << 8);
	assert_int_equal(pl[2].key.config.index, DSM_PLENS_V6_DEV);
	assert_int_equal(pl[2].val.perms, 1u << 8);
	dsm_policy_free(p);
}

static int count_entries(const struct dsm_pkey *k, const struct dsm_pval *v, void *ctx)
{
	(void)v;
	if (k->kind == DSM_KEY_FILE)
		((int *)ctx)[1]++;
	((int *)ctx)[0]++;
	return 0;
}

static void test_foreach_includes_resolved(void **state)
{
	struct fixture *f = *state;
	struct dsm_policy *p = compile(HEADER "file %s : a;\n", f->bin);
	int c[2] = { 0 };
	size_t n;

	dsm_policy_entries(p, &n);
	assert_int_equal(dsm_policy_resolve(p, NULL, NULL), 0);
	assert_int_equal(dsm_policy_foreach_entry(p, count_entries, c), 0);
	assert_int_equal(c[0], (int)n + 1);
	assert_int_equal(c[1], 1);
	dsm_policy_free(p);
}

static void test_resolve_after_bundle(void **state)
{
	struct fixture *f = *state;
	struct dsm_policy *p = compile(HEADER "file %s : a;\n", f->bin), *q;
	uint8_t *buf;
	size_t len, n;

	/* Resolved entries are node-local: never in a bundle. */
	assert_int_equal(dsm_policy_resolve(p, NULL, NULL), 0);
	assert_int_equal(dsm_bundle_write(p, &buf, &len), 0);
	assert_int_equal(dsm_bundle_read(buf, len, &q), 0);
	dsm_policy_resolved_entries(q, &n);
	assert_int_equal(n, 0);
	assert_int_equal(dsm_policy_resolve(q, NULL, NULL), 0);
	dsm_policy_resolved_entries(q, &n);
	assert_int_equal(n, 1);
	free(buf);
	dsm_policy_free(p);
	dsm_policy_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_key),
		cmocka_unit_test_setup_teardown(test_resolve_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_symlink, setup, teardown),
		cmocka_unit_test(test_resolve_interfaces),
		cmocka_unit_test_setup_teardown(test_foreach_includes_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_after_bundle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
