// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Names of classes, permissions, socket families and types; printing. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

#include "policy_int.h"

#define NPERMS 8 /* per class; grows with the ABI */

static const char *const class_names[DSM_CLASS_MAX] = {
	[DSM_CLASS_PROCESS] = "process",
	[DSM_CLASS_FILE]    = "file",
	[DSM_CLASS_SOCKET]  = "socket",
	[DSM_CLASS_PEER]    = "peer",
	[DSM_CLASS_SYSTEM]  = "system",
	[DSM_CLASS_DSM]     = "dsm",
};

/* Indexed by bit number; must match the DSM_PERM_* values (checked below). */
static const char *const perm_names[DSM_CLASS_MAX][NPERMS] = {
	[DSM_CLASS_PROCESS] = { "fork", "transition", "signal", "ptrace" },
	[DSM_CLASS_FILE]    = { "exec" },
	[DSM_CLASS_SOCKET]  = { "create", "bind", "listen", "connect", "accept",
				"send", "recv" },
	[DSM_CLASS_PEER]    = { "recv" },
	[DSM_CLASS_SYSTEM]  = { "bpf", "module", "dsm_files", "dsm_read", "mount", "kernel",
				"cgroup", "net" },
	[DSM_CLASS_DSM]     = { "query", "peerlabel", "admin" },
};

_Static_assert(DSM_PERM_FORK == 1u << 0 && DSM_PERM_TRANSITION == 1u << 1 &&
	       DSM_PERM_SIGNAL == 1u << 2 && DSM_PERM_PTRACE == 1u << 3,
	       "process permission names follow the bit order");
_Static_assert(DSM_PERM_EXEC == 1u << 0, "file permission names");
_Static_assert(DSM_PERM_CREATE == 1u << 0 && DSM_PERM_BIND == 1u << 1 &&
	       DSM_PERM_LISTEN == 1u << 2 && DSM_PERM_CONNECT == 1u << 3 &&
	       DSM_PERM_ACCEPT == 1u << 4 && DSM_PERM_SEND == 1u << 5 &&
	       DSM_PERM_RECV == 1u << 6, "socket permission names");
_Static_assert(DSM_PERM_PEER_RECV == 1u << 0, "peer permission names");
_Static_assert(DSM_PERM_BPF == 1u << 0 && DSM_PERM_MODULE == 1u << 1 &&
	       DSM_PERM_DSM_FILES == 1u << 2 && DSM_PERM_DSM_READ == 1u << 3 &&
	       DSM_PERM_MOUNT == 1u << 4 && DSM_PERM_KERNEL == 1u << 5 &&
	       DSM_PERM_CGROUP == 1u << 6 && DSM_PERM_NET == 1u << 7,
	       "system permission names");
_Static_assert(DSM_PERM_QUERY == 1u << 0 && DSM_PERM_PEERLABEL == 1u << 1 &&
	       DSM_PERM_ADMIN == 1u << 2, "dsm permission names");

const char *dsm_class_name(unsigned int class)
{
	return class < DSM_CLASS_MAX ? class_names[class] : NULL;
}

int dsm_class_by_name(const char *name)
{
	for (unsigned int c = 1; c < DSM_CLASS_MAX; c++)
		if (strcmp(class_names[c], name) == 0)
			return (int)c;
	return -ENOENT;
}

const char *dsm_perm_name(unsigned int class, uint32_t bit)
{
	if (class >= DSM_CLASS_MAX || bit == 0 || (bit & (bit - 1)))
		return NULL;
	for (unsigned int i = 0; i < NPERMS; i++)
		if (bit == 1u << i)
			return perm_names[class][i];
	return NULL;
}

uint32_t dsm_perm_by_name(unsigned int class, const char *name)
{
	if (class >= DSM_CLASS_MAX)
		return 0;
	for (unsigned int i = 0; i < NPERMS; i++)
		if (perm_names[class][i] && strcmp(perm_names[class][i], name) == 0)
			return 1u << i;
	return 0;
}

uint32_t dsm_class_all_perms(unsigned int class)
{
	uint32_t all = 0;

	if (class >= DSM_CLASS_MAX)
		return 0;
	for (unsigned int i = 0; i < NPERMS; i++)
		if (perm_names[class][i])
			all |= 1u << i;
	return all;
}

