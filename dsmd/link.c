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
 *    minus DSM_OPT_LEN).
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

/* linux/if_tunnel.h, which cannot be included next to net/if.h */
#define IFLA_GRE_REMOTE_           7
#define IFLA_GRE_COLLECT_METADATA_ 18

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

/* Append an attribute; -E2BIG (and n unchanged) when it does not fit. */
static int addattr(struct nlmsghdr *n, size_t cap, unsigned short type, const void *data,
		   size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	if (NLMSG_ALIGN(n->nlmsg_len) + RTA_SPACE(len) > cap || RTA_LENGTH(len) > 0xffff)
		return -E2BIG;
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

/*
 * Send a dump request and hand every message of the answer to one(), up
 * to the end of the dump: 0, or the first error of one() or of the dump.
 */
static int nl_dump(struct nl *nl, const struct nlmsghdr *req,
		   int (*one)(const struct nlmsghdr *h, void *ctx), void *ctx)
{
	static char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	if (send(nl->fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;
		int err;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			err = one(h, ctx);
			if (err)
				return err;
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

/* The route flags a request may carry: the kernel sets the others in what
 * it dumps (linkdown, dead, offload, trap) and refuses some of them back
 * (fib_create_info: "can not contain DEAD or LINKDOWN"). */
#define ROUTE_REQUEST_FLAGS (RTNH_F_ONLINK | RTNH_F_PERVASIVE)

/*
 * The route's metrics with RTAX_MTU set to mtu (0: removed) and every
 * other metric kept, into buf; their length, or -E2BIG.
 */
static int metrics_with_mtu(const struct rtattr *metrics, unsigned mtu, char *buf, size_t cap)
{
	struct rtattr *out;
	size_t len = 0;

	if (metrics) {
		int left = RTA_PAYLOAD(metrics);

		for (const struct rtattr *a = RTA_DATA(metrics); RTA_OK(a, left);
		     a = RTA_NEXT(a, left)) {
			if (a->rta_type == RTAX_MTU)
				continue;
			if (len + RTA_ALIGN(a->rta_len) > cap)
				return -E2BIG;
			memcpy(buf + len, a, a->rta_len);
			len += RTA_ALIGN(a->rta_len);
		}
	}
	if (mtu) {
		if (len + RTA_SPACE(sizeof(mtu)) > cap)
			return -E2BIG;
		out = (struct rtattr *)(buf + len);
		out->rta_type = RTAX_MTU;
		out->rta_len = (unsigned short)RTA_LENGTH(sizeof(mtu));
		memcpy(RTA_DATA(out), &mtu, sizeof(mtu));
		len += RTA_SPACE(sizeof(mtu));
	}
	return (int)len;
}

/*
 * Rewrite one dumped route with a new MTU metric (0: none): the same
 * header and attributes, the other metrics kept, the flags only a request
 * may carry. The request is sized from the route; an attribute that would
 * not fit fails the rewrite (-E2BIG), never a shorter route.
 */
static int route_set_mtu(struct nl *nl, const struct nlmsghdr *route, unsigned mtu)
{
	const struct rtmsg *rtm = NLMSG_DATA(route);
	const struct rtattr *a, *metrics = NULL;
	size_t cap = NLMSG_ALIGN(route->nlmsg_len) + RTA_SPACE(RTAX_MAX * RTA_SPACE(8)) + 64;
	char m[RTAX_MAX * RTA_SPACE(8) + 64];
	int len = (int)RTM_PAYLOAD(route), mlen, err = 0;
	struct nlmsghdr *n;
	struct rtmsg *req;

	n = calloc(1, cap);
	if (!n)
		return -ENOMEM;
	n->nlmsg_len = NLMSG_LENGTH(sizeof(*rtm));
	n->nlmsg_type = RTM_NEWROUTE;
	n->nlmsg_flags = NLM_F_REPLACE;
	req = NLMSG_DATA(n);
	*req = *rtm;
	req->rtm_flags &= ROUTE_REQUEST_FLAGS;
	for (a = RTM_RTA(rtm); !err && RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_METRICS)
			metrics = a;
		if (a->rta_type == RTA_METRICS || a->rta_type == RTA_CACHEINFO)
			continue;
		err = addattr(n, cap, a->rta_type, RTA_DATA(a), RTA_PAYLOAD(a));
	}
	mlen = err ? err : metrics_with_mtu(metrics, mtu, m, sizeof(m));
	if (mlen > 0)
		err = addattr(n, cap, RTA_METRICS, m, (size_t)mlen);
	else if (mlen < 0)
		err = mlen;
	if (!err)
		err = nl_talk(nl, n);
	free(n);
	return err;
}

/* What a start does to the routes of a labeled link, and what --unload
 * does to them. */
enum route_change {
	ROUTES_MAKE_ROOM, /* an MTU of the link's minus the option where none */
	ROUTES_RESTORE,   /* none again where it is exactly that */
};

/*
 * Is the dumped message h a main-table IPv4 route through ifindex whose
 * MTU metric is mtu (0: it has none)?
 */
static bool route_wanted(const struct nlmsghdr *h, int ifindex, unsigned mtu)
{
	const struct rtmsg *rtm = NLMSG_DATA(h);
	int alen = (int)RTM_PAYLOAD(h);
	const struct rtattr *a;
	unsigned has = 0;
	int oif = 0, table = rtm->rtm_table;

	if (h->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET)
		return false;
	for (a = RTM_RTA(rtm); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		if (a->rta_type == RTA_OIF)
			oif = *(const int *)RTA_DATA(a);
		else if (a->rta_type == RTA_TABLE)
			table = (int)*(const unsigned *)RTA_DATA(a);
		else if (a->rta_type == RTA_METRICS)
			has = metrics_mtu(a);
	}
	return oif == ifindex && table == RT_TABLE_MAIN && has == mtu;
}

/* The routes to change, copied out of the dump (it must end before a
 * route is rewritten): as many as there are, the list grows. */
struct route_list {
	int ifindex;  /* through this link */
	unsigned mtu; /* with this MTU metric now (0: none) */
	char *buf;    /* the routes' messages, each NLMSG_ALIGNed */
	size_t len, cap;
};

static int route_list_add(const struct nlmsghdr *h, void *ctx)
{
	struct route_list *l = ctx;
	size_t need = l->len + NLMSG_ALIGN(h->nlmsg_len);

	if (!route_wanted(h, l->ifindex, l->mtu))
		return 0;
	if (need > l->cap) {
		size_t cap = l->cap ? 2 * l->cap : NL_BUF;
		char *more;

		while (cap < need)
			cap *= 2;
		more = realloc(l->buf, cap);
		if (!more)
			return -ENOMEM;
		l->buf = more;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, h, h->nlmsg_len);
	l->len = need;
	return 0;
}

/* Dump the main table's IPv4 routes into l, those route_wanted() only. */
static int routes_to_change(struct nl *nl, struct route_list *l)
{
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_GETROUTE,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.r = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN },
	};

	return nl_dump(nl, &req.n, route_list_add, l);
}

/*
 * Make the change to every main-table IPv4 route through ifindex: routes
 * without an MTU get the link's minus the option (ROUTES_MAKE_ROOM), or
 * routes with exactly that lose it (ROUTES_RESTORE). Returns the number
 * of routes changed, or -errno.
 */
static int routes_change(int ifindex, enum route_change change)
{
	struct route_list todo = { .ifindex = ifindex };
	unsigned lmtu = 0, room;
	size_t off = 0;
	struct nl nl;
	int err, changed = 0;

	err = link_mtu(ifindex, &lmtu);
	if (err)
		return err;
	if (lmtu <= 576 + DSM_OPT_LEN)
		return -ERANGE;
	room = lmtu - DSM_OPT_LEN;
	todo.mtu = change == ROUTES_RESTORE ? room : 0;
	err = nl_open(&nl);
	if (err)
		return err;
	err = routes_to_change(&nl, &todo);
	while (!err && off < todo.len) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(todo.buf + off);

		err = route_set_mtu(&nl, h, change == ROUTES_MAKE_ROOM ? room : 0);
		if (!err)
			changed++;
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	free(todo.buf);
	close(nl.fd);
	return err ? err : changed;
}

/* Routes through ifindex without an MTU of their own get the link's minus
 * the option: the number changed, or -errno. */
int dsmd_link_routes_make_room(int ifindex)
{
	return routes_change(ifindex, ROUTES_MAKE_ROOM);
}

/* Take back exactly the MTU dsmd_link_routes_make_room() set. */
int dsmd_link_routes_restore(int ifindex)
{
	return routes_change(ifindex, ROUTES_RESTORE);
}

/* A GRE device whose driver builds the link header itself (no fixed
 * unicast remote, no metadata mode: ipgre_header_ops): what tc egress sees
 * starts with the outer header. */
static bool gre_builds_header(const struct rtattr *data, bool v6)
{
	int left = RTA_PAYLOAD(data);
	bool remote_set = false, collect_md = false;

	for (const struct rtattr *a = RTA_DATA(data); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		const uint8_t *p = RTA_DATA(a);
		size_t plen = RTA_PAYLOAD(a);

		if (a->rta_type == IFLA_GRE_COLLECT_METADATA_) {
			collect_md = true;
		} else if (a->rta_type == IFLA_GRE_REMOTE_) {
			for (size_t i = 0; i < plen; i++)
				remote_set |= p[i] != 0;
			/* an IPv4 multicast remote gets the header too */
			if (!v6 && plen == 4 && (p[0] & 0xf0) == 0xe0)
				remote_set = false;
		}
	}
	return !collect_md && !remote_set;
}

static void link_info(const struct rtattr *info, struct dsmd_link *l)
{
	int left = RTA_PAYLOAD(info);
	const struct rtattr *data = NULL;

	for (const struct rtattr *a = RTA_DATA(info); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type == IFLA_INFO_KIND)
			snprintf(l->kind, sizeof(l->kind), "%.*s", (int)RTA_PAYLOAD(a),
				 (const char *)RTA_DATA(a));
		else if (a->rta_type == IFLA_INFO_DATA)
			data = a;
	}
	if (data && (!strcmp(l->kind, "gre") || !strcmp(l->kind, "ip6gre")))
		l->builds_header = gre_builds_header(data, !strcmp(l->kind, "ip6gre"));
	else if (!data && (!strcmp(l->kind, "gre") || !strcmp(l->kind, "ip6gre")))
		l->builds_header = true;
}

