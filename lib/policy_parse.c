// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Parser of the policy language: tokens -> parse tree (struct ptree).
 * Checks syntax and everything that needs no other statement (numbers,
 * ranges, permission names, prefixes); names are resolved by the compiler
 * so a statement may use a label defined further down.
 *
 * Recovery: a statement with an error is dropped and parsing resumes after
 * the next ';' (or at the next statement keyword when only the ';' is
 * missing), so one run reports many independent errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_int.h"

struct parser {
	struct policy_lexer lx;
	struct ptok cur;
	struct policy_loc prev_end;
	const char *prev_end_p; /* just past the last token consumed */
	const char *stmt_start; /* the current statement's keyword */
	struct policy_diag_ctx *dc;
	struct ptree *t;
	int err;  /* sticky -ENOMEM / -E2BIG */
	bool bad; /* the current statement had an error: drop it */
};

static const char *const stmt_keywords[] = {
	"policy", "mode", "label", "node", "initial", "permissive", "allow",
	"transition", "file", "unlabeled", "service_manager",
};

static void next(struct parser *ps)
{
	ps->prev_end = ps->cur.end;
	ps->prev_end_p = ps->cur.text + ps->cur.len;
	policy_lex_next(&ps->lx, &ps->cur);
}

static bool tok_is(const struct ptok *t, const char *word)
{
	return t->kind == PT_WORD && t->len == strlen(word) &&
	       memcmp(t->text, word, t->len) == 0;
}

static bool is_stmt_keyword(const struct ptok *t)
{
	for (size_t i = 0; i < sizeof(stmt_keywords) / sizeof(stmt_keywords[0]); i++)
		if (tok_is(t, stmt_keywords[i]))
			return true;
	return false;
}

static struct pslice slice(const struct ptok *t)
{
	return (struct pslice){ t->text, (uint32_t)t->len };
}

__attribute__((format(printf, 3, 4)))
static void error_at(struct parser *ps, struct policy_loc loc, const char *fmt, ...)
{
	va_list ap;

	ps->bad = true;
	va_start(ap, fmt);
	policy_vdiag(ps->dc, DSM_SEV_ERROR, loc, fmt, ap);
	va_end(ap);
}

/* "expected WHAT, found TOKEN" at the current token, unless the lexer
 * already reported it. Always returns false. */
static bool expected(struct parser *ps, const char *what)
{
	char found[64];

	ps->bad = true;
	if (ps->cur.kind != PT_ERROR)
		error_at(ps, ps->cur.loc, "expected %s, found %s", what,
			 policy_tok_describe(&ps->cur, found, sizeof(found)));
	return false;
}

static bool eat(struct parser *ps, enum ptok_kind k)
{
	if (ps->cur.kind != k)
		return false;
	next(ps);
	return true;
}

static bool expect(struct parser *ps, enum ptok_kind k, const char *what)
{
	return eat(ps, k) || expected(ps, what);
}

/* ---- numbers ------------------------------------------------------------ */

/* Decimal or 0x-hexadecimal, no sign, no separators. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool number(struct parser *ps, const char *what, uint64_t *v)
{
	if (ps->cur.kind != PT_NUMBER)
		return expected(ps, what);
	if (!parse_u64(ps->cur.text, ps->cur.len, v)) {
		error_at(ps, ps->cur.loc, "bad number '%.*s'", (int)ps->cur.len,
			 ps->cur.text);
		return false;
	}
	next(ps);
	return true;
}

/* A label or node id: 1..0xfffffffe (0 and all-ones are reserved). A
 * well-formed number out of range is consumed, reported and *id left 0,
 * so the statement still parses (and its name still exists). */
static bool id_number(struct parser *ps, const char *kind, uint32_t *id)
{
	struct policy_loc loc = ps->cur.loc;
	char what[32];
	uint64_t v;

	*id = 0;
	snprintf(what, sizeof(what), "a %s id", kind);
	if (!number(ps, what, &v))
		return false;
	if (v == 0)
		error_at(ps, loc, "%s id 0 is reserved (%s)", kind,
			 strcmp(kind, "node") ? "it means invalid" : "it means the local node");
	else if (v == 0xffffffffu)
		error_at(ps, loc, "%s id %llu is reserved (it means any)", kind,
			 (unsigned long long)v);
	else if (v > 0xffffffffu)
		error_at(ps, loc, "%s id %llu out of range (1..4294967294)", kind,
			 (unsigned long long)v);
	else
		*id = (uint32_t)v;
	return true;
}

