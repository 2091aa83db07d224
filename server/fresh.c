// SPDX-License-Identifier: GPL-2.0
/*
 * Freshness statements (docs/server.md, "Freshness"): every interval, and
 * at every push, the server signs with its own certificate's key which
 * policy version and which signed bundle are current, valid for the
 * expiry period, and sends the statement to every node session that
 * speaks protocol 2. A node that stops getting them (a server cut off or
 * kept on an old policy) sees the last one expire and raises an alarm.
 * The operator key is not needed: it signs bundles, never statements.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy_fresh.h"
#include "server.h"

void srv_fresh_free(struct srv *s)
{
	free(s->fresh.buf);
	s->fresh.buf = NULL;
	s->fresh.len = 0;
}

static int send_fresh(struct srv *s, struct srv_conn *c)
{
	const struct dsm_msg m = { .type = DSM_MSG_FRESH, .id = ++c->next_id,
		.fresh.statement = { s->fresh.buf, s->fresh.len } };

	return srv_conn_send(s, c, &m);
}

int srv_fresh_offer(struct srv *s, struct srv_conn *c)
{
	if (!s->fresh.buf || c->version < dsm_msg_type_since(DSM_MSG_FRESH))
		return 0;
	return send_fresh(s, c);
}

/* A new statement about s->policy into s->fresh. */
static int make(struct srv *s)
{
	struct srv_fresh *f = &s->fresh;
	uint8_t digest[DSM_FRESH_DIGEST_LEN], *buf = NULL;
	uint64_t issued = srv_wall_ms(), expires;
	time_t nb, na;
	size_t len = 0;
	int err;

	/* Strictly after the last one: nodes refuse one that is not newer. */
	if (f->buf && issued <= f->issued_ms)
		issued = f->issued_ms + 1;
	expires = issued + f->expiry_ms;
	/* Never past the certificate that vouches for it. */
	if (!dsm_pki_cert_times(s->cert, &nb, &na) && na > 0 && expires / 1000 > (uint64_t)na)
		expires = (uint64_t)na * 1000;
	err = dsm_fresh_digest(s->policy.buf, s->policy.len, digest);
	if (!err)
		err = dsm_fresh_write(s->key, s->cert, s->cluster, s->policy.version, digest, issued,
				      expires, &buf, &len);
	if (err)
		return err;
	free(f->buf);
	f->buf = buf;
	f->len = len;
	f->version = s->policy.version;
	f->issued_ms = issued;
	f->expires_ms = expires;
	return 0;
}

int srv_fresh_issue(struct srv *s)
{
	unsigned int n = 0;
	int err;

	s->fresh.next_ms = srv_now_ms() + s->fresh.interval_ms;
	if (!s->policy.buf)
		return 0;
	err = make(s);
	if (err) {
		srv_err("fresh: no statement for policy version %llu: %s (is server.pem "
			"about to expire?)", (unsigned long long)s->policy.version,
			err == -EINVAL ? "the server certificate is not valid for it" :
			strerror(-err));
		return err;
	}
	for (struct srv_conn *c = s->conns; c; c = c->next)
		if (!c->dead && c->state == SRV_CONN_READY &&
		    c->version >= dsm_msg_type_since(DSM_MSG_FRESH) && !send_fresh(s, c))
			n++;
	srv_debug("fresh: policy version %llu current until %llu (ms), sent to %u nodes",
		  (unsigned long long)s->fresh.version, (unsigned long long)s->fresh.expires_ms, n);
	return (int)n;
}

void srv_fresh_tick(struct srv *s)
{
	if (srv_now_ms() >= s->fresh.next_ms)
		srv_fresh_issue(s);
}
