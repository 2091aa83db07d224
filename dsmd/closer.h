/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Closing descriptors that clients control (their connections, the sockets
 * they pass) in a thread of their own, so that a close that blocks (a
 * lingering TCP socket) never blocks dsmd's loop. See closer.c.
 */
#ifndef DSMD_CLOSER_H
#define DSMD_CLOSER_H

#include <stddef.h>

/* Start the thread; call with dsmd's signals already blocked. 0 or -errno. */
int dsmd_closer_start(void);
/* Close fd (< 0: nothing) in the thread; without one, here. Never waits
 * for the close itself. */
void dsmd_closer_put(int fd);
/* Descriptors queued and not closed yet. */
size_t dsmd_closer_pending(void);
/* Close what is queued, waiting at most a second for the thread. */
void dsmd_closer_stop(void);

#endif /* DSMD_CLOSER_H */
