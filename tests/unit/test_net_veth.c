// SPDX-License-Identifier: GPL-2.0
/*
 * The packet path for real: two network namespaces, "nodes" A and B,
 * joined by a veth pair, each end with its own instance of the dsm_net
 * object (its own maps, node id 1 and 2, the same cluster key) attached at
 * tc egress and ingress. Sockets get their labels the way dsmd's LSM gives
 * them, in dsm_sockets (keyed by the socket's fd from userspace), and frames
 * are captured on the receiving end with a packet socket, which sees them
 * before the ingress program does, to check the option byte for byte.
 * A third namespace C sits behind A (a container of node A, its interface
 * labeled by A's programs and maps) for what crosses namespaces and is
 * forwarded, and a tun device in A for a device without a link header.
 *
 * Needs root (netns, veth, BPF) and the ip tool. Skipped, with a reason,
 * only for a missing host capability (host_cap.h): not root, or a kernel
 * that refuses namespaces or BPF to this process; as root, an object that
 * does not load or attach, or a link that cannot be built, fails every
 * test. Namespace and device names carry the pid; the namespaces go in
 * the group teardown and at exit, and a run also removes those left by a
 * run that died.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "host_cap.h"
#include "siphash_ref.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/magic.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "dsm/abi.h"
#include "dsm/wire.h"
#include "dsm_net.skel.h"
#include "bpf_host.h"

#define ADDR_A   "10.199.0.1"
#define ADDR_B   "10.199.0.2"
#define NODE_A   1
#define NODE_B   2
#define EPOCH    50
#define KID      5
#define LABEL_A  100
#define LABEL_B  200
#define NS_PREFIX "dsmt-"

static const uint8_t cluster_key[16] = { 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
					 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0 };

struct node {
	char ns[32], dev[IF_NAMESIZE];
	const char *addr;
	uint32_t id;
	int nsfd, ifindex;
	struct dsm_net_bpf *skel;
	struct ring_buffer *rb;
};

static struct node A = { .addr = ADDR_A, .id = NODE_A, .nsfd = -1 };
static struct node B = { .addr = ADDR_B, .id = NODE_B, .nsfd = -1 };
/* C: a third namespace behind A (a container of node A), its interface
 * labeled by A's programs and maps, as dsmd --netns does. */
#define ADDR_A2 "10.198.0.1"
#define ADDR_C  "10.198.0.2"
static struct node C = { .addr = ADDR_C, .id = NODE_A, .nsfd = -1 };
static char a2_dev[IF_NAMESIZE];
/* Why the two nodes are not there: an error and what failed (host_cap.h). */
static int need_err;
static char need_what[160];
static int made_ns;

static struct dsm_event events[16];
static unsigned nevents;

/* ---- plumbing ----------------------------------------------------------- */

__attribute__((format(printf, 1, 2)))
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

struct ns_call {
	int nsfd;
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *ns_thread(void *p)
{
	struct ns_call *c = p;

	c->ret = setns(c->nsfd, CLONE_NEWNET) ? -errno : c->fn(c->arg);
	return NULL;
}

/* Run fn(arg) on a thread that has entered the node's namespace (sockets
 * keep the namespace they were made in; netlink requests go to it). */
static int in_ns(const struct node *n, int (*fn)(void *), void *arg)
{
	struct ns_call c = { .nsfd = n->nsfd, .fn = fn, .arg = arg };
	pthread_t t;

	if (pthread_create(&t, NULL, ns_thread, &c))
		return -EAGAIN;
	pthread_join(t, NULL);
	return c.ret;
}

struct sock_req {
	int domain, type, proto;
};

static int make_socket(void *p)
{
	struct sock_req *r = p;
	int fd = socket(r->domain, r->type | SOCK_CLOEXEC, r->proto);

	return fd < 0 ? -errno : fd;
}

static int ns_socket(const struct node *n, int domain, int type, int proto)
{
	struct sock_req r = { domain, type, proto };
	int fd = in_ns(n, make_socket, &r);

	assert_true(fd >= 0);
	return fd;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -EIO;
}

static int set_syncookies_always(void *p)
{
	return write_file("/proc/sys/net/ipv4/tcp_syncookies", p ? "2" : "1");
}

static int attach(void *p)
{
	struct node *n = p;
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, in, .prog_fd = bpf_program__fd(n->skel->progs.dsm_ingress));
	LIBBPF_OPTS(bpf_tc_opts, out, .prog_fd = bpf_program__fd(n->skel->progs.dsm_egress));
	int err;

	n->ifindex = (int)if_nametoindex(n->dev);
	if (!n->ifindex)
		return -ENODEV;
	hook.ifindex = n->ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	hook.attach_point = BPF_TC_INGRESS;
	err = bpf_tc_attach(&hook, &in);
	if (err)
		return err;
	hook.attach_point = BPF_TC_EGRESS;
	return bpf_tc_attach(&hook, &out);
}

static void remove_ns(const char *name)
{
	sh("ip netns del %s", name);
}

static void cleanup_at_exit(void)
{
	if (made_ns) {
		remove_ns(A.ns);
		remove_ns(B.ns);
		remove_ns(C.ns);
		made_ns = 0;
	}
}

/* Namespaces of runs that died without their teardown. */
static void sweep_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	int pid;
	char side;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (sscanf(e->d_name, NS_PREFIX "%d-%c", &pid, &side) == 2 && pid > 0 &&
		    kill(pid, 0) && errno == ESRCH)
			remove_ns(e->d_name);
	}
	closedir(d);
}

/* ---- keys, labels, counters, events ------------------------------------- */

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void set_slot(struct node *n, uint32_t slot, uint8_t valid, uint8_t kid,
		     const uint8_t key[16])
{
	struct dsm_mac_key k = { .valid = valid, .key_id = kid, .k0 = le64(key),
				 .k1 = le64(key + 8) };

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(n->skel->maps.dsm_keys), &slot, &k, 0),
			 0);
}

/* The cluster key in slot 0, slot 1 empty. */
static void set_key(struct node *n, const uint8_t key[16])
{
	set_slot(n, 0, 1, KID, key);
	set_slot(n, 1, 0, 0, key);
}

/* The node's configuration: these flags, and label A's same-node tag (0:
 * none, as for a label the policy does not know). */
static void set_cfg(struct node *n, uint32_t flags, uint32_t local_tag)
{
	struct dsm_net_cfg c = { .node_id = n->id, .epoch_window = 2, .flags = flags };
	int tags = bpf_map__fd(n->skel->maps.dsm_local_tags);
	uint32_t k = 0, label = LABEL_A;

	dsm_cfg_at_epoch(&c, EPOCH);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(n->skel->maps.dsm_net_config), &k, &c, 0),
			 0);
	if (local_tag)
		assert_int_equal(bpf_map_update_elem(tags, &label, &local_tag, BPF_ANY), 0);
	else
		bpf_map_delete_elem(tags, &label);
}

static void set_flags(struct node *n, uint32_t flags)
{
	set_cfg(n, flags, 0);
}

static void label(struct node *n, int fd, uint32_t lab)
{
	struct dsm_sock_ctx c = { .label = lab };

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(n->skel->maps.dsm_sockets), &fd, &c, 0),
			 0);
}

static uint64_t counter(struct node *n, uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], sum = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(n->skel->maps.dsm_counters), &idx,
					     vals), 0);
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

struct counts {
	uint64_t v[DSM_CNT_MAX];
};

static struct counts snap(struct node *n)
{
	struct counts c;

	for (uint32_t i = 0; i < DSM_CNT_MAX; i++)
		c.v[i] = counter(n, i);
	return c;
}

static uint64_t delta(struct node *n, const struct counts *before, uint32_t idx)
{
	return counter(n, idx) - before->v[idx];
}

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	assert_int_equal(len, sizeof(struct dsm_event));
	if (nevents < sizeof(events) / sizeof(events[0]))
		memcpy(&events[nevents++], data, sizeof(events[0]));
	return 0;
}

static void read_events(struct node *n)
{
	nevents = 0;
	assert_true(ring_buffer__consume(n->rb) >= 0);
}

/* ---- capture ------------------------------------------------------------ */

static uint8_t frame[1 << 17];

