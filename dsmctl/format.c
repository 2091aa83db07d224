// SPDX-License-Identifier: GPL-2.0
/*
 * Text output of dsmctl: the daemon's JSON answers and alarm log records
 * turned into reports, tables and one-line alarms. Pure functions of their
 * input that write to a FILE, so the unit tests can check them byte for
 * byte. The daemon may be older or newer than this CLI: a missing field
 * prints as "?" instead of failing the whole report, and every string that
 * reaches the terminal has its control characters replaced.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "client.h"
#include "server_client.h"

#define STATUS_KEY_WIDTH 16
#define TABLE_MAX_COLS   10
#define TABLE_GAP        "  "

/* ---- reading members ---------------------------------------------------- */

static struct json_object *member(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A string member, or NULL. (json-c's getter is not const-qualified but
 * only reads a string object.) */
static const char *member_str(const struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool member_int(const struct json_object *o, const char *key, int64_t *out)
{
	const struct json_object *v = member(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/* An integer as text ("?" if v is not one), exact above INT64_MAX too. */
static const char *num_text(const struct json_object *v, char *buf, size_t len)
{
	int64_t n;

	if (!v || !json_object_is_type(v, json_type_int))
		return "?";
	n = json_object_get_int64(v);
	if (n == INT64_MAX)
		snprintf(buf, len, "%" PRIu64, json_object_get_uint64(v));
	else
		snprintf(buf, len, "%" PRId64, n);
	return buf;
}

static const char *member_num(const struct json_object *o, const char *key,
			      char *buf, size_t len)
{
	return num_text(member(o, key), buf, len);
}

/* A name member, else its numeric id member, else "?". */
static const char *name_or_id(const struct json_object *o, const char *key,
			      const char *idkey, char *buf, size_t len)
{
	const char *s = member_str(o, key);

	return s ? s : member_num(o, idkey, buf, len);
}

/* ---- safe text ---------------------------------------------------------- */

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

void dsmctl_put_safe(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(is_ctl((unsigned char)*s) ? '?' : *s, out);
}

static char *dup_safe(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p && *p; p++)
		if (is_ctl((unsigned char)*p))
			*p = '?';
	return d;
}

/* Terminal columns of a UTF-8 string, counting one per character. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* ---- tables ------------------------------------------------------------- */

struct row {
	int64_t key;                 /* sort key: pid, alarm count */
	char *cell[TABLE_MAX_COLS];  /* sanitized, malloc()ed */
};

struct table {
	size_t ncols;
	const char *const *head;
	unsigned right;              /* bit i: column i is right-aligned */
	struct row *rows;
	size_t n;
};

static void table_free(struct table *t)
{
	for (size_t r = 0; r < t->n; r++)
		for (size_t c = 0; c < t->ncols; c++)
			free(t->rows[r].cell[c]);
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

/* Add a row of ncols strings; returns 0 or -1 (out of memory). */
static int table_add(struct table *t, int64_t key, const char *const *cells)
{
	struct row *r = &t->rows[t->n];

	r->key = key;
	for (size_t c = 0; c < t->ncols; c++) {
		r->cell[c] = dup_safe(cells[c]);
		if (!r->cell[c]) {
			while (c--)
				free(r->cell[c]);
			return -1;
		}
	}
	t->n++;
	return 0;
}

static void put_cell(FILE *out, const char *s, size_t width, bool right, bool last)
{
	size_t pad = width - text_width(s);

	if (right)
		fprintf(out, "%*s", (int)pad, "");
	fputs(s, out);
	if (!right && !last)
		fprintf(out, "%*s", (int)pad, "");
	fputs(last ? "\n" : TABLE_GAP, out);
}

static void table_print(FILE *out, const struct table *t)
{
	size_t width[TABLE_MAX_COLS];

	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->head[c]);
		for (size_t r = 0; r < t->n; r++) {
			size_t w = text_width(t->rows[r].cell[c]);

			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t c = 0; c < t->ncols; c++)
		put_cell(out, t->head[c], width[c], t->right >> c & 1, c + 1 == t->ncols);
	for (size_t r = 0; r < t->n; r++)
		for (size_t c = 0; c < t->ncols; c++)
			put_cell(out, t->rows[r].cell[c], width[c], t->right >> c & 1,
				 c + 1 == t->ncols);
}

/* Ties are broken by the cells from left to right: output is deterministic. */
static int cmp_cells(const struct row *a, const struct row *b)
{
	for (size_t c = 0; c < TABLE_MAX_COLS && a->cell[c] && b->cell[c]; c++) {
		int d = strcmp(a->cell[c], b->cell[c]);

		if (d)
			return d;
	}
	return 0;
}

static int cmp_key_up(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return cmp_cells(a, b);
}

static int cmp_key_down(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	return cmp_cells(a, b);
}

/* ---- answers ------------------------------------------------------------ */

int dsmctl_print_json(FILE *out, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							  JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!s || fputs(s, out) < 0 || fputc('\n', out) < 0)
		return -1;
	return 0;
}

static void put_key(FILE *out, const char *key)
{
	fprintf(out, "%-*s", STATUS_KEY_WIDTH, key);
}

static void put_line(FILE *out, const char *key, const char *value)
{
	put_key(out, key);
	dsmctl_put_safe(out, value);
	fputc('\n', out);
}

static void put_policy(FILE *out, const struct json_object *st)
{
	const struct json_object *p = member(st, "policy");
	char b1[24], b2[24], b3[24];
	const char *name, *src;

	if (!p || !json_object_is_type(p, json_type_object)) {
		put_line(out, "policy", "none");
		return;
	}
	name = member_str(p, "name");
	put_key(out, "policy");
	dsmctl_put_safe(out, name ? name : "?");
	fprintf(out, " version %s (%s labels, %s entries)\n",
		member_num(p, "version", b1, sizeof(b1)),
		member_num(p, "labels", b2, sizeof(b2)),
		member_num(p, "entries", b3, sizeof(b3)));
	src = member_str(p, "source");
	if (src)
		put_line(out, "policy source", src);
}

/* "denied 5, permissive 0, events dropped 0, errors 0", in the order sent. */
static void put_counters(FILE *out, const struct json_object *st, const char *name)
{
	const struct json_object *c = member(st, name);
	bool first = true;
	char num[24];

	put_key(out, name);
	if (c && json_object_is_type(c, json_type_object)) {
		json_object_object_foreach((struct json_object *)c, key, val) {
			fputs(first ? "" : ", ", out);
			for (const char *k = key; *k; k++)
				fputc(*k == '_' ? ' ' : is_ctl((unsigned char)*k) ? '?' : *k, out);
			fprintf(out, " %s", num_text(val, num, sizeof(num)));
			first = false;
		}
	}
	fputs(first ? "unavailable\n" : "\n", out);
}

/*
 * dsmd's own bounds, when it sends them: the alarm log (what the rate limit
 * held back, write errors, rotations) and the control socket (clients
 * turned away, timed out).
 */
static void put_bookkeeping(FILE *out, const struct json_object *st)
{
	const struct json_object *log = member(st, "alarm_log");
	char a[24], b[24], c[24], e[24], f[24], m[24];

	if (log) {
		put_key(out, "alarm log");
		fprintf(out, "%s written, %s not logged (rate limit), %s write errors, "
			"%s rotations, %s of %s bytes\n",
			member_num(log, "written", a, sizeof(a)),
			member_num(log, "suppressed", b, sizeof(b)),
			member_num(log, "write_errors", c, sizeof(c)),
			member_num(log, "rotations", e, sizeof(e)),
			member_num(log, "bytes", f, sizeof(f)),
			member_num(log, "max_bytes", m, sizeof(m)));
	}
	if (member(st, "control"))
		put_counters(out, st, "control");
}

static int put_alarm_counts(FILE *out, const struct json_object *st)
{
	static const char *const head[] = {
		"COUNT", "VERDICT", "SUBJECT", "TARGET", "CLASS", "PERM",
	};
	const struct json_object *arr = member(st, "alarms");
	struct table t = { .ncols = 6, .head = head, .right = 1u << 0 };
	size_t n = arr && json_object_is_type(arr, json_type_array) ?
		   json_object_array_length(arr) : 0;
	int ret = 0;

	if (!n) {
		put_line(out, "alarms", "none");
		return 0;
	}
	t.rows = calloc(n, sizeof(*t.rows));
	if (!t.rows)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct json_object *a = json_object_array_get_idx(arr, i);
		char cnt[24], sid[24], tid[24];
		const char *cells[6];
		const char *v;
		int64_t count = 0;

		member_int(a, "count", &count);
		cells[0] = member_num(a, "count", cnt, sizeof(cnt));
		cells[1] = (v = member_str(a, "verdict")) ? v : "?";
		cells[2] = name_or_id(a, "subject", "subject_id", sid, sizeof(sid));
		cells[3] = name_or_id(a, "target", "target_id", tid, sizeof(tid));
		cells[4] = (v = member_str(a, "class")) ? v : "?";
		cells[5] = (v = member_str(a, "perm")) ? v : "?";
		if (table_add(&t, count, cells)) {
			ret = -1;
			goto out;
		}
	}
	qsort(t.rows, t.n, sizeof(*t.rows), cmp_key_down);
	fputc('\n', out);
	table_print(out, &t);
out:
	table_free(&t);
	return ret;
}

int dsmctl_format_status(FILE *out, const struct json_object *st)
{
	const struct json_object *node = member(st, "node");
	const struct json_object *takeover = member(st, "takeover");
	const char *name = member_str(node, "name"), *mode = member_str(st, "mode");
	char num[24];

	if (!st || !json_object_is_type(st, json_type_object))
		return -1;
	put_key(out, "node");
	dsmctl_put_safe(out, name ? name : "?");
	fprintf(out, " (id %s)\n", member_num(node, "id", num, sizeof(num)));
	put_key(out, "dsmd pid");
	fprintf(out, "%s\n", member_num(st, "pid", num, sizeof(num)));
	put_line(out, "mode", mode ? mode : "?");
	put_line(out, "takeover", !takeover || !json_object_is_type(takeover, json_type_boolean) ?
		 "?" : json_object_get_boolean(takeover) ? "yes" : "no");
	put_policy(out, st);
	put_counters(out, st, "counters");
	put_counters(out, st, "packets");
	put_bookkeeping(out, st);
	return put_alarm_counts(out, st);
}

int dsmctl_format_ps(FILE *out, const struct json_object *ps)
{
	static const char *const head[] = { "PID", "LABEL", "COMM" };
	const struct json_object *arr = member(ps, "processes");
	struct table t = { .ncols = 3, .head = head, .right = 1u << 0 };
	size_t n;
	int ret = 0;

	if (!arr || !json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	t.rows = calloc(n ? n : 1, sizeof(*t.rows));
	if (!t.rows)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct json_object *p = json_object_array_get_idx(arr, i);
		char pid[24], lid[24];
		const char *cells[3], *comm = member_str(p, "comm");
		int64_t key = INT64_MAX;

		member_int(p, "pid", &key);
		cells[0] = member_num(p, "pid", pid, sizeof(pid));
		cells[1] = name_or_id(p, "label", "label_id", lid, sizeof(lid));
		cells[2] = comm ? comm : "?";
		if (table_add(&t, key, cells)) {
			ret = -1;
			goto out;
		}
	}
	qsort(t.rows, t.n, sizeof(*t.rows), cmp_key_up);
	table_print(out, &t);
out:
	table_free(&t);
	return ret;
}

/* ---- alarm log records -------------------------------------------------- */

bool dsmctl_alarm_ok(const struct json_object *ev)
{
	return member_str(ev, "time") && member_str(ev, "verdict");
}

int dsmctl_format_alarm(FILE *out, const struct json_object *ev)
{
	const char *time = member_str(ev, "time"), *verdict = member_str(ev, "verdict");
	const char *node, *snode, *s;
	char nbuf[24], sbuf[24], tbuf[24], num[24];

	if (!dsmctl_alarm_ok(ev))
		return -1;
	node = name_or_id(ev, "node", "node_id", nbuf, sizeof(nbuf));
	snode = member_str(ev, "subject_node");

	dsmctl_put_safe(out, time);
	fputc(' ', out);
	dsmctl_put_safe(out, node);
	fputc(' ', out);
	dsmctl_put_safe(out, verdict);
	fputc(' ', out);
	if (member(ev, "dropped") && !member(ev, "subject") && !member(ev, "subject_id")) {
		/* The server's record of alarms a node lost before sending them. */
		fprintf(out, "%s alarms (the node counted them, they never reached the server)\n",
			member_num(ev, "dropped", num, sizeof(num)));
		return 0;
	}
	dsmctl_put_safe(out, name_or_id(ev, "subject", "subject_id", sbuf, sizeof(sbuf)));
	if (snode && strcmp(snode, node)) {
		/* A peer on another node sent it. */
		fputc('@', out);
		dsmctl_put_safe(out, snode);
	}
	fputs(" -> ", out);
	dsmctl_put_safe(out, name_or_id(ev, "target", "target_id", tbuf, sizeof(tbuf)));
	fputc(' ', out);
	dsmctl_put_safe(out, (s = member_str(ev, "class")) ? s : "?");
	fputc(' ', out);
	dsmctl_put_safe(out, (s = member_str(ev, "perm")) ? s : "?");
	if ((s = member_str(ev, "saddr"))) {
		/* A packet: who happened to be on the CPU says nothing. */
		fputs(" from ", out);
		dsmctl_put_safe(out, s);
		if ((s = member_str(ev, "reason"))) {
			fputs(" (", out);
			dsmctl_put_safe(out, s);
			fputc(')', out);
		}
		fputc('\n', out);
		return 0;
	}
	if (member(ev, "suppressed")) {
		/* The rate limit held back this many of the kind. */
		fprintf(out, " (%s more not logged: rate limit)\n",
			member_num(ev, "suppressed", num, sizeof(num)));
		return 0;
	}
	if ((s = member_str(ev, "family")))
		fputs(" over unix", out);
	fprintf(out, " pid=%s", member_num(ev, "pid", num, sizeof(num)));
	if ((s = member_str(ev, "comm"))) {
		fputs(" comm=", out);
		dsmctl_put_safe(out, s);
	}
	fputc('\n', out);
	return 0;
}

/* ---- the Security Server's answers -------------------------------------- */

void dsmctl_utc(uint64_t t, char out[32])
{
	struct tm tm;
	const time_t tt = (time_t)t;

	if ((uint64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "@%" PRIu64, t);
}

/* "-" for an absent or zero time, else the time. */
static const char *time_cell(const struct json_object *o, const char *key, char out[32])
{
	int64_t t;

	if (!member_int(o, key, &t) || t <= 0)
		return "-";
	dsmctl_utc((uint64_t)t, out);
	return out;
}

/* How long before now a node was last heard from. */
static const char *age_cell(const struct json_object *o, time_t now, char *out, size_t len)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };
	int64_t t, age;

	if (!member_int(o, "last_seen", &t) || t <= 0)
		return "never";
	age = (int64_t)now - t;
	if (age < 0)
		age = 0; /* the server's clock is ahead of ours */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (age >= units[i].secs) {
			snprintf(out, len, "%" PRId64 "%c ago", age / units[i].secs, units[i].unit);
			return out;
		}
	snprintf(out, len, "%" PRId64 "s ago", age);
	return out;
}

