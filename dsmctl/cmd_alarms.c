// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl alarms [--follow] [--json] [--file PATH]: print the alarm log, the
 * JSON lines dsmd appends for every denial (docs/dsmctl.md), one text line
 * per record, or the records themselves with --json.
 *
 * The log is read directly, without the daemon: it can be read after dsmd
 * stopped, or copied off a node. --follow polls the file every 200 ms like
 * `tail -F`: it waits for a file that does not exist yet, reads a replaced
 * file (rotation) from its start after finishing the old one, and starts
 * again from the top after a truncation. A malformed record is skipped
 * with one warning and reading goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"

#define POLL_MS        200
#define RECORD_MAX     (64u << 10) /* longer lines are skipped */
#define READ_CHUNK     (64u << 10)

struct alog {
	const char *path;   /* "-": standard input */
	const char *name;   /* for messages */
	bool json, follow;
	int fd;             /* -1: not open (does not exist yet) */
	dev_t dev;
	ino_t ino;
	off_t pos;          /* bytes read from fd */
	char *line;         /* the record being assembled, RECORD_MAX + 1 */
	size_t len;
	bool overlong;      /* discarding the rest of a record that is too long */
	unsigned long lineno;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* One JSON object filling the whole line (s[n] is writable). */
static struct json_object *parse_record(char *s, size_t n)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	bool good;

	if (!tok)
		return NULL;
	s[n] = '\0';
	o = json_tokener_parse_ex(tok, s, (int)n + 1);
	good = o && json_tokener_get_error(tok) == json_tokener_success &&
	       json_object_is_type(o, json_type_object) &&
	       blank(s + json_tokener_get_parse_end(tok),
		     n - json_tokener_get_parse_end(tok));
	json_tokener_free(tok);
	if (!good) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void record(struct alog *a, char *s, size_t n)
{
	struct json_object *o;
	int bad;

	if (blank(s, n))
		return;
	o = parse_record(s, n);
	if (!o || !dsmctl_alarm_ok(o)) {
		bad = 1;
	} else if (a->json) {
		bad = 0;
		fwrite(s, 1, n, stdout);
		fputc('\n', stdout);
	} else {
		bad = dsmctl_format_alarm(stdout, o);
	}
	json_object_put(o);
	if (bad) {
		fflush(stdout); /* keep the warning next to where it belongs */
		dsmctl_error("%s:%lu: malformed alarm record skipped", a->name, a->lineno);
	}
}

/* Split what was read into records. */
static void feed(struct alog *a, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (!a->overlong) {
			if (a->len + k <= RECORD_MAX) {
				memcpy(a->line + a->len, p, k);
				a->len += k;
			} else {
				fflush(stdout);
				dsmctl_error("%s:%lu: record longer than %u KiB skipped", a->name,
					     a->lineno + 1, RECORD_MAX >> 10);
				a->overlong = true;
				a->len = 0;
			}
		}
		if (nl) {
			a->lineno++;
			if (!a->overlong)
				record(a, a->line, a->len);
			a->overlong = false;
			a->len = 0;
			k++;
		}
		p += k;
		n -= k;
	}
}

/* The file ends without a newline: what is there is the last record. */
static void finish_record(struct alog *a)
{
	if (a->len && !a->overlong) {
		a->lineno++;
		record(a, a->line, a->len);
	}
	a->len = 0;
	a->overlong = false;
}

/* Read up to the current end. 0, or -1 after reporting a read error. */
static int drain(struct alog *a)
{
	static char buf[READ_CHUNK];

	while (!stop) {
		ssize_t n = read(a->fd, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			dsmctl_error("%s: %s", a->name, strerror(errno));
			return -1;
		}
		a->pos += n;
		feed(a, buf, (size_t)n);
	}
	return 0;
}

/* Open the log from its start: 1 opened, 0 does not exist, -1 error
 * (reported). */
