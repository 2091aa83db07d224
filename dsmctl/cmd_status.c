// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl status [--json]: what dsmd reports about this node (node, mode,
 * policy, counters, alarm counts), as a report or as the JSON it sent.
 *
 * When dsmd does not answer, status says which of two things it is, since
 * they call for different actions:
 *   - dsmd is not running (no socket, or nobody listening on it): exit 3,
 *     with whether dsm's programs are still loaded (the pin directory
 *     exists: a stat, nothing read);
 *   - dsmd runs but does not answer in time (stalled, or too busy): exit 4,
 *     with the age of its heartbeat (the modification time of the
 *     heartbeat file next to the socket, which dsmd touches every second).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "client.h"

/* "yes", "no", or "unknown (...)": whether the pin directory exists. */
static const char *programs_loaded(char *buf, size_t len)
{
	const char *env = getenv("DSM_PIN_DIR");
	const char *dir = env && *env ? env : DSMCTL_PIN_DIR;
	struct stat st;

	if (stat(dir, &st) == 0)
		return "yes";
	if (errno == ENOENT)
		return "no";
	snprintf(buf, len, "unknown (%s: %s)", dir, strerror(errno));
	return buf;
}

/* Seconds since dsmd last touched its heartbeat file, -1 if unknown. */
static long heartbeat_age(const char *socket)
{
	char path[PATH_MAX];
	const char *slash = strrchr(socket, '/');
	struct timespec now;
	struct stat st;
	int dirlen = slash ? (int)(slash - socket) : 1;

	snprintf(path, sizeof(path), "%.*s/%s", dirlen, slash ? socket : ".", DSMCTL_HEARTBEAT);
	if (stat(path, &st))
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec >= st.st_mtim.tv_sec ? (long)(now.tv_sec - st.st_mtim.tv_sec) : 0;
}

static int not_running(const struct dsmctl_global *g, bool json, int err)
{
	char buf[PATH_MAX + 64];
	const char *loaded = programs_loaded(buf, sizeof(buf));

	dsmctl_error("dsmd is not running (%s %s); dsm's programs are loaded: %s",
		     err == ECONNREFUSED ? "nobody listens on" : "no socket at", g->socket,
		     loaded);
	if (json)
		printf("{ \"running\": false, \"programs_loaded\": %s }\n",
		       !strcmp(loaded, "yes") ? "true" : !strcmp(loaded, "no") ? "false" : "null");
	return DSMCTL_EXIT_NOT_RUNNING;
}

static int stalled(const struct dsmctl_global *g, bool json, const char *why)
{
	long age = heartbeat_age(g->socket);
	char hb[64] = "its heartbeat file is missing";

	if (age >= 0)
		snprintf(hb, sizeof(hb), "its heartbeat is %ld s old", age);
	dsmctl_error("dsmd at %s is not answering (stalled?): %s; %s", g->socket, why, hb);
	if (json)
		printf("{ \"running\": true, \"answering\": false, \"heartbeat_age_s\": %ld }\n",
		       age);
	return DSMCTL_EXIT_STALLED;
}

int dsmctl_cmd_status(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	struct json_object *st;
	enum dsmctl_call_status cs;
	char err[DSMCTL_ERR_MAX];
	int i, e, ret = DSMCTL_EXIT_OK;

	i = dsmctl_parse_opts("status", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	errno = 0;
	cs = dsmctl_call(g->socket, "status", &st, err, sizeof(err));
	e = errno;
	if (cs == DSMCTL_CALL_NOT_RUNNING)
		return not_running(g, json, e);
	if (cs == DSMCTL_CALL_TIMEOUT)
		return stalled(g, json, err);
	if (cs != DSMCTL_CALL_OK) {
		dsmctl_error("%s", err);
		return dsmctl_exit_status(cs);
	}
	if (json) {
		dsmctl_print_json(stdout, st); /* write errors are reported at exit */
	} else if (dsmctl_format_status(stdout, st)) {
		dsmctl_error("status: cannot format the answer from dsmd");
		ret = DSMCTL_EXIT_FAIL;
	}
	json_object_put(st);
	return ret;
}
