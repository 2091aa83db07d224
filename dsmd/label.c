// SPDX-License-Identifier: GPL-2.0
/*
 * Labels of tasks. When dsm starts, every running task gets the label the
 * shared library's start-up rule gives it (dsm_startup_label(): PID 1 the
 * service manager's, others the transition from the initial label on
 * their executable's label, system labels only for dsmd and PID 1), else
 * the initial label, which needs no storage at all: the hooks treat a task
 * without context as initial.
 *
 * The kernel does the walk: the LSM object's iterators (bpf/label_iter.bpf.h)
 * visit every thread, then every open file, and label what has no label
 * yet: tasks, the sockets they hold, the files they own for SIGIO. dsmd
 * runs them and reads what they did. Only when the kernel cannot load them
 * does dsmd walk /proc itself (and says so: that walk sees only
 * thread-group leaders, no sockets, and leaves a window between reading a
 * pid and labeling it).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dsmd.h"
#include "dsm_lsm.skel.h"
#include "dsm/decide.h"

int dsmd_pidfd_open(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

uint32_t dsmd_exe_label(const struct dsm_policy *p, int pid)
{
	char exe[64];
	struct dsm_pkey k;
	struct stat st;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (stat(exe, &st) || dsm_file_key(st.st_dev, st.st_ino, &k))
		return dsm_config(p, DSM_CFG_FILE_LABEL, dsm_initial_label(p));
	return dsm_file_label(p, k.file.dev, dsm_key_file_ino(&k));
}

struct iter_counts {
	unsigned labeled[4]; /* by enum dsm_label_rec_kind */
	unsigned failed;
};

static const char *const rec_kind[] = { "?", "task", "socket", "SIGIO owner" };

/* Run one iterator to its end and count what it did. */
static int run_iter(struct bpf_program *prog, struct iter_counts *n)
{
	struct dsm_label_rec rec[256];
	struct bpf_link *link;
	size_t have = 0;
	int fd, err = 0;

	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return log_errno(LOG_ERR, -errno, "label: attach iterator %s",
				 bpf_program__name(prog));
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = log_errno(LOG_ERR, -errno, "label: create iterator %s",
				bpf_program__name(prog));
		goto out;
	}
	for (;;) {
		ssize_t got = read(fd, (char *)rec + have, sizeof(rec) - have);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = log_errno(LOG_ERR, -errno, "label: read iterator %s",
					bpf_program__name(prog));
			break;
		}
		have += (size_t)got;
		for (size_t i = 0; i < have / sizeof(rec[0]); i++) {
			const struct dsm_label_rec *r = &rec[i];
			unsigned kind = r->kind < 4 ? r->kind : 0;

			if (r->err) {
				n->failed++;
				log_errno(LOG_WARNING, r->err, "label: %s of task %u (label %u)",
					  rec_kind[kind], r->tid, r->label);
			} else {
				n->labeled[kind]++;
			}
		}
		memmove(rec, (char *)rec + have / sizeof(rec[0]) * sizeof(rec[0]),
			have % sizeof(rec[0]));
		have %= sizeof(rec[0]);
		if (got == 0)
			break;
	}
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

/* In the kernel: every thread, then every open file. */
static int label_by_iterators(struct dsmd *d, bool second)
{
	struct iter_counts n = { 0 };
	int err;

	err = run_iter(d->lsm->progs.dsm_label_tasks, &n);
	if (!err)
		err = run_iter(d->lsm->progs.dsm_label_files, &n);
	if (err)
		return err;
	/* A labeled process may already use sockets whose decisions were
	 * cached under its previous label (socket.bpf.h: sock_check). */
	if (n.labeled[DSM_LREC_TASK] || n.labeled[DSM_LREC_SOCKET])
		dsmd_new_generation(d, "label");
	log_info("label: %s pass in the kernel: %u task%s, %u socket%s, %u SIGIO owner%s labeled, "
		  "%u failed", second ? "second" : "first", n.labeled[DSM_LREC_TASK],
		  n.labeled[DSM_LREC_TASK] == 1 ? "" : "s", n.labeled[DSM_LREC_SOCKET],
		  n.labeled[DSM_LREC_SOCKET] == 1 ? "" : "s", n.labeled[DSM_LREC_FOWN],
		  n.labeled[DSM_LREC_FOWN] == 1 ? "" : "s", n.failed);
	return n.failed ? -EIO : 0;
}

