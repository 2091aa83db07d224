// SPDX-License-Identifier: GPL-2.0
/*
 * tc_label: the packet programs alone, without dsmd and without the LSM
 * object, for benchmarks on kernels that cannot load BPF LSM programs
 * (tc programs load anywhere).
 *
 *   tc_label [--verify] --node N --pin PATH [NETNS:]IFACE...
 *
 * Loads one instance of the dsm_net object (dsm_egress, dsm_ingress), puts
 * a fixed benchmark key (id 1) in key slot 0 and {node N, epoch 1, window
 * 3, LABEL_EGRESS | VERIFY} in dsm_net_config, pins dsm_sockets at PATH (a path
 * on a bpf file system; "ip netns exec" hides /sys/fs/bpf, so put it
 * elsewhere, for instance on a bpffs mounted under /run), attaches
 * dsm_egress at tc egress of every IFACE and, with --verify, dsm_ingress
 * at its ingress. NETNS is a name under /run/netns or a path; without it
 * the interface is in tc_label's own namespace. Sockets are labeled by
 * writing their struct dsm_sock_ctx into the pinned map (udp_pp
 * --label-map).
 *
 * All interfaces given share the one instance: its maps (labels, counters)
 * and its node id. Ends that should be different nodes, each with its own
 * maps as on a real cluster, take one tc_label each (bench/host-net does
 * that).
 *
 * Prints "ready" once everything is attached; SIGUSR1 prints the packet
 * counters; SIGTERM or SIGINT detaches everything (a clsact qdisc it made
 * goes too), removes the pin, and prints the counters a last time:
 *
 *   counters labeled N not_labeled N drop_noroom N verified N ...
 *
 * (summed over CPUs, in the order of enum dsm_net_counter). Exit 2 for
 * usage, 1 for other errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "dsm/abi.h"
#include "dsm/wire.h"
#include "dsm_net.skel.h"
#include "bpf_host.h"

#define BENCH_KEY_ID 1
#define BENCH_EPOCH  1
#define BENCH_WINDOW 3
#define TC_HANDLE    0xdb
#define TC_PRIO      1

/* The fixed benchmark key: not a secret, every bench node uses it. */
static const __u8 bench_key[16] = { 0x64, 0x73, 0x6d, 0x2d, 0x62, 0x65, 0x6e, 0x63,
				    0x68, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30, 0x31 };

static const char *const counter_names[DSM_CNT_MAX] = {
	[DSM_CNT_PKT_LABELED] = "labeled",
	[DSM_CNT_PKT_NOT_LABELED] = "not_labeled",
	[DSM_CNT_PKT_DROP_NOROOM] = "drop_noroom",
	[DSM_CNT_PKT_VERIFIED] = "verified",
	[DSM_CNT_PKT_UNLABELED_IN] = "unlabeled_in",
	[DSM_CNT_PKT_DROP_MALFORMED] = "drop_malformed",
	[DSM_CNT_PKT_DROP_BADMAC] = "drop_badmac",
	[DSM_CNT_PKT_DROP_STALE] = "drop_stale",
	[DSM_CNT_EVENTS_DROPPED] = "events_dropped",
};

struct dev {
	const char *spec;
	char ns[PATH_MAX]; /* "" for our own namespace */
	const char *ifname;
	int ifindex;
	int made_qdisc; /* the clsact qdisc is ours: remove it */
	int in, out;    /* our filter is attached there */
};

static struct dsm_net_bpf *skel;
static struct dev *devs;
static int ndevs, verify;

static void usage(void)
{
	fprintf(stderr, "usage: tc_label [--verify] --node N --pin PATH [NETNS:]IFACE...\n");
	exit(2);
}

