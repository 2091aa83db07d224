/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to lib/policy_*.c: the token stream, the parse tree, the compiled
 * object's layout and small shared helpers. Not installed, not ABI.
 */
#ifndef DSM_POLICY_INT_H
#define DSM_POLICY_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "policy_explain.h"

/* Limits of the language; each one keeps a hostile source bounded. */
#define POLICY_NAME_MAX    63      /* label, node, policy names */
#define POLICY_PATH_MAX    4095    /* file paths (PATH_MAX - 1) */
#define POLICY_TOKEN_MAX   4096
#define POLICY_MAX_LABELS  (1u << 20)
#define POLICY_MAX_NODES   (1u << 16)
#define POLICY_MAX_ENTRIES (1u << 24)

struct policy_loc {
	uint32_t line, col;
};

/* ---- diagnostics (policy_diag.c) ---------------------------------------- */

struct policy_diag_ctx {
	struct dsm_diags *d;
	const char *file;
	bool oom;     /* a message could not be stored */
};

__attribute__((format(printf, 4, 5)))
void policy_diag(struct policy_diag_ctx *c, enum dsm_severity sev,
		 struct policy_loc loc, const char *fmt, ...);
__attribute__((format(printf, 4, 0)))
void policy_vdiag(struct policy_diag_ctx *c, enum dsm_severity sev,
		  struct policy_loc loc, const char *fmt, va_list ap);
/* True once DSM_DIAG_MAX_ERRORS errors were reported: stop compiling. */
bool policy_diag_full(const struct policy_diag_ctx *c);

/* ---- tokens (policy_lex.c) ---------------------------------------------- */

enum ptok_kind {
	PT_EOF = 0,
	PT_WORD,    /* [A-Za-z_][A-Za-z0-9_.-]* ('-' not before '>') */
	PT_NUMBER,  /* [0-9][A-Za-z0-9_./]*: an integer or an IPv4 prefix */
	PT_PREFIX,  /* [A-Za-z0-9.:/]+, only where the parser asks for a prefix */
	PT_PATH,    /* '/' up to blank, ';', ':', '{', '}', '"' or '#' */
	PT_STRING,  /* "..." on one line, no escapes; text excludes quotes */
	PT_LBRACE,
	PT_RBRACE,
	PT_SEMI,
	PT_COLON,
	PT_ARROW,   /* -> */
	PT_AT,
	PT_STAR,
	PT_EQUAL,
	PT_ERROR,   /* already reported by the lexer */
};

struct ptok {
	enum ptok_kind kind;
	struct policy_loc loc; /* first character */
	struct policy_loc end; /* just past the last character */
	const char *text;      /* into the source; not NUL-terminated */
	size_t len;
};

struct policy_lexer {
	const char *src;
	size_t len, pos;
	uint32_t line, col;
	struct policy_diag_ctx *dc;
};

void policy_lex_init(struct policy_lexer *lx, const char *src, size_t len,
		     struct policy_diag_ctx *dc);
void policy_lex_next(struct policy_lexer *lx, struct ptok *t);
/* Lex *t again, from its first character, as a PT_PREFIX: IPv6 prefixes
 * hold ':', which is punctuation everywhere else. t must be the last token
 * lexed. */
void policy_lex_prefix(struct policy_lexer *lx, struct ptok *t);
/* Printable description of a token for messages ("';'", "'foo'", "end of
 * file"); writes into buf and returns it. */
const char *policy_tok_describe(const struct ptok *t, char *buf, size_t len);

/* ---- parse tree (policy_parse.c) ---------------------------------------- */

/* A name as written: a slice of the source text. */
struct pslice {
	const char *s;
	uint32_t len;
};

struct pdef { /* label NAME = ID; node NAME = ID; */
	struct pslice name;
	uint32_t id;
	struct policy_loc loc;
};

enum pref_kind {
	PREF_LABEL = 0,
	PREF_SELF,
};

struct pref { /* a label reference, optionally @node */
	enum pref_kind kind;
	struct pslice name;
	struct policy_loc loc;
	bool has_node;
	bool node_any;
	struct pslice node;
	struct policy_loc node_loc;
};

#define PQUAL_ANY (-1)

struct prule { /* allow SUBJECTS TARGETS : CLASS [FAMILY] [TYPE] PERMS; */
	struct policy_loc loc;
	uint32_t subj_off, nsubj; /* into ptree.refs */
	uint32_t targ_off, ntarg;
	uint8_t class;
	int16_t family, type;     /* PQUAL_ANY or the Linux value */
	uint32_t perms;
	struct pslice text;       /* from 'allow' to ';', as written */
};

