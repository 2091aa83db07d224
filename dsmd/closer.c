// SPDX-License-Identifier: GPL-2.0
/*
 * Closing what clients gave us, off the event loop (closer.h).
 *
 * close() can block: the last close of a TCP socket with SO_LINGER set and
 * data it cannot send waits for the linger time. A client of the control
 * socket decides what dsmd ends up closing last: a descriptor it passes
 * (SCM_RIGHTS) and then closes on its side, or descriptors it leaves
 * unread in its connection, which the kernel releases when dsmd closes
 * that connection. And the kernel runs that last release in the thread
 * that dropped the reference, on its way back from the system call. So
 * client connections and passed descriptors are closed here, by a thread
 * of their own: a lingering close stalls this thread, never the loop.
 *
 * The queue is a growable array under a mutex; the loop only appends.
 * Signals stay blocked in the thread (it is started after dsmd blocks
 * them for its signalfd), and at exit it is not waited for: a process
 * that exits closes every descriptor without lingering.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "closer.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int *fds;
	size_t n, cap;
	bool started, stop;
	pthread_t thread;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void *closer_run(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		while (!q.n && !q.stop)
			pthread_cond_wait(&q.wake, &q.lock);
		if (!q.n)
			break;
		int fd = q.fds[--q.n];

		pthread_mutex_unlock(&q.lock);
		close(fd);
		pthread_mutex_lock(&q.lock);
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

int dsmd_closer_start(void)
{
	int err;

	if (q.started)
		return 0;
	err = pthread_create(&q.thread, NULL, closer_run, NULL);
	if (err)
		return -err;
	q.started = true;
	return 0;
}

void dsmd_closer_put(int fd)
{
	if (fd < 0)
		return;
	pthread_mutex_lock(&q.lock);
	if (q.started && q.n == q.cap) {
		size_t cap = q.cap ? q.cap * 2 : 64;
		int *v = realloc(q.fds, cap * sizeof(*v));

		if (v) {
			q.fds = v;
			q.cap = cap;
		}
	}
	if (q.started && q.n < q.cap) {
		q.fds[q.n++] = fd;
		pthread_cond_signal(&q.wake);
		fd = -1;
	}
	pthread_mutex_unlock(&q.lock);
	if (fd >= 0)
		close(fd); /* no thread, or no memory: close here after all */
}

size_t dsmd_closer_pending(void)
{
	size_t n;

	pthread_mutex_lock(&q.lock);
	n = q.n;
	pthread_mutex_unlock(&q.lock);
	return n;
}

void dsmd_closer_stop(void)
{
	struct timespec t;

	if (!q.started)
		return;
	pthread_mutex_lock(&q.lock);
	q.stop = true;
	pthread_cond_signal(&q.wake);
	pthread_mutex_unlock(&q.lock);
	/* A close that lingers holds the thread: do not wait for it long. */
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 1;
	if (pthread_timedjoin_np(q.thread, NULL, &t) == 0) {
		q.started = false;
		free(q.fds);
		q.fds = NULL;
		q.n = q.cap = 0;
		q.stop = false;
	}
}
