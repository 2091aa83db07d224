// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Compiler: parse tree -> struct dsm_policy. Resolves names, checks the
 * semantics (duplicates, reserved ids, node only on peer rules ...),
 * expands rules into map entries and merges them in a hash table, so the
 * cost is linear in the number of entries produced.
 *
 * Wildcards and the BPF lookup: a hook looks up the exact key first and
 * falls back to the wildcard key (DSM_QUAL_ANY for sockets, DSM_NODE_ANY
 * for peers). Whether the BPF side stops at the first hit or ORs both, the
 * answer is the same because every exact entry here already includes the
 * permissions of its wildcard sibling ("folding", see fold_wildcards()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_int.h"

/* Name -> index hash table over slices (labels, nodes, file paths). */
struct ntab {
	uint32_t *slot; /* index + 1, 0 = empty */
	size_t mask;
};

struct compiler {
	struct ptree *t;
	struct policy_diag_ctx *dc;
	int err;

	struct ntab labels;        /* name -> t->labels index */
	bool *label_dup;           /* per def: rejected as a duplicate */
	uint32_t *label_flags;     /* per def: DSM_LABEL_F_* */
	struct policy_loc *perm_loc; /* per def: first `permissive` */
	struct ntab nodes;
	bool *node_dup;

	PVEC(struct dsm_entry) ents;
	PVEC(struct policy_loc) ent_loc; /* statement that created each entry */
	uint32_t *eslot;           /* key hash -> ents index + 1 */
	size_t emask;

	PVEC(uint32_t) subj, subj_node, targ; /* scratch for one rule */
	PVEC(struct dsm_rule_src) srcs;       /* every allow statement */
};

#define NO_ID 0u /* DSM_LABEL_INVALID; never a valid id */

static bool slice_eq(struct pslice a, struct pslice b)
{
	return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

static int ntab_init(struct ntab *t, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	t->slot = calloc(size, sizeof(*t->slot));
	t->mask = size - 1;
	return t->slot ? 0 : -ENOMEM;
}

/* Find name among names[] (via the table); insert it as index i when
 * absent and i != UINT32_MAX. Returns the index found, or UINT32_MAX. */
static uint32_t ntab_find(struct ntab *t, const void *base, size_t stride,
			  size_t name_off, struct pslice name, uint32_t insert)
{
	size_t h = (size_t)policy_hash_bytes(name.s, name.len) & t->mask;

	for (;; h = (h + 1) & t->mask) {
		uint32_t i = t->slot[h];
		struct pslice cand;

		if (!i) {
			if (insert != UINT32_MAX)
				t->slot[h] = insert + 1;
			return UINT32_MAX;
		}
		memcpy(&cand, (const char *)base + (size_t)(i - 1) * stride + name_off,
		       sizeof(cand));
		if (slice_eq(cand, name))
			return i - 1;
	}
}

#define NTAB_FIND(tab, vec, field, name, insert) \
	ntab_find((tab), (vec).v, sizeof(*(vec).v), offsetof(__typeof__(*(vec).v), field), \
		  (name), (insert))

__attribute__((format(printf, 3, 4)))
static void error(struct compiler *c, struct policy_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy_vdiag(c->dc, DSM_SEV_ERROR, loc, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void warning(struct compiler *c, struct policy_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy_vdiag(c->dc, DSM_SEV_WARNING, loc, fmt, ap);
	va_end(ap);
}

static bool stop(const struct compiler *c)
{
	return c->err || policy_diag_full(c->dc);
}

/* ---- entries ------------------------------------------------------------ */

static uint32_t *entry_slot(struct compiler *c, const struct dsm_pkey *k)
{
	size_t h = (size_t)policy_hash_bytes(k, sizeof(*k)) & c->emask;

	for (;; h = (h + 1) & c->emask) {
		uint32_t i = c->eslot[h];

		if (!i || memcmp(&c->ents.v[i - 1].key, k, sizeof(*k)) == 0)
			return &c->eslot[h];
	}
}

static struct dsm_entry *entry_find(struct compiler *c, const struct dsm_pkey *k)
{
	uint32_t i = *entry_slot(c, k);

	return i ? &c->ents.v[i - 1] : NULL;
}

static int entry_rehash(struct compiler *c)
{
	size_t size = (c->emask + 1) * 2;
	uint32_t *slot = calloc(size, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	free(c->eslot);
	c->eslot = slot;
	c->emask = size - 1;
	for (size_t i = 0; i < c->ents.n; i++)
		*entry_slot(c, &c->ents.v[i].key) = (uint32_t)i + 1;
	return 0;
}

/* Find or create the entry for key k (created with zero value, statement
 * location loc). *created tells which. NULL on error (c->err or a
 * reported size error). */
static struct dsm_entry *entry_get(struct compiler *c, const struct dsm_pkey *k,
				   struct policy_loc loc, bool *created)
{
	uint32_t *slot = entry_slot(c, k);
	struct dsm_entry *e;
	struct policy_loc *l;

	*created = false;
	if (*slot)
		return &c->ents.v[*slot - 1];
	e = PVEC_PUSH(c->ents, POLICY_MAX_ENTRIES);
	if (!e) {
		if (errno == E2BIG)
			error(c, loc, "policy too large (more than %u map entries)",
			      POLICY_MAX_ENTRIES);
		else
			c->err = -ENOMEM;
		return NULL;
	}
	l = PVEC_PUSH(c->ent_loc, POLICY_MAX_ENTRIES);
	if (!l) {
		c->ents.n--;
		c->err = -ENOMEM;
		return NULL;
	}
	*l = loc;
	e->key = *k;
	*slot = (uint32_t)c->ents.n;
	*created = true;
	if (c->ents.n * 2 > c->emask + 1 && (c->err = entry_rehash(c)))
		return NULL;
	return &c->ents.v[c->ents.n - 1];
}

static struct policy_loc entry_loc(const struct compiler *c, const struct dsm_entry *e)
{
	return c->ent_loc.v[e - c->ents.v];
}

/* ---- names -------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void define_names(struct compiler *c, bool node)
{
	struct ptree *t = c->t;
	struct pdef *defs = node ? t->nodes.v : t->labels.v;
	size_t n = node ? t->nodes.n : t->labels.n;
	struct ntab *tab = node ? &c->nodes : &c->labels;
	bool *dup = node ? c->node_dup : c->label_dup;
	const char *kind = node ? "node" : "label";
	uint64_t *order;

	for (size_t i = 0; i < n; i++) {
		uint32_t j = ntab_find(tab, defs, sizeof(*defs), offsetof(struct pdef, name),
				       defs[i].name, (uint32_t)i);

		if (j != UINT32_MAX) {
			dup[i] = true;
			error(c, defs[i].loc, "duplicate %s '%.*s' (first defined at %u:%u)",
			      kind, (int)defs[i].name.len, defs[i].name.s,
			      defs[j].loc.line, defs[j].loc.col);
		}
	}

	/* Duplicate ids: sort (id << 32 | index) so equal ids are adjacent and
	 * in source order. Names already rejected as duplicates are left out. */
	order = malloc((n ? n : 1) * sizeof(*order));
	if (!order) {
		c->err = -ENOMEM;
		return;
	}
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (!dup[i] && defs[i].id != NO_ID)
			order[m++] = (uint64_t)defs[i].id << 32 | i;
	qsort(order, m, sizeof(*order), cmp_u64);
	for (size_t i = 1; i < m; i++) {
		const struct pdef *first = &defs[(uint32_t)order[i - 1]];
		const struct pdef *d = &defs[(uint32_t)order[i]];

		if (d->id != first->id)
			continue;
		dup[(uint32_t)order[i]] = true;
		error(c, d->loc, "%s id %u already used by '%.*s' (defined at %u:%u)",
		      kind, d->id, (int)first->name.len, first->name.s,
		      first->loc.line, first->loc.col);
		order[i] = order[i - 1]; /* report a third user against the first */
	}
	free(order);
}

/* The id of a label reference, or NO_ID after reporting an unknown name. */
static uint32_t label_id(struct compiler *c, const struct pref *r)
{
	uint32_t i = NTAB_FIND(&c->labels, c->t->labels, name, r->name, UINT32_MAX);

	if (i == UINT32_MAX) {
		error(c, r->loc, "unknown label '%.*s'", (int)r->name.len, r->name.s);
		return NO_ID;
	}
	return c->t->labels.v[i].id; /* NO_ID for a definition already in error */
}

/* The node of a peer rule's subject: DSM_NODE_ANY, an id, or NO_ID. */
static uint32_t node_id(struct compiler *c, const struct pref *r)
{
	uint32_t i;

	if (r->node_any)
		return DSM_NODE_ANY;
	i = NTAB_FIND(&c->nodes, c->t->nodes, name, r->node, UINT32_MAX);
	if (i == UINT32_MAX) {
		error(c, r->node_loc, "unknown node '%.*s'", (int)r->node.len, r->node.s);
		return NO_ID;
	}
	return c->t->nodes.v[i].id;
}

/* ---- allow rules -------------------------------------------------------- */

static const uint8_t families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET };
static const uint8_t socktypes[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };

/* The qualifiers a rule covers. A family without a type (or a type without
 * a family) is expanded over the types (families) the language names:
 * the BPF side only tries the exact pair and DSM_QUAL_ANY, so a
 * half-wildcard must become exact pairs. Pairs the language cannot name
 * (e.g. inet + SOCK_DCCP) stay denied. */
static size_t rule_quals(const struct prule *r, uint16_t *q)
{
	size_t n = 0;

	if (r->family == PQUAL_ANY && r->type == PQUAL_ANY) {
		q[n++] = DSM_QUAL_ANY;
	} else if (r->type == PQUAL_ANY) {
		for (size_t i = 0; i < sizeof(socktypes); i++)
			q[n++] = dsm_qual((uint16_t)r->family, socktypes[i]);
	} else if (r->family == PQUAL_ANY) {
		for (size_t i = 0; i < sizeof(families); i++)
			q[n++] = dsm_qual(families[i], (uint16_t)r->type);
	} else {
		q[n++] = dsm_qual((uint16_t)r->family, (uint16_t)r->type);
	}
	return n;
}

/* Resolve one subject of rule r into c->subj/subj_node: false after
 * reporting a problem, or with c->err set when out of memory. */
static bool rule_subject(struct compiler *c, const struct prule *r, const struct pref *s)
{
	uint32_t id, node = DSM_NODE_ANY;
	uint32_t *ps, *pn;

	if (s->kind == PREF_SELF) {
		error(c, s->loc, "'self' is only valid as the target of an allow rule");
		return false;
	}
	id = label_id(c, s);
	if (r->class == DSM_CLASS_PEER) {
		if (!s->has_node) {
			error(c, s->loc,
			      "peer rules name the sender's node: write '%.*s@NODE' or '%.*s@any'",
			      (int)s->name.len, s->name.s, (int)s->name.len, s->name.s);
			return false;
		}
		node = node_id(c, s);
	} else if (s->has_node) {
		error(c, s->node_loc, "'@node' is only valid in peer rules");
		return false;
	}
	if (id == NO_ID || node == NO_ID)
		return false;
	ps = PVEC_PUSH(c->subj, SIZE_MAX);
	pn = PVEC_PUSH(c->subj_node, SIZE_MAX);
	if (!ps || !pn) {
		c->err = -ENOMEM;
		return false;
	}
	*ps = id;
	*pn = node;
	return true;
}

/* Resolve one target into c->targ (NO_ID = self); as rule_subject(). */
static bool rule_target(struct compiler *c, const struct pref *t)
{
	uint32_t id = NO_ID, *pt;

	if (t->has_node) {
		error(c, t->node_loc,
		      "'@node' belongs to the subject (the sender) of a peer rule");
		return false;
	}
	if (t->kind != PREF_SELF) {
		id = label_id(c, t);
		if (id == NO_ID)
			return false;
	}
	pt = PVEC_PUSH(c->targ, SIZE_MAX);
	if (!pt) {
		c->err = -ENOMEM;
		return false;
	}
	*pt = id;
	return true;
}

/* Class system applies to the subject itself: a target other than 'self'
 * must be the label of every subject. */
static bool system_targets_self(struct compiler *c, const struct prule *r)
{
	const struct pref *refs = c->t->refs.v;
	bool ok = true;

	for (size_t i = 0; i < c->targ.n; i++) {
		for (size_t j = 0; j < c->subj.n; j++) {
			if (c->targ.v[i] != NO_ID && c->targ.v[i] != c->subj.v[j]) {
				error(c, refs[r->targ_off + i].loc,
				      "class system applies to the subject itself: the target must be 'self'");
				ok = false;
				break;
			}
		}
	}
	return ok;
}

/* Resolve a rule's subjects and targets into c->subj/subj_node/targ
 * (target NO_ID = self). Reports every problem; false if any. */
static bool rule_operands(struct compiler *c, const struct prule *r)
{
	const struct pref *refs = c->t->refs.v;
	bool ok = true;

	c->subj.n = c->subj_node.n = c->targ.n = 0;
	for (uint32_t i = 0; i < r->nsubj && !c->err; i++)
		ok = rule_subject(c, r, &refs[r->subj_off + i]) && ok;
	for (uint32_t i = 0; i < r->ntarg && !c->err; i++)
		ok = rule_target(c, &refs[r->targ_off + i]) && ok;
	if (c->err)
		return false;
	if (ok && r->class == DSM_CLASS_SYSTEM)
		ok = system_targets_self(c, r);
	return ok;
}

/* The statement as written on one line: blanks and comments collapsed to
 * one space. */
static char *rule_text(struct pslice t)
{
	char *out = malloc((size_t)t.len + 1), *o = out;
	bool blank = false, quoted = false;

	if (!out)
		return NULL;
	for (uint32_t i = 0; i < t.len; i++) {
		char ch = t.s[i];

		if (!quoted && ch == '#') {
			while (i + 1 < t.len && t.s[i + 1] != '\n')
				i++;
			blank = true;
			continue;
		}
		if (!quoted && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
				ch == '\f' || ch == '\v')) {
			blank = true;
			continue;
		}
		if (blank && o > out)
			*o++ = ' ';
		blank = false;
		if (ch == '"')
			quoted = !quoted;
		*o++ = ch;
	}
	*o = '\0';
	return out;
}

/* Keep the statement's location, text and resolved operands (host only). */
static void keep_source(struct compiler *c, const struct prule *r, const uint16_t *quals,
			size_t nq)
{
	struct dsm_rule_src *s = PVEC_PUSH(c->srcs, SIZE_MAX / 2);
	uint32_t *subj, *node, *targ;
	uint16_t *qual;

	if (!s) {
		c->err = -ENOMEM;
		return;
	}
	s->line = r->loc.line;
	s->col = r->loc.col;
	s->class = r->class;
	s->perms = r->perms;
	s->nsubj = c->subj.n;
	s->ntarg = c->targ.n;
	s->nqual = nq;
	s->text = rule_text(r->text);
	s->subj = subj = malloc((c->subj.n ? c->subj.n : 1) * sizeof(*subj));
	s->subj_node = node = malloc((c->subj.n ? c->subj.n : 1) * sizeof(*node));
	s->targ = targ = malloc((c->targ.n ? c->targ.n : 1) * sizeof(*targ));
	s->qual = qual = malloc((nq ? nq : 1) * sizeof(*qual));
	if (!s->text || !subj || !node || !targ || !qual) {
		c->err = -ENOMEM;
		return;
	}
	memcpy(subj, c->subj.v, c->subj.n * sizeof(*subj));
	memcpy(node, c->subj_node.v, c->subj.n * sizeof(*node));
	memcpy(targ, c->targ.v, c->targ.n * sizeof(*targ));
	memcpy(qual, quals, nq * sizeof(*qual));
}

static void compile_rule(struct compiler *c, const struct prule *r)
{
	uint16_t quals[8];
	size_t nq = rule_quals(r, quals);
	bool added = false;
	const struct dsm_entry *first = NULL;

	if (!rule_operands(c, r))
		return;
	keep_source(c, r, quals, nq);
	if (c->err)
		return;
	for (size_t i = 0; i < c->subj.n; i++) {
		for (size_t j = 0; j < c->targ.n; j++) {
			uint32_t target = c->targ.v[j] == NO_ID ? c->subj.v[i] : c->targ.v[j];

			for (size_t q = 0; q < nq; q++) {
				struct dsm_pkey k = dsm_key_rule(r->class, quals[q], c->subj.v[i],
								 c->subj_node.v[i], target);
				bool created;
				struct dsm_entry *e = entry_get(c, &k, r->loc, &created);

				if (!e)
					return;
				if (!created && !first)
					first = e;
				if (r->perms & ~e->val.perms)
					added = true;
				e->val.perms |= r->perms;
			}
		}
	}
	if (!added && first) {
		struct policy_loc at = entry_loc(c, first);

		warning(c, r->loc,
			"rule has no effect: everything it allows is already allowed (see %u:%u)",
			at.line, at.col);
	}
}

/* Make every exact socket/peer entry include its wildcard sibling's
 * permissions, so "exact, else wildcard" and "exact | wildcard" lookups
 * agree. Wildcard entries themselves are never changed, so one pass in
 * any order is enough. */
static void fold_wildcards(struct compiler *c)
{
	for (size_t i = 0; i < c->ents.n; i++) {
		struct dsm_entry *e = &c->ents.v[i];
		struct dsm_pkey k = e->key;
		const struct dsm_entry *w;

		if (k.kind != DSM_KEY_RULE)
			continue;
		if (k.rule.class == DSM_CLASS_SOCKET && k.rule.qual != DSM_QUAL_ANY)
			k.rule.qual = DSM_QUAL_ANY;
		else if (k.rule.class == DSM_CLASS_PEER && k.rule.node != DSM_NODE_ANY)
			k.rule.node = DSM_NODE_ANY;
		else
			continue;
		w = entry_find(c, &k);
		if (w)
			e->val.perms |= w->val.perms;
	}
}

/* ---- transitions, files, unlabeled peers --------------------------------- */

static const char *label_name_of(const struct compiler *c, uint32_t id)
{
	for (size_t i = 0; i < c->t->labels.n; i++)
		if (c->t->labels.v[i].id == id)
			return c->t->labels.v[i].name.s;
	return "?";
}

static int label_name_len(const struct compiler *c, uint32_t id)
{
	for (size_t i = 0; i < c->t->labels.n; i++)
		if (c->t->labels.v[i].id == id)
			return (int)c->t->labels.v[i].name.len;
	return 1;
}

static bool rule_allows(struct compiler *c, uint8_t class, uint32_t s, uint32_t t,
			uint32_t perm)
{
	struct dsm_pkey k = dsm_key_rule(class, DSM_QUAL_ANY, s, DSM_NODE_ANY, t);
	const struct dsm_entry *e = entry_find(c, &k);

	return e && (e->val.perms & perm);
}

static void compile_transitions(struct compiler *c)
{
	for (size_t i = 0; i < c->t->trans.n && !stop(c); i++) {
		const struct ptrans *tr = &c->t->trans.v[i];
		uint32_t s = label_id(c, &tr->subj), f = label_id(c, &tr->file);
		uint32_t n = label_id(c, &tr->newl);
		struct dsm_pkey k;
		struct dsm_entry *e;
		bool created;

		if (s == NO_ID || f == NO_ID || n == NO_ID)
			continue;
		k = dsm_key_trans(s, f);
		e = entry_get(c, &k, tr->loc, &created);
		if (!e)
			return;
		if (created) {
			e->val.aux = n;
		} else if (e->val.aux == n) {
			struct policy_loc at = entry_loc(c, e);

			warning(c, tr->loc, "duplicate transition (first at %u:%u)",
				at.line, at.col);
		} else {
			struct policy_loc at = entry_loc(c, e);

			error(c, tr->loc,
			      "conflicting transition: '%.*s' executing '%.*s' already becomes '%.*s' (at %u:%u)",
			      (int)tr->subj.name.len, tr->subj.name.s,
			      (int)tr->file.name.len, tr->file.name.s,
			      label_name_len(c, e->val.aux), label_name_of(c, e->val.aux),
			      at.line, at.col);
		}
	}
}

/* The exec of a transition is checked (subject -> file label : file exec);
 * a transition whose exec is never allowed is almost certainly a mistake.
 * The transition entry itself authorizes the label change. */
static void check_transitions(struct compiler *c, const struct dsm_policy *p)
{
	for (size_t i = 0; i < c->ents.n && !stop(c); i++) {
		const struct dsm_entry *e = &c->ents.v[i];

		if (e->key.kind != DSM_KEY_TRANS ||
		    rule_allows(c, DSM_CLASS_FILE, e->key.trans.subject, e->key.trans.file_label,
				DSM_PERM_EXEC))
			continue;
		warning(c, entry_loc(c, e),
			"transition cannot happen without 'allow %s %s : file exec;'",
			dsm_policy_label_name(p, e->key.trans.subject),
			dsm_policy_label_name(p, e->key.trans.file_label));
	}
}

static void compile_files(struct compiler *c, struct dsm_policy *p)
{
	const struct pfile *files = c->t->files.v;
	size_t n = c->t->files.n;
	struct ntab tab;

	if (ntab_init(&tab, n)) {
		c->err = -ENOMEM;
		return;
	}
	p->files = calloc(n ? n : 1, sizeof(*p->files));
	if (!p->files) {
		c->err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && !stop(c); i++) {
		const struct pfile *f = &files[i];
		uint32_t label = label_id(c, &f->label);
		uint32_t j;
		char *path;

		j = ntab_find(&tab, files, sizeof(*files), offsetof(struct pfile, path),
			      f->path, (uint32_t)i);
		if (j != UINT32_MAX) {
			if (slice_eq(files[j].label.name, f->label.name))
				warning(c, f->loc, "duplicate file rule (first at %u:%u)",
					files[j].loc.line, files[j].loc.col);
			else
				error(c, f->loc, "'%.*s' is already labeled '%.*s' (at %u:%u)",
				      (int)f->path.len, f->path.s,
				      (int)files[j].label.name.len, files[j].label.name.s,
				      files[j].loc.line, files[j].loc.col);
			continue;
		}
		if (label == NO_ID)
			continue;
		path = strndup(f->path.s, f->path.len);
		if (!path) {
			c->err = -ENOMEM;
			break;
		}
		p->files[p->nfiles++] = (struct dsm_file_rule){ .path = path, .label = label };
	}
out:
	free(tab.slot);
}

struct net_sort {
	struct dsm_net_rule r;
	const struct pnet *src;
	size_t index;
};

static int net_sort_cmp(const void *a, const void *b)
{
	const struct net_sort *x = a, *y = b;
	int c = policy_net_cmp(&x->r, &y->r);

	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

/* A statement's rules: one, or for `unlabeled dev IFNAME` (no prefix)
 * two, every IPv4 and every IPv6 address on the interface. */
static size_t pnet_rules(const struct pnet *pn, uint32_t label, struct dsm_net_rule r[2])
{
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		uint8_t family = i ? AF_INET6 : AF_INET;

		if (pn->family && pn->family != family)
			continue;
		memset(&r[n], 0, sizeof(r[n]));
		r[n].family = family;
		r[n].plen = pn->plen;
		memcpy(r[n].prefix, pn->prefix, sizeof(pn->prefix));
		memcpy(r[n].ifname, pn->ifname, sizeof(pn->ifname));
		r[n].label = label;
		n++;
	}
	return n;
}

static void compile_nets(struct compiler *c, struct dsm_policy *p)
{
	size_t n = c->t->nets.n, m = 0;
	struct net_sort *v = calloc(n ? 2 * n : 1, sizeof(*v));
	bool *reported = calloc(n ? n : 1, sizeof(*reported));

	p->nets = calloc(n ? 2 * n : 1, sizeof(*p->nets));
	if (!v || !reported || !p->nets) {
		free(v);
		free(reported);
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pnet *pn = &c->t->nets.v[i];
		uint32_t label = label_id(c, &pn->label);
		struct dsm_net_rule r[2];
		size_t nr;

		if (label == NO_ID)
			continue;
		nr = pnet_rules(pn, label, r);
		for (size_t j = 0; j < nr; j++) {
			v[m].r = r[j];
			v[m].src = pn;
			v[m].index = i;
			m++;
		}
	}
	qsort(v, m, sizeof(*v), net_sort_cmp);
	for (size_t i = 0; i < m && !stop(c); i++) {
		if (p->nnets && policy_net_cmp(&p->nets[p->nnets - 1], &v[i].r) == 0) {
			const struct net_sort *first = &v[i - 1];

			while (first > v && policy_net_cmp(&first[-1].r, &v[i].r) == 0)
				first--;
			/* Once per statement, though it may be two rules. */
			if (reported[v[i].index])
				continue;
			reported[v[i].index] = true;
			if (first->r.label == v[i].r.label)
				warning(c, v[i].src->loc, "duplicate unlabeled rule (first at %u:%u)",
					first->src->loc.line, first->src->loc.col);
			else
				error(c, v[i].src->loc,
				      "conflicting unlabeled rule: this prefix and device already map to '%.*s' (at %u:%u)",
				      (int)first->src->label.name.len, first->src->label.name.s,
				      first->src->loc.line, first->src->loc.col);
			continue;
		}
		p->nets[p->nnets++] = v[i].r;
		if (!v[i].r.ifname[0]) {
			struct dsm_pkey k = policy_net_key(&v[i].r, 0, 0);
			bool created;
			struct dsm_entry *e = entry_get(c, &k, v[i].src->loc, &created);

			if (!e)
				break;
			e->val.aux = v[i].r.label;
		}
	}
	free(v);
	free(reported);
}

/* ---- labels, nodes, config ---------------------------------------------- */

static void compile_permissive(struct compiler *c)
{
	for (size_t i = 0; i < c->t->permissive.n; i++) {
		const struct plabelref *r = &c->t->permissive.v[i];
		uint32_t j = NTAB_FIND(&c->labels, c->t->labels, name, r->label.name,
				       UINT32_MAX);

		if (j == UINT32_MAX) {
			label_id(c, &r->label); /* reports it */
			continue;
		}
		if (c->label_flags[j] & DSM_LABEL_F_PERMISSIVE) {
			warning(c, r->loc, "label '%.*s' is already permissive (at %u:%u)",
				(int)r->label.name.len, r->label.name.s,
				c->perm_loc[j].line, c->perm_loc[j].col);
			continue;
		}
		c->label_flags[j] |= DSM_LABEL_F_PERMISSIVE;
		c->perm_loc[j] = r->loc;
	}
}

static int cmp_label(const void *a, const void *b)
{
	uint32_t x = ((const struct dsm_label *)a)->id, y = ((const struct dsm_label *)b)->id;

	return x < y ? -1 : x > y;
}

static int cmp_node(const void *a, const void *b)
{
	uint32_t x = ((const struct dsm_node *)a)->id, y = ((const struct dsm_node *)b)->id;

	return x < y ? -1 : x > y;
}

/* A label holding any system permission is entered by exec only from the
 * service manager's label (dsm/decide.h): its LABEL entry says so. */
static void mark_system_labels(struct compiler *c)
{
	for (size_t i = 0; i < c->ents.n; i++) {
		const struct dsm_entry *e = &c->ents.v[i];

		if (e->key.kind != DSM_KEY_RULE || e->key.rule.class != DSM_CLASS_SYSTEM)
			continue;
		for (size_t j = 0; j < c->t->labels.n; j++)
			if (!c->label_dup[j] && c->t->labels.v[j].id == e->key.rule.subject)
				c->label_flags[j] |= DSM_LABEL_F_SYSTEM;
	}
}

/* ---- the exec rules (dsm/decide.h dsm_exec()) ---------------------------- */

/* The definition a (resolved) label reference names, or NULL. */
static const struct pdef *label_def(struct compiler *c, const struct pref *r, uint32_t *flags)
{
	uint32_t i = NTAB_FIND(&c->labels, c->t->labels, name, r->name, UINT32_MAX);

	if (i == UINT32_MAX || c->label_dup[i] || c->t->labels.v[i].id == NO_ID)
		return NULL;
	*flags = c->label_flags[i];
	return &c->t->labels.v[i];
}

/*
 * A label change by exec, as a `transition` statement or a `process
 * transition` rule states it: from @from into @into, reported at @into.
 * dsm_exec() denies every exec into the service manager's label and every
 * exec into a label holding system permissions but from the service
 * manager's. With a `service_manager` statement both are known here: an
 * error. Without one the service manager is PID 1's label at dsmd's start,
 * which only the node knows: a warning for the system label. A transition
 * from the initial label into a system label also gives dsmd its label
 * when dsm starts (dsm_startup_label()): a warning, not an error.
 */
static void check_entry(struct compiler *c, const struct dsm_policy *p, bool requested,
			const struct pref *from, const struct pref *into)
{
	const char *what = requested ? "requested transition" : "transition";
	const uint32_t manager = p->service_manager;
	const struct pdef *f, *t;
	uint32_t fflags, tflags;

	f = label_def(c, from, &fflags);
	t = label_def(c, into, &tflags);
	if (!f || !t)
		return;
	if (manager && t->id == manager) {
		if (!(requested && f->id == t->id)) /* a request for one's own label */
			error(c, into->loc,
			      "%s from '%.*s' into '%.*s' is denied at exec: only PID 1 carries the service manager's label",
			      what, (int)f->name.len, f->name.s, (int)t->name.len, t->name.s);
		return;
	}
	if (f->id == t->id || f->id == manager || !(tflags & DSM_LABEL_F_SYSTEM))
		return;
	if (manager && !requested && f->id == p->initial)
		/* Not useless: dsm_startup_label() gives dsmd, running when
		 * dsm starts, the initial label's transition for its binary
		 * when the manager has none. */
		warning(c, into->loc,
			"transition from '%.*s' into '%.*s' is denied at exec (a label with system permissions is entered only from the service manager '%s', whose own transition also labels dsmd when dsm starts): it only labels dsmd when dsm starts",
			(int)f->name.len, f->name.s, (int)t->name.len, t->name.s,
			dsm_policy_label_name(p, manager));
	else if (manager)
		error(c, into->loc,
		      "%s from '%.*s' into '%.*s' is denied at exec: a label with system permissions is entered only from the service manager '%s'",
		      what, (int)f->name.len, f->name.s, (int)t->name.len, t->name.s,
		      dsm_policy_label_name(p, manager));
	else
		warning(c, into->loc,
			"%s from '%.*s' into '%.*s' works only if '%.*s' is the service manager: a label with system permissions is entered only from the service manager, PID 1's label at start-up",
			what, (int)f->name.len, f->name.s, (int)t->name.len, t->name.s,
			(int)f->name.len, f->name.s);
}

static void check_exec_rules(struct compiler *c, const struct dsm_policy *p)
{
	const struct pref *refs = c->t->refs.v;

	for (size_t i = 0; i < c->t->trans.n && !stop(c); i++)
		check_entry(c, p, false, &c->t->trans.v[i].subj, &c->t->trans.v[i].newl);
	for (size_t i = 0; i < c->t->rules.n && !stop(c); i++) {
		const struct prule *r = &c->t->rules.v[i];

		if (r->class != DSM_CLASS_PROCESS || !(r->perms & DSM_PERM_TRANSITION))
			continue;
		for (uint32_t s = 0; s < r->nsubj; s++)
			for (uint32_t t = 0; t < r->ntarg; t++)
				if (refs[r->targ_off + t].kind == PREF_LABEL)
					check_entry(c, p, true,
						    &refs[r->subj_off + s], &refs[r->targ_off + t]);
	}
}

/* Class dsm is decided by dsmd against its own label, which holds system
 * permissions (dsmd refuses to enforce a policy in which it would not): a
 * rule whose target holds none cannot apply. */
static void check_dsm_rules(struct compiler *c)
{
	const struct pref *refs = c->t->refs.v;

	for (size_t i = 0; i < c->t->rules.n && !stop(c); i++) {
		const struct prule *r = &c->t->rules.v[i];

		if (r->class != DSM_CLASS_DSM)
			continue;
		for (uint32_t t = 0; t < r->ntarg; t++) {
			const struct pref *tr = &refs[r->targ_off + t];

			for (uint32_t s = 0; s < (tr->kind == PREF_SELF ? r->nsubj : 1); s++) {
				const struct pref *named = tr->kind == PREF_SELF ? &refs[r->subj_off + s] : tr;
				uint32_t flags;

				if (!label_def(c, named, &flags) || (flags & DSM_LABEL_F_SYSTEM))
					continue;
				warning(c, tr->loc,
					"class dsm's target is dsmd's label, but '%.*s' holds no system permissions, which dsmd's label needs (bpf, dsm_files, dsm_read)",
					(int)named->name.len, named->name.s);
			}
		}
	}
}

/* Copy the (valid) label and node tables into p and emit LABEL entries. */
static void emit_names(struct compiler *c, struct dsm_policy *p)
{
	const struct ptree *t = c->t;

	p->labels = calloc(t->labels.n ? t->labels.n : 1, sizeof(*p->labels));
	p->nodes = calloc(t->nodes.n ? t->nodes.n : 1, sizeof(*p->nodes));
	if (!p->labels || !p->nodes) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < t->labels.n; i++) {
		const struct pdef *d = &t->labels.v[i];
		struct dsm_pkey k = dsm_key_label(d->id);
		struct dsm_entry *e;
		char *name;
		bool created;

		if (c->label_dup[i] || d->id == NO_ID)
			continue;
		name = strndup(d->name.s, d->name.len);
		if (!name) {
			c->err = -ENOMEM;
			return;
		}
		p->labels[p->nlabels++] = (struct dsm_label){
			.id = d->id, .flags = DSM_LABEL_F_DEFINED | c->label_flags[i],
			.name = name,
		};
		e = entry_get(c, &k, d->loc, &created);
		if (!e)
			return;
		e->val.perms = DSM_LABEL_F_DEFINED | c->label_flags[i];
	}
	for (size_t i = 0; i < t->nodes.n; i++) {
		const struct pdef *d = &t->nodes.v[i];
		char *name;

		if (c->node_dup[i] || d->id == NO_ID)
			continue;
		name = strndup(d->name.s, d->name.len);
		if (!name) {
			c->err = -ENOMEM;
			return;
		}
		p->nodes[p->nnodes++] = (struct dsm_node){ .id = d->id, .name = name };
	}
	qsort(p->labels, p->nlabels, sizeof(*p->labels), cmp_label);
	qsort(p->nodes, p->nnodes, sizeof(*p->nodes), cmp_node);
	c->err = policy_object_index(p);
}

static void emit_config(struct compiler *c, struct dsm_policy *p)
{
	const struct { uint8_t item; bool present; uint32_t perms, aux; } cfg[] = {
		{ DSM_CFG_MODE, true, 0, p->mode },
		{ DSM_CFG_INITIAL_LABEL, true, 0, p->initial },
		{ DSM_CFG_POLICY_VERSION, true, (uint32_t)(p->version >> 32), (uint32_t)p->version },
		{ DSM_CFG_FILE_LABEL, p->file_label != NO_ID, 0, p->file_label },
		{ DSM_CFG_SERVICE_MANAGER, p->service_manager != NO_ID, 0, p->service_manager },
	};

	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		struct dsm_pkey k = dsm_key_config(cfg[i].item);
		bool created;
		struct dsm_entry *e;

		if (!cfg[i].present)
			continue;
		e = entry_get(c, &k, c->t->header_loc, &created);
		if (!e)
			return;
		e->val.perms = cfg[i].perms;
		e->val.aux = cfg[i].aux;
	}
}

