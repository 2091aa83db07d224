// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd: the per-node Security Manager (local mode).
 *
 *   dsmd --policy FILE [--node NAME] [--pin-dir DIR] [--state-dir DIR]
 *   dsmd --join HOST:PORT --token HEX --ca FILE [--server HOST:PORT]...
 *   dsmd --unload [--pin-dir DIR]
 *
 * First the feature probe (probe.c): a kernel that would not run dsm's
 * programs (no BTF, no BPF LSM, `bpf` not in the active LSM list) makes
 * dsmd exit with DSMD_EXIT_PROBE before it touches anything.
 * Start-up, fresh: compile the policy, load the LSM object, install the
 * policy, label running processes, attach and pin every program, label
 * what forked meanwhile, then serve alarms and dsmctl until SIGTERM.
 * Start-up with pins present: take the pinned maps over (the programs
 * never stopped enforcing), install the policy, serve (serve.c). Exit
 * leaves enforcement in place; only --unload removes it (unload.c: through
 * the running dsmd when there is one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "closer.h"
#include "control.h"
#include "dsm/wire.h"
#include "dsmd.h"
#include "evloop.h"
#include "uplink.h"

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dsmd --policy FILE [--node NAME|ID] [--key-file FILE [--no-label|--tcp-all]]\n"
		"            [--netns PATH]... [--pin-dir DIR] [--state-dir DIR] [-v]\n"
		"       dsmd --join HOST:PORT --token HEX --ca FILE [--ca-pin SHA256]\n"
		"            [--server HOST:PORT]... [--server-state DIR] [other options]\n"
		"       dsmd --unload [--pin-dir DIR] [--netns PATH]...\n"
		"\n"
		"  -p, --policy FILE     policy source to enforce (reloaded on SIGHUP)\n"
		"  -n, --node NAME|ID    this node in the policy (default: the hostname)\n"
		"  -k, --key-file FILE   cluster keys (root-only; see docs/wire.md); without\n"
		"                        one, nothing is labeled and peers are unlabeled\n"
		"      --no-label        keys, but label no packet (local checks only)\n"
		"      --tcp-all         label every TCP segment, not only the handshake\n"
		"                        (turns GSO off on labeled links; see docs/wire.md)\n"
		"      --no-placeholder  never set a placeholder on a labeled UDP socket\n"
		"                        (its datagrams' headers are then grown one by one)\n"
		"      --wire-version N  option version to send, 1 or 2 (default 2; 1 while\n"
		"                        some nodes know only 1, see docs/wire.md)\n"
		"      --netns PATH      also label in this network namespace (repeatable)\n"
		"      --epoch-seconds N length of an epoch (default 10)\n"
		"      --epoch-window N  epochs a label may be off by (default 3)\n"
		"      --pin-dir DIR     where programs and maps are pinned (default %s)\n"
		"      --state-dir DIR   control socket and alarm log (default %s)\n"
		"      --alarm-log-max N rotate the alarm log beyond N bytes, keeping one\n"
		"                        old file (default %u, at least 4096)\n"
		"      --alarm-sink WHERE where alarms go besides the alarm log: auto (the\n"
		"                        journal while it is there, else syslog), journal,\n"
		"                        syslog or none (default auto)\n"
		"      --join HOST:PORT  enrol at this Security Server once (with --token and\n"
		"                        --ca), then run joined: policies come from it\n"
		"      --token HEX       the one-time token of `dsmctl node add`\n"
		"      --ca FILE         the cluster CA certificate the server must chain to\n"
		"      --ca-pin SHA256   the CA certificate's fingerprint, checked if given\n"
		"      --server HOST:PORT a Security Server of the cluster (repeatable)\n"
		"      --server-state DIR the joined node's state (default %s); joined,\n"
		"                        --policy is only what is enforced until the\n"
		"                        first policy from the server\n"
		"      --metrics-file PATH write every metric to PATH every 5 s (Prometheus\n"
		"                        text, for node_exporter's textfile collector)\n"
		"      --unload          remove dsm from the kernel and exit: through the\n"
		"                        running dsmd if there is one, else directly\n"
		"  -v, --verbose         log more\n"
		"  -h, --help            this text\n",
		DSMD_PIN_DIR, DSMD_STATE_DIR, DSMD_ALARM_LOG_MAX, DSMD_UPLINK_STATE_DIR);
}

