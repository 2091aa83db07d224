// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl alarms --suggest [--file PATH] [--policy FILE] [--json]: like
 * audit2allow, the smallest set of allow statements that would allow
 * exactly the denials in the alarm log (deny and permissive records), for
 * an operator to review. Nothing is ever applied.
 *
 * One statement per (subject[@node], target, class, socket family and
 * type), with every permission seen merged into it; never a wildcard (a
 * socket rule names the family and type the alarm carries, a peer rule the
 * sender's node). Alarms that are not policy denials, or that no rule
 * should answer without a person deciding, are listed as comments
 * ("# not suggested: ..."): forged, stale or malformed packets, dsm's
 * self-protection and the node's (class system, dsm admin, requests on a
 * label that holds system permissions), failures closed without a label,
 * labels or nodes the policy does not have, sockets the language cannot
 * name, and requests the policy already allows (dsm's built-in exec rules
 * refused them, or the policy changed since).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "dsm/decide.h"
#include "policy.h"
#include "policy_explain.h"
#include "suggest.h"

struct sugg_rule {
	uint8_t class;
	uint16_t qual;
	uint32_t subject, node, target;
	uint32_t perms;
	uint64_t alarms;
};

struct sugg_skip {
	char *what;   /* "web -> dsmd process signal" */
	char *reason;
	uint64_t alarms;
};

struct dsmctl_suggest {
	struct json_object **recs;
	size_t nrecs, cap;
};

struct dsmctl_suggest *dsmctl_suggest_new(void)
{
	return calloc(1, sizeof(struct dsmctl_suggest));
}

int dsmctl_suggest_add(struct dsmctl_suggest *s, struct json_object *alarm)
{
	if (s->nrecs == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct json_object **v = realloc(s->recs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->recs = v;
		s->cap = cap;
	}
	s->recs[s->nrecs++] = json_object_get(alarm);
	return 0;
}

void dsmctl_suggest_free(struct dsmctl_suggest *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nrecs; i++)
		json_object_put(s->recs[i]);
	free(s->recs);
	free(s);
}

static const char *sugg_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static bool sugg_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/* The label a record names: by name when it has one, else by id. */
static bool rec_label(const struct dsm_policy *p, struct json_object *o, const char *name_key,
		      const char *id_key, uint32_t *id)
{
	const char *n = sugg_str(o, name_key);
	int64_t v;

	if (n)
		return dsm_policy_label_id(p, n, id) == 0;
	if (sugg_int(o, id_key, &v) && v > 0 && v < DSM_NODE_ANY && dsm_policy_label_name(p, (uint32_t)v)) {
		*id = (uint32_t)v;
		return true;
	}
	return false;
}

