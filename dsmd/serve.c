// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd at work: one event loop (loop.h) over
 *   - a signalfd: SIGHUP reloads (reload.c), SIGTERM and SIGINT end dsmd;
 *   - the alarm ring buffer (alarm.c), drained a bounded number of events
 *     at a time: while events wait, the loop does not sleep but still
 *     serves every other source in between;
 *   - the control socket's listener and clients (control.c);
 *   - a timerfd, once a second: dsm's pins and protected files (protect.c),
 *     the clock offset the epoch is computed
 *     with (net.c), the alarm ring (its notifications are batched: events
 *     may wait without a wakeup), what the alarm rate limit held back,
 *     client deadlines, the uplink (uplink.c: connects, heartbeats,
 *     renewal) and the heartbeat;
 *   - the uplink's connection to its Security Server, when joined.
 * Each tick also tells the service manager dsmd lives (notify.c: WATCHDOG=1
 * when the unit asked for a watchdog).
 * The heartbeat is the modification time of STATE_DIR/heartbeat (and the
 * status field heartbeat_age_ms): a dsmd that stops or stalls stops
 * touching it, which `dsmctl status` shows when dsmd does not answer.
 * An unload request ends the loop once its answer is out.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "dsmd.h"
#include "evloop.h"
#include "uplink.h"

#define TICK_MS         1000
#define UNLOAD_LINGER_MS 3000 /* at most, for the unload answer to go out */

static struct {
	struct dsm_source sig, tick, ring;
	bool stop;
	bool ring_waiting; /* the last drain stopped at its budget */
} s = { .sig.fd = -1, .tick.fd = -1, .ring.fd = -1 };

static int64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drain_ring(struct dsmd *d)
{
	int r = dsmd_alarm_drain(d);

	if (r < 0)
		log_errno(LOG_WARNING, r, "alarm: ring buffer");
	s.ring_waiting = r == 1;
}

static void ring_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	(void)src;
	(void)events;
	drain_ring(ctx);
}

static void heartbeat(struct dsmd *d)
{
	d->heartbeat_ms = wall_ms();
	if (d->heartbeat_fd >= 0 && futimens(d->heartbeat_fd, NULL))
		log_errno(LOG_DEBUG, -errno, "main: heartbeat");
}

static void tick_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct dsmd *d = ctx;
	struct dsmd_reload_result r;
	uint64_t n;

	(void)events;
	if (read(src->fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (dsmd_net_tick(d))
		dsmd_reload(d, "links changed", &r);
	if (!d->unloaded && dsmd_self_tick(d) == -ESHUTDOWN) {
		log_info("main: dsm's pins were removed under dsmd: exiting");
		s.stop = true;
		return;
	}
	drain_ring(d);
	dsmd_alarm_tick(d);
	dsmd_control_tick(d);
	dsmd_uplink_tick(d);
	heartbeat(d);
	dsmd_metrics_tick(d);
	dsmd_notify_tick();
}

static void signal_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct dsmd *d = ctx;
	struct signalfd_siginfo si;
	struct dsmd_reload_result r;

	(void)events;
	if (read(src->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		dsmd_reload(d, "SIGHUP", &r);
		return;
	}
	log_info("main: signal %u: exiting, enforcement stays in place", si.ssi_signo);
	s.stop = true;
}

static int open_sources(struct dsmd *d)
{
	struct itimerspec every = { .it_interval = { .tv_sec = TICK_MS / 1000 },
				    .it_value = { .tv_sec = TICK_MS / 1000 } };
	sigset_t set;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	s.sig = (struct dsm_source){ .fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK),
				      .ready = signal_ready };
	s.tick = (struct dsm_source){ .fd = timerfd_create(CLOCK_MONOTONIC,
							    TFD_CLOEXEC | TFD_NONBLOCK),
				       .ready = tick_ready };
	s.ring = (struct dsm_source){ .fd = dsmd_alarm_fd(d), .ready = ring_ready };
	if (s.sig.fd < 0 || s.tick.fd < 0 || timerfd_settime(s.tick.fd, 0, &every, NULL))
		return log_errno(LOG_ERR, -errno, "main: signals and timer");
	err = dsm_loop_add(d->loop, &s.sig, EPOLLIN);
	if (!err)
		err = dsm_loop_add(d->loop, &s.tick, EPOLLIN);
	if (!err)
		err = dsm_loop_add(d->loop, &s.ring, EPOLLIN);
	if (!err)
		err = dsmd_uplink_start(d);
	return err ? log_errno(LOG_ERR, err, "main: event loop") : 0;
}

static void close_sources(struct dsmd *d)
{
	dsm_loop_del(d->loop, &s.ring); /* the ring buffer owns its descriptor */
	if (s.sig.fd >= 0) {
		dsm_loop_del(d->loop, &s.sig);
		close(s.sig.fd);
	}
	if (s.tick.fd >= 0) {
		dsm_loop_del(d->loop, &s.tick);
		close(s.tick.fd);
	}
}

int dsmd_serve(struct dsmd *d)
{
	int64_t unload_by = 0;
	int err;

	err = open_sources(d);
	if (err) {
		close_sources(d);
		return err;
	}
	heartbeat(d);
	dsmd_metrics_tick(d);
	log_info("main: ready: node %s (%u), pid %d%s", d->node_name, d->node_id, getpid(),
		 d->takeover ? ", took over pinned objects" : "");
	dsmd_notify_ready(d);
	while (!s.stop) {
		int n = dsm_loop_once(d->loop, d, s.ring_waiting ? 0 : -1);

		if (n < 0) {
			err = log_errno(LOG_ERR, n, "main: event loop");
			break;
		}
		if (s.ring_waiting)
			drain_ring(d);
		if (d->unloaded) {
			if (!unload_by)
				unload_by = wall_ms() + UNLOAD_LINGER_MS;
			if (!dsmd_control_busy(d) || wall_ms() >= unload_by)
				break;
		}
	}
	dsmd_notify_stopping();
	if (!d->unloaded)
		dsmd_alarm_drain(d);
	close_sources(d);
	return err;
}
