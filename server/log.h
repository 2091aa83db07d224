/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsm-server's log: one line per event on stderr, "dsm-server: LEVEL: ..."
 * on a terminal, with the "<N>" priority prefix systemd reads when stderr
 * goes to the journal. info by default, debug with -v.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <stdbool.h>
#include <syslog.h>

void srv_log_init(bool verbose);

__attribute__((format(printf, 2, 3)))
void srv_log(int level, const char *fmt, ...);

#define srv_err(...)   srv_log(LOG_ERR, __VA_ARGS__)
#define srv_warn(...)  srv_log(LOG_WARNING, __VA_ARGS__)
#define srv_info(...)  srv_log(LOG_INFO, __VA_ARGS__)
#define srv_debug(...) srv_log(LOG_DEBUG, __VA_ARGS__)

#endif /* SRV_LOG_H */