static int make_capture(void *p)
{
	struct node *n = p;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = n->ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	int size = 32 << 20;

	if (fd < 0)
		return -errno;
	/* room for every frame of a bulk transfer: a lost one would look
	 * like one that was never labeled */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* A packet socket on the node's end of the pair: frames arriving there. */
static int capture(struct node *n)
{
	int fd = in_ns(n, make_capture, n);

	assert_true(fd >= 0);
	return fd;
}

/* The next arriving IPv4 frame of this protocol with port as source or
 * destination port; returns the IPv4 header (in frame) or NULL. */
static const uint8_t *next_ip(int fd, uint8_t proto, uint16_t port, size_t *iplen, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (poll(&pfd, 1, ms) == 1) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(fd, frame, sizeof(frame), 0, (struct sockaddr *)&from, &fl);
		const uint8_t *ip = frame + ETH_HLEN;
		size_t hl;

		if (len < ETH_HLEN + 20 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (frame[12] != 0x08 || frame[13] != 0x00 || ip[9] != proto)
			continue;
		hl = (size_t)(ip[0] & 0xf) * 4;
		if ((size_t)len < ETH_HLEN + hl + 4)
			continue;
		if (ntohs(*(const uint16_t *)(ip + hl)) != port &&
		    ntohs(*(const uint16_t *)(ip + hl + 2)) != port)
			continue;
		*iplen = (size_t)len - ETH_HLEN;
		return ip;
	}
	return NULL;
}

static int csum_ok(const uint8_t *ip)
{
	size_t hl = (size_t)(ip[0] & 0xf) * 4;
	uint32_t sum = 0;

	for (size_t i = 0; i < hl; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* The option version senders are expected to write (DSM_NET_F_SEND_V1
 * aside, DSM_OPT_VERSION). */
static uint8_t want_version = DSM_OPT_VERSION;

/* The dsm option in a captured header at opt_off in the options, checked
 * byte for byte: what the sender should have put there, and the MAC under
 * this key. */
static void expect_option_key(const uint8_t *ip, size_t opt_off, uint32_t lab, uint32_t node,
			      uint8_t kid, const uint8_t key[16])
{
	const uint8_t *o = ip + 20 + opt_off;
	uint8_t msg[DSM_MAC_MSG_LEN], mac[8];
	size_t hl = (size_t)(ip[0] & 0xf) * 4;

	assert_true(hl >= 20 + opt_off + DSM_OPT_LEN);
	assert_true(csum_ok(ip));
	assert_true(ntohs(*(const uint16_t *)(ip + 2)) >= hl);
	assert_int_equal(o[0], DSM_OPT_TYPE);
	assert_int_equal(o[1], DSM_OPT_LEN);
	assert_int_equal(o[2], want_version);
	assert_int_equal(o[3], kid);
	assert_int_equal(be32_at(o + 4), lab);
	assert_int_equal(be32_at(o + 8), node);
	assert_int_equal(be32_at(o + 12), EPOCH);
	ref_mac_msg(ip, o, msg);
	ref_siphash(key, msg, sizeof(msg), mac);
	assert_memory_equal(o + DSM_OPT_MAC_OFF, mac, 8);
}

static void expect_option(const uint8_t *ip, size_t iplen, size_t opt_off, uint32_t lab,
			  uint32_t node)
{
	(void)iplen;
	expect_option_key(ip, opt_off, lab, node, KID, cluster_key);
}

/* ---- fixture ------------------------------------------------------------ */

static int load_node(struct node *n)
{
	int err;

	n->skel = dsm_net_bpf__open();
	if (!n->skel)
		return errno ? -errno : -EINVAL;
	dsm_obj_unpinned(n->skel->obj);
	err = dsm_net_bpf__load(n->skel);
	if (err) {
		dsm_net_bpf__destroy(n->skel);
		n->skel = NULL;
		return err;
	}
	n->rb = ring_buffer__new(bpf_map__fd(n->skel->maps.dsm_events), on_event, NULL, NULL);
	return n->rb ? 0 : (errno ? -errno : -ENOMEM);
}

/* May this process make a network namespace? 0 or a negative errno, from
 * a child that tries (the test's own namespace stays as it is). */
static int netns_allowed(void)
{
	pid_t child = fork();
	int status;

	if (child < 0)
		return -errno;
	if (!child)
		_exit(unshare(CLONE_NEWNET) ? errno : 0);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

/* need(ERR, FMT, ...): record why the nodes are not there; 0 if ERR is 0. */
static int need(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int need(int err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return 0;
	need_err = err;
	va_start(ap, fmt);
	vsnprintf(need_what, sizeof(need_what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "test_net_veth: %s: %s\n", need_what, strerror(err < 0 ? -err : err));
	return err;
}

static int make_c(void); /* with its tests, below */

static int group_setup(void **state)
{
	char path[64];
	int pid = (int)getpid();

	(void)state;
	libbpf_set_print(host_cap_libbpf_log);
	if (geteuid() != 0) {
		need(-EPERM, "network namespaces, veth and BPF need root");
		return 0;
	}
	if (need(netns_allowed(), "making a network namespace"))
		return 0;
	if (sh("ip -V")) {
		need(-ENOENT, "the ip tool (iproute2: scripts/deps.sh installs it)");
		return 0;
	}
	sweep_stale();
	snprintf(A.ns, sizeof(A.ns), NS_PREFIX "%d-a", pid);
	snprintf(B.ns, sizeof(B.ns), NS_PREFIX "%d-b", pid);
	snprintf(A.dev, sizeof(A.dev), "dsa%d", pid);
	snprintf(B.dev, sizeof(B.dev), "dsb%d", pid);
	atexit(cleanup_at_exit);
	made_ns = 1;
	if (sh("ip netns add %s", A.ns) || sh("ip netns add %s", B.ns)) {
		need(-EIO, "ip netns add");
		return 0;
	}
	if (sh("ip -n %s link add %s type veth peer name %s netns %s", A.ns, A.dev, B.dev, B.ns) ||
	    sh("ip -n %s addr add %s/24 dev %s", A.ns, A.addr, A.dev) ||
	    sh("ip -n %s addr add %s/24 dev %s", B.ns, B.addr, B.dev) ||
	    sh("ip -n %s link set %s up", A.ns, A.dev) || sh("ip -n %s link set %s up", B.ns, B.dev) ||
	    sh("ip -n %s link set lo up", A.ns) || sh("ip -n %s link set lo up", B.ns)) {
		need(-EIO, "setting up the veth pair with ip");
		return 0;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", A.ns);
	A.nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (A.nsfd < 0 && need(-errno, "opening %s", path))
		return 0;
	snprintf(path, sizeof(path), "/run/netns/%s", B.ns);
	B.nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (B.nsfd < 0 && need(-errno, "opening %s", path))
		return 0;
	if (need(load_node(&A), "loading the dsm_net object (node A)") ||
	    need(load_node(&B), "loading the dsm_net object (node B)"))
		return 0;
	if (need(in_ns(&A, attach, &A), "attaching the tc programs (node A)") ||
	    need(in_ns(&B, attach, &B), "attaching the tc programs (node B)"))
		return 0;
	snprintf(C.ns, sizeof(C.ns), NS_PREFIX "%d-c", pid);
	need(make_c(), "setting up the namespace behind node A");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ring_buffer__free(A.rb);
	ring_buffer__free(B.rb);
	dsm_net_bpf__destroy(A.skel);
	dsm_net_bpf__destroy(B.skel);
	if (A.nsfd >= 0)
		close(A.nsfd);
	if (B.nsfd >= 0)
		close(B.nsfd);
	if (C.nsfd >= 0)
		close(C.nsfd);
	cleanup_at_exit();
	return 0;
}

/* Both nodes: same key, labeling and verification on, default TCP mode. */
static void clear_pairs(struct node *n);

static int setup(void **state)
{
	(void)state;
	if (need_err)
		return 0;
	want_version = DSM_OPT_VERSION;
	set_key(&A, cluster_key);
	set_key(&B, cluster_key);
	clear_pairs(&A);
	clear_pairs(&B);
	set_flags(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY);
	set_flags(&B, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY);
	read_events(&A);
	read_events(&B);
	return 0;
}

#define NEED_NET()                                                \
	do {                                                      \
		(void)state;                                      \
		skip_unless_host_capability(need_err, need_what); \
	} while (0)

/* ---- UDP ---------------------------------------------------------------- */

static struct sockaddr_in sin_of(const char *addr, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, addr, &s.sin_addr);
	return s;
}

static int udp_server(uint16_t port)
{
	struct sockaddr_in s = sin_of(ADDR_B, port);
	int fd = ns_socket(&B, AF_INET, SOCK_DGRAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	return fd;
}

static int udp_client(void)
{
	return ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
}

static void send_to_b(int fd, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in to = sin_of(ADDR_B, port);

	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* The next datagram within ms, its length, or -1. */
static ssize_t recv_within(int fd, void *buf, size_t len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recv(fd, buf, len, 0);
}

/* A "hello" from A's socket labeled LABEL_A arrives at srv, and went over
 * the wire (cap) with the option right after the fixed header. */
static void expect_hello(int srv, int cap, uint16_t port)
{
	const uint8_t *ip;
	char buf[64];
	size_t iplen;

	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 5);
	assert_memory_equal(buf, "hello", 5);
	ip = next_ip(cap, IPPROTO_UDP, port, &iplen, 2000);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x40 | (20 + DSM_OPT_LEN) / 4);
	assert_int_equal(ntohs(*(const uint16_t *)(ip + 2)), 20 + DSM_OPT_LEN + 8 + 5);
	assert_int_equal(iplen, 20 + DSM_OPT_LEN + 8 + 5);
	expect_option(ip, iplen, 0, LABEL_A, NODE_A);
	assert_memory_equal(ip + 20 + DSM_OPT_LEN + 8, "hello", 5);
}

static void test_udp_labeled(void **state)
{
	int srv, cli, cap;
	struct counts a, b;

	NEED_NET();
	srv = udp_server(5000);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	a = snap(&A);
	b = snap(&B);
	for (int i = 0; i < 3; i++)
		send_to_b(cli, 5000, "hello", 5);
	for (int i = 0; i < 3; i++)
		expect_hello(srv, cap, 5000);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 3);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM), 0);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 3);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_DROP_BADMAC) + delta(&B, &b, DSM_CNT_PKT_DROP_MALFORMED) +
			 delta(&B, &b, DSM_CNT_PKT_DROP_STALE), 0);
	close(cap);
	close(cli);
	close(srv);
}

/* DSM_NET_F_SEND_V1 (dsmd --wire-version 1): version 1 options, whose MAC
 * covers the IP ID, for receivers that know no other; this one still
 * verifies them. */
static void test_udp_labeled_v1(void **state)
{
	uint8_t macs[2][8];
	int srv, cli, cap;
	struct counts b;
	const uint8_t *ip;
	char buf[64];
	size_t iplen;

	NEED_NET();
	set_flags(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY | DSM_NET_F_SEND_V1);
	want_version = DSM_OPT_VERSION_1;
	srv = udp_server(5000);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	b = snap(&B);
	for (int i = 0; i < 2; i++)
		send_to_b(cli, 5000, "hello", 5);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 5);
		ip = next_ip(cap, IPPROTO_UDP, 5000, &iplen, 2000);
		assert_non_null(ip);
		expect_option(ip, iplen, 0, LABEL_A, NODE_A);
		memcpy(macs[i], ip + 20 + DSM_OPT_MAC_OFF, 8);
	}
	/* two IP IDs, two MACs */
	assert_memory_not_equal(macs[0], macs[1], 8);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 2);
	close(cap);
	close(cli);
	close(srv);
}

/* A "plain" from A's unlabeled socket cli goes over the wire (cap) as
 * it was sent, no options, and arrives at srv unlabeled. */
static void expect_plain(int cli, int srv, int cap, uint16_t port)
{
	struct counts a = snap(&A), b = snap(&B);
	const uint8_t *ip;
	char buf[64];
	size_t iplen;

	send_to_b(cli, port, "plain", 5);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 5);
	ip = next_ip(cap, IPPROTO_UDP, port, &iplen, 2000);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(iplen, 20 + 8 + 5);
	assert_true(csum_ok(ip));
	assert_memory_equal(ip + 28, "plain", 5);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 0);
	assert_true(delta(&A, &a, DSM_CNT_PKT_NOT_LABELED) >= 1);
	assert_true(delta(&B, &b, DSM_CNT_PKT_UNLABELED_IN) >= 1);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 0);
}

static void test_udp_unlabeled_socket(void **state)
{
	int srv, cli, cap;

	NEED_NET();
	srv = udp_server(5001);
	cli = udp_client(); /* no label */
	cap = capture(&B);
	expect_plain(cli, srv, cap, 5001);
	close(cap);
	close(cli);
	close(srv);
}

