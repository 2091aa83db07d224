/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The service manager's readiness protocol (systemd's sd_notify(3)), as
 * documented: one datagram of "KEY=VALUE" lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace).
 * Without $NOTIFY_SOCKET (not started by a service manager that asks for
 * it) nothing is sent. The variable is left in place: dsm's daemons start
 * no children that could claim the daemon's state.
 */
#ifndef DSM_NOTIFY_H
#define DSM_NOTIFY_H

#include <stdint.h>

/* Send state ("READY=1", "RELOADING=1\nSTATUS=...") to $NOTIFY_SOCKET.
 * 1 sent, 0 no socket asked for, -errno it could not be sent (-EINVAL
 * for a $NOTIFY_SOCKET that is not an absolute path or "@name"). */
int dsm_notify(const char *state);

/* The watchdog interval the service manager asked for, in microseconds
 * ($WATCHDOG_USEC, for this process if $WATCHDOG_PID is set); 0 none. */
uint64_t dsm_notify_watchdog_usec(void);

#endif /* DSM_NOTIFY_H */
