// SPDX-License-Identifier: GPL-2.0
/*
 * Policy freshness on the node (docs/server.md, "Freshness"): the
 * server's FRESH statements say that the bundle this node enforces is
 * still the cluster's current policy, until an expiry. Each is verified
 * against the CA pinned at enrolment (its embedded certificate must be a
 * server of this cluster issued by it, and the signature that
 * certificate's key's), whatever the channel; it must not be expired nor
 * issued in the future beyond DSM_FRESH_SKEW_MS, must be newer than the
 * one held, and must name the version and the SHA-256 of the bundle in
 * force. A good one is kept in policy.fresh (atomically, 0600, in the
 * protected server-state directory); anything else is refused with an
 * alarm, and one about a newer version says this node is behind.
 *
 * Once a second the newest statement held is checked against the clock:
 * past its expiry (or with none held), one alarm "policy_stale", then one
 * per expiry period while it lasts. Enforcement never changes here: the
 * last good bundle stays in force. At boot the persisted statement
 * counts, so a node that restarts without a server raises the alarm too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsm/decide.h"
#include "dsmd.h"
#include "uplink.h"

/* At start, a session has this long to bring a statement before a held
 * one that expired meanwhile is reported. */
#ifndef UPLINK_FRESH_GRACE_MS
#define UPLINK_FRESH_GRACE_MS 10000
#endif
/* The alarm's period when no statement says what the server's is. */
#define FRESH_DEFAULT_PERIOD_MS (3600 * 1000)

#define FRESH_FILE "policy.fresh"

static uint64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static uint64_t bundle_version(const struct dsmd *d)
{
	return d->uplink->bundle && d->policy ? dsm_policy_version(d->policy) : 0;
}

/* Hold buf (taken over) as the newest statement. */
static void hold(struct dsmd_uplink_fresh *f, uint8_t *buf, size_t len,
		 const struct dsm_fresh_info *info)
{
	free(f->buf);
	f->buf = buf;
	f->len = len;
	f->info = *info;
}

void dsmd_uplink_fresh_load(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsm_fresh_info info;
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	u->fresh.start_ms = dsmd_uplink_mono_ms();
	err = dsmd_uplink_read_at(u->st.dirfd, FRESH_FILE, &buf, &len, DSM_FRESH_MAX_SIZE);
	if (err) {
		if (err != -ENOENT)
			log_errno(LOG_WARNING, err, "uplink: %s/" FRESH_FILE, u->st.dir);
		return;
	}
	/* Its time is what the stale check is about: not refused for it. It
	 * was held for the bundle then in force, and bundles only go forward. */
	err = dsm_fresh_verify(buf, len, u->st.ca, u->st.cluster, &info);
	if (!err && u->bundle) {
		struct dsm_signed_info si;

		/* the version of the persisted bundle, as verified at reload */
		dsm_signed_verify(u->bundle, u->bundle_len, u->st.operator, u->st.cluster, 0, 0,
				  &si, NULL);
		err = dsm_fresh_match(&info, si.version, u->bundle, u->bundle_len);
		if (err == -ESTALE)
			err = 0; /* about the bundle before: its expiry still counts */
	}
	if (err) {
		log_warning("uplink: %s/" FRESH_FILE " is not taken: %s", u->st.dir,
			    dsm_fresh_strerror(err));
		free(buf);
		return;
	}
	hold(&u->fresh, buf, len, &info);
}

static void refuse_statement(struct dsmd *d, int err, uint64_t version, const char *what)
{
	char reason[200];

	snprintf(reason, sizeof(reason), "freshness statement from the server refused: %s",
		 what ? what : dsm_fresh_strerror(err));
	log_error("uplink: %s (version %llu)", reason, (unsigned long long)version);
	dsmd_uplink_alarm(d, err, version, reason);
}

