// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy bundles: the compiled policy as bytes, to be stored, signed and
 * pushed to nodes. Layout in docs/policy.md ("Bundle format"). Everything
 * little-endian except IPv4 prefixes (network order, as on the wire); the
 * reader trusts nothing: every length is checked against what is left,
 * every table is re-validated as the compiler would have produced it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "le.h"
#include "file.h"
#include "policy_int.h"

static const uint8_t magic[8] = { 'D', 'S', 'M', 'B', 'N', 'D', 'L', '\n' };

#define HDR_LEN     40
#define SEC_HDR_LEN 16
#define ENTRY_LEN   40 /* kind, 3 zero bytes, 28 bytes of variant, perms, aux */

enum section {
	SEC_META = 1,
	SEC_LABELS,
	SEC_NODES,
	SEC_FILES,
	SEC_NETS,
	SEC_ENTRIES,
	SEC_COUNT = SEC_ENTRIES,
};

/* ---- writing ------------------------------------------------------------ */

struct wbuf {
	uint8_t *b;
	size_t n, cap;
	int err;
};

static uint8_t *wb_room(struct wbuf *w, size_t len)
{
	if (w->err)
		return NULL;
	if (len > DSM_BUNDLE_MAX_SIZE - w->n) {
		w->err = -EFBIG;
		return NULL;
	}
	if (w->n + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *nb;

		while (cap < w->n + len)
			cap *= 2;
		nb = realloc(w->b, cap);
		if (!nb) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->b = nb;
		w->cap = cap;
	}
	w->n += len;
	return w->b + w->n - len;
}

static void w_le(struct wbuf *w, uint64_t v, unsigned int bytes)
{
	uint8_t *p = wb_room(w, bytes);

	if (p)
		dsm_put_le(p, v, bytes);
}

static void w_bytes(struct wbuf *w, const void *s, size_t len)
{
	uint8_t *p = wb_room(w, len);

	if (p && len)
		memcpy(p, s, len);
}

/* A string with a 1- or 2-byte length prefix. */
static void w_str(struct wbuf *w, const char *s, unsigned int lenbytes)
{
	size_t len = strlen(s);

	w_le(w, len, lenbytes);
	w_bytes(w, s, len);
}

static size_t sec_begin(struct wbuf *w, enum section tag, size_t count)
{
	size_t at = w->n;

	w_le(w, tag, 4);
	w_le(w, count, 4);
	w_le(w, 0, 8); /* payload length, patched by sec_end */
	return at;
}

static void sec_end(struct wbuf *w, size_t at)
{
	if (!w->err)
		dsm_put_le(w->b + at + 8, w->n - at - SEC_HDR_LEN, 8);
}

/*
 * A key's variant as bytes: every field little-endian at its offset in the
 * variant, prefixes as the network-order bytes they are, every other byte
 * zero. One function for both directions keeps them in step: a read key is
 * valid only if writing it back gives the bytes read.
 */
static void put_variant(uint8_t v[28], const struct dsm_pkey *k)
{
	memset(v, 0, 28);
	switch (k->kind) {
	case DSM_KEY_RULE:
		v[0] = k->rule.class;
		dsm_put_le(v + 2, k->rule.qual, 2);
		dsm_put_le(v + 4, k->rule.subject, 4);
		dsm_put_le(v + 8, k->rule.node, 4);
		dsm_put_le(v + 12, k->rule.target, 4);
		break;
	case DSM_KEY_FILE:
		dsm_put_le(v, k->file.dev, 4);
		dsm_put_le(v + 4, k->file.ino_lo, 4);
		dsm_put_le(v + 8, k->file.ino_hi, 4);
		break;
	case DSM_KEY_TRANS:
		dsm_put_le(v, k->trans.subject, 4);
		dsm_put_le(v + 4, k->trans.file_label, 4);
		break;
	case DSM_KEY_LABEL:
		dsm_put_le(v, k->label.label, 4);
		break;
	case DSM_KEY_CONFIG:
		v[0] = k->config.item;
		dsm_put_le(v + 2, k->config.index, 2);
		break;
	case DSM_KEY_NET:
		v[0] = k->net.plen;
		memcpy(v + 4, &k->net.prefix, 4);
		dsm_put_le(v + 8, k->net.ifindex, 4);
		dsm_put_le(v + 12, k->net.netns, 4);
		break;
	case DSM_KEY_NET6:
		v[0] = k->net6.plen;
		memcpy(v + 4, k->net6.prefix, 16);
		dsm_put_le(v + 20, k->net6.ifindex, 4);
		dsm_put_le(v + 24, k->net6.netns, 4);
		break;
	default:
		break;
	}
}

