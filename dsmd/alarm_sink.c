// SPDX-License-Identifier: GPL-2.0
/*
 * Where an alarm record goes besides the JSON-lines log (alarm_sink.h).
 *
 * A journal entry has MESSAGE (the human line), PRIORITY, SYSLOG_FACILITY,
 * SYSLOG_IDENTIFIER=dsmd, MESSAGE_ID=DSMD_ALARM_MESSAGE_ID, DSM_SEQ and a
 * DSM_* field for each member of sink_fields[] the record has; the syslog line
 * is the human line, then "; seq=N" and the same fields as key=value (the
 * field's name after DSM_, in lower case), a value with a space, '"', '\',
 * '=' or nothing in it quoted. The syslog facility and identifier are
 * log.c's (log_open()).
 *
 * libsystemd's sd_journal_sendv() returns 0 when the journal's socket is
 * not there (it drops the entry without a word), so the socket is looked
 * at before every send: without it the alarm goes to syslog.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <systemd/sd-journal.h>

#include "alarm_sink.h"
#include "log.h"

#define ENTRY_FIELDS 24
#define ENTRY_BYTES  4096
#define LINE_BYTES   2048

struct dsmd_alarm_sink {
	enum dsmd_alarm_sink_mode mode;
	struct dsmd_alarm_sink_io io;
	bool down;              /* the last try of the journal failed */
	bool said;              /* ...and that was logged */
	uint64_t retry_ms;      /* while down: the journal is not tried before */
	uint64_t journal_errors;
};

/* The record's members an entry carries, in this order. */
static const struct sink_field {
	const char *name;       /* in the journal */
	const char *member;     /* in the record */
	const char *or_member;  /* when member is absent (a label without a name: its number) */
} sink_fields[] = {
	{ "DSM_VERDICT", "verdict", NULL },
	{ "DSM_SUBJECT", "subject", "subject_id" },
	{ "DSM_SUBJECT_NODE", "subject_node", NULL },
	{ "DSM_TARGET", "target", "target_id" },
	{ "DSM_CLASS", "class", NULL },
	{ "DSM_PERMISSION", "perm", NULL },
	{ "DSM_NODE", "node", NULL },
	{ "DSM_PID", "pid", NULL },
	{ "DSM_COMM", "comm", NULL },
	{ "DSM_ERRNO", "errno", NULL },
	{ "DSM_REASON", "reason", NULL },
	{ "DSM_SADDR", "saddr", NULL },
	{ "DSM_DADDR", "daddr", NULL },
	{ "DSM_SUPPRESSED", "suppressed", NULL },
};

int dsmd_alarm_sink_parse(const char *arg, enum dsmd_alarm_sink_mode *out)
{
	static const char *const names[] = {
		[DSMD_ALARM_SINK_NONE] = "none", [DSMD_ALARM_SINK_AUTO] = "auto",
		[DSMD_ALARM_SINK_JOURNAL] = "journal", [DSMD_ALARM_SINK_SYSLOG] = "syslog",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(arg, names[i])) {
			*out = (enum dsmd_alarm_sink_mode)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- the real outputs ------------------------------------------------------ */

static int journal_sendv(const struct iovec *iov, int n)
{
	return sd_journal_sendv(iov, n);
}

static void syslog_line(int priority, const char *line)
{
	syslog(DSMD_LOG_FACILITY | priority, "%s", line);
}

static uint64_t sink_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

struct dsmd_alarm_sink *dsmd_alarm_sink_new(enum dsmd_alarm_sink_mode mode,
					    const struct dsmd_alarm_sink_io *io)
{
	struct dsmd_alarm_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->mode = mode;
	if (io)
		s->io = *io;
	else
		s->io = (struct dsmd_alarm_sink_io){
			.journal_send = journal_sendv, .syslog_line = syslog_line,
			.stderr_line = log_stderr, .now_ms = sink_now_ms,
			.journal_socket = DSMD_JOURNAL_SOCKET,
			.stderr_is_journal = log_stderr_is_journal(),
		};
	return s;
}

void dsmd_alarm_sink_free(struct dsmd_alarm_sink *s)
{
	free(s);
}

uint64_t dsmd_alarm_sink_journal_errors(const struct dsmd_alarm_sink *s)
{
	return s ? s->journal_errors : 0;
}

/* ---- formatting --------------------------------------------------------------- */

/* src into dst (len bytes, ended), control bytes and bytes beyond ASCII
 * as '?': an alarm's strings come from the kernel (comm) and the policy. */
static void sink_clean(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < len; i++) {
		const unsigned char c = (unsigned char)src[i];

		dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	dst[i] = '\0';
}

/* The record's value of field f, or NULL. */
static const char *field_value(struct json_object *record, const struct sink_field *f)
{
	struct json_object *v = NULL;

	if (!record)
		return NULL;
	if (!json_object_object_get_ex(record, f->member, &v) && f->or_member)
		json_object_object_get_ex(record, f->or_member, &v);
	return v ? json_object_get_string(v) : NULL;
}

struct sink_entry {
	struct iovec iov[ENTRY_FIELDS];
	int n;
	char buf[ENTRY_BYTES];
	size_t used;
};

/* NAME=value, value cleaned; a field that does not fit is left out. */
static void entry_add(struct sink_entry *e, const char *name, const char *value)
{
	char *at = e->buf + e->used;
	const size_t room = sizeof(e->buf) - e->used;
	const int n = snprintf(at, room, "%s=", name);

	if (e->n == ENTRY_FIELDS || n < 0 || (size_t)n + 1 >= room)
		return;
	sink_clean(at + n, room - (size_t)n, value);
	e->iov[e->n++] = (struct iovec){ .iov_base = at, .iov_len = strlen(at) };
	e->used += e->iov[e->n - 1].iov_len + 1;
}

static void journal_entry(struct sink_entry *e, int priority, const char *message, uint64_t seq,
			  struct json_object *record)
{
	char num[24];

	e->n = 0;
	e->used = 0;
	entry_add(e, "MESSAGE", message);
	snprintf(num, sizeof(num), "%d", priority);
	entry_add(e, "PRIORITY", num);
	snprintf(num, sizeof(num), "%d", DSMD_LOG_FACILITY >> 3);
	entry_add(e, "SYSLOG_FACILITY", num);
	entry_add(e, "SYSLOG_IDENTIFIER", "dsmd");
	entry_add(e, "MESSAGE_ID", DSMD_ALARM_MESSAGE_ID);
	if (seq) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)seq);
		entry_add(e, "DSM_SEQ", num);
	}
	for (size_t i = 0; i < sizeof(sink_fields) / sizeof(sink_fields[0]); i++) {
		const char *v = field_value(record, &sink_fields[i]);

		if (v)
			entry_add(e, sink_fields[i].name, v);
	}
}

