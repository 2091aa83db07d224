// SPDX-License-Identifier: GPL-2.0
/*
 * The packet path (docs/wire.md): the tc egress program that labels what
 * labeled sockets send, the cluster keys it signs with, and the epoch the
 * receivers check. The receive check itself is an LSM hook of the main
 * object; this object shares its socket labels, keys and configuration.
 *
 * Keys come from a root-only file (the Security Server will hand them out
 * later; loading is kept apart from use for that):
 *
 *   key ID HEX32      one or two keys, ID 1..255, 16 bytes in hex
 *   send ID           the key this node signs with
 *
 * A rotation is three edits of that file, each followed by a reload on
 * every node: add the new key; `send` the new key; drop the old key.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dsmd.h"
#include "pairkeys.h"
#include "dsm/wire.h"
#include "dsm_net.skel.h"
#include "sipmac.h"

#define TC_HANDLE 0xd5
#define TC_PRIO   1
#define NL_WATCH_BUF 32768

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823 /* linux/if_arp.h, which net/if_arp.h lacks */
#endif

static int tc_attach(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

/* Are egress programs attached? With a key file, and on a joined node
 * (--join, --server), whose pair keys may come at any time: until it has
 * a key to send with, its programs label nothing (flags without
 * DSM_NET_F_LABEL_EGRESS) and only refuse options they did not write. */
static bool labeling(const struct dsmd_opts *o)
{
	return o->label_egress && (o->key_file || o->join || o->n_servers);
}

/* Run fn in namespace ns (-1: dsmd's own) and come back. */
static int in_netns(const struct dsmd_opts *o, int ns,
		    int (*fn)(const struct dsmd_opts *, void *), void *ctx)
{
	int self, fd, ret, err;

	if (ns < 0)
		return fn(o, ctx);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	fd = open(o->netns[ns], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		ret = -errno;
		log_error("net: enter network namespace %s: %s", o->netns[ns], strerror(-ret));
		if (fd >= 0)
			close(fd);
		close(self);
		return ret;
	}
	close(fd);
	ret = fn(o, ctx);
	if (setns(self, CLONE_NEWNET)) {
		/* Sockets opened from here on would be in the wrong
		 * namespace: stop. */
		err = -errno;
		log_error("net: return to own network namespace: %s", strerror(-err));
		close(self);
		return err;
	}
	close(self);
	return ret;
}

/* Run fn in dsmd's network namespace, then in each --netns one. */
static int for_each_netns(const struct dsmd_opts *o, int (*fn)(const struct dsmd_opts *, void *),
			  void *ctx)
{
	int ret = fn(o, ctx);

	for (unsigned i = 0; !ret && i < o->n_netns; i++)
		ret = in_netns(o, (int)i, fn, ctx);
	return ret;
}

/*
 * Which egress program labels a link correctly: dsm_egress where an
 * Ethernet header comes first (Ethernet devices, loopback), dsm_egress_l3
 * where the IPv4 header does (tun, WireGuard, ipip, sit, ip6tnl, GRE with
 * a fixed remote, PPP, raw IP), none elsewhere. A bridge and a VLAN device
 * get none on purpose: what they send passes the egress of the device
 * under them (a bridge port, the VLAN's parent) with its socket, and is
 * labeled there; labeling it above as well would only cost a second pass.
 * Their routes still get room for the option (labels_below). Any other
 * link type has a header no dsm program reads: not attached, and what
 * labeled sockets send through it leaves unlabeled (receivers decide it
 * by their unlabeled rules).
 */
enum egress_prog { PROG_NONE, PROG_ETH, PROG_L3 };

static enum egress_prog link_prog(const struct dsmd_link *l, bool *labels_below,
				  char *why, size_t len)
{
	*labels_below = false;
	switch (l->type) {
	case ARPHRD_LOOPBACK:
		return PROG_ETH;
	case ARPHRD_ETHER:
		if (!strcmp(l->kind, "bridge") || !strcmp(l->kind, "vlan")) {
			*labels_below = true;
			snprintf(why, len, "a %s device: %s labels what it sends", l->kind,
				 !strcmp(l->kind, "bridge") ? "each port" : "its parent");
			return PROG_NONE;
		}
		return PROG_ETH;
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
		if (l->builds_header) {
			snprintf(why, len, "a GRE device without a fixed remote builds a link "
				 "header dsm cannot read; its traffic leaves unlabeled");
			return PROG_NONE;
		}
		return PROG_L3;
	case ARPHRD_NONE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_PPP:
	case ARPHRD_RAWIP:
		return PROG_L3;
	}
	snprintf(why, len, "link type %u has a header no dsm program reads; its traffic "
		 "leaves unlabeled", l->type);
	return PROG_NONE;
}

struct attach_ctx {
	int prog_eth, prog_l3;
	const struct dsmd_link *known; /* links seen before (the link watch) */
	size_t nknown;
	bool only_new;    /* leave the known links alone */
	bool routes_only; /* attach nothing: routes of labeled links only */
};

static bool link_known(const struct attach_ctx *a, const struct dsmd_link *l)
{
	for (size_t i = 0; i < a->nknown; i++)
		if (a->known[i].ifindex == l->ifindex && !strcmp(a->known[i].name, l->name))
			return true;
	return false;
}

/* Give the routes through a labeled link room for the option. Loopback
 * needs none. */
static int prepare_link(const struct dsmd_link *l, int *changed)
{
	int n;

	*changed = 0;
	if (l->type == ARPHRD_LOOPBACK)
		return 0;
	n = dsmd_link_routes_make_room(l->ifindex);
	if (n < 0)
		return n;
	*changed = n;
	return 0;
}

/* Label egress on every interface of the current network namespace that
 * a program labels correctly, and give its routes room for the option. */
static int attach_here(const struct dsmd_opts *o, void *ctx)
{
	const struct attach_ctx *a = ctx;

	(void)o;
	struct dsmd_link *links;
	size_t n;
	int err = dsmd_link_list(&links, &n);

	if (err)
		return log_errno(LOG_ERR, err, "net: list links");
	for (size_t i = 0; !err && i < n; i++) {
		const struct dsmd_link *l = &links[i];
		char why[160] = "";
		bool below;
		enum egress_prog p = link_prog(l, &below, why, sizeof(why));
		int changed = 0;

		if (a->only_new && link_known(a, l))
			continue;
		if (p == PROG_NONE && !below) {
			if (!link_known(a, l))
				log_info("net: not labeling egress on %s: %s", l->name, why);
			continue;
		}
		if (p != PROG_NONE && !a->routes_only)
			err = tc_attach(l->ifindex, p == PROG_ETH ? a->prog_eth : a->prog_l3);
		if (!err)
			err = prepare_link(l, &changed);
		if (err) {
			log_error("net: label egress on %s: %s", l->name, strerror(-err));
			break;
		}
		if (link_known(a, l) && !changed)
			continue;
		if (p == PROG_NONE)
			log_info("net: not labeling egress on %s: %s%s", l->name, why,
				 changed ? " (route MTU lowered for the option)" : "");
		else
			log_info("net: labeling egress on %s%s%s", l->name,
				 p == PROG_L3 ? " (no link header)" : "",
				 changed ? " (route MTU lowered for the option)" : "");
	}
	free(links);
	return err;
}

/* Remove what attach_here did (--unload): the filter and the route MTUs
 * dsmd set. */
static int detach_here(const struct dsmd_opts *o, void *ctx)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int ret = 0;

	(void)o;
	(void)ctx;
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)i->if_index,
			    .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO);
		int err = bpf_tc_detach(&hook, &opts);

		if (err && err != -ENOENT && err != -EINVAL) {
			log_error("net: detach egress from %s: %s", i->if_name, strerror(-err));
			ret = err;
		}
		if (dsmd_link_is_loopback(i->if_name))
			continue;
		err = dsmd_link_routes_restore((int)i->if_index);
		if (err < 0) {
			log_error("net: restore routes of %s: %s", i->if_name, strerror(-err));
			ret = err;
		}
	}
	if_freenameindex(ifs);
	return ret;
}