/* ---- driver ------------------------------------------------------------- */

static void compile(struct compiler *c, struct dsm_policy *p)
{
	struct ptree *t = c->t;
	static const struct policy_loc top = { 1, 1 };

	if (!t->saw_header)
		error(c, top, "missing 'policy NAME version N;' statement");
	if (!t->saw_initial)
		error(c, top, "missing 'initial LABEL;' statement (the label of tasks no transition names)");

	define_names(c, false);
	if (!stop(c))
		define_names(c, true);
	if (stop(c))
		return;
	compile_permissive(c);
	if (t->have_initial)
		p->initial = label_id(c, &t->initial.label);
	if (t->have_file_default)
		p->file_label = label_id(c, &t->file_default.label);
	if (t->have_manager)
		p->service_manager = label_id(c, &t->manager.label);
	for (size_t i = 0; i < t->rules.n && !stop(c); i++)
		compile_rule(c, &t->rules.v[i]);
	if (stop(c))
		return;
	fold_wildcards(c);
	compile_transitions(c);
	if (!stop(c))
		compile_files(c, p);
	if (!stop(c))
		compile_nets(c, p);
	if (stop(c) || c->dc->d->errors)
		return;

	p->name = strndup(t->name.s, t->name.len);
	if (!p->name) {
		c->err = -ENOMEM;
		return;
	}
	p->version = t->version;
	p->mode = t->have_mode ? t->mode : DSM_MODE_ENFORCING;
	p->nrules = t->rules.n;
	mark_system_labels(c);
	emit_names(c, p);
	if (!stop(c))
		check_transitions(c, p);
	if (!stop(c))
		check_exec_rules(c, p);
	if (!stop(c))
		check_dsm_rules(c);
	if (!stop(c))
		emit_config(c, p);
}

