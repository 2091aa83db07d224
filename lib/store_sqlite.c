// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The state store on SQLite: one database file in WAL mode, shared by
 * every process that opens it. Writes take the write lock first (BEGIN
 * IMMEDIATE), so a condition checked in a transaction still holds when the
 * transaction commits, whoever else writes. Schema and failure behaviour:
 * docs/server.md, "The store".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define SCHEMA_VERSION	1		/* PRAGMA user_version */
#define APPLICATION_ID	0x44534d53	/* PRAGMA application_id: "DSMS" */
#define BUSY_TIMEOUT_MS	5000		/* waiting for another writer */

/* history.kind, on disk: not the values of enum dsm_store_kind. */
enum { HIST_PUT = 1, HIST_DELETE = 2 };

static const char schema_sql[] =
	"CREATE TABLE meta ("
	"  name  TEXT PRIMARY KEY NOT NULL,"
	"  value INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"INSERT INTO meta (name, value) VALUES ('revision', 0), ('compacted', 1);"
	"CREATE TABLE kv ("
	"  key        TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 255),"
	"  value      BLOB NOT NULL,"
	"  create_rev INTEGER NOT NULL CHECK (create_rev > 0),"
	"  mod_rev    INTEGER NOT NULL CHECK (mod_rev >= create_rev)"
	") STRICT;"
	"CREATE TABLE history ("
	"  rev        INTEGER NOT NULL CHECK (rev > 0),"
	"  sub        INTEGER NOT NULL CHECK (sub >= 0),"
	"  kind       INTEGER NOT NULL CHECK (kind IN (1, 2)),"
	"  key        TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),"
	"  value      BLOB CHECK ((kind = 1) = (value IS NOT NULL)),"
	"  create_rev INTEGER NOT NULL CHECK (create_rev >= 0),"
	"  PRIMARY KEY (rev, sub)"
	") STRICT;"
	"PRAGMA application_id = 1146309971;"	/* APPLICATION_ID */
	"PRAGMA user_version = 1;";		/* SCHEMA_VERSION */

_Static_assert(APPLICATION_ID == 1146309971, "schema_sql spells APPLICATION_ID in decimal");
_Static_assert(SCHEMA_VERSION == 1, "schema_sql sets SCHEMA_VERSION");
_Static_assert(DSM_STORE_KEY_MAX == 255, "schema_sql checks key lengths");

enum stmt {
	ST_META_GET,
	ST_META_SET,
	ST_KV_GET,
	ST_KV_REVS,
	ST_KV_RANGE,
	ST_KV_PUT,
	ST_KV_DELETE,
	ST_HIST_ADD,
	ST_HIST_FROM,
	ST_HIST_DROP,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_META_GET]	= "SELECT value FROM meta WHERE name = ?1",
	[ST_META_SET]	= "UPDATE meta SET value = ?2 WHERE name = ?1",
	[ST_KV_GET]	= "SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1",
	[ST_KV_REVS]	= "SELECT create_rev, mod_rev FROM kv WHERE key = ?1",
	[ST_KV_RANGE]	= "SELECT key, value, create_rev, mod_rev FROM kv"
			  " WHERE key >= ?1 AND key < ?2 ORDER BY key",
	[ST_KV_PUT]	= "INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?1, ?2, ?3, ?4)"
			  " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
			  " mod_rev = excluded.mod_rev",
	[ST_KV_DELETE]	= "DELETE FROM kv WHERE key = ?1",
	[ST_HIST_ADD]	= "INSERT INTO history (rev, sub, kind, key, value, create_rev)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_HIST_FROM]	= "SELECT rev, kind, key, value, create_rev FROM history"
			  " WHERE rev >= ?1 AND rev <= ?2 ORDER BY rev, sub",
	[ST_HIST_DROP]	= "DELETE FROM history WHERE rev < ?1",
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	bool broken;	/* a rollback failed: the connection's state is unknown */
	bool batch;	/* a group commit is open: every write is a savepoint in it */
	bool sp;	/* ... and one write's savepoint is open */
};

/* ---- errors and statements ------------------------------------------------ */

