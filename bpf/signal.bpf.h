/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signals: every kernel path by which one task signals another, stops it,
 * or changes how it is scheduled is checked as kill(2) is: process:signal
 * from the sender's label to the target's.
 *
 *   kill(2) and friends        task_kill
 *   SIGIO, SIGURG, F_SETSIG    file_send_sigiotask, against the label that
 *                              chose the owner and the signal (recorded at
 *                              file_set_fowner and fcntl F_SETSIG)
 *   rlimits of another process task_setrlimit (prlimit(2); RLIMIT_CPU ends
 *                              in SIGXCPU and SIGKILL from the kernel)
 *   nice, I/O priority, policy task_setnice, task_setioprio,
 *   and affinity               task_setscheduler, for another process
 *   terminals                  file_ioctl (and its compat twin): TIOCSIG on
 *                              a pty master, TIOCSTI, TIOCVHANGUP, against
 *                              every process the terminal would reach
 *
 * What stays outside (no hook on 6.1): the hangup when a pty master is
 * closed, characters written to a master that the slave's line discipline
 * turns into signals (INTR, QUIT, SUSP), vhangup(2), a session leader's
 * exit or TIOCNOTTY (SIGHUP to its session), SIGCHLD and the exit signal
 * a parent chose for its child.
 */
#ifndef DSM_BPF_SIGNAL_BPF_H
#define DSM_BPF_SIGNAL_BPF_H

#include "policy.bpf.h"

/* kill, tkill, tgkill, rt_sigqueueinfo, pidfd_send_signal, and signals a
 * process group or session receives through them. */
SEC("lsm/task_kill")
int BPF_PROG(hook_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	dsm_pm_t pm;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, current_label(pm), DSM_NODE_ANY,
		     task_label(pm, p), DSM_PERM_SIGNAL, sig);
}

/* ---- another process: limits, priorities, scheduling -------------------- */

/* process:signal from the current task to @p, unless @p is of the current
 * process (its own threads carry its label: changing them is its own
 * business, as nice(2) and setrlimit(2) are). */
static __always_inline int check_other_process(struct task_struct *p, __u32 aux)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	dsm_pm_t pm;

	if (p->tgid == cur->tgid)
		return 0;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, current_label(pm), DSM_NODE_ANY,
		     task_label(pm, p), DSM_PERM_SIGNAL, aux);
}

/*
 * prlimit(2) on another process. task_prlimit names credentials, not the
 * task; setting a limit (what can end the process: RLIMIT_CPU's SIGXCPU
 * and SIGKILL, a limit that makes its next allocation or file write fail)
 * also passes here with the target's thread-group leader. Reading another
 * process's limits is not a signal and is not checked.
 */
SEC("lsm/task_setrlimit")
int BPF_PROG(hook_task_setrlimit, struct task_struct *p, unsigned int resource,
	     struct rlimit *new_rlim, int ret)
{
	return ret ?: check_other_process(p, 0);
}

/* setpriority(2) (PRIO_PROCESS, PRIO_PGRP, PRIO_USER: one call per task). */
SEC("lsm/task_setnice")
int BPF_PROG(hook_task_setnice, struct task_struct *p, int nice, int ret)
{
	return ret ?: check_other_process(p, 0);
}

/* ioprio_set(2). */
SEC("lsm/task_setioprio")
int BPF_PROG(hook_task_setioprio, struct task_struct *p, int ioprio, int ret)
{
	return ret ?: check_other_process(p, 0);
}

/* sched_setscheduler, sched_setparam, sched_setattr, sched_setaffinity,
 * /proc/PID/timerslack_ns, and moving a task into a cpuset. */
SEC("lsm/task_setscheduler")
int BPF_PROG(hook_task_setscheduler, struct task_struct *p, int ret)
{
	return ret ?: check_other_process(p, 0);
}

/* ---- SIGIO and SIGURG ---------------------------------------------------- */
/*
 * A file's owner (F_SETOWN, F_SETOWN_EX, FIOSETOWN, SIOCSPGRP, O_ASYNC on
 * a terminal) is who gets SIGIO or SIGURG when I/O is possible, and
 * F_SETSIG picks the signal: SIGKILL as well as SIGIO. The kernel sends it
 * from whatever context the I/O happens in, so the check cannot ask the
 * current task: it asks the labels that chose. file_set_fowner (a hook
 * with no verdict, called once the owner is set) records the label that
 * set the owner, fcntl(F_SETSIG) the label that chose the signal; both
 * must be allowed to signal each task the kernel sends to. A file with no
 * record (its owner set before dsm started, and not seen by the start-up
 * labeling) gets no signal. The record goes with the file.
 *
 * The key is the address of the file's fown_struct: it is what
 * file_send_sigiotask names, and it lives exactly as long as its file.
 */