/* The sender's own options stay first, end-of-options and its padding
 * become NOPs, the dsm option follows. */
static void test_udp_after_own_options(void **state)
{
	/* NOP, router alert (4 bytes), end of options, padding: 8 bytes */
	static const uint8_t own8[] = { 1, 148, 4, 0, 0, 0, 0, 0 };
	/* router alert, then 8 bytes of end-of-options padding: 12 bytes */
	static const uint8_t own12[] = { 148, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const struct {
		const uint8_t *own;
		size_t len;
		uint8_t want[16];
	} cases[] = {
		{ own8, sizeof(own8), { 1, 148, 4, 0, 0, 1, 1, 1 } },
		{ own12, sizeof(own12), { 148, 4, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 } },
	};
	int srv, cli, cap;
	struct counts b;
	const uint8_t *ip;
	char buf[64];
	size_t iplen;

	NEED_NET();
	srv = udp_server(5002);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli = udp_client();
		label(&A, cli, LABEL_A);
		assert_int_equal(setsockopt(cli, IPPROTO_IP, IP_OPTIONS, cases[i].own,
					    (socklen_t)cases[i].len), 0);
		cap = capture(&B);
		b = snap(&B);
		send_to_b(cli, 5002, "opts", 4);
		assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 4);
		ip = next_ip(cap, IPPROTO_UDP, 5002, &iplen, 2000);
		assert_non_null(ip);
		assert_int_equal(ip[0], 0x40 | (20 + cases[i].len + DSM_OPT_LEN) / 4);
		assert_int_equal(ntohs(*(const uint16_t *)(ip + 2)),
				 20 + cases[i].len + DSM_OPT_LEN + 8 + 4);
		assert_memory_equal(ip + 20, cases[i].want, cases[i].len);
		expect_option(ip, iplen, cases[i].len, LABEL_A, NODE_A);
		assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 1);
		close(cap);
		close(cli);
	}
	close(srv);
}

static void expect_egress_drop(uint8_t reason)
{
	read_events(&A);
	assert_int_equal(nevents, 1);
	assert_int_equal(events[0].version, DSM_ABI_VERSION);
	assert_int_equal(events[0].kind, DSM_EV_PACKET);
	assert_int_equal(events[0].p.direction, DSM_NEV_DIR_EGRESS);
	assert_int_equal(events[0].p.reason, reason);
	assert_int_equal(events[0].p.protocol, IPPROTO_UDP);
	assert_int_equal(events[0].p.ifindex, A.ifindex);
	assert_int_equal(events[0].p.flags, DSM_NEV_F_CLAIM);
	assert_int_equal(events[0].p.label, LABEL_A);
	assert_int_equal(events[0].p.node, NODE_A);
	assert_int_equal(events[0].p.epoch, EPOCH);
	assert_int_equal(events[0].p.key_id, KID);
	assert_int_equal(events[0].p.saddr, sin_of(ADDR_A, 0).sin_addr.s_addr);
	assert_int_equal(events[0].p.daddr, sin_of(ADDR_B, 0).sin_addr.s_addr);
}

/* Own options of 20 bytes leave no room: dropped, not sent unlabeled. */
static void test_udp_no_option_space(void **state)
{
	/* record route with room for four addresses (19 bytes), NOP */
	uint8_t own[20] = { 7, 19, 4 };
	int srv, cli;
	struct counts a, b;
	char buf[64];

	NEED_NET();
	own[19] = 1;
	srv = udp_server(5003);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	assert_int_equal(setsockopt(cli, IPPROTO_IP, IP_OPTIONS, own, sizeof(own)), 0);
	read_events(&A);
	a = snap(&A);
	b = snap(&B);
	send_to_b(cli, 5003, "full", 4);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 0);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_UNLABELED_IN), 0);
	expect_egress_drop(DSM_NR_NOROOM_OPTSPACE);
	close(cli);
	close(srv);
}

/* A datagram that fills the MTU has no room for the option; 24 bytes less
 * and it fits exactly. */
static void test_udp_mtu(void **state)
{
	static char big[1500];
	int srv, cli, cap;
	struct counts a;
	const uint8_t *ip;
	size_t iplen;

	NEED_NET();
	srv = udp_server(5004);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	read_events(&A);
	a = snap(&A);
	send_to_b(cli, 5004, big, 1500 - 20 - 8); /* 1500 bytes of IPv4 */
	assert_int_equal(recv_within(srv, big, sizeof(big), 300), -1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM), 1);
	expect_egress_drop(DSM_NR_NOROOM_MTU);
	send_to_b(cli, 5004, big, 1500 - 20 - 8 - DSM_OPT_LEN);
	assert_int_equal(recv_within(srv, big, sizeof(big), 2000), 1500 - 20 - 8 - DSM_OPT_LEN);
	ip = next_ip(cap, IPPROTO_UDP, 5004, &iplen, 2000);
	assert_non_null(ip);
	assert_int_equal(iplen, 1500);
	expect_option(ip, iplen, 0, LABEL_A, NODE_A);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1);
	close(cap);
	close(cli);
	close(srv);
}

/* UDP GSO: the segments would share one IP ID and so one MAC. */
static void test_udp_gso(void **state)
{
	static char big[1500];
	int srv, cli, gso = 500;
	struct counts a;

	NEED_NET();
	srv = udp_server(5005);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	/* every kernel that loads the object has UDP GSO (4.18) */
	assert_int_equal(setsockopt(cli, IPPROTO_UDP, UDP_SEGMENT, &gso, sizeof(gso)), 0);
	read_events(&A);
	a = snap(&A);
	send_to_b(cli, 5005, big, 1500);
	assert_int_equal(recv_within(srv, big, sizeof(big), 300), -1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 0);
	expect_egress_drop(DSM_NR_NOROOM_GSO);
	close(cli);
	close(srv);
}

/* Different keys: B drops what A sends, and says why. */
static void test_udp_wrong_key(void **state)
{
	uint8_t other[16];
	int srv, cli;
	struct counts b;
	char buf[64];

	NEED_NET();
	memcpy(other, cluster_key, 16);
	other[0] ^= 1;
	set_key(&B, other);
	srv = udp_server(5006);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	read_events(&B);
	b = snap(&B);
	send_to_b(cli, 5006, "forged", 6);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_DROP_BADMAC), 1);
	read_events(&B);
	assert_int_equal(nevents, 1);
	assert_int_equal(events[0].p.direction, DSM_NEV_DIR_INGRESS);
	assert_int_equal(events[0].p.reason, DSM_NR_BADMAC);
	assert_int_equal(events[0].p.label, LABEL_A);
	assert_int_equal(events[0].p.node, NODE_A);
	assert_int_equal(events[0].p.ifindex, B.ifindex);
	close(cli);
	close(srv);
}

/* ---- version 3: pair keys ---------------------------------------------- */

#define GEN_AB 4 /* the generation of K(A, B) */

static const uint8_t pair_key_ab[16] = { 0x41, 0x42, 0x2d, 0x70, 0x61, 0x69, 0x72, 0x2d,
					 0x6b, 0x65, 0x79, 0x2d, 0x67, 0x34, 0x00, 0x01 };

/* n's pair key for peer of generation gen, and peer's address (NULL: none). */
static void set_pair(struct node *n, uint32_t peer, uint8_t gen, const uint8_t key[16],
		     const char *peer_addr)
{
	struct dsm_pair_slot ps = { .node = peer, .slot = gen & 1 };
	struct dsm_mac_key k = { .valid = 1, .key_id = gen, .k0 = le64(key), .k1 = le64(key + 8) };

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(n->skel->maps.dsm_pair_keys), &ps, &k,
					     0), 0);
	if (peer_addr) {
		uint32_t a = sin_of(peer_addr, 0).sin_addr.s_addr;

		assert_int_equal(bpf_map_update_elem(bpf_map__fd(n->skel->maps.dsm_pair_addrs), &a,
						     &peer, 0), 0);
	}
}

static void clear_pairs(struct node *n)
{
	int fds[2] = { bpf_map__fd(n->skel->maps.dsm_pair_keys),
		       bpf_map__fd(n->skel->maps.dsm_pair_addrs) };
	uint8_t key[8];

	for (int i = 0; i < 2; i++)
		while (bpf_map_get_next_key(fds[i], NULL, key) == 0)
			assert_int_equal(bpf_map_delete_elem(fds[i], key), 0);
}

/* Pair mode on n: these flags besides, sending with generation gen. */
static void set_pair_mode(struct node *n, uint32_t flags, uint8_t gen)
{
	struct dsm_net_cfg c = { .node_id = n->id, .epoch_window = 2,
				 .flags = DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY |
					  DSM_NET_F_PAIR | flags,
				 .send_generation = gen };
	uint32_t k = 0;

	dsm_cfg_at_epoch(&c, EPOCH);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(n->skel->maps.dsm_net_config), &k, &c, 0),
			 0);
}

/* A captured version 3 option, byte for byte: generation, claim, and the
 * MAC over the message with the datagram's ports. */
static void expect_option3(const uint8_t *ip, uint32_t lab, uint32_t node, uint8_t gen,
			   const uint8_t key[16])
{
	const uint8_t *o = ip + 20;
	size_t hl = (size_t)(ip[0] & 0xf) * 4;
	uint8_t msg[DSM_MAC_MSG3_LEN], mac[8];

	assert_int_equal(hl, 20 + DSM_OPT_LEN);
	assert_true(csum_ok(ip));
	assert_int_equal(o[0], DSM_OPT_TYPE);
	assert_int_equal(o[1], DSM_OPT_LEN);
	assert_int_equal(o[2], DSM_OPT_VERSION_3);
	assert_int_equal(o[3], gen);
	assert_int_equal(be32_at(o + 4), lab);
	assert_int_equal(be32_at(o + 8), node);
	assert_int_equal(be32_at(o + 12), EPOCH);
	ref_mac_msg3(ip, o, ip + hl, msg);
	ref_siphash(key, msg, sizeof(msg), mac);
	assert_memory_equal(o + DSM_OPT_MAC_OFF, mac, 8);
}

/* Pair mode: A sends to B's address with K(A, B) of the sending
 * generation, as version 3 with the ports in the MAC; B verifies it with
 * its own copy of the key (no cluster key at B at all). */
