// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_crr: TCP connection rate (connect, request, response, close), the
 * cost dsm puts on a connection's handshake.
 *
 *   tcp_crr server ADDR PORT          accept, answer one byte, close; forever
 *                                     (prints "ready" once listening)
 *   tcp_crr client ADDR PORT COUNT    COUNT connections after 50 warm-up ones;
 *                                     prints the mean microseconds per
 *                                     connection (3 decimals)
 *
 * Each client connection sends one byte, reads the one-byte answer and the
 * end of stream, then closes: a full handshake, one exchange and the
 * teardown, as netperf's TCP_CRR does. The client closes last (SO_LINGER
 * 0 would skip TIME_WAIT but send an RST, which is not what clients do);
 * local ports are spread over the ephemeral range so TIME_WAIT does not
 * run out of them for a few thousand connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 50

static int usage(void)
{
	fprintf(stderr, "usage: tcp_crr server ADDR PORT | tcp_crr client ADDR PORT COUNT\n");
	return 2;
}

static int parse_addr(const char *a, const char *p, struct sockaddr_in *sa)
{
	char *end;
	long port = strtol(p, &end, 10);

	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (*end || port <= 0 || port > 65535 || inet_pton(AF_INET, a, &sa->sin_addr) != 1) {
		fprintf(stderr, "tcp_crr: bad address %s:%s\n", a, p);
		return -1;
	}
	return 0;
}

static int server(const struct sockaddr_in *sa)
{
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (const struct sockaddr *)sa, sizeof(*sa)) || listen(ls, 128)) {
		fprintf(stderr, "tcp_crr: server: %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(ls, NULL, NULL);
		char b;

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "tcp_crr: accept: %s\n", strerror(errno));
			return 1;
		}
		if (read(c, &b, 1) == 1 && write(c, &b, 1) != 1)
			fprintf(stderr, "tcp_crr: answer: %s\n", strerror(errno));
		close(c);
	}
}

static int one_connection(const struct sockaddr_in *sa)
{
	struct timeval tv = { .tv_sec = 2 };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char b = 'x';
	ssize_t n;

	if (s < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) || write(s, &b, 1) != 1 ||
	    read(s, &b, 1) != 1) {
		int err = -errno;

		close(s);
		return err ? err : -EPROTO;
	}
	n = read(s, &b, 1); /* the server's close */
	close(s);
	return n == 0 ? 0 : -EPROTO;
}

static int client(const struct sockaddr_in *sa, long count)
{
	struct timespec t0, t1;
	double us;
	int err;

	for (long i = 0; i < WARMUP + count; i++) {
		if (i == WARMUP)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		err = one_connection(sa);
		if (err) {
			fprintf(stderr, "tcp_crr: connection %ld: %s\n", i, strerror(-err));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
	printf("%.3f\n", us / (double)count);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	long count;
	char *end;

	if (argc == 4 && !strcmp(argv[1], "server"))
		return parse_addr(argv[2], argv[3], &sa) ? 2 : server(&sa);
	if (argc != 5 || strcmp(argv[1], "client"))
		return usage();
	count = strtol(argv[4], &end, 10);
	if (*end || count <= 0) {
		fprintf(stderr, "tcp_crr: COUNT must be a positive number, not '%s'\n", argv[4]);
		return 2;
	}
	return parse_addr(argv[2], argv[3], &sa) ? 2 : client(&sa, count);
}
