// SPDX-License-Identifier: GPL-2.0
/*
 * The dsm context of a socket dsmd holds (dsm_sockets is socket storage,
 * looked up by descriptor): the peer the kernel bound to an accepted
 * control connection (bpf/unix.bpf.h), the peer of a socket a client
 * passes for getpeerlabel.
 */
#include <errno.h>

#include <bpf/bpf.h>

#include "dsmd.h"

int dsmd_socket_ctx(const struct dsmd *d, int fd, struct dsm_sock_ctx *out)
{
	if (fd < 0)
		return -EBADF;
	return bpf_map_lookup_elem(dsmd_map_fd(d, DSMD_MAP_SOCKETS), &fd, out) ? -errno : 0;
}
