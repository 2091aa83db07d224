// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load-time resolution of the node-local parts of a policy: file paths to
 * (dev, inode) and interface names to ifindex. Both differ between nodes
 * and across reboots, so they are never part of a compiled policy or a
 * bundle; the loader calls this on every load and reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "policy_int.h"

struct resolved {
	struct dsm_entry e;
	size_t order;     /* source order: the first one wins */
	const char *what; /* path or interface, for messages */
};

static int resolved_cmp(const void *a, const void *b)
{
	const struct resolved *x = a, *y = b;
	int c = policy_key_cmp(&x->e.key, &y->e.key);

	return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

__attribute__((format(printf, 3, 4)))
static void warn_msg(dsm_resolve_warn_fn warn, void *ctx, const char *fmt, ...)
{
	char msg[POLICY_PATH_MAX + 256];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(ctx, msg);
}

static const char *label_str(const struct dsm_policy *p, uint32_t id, char *buf,
			     size_t len)
{
	const char *n = dsm_policy_label_name(p, id);

	if (n)
		return n;
	snprintf(buf, len, "%u", id);
	return buf;
}

/* The current network namespace's inode number: interface rules name an
 * interface of one namespace (struct dsm_key_net). 0 if unknown. */
uint32_t dsm_netns_self(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/* File rules to FILE entries in v; returns how many. A path that does not
 * stat, or whose device does not fit, is warned about and counted. */
static size_t resolve_files(const struct dsm_policy *p, struct resolved *v,
			    dsm_resolve_warn_fn warn, void *ctx, int *problems)
{
	size_t n = 0;
	char lb[16];

	for (size_t i = 0; i < p->nfiles; i++) {
		const struct dsm_file_rule *f = &p->files[i];
		struct stat st;

		if (stat(f->path, &st) < 0) {
			warn_msg(warn, ctx, "file %s (label %s): %s", f->path,
				 label_str(p, f->label, lb, sizeof(lb)), strerror(errno));
			(*problems)++;
			continue;
		}
		if (dsm_file_key(st.st_dev, st.st_ino, &v[n].e.key) < 0) {
			warn_msg(warn, ctx, "file %s (label %s): device %u:%u does not fit the kernel's encoding",
				 f->path, label_str(p, f->label, lb, sizeof(lb)),
				 major(st.st_dev), minor(st.st_dev));
			(*problems)++;
			continue;
		}
		v[n].e.val.aux = f->label;
		v[n].order = i;
		v[n].what = f->path;
		n++;
	}
	return n;
}

/* Unlabeled rules on an interface to NET/NET6 entries of namespace netns
 * in v; returns how many. An interface not found is warned about and
 * counted. */
static size_t resolve_ifaces(const struct dsm_policy *p, uint32_t netns, struct resolved *v,
			     dsm_resolve_warn_fn warn, void *ctx, int *problems)
{
	size_t n = 0;
	char lb[16];

	for (size_t i = 0; i < p->nnets; i++) {
		const struct dsm_net_rule *r = &p->nets[i];
		char prefix[INET6_ADDRSTRLEN + 4];
		unsigned int ifindex;

		if (!r->ifname[0])
			continue; /* already a compiled entry */
		ifindex = if_nametoindex(r->ifname);
		if (!ifindex) {
			int err = errno;

			dsm_net_rule_prefix_format(r, prefix, sizeof(prefix));
			warn_msg(warn, ctx, "interface %s (unlabeled %s -> %s): %s", r->ifname, prefix,
				 label_str(p, r->label, lb, sizeof(lb)), strerror(err));
			(*problems)++;
			continue;
		}
		v[n].e.key = policy_net_key(r, ifindex, netns);
		v[n].e.val.aux = r->label;
		v[n].order = p->nfiles + i;
		v[n].what = r->ifname;
		n++;
	}
	return n;
}

/* The sorted v[0..n) into entries, one per key: the first in source order
 * wins, a second label for the same object is warned about and counted.
 * Returns how many entries. */
static size_t unique_entries(const struct dsm_policy *p, const struct resolved *v, size_t n,
			     struct dsm_entry *entries, dsm_resolve_warn_fn warn, void *ctx,
			     int *problems)
{
	char lb[16], lb2[16];
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out && policy_key_cmp(&entries[out - 1].key, &v[i].e.key) == 0) {
			/* Two paths naming one inode (hard or symbolic link),
			 * or two names of one interface. */
			size_t first = i - 1;

			while (first > 0 && policy_key_cmp(&v[first - 1].e.key, &v[i].e.key) == 0)
				first--;
			if (v[i].e.val.aux != entries[out - 1].val.aux) {
				warn_msg(warn, ctx, "%s is the same object as %s: keeping label %s, not %s",
					 v[i].what, v[first].what,
					 label_str(p, entries[out - 1].val.aux, lb, sizeof(lb)),
					 label_str(p, v[i].e.val.aux, lb2, sizeof(lb2)));
				(*problems)++;
			}
			continue;
		}
		entries[out++] = v[i].e;
	}
	return out;
}

int dsm_policy_resolve(struct dsm_policy *p, dsm_resolve_warn_fn warn, void *ctx)
{
	const uint32_t netns = dsm_netns_self();
	size_t total = p->nfiles + p->nnets, n, out;
	struct resolved *v = calloc(total ? total : 1, sizeof(*v));
	struct dsm_entry *entries;
	int problems = 0;

	if (!v)
		return -ENOMEM;
	n = resolve_files(p, v, warn, ctx, &problems);
	n += resolve_ifaces(p, netns, v + n, warn, ctx, &problems);

	qsort(v, n, sizeof(*v), resolved_cmp);
	entries = calloc(n ? n : 1, sizeof(*entries));
	if (!entries) {
		free(v);
		return -ENOMEM;
	}
	out = unique_entries(p, v, n, entries, warn, ctx, &problems);
	free(v);
	free(p->resolved);
	p->resolved = entries;
	p->nresolved = out;
	return problems;
}
