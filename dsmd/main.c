// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd: the per-node Security Manager (local mode).
 *
 *   dsmd --policy FILE [--node NAME] [--pin-dir DIR] [--state-dir DIR]
 *   dsmd --unload [--pin-dir DIR]
 *
 * Start-up, fresh: compile the policy, load the LSM object, install the
 * policy, label running processes, attach and pin every program, label
 * what forked meanwhile, then serve alarms and dsmctl until SIGTERM.
 * Start-up with pins present: take the pinned maps over (the programs
 * never stopped enforcing), install the policy, serve. Exit leaves
 * enforcement in place; only --unload removes it.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "dsm/wire.h"
#include "dsmd.h"

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
		"       dsmd --unload [--pin-dir DIR] [--netns PATH]... [--tcp-all]\n"
		"\n"
		"  -p, --policy FILE     policy source to enforce (reloaded on SIGHUP)\n"
		"  -n, --node NAME|ID    this node in the policy (default: the hostname)\n"
		"  -k, --key-file FILE   cluster keys (root-only; see docs/wire.md); without\n"
		"                        one, nothing is labeled and peers are unlabeled\n"
		"      --no-label        keys, but label no packet (local checks only)\n"
		"      --tcp-all         label every TCP segment, not only the handshake\n"
		"                        (turns GSO off on labeled links; see docs/wire.md)\n"
		"      --wire-version N  option version to send, 1 or 2 (default 2; 1 while\n"
		"                        some nodes know only 1, see docs/wire.md)\n"
		"      --netns PATH      also label in this network namespace (repeatable)\n"
		"      --epoch-seconds N length of an epoch (default 10)\n"
		"      --epoch-window N  epochs a label may be off by (default 3)\n"
		"      --pin-dir DIR     where programs and maps are pinned (default %s)\n"
		"      --state-dir DIR   control socket and alarm log (default %s)\n"
		"      --unload          remove dsm from the kernel and exit\n"
		"  -v, --verbose         log more\n"
		"  -h, --help            this text\n",
		DSMD_PIN_DIR, DSMD_STATE_DIR);
}

static int parse_args(int argc, char **argv, struct dsmd_opts *o)
{
	enum { OPT_PIN = 256, OPT_STATE, OPT_UNLOAD, OPT_NOLABEL, OPT_EPOCH, OPT_WINDOW,
	       OPT_TCPALL, OPT_NETNS, OPT_WIRE };
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "node", required_argument, NULL, 'n' },
		{ "pin-dir", required_argument, NULL, OPT_PIN },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "unload", no_argument, NULL, OPT_UNLOAD },
		{ "key-file", required_argument, NULL, 'k' },
		{ "no-label", no_argument, NULL, OPT_NOLABEL },
		{ "tcp-all", no_argument, NULL, OPT_TCPALL },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "wire-version", required_argument, NULL, OPT_WIRE },
		{ "epoch-seconds", required_argument, NULL, OPT_EPOCH },
		{ "epoch-window", required_argument, NULL, OPT_WINDOW },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:n:k:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': o->policy_path = optarg; break;
		case 'n': o->node = optarg; break;
		case OPT_PIN: o->pin_dir = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_UNLOAD: o->unload = true; break;
		case 'k': o->key_file = optarg; break;
		case OPT_NOLABEL: o->label_egress = false; break;
		case OPT_TCPALL: o->tcp_all = true; break;
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
		case OPT_WINDOW: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || v == 0 || v > 86400) {
				fprintf(stderr, "dsmd: %s wants a number from 1 to 86400, not '%s'\n",
					argv[optind - 1], optarg);
				return -EINVAL;
			}
			if (c == OPT_EPOCH)
				o->epoch_seconds = (unsigned)v;
			else
				o->epoch_window = (unsigned)v;
			break;
		}
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
	if (!o->unload && !o->policy_path) {
		fprintf(stderr, "dsmd: --policy FILE is required (see --help)\n");
		return -EINVAL;
	}
	return 0;
}