/* a.b.c.d[/n], strict: decimal octets without leading zeros, no host bits. */
static bool parse_prefix(const char *s, size_t len, uint32_t *addr, uint8_t *plen,
			 bool *host_bits)
{
	uint32_t a = 0;
	size_t i = 0;
	unsigned n = 32;

	for (int octet = 0; octet < 4; octet++) {
		unsigned v = 0, digits = 0;

		if (octet && (i >= len || s[i++] != '.'))
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255 ||
		    (digits > 1 && s[i - digits] == '0'))
			return false;
		a = a << 8 | v;
	}
	if (i < len) {
		unsigned digits = 0;

		if (s[i++] != '/')
			return false;
		n = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			n = n * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || n > 32 || i != len ||
		    (digits > 1 && s[i - digits] == '0'))
			return false;
	}
	*host_bits = n < 32 && (a & (0xffffffffu >> n));
	*addr = a;
	*plen = (uint8_t)n;
	return true;
}

/* ---- names and references ----------------------------------------------- */

/* A name being defined (label/node/policy): a word, not reserved. */
static bool def_name(struct parser *ps, const char *kind, struct pslice *out)
{
	if (ps->cur.kind != PT_WORD) {
		char what[32];

		snprintf(what, sizeof(what), "a %s name", kind);
		return expected(ps, what);
	}
	if (ps->cur.len > POLICY_NAME_MAX) {
		error_at(ps, ps->cur.loc, "%s name too long (at most %u characters)",
			 kind, POLICY_NAME_MAX);
		return false;
	}
	if (tok_is(&ps->cur, "self") || tok_is(&ps->cur, "any")) {
		error_at(ps, ps->cur.loc, "'%.*s' is reserved and cannot name a %s",
			 (int)ps->cur.len, ps->cur.text, kind);
		return false;
	}
	*out = slice(&ps->cur);
	next(ps);
	return true;
}

/* LABEL | self, optionally @NODE | @any. Node and self are checked by the
 * caller, which knows the context; here only the syntax. */
static bool label_ref(struct parser *ps, struct pref *r)
{
	*r = (struct pref){ .loc = ps->cur.loc };
	if (ps->cur.kind != PT_WORD)
		return expected(ps, "a label");
	if (tok_is(&ps->cur, "any")) {
		error_at(ps, ps->cur.loc,
			 "'any' is not a label: rules name labels explicitly");
		return false;
	}
	r->kind = tok_is(&ps->cur, "self") ? PREF_SELF : PREF_LABEL;
	r->name = slice(&ps->cur);
	next(ps);
	if (eat(ps, PT_AT)) {
		r->has_node = true;
		r->node_loc = ps->cur.loc;
		if (ps->cur.kind != PT_WORD)
			return expected(ps, "a node name or 'any' after '@'");
		r->node_any = tok_is(&ps->cur, "any");
		r->node = slice(&ps->cur);
		next(ps);
	}
	return true;
}

/* A plain label: no self, no @node. */
static bool plain_label(struct parser *ps, struct pref *r)
{
	if (!label_ref(ps, r))
		return false;
	if (r->kind == PREF_SELF) {
		error_at(ps, r->loc, "'self' is only valid as the target of an allow rule");
		return false;
	}
	if (r->has_node) {
		error_at(ps, r->node_loc, "'@node' is only valid in peer rules");
		return false;
	}
	return true;
}

/* Inside braces: a token that cannot be in a set means the '}' is missing.
 * A statement keyword on a later line counts, so that a missing '}' does
 * not swallow the next statement. */
static bool unterminated(const struct parser *ps)
{
	const struct ptok *t = &ps->cur;

	return t->kind == PT_SEMI || t->kind == PT_EOF || t->kind == PT_COLON ||
	       t->kind == PT_LBRACE ||
	       (is_stmt_keyword(t) && t->loc.line > ps->prev_end.line);
}

