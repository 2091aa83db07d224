// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The compiled policy object: accessors, lookups, lifetime, helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_int.h"

void dsm_policy_free(struct dsm_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nlabels; i++)
		free((char *)p->labels[i].name);
	for (size_t i = 0; i < p->nnodes; i++)
		free((char *)p->nodes[i].name);
	for (size_t i = 0; i < p->nfiles; i++)
		free((char *)p->files[i].path);
	free(p->labels);
	free(p->label_by_name);
	free(p->nodes);
	free(p->node_by_name);
	free(p->files);
	free(p->nets);
	free(p->entries);
	free(p->resolved);
	free(p->local);
	free(p->name);
	policy_sources_free(p);
	free(p);
}

const char *dsm_policy_name(const struct dsm_policy *p)
{
	return p->name;
}

uint64_t dsm_policy_version(const struct dsm_policy *p)
{
	return p->version;
}

enum dsm_mode dsm_policy_mode(const struct dsm_policy *p)
{
	return p->mode;
}

uint32_t dsm_policy_initial_label(const struct dsm_policy *p)
{
	return p->initial;
}

uint32_t dsm_policy_file_label(const struct dsm_policy *p)
{
	return p->file_label;
}

uint32_t dsm_policy_service_manager(const struct dsm_policy *p)
{
	return p->service_manager;
}

size_t dsm_policy_nrules(const struct dsm_policy *p)
{
	return p->nrules;
}

const struct dsm_label *dsm_policy_labels(const struct dsm_policy *p, size_t *n)
{
	*n = p->nlabels;
	return p->labels;
}

const struct dsm_node *dsm_policy_nodes(const struct dsm_policy *p, size_t *n)
{
	*n = p->nnodes;
	return p->nodes;
}

const struct dsm_file_rule *dsm_policy_files(const struct dsm_policy *p, size_t *n)
{
	*n = p->nfiles;
	return p->files;
}

const struct dsm_net_rule *dsm_policy_nets(const struct dsm_policy *p, size_t *n)
{
	*n = p->nnets;
	return p->nets;
}

const struct dsm_entry *dsm_policy_entries(const struct dsm_policy *p, size_t *n)
{
	*n = p->nentries;
	return p->entries;
}

const struct dsm_entry *dsm_policy_resolved_entries(const struct dsm_policy *p,
						    size_t *n)
{
	*n = p->nresolved;
	return p->resolved;
}

int dsm_policy_foreach_entry(const struct dsm_policy *p, dsm_entry_fn fn, void *ctx)
{
	for (size_t i = 0; i < p->nentries; i++) {
		int r = fn(&p->entries[i].key, &p->entries[i].val, ctx);

		if (r)
			return r;
	}
	for (size_t i = 0; i < p->nresolved; i++) {
		int r = fn(&p->resolved[i].key, &p->resolved[i].val, ctx);

		if (r)
			return r;
	}
	for (size_t i = 0; i < p->nlocal; i++) {
		int r = fn(&p->local[i].key, &p->local[i].val, ctx);

		if (r)
			return r;
	}
	return 0;
}