/* "V (RESULT)", "V", or "-" before any policy reached the node. */
static const char *policy_cell(const struct json_object *o, char *out, size_t len)
{
	const char *result = member_str(o, "policy_result");
	int64_t v;

	if (!member_int(o, "policy_version", &v) || v <= 0)
		return "-";
	if (result && *result)
		snprintf(out, len, "%" PRId64 " (%s)", v, result);
	else
		snprintf(out, len, "%" PRId64, v);
	return out;
}

static const char *bool_cell(const struct json_object *o, const char *key)
{
	const struct json_object *v = member(o, key);

	if (!v || !json_object_is_type(v, json_type_boolean))
		return "?";
	return json_object_get_boolean(v) ? "yes" : "no";
}

static const char *str_cell(const struct json_object *o, const char *key, const char *none)
{
	const char *s = member_str(o, key);

	return s && *s ? s : none;
}

static bool any_has(const struct json_object *nodes, const char *key)
{
	for (size_t i = 0; i < json_object_array_length(nodes); i++)
		if (member(json_object_array_get_idx(nodes, i), key))
			return true;
	return false;
}

/* The node table's columns, in order; each is shown or not. */
enum node_col {
	NC_NAME, NC_ID, NC_STATE, NC_ADDRESS, NC_POLICY, NC_KEYGEN, NC_CERT, NC_SEEN,
	NC_ALARMS, NC_CONNECTED, NC_COUNT
};