/* One RTM_NEWLINK message of the dump, what dsmd needs of it into l. */
static void link_of_msg(const struct nlmsghdr *h, struct dsmd_link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int alen = (int)IFLA_PAYLOAD(h);

	*l = (struct dsmd_link){ .ifindex = ifi->ifi_index, .type = ifi->ifi_type,
				 .flags = ifi->ifi_flags };
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		if (a->rta_type == IFLA_IFNAME)
			snprintf(l->name, sizeof(l->name), "%.*s", (int)RTA_PAYLOAD(a),
				 (const char *)RTA_DATA(a));
		else if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= 4)
			l->master = *(const int *)RTA_DATA(a);
		else if (a->rta_type == IFLA_LINKINFO)
			link_info(a, l);
	}
}

/* The links found so far (it grows). */
struct link_list {
	struct dsmd_link *v;
	size_t cnt, cap;
};

static int link_list_add(const struct nlmsghdr *h, void *ctx)
{
	struct link_list *l = ctx;

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (l->cnt == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct dsmd_link *more = realloc(l->v, cap * sizeof(*l->v));

		if (!more)
			return -ENOMEM;
		l->v = more;
		l->cap = cap;
	}
	link_of_msg(h, &l->v[l->cnt++]);
	return 0;
}

/* Every link of the current network namespace, from an rtnetlink dump. */
int dsmd_link_list(struct dsmd_link **out, size_t *n)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
	} req = {
		.n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.i = { .ifi_family = AF_UNSPEC },
	};
	struct link_list l = { 0 };
	struct nl nl;
	int err;

	*out = NULL;
	*n = 0;
	err = nl_open(&nl);
	if (err)
		return err;
	err = nl_dump(&nl, &req.n, link_list_add, &l);
	close(nl.fd);
	if (err) {
		free(l.v);
		return err;
	}
	*out = l.v;
	*n = l.cnt;
	return 0;
}
