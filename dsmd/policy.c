// SPDX-License-Identifier: GPL-2.0
/*
 * Policy installation. Every load, first or reload, compiles the source,
 * resolves node-local objects, fills a brand-new hash map and swaps it into
 * slot 0 of dsm_policy with one update: a hook sees the old policy or the
 * new one, never a mix, never an empty map. A policy that fails to compile
 * or to install changes nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dsmd.h"

struct fill_ctx {
	int fd;
	size_t n;
	struct dsm_pval plens[2]; /* DSM_CFG_NET_PLENS: any interface, one interface */
};

static int fill_one(const struct dsm_pkey *key, const struct dsm_pval *val, void *ctx)
{
	struct fill_ctx *f = ctx;

	if (bpf_map_update_elem(f->fd, key, val, BPF_NOEXIST))
		return -errno;
	f->n++;
	if (key->kind == DSM_KEY_NET && key->class <= 32) {
		struct dsm_pval *m = &f->plens[key->node ? 1 : 0];

		if (key->class == 32)
			m->aux |= 1;
		else
			m->perms |= 1u << key->class;
	}
	return 0;
}

/* The prefix lengths in use, so that a packet without a label costs one
 * lookup per length some rule uses rather than one per possible length. */
static int fill_plens(struct fill_ctx *f)
{
	for (uint16_t q = 0; q < 2; q++) {
		struct dsm_pkey k = dsm_key_config(DSM_CFG_NET_PLENS);
		struct dsm_pval v = f->plens[q];
		int err;

		if (!v.perms && !v.aux)
			continue;
		k.qual = q;
		err = fill_one(&k, &v, f);
		if (err)
			return err;
	}
	return 0;
}

static void warn_resolve(void *ctx, const char *msg)
{
	(void)ctx;
	log_warn("policy", "%s", msg);
}

static void print_diags(const struct dsm_diags *dg)
{
	char line[1024];

	for (size_t i = 0; i < dg->n; i++) {
		dsm_diag_format(&dg->v[i], line, sizeof(line));
		dsmd_log(dg->v[i].severity == DSM_SEV_ERROR ? LOG_ERR : LOG_WARNING, "policy", "%s",
			 line);
	}
}

static int resolve_node(struct dsmd *d, const struct dsm_policy *p)
{
	char host[64] = "";
	const char *want = d->o.node;
	char *end;

	if (!want) {
		if (gethostname(host, sizeof(host) - 1))
			return -errno;
		want = host;
	}
	if (dsm_policy_node_id(p, want, &d->node_id) == 0) {
		snprintf(d->node_name, sizeof(d->node_name), "%s", want);
		return 0;
	}
	errno = 0;
	unsigned long v = strtoul(want, &end, 0);
	if (d->o.node && !errno && *want && !*end && v && v < DSM_NODE_ANY) {
		const char *name = dsm_policy_node_name(p, (uint32_t)v);

		d->node_id = (uint32_t)v;
		snprintf(d->node_name, sizeof(d->node_name), "%s", name ? name : want);
		return 0;
	}
	if (d->o.node) {
		log_err("policy", "node '%s' is not defined in the policy", want);
		return -ENOENT;
	}
	/* A single node policy need not name its nodes. */
	log_warn("policy", "hostname '%s' is not a node of the policy; node ID 0", want);
	d->node_id = DSM_NODE_LOCAL;
	snprintf(d->node_name, sizeof(d->node_name), "%s", want);
	return 0;
}

/*
 * The label dsmd itself ends up with must be able to manage dsm: without
 * bpf() it could not finish attaching, reload or take over. Refuse such a
 * policy in enforcing mode rather than lock dsm out of its own objects.
 */
static int check_self(const struct dsm_policy *p, uint32_t self)
{
	const uint32_t need = DSM_PERM_BPF | DSM_PERM_DSM_FILES;
	struct dsm_pkey k = dsm_key_rule(DSM_CLASS_SYSTEM, DSM_QUAL_ANY, self, DSM_NODE_ANY, self);
	const struct dsm_pval *v = dsm_policy_lookup(p, &k);
	const char *name = dsm_policy_label_name(p, self);

	if (dsm_policy_mode(p) == DSM_MODE_PERMISSIVE)
		return 0;
	if (!v || (v->perms & need) != need) {
		log_err("policy", "dsmd would run as '%s', which lacks system { bpf dsm_files }: "
			"label dsmd's binary with a transition to a label that has them",
			name ? name : "?");
		return -EPERM;
	}
	return 0;
}

/*
 * Start a new decision generation: what sockets cached under the old one
 * stops counting (dsm_policy_gen). After a policy swap, and after labeling
 * running processes. Never 0 (0 validates nothing). An array update of our
 * own map does not fail in practice; if it did, the change is in force all
 * the same, so say what it means.
 */