/* LABELREF | '{' LABELREF+ '}' appended to t->refs. */
static bool label_set(struct parser *ps, uint32_t *off, uint32_t *n)
{
	struct ptree *t = ps->t;
	struct policy_loc open = ps->cur.loc;
	bool braced = eat(ps, PT_LBRACE);

	*off = (uint32_t)t->refs.n;
	do {
		struct pref *r;

		if (braced && unterminated(ps)) {
			error_at(ps, open, "unterminated '{' (missing '}')");
			return false;
		}
		if (braced && ps->cur.kind == PT_RBRACE) {
			if (t->refs.n == *off) {
				error_at(ps, open, "empty set");
				return false;
			}
			next(ps);
			break;
		}
		r = PVEC_PUSH(t->refs, SIZE_MAX / 2);
		if (!r) {
			ps->err = -ENOMEM;
			return false;
		}
		if (!label_ref(ps, r)) {
			t->refs.n--;
			return false;
		}
	} while (braced);
	*n = (uint32_t)(t->refs.n - *off);
	return true;
}

/* ---- statements --------------------------------------------------------- */

/* The ';' that ends a statement. When it is missing but a statement
 * starts on a later line, the error is reported and the statement kept
 * (parsing resumes at that statement): a forgotten ';' after a label
 * definition must not turn every use of the label into another error. */
static bool end_statement(struct parser *ps)
{
	char found[64];

	if (eat(ps, PT_SEMI))
		return true;
	if (ps->cur.kind == PT_ERROR)
		return false;
	error_at(ps, ps->prev_end, "expected ';' before %s",
		 policy_tok_describe(&ps->cur, found, sizeof(found)));
	return is_stmt_keyword(&ps->cur) && ps->cur.loc.line > ps->prev_end.line;
}

static bool stmt_policy(struct parser *ps, struct policy_loc loc)
{
	struct ptree *t = ps->t;
	struct pslice name;
	uint64_t version;

	if (ps->cur.kind == PT_STRING) {
		if (ps->cur.len == 0 || ps->cur.len > POLICY_NAME_MAX ||
		    !policy_name_valid(ps->cur.text, ps->cur.len)) {
			error_at(ps, ps->cur.loc,
				 "bad policy name (1..%u characters: letters, digits, '_', '.', '-')",
				 POLICY_NAME_MAX);
			return false;
		}
		name = slice(&ps->cur);
		next(ps);
	} else if (!def_name(ps, "policy", &name)) {
		return false;
	}
	if (!tok_is(&ps->cur, "version"))
		return expected(ps, "'version'");
	next(ps);
	if (!number(ps, "a version number", &version) || !end_statement(ps))
		return false;
	if (t->have_header) {
		error_at(ps, loc, "duplicate 'policy' statement (first at %u:%u)",
			 t->header_loc.line, t->header_loc.col);
		return false;
	}
	t->have_header = true;
	t->header_loc = loc;
	t->name = name;
	t->version = version;
	return true;
}

static bool stmt_mode(struct parser *ps, struct policy_loc loc)
{
	struct ptree *t = ps->t;
	enum dsm_mode mode;

	if (tok_is(&ps->cur, "enforcing"))
		mode = DSM_MODE_ENFORCING;
	else if (tok_is(&ps->cur, "permissive"))
		mode = DSM_MODE_PERMISSIVE;
	else
		return expected(ps, "'enforcing' or 'permissive'");
	next(ps);
	if (!end_statement(ps))
		return false;
	if (t->have_mode) {
		error_at(ps, loc, "duplicate 'mode' statement (first at %u:%u)",
			 t->mode_loc.line, t->mode_loc.col);
		return false;
	}
	t->have_mode = true;
	t->mode_loc = loc;
	t->mode = mode;
	return true;
}

/* label NAME = ID;   node NAME = ID; */
static bool stmt_def(struct parser *ps, struct policy_loc loc, bool node)
{
	const char *kind = node ? "node" : "label";
	struct pdef d = { .loc = loc }, *slot;

	if (!def_name(ps, kind, &d.name) || !expect(ps, PT_EQUAL, "'='") ||
	    !id_number(ps, kind, &d.id) || !end_statement(ps))
		return false;
	slot = node ? PVEC_PUSH(ps->t->nodes, POLICY_MAX_NODES)
		    : PVEC_PUSH(ps->t->labels, POLICY_MAX_LABELS);
	if (!slot) {
		if (errno == E2BIG) {
			error_at(ps, loc, "too many %ss (at most %u)", kind,
				 node ? POLICY_MAX_NODES : POLICY_MAX_LABELS);
			return false;
		}
		ps->err = -ENOMEM;
		return false;
	}
	*slot = d;
	return true;
}