struct dsm_fown {
	__u32 owner; /* the label that set the owner; 0: none recorded */
	__u32 sig;   /* the label that chose the signal (F_SETSIG); 0: none */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct dsm_fown);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_fowners SEC(".maps");

/*
 * struct file up to 6.11 embeds its fown_struct; from 6.12 it points to
 * one allocated on demand. Local types (matched by name at load) read
 * either layout, whatever the build machine's vmlinux.h says.
 */
struct fown_struct___dsm {
	struct pid *pid;
	int signum;
} __attribute__((preserve_access_index));

struct file___fown_embedded {
	struct fown_struct___dsm f_owner;
} __attribute__((preserve_access_index));

struct file___fown_pointer {
	struct fown_struct___dsm *f_owner;
} __attribute__((preserve_access_index));

/* The address of @f's fown_struct (the key of dsm_fowners), 0 if none. */
static __always_inline __u64 fown_key(struct file *f)
{
	if (bpf_core_field_exists(((struct file___fown_embedded *)0)->f_owner))
		return (__u64)&((struct file___fown_embedded *)f)->f_owner;
	return (__u64)BPF_CORE_READ((struct file___fown_pointer *)f, f_owner);
}

/* Might @f have an entry (an owner or a signal was set)? Direct reads
 * where the layout allows: every file freed asks. */
static __always_inline bool fown_set(struct file *f)
{
	if (bpf_core_field_exists(((struct file___fown_embedded *)0)->f_owner)) {
		struct file___fown_embedded *e = (void *)f;

		return e->f_owner.pid || e->f_owner.signum;
	}
	return BPF_CORE_READ((struct file___fown_pointer *)f, f_owner) != 0;
}

#define DSM_FOWN_OWNER 0
#define DSM_FOWN_SIG   1

/* Record @label as the chooser of @f's owner or signal. A record that
 * cannot be written is removed: no record denies, a stale one would not. */
static __always_inline void fown_record(struct file *f, int which, __u32 label)
{
	__u64 key = fown_key(f);
	struct dsm_fown v = {}, *old;

	if (!key)
		return;
	old = bpf_map_lookup_elem(&dsm_fowners, &key);
	if (old)
		v = *old;
	if (which == DSM_FOWN_OWNER)
		v.owner = label;
	else
		v.sig = label;
	if (bpf_map_update_elem(&dsm_fowners, &key, &v, BPF_ANY)) {
		bpf_map_delete_elem(&dsm_fowners, &key);
		count(DSM_CNT_ERRORS);
	}
}

/* Called with the owner already set (fs/fcntl.c __f_setown), on every path
 * that sets one: fcntl, the socket and terminal ioctls, leases, dnotify. */
SEC("lsm/file_set_fowner")
int BPF_PROG(hook_file_set_fowner, struct file *file)
{
	dsm_pm_t pm = policy_map();

	/* No policy: no label to record, and no record denies. */
	if (pm)
		fown_record(file, DSM_FOWN_OWNER, current_label(pm));
	return 0;
}

#define F_SETSIG 10

SEC("lsm/file_fcntl")
int BPF_PROG(hook_file_fcntl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	dsm_pm_t pm;

	if (ret || cmd != F_SETSIG)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	fown_record(file, DSM_FOWN_SIG, current_label(pm));
	return 0;
}

/* Every file passes here when it is freed: one look at its owner, and a
 * map operation only for the few that have one. */
SEC("lsm/file_free_security")
int BPF_PROG(hook_file_free, struct file *file)
{
	__u64 key;

	if (!fown_set(file))
		return 0;
	key = fown_key(file);
	bpf_map_delete_elem(&dsm_fowners, &key);
	return 0;
}

/* SIGIO, SIGURG or the F_SETSIG signal to @tsk, one call per task. */
SEC("lsm/file_send_sigiotask")
int BPF_PROG(hook_file_send_sigiotask, struct task_struct *tsk, struct fown_struct *fown, int sig,
	     int ret)
{
	__u64 key = (__u64)fown;
	struct dsm_fown *o;
	__u32 target;
	dsm_pm_t pm;
	int err;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	target = task_label(pm, tsk);
	o = bpf_map_lookup_elem(&dsm_fowners, &key);
	if (!o || !o->owner) {
		/* Nobody known chose this owner: a request of no label, which
		 * no rule allows (permissive mode lets it pass, reported). */
		struct dsm_req r = { .subject = DSM_LABEL_INVALID, .node = DSM_NODE_ANY,
				     .target = target, .perm = DSM_PERM_SIGNAL, .aux = (__u32)sig,
				     .qual = DSM_QUAL_ANY, .class = DSM_CLASS_PROCESS };

		return deny_unless_permissive(pm, &r);
	}
	err = check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, o->owner, DSM_NODE_ANY, target,
		    DSM_PERM_SIGNAL, (__u32)sig);
	if (err || !o->sig || o->sig == o->owner)
		return err;
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, o->sig, DSM_NODE_ANY, target,
		     DSM_PERM_SIGNAL, (__u32)sig);
}