static int open_log(struct alog *a)
{
	struct stat st;

	a->pos = 0;
	a->len = 0;
	a->overlong = false;
	a->lineno = 0;
	if (!strcmp(a->path, "-")) {
		a->fd = STDIN_FILENO;
		return 1;
	}
	a->fd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (a->fd < 0) {
		if (errno == ENOENT)
			return 0;
		dsmctl_error("%s: %s", a->name, strerror(errno));
		return -1;
	}
	if (fstat(a->fd, &st)) {
		dsmctl_error("%s: %s", a->name, strerror(errno));
		close(a->fd);
		a->fd = -1;
		return -1;
	}
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	return 1;
}

static void close_log(struct alog *a)
{
	if (a->fd > STDIN_FILENO)
		close(a->fd);
	a->fd = -1;
}

/* After a pause: notice a new, replaced, removed or truncated file.
 * 0, or -1 after reporting an error. */
static int recheck(struct alog *a)
{
	struct stat st;

	if (a->fd < 0)
		return open_log(a) < 0 ? -1 : 0;
	if (stat(a->path, &st)) {
		if (errno != ENOENT) {
			dsmctl_error("%s: %s", a->name, strerror(errno));
			return -1;
		}
		/* Removed: finish it, then wait for the next one. */
		if (drain(a))
			return -1;
		finish_record(a);
		close_log(a);
		return 0;
	}
	if (st.st_dev != a->dev || st.st_ino != a->ino) {
		/* Replaced (rotated): finish the old file, read the new one. */
		if (drain(a))
			return -1;
		finish_record(a);
		close_log(a);
		return open_log(a) < 0 ? -1 : 0;
	}
	if (st.st_size < a->pos) {
		fflush(stdout);
		dsmctl_error("%s: file truncated, reading it from the start", a->name);
		close_log(a);
		return open_log(a) < 0 ? -1 : 0;
	}
	return 0;
}

static void pause_ms(int ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL); /* a signal ends it early: that is the point */
}

static int run(struct alog *a)
{
	int r = open_log(a);

	if (r < 0)
		return DSMCTL_EXIT_FAIL;
	if (r == 0 && !a->json)
		dsmctl_error("no alarm log at %s%s", a->path,
			     a->follow ? " yet: waiting for it" : " (no alarms yet?)");
	if (!a->follow || a->fd == STDIN_FILENO) {
		/* Standard input is read to its end, which is following a pipe. */
		if (a->fd >= 0 && drain(a)) {
			close_log(a);
			return DSMCTL_EXIT_FAIL;
		}
		finish_record(a);
		close_log(a);
		return DSMCTL_EXIT_OK;
	}
	for (;;) {
		if (a->fd >= 0 && drain(a))
			break;
		if (fflush(stdout) || ferror(stdout))
			break; /* reported on exit */
		if (stop)
			break;
		pause_ms(POLL_MS);
		if (stop || recheck(a))
			break;
	}
	close_log(a);
	return stop ? DSMCTL_EXIT_OK : DSMCTL_EXIT_FAIL;
}

int dsmctl_cmd_alarms(const struct dsmctl_global *g, int argc, char **argv)
{
	const char *path = NULL, *env = getenv("DSM_ALARMS");
	struct alog a = { .fd = -1 };
	const struct dsmctl_opt opts[] = {
		{ .name = "--follow", .flag = &a.follow },
		{ .name = "--json", .flag = &a.json },
		{ .name = "--file", .value = &path },
		{ .name = NULL },
	};
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */
	int i, ret;

	(void)g;
	i = dsmctl_parse_opts("alarms", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	a.path = path ? path : env && *env ? env : DSMCTL_ALARMS_DEFAULT;
	a.name = strcmp(a.path, "-") ? a.path : "standard input";
	a.line = malloc(RECORD_MAX + 1);
	if (!a.line) {
		dsmctl_error("alarms: out of memory");
		return DSMCTL_EXIT_FAIL;
	}
	if (a.follow) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	ret = run(&a);
	free(a.line);
	return ret;
}
