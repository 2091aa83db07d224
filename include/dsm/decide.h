/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dsm's decisions, one source for the kernel side and the host. The BPF
 * programs decide with it on the policy map; dsmd, dsmctl and the unit tests
 * decide with it on a compiled policy (lib/policy.h), so what userspace
 * predicts is what the kernel does, fallbacks included.
 *
 * Everything reads the policy through dsm_policy_get(pm, key):
 *   BPF   pm is the active inner policy map, the lookup a map lookup
 *         (bpf/policy_get.bpf.h);
 *   host  pm is a const struct dsm_policy *, the lookup a binary search of
 *         its compiled, resolved and node-local entries.
 * No function here reports or counts: the caller decides what a denial
 * costs (bpf/policy.bpf.h reports it on the ring buffer).
 */
#ifndef DSM_DECIDE_H
#define DSM_DECIDE_H

#include "dsm/abi.h"

#ifdef __bpf__
#include "policy_get.bpf.h" /* dsm_pm_t, dsm_policy_get() */
#define DSM_DECIDE static __always_inline
#else
#include <stdbool.h>
#include "policy.h"
typedef const struct dsm_policy *dsm_pm_t;
static inline const struct dsm_pval *dsm_policy_get(dsm_pm_t pm, const struct dsm_pkey *k)
{
	return dsm_policy_lookup(pm, k);
}
#define DSM_DECIDE static inline
#endif

/* ---- configuration and labels ------------------------------------------- */

DSM_DECIDE __u32 dsm_config(dsm_pm_t pm, __u8 item, __u32 dflt)
{
	struct dsm_pkey k = dsm_key_config(item);
	const struct dsm_pval *v = dsm_policy_get(pm, &k);

	return v ? v->aux : dflt;
}

DSM_DECIDE __u32 dsm_initial_label(dsm_pm_t pm)
{
	return dsm_config(pm, DSM_CFG_INITIAL_LABEL, DSM_LABEL_INVALID);
}

/* DSM_LABEL_F_* of a label; 0 for a label the policy does not define. */
DSM_DECIDE __u32 dsm_label_flags(dsm_pm_t pm, __u32 label)
{
	struct dsm_pkey k = dsm_key_label(label);
	const struct dsm_pval *v = dsm_policy_get(pm, &k);

	return v ? v->perms : 0;
}

/* Is a would-be denial of this subject only reported (permissive label or
 * node)? */
DSM_DECIDE bool dsm_permissive(dsm_pm_t pm, __u32 subject)
{
	return (dsm_label_flags(pm, subject) & DSM_LABEL_F_PERMISSIVE) ||
	       dsm_config(pm, DSM_CFG_MODE, DSM_MODE_ENFORCING) == DSM_MODE_PERMISSIVE;
}

/* ---- permissions --------------------------------------------------------- */

/*
 * The families whose sockets a rule with no family (DSM_QUAL_ANY) covers:
 * those dsm labels or that stay on the node. Traffic of any other family
 * (SMC, TIPC, VSOCK, RDS, XDP, CAN, Bluetooth ...) bypasses the labels, so
 * no wildcard lets a label create such a socket.
 */
DSM_DECIDE bool dsm_qual_any_covers(__u16 qual)
{
	switch (qual >> 8) {
	case 1:  /* AF_UNIX */
	case 2:  /* AF_INET */
	case 10: /* AF_INET6 */
	case 15: /* AF_KEY */
	case 16: /* AF_NETLINK */
	case 17: /* AF_PACKET */
	case 38: /* AF_ALG */
		return true;
	default:
		return false;
	}
}

/*
 * Everything the policy lets @subject (on @node) do of @class to @target:
 * the exact key, then the wildcard socket qualifier (for families it
 * covers), then the wildcard node (label@any). The first entry found is
 * complete, because the compiler folds the wildcards' permissions into
 * every exact entry (lib/policy_compile.c): at most two lookups on the
 * fast path, three for a peer no rule names by node.
 */
/* The entry dsm_perms() decides on for the RULE key *k, which is left as
 * the key found (the last one tried when none is): so the host can say
 * which entry, and which statements behind it, a decision came from
 * (lib/policy_explain.c). */
