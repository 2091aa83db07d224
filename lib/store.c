// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The state store, backend-independent part: every argument is checked
 * here, once, before a backend sees it; then the call goes to the
 * backend's ops. Semantics in lib/store.h and docs/server.md.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct dsm_store {
	const struct dsm_store_ops *ops;
	void *be;
	dsm_store_notify_fn notify;
	void *notify_ctx;
	bool in_callback;	/* inside range, changes or notify */
	bool batch;		/* between begin and commit */
	int64_t batch_rev;	/* its latest write's revision; 0 none yet */
};

_Static_assert(DSM_STORE_VALUE_MAX <= DSM_STORE_TXN_MAX_BYTES,
	       "a single put must fit in a transaction");
_Static_assert(DSM_STORE_ANY < DSM_STORE_ABSENT, "revisions are > 0, the markers are not");

/* ---- keys and values ------------------------------------------------------ */

static bool key_char(unsigned char c)
{
	return c >= '!' && c <= '~';
}

/* The n bytes at p are key characters, with no empty part between two '/'. */
static int check_parts(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!key_char((unsigned char)p[i]))
			return -EINVAL;
		if (p[i] == '/' && i > 0 && p[i - 1] == '/')
			return -EINVAL;
	}
	return 0;
}

int dsm_store_key_check(const char *key)
{
	size_t n;

	if (!key)
		return -EINVAL;
	n = strnlen(key, DSM_STORE_KEY_MAX + 1);
	if (n > DSM_STORE_KEY_MAX)
		return -E2BIG;
	if (n == 0 || key[0] == '/' || key[n - 1] == '/')
		return -EINVAL;
	return check_parts(key, n);
}

int dsm_store_prefix_check(const char *prefix)
{
	size_t n;

	if (!prefix)
		return -EINVAL;
	n = strnlen(prefix, DSM_STORE_KEY_MAX + 1);
	if (n > DSM_STORE_KEY_MAX)
		return -E2BIG;
	if (n > 0 && prefix[0] == '/')
		return -EINVAL;
	return check_parts(prefix, n);
}

static int check_value(const void *value, size_t len)
{
	if (!value && len)
		return -EINVAL;
	return len > DSM_STORE_VALUE_MAX ? -E2BIG : 0;
}

static bool is_revision(int64_t rev)
{
	return rev > 0;
}

/* One op by itself: its key, its condition for its kind, its value. */
static int check_op(const struct dsm_store_op *op)
{
	const int64_t exp = op->expect_mod_rev;
	int err = dsm_store_key_check(op->key);

	if (err)
		return err;
	switch (op->kind) {
	case DSM_STORE_CHECK:
		if (exp != DSM_STORE_ABSENT && !is_revision(exp))
			return -EINVAL;
		break;
	case DSM_STORE_PUT:
		if (exp != DSM_STORE_ANY && exp != DSM_STORE_ABSENT && !is_revision(exp))
			return -EINVAL;
		return check_value(op->value, op->len);
	case DSM_STORE_DELETE:
		if (exp != DSM_STORE_ANY && !is_revision(exp))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return op->value || op->len ? -EINVAL : 0;
}

/* A transaction as a whole: its size, every op, one op per key, a write. */
static int check_txn(const struct dsm_store_op *ops, size_t n)
{
	bool writes = false;
	size_t bytes = 0;
	int err;

	if (!ops || !n)
		return -EINVAL;
	if (n > DSM_STORE_TXN_MAX_OPS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		err = check_op(&ops[i]);
		if (err)
			return err;
		if (ops[i].kind == DSM_STORE_PUT)
			bytes += ops[i].len; /* each <= 1 MiB, at most 128: no overflow */
		writes |= ops[i].kind != DSM_STORE_CHECK;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ops[i].key, ops[j].key))
				return -EINVAL;
	}
	if (bytes > DSM_STORE_TXN_MAX_BYTES)
		return -E2BIG;
	return writes ? 0 : -EINVAL;
}

/* ---- handles -------------------------------------------------------------- */

int dsm_store_new(const struct dsm_store_ops *ops, void *be, struct dsm_store **out)
{
	struct dsm_store *s;

	if (!ops || !out)
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->be = be;
	*out = s;
	return 0;
}

int dsm_store_close(struct dsm_store *s)
{
	int err;

	if (!s)
		return 0;
	err = s->ops->close(s->be);
	free(s);
	return err;
}

const char *dsm_store_backend(const struct dsm_store *s)
{
	return s ? s->ops->name : NULL;
}

void dsm_store_set_notify(struct dsm_store *s, dsm_store_notify_fn fn, void *ctx)
{
	if (!s)
		return;
	s->notify = fn;
	s->notify_ctx = ctx;
}

/* From a backend, perhaps on a thread of its own: no in_callback here. */
void dsm_store_notify(struct dsm_store *s, int64_t rev)
{
	if (s && s->notify)
		s->notify(s->notify_ctx, rev);
}

