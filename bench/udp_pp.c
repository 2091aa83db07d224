// SPDX-License-Identifier: GPL-2.0
/*
 * udp_pp: UDP ping-pong latency, for measuring what the packet path costs.
 *
 *   udp_pp server ADDR PORT [--label-map PIN --label N]
 *   udp_pp client ADDR PORT COUNT [--size BYTES] [--label-map PIN --label N]
 *
 * The server echoes every datagram back to its sender, forever; it prints
 * "ready" once its socket is bound. The client sends a datagram of BYTES
 * (default 64) and waits for the echo, 200 times to warm up, then COUNT
 * times timed, and prints one line: the mean round trip in microseconds
 * (elapsed CLOCK_MONOTONIC / COUNT). A reply that takes more than 2 s is
 * an error.
 *
 * --label-map PIN --label N labels the socket before any traffic the way
 * dsm's LSM object would: a struct dsm_sock_ctx { .label = N } in the
 * pinned dsm_sockets socket-storage map (keyed by the socket's fd), so that
 * dsm_egress puts the option on what this socket sends. Needs only libbpf,
 * so it runs inside the guests as well as on the host.
 *
 * Errors: one line on stderr; exit 2 for usage, 1 for everything else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dsm/abi.h"

#define WARMUP     200
#define TIMEOUT_S  2
#define MAX_SIZE   65507 /* largest UDP payload over IPv4 */

struct args {
	int server;
	struct sockaddr_in addr;
	long count;
	long size;
	const char *label_map;
	__u32 label;
	int have_label;
};

static char buf[MAX_SIZE + 1];

static void usage(void)
{
	fprintf(stderr, "usage: udp_pp server ADDR PORT [--label-map PIN --label N] | "
		"udp_pp client ADDR PORT COUNT [--size BYTES] [--label-map PIN --label N]\n");
	exit(2);
}

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("udp_pp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A whole decimal number in [min, max], or usage. */
static long number(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "udp_pp: bad %s: %s (%ld..%ld)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv, struct args *a)
{
	int pos = 0, i;

	memset(a, 0, sizeof(*a));
	a->size = 64;
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		a->server = 1;
	else if (strcmp(argv[1], "client"))
		usage();
	for (i = 2; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--size") || !strcmp(arg, "--label-map") ||
		    !strcmp(arg, "--label")) {
			if (i + 1 >= argc)
				usage();
			if (!strcmp(arg, "--size")) {
				if (a->server)
					usage();
				a->size = number(argv[++i], 1, MAX_SIZE, "size");
			} else if (!strcmp(arg, "--label-map")) {
				a->label_map = argv[++i];
			} else {
				/* 0 is "no label": labeling with it would
				 * measure nothing */
				a->label = (__u32)number(argv[++i], 1, UINT_MAX, "label");
				a->have_label = 1;
			}
			continue;
		}
		if (arg[0] == '-' && arg[1] == '-')
			usage();
		switch (pos++) {
		case 0:
			a->addr.sin_family = AF_INET;
			if (inet_pton(AF_INET, arg, &a->addr.sin_addr) != 1) {
				fprintf(stderr, "udp_pp: bad IPv4 address: %s\n", arg);
				exit(2);
			}
			break;
		case 1:
			a->addr.sin_port = htons((__u16)number(arg, 1, 65535, "port"));
			break;
		case 2:
			if (a->server)
				usage();
			a->count = number(arg, 1, LONG_MAX, "count");
			break;
		default:
			usage();
		}
	}
	if (pos != (a->server ? 2 : 3) || !a->label_map != !a->have_label)
		usage();
}

/* Label the socket as dsm's LSM object would (docs/wire.md, dsm_sockets). */
static void label_socket(const struct args *a, int fd)
{
	struct dsm_sock_ctx ctx = { .label = a->label };
	int map = bpf_obj_get(a->label_map);

	if (map < 0)
		die("open %s: %s", a->label_map, strerror(errno));
	if (bpf_map_update_elem(map, &fd, &ctx, BPF_ANY))
		die("label the socket in %s: %s", a->label_map, strerror(errno));
	close(map);
}

static void serve(const struct args *a, int fd)
{
	if (bind(fd, (const struct sockaddr *)&a->addr, sizeof(a->addr)))
		die("bind: %s", strerror(errno));
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("receive: %s", strerror(errno));
		}
		/* an echo that cannot go out shows at the client as a timeout */
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static void round_trip(int fd, size_t size)
{
	ssize_t n;

	if (send(fd, buf, size, 0) != (ssize_t)size)
		die("send: %s", strerror(errno));
	do {
		n = recv(fd, buf, sizeof(buf), 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		die("no reply within %d s", TIMEOUT_S);
	if (n < 0)
		die("receive: %s", strerror(errno));
	if ((size_t)n != size)
		die("reply of %zd bytes to %zu", n, size);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void client(const struct args *a, int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	size_t size = (size_t)a->size;
	double t0;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die("SO_RCVTIMEO: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&a->addr, sizeof(a->addr)))
		die("connect: %s", strerror(errno));
	memset(buf, 'p', size);
	for (int i = 0; i < WARMUP; i++)
		round_trip(fd, size);
	t0 = now_us();
	for (long i = 0; i < a->count; i++)
		round_trip(fd, size);
	printf("%.3f\n", (now_us() - t0) / (double)a->count);
}

int main(int argc, char **argv)
{
	struct args a;
	int fd;

	parse(argc, argv, &a);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (a.label_map)
		label_socket(&a, fd);
	if (a.server)
		serve(&a, fd);
	client(&a, fd);
	return 0;
}