static const char *const node_heads[NC_COUNT] = {
	"NAME", "ID", "STATE", "ADDRESS", "POLICY", "KEYGEN", "CERT-EXPIRES", "LAST-SEEN",
	"ALARMS", "CONNECTED",
};

struct node_cells {
	char id[24], policy[96], keygen[24], cert[32], seen[32], alarms[24];
	const char *v[NC_COUNT];
};

static void node_cells(const struct json_object *n, time_t now, struct node_cells *c)
{
	const struct json_object *kg = member(n, "keygen");

	c->v[NC_NAME] = str_cell(n, "name", "?");
	c->v[NC_ID] = member_num(n, "id", c->id, sizeof(c->id));
	c->v[NC_STATE] = str_cell(n, "state", "?");
	c->v[NC_ADDRESS] = str_cell(n, "address", "-");
	c->v[NC_POLICY] = policy_cell(n, c->policy, sizeof(c->policy));
	c->v[NC_KEYGEN] = !kg ? "-" : json_object_is_type(kg, json_type_string) ?
		json_object_get_string((struct json_object *)kg) :
		num_text(kg, c->keygen, sizeof(c->keygen));
	c->v[NC_CERT] = time_cell(n, "cert_expires", c->cert);
	c->v[NC_SEEN] = age_cell(n, now, c->seen, sizeof(c->seen));
	c->v[NC_ALARMS] = member_num(n, "alarms", c->alarms, sizeof(c->alarms));
	c->v[NC_CONNECTED] = bool_cell(n, "connected");
}