/* After a write through s committed, on the caller's thread. */
static void notify_commit(struct dsm_store *s, int64_t rev)
{
	if (!s->notify)
		return;
	s->in_callback = true;
	s->notify(s->notify_ctx, rev);
	s->in_callback = false;
}

/* May s be used now? Not while one of its callbacks runs. */
static int usable(const struct dsm_store *s)
{
	if (!s)
		return -EINVAL;
	return s->in_callback ? -EDEADLK : 0;
}

/* ---- reads ---------------------------------------------------------------- */

int dsm_store_revision(struct dsm_store *s, int64_t *rev)
{
	int err = usable(s);

	if (err)
		return err;
	if (!rev)
		return -EINVAL;
	return s->ops->revision(s->be, rev);
}

int dsm_store_get(struct dsm_store *s, const char *key, void **value, size_t *len,
		  struct dsm_store_revs *revs)
{
	int err = usable(s);

	if (value)
		*value = NULL;
	if (err)
		return err;
	err = dsm_store_key_check(key);
	if (err)
		return err;
	return s->ops->get(s->be, key, value, len, revs);
}

int dsm_store_range(struct dsm_store *s, const char *prefix, dsm_store_kv_fn fn, void *ctx,
		    int64_t *rev)
{
	int err = usable(s);

	if (err)
		return err;
	err = dsm_store_prefix_check(prefix);
	if (err)
		return err;
	if (!fn)
		return -EINVAL;
	s->in_callback = true;
	err = s->ops->range(s->be, prefix, fn, ctx, rev);
	s->in_callback = false;
	return err;
}

int dsm_store_changes(struct dsm_store *s, int64_t from_rev, dsm_store_change_fn fn, void *ctx,
		      int64_t *rev)
{
	int err = usable(s);

	if (err)
		return err;
	if (!is_revision(from_rev) || !fn)
		return -EINVAL;
	s->in_callback = true;
	err = s->ops->changes(s->be, from_rev, fn, ctx, rev);
	s->in_callback = false;
	return err;
}

/* ---- writes --------------------------------------------------------------- */

int dsm_store_txn(struct dsm_store *s, const struct dsm_store_op *ops, size_t n, int64_t *rev)
{
	int64_t new_rev = 0;
	int err = usable(s);

	if (err)
		return err;
	err = check_txn(ops, n);
	if (err)
		return err;
	err = s->ops->txn(s->be, ops, n, &new_rev);
	if (err)
		return err;
	if (rev)
		*rev = new_rev;
	if (s->batch)
		s->batch_rev = new_rev; /* notified once it is durable */
	else
		notify_commit(s, new_rev);
	return 0;
}

int dsm_store_begin(struct dsm_store *s)
{
	int err = usable(s);

	if (err)
		return err;
	if (s->batch)
		return -EBUSY;
	err = s->ops->begin(s->be);
	if (err)
		return err;
	s->batch = true;
	s->batch_rev = 0;
	return 0;
}

int dsm_store_commit(struct dsm_store *s)
{
	const int64_t rev = s ? s->batch_rev : 0;
	int err = usable(s);

	if (err)
		return err;
	if (!s->batch)
		return -EINVAL;
	s->batch = false; /* over, whatever the backend says */
	s->batch_rev = 0;
	err = s->ops->commit(s->be);
	if (!err && rev)
		notify_commit(s, rev);
	return err;
}

int dsm_store_put(struct dsm_store *s, const char *key, const void *value, size_t len,
		  int64_t *rev)
{
	const struct dsm_store_op op = {
		.kind = DSM_STORE_PUT, .key = key, .expect_mod_rev = DSM_STORE_ANY,
		.value = value, .len = len,
	};

	return dsm_store_txn(s, &op, 1, rev);
}

int dsm_store_cas(struct dsm_store *s, const char *key, int64_t expect_mod_rev,
		  const void *value, size_t len, int64_t *rev)
{
	const struct dsm_store_op op = {
		.kind = DSM_STORE_PUT, .key = key, .expect_mod_rev = expect_mod_rev,
		.value = value, .len = len,
	};

	if (expect_mod_rev == DSM_STORE_ANY)
		return -EINVAL; /* that is a put */
	return dsm_store_txn(s, &op, 1, rev);
}

int dsm_store_delete(struct dsm_store *s, const char *key, int64_t expect_mod_rev,
		     int64_t *rev)
{
	const struct dsm_store_op op = {
		.kind = DSM_STORE_DELETE, .key = key, .expect_mod_rev = expect_mod_rev,
	};

	return dsm_store_txn(s, &op, 1, rev);
}

/* ---- history -------------------------------------------------------------- */

int dsm_store_compact(struct dsm_store *s, int64_t rev)
{
	int err = usable(s);

	if (err)
		return err;
	if (!is_revision(rev))
		return -EINVAL;
	return s->ops->compact(s->be, rev);
}
