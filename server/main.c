// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server: flags, signals, the loop.
 *
 *   dsm-server --state DIR --listen ADDR:PORT [--control PATH]
 *              [--admit-rate N/s] [--key-rotation-interval D] [--key-grace D]
 *              [--epoch-window D] [--key-ack-timeout D] [--fresh-expiry D]
 *              [--fresh-interval D] [--metrics ADDR:PORT] [-v]
 *
 * Durations D are N with a unit: ms, s, m, h or d (s if none).
 *
 * A bad flag is one line on stderr and exit status 2; a state directory
 * that does not check out is one line naming what is wrong and status 1.
 * SIGTERM and SIGINT stop the server cleanly. Under a service manager
 * (lib/notify.h) it says READY=1 once it listens, WATCHDOG=1 from its loop
 * when asked, STOPPING=1 on the way out.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "log.h"
#include "notify.h"
#include "server.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

#define USAGE "dsm-server --state DIR --listen ADDR:PORT [--control PATH] [--admit-rate N/s] " \
	"[--key-rotation-interval D] [--key-grace D] [--epoch-window D] [--key-ack-timeout D] " \
	"[--fresh-expiry D] [--fresh-interval D] [--metrics ADDR:PORT] [-v]"

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

/* N[ms|s|m|h|d] into milliseconds; zero only if zero_ok. At most a year. */
static int parse_duration(const char *arg, bool zero_ok, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	char *end;
	unsigned long long n;

	if (arg[0] < '0' || arg[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit)) {
			if (n > 366ull * 86400000 / units[i].ms || (!n && !zero_ok))
				return -EINVAL;
			*ms = n * units[i].ms;
			return 0;
		}
	return -EINVAL;
}

/* A freshness period: a duration of 1 s to SRV_FRESH_EXPIRY_MAX_MS. */
static int parse_fresh(const char *arg, uint32_t *ms)
{
	uint64_t v;

	if (parse_duration(arg, false, &v) || v < SRV_FRESH_EXPIRY_MIN_MS ||
	    v > SRV_FRESH_EXPIRY_MAX_MS)
		return -EINVAL;
	*ms = (uint32_t)v;
	return 0;
}

static int parse_flags(int argc, char **argv, struct srv_config *cfg, bool *verbose)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "control", required_argument, NULL, 'c' },
		{ "admit-rate", required_argument, NULL, 'r' },
		{ "key-rotation-interval", required_argument, NULL, 'K' },
		{ "key-grace", required_argument, NULL, 'G' },
		{ "epoch-window", required_argument, NULL, 'E' },
		{ "key-ack-timeout", required_argument, NULL, 'A' },
		{ "fresh-expiry", required_argument, NULL, 'e' },
		{ "fresh-interval", required_argument, NULL, 'i' },
		{ "metrics", required_argument, NULL, 'M' },
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
		case 'M': cfg->metrics = optarg; break;
		case 'v': *verbose = true; break;
		case 'r':
			if (parse_rate(optarg, &cfg->admit_rate))
				return usage("--admit-rate: want N or N/s, 1 to 100000", optarg);
			break;
		case 'K':
			if (parse_duration(optarg, true, &cfg->key_interval_ms))
				return usage("--key-rotation-interval: want a duration (24h; 0: off)",
					     optarg);
			break;
		case 'G':
			if (parse_duration(optarg, false, &cfg->key_grace_ms))
				return usage("--key-grace: want a duration above 0 (60s)", optarg);
			break;
		case 'E':
			if (parse_duration(optarg, false, &cfg->key_grace_now_ms))
				return usage("--epoch-window: want a duration above 0 (30s)", optarg);
			break;
		case 'A':
			if (parse_duration(optarg, false, &cfg->key_ack_ms))
				return usage("--key-ack-timeout: want a duration above 0 (5m)", optarg);
			break;
		case 'e':
			if (parse_fresh(optarg, &cfg->fresh_expiry_ms))
				return usage("--fresh-expiry: want a duration, 1s to 7d (1h)", optarg);
			break;
		case 'i':
			if (parse_fresh(optarg, &cfg->fresh_interval_ms))
				return usage("--fresh-interval: want a duration, 1s to 7d", optarg);
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

/* WATCHDOG=1 to the service manager at most once a second, when its unit
 * asked for a watchdog (docs/install.md): from the loop, so a stalled
 * loop stops it. */
static void watchdog(uint64_t usec)
{
	static time_t last;
	struct timespec now;

	if (!usec)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec == last)
		return;
	last = now.tv_sec;
	dsm_notify("WATCHDOG=1");
}

int main(int argc, char **argv)
{
	struct srv_config cfg = { .key_interval_ms = SRV_KEY_INTERVAL_MS };
	static struct srv s;
	bool verbose = false;
	uint64_t wd_usec;
	int err = parse_flags(argc, argv, &cfg, &verbose);

	if (err)
		return err == 1 ? 0 : err; /* 1: --help */
	srv_log_init(verbose);
	if (signals() || srv_open(&s, &cfg))
		return 1;
	/* listening on both sockets: ready for the service manager */
	if (dsm_notify("READY=1\nSTATUS=listening") < 0)
		srv_err("cannot notify the service manager ($NOTIFY_SOCKET)");
	wd_usec = dsm_notify_watchdog_usec();
	while (!stopping) {
		watchdog(wd_usec);
		err = srv_run_once(&s, 1000);
		if (err < 0) {
			srv_err("loop: %s", strerror(-err));
			break;
		}
	}
	dsm_notify("STOPPING=1");
	srv_info("stopping: %u connections closed", s.nconns);
	srv_close(&s);
	return err < 0 ? 1 : 0;
}
