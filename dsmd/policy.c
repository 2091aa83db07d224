// SPDX-License-Identifier: GPL-2.0
/*
 * Policy installation. Every load, first or reload, compiles the source,
 * resolves node-local objects, adds this node's own entries, fills a
 * brand-new hash map and swaps it into slot 0 of dsm_policy with one
 * update: a hook sees the old policy or the new one, never a mix, never an
 * empty map. A policy that fails to compile or to install changes nothing.
 * Preparing (compile, resolve, this node's entries, the check of dsmd's
 * own label) and installing (fill, swap) are two steps, so that the one
 * reload path (reload.c) can say which one stopped it; what follows the
 * swap (generation, keys, tags, protection) is reload.c's.
 * The node's own entries (node id, the service manager's and dsmd's
 * labels, the prefix lengths in use) go into the compiled policy as well,
 * so that dsmd decides (dsm/decide.h) on exactly what the kernel holds.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <sys/socket.h>

#include "dsmd.h"
#include "dsm/decide.h"
#include "uplink.h"

struct fill_ctx {
	int fd;
	size_t n;
};

static int fill_one(const struct dsm_pkey *key, const struct dsm_pval *val, void *ctx)
{
	struct fill_ctx *f = ctx;

	if (bpf_map_update_elem(f->fd, key, val, BPF_NOEXIST))
		return -errno;
	f->n++;
	return 0;
}

static void warn_resolve(void *ctx, const char *msg)
{
	(void)ctx;
	log_warning("policy: %s", msg);
}

static void print_diags(const struct dsm_diags *dg)
{
	char line[1024];

	for (size_t i = 0; i < dg->n; i++) {
		dsm_diag_format(&dg->v[i], line, sizeof(line));
		log_msg(dg->v[i].severity == DSM_SEV_ERROR ? LOG_ERR : LOG_WARNING, "policy: %s",
			line);
	}
}

/* Which node of the policy this one is: by --node (name or number), else
 * by hostname; a single-node policy need not name its nodes (id 0). */
struct node_choice {
	uint32_t id;
	char name[64];
};

static int resolve_node(const struct dsmd *d, const struct dsm_policy *p, struct node_choice *n)
{
	char host[64] = "";
	const char *want = d->o.node;
	char *end;

	if (!want) {
		if (gethostname(host, sizeof(host) - 1))
			return -errno;
		want = host;
	}
	if (dsm_policy_node_id(p, want, &n->id) == 0) {
		snprintf(n->name, sizeof(n->name), "%s", want);
		return 0;
	}
	errno = 0;
	unsigned long v = strtoul(want, &end, 0);
	if (d->o.node && !errno && *want && !*end && v && v < DSM_NODE_ANY) {
		const char *name = dsm_policy_node_name(p, (uint32_t)v);

		n->id = (uint32_t)v;
		snprintf(n->name, sizeof(n->name), "%s", name ? name : want);
		return 0;
	}
	if (d->o.node) {
		log_error("policy: node '%s' is not defined in the policy", want);
		return -ENOENT;
	}
	/* A single node policy need not name its nodes. */
	log_warning("policy: hostname '%s' is not a node of the policy; node ID 0", want);
	n->id = DSM_NODE_LOCAL;
	snprintf(n->name, sizeof(n->name), "%s", want);
	return 0;
}

/*
 * The label dsmd runs in: on a fresh start the one it gives itself (the
 * start-up rule of the shared library), on a takeover the one the kernel
 * gave it at exec.
 */
static uint32_t self_label(const struct dsmd *d, const struct dsm_policy *p)
{
	uint32_t label;

	if (d->takeover && dsmd_task_label(d, p, getpid(), &label) == 0)
		return label;
	return dsm_startup_label(p, dsmd_exe_label(p, getpid()), false, true);
}

/* PID 1's label, for a policy that names no service manager. */
static uint32_t pid1_label(const struct dsmd *d, const struct dsm_policy *p)
{
	uint32_t label;

	if (d->takeover && dsmd_task_label(d, p, 1, &label) == 0)
		return label;
	return dsm_startup_label(p, dsmd_exe_label(p, 1), true, false);
}

/* This node's entries: its id, the service manager's label (when the
 * policy names none: PID 1's), dsmd's label, the prefix lengths in use. */
