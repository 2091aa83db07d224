/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmd's event loop: one epoll instance, sources that each know their
 * handler. Knows nothing of dsmd: the subsystems register their own
 * sources (the control socket its listener and clients, the main loop the
 * signals, the tick and the alarm ring), so the loop calls no subsystem by
 * name.
 */
#ifndef DSMD_LOOP_H
#define DSMD_LOOP_H

#include <stdint.h>

struct dsmd_source;

/* Called with the loop's context and the epoll events (EPOLLIN ...). */
typedef void dsmd_ready_fn(void *ctx, struct dsmd_source *s, uint32_t events);

struct dsmd_source {
	int fd;
	uint32_t events;       /* what is watched now */
	dsmd_ready_fn *ready;
};

struct dsmd_loop;

int dsmd_loop_open(struct dsmd_loop **out);
/* Watch s->fd for events (level-triggered). 0 or -errno. */
int dsmd_loop_add(struct dsmd_loop *l, struct dsmd_source *s, uint32_t events);
/* Change what is watched (0: nothing but errors and hang-ups). */
int dsmd_loop_watch(struct dsmd_loop *l, struct dsmd_source *s, uint32_t events);
/* Stop watching s (before its fd is closed). */
void dsmd_loop_del(struct dsmd_loop *l, struct dsmd_source *s);
/* Wait up to timeout_ms (-1: no limit) for one ready source and run its
 * handler with ctx. 1 ran one, 0 timed out or was interrupted, -errno. */
int dsmd_loop_once(struct dsmd_loop *l, void *ctx, int timeout_ms);
void dsmd_loop_close(struct dsmd_loop *l);

#endif /* DSMD_LOOP_H */
