/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where an alarm record goes besides the JSON-lines log (alarm.c): the
 * systemd journal, as an entry with structured fields; syslog, as one line
 * with key=value fields; or nowhere (--alarm-sink). Its human line also
 * goes to stderr, as dsmd's other log lines do, except when the entry went
 * to the journal and stderr is the journal too (it would be there twice).
 *
 * auto (the default) and journal send to the journal while its socket is
 * there and fall back to syslog for as long as it is not; after a
 * fallback the journal is tried again no sooner than
 * DSMD_ALARM_JOURNAL_RETRY_MS later. A failed send, and under journal a
 * missing socket, counts as a journal error (dsm_alarm_journal_errors_total)
 * and is said once, not at every alarm. Every string of an entry has its
 * control bytes and bytes beyond ASCII replaced by '?'.
 */
#ifndef DSMD_ALARM_SINK_H
#define DSMD_ALARM_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum dsmd_alarm_sink_mode {
	DSMD_ALARM_SINK_NONE,    /* zero: a struct dsmd nobody configured sends nowhere */
	DSMD_ALARM_SINK_AUTO,
	DSMD_ALARM_SINK_JOURNAL,
	DSMD_ALARM_SINK_SYSLOG,
};

/* The MESSAGE_ID of every alarm entry in the journal (man dsmd(8)). */
#define DSMD_ALARM_MESSAGE_ID      "d5e0b26d5a0c44d980c2e4a6b9343921"
#define DSMD_JOURNAL_SOCKET        "/run/systemd/journal/socket"
#define DSMD_ALARM_JOURNAL_RETRY_MS 10000

/* "auto", "journal", "syslog" or "none": 0 with *out, else -EINVAL. */
int dsmd_alarm_sink_parse(const char *arg, enum dsmd_alarm_sink_mode *out);

/* What the sink does its work with; tests bring their own. */
struct dsmd_alarm_sink_io {
	int (*journal_send)(const struct iovec *iov, int n); /* 0 or -errno */
	void (*syslog_line)(int priority, const char *line);
	void (*stderr_line)(const char *line);
	uint64_t (*now_ms)(void);                           /* a monotonic clock */
	const char *journal_socket;
	bool stderr_is_journal;
};

struct dsmd_alarm_sink;
struct json_object;

/* io NULL: libsystemd, syslog(3), log.c's stderr, CLOCK_MONOTONIC and
 * DSMD_JOURNAL_SOCKET. NULL when out of memory. */
struct dsmd_alarm_sink *dsmd_alarm_sink_new(enum dsmd_alarm_sink_mode mode,
					    const struct dsmd_alarm_sink_io *io);
void dsmd_alarm_sink_free(struct dsmd_alarm_sink *s);

/* One alarm: its human line (message), its syslog priority, its number in
 * the log (0: none) and its record, whose members become the entry's
 * fields (NULL: the line alone). */
void dsmd_alarm_sink_send(struct dsmd_alarm_sink *s, int priority, const char *message,
			  uint64_t seq, struct json_object *record);

uint64_t dsmd_alarm_sink_journal_errors(const struct dsmd_alarm_sink *s);

#endif /* DSMD_ALARM_SINK_H */
