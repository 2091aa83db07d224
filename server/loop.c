// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop (loop.h). One event per epoll_wait(): a handler may close
 * other sources (the tick ends connections past their deadline, a removal
 * closes a session), and a batch could then hold a pointer to one freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

struct srv_loop {
	int epfd;
};

int srv_loop_open(struct srv_loop **out)
{
	struct srv_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		const int err = -errno;

		free(l);
		return err;
	}
	*out = l;
	return 0;
}

static int ctl(struct srv_loop *l, int op, struct srv_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	return epoll_ctl(l->epfd, op, s->fd, &ev) ? -errno : 0;
}

int srv_loop_add(struct srv_loop *l, struct srv_source *s, uint32_t events)
{
	const int err = ctl(l, EPOLL_CTL_ADD, s, events);

	if (!err)
		s->events = events;
	return err;
}

int srv_loop_watch(struct srv_loop *l, struct srv_source *s, uint32_t events)
{
	int err;

	if (events == s->events)
		return 0;
	err = ctl(l, EPOLL_CTL_MOD, s, events);
	if (!err)
		s->events = events;
	return err;
}

void srv_loop_del(struct srv_loop *l, struct srv_source *s)
{
	if (l && s->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->events = 0;
}

int srv_loop_once(struct srv_loop *l, void *ctx, int timeout_ms)
{
	struct epoll_event ev;
	struct srv_source *s;
	const int n = epoll_wait(l->epfd, &ev, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	s = ev.data.ptr;
	s->ready(ctx, s, ev.events);
	return 1;
}

void srv_loop_close(struct srv_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}