/* ---- terminals ----------------------------------------------------------- */
/*
 * Three terminal ioctls reach the processes on a terminal without kill(2):
 *   TIOCSIG on a pty master  signals the slave's foreground process group
 *                            (kill_pgrp with privilege: no task_kill);
 *   TIOCSTI                  types input that the terminal's foreground
 *                            process group reads (root may do it on any
 *                            terminal it can open);
 *   TIOCVHANGUP              hangs the terminal up: SIGHUP and SIGCONT to
 *                            its session.
 * Each is checked as a signal from the caller to every process of that
 * group or session. A terminal with no such group (TIOCSTI: nor session)
 * has nobody to check against: TIOCSIG and TIOCVHANGUP then reach no
 * process and pass; TIOCSTI is checked against no label and denied.
 *
 * The members of a process group hang off its struct pid, and 6.1 gives a
 * BPF program no way from there to a task it may pass to
 * bpf_task_storage_get. So the walk reads the tasks' storage the way the
 * kernel's lookup does (bpf_local_storage_lookup), with probe reads under
 * the RCU read lock every LSM program runs in: only thread-group leaders
 * are on a group's or a session's list, and a leader carries its
 * process's label.
 */
#define TIOCSTI     0x5412
#define TIOCVHANGUP 0x5437
#define TIOCSIG     0x40045436

#define TTY_DRIVER_TYPE_PTY 0x0004
#define PTY_TYPE_MASTER     0x0001

/* Local types: only the members used, matched by name at load. */
struct hlist_node___dsm {
	struct hlist_node___dsm *next;
} __attribute__((preserve_access_index));

struct pid___dsm {
	struct hlist_head tasks[4]; /* PIDTYPE_MAX */
} __attribute__((preserve_access_index));

struct bpf_local_storage___dsm {
	struct hlist_head list;
} __attribute__((preserve_access_index));

struct task_struct___dsm {
	struct hlist_node pid_links[4];
	struct bpf_local_storage___dsm *bpf_storage;
} __attribute__((preserve_access_index));

struct bpf_local_storage_data___dsm {
	void *smap;
	__u8 data[];
} __attribute__((preserve_access_index));

struct bpf_local_storage_elem___dsm {
	struct hlist_node snode;
	struct bpf_local_storage_data___dsm sdata;
} __attribute__((preserve_access_index));

struct tty_driver___dsm {
	short type;
	short subtype;
} __attribute__((preserve_access_index));

struct tty_struct___dsm {
	struct tty_driver___dsm *driver;
	struct {
		struct pid *pgrp;
		struct pid *session;
	} ctrl;
	struct tty_struct___dsm *link;
} __attribute__((preserve_access_index));

struct tty_file_private___dsm {
	struct tty_struct___dsm *tty;
} __attribute__((preserve_access_index));

/* Every tty's file_operations share the one ioctl entry point. */
extern const void tty_ioctl __ksym __weak;

#define DSM_PIDTYPE_PGID 2
#define DSM_PIDTYPE_SID  3
#define DSM_WALK_MAX     4096 /* processes in one group or session */
#define DSM_STORAGE_MAX  16   /* storages of one task: dsm's and others' */

/*
 * The label in dsm_tasks of the task at @task (an address, not a pointer
 * the verifier knows): its storage's element for this map, as
 * bpf_local_storage_lookup finds it; no element: the initial label.
 * Returns false if the walk could not finish.
 */
static __always_inline bool label_at(dsm_pm_t pm, __u64 task, __u32 *label)
{
	struct bpf_local_storage___dsm *ls;
	struct hlist_node___dsm *n;
	__u64 off_snode = bpf_core_field_offset(struct bpf_local_storage_elem___dsm, snode);
	__u64 off_sdata = bpf_core_field_offset(struct bpf_local_storage_elem___dsm, sdata);
	__u64 off_data = bpf_core_field_offset(struct bpf_local_storage_data___dsm, data);

	*label = dsm_initial_label(pm);
	ls = BPF_CORE_READ((struct task_struct___dsm *)task, bpf_storage);
	if (!ls)
		return true;
	n = (void *)BPF_CORE_READ(ls, list.first);
	for (int i = 0; i < DSM_STORAGE_MAX; i++) {
		struct bpf_local_storage_data___dsm *sd;
		struct dsm_task_ctx c;

		if (!n)
			return true;
		sd = (void *)((__u64)n - off_snode + off_sdata);
		if ((__u64)BPF_CORE_READ(sd, smap) == (__u64)&dsm_tasks) {
			if (bpf_probe_read_kernel(&c, sizeof(c), (void *)((__u64)sd + off_data)))
				return false;
			*label = c.label;
			return true;
		}
		n = BPF_CORE_READ(n, next);
	}
	return false;
}