/* The inverse of put_variant() for a known kind; false when the bytes are
 * not what put_variant() would have written. */
static bool get_variant(const uint8_t v[28], uint8_t kind, struct dsm_pkey *k)
{
	uint8_t again[28];

	memset(k, 0, sizeof(*k));
	k->kind = kind;
	switch (kind) {
	case DSM_KEY_RULE:
		k->rule.class = v[0];
		k->rule.qual = (uint16_t)dsm_get_le(v + 2, 2);
		k->rule.subject = (uint32_t)dsm_get_le(v + 4, 4);
		k->rule.node = (uint32_t)dsm_get_le(v + 8, 4);
		k->rule.target = (uint32_t)dsm_get_le(v + 12, 4);
		break;
	case DSM_KEY_FILE:
		k->file.dev = (uint32_t)dsm_get_le(v, 4);
		k->file.ino_lo = (uint32_t)dsm_get_le(v + 4, 4);
		k->file.ino_hi = (uint32_t)dsm_get_le(v + 8, 4);
		break;
	case DSM_KEY_TRANS:
		k->trans.subject = (uint32_t)dsm_get_le(v, 4);
		k->trans.file_label = (uint32_t)dsm_get_le(v + 4, 4);
		break;
	case DSM_KEY_LABEL:
		k->label.label = (uint32_t)dsm_get_le(v, 4);
		break;
	case DSM_KEY_CONFIG:
		k->config.item = v[0];
		k->config.index = (uint16_t)dsm_get_le(v + 2, 2);
		break;
	case DSM_KEY_NET:
		k->net.plen = v[0];
		memcpy(&k->net.prefix, v + 4, 4);
		k->net.ifindex = (uint32_t)dsm_get_le(v + 8, 4);
		k->net.netns = (uint32_t)dsm_get_le(v + 12, 4);
		break;
	case DSM_KEY_NET6:
		k->net6.plen = v[0];
		memcpy(k->net6.prefix, v + 4, 16);
		k->net6.ifindex = (uint32_t)dsm_get_le(v + 20, 4);
		k->net6.netns = (uint32_t)dsm_get_le(v + 24, 4);
		break;
	default:
		return false;
	}
	put_variant(again, k);
	return memcmp(again, v, sizeof(again)) == 0;
}

static void w_entry(struct wbuf *w, const struct dsm_entry *e)
{
	uint8_t *p = wb_room(w, ENTRY_LEN);

	if (!p)
		return;
	memset(p, 0, 4);
	p[0] = e->key.kind;
	put_variant(p + 4, &e->key);
	dsm_put_le(p + 32, e->val.perms, 4);
	dsm_put_le(p + 36, e->val.aux, 4);
}

static int sha256(const uint8_t *buf, size_t len, uint8_t out[DSM_BUNDLE_DIGEST_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) ||
	    n != DSM_BUNDLE_DIGEST_LEN)
		return -EIO;
	return 0;
}

