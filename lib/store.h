/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Security Server's state store: keys to byte values, a single global
 * revision, a history of changes to watch from. The semantics are etcd's
 * (docs/server.md, "The store"), so that a distributed backend fits under
 * the same calls; SQLite is the embedded backend.
 *
 * Every call returns 0 or a negative errno. A handle is used by one thread
 * at a time. Callbacks (range, changes, notify) must not call back into the
 * store through the same handle: such a call fails with -EDEADLK.
 */
#ifndef DSM_STORE_H
#define DSM_STORE_H

#include <stddef.h>
#include <stdint.h>

/* A key: 1 to DSM_STORE_KEY_MAX bytes, each '!' to '~' (printable ASCII
 * without space), '/' separating non-empty parts (none at either end, no
 * "//"). */
#define DSM_STORE_KEY_MAX	255
/* A value: 0 to DSM_STORE_VALUE_MAX bytes. Policy bundles themselves are
 * files named by their digest; the store holds their metadata. */
#define DSM_STORE_VALUE_MAX	(1u << 20)
/* A transaction: at most this many operations, at most this many value
 * bytes in all. Both keep one transaction inside one etcd request with
 * etcd's default limits (128 operations, 1.5 MiB). */
#define DSM_STORE_TXN_MAX_OPS	128
#define DSM_STORE_TXN_MAX_BYTES	(1u << 20)

/* expect_mod_rev: no condition on the key (put, delete). */
#define DSM_STORE_ANY		(-1)
/* expect_mod_rev: the key must not exist (cas, put and check in a txn). */
#define DSM_STORE_ABSENT	0

struct dsm_store;

struct dsm_store_revs {
	int64_t create_rev;	/* the revision that created the key */
	int64_t mod_rev;	/* the revision that last wrote it */
};

/* A key and its value as range() reports it; the pointers are valid
 * during the callback only. */
struct dsm_store_kv {
	const char *key;
	const void *value;
	size_t len;
	struct dsm_store_revs revs;
};

enum dsm_store_kind {
	DSM_STORE_CHECK = 1,	/* txn only: compare, write nothing */
	DSM_STORE_PUT,
	DSM_STORE_DELETE,
};

/* One change as changes() replays it: kind is DSM_STORE_PUT (kv holds the
 * new value; revs.create_rev == rev means the key was created) or
 * DSM_STORE_DELETE (value NULL, len 0, revs.create_rev 0). */
struct dsm_store_change {
	enum dsm_store_kind kind;
	int64_t rev;
	struct dsm_store_kv kv;	/* kv.revs.mod_rev == rev */
};

/* One operation of a transaction. expect_mod_rev is the key's mod_rev
 * before the transaction: DSM_STORE_ABSENT (must not exist), a revision
 * (must be exactly that), or DSM_STORE_ANY (put: none; delete: the key
 * must exist). A check needs a revision or DSM_STORE_ABSENT. value and len
 * are for a put only. */
struct dsm_store_op {
	enum dsm_store_kind kind;
	const char *key;
	int64_t expect_mod_rev;
	const void *value;
	size_t len;
};

/* Callbacks return 0 to go on; anything else stops the walk, and the call
 * that made it returns that value. */
typedef int (*dsm_store_kv_fn)(const struct dsm_store_kv *kv, void *ctx);
typedef int (*dsm_store_change_fn)(const struct dsm_store_change *c, void *ctx);
/* A hint that the store is at revision rev or later: call changes(). May
 * come more than once for a revision. */
typedef void (*dsm_store_notify_fn)(void *ctx, int64_t rev);

/* Open or create the SQLite store at path (created 0600; an existing file
 * that group or others may access is refused with -EPERM). A file that is
 * not a database: -EBADMSG; another schema or a newer version of this one:
 * -EPROTONOSUPPORT. */
int dsm_store_open_sqlite(const char *path, struct dsm_store **out);
/* Free the handle (always); 0 or the error the backend had closing. */
int dsm_store_close(struct dsm_store *s);
const char *dsm_store_backend(const struct dsm_store *s);

/* The current revision: 0 before the first write, then the revision of the
 * latest. Cheap: poll it to learn of other servers' writes. */
int dsm_store_revision(struct dsm_store *s, int64_t *rev);
/* fn is called after each write through this handle commits, and by a
 * backend that learns of other writers' changes (from any thread: keep it
 * to a wake-up, e.g. an eventfd). NULL removes it. */
void dsm_store_set_notify(struct dsm_store *s, dsm_store_notify_fn fn, void *ctx);