/* Where the cgroup v2 hierarchy is mounted: on its own, or beside the v1
 * controllers (a hybrid layout). The first place when it is in neither,
 * for the error to name. */
static const char *cgroup2_root(void)
{
	static const char *const at[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		if (statfs(at[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			return at[i];
	return at[0];
}

/* Label egress on every interface of dsmd's network namespace and the
 * --netns ones; nothing to attach when no packet is to be labeled. */
static int watch_open(struct dsmd *d);

int dsmd_net_attach(struct dsmd *d)
{
	struct attach_ctx a = { .prog_eth = bpf_program__fd(d->net->progs.dsm_egress),
				.prog_l3 = bpf_program__fd(d->net->progs.dsm_egress_l3) };
	int err;

	if (!labeling(&d->o)) {
		log_info("net: not labeling: no egress program attached");
		return watch_open(d);
	}
	err = for_each_netns(&d->o, attach_here, &a);
	/* The connection token: the sockops program sees every TCP socket of
	 * the node from the root of the cgroup hierarchy. */
	if (!err && d->o.tcp_all)
		err = dsmd_bpf_attach_cgroup(d, d->net->progs.dsm_sockops, cgroup2_root());
	return err ? err : watch_open(d);
}

int dsmd_net_detach_all(const struct dsmd_opts *o)
{
	return for_each_netns(o, detach_here, NULL);
}

/* ---- interface rules in every namespace dsmd labels --------------------- */

struct ns_entries {
	struct dsm_entry *v;
	size_t n, cap;
};

static int push_entry(struct ns_entries *e, const struct dsm_entry *x)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 32;
		struct dsm_entry *more = realloc(e->v, cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		e->v = more;
		e->cap = cap;
	}
	e->v[e->n++] = *x;
	return 0;
}

static bool is_iface_entry(const struct dsm_pkey *k)
{
	return (k->kind == DSM_KEY_NET && k->net.ifindex) ||
	       (k->kind == DSM_KEY_NET6 && k->net6.ifindex);
}

/* Only what the library says of interfaces: its file messages are the
 * same in every network namespace and were given already. */
static void warn_netns(void *ctx, const char *msg)
{
	if (!strncmp(msg, "interface ", 10))
		log_info("policy: network namespace %s: %s", (const char *)ctx, msg);
}

/* The DSM_CFG_NET_PLENS word (index) of an interface entry, and its bit. */
static uint16_t plens_slot(const struct dsm_pkey *k, uint64_t *bit)
{
	if (k->kind == DSM_KEY_NET) {
		*bit = 1ull << k->net.plen;
		return DSM_PLENS_V4_DEV;
	}
	*bit = 1ull << (k->net6.plen % 64);
	return (uint16_t)(DSM_PLENS_V6_DEV + k->net6.plen / 64);
}

/* Add the prefix lengths of the namespaces' entries to the node's
 * DSM_CFG_NET_PLENS entries, making the words that are missing. */
static int add_plens(struct ns_entries *all, size_t from)
{
	for (size_t i = from, end = all->n; i < end; i++) {
		struct dsm_pkey want;
		uint64_t bit, m;
		uint16_t slot = plens_slot(&all->v[i].key, &bit);
		size_t j;

		want = dsm_key_config_at(DSM_CFG_NET_PLENS, slot);
		for (j = 0; j < all->n; j++)
			if (!memcmp(&all->v[j].key, &want, sizeof(want)))
				break;
		if (j == all->n) {
			struct dsm_entry e = { .key = want };
			int err = push_entry(all, &e);

			if (err)
				return err;
		}
		m = ((uint64_t)all->v[j].val.aux << 32 | all->v[j].val.perms) | bit;
		all->v[j].val.perms = (uint32_t)m;
		all->v[j].val.aux = (uint32_t)(m >> 32);
	}
	return 0;
}

/*
 * Interface rules name an interface of one network namespace: the
 * library resolves them in dsmd's own (dsm_policy_resolve). Every --netns
 * namespace dsmd labels gets entries of its own, for the interfaces of
 * those names there (each keyed by its ifindex and that namespace), so
 * that a rule for the host's eth0 does not match the container's
 * interface that happens to have eth0's index, and a rule for eth0
 * matches the container's eth0. Resolved at every policy load (start,
 * reload): an interface created, deleted or renamed later keeps the
 * entries of the last load until the next one.
 *
 * v: the node's other local entries (n of them, the DSM_CFG_NET_PLENS
 * words among them). *out: a new array (free it) with v, the namespaces'
 * entries, and the prefix lengths they add.
 */
int dsmd_net_local_entries(const struct dsmd *d, struct dsm_policy *p, const struct dsm_entry *v,
			   size_t n, struct dsm_entry **out, size_t *nout)
{
	struct ns_entries all = { 0 };
	uint32_t seen[DSMD_MAX_NETNS + 1];
	unsigned nseen = 0;
	int self = -1, err = 0;
	bool moved = false;
	size_t first;

	for (size_t i = 0; !err && i < n; i++)
		err = push_entry(&all, &v[i]);
	first = all.n;
	seen[nseen++] = dsm_netns_self();
	if (!err && d->o.n_netns) {
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0)
			err = log_errno(LOG_ERR, -errno, "policy: own network namespace");
	}
	for (unsigned i = 0; !err && i < d->o.n_netns; i++) {
		const char *path = d->o.netns[i];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		const struct dsm_entry *r;
		size_t nr = 0;
		uint32_t inum;
		bool dup = false;

		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			err = log_errno(LOG_ERR, -errno, "policy: enter network namespace %s", path);
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		moved = true;
		inum = dsm_netns_self();
		for (unsigned j = 0; j < nseen; j++)
			dup |= seen[j] == inum;
		if (!dup && inum) {
			seen[nseen++] = inum;
			err = dsm_policy_resolve(p, warn_netns, (void *)path);
			if (err > 0)
				err = 0; /* reported */
			r = dsm_policy_resolved_entries(p, &nr);
			for (size_t j = 0; !err && j < nr; j++)
				if (is_iface_entry(&r[j].key))
					err = push_entry(&all, &r[j]);
		}
		if (setns(self, CLONE_NEWNET)) {
			err = log_errno(LOG_ERR, -errno, "policy: return to own network namespace");
			close(self);
			free(all.v);
			return err; /* nothing may go on in the wrong namespace */
		}
	}
	if (self >= 0)
		close(self);
	/* The library's resolved entries are its own namespace's again. */
	if (moved) {
		int r = dsm_policy_resolve(p, NULL, NULL);

		if (!err && r < 0)
			err = r;
	}
	if (!err)
		err = add_plens(&all, first);
	if (err) {
		free(all.v);
		return err;
	}
	if (all.n > first)
		log_info("policy: %zu interface rule entr%s for the other network namespaces",
			 all.n - first, all.n - first == 1 ? "y" : "ies");
	*out = all.v;
	*nout = all.n;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct keyfile {
	unsigned n;
	uint8_t id[DSM_KEY_SLOTS];
	uint8_t key[DSM_KEY_SLOTS][16];
	int send; /* key id, -1 until given */
};

static int parse_keyfile(const struct dsmd *d, const char *path, struct keyfile *kf)
{
	char line[256];
	unsigned lineno = 0;
	struct stat st;
	FILE *f;
	int err = 0, fd;

	*kf = (struct keyfile){ .send = -1 };
	/* Through the directory opened at start (files.c), not by path. */
	fd = dsmd_file_open(d, DSMD_FILE_KEY);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return log_errno(LOG_ERR, err, "net: %s", path);
	}
	if (fstat(fileno(f), &st) || st.st_uid != 0 || (st.st_mode & 077)) {
		log_error("net: %s: must be owned by root and not readable by others (chmod 600)",
			path);
		fclose(f);
		return -EPERM;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char word[16], hex[64], extra[2];
		unsigned id;
		int n;

		lineno++;
		line[strcspn(line, "#\n")] = '\0';
		n = sscanf(line, "%15s %u %63s %1s", word, &id, hex, extra);
		if (n <= 0)
			continue;
		if (!strcmp(word, "send") && n == 2 && id >= 1 && id <= 255) {
			kf->send = (int)id;
		} else if (!strcmp(word, "key") && n == 3 && id >= 1 && id <= 255 &&
			   strlen(hex) == 32 && kf->n < DSM_KEY_SLOTS) {
			for (int i = 0; i < 16; i++) {
				int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

				if (hi < 0 || lo < 0)
					err = -EINVAL;
				kf->key[kf->n][i] = (uint8_t)(hi << 4 | lo);
			}
			for (unsigned j = 0; j < kf->n; j++)
				if (kf->id[j] == id)
					err = -EINVAL;
			kf->id[kf->n++] = (uint8_t)id;
		} else {
			err = -EINVAL;
		}
		if (err)
			log_error("net: %s:%u: expected 'key ID HEX32' (at most %d keys, distinct ids) "
				"or 'send ID'", path, lineno, DSM_KEY_SLOTS);
	}
	fclose(f);
	if (!err && (kf->send < 0 || kf->n == 0)) {
		log_error("net: %s: needs at least one key and a 'send ID' line", path);
		err = -EINVAL;
	}
	for (unsigned j = 0; !err && j < kf->n; j++)
		if (kf->id[j] == kf->send)
			return 0;
	if (!err) {
		log_error("net: %s: 'send %d' names no key of the file", path, kf->send);
		err = -EINVAL;
	}
	return err;
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int read_cfg(const struct dsmd *d, struct dsm_net_cfg *cfg)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(dsmd_map_fd(d, DSMD_MAP_NETCFG), &zero, cfg) ? -errno : 0;
}

static int write_cfg(const struct dsmd *d, const struct dsm_net_cfg *cfg)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(dsmd_map_fd(d, DSMD_MAP_NETCFG), &zero, cfg, BPF_ANY) ? -errno
												: 0;
}

/* CLOCK_REALTIME - CLOCK_TAI now: the programs count epochs from CLOCK_TAI
 * (the clock BPF can read), in wall-clock time (dsm/wire.h). */
static int64_t clock_offset_ns(void)
{
	struct timespec rt, tai;

	clock_gettime(CLOCK_TAI, &tai);
	clock_gettime(CLOCK_REALTIME, &rt);
	return ((int64_t)rt.tv_sec - tai.tv_sec) * 1000000000ll + (rt.tv_nsec - tai.tv_nsec);
}

/*
 * Install the file's keys without disturbing a key in use: a key already in
 * a slot stays there, a new key takes a slot no kept key holds, and the
 * sending slot flips in one write of the flags once both are in place.
 * Removed keys are invalidated last.
 */
static int install_keys(struct dsmd *d, const struct keyfile *kf, struct dsm_net_cfg *cfg)
{
	struct dsm_mac_key cur[DSM_KEY_SLOTS], want[DSM_KEY_SLOTS];
	bool used[DSM_KEY_SLOTS] = { false };
	int slot_of[DSM_KEY_SLOTS], send_slot = -1;
	uint32_t s;
	int err;

	for (s = 0; s < DSM_KEY_SLOTS; s++) {
		if (bpf_map_lookup_elem(dsmd_map_fd(d, DSMD_MAP_KEYS), &s, &cur[s]))
			return -errno;
		want[s] = (struct dsm_mac_key){ 0 };
	}
	for (unsigned j = 0; j < kf->n; j++) {
		struct dsm_mac_key k = { .valid = 1, .key_id = kf->id[j],
					 .k0 = le64_at(kf->key[j]), .k1 = le64_at(kf->key[j] + 8) };

		slot_of[j] = -1;
		for (s = 0; s < DSM_KEY_SLOTS; s++)
			if (!used[s] && !memcmp(&cur[s], &k, sizeof(k)))
				slot_of[j] = (int)s;
		if (slot_of[j] >= 0) {
			used[slot_of[j]] = true;
			want[slot_of[j]] = k;
		}
	}
	for (unsigned j = 0; j < kf->n; j++) {
		struct dsm_mac_key k = { .valid = 1, .key_id = kf->id[j],
					 .k0 = le64_at(kf->key[j]), .k1 = le64_at(kf->key[j] + 8) };

		for (s = 0; slot_of[j] < 0 && s < DSM_KEY_SLOTS; s++)
			if (!used[s]) {
				slot_of[j] = (int)s;
				used[s] = true;
				want[s] = k;
			}
		if (kf->id[j] == kf->send)
			send_slot = slot_of[j];
	}
	/* New keys first (no one sends with them yet), then the flip, then
	 * the removals. */
	for (s = 0; s < DSM_KEY_SLOTS; s++)
		if (want[s].valid && memcmp(&want[s], &cur[s], sizeof(want[s])) &&
		    bpf_map_update_elem(dsmd_map_fd(d, DSMD_MAP_KEYS), &s, &want[s], BPF_ANY))
			return -errno;
	if (send_slot == 1)
		cfg->flags |= DSM_NET_F_SEND_SLOT1;
	else
		cfg->flags &= ~DSM_NET_F_SEND_SLOT1;
	err = write_cfg(d, cfg);
	if (err)
		return err;
	for (s = 0; s < DSM_KEY_SLOTS; s++)
		if (!want[s].valid && cur[s].valid &&
		    bpf_map_update_elem(dsmd_map_fd(d, DSMD_MAP_KEYS), &s, &want[s], BPF_ANY))
			return -errno;
	return 0;
}

/* The same-node key (dsm/wire.h), drawn once per node: a key already in
 * its slot stays, so packets in flight keep their tags across reloads and
 * restarts. */
static int local_key(const struct dsmd *d, struct dsm_mac_key *key)
{
	int fd = dsmd_map_fd(d, DSMD_MAP_KEYS);
	uint32_t slot = DSM_KEY_SLOT_LOCAL;

	if (bpf_map_lookup_elem(fd, &slot, key))
		return -errno;
	if (key->valid)
		return 0;
	*key = (struct dsm_mac_key){ .valid = 1 };
	if (getrandom(&key->k0, sizeof(key->k0), 0) != (ssize_t)sizeof(key->k0) ||
	    getrandom(&key->k1, sizeof(key->k1), 0) != (ssize_t)sizeof(key->k1))
		return log_errno(LOG_ERR, errno ? -errno : -EIO, "net: same-node key");
	if (bpf_map_update_elem(fd, &slot, key, BPF_ANY))
		return -errno;
	return 0;
}

/* The first 32 bits of SipHash-2-4(key, label as 4 little-endian bytes). */
static int label_tag(const struct dsm_mac_key *key, uint32_t label, uint32_t *tag)
{
	uint8_t k[16], msg[4];
	uint64_t h;
	int err;

	for (int i = 0; i < 8; i++) {
		k[i] = (uint8_t)(key->k0 >> (8 * i));
		k[8 + i] = (uint8_t)(key->k1 >> (8 * i));
	}
	for (int i = 0; i < 4; i++)
		msg[i] = (uint8_t)(label >> (8 * i));
	err = dsm_siphash24(k, msg, sizeof(msg), &h);
	if (!err)
		*tag = (uint32_t)h;
	return err;
}

int dsmd_net_tags(struct dsmd *d)
{
	int fd = dsmd_map_fd(d, DSMD_MAP_TAGS), err = 0;
	struct dsm_mac_key key;
	const struct dsm_label *labels;
	size_t n;

	err = local_key(d, &key);
	if (err)
		return log_errno(LOG_ERR, err, "net: same-node key");
	labels = dsm_policy_labels(d->policy, &n);
	for (size_t i = 0; !err && i < n; i++) {
		uint32_t tag;

		err = label_tag(&key, labels[i].id, &tag);
		if (!err && bpf_map_update_elem(fd, &labels[i].id, &tag, BPF_ANY))
			err = -errno;
	}
	if (err)
		return log_errno(LOG_ERR, err, "net: same-node tags");
	return 0;
}

/* Without a key file no cluster key stays valid: options of earlier keys
 * must not verify once this node says it has none. */
static int drop_cluster_keys(const struct dsmd *d)
{
	struct dsm_mac_key none = { 0 };

	for (uint32_t s = 0; s < DSM_KEY_SLOTS; s++)
		if (bpf_map_update_elem(dsmd_map_fd(d, DSMD_MAP_KEYS), &s, &none, BPF_ANY))
			return -errno;
	return 0;
}

/* ---- pair keys (docs/keys.md) ------------------------------------------ */

static bool pair_held(const struct dsmd_pairkeys *pk, const struct dsm_pair_slot *ps)
{
	const struct dsmd_pair_gen *g = pk ? &pk->slot[ps->slot & 1] : NULL;

	if (!g || !g->gen || ps->slot > 1)
		return false;
	for (uint32_t i = 0; i < g->n; i++)
		if (g->key[i].peer == ps->node)
			return true;
	return false;
}

/* The node of an address in the pair keys (the newest generation first),
 * 0 for none. */
static uint32_t pair_node_of(const struct dsmd_pairkeys *pk, uint32_t addr)
{
	int first = pk && pk->slot[1].gen > pk->slot[0].gen ? 1 : 0;

	for (int k = 0; pk && k < 2; k++) {
		const struct dsmd_pair_gen *g = &pk->slot[k ? !first : first];

		for (uint32_t i = 0; g->gen && i < g->n; i++)
			if (!memcmp(g->key[i].addr, &addr, 4))
				return g->key[i].peer;
	}
	return 0;
}

/* Every entry of a hash map whose key (key_size bytes) keep() refuses,
 * deleted; keys are collected first (deleting while walking restarts the
 * walk). */
static int prune(int fd, size_t key_size, unsigned max,
		 bool (*keep)(const struct dsmd_pairkeys *, const void *),
		 const struct dsmd_pairkeys *pk)
{
	uint8_t *keys = calloc(max, key_size), *prev = NULL;
	unsigned n = 0;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (n < max && !bpf_map_get_next_key(fd, prev, keys + n * key_size)) {
		prev = keys + n * key_size;
		n++;
	}
	for (unsigned i = 0; i < n; i++)
		if (!keep(pk, keys + i * key_size) && bpf_map_delete_elem(fd, keys + i * key_size) &&
		    errno != ENOENT)
			err = -errno;
	free(keys);
	return err;
}

static bool keep_key(const struct dsmd_pairkeys *pk, const void *k)
{
	return pair_held(pk, k);
}

static bool keep_addr(const struct dsmd_pairkeys *pk, const void *k)
{
	uint32_t a;

	memcpy(&a, k, sizeof(a));
	return a && pair_node_of(pk, a);
}

/*
 * The pair keys into the maps: every key held into dsm_pair_keys, every
 * known address into dsm_pair_addrs (new entries first; nothing sends
 * with a generation before the configuration says so), then the
 * configuration (DSM_NET_F_PAIR and the generation sent with, when one
 * is; DSM_NET_F_NO_CLUSTER without a key file), then entries of
 * generations and addresses no longer held deleted.
 */
static int pair_maps(struct dsmd *d, struct dsm_net_cfg *cfg)
{
	const struct dsmd_pairkeys *pk = d->pairkeys;
	int kfd = dsmd_map_fd(d, DSMD_MAP_PAIRKEYS), afd = dsmd_map_fd(d, DSMD_MAP_PAIRADDRS);
	int err = 0;

	for (int s = 0; pk && s < 2 && !err; s++) {
		const struct dsmd_pair_gen *g = &pk->slot[s];

		for (uint32_t i = 0; g->gen && i < g->n && !err; i++) {
			struct dsm_pair_slot ps = { .node = g->key[i].peer, .slot = (uint32_t)s };
			struct dsm_mac_key k = { .valid = 1, .key_id = (uint8_t)g->gen,
						 .k0 = le64_at(g->key[i].key),
						 .k1 = le64_at(g->key[i].key + 8) };

			if (bpf_map_update_elem(kfd, &ps, &k, BPF_ANY))
				err = -errno;
			explicit_bzero(&k, sizeof(k));
		}
	}
	for (int s = 0; pk && s < 2 && !err; s++) {
		const struct dsmd_pair_gen *g = &pk->slot[s];

		for (uint32_t i = 0; g->gen && i < g->n && !err; i++) {
			uint32_t a, node;

			memcpy(&a, g->key[i].addr, 4);
			node = a ? pair_node_of(pk, a) : 0;
			if (node == g->key[i].peer && bpf_map_update_elem(afd, &a, &node, BPF_ANY))
				err = -errno;
		}
	}
	if (err)
		return err;
	cfg->flags &= ~(DSM_NET_F_PAIR | DSM_NET_F_NO_CLUSTER);
	cfg->send_generation = 0;
	if (pk && pk->send) {
		cfg->flags |= DSM_NET_F_PAIR;
		cfg->send_generation = (uint8_t)pk->send;
	}
	if (!d->o.key_file)
		cfg->flags |= DSM_NET_F_NO_CLUSTER;
	err = write_cfg(d, cfg);
	if (!err)
		err = prune(kfd, sizeof(struct dsm_pair_slot), 2 * DSM_PAIR_NODES_MAX, keep_key, pk);
	if (!err)
		err = prune(afd, sizeof(uint32_t), DSM_PAIR_NODES_MAX, keep_addr, pk);
	return err;
}

/* The flags of a node that labels what it sends. */
static uint32_t label_flags(const struct dsmd_opts *o)
{
	return DSM_NET_F_LABEL_EGRESS | (o->tcp_all ? DSM_NET_F_TCP_ALL : 0) |
	       (o->no_placeholder ? 0 : DSM_NET_F_PLACEHOLDER);
}

int dsmd_net_pairkeys(struct dsmd *d)
{
	struct dsm_net_cfg cfg;
	int err = read_cfg(d, &cfg);

	if (err)
		return err;
	/* A node without a key file that switches to its first generation
	 * starts labeling now; one with a key file labels already. */
	if (labeling(&d->o) && d->pairkeys && d->pairkeys->send)
		cfg.flags |= label_flags(&d->o);
	err = pair_maps(d, &cfg);
	if (err)
		return log_errno(LOG_ERR, err, "net: pair keys");
	return 0;
}

/* (Re)apply keys, node id, epoch and mode; called at start and on reload. */
int dsmd_net_configure(struct dsmd *d)
{
	struct dsm_net_cfg cfg = { 0 };
	struct keyfile kf;
	bool pair_send = d->pairkeys && d->pairkeys->send;
	int err;

	err = read_cfg(d, &cfg);
	if (err)
		return err;
	cfg.node_id = d->node_id;
	cfg.epoch_seconds = d->o.epoch_seconds;
	cfg.epoch_window = d->o.epoch_window;
	cfg.clock_offset_ns = clock_offset_ns();
	cfg.flags &= DSM_NET_F_SEND_SLOT1;
	if (!d->o.key_file) {
		/* No cluster key: every option of version 1 or 2 that arrives
		 * is refused (no key verifies it). Without pair keys to send
		 * with, nothing is labeled; with them, what goes to a node
		 * carries a version 3 option and what goes elsewhere none. */
		cfg.flags = 0;
		if (pair_send && labeling(&d->o))
			cfg.flags = label_flags(&d->o);
		err = drop_cluster_keys(d);
		if (!err)
			err = pair_maps(d, &cfg);
		if (err)
			return log_errno(LOG_ERR, err, "net: configure");
		if (pair_send)
			log_info("net: no key file: pair keys of generation %llu to nodes, "
				 "nothing to other hosts", (unsigned long long)d->pairkeys->send);
		else
			log_info("net: no key file%s: local checks only, peers are unlabeled",
				 d->pairkeys ? " and no pair keys sent with yet" : "");
		return 0;
	}
	err = parse_keyfile(d, d->o.key_file, &kf);
	if (err)
		return err;
	if (labeling(&d->o))
		cfg.flags |= label_flags(&d->o) |
			     (d->o.wire_version == DSM_OPT_VERSION_1 ? DSM_NET_F_SEND_V1 : 0);
	/* Pair mode stays on across the cluster keys' write (pair_maps
	 * writes it again): a reload never sends version 2 for a moment to
	 * peers that hold pair keys. */
	if (pair_send) {
		cfg.flags |= DSM_NET_F_PAIR;
		cfg.send_generation = (uint8_t)d->pairkeys->send;
	}
	err = install_keys(d, &kf, &cfg);
	if (!err)
		err = pair_maps(d, &cfg);
	if (err)
		return log_errno(LOG_ERR, err, "net: install keys");
	log_info("net: keys from %s: %u key%s, sending with key %d, %s%s", d->o.key_file, kf.n,
		 kf.n == 1 ? "" : "s", kf.send,
		 !labeling(&d->o) ? "not labeling egress (local checks only)" :
		 d->o.tcp_all ? "labeling egress, every TCP segment" : "labeling egress",
		 cfg.flags & DSM_NET_F_SEND_V1 ? ", wire version 1" : "");
	return 0;
}

/* Keep the clock offset current (it moves when the TAI offset is set or a
 * leap second passes); the epoch itself needs no one. About once a second. */
static bool watch_tick(struct dsmd *d);

bool dsmd_net_tick(struct dsmd *d)
{
	struct dsm_net_cfg cfg;
	int64_t off = clock_offset_ns();
	bool links_changed = watch_tick(d);

	if (read_cfg(d, &cfg))
		return links_changed;
	if (cfg.clock_offset_ns - off < 1000000 && off - cfg.clock_offset_ns < 1000000)
		return links_changed;
	cfg.clock_offset_ns = off;
	write_cfg(d, &cfg);
	return links_changed;
}

/* ---- links and routes that change after the start ----------------------- */

/*
 * One rtnetlink socket per namespace dsmd labels, subscribed to link and
 * IPv4 route changes, read at every tick (about once a second):
 *   - a link that appears gets its egress program (and room on its
 *     routes), as at the start;
 *   - a link that appears, disappears or is renamed reloads the policy,
 *     so that interface rules are resolved again by name;
 *   - a route that appears through a labeled link gets its MTU.
 * Between the change and the tick, a new link has no program (what
 * labeled sockets send through it leaves unlabeled, receivers decide it by
 * their unlabeled rules) and an interface rule keeps the index it had;
 * making, removing and renaming links is system net, which confined
 * labels do not hold.
 */
struct watch {
	int fd;                  /* in its namespace */
	int ns;                  /* -1: dsmd's own, else an index into o.netns */
	struct dsmd_link *links; /* as last seen */
	size_t nlinks;
};

static struct watch watches[DSMD_MAX_NETNS + 1];
static unsigned nwatches;


static int watch_here(const struct dsmd_opts *o, void *ctx)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE };
	struct watch *w = ctx;
	int err;

	(void)o;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->fd < 0)
		return -errno;
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(w->fd);
		w->fd = -1;
		return err;
	}
	err = dsmd_link_list(&w->links, &w->nlinks);
	if (err) {
		close(w->fd);
		w->fd = -1;
	}
	return err;
}

