// SPDX-License-Identifier: GPL-2.0
/*
 * One connection: the TLS handshake, then frames in through lib/chan_msg's
 * streaming reader (server side: it refuses server-only types on the
 * header) and out through a bounded queue. Nothing here blocks; every
 * step that would returns to the loop with the fd watched for what TLS
 * asked. A connection is never freed inside its own event: it is marked
 * dead and srv_conns_reap() frees it after the handler returned, so a
 * handler (a removal, a broadcast) can end any connection safely.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "tls.h"

#define READ_CHUNK  16384
#define CLOSING_MS  5000
#define OUT_KEEP    16384 /* a drained queue keeps at most this much memory */

struct srv_conn_hooks srv_hooks;

static struct srv_conn *conn_of(struct dsm_source *src)
{
	return (struct srv_conn *)((char *)src - offsetof(struct srv_conn, src));
}

static const char *who(const struct srv_conn *c)
{
	return c->id.name[0] ? c->id.name : c->addr;
}

void srv_conn_kill(struct srv_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	c->srv->ndead++;
}

/* What of events the socket has now (POLLHUP and POLLERR always count). */
static short poll_now(const struct srv_conn *c, short events)
{
	struct pollfd p = { .fd = c->src.fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents & (events | POLLHUP | POLLERR) : 0;
}

bool srv_conn_peer_gone(const struct srv_conn *c)
{
	return poll_now(c, POLLRDHUP) != 0;
}

static size_t pending(const struct srv_conn *c)
{
	return c->out.len - c->out_off;
}

static void watch(struct srv *s, struct srv_conn *c)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (c->state != SRV_CONN_CLOSING)
		ev |= EPOLLIN;
	if (pending(c) || c->tls_wants_write)
		ev |= EPOLLOUT;
	if (dsm_loop_watch(s->loop, &c->src, ev))
		srv_conn_kill(c);
}

static void close_when_flushed(struct srv_conn *c)
{
	if (c->state != SRV_CONN_CLOSING || pending(c))
		return;
	dsm_tls_shutdown(c->tls); /* one try: close_notify if it fits */
	srv_conn_kill(c);
}

/* Write what is queued until TLS would block. */
static void flush(struct srv_conn *c)
{
	while (pending(c) && !c->dead) {
		size_t put = 0;
		const int r = dsm_tls_write(c->tls, c->out.data + c->out_off, pending(c), &put);

		if (r == DSM_TLS_DONE) {
			c->out_off += put;
		} else if (r == DSM_TLS_WANT_WRITE) {
			c->tls_wants_write = true;
			return;
		} else if (r == DSM_TLS_WANT_READ) {
			return;
		} else {
			srv_debug("conn: %s: write: %s", who(c), dsm_tls_error(c->tls));
			srv_conn_kill(c);
			return;
		}
	}
	c->out.len = c->out_off = 0;
	/* A POLICY is the whole bundle in every session's queue: once it is
	 * written, the memory goes, or a push would leave sessions x bundle
	 * allocated until the connections close. */
	if (c->out.cap > OUT_KEEP)
		dsm_msg_buf_release(&c->out);
	close_when_flushed(c);
}

static void compact(struct srv_conn *c)
{
	if (!c->out_off)
		return;
	memmove(c->out.data, c->out.data + c->out_off, pending(c));
	c->out.len -= c->out_off;
	c->out_off = 0;
}

int srv_conn_send(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	struct dsm_msg framed = *m; /* in the session's protocol version */
	int err;

	if (c->dead)
		return -EPIPE;
	compact(c);
	framed.version = (uint8_t)dsm_msg_frame_version(m->type, c->version);
	err = dsm_msg_encode(&framed, &c->out);
	if (!err && pending(c) > SRV_OUT_MAX) {
		srv_warn("conn: %s: output queue over %u bytes: a slow reader, closed",
			 who(c), SRV_OUT_MAX);
		err = -ENOBUFS;
	}
	if (err) {
		srv_conn_kill(c);
		return err;
	}
	c->tls_wants_write = false;
	flush(c);
	watch(s, c);
	return c->dead ? -EPIPE : 0;
}

void srv_conn_finish(struct srv *s, struct srv_conn *c)
{
	if (c->dead)
		return;
	c->state = SRV_CONN_CLOSING;
	c->deadline_ms = srv_now_ms() + CLOSING_MS;
	flush(c);
	watch(s, c);
}

void srv_conn_refuse(struct srv *s, struct srv_conn *c, uint32_t code, uint64_t id,
		     const char *text)
{
	const struct dsm_msg m = { .type = DSM_MSG_ERROR, .id = id,
				   .error = { .code = code, .text = text } };

	srv_info("conn: %s refused: %s", who(c), text);
	s->stats.refused[code <= DSM_ERR_CODE_MAX ? code : 0]++;
	if (!srv_conn_send(s, c, &m))
		srv_conn_finish(s, c);
}

static void handshake(struct srv *s, struct srv_conn *c)
{
	const int r = dsm_tls_handshake(c->tls);

	if (r == DSM_TLS_WANT_WRITE) {
		c->tls_wants_write = true;
		return;
	}
	if (r == DSM_TLS_WANT_READ)
		return;
	if (r != DSM_TLS_DONE) {
		srv_info("conn: %s: handshake refused: %s", c->addr, dsm_tls_error(c->tls));
		srv_conn_kill(c);
		return;
	}
	if (srv_hooks.opened(s, c) < 0)
		srv_conn_kill(c);
}