/* key's value (malloc'd, free() it; not NULL even when len is 0) and
 * revisions; each output may be NULL. -ENOENT if absent. */
int dsm_store_get(struct dsm_store *s, const char *key, void **value, size_t *len,
		  struct dsm_store_revs *revs);
/* Every key starting with prefix ("" for all, a prefix of a key
 * otherwise, "nodes/" typically), in byte order, from one snapshot whose
 * revision goes to *rev (may be NULL): to follow on, changes(*rev + 1). */
int dsm_store_range(struct dsm_store *s, const char *prefix, dsm_store_kv_fn fn, void *ctx,
		    int64_t *rev);

/* Writes. Each success is a new revision, returned in *rev (may be NULL). */
int dsm_store_put(struct dsm_store *s, const char *key, const void *value, size_t len,
		  int64_t *rev);
/* Put if key's mod_rev is expect_mod_rev (DSM_STORE_ABSENT: create only);
 * -ECANCELED otherwise. */
int dsm_store_cas(struct dsm_store *s, const char *key, int64_t expect_mod_rev,
		  const void *value, size_t len, int64_t *rev);
/* Delete key: -ENOENT if absent (DSM_STORE_ANY), -ECANCELED if its mod_rev
 * is not expect_mod_rev. */
int dsm_store_delete(struct dsm_store *s, const char *key, int64_t expect_mod_rev,
		     int64_t *rev);
/* All or nothing: every condition holds before the transaction, then every
 * put and delete is done in order under one revision. Otherwise nothing is
 * written and the first op, in order, whose condition failed says why:
 * -ECANCELED (mod_rev), -ENOENT (delete of an absent key). A key appears
 * once; at least one op writes. */
int dsm_store_txn(struct dsm_store *s, const struct dsm_store_op *ops, size_t n, int64_t *rev);

/*
 * A group commit. Between begin() and commit() every write is done as it
 * would be alone: its conditions checked then, its own revision, seen at
 * once by reads through this handle; a write refused inside (-ECANCELED
 * ...) leaves the others as they are. But none of them is durable, seen
 * by another handle or notified until commit() returns 0; then all of
 * them are, together (one fsync with SQLite). A commit that fails, or a
 * handle closed (a process ended) with a batch open, loses every write of
 * the batch and none before it. One batch at a time: begin() with one
 * open is -EBUSY, commit() with none -EINVAL. docs/server.md says what the
 * server puts in one.
 */
int dsm_store_begin(struct dsm_store *s);
int dsm_store_commit(struct dsm_store *s);

/* Replay every change with revision >= from_rev (>= 1), in order (the ops
 * of one transaction in op order), up to the revision of the snapshot,
 * returned in *rev (may be NULL). -ESTALE if from_rev was compacted away:
 * re-read with range() and follow on from its revision. */
int dsm_store_changes(struct dsm_store *s, int64_t from_rev, dsm_store_change_fn fn, void *ctx,
		      int64_t *rev);
/* Drop the history below rev (1 <= rev <= the current revision); asking
 * for an earlier one than already compacted is no error. Values stay. */
int dsm_store_compact(struct dsm_store *s, int64_t rev);

/* 0, -EINVAL (malformed) or -E2BIG (too long). */
int dsm_store_key_check(const char *key);
int dsm_store_prefix_check(const char *prefix);

/*
 * For backends. A backend gets input already checked (keys, values,
 * limits, op conditions well formed) and implements the semantics above.
 */
struct dsm_store_ops {
	const char *name;
	int (*close)(void *be);
	int (*revision)(void *be, int64_t *rev);
	int (*get)(void *be, const char *key, void **value, size_t *len,
		   struct dsm_store_revs *revs);
	int (*range)(void *be, const char *prefix, dsm_store_kv_fn fn, void *ctx, int64_t *rev);
	int (*txn)(void *be, const struct dsm_store_op *ops, size_t n, int64_t *rev);
	int (*changes)(void *be, int64_t from_rev, dsm_store_change_fn fn, void *ctx,
		       int64_t *rev);
	int (*compact)(void *be, int64_t rev);
	/* a group commit: the writes until commit are durable together */
	int (*begin)(void *be);
	int (*commit)(void *be);
};

/* A handle over backend state be; on failure be is the caller's still. */
int dsm_store_new(const struct dsm_store_ops *ops, void *be, struct dsm_store **out);
/* A backend that learns of changes made elsewhere calls the notify hook. */
void dsm_store_notify(struct dsm_store *s, int64_t rev);

#endif /* DSM_STORE_H */
