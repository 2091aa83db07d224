/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Labels and decisions: the one place a verdict is made. Every hook asks
 * dsm_check(); a denial is reported (ring buffer, counters) and turned into
 * an allow only if the node or the subject label is permissive. Anything
 * unexpected (no policy map, no storage) denies.
 */
#ifndef DSM_BPF_DECIDE_H
#define DSM_BPF_DECIDE_H

#define EPERM  1
#define ENOMEM 12
#define EACCES 13

/* The errno of every dsm denial. */
#define DSM_DENY (-EACCES)

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&dsm_counters, &which);

	if (c)
		*c += 1; /* per-CPU slot: no atomic needed */
}

static __always_inline void *policy_map(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dsm_policy, &zero);
}

static __always_inline struct dsm_pval *policy_get(void *pm, struct dsm_pkey *k)
{
	return bpf_map_lookup_elem(pm, k);
}

/*
 * The generation of the policy in force, 0 if unknown (0 never validates a
 * cache). Read it before policy_map(): dsmd bumps it after the swap, so a
 * decision cached under a generation comes from that policy or a newer
 * one, and a cache written across a reload is invalid at once.
 */
static __always_inline __u32 policy_gen(void)
{
	__u32 zero = 0, *g = bpf_map_lookup_elem(&dsm_policy_gen, &zero);

	return g ? *g : 0;
}

static __always_inline __u32 config_get(void *pm, __u8 item, __u32 dflt)
{
	struct dsm_pkey k = dsm_key_config(item);
	struct dsm_pval *v = policy_get(pm, &k);

	return v ? v->aux : dflt;
}

/* The context of a task, or of its thread-group leader (threads of a
 * process labeled by dsmd at start-up have no storage of their own). */
static __always_inline struct dsm_task_ctx *task_ctx(struct task_struct *t)
{
	struct dsm_task_ctx *c = bpf_task_storage_get(&dsm_tasks, t, 0, 0);

	if (c)
		return c;
	return bpf_task_storage_get(&dsm_tasks, t->group_leader, 0, 0);
}

/* A task with no context carries the policy's initial label. */
static __always_inline __u32 task_label(void *pm, struct task_struct *t)
{
	struct dsm_task_ctx *c = task_ctx(t);

	return c ? c->label : config_get(pm, DSM_CFG_INITIAL_LABEL, DSM_LABEL_INVALID);
}

static __always_inline __u32 current_label(void *pm)
{
	return task_label(pm, bpf_get_current_task_btf());
}

/* One permission request; passed by pointer (BPF calls take five args). */
struct dsm_req {
	__u32 subject;
	__u32 node;
	__u32 target;
	__u32 perm;
	__u32 aux;
	__u16 qual;
	__u8  class;
	__u8  pad;
};

static __noinline void report(const struct dsm_req *r, __u32 verdict, __s32 err)
{
	struct dsm_event *e = bpf_ringbuf_reserve(&dsm_events, sizeof(*e), 0);
	__u64 id;

	if (!e) {
		count(DSM_CNT_EVENTS_DROPPED);
		return;
	}
	id = bpf_get_current_pid_tgid();
	e->version = DSM_ABI_VERSION;
	e->class = r->class;
	e->perm = r->perm;
	e->time_ns = bpf_ktime_get_boot_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->subject = r->subject;
	/* A local subject is on this node; a peer may be of any (unlabeled). */
	e->subject_node = r->node == DSM_NODE_ANY && r->class != DSM_CLASS_PEER ? DSM_NODE_LOCAL
										  : r->node;
	e->target = r->target;
	e->verdict = verdict;
	e->err = err;
	e->aux = r->aux;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/* Slow path: the rule lookups found nothing. */
static __noinline int deny(void *pm, const struct dsm_req *r)
{
	struct dsm_pkey k = dsm_key_label(r->subject);
	struct dsm_pval *v;
	bool permissive;

	v = policy_get(pm, &k);
	permissive = (v && (v->perms & DSM_LABEL_F_PERMISSIVE)) ||
		     config_get(pm, DSM_CFG_MODE, DSM_MODE_ENFORCING) == DSM_MODE_PERMISSIVE;
	if (permissive) {
		count(DSM_CNT_PERMISSIVE);
		report(r, DSM_VERDICT_PERMISSIVE, 0);
		return 0;
	}
	count(DSM_CNT_DENIED);
	report(r, DSM_VERDICT_DENY, DSM_DENY);
	return DSM_DENY;
}

/* An internal error in a hook: deny, count, report with what is known. */
static __noinline int fail_closed(__u8 class, __u32 perm, __s32 err)
{
	struct dsm_req r = { .class = class, .perm = perm, .node = DSM_NODE_ANY };

	count(DSM_CNT_ERRORS);
	report(&r, DSM_VERDICT_DENY, err);
	return err;
}

/*
 * Everything the policy lets @subject (on @node) do of @class to @target:
 * the lookups of dsm_check() without a verdict, for the caches. The first
 * hit is complete (exact entries fold in their wildcard siblings).
 */
static __always_inline __u32 dsm_perms(void *pm, __u8 class, __u16 qual, __u32 subject,
				       __u32 node, __u32 target)
{
	struct dsm_pkey k = dsm_key_rule(class, qual, subject, node, target);
	struct dsm_pval *v;

	v = policy_get(pm, &k);
	if (!v && qual != DSM_QUAL_ANY) {
		k.qual = DSM_QUAL_ANY;
		v = policy_get(pm, &k);
	}
	if (!v && node != DSM_NODE_ANY) {
		k.node = DSM_NODE_ANY;
		v = policy_get(pm, &k);
	}
	return v ? v->perms : 0;
}

/*
 * May @subject (on @node, DSM_NODE_ANY for local subjects) do @perm of
 * @class to @target? The lookups of dsm_perms(): at most two O(1) lookups
 * on the fast path, three for a peer no rule names by node. The first
 * entry found decides, because the compiler folds the wildcards'
 * permissions into every exact entry (lib/policy_compile.c).
 */
static __always_inline int dsm_check(void *pm, __u8 class, __u16 qual, __u32 subject,
				     __u32 node, __u32 target, __u32 perm, __u32 aux)
{
	struct dsm_req r;

	if (dsm_perms(pm, class, qual, subject, node, target) & perm)
		return 0;
	r = (struct dsm_req){ .subject = subject, .node = node, .target = target,
			      .perm = perm, .aux = aux, .qual = qual, .class = class };
	return deny(pm, &r);
}

#endif