__attribute__((format(printf, 1, 2)))
static void err_line(const char *fmt, ...)
{
	va_list ap;

	fputs("tc_label: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* libbpf's warnings (a verifier log when a load fails); nothing chattier. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* ---- network namespaces ------------------------------------------------- */

struct ns_call {
	int nsfd;
	int (*fn)(struct dev *);
	struct dev *dev;
	int ret;
};

static void *ns_thread(void *p)
{
	struct ns_call *c = p;

	c->ret = c->nsfd >= 0 && setns(c->nsfd, CLONE_NEWNET) ? -errno : c->fn(c->dev);
	return NULL;
}

/* fn(dev) on a thread inside the device's namespace: if_nametoindex and
 * the tc netlink requests go to the namespace their socket was made in. */
static int in_ns(struct dev *d, int (*fn)(struct dev *))
{
	struct ns_call c = { .nsfd = -1, .fn = fn, .dev = d };
	pthread_t t;
	int err;

	if (d->ns[0]) {
		c.nsfd = open(d->ns, O_RDONLY | O_CLOEXEC);
		if (c.nsfd < 0)
			return -errno;
	}
	err = pthread_create(&t, NULL, ns_thread, &c);
	if (!err)
		pthread_join(t, NULL);
	if (c.nsfd >= 0)
		close(c.nsfd);
	return err ? -err : c.ret;
}

/* ---- tc ----------------------------------------------------------------- */

static int attach_one(struct dev *d, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = d->ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO,
		    .prog_fd = prog_fd);

	return bpf_tc_attach(&hook, &opts);
}

static int detach_one(struct dev *d, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = d->ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

static int attach_dev(struct dev *d)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	d->ifindex = (int)if_nametoindex(d->ifname);
	if (!d->ifindex)
		return -errno;
	hook.ifindex = d->ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	d->made_qdisc = !err;
	err = attach_one(d, BPF_TC_EGRESS, bpf_program__fd(skel->progs.dsm_egress));
	if (err)
		return err;
	d->out = 1;
	if (!verify)
		return 0;
	err = attach_one(d, BPF_TC_INGRESS, bpf_program__fd(skel->progs.dsm_ingress));
	if (!err)
		d->in = 1;
	return err;
}

static int detach_dev(struct dev *d)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = d->ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err = 0, e;

	if (d->made_qdisc) {
		/* the qdisc goes with every filter on it */
		err = bpf_tc_hook_destroy(&hook);
		if (!err)
			d->made_qdisc = d->in = d->out = 0;
		return err;
	}
	if (d->out) {
		e = detach_one(d, BPF_TC_EGRESS);
		err = e ? e : err;
		d->out = 0;
	}
	if (d->in) {
		e = detach_one(d, BPF_TC_INGRESS);
		err = e ? e : err;
		d->in = 0;
	}
	return err;
}

/* Detach from every device; a device (or namespace) already gone took
 * the filters with it. */
static int detach_all(void)
{
	int ret = 0;

	for (int i = 0; i < ndevs; i++) {
		struct dev *d = &devs[i];
		int err;

		if (!d->ifindex || (!d->made_qdisc && !d->in && !d->out))
			continue;
		err = in_ns(d, detach_dev);
		if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL) {
			err_line("detach from %s: %s", d->spec, strerror(-err));
			ret = err;
		}
	}
	return ret;
}

/* ---- maps --------------------------------------------------------------- */

static __u64 le64(const __u8 *p)
{
	__u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int configure(__u32 node)
{
	struct dsm_mac_key key = { .valid = 1, .key_id = BENCH_KEY_ID, .k0 = le64(bench_key),
				   .k1 = le64(bench_key + 8) };
	struct dsm_net_cfg cfg = { .node_id = node, .epoch_window = BENCH_WINDOW,
				   .flags = DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY };
	__u32 zero = 0;

	dsm_cfg_at_epoch(&cfg, BENCH_EPOCH);
	/* slot 1 stays as loaded: all zero, not valid */
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.dsm_keys), &zero, &key, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.dsm_net_config), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

static int print_counters(void)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.dsm_counters);
	__u64 *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	printf("counters");
	for (__u32 i = 0; i < DSM_CNT_MAX; i++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd, &i, vals)) {
			free(vals);
			printf("\n");
			return -errno;
		}
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		if (counter_names[i])
			printf(" %s %llu", counter_names[i], (unsigned long long)sum);
	}
	printf("\n");
	fflush(stdout);
	free(vals);
	return 0;
}

