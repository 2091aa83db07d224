// SPDX-License-Identifier: GPL-2.0
/*
 * fork_deny: attach fork_deny.bpf.c marking this process, check that fork()
 * fails with EPERM, detach, check that fork() works again.
 * Exit 0 when both hold, 1 when one does not, 77 when BPF LSM is unavailable.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "fork_deny.skel.h"

/* Fork a child that exits 7; return 0 on success or the fork errno. */
static int try_fork(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(7);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		return -1;
	return 0;
}

int main(void)
{
	struct fork_deny_bpf *skel;
	int err, rc = 1;

	skel = fork_deny_bpf__open();
	if (!skel) {
		fprintf(stderr, "fork_deny: open: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->marked_tgid = (__u32)getpid();
	err = fork_deny_bpf__load(skel);
	if (err) {
		fprintf(stderr, "fork_deny: load: %s\n", strerror(-err));
		rc = (err == -EPERM || err == -EINVAL) ? 77 : 1;
		goto out;
	}
	err = fork_deny_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "fork_deny: attach: %s\n", strerror(-err));
		goto out;
	}

	err = try_fork();
	if (err != EPERM) {
		fprintf(stderr, "fork_deny: attached: fork gave %d (%s), want EPERM\n",
			err, err > 0 ? strerror(err) : "success");
		goto out;
	}
	printf("attached: fork denied with EPERM (%llu denial)\n",
	       (unsigned long long)skel->bss->denied);

	fork_deny_bpf__detach(skel);
	err = try_fork();
	if (err) {
		fprintf(stderr, "fork_deny: detached: fork gave %d (%s), want success\n",
			err, err > 0 ? strerror(err) : "bad child status");
		goto out;
	}
	printf("detached: fork succeeds\n");
	rc = 0;
out:
	fork_deny_bpf__destroy(skel);
	return rc;
}
