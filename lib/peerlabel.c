// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* getpeerlabel: see peerlabel.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dsm/abi.h"
#include "peerlabel.h"

static int send_with_fd(int conn, int fd)
{
	static const char req[] = "peerlabel\n";
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)req, .iov_len = sizeof(req) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(conn, &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len ? 0 : -errno;
}

static void copy_str(json_object *o, const char *key, char *dst, size_t len)
{
	json_object *v;

	dst[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

int dsm_getpeerlabel(int sockfd, const char *ctl_path, struct dsm_peerlabel *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	char buf[4096];
	size_t got = 0;
	json_object *o, *v;
	int conn, err;

	if (!ctl_path)
		ctl_path = getenv("DSM_SOCKET") ? getenv("DSM_SOCKET") : DSM_CONTROL_SOCKET;
	if (strlen(ctl_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, ctl_path);
	conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn < 0)
		return -errno;
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(conn, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto out;
	}
	err = send_with_fd(conn, sockfd);
	if (err)
		goto out;
	for (;;) {
		ssize_t n = read(conn, buf + got, sizeof(buf) - 1 - got);

		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0 || (got += (size_t)n) == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		err = -EPROTO;
	} else if (json_object_object_get_ex(o, "error", &v)) {
		err = -ENOENT;
	} else if (!json_object_object_get_ex(o, "label_id", &v)) {
		err = -EPROTO;
	} else {
		memset(out, 0, sizeof(*out));
		out->label = (uint32_t)json_object_get_int64(v);
		out->node = json_object_object_get_ex(o, "node_id", &v)
				    ? (uint32_t)json_object_get_int64(v) : DSM_NODE_ANY;
		out->bound = json_object_object_get_ex(o, "bound", &v) && json_object_get_boolean(v);
		copy_str(o, "label", out->label_name, sizeof(out->label_name));
		copy_str(o, "node", out->node_name, sizeof(out->node_name));
		err = 0;
	}
	json_object_put(o);
out:
	close(conn);
	return err;
}
