// SPDX-License-Identifier: GPL-2.0
/*
 * attack_listen PORT: a TCP listener on 127.0.0.1:PORT made at once (for
 * a test that starts dsmd afterwards). Prints "listening PID", waits with
 * poll() (no dsm hook) for a connection, then reports each step of
 * serving it: accept, recv, send ("STEP OK" or "STEP ERRNAME"), and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int step(const char *what, int ok)
{
	int e = ok ? 0 : errno;

	printf("%s %s\n", what, e == 0 ? "OK" : e == EACCES ? "EACCES" : strerror(e));
	fflush(stdout);
	return e ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct pollfd p;
	char buf[64];
	int l, c, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: attack_listen PORT\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 8))
		return step("listen", 0);
	printf("listening %d\n", getpid());
	fflush(stdout);
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	while (poll(&p, 1, -1) != 1)
		;
	c = accept(l, NULL, NULL);
	if (step("accept", c >= 0))
		return 1;
	if (step("recv", recv(c, buf, sizeof(buf), 0) > 0))
		return 1;
	return step("send", send(c, "y\n", 2, 0) == 2);
}