int dsm_bundle_write(const struct dsm_policy *p, uint8_t **buf, size_t *len)
{
	struct wbuf w = { 0 };
	uint8_t *digest;
	size_t at;
	int r;

	*buf = NULL;
	*len = 0;
	w_bytes(&w, magic, sizeof(magic));
	w_le(&w, DSM_BUNDLE_FORMAT, 2);
	w_le(&w, DSM_ABI_VERSION, 2);
	w_le(&w, 0, 4); /* flags */
	w_le(&w, 0, 8); /* total length, patched below */
	w_le(&w, p->version, 8);
	w_le(&w, SEC_COUNT, 4);
	w_le(&w, 0, 4); /* reserved */

	at = sec_begin(&w, SEC_META, 1);
	w_le(&w, p->mode, 4);
	w_le(&w, p->initial, 4);
	w_le(&w, p->nrules, 8);
	w_str(&w, p->name, 2);
	sec_end(&w, at);

	at = sec_begin(&w, SEC_LABELS, p->nlabels);
	for (size_t i = 0; i < p->nlabels; i++) {
		w_le(&w, p->labels[i].id, 4);
		w_le(&w, p->labels[i].flags, 4);
		w_str(&w, p->labels[i].name, 1);
	}
	sec_end(&w, at);

	at = sec_begin(&w, SEC_NODES, p->nnodes);
	for (size_t i = 0; i < p->nnodes; i++) {
		w_le(&w, p->nodes[i].id, 4);
		w_str(&w, p->nodes[i].name, 1);
	}
	sec_end(&w, at);

	at = sec_begin(&w, SEC_FILES, p->nfiles);
	for (size_t i = 0; i < p->nfiles; i++) {
		w_le(&w, p->files[i].label, 4);
		w_str(&w, p->files[i].path, 2);
	}
	sec_end(&w, at);

	at = sec_begin(&w, SEC_NETS, p->nnets);
	for (size_t i = 0; i < p->nnets; i++) {
		w_le(&w, p->nets[i].family, 1);
		w_le(&w, p->nets[i].plen, 1);
		w_bytes(&w, p->nets[i].prefix, 16);
		w_str(&w, p->nets[i].ifname, 1);
		w_le(&w, p->nets[i].label, 4);
	}
	sec_end(&w, at);

	at = sec_begin(&w, SEC_ENTRIES, p->nentries);
	for (size_t i = 0; i < p->nentries; i++)
		w_entry(&w, &p->entries[i]);
	sec_end(&w, at);

	digest = wb_room(&w, DSM_BUNDLE_DIGEST_LEN);
	if (w.err) {
		free(w.b);
		return w.err;
	}
	dsm_put_le(w.b + 16, w.n, 8);
	r = sha256(w.b, w.n - DSM_BUNDLE_DIGEST_LEN, digest);
	if (r) {
		free(w.b);
		return r;
	}
	*buf = w.b;
	*len = w.n;
	return 0;
}

