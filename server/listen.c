// SPDX-License-Identifier: GPL-2.0
/*
 * The TCP listener and admission. Handshakes cost the server signatures,
 * so they are admitted through a token bucket (--admit-rate per second, a
 * burst of one second's worth): after a restart every node reconnects at
 * once, and the bucket spreads them out while the kernel's backlog holds
 * the rest. At SRV_CONNS_MAX connections, or with the bucket empty, the
 * listener is not watched until the next tick.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

#define BACKLOG 4096

int srv_parse_addr(const char *addr_port, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(addr_port, ':');
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	char *end;
	unsigned long port;
	size_t hl;

	if (!colon || colon == addr_port)
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	hl = (size_t)(colon - addr_port);
	if (!colon[1] || *end || port > 65535 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr_port, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return 0;
	}
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1) {
			v6->sin6_family = AF_INET6;
			v6->sin6_port = htons((uint16_t)port);
			*len = sizeof(*v6);
			return 0;
		}
	}
	return -EINVAL;
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t size)
{
	const void *a = ss->ss_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (!inet_ntop(ss->ss_family, a, out, (socklen_t)size))
		snprintf(out, size, "?");
}

static bool may_admit(const struct srv *s)
{
	return s->admit_tokens >= 1.0 && s->nconns < SRV_CONNS_MAX;
}

static void accept_one(struct srv *s, int fd, const struct sockaddr_storage *ss)
{
	char addr[64];
	int err;

	peer_name(ss, addr, sizeof(addr));
	err = srv_conn_accept(s, fd, addr);
	if (err) {
		srv_warn("listen: %s: %s", addr, strerror(-err));
		close(fd);
		return;
	}
	s->admit_tokens -= 1.0;
	srv_debug("listen: connection from %s", addr);
}

static void listener_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct srv *s = ctx;

	(void)events;
	while (may_admit(s)) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		const int fd = accept4(src->fd, (struct sockaddr *)&ss, &len,
				       SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				srv_warn("listen: accept: %s", strerror(errno));
			return;
		}
		accept_one(s, fd, &ss);
	}
	dsm_loop_watch(s->loop, src, 0); /* paused until the next tick */
}

void srv_listen_tick(struct srv *s)
{
	const uint64_t now = srv_now_ms();

	s->admit_tokens += (double)(now - s->admit_at_ms) * s->admit_rate / 1000.0;
	if (s->admit_tokens > s->admit_rate)
		s->admit_tokens = s->admit_rate;
	s->admit_at_ms = now;
	if (s->listener.fd >= 0 && may_admit(s))
		dsm_loop_watch(s->loop, &s->listener, EPOLLIN);
}

int srv_listen_open(struct srv *s, const char *addr_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const int one = 1;
	int fd, err = srv_parse_addr(addr_port, &ss, &len);

	if (err) {
		srv_err("listen: %s: not ADDR:PORT (10.0.0.1:7443, [fd00::1]:7443)", addr_port);
		return err;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, BACKLOG)) {
		err = -errno;
		srv_err("listen: %s: %s", addr_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	s->listener = (struct dsm_source){ .fd = fd, .ready = listener_ready };
	s->admit_tokens = s->admit_rate;
	s->admit_at_ms = srv_now_ms();
	err = dsm_loop_add(s->loop, &s->listener, EPOLLIN);
	if (err) {
		close(fd);
		s->listener.fd = -1;
		return err;
	}
	srv_info("listen: %s, admitting %u handshakes a second", addr_port, s->admit_rate);
	return 0;
}

void srv_listen_close(struct srv *s)
{
	if (s->listener.fd < 0)
		return;
	dsm_loop_del(s->loop, &s->listener);
	close(s->listener.fd);
	s->listener.fd = -1;
}