static const struct dsm_entry *find_entry(const struct dsm_entry *v, size_t n,
					  const struct dsm_pkey *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = policy_key_cmp(&v[mid].key, key);

		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct dsm_pval *dsm_policy_lookup(const struct dsm_policy *p,
					 const struct dsm_pkey *key)
{
	const struct dsm_entry *e = find_entry(p->entries, p->nentries, key);

	if (!e)
		e = find_entry(p->resolved, p->nresolved, key);
	if (!e)
		e = find_entry(p->local, p->nlocal, key);
	return e ? &e->val : NULL;
}

int dsm_policy_set_local(struct dsm_policy *p, const struct dsm_entry *v, size_t n)
{
	struct dsm_entry *local = calloc(n ? n : 1, sizeof(*local));

	if (!local)
		return -ENOMEM;
	memcpy(local, v, n * sizeof(*v));
	qsort(local, n, sizeof(*local), policy_entry_cmp);
	for (size_t i = 0; i < n; i++) {
		if ((i && policy_key_cmp(&local[i - 1].key, &local[i].key) == 0) ||
		    find_entry(p->entries, p->nentries, &local[i].key) ||
		    find_entry(p->resolved, p->nresolved, &local[i].key)) {
			free(local);
			return -EEXIST;
		}
	}
	free(p->local);
	p->local = local;
	p->nlocal = n;
	return 0;
}

/* Add the prefix length of every NET/NET6 entry of v to the masks. */
static void add_plens(const struct dsm_entry *v, size_t n, uint64_t m[8])
{
	for (size_t i = 0; i < n; i++) {
		const struct dsm_pkey *k = &v[i].key;

		if (k->kind == DSM_KEY_NET && k->net.plen <= 32)
			m[k->net.ifindex ? DSM_PLENS_V4_DEV : DSM_PLENS_V4_ANY] |= 1ull << k->net.plen;
		else if (k->kind == DSM_KEY_NET6 && k->net6.plen <= 128)
			m[(k->net6.ifindex ? DSM_PLENS_V6_DEV : DSM_PLENS_V6_ANY) + k->net6.plen / 64] |=
				1ull << (k->net6.plen % 64);
	}
}

size_t dsm_policy_plens_entries(const struct dsm_policy *p, struct dsm_entry out[8])
{
	uint64_t m[8] = { 0 };
	size_t n = 0;

	add_plens(p->entries, p->nentries, m);
	add_plens(p->resolved, p->nresolved, m);
	for (uint16_t i = 0; i < 8; i++) {
		if (!m[i])
			continue;
		out[n].key = dsm_key_config_at(DSM_CFG_NET_PLENS, i);
		out[n].val.perms = (uint32_t)m[i];
		out[n].val.aux = (uint32_t)(m[i] >> 32);
		n++;
	}
	return n;
}

/* ---- names -------------------------------------------------------------- */

const char *dsm_policy_label_name(const struct dsm_policy *p, uint32_t id)
{
	size_t lo = 0, hi = p->nlabels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->labels[mid].id == id)
			return p->labels[mid].name;
		if (p->labels[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *dsm_policy_node_name(const struct dsm_policy *p, uint32_t id)
{
	size_t lo = 0, hi = p->nnodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->nodes[mid].id == id)
			return p->nodes[mid].name;
		if (p->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Binary search of name among idx (indices of objects sorted by name);
 * name_at returns the name of object i. */
static int find_by_name(const uint32_t *idx, size_t n, const char *name,
			const char *(*name_at)(const struct dsm_policy *, uint32_t),
			const struct dsm_policy *p, uint32_t *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name_at(p, idx[mid]), name);

		if (c == 0) {
			*found = idx[mid];
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

static const char *label_at(const struct dsm_policy *p, uint32_t i)
{
	return p->labels[i].name;
}

static const char *node_at(const struct dsm_policy *p, uint32_t i)
{
	return p->nodes[i].name;
}

int dsm_policy_label_id(const struct dsm_policy *p, const char *name, uint32_t *id)
{
	uint32_t i;
	int r = find_by_name(p->label_by_name, p->nlabels, name, label_at, p, &i);

	if (!r)
		*id = p->labels[i].id;
	return r;
}

int dsm_policy_node_id(const struct dsm_policy *p, const char *name, uint32_t *id)
{
	uint32_t i;
	int r = find_by_name(p->node_by_name, p->nnodes, name, node_at, p, &i);

	if (!r)
		*id = p->nodes[i].id;
	return r;
}

/* Merge sort of indices by name: qsort() has no context argument and a
 * global one would not be thread-safe. */
static void sort_by_name(uint32_t *idx, uint32_t *tmp, size_t n,
			 const char *(*name_at)(const struct dsm_policy *, uint32_t),
			 const struct dsm_policy *p)
{
	size_t mid, i, j, k;

	if (n < 2)
		return;
	mid = n / 2;
	sort_by_name(idx, tmp, mid, name_at, p);
	sort_by_name(idx + mid, tmp, n - mid, name_at, p);
	for (i = 0, j = mid, k = 0; i < mid || j < n;) {
		if (j >= n || (i < mid && strcmp(name_at(p, idx[i]), name_at(p, idx[j])) <= 0))
			tmp[k++] = idx[i++];
		else
			tmp[k++] = idx[j++];
	}
	memcpy(idx, tmp, n * sizeof(*idx));
}

static int build_index(uint32_t **out, size_t n,
		       const char *(*name_at)(const struct dsm_policy *, uint32_t),
		       const struct dsm_policy *p)
{
	uint32_t *idx = calloc(n ? n : 1, sizeof(*idx));
	uint32_t *tmp = calloc(n ? n : 1, sizeof(*tmp));

	if (!idx || !tmp) {
		free(idx);
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	sort_by_name(idx, tmp, n, name_at, p);
	free(tmp);
	free(*out);
	*out = idx;
	return 0;
}

int policy_object_index(struct dsm_policy *p)
{
	int r = build_index(&p->label_by_name, p->nlabels, label_at, p);

	return r ? r : build_index(&p->node_by_name, p->nnodes, node_at, p);
}

/* ---- helpers ------------------------------------------------------------ */

void *policy_vec_push(void **v, size_t *n, size_t *cap, size_t sz, size_t max)
{
	char *slot;

	if (*n >= max) {
		errno = E2BIG;
		return NULL;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *nv;

		if (ncap > max)
			ncap = max;
		if (ncap > SIZE_MAX / sz) {
			errno = ENOMEM;
			return NULL;
		}
		nv = realloc(*v, ncap * sz);
		if (!nv) {
			errno = ENOMEM;
			return NULL;
		}
		*v = nv;
		*cap = ncap;
	}
	slot = (char *)*v + (*n)++ * sz;
	memset(slot, 0, sz);
	return slot;
}

static int cmp_u(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_be(__be32 a, __be32 b)
{
	return cmp_u(ntohl(a), ntohl(b));
}

/* Keys in a fixed order on every host: by kind, then the kind's fields as
 * numbers (prefixes as the numbers they are in network order). */
int policy_key_cmp(const struct dsm_pkey *a, const struct dsm_pkey *b)
{
	int c;

	if ((c = cmp_u(a->kind, b->kind)))
		return c;
	switch (a->kind) {
	case DSM_KEY_RULE:
		if ((c = cmp_u(a->rule.class, b->rule.class)) ||
		    (c = cmp_u(a->rule.subject, b->rule.subject)) ||
		    (c = cmp_u(a->rule.target, b->rule.target)) ||
		    (c = cmp_u(a->rule.node, b->rule.node)))
			return c;
		return cmp_u(a->rule.qual, b->rule.qual);
	case DSM_KEY_FILE:
		if ((c = cmp_u(a->file.dev, b->file.dev)))
			return c;
		return cmp_u(dsm_key_file_ino(a), dsm_key_file_ino(b));
	case DSM_KEY_TRANS:
		if ((c = cmp_u(a->trans.subject, b->trans.subject)))
			return c;
		return cmp_u(a->trans.file_label, b->trans.file_label);
	case DSM_KEY_LABEL:
		return cmp_u(a->label.label, b->label.label);
	case DSM_KEY_CONFIG:
		if ((c = cmp_u(a->config.item, b->config.item)))
			return c;
		return cmp_u(a->config.index, b->config.index);
	case DSM_KEY_NET:
		if ((c = cmp_be(a->net.prefix, b->net.prefix)) ||
		    (c = cmp_u(a->net.plen, b->net.plen)) ||
		    (c = cmp_u(a->net.ifindex, b->net.ifindex)))
			return c;
		return cmp_u(a->net.netns, b->net.netns);
	case DSM_KEY_NET6:
		for (int w = 0; w < 4; w++)
			if ((c = cmp_be(a->net6.prefix[w], b->net6.prefix[w])))
				return c;
		if ((c = cmp_u(a->net6.plen, b->net6.plen)) ||
		    (c = cmp_u(a->net6.ifindex, b->net6.ifindex)))
			return c;
		return cmp_u(a->net6.netns, b->net6.netns);
	default:
		return memcmp(a, b, sizeof(*a));
	}
}

int policy_entry_cmp(const void *a, const void *b)
{
	return policy_key_cmp(&((const struct dsm_entry *)a)->key,
			      &((const struct dsm_entry *)b)->key);
}

int policy_net_cmp(const void *pa, const void *pb)
{
	const struct dsm_net_rule *a = pa, *b = pb;
	int c;

	/* Network byte order: bytewise is numeric. */
	if ((c = cmp_u(a->family, b->family)) ||
	    (c = memcmp(a->prefix, b->prefix, sizeof(a->prefix))) ||
	    (c = cmp_u(a->plen, b->plen)))
		return c;
	return strcmp(a->ifname, b->ifname);
}

/* The map key of an unlabeled rule; ifindex and netns 0 for one that
 * names no interface. */
struct dsm_pkey policy_net_key(const struct dsm_net_rule *r, uint32_t ifindex, uint32_t netns)
{
	__be32 p6[4];

	if (r->family == AF_INET)
		return dsm_key_net(r->prefix_be, r->plen, ifindex, netns);
	memcpy(p6, r->prefix, sizeof(p6));
	return dsm_key_net6(p6, r->plen, ifindex, netns);
}

bool policy_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > POLICY_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Linux's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or
 * blanks. Printable ASCII only here, so names stay printable in messages. */
bool policy_ifname_valid(const char *s, size_t len)
{
	if (len == 0 || len >= DSM_IFNAME_MAX)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

/* FNV-1a, then a final mix so low bits are usable as a table index. */
uint64_t policy_hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}
