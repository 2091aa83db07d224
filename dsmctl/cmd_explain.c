// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl policy explain SUBJECT[@NODE] TARGET CLASS PERM [--node N]
 *     [--family F --type T] [--policy FILE] [--json]
 *
 * Like audit2why and sesearch: the allow statement that lets SUBJECT do
 * CLASS PERM to TARGET (FILE:LINE:COL and the statement as written), or
 * that none does and what comes closest. The verdict is the decision
 * library's (include/dsm/decide.h, the code the BPF programs run), through
 * dsm_policy_explain() (lib/policy_explain.h).
 *
 * The policy is the one dsmd enforces: dsmd's status names its source (a
 * policy file, or the signed bundle the Security Server sent), which is
 * read here; --policy FILE explains against a source or a bundle instead.
 *
 * Exit status: 0 allowed, 1 denied (also when a permissive label or mode
 * only reports the denial) or the policy could not be read, 2 usage, 3/4
 * dsmd not running / not answering (when asked for its policy).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "dsmctl.h"
#include "policy.h"
#include "policy_explain.h"

static const char bundle_magic[8] = "DSMBNDL\n";
static const char signed_magic[8] = "DSMSIGN\n";

/* The first 8 bytes of path; -errno. */
static int file_magic(const char *path, char magic[8])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	memset(magic, 0, 8);
	if (fd < 0)
		return -errno;
	n = read(fd, magic, 8);
	close(fd);
	return n < 0 ? -errno : 0;
}

static struct dsm_policy *policy_file_load(const char *cmd, const char *file)
{
	struct dsm_policy *p = NULL;
	struct dsm_diags d = { 0 };
	char magic[8];
	int r = file_magic(file, magic);