int dsmctl_format_nodes(FILE *out, const struct json_object *nodes, unsigned flags, time_t now)
{
	const char *head[NC_COUNT];
	struct table t = { .head = head, .right = 0 };
	int cols[NC_COUNT];
	size_t n;
	int ret = 0;

	if (!nodes || !json_object_is_type(nodes, json_type_array))
		return -1;
	n = json_object_array_length(nodes);
	if (!n) {
		fputs("no nodes\n", out);
		return 0;
	}
	for (int c = 0; c < NC_COUNT; c++) {
		if ((c == NC_KEYGEN && !(flags & DSMCTL_NODES_KEYGEN && any_has(nodes, "keygen"))) ||
		    (c == NC_CERT && !(flags & DSMCTL_NODES_CERT)))
			continue;
		if (c == NC_ID || c == NC_ALARMS)
			t.right |= 1u << t.ncols;
		cols[t.ncols] = c;
		head[t.ncols++] = node_heads[c];
	}
	t.rows = calloc(n, sizeof(*t.rows));
	if (!t.rows)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct json_object *node = json_object_array_get_idx(nodes, i);
		struct node_cells nc;
		const char *cells[NC_COUNT];
		int64_t key = INT64_MAX;

		member_int(node, "id", &key);
		node_cells(node, now, &nc);
		for (size_t c = 0; c < t.ncols; c++)
			cells[c] = nc.v[cols[c]];
		if (table_add(&t, key, cells)) {
			ret = -1;
			goto out;
		}
	}
	qsort(t.rows, t.n, sizeof(*t.rows), cmp_key_up);
	table_print(out, &t);
