// SPDX-License-Identifier: GPL-2.0
/*
 * What labeling needs from the links and routes it sends on (rtnetlink):
 *
 *  - room for the option: a labeled packet grows by DSM_OPT_LEN bytes after
 *    the stack has sized it, so the routes through a labeled interface get
 *    an MTU that much below the link's. UDP then fragments to fit and TCP
 *    announces an MSS that fits; a packet that still does not fit is
 *    dropped and counted by the egress program, never sent unlabeled.
 *    A route that already has an MTU of its own is the operator's and is
 *    left alone. --unload takes back exactly the MTU dsmd set (link MTU
 *    minus DSM_OPT_LEN). A rewrite keeps every other attribute and metric
 *    of the route, and is not sent when one would not fit.
 *  - with --tcp-all, no GSO: every TCP segment then passes the egress
 *    program on its own and can be labeled (gso_max_segs 1).
 *
 * Routes of the main table only; loopback is skipped (its MTU is 64 KiB).
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsmd.h"
#include "dsm/wire.h"

#define NL_BUF 32768

struct nl {
	int fd;
	unsigned seq;
};

static int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	nl->seq = 1;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(nl->fd);
		return -errno;
	}
	return 0;
}

/* Append an attribute to n (a buffer of cap bytes): 0, or -EMSGSIZE, and
 * nothing appended, when it does not fit. A request that lost an
 * attribute must not be sent: NLM_F_REPLACE would install a different
 * route. */
static int addattr(struct nlmsghdr *n, size_t cap, unsigned short type, const void *data,
		   size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	if (NLMSG_ALIGN(n->nlmsg_len) + RTA_SPACE(len) > cap || RTA_LENGTH(len) > 0xffff)
		return -EMSGSIZE;
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_SPACE(len);
	return 0;
}

/* Send one request and wait for its acknowledgement: 0 or -errno. */
static int nl_talk(struct nl *nl, struct nlmsghdr *n)
{
	char buf[4096];

	n->nlmsg_seq = ++nl->seq;
	n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(nl->fd, n, n->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != nl->seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

/* One interface ioctl on ifr (its name filled in). Through a netlink
 * socket: dsmd needs one anyway, and a policy need not give it inet
 * sockets it has no other use for. */
static int link_ioctl(unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, req, ifr))
		err = -errno;
	close(fd);
	return err;
}

static int link_mtu(int ifindex, unsigned *mtu)
{
	struct ifreq ifr = { 0 };
	int err;

	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return -errno;
	err = link_ioctl(SIOCGIFMTU, &ifr);
	*mtu = (unsigned)ifr.ifr_mtu;
	return err;
}

bool dsmd_link_is_loopback(const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return !link_ioctl(SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_LOOPBACK);
}

/* The RTAX_MTU inside an RTA_METRICS attribute, 0 if none. */
static unsigned metrics_mtu(const struct rtattr *metrics)
{
	int len = RTA_PAYLOAD(metrics);
	const struct rtattr *a;

	for (a = RTA_DATA(metrics); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == RTAX_MTU && RTA_PAYLOAD(a) >= sizeof(unsigned))
			return *(const unsigned *)RTA_DATA(a);
	return 0;
}

/*
 * The route's metrics with RTAX_MTU set to mtu (0: removed), every other
 * metric kept (initcwnd, advmss ...), into buf: its length, 0 when no
 * metric is left, or -EMSGSIZE.
 */
static int metrics_with_mtu(const struct rtattr *metrics, unsigned mtu, char *buf, size_t cap)
{
	size_t len = 0;

	if (metrics) {
		int left = RTA_PAYLOAD(metrics);

		for (const struct rtattr *a = RTA_DATA(metrics); RTA_OK(a, left);
		     a = RTA_NEXT(a, left)) {
			if (a->rta_type == RTAX_MTU)
				continue;
			if (len + RTA_ALIGN(a->rta_len) > cap)
				return -EMSGSIZE;
			memcpy(buf + len, a, a->rta_len);
			len += RTA_ALIGN(a->rta_len);
		}
	}
	if (mtu) {
		struct rtattr *ma = (struct rtattr *)(buf + len);

		if (len + RTA_SPACE(sizeof(mtu)) > cap)
			return -EMSGSIZE;
		ma->rta_type = RTAX_MTU;
		ma->rta_len = (unsigned short)RTA_LENGTH(sizeof(mtu));
		memcpy(RTA_DATA(ma), &mtu, sizeof(mtu));
		len += RTA_SPACE(sizeof(mtu));
	}
	return (int)len;
}

/*
 * Rewrite one dumped route with a new MTU metric (0: none): the same
 * header and attributes, the same metrics but the MTU. The request is
 * sized from the route itself, and one that cannot hold every attribute
 * is not sent.
 */
