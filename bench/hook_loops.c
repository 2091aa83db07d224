// SPDX-License-Identifier: GPL-2.0
/*
 * hook_loops: tight loops of the system calls whose LSM hooks dsm runs on
 * every file or socket operation, for measuring what each hook costs per
 * run (bench/hook-cost reads the kernel's per-program statistics around
 * each loop).
 *
 *   hook_loops zero-open N           open, read 1 byte, close /dev/zero
 *   hook_loops zero-read N           read 1 byte from /dev/zero (one open)
 *   hook_loops pipe N                write 1 byte into a pipe, read it back
 *   hook_loops udp MODE ADDR N [NS_SEND NS_RECV]
 *   hook_loops tcp MODE ADDR N [NS_SEND NS_RECV]
 *        a receiver bound to ADDR (TCP: a listener and the connection it
 *        accepts) and a sender in this process; N times: send 64 bytes,
 *        receive them. MODE: send (send/recv) or rw (write/read). ADDR is
 *        IPv4 or IPv6. With NS_SEND and NS_RECV (paths of network
 *        namespaces, /run/netns/X) the sender's socket is made in the first
 *        and the receiver's in the second (the sockets keep them).
 *
 * Prints "done N ns/iter X" at the end (CLOCK_MONOTONIC over the N
 * iterations, set-up excluded); errors: one line on stderr, exit 1 (2 for
 * usage).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT 12999
#define SIZE 64

static struct timespec t0;

static void start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

static void done(long n)
{
	struct timespec t1;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("done %ld ns/iter %.1f\n", n, n ? ns / (double)n : 0.0);
}

static int die(const char *what)
{
	fprintf(stderr, "hook_loops: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int usage(void)
{
	fprintf(stderr, "hook_loops: bad arguments (see the comment at the top)\n");
	return 2;
}

static void enter_ns(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die(path);
	close(fd);
}

static socklen_t make_addr(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(PORT);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(PORT);
		return sizeof(*s6);
	}
	return 0;
}

static void xfer(int out, int in, int rw)
{
	static char buf[SIZE];
	ssize_t n = rw ? write(out, buf, SIZE) : send(out, buf, SIZE, 0);

	if (n != SIZE)
		die("send");
	for (ssize_t got = 0; got < SIZE; got += n) {
		n = rw ? read(in, buf, SIZE - got) : recv(in, buf, SIZE - got, 0);
		if (n <= 0)
			die("receive");
	}
}

static int net_loop(int tcp, int rw, const char *addr, long n, const char *ns_send,
		    const char *ns_recv)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, &ss);
	int one = 1, type = tcp ? SOCK_STREAM : SOCK_DGRAM, r, s, in;

	if (!len)
		return usage();
	enter_ns(ns_recv);
	r = socket(ss.ss_family, type, 0);
	if (r < 0)
		die("socket");
	setsockopt(r, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(r, (struct sockaddr *)&ss, len) || (tcp && listen(r, 4)))
		die("bind");
	enter_ns(ns_send);
	s = socket(ss.ss_family, type, 0);
	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&ss, len))
		die("connect");
	in = r;
	if (tcp) {
		in = accept(r, NULL, NULL);
		if (in < 0)
			die("accept");
		setsockopt(s, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	}
	start();
	for (long i = 0; i < n; i++)
		xfer(s, in, rw);
	done(n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	char c;
	long n;

	if ((!strcmp(op, "udp") || !strcmp(op, "tcp")) && (argc == 5 || argc == 7)) {
		int rw = !strcmp(argv[2], "rw");

		if (!rw && strcmp(argv[2], "send"))
			return usage();
		return net_loop(op[0] == 't', rw, argv[3], strtol(argv[4], NULL, 0),
				argc == 7 ? argv[5] : NULL, argc == 7 ? argv[6] : NULL);
	}
	if (argc != 3)
		return usage();
	n = strtol(argv[2], NULL, 0);
	start();
	if (!strcmp(op, "zero-open")) {
		for (long i = 0; i < n; i++) {
			int fd = open("/dev/zero", O_RDONLY);

			if (fd < 0 || read(fd, &c, 1) != 1)
				die("/dev/zero");
			close(fd);
		}
	} else if (!strcmp(op, "zero-read")) {
		int fd = open("/dev/zero", O_RDONLY);

		for (long i = 0; i < n; i++)
			if (read(fd, &c, 1) != 1)
				die("/dev/zero");
	} else if (!strcmp(op, "pipe")) {
		int p[2];

		if (pipe(p))
			die("pipe");
		for (long i = 0; i < n; i++)
			if (write(p[1], "x", 1) != 1 || read(p[0], &c, 1) != 1)
				die("pipe");
	} else {
		return usage();
	}
	done(n);
	return 0;
}