/* A decimal number from min to max: 0 with *out, or -EINVAL said. */
static int number_arg(const char *opt, const char *arg, unsigned long long min,
		      unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!*arg || *end || errno || *arg == '-' || v < min || v > max) {
		fprintf(stderr, "dsmd: %s wants a number from %llu to %llu, not '%s'\n", opt, min,
			max, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum { OPT_PIN = 256, OPT_STATE, OPT_UNLOAD, OPT_NOLABEL, OPT_EPOCH, OPT_WINDOW,
       OPT_TCPALL, OPT_NETNS, OPT_WIRE, OPT_ALARM_MAX, OPT_JOIN, OPT_TOKEN, OPT_CA,
       OPT_CA_PIN, OPT_SERVER, OPT_SERVER_STATE, OPT_METRICS_FILE, OPT_ALARM_SINK,
       OPT_NO_PLACEHOLDER };
static const struct option long_opts[] = {
	{ "policy", required_argument, NULL, 'p' },
	{ "node", required_argument, NULL, 'n' },
	{ "pin-dir", required_argument, NULL, OPT_PIN },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "unload", no_argument, NULL, OPT_UNLOAD },
	{ "key-file", required_argument, NULL, 'k' },
	{ "no-label", no_argument, NULL, OPT_NOLABEL },
	{ "tcp-all", no_argument, NULL, OPT_TCPALL },
	{ "no-placeholder", no_argument, NULL, OPT_NO_PLACEHOLDER },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "wire-version", required_argument, NULL, OPT_WIRE },
	{ "epoch-seconds", required_argument, NULL, OPT_EPOCH },
	{ "epoch-window", required_argument, NULL, OPT_WINDOW },
	{ "alarm-log-max", required_argument, NULL, OPT_ALARM_MAX },
	{ "alarm-sink", required_argument, NULL, OPT_ALARM_SINK },
	{ "join", required_argument, NULL, OPT_JOIN },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "ca-pin", required_argument, NULL, OPT_CA_PIN },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "server-state", required_argument, NULL, OPT_SERVER_STATE },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* Is s all hex digits, an even number from min to max? */
static bool hex_arg(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return !s[n] && n % 2 == 0 && n >= min && n <= max;
}

static int server_arg(const char *opt, const char *arg, struct dsmd_opts *o)
{
	if (!dsmd_uplink_addr_valid(arg)) {
		fprintf(stderr, "dsmd: %s wants HOST:PORT ([ADDR]:PORT for IPv6), not '%s'\n",
			opt, arg);
		return -EINVAL;
	}
	if (o->n_servers == DSMD_UPLINK_MAX_SERVERS) {
		fprintf(stderr, "dsmd: at most %d servers\n", DSMD_UPLINK_MAX_SERVERS);
		return -EINVAL;
	}
	o->servers[o->n_servers++] = arg;
	return 0;
}

