// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl ps [--json]: every process dsmd has a label for, by pid.
 */
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "client.h"

int dsmctl_cmd_ps(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	struct json_object *ps;
	int i, ret = DSMCTL_EXIT_OK;

	i = dsmctl_parse_opts("ps", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	ps = dsmctl_query(g, "ps", &ret);
	if (!ps)
		return ret;
	if (json) {
		dsmctl_print_json(stdout, ps); /* write errors are reported at exit */
	} else if (dsmctl_format_ps(stdout, ps)) {
		dsmctl_error("ps: unexpected answer from dsmd (no \"processes\" list)");
		ret = DSMCTL_EXIT_FAIL;
	}
	json_object_put(ps);
	return ret;
}