DSM_DECIDE const struct dsm_pval *dsm_rule_lookup(dsm_pm_t pm, struct dsm_pkey *k)
{
	const struct dsm_pval *v = dsm_policy_get(pm, k);

	if (!v && k->rule.qual != DSM_QUAL_ANY && dsm_qual_any_covers(k->rule.qual)) {
		k->rule.qual = DSM_QUAL_ANY;
		v = dsm_policy_get(pm, k);
	}
	if (!v && k->rule.node != DSM_NODE_ANY) {
		k->rule.node = DSM_NODE_ANY;
		v = dsm_policy_get(pm, k);
	}
	return v;
}

DSM_DECIDE __u32 dsm_perms(dsm_pm_t pm, __u8 class, __u16 qual, __u32 subject, __u32 node,
			   __u32 target)
{
	struct dsm_pkey k = dsm_key_rule(class, qual, subject, node, target);
	const struct dsm_pval *v = dsm_rule_lookup(pm, &k);

	return v ? v->perms : 0;
}

/* ---- executables and exec ------------------------------------------------ */

/* The label of an executable: its own, the policy's default file label, or
 * the initial label. */
DSM_DECIDE __u32 dsm_file_label(dsm_pm_t pm, __u32 dev, __u64 ino)
{
	struct dsm_pkey k = dsm_key_file(dev, ino);
	const struct dsm_pval *v = dsm_policy_get(pm, &k);

	if (v)
		return v->aux;
	return dsm_config(pm, DSM_CFG_FILE_LABEL, dsm_initial_label(pm));
}

/* The label the policy's transitions give @subject executing a file of
 * @file_label: the transition's, else @subject. */
DSM_DECIDE __u32 dsm_transition(dsm_pm_t pm, __u32 subject, __u32 file_label)
{
	struct dsm_pkey k = dsm_key_trans(subject, file_label);
	const struct dsm_pval *v = dsm_policy_get(pm, &k);

	return v ? v->aux : subject;
}

/* What an exec decides: the label after it, and the first request the
 * policy denies, if any (in permissive mode the exec goes on as if it
 * were allowed, into next). */
struct dsm_exec_decision {
	__u32 next;   /* the label after exec, if allowed */
	__u32 class;  /* 0 when allowed; else the class of the denied request, */
	__u32 perm;   /* its permission */
	__u32 target; /* and its target label */
};

DSM_DECIDE void dsm_exec_deny(struct dsm_exec_decision *d, __u32 class, __u32 perm, __u32 target)
{
	if (d->class)
		return; /* the first denial is the one reported */
	d->class = class;
	d->perm = perm;
	d->target = target;
}

/*
 * exec by a task of label @subject of a file of label @file_label; @req is
 * the label requested through dsmd (dsmctl exec --label), or 0; @pid1: the
 * task is PID 1 of the initial PID namespace.
 *
 *   1. The subject needs file:exec on the file's label.
 *   2. The new label: the requested one (which needs process:transition),
 *      else the policy's transition, else unchanged.
 *   3. The service manager's label (DSM_CFG_SERVICE_MANAGER) is PID 1's
 *      alone: a task in it other than PID 1 leaves it at exec (for the
 *      transition's label, else the initial label), and no exec enters it.
 *   4. A label holding system permissions (DSM_LABEL_F_SYSTEM) is entered
 *      by exec only from the service manager's label.
 */
DSM_DECIDE struct dsm_exec_decision dsm_exec(dsm_pm_t pm, __u32 subject, __u32 file_label,
					     __u32 req, bool pid1)
{
	struct dsm_exec_decision d = { .next = subject };
	__u32 manager = dsm_config(pm, DSM_CFG_SERVICE_MANAGER, DSM_LABEL_INVALID);

	if (!(dsm_perms(pm, DSM_CLASS_FILE, DSM_QUAL_ANY, subject, DSM_NODE_ANY, file_label) &
	      DSM_PERM_EXEC))
		dsm_exec_deny(&d, DSM_CLASS_FILE, DSM_PERM_EXEC, file_label);
	if (req) {
		d.next = req;
		if (!(dsm_perms(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, subject, DSM_NODE_ANY, req) &
		      DSM_PERM_TRANSITION))
			dsm_exec_deny(&d, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, req);
	} else {
		d.next = dsm_transition(pm, subject, file_label);
	}
	if (manager && subject == manager && !pid1 && d.next == manager)
		d.next = dsm_initial_label(pm);
	if (d.next == subject)
		return d;
	if ((manager && d.next == manager) ||
	    ((dsm_label_flags(pm, d.next) & DSM_LABEL_F_SYSTEM) && subject != manager))
		dsm_exec_deny(&d, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, d.next);
	return d;
}