static int set_label(const struct dsmd *d, int pidfd, uint32_t label, bool only_unlabeled)
{
	struct dsm_task_ctx c = { .label = label };

	if (bpf_map_update_elem(dsmd_map_fd(d, DSMD_MAP_TASKS), &pidfd, &c,
				only_unlabeled ? BPF_NOEXIST : BPF_ANY)) {
		if (only_unlabeled && errno == EEXIST)
			return 0;
		return -errno;
	}
	return 1;
}

/* The fallback: thread-group leaders found in /proc, keyed by pidfd. */
static int label_by_proc(struct dsmd *d, bool only_unlabeled)
{
	const uint32_t initial = dsm_policy_initial_label(d->policy);
	unsigned labeled = 0, failed = 0;
	struct dirent *de;
	DIR *proc;

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		uint32_t label;
		int pid, pidfd, err;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		label = dsm_startup_label(d->policy, dsmd_exe_label(d->policy, pid), pid == 1,
					  pid == getpid());
		if (label == initial)
			continue; /* no storage needed */
		pidfd = dsmd_pidfd_open(pid);
		if (pidfd < 0)
			continue; /* gone */
		err = set_label(d, pidfd, label, only_unlabeled);
		close(pidfd);
		if (err < 0) {
			failed++;
			log_errno(LOG_WARNING, err, "label: pid %d", pid);
		} else {
			labeled += err;
		}
	}
	closedir(proc);
	if (labeled)
		dsmd_new_generation(d, "label");
	log_debug("label: %s pass through /proc: %u process%s labeled, %u failed",
		  only_unlabeled ? "second" : "first", labeled, labeled == 1 ? "" : "es", failed);
	return failed ? -EIO : 0;
}

/*
 * Label every task. Run once before the hooks are attached and once
 * after (only what has no label), which catches tasks forked in between;
 * after that, fork and exec label everything in the kernel. The iterators
 * never overwrite a label; the /proc fallback's first pass does.
 */
int dsmd_label_tasks(struct dsmd *d, enum dsmd_label_pass pass)
{
	const bool only_unlabeled = pass == DSMD_LABEL_AFTER_HOOKS;
	static bool warned;

	if (bpf_program__fd(d->lsm->progs.dsm_label_tasks) >= 0 &&
	    bpf_program__fd(d->lsm->progs.dsm_label_files) >= 0)
		return label_by_iterators(d, only_unlabeled);
	if (!warned)
		log_warning("label: the kernel cannot run the labeling iterators: labeling "
			    "through /proc instead, which labels thread-group leaders only, no "
			    "socket made before dsmd, and no file's SIGIO owner");
	warned = true;
	return label_by_proc(d, only_unlabeled);
}

int dsmd_task_label(const struct dsmd *d, const struct dsm_policy *p, int pid, uint32_t *label)
{
	struct dsm_task_ctx c;
	int pidfd = dsmd_pidfd_open(pid), err = 0;

	if (pidfd < 0)
		return -errno;
	if (bpf_map_lookup_elem(dsmd_map_fd(d, DSMD_MAP_TASKS), &pidfd, &c) == 0)
		*label = c.label;
	else if (errno == ENOENT)
		*label = dsm_policy_initial_label(p);
	else
		err = -errno;
	close(pidfd);
	return err;
}

/* Ask the kernel to move pid to label at its next exec (checked then). */
int dsmd_request_exec_label(const struct dsmd *d, int pid, uint32_t label)
{
	int fd = dsmd_map_fd(d, DSMD_MAP_TASKS);
	struct dsm_task_ctx c = { 0 };
	int pidfd = dsmd_pidfd_open(pid), err = 0;

	if (pidfd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &pidfd, &c)) {
		if (errno != ENOENT) {
			err = -errno;
			goto out;
		}
		c.label = dsm_policy_initial_label(d->policy);
	}
	c.req_label = label;
	c.flags |= DSM_TASK_F_REQUESTED;
	if (bpf_map_update_elem(fd, &pidfd, &c, BPF_ANY))
		err = -errno;
out:
	close(pidfd);
	return err;
}