/* Append " key=value" to line (len bytes, ended; cut short when full). */
static void line_add(char *line, size_t len, const char *key, const char *value)
{
	size_t at = strlen(line);
	const bool quote = !*value || strpbrk(value, " \"\\=");
	char v[256];

	sink_clean(v, sizeof(v), value);
	at += (size_t)snprintf(line + at, len - at, " %s=%s", key, quote ? "\"" : "");
	for (const char *p = v; *p && at + 2 < len; p++) {
		if (*p == '"' || *p == '\\')
			line[at++] = '\\';
		line[at++] = *p;
	}
	if (quote && at + 1 < len)
		line[at++] = '"';
	line[at < len ? at : len - 1] = '\0';
}

static void syslog_text(char *line, size_t len, const char *message, uint64_t seq,
			struct json_object *record)
{
	char key[32];

	sink_clean(line, len, message);
	if (seq)
		snprintf(line + strlen(line), len - strlen(line), "; seq=%llu",
			 (unsigned long long)seq);
	else if (record)
		snprintf(line + strlen(line), len - strlen(line), ";");
	for (size_t i = 0; i < sizeof(sink_fields) / sizeof(sink_fields[0]); i++) {
		const char *v = field_value(record, &sink_fields[i]);
		size_t k = 0;

		if (!v)
			continue;
		for (const char *p = sink_fields[i].name + 4; *p && k + 1 < sizeof(key); p++)
			key[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		key[k] = '\0';
		line_add(line, len, key, v);
	}
}

/* ---- sending ------------------------------------------------------------------ */

/* The journal failed (err) at now: syslog until the retry. */
static void journal_down(struct dsmd_alarm_sink *s, uint64_t now, int err, bool counts)
{
	s->down = true;
	s->retry_ms = now + DSMD_ALARM_JOURNAL_RETRY_MS;
	if (!counts)
		return;
	s->journal_errors++;
	if (!s->said)
		log_errno(LOG_WARNING, err, "alarm: the journal (%s): alarms go to syslog, "
			  "the journal is tried again every %d s", s->io.journal_socket,
			  DSMD_ALARM_JOURNAL_RETRY_MS / 1000);
	s->said = true;
}

/* Did the alarm go to the journal? */
static bool send_journal(struct dsmd_alarm_sink *s, int priority, const char *message,
			 uint64_t seq, struct json_object *record)
{
	const uint64_t now = s->io.now_ms();
	struct sink_entry *e;
	struct stat st;
	int err;

	if (s->down && now < s->retry_ms)
		return false;
	err = stat(s->io.journal_socket, &st) ? -errno : S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
	if (err) {
		/* Under auto no journal is syslog's turn, not an error. */
		journal_down(s, now, err, s->mode == DSMD_ALARM_SINK_JOURNAL);
		return false;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		journal_down(s, now, -ENOMEM, true);
		return false;
	}
	journal_entry(e, priority, message, seq, record);
	err = s->io.journal_send(e->iov, e->n);
	free(e);
	if (err < 0) {
		journal_down(s, now, err, true);
		return false;
	}
	if (s->said)
		log_info("alarm: the journal takes alarms again");
	s->down = s->said = false;
	return true;
}

void dsmd_alarm_sink_send(struct dsmd_alarm_sink *s, int priority, const char *message,
			  uint64_t seq, struct json_object *record)
{
	bool journaled = false;
	char line[LINE_BYTES];

	if (s->mode == DSMD_ALARM_SINK_AUTO || s->mode == DSMD_ALARM_SINK_JOURNAL)
		journaled = send_journal(s, priority, message, seq, record);
	if (!journaled && s->mode != DSMD_ALARM_SINK_NONE) {
		syslog_text(line, sizeof(line), message, seq, record);
		s->io.syslog_line(priority, line);
	}
	if (!journaled || !s->io.stderr_is_journal) {
		sink_clean(line, sizeof(line), message);
		s->io.stderr_line(line);
	}
}