static int sq_err(const struct sq *q, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CANTOPEN:
		sys = q->db ? sqlite3_system_errno(q->db) : 0;
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

/* Ready st for its next use, letting go of what was bound to it. */
static void st_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run st, which returns no rows, to its end. */
static int st_run(const struct sq *q, sqlite3_stmt *st)
{
	const int rc = sqlite3_step(st);

	st_done(st);
	return rc == SQLITE_DONE ? 0 : sq_err(q, rc);
}

static int bind_text(sqlite3_stmt *st, int i, const char *text)
{
	return sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

/* A value, never SQL NULL: an empty value is an empty blob. */
static int bind_value(sqlite3_stmt *st, int i, const void *value, size_t len)
{
	static const uint8_t empty[1];

	return sqlite3_bind_blob64(st, i, value ? value : empty, len, SQLITE_STATIC);
}

static int exec(const struct sq *q, const char *sql)
{
	const int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_err(q, rc);
}

/* ---- what rows hold: checked, a database file being input too ------------- */

static int column_rev(sqlite3_stmt *st, int i, int64_t min, int64_t *rev)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return -EIO;
	*rev = sqlite3_column_int64(st, i);
	return *rev >= min ? 0 : -EIO;
}

static int column_key(sqlite3_stmt *st, int i, const char **key)
{
	const char *k;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return -EIO;
	k = (const char *)sqlite3_column_text(st, i);
	if (!k)
		return -ENOMEM;
	if (strlen(k) != (size_t)sqlite3_column_bytes(st, i) || dsm_store_key_check(k))
		return -EIO;
	*key = k;
	return 0;
}

static int column_value(sqlite3_stmt *st, int i, const void **value, size_t *len)
{
	const void *v;
	int n;

	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return -EIO;
	v = sqlite3_column_blob(st, i);
	n = sqlite3_column_bytes(st, i);
	if (n < 0 || (size_t)n > DSM_STORE_VALUE_MAX)
		return -EIO;
	if (!v && n)
		return -ENOMEM;
	*value = v;
	*len = (size_t)n;
	return 0;
}

static int column_revs(sqlite3_stmt *st, int i, struct dsm_store_revs *revs)
{
	int err = column_rev(st, i, 1, &revs->create_rev);

	if (!err)
		err = column_rev(st, i + 1, revs->create_rev, &revs->mod_rev);
	return err;
}

/* ---- transactions --------------------------------------------------------- */

static int sq_begin(struct sq *q, bool write)
{
	int err;

	if (q->broken)
		return -EIO;
	if (q->batch) {
		/* SQLite ended the batch's transaction by itself (an I/O error
		 * rolls it back): its writes are gone, and a savepoint now would
		 * start a transaction of its own */
		if (sqlite3_get_autocommit(q->db)) {
			q->broken = true;
			return -EIO;
		}
		if (!write)
			return 0; /* a read in the batch's transaction sees its writes */
		err = exec(q, "SAVEPOINT w");
		q->sp = !err;
		return err;
	}
	return exec(q, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

/* End the open transaction, if any, without its writes; returns err. In a
 * batch: the one write's savepoint only. */
static int sq_abort(struct sq *q, int err)
{
	if (q->batch) {
		if (q->sp && (exec(q, "ROLLBACK TO w") || exec(q, "RELEASE w")))
			q->broken = true;
		q->sp = false;
		return err;
	}
	if (!sqlite3_get_autocommit(q->db) && exec(q, "ROLLBACK"))
		q->broken = true;
	return err;
}

static int sq_commit(struct sq *q)
{
	int err;

	if (q->batch) {
		if (!q->sp)
			return 0;
		q->sp = false;
		err = exec(q, "RELEASE w"); /* into the batch: durable at its commit */
		if (err)
			q->broken = true;
		return err;
	}
	err = exec(q, "COMMIT");
	return err ? sq_abort(q, err) : 0;
}

static int sq_batch_begin(void *be)
{
	struct sq *q = be;
	int err;

	if (q->broken)
		return -EIO;
	err = exec(q, "BEGIN IMMEDIATE");
	if (!err)
		q->batch = true;
	return err;
}

static int sq_batch_commit(void *be)
{
	struct sq *q = be;
	int err;

	q->batch = false;
	q->sp = false;
	if (q->broken)
		return sq_abort(q, -EIO);
	if (sqlite3_get_autocommit(q->db)) {
		q->broken = true; /* rolled back by SQLite itself: the writes are gone */
		return -EIO;
	}
	err = exec(q, "COMMIT");
	return err ? sq_abort(q, err) : 0;
}

/* ---- meta ----------------------------------------------------------------- */

static int meta_get(const struct sq *q, const char *name, int64_t *value)
{
	sqlite3_stmt *st = q->st[ST_META_GET];
	int rc = bind_text(st, 1, name), err;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = column_rev(st, 0, 0, value);
	else
		err = rc == SQLITE_DONE ? -EIO : sq_err(q, rc); /* no such row: not our file */
	st_done(st);
	return err;
}

static int meta_set(const struct sq *q, const char *name, int64_t value)
{
	sqlite3_stmt *st = q->st[ST_META_SET];
	int rc = bind_text(st, 1, name), err;

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, value);
	if (rc != SQLITE_OK) {
		st_done(st);
		return sq_err(q, rc);
	}
	err = st_run(q, st);
	if (!err && sqlite3_changes(q->db) != 1)
		err = -EIO;
	return err;
}

/* ---- reads ---------------------------------------------------------------- */

static int sq_revision(void *be, int64_t *rev)
{
	struct sq *q = be;

	return q->broken ? -EIO : meta_get(q, "revision", rev);
}

/* A malloc'd copy of len bytes at v, never NULL when it succeeds. */
static int copy_value(const void *v, size_t len, void **out)
{
	void *c = malloc(len ? len : 1);

	if (!c)
		return -ENOMEM;
	if (len)
		memcpy(c, v, len);
	*out = c;
	return 0;
}

static int sq_get(void *be, const char *key, void **value, size_t *len,
		  struct dsm_store_revs *revs)
{
	struct sq *q = be;
	sqlite3_stmt *st = q->st[ST_KV_GET];
	struct dsm_store_revs r;
	const void *v = NULL;
	size_t n = 0;
	int rc, err;

	if (q->broken)
		return -EIO;
	rc = bind_text(st, 1, key);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		err = column_value(st, 0, &v, &n);
		if (!err)
			err = column_revs(st, 1, &r);
		if (!err && value)
			err = copy_value(v, n, value);
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : sq_err(q, rc);
	}
	st_done(st);
	if (err)
		return err;
	if (len)
		*len = n;
	if (revs)
		*revs = r;
	return 0;
}

/* The least string above every key that starts with prefix: the prefix
 * with its last byte one up. Key bytes end at '~', so that never wraps,
 * and for the empty prefix "\x7f" is above every key. */
static void prefix_end(const char *prefix, char end[DSM_STORE_KEY_MAX + 1])
{
	const size_t n = strlen(prefix);

	if (!n) {
		strcpy(end, "\x7f");
		return;
	}
	memcpy(end, prefix, n + 1);
	end[n - 1]++;
}

/* End a read that stepped st to rc, err being what its rows gave (a
 * callback's or a column's error): on success the snapshot's revision at
 * into *rev (if rev), on any failure the transaction rolled back. */
static int end_read(struct sq *q, sqlite3_stmt *st, int rc, int err, int64_t at, int64_t *rev)
{
	if (!err && rc != SQLITE_DONE)
		err = sq_err(q, rc);
	st_done(st);
	if (err)
		return sq_abort(q, err);
	err = sq_commit(q);
	if (!err && rev)
		*rev = at;
	return err;
}

static int sq_range(void *be, const char *prefix, dsm_store_kv_fn fn, void *ctx, int64_t *rev)
{
	struct sq *q = be;
	sqlite3_stmt *st = q->st[ST_KV_RANGE];
	char end[DSM_STORE_KEY_MAX + 1];
	int64_t at = 0;
	int rc, err;

	prefix_end(prefix, end);
	err = sq_begin(q, false);
	if (err)
		return err;
	err = meta_get(q, "revision", &at);
	if (err)
		return sq_abort(q, err);
	rc = bind_text(st, 1, prefix);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 2, end);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dsm_store_kv kv;

		err = column_key(st, 0, &kv.key);
		if (!err)
			err = column_value(st, 1, &kv.value, &kv.len);
		if (!err)
			err = column_revs(st, 2, &kv.revs);
		if (!err)
			err = fn(&kv, ctx);
		if (err)
			break;
		rc = SQLITE_OK;
	}
	return end_read(q, st, rc, err, at, rev);
}

