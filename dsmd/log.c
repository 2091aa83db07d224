// SPDX-License-Identifier: GPL-2.0
/* dsmd's log (log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int threshold = LOG_INFO;

void log_open(int level)
{
	threshold = level;
	openlog("dsmd", LOG_PID, DSMD_LOG_FACILITY);
}

void log_close(void)
{
	closelog();
}

void log_stderr(const char *msg)
{
	fprintf(stderr, "dsmd: %s\n", msg);
}

bool log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void emit(int level, const char *msg)
{
	if (level > threshold)
		return;
	log_stderr(msg);
	syslog(level, "%s", msg);
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, msg);
}

int log_errno(int level, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	if (level > threshold)
		return err;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(err < 0 ? -err : err));
	emit(level, msg);
	return err;
}
