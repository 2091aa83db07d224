// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl node add NAME [--ttl DURATION] [--json]
 * dsmctl node list [--json]
 * dsmctl node remove NAME [--json]
 *
 * The cluster's nodes, kept by dsm-server. add registers a name and gets
 * a single-use join token for it (request `node-add NAME [TTL_SECONDS]`),
 * which the node's dsmd presents once to enrol (dsmd --join); the token is
 * a secret and is printed on standard output only. remove denies the
 * node's name and certificates and closes its session. Names are checked
 * here with the PKI's rules before the server is asked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "dsmctl.h"
#include "pki.h"
#include "server_client.h"

static void node_usage(FILE *out)
{
	fputs("Usage: dsmctl node add NAME [--ttl DURATION] [--json]\n"
	      "       dsmctl node list [--json]\n"
	      "       dsmctl node remove NAME [--json]\n", out);
}

/*
 * argv[0] is the subcommand; exactly one argument (NAME) among opts, in
 * any order. Returns 0, DSMCTL_OPTS_HELP, or -1 after a usage error.
 */
static int parse_name_and_opts(const char *cmd, int argc, char **argv,
			       const struct dsmctl_opt *opts, const char **name)
{
	int i = dsmctl_parse_opts(cmd, argc, argv, opts, true), j;

	if (i == DSMCTL_OPTS_HELP || i < 0)
		return i;
	if (i >= argc)
		return dsmctl_usage_error("%s: missing NAME", cmd), -1;
	*name = argv[i];
	j = dsmctl_parse_opts(cmd, argc - i, argv + i, opts, false);
	if (j == DSMCTL_OPTS_HELP || j < 0)
		return j;
	if (i + j < argc)
		return dsmctl_usage_error("%s: unexpected argument '%s'", cmd, argv[i + j]), -1;
	if (!dsm_pki_name_valid(*name))
		return dsmctl_usage_error("%s: bad node name '%s' (1 to %d of a-z, 0-9 and '-', "
					  "not first or last)", cmd, *name, DSM_PKI_NAME_MAX), -1;
	return 0;
}

static int parse_status(int r)
{
	return r == DSMCTL_OPTS_HELP ? (node_usage(stdout), DSMCTL_EXIT_OK) : DSMCTL_EXIT_USAGE;
}

static bool token_ok(const char *t)
{
	if (!t || strlen(t) != DSMCTL_TOKEN_HEX)
		return false;
	for (; *t; t++)
		if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f')))
			return false;
	return true;
}

static int print_added(struct json_object *ans, const char *name)
{
	const char *token = dsmctl_json_str(ans, "token"), *got = dsmctl_json_str(ans, "name");
	int64_t id = 0, expires = 0;
	char when[32];

	/* A token that is not what the spec says is not handed to anyone. */
	if (!token_ok(token) || !got || strcmp(got, name) || !dsmctl_json_int(ans, "id", &id) ||
	    !dsmctl_json_int(ans, "expires", &expires) || expires <= 0) {
		dsmctl_error("node add: unexpected answer from %s (name, id, token, expires)",
			     DSMCTL_SERVER_PEER);
		return DSMCTL_EXIT_FAIL;
	}
	dsmctl_utc((uint64_t)expires, when);
	printf("node %s (id %" PRId64 ") added: join token valid once, until %s\n", name, id,
	       when);
	printf("token   %s\n", token);
	printf("on the node, run (HOST:PORT: where dsm-server listens for nodes):\n");
	printf("  dsmd --join HOST:PORT --token %s [other dsmd options]\n", token);
	return DSMCTL_EXIT_OK;
}

static int node_add(const struct dsmctl_global *g, int argc, char **argv)
{
	const char *name = NULL, *ttl = NULL;
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--ttl", .value = &ttl },
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	char req[DSMCTL_REQUEST_MAX + 1];
	struct json_object *ans;
	uint64_t secs = 0;
	int ret = parse_name_and_opts("node add", argc, argv, opts, &name);

	if (ret)
		return parse_status(ret);
	if (ttl && (!dsmctl_parse_duration(ttl, &secs) || secs > DSMCTL_TOKEN_TTL_MAX))
		return dsmctl_usage_error("node add: bad --ttl '%s' (N[smhd], 1s to 24h)", ttl);
	if (ttl)
		snprintf(req, sizeof(req), "node-add %s %" PRIu64, name, secs);
	else
		snprintf(req, sizeof(req), "node-add %s", name);
	ans = dsmctl_server_query(g, req, -1, &ret);
	if (!ans)
		return ret;
	if (json)
		ret = dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	else
		ret = print_added(ans, name);
	json_object_put(ans);
	return ret;
}

static int node_list(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	struct json_object *ans, *nodes = NULL;
	int ret = dsmctl_parse_opts("node list", argc, argv, opts, false);

	if (ret < 0)
		return parse_status(ret);
	ans = dsmctl_server_query(g, "node-list", -1, &ret);
	if (!ans)
		return ret;
	json_object_object_get_ex(ans, "nodes", &nodes);
	if (json) {
		ret = dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	} else if (dsmctl_format_nodes(stdout, nodes, DSMCTL_NODES_CERT, time(NULL))) {
		dsmctl_error("node list: unexpected answer from %s (no nodes array)",
			     DSMCTL_SERVER_PEER);
		ret = DSMCTL_EXIT_FAIL;
	} else {
		ret = DSMCTL_EXIT_OK;
	}
	json_object_put(ans);
	return ret;
}

static int node_remove(const struct dsmctl_global *g, int argc, char **argv)
{
	const char *name = NULL, *removed;
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	char req[DSMCTL_REQUEST_MAX + 1];
	struct json_object *ans;
	int ret = parse_name_and_opts("node remove", argc, argv, opts, &name);

	if (ret)
		return parse_status(ret);
	snprintf(req, sizeof(req), "node-remove %s", name);
	ans = dsmctl_server_query(g, req, -1, &ret);
	if (!ans)
		return ret;
	removed = dsmctl_json_str(ans, "removed");
	if (!removed || strcmp(removed, name)) {
		dsmctl_error("node remove: unexpected answer from %s (no \"removed\":\"%s\")",
			     DSMCTL_SERVER_PEER, name);
		ret = DSMCTL_EXIT_FAIL;
	} else if (json) {
		ret = dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	} else {
		printf("removed node %s: its name and certificates are denied, its session "
		       "closed\n", name);
		ret = DSMCTL_EXIT_OK;
	}
	json_object_put(ans);
	return ret;
}

int dsmctl_cmd_node(const struct dsmctl_global *g, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct dsmctl_global *g, int argc, char **argv);
	} subs[] = {
		{ "add", node_add },
		{ "list", node_list },
		{ "remove", node_remove },
	};

	if (argc < 2)
		return dsmctl_usage_error("node: missing subcommand (add, list, remove)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		node_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(g, argc - 1, argv + 1);
	return dsmctl_usage_error("node: unknown subcommand '%s' (add, list, remove)", argv[1]);
}