/* The pin must go on a bpf file system: say so plainly when it is not. */
static int check_pin_dir(const char *path)
{
	char dir[PATH_MAX];
	struct statfs st;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (statfs(dirname(dir), &st))
		return -errno;
	return st.f_type == BPF_FS_MAGIC ? 0 : -ENOTSUP;
}

/* ---- main --------------------------------------------------------------- */

static void parse_dev(struct dev *d, const char *spec)
{
	const char *colon = strrchr(spec, ':');

	d->spec = spec;
	d->ifname = colon ? colon + 1 : spec;
	if (!d->ifname[0] || strlen(d->ifname) >= IF_NAMESIZE) {
		fprintf(stderr, "tc_label: bad interface: %s\n", spec);
		exit(2);
	}
	if (!colon)
		return;
	if (colon == spec) {
		fprintf(stderr, "tc_label: bad interface: %s\n", spec);
		exit(2);
	}
	if (spec[0] == '/')
		snprintf(d->ns, sizeof(d->ns), "%.*s", (int)(colon - spec), spec);
	else
		snprintf(d->ns, sizeof(d->ns), "/run/netns/%.*s", (int)(colon - spec), spec);
}

int main(int argc, char **argv)
{
	const char *pin = NULL;
	long node = -1;
	int i, err, sig, pinned = 0, ret = 1;
	sigset_t set;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--verify")) {
			verify = 1;
		} else if (!strcmp(argv[i], "--node") && i + 1 < argc) {
			char *end;

			errno = 0;
			node = strtol(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || node < 1 || node > 0xfffffffeL) {
				fprintf(stderr, "tc_label: bad node id: %s\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--pin") && i + 1 < argc) {
			pin = argv[++i];
		} else {
			usage();
		}
	}
	if (node < 0 || !pin || i == argc)
		usage();
	ndevs = argc - i;
	devs = calloc((size_t)ndevs, sizeof(*devs));
	if (!devs)
		return 1;
	for (int k = 0; k < ndevs; k++)
		parse_dev(&devs[k], argv[i + k]);

	/* every thread inherits this: the signals wait for sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	libbpf_set_print(libbpf_print);

	err = check_pin_dir(pin);
	if (err) {
		err_line("%s: %s", pin, err == -ENOTSUP ? "not on a bpf file system "
			 "(mount -t bpf bpf DIR)" : strerror(-err));
		return 1;
	}
	skel = dsm_net_bpf__open();
	if (!skel) {
		err_line("open the dsm_net object: %s", strerror(errno));
		return 1;
	}
	/* not for attaching; as dsmd does */
	bpf_program__set_autoload(skel->progs.dsm_mac_selftest, false);
	if (!verify)
		bpf_program__set_autoload(skel->progs.dsm_ingress, false);
	dsm_obj_unpinned(skel->obj);
	err = dsm_net_bpf__load(skel);
	if (err) {
		err_line("load the dsm_net object: %s", strerror(-err));
		goto out;
	}
	err = configure((__u32)node);
	if (err) {
		err_line("write the key and configuration: %s", strerror(-err));
		goto out;
	}
	err = bpf_map__pin(skel->maps.dsm_sockets, pin);
	if (err) {
		err_line("pin dsm_sockets at %s: %s", pin, strerror(-err));
		goto out;
	}
	pinned = 1;
	for (int k = 0; k < ndevs; k++) {
		err = in_ns(&devs[k], attach_dev);
		if (err) {
			err_line("attach to %s: %s", devs[k].spec, strerror(-err));
			goto out;
		}
	}
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig != SIGUSR1)
			break;
		err = print_counters();
		if (err)
			err_line("read the counters: %s", strerror(-err));
	}
	ret = 0;
out:
	if (detach_all())
		ret = 1;
	if (pinned && bpf_map__unpin(skel->maps.dsm_sockets, pin)) {
		err_line("remove the pin %s: %s", pin, strerror(errno));
		ret = 1;
	}
	if (!ret) {
		err = print_counters();
		if (err) {
			err_line("read the counters: %s", strerror(-err));
			ret = 1;
		}
	}
	dsm_net_bpf__destroy(skel);
	free(devs);
	return ret;
}
