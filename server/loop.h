/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsm-server's event loop: one epoll instance; each source knows its own
 * handler, so the loop calls no part of the server by name.
 */
#ifndef SRV_LOOP_H
#define SRV_LOOP_H

#include <stdint.h>

struct srv_source;

typedef void srv_ready_fn(void *ctx, struct srv_source *s, uint32_t events);

struct srv_source {
	int fd;
	uint32_t events; /* what is watched now */
	srv_ready_fn *ready;
};

struct srv_loop;

int srv_loop_open(struct srv_loop **out);
/* Watch s->fd for events (level-triggered). 0 or -errno. */
int srv_loop_add(struct srv_loop *l, struct srv_source *s, uint32_t events);
/* Change what is watched (0: nothing but errors and hang-ups). */
int srv_loop_watch(struct srv_loop *l, struct srv_source *s, uint32_t events);
/* Stop watching s (before its fd is closed). */
void srv_loop_del(struct srv_loop *l, struct srv_source *s);
/* Wait up to timeout_ms for one ready source and run its handler with
 * ctx: 1 ran one, 0 timed out or was interrupted, -errno. */
int srv_loop_once(struct srv_loop *l, void *ctx, int timeout_ms);
void srv_loop_close(struct srv_loop *l);

#endif /* SRV_LOOP_H */
