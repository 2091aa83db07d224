// SPDX-License-Identifier: GPL-2.0
/*
 * The whole daemon: the state directory, the TLS context (enrolment mode:
 * clients without a certificate may connect, for ENROL only), the loop
 * with its listener, control socket and tick, and the protocol hooks of
 * the connections. main.c and the tests drive it with srv_run_once().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "tls.h"

static void tick_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct srv *s = ctx;
	uint64_t expirations;

	(void)events;
	if (read(src->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		srv_debug("tick: %s", strerror(errno));
	srv_batch_flush(s); /* a rotation step acts on the acks: they are on disk first */
	srv_listen_tick(s);
	srv_conns_tick(s);
	srv_control_tick(s);
	srv_rotation_tick(s);
	srv_fresh_tick(s);
	srv_metrics_tick(s);
}

static int tick_open(struct srv *s)
{
	const struct itimerspec its = {
		.it_interval = { .tv_nsec = SRV_TICK_MS * 1000000L },
		.it_value = { .tv_nsec = SRV_TICK_MS * 1000000L },
	};
	const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	s->tick = (struct dsm_source){ .fd = fd, .ready = tick_ready };
	return dsm_loop_add(s->loop, &s->tick, EPOLLIN);
}

static int tls_open(struct srv *s)
{
	const struct dsm_tls_config cfg = {
		.cluster = s->cluster, .ca = s->ca.cert, .cert = s->cert, .key = s->key,
		.deny = s->deny, .enrol = true,
	};

	s->tls = dsm_tls_server_ctx(&cfg);
	if (!s->tls) {
		srv_err("tls: the server certificate, its key and the CA do not make a context "
			"(not issued by this CA, or the key does not match)");
		return -EINVAL;
	}
	return 0;
}

/* The freshness periods: an expiry within bounds, an interval below it. */
static int fresh_config(struct srv *s, const struct srv_config *cfg)
{
	s->fresh.expiry_ms = cfg->fresh_expiry_ms ? cfg->fresh_expiry_ms : SRV_FRESH_EXPIRY_MS;
	s->fresh.interval_ms = cfg->fresh_interval_ms ? cfg->fresh_interval_ms
						      : s->fresh.expiry_ms / 3;
	if (s->fresh.expiry_ms < SRV_FRESH_EXPIRY_MIN_MS ||
	    s->fresh.expiry_ms > SRV_FRESH_EXPIRY_MAX_MS ||
	    s->fresh.interval_ms >= s->fresh.expiry_ms) {
		srv_err("fresh: the expiry must be %u to %u ms and the interval below it",
			SRV_FRESH_EXPIRY_MIN_MS, SRV_FRESH_EXPIRY_MAX_MS);
		return -EINVAL;
	}
	return 0;
}

int srv_open(struct srv *s, const struct srv_config *cfg)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->listener.fd = s->control.fd = s->tick.fd = s->alarms.fd = -1;
	s->admit_rate = cfg->admit_rate ? cfg->admit_rate : SRV_ADMIT_RATE;
	err = fresh_config(s, cfg);
	if (err)
		return err;
	srv_hooks = (struct srv_conn_hooks){ .opened = srv_session_opened,
		.message = srv_session_message, .closed = srv_session_closed };
	err = srv_state_open(s, cfg->state_dir);
	if (!err)
		err = srv_keys_open(s);
	if (!err)
		err = srv_rotation_open(s, cfg);
	if (!err)
		err = tls_open(s);
	if (!err && s->policy.buf) {
		err = srv_fresh_issue(s);
		err = err < 0 ? err : 0;
	}
	if (!err)
		err = dsm_loop_open(&s->loop);
	if (!err)
		err = tick_open(s);
	if (!err)
		err = srv_control_open(s, cfg->control ? cfg->control : SRV_CONTROL_PATH);
	if (!err)
		err = srv_listen_open(s, cfg->listen);
	if (!err && cfg->metrics)
		err = srv_metrics_open(s, cfg->metrics);
	if (err) {
		srv_close(s);
		return err;
	}
	srv_info("server %s of cluster %s: serving, policy version %llu", s->name, s->cluster,
		 (unsigned long long)s->policy.version);
	return 0;
}

int srv_run_once(struct srv *s, int timeout_ms)
{
	const int r = dsm_loop_once(s->loop, s, s->batch.open ? 0 : timeout_ms);

	srv_conns_reap(s);
	/* a round: every event ready now, then one commit for their acks */
	if (s->batch.open && (r <= 0 || srv_now_ms() - s->batch.since_ms >= SRV_BATCH_MS)) {
		srv_batch_flush(s);
		srv_conns_reap(s); /* the sessions of a lost batch */
	}
	return r;
}

void srv_close(struct srv *s)
{
	srv_conns_close_all(s);
	if (s->store)
		srv_batch_flush(s); /* what the closed sessions wrote too */
	srv_listen_close(s);
	srv_metrics_close(s);
	if (s->loop)
		srv_control_close(s);
	if (s->tick.fd >= 0) {
		dsm_loop_del(s->loop, &s->tick);
		close(s->tick.fd);
		s->tick.fd = -1;
	}
	dsm_loop_close(s->loop);
	s->loop = NULL;
	SSL_CTX_free(s->tls);
	s->tls = NULL;
	srv_rotation_close(s);
	srv_keys_close(s);
	srv_fresh_free(s);
	srv_state_close(s);
}