int dsm_bundle_digest(const uint8_t *buf, size_t len, uint8_t digest[DSM_BUNDLE_DIGEST_LEN])
{
	if (len < HDR_LEN + DSM_BUNDLE_DIGEST_LEN)
		return -EBADMSG;
	memcpy(digest, buf + len - DSM_BUNDLE_DIGEST_LEN, DSM_BUNDLE_DIGEST_LEN);
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

struct rbuf {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *r_bytes(struct rbuf *r, size_t len)
{
	const uint8_t *p = r->p;

	if (r->bad || len > r->left) {
		r->bad = true;
		return NULL;
	}
	r->p += len;
	r->left -= len;
	return p;
}

static uint64_t r_le(struct rbuf *r, unsigned int bytes)
{
	const uint8_t *p = r_bytes(r, bytes);

	return p ? dsm_get_le(p, bytes) : 0;
}

/* A length-prefixed string, copied and NUL-terminated; NUL bytes inside
 * are corrupt. Returns NULL and sets r->bad (or *oom). */
static char *r_str(struct rbuf *r, unsigned int lenbytes, bool *oom)
{
	size_t len = (size_t)r_le(r, lenbytes);
	const uint8_t *s = r_bytes(r, len);
	char *out;

	if (!s)
		return NULL;
	if (memchr(s, '\0', len)) {
		r->bad = true;
		return NULL;
	}
	out = strndup((const char *)s, len);
	if (!out)
		*oom = true;
	return out;
}

/* Enter a section: check tag and bounds; *sub covers its payload. */
static bool r_section(struct rbuf *r, enum section tag, size_t min_record,
		      size_t *count, struct rbuf *sub)
{
	uint64_t t = r_le(r, 4), n = r_le(r, 4), len = r_le(r, 8);
	const uint8_t *p;

	if (r->bad || t != tag || len > r->left || (min_record && n > len / min_record)) {
		r->bad = true;
		return false;
	}
	p = r_bytes(r, (size_t)len);
	*sub = (struct rbuf){ .p = p, .left = (size_t)len };
	*count = (size_t)n;
	return true;
}

static bool id_ok(uint64_t id)
{
	return id != 0 && id < 0xffffffffu;
}

static const struct dsm_label *find_label(const struct dsm_policy *p, uint32_t id)
{
	size_t lo = 0, hi = p->nlabels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->labels[mid].id == id)
			return &p->labels[mid];
		if (p->labels[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool label_defined(const struct dsm_policy *p, uint32_t id)
{
	return find_label(p, id) != NULL;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool files_unique(const struct dsm_policy *p, bool *oom)
{
	const char **v = calloc(p->nfiles ? p->nfiles : 1, sizeof(*v));
	bool ok = true;

	if (!v) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < p->nfiles; i++)
		v[i] = p->files[i].path;
	qsort(v, p->nfiles, sizeof(*v), cmp_str_ptr);
	for (size_t i = 1; i < p->nfiles && ok; i++)
		ok = strcmp(v[i - 1], v[i]) != 0;
	free(v);
	return ok;
}

static bool names_unique(const uint32_t *idx, size_t n,
			 const char *(*name_at)(const struct dsm_policy *, uint32_t),
			 const struct dsm_policy *p)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(name_at(p, idx[i - 1]), name_at(p, idx[i])) == 0)
			return false;
	return true;
}

static const char *label_at(const struct dsm_policy *p, uint32_t i)
{
	return p->labels[i].name;
}

static const char *node_at(const struct dsm_policy *p, uint32_t i)
{
	return p->nodes[i].name;
}

#define NET_MIN_LEN 23 /* family, length, 16 prefix bytes, "", label */

/* A known family, a length it allows, no bit set beyond the length (an
 * IPv4 prefix uses the first 4 of the 16 bytes). */
static bool net_prefix_ok(const struct dsm_net_rule *nr)
{
	unsigned int max = nr->family == AF_INET ? 32 : nr->family == AF_INET6 ? 128 : 0;

	if (!max || nr->plen > max)
		return false;
	for (unsigned int bit = nr->plen; bit < 128; bit++)
		if (nr->prefix[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* META: one record, a known mode, a valid name. */
static bool r_meta(struct rbuf *r, struct dsm_policy *p, bool *oom)
{
	struct rbuf s;
	size_t n;

	if (!r_section(r, SEC_META, 0, &n, &s) || n != 1)
		return false;
	p->mode = (enum dsm_mode)r_le(&s, 4);
	p->initial = (uint32_t)r_le(&s, 4);
	p->nrules = (size_t)r_le(&s, 8);
	p->name = r_str(&s, 2, oom);
	return p->name && !s.left && !s.bad &&
	       (p->mode == DSM_MODE_ENFORCING || p->mode == DSM_MODE_PERMISSIVE) &&
	       policy_name_valid(p->name, strlen(p->name));
}

/* LABELS: sorted by id, unique ids, known flags, valid names. */
static bool r_labels(struct rbuf *r, struct dsm_policy *p, bool *oom)
{
	struct rbuf s;
	size_t n;

	if (!r_section(r, SEC_LABELS, 9, &n, &s) || n > POLICY_MAX_LABELS)
		return false;
	p->labels = calloc(n ? n : 1, sizeof(*p->labels));
	if (!p->labels) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct dsm_label *l = &p->labels[i];
		uint64_t id = r_le(&s, 4);

		l->flags = (uint32_t)r_le(&s, 4);
		l->name = r_str(&s, 1, oom);
		if (!l->name)
			return false;
		p->nlabels++;
		l->id = (uint32_t)id;
		if (!id_ok(id) || (i && p->labels[i - 1].id >= l->id) ||
		    !(l->flags & DSM_LABEL_F_DEFINED) ||
		    (l->flags & ~(DSM_LABEL_F_DEFINED | DSM_LABEL_F_PERMISSIVE |
				  DSM_LABEL_F_SYSTEM)) ||
		    !policy_name_valid(l->name, strlen(l->name)))
			return false;
	}
	return !s.left;
}

/* NODES: sorted by id, unique ids, valid names. */
static bool r_nodes(struct rbuf *r, struct dsm_policy *p, bool *oom)
{
	struct rbuf s;
	size_t n;

	if (!r_section(r, SEC_NODES, 6, &n, &s) || n > POLICY_MAX_NODES)
		return false;
	p->nodes = calloc(n ? n : 1, sizeof(*p->nodes));
	if (!p->nodes) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct dsm_node *d = &p->nodes[i];
		uint64_t id = r_le(&s, 4);

		d->name = r_str(&s, 1, oom);
		if (!d->name)
			return false;
		p->nnodes++;
		d->id = (uint32_t)id;
		if (!id_ok(id) || (i && p->nodes[i - 1].id >= d->id) ||
		    !policy_name_valid(d->name, strlen(d->name)))
			return false;
	}
	return !s.left;
}

/* Index labels and nodes by name; names unique, the initial label defined. */
static bool index_names(struct dsm_policy *p, bool *oom)
{
	if (policy_object_index(p)) {
		*oom = true;
		return false;
	}
	return names_unique(p->label_by_name, p->nlabels, label_at, p) &&
	       names_unique(p->node_by_name, p->nnodes, node_at, p) &&
	       label_defined(p, p->initial);
}

/* FILES: absolute paths, unique, of defined labels. */
static bool r_files(struct rbuf *r, struct dsm_policy *p, bool *oom)
{
	struct rbuf s;
	size_t n;

	if (!r_section(r, SEC_FILES, 7, &n, &s))
		return false;
	p->files = calloc(n ? n : 1, sizeof(*p->files));
	if (!p->files) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct dsm_file_rule *f = &p->files[i];

		f->label = (uint32_t)r_le(&s, 4);
		f->path = r_str(&s, 2, oom);
		if (!f->path)
			return false;
		p->nfiles++;
		if (f->path[0] != '/' || strlen(f->path) > POLICY_PATH_MAX ||
		    !label_defined(p, f->label))
			return false;
	}
	return !s.left && files_unique(p, oom);
}

/* NETS: known families, sorted, unique, no host bits. */
static bool r_nets(struct rbuf *r, struct dsm_policy *p, bool *oom)
{
	struct rbuf s;
	size_t n;

	if (!r_section(r, SEC_NETS, NET_MIN_LEN, &n, &s))
		return false;
	p->nets = calloc(n ? n : 1, sizeof(*p->nets));
	if (!p->nets) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct dsm_net_rule *nr = &p->nets[i];
		const uint8_t *a, *ifn;
		size_t iflen;

		nr->family = (uint8_t)r_le(&s, 1);
		nr->plen = (uint8_t)r_le(&s, 1);
		a = r_bytes(&s, 16);
		iflen = (size_t)r_le(&s, 1);
		ifn = r_bytes(&s, iflen);
		nr->label = (uint32_t)r_le(&s, 4);
		if (!a || !ifn || s.bad || iflen >= DSM_IFNAME_MAX ||
		    (iflen && !policy_ifname_valid((const char *)ifn, iflen)))
			return false;
		memcpy(nr->prefix, a, 16);
		memcpy(nr->ifname, ifn, iflen);
		if (!net_prefix_ok(nr) || !label_defined(p, nr->label) ||
		    (i && policy_net_cmp(&p->nets[i - 1], nr) >= 0))
			return false;
		p->nnets++;
	}
	return s.left == 0;
}

/* The tables before the entries, in bundle order: each may check names
 * against the ones before it. */
static bool r_tables(struct rbuf *r, struct dsm_policy *p, bool *oom)
{
	return r_meta(r, p, oom) && r_labels(r, p, oom) && r_nodes(r, p, oom) &&
	       index_names(p, oom) && r_files(r, p, oom) && r_nets(r, p, oom);
}

/* Every entry: known kind, sorted and unique, names that exist. */
static bool entry_ok(const struct dsm_policy *p, const struct dsm_entry *e)
{
	const struct dsm_pkey *k = &e->key;
	const struct dsm_key_rule *r = &k->rule;
	const struct dsm_label *l;

	switch (k->kind) {
	case DSM_KEY_RULE:
		if (!dsm_class_name(r->class) || !label_defined(p, r->subject) ||
		    !label_defined(p, r->target) || !e->val.perms ||
		    (e->val.perms & ~dsm_class_all_perms(r->class)) || e->val.aux)
			return false;
		if (r->class != DSM_CLASS_SOCKET && r->qual != DSM_QUAL_ANY)
			return false;
		if (r->class == DSM_CLASS_PEER)
			return r->node == DSM_NODE_ANY || dsm_policy_node_name(p, r->node);
		return r->node == DSM_NODE_ANY;
	case DSM_KEY_TRANS:
		return label_defined(p, k->trans.subject) && label_defined(p, k->trans.file_label) &&
		       label_defined(p, e->val.aux) && !e->val.perms;
	case DSM_KEY_LABEL:
		l = find_label(p, k->label.label);
		return l && e->val.perms == l->flags && !e->val.aux;
	case DSM_KEY_CONFIG:
		if (k->config.index)
			return false;
		switch (k->config.item) {
		case DSM_CFG_MODE:
			return e->val.aux == p->mode && !e->val.perms;
		case DSM_CFG_INITIAL_LABEL:
			return e->val.aux == p->initial && !e->val.perms;
		case DSM_CFG_POLICY_VERSION:
			return ((uint64_t)e->val.perms << 32 | e->val.aux) == p->version;
		case DSM_CFG_FILE_LABEL:
		case DSM_CFG_SERVICE_MANAGER:
			return label_defined(p, e->val.aux) && !e->val.perms;
		default:
			return false; /* NODE_ID, NET_PLENS, DSMD_LABEL are the loader's */
		}
	case DSM_KEY_NET:
		/* Only device-less rules are compiled entries. */
		return k->net.plen <= 32 && !k->net.ifindex && !k->net.netns &&
		       label_defined(p, e->val.aux) && !e->val.perms;
	case DSM_KEY_NET6:
		return k->net6.plen <= 128 && !k->net6.ifindex && !k->net6.netns &&
		       label_defined(p, e->val.aux) && !e->val.perms;
	default:
		return false; /* FILE entries only exist after resolution */
	}
}

/* DSM_LABEL_F_SYSTEM is the compiler's: set exactly on the labels that are
 * the subject of some system rule. */
static bool system_flags_ok(const struct dsm_policy *p, bool *oom)
{
	bool *has = calloc(p->nlabels ? p->nlabels : 1, sizeof(*has));
	bool ok = true;

	if (!has) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < p->nentries; i++) {
		const struct dsm_pkey *k = &p->entries[i].key;

		if (k->kind == DSM_KEY_RULE && k->rule.class == DSM_CLASS_SYSTEM)
			has[find_label(p, k->rule.subject) - p->labels] = true;
	}
	for (size_t i = 0; i < p->nlabels && ok; i++)
		ok = !!(p->labels[i].flags & DSM_LABEL_F_SYSTEM) == has[i];
	free(has);
	return ok;
}

