// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl reload: dsmd re-reads its policy and key files, as on SIGHUP, and
 * says what happened: "installed policy 'P' version N; keys reloaded"
 * (exit 0), or one of "not installed because ...; ... stays in force"
 * and "installed policy 'P' version N; then ... failed: ..." (exit 1). The
 * caller's label needs class dsm `admin` on dsmd.
 */
#include <stdio.h>

#include <json-c/json.h>

#include "client.h"

int dsmctl_cmd_reload(const struct dsmctl_global *g, int argc, char **argv)
{
	const struct dsmctl_opt opts[] = { { .name = NULL } };
	struct json_object *ans, *v;
	int i, ret;

	i = dsmctl_parse_opts("reload", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	ans = dsmctl_query(g, "reload", &ret);
	if (!ans)
		return ret;
	if (json_object_object_get_ex(ans, "result", &v) && json_object_is_type(v, json_type_string)) {
		dsmctl_put_safe(stdout, json_object_get_string(v));
		fputc('\n', stdout);
	} else {
		puts("reloaded");
	}
	json_object_put(ans);
	return DSMCTL_EXIT_OK;
}
