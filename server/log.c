// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server's log (log.h). Each event is formatted into one buffer and
 * written with one write(), so lines from one process never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int threshold = LOG_INFO;
static bool journal;

void srv_log_init(bool verbose)
{
	threshold = verbose ? LOG_DEBUG : LOG_INFO;
	journal = getenv("JOURNAL_STREAM") != NULL;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

void srv_log(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > threshold)
		return;
	if (journal)
		n = snprintf(line, sizeof(line), "<%d>", level);
	else
		n = snprintf(line, sizeof(line), "dsm-server: %s: ", level_name(level));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
