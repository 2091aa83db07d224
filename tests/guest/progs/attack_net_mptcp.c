// SPDX-License-Identifier: GPL-2.0
/*
 * attack_net_mptcp: does bpf_skc_to_mptcp_sock() give a subflow's MPTCP
 * socket on this kernel, from tc and from BPF LSM (attack_net_mptcp.bpf.c)?
 * Loads the LSM program alone (prints "lsm: loads" or "lsm: rejected"),
 * then the tc program alone, attaches it to lo's egress, makes an MPTCP
 * connection over 127.0.0.1 whose sockets carry a tag in the programs'
 * socket storage (written from here, keyed by the socket's fd), and prints
 * what the program saw: "tc: msk tagged N other N, subflow tagged N,
 * plain N". Exit 0 when the run went through, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attack_net_mptcp.skel.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static char vlog[1 << 16];

static int lsm_only(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .kernel_log_buf = vlog, .kernel_log_size = sizeof(vlog),
		    .kernel_log_level = 1);
	struct attack_net_mptcp_bpf *s = attack_net_mptcp_bpf__open_opts(&o);
	int err;

	if (!s)
		return -errno;
	bpf_program__set_autoload(s->progs.tc_subflow_owner, false);
	err = attack_net_mptcp_bpf__load(s);
	if (err) {
		char *line = strstr(vlog, "R1 type=");

		printf("lsm: rejected (%s)%s%.*s\n", strerror(-err), line ? ": " : "",
		       line ? (int)strcspn(line, "\n") : 0, line ? line : "");
	} else {
		printf("lsm: loads\n");
	}
	attack_net_mptcp_bpf__destroy(s);
	return 0;
}

static int mptcp_pair(int tags_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9899) };
	unsigned tag = 0x5eed;
	int one = 1, l, c, a;
	char buf[8];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	c = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	if (l < 0 || c < 0)
		return -errno;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bpf_map_update_elem(tags_fd, &l, &tag, BPF_ANY) ||
	    bpf_map_update_elem(tags_fd, &c, &tag, BPF_ANY))
		return -errno;
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4) ||
	    connect(c, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	a = accept(l, NULL, NULL);
	if (a < 0 || send(c, "hi", 2, 0) != 2 || recv(a, buf, sizeof(buf), 0) != 2 ||
	    send(a, "ok", 2, 0) != 2 || recv(c, buf, sizeof(buf), 0) != 2)
		return -errno;
	close(a);
	close(c);
	close(l);
	return 0;
}

int main(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0xa7, .priority = 7);
	struct attack_net_mptcp_bpf *s;
	int err, rc = 1;

	if (lsm_only())
		return 1;
	s = attack_net_mptcp_bpf__open();
	if (!s)
		return 1;
	bpf_program__set_autoload(s->progs.lsm_subflow_owner, false);
	err = attack_net_mptcp_bpf__load(s);
	if (err) {
		printf("tc: rejected (%s)\n", strerror(-err));
		goto out;
	}
	printf("tc: loads\n");
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		goto out;
	opts.prog_fd = bpf_program__fd(s->progs.tc_subflow_owner);
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		printf("tc: attach %s\n", strerror(-err));
		goto out;
	}
	err = mptcp_pair(bpf_map__fd(s->maps.tags));
	opts.flags = opts.prog_fd = opts.prog_id = 0;
	bpf_tc_detach(&hook, &opts);
	if (err) {
		printf("mptcp connection: %s\n", strerror(-err));
		goto out;
	}
	printf("tc: msk tagged %llu other %llu, subflow tagged %llu, plain %llu\n",
	       (unsigned long long)s->bss->tc_msk_tagged, (unsigned long long)s->bss->tc_msk_other,
	       (unsigned long long)s->bss->tc_subflow_tagged, (unsigned long long)s->bss->tc_plain);
	rc = 0;
out:
	attack_net_mptcp_bpf__destroy(s);
	return rc;
}
