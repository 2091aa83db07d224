// SPDX-License-Identifier: GPL-2.0
/*
 * Labels of tasks. When dsm starts, every running process gets the label
 * the shared library's start-up rule gives it (dsm_startup_label(): PID 1
 * the service manager's, others the transition from the initial label on
 * their executable's label, system labels only for dsmd and PID 1), else
 * the initial label, which needs no storage at all: the hooks treat a task
 * without context as initial. Labels are written through task-storage map
 * updates keyed by pidfd.
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

#include "dsmd.h"
#include "dsm/decide.h"

static int pidfd_open(int pid)
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

/*
 * Label every process. Run once before the hooks are attached and once
 * after (only_unlabeled), which catches processes forked in between; after
 * that, fork and exec label everything in the kernel.
 */
int dsmd_label_tasks(struct dsmd *d, bool only_unlabeled)
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
		pidfd = pidfd_open(pid);
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
	/* A labeled process may already use sockets whose decisions were
	 * cached under its previous label (socket.bpf.h: sock_check). */
	if (labeled)
		dsmd_new_generation(d, "label");
	log_debug("label: %s pass: %u process%s labeled, %u failed",
		  only_unlabeled ? "second" : "first", labeled, labeled == 1 ? "" : "es", failed);
	return failed ? -EIO : 0;
}

int dsmd_task_label(const struct dsmd *d, const struct dsm_policy *p, int pid, uint32_t *label)
{
	struct dsm_task_ctx c;
	int pidfd = pidfd_open(pid), err = 0;

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
	int pidfd = pidfd_open(pid), err = 0;

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