	if (r) {
		dsmctl_error("%s: %s: %s%s", cmd, file, strerror(-r),
			     r == -EACCES ? " (dsm's own files need system dsm_read: pass a copy "
					    "with --policy FILE)" : "");
		return NULL;
	}
	if (!memcmp(magic, signed_magic, 8)) {
		dsmctl_error("%s: %s is a signed bundle: pass its source or bundle with "
			     "--policy FILE", cmd, file);
		return NULL;
	}
	if (!memcmp(magic, bundle_magic, 8)) {
		r = dsm_bundle_read_file(file, &p);
		if (r)
			dsmctl_error("%s: %s: %s", cmd, file, strerror(-r));
		return r ? NULL : p;
	}
	r = dsm_policy_compile_file(file, &p, &d);
	for (size_t i = 0; i < d.n; i++) {
		char line[1024];

		if (d.v[i].severity != DSM_SEV_ERROR)
			continue; /* warnings are check's business */
		dsm_diag_format(&d.v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (r && !d.errors)
		dsmctl_error("%s: %s: %s", cmd, file, strerror(-r));
	else if (r)
		dsmctl_error("%s: %s does not compile", cmd, file);
	dsm_diags_free(&d);
	return r ? NULL : p;
}

struct dsm_policy *dsmctl_load_policy(const struct dsmctl_global *g, const char *cmd,
				      const char *file, uint32_t *node_id, int *exit_status)
{
	struct json_object *st, *pol, *v, *node;
	struct dsm_policy *p;
	char source[4096];
	int64_t version = -1;

	*exit_status = DSMCTL_EXIT_FAIL;
	if (node_id)
		*node_id = DSM_NODE_LOCAL;
	if (file)
		return policy_file_load(cmd, file);
	st = dsmctl_query(g, "status", exit_status);
	if (!st)
		return NULL;
	if (!json_object_object_get_ex(st, "policy", &pol) ||
	    !json_object_object_get_ex(pol, "source", &v) ||
	    !json_object_is_type(v, json_type_string) || !*json_object_get_string(v)) {
		json_object_put(st);
		dsmctl_error("%s: dsmd did not say which policy it enforces: use --policy FILE", cmd);
		*exit_status = DSMCTL_EXIT_FAIL;
		return NULL;
	}
	snprintf(source, sizeof(source), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(pol, "version", &v))
		version = json_object_get_int64(v);
	if (node_id && json_object_object_get_ex(st, "node", &node) &&
	    json_object_object_get_ex(node, "id", &v))
		*node_id = (uint32_t)json_object_get_int64(v);
	json_object_put(st);
	*exit_status = DSMCTL_EXIT_FAIL;
	if (source[0] != '/') {
		/* Relative to dsmd's directory, not ours: not a file to guess at. */
		dsmctl_error("%s: dsmd names its policy by a relative path (%s): use --policy FILE",
			     cmd, source);
		return NULL;
	}
	p = policy_file_load(cmd, source);
	if (p && version >= 0 && (uint64_t)version != dsm_policy_version(p))
		dsmctl_error("%s: warning: %s is version %llu, dsmd enforces version %lld "
			     "(changed since the last reload?)", cmd, source,
			     (unsigned long long)dsm_policy_version(p), (long long)version);
	return p;
}

/* ---- the request ------------------------------------------------------- */

static int label_arg(const struct dsm_policy *p, const char *what, const char *s, uint32_t *id)
{
	char *end;
	unsigned long v;

	if (!dsm_policy_label_id(p, s, id))
		return 0;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (!errno && *s >= '0' && *s <= '9' && !*end && v && v < DSM_NODE_ANY) {
		*id = (uint32_t)v;
		return 0;
	}
	return dsmctl_usage_error("policy explain: unknown %s label '%s'", what, s);
}

static int node_arg(const struct dsm_policy *p, const char *s, uint32_t *id)
{
	char *end;
	unsigned long v;

	if (!strcmp(s, "any")) {
		*id = DSM_NODE_ANY;
		return 0;
	}
	if (!dsm_policy_node_id(p, s, id))
		return 0;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (!errno && *s >= '0' && *s <= '9' && !*end && v && v < DSM_NODE_ANY) {
		*id = (uint32_t)v;
		return 0;
	}
	return dsmctl_usage_error("policy explain: unknown node '%s'", s);
}

static int family_by_name(const char *s)
{
	static const int v[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(s, dsm_family_name((unsigned)v[i])))
			return v[i];
	return -1;
}

static int type_by_name(const char *s)
{
	static const int v[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(s, dsm_socktype_name((unsigned)v[i])))
			return v[i];
	return -1;
}

/* ---- output -------------------------------------------------------------- */

static const char *note_text(enum dsm_note_kind k)
{
	switch (k) {
	case DSM_NOTE_OTHER_QUAL:    return "the permission for another socket family or type";
	case DSM_NOTE_OTHER_NODE:    return "the permission from the label on another node";
	case DSM_NOTE_OTHER_PERMS:   return "other permissions between the same labels";
	case DSM_NOTE_OTHER_TARGET:  return "the permission from the subject to another target";
	case DSM_NOTE_OTHER_SUBJECT: return "the permission to the target from another subject";
	}
	return "?";
}

static const char *note_key(enum dsm_note_kind k)
{
	switch (k) {
	case DSM_NOTE_OTHER_QUAL:    return "other_qualifier";
	case DSM_NOTE_OTHER_NODE:    return "other_node";
	case DSM_NOTE_OTHER_PERMS:   return "other_permissions";
	case DSM_NOTE_OTHER_TARGET:  return "other_target";
	case DSM_NOTE_OTHER_SUBJECT: return "other_subject";
	}
	return "?";
}

static void label_str(const struct dsm_policy *p, uint32_t id, char *buf, size_t len)
{
	const char *n = dsm_policy_label_name(p, id);

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "%u", id);
}

static void node_str(const struct dsm_policy *p, uint32_t id, char *buf, size_t len)
{
	const char *n = dsm_policy_node_name(p, id);

	if (id == DSM_NODE_ANY)
		snprintf(buf, len, "any");
	else if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "%u", id);
}

static void qual_str(uint16_t qual, char *buf, size_t len)
{
	const char *f = dsm_family_name(qual >> 8), *t = dsm_socktype_name(qual & 0xff);

	if (qual == DSM_QUAL_ANY)
		snprintf(buf, len, "any family and type");
	else
		snprintf(buf, len, "%s %s", f ? f : "?", t ? t : "?");
}

static json_object *src_json(const struct dsm_policy *p, const struct dsm_rule_src *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "file", json_object_new_string(dsm_policy_source_name(p)));
	json_object_object_add(o, "line", json_object_new_int64(s->line));
	json_object_object_add(o, "col", json_object_new_int64(s->col));
	json_object_object_add(o, "text", json_object_new_string(s->text));
	return o;
}