void dsmd_uplink_fresh_on(struct dsmd *d, const struct dsm_msg *m)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsmd_uplink_fresh *f = &u->fresh;
	const struct dsm_msg_bytes *b = &m->fresh.statement;
	const uint64_t in_force = bundle_version(d);
	struct dsm_fresh_info info;
	char reason[200];
	uint8_t *copy;
	int err;

	err = dsm_fresh_verify(b->data, b->len, u->st.ca, u->st.cluster, &info);
	if (!err)
		err = dsm_fresh_check_time(&info, wall_ms(), DSM_FRESH_SKEW_MS);
	if (err) {
		refuse_statement(d, err, info.version, NULL);
		return;
	}
	if (f->buf && f->len == b->len && !memcmp(f->buf, b->data, b->len))
		return; /* the one held, again (a reconnect) */
	if (f->buf && info.issued_ms <= f->info.issued_ms) {
		refuse_statement(d, -ESTALE, info.version, "not newer than the statement held");
		return;
	}
	err = dsm_fresh_match(&info, in_force, u->bundle, u->bundle_len);
	if (err == -EAGAIN) {
		/* The server's policy is newer than what this node enforces. */
		if (f->behind_version != info.version) {
			f->behind_version = info.version;
			snprintf(reason, sizeof(reason), "policy_behind: the server's policy is "
				 "version %llu, this node enforces version %llu",
				 (unsigned long long)info.version, (unsigned long long)in_force);
			log_error("uplink: %s", reason);
			dsmd_uplink_alarm(d, -EAGAIN, info.version, reason);
		}
		return;
	}
	if (err) {
		refuse_statement(d, err, info.version, NULL);
		return;
	}
	copy = malloc(b->len);
	if (!copy)
		return;
	memcpy(copy, b->data, b->len);
	err = dsmd_uplink_write_at(u->st.dirfd, FRESH_FILE, copy, b->len, 0600);
	if (err)
		log_errno(LOG_ERR, err, "uplink: %s/" FRESH_FILE " (held in memory only)",
			  u->st.dir);
	if (f->stale)
		log_info("uplink: policy version %llu is fresh again", (unsigned long long)in_force);
	hold(f, copy, b->len, &info);
	f->stale = false;
	f->behind_version = 0;
}

void dsmd_uplink_fresh_installed(struct dsmd *d)
{
	struct dsmd_uplink_fresh *f = &d->uplink->fresh;

	/* Its statement follows POLICY: give it the time a session start has. */
	if (!f->buf)
		f->start_ms = dsmd_uplink_mono_ms();
}

void dsmd_uplink_fresh_tick(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsmd_uplink_fresh *f = &u->fresh;
	const int64_t mono = dsmd_uplink_mono_ms();
	const uint64_t now = wall_ms();
	int64_t period;
	char reason[200];

	if (!u->bundle || !d->policy || mono - f->start_ms < UPLINK_FRESH_GRACE_MS)
		return; /* nothing from the server in force; or just started */
	if (f->buf && now < f->info.expires_ms)
		return;
	period = f->buf ? (int64_t)(f->info.expires_ms - f->info.issued_ms)
			: FRESH_DEFAULT_PERIOD_MS;
	if (f->stale && mono - f->alarm_ms < period)
		return;
	if (f->buf)
		snprintf(reason, sizeof(reason), "policy_stale: no freshness statement since "
			 "the one that expired %llu s ago; version %llu stays in force",
			 (unsigned long long)((now - f->info.expires_ms) / 1000),
			 (unsigned long long)dsm_policy_version(d->policy));
	else
		snprintf(reason, sizeof(reason), "policy_stale: no freshness statement held; "
			 "version %llu stays in force",
			 (unsigned long long)dsm_policy_version(d->policy));
	log_warning("uplink: %s", reason);
	dsmd_uplink_alarm(d, -ETIME, dsm_policy_version(d->policy), reason);
	f->stale = true;
	f->alarm_ms = mono;
}

void dsmd_uplink_fresh_free(struct dsmd_uplink_fresh *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}
