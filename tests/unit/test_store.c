// SPDX-License-Identifier: GPL-2.0
/*
 * The state store on SQLite: revisions, reads and writes, conditions,
 * transactions, the history and its compaction, what input and which files
 * are refused, and two processes racing on one file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store.h"

struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	struct dsm_store *s;
};

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/dsm-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	if (dsm_store_open_sqlite(f->path, &f->s)) {
		unlink(f->path);
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	DIR *d;

	if (dsm_store_close(f->s))
		return -1;
	d = opendir(f->dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[PATH_MAX + 256];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	if (rmdir(f->dir))
		return -1;
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	assert_int_equal(dsm_store_close(f->s), 0);
	f->s = NULL;
	assert_int_equal(dsm_store_open_sqlite(f->path, &f->s), 0);
}

static int64_t put_str(struct dsm_store *s, const char *key, const char *val)
{
	int64_t rev = 0;

	assert_int_equal(dsm_store_put(s, key, val, strlen(val), &rev), 0);
	return rev;
}

static int64_t revision(struct dsm_store *s)
{
	int64_t rev = -1;

	assert_int_equal(dsm_store_revision(s, &rev), 0);
	return rev;
}

/* key's value, which must be the string want, and its revisions. */
static struct dsm_store_revs value_is(struct dsm_store *s, const char *key, const char *want)
{
	struct dsm_store_revs revs = { 0 };
	void *v = NULL;
	size_t len = 0;

	assert_int_equal(dsm_store_get(s, key, &v, &len, &revs), 0);
	assert_non_null(v);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(v, want, len);
	free(v);
	return revs;
}

static void absent(struct dsm_store *s, const char *key)
{
	void *v = (void *)1;

	assert_int_equal(dsm_store_get(s, key, &v, NULL, NULL), -ENOENT);
	assert_null(v);
}

/* ---- collecting what range() and changes() report ---------------------- */

#define MAX_SEEN 64

struct seen {
	size_t n;
	size_t stop_after;	/* return 1 after this many, if not 0 */
	struct {
		enum dsm_store_kind kind;
		int64_t rev;
		char key[DSM_STORE_KEY_MAX + 1];
		char val[64];
		size_t len;
		bool null_value;
		struct dsm_store_revs revs;
	} e[MAX_SEEN];
};

static int record(struct seen *w, enum dsm_store_kind kind, int64_t rev,
		  const struct dsm_store_kv *kv)
{
	assert_true(w->n < MAX_SEEN);
	w->e[w->n].kind = kind;
	w->e[w->n].rev = rev;
	snprintf(w->e[w->n].key, sizeof(w->e[0].key), "%s", kv->key);
	assert_true(kv->len < sizeof(w->e[0].val));
	if (kv->len)
		memcpy(w->e[w->n].val, kv->value, kv->len);
	w->e[w->n].val[kv->len] = 0;
	w->e[w->n].len = kv->len;
	w->e[w->n].null_value = !kv->value;
	w->e[w->n].revs = kv->revs;
	w->n++;
	return w->stop_after && w->n == w->stop_after ? 1 : 0;
}

static int on_kv(const struct dsm_store_kv *kv, void *ctx)
{
	return record(ctx, DSM_STORE_PUT, kv->revs.mod_rev, kv);
}