static int start_fresh(struct dsmd *d)
{
	int err;

	err = dsmd_bpf_load(d);
	if (!err)
		err = dsmd_policy_load(d);
	if (!err)
		err = dsmd_net_configure(d);
	if (err)
		return err;
	/* Label first: dsmd needs its own label before the bpf hook attaches. */
	err = dsmd_label_tasks(d, false);
	if (err)
		return err;
	err = dsmd_bpf_attach_and_pin(d);
	if (!err)
		err = dsmd_net_attach(d);
	if (err) {
		dsmd_net_detach_all(&d->o);
		dsmd_bpf_unpin(d->o.pin_dir);
		return err;
	}
	return dsmd_label_tasks(d, true);
}

static int serve(struct dsmd *d)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[3];
	sigset_t set;
	int sfd, err = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = ring_buffer__epoll_fd(d->rb), .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = d->ctl_fd, .events = POLLIN };
	log_info("main: ready: node %s (%u), pid %d%s", d->node_name, d->node_id, getpid(),
		 d->takeover ? ", took over pinned objects" : "");
	for (;;) {
		if (poll(pfd, 3, 1000) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		dsmd_net_tick(d);
		if (dsmd_self_tick(d) == -ESHUTDOWN)
			break;
		/* Always drain: events may arrive without a wakeup (ring buffer
		 * notifications are batched by the kernel). */
		if (dsmd_alarm_poll(d, 0) < 0)
			log_warning("alarm: ring buffer poll failed");
		if (pfd[2].revents & POLLIN)
			dsmd_control_serve(d);
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			log_info("main: SIGHUP: reloading %s", d->o.policy_path);
			if (dsmd_policy_load(d))
				log_error("main: reload failed: the previous policy stays in force");
			else if (dsmd_net_configure(d))
				log_error("main: key reload failed: the previous keys stay in force");
			continue;
		}
		log_info("main: signal %d: exiting, enforcement stays in place", si.ssi_signo);
		break;
	}
	dsmd_alarm_poll(d, 0);
	close(sfd);
	return err;
}

int main(int argc, char **argv)
{
	struct dsmd d = {
		.o = { .pin_dir = DSMD_PIN_DIR, .state_dir = DSMD_STATE_DIR, .label_egress = true,
		       .epoch_seconds = 10, .epoch_window = 3,
		       .wire_version = DSM_OPT_VERSION },
		.ctl_fd = -1,
	};
	int err;

	if (parse_args(argc, argv, &d.o))
		return 2;
	verbose = d.o.verbose;
	log_open(verbose ? LOG_DEBUG : LOG_INFO);
	libbpf_set_print(libbpf_print);

	if (d.o.unload) {
		err = dsmd_net_detach_all(&d.o);
		if (!err)
			err = dsmd_bpf_unpin(d.o.pin_dir);
		if (err)
			log_error("main: unload: %s", strerror(-err));
		else
			log_info("main: unloaded: dsm no longer enforces on this node");
		return err ? 1 : 0;
	}
	if (mkdir(d.o.state_dir, 0755) && errno != EEXIST) {
		log_error("main: create %s: %s", d.o.state_dir, strerror(errno));
		return 1;
	}

	if (dsmd_files_open(&d)) {
		dsmd_files_close(&d);
		return 1;
	}
	if (dsmd_bpf_pinned(&d)) {
		d.takeover = true;
		err = dsmd_bpf_load(&d);
		if (!err)
			err = dsmd_policy_load(&d);
		if (!err)
			err = dsmd_net_configure(&d);
		if (!err)
			err = dsmd_net_attach(&d);
		if (!err)
			err = dsmd_label_tasks(&d, true);
	} else {
		err = start_fresh(&d);
	}
	if (!err)
		err = dsmd_protect_all(&d);
	if (!err)
		err = dsmd_alarm_open(&d);
	if (!err)
		err = dsmd_protect_all(&d); /* and the alarm log */
	if (!err)
		err = dsmd_control_open(&d);
	if (!err)
		err = serve(&d);
	if (err)
		log_error("main: stopping: %s", strerror(-err));

	dsmd_control_close(&d);
	dsmd_alarm_close(&d);
	dsmd_bpf_close(&d);
	dsmd_protect_free(&d);
	dsmd_files_close(&d);
	dsm_policy_free(d.policy);
	log_close();
	return err ? 1 : 0;
}