struct pid_walk {
	__u64 node;    /* the next list entry; 0 at the end */
	__u64 off;     /* its offset in task_struct */
	__u32 subject;
	__u32 target;  /* the first label not allowed */
	__u32 denied;  /* 1: target is not allowed; 2: a task's label unknown */
};

static long pid_walk_one(__u32 i, void *ctx)
{
	struct pid_walk *w = ctx;
	dsm_pm_t pm = policy_map();
	struct hlist_node___dsm *n = (void *)w->node;
	__u32 label;

	if (!n)
		return 1;
	if (!pm || !label_at(pm, (__u64)n - w->off, &label)) {
		w->denied = 2;
		return 1;
	}
	if (!(dsm_perms(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, w->subject, DSM_NODE_ANY, label) &
	      DSM_PERM_SIGNAL)) {
		w->target = label;
		w->denied = 1;
		return 1;
	}
	w->node = (__u64)BPF_CORE_READ(n, next);
	return 0;
}

/* May @subject signal every process of @pid's group (@type PGID) or
 * session (SID)? */
static __noinline int check_pid_tasks(struct pid *pid, __u32 type, __u32 subject, __u32 aux)
{
	struct pid_walk w = { .subject = subject };
	dsm_pm_t pm;

	if (type > DSM_PIDTYPE_SID)
		return DSM_DENY;
	if (bpf_probe_read_kernel(&w.node, sizeof(w.node),
				  (void *)((__u64)pid + bpf_core_field_offset(struct pid___dsm, tasks) +
					   type * sizeof(struct hlist_head))))
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	w.off = bpf_core_field_offset(struct task_struct___dsm, pid_links) +
		type * sizeof(struct hlist_node);
	bpf_loop(DSM_WALK_MAX, pid_walk_one, &w, 0);
	pm = policy_map();
	if (!pm || w.denied == 2 || (!w.denied && w.node))
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	if (!w.denied)
		return 0;
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, subject, DSM_NODE_ANY, w.target,
		     DSM_PERM_SIGNAL, aux);
}

static __always_inline int tty_ioctl_check(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tty_file_private___dsm *priv;
	struct tty_struct___dsm *tty;
	struct pid *pid;
	__u32 type, subject, aux;
	dsm_pm_t pm;

	if (cmd != TIOCSIG && cmd != TIOCSTI && cmd != TIOCVHANGUP)
		return 0;
	if (!file->f_op)
		return 0;
	/* No address for the tty ioctl (kallsyms hidden): no file can be told
	 * to be a terminal, so these three are denied everywhere. */
	if (!&tty_ioctl)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	if ((__u64)file->f_op->unlocked_ioctl != (__u64)&tty_ioctl)
		return 0;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	subject = current_label(pm);
	priv = (void *)file->private_data;
	tty = BPF_CORE_READ(priv, tty);
	if (!tty)
		return 0;
	if (cmd == TIOCSIG) {
		/* Only a pty master sends it, to its slave's foreground group. */
		if (BPF_CORE_READ(tty, driver, type) != TTY_DRIVER_TYPE_PTY ||
		    BPF_CORE_READ(tty, driver, subtype) != PTY_TYPE_MASTER)
			return 0;
		pid = BPF_CORE_READ(tty, link, ctrl.pgrp);
		type = DSM_PIDTYPE_PGID;
		aux = (__u32)arg;
	} else if (cmd == TIOCSTI) {
		pid = BPF_CORE_READ(tty, ctrl.pgrp);
		type = DSM_PIDTYPE_PGID;
		if (!pid) {
			pid = BPF_CORE_READ(tty, ctrl.session);
			type = DSM_PIDTYPE_SID;
		}
		aux = 0;
		if (!pid)
			return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, subject, DSM_NODE_ANY,
				     DSM_LABEL_INVALID, DSM_PERM_SIGNAL, 0);
	} else {
		pid = BPF_CORE_READ(tty, ctrl.session);
		type = DSM_PIDTYPE_SID;
		aux = 1; /* SIGHUP */
	}
	if (!pid)
		return 0;
	return check_pid_tasks(pid, type, subject, aux);
}

SEC("lsm/file_ioctl")
int BPF_PROG(hook_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ?: tty_ioctl_check(file, cmd, arg);
}

/* 32-bit callers: the same commands, through the compat entry. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(hook_file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	return ret ?: tty_ioctl_check(file, cmd, arg);
}

#endif /* DSM_BPF_SIGNAL_BPF_H */