/* The NET and NET6 entries are the NETS rules without a device, one each
 * (keys and rules are unique, so equal counts mean a one-to-one match). */
static bool nets_match_entries(const struct dsm_policy *p)
{
	size_t rules = 0, entries = 0;

	for (size_t i = 0; i < p->nnets; i++)
		rules += !p->nets[i].ifname[0];
	for (size_t i = 0; i < p->nentries; i++) {
		const struct dsm_entry *e = &p->entries[i];
		struct dsm_net_rule want = { 0 };
		const struct dsm_net_rule *found;

		if (e->key.kind == DSM_KEY_NET) {
			want.family = AF_INET;
			want.plen = e->key.net.plen;
			want.prefix_be = e->key.net.prefix;
		} else if (e->key.kind == DSM_KEY_NET6) {
			want.family = AF_INET6;
			want.plen = e->key.net6.plen;
			memcpy(want.prefix, e->key.net6.prefix, 16);
		} else {
			continue;
		}
		found = bsearch(&want, p->nets, p->nnets, sizeof(*p->nets), policy_net_cmp);
		if (!found || found->label != e->val.aux)
			return false;
		entries++;
	}
	return rules == entries;
}

static bool r_entries(struct rbuf *r, struct dsm_policy *p, bool *oom)
{
	size_t n, nlabel = 0;
	struct rbuf s;

	if (!r_section(r, SEC_ENTRIES, ENTRY_LEN, &n, &s) || n > POLICY_MAX_ENTRIES ||
	    s.left != n * ENTRY_LEN)
		return false;
	p->entries = calloc(n ? n : 1, sizeof(*p->entries));
	if (!p->entries) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = r_bytes(&s, ENTRY_LEN);
		struct dsm_entry *e = &p->entries[i];

		if (b[1] || b[2] || b[3] || !get_variant(b + 4, b[0], &e->key))
			return false;
		e->val.perms = (uint32_t)dsm_get_le(b + 32, 4);
		e->val.aux = (uint32_t)dsm_get_le(b + 36, 4);
		if (!entry_ok(p, e) ||
		    (i && policy_key_cmp(&p->entries[i - 1].key, &e->key) >= 0))
			return false;
		nlabel += e->key.kind == DSM_KEY_LABEL;
		if (e->key.kind == DSM_KEY_CONFIG && e->key.config.item == DSM_CFG_FILE_LABEL)
			p->file_label = e->val.aux;
		if (e->key.kind == DSM_KEY_CONFIG && e->key.config.item == DSM_CFG_SERVICE_MANAGER)
			p->service_manager = e->val.aux;
		p->nentries++;
	}
	/* Unique keys naming existing labels: equal counts mean one each. */
	return nlabel == p->nlabels && system_flags_ok(p, oom) && nets_match_entries(p);
}

