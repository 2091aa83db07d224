/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy as the LSM hooks see it: the active map, the generation, the
 * labels of tasks, and check(), the one place a verdict is made. The
 * decisions themselves are the shared library's (dsm/decide.h), the same
 * code dsmd and dsmctl run on the compiled policy; this header gives it
 * the map lookup and adds what only the kernel does: report a denial and
 * turn it into an allow when the subject or the node is permissive.
 * Anything unexpected (no policy map, no storage) denies.
 */
#ifndef DSM_BPF_POLICY_BPF_H
#define DSM_BPF_POLICY_BPF_H

#include "lsm_maps.bpf.h"
#include "report.bpf.h"

#include "dsm/decide.h"

static __always_inline dsm_pm_t policy_map(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dsm_policy, &zero);
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

/* ---- labels of tasks ----------------------------------------------------- */

/* The context of a task, or of its thread-group leader (threads of a
 * process labeled by dsmd at start-up may have no storage of their own). */
static __always_inline struct dsm_task_ctx *task_ctx(struct task_struct *t)
{
	struct dsm_task_ctx *c = bpf_task_storage_get(&dsm_tasks, t, 0, 0);

	if (c)
		return c;
	return bpf_task_storage_get(&dsm_tasks, t->group_leader, 0, 0);
}

/* A task with no context carries the policy's initial label. */
static __always_inline __u32 task_label(dsm_pm_t pm, struct task_struct *t)
{
	struct dsm_task_ctx *c = task_ctx(t);

	return c ? c->label : dsm_initial_label(pm);
}

static __always_inline __u32 current_label(dsm_pm_t pm)
{
	return task_label(pm, bpf_get_current_task_btf());
}

/* ---- verdicts ------------------------------------------------------------ */

/* One permission request; passed by pointer (BPF calls take five args). */
struct dsm_req {
	__u32 subject;
	__u32 node;    /* DSM_NODE_ANY for local subjects */
	__u32 target;
	__u32 perm;
	__u32 aux;
	__u16 qual;
	__u8  class;
	__u8  family;  /* class peer: AF_INET or AF_INET6 of addr */
	__be32 addr[4]; /* class peer: the sender's address */
};

static __always_inline void report_req(const struct dsm_req *r, __u32 verdict, __s32 err)
{
	union dsm_event_body b = {};

	b.d.class = r->class;
	b.d.family = r->family;
	b.d.perm = r->perm;
	b.d.subject = r->subject;
	/* A local subject is on this node; a peer may be of any (unlabeled). */
	b.d.subject_node = r->node == DSM_NODE_ANY && r->class != DSM_CLASS_PEER ? DSM_NODE_LOCAL
										 : r->node;
	b.d.target = r->target;
	b.d.aux = r->aux;
	__builtin_memcpy(b.d.addr, r->addr, sizeof(b.d.addr));
	report_task(&b, DSM_EV_DECISION, verdict, err);
}

/*
 * The rules do not allow @r: report it, and deny, unless the subject's
 * label or the node is permissive (then it is reported as such and
 * allowed). The slow path: the rule lookups already failed.
 */
static __noinline int deny_unless_permissive(dsm_pm_t pm, const struct dsm_req *r)
{
	if (dsm_permissive(pm, r->subject)) {
		count(DSM_CNT_PERMISSIVE);
		report_req(r, DSM_VERDICT_PERMISSIVE, 0);
		return 0;
	}
	count(DSM_CNT_DENIED);
	report_req(r, DSM_VERDICT_DENY, DSM_DENY);
	return DSM_DENY;
}

/* Deny @r whatever the mode: a packet that fails verification, a request
 * the kernel side refuses on its own terms. @err is what the caller gets
 * (and what the alarm says). */
static __noinline int deny_always(const struct dsm_req *r, __s32 err)
{
	count(DSM_CNT_DENIED);
	report_req(r, DSM_VERDICT_DENY, err);
	return err;
}

/* An internal error in a hook: deny, count, report with what is known. */
static __noinline int fail_closed(__u8 class, __u32 perm, __s32 err)
{
	struct dsm_req r = { .class = class, .perm = perm, .node = DSM_NODE_ANY };

	count(DSM_CNT_ERRORS);
	report_req(&r, DSM_VERDICT_DENY, err);
	return err;
}

/*
 * May @subject (on @node, DSM_NODE_ANY for local subjects) do @perm of
 * @class to @target? 0 or the errno to return (after reporting).
 */
static __always_inline int check(dsm_pm_t pm, __u8 class, __u16 qual, __u32 subject,
				 __u32 node, __u32 target, __u32 perm, __u32 aux)
{
	struct dsm_req r;

	if (dsm_perms(pm, class, qual, subject, node, target) & perm)
		return 0;
	r = (struct dsm_req){ .subject = subject, .node = node, .target = target,
			      .perm = perm, .aux = aux, .qual = qual, .class = class };
	return deny_unless_permissive(pm, &r);
}

/* check() of the current task on itself (class system, and fork). */
static __always_inline int check_self(__u8 class, __u32 perm, __u32 aux)
{
	dsm_pm_t pm = policy_map();
	__u32 label;

	if (!pm)
		return fail_closed(class, perm, DSM_DENY);
	label = current_label(pm);
	return check(pm, class, DSM_QUAL_ANY, label, DSM_NODE_ANY, label, perm, aux);
}

#endif /* DSM_BPF_POLICY_BPF_H */