static void test_udp_pair_v3(void **state)
{
	int srv, cli, cap;
	struct counts a, b;
	const uint8_t *ip;
	char buf[64];
	size_t iplen;

	NEED_NET();
	clear_pairs(&A);
	clear_pairs(&B);
	set_pair(&A, NODE_B, GEN_AB, pair_key_ab, ADDR_B);
	set_pair(&B, NODE_A, GEN_AB, pair_key_ab, ADDR_A);
	set_pair_mode(&A, 0, GEN_AB);
	set_slot(&B, 0, 0, 0, cluster_key);
	srv = udp_server(5020);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	a = snap(&A);
	b = snap(&B);
	send_to_b(cli, 5020, "pair3", 5);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 5);
	ip = next_ip(cap, IPPROTO_UDP, 5020, &iplen, 2000);
	assert_non_null(ip);
	expect_option3(ip, LABEL_A, NODE_A, GEN_AB, pair_key_ab);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 1);
	/* B without the key of that generation (another in its slot): NOKEY */
	set_pair(&B, NODE_A, GEN_AB + 2, pair_key_ab, NULL);
	read_events(&B);
	b = snap(&B);
	send_to_b(cli, 5020, "pair3", 5);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_DROP_BADMAC), 1);
	read_events(&B);
	assert_int_equal(nevents, 1);
	assert_int_equal(events[0].p.reason, DSM_NR_NOKEY);
	assert_int_equal(events[0].p.key_id, GEN_AB);
	close(cap);
	close(cli);
	close(srv);
	clear_pairs(&A);
	clear_pairs(&B);
}

/* The next UDP frame from A, fragment or not, within ms: its IPv4 header. */
static const uint8_t *next_udp_from_a(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint32_t a = sin_of(ADDR_A, 0).sin_addr.s_addr;

	while (poll(&pfd, 1, ms) == 1) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(fd, frame, sizeof(frame), 0, (struct sockaddr *)&from, &fl);
		const uint8_t *ip = frame + ETH_HLEN;

		if (len < ETH_HLEN + 20 + DSM_OPT_LEN || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (frame[12] == 0x08 && frame[13] == 0x00 && ip[9] == IPPROTO_UDP &&
		    !memcmp(ip + 12, &a, 4))
			return ip;
	}
	return NULL;
}

/* A datagram fragmented by A's stack (the route leaves room for the
 * option): every fragment carries a version 3 option, the first one's MAC
 * over the ports, the later ones' over zero ports (they have none), and
 * B's ingress program verifies each on its own. */
static void test_udp_pair_v3_fragments(void **state)
{
	static char big[3000];
	int srv, cli, cap, n = 0, first = 0;
	struct counts b;
	const uint8_t *ip;

	NEED_NET();
	clear_pairs(&A);
	clear_pairs(&B);
	set_pair(&A, NODE_B, GEN_AB, pair_key_ab, ADDR_B);
	set_pair(&B, NODE_A, GEN_AB, pair_key_ab, ADDR_A);
	set_pair_mode(&A, 0, GEN_AB);
	assert_int_equal(sh("ip -n %s route replace 10.199.0.0/24 dev %s mtu 1476", A.ns, A.dev),
			 0);
	srv = udp_server(5023);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	b = snap(&B);
	memset(big, 'z', sizeof(big));
	send_to_b(cli, 5023, big, sizeof(big));
	assert_int_equal(recv_within(srv, big, sizeof(big), 2000), sizeof(big));
	while (n < 8 && (ip = next_udp_from_a(cap, 500))) {
		size_t hl = (size_t)(ip[0] & 0xf) * 4;
		uint16_t frag = (uint16_t)(ip[6] << 8 | ip[7]);
		uint8_t ports[4] = { 0 }, msg[DSM_MAC_MSG3_LEN], mac[8];
		const uint8_t *o = ip + 20;

		assert_int_equal(hl, 20 + DSM_OPT_LEN);
		assert_int_equal(o[2], DSM_OPT_VERSION_3);
		assert_int_equal(o[3], GEN_AB);
		if (!(frag & 0x1fff)) {
			memcpy(ports, ip + hl, 4);
			assert_int_equal(ntohs(*(const uint16_t *)(ip + hl + 2)), 5023);
			first++;
		}
		ref_mac_msg3(ip, o, ports, msg);
		ref_siphash(pair_key_ab, msg, sizeof(msg), mac);
		assert_memory_equal(o + DSM_OPT_MAC_OFF, mac, 8);
		n++;
	}
	assert_int_equal(n, 3); /* 3000 bytes in fragments of 1476 */
	assert_int_equal(first, 1);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 3);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_DROP_BADMAC), 0);
	assert_int_equal(sh("ip -n %s route replace 10.199.0.0/24 dev %s", A.ns, A.dev), 0);
	close(cap);
	close(cli);
	close(srv);
	clear_pairs(&A);
	clear_pairs(&B);
}

/* Pair mode with the cluster key still configured: a destination without
 * a pair key of the sending generation gets version 2 under the cluster
 * key (the upgrade). */
static void test_udp_pair_falls_back_to_v2(void **state)
{
	int srv, cli, cap;
	const uint8_t *ip;
	char buf[64];
	size_t iplen;

	NEED_NET();
	clear_pairs(&A);
	set_pair(&A, NODE_B, GEN_AB + 1, pair_key_ab, ADDR_B); /* not the sending one */
	set_pair_mode(&A, 0, GEN_AB);
	srv = udp_server(5021);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	send_to_b(cli, 5021, "v2", 2);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 2);
	ip = next_ip(cap, IPPROTO_UDP, 5021, &iplen, 2000);
	assert_non_null(ip);
	expect_option(ip, iplen, 0, LABEL_A, NODE_A);
	close(cap);
	close(cli);
	close(srv);
	clear_pairs(&A);
}

/* No cluster key at all (DSM_NET_F_NO_CLUSTER): to a node's address
 * without a pair key, dropped (that node would judge it by its address);
 * to an address of no node, sent without option and counted. */
static void test_udp_pair_no_cluster_key(void **state)
{
	int srv, cli, cap;
	struct counts a;
	const uint8_t *ip;
	char buf[64];
	size_t iplen;

	NEED_NET();
	clear_pairs(&A);
	set_pair(&A, NODE_B, GEN_AB + 1, pair_key_ab, ADDR_B);
	set_pair_mode(&A, DSM_NET_F_NO_CLUSTER, GEN_AB);
	set_slot(&A, 0, 0, 0, cluster_key);
	srv = udp_server(5022);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	read_events(&A);
	a = snap(&A);
	send_to_b(cli, 5022, "nokey", 5);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM), 1);
	read_events(&A);
	assert_int_equal(nevents, 1);
	assert_int_equal(events[0].p.reason, DSM_NR_NOROOM_NOKEY);
	/* B's address is no node's: unlabeled */
	clear_pairs(&A);
	a = snap(&A);
	send_to_b(cli, 5022, "plain", 5);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 5);
	ip = next_ip(cap, IPPROTO_UDP, 5022, &iplen, 2000);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_NOT_LABELED), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 0);
	close(cap);
	close(cli);
	close(srv);
}

/* A key rotation as docs/wire.md describes it: the next key into the other
 * slot everywhere, then each node flips its sending slot on its own; every
 * datagram of every phase arrives, under the key the phase says. */
static void rotation_step(int cli_a, int cli_b, int srv_a, int srv_b, int cap_a, int cap_b,
			  uint8_t kid_a, const uint8_t *key_a, uint8_t kid_b, const uint8_t *key_b)
{
	struct sockaddr_in to_a = sin_of(ADDR_A, 5008);
	const uint8_t *ip;
	char buf[16];
	size_t iplen;

	send_to_b(cli_a, 5007, "a2b", 3);
	assert_int_equal(sendto(cli_b, "b2a", 3, 0, (struct sockaddr *)&to_a, sizeof(to_a)), 3);
	assert_int_equal(recv_within(srv_b, buf, sizeof(buf), 2000), 3);
	assert_int_equal(recv_within(srv_a, buf, sizeof(buf), 2000), 3);
	ip = next_ip(cap_b, IPPROTO_UDP, 5007, &iplen, 2000);
	assert_non_null(ip);
	expect_option_key(ip, 0, LABEL_A, NODE_A, kid_a, key_a);
	ip = next_ip(cap_a, IPPROTO_UDP, 5008, &iplen, 2000);
	assert_non_null(ip);
	expect_option_key(ip, 0, LABEL_B, NODE_B, kid_b, key_b);
}

static void test_key_rotation(void **state)
{
	const uint32_t on = DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY;
	struct sockaddr_in a = sin_of(ADDR_A, 5008);
	int cli_a, cli_b, srv_a, srv_b, cap_a, cap_b;
	uint8_t next[16];
	struct counts ca, cb;

	NEED_NET();
	memcpy(next, cluster_key, 16);
	next[15] ^= 0x5a;
	srv_b = udp_server(5007);
	srv_a = ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(srv_a, (struct sockaddr *)&a, sizeof(a)), 0);
	cli_a = udp_client();
	label(&A, cli_a, LABEL_A);
	cli_b = ns_socket(&B, AF_INET, SOCK_DGRAM, 0);
	label(&B, cli_b, LABEL_B);
	cap_a = capture(&A);
	cap_b = capture(&B);
	ca = snap(&A);
	cb = snap(&B);

	/* 1: the next key, id KID + 1, into slot 1 on both nodes */
	set_slot(&A, 1, 1, KID + 1, next);
	set_slot(&B, 1, 1, KID + 1, next);
	rotation_step(cli_a, cli_b, srv_a, srv_b, cap_a, cap_b, KID, cluster_key, KID, cluster_key);
	/* 2: A sends with it, B not yet: both still understood */
	set_flags(&A, on | DSM_NET_F_SEND_SLOT1);
	rotation_step(cli_a, cli_b, srv_a, srv_b, cap_a, cap_b, KID + 1, next, KID, cluster_key);
	/* 3: B too */
	set_flags(&B, on | DSM_NET_F_SEND_SLOT1);
	rotation_step(cli_a, cli_b, srv_a, srv_b, cap_a, cap_b, KID + 1, next, KID + 1, next);
	/* 4: the old key retired */
	set_slot(&A, 0, 0, 0, cluster_key);
	set_slot(&B, 0, 0, 0, cluster_key);
	rotation_step(cli_a, cli_b, srv_a, srv_b, cap_a, cap_b, KID + 1, next, KID + 1, next);

	assert_int_equal(delta(&A, &ca, DSM_CNT_PKT_VERIFIED), 4);
	assert_int_equal(delta(&B, &cb, DSM_CNT_PKT_VERIFIED), 4);
	assert_int_equal(delta(&A, &ca, DSM_CNT_PKT_DROP_BADMAC) + delta(&B, &cb, DSM_CNT_PKT_DROP_BADMAC), 0);
	close(cap_a);
	close(cap_b);
	close(cli_a);
	close(cli_b);
	close(srv_a);
	close(srv_b);
}

