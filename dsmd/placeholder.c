// SPDX-License-Identifier: GPL-2.0
/*
 * Placeholders (include/dsm/wire.h, docs/wire.md "A socket's placeholder"):
 * a labeled UDP socket whose datagrams the egress program keeps growing
 * asks, once (DSM_EV_PLACEHOLDER), for IP_OPTIONS of one empty dsm option,
 * so that the kernel builds the room into every header and the egress
 * fills it in place instead of reallocating the packet.
 *
 * The request names the socket by its cookie and the process that made
 * it. dsmd takes the process's socket descriptors one by one
 * (pidfd_getfd, which the kernel grants as a ptrace attach: the policy
 * must let dsmd's label ptrace the owner's), and sets the placeholder on
 * the one whose cookie matches, unless the socket carries options of its
 * own already. Whatever fails leaves the socket as it was: every datagram
 * still carries its option, by the slower path.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dsmd.h"
#include "dsm/wire.h"

/* The most socket descriptors of one process looked at per request. */
#define PLACEHOLDER_SCAN 256

static const uint8_t placeholder[DSM_OPT_LEN] = { DSM_OPT_TYPE, DSM_OPT_LEN,
						  DSM_OPT_VERSION_PLACEHOLDER };

static int pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static bool is_socket_link(int dirfd, const char *name)
{
	char target[32];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n <= 0)
		return false;
	target[n] = '\0';
	return !strncmp(target, "socket:[", 8);
}

/* The descriptor of the owner's socket with this cookie, as a descriptor
 * of dsmd's (the same open file); -errno: -ENOENT when none matched, the
 * first pidfd_getfd error when every attempt failed (-EPERM: the policy
 * or the kernel refused dsmd the owner's descriptors). */
static int socket_of(int pidfd, int tgid, uint64_t cookie)
{
	char path[32];
	struct dirent *e;
	unsigned seen = 0;
	int dfd, fd = -ENOENT, first_err = 0, got = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", tgid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	dfd = dirfd(dir);
	while (fd == -ENOENT && seen < PLACEHOLDER_SCAN && (e = readdir(dir))) {
		uint64_t c = 0;
		socklen_t cl = sizeof(c);
		char *end;
		long n = strtol(e->d_name, &end, 10);
		int s;

		if (*end || end == e->d_name || n < 0 || !is_socket_link(dfd, e->d_name))
			continue;
		seen++;
		s = pidfd_getfd(pidfd, (int)n);
		if (s < 0) {
			if (!first_err)
				first_err = -errno;
			continue;
		}
		got++;
		if (!getsockopt(s, SOL_SOCKET, SO_COOKIE, &c, &cl) && c == cookie)
			fd = s;
		else
			close(s);
	}
	closedir(dir);
	return fd == -ENOENT && !got && first_err ? first_err : fd;
}

/* The placeholder on a socket that has no options of its own: 1 when
 * set, 0 when the socket has options already (the placeholder among
 * them: set earlier), -errno. */
static int set_placeholder(int fd)
{
	uint8_t cur[40];
	socklen_t len = sizeof(cur);

	if (getsockopt(fd, IPPROTO_IP, IP_OPTIONS, cur, &len))
		return -errno;
	if (len)
		return 0;
	if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, placeholder, sizeof(placeholder)))
		return -errno;
	return 1;
}

void dsmd_placeholder_request(struct dsmd *d, const struct dsm_ev_placeholder *r)
{
	int pidfd, fd, ret;

	if (d->o.no_placeholder)
		return;
	pidfd = dsmd_pidfd_open((int)r->owner_tgid);
	if (pidfd < 0) {
		d->placeholders.gone++;
		return;
	}
	fd = socket_of(pidfd, (int)r->owner_tgid, r->cookie);
	close(pidfd);
	if (fd < 0) {
		if (fd == -ENOENT || fd == -ESRCH) {
			d->placeholders.gone++;
			return;
		}
		if (!d->placeholders.refused++)
			log_errno(LOG_WARNING, -fd,
				  "placeholder: the sockets of process %u (label %u) are out of reach; "
				  "their datagrams keep the slower path (the policy must let dsmd's "
				  "label ptrace theirs)",
				  r->owner_tgid, r->label);
		return;
	}
	ret = set_placeholder(fd);
	close(fd);
	if (ret > 0) {
		d->placeholders.set++;
		log_debug("placeholder: set on a socket of process %u (label %u)", r->owner_tgid,
			  r->label);
	} else if (ret == 0) {
		d->placeholders.own_options++;
	} else {
		d->placeholders.failed++;
		log_errno(LOG_WARNING, -ret, "placeholder: socket of process %u", r->owner_tgid);
	}
}
