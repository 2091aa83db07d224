// SPDX-License-Identifier: GPL-2.0
/*
 * What every dsmctl command needs: one-line error messages, a small option
 * parser that reports mistakes the same way everywhere, and a request to
 * the daemon whose failure is already reported.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"

void dsmctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dsmctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int dsmctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dsmctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see dsmctl --help)\n", stderr);
	return DSMCTL_EXIT_USAGE;
}

static const struct dsmctl_opt *find_opt(const struct dsmctl_opt *opts,
					 const char *arg, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, arg, len))
			return opts;
	return NULL;
}

int dsmctl_parse_opts(const char *cmd, int argc, char **argv,
		      const struct dsmctl_opt *opts, bool stop_at_arg)
{
	const char *pfx = cmd ? cmd : "", *sep = cmd ? ": " : "";
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct dsmctl_opt *o;
		size_t n;

		if (!strcmp(a, "--"))
			return i + 1;
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return DSMCTL_OPTS_HELP;
		if (a[0] != '-' || a[1] == '\0') {
			if (stop_at_arg)
				return i;
			dsmctl_usage_error("%s%sunexpected argument '%s'", pfx, sep, a);
			return -1;
		}
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		o = find_opt(opts, a, n);
		if (!o) {
			dsmctl_usage_error("%s%sunknown option '%.*s'", pfx, sep, (int)n, a);
			return -1;
		}
		if (o->flag) {
			if (eq) {
				dsmctl_usage_error("%s%soption %s takes no value", pfx, sep, o->name);
				return -1;
			}
			*o->flag = true;
			continue;
		}
		if (eq) {
			*o->value = eq + 1;
		} else if (i + 1 < argc) {
			*o->value = argv[++i];
		} else {
			dsmctl_usage_error("%s%soption %s needs a value", pfx, sep, o->name);
			return -1;
		}
		if (!**o->value) {
			dsmctl_usage_error("%s%soption %s needs a non-empty value", pfx, sep, o->name);
			return -1;
		}
	}
	return i;
}

struct json_object *dsmctl_query(const struct dsmctl_global *g, const char *request,
				 int *exit_status)
{
	struct json_object *answer;
	char err[DSMCTL_ERR_MAX];
	enum dsmctl_call_status st = dsmctl_call(g->socket, request, &answer, err, sizeof(err));

	if (st != DSMCTL_CALL_OK) {
		dsmctl_error("%s", err);
		*exit_status = dsmctl_exit_status(st);
		return NULL;
	}
	return answer;
}