/* Stable insertion sort of the diagnostics added by one compilation by
 * location (phases find them out of order). A trailing "too many errors"
 * note stays last. At most DSM_DIAG_MAX_ERRORS + DSM_DIAG_MAX_WARNINGS + 1
 * elements, so quadratic is fine. */
static void sort_diags(struct dsm_diags *d, size_t from)
{
	size_t end = d->n;

	if (d->errors >= DSM_DIAG_MAX_ERRORS && end > from)
		end--;
	for (size_t i = from + 1; i < end; i++) {
		struct dsm_diag x = d->v[i];
		size_t j = i;

		while (j > from && (d->v[j - 1].line > x.line ||
				    (d->v[j - 1].line == x.line && d->v[j - 1].col > x.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = x;
	}
}

static void compiler_free(struct compiler *c)
{
	free(c->labels.slot);
	free(c->nodes.slot);
	free(c->label_dup);
	free(c->label_flags);
	free(c->perm_loc);
	free(c->node_dup);
	free(c->ents.v);
	free(c->ent_loc.v);
	free(c->eslot);
	free(c->subj.v);
	free(c->subj_node.v);
	free(c->targ.v);
	if (c->srcs.v) {
		struct dsm_policy tmp = { .srcs = c->srcs.v, .nsrcs = c->srcs.n };

		policy_sources_free(&tmp);
	}
}

int dsm_policy_compile(const char *name, const char *text, size_t len,
		       struct dsm_policy **out, struct dsm_diags *diags)
{
	struct dsm_diags local = { 0 };
	struct dsm_diags *d = diags ? diags : &local;
	struct policy_diag_ctx dc = { .d = d, .file = name };
	unsigned errors0 = d->errors;
	size_t diag0 = d->n;
	struct ptree t = { 0 };
	struct compiler c = { .t = &t, .dc = &dc };
	struct dsm_policy *p = NULL;
	int r;

	*out = NULL;
	/* Counting restarts per compilation so a reused list does not stop a
	 * new run early; the totals are restored below. */
	d->errors = 0;
	if (len > DSM_POLICY_MAX_SOURCE) {
		policy_diag(&dc, DSM_SEV_ERROR, (struct policy_loc){ 0, 0 },
			    "policy source too large (more than %u bytes)",
			    DSM_POLICY_MAX_SOURCE);
		r = -EFBIG;
		goto out;
	}
	r = policy_parse(text, len, &dc, &t);
	if (r)
		goto out;
	if (ntab_init(&c.labels, t.labels.n) || ntab_init(&c.nodes, t.nodes.n) ||
	    !(c.label_dup = calloc(t.labels.n + 1, sizeof(bool))) ||
	    !(c.label_flags = calloc(t.labels.n + 1, sizeof(uint32_t))) ||
	    !(c.perm_loc = calloc(t.labels.n + 1, sizeof(struct policy_loc))) ||
	    !(c.node_dup = calloc(t.nodes.n + 1, sizeof(bool))) ||
	    !(c.eslot = calloc(1024, sizeof(uint32_t)))) {
		r = -ENOMEM;
		goto out;
	}
	c.emask = 1023;
	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	if (!policy_diag_full(&dc))
		compile(&c, p);
	r = c.err;
	if (!r && d->errors)
		r = -EINVAL;
	if (!r && dc.oom)
		r = -ENOMEM;
	if (r)
		goto out;

	/* Hand the entries over, sorted: the map content is deterministic. */
	qsort(c.ents.v, c.ents.n, sizeof(*c.ents.v), policy_entry_cmp);
	p->entries = c.ents.v;
	p->nentries = c.ents.n;
	c.ents.v = NULL;
	c.ents.n = 0;
	p->srcs = c.srcs.v;
	p->nsrcs = c.srcs.n;
	c.srcs.v = NULL;
	c.srcs.n = 0;
	p->source_name = strdup(name ? name : "");
	if (!p->source_name) {
		r = -ENOMEM;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	sort_diags(d, diag0);
	d->errors += errors0;
	dsm_policy_free(p);
	compiler_free(&c);
	policy_tree_free(&t);
	if (d == &local)
		dsm_diags_free(&local);
	return r;
}

int dsm_policy_compile_file(const char *path, struct dsm_policy **out,
			    struct dsm_diags *diags)
{
	struct dsm_diags local = { 0 };
	struct dsm_diags *d = diags ? diags : &local;
	struct policy_diag_ctx dc = { .d = d, .file = path };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, r = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			if (cap > DSM_POLICY_MAX_SOURCE) {
				r = -EFBIG;
				goto fail;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				r = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	r = dsm_policy_compile(path, buf, len, out, diags);
	free(buf);
	if (d == &local)
		dsm_diags_free(&local);
	return r;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	policy_diag(&dc, DSM_SEV_ERROR, (struct policy_loc){ 0, 0 }, "%s",
		    r == -EFBIG ? "file too large" : strerror(-r));
	if (d == &local)
		dsm_diags_free(&local);
	return r;
}