static int add_local_entries(const struct dsmd *d, struct dsm_policy *p, uint32_t node_id,
			     uint32_t *self)
{
	struct dsm_entry v[12] = { 0 };
	struct dsm_pkey k = dsm_key_config(DSM_CFG_SERVICE_MANAGER);
	size_t n = 0;
	int err;

	v[n].key = dsm_key_config(DSM_CFG_NODE_ID);
	v[n++].val.aux = node_id;
	if (!dsm_policy_lookup(p, &k)) {
		uint32_t manager = pid1_label(d, p);

		v[n].key = k;
		v[n++].val.aux = manager;
		if (manager == dsm_policy_initial_label(p))
			log_warning("policy: no service_manager statement: the service manager is "
				    "PID 1's label '%s', the initial label, so every task in it may "
				    "enter labels that hold system permissions",
				    dsm_policy_label_name(p, manager) ?: "?");
	}
	/* Entries are added before dsmd's label is known: it depends on the
	 * service manager (take the one just chosen). */
	err = dsm_policy_set_local(p, v, n);
	if (err)
		return err;
	*self = self_label(d, p);
	v[n].key = dsm_key_config(DSM_CFG_DSMD_LABEL);
	v[n++].val.aux = *self;
	n += dsm_policy_plens_entries(p, &v[n]);
	{
		/* and the interface rules of the other namespaces (net.c) */
		struct dsm_entry *all;
		size_t nall;

		err = dsmd_net_local_entries(d, p, v, n, &all, &nall);
		if (err)
			return err;
		err = dsm_policy_set_local(p, all, nall);
		free(all);
	}
	return err;
}

/*
 * The label dsmd runs in must be able to manage dsm: without bpf() it
 * could not finish attaching, reload or take over, without dsm_files and
 * dsm_read not keep or read its own files, without mount not pin again on
 * a fresh bpffs after an unmount (bpf.c), without net not attach its tc
 * programs. Refuse such a policy in
 * enforcing mode rather than lock dsm out of its own objects.
 */
static int check_self(const struct dsm_policy *p, uint32_t self)
{
	const uint32_t need = DSM_PERM_BPF | DSM_PERM_DSM_FILES | DSM_PERM_DSM_READ |
			      DSM_PERM_MOUNT | DSM_PERM_NET;
	uint32_t has = dsm_perms(p, DSM_CLASS_SYSTEM, DSM_QUAL_ANY, self, DSM_NODE_ANY, self);
	char want[128];

	if (dsm_policy_mode(p) == DSM_MODE_PERMISSIVE || (has & need) == need)
		return 0;
	dsm_perms_format(DSM_CLASS_SYSTEM, need, want, sizeof(want));
	log_error("policy: dsmd would run as '%s', which lacks system %s: label dsmd's binary "
		  "with a transition to a label that has them",
		  dsm_policy_label_name(p, self) ?: "?", want);
	return -EPERM;
}

/*
 * Joined, dsmd must still reach its servers under the new policy: its
 * label needs socket create, connect, send and recv on TCP over IPv4 and
 * IPv6 (a server address may be either). A policy that would cut dsmd off
 * is refused in enforcing mode, like one that would lock it out of its
 * own objects. The peer recv of the server's answers is not checked here.
 */
static int check_uplink(const struct dsmd *d, const struct dsm_policy *p, uint32_t self)
{
	const uint32_t need = DSM_PERM_CREATE | DSM_PERM_CONNECT | DSM_PERM_SEND | DSM_PERM_RECV;
	static const uint16_t families[] = { AF_INET, AF_INET6 };

	if (!d->uplink || dsm_policy_mode(p) == DSM_MODE_PERMISSIVE)
		return 0;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		uint16_t q = dsm_qual(families[i], SOCK_STREAM);

		if ((dsm_perms(p, DSM_CLASS_SOCKET, q, self, DSM_NODE_ANY, self) & need) != need) {
			log_error("policy: dsmd would run as '%s', which may not use TCP sockets "
				  "over %s (socket create connect send recv): it could not reach "
				  "its Security Server", dsm_policy_label_name(p, self) ?: "?",
				  families[i] == AF_INET ? "IPv4" : "IPv6");
			return -EPERM;
		}
	}
	return 0;
}

/* A new policy map filled with every entry of p; its fd, or -errno. */
static int fill_map(const struct dsmd *d, const struct dsm_policy *p, size_t *n)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct fill_ctx f = { .fd = -1 };
	size_t nent = 0, nres = 0;
	int err, btf_fd;

	err = dsmd_bpf_policy_btf(d, &btf_fd, &opts.btf_key_type_id, &opts.btf_value_type_id);
	if (err)
		return log_errno(LOG_ERR, err, "policy: BTF for the policy map");
	opts.btf_fd = (uint32_t)btf_fd;
	dsm_policy_entries(p, &nent);
	dsm_policy_resolved_entries(p, &nres);
	f.fd = bpf_map_create(BPF_MAP_TYPE_HASH, "dsm_policy_v", sizeof(struct dsm_pkey),
			      sizeof(struct dsm_pval), (uint32_t)(nent + nres + 16), &opts);
	if (f.fd < 0)
		return log_errno(LOG_ERR, -errno, "policy: create policy map (%zu entries)",
				 nent + nres + 16);
	err = dsm_policy_foreach_entry(p, fill_one, &f);
	if (err) {
		close(f.fd);
		return log_errno(LOG_ERR, err, "policy: fill policy map");
	}
	*n = f.n;
	return f.fd;
}

/* Where the policy being prepared comes from, for the log. */
static char source[600];

/* Joined: the server's last good bundle, verified again (uplink_state.c);
 * -ENOENT while there is none, and the policy file stands in. */