static int explain_json(const struct dsm_policy *p, const struct dsm_explain_req *q,
		      const struct dsm_explain *ex, const char *subj, const char *targ,
		      const char *node, const char *entry)
{
	json_object *o = json_object_new_object(), *r = json_object_new_object(), *near;
	char qual[64];
	int ret;

	json_object_object_add(o, "verdict",
			       json_object_new_string(ex->allowed ? "allowed" : "denied"));
	json_object_object_add(r, "subject", json_object_new_string(subj));
	if (q->class == DSM_CLASS_PEER)
		json_object_object_add(r, "node", json_object_new_string(node));
	json_object_object_add(r, "target", json_object_new_string(targ));
	json_object_object_add(r, "class", json_object_new_string(dsm_class_name(q->class)));
	if (q->class == DSM_CLASS_SOCKET) {
		qual_str(q->qual, qual, sizeof(qual));
		json_object_object_add(r, "socket", json_object_new_string(qual));
	}
	json_object_object_add(r, "perm", json_object_new_string(dsm_perm_name(q->class, q->perm)));
	json_object_object_add(o, "request", r);
	json_object_object_add(o, "permissive", json_object_new_boolean(ex->permissive));
	if (ex->found)
		json_object_object_add(o, "entry", json_object_new_string(entry));
	if (ex->allowed) {
		json_object_object_add(o, "via_wildcard", json_object_new_boolean(ex->via_wildcard));
		if (ex->rule)
			json_object_object_add(o, "rule", src_json(p, ex->rule));
	} else {
		near = json_object_new_array();
		for (size_t i = 0; i < ex->nnotes; i++) {
			json_object *n = src_json(p, ex->notes[i].src);

			json_object_object_add(n, "kind",
					       json_object_new_string(note_key(ex->notes[i].kind)));
			json_object_array_add(near, n);
		}
		json_object_object_add(o, "nearest", near);
		if (ex->more_notes)
			json_object_object_add(o, "nearest_not_shown",
					       json_object_new_int64((int64_t)ex->more_notes));
		if (q->class == DSM_CLASS_PEER)
			json_object_object_add(o, "unlabeled_rules",
					       json_object_new_int64((int64_t)ex->nunlabeled));
	}
	ret = dsmctl_print_json(stdout, o);
	json_object_put(o);
	return ret;
}

static void explain_text(const struct dsm_policy *p, const struct dsm_explain_req *q,
		       const struct dsm_explain *ex, const char *subj, const char *targ,
		       const char *node, const char *entry)
{
	const char *file = dsm_policy_source_name(p);
	const char *cls = dsm_class_name(q->class), *perm = dsm_perm_name(q->class, q->perm);
	char qual[64], from[160];

	qual_str(q->qual, qual, sizeof(qual));
	if (q->class == DSM_CLASS_PEER)
		snprintf(from, sizeof(from), "%s@%s", subj, node);
	else
		snprintf(from, sizeof(from), "%s", subj);
	if (ex->allowed) {
		if (ex->rule) {
			printf("allowed by %s:%u:%u: ", file, ex->rule->line, ex->rule->col);
			dsmctl_put_safe(stdout, ex->rule->text);
			putchar('\n');
		} else {
			printf("allowed by the entry '%s' (a bundle keeps no source lines)\n", entry);
		}
		if (ex->via_wildcard && ex->key.rule.qual != q->qual)
			printf("  no rule names %s: the rule for every family and type applies\n",
			       qual);
		if (ex->via_wildcard && ex->key.rule.node != q->node)
			printf("  no rule names %s from node %s: the %s@any rule applies\n", subj,
			       node, subj);
		return;
	}
	printf("denied: no rule allows %s %s from %s to %s", cls, perm, from, targ);
	if (q->class == DSM_CLASS_SOCKET)
		printf(" (%s)", qual);
	putchar('\n');
	if (ex->found)
		printf("  the entry that decides: %s\n", entry);
	for (size_t i = 0; i < ex->nnotes; i++) {
		const struct dsm_rule_src *s = ex->notes[i].src;

		printf("  nearest (%s): %s:%u:%u: ", note_text(ex->notes[i].kind), file, s->line,
		       s->col);
		dsmctl_put_safe(stdout, s->text);
		putchar('\n');
	}
	if (ex->more_notes)
		printf("  ... and %zu more\n", ex->more_notes);
	if (q->class == DSM_CLASS_PEER && ex->nunlabeled)
		printf("  %s is the label of traffic from hosts without dsm (%zu unlabeled "
		       "rule%s): such a sender is %s@any\n", subj, ex->nunlabeled,
		       ex->nunlabeled == 1 ? "" : "s", subj);
	if (q->class == DSM_CLASS_PEER && q->node == DSM_NODE_ANY)
		printf("  no --node: only %s@any rules were considered\n", subj);
	if (!file && !ex->nnotes)
		printf("  (a bundle keeps no source lines: no nearest rules)\n");
	if (ex->permissive_label)
		printf("  %s is permissive: the denial is reported, not enforced\n", subj);
	else if (ex->permissive)
		printf("  the policy is in permissive mode: the denial is reported, not enforced\n");
}