/* ---- TCP ---------------------------------------------------------------- */

static int tcp_listener(uint16_t port, int lab)
{
	struct sockaddr_in s = sin_of(ADDR_B, port);
	int fd = ns_socket(&B, AF_INET, SOCK_STREAM, 0), one = 1;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	if (lab)
		label(&B, fd, LABEL_B);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in to = sin_of(ADDR_B, port);
	int fd = ns_socket(&A, AF_INET, SOCK_STREAM, 0);

	label(&A, fd, LABEL_A);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

static int tcp_flags(const uint8_t *ip)
{
	return ip[(ip[0] & 0xf) * 4 + 13];
}

static size_t tcp_payload(const uint8_t *ip)
{
	size_t hl = (size_t)(ip[0] & 0xf) * 4, tl = ntohs(*(const uint16_t *)(ip + 2));

	return tl - hl - (size_t)(ip[hl + 12] >> 4) * 4;
}

/* The TCP option of this kind and length in a captured segment (for
 * kind 253, with the connection token's experiment ID), or NULL. */
static const uint8_t *tcp_option(const uint8_t *ip, uint8_t kind, uint8_t len)
{
	const uint8_t *t = ip + (ip[0] & 0xf) * 4;
	size_t olen = (size_t)(t[12] >> 4) * 4 - 20;

	for (size_t i = 0; i < olen;) {
		const uint8_t *o = t + 20 + i;

		if (o[0] == 0)
			break;
		if (o[0] == 1) {
			i++;
			continue;
		}
		if (o[1] < 2 || i + o[1] > olen)
			break;
		if (o[0] == kind && o[1] == len &&
		    (kind != DSM_TCPOPT_EXP || (o[2] == 0x9e && o[3] == 0x54)))
			return o;
		i += o[1];
	}
	return NULL;
}

/* The MSS a SYN or SYN-ACK announces, or -1. */
static int tcp_mss(const uint8_t *ip)
{
	const uint8_t *o = tcp_option(ip, 2, 4);

	return o ? o[2] << 8 | o[3] : -1;
}

/* The connection token among the TCP options of a captured segment, or
 * NULL. */
static const uint8_t *tcp_token(const uint8_t *ip)
{
	return tcp_option(ip, DSM_TCPOPT_EXP, DSM_TOKEN_LEN);
}

/* The next frame with these TCP flags (and any others), or NULL. */
static const uint8_t *next_tcp(int cap, uint16_t port, int flags, size_t *iplen)
{
	const uint8_t *ip;

	while ((ip = next_ip(cap, IPPROTO_TCP, port, iplen, 2000)))
		if ((tcp_flags(ip) & flags) == flags)
			return ip;
	return NULL;
}

static void handshake(uint16_t port, int syncookies)
{
	int lst, cli, srv, cap_a, cap_b;
	struct dsm_sock_ctx ctx;
	struct counts a, b;
	const uint8_t *ip;
	char buf[8];
	size_t iplen;

	if (syncookies)
		assert_int_equal(in_ns(&B, set_syncookies_always, (void *)1), 0);
	lst = tcp_listener(port, 1);
	cap_a = capture(&A);
	cap_b = capture(&B);
	a = snap(&A);
	b = snap(&B);
	cli = tcp_connect(port);
	srv = accept(lst, NULL, NULL);
	assert_true(srv >= 0);
	assert_int_equal(send(cli, "ping", 4, 0), 4);
	assert_int_equal(recv(srv, buf, 4, MSG_WAITALL), 4);
	assert_int_equal(send(srv, "pong", 4, 0), 4);
	assert_int_equal(recv(cli, buf, 4, MSG_WAITALL), 4);

	/* B saw A's SYN, labeled; then A's data, not labeled */
	ip = next_tcp(cap_b, port, TH_SYN, &iplen);
	assert_non_null(ip);
	assert_int_equal(tcp_flags(ip) & TH_ACK, 0);
	expect_option(ip, iplen, 0, LABEL_A, NODE_A);
	ip = next_tcp(cap_b, port, TH_PUSH, &iplen);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(tcp_payload(ip), 4);
	/* A saw B's SYN-ACK with the listener's label; then B's data, not */
	ip = next_tcp(cap_a, port, TH_SYN | TH_ACK, &iplen);
	assert_non_null(ip);
	expect_option(ip, iplen, 0, LABEL_B, NODE_B);
	ip = next_tcp(cap_a, port, TH_PUSH, &iplen);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x45);

	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_LABELED), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_VERIFIED), 1);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM) + delta(&B, &b, DSM_CNT_PKT_DROP_NOROOM), 0);
	/* the accepted socket carries the listener's label (BPF_F_CLONE) */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(B.skel->maps.dsm_sockets), &srv, &ctx), 0);
	assert_int_equal(ctx.label, LABEL_B);

	close(cap_a);
	close(cap_b);
	close(srv);
	close(cli);
	close(lst);
	if (syncookies)
		assert_int_equal(in_ns(&B, set_syncookies_always, NULL), 0);
}

static void test_tcp_handshake_only(void **state)
{
	NEED_NET();
	handshake(6000, 0);
}

/* Under SYN cookies the SYN-ACK has no socket: the listener is looked up. */
static void test_tcp_syncookies(void **state)
{
	NEED_NET();
	handshake(6001, 1);
}

/* A listener without a label: its SYN-ACK goes out unlabeled. */
static void test_tcp_unlabeled_listener(void **state)
{
	int lst, cli, srv, cap_a;
	const uint8_t *ip;
	size_t iplen;

	NEED_NET();
	lst = tcp_listener(6002, 0);
	cap_a = capture(&A);
	cli = tcp_connect(6002);
	srv = accept(lst, NULL, NULL);
	assert_true(srv >= 0);
	ip = next_tcp(cap_a, 6002, TH_SYN | TH_ACK, &iplen);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x45);
	close(cap_a);
	close(srv);
	close(cli);
	close(lst);
}

/* ---- the connection token (DSM_NET_F_TCP_ALL) ---------------------------- */

/* This process's cgroup v2 directory, opened, for the sockops programs
 * (every socket the test makes is in it): >= 0, or -errno. */
static int own_cgroup(void)
{
	static const char *const at[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	char line[512], path[1024];
	FILE *f = fopen("/proc/self/cgroup", "re");
	struct statfs sf;
	int fd = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]) && fd < 0; i++) {
			if (statfs(at[i], &sf) || sf.f_type != CGROUP2_SUPER_MAGIC)
				continue;
			snprintf(path, sizeof(path), "%s%s", at[i], line + 3);
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				fd = -errno;
		}
	}
	fclose(f);
	return fd;
}

/* The token in a captured segment, byte for byte: what lab@node sends
 * under the cluster key (docs/wire.md, "The connection token"). */
static void expect_token(const uint8_t *ip, uint32_t lab, uint32_t node)
{
	const uint8_t *t = ip + (ip[0] & 0xf) * 4, *o = tcp_token(ip);
	uint8_t claim[16], msg[DSM_MAC_MSG3_LEN], mac[8];
	uint32_t v;

	assert_non_null(o);
	assert_int_equal(o[4], DSM_OPT_VERSION);
	assert_int_equal(o[5], KID);
	assert_int_equal(o[6] << 8 | o[7], EPOCH & 0xffff);
	claim[0] = DSM_OPT_TYPE;
	claim[1] = DSM_OPT_LEN;
	claim[2] = DSM_TOKEN_MSG_VERSION;
	claim[3] = KID;
	v = htonl(lab);
	memcpy(claim + 4, &v, 4);
	v = htonl(node);
	memcpy(claim + 8, &v, 4);
	v = htonl(EPOCH);
	memcpy(claim + 12, &v, 4);
	ref_mac_msg3(ip, claim, t, msg);
	ref_siphash(cluster_key, msg, sizeof(msg), mac);
	assert_memory_equal(o + 8, mac, 8);
}

/* A socket bound at the handshake to peer_label@peer_node, as the receive
 * check leaves it (the LSM object does that in the guest). */
static void label_bound(struct node *n, int fd, uint32_t lab, uint32_t peer_label,
			uint32_t peer_node)
{
	struct dsm_sock_ctx c = { .label = lab, .peer_label = peer_label, .peer_node = peer_node,
				  .flags = DSM_SOCK_F_PEER_BOUND };

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(n->skel->maps.dsm_sockets), &fd, &c, 0),
			 0);
}

/*
 * DSM_NET_F_TCP_ALL: the handshake carries the IPv4 option as always (no
 * MSS clamp: the token's room is the kernel's to count), and every later
 * segment of a bound connection carries the connection token in a TCP
 * option instead, written by the sockops program, while GSO stays on: a
 * bulk transfer arrives in frames larger than the MTU, each with the
 * token. Both ends' tokens checked byte for byte against the reference
 * SipHash.
 */
