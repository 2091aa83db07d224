// SPDX-License-Identifier: GPL-2.0
/*
 * attack_net_sock: stream and datagram endpoints in the families and
 * protocols the network attack tests need (AF_INET6 dual-stack, MPTCP,
 * AF_SMC), printing exactly how each step went.
 *
 *   attack_net_sock serve FAMILY PORT SECONDS [V6ONLY]
 *        FAMILY: inet inet6 mptcp mptcp6 smc smc6. Listen on the wildcard
 *        address (inet6 families: IPV6_V6ONLY = V6ONLY, default 0), accept
 *        one connection, read a line: "accepted DATA from ADDR" or
 *        "accept timeout"
 *   attack_net_sock connect FAMILY ADDR PORT [SRC]
 *        connect (from source address SRC if given), send "x\n": "send OK";
 *        for MPTCP also "mptcp active" or "mptcp fallback" (the connection
 *        fell back to plain TCP)
 *   attack_net_sock udp-serve inet|inet6 PORT SECONDS [V6ONLY [STOPFILE]]
 *        count datagrams: "from ADDR" for each, then "received N" after
 *        SECONDS, or sooner once STOPFILE exists (the test makes it when
 *        every sender is done: a fixed window only costs time)
 *   attack_net_sock udp-send inet|inet6 ADDR PORT N [PRIORITY]
 *        N datagrams (with SO_PRIORITY PRIORITY if given): "sent N"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef AF_SMC
#define AF_SMC 43
#endif
#define SMCPROTO_SMC  0
#define SMCPROTO_SMC6 1
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#define MPTCP_INFO 1

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINPROGRESS: return "EINPROGRESS";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ENETUNREACH: return "ENETUNREACH";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	default: return strerror(e);
	}
}

static int step(const char *what, int ok)
{
	int e = ok ? 0 : errno;

	printf("%s %s\n", what, errname(e));
	fflush(stdout);
	return e;
}

static int usage(void)
{
	fprintf(stderr, "attack_net_sock: bad arguments (see the comment at the top)\n");
	return 2;
}

struct fam {
	const char *name;
	int domain, protocol, v6; /* v6: the addresses are IPv6 */
};

static const struct fam fams[] = {
	{ "inet", AF_INET, 0, 0 },
	{ "inet6", AF_INET6, 0, 1 },
	{ "mptcp", AF_INET, IPPROTO_MPTCP, 0 },
	{ "mptcp6", AF_INET6, IPPROTO_MPTCP, 1 },
	{ "smc", AF_SMC, SMCPROTO_SMC, 0 },
	{ "smc6", AF_SMC, SMCPROTO_SMC6, 1 },
};

static const struct fam *fam_of(const char *name)
{
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		if (!strcmp(fams[i].name, name))
			return &fams[i];
	return NULL;
}

static socklen_t make_addr(const struct fam *f, const char *addr, int port,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (f->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (addr && inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return 0;
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (addr && inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return 0;
		return sizeof(*s4);
	}
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, len);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, len);
	return buf;
}

static int open_sock(const struct fam *f, int type, int port, int v6only, int do_bind)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(f, NULL, port, &ss);
	int one = 1, s;

	s = socket(f->domain, type, type == SOCK_DGRAM ? 0 : f->protocol);
	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (f->v6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (do_bind && bind(s, (struct sockaddr *)&ss, len)) {
		close(s);
		return -1;
	}
	return s;
}