/* ---- writes --------------------------------------------------------------- */

/* key's revisions: 0, -ENOENT, or an error. */
static int kv_revs(const struct sq *q, const char *key, struct dsm_store_revs *revs)
{
	sqlite3_stmt *st = q->st[ST_KV_REVS];
	int rc = bind_text(st, 1, key), err;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = column_revs(st, 0, revs);
	else
		err = rc == SQLITE_DONE ? -ENOENT : sq_err(q, rc);
	st_done(st);
	return err;
}

/* Does op's condition hold for its key as it is (exists, with revs)? */
static int op_condition(const struct dsm_store_op *op, bool exists,
			const struct dsm_store_revs *revs)
{
	const int64_t have = exists ? revs->mod_rev : DSM_STORE_ABSENT;

	if (op->expect_mod_rev == DSM_STORE_ANY)
		return op->kind == DSM_STORE_DELETE && !exists ? -ENOENT : 0;
	return op->expect_mod_rev == have ? 0 : -ECANCELED;
}

static int hist_add(const struct sq *q, int64_t rev, int64_t sub, const struct dsm_store_op *op,
		    int64_t create_rev)
{
	sqlite3_stmt *st = q->st[ST_HIST_ADD];
	const bool put = op->kind == DSM_STORE_PUT;
	int rc = sqlite3_bind_int64(st, 1, rev);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, sub);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, put ? HIST_PUT : HIST_DELETE);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 4, op->key);
	if (rc == SQLITE_OK)
		rc = put ? bind_value(st, 5, op->value, op->len) : sqlite3_bind_null(st, 5);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, put ? create_rev : 0);
	if (rc != SQLITE_OK) {
		st_done(st);
		return sq_err(q, rc);
	}
	return st_run(q, st);
}

