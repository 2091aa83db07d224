// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server: flags, signals, the loop.
 *
 *   dsm-server --state DIR --listen ADDR:PORT [--control PATH]
 *              [--admit-rate N/s] [--fresh-expiry S] [--fresh-interval S] [-v]
 *
 * A bad flag is one line on stderr and exit status 2; a state directory
 * that does not check out is one line naming what is wrong and status 1.
 * SIGTERM and SIGINT stop the server cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

#define USAGE "dsm-server --state DIR --listen ADDR:PORT [--control PATH] [--admit-rate N/s] " \
	      "[--fresh-expiry SECONDS] [--fresh-interval SECONDS] [-v]"

static int usage(const char *why, const char *what)
{
	fprintf(stderr, "dsm-server: %s%s%s (usage: " USAGE ")\n", why, what ? ": " : "",
		what ? what : "");
	return 2;
}

static int parse_rate(const char *arg, unsigned int *rate)
{
	char *end;
	const unsigned long n = strtoul(arg, &end, 10);

	if (end == arg || (*end && strcmp(end, "/s")) || !n || n > 100000 || arg[0] == '-')
		return -EINVAL;
	*rate = (unsigned int)n;
	return 0;
}

/* Whole seconds, 1 .. max, as milliseconds. */
static int parse_seconds(const char *arg, unsigned long max, uint32_t *ms)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (end == arg || *end || errno || !n || n > max || arg[0] == '-')
		return -EINVAL;
	*ms = (uint32_t)(n * 1000);
	return 0;
}

static int parse_flags(int argc, char **argv, struct srv_config *cfg, bool *verbose)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "control", required_argument, NULL, 'c' },
		{ "admit-rate", required_argument, NULL, 'r' },
		{ "fresh-expiry", required_argument, NULL, 'e' },
		{ "fresh-interval", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":v", opts, NULL)) != -1) {
		switch (opt) {
		case 's': cfg->state_dir = optarg; break;
		case 'l': cfg->listen = optarg; break;
		case 'c': cfg->control = optarg; break;
		case 'v': *verbose = true; break;
		case 'r':
			if (parse_rate(optarg, &cfg->admit_rate))
				return usage("--admit-rate: want N or N/s, 1 to 100000", optarg);
			break;
		case 'e':
			if (parse_seconds(optarg, SRV_FRESH_EXPIRY_MAX_MS / 1000, &cfg->fresh_expiry_ms))
				return usage("--fresh-expiry: want seconds, 1 to 604800", optarg);
			break;
		case 'i':
			if (parse_seconds(optarg, SRV_FRESH_EXPIRY_MAX_MS / 1000, &cfg->fresh_interval_ms))
				return usage("--fresh-interval: want seconds, 1 to 604800", optarg);
			break;
		case 'h':
			printf("usage: " USAGE "\n");
			return 1;
		case ':':
			return usage("a flag is missing its value", argv[optind - 1]);
		default:
			return usage("unknown flag", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage("unexpected argument", argv[optind]);
	if (!cfg->state_dir || !cfg->listen)
		return usage("--state and --listen are required", NULL);
	if (cfg->fresh_interval_ms &&
	    cfg->fresh_interval_ms >= (cfg->fresh_expiry_ms ? cfg->fresh_expiry_ms : SRV_FRESH_EXPIRY_MS))
		return usage("--fresh-interval must be below --fresh-expiry (default 3600)", NULL);
	return 0;
}

static int signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct srv_config cfg = { 0 };
	static struct srv s;
	bool verbose = false;
	int err = parse_flags(argc, argv, &cfg, &verbose);

	if (err)
		return err == 1 ? 0 : err; /* 1: --help */
	srv_log_init(verbose);
	if (signals() || srv_open(&s, &cfg))
		return 1;
	while (!stopping) {
		err = srv_run_once(&s, 1000);
		if (err < 0) {
			srv_err("loop: %s", strerror(-err));
			break;
		}
	}
	srv_info("stopping: %u connections closed", s.nconns);
	srv_close(&s);
	return err < 0 ? 1 : 0;
}