/* The uplink's options together: --join wants its token and CA. */
static int check_uplink_args(struct dsmd_opts *o)
{
	if (o->join) {
		if (!o->join_token || !hex_arg(o->join_token, 2 * DSM_MSG_TOKEN_MIN,
					       2 * DSM_MSG_TOKEN_MAX)) {
			fprintf(stderr, "dsmd: --join wants --token HEX (%d to %d hex digits)\n",
				2 * DSM_MSG_TOKEN_MIN, 2 * DSM_MSG_TOKEN_MAX);
			return -EINVAL;
		}
		if (!o->join_ca) {
			fprintf(stderr, "dsmd: --join wants --ca FILE, the cluster CA certificate\n");
			return -EINVAL;
		}
		/* The join address is the first server. */
		memmove(&o->servers[1], &o->servers[0], o->n_servers * sizeof(o->servers[0]));
		o->servers[0] = o->join;
		o->n_servers++;
	} else if (o->join_token || o->join_ca) {
		fprintf(stderr, "dsmd: --token and --ca go with --join\n");
		return -EINVAL;
	}
	if (o->ca_pin && (!o->join || !hex_arg(o->ca_pin, 64, 64))) {
		fprintf(stderr, "dsmd: --ca-pin wants the 64 hex digits of a SHA-256, with --join\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct dsmd_opts *o)
{
	unsigned long long v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:n:k:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p': o->policy_path = optarg; break;
		case 'n': o->node = optarg; break;
		case OPT_PIN: o->pin_dir = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_UNLOAD: o->unload = true; break;
		case 'k': o->key_file = optarg; break;
		case OPT_NOLABEL: o->label_egress = false; break;
		case OPT_TCPALL: o->tcp_all = true; break;
		case OPT_NO_PLACEHOLDER: o->no_placeholder = true; break;
		case OPT_WIRE:
			if (strcmp(optarg, "1") && strcmp(optarg, "2")) {
				fprintf(stderr, "dsmd: --wire-version wants 1 or 2, not '%s'\n", optarg);
				return -EINVAL;
			}
			o->wire_version = (unsigned)(optarg[0] - '0');
			break;
		case OPT_NETNS:
			if (o->n_netns == DSMD_MAX_NETNS) {
				fprintf(stderr, "dsmd: at most %d --netns options\n", DSMD_MAX_NETNS);
				return -EINVAL;
			}
			o->netns[o->n_netns++] = optarg;
			break;
		case OPT_EPOCH:
			if (number_arg("--epoch-seconds", optarg, 1, 86400, &v))
				return -EINVAL;
			o->epoch_seconds = (unsigned)v;
			break;
		case OPT_WINDOW:
			if (number_arg("--epoch-window", optarg, 1, 86400, &v))
				return -EINVAL;
			o->epoch_window = (unsigned)v;
			break;
		case OPT_ALARM_MAX:
			if (number_arg("--alarm-log-max", optarg, 4096, 1ull << 40, &v))
				return -EINVAL;
			o->alarm_log_max = v;
			break;
		case OPT_ALARM_SINK:
			if (dsmd_alarm_sink_parse(optarg, &o->alarm_sink)) {
				fprintf(stderr, "dsmd: --alarm-sink wants auto, journal, syslog or none, "
					"not '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_JOIN:
			if (o->join || !dsmd_uplink_addr_valid(optarg) ||
			    o->n_servers == DSMD_UPLINK_MAX_SERVERS) {
				fprintf(stderr, "dsmd: --join wants one HOST:PORT, not '%s'\n", optarg);
				return -EINVAL;
			}
			o->join = optarg;
			break;
		case OPT_TOKEN: o->join_token = optarg; break;
		case OPT_CA: o->join_ca = optarg; break;
		case OPT_CA_PIN: o->ca_pin = optarg; break;
		case OPT_SERVER:
			if (server_arg("--server", optarg, o))
				return -EINVAL;
			break;
		case OPT_SERVER_STATE:
			if (!*optarg) {
				fprintf(stderr, "dsmd: --server-state wants a directory\n");
				return -EINVAL;
			}
			o->server_state = optarg;
			break;
		case OPT_METRICS_FILE:
			if (!*optarg) {
				fprintf(stderr, "dsmd: --metrics-file wants a file name\n");
				return -EINVAL;
			}
			o->metrics_file = optarg;
			break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case ':':
			fprintf(stderr, "dsmd: option '%s' needs a value (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "dsmd: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dsmd: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (check_uplink_args(o))
		return -EINVAL;
	if (!o->unload && !o->policy_path) {
		fprintf(stderr, "dsmd: --policy FILE is required (see --help)\n");
		return -EINVAL;
	}
	return 0;
}

/* The first load: the same path as every reload (reload.c), but at start
 * anything short of everything in place is fatal. */
static int first_load(struct dsmd *d)
{
	struct dsmd_reload_result r;

	dsmd_reload(d, "start", &r);
	return r.outcome == DSMD_RELOAD_DONE ? 0 : r.err ? r.err : -EIO;
}

static int start_fresh(struct dsmd *d)
{
	int err;

	err = dsmd_bpf_load(d);
	if (!err)
		err = first_load(d);
	if (err)
		return err;
	/* Label first: dsmd needs its own label before the bpf hook attaches. */
	err = dsmd_label_tasks(d, DSMD_LABEL_BEFORE_HOOKS);
	if (err)
		return err;
	err = dsmd_bpf_attach_and_pin(d);
	if (!err)
		err = dsmd_net_attach(d);
	if (err) {
		dsmd_unload_now(&d->o);
		return err;
	}
	return dsmd_label_tasks(d, DSMD_LABEL_AFTER_HOOKS);
}

static int take_over(struct dsmd *d)
{
	int err;

	d->takeover = true;
	err = dsmd_bpf_load(d);
	if (!err)
		err = first_load(d);
	if (!err)
		err = dsmd_net_attach(d);
	if (!err)
		err = dsmd_label_tasks(d, DSMD_LABEL_AFTER_HOOKS);
	return err;
}
/* The heartbeat file (serve.c touches it every second), readable by
 * anyone: its modification time tells whether dsmd still runs its loop. */
static int open_heartbeat(struct dsmd *d)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/heartbeat", d->o.state_dir);
	d->heartbeat_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (d->heartbeat_fd < 0)
		return log_errno(LOG_ERR, -errno, "main: %s", path);
	return 0;
}

/* Signals dsmd handles through its signalfd: blocked in every thread, so
 * block them before the closer thread starts. A client that closes before
 * its answer must cost an EPIPE, not dsmd: SIGPIPE is ignored. */
static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int run(struct dsmd *d)
{
	int err;

	if (mkdir(d->o.state_dir, 0755) && errno != EEXIST)
		return log_errno(LOG_ERR, -errno, "main: create %s", d->o.state_dir);
	block_signals();
	err = dsmd_closer_start();
	if (err)
		return log_errno(LOG_ERR, err, "main: closer thread");
	err = dsmd_files_open(d);
	if (!err)
		err = dsmd_uplink_open(d);
	if (!err)
		err = dsmd_bpf_pinned(d) ? take_over(d) : start_fresh(d);
	if (!err)
		err = dsmd_alarm_open(d);
	if (!err)
		err = dsmd_protect_all(d);
	if (!err)
		err = open_heartbeat(d);
	if (!err)
		err = dsm_loop_open(&d->loop);
	if (!err)
		err = dsmd_control_open(d, dsmd_requests, dsmd_nrequests);
	if (!err)
		err = dsmd_metrics_open(d);
	if (!err)
		err = dsmd_serve(d);
	return err;
}

int main(int argc, char **argv)
{
	struct dsmd d = {
		.o = { .pin_dir = DSMD_PIN_DIR, .state_dir = DSMD_STATE_DIR, .label_egress = true,
		       .epoch_seconds = 10, .epoch_window = 3,
		       .wire_version = DSM_OPT_VERSION, .alarm_log_max = DSMD_ALARM_LOG_MAX,
		       .alarm_sink = DSMD_ALARM_SINK_AUTO,
		       .server_state = DSMD_UPLINK_STATE_DIR },
		.heartbeat_fd = -1,
	};
	int err;

	if (parse_args(argc, argv, &d.o))
		return 2;
	verbose = d.o.verbose;
	log_open(verbose ? LOG_DEBUG : LOG_INFO);
	libbpf_set_print(libbpf_print);

	if (d.o.unload) {
		err = dsmd_unload_command(&d.o);
		log_close();
		return err;
	}
	if (dsmd_probe()) {
		log_close();
		return DSMD_EXIT_PROBE;
	}
	err = run(&d);
	if (err)
		log_error("main: stopping: %s", strerror(-err));
	else if (d.unloaded)
		log_info("main: exiting after the unload");

	dsmd_metrics_close(&d);
	dsmd_control_close(&d);
	dsmd_uplink_close(&d);
	dsm_loop_close(d.loop);
	dsmd_alarm_close(&d);
	if (d.heartbeat_fd >= 0)
		close(d.heartbeat_fd);
	dsmd_closer_stop();
	dsmd_bpf_close(&d);
	dsmd_protect_free(&d);
	dsmd_files_close(&d);
	dsm_policy_free(d.policy);
	log_close();
	return err ? 1 : 0;
}
