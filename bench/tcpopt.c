// SPDX-License-Identifier: GPL-2.0
/*
 * tcpopt: load bench/tcpopt.bpf.c, attach its sockops program to a cgroup
 * (default /sys/fs/cgroup: every socket of the machine), and stay until
 * SIGTERM or SIGINT, which detach it. Prints "ready" once attached and, at
 * the end, "tcpopt: N segments written, M without room".
 *
 *   tcpopt [CGROUP]
 *
 * Exit 2 for usage, 1 for other errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "tcpopt.skel.h"
#include "until_signal.h"

int main(int argc, char **argv)
{
	const char *cg = argc > 1 ? argv[1] : "/sys/fs/cgroup";
	struct tcpopt_bpf *skel;
	struct bpf_link *link;
	sigset_t old;
	int fd, ret = 1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "tcpopt: usage: tcpopt [CGROUP]\n");
		return 2;
	}
	until_signal_prepare(&old);

	fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tcpopt: %s: %s\n", cg, strerror(errno));
		return 1;
	}
	skel = tcpopt_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "tcpopt: load: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	link = bpf_program__attach_cgroup(skel->progs.tcpopt, fd);
	if (!link) {
		fprintf(stderr, "tcpopt: attach to %s: %s\n", cg, strerror(errno));
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	until_signal(&old);
	bpf_link__destroy(link);
	printf("tcpopt: %llu segments written, %llu without room\n",
	       (unsigned long long)skel->bss->written, (unsigned long long)skel->bss->no_room);
	ret = 0;
out:
	tcpopt_bpf__destroy(skel);
	close(fd);
	return ret;
}