/*
 * The label a task already running when dsm starts gets: PID 1 the service
 * manager's label when there is one; every other task the transition from
 * the initial label on its executable's label, except that only dsmd and
 * PID 1 are given a label holding system permissions (any other task keeps
 * the initial label). @dsmd (dsmd itself) was started by the service
 * manager before dsm was there to see it: it gets the manager's transition
 * for its executable when there is one, else the initial label's.
 */
DSM_DECIDE __u32 dsm_startup_label(dsm_pm_t pm, __u32 file_label, bool pid1, bool dsmd)
{
	__u32 initial = dsm_initial_label(pm);
	__u32 manager = dsm_config(pm, DSM_CFG_SERVICE_MANAGER, DSM_LABEL_INVALID);
	__u32 label;

	if (pid1 && manager)
		return manager;
	if (dsmd && manager && manager != initial) {
		label = dsm_transition(pm, manager, file_label);
		if (label != manager)
			return label;
	}
	label = dsm_transition(pm, initial, file_label);
	if (label == manager && !pid1)
		return initial;
	if ((dsm_label_flags(pm, label) & DSM_LABEL_F_SYSTEM) && !pid1 && !dsmd)
		return initial;
	return label;
}

/* ---- unlabeled peers ----------------------------------------------------- */

static inline __u32 dsm_be32_to_host(__be32 v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (__u32)v;
#else
	return __builtin_bswap32((__u32)v);
#endif
}

/* The mask of prefix lengths in use, word @index of item NET_PLENS. */
DSM_DECIDE __u64 dsm_plens(dsm_pm_t pm, __u16 index)
{
	struct dsm_pkey k = dsm_key_config_at(DSM_CFG_NET_PLENS, index);
	const struct dsm_pval *v = dsm_policy_get(pm, &k);

	return v ? (__u64)v->aux << 32 | v->perms : 0;
}

/*
 * The label the unlabeled rules give an IPv4 source arriving on interface
 * (@ifindex, @netns): the longest prefix wins, a rule naming the interface
 * before one that does not. DSM_LABEL_INVALID when no rule matches (no
 * label: no rule allows it). Only the prefix lengths some rule uses cost a
 * lookup.
 */
DSM_DECIDE __u32 dsm_unlabeled4(dsm_pm_t pm, __be32 saddr, __u32 ifindex, __u32 netns)
{
	__u64 any = dsm_plens(pm, DSM_PLENS_V4_ANY);
	__u64 dev = ifindex ? dsm_plens(pm, DSM_PLENS_V4_DEV) : 0;
	__u32 addr = dsm_be32_to_host(saddr);

	for (int plen = 32; plen >= 0; plen--) {
		__u32 mask = plen ? ~0u << (32 - plen) : 0;
		__be32 prefix = (__be32)dsm_be32_to_host(addr & mask);
		const struct dsm_pval *v;
		struct dsm_pkey k;

		if (!((any | dev) >> plen & 1))
			continue;
		if (dev >> plen & 1) {
			k = dsm_key_net(prefix, (__u8)plen, ifindex, netns);
			v = dsm_policy_get(pm, &k);
			if (v)
				return v->aux;
		}
		if (any >> plen & 1) {
			k = dsm_key_net(prefix, (__u8)plen, 0, 0);
			v = dsm_policy_get(pm, &k);
			if (v)
				return v->aux;
		}
	}
	return DSM_LABEL_INVALID;
}

/* Is prefix length @plen (0..128) in use in the three-word mask m0..m2? */
DSM_DECIDE bool dsm_plen6_used(__u64 m0, __u64 m1, __u64 m2, int plen)
{
	__u64 w = plen < 64 ? m0 : plen < 128 ? m1 : m2;

	return (w >> (plen & 63)) & 1;
}

