// SPDX-License-Identifier: GPL-2.0
/*
 * Alarms forwarded to the Security Server, at least once. The alarm log
 * is the spool (alarm.c numbers every record): once the session is up,
 * the log is read from its oldest kept record, every record at or below
 * alarm-acked is skipped, and the rest go in ALARMS batches, each a run of
 * consecutive numbers within the channel's limits (DSM_MSG_ALARMS_MAX
 * records, DSM_MSG_ALARMS_TEXT_MAX bytes of text). One batch is in
 * flight; the next goes after its ALARMS_ACK, which is saved to
 * alarm-acked. A session that ends before the ACK leaves alarm-acked
 * where it was: the next one sends the batch again (the server dedupes).
 *
 * Nothing is lost without being counted. A number missing from the log
 * (rotated away before it was forwarded, or never written) and a record
 * that cannot be sent (longer than DSM_MSG_ALARM_MAX, or not channel
 * text) are counted, logged, and carried in the dropped field of the next
 * batch; the records the rate limit held back travel in the log itself
 * (records with "suppressed"). A gap at the very end of the log waits for
 * the next record to carry it.
 *
 * At most DSMD_UPLINK_ALARM_BATCHES_PER_S batches go in any second, so a
 * flood of alarms takes at most that share of the session: the heartbeat
 * and policy pushes go between the batches.
 */
#include <errno.h>
#include <string.h>

#include "dsmd.h"
#include "uplink.h"

#ifndef UPLINK_ALARM_RATE
#define UPLINK_ALARM_RATE DSMD_UPLINK_ALARM_BATCHES_PER_S
#endif
_Static_assert(UPLINK_ALARM_RATE >= 1 && UPLINK_ALARM_RATE <= DSMD_UPLINK_ALARM_BATCHES_PER_S,
	       "the rate limit fits its window");

/* One line of the log, not taken yet. */
struct spool_line {
	const char *text;
	size_t len;
	uint64_t seq;      /* 0: the line has none */
	bool whole;        /* false: longer than the buffer, cut */
};

/* ---- reading the log -------------------------------------------------- */

static void spool_rewind(struct dsmd_uplink_spool *sp)
{
	if (sp->reading)
		dsmd_alarm_reader_close(&sp->r);
	sp->reading = false;
	sp->skipping = false;
	sp->off = sp->len = 0;
}

/* More of the log into the buffer: bytes read, 0 at the end, -errno. */
static ssize_t spool_fill(struct dsmd *d, struct dsmd_uplink_spool *sp)
{
	ssize_t n;

	if (sp->off) {
		memmove(sp->buf, sp->buf + sp->off, sp->len - sp->off);
		sp->len -= sp->off;
		sp->off = 0;
	}
	if (!sp->reading) {
		const int err = dsmd_alarm_reader_open(d, &sp->r);

		if (err)
			return err;
		sp->reading = true;
	}
	n = dsmd_alarm_reader_read(d, &sp->r, sp->buf + sp->len, sizeof(sp->buf) - sp->len);
	if (n > 0)
		sp->len += (size_t)n;
	return n;
}

/* The rest of a line too long for the buffer goes: true once it did. */
static bool skip_rest(struct dsmd_uplink_spool *sp)
{
	const char *nl = memchr(sp->buf + sp->off, '\n', sp->len - sp->off);

	if (!nl) {
		sp->off = sp->len;
		return false;
	}
	sp->off = (size_t)(nl - sp->buf) + 1;
	sp->skipping = false;
	return true;
}

/* The next line: 1 with *l, 0 none yet (the end of what is written), -errno. */
static int spool_peek(struct dsmd *d, struct dsmd_uplink_spool *sp, struct spool_line *l)
{
	for (;;) {
		const char *start = sp->buf + sp->off;
		const size_t avail = sp->len - sp->off;
		const char *nl = memchr(start, '\n', avail);
		ssize_t n;

		if (sp->skipping && skip_rest(sp))
			continue;
		if (!sp->skipping && (nl || avail == sizeof(sp->buf))) {
			*l = (struct spool_line){ .text = start, .whole = nl != NULL,
						  .len = nl ? (size_t)(nl - start) : avail };
			if (!dsmd_alarm_line_seq(l->text, l->len, &l->seq))
				l->seq = 0;
			return 1;
		}
		n = spool_fill(d, sp);
		if (n <= 0)
			return (int)n;
	}
}

