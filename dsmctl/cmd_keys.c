// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl keys status [--json]
 * dsmctl keys rotate [--now] [--json]
 *
 * The cluster's pair-key generations (docs/keys.md), kept by dsm-server.
 * status (request `keys-status`) shows the generation in force, the
 * rotation running (its phase and since when) and, per node, the
 * generation it holds, the phases it acknowledged and whether the
 * rotation waits for it. rotate (request `keys-rotate [now]`) starts a
 * rotation, or queues one behind the running one; --now shortens the
 * grace before the old keys are dropped to the epoch window.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "dsmctl.h"
#include "server_client.h"

static void keys_usage(FILE *out)
{
	fputs("Usage: dsmctl keys status [--json]\n"
	      "       dsmctl keys rotate [--now] [--json]\n", out);
}

static bool jbool(const struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static const char *jstr_or(const struct json_object *o, const char *key, const char *none)
{
	const char *s = dsmctl_json_str(o, key);

	return s && *s ? s : none;
}

static void put_time(const struct json_object *o, const char *key)
{
	char when[32];
	int64_t t = 0;

	if (dsmctl_json_int(o, key, &t) && t > 0) {
		dsmctl_utc((uint64_t)t, when);
		fputs(when, stdout);
	} else {
		fputs("-", stdout);
	}
}

/* The keys-status answer as text; -1 if it is not one. */
static int print_status(const struct json_object *st)
{
	struct json_object *rot = NULL, *nodes = NULL;
	int64_t cur = 0, v = 0;

	if (!json_object_object_get_ex(st, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array) || !dsmctl_json_int(st, "current", &cur))
		return -1;
	json_object_object_get_ex(st, "rotation", &rot);
	printf("generation  ");
	if (cur > 0) {
		printf("%" PRId64 " since ", cur);
		put_time(st, "current_since");
		putchar('\n');
	} else {
		puts("none yet");
	}
	printf("rotation    ");
	if (rot && json_object_is_type(rot, json_type_object) && dsmctl_json_int(rot, "generation", &v)) {
		printf("to %" PRId64 ", phase ", v);
		dsmctl_put_safe(stdout, jstr_or(rot, "phase", "?"));
		printf(" since ");
		put_time(rot, "since");
		printf(" (");
		dsmctl_put_safe(stdout, jstr_or(rot, "reason", "?"));
		puts(")");
	} else {
		puts("none running");
	}
	if (jbool(st, "queued"))
		puts("queued      one more rotation after this one");
	if (dsmctl_json_int(st, "interval_s", &v))
		printf("periodic    %s%" PRId64 " s\n", v ? "every " : "off", v ? v : 0);
	printf("\n%-20s %6s %-15s %6s %-22s %s\n", "NAME", "ID", "ADDRESS", "KEYGEN", "ACKED",
	       "STATE");
	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		const struct json_object *n = json_object_array_get_idx(nodes, i);
		struct json_object *acked = NULL;
		char acks[32] = "";
		int64_t id = 0, kg = 0;

		dsmctl_json_int(n, "id", &id);
		dsmctl_json_int(n, "key_generation", &kg);
		if (json_object_object_get_ex(n, "acked", &acked) &&
		    json_object_is_type(acked, json_type_array))
			for (size_t j = 0; j < json_object_array_length(acked); j++) {
				const char *p = json_object_get_string(
					json_object_array_get_idx(acked, j));

				if (p && strlen(acks) + strlen(p) + 2 < sizeof(acks)) {
					if (*acks)
						strcat(acks, ",");
					strcat(acks, p);
				}
			}
		printf("%-20.63s %6" PRId64 " %-15.15s %6" PRId64 " %-22s %s%s%s\n",
		       jstr_or(n, "name", "?"), id, jstr_or(n, "address", "-"), kg, *acks ? acks : "-",
		       jbool(n, "pending") ? "pending" : "done",
		       jbool(n, "overdue") ? ", overdue" : "",
		       jbool(n, "connected") ? "" : ", not connected");
	}
	return 0;
}

static int keys_status(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	struct json_object *ans;
	int ret = dsmctl_parse_opts("keys status", argc, argv, opts, false);

	if (ret == DSMCTL_OPTS_HELP) {
		keys_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (ret < 0)
		return DSMCTL_EXIT_USAGE;
	ans = dsmctl_server_query(g, "keys-status", -1, &ret);
	if (!ans)
		return ret;
	if (dsmctl_json_str(ans, "error")) {
		dsmctl_error("%s", dsmctl_json_str(ans, "error"));
		ret = DSMCTL_EXIT_FAIL;
	} else if (json) {
		ret = dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	} else if (print_status(ans)) {
		dsmctl_error("keys status: unexpected answer from %s", DSMCTL_SERVER_PEER);
		ret = DSMCTL_EXIT_FAIL;
	} else {
		ret = DSMCTL_EXIT_OK;
	}
	json_object_put(ans);
	return ret;
}

static int keys_rotate(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false, now = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = "--now", .flag = &now },
		{ .name = NULL },
	};
	struct json_object *ans;
	int64_t gen = 0;
	int ret = dsmctl_parse_opts("keys rotate", argc, argv, opts, false);

	if (ret == DSMCTL_OPTS_HELP) {
		keys_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (ret < 0)
		return DSMCTL_EXIT_USAGE;
	ans = dsmctl_server_query(g, now ? "keys-rotate now" : "keys-rotate", -1, &ret);
	if (!ans)
		return ret;
	if (dsmctl_json_str(ans, "error")) {
		dsmctl_error("%s", dsmctl_json_str(ans, "error"));
		ret = DSMCTL_EXIT_FAIL;
	} else if (!dsmctl_json_int(ans, "generation", &gen)) {
		dsmctl_error("keys rotate: unexpected answer from %s (no generation)",
			     DSMCTL_SERVER_PEER);
		ret = DSMCTL_EXIT_FAIL;
	} else if (json) {
		ret = dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	} else {
		if (jbool(ans, "queued"))
			printf("rotation queued: it starts when the rotation to generation %" PRId64
			       " is done\n", gen);
		else
			printf("rotation to generation %" PRId64 " started; see dsmctl keys status\n",
			       gen);
		ret = DSMCTL_EXIT_OK;
	}
	json_object_put(ans);
	return ret;
}

int dsmctl_cmd_keys(const struct dsmctl_global *g, int argc, char **argv)
{
	if (argc < 2)
		return dsmctl_usage_error("keys: missing subcommand (status, rotate)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		keys_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (!strcmp(argv[1], "status"))
		return keys_status(g, argc - 1, argv + 1);
	if (!strcmp(argv[1], "rotate"))
		return keys_rotate(g, argc - 1, argv + 1);
	return dsmctl_usage_error("keys: unknown subcommand '%s' (status, rotate)", argv[1]);
}