/* The first @plen bits of an IPv6 address (network byte order). */
DSM_DECIDE void dsm_prefix6(const __be32 addr[4], int plen, __be32 out[4])
{
	for (int w = 0; w < 4; w++) {
		int bits = plen - 32 * w;
		__u32 mask = bits >= 32 ? ~0u : bits <= 0 ? 0 : ~0u << (32 - bits);

		out[w] = (__be32)dsm_be32_to_host(dsm_be32_to_host(addr[w]) & mask);
	}
}

/*
 * dsm_unlabeled4() for an IPv6 source, as a walk over this state: step 0
 * reads which prefix lengths some rule uses, steps 1..129 try the prefix
 * lengths 128 down to 0. The BPF side drives it with bpf_loop(), so that
 * the verifier checks one step once rather than 129 of them on every path
 * into the receive check (most of that program's verification time), and
 * keeps the policy keys in the callback's frame; the host drives it with
 * a plain loop (dsm_unlabeled6).
 */
struct dsm_un6_walk {
	dsm_pm_t pm;
	__be32   saddr[4];
	__u32    ifindex, netns;
	__u64    any[3], dev[3]; /* the prefix lengths in use (dsm_plen6_used) */
	__u32    label;          /* the answer: DSM_LABEL_INVALID until found */
};

#define DSM_UN6_STEPS 130

DSM_DECIDE void dsm_un6_begin(struct dsm_un6_walk *w, dsm_pm_t pm, const __be32 saddr[4],
			      __u32 ifindex, __u32 netns)
{
	w->pm = pm;
	for (int i = 0; i < 4; i++)
		w->saddr[i] = saddr[i];
	w->ifindex = ifindex;
	w->netns = netns;
	w->label = DSM_LABEL_INVALID;
}

/* Step 0: 1 (stop) when no IPv6 rule exists: the answer is no label. */
DSM_DECIDE int dsm_un6_plens(struct dsm_un6_walk *w)
{
	for (__u16 i = 0; i < 3; i++) {
		w->any[i] = dsm_plens(w->pm, DSM_PLENS_V6_ANY + i);
		w->dev[i] = w->ifindex ? dsm_plens(w->pm, DSM_PLENS_V6_DEV + i) : 0;
	}
	return !(w->any[0] | w->any[1] | w->any[2] | w->dev[0] | w->dev[1] | w->dev[2]);
}

/* Step @i of the walk: 1 when it is over (the label found, or no rule),
 * else 0. */
DSM_DECIDE int dsm_un6_step(__u32 i, struct dsm_un6_walk *w)
{
	int plen = DSM_UN6_STEPS - 1 - (int)(i & 0xff);
	const struct dsm_pval *v;
	struct dsm_pkey k;
	bool any, dev;

	if (i == 0)
		return dsm_un6_plens(w);
	if (plen < 0)
		return 1;
	any = dsm_plen6_used(w->any[0], w->any[1], w->any[2], plen);
	dev = dsm_plen6_used(w->dev[0], w->dev[1], w->dev[2], plen);
	if (!any && !dev)
		return 0;
	/* One key, masked in place: the step's frame stays at one key. */
	k = dsm_key_net6(w->saddr, (__u8)plen, w->ifindex, w->netns);
	dsm_prefix6(k.net6.prefix, plen, k.net6.prefix);
	if (dev) {
		v = dsm_policy_get(w->pm, &k);
		if (v) {
			w->label = v->aux;
			return 1;
		}
	}
	if (any) {
		k.net6.ifindex = 0;
		k.net6.netns = 0;
		v = dsm_policy_get(w->pm, &k);
		if (v) {
			w->label = v->aux;
			return 1;
		}
	}
	return 0;
}

#ifndef __bpf__
DSM_DECIDE __u32 dsm_unlabeled6(dsm_pm_t pm, const __be32 saddr[4], __u32 ifindex, __u32 netns)
{
	struct dsm_un6_walk w;

	dsm_un6_begin(&w, pm, saddr, ifindex, netns);
	for (__u32 i = 0; i < DSM_UN6_STEPS; i++)
		if (dsm_un6_step(i, &w))
			break;
	return w.label;
}
#endif

#endif /* DSM_DECIDE_H */