int dsm_bundle_read(const uint8_t *buf, size_t len, struct dsm_policy **out)
{
	uint8_t digest[DSM_BUNDLE_DIGEST_LEN];
	struct dsm_policy *p;
	struct rbuf r;
	bool oom = false;
	int err;

	*out = NULL;
	if (len < HDR_LEN + DSM_BUNDLE_DIGEST_LEN || memcmp(buf, magic, sizeof(magic)))
		return -EBADMSG;
	if (dsm_get_le(buf + 8, 2) != DSM_BUNDLE_FORMAT || dsm_get_le(buf + 10, 2) != DSM_ABI_VERSION)
		return -EPROTONOSUPPORT;
	if (dsm_get_le(buf + 12, 4) != 0 || dsm_get_le(buf + 16, 8) != len ||
	    dsm_get_le(buf + 32, 4) != SEC_COUNT || dsm_get_le(buf + 36, 4) != 0 ||
	    len > DSM_BUNDLE_MAX_SIZE)
		return -EBADMSG;
	err = sha256(buf, len - DSM_BUNDLE_DIGEST_LEN, digest);
	if (err)
		return err;
	if (memcmp(digest, buf + len - DSM_BUNDLE_DIGEST_LEN, sizeof(digest)))
		return -EBADMSG;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->version = dsm_get_le(buf + 24, 8);
	r = (struct rbuf){ .p = buf + HDR_LEN, .left = len - HDR_LEN - DSM_BUNDLE_DIGEST_LEN };
	if (!r_tables(&r, p, &oom) || !r_entries(&r, p, &oom) || r.bad || r.left) {
		dsm_policy_free(p);
		return oom ? -ENOMEM : -EBADMSG;
	}
	*out = p;
	return 0;
}

/* ---- files -------------------------------------------------------------- */

int dsm_bundle_write_file(const struct dsm_policy *p, const char *path)
{
	uint8_t *buf;
	size_t len;
	int r = dsm_bundle_write(p, &buf, &len);

	if (r)
		return r;
	r = dsm_file_write(path, buf, len, 0644, DSM_FILE_REPLACE);
	free(buf);
	return r;
}

int dsm_bundle_read_file(const char *path, struct dsm_policy **out)
{
	uint8_t *buf;
	size_t len;
	int r;

	*out = NULL;
	r = dsm_file_read(path, DSM_BUNDLE_MAX_SIZE, 0, &buf, &len);
	if (r)
		return r;
	r = dsm_bundle_read(buf, len, out);
	free(buf);
	return r;
}