static int kv_put(const struct sq *q, const struct dsm_store_op *op, int64_t create_rev,
		  int64_t rev)
{
	sqlite3_stmt *st = q->st[ST_KV_PUT];
	int rc = bind_text(st, 1, op->key);

	if (rc == SQLITE_OK)
		rc = bind_value(st, 2, op->value, op->len);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, create_rev);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, rev);
	if (rc != SQLITE_OK) {
		st_done(st);
		return sq_err(q, rc);
	}
	return st_run(q, st);
}

/* Delete a key known to exist. */
static int kv_delete(const struct sq *q, const char *key)
{
	sqlite3_stmt *st = q->st[ST_KV_DELETE];
	const int rc = bind_text(st, 1, key);
	int err;

	if (rc != SQLITE_OK) {
		st_done(st);
		return sq_err(q, rc);
	}
	err = st_run(q, st);
	if (!err && sqlite3_changes(q->db) != 1)
		err = -EIO;
	return err;
}

static int apply(const struct sq *q, const struct dsm_store_op *op, int64_t create_rev,
		 int64_t rev, int64_t sub)
{
	int err = op->kind == DSM_STORE_PUT ? kv_put(q, op, create_rev, rev) : kv_delete(q, op->key);

	return err ? err : hist_add(q, rev, sub, op, create_rev);
}

static int sq_txn(void *be, const struct dsm_store_op *ops, size_t n, int64_t *rev)
{
	int64_t create_rev[DSM_STORE_TXN_MAX_OPS], cur = 0, next, sub = 0;
	struct sq *q = be;
	int err;

	if (n > DSM_STORE_TXN_MAX_OPS)
		return -E2BIG;
	err = sq_begin(q, true);
	if (err)
		return err;
	err = meta_get(q, "revision", &cur);
	if (!err && cur == INT64_MAX)
		err = -EOVERFLOW;
	next = cur + (cur < INT64_MAX);
	/* every condition, against the store as it is before any write */
	for (size_t i = 0; i < n && !err; i++) {
		struct dsm_store_revs r = { 0 };

		err = kv_revs(q, ops[i].key, &r);
		if (err && err != -ENOENT)
			break;
		create_rev[i] = err ? next : r.create_rev;
		err = op_condition(&ops[i], !err, &r);
	}
	for (size_t i = 0; i < n && !err; i++)
		if (ops[i].kind != DSM_STORE_CHECK)
			err = apply(q, &ops[i], create_rev[i], next, sub++);
	if (!err)
		err = meta_set(q, "revision", next);
	if (err)
		return sq_abort(q, err);
	err = sq_commit(q);
	if (!err)
		*rev = next;
	return err;
}