struct ptrans { /* transition SUBJECT FILE_LABEL -> NEW; */
	struct policy_loc loc;
	struct pref subj, file, newl;
};

struct pfile { /* file PATH : LABEL; */
	struct policy_loc loc;
	struct pslice path;
	struct pref label;
};

struct pnet { /* unlabeled [PREFIX] [dev IFNAME] -> LABEL; */
	struct policy_loc loc;
	uint8_t family;     /* AF_INET, AF_INET6, or 0: both (dev only, /0) */
	uint8_t plen;
	uint8_t prefix[16]; /* as in struct dsm_net_rule */
	char ifname[DSM_IFNAME_MAX];
	struct pref label;
};

struct plabelref { /* initial LABEL; permissive LABEL; */
	struct policy_loc loc;
	struct pref label;
};

#define PVEC(type) struct { type *v; size_t n, cap; }

struct ptree {
	bool saw_header, saw_initial; /* the keyword appeared, maybe in error */
	bool have_header;
	struct policy_loc header_loc;
	struct pslice name;
	uint64_t version;

	bool have_mode;
	struct policy_loc mode_loc;
	enum dsm_mode mode;

	bool have_initial;
	struct plabelref initial;

	bool have_file_default;
	struct plabelref file_default;

	bool have_manager;
	struct plabelref manager; /* service_manager LABEL; */

	PVEC(struct pdef) labels;
	PVEC(struct pdef) nodes;
	PVEC(struct pref) refs;
	PVEC(struct prule) rules;
	PVEC(struct ptrans) trans;
	PVEC(struct pfile) files;
	PVEC(struct pnet) nets;
	PVEC(struct plabelref) permissive;

	struct policy_loc eof;
};

/* Parse the whole source into t (zeroed by the caller). Syntax errors go to
 * the diagnostics; returns -ENOMEM only on allocation failure. */
int policy_parse(const char *src, size_t len, struct policy_diag_ctx *dc,
		 struct ptree *t);
void policy_tree_free(struct ptree *t);

/* ---- compiled object (policy_object.c) ---------------------------------- */

struct dsm_policy {
	char *name;
	uint64_t version;
	enum dsm_mode mode;
	uint32_t initial;
	uint32_t file_label; /* 0: none (the BPF side uses the initial label) */
	uint32_t service_manager; /* 0: none (dsmd writes PID 1's label) */
	size_t nrules;

	struct dsm_label *labels; /* sorted by id, names owned */
	size_t nlabels;
	uint32_t *label_by_name;  /* indices into labels, sorted by name */
	struct dsm_node *nodes;   /* sorted by id, names owned */
	size_t nnodes;
	uint32_t *node_by_name;
	struct dsm_file_rule *files; /* source order, paths owned */
	size_t nfiles;
	struct dsm_net_rule *nets;   /* sorted */
	size_t nnets;

	struct dsm_entry *entries;   /* sorted, unique */
	size_t nentries;
	struct dsm_entry *resolved;  /* sorted, unique */
	size_t nresolved;
	struct dsm_entry *local;     /* the loader's: sorted, unique */
	size_t nlocal;

	/* Host only, never in the map nor in bundles (policy_explain.h): the
	 * source name and every allow statement, in source order. */
	char *source_name;
	struct dsm_rule_src *srcs;
	size_t nsrcs;
};

/* Free the allow statements' sources of p. */
void policy_sources_free(struct dsm_policy *p);

/* Build the by-name indices once labels/nodes are filled and sorted by
 * id. -ENOMEM. */
int policy_object_index(struct dsm_policy *p);

/* ---- small helpers (policy_object.c) ------------------------------------ */

/* Make room for one more element of size sz in *v (n used, *cap slots),
 * growing geometrically up to max elements. Returns the new slot (zeroed)
 * or NULL: -ENOMEM, or too many (errno set to E2BIG). */
void *policy_vec_push(void **v, size_t *n, size_t *cap, size_t sz, size_t max);
#define PVEC_PUSH(vec, max) \
	policy_vec_push((void **)&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v), (max))

int policy_entry_cmp(const void *a, const void *b);
int policy_key_cmp(const struct dsm_pkey *a, const struct dsm_pkey *b);
int policy_net_cmp(const void *a, const void *b);
/* The NET or NET6 key of an unlabeled rule on interface (ifindex, netns). */
struct dsm_pkey policy_net_key(const struct dsm_net_rule *r, uint32_t ifindex, uint32_t netns);
bool policy_name_valid(const char *s, size_t len);
bool policy_ifname_valid(const char *s, size_t len);
uint64_t policy_hash_bytes(const void *p, size_t len);

#endif /* DSM_POLICY_INT_H */