static void spool_take(struct dsmd_uplink_spool *sp, const struct spool_line *l)
{
	if (l->whole) {
		sp->off += l->len + 1;
	} else {
		sp->off = sp->len;
		sp->skipping = true;
	}
}

/* ---- batches ------------------------------------------------------------ */

static bool sendable(const struct spool_line *l)
{
	return l->whole && l->len && l->len <= DSM_MSG_ALARM_MAX &&
	       dsm_msg_text_ok(l->text, l->len);
}

static bool fits(const struct dsmd_uplink_spool *sp, const struct spool_line *l)
{
	return sp->batch.alarms.count < DSM_MSG_ALARMS_MAX &&
	       sp->text_bytes + l->len <= DSM_MSG_ALARMS_TEXT_MAX;
}

static void count_gap(struct dsmd_uplink_spool *sp, uint64_t seq)
{
	log_warning("uplink: alarms %llu to %llu are not in the log (rotated away before they "
		    "were forwarded, or never written): counted as dropped",
		    (unsigned long long)sp->next, (unsigned long long)seq - 1);
	sp->dropped += seq - sp->next;
	sp->next = seq;
}

static void count_unsendable(struct dsmd_uplink_spool *sp, const struct spool_line *l)
{
	log_warning("uplink: alarm %llu not forwarded (%s): counted as dropped",
		    (unsigned long long)l->seq,
		    l->whole && l->len <= DSM_MSG_ALARM_MAX ? "not one line of text" : "too long");
	sp->dropped++;
	sp->next = l->seq + 1;
}

static void batch_add(struct dsmd_uplink_spool *sp, const struct spool_line *l)
{
	char *copy = sp->text + sp->text_used;

	if (!sp->batch.alarms.count) {
		sp->batch.first_seq = l->seq;
		sp->batch.dropped = sp->dropped;
		sp->dropped = 0;
	}
	memcpy(copy, l->text, l->len);
	copy[l->len] = '\0';
	sp->line[sp->batch.alarms.count++] = copy;
	sp->text_used += l->len + 1;
	sp->text_bytes += l->len;
	sp->next = l->seq + 1;
}

/* One line into the batch being made: 1 taken, 0 it ends the batch. */
static int batch_take(struct dsmd_uplink_spool *sp, const struct spool_line *l)
{
	const bool empty = !sp->batch.alarms.count;

	if (!l->seq || l->seq < sp->next) {
		sp->unnumbered += !l->seq;
		return 1; /* acknowledged already, or written before numbering */
	}
	if (!empty && (l->seq != sp->next || !sendable(l) || !fits(sp, l)))
		return 0;
	if (l->seq > sp->next)
		count_gap(sp, l->seq);
	if (!sendable(l))
		count_unsendable(sp, l);
	else
		batch_add(sp, l);
	return 1;
}

/* The next batch from the log: how many alarms it has, or -errno. */
static int batch_make(struct dsmd *d, struct dsmd_uplink_spool *sp)
{
	struct spool_line l;
	int r = 0;

	sp->batch = (struct dsm_msg_alarms){ .alarms.line = sp->line };
	sp->text_bytes = sp->text_used = 0;
	while (sp->batch.alarms.count < DSM_MSG_ALARMS_MAX && (r = spool_peek(d, sp, &l)) > 0) {
		if (!batch_take(sp, &l))
			break;
		spool_take(sp, &l);
	}
	if (r < 0)
		return r;
	if (sp->unnumbered) {
		log_info("uplink: %llu alarm records without a seq (written before numbering) not "
			 "forwarded", (unsigned long long)sp->unnumbered);
		sp->unnumbered = 0;
	}
	return (int)sp->batch.alarms.count;
}

/* ---- the rate limit ------------------------------------------------------ */

static bool rate_allows(const struct dsmd_uplink_spool *sp, int64_t now)
{
	const int64_t oldest = sp->sent_at[sp->sent_next];

	return !oldest || now - oldest >= 1000;
}