const char *dsm_family_name(unsigned int family)
{
	switch (family) {
	case AF_UNIX:    return "unix";
	case AF_INET:    return "inet";
	case AF_INET6:   return "inet6";
	case AF_NETLINK: return "netlink";
	case AF_PACKET:  return "packet";
	default:         return NULL;
	}
}

const char *dsm_socktype_name(unsigned int type)
{
	switch (type) {
	case SOCK_STREAM:    return "stream";
	case SOCK_DGRAM:     return "dgram";
	case SOCK_RAW:       return "raw";
	case SOCK_SEQPACKET: return "seqpacket";
	default:             return NULL;
	}
}

/* Append to a bounded buffer; tracks the length snprintf would need. */
struct out {
	char *buf;
	size_t len;
	size_t pos;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->pos += (size_t)r;
}

static int done(struct out *o)
{
	if (o->len && o->pos >= o->len)
		o->buf[o->len - 1] = '\0';
	else if (o->len && o->pos == 0)
		o->buf[0] = '\0';
	return o->pos > INT32_MAX ? INT32_MAX : (int)o->pos;
}

static void put_perms(struct out *o, unsigned int class, uint32_t perms)
{
	uint32_t unknown = 0;
	bool one = perms && !(perms & (perms - 1));

	if (one && dsm_perm_name(class, perms)) {
		put(o, "%s", dsm_perm_name(class, perms));
		return;
	}
	put(o, "{");
	for (unsigned int i = 0; i < 32; i++) {
		const char *n;

		if (!(perms & (1u << i)))
			continue;
		n = dsm_perm_name(class, 1u << i);
		if (n)
			put(o, " %s", n);
		else
			unknown |= 1u << i;
	}
	if (unknown)
		put(o, " 0x%x", unknown);
	put(o, " }");
}

int dsm_perms_format(unsigned int class, uint32_t perms, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	put_perms(&o, class, perms);
	return done(&o);
}

static void put_label(struct out *o, const struct dsm_policy *p, uint32_t id)
{
	const char *n = p ? dsm_policy_label_name(p, id) : NULL;

	if (n)
		put(o, "%s", n);
	else if (id == DSM_LABEL_ANY)
		put(o, "any");
	else
		put(o, "%u", id);
}

static void put_node(struct out *o, const struct dsm_policy *p, uint32_t id)
{
	const char *n = p ? dsm_policy_node_name(p, id) : NULL;

	if (id == DSM_NODE_ANY)
		put(o, "any");
	else if (n)
		put(o, "%s", n);
	else
		put(o, "%u", id);
}

static void put_rule(struct out *o, const struct dsm_policy *p,
		     const struct dsm_key_rule *k, const struct dsm_pval *v)
{
	const char *cn = dsm_class_name(k->class);

	put(o, "allow ");
	put_label(o, p, k->subject);
	if (k->class == DSM_CLASS_PEER || k->node != DSM_NODE_ANY) {
		put(o, "@");
		put_node(o, p, k->node);
	}
	put(o, " ");
	put_label(o, p, k->target);
	if (cn)
		put(o, " : %s", cn);
	else
		put(o, " : class%u", k->class);
	if (k->qual != DSM_QUAL_ANY) {
		const char *f = dsm_family_name(k->qual >> 8);
		const char *t = dsm_socktype_name(k->qual & 0xff);

		if (f)
			put(o, " %s", f);
		else
			put(o, " family%u", k->qual >> 8);
		if (t)
			put(o, " %s", t);
		else
			put(o, " type%u", k->qual & 0xff);
	}
	put(o, " ");
	put_perms(o, k->class, v->perms);
}

static void put_iface(struct out *o, uint32_t ifindex, uint32_t netns)
{
	if (ifindex)
		put(o, " ifindex %u", ifindex);
	if (netns)
		put(o, " netns %u", netns);
}