/* service_manager LABEL; */
static bool stmt_service_manager(struct parser *ps, struct policy_loc loc)
{
	struct ptree *t = ps->t;
	struct plabelref r = { .loc = loc };

	if (!plain_label(ps, &r.label) || !end_statement(ps))
		return false;
	if (t->have_manager) {
		error_at(ps, loc, "duplicate 'service_manager' statement (first at %u:%u)",
			 t->manager.loc.line, t->manager.loc.col);
		return false;
	}
	t->have_manager = true;
	t->manager = r;
	return true;
}

/* initial LABEL;   permissive LABEL; */
static bool stmt_labelref(struct parser *ps, struct policy_loc loc, bool initial)
{
	struct ptree *t = ps->t;
	struct plabelref r = { .loc = loc }, *slot;

	if (!plain_label(ps, &r.label) || !end_statement(ps))
		return false;
	if (initial) {
		if (t->have_initial) {
			error_at(ps, loc, "duplicate 'initial' statement (first at %u:%u)",
				 t->initial.loc.line, t->initial.loc.col);
			return false;
		}
		t->have_initial = true;
		t->initial = r;
		return true;
	}
	slot = PVEC_PUSH(t->permissive, POLICY_MAX_LABELS);
	if (!slot) {
		ps->err = -ENOMEM;
		return false;
	}
	*slot = r;
	return true;
}

struct name_value {
	const char *name;
	int value;
};

static const struct name_value families[] = {
	{ "unix", AF_UNIX }, { "inet", AF_INET }, { "inet6", AF_INET6 },
	{ "netlink", AF_NETLINK }, { "packet", AF_PACKET },
};

static const struct name_value socktypes[] = {
	{ "stream", SOCK_STREAM }, { "dgram", SOCK_DGRAM }, { "raw", SOCK_RAW },
	{ "seqpacket", SOCK_SEQPACKET },
};

static int lookup_nv(const struct ptok *t, const struct name_value *nv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tok_is(t, nv[i].name))
			return nv[i].value;
	return PQUAL_ANY;
}

/* PERM | '*' | '{' PERM+ '}'. class 0 = unknown class (already reported):
 * parse without checking names. */
static bool perm_set(struct parser *ps, unsigned int class, uint32_t *perms)
{
	struct policy_loc open = ps->cur.loc;
	bool braced;

	*perms = 0;
	if (eat(ps, PT_STAR)) {
		*perms = dsm_class_all_perms(class);
		return true;
	}
	if (ps->cur.kind != PT_LBRACE && ps->cur.kind != PT_WORD)
		return expected(ps, "permissions ('{ ... }', one permission or '*')");
	braced = eat(ps, PT_LBRACE);
	do {
		char name[POLICY_NAME_MAX + 1];
		uint32_t bit;

		if (braced && ps->cur.kind == PT_RBRACE) {
			if (*perms == 0 && !ps->bad) {
				error_at(ps, open, "empty permission set");
				return false;
			}
			next(ps);
			break;
		}
		if (braced && unterminated(ps)) {
			error_at(ps, open, "unterminated '{' (missing '}')");
			return false;
		}
		if (ps->cur.kind != PT_WORD)
			return expected(ps, "a permission name");
		snprintf(name, sizeof(name), "%.*s",
			 (int)(ps->cur.len < sizeof(name) ? ps->cur.len : sizeof(name) - 1),
			 ps->cur.text);
		bit = class ? dsm_perm_by_name(class, name) : 0;
		if (class && (!bit || ps->cur.len >= sizeof(name)))
			error_at(ps, ps->cur.loc, "unknown permission '%.*s' for class %s",
				 (int)ps->cur.len, ps->cur.text, dsm_class_name(class));
		*perms |= bit;
		next(ps);
	} while (braced);
	return true;
}