static void test_tcp_token(void **state)
{
	const size_t total = 256 * 1024;
	int cg, lst, cli, srv, cap_a, cap_b, segs_a = 0, big_a = 0, segs_b = 0;
	struct bpf_link *la, *lb;
	struct counts a, b;
	const uint8_t *ip;
	static char buf[256 * 1024];
	size_t iplen, got = 0;

	NEED_NET();
	cg = own_cgroup();
	if (cg == -ENOENT)
		skip_host("no cgroup v2 hierarchy for the sockops program");
	skip_unless_host_capability(cg < 0 ? cg : 0, "open this process's cgroup");
	la = bpf_program__attach_cgroup(A.skel->progs.dsm_sockops, cg);
	skip_unless_host_capability(la ? 0 : -errno, "attach A's sockops program");
	lb = bpf_program__attach_cgroup(B.skel->progs.dsm_sockops, cg);
	assert_non_null(lb);
	set_flags(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY | DSM_NET_F_TCP_ALL);
	set_flags(&B, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY | DSM_NET_F_TCP_ALL);

	lst = tcp_listener(6003, 0);
	label_bound(&B, lst, LABEL_B, LABEL_A, NODE_A); /* cloned into the accepted socket */
	cap_a = capture(&A);
	cap_b = capture(&B);
	a = snap(&A);
	b = snap(&B);
	{
		struct sockaddr_in to = sin_of(ADDR_B, 6003);

		cli = ns_socket(&A, AF_INET, SOCK_STREAM, 0);
		label_bound(&A, cli, LABEL_A, LABEL_B, NODE_B);
		assert_int_equal(connect(cli, (struct sockaddr *)&to, sizeof(to)), 0);
	}
	srv = accept(lst, NULL, NULL);
	assert_true(srv >= 0);
	memset(buf, 'd', sizeof(buf));
	assert_int_equal(send(cli, buf, total, 0), (ssize_t)total);
	while (got < total) {
		ssize_t n = recv(srv, buf, total - got, 0);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(send(srv, "done", 4, 0), 4);
	assert_int_equal(recv(cli, buf, 4, MSG_WAITALL), 4);

	/* what B received from A */
	while ((ip = next_ip(cap_b, IPPROTO_TCP, 6003, &iplen, 500))) {
		if (!(ip[12] == 10 && ip[15] == 1)) /* from A */
			continue;
		if (tcp_flags(ip) & TH_SYN) {
			expect_option(ip, iplen, 0, LABEL_A, NODE_A);
			assert_int_equal(tcp_mss(ip), 1460);
			assert_null(tcp_token(ip));
			continue;
		}
		assert_int_equal(ip[0], 0x45); /* no IPv4 option past the handshake */
		expect_token(ip, LABEL_A, NODE_A);
		segs_a++;
		if (tcp_payload(ip) > 1460)
			big_a++;
	}
	/* what A received from B: the SYN-ACK labeled, the rest with B's token */
	while ((ip = next_ip(cap_a, IPPROTO_TCP, 6003, &iplen, 500))) {
		if (!(ip[12] == 10 && ip[15] == 2)) /* from B */
			continue;
		if (tcp_flags(ip) & TH_SYN) {
			expect_option(ip, iplen, 0, LABEL_B, NODE_B);
			continue;
		}
		assert_int_equal(ip[0], 0x45);
		expect_token(ip, LABEL_B, NODE_B);
		segs_b++;
	}
	assert_true(segs_a > 1);
	assert_true(big_a > 0); /* GSO kept: the option rode in every segment of a burst */
	assert_true(segs_b > 0);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1); /* the SYN */
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_LABELED), 1); /* the SYN-ACK */
	assert_int_equal(delta(&A, &a, DSM_CNT_TOKEN_NOROOM) + delta(&B, &b, DSM_CNT_TOKEN_NOROOM),
			 0);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM) + delta(&B, &b, DSM_CNT_PKT_DROP_NOROOM), 0);
	close(cap_a);
	close(cap_b);
	close(srv);
	close(cli);
	close(lst);
	bpf_link__destroy(la);
	bpf_link__destroy(lb);
	close(cg);
}

/* A connection whose peer is not bound (the receive check did not bind it,
 * or it is unlabeled) carries no token, and neither does one without
 * DSM_NET_F_TCP_ALL. */
static void test_tcp_token_only_bound(void **state)
{
	int cg, lst, cli, srv, cap_b, segs = 0;
	struct bpf_link *la;
	const uint8_t *ip;
	char buf[4];
	size_t iplen;

	NEED_NET();
	cg = own_cgroup();
	if (cg == -ENOENT)
		skip_host("no cgroup v2 hierarchy for the sockops program");
	skip_unless_host_capability(cg < 0 ? cg : 0, "open this process's cgroup");
	la = bpf_program__attach_cgroup(A.skel->progs.dsm_sockops, cg);
	skip_unless_host_capability(la ? 0 : -errno, "attach A's sockops program");
	for (int round = 0; round < 2; round++) {
		uint16_t port = (uint16_t)(6004 + round);

		set_flags(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY |
				      (round ? 0 : DSM_NET_F_TCP_ALL));
		lst = tcp_listener(port, 1);
		cap_b = capture(&B);
		if (round) {
			struct sockaddr_in to = sin_of(ADDR_B, port);

			cli = ns_socket(&A, AF_INET, SOCK_STREAM, 0);
			label_bound(&A, cli, LABEL_A, LABEL_B, NODE_B);
			assert_int_equal(connect(cli, (struct sockaddr *)&to, sizeof(to)), 0);
		} else {
			cli = tcp_connect(port); /* labeled, not bound */
		}
		srv = accept(lst, NULL, NULL);
		assert_true(srv >= 0);
		assert_int_equal(send(cli, "ping", 4, 0), 4);
		assert_int_equal(recv(srv, buf, 4, MSG_WAITALL), 4);
		while ((ip = next_ip(cap_b, IPPROTO_TCP, port, &iplen, 500))) {
			if (!(ip[12] == 10 && ip[15] == 1) || (tcp_flags(ip) & TH_SYN))
				continue;
			assert_null(tcp_token(ip));
			segs++;
		}
		close(cap_b);
		close(srv);
		close(cli);
		close(lst);
	}
	assert_true(segs >= 2);
	bpf_link__destroy(la);
	close(cg);
}

/* ---- same node ---------------------------------------------------------- */

#define LOCAL_TAG 0x5eed

static int lo_egress(void *p)
{
	struct node *n = p;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = DSM_LOOPBACK_IFINDEX,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, out, .prog_fd = bpf_program__fd(n->skel->progs.dsm_egress));
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &out);
}

static int lo_detach(void *p)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = DSM_LOOPBACK_IFINDEX,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	(void)p;
	return bpf_tc_hook_destroy(&hook);
}

/* One datagram from cli to 127.0.0.1:port, received by srv; the IPv4
 * header as it went over lo. */
static const uint8_t *over_lo(int cli, int srv, int cap, uint16_t port, size_t *iplen)
{
	struct sockaddr_in to = sin_of("127.0.0.1", port);
	char buf[16];

	assert_int_equal(sendto(cli, "local", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 5);
	return next_ip(cap, IPPROTO_UDP, port, iplen, 2000);
}

/* Over loopback a labeled socket's packet is counted as local and left
 * untouched; an unlabeled one is left alone; without a tag (an older
 * dsmd's configuration) loopback is labeled like any link. */
static void test_udp_loopback(void **state)
{
	struct sockaddr_in at = sin_of("127.0.0.1", 5100);
	struct node lo = { .ifindex = DSM_LOOPBACK_IFINDEX }; /* for make_capture */
	const uint8_t *ip;
	struct counts a;
	int srv, cli, plain, cap;
	size_t iplen;

	NEED_NET();
	assert_int_equal(in_ns(&A, lo_egress, &A), 0);
	srv = ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(srv, (struct sockaddr *)&at, sizeof(at)), 0);
	cli = ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
	plain = ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
	label(&A, cli, LABEL_A);
	cap = in_ns(&A, make_capture, &lo);
	assert_true(cap >= 0);

	set_cfg(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY, LOCAL_TAG);
	a = snap(&A);
	for (int i = 0; i < 3; i++) {
		ip = over_lo(cli, srv, cap, 5100, &iplen);
		assert_non_null(ip);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(iplen, 20 + 8 + 5);
	}
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LOCAL), 3);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 0);

	a = snap(&A);
	ip = over_lo(plain, srv, cap, 5100, &iplen);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LOCAL), 0);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_NOT_LABELED), 1);

	set_cfg(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY, 0);
	a = snap(&A);
	ip = over_lo(cli, srv, cap, 5100, &iplen);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x40 | (20 + DSM_OPT_LEN) / 4);
	expect_option(ip, iplen, 0, LABEL_A, NODE_A);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LOCAL), 0);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1);

	assert_int_equal(in_ns(&A, lo_detach, NULL), 0);
	close(cap);
	close(plain);
	close(cli);
	close(srv);
}

/* IPv6 over loopback: a labeled socket's datagrams and its handshake get
 * the same-node label as IPv4 does (counted as local), an unlabeled
 * socket's nothing, established TCP nothing. */
static void test_udp6_loopback(void **state)
{
	struct sockaddr_in6 at = { .sin6_family = AF_INET6, .sin6_port = htons(5104),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int srv, cli, plain, lst, tc, ts;
	struct counts a;
	char buf[16];

	NEED_NET();
	assert_int_equal(in_ns(&A, lo_egress, &A), 0);
	set_cfg(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY, LOCAL_TAG);
	srv = ns_socket(&A, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(bind(srv, (struct sockaddr *)&at, sizeof(at)), 0);
	cli = ns_socket(&A, AF_INET6, SOCK_DGRAM, 0);
	plain = ns_socket(&A, AF_INET6, SOCK_DGRAM, 0);
	label(&A, cli, LABEL_A);
	a = snap(&A);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sendto(cli, "v6", 2, 0, (struct sockaddr *)&at, sizeof(at)), 2);
		assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 2);
	}
	assert_int_equal(sendto(plain, "v6", 2, 0, (struct sockaddr *)&at, sizeof(at)), 2);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 2);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LOCAL), 3);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 0);

	/* TCP: the SYN and the SYN-ACK, then nothing */
	at.sin6_port = htons(5105);
	lst = ns_socket(&A, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(bind(lst, (struct sockaddr *)&at, sizeof(at)), 0);
	label(&A, lst, LABEL_A);
	assert_int_equal(listen(lst, 4), 0);
	tc = ns_socket(&A, AF_INET6, SOCK_STREAM, 0);
	label(&A, tc, LABEL_A);
	a = snap(&A);
	assert_int_equal(connect(tc, (struct sockaddr *)&at, sizeof(at)), 0);
	ts = accept(lst, NULL, NULL);
	assert_true(ts >= 0);
	assert_int_equal(send(tc, "data", 4, 0), 4);
	assert_int_equal(recv(ts, buf, 4, MSG_WAITALL), 4);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LOCAL), 2);

	assert_int_equal(in_ns(&A, lo_detach, NULL), 0);
	close(ts);
	close(tc);
	close(lst);
	close(plain);
	close(cli);
	close(srv);
}

/* ---- dsm options this node did not write -------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/* A copy of A's option for a datagram to B:port: what someone on A who
 * captured one of A's labeled datagrams puts in front of data of his own,
 * as a whole Ethernet frame to B (the MAC verifies: it covers neither the
 * payload nor the ports). */
