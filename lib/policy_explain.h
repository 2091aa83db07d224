/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Explaining decisions (dsmctl policy explain): which `allow` statement,
 * at which FILE:LINE:COL, lets a subject do something, or why nothing
 * does and what comes closest.
 *
 * The verdict is always the decision library's (include/dsm/decide.h,
 * dsm_perms() and dsm_permissive(), the code the BPF programs run), on
 * the entry its lookup found (dsm_rule_lookup()). The statements are the
 * host's alone: the compiler keeps each `allow` statement's location,
 * text and resolved operands in the compiled object, never in the map
 * nor in bundles (a policy read from a bundle has none, and an
 * explanation then names the entry instead of a line).
 */
#ifndef DSM_POLICY_EXPLAIN_H
#define DSM_POLICY_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* One `allow` statement as written and as the compiler resolved it. */
struct dsm_rule_src {
	uint32_t line, col;     /* of the 'allow' keyword */
	const char *text;       /* "allow web db : socket connect;", blanks and
				 * comments inside collapsed to one space */
	uint8_t class;
	uint32_t perms;
	size_t nsubj;
	const uint32_t *subj;      /* label ids */
	const uint32_t *subj_node; /* per subject: node id, DSM_NODE_ANY */
	size_t ntarg;
	const uint32_t *targ;      /* label ids, DSM_LABEL_INVALID (0) = self */
	size_t nqual;
	const uint16_t *qual;      /* DSM_QUAL_ANY or exact (family, type) */
};

/* The source name the policy was compiled from (NULL for a bundle) and
 * its allow statements in source order (none for a bundle). */
const char *dsm_policy_source_name(const struct dsm_policy *p);
const struct dsm_rule_src *dsm_policy_rule_sources(const struct dsm_policy *p, size_t *n);

/* Does statement s put bit perm into the entry with RULE key k, directly
 * or by the compiler's folding of a wildcard sibling (socket qualifier
 * DSM_QUAL_ANY, peer node DSM_NODE_ANY) into exact entries? */
bool dsm_rule_src_grants(const struct dsm_rule_src *s, const struct dsm_pkey *k, uint32_t perm);

/* A request: class, socket qualifier (DSM_QUAL_ANY if none), subject, the
 * subject's node (DSM_NODE_ANY for every class but peer), target, and
 * one permission bit. */
struct dsm_explain_req {
	uint8_t class;
	uint16_t qual;
	uint32_t subject, node, target;
	uint32_t perm;
};

enum dsm_note_kind {
	DSM_NOTE_OTHER_PERMS = 1, /* same subject, target, class: other permissions */
	DSM_NOTE_OTHER_QUAL,      /* same, the permission, another socket family/type */
	DSM_NOTE_OTHER_NODE,      /* peer: the permission from the label on another node */
	DSM_NOTE_OTHER_TARGET,    /* same subject and permission, another target */
	DSM_NOTE_OTHER_SUBJECT,   /* same target and permission, another subject */
};

#define DSM_EXPLAIN_NOTES 16

struct dsm_explain_note {
	enum dsm_note_kind kind;
	const struct dsm_rule_src *src;
};

struct dsm_explain {
	bool allowed;          /* dsm_perms() holds the permission */
	bool permissive;       /* dsm_permissive(): a denial is only reported */
	bool permissive_label; /* because of the subject's label */
	bool found;            /* dsm_rule_lookup() found an entry */
	bool via_wildcard;     /* ... only at a wildcard key (qualifier or node any) */
	struct dsm_pkey key;   /* the key it found (or the exact key asked) */
	uint32_t perms;        /* that entry's permissions */
	const struct dsm_rule_src *rule; /* allowed: the first statement granting
					  * it; NULL when the policy has no sources */
	size_t nnotes;         /* denied: what comes closest */
	struct dsm_explain_note notes[DSM_EXPLAIN_NOTES];
	size_t more_notes;     /* notes that did not fit */
	size_t nunlabeled;     /* peer: unlabeled rules that give the subject's label */
};

/* Explain one request against p (compiled, resolved, with the loader's
 * local entries if any). 0, or -EINVAL for a request the class cannot
 * make (a permission bit it does not define, not exactly one bit). */
int dsm_policy_explain(const struct dsm_policy *p, const struct dsm_explain_req *req,
		       struct dsm_explain *ex);

#endif /* DSM_POLICY_EXPLAIN_H */