/* allow SUBJECTS TARGETS : CLASS [FAMILY] [TYPE] PERMS; */
static bool stmt_allow(struct parser *ps, struct policy_loc loc)
{
	struct ptree *t = ps->t;
	struct prule r = { .loc = loc, .family = PQUAL_ANY, .type = PQUAL_ANY };
	size_t refs_mark = t->refs.n;
	struct prule *slot;
	int class;

	if (!label_set(ps, &r.subj_off, &r.nsubj) ||
	    !label_set(ps, &r.targ_off, &r.ntarg) ||
	    !expect(ps, PT_COLON, "':' before the class"))
		goto fail;
	if (ps->cur.kind != PT_WORD) {
		expected(ps, "a class (process, file, socket, peer, system, dsm)");
		goto fail;
	}
	{
		char name[POLICY_NAME_MAX + 1] = "";

		if (ps->cur.len < sizeof(name))
			memcpy(name, ps->cur.text, ps->cur.len);
		class = dsm_class_by_name(name);
	}
	if (class < 0) {
		error_at(ps, ps->cur.loc,
			 "unknown class '%.*s' (process, file, socket, peer, system, dsm)",
			 (int)ps->cur.len, ps->cur.text);
		class = 0;
	}
	next(ps);

	/* Qualifiers: at most one family and one type, in either order. */
	while (ps->cur.kind == PT_WORD) {
		int f = lookup_nv(&ps->cur, families, sizeof(families) / sizeof(families[0]));
		int ty = lookup_nv(&ps->cur, socktypes, sizeof(socktypes) / sizeof(socktypes[0]));

		if (f == PQUAL_ANY && ty == PQUAL_ANY)
			break;
		if (class && class != DSM_CLASS_SOCKET) {
			error_at(ps, ps->cur.loc,
				 "'%.*s' qualifies sockets only; class %s has no family or type",
				 (int)ps->cur.len, ps->cur.text, dsm_class_name((unsigned)class));
		} else if ((f != PQUAL_ANY && r.family != PQUAL_ANY) ||
			   (ty != PQUAL_ANY && r.type != PQUAL_ANY)) {
			error_at(ps, ps->cur.loc, "more than one socket %s",
				 f != PQUAL_ANY ? "family" : "type");
		}
		if (f != PQUAL_ANY)
			r.family = (int16_t)f;
		else
			r.type = (int16_t)ty;
		next(ps);
	}
	if (!perm_set(ps, (unsigned)class, &r.perms) || !end_statement(ps))
		goto fail;
	if (ps->bad) { /* complete but wrong: reported, dropped, no recovery */
		t->refs.n = refs_mark;
		return true;
	}
	r.class = (uint8_t)class;
	/* The statement as written, for explanations (host only). */
	r.text = (struct pslice){ ps->stmt_start, (uint32_t)(ps->prev_end_p - ps->stmt_start) };
	slot = PVEC_PUSH(t->rules, SIZE_MAX / 2);
	if (!slot) {
		ps->err = -ENOMEM;
		goto fail;
	}
	*slot = r;
	return true;
fail:
	t->refs.n = refs_mark;
	return false;
}

/* transition SUBJECT FILE_LABEL -> NEW_LABEL; */
static bool stmt_transition(struct parser *ps, struct policy_loc loc)
{
	struct ptrans tr = { .loc = loc }, *slot;

	if (!plain_label(ps, &tr.subj) || !plain_label(ps, &tr.file) ||
	    !expect(ps, PT_ARROW, "'->'") || !plain_label(ps, &tr.newl) ||
	    !end_statement(ps))
		return false;
	slot = PVEC_PUSH(ps->t->trans, SIZE_MAX / 2);
	if (!slot) {
		ps->err = -ENOMEM;
		return false;
	}
	*slot = tr;
	return true;
}

/* file default : LABEL; */
static bool stmt_file_default(struct parser *ps, struct policy_loc loc)
{
	struct ptree *t = ps->t;
	struct plabelref r = { .loc = loc };

	next(ps);
	if (!expect(ps, PT_COLON, "':' after 'default'") || !plain_label(ps, &r.label) ||
	    !end_statement(ps))
		return false;
	if (t->have_file_default) {
		error_at(ps, loc, "duplicate 'file default' statement (first at %u:%u)",
			 t->file_default.loc.line, t->file_default.loc.col);
		return false;
	}
	t->have_file_default = true;
	t->file_default = r;
	return true;
}

/* file PATH : LABEL;   file default : LABEL; */
static bool stmt_file(struct parser *ps, struct policy_loc loc)
{
	struct pfile f = { .loc = loc }, *slot;

	if (tok_is(&ps->cur, "default"))
		return stmt_file_default(ps, loc);
	if (ps->cur.kind != PT_PATH && ps->cur.kind != PT_STRING)
		return expected(ps, "an absolute path or 'default'");
	if (ps->cur.len == 0 || ps->cur.text[0] != '/') {
		error_at(ps, ps->cur.loc, "file path must be absolute");
		return false;
	}
	if (ps->cur.len > POLICY_PATH_MAX) {
		error_at(ps, ps->cur.loc, "file path too long");
		return false;
	}
	f.path = slice(&ps->cur);
	next(ps);
	if (!expect(ps, PT_COLON, "':' after the path") || !plain_label(ps, &f.label) ||
	    !end_statement(ps))
		return false;
	slot = PVEC_PUSH(ps->t->files, SIZE_MAX / 2);
	if (!slot) {
		ps->err = -ENOMEM;
		return false;
	}
	*slot = f;
	return true;
}

