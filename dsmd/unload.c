// SPDX-License-Identifier: GPL-2.0
/*
 * Removing dsm from the kernel.
 *
 * `dsmd --unload` asks the running dsmd first (request `unload` on its
 * control socket, which needs class dsm `admin` from the caller's label):
 * that dsmd detaches the packet programs, restores the routes, removes
 * every pin and exits, which closes the last descriptors that kept
 * anything attached. Only when no dsmd answers (no socket, nobody
 * listening, or no answer in time) does this process do it itself; the
 * kernel then decides, as for any task: removing dsm's pins needs system
 * bpf and dsm_files. A refusal by the running dsmd is final: the caller's
 * label does not get a second way in.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dsmd.h"

#define UNLOAD_TIMEOUT_MS 10000

int dsmd_unload_now(const struct dsmd_opts *o)
{
	int err = dsmd_net_detach_all(o), err2;

	err2 = dsmd_bpf_unpin(o->pin_dir);
	return err ? err : err2;
}

static int ms_left(const struct timespec *end)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* Wait for fd to be ready: 1, 0 on timeout, -errno. */
static int wait_ready(int fd, short events, const struct timespec *end)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, ms_left(end));
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

enum ask_result { ASK_DONE, ASK_REFUSED, ASK_NOBODY, ASK_NO_ANSWER };

static int connect_dsmd(const char *path, const struct timespec *end, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0)
		return -errno;
	while (connect(*fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || !ms_left(end))
			return -errno; /* EAGAIN: the backlog stayed full */
		poll(NULL, 0, 20);
	}
	return 0;
}

/* The whole answer, until dsmd closes the connection. */
static int read_answer(int fd, const struct timespec *end, char *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n > 0 && (got += (size_t)n) < len - 1)
			continue;
		if (n == 0 || got == len - 1)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		n = wait_ready(fd, POLLIN, end);
		if (n <= 0)
			return n ? (int)n : -ETIMEDOUT;
	}
	buf[got] = '\0';
	return (int)got;
}

static enum ask_result ask_dsmd(const char *path, char *msg, size_t len)
{
	struct timespec end;
	char buf[4096];
	json_object *o, *v;
	enum ask_result res;
	int fd = -1, err;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += UNLOAD_TIMEOUT_MS / 1000;
	err = connect_dsmd(path, &end, &fd);
	if (!err && send(fd, "unload\n", 7, MSG_NOSIGNAL) != 7)
		err = -errno;
	if (!err)
		err = read_answer(fd, &end, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	if (err < 0) {
		snprintf(msg, len, "%s", strerror(-err));
		return err == -ENOENT || err == -ECONNREFUSED ? ASK_NOBODY : ASK_NO_ANSWER;
	}
	o = json_tokener_parse(buf);
	if (o && json_object_object_get_ex(o, "error", &v)) {
		snprintf(msg, len, "%s", json_object_get_string(v));
		res = ASK_REFUSED;
	} else if (o && json_object_object_get_ex(o, "ok", &v) && json_object_get_boolean(v)) {
		snprintf(msg, len, "pid %d",
			 json_object_object_get_ex(o, "pid", &v) ? json_object_get_int(v) : 0);
		res = ASK_DONE;
	} else {
		snprintf(msg, len, "an answer that is not one: %.80s", buf);
		res = ASK_NO_ANSWER;
	}
	json_object_put(o);
	return res;
}

int dsmd_unload_command(const struct dsmd_opts *o)
{
	char path[512], msg[512];
	int err;

	snprintf(path, sizeof(path), "%s/dsmd.sock", o->state_dir);
	switch (ask_dsmd(path, msg, sizeof(msg))) {
	case ASK_DONE:
		log_info("main: unloaded by the running dsmd (%s): dsm no longer enforces on "
			 "this node", msg);
		return 0;
	case ASK_REFUSED:
		log_error("main: unload: the running dsmd refused: %s", msg);
		return 1;
	case ASK_NOBODY:
		log_info("main: no dsmd running (%s: %s): unloading directly", path, msg);
		break;
	case ASK_NO_ANSWER:
		log_warning("main: the dsmd at %s did not answer (%s): unloading directly",
			    path, msg);
		break;
	}
	err = dsmd_unload_now(o);
	if (err) {
		log_error("main: unload: %s (directly, that needs system bpf and dsm_files)",
			  strerror(-err));
		return 1;
	}
	log_info("main: unloaded directly: dsm no longer enforces on this node");
	return 0;
}