static size_t copied_frame(uint8_t *f, uint16_t port, const uint8_t dst_mac[6],
			   const uint8_t src_mac[6])
{
	uint8_t *ip = f + ETH_HLEN, *o = ip + 20, *u = ip + 20 + DSM_OPT_LEN;
	uint8_t msg[DSM_MAC_MSG_LEN], mac[8];
	size_t total = 20 + DSM_OPT_LEN + 8 + 6;
	struct in_addr s, d;
	uint32_t sum = 0;

	memset(f, 0, ETH_HLEN + total);
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08;
	inet_pton(AF_INET, ADDR_A, &s);
	inet_pton(AF_INET, ADDR_B, &d);
	ip[0] = 0x40 | (20 + DSM_OPT_LEN) / 4;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	o[0] = DSM_OPT_TYPE;
	o[1] = DSM_OPT_LEN;
	o[2] = DSM_OPT_VERSION;
	o[3] = KID;
	put_be32(o + 4, LABEL_A);
	put_be32(o + 8, NODE_A);
	put_be32(o + 12, EPOCH);
	ref_mac_msg(ip, o, msg);
	ref_siphash(cluster_key, msg, sizeof(msg), mac);
	memcpy(o + DSM_OPT_MAC_OFF, mac, 8);
	for (size_t i = 0; i < 20 + DSM_OPT_LEN; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	u[0] = 0x30;
	u[1] = 0x39;
	u[2] = (uint8_t)(port >> 8);
	u[3] = (uint8_t)port;
	u[5] = 8 + 6;
	memcpy(u + 8, "copied", 6);
	return ETH_HLEN + total;
}

struct hwaddr_req {
	const char *dev;
	uint8_t mac[6];
};

static int get_hwaddr(void *p)
{
	struct hwaddr_req *r = p;
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", r->dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	memcpy(r->mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* Send a frame from A's packet socket: 0 sent, -ENOBUFS when the egress
 * program dropped it (dev_queue_xmit's NET_XMIT_DROP, as packet_snd
 * reports it). */
static int send_frame(int fd, const uint8_t *f, size_t len, uint16_t proto)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(proto),
				  .sll_ifindex = A.ifindex, .sll_halen = 6 };
	ssize_t n;

	memcpy(to.sll_addr, f, 6);
	n = sendto(fd, f, len, 0, (struct sockaddr *)&to, sizeof(to));
	if (n < 0 && errno == ENOBUFS)
		return -ENOBUFS;
	if (n != (ssize_t)len)
		fail_msg("packet socket send (protocol %#x, %zu bytes): %s", proto, len,
			 strerror(errno));
	return 0;
}

/*
 * A packet socket on A sends the copy: with the protocol IPv4, with one
 * that is not (packet_snd keeps it as skb->protocol), in a VLAN 0 frame,
 * unlabeled and labeled. A's egress drops every one. The same frame sent
 * past the egress (PACKET_QDISC_BYPASS) reaches B's socket: the copy is
 * good, and only the egress stands in its way.
 */
static void test_packet_socket_copies(void **state)
{
	struct hwaddr_req ma = { .dev = A.dev }, mb = { .dev = B.dev };
	uint8_t f[256], t[256];
	int srv, pkt, one = 1;
	struct counts a;
	size_t len;
	char buf[64];

	NEED_NET();
	assert_int_equal(in_ns(&A, get_hwaddr, &ma), 0);
	assert_int_equal(in_ns(&B, get_hwaddr, &mb), 0);
	len = copied_frame(f, 5200, mb.mac, ma.mac);
	/* the same with an 802.1Q priority tag (VLAN 0) */
	memcpy(t, f, 12);
	t[12] = 0x81;
	t[13] = 0x00;
	t[14] = t[15] = 0;
	memcpy(t + 16, f + 12, len - 12);
	srv = udp_server(5200);
	pkt = ns_socket(&A, AF_PACKET, SOCK_RAW, 0);
	a = snap(&A);
	assert_int_equal(send_frame(pkt, f, len, ETH_P_IP), -ENOBUFS);
	assert_int_equal(send_frame(pkt, f, len, 0x88b5), -ENOBUFS);
	assert_int_equal(send_frame(pkt, t, len + 4, 0x88b5), -ENOBUFS);
	assert_int_equal(send_frame(pkt, t, len + 4, 0x8100), -ENOBUFS);
	label(&A, pkt, LABEL_A);
	assert_int_equal(send_frame(pkt, f, len, 0x88b5), -ENOBUFS);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_FOREIGN), 5);
	read_events(&A);
	assert_int_equal(nevents, 5);
	for (unsigned i = 0; i < nevents; i++) {
		assert_int_equal(events[i].p.reason, DSM_NR_FOREIGN);
		assert_int_equal(events[i].p.direction, DSM_NEV_DIR_EGRESS);
		assert_int_equal(events[i].p.label, LABEL_A);
		assert_int_equal(events[i].p.node, NODE_A);
	}
	/* past the egress: the copy is as good as the original */
	assert_int_equal(setsockopt(pkt, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)), 0);
	assert_int_equal(send_frame(pkt, f, len, 0x88b5), 0);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 6);
	assert_memory_equal(buf, "copied", 6);
	close(pkt);
	close(srv);
}


static int attach_egress(void *p)
{
	struct node *n = p;
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, out, .prog_fd = bpf_program__fd(A.skel->progs.dsm_egress));
	int err;

	n->ifindex = (int)if_nametoindex(n->dev);
	if (!n->ifindex)
		return -ENODEV;
	hook.ifindex = n->ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &out);
}

static int forward_on(void *p)
{
	(void)p;
	return write_file("/proc/sys/net/ipv4/ip_forward", "1");
}

static int make_c(void)
{
	struct node a2 = { 0 };
	char path[64];
	int err;

	snprintf(C.ns, sizeof(C.ns), NS_PREFIX "%d-c", (int)getpid());
	snprintf(C.dev, sizeof(C.dev), "dsc%d", (int)getpid());
	snprintf(a2_dev, sizeof(a2_dev), "dsd%d", (int)getpid());
	if (sh("ip netns add %s", C.ns) ||
	    sh("ip -n %s link add %s type veth peer name %s netns %s", A.ns, a2_dev, C.dev, C.ns) ||
	    sh("ip -n %s addr add %s/24 dev %s", A.ns, ADDR_A2, a2_dev) ||
	    sh("ip -n %s addr add %s/24 dev %s", C.ns, ADDR_C, C.dev) ||
	    sh("ip -n %s link set %s up", A.ns, a2_dev) || sh("ip -n %s link set %s up", C.ns, C.dev) ||
	    sh("ip -n %s link set lo up", C.ns) ||
	    sh("ip -n %s route add default via %s", C.ns, ADDR_A2) ||
	    sh("ip -n %s route add 10.198.0.0/24 via %s", B.ns, ADDR_A))
		return -EIO;
	snprintf(path, sizeof(path), "/run/netns/%s", C.ns);
	C.nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (C.nsfd < 0)
		return -errno;
	C.skel = A.skel;
	C.rb = A.rb;
	err = in_ns(&A, forward_on, NULL);
	if (!err)
		err = in_ns(&C, attach_egress, &C);
	snprintf(a2.dev, sizeof(a2.dev), "%s", a2_dev);
	if (!err)
		err = in_ns(&A, attach_egress, &a2);
	return err;
}

static int udp_server_at(struct node *n, const char *addr, uint16_t port)
{
	struct sockaddr_in s = sin_of(addr, port);
	int fd = ns_socket(n, AF_INET, SOCK_DGRAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	return fd;
}

/*
 * A socket in C sends to B through A. C's egress labels the datagram as
 * node A's and marks it with the label's tag; A forwards it, and A's
 * egress lets its own option pass (relayed) instead of dropping it as a
 * copy. Without the mark (a label with no tag) A drops it: a copy
 * forwarded from C would look the same. An unlabeled socket's datagram is
 * forwarded as it is.
 */
static void test_forward_own_namespace(void **state)
{
	int srv, cli, plain, cap;
	struct counts a, b;
	const uint8_t *ip;
	char buf[16];
	size_t iplen;

	NEED_NET();
	srv = udp_server(5201);
	cli = ns_socket(&C, AF_INET, SOCK_DGRAM, 0);
	plain = ns_socket(&C, AF_INET, SOCK_DGRAM, 0);
	label(&A, cli, LABEL_A);
	cap = capture(&B);
	set_cfg(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY, LOCAL_TAG);
	a = snap(&A);
	b = snap(&B);
	send_to_b(cli, 5201, "from C", 6);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 6);
	ip = next_ip(cap, IPPROTO_UDP, 5201, &iplen, 2000);
	assert_non_null(ip);
	assert_int_equal(be32_at(ip + 12), ntohl(sin_of(ADDR_C, 0).sin_addr.s_addr));
	expect_option(ip, iplen, 0, LABEL_A, NODE_A);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1);  /* at C's interface */
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_RELAYED), 1);  /* at A's */
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_FOREIGN), 0);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 1);

	/* no tag, no mark: A's egress cannot tell it from a copy */
	set_cfg(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY, 0);
	a = snap(&A);
	send_to_b(cli, 5201, "from C", 6);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_FOREIGN), 1);

	a = snap(&A);
	send_to_b(plain, 5201, "plain", 5);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 5);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_FOREIGN), 0);
	close(cap);
	close(plain);
	close(cli);
	close(srv);
}

/* B's labeled datagram to C passes A, which forwards it: another node's
 * option, and no socket of A's sent it. */
static void test_forward_other_node(void **state)
{
	struct sockaddr_in to = sin_of(ADDR_C, 5202);
	int srv, cli, cap;
	struct counts a;
	const uint8_t *ip;
	char buf[16];
	size_t iplen;

	NEED_NET();
	srv = udp_server_at(&C, ADDR_C, 5202);
	cli = ns_socket(&B, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(sh("ip -n %s route replace 10.198.0.0/24 via %s", B.ns, ADDR_A), 0);
	label(&B, cli, LABEL_B);
	cap = capture(&C);
	a = snap(&A);
	assert_int_equal(sendto(cli, "to C", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 4);
	ip = next_ip(cap, IPPROTO_UDP, 5202, &iplen, 2000);
	assert_non_null(ip);
	expect_option(ip, iplen, 0, LABEL_B, NODE_B);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_RELAYED), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_FOREIGN), 0);
	close(cap);
	close(cli);
	close(srv);
}

/* ---- a socket's placeholder --------------------------------------------- */

/* What dsmd sets on a labeled socket (IP_OPTIONS): one dsm option of
 * version DSM_OPT_VERSION_PLACEHOLDER, the rest zero. The kernel builds
 * it into every header, room and MTU included. */
static const uint8_t placeholder[DSM_OPT_LEN] = { DSM_OPT_TYPE, DSM_OPT_LEN,
						  DSM_OPT_VERSION_PLACEHOLDER };

