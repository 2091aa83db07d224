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
#include "server_client.h"

void dsmctl_usage(FILE *out)
{
	fputs(
"Usage: dsmctl [--socket PATH] [--server-socket PATH] COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  status [--json]             this node: mode, policy, counters, alarm counts\n"
"  ps [--json]                 processes and their labels\n"
"  stats [--json|--prometheus] every counter dsmd keeps (Prometheus text with\n"
"                              --prometheus, as in dsmd's --metrics-file)\n"
"  getpeerlabel FD             label@node of the peer connected on FD\n"
"  exec --label LABEL -- CMD [ARG...]\n"
"                              run CMD under LABEL (the policy must allow the\n"
"                              transition)\n"
"  alarms [--follow] [--json] [--file PATH]\n"
"                              print the alarm log (from dsmd, or a file);\n"
"                              --follow keeps printing new alarms until\n"
"                              interrupted\n"
"  alarms --suggest [--file PATH] [--policy FILE] [--json]\n"
"                              the smallest rules that would allow the\n"
"                              denials seen, for review (never applied)\n"
"  reload                      dsmd re-reads its policy and keys (as SIGHUP)\n"
"  doctor [--json] [--policy FILE] [--config-dir DIR] [--server-state DIR]\n"
"                              can this kernel run dsm (the checks dsmd makes\n"
"                              at start), are its files private, does the\n"
"                              policy compile, does dsmd answer\n"
"  policy check FILE           check a policy source\n"
"  policy compile FILE -o OUT  compile a policy into a bundle\n"
"  policy dump FILE|BUNDLE     the policy map entries of a source or bundle\n"
"  policy explain SUBJECT[@NODE] TARGET CLASS PERM [--node NODE]\n"
"              [--family F --type T] [--policy FILE] [--json]\n"
"                              the rule that allows it, or why it is denied\n"
"                              (exit 0 allowed, 1 denied)\n"
"  policy keygen PRIVATE_OUT PUBLIC_OUT\n"
"                              a new Ed25519 key pair to sign policies with\n"
"  policy sign BUNDLE_OR_SOURCE --key PRIVATE --cluster NAME\n"
"              [--expires DURATION] -o OUT\n"
"                              sign a bundle (a source is compiled first) for\n"
"                              a cluster, valid for DURATION (default 30d)\n"
"  policy verify SIGNED --pubkey PUBLIC --cluster NAME [--after-version N]\n"
"                              verify a signed bundle as a node would\n"
"\n"
"Cluster commands (ask dsm-server):\n"
"  cluster init --state DIR --cluster NAME --server-name NAME\n"
"               [--ca-days N] [--server-days N]\n"
"                              make dsm-server's state directory: cluster CA,\n"
"                              server certificate, operator signing keys\n"
"  cluster status [--json]     the cluster and every node\n"
"  node add NAME [--ttl DURATION] [--json]\n"
"                              register a node; prints its one-time join token\n"
"  node list [--json]          the cluster's nodes\n"
"  node remove NAME [--json]   deny a node's name and certificates\n"
"  policy push BUNDLE_OR_SOURCE (--key PRIVATE | --state DIR) [--cluster NAME]\n"
"              [--expires DURATION] [--json]\n"
"                              sign a policy and send it to every node\n"
"  policy status [--json]      the policy version each node has\n"
"  keys status [--json]        pair-key generation, rotation phase, per node\n"
"                              acked or pending\n"
"  keys rotate [--now] [--json]\n"
"                              start a pair-key rotation (--now: the short\n"
"                              grace, the epoch window)\n"
"  alarms --cluster [--follow] [--json]\n"
"                              every node's alarms, as dsm-server holds them\n"
"  help                        this text\n"
"\n"
"Options:\n"
"  --socket PATH  dsmd's control socket (default: $DSM_SOCKET, else\n"
"                 " DSMCTL_SOCKET_DEFAULT ")\n"
"  --server-socket PATH\n"
"                 dsm-server's control socket (default: $DSM_SERVER_SOCKET,\n"
"                 else " DSMCTL_SERVER_SOCKET_DEFAULT ")\n"
"  --file PATH    read this alarm log file instead of asking dsmd, - for\n"
"                 standard input\n"
"  --json         print JSON instead of text\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error, 3 dsmd (or dsm-server)\n"
"is not running, 4 it does not answer in time; exec also 126 (CMD could not be run:\n"
"transition denied, not executable) and 127 (CMD not found).\n",
	      out);
}

typedef int (*cmd_fn)(const struct dsmctl_global *g, int argc, char **argv);

static int cmd_policy(const struct dsmctl_global *g, int argc, char **argv)
{
	return dsmctl_policy(g, argc, argv);
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
	{ "stats",  dsmctl_cmd_stats },
	{ "exec",   dsmctl_cmd_exec },
	{ "alarms", dsmctl_cmd_alarms },
	{ "getpeerlabel", dsmctl_cmd_peer },
	{ "reload", dsmctl_cmd_reload },
	{ "doctor", dsmctl_cmd_doctor },
	{ "policy", cmd_policy },
	{ "cluster", dsmctl_cmd_cluster },
	{ "node",   dsmctl_cmd_node },
	{ "keys",   dsmctl_cmd_keys },
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
	const char *srv = NULL, *srv_env = getenv("DSM_SERVER_SOCKET");
	const struct dsmctl_opt opts[] = {
		{ .name = "--socket", .value = &sock },
		{ .name = "--server-socket", .value = &srv },
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
	g.server_socket = srv ? srv : srv_env && *srv_env ? srv_env : DSMCTL_SERVER_SOCKET_DEFAULT;

	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return finish(commands[c].fn(&g, argc - i, argv + i));
	return dsmctl_usage_error("unknown command '%s'", argv[i]);
}
