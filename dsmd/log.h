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

#include <syslog.h>

void log_open(int threshold);
void log_close(void);

__attribute__((format(printf, 2, 3)))
void log_msg(int level, const char *fmt, ...);

/* err is a negative errno; returns it. */
__attribute__((format(printf, 3, 4)))
int log_errno(int level, int err, const char *fmt, ...);

#define log_error(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* DSMD_LOG_H */
