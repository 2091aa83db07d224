// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl status [--json]: what dsmd reports about this node (node, mode,
 * policy, counters, alarm counts), as a report or as the JSON it sent.
 */
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "client.h"

int dsmctl_cmd_status(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	struct json_object *st;
	int i, ret = DSMCTL_EXIT_OK;

	i = dsmctl_parse_opts("status", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	st = dsmctl_query(g, "status");
	if (!st)
		return DSMCTL_EXIT_FAIL;
	if (json) {
		dsmctl_print_json(stdout, st); /* write errors are reported at exit */
	} else if (dsmctl_format_status(stdout, st)) {
		dsmctl_error("status: cannot format the answer from dsmd");
		ret = DSMCTL_EXIT_FAIL;
	}
	json_object_put(st);
	return ret;
}
