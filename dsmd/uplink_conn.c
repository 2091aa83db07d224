// SPDX-License-Identifier: GPL-2.0
/*
 * The uplink's connection: a TCP socket to a Security Server, TLS over it
 * (lib/tls.h) and channel frames over that (lib/chan_msg.h). Everything
 * is non-blocking: each step says whether it wants the fd readable or
 * writable, for dsmd's loop; enrolment, which runs before the loop, waits
 * with poll() up to a deadline. Frames are queued whole and written as
 * the socket takes them; frames read are decoded one at a time by the
 * streaming reader, which refuses, on the header, types only a node sends.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dsmd.h"
#include "uplink.h"

int64_t dsmd_uplink_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* HOST and PORT of s into host (len) and port; 0 or -EINVAL. */
static int split_addr(const char *s, char *host, size_t len, char port[6], int *family)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	unsigned long p;

	*family = AF_INET;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
		*family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (!hl || hl >= len)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || colon[1] == '-' || colon[1] == '+' || !p || p > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, 6, "%lu", p);
	return 0;
}

bool dsmd_uplink_addr_valid(const char *s)
{
	char host[256], port[6];
	int family;

	return s && split_addr(s, host, sizeof(host), port, &family) == 0;
}

int dsmd_uplink_connect(const char *hostport)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], port[6];
	int fd, err, family;

	if (split_addr(hostport, host, sizeof(host), port, &family))
		return -EINVAL;
	hints.ai_family = family;
	err = getaddrinfo(host, port, &hints, &res);
	if (err)
		return err == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		freeaddrinfo(res);
		return err;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		freeaddrinfo(res);
		return err;
	}
	freeaddrinfo(res);
	return fd;
}

int dsmd_uplink_conn_open(struct dsmd_uplink_conn *c, SSL_CTX *ctx, int fd)
{
	int err;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->next_id = 1;
	c->version = DSM_MSG_VERSION_MIN; /* until HELLO_OK chooses */
	dsm_msg_reader_init(&c->rd, DSM_MSG_FROM_SERVER);
	err = dsm_tls_conn_new(ctx, fd, &c->tls);
	if (err) {
		dsmd_uplink_conn_close(c);
		return err;
	}
	return 0;
}

void dsmd_uplink_conn_close(struct dsmd_uplink_conn *c)
{
	if (c->tls)
		dsm_tls_conn_free(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	dsm_msg_reader_release(&c->rd);
	dsm_msg_buf_release(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* A lib/tls status: 0 done, 1 wants the fd, or the error. */
static int step(struct dsmd_uplink_conn *c, int r)
{
	if (r == DSM_TLS_WANT_READ || r == DSM_TLS_WANT_WRITE) {
		c->want = r;
		return 1;
	}
	if (r == DSM_TLS_CLOSED)
		return -ENOTCONN;
	return r;
}

int dsmd_uplink_conn_handshake(struct dsmd_uplink_conn *c)
{
	int r = step(c, dsm_tls_handshake(c->tls));

	if (r == 0)
		c->handshaken = true;
	return r;
}

int dsmd_uplink_conn_send(struct dsmd_uplink_conn *c, struct dsm_msg *m, uint64_t id)
{
	m->id = id ? id : c->next_id++;
	m->version = (uint8_t)dsm_msg_frame_version(m->type, c->version);
	return dsm_msg_encode(m, &c->out);
}

int dsmd_uplink_conn_flush(struct dsmd_uplink_conn *c)
{
	while (c->out_off < c->out.len) {
		size_t put = 0;
		int r = step(c, dsm_tls_write(c->tls, c->out.data + c->out_off,
					      c->out.len - c->out_off, &put));

		if (r)
			return r;
		c->out_off += put;
	}
	c->out.len = 0;
	c->out_off = 0;
	return 0;
}

int dsmd_uplink_conn_recv(struct dsmd_uplink_conn *c, struct dsm_msg *m)
{
	for (;;) {
		size_t used = 0, got = 0;
		int r;

		if (c->in_off < c->in_len) {
			r = dsm_msg_reader_feed(&c->rd, c->in + c->in_off, c->in_len - c->in_off,
						&used, m);
			c->in_off += used;
			if (r)
				return r;
			continue;
		}
		c->in_off = c->in_len = 0;
		r = step(c, dsm_tls_read(c->tls, c->in, sizeof(c->in), &got));
		if (r)
			return r == 1 ? 0 : r;
		c->in_len = got;
	}
}

int dsmd_uplink_conn_wait(const struct dsmd_uplink_conn *c, int64_t deadline_ms)
{
	struct pollfd p = { .fd = c->fd,
			    .events = c->want == DSM_TLS_WANT_WRITE ? POLLOUT : POLLIN };
	int64_t left = deadline_ms - dsmd_uplink_mono_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)left);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n ? 0 : -ETIMEDOUT;
}

int dsmd_uplink_connected(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&p, 1, 0) < 0)
		return -errno;
	if (!(p.revents & (POLLOUT | POLLERR | POLLHUP)))
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err ? -err : 0;
}