static int watch_open(struct dsmd *d)
{
	for (int ns = -1; ns < (int)d->o.n_netns; ns++) {
		struct watch *w = &watches[nwatches];
		int err;

		if (nwatches == sizeof(watches) / sizeof(watches[0]))
			break;
		*w = (struct watch){ .fd = -1, .ns = ns };
		err = in_netns(&d->o, ns, watch_here, w);
		if (err)
			return log_errno(LOG_ERR, err, "net: watch links in %s",
					 ns < 0 ? "own network namespace" : d->o.netns[ns]);
		nwatches++;
	}
	return 0;
}

/* What a watch socket has seen since the last tick. */
#define SAW_LINK  1
#define SAW_ROUTE 2

static int watch_drain(struct watch *w)
{
	static char buf[NL_WATCH_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	int saw = 0;

	for (;;) {
		ssize_t len = recv(w->fd, buf, sizeof(buf), 0);

		if (len < 0) {
			if (errno == ENOBUFS) /* lost some: look at everything */
				saw |= SAW_LINK | SAW_ROUTE;
			else if (errno != EINTR)
				break;
			continue;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
				saw |= SAW_LINK;
			else if (h->nlmsg_type == RTM_NEWROUTE)
				saw |= SAW_ROUTE;
		}
	}
	return saw;
}

/* Did a link appear, go or change its name? */
static bool links_differ(const struct dsmd_link *a, size_t na, const struct dsmd_link *b,
			 size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; !found && j < nb; j++)
			found = a[i].ifindex == b[j].ifindex && !strcmp(a[i].name, b[j].name);
		if (!found)
			return true;
	}
	return false;
}

