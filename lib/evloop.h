/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemons' event loop (dsmd and dsm-server): one epoll instance,
 * sources that each know their handler. Knows nothing of either daemon:
 * their subsystems register their own sources (a control socket its
 * listener and clients, the main loop the signals and the tick, dsmd the
 * alarm ring and its uplink, the server its listener and sessions), so the
 * loop calls no subsystem by name.
 */
#ifndef DSM_EVLOOP_H
#define DSM_EVLOOP_H

#include <stdint.h>

struct dsm_source;

/* Called with the loop's context and the epoll events (EPOLLIN ...). */
typedef void dsm_ready_fn(void *ctx, struct dsm_source *s, uint32_t events);

struct dsm_source {
	int fd;
	uint32_t events;       /* what is watched now */
	dsm_ready_fn *ready;
};

struct dsm_loop;

int dsm_loop_open(struct dsm_loop **out);
/* Watch s->fd for events (level-triggered). 0 or -errno. */
int dsm_loop_add(struct dsm_loop *l, struct dsm_source *s, uint32_t events);
/* Change what is watched (0: nothing but errors and hang-ups). */
int dsm_loop_watch(struct dsm_loop *l, struct dsm_source *s, uint32_t events);
/* Stop watching s (before its fd is closed). */
void dsm_loop_del(struct dsm_loop *l, struct dsm_source *s);
/* Wait up to timeout_ms (-1: no limit) for one ready source and run its
 * handler with ctx. 1 ran one, 0 timed out or was interrupted, -errno. */
int dsm_loop_once(struct dsm_loop *l, void *ctx, int timeout_ms);
void dsm_loop_close(struct dsm_loop *l);

#endif /* DSM_EVLOOP_H */
