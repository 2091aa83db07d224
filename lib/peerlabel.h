/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * getpeerlabel: the label and node of the peer of a connected socket, as
 * dsm checked them (for TCP at the handshake, for UDP the last sender).
 * A server acting for a remote client asks this to know whom it serves.
 *
 * The socket is handed to dsmd over its control socket (SCM_RIGHTS); dsmd
 * reads the socket's dsm context and answers. The caller needs no bpf()
 * permission, only a connection to dsmd.
 */
#ifndef DSM_PEERLABEL_H
#define DSM_PEERLABEL_H

#include <stdbool.h>
#include <stdint.h>

#define DSM_CONTROL_SOCKET "/run/dsm/dsmd.sock"

struct dsm_peerlabel {
	uint32_t label;     /* DSM_LABEL_INVALID when dsm knows no peer */
	uint32_t node;      /* DSM_NODE_ANY for an unlabeled peer */
	bool bound;         /* TCP: checked and bound at the handshake */
	char label_name[64]; /* "" when the policy has no name for it */
	char node_name[64];
};

/* Fill *out for sockfd. ctl_path NULL means DSM_SOCKET from the
 * environment, else DSM_CONTROL_SOCKET. 0, or a negative errno: -ENOENT
 * when the socket carries no dsm context, -ECONNREFUSED/-ENOENT when dsmd
 * is not running, -EPROTO on a bad answer. */
int dsm_getpeerlabel(int sockfd, const char *ctl_path, struct dsm_peerlabel *out);

#endif