static int on_change(const struct dsm_store_change *c, void *ctx)
{
	assert_int_equal(c->kv.revs.mod_rev, c->rev);
	return record(ctx, c->kind, c->rev, &c->kv);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_revisions(void **state)
{
	struct fixture *f = *state;
	int64_t r1, r2, r3, rev = 0;

	assert_int_equal(revision(f->s), 0);
	r1 = put_str(f->s, "a", "1");
	r2 = put_str(f->s, "b", "2");
	r3 = put_str(f->s, "a", "3"); /* the same key again: a new revision too */
	assert_int_equal(r1, 1);
	assert_true(r2 > r1 && r3 > r2);
	assert_int_equal(dsm_store_cas(f->s, "a", r3, "4", 1, &rev), 0);
	assert_true(rev > r3);
	assert_int_equal(dsm_store_delete(f->s, "b", DSM_STORE_ANY, &r2), 0);
	assert_true(r2 > rev);
	/* a refused write is no revision */
	assert_int_equal(dsm_store_cas(f->s, "a", r1, "x", 1, NULL), -ECANCELED);
	assert_int_equal(revision(f->s), r2);

	reopen(f);
	assert_int_equal(revision(f->s), r2);
	assert_true(put_str(f->s, "c", "5") > r2);

	/* with every key gone and the history compacted the count goes on:
	 * the revision is kept, not derived from what is left */
	r3 = revision(f->s);
	assert_int_equal(dsm_store_delete(f->s, "a", DSM_STORE_ANY, NULL), 0);
	assert_int_equal(dsm_store_delete(f->s, "c", DSM_STORE_ANY, &rev), 0);
	assert_int_equal(rev, r3 + 2);
	assert_int_equal(dsm_store_compact(f->s, rev), 0);
	reopen(f);
	assert_int_equal(revision(f->s), rev);
	assert_int_equal(put_str(f->s, "d", "6"), rev + 1);
}

static void test_get_put_range(void **state)
{
	static const char *const keys[] = {
		"nodes/n2", "nodes/n1/addr", "nodes/n10", "nodes", "nodes2/x", "A", "z~",
		"z~~/y", "keys/gen/1",
	};
	static const char *const under_nodes[] = { "nodes/n1/addr", "nodes/n10", "nodes/n2" };
	static const char *const all[] = {
		"A", "keys/gen/1", "nodes", "nodes/n1/addr", "nodes/n10", "nodes/n2", "nodes2/x",
		"z~", "z~~/y",
	};
	static const uint8_t binary[] = { 0, 1, 0, 0xff, 0 };
	struct fixture *f = *state;
	struct dsm_store_revs revs, again;
	struct seen w = { 0 };
	int64_t rev = 0, at = 0;
	void *v = NULL;
	size_t len = 99;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		rev = put_str(f->s, keys[i], keys[i]);
	revs = value_is(f->s, "nodes/n10", "nodes/n10");
	assert_int_equal(revs.create_rev, 3);
	assert_int_equal(revs.mod_rev, 3);
	/* an update keeps create_rev and moves mod_rev */
	rev = put_str(f->s, "nodes/n10", "again");
	again = value_is(f->s, "nodes/n10", "again");
	assert_int_equal(again.create_rev, revs.create_rev);
	assert_int_equal(again.mod_rev, rev);
	absent(f->s, "nodes/n3");
	absent(f->s, "node");

	/* bytes, not strings: NULs inside and an empty value */
	assert_int_equal(dsm_store_put(f->s, "bin", binary, sizeof(binary), NULL), 0);
	assert_int_equal(dsm_store_get(f->s, "bin", &v, &len, NULL), 0);
	assert_int_equal(len, sizeof(binary));
	assert_memory_equal(v, binary, sizeof(binary));
	free(v);
	assert_int_equal(dsm_store_put(f->s, "empty", NULL, 0, NULL), 0);
	len = 99;
	assert_int_equal(dsm_store_get(f->s, "empty", &v, &len, NULL), 0);
	assert_non_null(v);
	assert_int_equal(len, 0);
	free(v);
	assert_int_equal(dsm_store_delete(f->s, "bin", DSM_STORE_ANY, NULL), 0);
	assert_int_equal(dsm_store_delete(f->s, "empty", DSM_STORE_ANY, NULL), 0);

	/* a prefix: only the keys under it, in byte order */
	assert_int_equal(dsm_store_range(f->s, "nodes/", on_kv, &w, &at), 0);
	assert_int_equal(at, revision(f->s));
	assert_int_equal(w.n, 3);
	for (size_t i = 0; i < w.n; i++) {
		assert_string_equal(w.e[i].key, under_nodes[i]);
		assert_string_equal(w.e[i].val, !strcmp(under_nodes[i], "nodes/n10") ?
				    "again" : under_nodes[i]);
	}
	/* a prefix ending in the last key byte */
	memset(&w, 0, sizeof(w));
	assert_int_equal(dsm_store_range(f->s, "z~", on_kv, &w, NULL), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.e[0].key, "z~");
	assert_string_equal(w.e[1].key, "z~~/y");
	/* everything */
	memset(&w, 0, sizeof(w));
	assert_int_equal(dsm_store_range(f->s, "", on_kv, &w, NULL), 0);
	assert_int_equal(w.n, sizeof(all) / sizeof(all[0]));
	for (size_t i = 0; i < w.n; i++)
		assert_string_equal(w.e[i].key, all[i]);
	/* nothing under it */
	memset(&w, 0, sizeof(w));
	assert_int_equal(dsm_store_range(f->s, "tokens/", on_kv, &w, NULL), 0);
	assert_int_equal(w.n, 0);
	/* the callback stops the walk; its value comes back */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	assert_int_equal(dsm_store_range(f->s, "", on_kv, &w, NULL), 1);
	assert_int_equal(w.n, 2);
	/* and the store is usable after */
	put_str(f->s, "after", "stop");
}

static void test_cas(void **state)
{
	struct fixture *f = *state;
	int64_t r1 = 0, r2 = 0;

	assert_int_equal(dsm_store_cas(f->s, "k", DSM_STORE_ABSENT, "one", 3, &r1), 0);
	/* create when it exists */
	assert_int_equal(dsm_store_cas(f->s, "k", DSM_STORE_ABSENT, "two", 3, NULL), -ECANCELED);
	value_is(f->s, "k", "one");
	assert_int_equal(dsm_store_cas(f->s, "k", r1, "two", 3, &r2), 0);
	value_is(f->s, "k", "two");
	/* stale: the revision it had before */
	assert_int_equal(dsm_store_cas(f->s, "k", r1, "three", 5, NULL), -ECANCELED);
	assert_int_equal(dsm_store_cas(f->s, "k", r2 + 1, "three", 5, NULL), -ECANCELED);
	value_is(f->s, "k", "two");
	/* a revision for a key that does not exist */
	assert_int_equal(dsm_store_cas(f->s, "nokey", r2, "x", 1, NULL), -ECANCELED);
	absent(f->s, "nokey");
	/* no condition is a put, not a cas */
	assert_int_equal(dsm_store_cas(f->s, "k", DSM_STORE_ANY, "x", 1, NULL), -EINVAL);
	assert_int_equal(dsm_store_cas(f->s, "k", -2, "x", 1, NULL), -EINVAL);
	assert_int_equal(revision(f->s), r2);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	int64_t r1, r2, rev = 0;

	assert_int_equal(dsm_store_delete(f->s, "k", DSM_STORE_ANY, NULL), -ENOENT);
	r1 = put_str(f->s, "k", "v");
	r2 = put_str(f->s, "k", "w");
	assert_int_equal(dsm_store_delete(f->s, "k", r1, NULL), -ECANCELED);
	value_is(f->s, "k", "w");
	assert_int_equal(dsm_store_delete(f->s, "k", DSM_STORE_ABSENT, NULL), -EINVAL);
	assert_int_equal(revision(f->s), r2);
	assert_int_equal(dsm_store_delete(f->s, "k", r2, &rev), 0);
	assert_int_equal(rev, r2 + 1);
	absent(f->s, "k");
	assert_int_equal(dsm_store_delete(f->s, "k", r2, NULL), -ECANCELED);
	assert_int_equal(dsm_store_delete(f->s, "k", DSM_STORE_ANY, NULL), -ENOENT);
	/* created again: a new create_rev */
	r1 = put_str(f->s, "k", "again");
	assert_int_equal(value_is(f->s, "k", "again").create_rev, r1);
}

static void test_txn(void **state)
{
	struct fixture *f = *state;
	const int64_t r_keep = put_str(f->s, "rot/keep", "k");
	const int64_t r_old = put_str(f->s, "rot/old", "o");
	struct dsm_store_op ops[] = {
		{ .kind = DSM_STORE_CHECK, .key = "rot/keep", .expect_mod_rev = r_keep },
		{ .kind = DSM_STORE_PUT, .key = "rot/new", .expect_mod_rev = DSM_STORE_ABSENT,
		  .value = "n", .len = 1 },
		{ .kind = DSM_STORE_DELETE, .key = "rot/old", .expect_mod_rev = r_old },
		{ .kind = DSM_STORE_PUT, .key = "rot/state", .expect_mod_rev = DSM_STORE_ANY,
		  .value = "s", .len = 1 },
	};
	struct seen w = { 0 };
	int64_t rev = 0, before;

	/* all or nothing: the last condition fails, the first writes are not done */
	ops[3].expect_mod_rev = r_old;
	assert_int_equal(dsm_store_txn(f->s, ops, 4, &rev), -ECANCELED);
	assert_int_equal(revision(f->s), r_old);
	absent(f->s, "rot/new");
	value_is(f->s, "rot/old", "o");
	assert_int_equal(dsm_store_changes(f->s, r_old + 1, on_change, &w, NULL), 0);
	assert_int_equal(w.n, 0);
	/* the first failing op says why */
	ops[2].expect_mod_rev = DSM_STORE_ANY;
	ops[2].key = "rot/none";
	assert_int_equal(dsm_store_txn(f->s, ops, 4, NULL), -ENOENT);
	ops[2].key = "rot/old";
	ops[2].expect_mod_rev = r_old;
	ops[0].expect_mod_rev = r_old;
	assert_int_equal(dsm_store_txn(f->s, ops, 4, NULL), -ECANCELED);
	ops[0].expect_mod_rev = r_keep;
	ops[3].expect_mod_rev = DSM_STORE_ANY;
	assert_int_equal(revision(f->s), r_old);

	/* every write under one revision, in op order */
	assert_int_equal(dsm_store_txn(f->s, ops, 4, &rev), 0);
	assert_int_equal(rev, r_old + 1);
	assert_int_equal(value_is(f->s, "rot/new", "n").mod_rev, rev);
	assert_int_equal(value_is(f->s, "rot/state", "s").create_rev, rev);
	assert_int_equal(value_is(f->s, "rot/keep", "k").mod_rev, r_keep);
	absent(f->s, "rot/old");
	assert_int_equal(dsm_store_changes(f->s, rev, on_change, &w, NULL), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.e[0].key, "rot/new");
	assert_string_equal(w.e[1].key, "rot/old");
	assert_int_equal(w.e[1].kind, DSM_STORE_DELETE);
	assert_string_equal(w.e[2].key, "rot/state");
	for (size_t i = 0; i < w.n; i++)
		assert_int_equal(w.e[i].rev, rev);

	/* malformed transactions */
	before = revision(f->s);
	ops[1].key = "rot/keep"; /* a key twice */
	assert_int_equal(dsm_store_txn(f->s, ops, 4, NULL), -EINVAL);
	ops[1].key = "rot/new";
	assert_int_equal(dsm_store_txn(f->s, ops, 1, NULL), -EINVAL); /* no write */
	assert_int_equal(dsm_store_txn(f->s, ops, 0, NULL), -EINVAL);
	assert_int_equal(dsm_store_txn(f->s, NULL, 1, NULL), -EINVAL);
	ops[0].expect_mod_rev = DSM_STORE_ANY; /* a check of nothing */
	assert_int_equal(dsm_store_txn(f->s, ops, 4, NULL), -EINVAL);
	ops[0].expect_mod_rev = r_keep;
	ops[0].len = 1; /* a value on a check */
	assert_int_equal(dsm_store_txn(f->s, ops, 4, NULL), -EINVAL);
	ops[0].len = 0;
	ops[1].kind = 7;
	assert_int_equal(dsm_store_txn(f->s, ops, 4, NULL), -EINVAL);
	assert_int_equal(revision(f->s), before);
}

static void test_txn_limits(void **state)
{
	struct fixture *f = *state;
	struct dsm_store_op ops[DSM_STORE_TXN_MAX_OPS + 1];
	char keys[DSM_STORE_TXN_MAX_OPS + 1][16];
	const size_t half = DSM_STORE_TXN_MAX_BYTES / 2 + 1;
	uint8_t *big = calloc(1, DSM_STORE_VALUE_MAX + 1);
	int64_t before;

	assert_non_null(big);
	for (size_t i = 0; i < DSM_STORE_TXN_MAX_OPS + 1; i++) {
		snprintf(keys[i], sizeof(keys[i]), "many/%zu", i);
		ops[i] = (struct dsm_store_op){ .kind = DSM_STORE_PUT, .key = keys[i],
						.expect_mod_rev = DSM_STORE_ANY,
						.value = "v", .len = 1 };
	}
	assert_int_equal(dsm_store_txn(f->s, ops, DSM_STORE_TXN_MAX_OPS + 1, NULL), -E2BIG);
	assert_int_equal(revision(f->s), 0);
	assert_int_equal(dsm_store_txn(f->s, ops, DSM_STORE_TXN_MAX_OPS, NULL), 0);
	before = revision(f->s);
	assert_int_equal(before, 1);

	/* the largest value goes in and comes back; one byte more does not */
	assert_int_equal(dsm_store_put(f->s, "big", big, DSM_STORE_VALUE_MAX, NULL), 0);
	assert_int_equal(dsm_store_put(f->s, "big", big, DSM_STORE_VALUE_MAX + 1, NULL), -E2BIG);
	/* two values, each within the limit, too much together */
	ops[0].value = ops[1].value = big;
	ops[0].len = ops[1].len = half;
	assert_int_equal(dsm_store_txn(f->s, ops, 2, NULL), -E2BIG);
	assert_int_equal(revision(f->s), before + 1);
	free(big);
}

static void test_changes(void **state)
{
	struct fixture *f = *state;
	struct seen w = { 0 };
	int64_t at = 0;

	put_str(f->s, "a", "1");			/* 1 */
	put_str(f->s, "b", "2");			/* 2 */
	put_str(f->s, "a", "3");			/* 3 */
	assert_int_equal(dsm_store_delete(f->s, "b", DSM_STORE_ANY, NULL), 0); /* 4 */
	put_str(f->s, "b", "5");			/* 5 */

	assert_int_equal(dsm_store_changes(f->s, 1, on_change, &w, &at), 0);
	assert_int_equal(at, 5);
	assert_int_equal(w.n, 5);
	for (size_t i = 0; i < w.n; i++)
		assert_int_equal(w.e[i].rev, (int64_t)i + 1);
	assert_string_equal(w.e[0].key, "a");
	assert_string_equal(w.e[0].val, "1");
	assert_int_equal(w.e[0].revs.create_rev, 1);
	assert_string_equal(w.e[2].key, "a");
	assert_string_equal(w.e[2].val, "3");
	assert_int_equal(w.e[2].revs.create_rev, 1); /* an update of the key made at 1 */
	assert_int_equal(w.e[3].kind, DSM_STORE_DELETE);
	assert_string_equal(w.e[3].key, "b");
	assert_true(w.e[3].null_value);
	assert_int_equal(w.e[3].len, 0);
	assert_int_equal(w.e[3].revs.create_rev, 0);
	assert_int_equal(w.e[4].kind, DSM_STORE_PUT);
	assert_int_equal(w.e[4].revs.create_rev, 5); /* made again */

	/* from the middle */
	memset(&w, 0, sizeof(w));
	assert_int_equal(dsm_store_changes(f->s, 4, on_change, &w, NULL), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.e[0].rev, 4);
	/* from the future: nothing yet, and where the store is */
	memset(&w, 0, sizeof(w));
	at = 0;
	assert_int_equal(dsm_store_changes(f->s, 6, on_change, &w, &at), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(at, 5);
	/* stopped by the callback */
	w.stop_after = 2;
	assert_int_equal(dsm_store_changes(f->s, 1, on_change, &w, NULL), 1);
	assert_int_equal(w.n, 2);
	assert_int_equal(dsm_store_changes(f->s, 0, on_change, &w, NULL), -EINVAL);
	assert_int_equal(dsm_store_changes(f->s, 1, NULL, NULL, NULL), -EINVAL);
}

static void test_compact(void **state)
{
	struct fixture *f = *state;
	struct seen w = { 0 };

	for (int i = 0; i < 6; i++)
		put_str(f->s, i % 2 ? "x" : "y", "v");
	assert_int_equal(dsm_store_compact(f->s, 4), 0);
	assert_int_equal(dsm_store_changes(f->s, 3, on_change, &w, NULL), -ESTALE);
	assert_int_equal(dsm_store_changes(f->s, 1, on_change, &w, NULL), -ESTALE);
	assert_int_equal(w.n, 0);
	assert_int_equal(dsm_store_changes(f->s, 4, on_change, &w, NULL), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.e[0].rev, 4);
	/* an earlier compaction than done: nothing comes back */
	assert_int_equal(dsm_store_compact(f->s, 2), 0);
	assert_int_equal(dsm_store_changes(f->s, 3, on_change, &w, NULL), -ESTALE);
	/* the values stay */
	value_is(f->s, "x", "v");
	value_is(f->s, "y", "v");
	/* a revision that is not yet, or none */
	assert_int_equal(dsm_store_compact(f->s, 7), -EINVAL);
	assert_int_equal(dsm_store_compact(f->s, 0), -EINVAL);
	assert_int_equal(dsm_store_compact(f->s, -1), -EINVAL);
	/* compaction is kept */
	reopen(f);
	assert_int_equal(dsm_store_changes(f->s, 3, on_change, &w, NULL), -ESTALE);
	assert_int_equal(dsm_store_compact(f->s, 6), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(dsm_store_changes(f->s, 6, on_change, &w, NULL), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(dsm_store_changes(f->s, 5, on_change, &w, NULL), -ESTALE);
}

static void test_bad_input(void **state)
{
	static const char *const bad_keys[] = {
		"", "/a", "a/", "a//b", "/", "a b", "a\tb", "a\nb", "caf\xc3\xa9", "a\x7f",
		"\x01",
	};
	static const char *const good_keys[] = { "a", "a/b", "!", "~", "nodes/n1/key-gen.2" };
	static const char *const bad_prefixes[] = { "/", "/a", "a//", "a b", "\x80" };
	struct fixture *f = *state;
	char key[DSM_STORE_KEY_MAX + 2];
	struct seen w = { 0 };
	void *v = NULL;

	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		assert_int_equal(dsm_store_key_check(bad_keys[i]), -EINVAL);
		assert_int_equal(dsm_store_put(f->s, bad_keys[i], "v", 1, NULL), -EINVAL);
		assert_int_equal(dsm_store_get(f->s, bad_keys[i], &v, NULL, NULL), -EINVAL);
		assert_int_equal(dsm_store_delete(f->s, bad_keys[i], DSM_STORE_ANY, NULL), -EINVAL);
	}
	for (size_t i = 0; i < sizeof(good_keys) / sizeof(good_keys[0]); i++)
		assert_int_equal(dsm_store_key_check(good_keys[i]), 0);
	for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++)
		assert_int_equal(dsm_store_range(f->s, bad_prefixes[i], on_kv, &w, NULL), -EINVAL);
	assert_int_equal(dsm_store_prefix_check("nodes/"), 0);
	assert_int_equal(dsm_store_prefix_check(""), 0);
	assert_int_equal(dsm_store_key_check(NULL), -EINVAL);
	assert_int_equal(dsm_store_put(f->s, NULL, "v", 1, NULL), -EINVAL);
	assert_int_equal(dsm_store_range(f->s, NULL, on_kv, &w, NULL), -EINVAL);
	assert_int_equal(dsm_store_range(f->s, "", NULL, NULL, NULL), -EINVAL);

	/* the longest key, and one byte more */
	memset(key, 'k', sizeof(key));
	key[DSM_STORE_KEY_MAX] = 0;
	assert_int_equal(dsm_store_put(f->s, key, "v", 1, NULL), 0);
	value_is(f->s, key, "v");
	key[DSM_STORE_KEY_MAX] = 'k';
	key[DSM_STORE_KEY_MAX + 1] = 0;
	assert_int_equal(dsm_store_put(f->s, key, "v", 1, NULL), -E2BIG);
	assert_int_equal(dsm_store_get(f->s, key, NULL, NULL, NULL), -E2BIG);
	assert_int_equal(dsm_store_range(f->s, key, on_kv, &w, NULL), -E2BIG);

	/* values */
	assert_int_equal(dsm_store_put(f->s, "v", NULL, 1, NULL), -EINVAL);
	assert_int_equal(dsm_store_put(f->s, "v", "x", SIZE_MAX, NULL), -E2BIG);
	assert_int_equal(dsm_store_put(f->s, "v", "x", DSM_STORE_VALUE_MAX + 1, NULL), -E2BIG);

	/* handles */
	assert_int_equal(dsm_store_put(NULL, "v", "x", 1, NULL), -EINVAL);
	assert_int_equal(dsm_store_revision(f->s, NULL), -EINVAL);
	{
		struct dsm_store *s = (struct dsm_store *)1;

		assert_int_equal(dsm_store_open_sqlite(NULL, &s), -EINVAL);
		assert_null(s);
		assert_int_equal(dsm_store_open_sqlite("", &s), -EINVAL);
		assert_int_equal(dsm_store_open_sqlite(f->path, NULL), -EINVAL);
	}

	/* one write got through: the longest key */
	assert_int_equal(revision(f->s), 1);
	assert_int_equal(dsm_store_range(f->s, "", on_kv, &w, NULL), 0);
	assert_int_equal(w.n, 1);
}

struct reentry {
	struct dsm_store *s;
	int put, rev, get;
	int calls;
};

static int reenter(const struct dsm_store_kv *kv, void *ctx)
{
	struct reentry *r = ctx;

	(void)kv;
	r->put = dsm_store_put(r->s, "inner", "x", 1, NULL);
	r->get = dsm_store_get(r->s, "outer", NULL, NULL, NULL);
	r->calls++;
	return 0;
}

static void on_notify(void *ctx, int64_t rev)
{
	struct reentry *r = ctx;

	r->rev = (int)rev;
	r->put = dsm_store_put(r->s, "inner", "x", 1, NULL);
	r->calls++;
}

static void test_callbacks(void **state)
{
	struct fixture *f = *state;
	struct reentry r = { .s = f->s };
	int64_t rev;

	put_str(f->s, "outer", "1");
	put_str(f->s, "outer2", "2");
	assert_int_equal(dsm_store_range(f->s, "", reenter, &r, NULL), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.put, -EDEADLK);
	assert_int_equal(r.get, -EDEADLK);
	absent(f->s, "inner");

	/* notify: once per commit, with its revision; not for a refused write */
	memset(&r, 0, sizeof(r));
	r.s = f->s;
	dsm_store_set_notify(f->s, on_notify, &r);
	rev = put_str(f->s, "n", "1");
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rev, rev);
	assert_int_equal(r.put, -EDEADLK);
	assert_int_equal(dsm_store_cas(f->s, "n", DSM_STORE_ABSENT, "x", 1, NULL), -ECANCELED);
	assert_int_equal(r.calls, 1);
	dsm_store_set_notify(f->s, NULL, NULL);
	put_str(f->s, "n", "2");
	assert_int_equal(r.calls, 1);
	assert_string_equal(dsm_store_backend(f->s), "sqlite");
}

/* Two handles in one process: each sees the other's writes at once. */
static void test_two_handles(void **state)
{
	struct fixture *f = *state;
	struct dsm_store *other = NULL;
	int64_t rev;

	assert_int_equal(dsm_store_open_sqlite(f->path, &other), 0);
	rev = put_str(f->s, "shared", "from one");
	assert_int_equal(revision(other), rev);
	value_is(other, "shared", "from one");
	assert_int_equal(dsm_store_cas(other, "shared", rev, "from two", 8, NULL), 0);
	assert_int_equal(dsm_store_cas(f->s, "shared", rev, "stale", 5, NULL), -ECANCELED);
	value_is(f->s, "shared", "from two");
	assert_int_equal(dsm_store_close(other), 0);
}

/* notify calls, for the batch: the count and the last revision */
struct commits {
	int calls;
	int64_t rev;
};

static void count_commit(void *ctx, int64_t rev)
{
	struct commits *c = ctx;

	c->calls++;
	c->rev = rev;
}

/* A group commit: each write checked and numbered as alone, seen through
 * this handle at once, by another handle (what a crash leaves) and by the
 * notify hook only at the commit, all together; a refused write inside
 * leaves the others. */
static void test_batch(void **state)
{
	struct fixture *f = *state;
	struct dsm_store *other = NULL;
	struct commits c = { 0 };
	int64_t r0 = revision(f->s), ra = 0, rb = 0, rc = 0;

	assert_int_equal(dsm_store_commit(f->s), -EINVAL);
	put_str(f->s, "b", "old");
	r0 = revision(f->s);
	assert_int_equal(dsm_store_open_sqlite(f->path, &other), 0);
	dsm_store_set_notify(f->s, count_commit, &c);
	assert_int_equal(dsm_store_begin(f->s), 0);
	assert_int_equal(dsm_store_begin(f->s), -EBUSY);
	assert_int_equal(dsm_store_put(f->s, "a", "1", 1, &ra), 0);
	assert_int_equal(dsm_store_cas(f->s, "b", r0, "new", 3, &rb), 0);
	assert_int_equal(dsm_store_cas(f->s, "b", r0, "stale", 5, NULL), -ECANCELED);
	assert_int_equal(dsm_store_cas(f->s, "a", ra, "2", 1, &rc), 0);
	assert_int_equal(ra, r0 + 1);
	assert_int_equal(rb, r0 + 2);
	assert_int_equal(rc, r0 + 3);
	/* this handle reads the batch; the other sees none of it, nor does notify */
	value_is(f->s, "a", "2");
	value_is(f->s, "b", "new");
	assert_int_equal(revision(f->s), rc);
	absent(other, "a");
	value_is(other, "b", "old");
	assert_int_equal(revision(other), r0);
	assert_int_equal(c.calls, 0);
	assert_int_equal(dsm_store_commit(f->s), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.rev, rc);
	value_is(other, "a", "2");
	value_is(other, "b", "new");
	assert_int_equal(revision(other), rc);
	/* an empty batch commits, and notifies nobody */
	assert_int_equal(dsm_store_begin(f->s), 0);
	assert_int_equal(dsm_store_commit(f->s), 0);
	assert_int_equal(c.calls, 1);
	dsm_store_set_notify(f->s, NULL, NULL);
	assert_int_equal(dsm_store_close(other), 0);
}

/* A process that ends without closing: a committed batch is all there, an
 * open one is not there at all, and the store goes on from before it. */
static void test_batch_crash(void **state)
{
	struct fixture *f = *state;
	int64_t before;

	for (int commit = 1; commit >= 0; commit--) {
		const pid_t pid = fork();
		int st = 0;

		assert_true(pid >= 0);
		if (!pid) {
			struct dsm_store *s = NULL;
			char key[16];
			int bad = dsm_store_open_sqlite(f->path, &s) || dsm_store_begin(s);

			for (int i = 0; i < 5 && !bad; i++) {
				snprintf(key, sizeof(key), "%s/%d", commit ? "kept" : "lost", i);
				bad = dsm_store_put(s, key, "v", 1, NULL) != 0;
			}
			if (!bad && commit)
				bad = dsm_store_commit(s) != 0;
			_exit(bad ? 1 : 0); /* no close: as a crash would leave it */
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	reopen(f);
	for (int i = 0; i < 5; i++) {
		char key[16];

		snprintf(key, sizeof(key), "kept/%d", i);
		value_is(f->s, key, "v");
		snprintf(key, sizeof(key), "lost/%d", i);
		absent(f->s, key);
	}
	before = revision(f->s);
	assert_int_equal(put_str(f->s, "after", "x"), before + 1);
}

#define RACERS	4
#define ROUNDS	40
#define BUMPS	25

/* One racer: create each round's key (only one may), then add to a shared
 * counter BUMPS times by read and cas. Reports its rounds won on fd. */
static int race(const char *path, int id, int start, int report)
{
	struct dsm_store *s = NULL;
	uint8_t won[ROUNDS];
	char go;

	if (read(start, &go, 1) != 0) /* the parent closes it: all start together */
		return 10;
	if (dsm_store_open_sqlite(path, &s))
		return 11;
	for (int r = 0; r < ROUNDS; r++) {
		char key[32];
		const uint8_t me = (uint8_t)id;
		int err;

		snprintf(key, sizeof(key), "race/%d", r);
		err = dsm_store_cas(s, key, DSM_STORE_ABSENT, &me, 1, NULL);
		if (err && err != -ECANCELED)
			return 12;
		won[r] = !err;
	}
	for (int b = 0; b < BUMPS; b++) {
		for (;;) {
			struct dsm_store_revs revs = { 0 };
			uint32_t n = 0;
			void *v = NULL;
			size_t len = 0;
			int err = dsm_store_get(s, "race/counter", &v, &len, &revs);

			if (err || len != sizeof(n))
				return 13;
			memcpy(&n, v, sizeof(n));
			free(v);
			n++;
			err = dsm_store_cas(s, "race/counter", revs.mod_rev, &n, sizeof(n), NULL);
			if (!err)
				break;
			if (err != -ECANCELED)
				return 14;
		}
	}
	if (write(report, won, sizeof(won)) != (ssize_t)sizeof(won))
		return 15;
	return dsm_store_close(s) ? 16 : 0;
}

static void test_two_processes(void **state)
{
	struct fixture *f = *state;
	uint8_t won[RACERS][ROUNDS];
	int start[2], report[RACERS][2];
	const uint32_t zero = 0;
	pid_t pid[RACERS];
	struct dsm_store_revs revs;
	uint32_t n = 0;
	size_t len = 0;
	void *v = NULL;

	assert_int_equal(dsm_store_put(f->s, "race/counter", &zero, sizeof(zero), NULL), 0);
	/* no connection crosses a fork */
	assert_int_equal(dsm_store_close(f->s), 0);
	f->s = NULL;
	assert_int_equal(pipe(start), 0);
	for (int i = 0; i < RACERS; i++) {
		assert_int_equal(pipe(report[i]), 0);
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (!pid[i]) {
			close(start[1]);
			_exit(race(f->path, i + 1, start[0], report[i][1]));
		}
		close(report[i][1]);
	}
	close(start[0]);
	close(start[1]);
	for (int i = 0; i < RACERS; i++) {
		int status = 0;

		assert_int_equal(read(report[i][0], won[i], ROUNDS), ROUNDS);
		close(report[i][0]);
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	assert_int_equal(dsm_store_open_sqlite(f->path, &f->s), 0);
	for (int r = 0; r < ROUNDS; r++) {
		char key[32];
		int winners = 0, winner = 0;

		for (int i = 0; i < RACERS; i++)
			if (won[i][r]) {
				winners++;
				winner = i + 1;
			}
		assert_int_equal(winners, 1);
		snprintf(key, sizeof(key), "race/%d", r);
		assert_int_equal(dsm_store_get(f->s, key, &v, &len, NULL), 0);
		assert_int_equal(len, 1);
		assert_int_equal(*(uint8_t *)v, winner);
		free(v);
	}
	/* no increment lost */
	assert_int_equal(dsm_store_get(f->s, "race/counter", &v, &len, &revs), 0);
	assert_int_equal(len, sizeof(n));
	memcpy(&n, v, sizeof(n));
	free(v);
	assert_int_equal(n, RACERS * BUMPS);
	assert_int_equal(revision(f->s), 1 + ROUNDS + RACERS * BUMPS);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_refused_files(void **state)
{
	struct fixture *f = *state;
	char junk_path[PATH_MAX + 16], other[PATH_MAX + 16], link[PATH_MAX + 16];
	char junk[4096], back[sizeof(junk)];
	struct dsm_store *s = (struct dsm_store *)1;
	struct stat st;
	int fd;

	/* not a database: refused and left as it was */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)('a' + i % 26);
	snprintf(junk_path, sizeof(junk_path), "%s/junk.db", f->dir);
	write_file(junk_path, junk, sizeof(junk), 0600);
	assert_int_equal(dsm_store_open_sqlite(junk_path, &s), -EBADMSG);
	assert_null(s);
	fd = open(junk_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, sizeof(back)), (ssize_t)sizeof(back));
	close(fd);
	assert_memory_equal(junk, back, sizeof(junk));

	/* a newer version of this schema */
	put_str(f->s, "k", "v");
	assert_int_equal(dsm_store_close(f->s), 0);
	f->s = NULL;
	raw_sql(f->path, "PRAGMA user_version = 2;");
	assert_int_equal(dsm_store_open_sqlite(f->path, &f->s), -EPROTONOSUPPORT);
	assert_null(f->s);
	raw_sql(f->path, "PRAGMA user_version = 1;");
	assert_int_equal(dsm_store_open_sqlite(f->path, &f->s), 0);
	value_is(f->s, "k", "v");

	/* another application's database: refused, its journal mode untouched */
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	write_file(other, "", 0, 0600);
	raw_sql(other, "CREATE TABLE t (x); PRAGMA user_version = 1;");
	assert_int_equal(dsm_store_open_sqlite(other, &s), -EPROTONOSUPPORT);
	raw_sql(other, "PRAGMA user_version = 0;"); /* nor as version 0 */
	assert_int_equal(dsm_store_open_sqlite(other, &s), -EPROTONOSUPPORT);
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;

		assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0), "delete");
		sqlite3_finalize(q);
		sqlite3_close(db);
	}

	/* a store others may read */
	assert_int_equal(chmod(other, 0644), 0);
	assert_int_equal(dsm_store_open_sqlite(other, &s), -EPERM);
	assert_int_equal(chmod(f->path, 0640), 0);
	{
		struct dsm_store *t = NULL;

		assert_int_equal(dsm_store_open_sqlite(f->path, &t), -EPERM);
		assert_null(t);
	}
	assert_int_equal(chmod(f->path, 0600), 0);

	/* not through a symbolic link, nor a directory */
	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(dsm_store_open_sqlite(link, &s), -ELOOP);
	assert_int_equal(dsm_store_open_sqlite(f->dir, &s), -EISDIR);
	assert_int_equal(dsm_store_open_sqlite("/nonexistent/dir/state.db", &s), -ENOENT);
	assert_int_equal(stat(link, &st), 0); /* the link is still there, target unchanged */
}

static void test_file_mode(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct fixture *f = *state;
	const mode_t old = umask(0);
	char path[PATH_MAX + 16];
	struct dsm_store *s = NULL;

	snprintf(path, sizeof(path), "%s/mode.db", f->dir);
	assert_int_equal(dsm_store_open_sqlite(path, &s), 0);
	umask(old);
	put_str(s, "k", "v");
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char p[PATH_MAX + 32];
		struct stat st;

		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	assert_int_equal(dsm_store_close(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_put_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_mode, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