static void set_placeholder(int fd)
{
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_OPTIONS, placeholder, sizeof(placeholder)),
			 0);
}

/* A labeled socket's placeholder is filled in place: the option that
 * would have been inserted, byte for byte and MAC; a datagram of the MTU
 * less the option goes whole; fragments each get their own. */
static void test_placeholder_filled(void **state)
{
	static char big[3000];
	int srv, cli, cap;
	struct counts a, b;
	const uint8_t *ip;
	size_t iplen;

	NEED_NET();
	srv = udp_server(5300);
	cli = udp_client();
	label(&A, cli, LABEL_A);
	set_placeholder(cli);
	cap = capture(&B);
	a = snap(&A);
	b = snap(&B);
	for (int i = 0; i < 3; i++) {
		send_to_b(cli, 5300, "hello", 5);
		expect_hello(srv, cap, 5300);
	}
	send_to_b(cli, 5300, big, 1500 - 20 - DSM_OPT_LEN - 8);
	assert_int_equal(recv_within(srv, big, sizeof(big), 2000), 1500 - 20 - DSM_OPT_LEN - 8);
	ip = next_ip(cap, IPPROTO_UDP, 5300, &iplen, 2000);
	assert_non_null(ip);
	assert_int_equal(iplen, 1500);
	expect_option(ip, iplen, 0, LABEL_A, NODE_A);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 4);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 4);

	/* 3 008 bytes of UDP in fragments of 1 456: three, each labeled */
	a = snap(&A);
	b = snap(&B);
	send_to_b(cli, 5300, big, sizeof(big));
	assert_int_equal(recv_within(srv, big, sizeof(big), 2000), sizeof(big));
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 3);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM), 0);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_VERIFIED), 3);
	assert_int_equal(delta(&B, &b, DSM_CNT_PKT_DROP_BADMAC) + delta(&B, &b, DSM_CNT_PKT_DROP_MALFORMED),
			 0);
	close(cap);
	close(cli);
	close(srv);
}

/* What goes without the option loses the placeholder: an unlabeled
 * socket's datagram, and a labeled one's over loopback (its label in the
 * skb, as without a placeholder). */
static void test_placeholder_taken_out(void **state)
{
	struct sockaddr_in at = sin_of("127.0.0.1", 5301);
	struct node lo = { .ifindex = DSM_LOOPBACK_IFINDEX };
	int srv, cli, cap, lsrv, lcli, lcap;
	const uint8_t *ip;
	struct counts a;
	char buf[64];
	size_t iplen;

	NEED_NET();
	srv = udp_server(5301);
	cli = udp_client(); /* no label */
	set_placeholder(cli);
	cap = capture(&B);
	expect_plain(cli, srv, cap, 5301);

	assert_int_equal(in_ns(&A, lo_egress, &A), 0);
	lsrv = ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(lsrv, (struct sockaddr *)&at, sizeof(at)), 0);
	lcli = ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
	label(&A, lcli, LABEL_A);
	set_placeholder(lcli);
	lcap = in_ns(&A, make_capture, &lo);
	assert_true(lcap >= 0);
	set_cfg(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY, LOCAL_TAG);
	a = snap(&A);
	ip = over_lo(lcli, lsrv, lcap, 5301, &iplen);
	assert_non_null(ip);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(iplen, 20 + 8 + 5);
	assert_true(csum_ok(ip));
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LOCAL), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 0);
	assert_int_equal(in_ns(&A, lo_detach, NULL), 0);

	/* a placeholder among other options is no placeholder: a dsm option
	 * this node did not write */
	{
		uint8_t more[DSM_OPT_LEN + 4] = { 1, 1, 1, 1 };

		memcpy(more + 4, placeholder, sizeof(placeholder));
		assert_int_equal(setsockopt(cli, IPPROTO_IP, IP_OPTIONS, more, sizeof(more)), 0);
		a = snap(&A);
		send_to_b(cli, 5301, "plain", 5);
		assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
		assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_FOREIGN), 1);
		read_events(&A);
	}
	close(lcap);
	close(lcli);
	close(lsrv);
	close(cap);
	close(cli);
	close(srv);
}

static int egress_back(void *p)
{
	struct node *n = p;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = n->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, out, .prog_fd = bpf_program__fd(n->skel->progs.dsm_egress));

	return bpf_tc_attach(&hook, &out);
}

/*
 * A placeholder never crosses a node: from a sender without dsm (B with
 * its egress program detached) to C, A's ingress drops it as malformed;
 * with A's checks off, A's egress drops it as forwarded (no local socket
 * sent it). With B's egress back, B takes it out and the datagram arrives.
 */
static void test_placeholder_from_wire(void **state)
{
	struct sockaddr_in to = sin_of(ADDR_C, 5302);
	int srv, cli, detached;
	struct counts a;
	char buf[16];

	NEED_NET();
	srv = udp_server_at(&C, ADDR_C, 5302);
	cli = ns_socket(&B, AF_INET, SOCK_DGRAM, 0);
	set_placeholder(cli);
	assert_int_equal(sh("ip -n %s route replace 10.198.0.0/24 via %s", B.ns, ADDR_A), 0);
	detached = sh("tc -n %s filter del dev %s egress", B.ns, B.dev);
	if (!detached) {
		a = snap(&A);
		assert_int_equal(sendto(cli, "to C", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
		assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
		assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_MALFORMED), 1);
		set_flags(&A, DSM_NET_F_LABEL_EGRESS);
		a = snap(&A);
		assert_int_equal(sendto(cli, "to C", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
		assert_int_equal(recv_within(srv, buf, sizeof(buf), 300), -1);
		assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_FOREIGN), 1);
		set_flags(&A, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY);
	}
	assert_int_equal(in_ns(&B, egress_back, &B), 0);
	assert_int_equal(detached, 0);
	assert_int_equal(sendto(cli, "to C", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	assert_int_equal(recv_within(srv, buf, sizeof(buf), 2000), 4);
	close(cli);
	close(srv);
}

/* ---- devices without a link header -------------------------------------- */

struct tun_req {
	char name[IF_NAMESIZE];
	int fd;
};

static int open_tun(void *p)
{
	struct tun_req *r = p;
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", r->name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		close(fd);
		return -errno;
	}
	r->fd = fd;
	return 0;
}

static int attach_l3(void *p)
{
	const char *dev = p;
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, out, .prog_fd = bpf_program__fd(A.skel->progs.dsm_egress_l3));
	int err;

	hook.ifindex = (int)if_nametoindex(dev);
	if (!hook.ifindex)
		return -ENODEV;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &out);
}

/*
 * A tun device: what tc egress sees starts with the IPv4 header. Its
 * address puts 0x45 at byte 14 (10.197.69.1), where an Ethernet program
 * would have taken the header to be. dsm_egress_l3 labels the datagram
 * right: the option after the fixed header, addresses, lengths, header
 * checksum and MAC as they should be, the UDP header and data intact.
 */
static void test_l3_tun(void **state)
{
	struct tun_req t = { .fd = -1 };
	struct sockaddr_in to = sin_of("10.197.69.2", 5203);
	struct pollfd pfd;
	uint8_t pkt[256];
	const uint8_t *u;
	struct counts a;
	ssize_t n;
	int cli;

	NEED_NET();
	snprintf(t.name, sizeof(t.name), "dst%d", (int)getpid() % 100000);
	assert_int_equal(in_ns(&A, open_tun, &t), 0);
	assert_int_equal(sh("ip -n %s addr add 10.197.69.1/24 dev %s", A.ns, t.name), 0);
	assert_int_equal(sh("ip -n %s link set %s up", A.ns, t.name), 0);
	assert_int_equal(in_ns(&A, attach_l3, t.name), 0);
	cli = ns_socket(&A, AF_INET, SOCK_DGRAM, 0);
	label(&A, cli, LABEL_A);
	a = snap(&A);
	assert_int_equal(sendto(cli, "over tun", 8, 0, (struct sockaddr *)&to, sizeof(to)), 8);
	pfd = (struct pollfd){ .fd = t.fd, .events = POLLIN };
	for (;;) {
		assert_int_equal(poll(&pfd, 1, 2000), 1);
		n = read(t.fd, pkt, sizeof(pkt));
		assert_true(n > 0);
		if ((pkt[0] >> 4) == 4 && pkt[9] == IPPROTO_UDP)
			break; /* not IPv6 router solicitations and the like */
	}
	assert_int_equal(n, 20 + DSM_OPT_LEN + 8 + 8);
	assert_int_equal(pkt[0], 0x40 | (20 + DSM_OPT_LEN) / 4);
	assert_int_equal(ntohs(*(const uint16_t *)(pkt + 2)), n);
	assert_int_equal(be32_at(pkt + 12), ntohl(sin_of("10.197.69.1", 0).sin_addr.s_addr));
	assert_int_equal(be32_at(pkt + 16), ntohl(to.sin_addr.s_addr));
	expect_option(pkt, (size_t)n, 0, LABEL_A, NODE_A);
	u = pkt + 20 + DSM_OPT_LEN;
	assert_int_equal(ntohs(*(const uint16_t *)(u + 2)), 5203);
	assert_int_equal(ntohs(*(const uint16_t *)(u + 4)), 8 + 8);
	assert_memory_equal(u + 8, "over tun", 8);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_LABELED), 1);
	assert_int_equal(delta(&A, &a, DSM_CNT_PKT_DROP_NOROOM), 0);
	close(cli);
	close(t.fd);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_udp_labeled),
		T(test_udp_labeled_v1),
		T(test_udp_unlabeled_socket),
		T(test_udp_after_own_options),
		T(test_udp_no_option_space),
		T(test_udp_mtu),
		T(test_udp_gso),
		T(test_udp_wrong_key),
		T(test_udp_pair_v3),
		T(test_udp_pair_v3_fragments),
		T(test_udp_pair_falls_back_to_v2),
		T(test_udp_pair_no_cluster_key),
		T(test_key_rotation),
		T(test_tcp_handshake_only),
		T(test_tcp_syncookies),
		T(test_tcp_unlabeled_listener),
		T(test_tcp_token),
		T(test_tcp_token_only_bound),
		T(test_udp_loopback),
		T(test_udp6_loopback),
		T(test_packet_socket_copies),
		T(test_forward_own_namespace),
		T(test_forward_other_node),
		T(test_placeholder_filled),
		T(test_placeholder_taken_out),
		T(test_placeholder_from_wire),
		T(test_l3_tun),
	};

	return cmocka_run_group_tests_name("net_veth", tests, group_setup, group_teardown);
}