/* Does the current token start an IPv6 prefix ("::/0", "fd00:77::/64",
 * "2001:db8::/32")? The lexer made it a ':', a number, or a word of hex
 * digits followed directly by ':'. */
static bool starts_prefix6(const struct parser *ps)
{
	const struct ptok *t = &ps->cur;
	size_t after = (size_t)(t->text - ps->lx.src) + t->len;

	if (t->kind == PT_COLON)
		return true;
	if (t->kind != PT_WORD && t->kind != PT_NUMBER)
		return false;
	for (size_t i = 0; i < t->len; i++) {
		char c = t->text[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return after < ps->lx.len && ps->lx.src[after] == ':';
}

/* ADDR6[/n]: an address inet_pton() takes (hex groups, '::', a trailing
 * dotted IPv4 part), a length 0..128 without leading zeros. */
static bool parse_prefix6(const char *s, size_t len, uint8_t addr[16], uint8_t *plen,
			  bool *host_bits)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	char buf[INET6_ADDRSTRLEN];
	unsigned n = 128;

	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return false;
	if (slash) {
		size_t i = alen + 1, digits = len - i;

		if (digits == 0 || digits > 3 || (digits > 1 && s[i] == '0'))
			return false;
		n = 0;
		for (; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			n = n * 10 + (unsigned)(s[i] - '0');
		}
		if (n > 128)
			return false;
	}
	*host_bits = false;
	for (unsigned bit = n; bit < 128; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			*host_bits = true;
	*plen = (uint8_t)n;
	return true;
}

/* ::ffff:0:0/96 and below: IPv4 addresses as IPv6 sockets show them. */
static bool v4_mapped(const uint8_t a[16], uint8_t plen)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return plen >= 96 && memcmp(a, mapped, sizeof(mapped)) == 0;
}

/* The prefix of an unlabeled rule, IPv4 or IPv6, into n. */
static bool unlabeled_prefix(struct parser *ps, struct pnet *n)
{
	struct ptok *t = &ps->cur;
	bool host_bits;

	if (starts_prefix6(ps))
		policy_lex_prefix(&ps->lx, t);
	if (t->kind == PT_ERROR)
		return expected(ps, "a prefix");
	if (t->kind == PT_PREFIX) {
		n->family = AF_INET6;
		if (!parse_prefix6(t->text, t->len, n->prefix, &n->plen, &host_bits)) {
			error_at(ps, t->loc, "bad IPv6 prefix '%.*s' (expected an IPv6 address [/0..128])",
				 (int)t->len, t->text);
			return false;
		}
	} else {
		uint32_t addr;

		n->family = AF_INET;
		if (!parse_prefix(t->text, t->len, &addr, &n->plen, &host_bits)) {
			error_at(ps, t->loc, "bad IPv4 prefix '%.*s' (expected a.b.c.d/len)",
				 (int)t->len, t->text);
			return false;
		}
		addr = htonl(addr);
		memcpy(n->prefix, &addr, 4);
	}
	if (host_bits) {
		error_at(ps, t->loc, "'%.*s' has host bits set beyond the /%u prefix",
			 (int)t->len, t->text, n->plen);
		return false;
	}
	if (n->family == AF_INET6 && v4_mapped(n->prefix, n->plen))
		policy_diag(ps->dc, DSM_SEV_WARNING, t->loc,
			    "'%.*s' is an IPv4-mapped prefix: it matches only IPv6 packets from such a source; IPv4 peers of IPv6 sockets get the IPv4 rules ('unlabeled %u.%u.%u.%u/%u')",
			    (int)t->len, t->text, n->prefix[12], n->prefix[13], n->prefix[14],
			    n->prefix[15], n->plen - 96);
	next(ps);
	return true;
}

/* unlabeled [PREFIX] [dev IFNAME] -> LABEL; */
static bool stmt_unlabeled(struct parser *ps, struct policy_loc loc)
{
	struct pnet n = { .loc = loc };
	bool have_prefix = false, have_dev = false;
	struct pnet *slot;

	if (ps->cur.kind == PT_NUMBER || starts_prefix6(ps)) {
		if (!unlabeled_prefix(ps, &n))
			return false;
		have_prefix = true;
	}
	if (tok_is(&ps->cur, "dev")) {
		next(ps);
		if (ps->cur.kind != PT_WORD && ps->cur.kind != PT_STRING)
			return expected(ps, "an interface name");
		if (!policy_ifname_valid(ps->cur.text, ps->cur.len)) {
			error_at(ps, ps->cur.loc, "bad interface name '%.*s' (1..%d characters, no '/' or blanks)",
				 (int)(ps->cur.len > 64 ? 64 : ps->cur.len), ps->cur.text,
				 DSM_IFNAME_MAX - 1);
			return false;
		}
		memcpy(n.ifname, ps->cur.text, ps->cur.len);
		have_dev = true;
		next(ps);
	}
	if (!have_prefix && !have_dev)
		return expected(ps, "an IPv4 or IPv6 prefix or 'dev IFNAME'");
	if (!expect(ps, PT_ARROW, "'->'") || !plain_label(ps, &n.label) ||
	    !end_statement(ps))
		return false;
	slot = PVEC_PUSH(ps->t->nets, SIZE_MAX / 2);
	if (!slot) {
		ps->err = -ENOMEM;
		return false;
	}
	*slot = n; /* without a prefix: family 0, every address of both */
	return true;
}

static void statement(struct parser *ps)
{
	static const struct {
		const char *kw;
		bool (*fn)(struct parser *, struct policy_loc);
	} simple[] = {
		{ "policy", stmt_policy }, { "mode", stmt_mode },
		{ "allow", stmt_allow }, { "transition", stmt_transition },
		{ "file", stmt_file }, { "unlabeled", stmt_unlabeled },
		{ "service_manager", stmt_service_manager },
	};
	struct policy_loc loc = ps->cur.loc;
	struct ptok kw = ps->cur;
	bool ok = false;

	ps->bad = false;
	ps->stmt_start = kw.text;
	if (kw.kind != PT_WORD) {
		expected(ps, "a statement");
	} else {
		size_t i;

		next(ps);
		/* Seen, even if broken: no "missing statement" error later. */
		if (tok_is(&kw, "policy"))
			ps->t->saw_header = true;
		else if (tok_is(&kw, "initial"))
			ps->t->saw_initial = true;
		for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (tok_is(&kw, simple[i].kw))
				break;
		if (i < sizeof(simple) / sizeof(simple[0]))
			ok = simple[i].fn(ps, loc);
		else if (tok_is(&kw, "label") || tok_is(&kw, "node"))
			ok = stmt_def(ps, loc, tok_is(&kw, "node"));
		else if (tok_is(&kw, "initial") || tok_is(&kw, "permissive"))
			ok = stmt_labelref(ps, loc, tok_is(&kw, "initial"));
		else {
			error_at(ps, loc, "unknown statement '%.*s'", (int)kw.len, kw.text);
		}
	}
	if (ok || ps->err)
		return;
	/* Recovery: skip past the next ';', or up to a statement keyword that
	 * starts a line, whichever comes first. */
	while (ps->cur.kind != PT_SEMI && ps->cur.kind != PT_EOF) {
		if (is_stmt_keyword(&ps->cur) && ps->cur.loc.line > ps->prev_end.line)
			return;
		next(ps);
	}
	eat(ps, PT_SEMI);
}

int policy_parse(const char *src, size_t len, struct policy_diag_ctx *dc,
		 struct ptree *t)
{
	struct parser ps = { .dc = dc, .t = t };

	policy_lex_init(&ps.lx, src, len, dc);
	next(&ps);
	while (ps.cur.kind != PT_EOF && !ps.err && !policy_diag_full(dc))
		statement(&ps);
	t->eof = ps.cur.loc;
	return ps.err;
}

void policy_tree_free(struct ptree *t)
{
	free(t->labels.v);
	free(t->nodes.v);
	free(t->refs.v);
	free(t->rules.v);
	free(t->trans.v);
	free(t->files.v);
	free(t->nets.v);
	free(t->permissive.v);
	memset(t, 0, sizeof(*t));
}