/* ---- history -------------------------------------------------------------- */

static int row_change(sqlite3_stmt *st, int64_t from, int64_t to, struct dsm_store_change *c)
{
	int64_t kind;
	int err = column_rev(st, 0, from, &c->rev);

	if (!err && c->rev > to)
		err = -EIO;
	if (!err)
		err = column_rev(st, 1, 0, &kind);
	if (!err)
		err = column_key(st, 2, &c->kv.key);
	if (err)
		return err;
	c->kv.revs.mod_rev = c->rev;
	if (kind == HIST_DELETE) {
		c->kind = DSM_STORE_DELETE;
		c->kv.value = NULL;
		c->kv.len = 0;
		c->kv.revs.create_rev = 0;
		return sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : -EIO;
	}
	if (kind != HIST_PUT)
		return -EIO;
	c->kind = DSM_STORE_PUT;
	err = column_value(st, 3, &c->kv.value, &c->kv.len);
	if (!err)
		err = column_rev(st, 4, 1, &c->kv.revs.create_rev);
	return !err && c->kv.revs.create_rev > c->rev ? -EIO : err;
}

static int sq_changes(void *be, int64_t from, dsm_store_change_fn fn, void *ctx, int64_t *rev)
{
	struct sq *q = be;
	sqlite3_stmt *st = q->st[ST_HIST_FROM];
	int64_t at = 0, compacted = 0;
	int rc = SQLITE_OK, err;

	err = sq_begin(q, false);
	if (err)
		return err;
	err = meta_get(q, "revision", &at);
	if (!err)
		err = meta_get(q, "compacted", &compacted);
	if (!err && from < compacted)
		err = -ESTALE;
	if (err)
		return sq_abort(q, err);
	rc = sqlite3_bind_int64(st, 1, from);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, at);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dsm_store_change c;

		err = row_change(st, from, at, &c);
		if (!err)
			err = fn(&c, ctx);
		if (err)
			break;
		rc = SQLITE_OK;
	}
	return end_read(q, st, rc, err, at, rev);
}

static int sq_compact(void *be, int64_t rev)
{
	struct sq *q = be;
	sqlite3_stmt *st = q->st[ST_HIST_DROP];
	int64_t cur = 0, compacted = 0;
	int err = sq_begin(q, true), rc;

	if (err)
		return err;
	err = meta_get(q, "revision", &cur);
	if (!err)
		err = meta_get(q, "compacted", &compacted);
	if (!err && rev > cur)
		err = -EINVAL;
	if (!err && rev > compacted) {
		rc = sqlite3_bind_int64(st, 1, rev);
		if (rc != SQLITE_OK) {
			st_done(st);
			err = sq_err(q, rc);
		} else {
			err = st_run(q, st);
		}
		if (!err)
			err = meta_set(q, "compacted", rev);
	}
	if (err)
		return sq_abort(q, err);
	return sq_commit(q);
}

/* ---- opening and closing -------------------------------------------------- */

static int sq_close(void *be)
{
	struct sq *q = be;
	int rc, err = 0;

	if (!q)
		return 0;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	rc = sqlite3_close(q->db);
	if (rc != SQLITE_OK)
		err = sq_err(q, rc);
	free(q);
	return err;
}

static const struct dsm_store_ops sqlite_ops = {
	.name		= "sqlite",
	.close		= sq_close,
	.revision	= sq_revision,
	.get		= sq_get,
	.range		= sq_range,
	.txn		= sq_txn,
	.changes	= sq_changes,
	.compact	= sq_compact,
	.begin		= sq_batch_begin,
	.commit		= sq_batch_commit,
};

