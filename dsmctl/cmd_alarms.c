// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl alarms [--follow] [--json] [--file PATH]: print the alarm log, the
 * JSON lines dsmd appends for every denial (docs/dsmctl.md), one text line
 * per record, or the records themselves with --json.
 *
 * By default the records come from dsmd over the control socket (request
 * `alarms`, with --follow `alarms follow`; the caller's label needs class
 * dsm `query`): dsm's state files are readable only with system dsm_read,
 * and dsmd reads the rotated log and the current one in order. The stream
 * starts with a header line, ends (without --follow) with a trailer, and
 * may say that records were dropped for a client that fell behind.
 *
 * --file PATH reads a log directly instead: a copy taken off a node, or
 * the log itself for a reader whose label may read it. --follow then polls
 * the file every 200 ms like `tail -F`: it waits for a file that does not
 * exist yet, reads a replaced file (rotation) from its start after
 * finishing the old one, and starts again from the top after a
 * truncation. A malformed record is skipped with one warning and reading
 * goes on.
 *
 * --cluster asks dsm-server instead, for every node's alarms (request
 * `alarms OFFSET`, at most 1000 records an answer, and the offset to ask
 * from next); --follow polls it every second.
 *
 * --suggest [--policy FILE] reads the records (from dsmd or --file) into
 * cmd_suggest.c instead of printing them, then prints the rules that would
 * allow their denials, for review (never applied).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "dsmctl.h"
#include "policy.h"
#include "server_client.h"
#include "suggest.h"

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
	bool from_dsmd;     /* reading dsmd's stream, not a file */
	bool started, ended, failed; /* the stream's header, trailer, an error */
	struct dsmctl_suggest *suggest; /* --suggest: records go here, not out */
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

static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static int64_t int_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* A line of dsmd's stream that is not an alarm: 1 if it was one of those
 * (header, trailer, error, a note on dropped records), else 0. */
static int stream_line(struct alog *a, struct json_object *o)
{
	const char *msg;

	if ((msg = str_member(o, "error"))) {
		fflush(stdout);
		dsmctl_error("%s", msg);
		a->failed = true;
	} else if (!a->started) {
		a->started = str_member(o, "stream") != NULL;
		if (!a->started) {
			dsmctl_error("alarms: unexpected answer from dsmd (no stream header)");
			a->failed = true;
		}
	} else if (str_member(o, "end")) {
		a->ended = true;
		if (int_member(o, "lost_files") > 0) {
			fflush(stdout);
			dsmctl_error("alarms: %lld rotated log file(s) went before dsmd could send "
				     "them", (long long)int_member(o, "lost_files"));
		}
	} else if (json_object_object_get_ex(o, "dropped", NULL)) {
		fflush(stdout);
		dsmctl_error("alarms: %lld alarm(s) not delivered: this client fell behind",
			     (long long)int_member(o, "dropped"));
	} else {
		return 0;
	}
	return 1;
}

