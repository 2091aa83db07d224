// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Explanations (policy_explain.h): the decision library decides, on the
 * entry its own lookup finds; the statements the compiler kept say which
 * lines put the permission there, or which come closest when none does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dsm/decide.h"
#include "policy_int.h"

void policy_sources_free(struct dsm_policy *p)
{
	for (size_t i = 0; i < p->nsrcs; i++) {
		free((char *)p->srcs[i].text);
		free((uint32_t *)p->srcs[i].subj);
		free((uint32_t *)p->srcs[i].subj_node);
		free((uint32_t *)p->srcs[i].targ);
		free((uint16_t *)p->srcs[i].qual);
	}
	free(p->srcs);
	free(p->source_name);
	p->srcs = NULL;
	p->nsrcs = 0;
	p->source_name = NULL;
}

const char *dsm_policy_source_name(const struct dsm_policy *p)
{
	return p->source_name;
}

const struct dsm_rule_src *dsm_policy_rule_sources(const struct dsm_policy *p, size_t *n)
{
	*n = p->nsrcs;
	return p->srcs;
}

static bool has_qual(const struct dsm_rule_src *s, uint16_t q)
{
	for (size_t i = 0; i < s->nqual; i++)
		if (s->qual[i] == q)
			return true;
	return false;
}

/* Does s name (subject, node) -> target, any qualifier? */
static bool names_pair(const struct dsm_rule_src *s, uint32_t subject, uint32_t node,
		       bool node_any_ok, uint32_t target)
{
	for (size_t i = 0; i < s->nsubj; i++) {
		if (s->subj[i] != subject)
			continue;
		if (s->subj_node[i] != node && !(node_any_ok && s->subj_node[i] == DSM_NODE_ANY))
			continue;
		for (size_t j = 0; j < s->ntarg; j++) {
			uint32_t t = s->targ[j] == DSM_LABEL_INVALID ? subject : s->targ[j];

			if (t == target)
				return true;
		}
	}
	return false;
}

bool dsm_rule_src_grants(const struct dsm_rule_src *s, const struct dsm_pkey *k, uint32_t perm)
{
	const struct dsm_key_rule *r = &k->rule;
	bool fold_qual, fold_node;

	if (k->kind != DSM_KEY_RULE || s->class != r->class || !(s->perms & perm))
		return false;
	/* fold_wildcards(): an exact socket entry holds its DSM_QUAL_ANY
	 * sibling's permissions, an exact peer entry its DSM_NODE_ANY one's. */
	fold_qual = r->class == DSM_CLASS_SOCKET && r->qual != DSM_QUAL_ANY;
	fold_node = r->class == DSM_CLASS_PEER && r->node != DSM_NODE_ANY;
	if (!has_qual(s, r->qual) && !(fold_qual && has_qual(s, DSM_QUAL_ANY)))
		return false;
	return names_pair(s, r->subject, r->node, fold_node, r->target);
}

/* Does s name subject -> target at all (any node, any qualifier)? */
static bool names_labels(const struct dsm_rule_src *s, uint32_t subject, uint32_t target)
{
	for (size_t i = 0; i < s->nsubj; i++) {
		if (s->subj[i] != subject)
			continue;
		for (size_t j = 0; j < s->ntarg; j++)
			if ((s->targ[j] == DSM_LABEL_INVALID ? subject : s->targ[j]) == target)
				return true;
	}
	return false;
}

static bool names_subject(const struct dsm_rule_src *s, uint32_t subject)
{
	for (size_t i = 0; i < s->nsubj; i++)
		if (s->subj[i] == subject)
			return true;
	return false;
}

static bool names_target(const struct dsm_rule_src *s, uint32_t target)
{
	for (size_t i = 0; i < s->nsubj; i++)
		for (size_t j = 0; j < s->ntarg; j++)
			if ((s->targ[j] == DSM_LABEL_INVALID ? s->subj[i] : s->targ[j]) == target)
				return true;
	return false;
}

static void note(struct dsm_explain *ex, enum dsm_note_kind kind, const struct dsm_rule_src *s)
{
	if (ex->nnotes == DSM_EXPLAIN_NOTES) {
		ex->more_notes++;
		return;
	}
	ex->notes[ex->nnotes++] = (struct dsm_explain_note){ .kind = kind, .src = s };
}

/* What comes closest to a denied request, nearest first. */
static void near_misses(const struct dsm_policy *p, const struct dsm_explain_req *q,
			struct dsm_explain *ex)
{
	static const enum dsm_note_kind order[] = {
		DSM_NOTE_OTHER_QUAL, DSM_NOTE_OTHER_NODE, DSM_NOTE_OTHER_PERMS,
		DSM_NOTE_OTHER_TARGET, DSM_NOTE_OTHER_SUBJECT,
	};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (size_t i = 0; i < p->nsrcs; i++) {
			const struct dsm_rule_src *s = &p->srcs[i];
			bool perm = s->perms & q->perm, labels;
			bool match = false;

			if (s->class != q->class)
				continue;
			labels = names_labels(s, q->subject, q->target);
			switch (order[o]) {
			case DSM_NOTE_OTHER_QUAL:
				match = perm && labels && q->class == DSM_CLASS_SOCKET;
				break;
			case DSM_NOTE_OTHER_NODE:
				match = perm && labels && q->class == DSM_CLASS_PEER;
				break;
			case DSM_NOTE_OTHER_PERMS:
				match = !perm && labels;
				break;
			case DSM_NOTE_OTHER_TARGET:
				match = perm && !labels && names_subject(s, q->subject);
				break;
			case DSM_NOTE_OTHER_SUBJECT:
				match = perm && !labels && !names_subject(s, q->subject) &&
					names_target(s, q->target);
				break;
			}
			if (match)
				note(ex, order[o], s);
		}
	}
}

int dsm_policy_explain(const struct dsm_policy *p, const struct dsm_explain_req *q,
		       struct dsm_explain *ex)
{
	struct dsm_pkey k;
	const struct dsm_pval *v;
	uint32_t perms;

	memset(ex, 0, sizeof(*ex));
	if (!q->perm || (q->perm & (q->perm - 1)) || !(q->perm & dsm_class_all_perms(q->class)))
		return -EINVAL;
	/* The verdict: the decision library's, as the BPF programs reach it. */
	perms = dsm_perms(p, q->class, q->qual, q->subject, q->node, q->target);
	ex->allowed = perms & q->perm;
	ex->permissive = dsm_permissive(p, q->subject);
	ex->permissive_label = dsm_label_flags(p, q->subject) & DSM_LABEL_F_PERMISSIVE;

	/* The entry it decided on, by the same lookup. */
	k = dsm_key_rule(q->class, q->qual, q->subject, q->node, q->target);
	v = dsm_rule_lookup(p, &k);
	ex->found = v != NULL;
	ex->key = k;
	ex->perms = v ? v->perms : 0;
	ex->via_wildcard = v && (k.rule.qual != q->qual || k.rule.node != q->node);
	if (ex->perms != perms)
		return -EPROTO; /* cannot happen: the same code twice */

	if (ex->allowed) {
		for (size_t i = 0; i < p->nsrcs && !ex->rule; i++)
			if (dsm_rule_src_grants(&p->srcs[i], &k, q->perm))
				ex->rule = &p->srcs[i];
		return 0;
	}
	near_misses(p, q, ex);
	if (q->class == DSM_CLASS_PEER)
		for (size_t i = 0; i < p->nnets; i++)
			if (p->nets[i].label == q->subject)
				ex->nunlabeled++;
	return 0;
}