/* "web -> db socket connect" as the record says it. */
static void rec_what(struct json_object *o, char *buf, size_t len)
{
	const char *s = sugg_str(o, "subject"), *t = sugg_str(o, "target");
	const char *sn = sugg_str(o, "subject_node"), *c = sugg_str(o, "class"), *pm = sugg_str(o, "perm");
	const char *addr = sugg_str(o, "saddr");
	char sb[24] = "?", tb[24] = "?";
	int64_t v;

	if (!s && sugg_int(o, "subject_id", &v))
		snprintf(sb, sizeof(sb), "%lld", (long long)v);
	if (!t && sugg_int(o, "target_id", &v))
		snprintf(tb, sizeof(tb), "%lld", (long long)v);
	snprintf(buf, len, "%s%s%s -> %s %s %s%s%s", s ? s : sb,
		 c && !strcmp(c, "peer") && sn ? "@" : "", c && !strcmp(c, "peer") && sn ? sn : "",
		 t ? t : tb, c ? c : "?", pm ? pm : "?", addr ? " from " : "", addr ? addr : "");
	for (char *q = buf; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
}

/* How many alarms a record stands for (the rate limit's summaries). */
static uint64_t rec_count(struct json_object *o)
{
	int64_t n;

	return sugg_int(o, "suppressed", &n) && n > 0 ? (uint64_t)n : 1;
}

/* Classify one record: 0 and *r filled (a rule's worth), or a reason it is
 * not suggested (static text, or written into why). */
static const char *classify(const struct dsm_policy *p, struct json_object *o,
			    struct sugg_rule *r, char *why, size_t len)
{
	const char *verdict = sugg_str(o, "verdict"), *c = sugg_str(o, "class");
	const char *pm = sugg_str(o, "perm"), *reason = sugg_str(o, "reason");
	int64_t v, sid = -1;
	uint32_t flags;
	int cls;

	memset(r, 0, sizeof(*r));
	r->qual = DSM_QUAL_ANY;
	r->node = DSM_NODE_ANY;
	if (!verdict || (strcmp(verdict, "deny") && strcmp(verdict, "permissive")))
		return "not a denial";
	if (!c || (cls = dsm_class_by_name(c)) < 0)
		return "no class dsm knows in the record";
	r->class = (uint8_t)cls;
	if (!pm || !(r->perms = dsm_perm_by_name((unsigned)cls, pm)))
		return "no permission dsm knows in the record";
	if (r->class == DSM_CLASS_PEER) {
		if (!reason || strcmp(reason, "policy")) {
			snprintf(why, len, "a %s packet is not a policy denial: no rule should "
				 "let it in", reason ? reason : "refused");
			return why;
		}
	} else if (reason) {
		snprintf(why, len, "raised by dsmd, not a policy denial (%s)", reason);
		return why;
	}
	if (r->class == DSM_CLASS_SYSTEM)
		return "class system is dsm's self-protection and the node's (bpf, module, "
		       "mount, kernel, ...): grant it by hand if you mean to";
	if (r->class == DSM_CLASS_DSM && r->perms == DSM_PERM_ADMIN)
		return "dsm admin controls dsm itself (reload, exec-label, unload): grant it by "
		       "hand if you mean to";
	sugg_int(o, "subject_id", &sid);
	if (!sugg_str(o, "subject") && sid == 0)
		return "no subject label: dsm failed closed (an error, not a policy denial)";
	if (!rec_label(p, o, "subject", "subject_id", &r->subject))
		return "the subject is not a label of the policy";
	if (!rec_label(p, o, "target", "target_id", &r->target))
		return "the target is not a label of the policy";
	flags = dsm_label_flags(p, r->target);
	if (r->class == DSM_CLASS_PROCESS && (flags & DSM_LABEL_F_SYSTEM) &&
	    r->target != r->subject)
		return "the target label holds system permissions (dsm's own or the node's): "
		       "only a person should open it to another label";
	if (r->class == DSM_CLASS_SOCKET) {
		const char *f, *t;

		if (!sugg_int(o, "aux", &v) || v < 0 || v > 0xffff)
			return "the record has no socket family and type (a rule would need a "
			       "wildcard)";
		r->qual = (uint16_t)v;
		f = dsm_family_name(r->qual >> 8);
		t = dsm_socktype_name(r->qual & 0xff);
		if (!f || !t) {
			snprintf(why, len, "the policy language cannot name socket family %u "
				 "type %u: no rule may allow it", r->qual >> 8, r->qual & 0xff);
			return why;
		}
	}
	if (r->class == DSM_CLASS_PEER) {
		if (!sugg_int(o, "subject_node_id", &v) || v < 0 || v > DSM_NODE_ANY)
			return "the record has no sender node";
		r->node = (uint32_t)v;
		if (r->node != DSM_NODE_ANY && !dsm_policy_node_name(p, r->node)) {
			snprintf(why, len, "the sender's node %u is not a node of the policy",
				 r->node);
			return why;
		}
	}
	if (dsm_perms(p, r->class, r->qual, r->subject, r->node, r->target) & r->perms)
		return r->class == DSM_CLASS_PROCESS && r->perms == DSM_PERM_TRANSITION
			       ? "the policy already allows it: dsm's built-in exec rules refused "
				 "it (the service manager's label, labels with system permissions)"
			       : "the policy already allows it (changed since the alarm?)";
	r->alarms = rec_count(o);
	return NULL;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct sugg_rule *x = a, *y = b;

#define CMP(f) if (x->f != y->f) return x->f < y->f ? -1 : 1
	CMP(subject);
	CMP(target);
	CMP(class);
	CMP(node);
	CMP(qual);
#undef CMP
	return 0;
}

/* The statement for r, in the policy language. */
static void sugg_rule_text(const struct dsm_policy *p, const struct sugg_rule *r, char *buf,
		      size_t len)
{
	char perms[256], subj[160], qual[64] = "";

	if (r->class == DSM_CLASS_PEER)
		snprintf(subj, sizeof(subj), "%s@%s", dsm_policy_label_name(p, r->subject),
			 r->node == DSM_NODE_ANY ? "any" : dsm_policy_node_name(p, r->node));
	else
		snprintf(subj, sizeof(subj), "%s", dsm_policy_label_name(p, r->subject));
	if (r->class == DSM_CLASS_SOCKET)
		snprintf(qual, sizeof(qual), " %s %s", dsm_family_name(r->qual >> 8),
			 dsm_socktype_name(r->qual & 0xff));
	dsm_perms_format(r->class, r->perms, perms, sizeof(perms));
	snprintf(buf, len, "allow %s %s : %s%s %s;", subj, dsm_policy_label_name(p, r->target),
		 dsm_class_name(r->class), qual, perms);
}

struct sugg_out {
	struct sugg_rule *rules;
	size_t nrules;
	struct sugg_skip *skips;
	size_t nskips;
	uint64_t denials, skipped;
};

static int add_skip(struct sugg_out *out, const char *what, const char *reason, uint64_t n)
{
	struct sugg_skip *v;

	for (size_t i = 0; i < out->nskips; i++)
		if (!strcmp(out->skips[i].what, what) && !strcmp(out->skips[i].reason, reason)) {
			out->skips[i].alarms += n;
			return 0;
		}
	v = realloc(out->skips, (out->nskips + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	out->skips = v;
	v = &out->skips[out->nskips];
	v->what = strdup(what);
	v->reason = strdup(reason);
	v->alarms = n;
	if (!v->what || !v->reason) {
		free(v->what);
		free(v->reason);
		return -ENOMEM;
	}
	out->nskips++;
	return 0;
}

static int add_rule(struct sugg_out *out, const struct sugg_rule *r)
{
	struct sugg_rule *v;

	for (size_t i = 0; i < out->nrules; i++)
		if (!rule_cmp(&out->rules[i], r)) {
			out->rules[i].perms |= r->perms;
			out->rules[i].alarms += r->alarms;
			return 0;
		}
	v = realloc(out->rules, (out->nrules + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	out->rules = v;
	out->rules[out->nrules++] = *r;
	return 0;
}

static void out_free(struct sugg_out *out)
{
	for (size_t i = 0; i < out->nskips; i++) {
		free(out->skips[i].what);
		free(out->skips[i].reason);
	}
	free(out->skips);
	free(out->rules);
}

static int compute(const struct dsmctl_suggest *s, const struct dsm_policy *p,
		   struct sugg_out *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->nrecs; i++) {
		struct json_object *o = s->recs[i];
		struct sugg_rule r;
		char why[256], what[256];
		const char *reason = classify(p, o, &r, why, sizeof(why));
		int err;

		if (json_object_object_get_ex(o, "dropped", NULL) && !sugg_str(o, "subject") &&
		    !json_object_object_get_ex(o, "subject_id", NULL))
			continue; /* the server's count of alarms lost: nothing to grant */
		out->denials += rec_count(o);
		if (reason) {
			rec_what(o, what, sizeof(what));
			out->skipped += rec_count(o);
			err = add_skip(out, what, reason, rec_count(o));
		} else {
			err = add_rule(out, &r);
		}
		if (err)
			return err;
	}
	qsort(out->rules, out->nrules, sizeof(*out->rules), rule_cmp);
	return 0;
}

static int sugg_print_text(FILE *f, const struct dsm_policy *p, const struct sugg_out *out)
{
	char text[512];

	fprintf(f, "# Suggested by 'dsmctl alarms --suggest' for policy '%s' version %llu,\n"
		   "# from %llu alarm%s: %zu rule%s, %llu alarm%s not suggested.\n"
		   "# FOR REVIEW ONLY: nothing here is applied. Check every rule; add the ones\n"
		   "# you mean to the policy, bump its version, and reload.\n",
		dsm_policy_name(p), (unsigned long long)dsm_policy_version(p),
		(unsigned long long)out->denials, out->denials == 1 ? "" : "s",
		out->nrules, out->nrules == 1 ? "" : "s",
		(unsigned long long)out->skipped, out->skipped == 1 ? "" : "s");
	for (size_t i = 0; i < out->nrules; i++) {
		sugg_rule_text(p, &out->rules[i], text, sizeof(text));
		fprintf(f, "%s  # %llu alarm%s\n", text, (unsigned long long)out->rules[i].alarms,
			out->rules[i].alarms == 1 ? "" : "s");
	}
	for (size_t i = 0; i < out->nskips; i++)
		fprintf(f, "# not suggested (%llu alarm%s): %s: %s\n",
			(unsigned long long)out->skips[i].alarms,
			out->skips[i].alarms == 1 ? "" : "s", out->skips[i].what,
			out->skips[i].reason);
	return 0;
}

static int sugg_print_json(FILE *f, const struct dsm_policy *p, const struct sugg_out *out)
{
	json_object *o = json_object_new_object(), *rules = json_object_new_array();
	json_object *skips = json_object_new_array();
	char text[512];
	int ret;

	json_object_object_add(o, "note", json_object_new_string(
		"for review only: never applied"));
	json_object_object_add(o, "policy", json_object_new_string(dsm_policy_name(p)));
	json_object_object_add(o, "version", json_object_new_int64((int64_t)dsm_policy_version(p)));
	json_object_object_add(o, "alarms", json_object_new_int64((int64_t)out->denials));
	for (size_t i = 0; i < out->nrules; i++) {
		const struct sugg_rule *r = &out->rules[i];
		json_object *j = json_object_new_object(), *perms = json_object_new_array();

		sugg_rule_text(p, r, text, sizeof(text));
		json_object_object_add(j, "rule", json_object_new_string(text));
		json_object_object_add(j, "subject", json_object_new_string(
			dsm_policy_label_name(p, r->subject)));
		if (r->class == DSM_CLASS_PEER)
			json_object_object_add(j, "node", json_object_new_string(
				r->node == DSM_NODE_ANY ? "any" : dsm_policy_node_name(p, r->node)));
		json_object_object_add(j, "target", json_object_new_string(
			dsm_policy_label_name(p, r->target)));
		json_object_object_add(j, "class", json_object_new_string(dsm_class_name(r->class)));
		if (r->class == DSM_CLASS_SOCKET) {
			json_object_object_add(j, "family", json_object_new_string(
				dsm_family_name(r->qual >> 8)));
			json_object_object_add(j, "type", json_object_new_string(
				dsm_socktype_name(r->qual & 0xff)));
		}
		for (uint32_t b = 1; b; b <<= 1)
			if (r->perms & b)
				json_object_array_add(perms, json_object_new_string(
					dsm_perm_name(r->class, b)));
		json_object_object_add(j, "perms", perms);
		json_object_object_add(j, "alarms", json_object_new_int64((int64_t)r->alarms));
		json_object_array_add(rules, j);
	}
	for (size_t i = 0; i < out->nskips; i++) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "what", json_object_new_string(out->skips[i].what));
		json_object_object_add(j, "reason", json_object_new_string(out->skips[i].reason));
		json_object_object_add(j, "alarms", json_object_new_int64((int64_t)out->skips[i].alarms));
		json_object_array_add(skips, j);
	}
	json_object_object_add(o, "rules", rules);
	json_object_object_add(o, "not_suggested", skips);
	ret = dsmctl_print_json(f, o);
	json_object_put(o);
	return ret;
}

int dsmctl_suggest_print(const struct dsmctl_suggest *s, const struct dsm_policy *p, bool json,
			 FILE *f)
{
	struct sugg_out out;
	int ret = compute(s, p, &out);

	if (!ret)
		ret = json ? sugg_print_json(f, p, &out) : sugg_print_text(f, p, &out);
	out_free(&out);
	return ret;
}