/* Make the directory entry of a file just created durable. */
static int sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/*
 * The database file: created 0600 if absent (SQLite gives its -wal and
 * -shm files the database's mode); if present, a regular file of this
 * user's that no one else may use. Not a symbolic link either way.
 */
static int prepare_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	const bool created = fd >= 0;
	struct stat st;
	int err = 0;

	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (st.st_uid != geteuid() || (st.st_mode & 077))
		err = -EPERM;
	else if (created && fsync(fd))
		err = -errno;
	else if (created)
		err = sync_parent(path);
	close(fd);
	return err;
}

static int query_int(const struct sq *q, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL), err;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = column_rev(st, 0, 0, v);
	else
		err = rc == SQLITE_DONE ? -EIO : sq_err(q, rc);
	sqlite3_finalize(st);
	return err;
}

static int query_text_is(const struct sq *q, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL), err;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		err = t && !strcmp((const char *)t, want) ? 0 : -EIO;
	} else {
		err = rc == SQLITE_DONE ? -EIO : sq_err(q, rc);
	}
	sqlite3_finalize(st);
	return err;
}

/* Is the file an empty database (*empty), or this schema's current
 * version? Anything else is refused, and left as it is. */
static int check_schema(const struct sq *q, bool *empty)
{
	int64_t app = 0, version = 0, objects = 0;
	int err = query_int(q, "PRAGMA application_id", &app);

	if (!err)
		err = query_int(q, "PRAGMA user_version", &version);
	if (!err)
		err = query_int(q, "SELECT count(*) FROM sqlite_master", &objects);
	if (err)
		return err;
	*empty = !app && !version && !objects;
	if (*empty || (app == APPLICATION_ID && version == SCHEMA_VERSION))
		return 0;
	return -EPROTONOSUPPORT;
}

/* Create the schema in an empty database, unless another process just did. */
static int create_schema(struct sq *q)
{
	bool empty = false;
	int err = sq_begin(q, true);

	if (!err)
		err = check_schema(q, &empty);
	if (!err && empty)
		err = exec(q, schema_sql);
	return err ? sq_abort(q, err) : sq_commit(q);
}

/* WAL, a commit durable when it returns, foreign keys, deleted values
 * overwritten; read back where a silent refusal would break a promise. */
static int set_pragmas(const struct sq *q)
{
	int64_t v = 0;
	int err = query_text_is(q, "PRAGMA journal_mode = WAL", "wal");

	if (!err)
		err = exec(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
			      " PRAGMA secure_delete = ON;");
	if (!err)
		err = query_int(q, "PRAGMA synchronous", &v);
	if (!err && v != 2)
		err = -EIO;
	if (!err)
		err = query_int(q, "PRAGMA foreign_keys", &v);
	if (!err && v != 1)
		err = -EIO;
	return err;
}

static int sq_connect(struct sq *q, const char *path)
{
	int rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);

	if (rc != SQLITE_OK)
		return q->db ? sq_err(q, rc) : -ENOMEM;
	sqlite3_extended_result_codes(q->db, 1);
	rc = sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(q->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	return rc == SQLITE_OK ? 0 : sq_err(q, rc);
}

static int prepare_statements(struct sq *q)
{
	for (int i = 0; i < ST_COUNT; i++) {
		const int rc = sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
						  &q->st[i], NULL);

		if (rc != SQLITE_OK)
			return sq_err(q, rc);
	}
	return 0;
}

int dsm_store_open_sqlite(const char *path, struct dsm_store **out)
{
	bool empty = false;
	struct sq *q;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path || !*path)
		return -EINVAL;
	err = prepare_file(path);
	if (err)
		return err;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	err = sq_connect(q, path);
	/* the file's schema first: pragmas write, and a file not ours stays as it is */
	if (!err)
		err = check_schema(q, &empty);
	if (!err)
		err = set_pragmas(q);
	if (!err && empty)
		err = create_schema(q);
	if (!err)
		err = prepare_statements(q);
	if (!err)
		err = dsm_store_new(&sqlite_ops, q, out);
	if (err)
		sq_close(q);
	return err;
}