static int do_serve(const struct fam *f, int port, int seconds, int v6only)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct timeval tv = { .tv_sec = seconds };
	struct pollfd pfd;
	char buf[256], a[64];
	ssize_t n;
	int l, s;

	l = open_sock(f, SOCK_STREAM, port, v6only, 1);
	if (l < 0 || listen(l, 8))
		return step("listen", 0), 1;
	printf("ready\n");
	fflush(stdout);
	pfd.fd = l;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, seconds * 1000) != 1) {
		printf("accept timeout\n");
		return 1;
	}
	s = accept(l, (struct sockaddr *)&peer, &plen);
	if (s < 0) {
		printf("accept %s\n", errname(errno));
		return 1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(s, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("accepted %s from %s\n", buf, addr_str(&peer, a, sizeof(a)));
	return 0;
}

static int do_connect(const struct fam *f, const char *addr, int port, const char *src)
{
	struct sockaddr_storage ss, from;
	socklen_t len = make_addr(f, addr, port, &ss), flen = src ? make_addr(f, src, 0, &from) : 0;
	struct timeval tv = { .tv_sec = 6 };
	char info[256];
	socklen_t ilen = sizeof(info);
	int s;

	if (!len || (src && !flen))
		return usage();
	s = socket(f->domain, SOCK_STREAM, f->protocol);
	if (step("create", s >= 0))
		return 1;
	if (src && step("bind", bind(s, (struct sockaddr *)&from, flen) == 0))
		return 1;
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (step("connect", connect(s, (struct sockaddr *)&ss, len) == 0))
		return 1;
	if (f->protocol == IPPROTO_MPTCP)
		printf("mptcp %s\n", getsockopt(s, SOL_MPTCP, MPTCP_INFO, info, &ilen) == 0 ?
				     "active" : "fallback");
	if (step("send", send(s, "x\n", 2, 0) == 2))
		return 1;
	sleep(1);
	close(s);
	return 0;
}

static int do_udp_serve(const struct fam *f, int port, int seconds, int v6only,
			const char *stop)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	time_t end = time(NULL) + seconds;
	unsigned long n = 0;
	char buf[2048], a[64];
	int s = open_sock(f, SOCK_DGRAM, port, v6only, 1);

	if (s < 0)
		return step("bind", 0), 1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end && !(stop && !access(stop, F_OK))) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);

		if (recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen) >= 0) {
			n++;
			printf("from %s\n", addr_str(&peer, a, sizeof(a)));
			fflush(stdout);
		}
	}
	printf("received %lu\n", n);
	return 0;
}

static int do_udp_send(const struct fam *f, const char *addr, int port, unsigned long n,
		       int prio)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(f, addr, port, &ss);
	unsigned long sent = 0;
	int s;

	if (!len)
		return usage();
	s = socket(f->domain, SOCK_DGRAM, 0);
	if (step("create", s >= 0))
		return 1;
	if (prio >= 0 &&
	    step("priority", !setsockopt(s, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio))))
		return 1;
	for (unsigned long i = 0; i < n; i++) {
		if (sendto(s, "dgram\n", 6, 0, (struct sockaddr *)&ss, len) == 6)
			sent++;
		else
			fprintf(stderr, "sendto: %s\n", errname(errno));
		usleep(20000);
	}
	printf("sent %lu\n", sent);
	return sent == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	const struct fam *f = argc > 2 ? fam_of(argv[2]) : NULL;

	if (!f)
		return usage();
	if (!strcmp(op, "serve") && (argc == 5 || argc == 6))
		return do_serve(f, atoi(argv[3]), atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 0);
	if (!strcmp(op, "connect") && (argc == 5 || argc == 6))
		return do_connect(f, argv[3], atoi(argv[4]), argc == 6 ? argv[5] : NULL);
	if (!strcmp(op, "udp-serve") && argc >= 5 && argc <= 7 && f->protocol == 0)
		return do_udp_serve(f, atoi(argv[3]), atoi(argv[4]), argc >= 6 ? atoi(argv[5]) : 0,
				    argc == 7 ? argv[6] : NULL);
	if (!strcmp(op, "udp-send") && (argc == 6 || argc == 7) && f->protocol == 0)
		return do_udp_send(f, argv[3], atoi(argv[4]), strtoul(argv[5], NULL, 0),
				   argc == 7 ? atoi(argv[6]) : -1);
	return usage();
}