out:
	table_free(&t);
	return ret;
}

int dsmctl_format_cluster_status(FILE *out, const struct json_object *st, time_t now)
{
	const struct json_object *nodes = member(st, "nodes");
	size_t n = 0, connected = 0;
	int64_t version;

	if (!nodes || !json_object_is_type(nodes, json_type_array))
		return -1;
	n = json_object_array_length(nodes);
	for (size_t i = 0; i < n; i++) {
		const struct json_object *c = member(json_object_array_get_idx(nodes, i),
						     "connected");

		connected += c && json_object_is_type(c, json_type_boolean) &&
			     json_object_get_boolean(c);
	}
	put_line(out, "cluster", str_cell(st, "cluster", "?"));
	put_line(out, "server", str_cell(st, "server", "?"));
	put_key(out, "policy");
	if (member_int(st, "version", &version) && version > 0)
		fprintf(out, "version %" PRId64 "\n", version);
	else
		fputs("none pushed\n", out);
	put_key(out, "nodes");
	fprintf(out, "%zu, %zu connected\n", n, connected);
	if (n)
		fputc('\n', out);
	return n ? dsmctl_format_nodes(out, nodes, DSMCTL_NODES_KEYGEN, now) : 0;
}

int dsmctl_format_policy_status(FILE *out, const struct json_object *ps)
{
	static const char *const head[] = { "NAME", "VERSION", "RESULT", "STATE" };
	const struct json_object *nodes = member(ps, "nodes");
	struct table t = { .ncols = 4, .head = head, .right = 1u << 1 };
	int64_t version = 0;
	size_t n;
	int ret = 0;

	if (!nodes || !json_object_is_type(nodes, json_type_array))
		return -1;
	put_key(out, "policy");
	if (member_int(ps, "version", &version) && version > 0)
		fprintf(out, "version %" PRId64 "\n", version);
	else
		fputs("none pushed\n", out);
	n = json_object_array_length(nodes);
	if (!n) {
		put_line(out, "nodes", "none");
		return 0;
	}
	fputc('\n', out);
	t.rows = calloc(n, sizeof(*t.rows));
	if (!t.rows)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct json_object *node = json_object_array_get_idx(nodes, i);
		int64_t v = 0;
		char vbuf[24];
		const char *cells[4];
		const bool has = member_int(node, "policy_version", &v) && v > 0;

		cells[0] = str_cell(node, "name", "?");
		cells[1] = has ? member_num(node, "policy_version", vbuf, sizeof(vbuf)) : "-";
		cells[2] = str_cell(node, "policy_result", "-");
		cells[3] = !has ? "none" : v >= version ? "current" : "behind";
		if (table_add(&t, 0, cells)) {
			ret = -1;
			goto out;
		}
	}
	qsort(t.rows, t.n, sizeof(*t.rows), cmp_key_up);
	table_print(out, &t);
out:
	table_free(&t);
	return ret;
}