static void put_config(struct out *o, const struct dsm_policy *p,
		       const struct dsm_key_config *k, const struct dsm_pval *v)
{
	switch (k->item) {
	case DSM_CFG_MODE:
		put(o, "mode %s", v->aux == DSM_MODE_PERMISSIVE ? "permissive"
				  : v->aux == DSM_MODE_ENFORCING ? "enforcing"
				  : "?");
		break;
	case DSM_CFG_INITIAL_LABEL:
		put(o, "initial ");
		put_label(o, p, v->aux);
		break;
	case DSM_CFG_POLICY_VERSION:
		put(o, "version %llu", (unsigned long long)v->perms << 32 | v->aux);
		break;
	case DSM_CFG_FILE_LABEL:
		put(o, "file default : ");
		put_label(o, p, v->aux);
		break;
	case DSM_CFG_NODE_ID:
		put(o, "node-id ");
		put_node(o, p, v->aux);
		break;
	case DSM_CFG_SERVICE_MANAGER:
		put(o, "service_manager ");
		put_label(o, p, v->aux);
		break;
	case DSM_CFG_DSMD_LABEL:
		put(o, "dsmd-label ");
		put_label(o, p, v->aux);
		break;
	case DSM_CFG_NET_PLENS:
		put(o, "unlabeled prefix lengths [%u] 0x%08x%08x", k->index, v->aux, v->perms);
		break;
	default:
		put(o, "config %u[%u] = %u/%u", k->item, k->index, v->perms, v->aux);
		break;
	}
}

int dsm_entry_format(const struct dsm_policy *p, const struct dsm_pkey *k,
		     const struct dsm_pval *v, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	char a6[INET6_ADDRSTRLEN];
	const uint8_t *a;

	switch (k->kind) {
	case DSM_KEY_RULE:
		put_rule(&o, p, &k->rule, v);
		break;
	case DSM_KEY_TRANS:
		put(&o, "transition ");
		put_label(&o, p, k->trans.subject);
		put(&o, " ");
		put_label(&o, p, k->trans.file_label);
		put(&o, " -> ");
		put_label(&o, p, v->aux);
		break;
	case DSM_KEY_LABEL:
		put(&o, "label ");
		put_label(&o, p, k->label.label);
		put(&o, " = %u%s%s", k->label.label,
		    v->perms & DSM_LABEL_F_PERMISSIVE ? " permissive" : "",
		    v->perms & DSM_LABEL_F_SYSTEM ? " system" : "");
		break;
	case DSM_KEY_FILE:
		put(&o, "file dev %u:%u ino %llu : ", k->file.dev >> 20, k->file.dev & 0xfffff,
		    (unsigned long long)dsm_key_file_ino(k));
		put_label(&o, p, v->aux);
		break;
	case DSM_KEY_NET:
		a = (const uint8_t *)&k->net.prefix;
		put(&o, "unlabeled %u.%u.%u.%u/%u", a[0], a[1], a[2], a[3], k->net.plen);
		put_iface(&o, k->net.ifindex, k->net.netns);
		put(&o, " -> ");
		put_label(&o, p, v->aux);
		break;
	case DSM_KEY_NET6:
		if (!inet_ntop(AF_INET6, k->net6.prefix, a6, sizeof(a6)))
			snprintf(a6, sizeof(a6), "?");
		put(&o, "unlabeled %s/%u", a6, k->net6.plen);
		put_iface(&o, k->net6.ifindex, k->net6.netns);
		put(&o, " -> ");
		put_label(&o, p, v->aux);
		break;
	case DSM_KEY_CONFIG:
		put_config(&o, p, &k->config, v);
		break;
	default:
		put(&o, "kind%u", k->kind);
		break;
	}
	return done(&o);
}

int dsm_net_rule_prefix_format(const struct dsm_net_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(r->family == AF_INET ? AF_INET : AF_INET6, r->prefix, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	return snprintf(buf, len, "%s/%u", a, r->plen);
}

int dsm_file_key(uint64_t st_dev, uint64_t st_ino, struct dsm_pkey *key)
{
	/* The kernel's internal dev_t is 12 bits of major, 20 of minor. */
	unsigned int maj = major((dev_t)st_dev), min = minor((dev_t)st_dev);

	if (maj >= 1u << 12 || min >= 1u << 20)
		return -ERANGE;
	*key = dsm_key_file(maj << 20 | min, st_ino);
	return 0;
}
