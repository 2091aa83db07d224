// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The daemons' one event loop (evloop.h): everything a daemon waits for is
 * a source on one epoll instance, and every handler does a bounded amount
 * of work and returns, so no source can hold up another.
 *
 * epoll_wait() is asked for one event at a time. A handler may close other
 * sources (the periodic tick ends clients past their deadline, a node's
 * removal closes its session); with a
 * batch of events, a later event of the batch could then point to a
 * source already freed. One event per call costs a system call per event,
 * which a daemon with these event rates does not notice, and epoll still
 * serves ready sources in turn (a level-triggered source that stays ready
 * goes to the back of the ready list).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"

struct dsm_loop {
	int epfd;
};

int dsm_loop_open(struct dsm_loop **out)
{
	struct dsm_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = -errno;

		free(l);
		return err;
	}
	*out = l;
	return 0;
}

static int ctl(struct dsm_loop *l, int op, struct dsm_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	return epoll_ctl(l->epfd, op, s->fd, &ev) ? -errno : 0;
}

int dsm_loop_add(struct dsm_loop *l, struct dsm_source *s, uint32_t events)
{
	int err = ctl(l, EPOLL_CTL_ADD, s, events);

	if (!err)
		s->events = events;
	return err;
}

int dsm_loop_watch(struct dsm_loop *l, struct dsm_source *s, uint32_t events)
{
	int err;

	if (events == s->events)
		return 0;
	err = ctl(l, EPOLL_CTL_MOD, s, events);
	if (!err)
		s->events = events;
	return err;
}

void dsm_loop_del(struct dsm_loop *l, struct dsm_source *s)
{
	if (l && s->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->events = 0;
}

int dsm_loop_once(struct dsm_loop *l, void *ctx, int timeout_ms)
{
	struct epoll_event ev;
	struct dsm_source *s;
	int n = epoll_wait(l->epfd, &ev, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	s = ev.data.ptr;
	s->ready(ctx, s, ev.events);
	return 1;
}

void dsm_loop_close(struct dsm_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}
