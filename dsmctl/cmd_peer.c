// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl getpeerlabel FD: the label and node of the peer connected on
 * file descriptor FD, as dsm checked them. For services started with the
 * connection on a descriptor (inetd style, socket activation):
 *   dsmctl getpeerlabel 0   ->   web@node1
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "dsm/abi.h"
#include "peerlabel.h"

int dsmctl_cmd_peer(const struct dsmctl_global *g, int argc, char **argv)
{
	struct dsm_peerlabel pl;
	char *end;
	long fd;
	int err;

	if (argc != 2)
		return dsmctl_usage_error("getpeerlabel needs one file descriptor number");
	errno = 0;
	fd = strtol(argv[1], &end, 10);
	if (errno || !*argv[1] || *end || fd < 0 || fd > 1 << 20)
		return dsmctl_usage_error("getpeerlabel: '%s' is not a file descriptor number", argv[1]);
	err = dsm_getpeerlabel((int)fd, g->socket, &pl);
	if (err) {
		dsmctl_error("getpeerlabel %ld: %s", fd,
			     err == -ENOENT ? "no peer label (not a checked socket, or dsmd not running)"
					    : strerror(-err));
		return DSMCTL_EXIT_FAIL;
	}
	if (pl.label_name[0])
		printf("%s", pl.label_name);
	else
		printf("%u", pl.label);
	if (pl.node_name[0])
		printf("@%s\n", pl.node_name);
	else
		printf("@%u\n", pl.node);
	return DSMCTL_EXIT_OK;
}
