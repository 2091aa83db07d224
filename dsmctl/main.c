// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl, the operator CLI of dsm: global options, the command table and
 * the help text. Each command lives in its own file; see docs/dsmctl.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "dsmctl.h"

void dsmctl_usage(FILE *out)
{
	fputs(
"Usage: dsmctl [--socket PATH] COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  status [--json]             this node: mode, policy, counters, alarm counts\n"
"  ps [--json]                 processes and their labels\n"
"  getpeerlabel FD             label@node of the peer connected on FD\n"
"  exec --label LABEL -- CMD [ARG...]\n"
"                              run CMD under LABEL (the policy must allow the\n"
"                              transition)\n"
"  alarms [--follow] [--json] [--file PATH]\n"
"                              print the alarm log (from dsmd, or a file);\n"
"                              --follow keeps printing new alarms until\n"
"                              interrupted\n"
"  reload                      dsmd re-reads its policy and keys (as SIGHUP)\n"
"  policy check FILE           check a policy source\n"
"  policy compile FILE -o OUT  compile a policy into a bundle\n"
"  policy dump FILE|BUNDLE     the policy map entries of a source or bundle\n"
"  policy keygen PRIVATE_OUT PUBLIC_OUT\n"
"                              a new Ed25519 key pair to sign policies with\n"
"  policy sign BUNDLE_OR_SOURCE --key PRIVATE --cluster NAME\n"
"              [--expires DURATION] -o OUT\n"
"                              sign a bundle (a source is compiled first) for\n"
"                              a cluster, valid for DURATION (default 30d)\n"
"  policy verify SIGNED --pubkey PUBLIC --cluster NAME [--after-version N]\n"
"                              verify a signed bundle as a node would\n"
"  help                        this text\n"
"\n"
"Options:\n"
"  --socket PATH  dsmd's control socket (default: $DSM_SOCKET, else\n"
"                 " DSMCTL_SOCKET_DEFAULT ")\n"
"  --file PATH    read this alarm log file instead of asking dsmd, - for\n"
"                 standard input\n"
"  --json         print JSON instead of text\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error, 3 dsmd is not running,\n"
"4 dsmd does not answer in time; exec also 126 (CMD could not be run:\n"
"transition denied, not executable) and 127 (CMD not found).\n",
	      out);
}

typedef int (*cmd_fn)(const struct dsmctl_global *g, int argc, char **argv);

static int cmd_policy(const struct dsmctl_global *g, int argc, char **argv)
{
	(void)g;
	return dsmctl_policy(argc, argv);
}

static int cmd_help(const struct dsmctl_global *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	dsmctl_usage(stdout);
	return DSMCTL_EXIT_OK;
}

static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
	{ "status", dsmctl_cmd_status },
	{ "ps",     dsmctl_cmd_ps },
	{ "exec",   dsmctl_cmd_exec },
	{ "alarms", dsmctl_cmd_alarms },
	{ "getpeerlabel", dsmctl_cmd_peer },
	{ "reload", dsmctl_cmd_reload },
	{ "policy", cmd_policy },
	{ "help",   cmd_help },
};

/* Output that could not be written is a failure, not a silent truncation. */
static int finish(int ret)
{
	if (fflush(stdout)) {
		dsmctl_error("cannot write the output: %s", strerror(errno));
		return ret ? ret : DSMCTL_EXIT_FAIL;
	}
	if (ferror(stdout)) {
		dsmctl_error("cannot write the output");
		return ret ? ret : DSMCTL_EXIT_FAIL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *env = getenv("DSM_SOCKET");
	const struct dsmctl_opt opts[] = {
		{ .name = "--socket", .value = &sock },
		{ .name = NULL },
	};
	struct dsmctl_global g;
	int i;

	i = dsmctl_parse_opts(NULL, argc, argv, opts, true);
	if (i == DSMCTL_OPTS_HELP)
		return finish(cmd_help(NULL, 0, NULL));
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	if (i >= argc)
		return dsmctl_usage_error("missing command");
	g.socket = sock ? sock : env && *env ? env : DSMCTL_SOCKET_DEFAULT;

	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return finish(commands[c].fn(&g, argc - i, argv + i));
	return dsmctl_usage_error("unknown command '%s'", argv[i]);
}