static int route_set_mtu(struct nl *nl, const struct nlmsghdr *route, unsigned mtu)
{
	const struct rtmsg *rtm = NLMSG_DATA(route);
	const struct rtattr *a, *metrics = NULL;
	int len = (int)RTM_PAYLOAD(route), mlen, err = 0;
	size_t cap = NLMSG_ALIGN(route->nlmsg_len) + 2 * RTA_SPACE(sizeof(unsigned)) + 64;
	struct nlmsghdr *n = calloc(1, cap);
	char *m = malloc(cap);

	if (!n || !m) {
		err = -ENOMEM;
		goto out;
	}
	n->nlmsg_len = NLMSG_LENGTH(sizeof(*rtm));
	n->nlmsg_type = RTM_NEWROUTE;
	n->nlmsg_flags = NLM_F_REPLACE;
	memcpy(NLMSG_DATA(n), rtm, sizeof(*rtm));
	for (a = RTM_RTA(rtm); !err && RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_METRICS)
			metrics = a;
		else if (a->rta_type != RTA_CACHEINFO) /* the kernel's, read-only */
			err = addattr(n, cap, a->rta_type, RTA_DATA(a), RTA_PAYLOAD(a));
	}
	mlen = err ? err : metrics_with_mtu(metrics, mtu, m, cap);
	if (mlen > 0)
		err = addattr(n, cap, RTA_METRICS, m, (size_t)mlen);
	else if (mlen < 0)
		err = mlen;
	if (!err)
		err = nl_talk(nl, n);
out:
	free(n);
	free(m);
	return err;
}

/* Which routes a rewrite is for, and what it writes. */
enum route_change {
	ROUTES_MAKE_ROOM, /* no MTU of their own: the link's minus the option */
	ROUTES_RESTORE,   /* exactly that MTU (dsmd's): none again */
};

struct route_list {
	char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t len;
};

/* Does this dumped route get changed? Main-table IPv4 routes through
 * ifindex whose MTU is the one the change expects. */
static bool route_wanted(const struct nlmsghdr *h, int ifindex, enum route_change what,
			 unsigned want)
{
	const struct rtmsg *rtm = NLMSG_DATA(h);
	int alen = (int)RTM_PAYLOAD(h), oif = 0, table = rtm->rtm_table;
	const struct rtattr *a;
	unsigned mtu = 0;

	if (h->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET)
		return false;
	for (a = RTM_RTA(rtm); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		if (a->rta_type == RTA_OIF)
			oif = *(const int *)RTA_DATA(a);
		else if (a->rta_type == RTA_TABLE)
			table = (int)*(const unsigned *)RTA_DATA(a);
		else if (a->rta_type == RTA_METRICS)
			mtu = metrics_mtu(a);
	}
	if (oif != ifindex || table != RT_TABLE_MAIN)
		return false;
	return what == ROUTES_RESTORE ? mtu == want : mtu == 0;
}

/* Dump the main table and copy out the routes to change (the dump must
 * end before we talk). 0 or -errno. */
static int routes_to_change(struct nl *nl, int ifindex, enum route_change what, unsigned want,
			    struct route_list *todo)
{
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_GETROUTE,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.r = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN },
	};
	static char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	todo->len = 0;
	if (send(nl->fd, &req, req.n.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (!route_wanted(h, ifindex, what, want))
				continue;
			if (todo->len + NLMSG_ALIGN(h->nlmsg_len) > sizeof(todo->buf))
				return -E2BIG;
			memcpy(todo->buf + todo->len, h, h->nlmsg_len);
			todo->len += NLMSG_ALIGN(h->nlmsg_len);
		}
	}
}

/* The routes changed, or -errno. */
static int change_routes(int ifindex, enum route_change what)
{
	static struct route_list todo;
	unsigned lmtu = 0, want;
	struct nl nl;
	int err, changed = 0;

	err = link_mtu(ifindex, &lmtu);
	if (err)
		return err;
	if (lmtu <= 576 + DSM_OPT_LEN)
		return -ERANGE;
	want = lmtu - DSM_OPT_LEN;
	err = nl_open(&nl);
	if (err)
		return err;
	err = routes_to_change(&nl, ifindex, what, want, &todo);
	for (size_t off = 0; !err && off < todo.len;) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(todo.buf + off);

		err = route_set_mtu(&nl, h, what == ROUTES_RESTORE ? 0 : want);
		changed += !err;
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	close(nl.fd);
	return err ? err : changed;
}

int dsmd_link_routes_make_room(int ifindex)
{
	return change_routes(ifindex, ROUTES_MAKE_ROOM);
}

int dsmd_link_routes_restore(int ifindex)
{
	return change_routes(ifindex, ROUTES_RESTORE);
}

/* Set the link's gso_max_segs (1: the stack hands over single segments). */
int dsmd_link_gso_segs(int ifindex, unsigned segs)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
		char attrs[64];
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		       .nlmsg_type = RTM_NEWLINK },
		.i = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	struct nl nl;
	int err = nl_open(&nl);

	if (err)
		return err;
	err = addattr(&req.n, sizeof(req), IFLA_GSO_MAX_SEGS, &segs, sizeof(segs));
	if (!err)
		err = nl_talk(&nl, &req.n);
	close(nl.fd);
	return err;
}
