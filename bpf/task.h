/* SPDX-License-Identifier: GPL-2.0 */
/* Process hooks: fork, exec (file check, transitions), signals, ptrace. */
#ifndef DSM_BPF_TASK_H
#define DSM_BPF_TASK_H

#define PTRACE_MODE_ATTACH 0x02

/*
 * fork/clone is a permission of the subject on itself. The child inherits
 * the parent's context; a parent without one (the initial label) has
 * children without one, which costs no storage at all.
 */
SEC("lsm/task_alloc")
int BPF_PROG(hook_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	struct dsm_task_ctx *parent, *child;
	void *pm;
	__u32 label;
	int err;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_FORK, DSM_DENY);
	parent = task_ctx(bpf_get_current_task_btf());
	label = parent ? parent->label : config_get(pm, DSM_CFG_INITIAL_LABEL, DSM_LABEL_INVALID);
	err = dsm_check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, label, DSM_NODE_ANY, label,
			DSM_PERM_FORK, 0);
	if (err || !parent)
		return err;
	child = bpf_task_storage_get(&dsm_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!child)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_FORK, -ENOMEM);
	child->label = label;
	return 0;
}

/* The label of an executable: its own, the policy's default file label,
 * or the initial label. */
static __always_inline __u32 file_label(void *pm, struct file *file)
{
	struct inode *inode = file->f_inode;
	struct dsm_pkey k = dsm_key_file(inode->i_sb->s_dev, inode->i_ino);
	struct dsm_pval *v = policy_get(pm, &k);

	if (v)
		return v->aux;
	k = dsm_key_config(DSM_CFG_FILE_LABEL);
	v = policy_get(pm, &k);
	return v ? v->aux : config_get(pm, DSM_CFG_INITIAL_LABEL, DSM_LABEL_INVALID);
}

/*
 * exec: the subject needs file:exec on the binary's label. The new label is
 * the one dsmd requested (dsmctl exec: needs process:transition), else the
 * policy's transition for (subject, file label), else unchanged. It is
 * decided here and applied at bprm_committed_creds, past the point of no
 * return, so a failed exec never changes a label.
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(hook_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct dsm_task_ctx *c;
	struct dsm_pkey k;
	struct dsm_pval *v;
	__u32 label, flabel, next;
	void *pm;
	int err;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_FILE, DSM_PERM_EXEC, DSM_DENY);
	c = bpf_task_storage_get(&dsm_tasks, cur, 0, 0);
	label = c ? c->label : task_label(pm, cur);
	flabel = file_label(pm, bprm->file);
	err = dsm_check(pm, DSM_CLASS_FILE, DSM_QUAL_ANY, label, DSM_NODE_ANY, flabel,
			DSM_PERM_EXEC, 0);
	if (err)
		return err;

	next = label;
	if (c && (c->flags & DSM_TASK_F_REQUESTED)) {
		next = c->req_label;
		err = dsm_check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, label, DSM_NODE_ANY, next,
				DSM_PERM_TRANSITION, 0);
		if (err)
			return err;
	} else {
		k = dsm_key_trans(label, flabel);
		v = policy_get(pm, &k);
		if (v)
			next = v->aux;
	}
	if (!c) {
		if (next == label)
			return 0; /* nothing to remember */
		c = bpf_task_storage_get(&dsm_tasks, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!c)
			return fail_closed(DSM_CLASS_FILE, DSM_PERM_EXEC, -ENOMEM);
		c->label = label;
	}
	c->exec_label = next;
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

SEC("lsm/task_kill")
int BPF_PROG(hook_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	void *pm;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	return dsm_check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, current_label(pm), DSM_NODE_ANY,
			 task_label(pm, p), DSM_PERM_SIGNAL, sig);
}

/* Only attaching is a ptrace; procfs reads (PTRACE_MODE_READ) are not. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(hook_ptrace_access, struct task_struct *child, unsigned int mode, int ret)
{
	void *pm;

	if (ret)
		return ret;
	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_PTRACE, DSM_DENY);
	return dsm_check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, current_label(pm), DSM_NODE_ANY,
			 task_label(pm, child), DSM_PERM_PTRACE, 0);
}

/* PTRACE_TRACEME: the parent becomes the tracer of the current task. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(hook_ptrace_traceme, struct task_struct *parent, int ret)
{
	void *pm;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_PTRACE, DSM_DENY);
	return dsm_check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, task_label(pm, parent), DSM_NODE_ANY,
			 current_label(pm), DSM_PERM_PTRACE, 0);
}

#endif