static int from_bundle(struct dsmd *d, struct dsm_policy **p, char *why, size_t len)
{
	int err;

	if (!d->uplink)
		return -ENOENT;
	err = dsmd_uplink_policy(d, p, why, len);
	if (err != -ENOENT)
		snprintf(source, sizeof(source), "%s/policy.signed", d->o.server_state);
	if (err && err != -ENOENT)
		log_error("policy: %s", why);
	return err;
}

/* Compile the file; its diagnostics go to the log. */
static int compile(struct dsmd *d, struct dsm_policy **p, char *why, size_t len)
{
	struct dsm_diags dg = { 0 };
	size_t srclen = 0;
	char *src = NULL;
	unsigned nerr;
	int err;

	err = from_bundle(d, p, why, len);
	if (err != -ENOENT)
		return err;
	snprintf(source, sizeof(source), "%s", d->o.policy_path);
	/* Read through the directory opened at start (files.c), not by path. */
	err = dsmd_file_read(d, DSMD_FILE_POLICY, &src, &srclen, DSM_POLICY_MAX_SOURCE);
	if (!err)
		err = dsm_policy_compile(d->o.policy_path, src, srclen, p, &dg);
	free(src);
	print_diags(&dg);
	nerr = dg.errors;
	dsm_diags_free(&dg);
	if (err) {
		log_error("policy: %s: not loaded (%u error%s)", d->o.policy_path, nerr,
			  nerr == 1 ? "" : "s");
		snprintf(why, len, "%s does not compile (%u error%s: see dsmd's log)",
			 d->o.policy_path, nerr, nerr == 1 ? "" : "s");
	}
	return err;
}

/* Commit the node prepare chose, which p carries as DSM_CFG_NODE_ID: its
 * name in the policy, else the one given, else the hostname. */
static void take_node(struct dsmd *d, const struct dsm_policy *p)
{
	const char *name;

	d->node_id = dsm_config(p, DSM_CFG_NODE_ID, DSM_NODE_LOCAL);
	name = dsm_policy_node_name(p, d->node_id);
	if (!name)
		name = d->o.node;
	if (name)
		snprintf(d->node_name, sizeof(d->node_name), "%s", name);
	else if (gethostname(d->node_name, sizeof(d->node_name) - 1))
		snprintf(d->node_name, sizeof(d->node_name), "?");
}

int dsmd_policy_prepare(struct dsmd *d, struct dsm_policy **out, char *why, size_t len)
{
	struct dsm_policy *p = NULL;
	struct node_choice node;
	uint32_t self;
	int err;

	*out = NULL;
	err = compile(d, &p, why, len);
	if (err)
		return err;
	err = dsm_policy_resolve(p, warn_resolve, NULL);
	if (err < 0) {
		snprintf(why, len, "its files and interfaces could not be resolved: %s",
			 strerror(-err));
		goto fail;
	}
	err = resolve_node(d, p, &node);
	if (err) {
		snprintf(why, len, "this node is not one of the policy's (--node)");
		goto fail;
	}
	err = add_local_entries(d, p, node.id, &self);
	if (err) {
		snprintf(why, len, "this node's entries could not be added: %s", strerror(-err));
		goto fail;
	}
	err = check_self(p, self);
	if (err) {
		snprintf(why, len, "dsmd's own label would lack one of system bpf, dsm_files, "
			 "dsm_read, mount, net");
		goto fail;
	}
	err = check_uplink(d, p, self);
	if (err) {
		snprintf(why, len, "dsmd's own label could not reach the Security Server over TCP");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	dsm_policy_free(p);
	return err;
}

int dsmd_policy_install(struct dsmd *d, struct dsm_policy *p, char *why, size_t len)
{
	uint32_t zero = 0;
	size_t n = 0;
	int err = 0, fd;

	fd = fill_map(d, p, &n);
	if (fd < 0) {
		snprintf(why, len, "the policy map could not be made: %s", strerror(-fd));
		return fd;
	}
	/* The switch: one update of one slot. */
	if (bpf_map_update_elem(dsmd_map_fd(d, DSMD_MAP_POLICY), &zero, &fd, BPF_ANY)) {
		err = log_errno(LOG_ERR, -errno, "policy: install policy map");
		snprintf(why, len, "the policy map could not be swapped in: %s", strerror(-err));
	}
	close(fd); /* the outer map holds the installed one */
	if (err)
		return err;
	dsm_policy_free(d->policy);
	d->policy = p;
	snprintf(d->policy_source, sizeof(d->policy_source), "%s", source);
	take_node(d, p);
	log_info("policy: %s: policy '%s' version %llu installed: %zu entries, %s, node %s (%u)",
		 source, dsm_policy_name(p), (unsigned long long)dsm_policy_version(p),
		 n, dsm_policy_mode(p) == DSM_MODE_PERMISSIVE ? "permissive" : "enforcing",
		 d->node_name, d->node_id);
	return 0;
}
