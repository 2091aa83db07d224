/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Start-up labeling in the kernel: BPF iterators dsmd runs once before it
 * attaches the hooks and once after (bpf_iter_create + read). The kernel
 * walks its own task list, so there is no window between finding a task
 * and labeling it (no /proc, no pid to be reused), and every thread is
 * seen, not only the thread-group leaders.
 *
 *   dsm_label_tasks  (iter/task, every thread): a task without storage
 *                    gets the label its process carries: its leader's if
 *                    the leader has storage, else dsm_startup_label() of
 *                    its executable's file label (task->mm->exe_file, as
 *                    bprm_check finds a binary's). PID 1 is the task with
 *                    tgid 1 (the initial PID namespace's), dsmd the task
 *                    that runs the iterator: no number to pass or to get
 *                    wrong.
 *   dsm_label_files  (iter/task_file, every open file of every process):
 *                    a socket without storage, or whose storage has no
 *                    label (made before dsm, or cloned from such a
 *                    listener), gets its holder's label, so a listener
 *                    older than dsmd serves as its owner's label; a file
 *                    with an owner for SIGIO (signal.bpf.h) gets its
 *                    holder's label as the label that chose it.
 *
 * Create if absent, always: a label the kernel already gave (a fork or an
 * exec since the hooks attached) is never overwritten. Each task, socket
 * or file labeled, and each that could not be, is one struct
 * dsm_label_rec in the iterator's output.
 */
#ifndef DSM_BPF_LABEL_ITER_BPF_H
#define DSM_BPF_LABEL_ITER_BPF_H

#include "policy.bpf.h"
#include "signal.bpf.h"

#define DSM_PF_KTHREAD 0x00200000
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef EEXIST
#define EEXIST 17
#endif

static __always_inline void label_rec(struct seq_file *seq, __u32 kind, __u32 tid, __u32 label,
				      __s32 err)
{
	struct dsm_label_rec r = { .kind = kind, .tid = tid, .label = label, .err = err };

	bpf_seq_write(seq, &r, sizeof(r));
}

/* The file label of @t's executable, as bprm_check_security finds it; a
 * task without one (a kernel thread, an exiting task) the default. */
static __always_inline __u32 exe_file_label(dsm_pm_t pm, struct task_struct *t)
{
	struct mm_struct *mm = t->mm;
	struct file *exe;
	struct inode *inode;

	if (!mm || (t->flags & DSM_PF_KTHREAD))
		goto dflt;
	exe = mm->exe_file;
	if (!exe)
		goto dflt;
	inode = exe->f_inode;
	if (!inode)
		goto dflt;
	return dsm_file_label(pm, inode->i_sb->s_dev, inode->i_ino);
dflt:
	return dsm_config(pm, DSM_CFG_FILE_LABEL, dsm_initial_label(pm));
}

SEC("iter/task")
int dsm_label_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task, *leader;
	struct dsm_task_ctx init = {}, *c;
	__u32 self;
	dsm_pm_t pm;

	if (!t)
		return 0;
	pm = policy_map();
	if (!pm) {
		label_rec(seq, DSM_LREC_TASK, t->pid, 0, -ENOENT);
		return 0;
	}
	if (bpf_task_storage_get(&dsm_tasks, t, 0, 0))
		return 0; /* labeled: by the kernel, or by an earlier pass */
	leader = t->group_leader;
	c = leader && leader != t ? bpf_task_storage_get(&dsm_tasks, leader, 0, 0) : NULL;
	if (c) {
		init.label = c->label;
	} else {
		self = bpf_get_current_task_btf()->tgid;
		init.label = dsm_startup_label(pm, exe_file_label(pm, t), t->tgid == 1,
					       t->tgid == self);
		if (init.label == dsm_initial_label(pm))
			return 0; /* no storage: the initial label */
	}
	if (bpf_task_storage_get(&dsm_tasks, t, &init, BPF_LOCAL_STORAGE_GET_F_CREATE)) {
		label_rec(seq, DSM_LREC_TASK, t->pid, init.label, 0);
		return 0;
	}
	/* The kernel may have given it one in between; else say it failed. */
	if (!bpf_task_storage_get(&dsm_tasks, t, 0, 0))
		label_rec(seq, DSM_LREC_TASK, t->pid, init.label, -ENOMEM);
	return 0;
}

/* A socket @t holds: its label unless it has one. */
static __always_inline void label_socket(struct seq_file *seq, dsm_pm_t pm, struct task_struct *t,
					 struct sock *sk)
{
	struct task_struct *leader = t->group_leader;
	struct dsm_sock_ctx init = {}, *c;

	c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
	if (c && c->label)
		return;
	init.label = task_label(pm, t);
	if (c) {
		c->label = init.label;
		if (!c->owner_tgid && leader) {
			c->owner_start = leader->start_time;
			c->owner_exec = leader->self_exec_id;
			c->owner_tgid = leader->tgid;
		}
		label_rec(seq, DSM_LREC_SOCKET, t->pid, init.label, 0);
		return;
	}
	if (leader) {
		init.owner_start = leader->start_time;
		init.owner_exec = leader->self_exec_id;
		init.owner_tgid = leader->tgid;
	}
	c = bpf_sk_storage_get(&dsm_sockets, sk, &init, BPF_SK_STORAGE_GET_F_CREATE);
	label_rec(seq, DSM_LREC_SOCKET, t->pid, init.label, c ? 0 : -ENOMEM);
}

/* A file with an owner for SIGIO that nothing recorded (set before dsm). */
static __always_inline void label_fown(struct seq_file *seq, dsm_pm_t pm, struct task_struct *t,
				       struct file *f)
{
	struct dsm_fown v;
	__u64 key;
	long err;

	if (!fown_set(f))
		return;
	key = fown_key(f);
	if (!key || bpf_map_lookup_elem(&dsm_fowners, &key))
		return;
	v.owner = v.sig = task_label(pm, t);
	err = bpf_map_update_elem(&dsm_fowners, &key, &v, BPF_NOEXIST);
	if (err != -EEXIST)
		label_rec(seq, DSM_LREC_FOWN, t->pid, v.owner, (__s32)err);
}

SEC("iter/task_file")
int dsm_label_files(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	struct file *f = ctx->file;
	struct socket *sock;
	struct sock *sk;
	dsm_pm_t pm;

	if (!t || !f)
		return 0;
	pm = policy_map();
	if (!pm) {
		label_rec(seq, DSM_LREC_SOCKET, t->pid, 0, -ENOENT);
		return 0;
	}
	sock = bpf_sock_from_file(f);
	sk = sock ? sock->sk : NULL; /* once: 6.12 wants it checked */
	if (sk)
		label_socket(seq, pm, t, sk);
	label_fown(seq, pm, t, f);
	return 0;
}

#endif /* DSM_BPF_LABEL_ITER_BPF_H */