int dsmctl_policy_explain(const struct dsmctl_global *g, int argc, char **argv)
{
	const char *node_opt = NULL, *file = NULL, *family = NULL, *type = NULL;
	bool json = false, help = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--node", .value = &node_opt },
		{ .name = "--policy", .value = &file },
		{ .name = "--family", .value = &family },
		{ .name = "--type", .value = &type },
		{ .name = "--json", .flag = &json },
		{ .name = "--help", .flag = &help },
		{ .name = NULL },
	};
	const char *pos[4];
	size_t npos = 0;
	struct dsm_explain_req q = { .qual = DSM_QUAL_ANY, .node = DSM_NODE_ANY };
	struct dsm_explain ex;
	struct dsm_policy *p;
	char subj[128], *at, sname[64], tname[64], nname[64], entry[512] = "";
	int cls, ret, i;

	/* argv[0] "policy", argv[1] "explain": options anywhere after. */
	for (i = 2; i < argc; i++) {
		int k = dsmctl_parse_opts("policy explain", argc - i + 1, argv + i - 1, opts, true);

		if (k == DSMCTL_OPTS_HELP) {
			help = true;
			break;
		}
		if (k < 0)
			return DSMCTL_EXIT_USAGE;
		i += k - 1;
		if (i >= argc)
			break;
		if (npos == 4)
			return dsmctl_usage_error("policy explain: too many arguments");
		pos[npos++] = argv[i];
	}
	if (help) {
		puts("Usage: dsmctl policy explain SUBJECT[@NODE] TARGET CLASS PERM [--node NODE]\n"
		     "           [--family FAMILY --type TYPE] [--policy FILE] [--json]");
		return DSMCTL_EXIT_OK;
	}
	if (npos != 4)
		return dsmctl_usage_error("policy explain: expected SUBJECT TARGET CLASS PERM");
	cls = dsm_class_by_name(pos[2]);
	if (cls < 0)
		return dsmctl_usage_error("policy explain: unknown class '%s'", pos[2]);
	q.class = (uint8_t)cls;
	q.perm = dsm_perm_by_name((unsigned)cls, pos[3]);
	if (!q.perm)
		return dsmctl_usage_error("policy explain: unknown permission '%s' for class %s",
					  pos[3], pos[2]);
	if (!family != !type)
		return dsmctl_usage_error("policy explain: --family and --type go together (an "
					  "exact socket), or neither (the rule for every socket)");
	if (family && q.class != DSM_CLASS_SOCKET)
		return dsmctl_usage_error("policy explain: --family and --type are for class socket");
	if (family) {
		int f = family_by_name(family), t = type_by_name(type);

		if (f < 0 || t < 0)
			return dsmctl_usage_error("policy explain: unknown socket %s '%s'",
						  f < 0 ? "family" : "type", f < 0 ? family : type);
		q.qual = dsm_qual((uint16_t)f, (uint16_t)t);
	}
	snprintf(subj, sizeof(subj), "%s", pos[0]);
	at = strchr(subj, '@');
	if (at) {
		*at++ = '\0';
		if (node_opt && strcmp(node_opt, at))
			return dsmctl_usage_error("policy explain: two nodes: '%s' and --node %s",
						  at, node_opt);
		node_opt = at;
	}
	if (node_opt && q.class != DSM_CLASS_PEER)
		return dsmctl_usage_error("policy explain: a node is for class peer only (the "
					  "sender's node)");

	p = dsmctl_load_policy(g, "policy explain", file, NULL, &ret);
	if (!p)
		return ret;
	ret = label_arg(p, "subject", subj, &q.subject);
	if (!ret && !strcmp(pos[1], "self"))
		q.target = q.subject; /* as the language writes it */
	else if (!ret)
		ret = label_arg(p, "target", pos[1], &q.target);
	if (!ret && node_opt)
		ret = node_arg(p, node_opt, &q.node);
	if (ret) {
		dsm_policy_free(p);
		return ret;
	}
	ret = dsm_policy_explain(p, &q, &ex);
	if (ret) {
		dsmctl_error("policy explain: %s", strerror(-ret));
		dsm_policy_free(p);
		return DSMCTL_EXIT_FAIL;
	}
	label_str(p, q.subject, sname, sizeof(sname));
	label_str(p, q.target, tname, sizeof(tname));
	node_str(p, q.node, nname, sizeof(nname));
	if (ex.found) {
		struct dsm_pval v = { .perms = ex.perms };

		dsm_entry_format(p, &ex.key, &v, entry, sizeof(entry));
	}
	if (json)
		ret = explain_json(p, &q, &ex, sname, tname, nname, entry);
	else
		explain_text(p, &q, &ex, sname, tname, nname, entry);
	dsm_policy_free(p);
	if (ret)
		return DSMCTL_EXIT_FAIL;
	return ex.allowed ? DSMCTL_EXIT_OK : DSMCTL_EXIT_FAIL;
}