static void record(struct alog *a, char *s, size_t n)
{
	struct json_object *o;
	int bad;

	if (blank(s, n))
		return;
	o = parse_record(s, n);
	if (o && a->from_dsmd && !dsmctl_alarm_ok(o) && stream_line(a, o)) {
		json_object_put(o);
		return;
	}
	if (!o || !dsmctl_alarm_ok(o)) {
		bad = 1;
	} else if (a->suggest) {
		bad = 0;
		if (dsmctl_suggest_add(a->suggest, o)) {
			dsmctl_error("alarms: out of memory");
			a->failed = true;
		}
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

/* ---- from dsmd ------------------------------------------------------- */

static int send_request(int fd, const char *req)
{
	size_t len = strlen(req), off = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (poll(&p, 1, DSMCTL_TIMEOUT_MS) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* The stream until its trailer (or, following, until a signal). */
static int read_stream(struct alog *a)
{
	static char buf[READ_CHUNK];
	struct pollfd p = { .fd = a->fd, .events = POLLIN };

	while (!stop && !a->failed && !a->ended) {
		ssize_t n = read(a->fd, buf, sizeof(buf));

		if (n > 0) {
			feed(a, buf, (size_t)n);
			if (a->follow)
				fflush(stdout);
			continue;
		}
		if (n == 0) {
			finish_record(a);
			if (a->failed || a->ended)
				break;
			fflush(stdout);
			dsmctl_error("alarms: dsmd ended the stream%s (stopped?)",
				     a->follow ? "" : " before its end");
			return DSMCTL_EXIT_FAIL;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			dsmctl_error("alarms: reading from dsmd: %s", strerror(errno));
			return DSMCTL_EXIT_FAIL;
		}
		n = poll(&p, 1, a->follow ? -1 : DSMCTL_TIMEOUT_MS);
		if (n == 0) {
			dsmctl_error("alarms: dsmd sent nothing for %d s (stalled?)",
				     DSMCTL_TIMEOUT_MS / 1000);
			return DSMCTL_EXIT_STALLED;
		}
	}
	if (a->failed)
		return DSMCTL_EXIT_FAIL;
	return DSMCTL_EXIT_OK;
}

static int run_dsmd(struct alog *a, const struct dsmctl_global *g)
{
	char err[DSMCTL_ERR_MAX];
	int ret;

	a->fd = dsmctl_connect(g->socket, DSMCTL_TIMEOUT_MS, err, sizeof(err));
	if (a->fd < 0) {
		ret = dsmctl_exit_status(dsmctl_connect_status(errno));
		dsmctl_error("%s", err);
		return ret;
	}
	a->from_dsmd = true;
	a->name = "dsmd";
	if (send_request(a->fd, a->follow ? "alarms follow\n" : "alarms\n")) {
		dsmctl_error("alarms: cannot send the request to dsmd: %s", strerror(errno));
		close(a->fd);
		return DSMCTL_EXIT_FAIL;
	}
	ret = read_stream(a);
	close(a->fd);
	a->fd = -1;
	return stop ? DSMCTL_EXIT_OK : ret;
}

/* ---- from dsm-server -------------------------------------------------- */

#define CLUSTER_POLL_MS 1000

/* One answer's records. Returns how many there were, or -1 (reported). */
static int cluster_batch(struct json_object *ans, bool json)
{
	struct json_object *arr;
	size_t n;

	if (!json_object_object_get_ex(ans, "alarms", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		dsmctl_error("alarms: unexpected answer from %s (no alarms array)",
			     DSMCTL_SERVER_PEER);
		return -1;
	}
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(arr, i);

		if (!dsmctl_alarm_ok(ev)) {
			fflush(stdout);
			dsmctl_error("%s: malformed alarm record skipped", DSMCTL_SERVER_PEER);
		} else if (json) {
			puts(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
		} else {
			dsmctl_format_alarm(stdout, ev);
		}
	}
	return (int)n;
}

int dsmctl_cluster_alarms(const struct dsmctl_global *g, bool follow, bool json)
{
	int64_t offset = 0;

	while (!stop) {
		char req[64];
		struct json_object *ans;
		int64_t next;
		int ret, n;

		snprintf(req, sizeof(req), "alarms %lld", (long long)offset);
		ans = dsmctl_server_query(g, req, -1, &ret);
		if (!ans)
			return stop ? DSMCTL_EXIT_OK : ret;
		n = cluster_batch(ans, json);
		if (n >= 0 && (!dsmctl_json_int(ans, "next", &next) || next < 0)) {
			dsmctl_error("alarms: unexpected answer from %s (no next offset)",
				     DSMCTL_SERVER_PEER);
			n = -1;
		}
		json_object_put(ans);
		if (n < 0)
			return DSMCTL_EXIT_FAIL;
		if (fflush(stdout) || ferror(stdout))
			return DSMCTL_EXIT_FAIL; /* reported on exit */
		/* Nothing new (or an offset that does not move): caught up. */
		if (n == 0 || next == offset) {
			if (!follow)
				return DSMCTL_EXIT_OK;
			pause_ms(CLUSTER_POLL_MS);
		}
		offset = next;
	}
	return DSMCTL_EXIT_OK;
}

int dsmctl_cmd_alarms(const struct dsmctl_global *g, int argc, char **argv)
{
	const char *path = NULL, *policy = NULL;
	struct alog a = { .fd = -1 };
	bool cluster = false, suggest = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--suggest", .flag = &suggest },
		{ .name = "--policy", .value = &policy },
		{ .name = "--cluster", .flag = &cluster },
		{ .name = "--follow", .flag = &a.follow },
		{ .name = "--json", .flag = &a.json },
		{ .name = "--file", .value = &path },
		{ .name = NULL },
	};
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */
	int i, ret;

	i = dsmctl_parse_opts("alarms", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	if (cluster && path)
		return dsmctl_usage_error("alarms: --cluster and --file exclude each other");
	if (suggest && (cluster || a.follow))
		return dsmctl_usage_error("alarms: --suggest reads one node's log to its end: "
					  "not with --%s", cluster ? "cluster" : "follow");
	if (policy && !suggest)
		return dsmctl_usage_error("alarms: --policy goes with --suggest");
	if (suggest && !(a.suggest = dsmctl_suggest_new())) {
		dsmctl_error("alarms: out of memory");
		return DSMCTL_EXIT_FAIL;
	}
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
	if (cluster) {
		ret = dsmctl_cluster_alarms(g, a.follow, a.json);
	} else if (path) {
		a.path = path;
		a.name = strcmp(a.path, "-") ? a.path : "standard input";
		ret = run(&a);
	} else {
		ret = run_dsmd(&a, g);
	}
	if (a.suggest && !ret && a.failed)
		ret = DSMCTL_EXIT_FAIL;
	if (a.suggest && !ret) {
		struct dsm_policy *p = dsmctl_load_policy(g, "alarms --suggest", policy, NULL, &ret);

		if (p && dsmctl_suggest_print(a.suggest, p, a.json, stdout)) {
			dsmctl_error("alarms --suggest: out of memory");
			ret = DSMCTL_EXIT_FAIL;
		} else if (p) {
			ret = DSMCTL_EXIT_OK;
		}
		dsm_policy_free(p);
	}
	dsmctl_suggest_free(a.suggest);
	free(a.line);
	return ret;
}
