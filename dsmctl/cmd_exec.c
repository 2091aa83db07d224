// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl exec --label L -- CMD [ARG...]: run CMD under label L.
 *
 * dsmd records a requested label for the process that asks (it knows us by
 * the socket's peer credentials); the kernel applies it at our next execve
 * if the policy allows the transition and fails that execve with EACCES
 * otherwise. So we ask, then replace ourselves with CMD: no fork, the pid
 * that asked is the pid that execs. CMD is looked up in PATH first, so
 * that exactly one execve follows the request (execvp would try one
 * directory after another, and carry on past an EACCES).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"

#define LABEL_MAX     255
#define PATH_FALLBACK "/bin:/usr/bin" /* what execvp uses without PATH */

/* Label names are words: the request is one space-separated line. */
static bool label_ok(const char *label)
{
	size_t n = strlen(label);

	if (n == 0 || n > LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)label[i];

		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

/* 0 if path is a regular file we may execute, else an errno. */
static int runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS))
		return errno;
	return 0;
}

/* The file execvp would run for cmd, in *path (malloc()ed); 0 or an errno
 * (EACCES if only unrunnable candidates were found, as execvp reports). */
static int find_command(const char *cmd, char **path)
{
	const char *dirs = getenv("PATH"), *d, *end;
	int seen = ENOENT;

	*path = NULL;
	if (strchr(cmd, '/')) {
		int e = runnable(cmd);

		if (e)
			return e;
		*path = strdup(cmd);
		return *path ? 0 : ENOMEM;
	}
	if (!dirs)
		dirs = PATH_FALLBACK;
	for (d = dirs;; d = end + 1) {
		size_t dlen;
		char *cand;
		int e;

		end = strchrnul(d, ':');
		dlen = (size_t)(end - d);
		/* An empty element means the current directory. */
		if (asprintf(&cand, "%.*s%s%s", (int)dlen, d, dlen ? "/" : "./", cmd) < 0)
			return ENOMEM;
		e = runnable(cand);
		if (!e) {
			*path = cand;
			return 0;
		}
		free(cand);
		if (e == EACCES)
			seen = EACCES;
		if (!*end)
			break;
	}
	return seen;
}

/* The daemon's answer must say {"ok": true}. */
static bool answer_ok(const struct json_object *ans)
{
	struct json_object *ok;

	return json_object_object_get_ex(ans, "ok", &ok) &&
	       json_object_is_type(ok, json_type_boolean) && json_object_get_boolean(ok);
}

int dsmctl_cmd_exec(const struct dsmctl_global *g, int argc, char **argv)
{
	const char *label = NULL, *cmd;
	const struct dsmctl_opt opts[] = {
		{ .name = "--label", .value = &label },
		{ .name = NULL },
	};
	char request[DSMCTL_REQUEST_MAX + 1], *path;
	struct json_object *ans;
	bool ok;
	int i, e, status;

	i = dsmctl_parse_opts("exec", argc, argv, opts, true);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	if (!label)
		return dsmctl_usage_error("exec: missing --label LABEL");
	if (i >= argc)
		return dsmctl_usage_error("exec: missing the command to run");
	if (!label_ok(label))
		return dsmctl_usage_error("exec: invalid label: 1 to %d characters, no spaces "
					  "or control characters", LABEL_MAX);
	cmd = argv[i];

	e = find_command(cmd, &path);
	if (e) {
		dsmctl_error("exec %s: %s", cmd, strerror(e));
		return e == EACCES ? DSMCTL_EXIT_CANNOT_RUN : DSMCTL_EXIT_NOT_FOUND;
	}

	snprintf(request, sizeof(request), "exec-label %s", label);
	ans = dsmctl_query(g, request, &status);
	if (!ans) {
		free(path);
		return status;
	}
	ok = answer_ok(ans);
	json_object_put(ans);
	if (!ok) {
		dsmctl_error("exec: unexpected answer from dsmd (no \"ok\": true)");
		free(path);
		return DSMCTL_EXIT_FAIL;
	}

	fflush(NULL);
	execv(path, argv + i);
	e = errno;
	free(path);
	if (e == EACCES) {
		dsmctl_error("exec %s: transition to %s denied by policy", cmd, label);
		return DSMCTL_EXIT_CANNOT_RUN;
	}
	dsmctl_error("exec %s: %s", cmd, strerror(e));
	return DSMCTL_EXIT_NOT_FOUND;
}
