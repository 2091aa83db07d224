/* SPDX-License-Identifier: GPL-2.0 */
/* Process hooks: fork, exec (file check, transitions), ptrace. */
#ifndef DSM_BPF_TASK_BPF_H
#define DSM_BPF_TASK_BPF_H

#include "policy.bpf.h"

#define PTRACE_MODE_ATTACH 0x02
#define DSM_CLONE_INTO_CGROUP 0x200000000ULL /* uapi/linux/sched.h, clone3 only */

/*
 * fork/clone is a permission of the subject on itself. The child inherits
 * the parent's context; a parent without one (the initial label) has
 * children without one, which costs no storage at all. clone3() with
 * CLONE_INTO_CGROUP places the child in a cgroup of the caller's choice
 * without a write to cgroup.procs: that is `system cgroup`, as the write
 * would be (one bit test for every other fork).
 */
SEC("lsm/task_alloc")
int BPF_PROG(hook_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	struct dsm_task_ctx *parent, *child;
	dsm_pm_t pm;
	__u32 label;
	int err;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_FORK, DSM_DENY);
	parent = task_ctx(bpf_get_current_task_btf());
	label = parent ? parent->label : dsm_initial_label(pm);
	err = check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, label, DSM_NODE_ANY, label,
		    DSM_PERM_FORK, 0);
	if (!err && (clone_flags & DSM_CLONE_INTO_CGROUP))
		err = check(pm, DSM_CLASS_SYSTEM, DSM_QUAL_ANY, label, DSM_NODE_ANY, label,
			    DSM_PERM_CGROUP, 0);
	if (err || !parent)
		return err;
	child = bpf_task_storage_get(&dsm_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!child)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_FORK, -ENOMEM);
	child->label = label;
	return 0;
}

/*
 * exec: decided here by the shared library (dsm_exec(): file exec, the
 * requested or the policy's transition, the service manager's rules) and
 * applied at bprm_committed_creds, past the point of no return, so a failed
 * exec never changes a label. A label change runs the new image in
 * secure-exec mode (AT_SECURE: the dynamic loader ignores LD_PRELOAD and
 * the like), so the old label cannot put code into the new one.
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(hook_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct inode *inode = bprm->file->f_inode;
	struct dsm_exec_decision d;
	struct dsm_task_ctx *c;
	__u32 label, flabel, req = 0;
	dsm_pm_t pm;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_FILE, DSM_PERM_EXEC, DSM_DENY);
	c = bpf_task_storage_get(&dsm_tasks, cur, 0, 0);
	label = c ? c->label : task_label(pm, cur);
	if (c && (c->flags & DSM_TASK_F_REQUESTED))
		req = c->req_label;
	flabel = dsm_file_label(pm, inode->i_sb->s_dev, inode->i_ino);
	d = dsm_exec(pm, label, flabel, req, cur->tgid == 1);
	if (d.class) {
		struct dsm_req r = { .subject = label, .node = DSM_NODE_ANY, .target = d.target,
				     .perm = d.perm, .qual = DSM_QUAL_ANY, .class = (__u8)d.class };
		int err = deny_unless_permissive(pm, &r);

		if (err)
			return err; /* permissive: the exec goes on as if allowed */
	}
	/* A thread without storage of its own carries its leader's label; the
	 * exec makes it the leader and ends the old one, so it needs its own
	 * context to keep that label. */
	if (!c && (d.next != dsm_initial_label(pm) || label != d.next)) {
		c = bpf_task_storage_get(&dsm_tasks, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!c)
			return fail_closed(DSM_CLASS_FILE, DSM_PERM_EXEC, -ENOMEM);
		c->label = label;
	}
	if (!c)
		return 0;
	if (d.next != label && bpf_bprm_opts_set(bprm, BPF_F_BPRM_SECUREEXEC))
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, DSM_DENY);
	c->exec_label = d.next;
	c->flags |= DSM_TASK_F_EXEC_PENDING;
	return 0;
}

SEC("lsm/bprm_committed_creds")
int BPF_PROG(hook_bprm_committed, struct linux_binprm *bprm)
{
	struct dsm_task_ctx *c = bpf_task_storage_get(&dsm_tasks, bpf_get_current_task_btf(), 0, 0);

	if (c && (c->flags & DSM_TASK_F_EXEC_PENDING)) {
		c->label = c->exec_label;
		c->flags &= ~(DSM_TASK_F_EXEC_PENDING | DSM_TASK_F_REQUESTED);
	}
	return 0;
}

/* Only attaching is a ptrace; procfs reads (PTRACE_MODE_READ) are not. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(hook_ptrace_access, struct task_struct *child, unsigned int mode, int ret)
{
	dsm_pm_t pm;

	if (ret)
		return ret;
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_PTRACE, DSM_DENY);
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, current_label(pm), DSM_NODE_ANY,
		     task_label(pm, child), DSM_PERM_PTRACE, 0);
}

/* PTRACE_TRACEME: the parent becomes the tracer of the current task. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(hook_ptrace_traceme, struct task_struct *parent, int ret)
{
	dsm_pm_t pm;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_PTRACE, DSM_DENY);
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, task_label(pm, parent), DSM_NODE_ANY,
		     current_label(pm), DSM_PERM_PTRACE, 0);
}

#endif /* DSM_BPF_TASK_BPF_H */