/* Feed got bytes to the reader; every whole frame goes to the protocol. */
static void feed(struct srv *s, struct srv_conn *c, const uint8_t *buf, size_t got)
{
	size_t off = 0;

	while (off < got && !c->dead && c->state != SRV_CONN_CLOSING) {
		struct dsm_msg m = { 0 };
		size_t used = 0;
		const int r = dsm_msg_reader_feed(&c->rd, buf + off, got - off, &used, &m);

		off += used;
		if (r < 0) {
			srv_conn_refuse(s, c, DSM_ERR_MALFORMED, 0, "malformed frame");
			return;
		}
		if (r == 1) {
			if (srv_hooks.message(s, c, &m) < 0)
				srv_conn_kill(c);
			dsm_msg_free(&m);
		}
	}
}

static void read_all(struct srv *s, struct srv_conn *c)
{
	uint8_t buf[READ_CHUNK];

	while (!c->dead && c->state != SRV_CONN_CLOSING) {
		size_t got = 0;
		const int r = dsm_tls_read(c->tls, buf, sizeof(buf), &got);

		if (r == DSM_TLS_WANT_READ)
			return;
		if (r == DSM_TLS_WANT_WRITE) {
			c->tls_wants_write = true;
			return;
		}
		if (r != DSM_TLS_DONE) {
			srv_debug("conn: %s: %s", who(c),
				  r == DSM_TLS_CLOSED ? "closed by the peer" : dsm_tls_error(c->tls));
			srv_conn_kill(c);
			return;
		}
		c->last_read_ms = srv_now_ms();
		feed(s, c, buf, got);
	}
}

static void conn_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct srv *s = ctx;
	struct srv_conn *c = conn_of(src);

	(void)events;
	if (c->dead)
		return;
	c->tls_wants_write = false;
	if (c->state == SRV_CONN_HANDSHAKE)
		handshake(s, c);
	if (c->state != SRV_CONN_HANDSHAKE) {
		flush(c);
		read_all(s, c);
	}
	watch(s, c);
}

int srv_conn_accept(struct srv *s, int fd, const char *addr)
{
	struct srv_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = dsm_tls_conn_new(s->tls, fd, &c->tls);
	if (err) {
		free(c);
		return err;
	}
	c->src = (struct dsm_source){ .fd = fd, .ready = conn_ready };
	c->srv = s;
	c->state = SRV_CONN_HANDSHAKE;
	c->version = DSM_MSG_VERSION_MIN; /* until HELLO_OK chooses */
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	dsm_msg_reader_init(&c->rd, DSM_MSG_FROM_NODE);
	c->last_read_ms = srv_now_ms();
	c->deadline_ms = c->last_read_ms + SRV_HANDSHAKE_MS;
	err = dsm_loop_add(s->loop, &c->src, EPOLLIN);
	if (err) {
		dsm_tls_conn_free(c->tls);
		dsm_msg_reader_release(&c->rd);
		free(c);
		return err;
	}
	c->next = s->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->conns;
	s->conns = c;
	s->nconns++;
	return 0;
}

struct srv_conn *srv_conn_find(struct srv *s, const char *name)
{
	for (struct srv_conn *c = s->conns; c; c = c->next)
		if (!c->dead && (c->state == SRV_CONN_HELLO || c->state == SRV_CONN_READY) &&
		    !strcmp(c->id.name, name))
			return c;
	return NULL;
}

static void conn_free(struct srv *s, struct srv_conn *c)
{
	if (srv_hooks.closed)
		srv_hooks.closed(s, c);
	dsm_loop_del(s->loop, &c->src);
	dsm_tls_conn_free(c->tls);
	close(c->src.fd);
	dsm_msg_reader_release(&c->rd);
	dsm_msg_buf_release(&c->out);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	s->nconns--;
	free(c);
}

void srv_conns_reap(struct srv *s)
{
	struct srv_conn *c = s->conns, *next;

	if (!s->ndead)
		return;
	s->ndead = 0; /* a connection a closed hook marks is counted again */
	for (; c; c = next) {
		next = c->next;
		if (c->dead)
			conn_free(s, c);
	}
}

void srv_conns_tick(struct srv *s)
{
	const uint64_t now = srv_now_ms();

	for (struct srv_conn *c = s->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->deadline_ms && now > c->deadline_ms) {
			srv_info("conn: %s: timed out", who(c));
			srv_conn_kill(c);
		} else if (c->state == SRV_CONN_READY &&
			   now - c->last_read_ms > 3 * SRV_HEARTBEAT_MS &&
			   poll_now(c, POLLIN) != POLLIN) {
			/* (bytes waiting: the node spoke and this loop is behind) */
			srv_info("session: node %s silent for %u ms: closed", c->id.name,
				 3 * SRV_HEARTBEAT_MS);
			srv_conn_kill(c);
		}
	}
	srv_conns_reap(s);
}

void srv_conns_close_all(struct srv *s)
{
	for (struct srv_conn *c = s->conns; c; c = c->next) {
		if (!c->dead && c->state != SRV_CONN_HANDSHAKE)
			dsm_tls_shutdown(c->tls);
		srv_conn_kill(c);
	}
	srv_conns_reap(s);
}