struct watch_ctx {
	struct dsmd *d;
	struct watch *w;
	int saw;
	bool reload;
};

/* Is dsm's egress filter still on this namespace's loopback? It is
 * attached wherever dsmd labels; gone, dsm is being unloaded
 * (`dsmd --unload` detaches, then restores the routes), and the watch must
 * not put back what the unload takes away. */
static bool attached_here(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = DSM_LOOPBACK_IFINDEX,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO);

	return bpf_tc_query(&hook, &opts) == 0;
}

static int watch_update_here(const struct dsmd_opts *o, void *ctx)
{
	struct watch_ctx *c = ctx;
	struct watch *w = c->w;
	struct attach_ctx a = { .prog_eth = bpf_program__fd(c->d->net->progs.dsm_egress),
				.prog_l3 = bpf_program__fd(c->d->net->progs.dsm_egress_l3),
				.known = w->links, .nknown = w->nlinks };
	struct dsmd_link *now;
	size_t n;
	bool differ;
	int err = dsmd_link_list(&now, &n);

	if (err)
		return err;
	differ = links_differ(now, n, w->links, w->nlinks);
	/* New links need their program, new routes their MTU; links seen
	 * before keep what they have (only an unload takes it away). */
	if (labeling(o) && attached_here()) {
		if (differ) {
			a.only_new = true;
			err = attach_here(o, &a);
		}
		if (!err && (c->saw & SAW_ROUTE)) {
			a.only_new = false;
			a.routes_only = true;
			err = attach_here(o, &a);
		}
	}
	if (differ) {
		c->reload = true;
		free(w->links);
		w->links = now;
		w->nlinks = n;
	} else {
		free(now);
	}
	return err;
}

static void watch_close(void)
{
	for (unsigned i = 0; i < nwatches; i++) {
		if (watches[i].fd >= 0)
			close(watches[i].fd);
		free(watches[i].links);
	}
	nwatches = 0;
}

/* Did links change so that interface rules want a reload? */
static bool watch_tick(struct dsmd *d)
{
	bool reload = false;

	if (nwatches && !dsmd_bpf_pinned(d)) {
		log_info("net: dsm's pins are gone (unloaded): no longer watching links");
		watch_close();
		return false;
	}
	for (unsigned i = 0; i < nwatches; i++) {
		struct watch_ctx c = { .d = d, .w = &watches[i] };
		int err;

		if (watches[i].fd < 0)
			continue;
		c.saw = watch_drain(&watches[i]);
		if (!c.saw)
			continue;
		err = in_netns(&d->o, watches[i].ns, watch_update_here, &c);
		if (err)
			log_errno(LOG_ERR, err, "net: links changed in %s",
				  watches[i].ns < 0 ? "own network namespace"
						    : d->o.netns[watches[i].ns]);
		reload |= c.reload;
	}
	if (reload)
		log_info("net: links changed: reloading the policy, so that interface rules "
			 "follow the names");
	return reload;
}