void dsmd_new_generation(const struct dsmd *d, const char *why)
{
	uint32_t zero = 0, gen = 0;

	if (bpf_map_lookup_elem(d->gen_fd, &zero, &gen) == 0) {
		gen = gen + 1 ? gen + 1 : 1;
		if (bpf_map_update_elem(d->gen_fd, &zero, &gen, BPF_ANY))
			gen = 0;
	}
	if (!gen)
		log_err("policy", "generation not advanced after the %s change (%s): sockets may "
			"keep earlier decisions", why, strerror(errno));
}

int dsmd_policy_load(struct dsmd *d)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct dsm_diags dg = { 0 };
	struct dsm_policy *p = NULL;
	struct fill_ctx f = { .fd = -1 };
	size_t nent = 0, nres = 0;
	uint32_t zero = 0, self;
	unsigned nerr;
	int err;

	err = dsm_policy_compile_file(d->o.policy_path, &p, &dg);
	print_diags(&dg);
	nerr = dg.errors;
	dsm_diags_free(&dg);
	if (err) {
		log_err("policy", "%s: not loaded (%u error%s)", d->o.policy_path, nerr,
			nerr == 1 ? "" : "s");
		return err;
	}
	err = dsm_policy_resolve(p, warn_resolve, NULL);
	if (err < 0)
		goto out;
	err = resolve_node(d, p);
	if (err)
		goto out;
	self = dsmd_label_for_exe(p, "/proc/self/exe");
	err = check_self(p, self);
	if (err)
		goto out;

	err = dsmd_bpf_policy_btf(d);
	if (err) {
		log_err("policy", "BTF for the policy map: %s", strerror(-err));
		goto out;
	}
	opts.btf_fd = (uint32_t)d->btf_fd;
	opts.btf_key_type_id = d->btf_key_id;
	opts.btf_value_type_id = d->btf_val_id;
	dsm_policy_entries(p, &nent);
	dsm_policy_resolved_entries(p, &nres);
	f.fd = bpf_map_create(BPF_MAP_TYPE_HASH, "dsm_policy_v", sizeof(struct dsm_pkey),
			      sizeof(struct dsm_pval), (uint32_t)(nent + nres + 3), &opts);
	if (f.fd < 0) {
		err = -errno;
		log_err("policy", "create policy map (%zu entries): %s", nent + nres + 3,
			strerror(-err));
		goto out;
	}
	err = dsm_policy_foreach_entry(p, fill_one, &f);
	if (!err) {
		struct dsm_pkey k = dsm_key_config(DSM_CFG_NODE_ID);
		struct dsm_pval v = { .aux = d->node_id };

		err = fill_one(&k, &v, &f);
	}
	if (!err)
		err = fill_plens(&f);
	if (err) {
		log_err("policy", "fill policy map: %s", strerror(-err));
		goto out;
	}
	/* The switch: one update of one slot. */
	if (bpf_map_update_elem(d->policy_fd, &zero, &f.fd, BPF_ANY)) {
		err = -errno;
		log_err("policy", "install policy map: %s", strerror(-err));
		goto out;
	}
	/* Then a new generation: the decisions sockets cached under the old
	 * policy stop counting. */
	dsmd_new_generation(d, "policy");
	log_info("policy", "%s: policy '%s' version %llu installed: %zu entries, %s, node %s (%u)",
		 d->o.policy_path, dsm_policy_name(p), (unsigned long long)dsm_policy_version(p),
		 f.n, dsm_policy_mode(p) == DSM_MODE_PERMISSIVE ? "permissive" : "enforcing",
		 d->node_name, d->node_id);
	dsm_policy_free(d->policy);
	d->policy = p;
	p = NULL;
	err = dsmd_protect_path(d, d->o.policy_path, false);
out:
	if (f.fd >= 0)
		close(f.fd); /* the outer map holds the installed one */
	dsm_policy_free(p);
	return err;
}

int dsmd_protect_path(struct dsmd *d, const char *path, bool whole_fs)
{
	struct dsm_inode_key k = { 0 };
	struct dsm_pkey fk;
	uint32_t one = 1;
	struct stat st;
	int err;

	if (stat(path, &st))
		return -errno;
	err = dsm_file_key(st.st_dev, st.st_ino, &fk);
	if (err)
		return err;
	k.dev = fk.subject;
	k.ino = whole_fs ? 0 : fk.object;
	if (bpf_map_update_elem(d->protected_fd, &k, &one, BPF_ANY)) {
		err = -errno;
		log_err("policy", "protect %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}
