/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmd's log: one line per message on stderr and to syslog, "dsmd: ..."
 * on stderr. Messages above the threshold (--verbose lowers it to debug)
 * are dropped. log_errno() appends the error's text and returns the error,
 * so that `return log_errno(LOG_ERR, err, "...");` reports and fails in
 * one line.
 */
#ifndef DSMD_LOG_H
#define DSMD_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* syslog's facility for every line of dsmd's, alarms' too (alarm_sink.c). */
#define DSMD_LOG_FACILITY LOG_AUTHPRIV

void log_open(int threshold);
void log_close(void);

__attribute__((format(printf, 2, 3)))
void log_msg(int level, const char *fmt, ...);

/* err is a negative errno; returns it. */
__attribute__((format(printf, 3, 4)))
int log_errno(int level, int err, const char *fmt, ...);

/* msg on stderr alone ("dsmd: msg"), whatever the threshold: an alarm's
 * line, which alarm_sink.c sends to the journal or syslog itself. */
void log_stderr(const char *msg);
/* Is stderr the journal ($JOURNAL_STREAM names its device and inode)? */
bool log_stderr_is_journal(void);

#define log_error(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* DSMD_LOG_H */