static void rate_note(struct dsmd_uplink_spool *sp, int64_t now)
{
	sp->sent_at[sp->sent_next] = now ? now : 1;
	sp->sent_next = (sp->sent_next + 1) % UPLINK_ALARM_RATE;
}

/* ---- the session's side ------------------------------------------------- */

void dsmd_uplink_alarms_session(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsmd_uplink_spool *sp = &u->spool;

	dsmd_uplink_alarms_stop(sp);
	sp->next = u->st.alarm_acked + 1;
	sp->dropped = 0;
	sp->backlog_until = dsmd_alarm_last_seq(d);
	sp->backlog_sent = 0;
	if (sp->backlog_until > u->st.alarm_acked)
		log_info("uplink: alarms %llu to %llu to forward", (unsigned long long)sp->next,
			 (unsigned long long)sp->backlog_until);
}

void dsmd_uplink_alarms_send(struct dsmd *d, int64_t now_ms)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsmd_uplink_spool *sp = &u->spool;
	struct dsm_msg m = { .type = DSM_MSG_ALARMS };
	int n, err;

	if (u->phase != UPLINK_READY || sp->batch_id || !rate_allows(sp, now_ms))
		return;
	n = batch_make(d, sp);
	if (n <= 0) {
		if (n < 0)
			log_errno(LOG_WARNING, n, "uplink: reading the alarm log");
		return;
	}
	m.alarms = sp->batch;
	err = dsmd_uplink_conn_send(&u->conn, &m, 0);
	if (err) {
		log_errno(LOG_ERR, err, "uplink: encode ALARMS %llu..",
			  (unsigned long long)sp->batch.first_seq);
		spool_rewind(sp); /* read again from the acknowledged seq */
		sp->next = u->st.alarm_acked + 1;
		return;
	}
	sp->batch_id = m.id;
	rate_note(sp, now_ms);
}

/* The alarms of the session's backlog the ACK covered; a line once it is all out. */
static void note_backlog(struct dsmd_uplink_spool *sp, uint64_t acked)
{
	const uint64_t last = sp->batch.first_seq + sp->batch.alarms.count - 1;
	const uint64_t until = last < sp->backlog_until ? last : sp->backlog_until;

	if (!sp->backlog_until || sp->batch.first_seq > sp->backlog_until)
		return;
	sp->backlog_sent += until - sp->batch.first_seq + 1;
	if (acked < sp->backlog_until)
		return;
	log_info("uplink: forwarded %llu alarms held while the server was away",
		 (unsigned long long)sp->backlog_sent);
	sp->backlog_until = 0;
}

int dsmd_uplink_alarms_ack(struct dsmd *d, const struct dsm_msg *m)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsmd_uplink_spool *sp = &u->spool;
	const uint64_t seq = m->alarms_ack.seq;
	const uint64_t last = sp->batch.first_seq + sp->batch.alarms.count - 1;
	int err;

	if (!sp->batch_id || m->id != sp->batch_id)
		return -EPROTO;
	sp->batch_id = 0;
	if (seq > u->st.alarm_acked) {
		err = dsmd_uplink_save_acked(&u->st, seq);
		if (err)
			log_errno(LOG_ERR, err, "uplink: %s/alarm-acked", u->st.dir);
	}
	if (seq > dsmd_alarm_last_seq(d)) {
		log_warning("uplink: the server holds alarms up to %llu, above this node's %llu: "
			    "numbering goes on from there", (unsigned long long)seq,
			    (unsigned long long)dsmd_alarm_last_seq(d));
		dsmd_alarm_seq_floor(d, seq);
	}
	if (seq < last) {
		log_warning("uplink: the server stored alarms up to %llu of %llu: sending again",
			    (unsigned long long)seq, (unsigned long long)last);
		spool_rewind(sp);
		sp->next = u->st.alarm_acked + 1;
		return 0;
	}
	note_backlog(sp, seq);
	return 0;
}

void dsmd_uplink_alarms_stop(struct dsmd_uplink_spool *sp)
{
	spool_rewind(sp);
	sp->batch_id = 0;
	sp->batch.alarms.count = 0;
}
