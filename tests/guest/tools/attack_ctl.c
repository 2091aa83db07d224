// SPDX-License-Identifier: GPL-2.0
/*
 * attack_ctl: a hostile client of dsmd's control socket. The socket path
 * is $DSM_SOCKET, else /run/dsm/dsmd.sock.
 *
 *   attack_ctl send LINE             send "LINE\n", print the answer, then
 *                                    "send OK" (or "connect ERRNAME")
 *   attack_ctl silent N SECONDS      open N connections, send nothing, hold
 *                                    them SECONDS, then "silent OK"
 *   attack_ctl drip SECONDS          one connection, one byte a second for
 *                                    SECONDS, then the newline; waits for
 *                                    the answer (closing before it would end
 *                                    dsmd: see sigpipe), "drip OK"
 *   attack_ctl nobody LINE           setuid to nobody (65534) first, then
 *                                    as "send" (a service that dropped root)
 *   attack_ctl sigpipe               one silent connection (dsmd waits 2 s on
 *                                    it), then a second that sends "ps\n" and
 *                                    closes at once: dsmd's answer meets a
 *                                    closed peer. "sigpipe OK" when sent
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EAGAIN: return "EAGAIN";
	default: return strerror(e);
	}
}

static int step(const char *what, int ok)
{
	int e = ok ? 0 : errno;

	printf("%s %s\n", what, errname(e));
	fflush(stdout);
	return e ? 1 : 0;
}

static const char *sock_path(void)
{
	const char *p = getenv("DSM_SOCKET");

	return p && *p ? p : "/run/dsm/dsmd.sock";
}

static int ctl_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path());
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int do_send(const char *line)
{
	char buf[8192];
	size_t got = 0;
	int fd = ctl_connect();

	if (fd < 0)
		return step("connect", 0);
	if (dprintf(fd, "%s\n", line) < 0)
		return step("send", 0);
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0 || (got += (size_t)n) == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	printf("%s\n", buf);
	close(fd);
	return step("send", got > 0);
}

static int do_silent(int n, int seconds)
{
	int opened = 0;

	for (int i = 0; i < n; i++)
		if (ctl_connect() >= 0)
			opened++;
	fprintf(stderr, "attack_ctl: %d silent connection(s) open\n", opened);
	sleep((unsigned)seconds);
	errno = 0;
	return step("silent", opened == n);
}

static int do_drip(int seconds)
{
	char buf[512];
	int fd = ctl_connect();

	if (fd < 0)
		return step("connect", 0);
	for (int i = 0; i < seconds; i++) {
		if (write(fd, "s", 1) != 1)
			return step("drip", 0);
		sleep(1);
	}
	if (write(fd, "\n", 1) != 1)
		return step("drip", 0);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	errno = 0;
	return step("drip", 1);
}

static int do_sigpipe(void)
{
	int hold = ctl_connect(), fd;

	if (hold < 0)
		return step("connect", 0);
	usleep(200000);
	fd = ctl_connect();
	if (fd < 0)
		return step("connect", 0);
	if (write(fd, "ps\n", 3) != 3)
		return step("sigpipe", 0);
	close(fd);
	sleep(4);
	close(hold);
	errno = 0;
	return step("sigpipe", 1);
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (!strcmp(op, "send") && argc == 3)
		return do_send(argv[2]);
	if (!strcmp(op, "silent") && argc == 4)
		return do_silent(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(op, "drip") && argc == 3)
		return do_drip(atoi(argv[2]));
	if (!strcmp(op, "sigpipe") && argc == 2)
		return do_sigpipe();
	if (!strcmp(op, "nobody") && argc == 3) {
		if (step("setuid", setgroups(0, NULL) == 0 && setgid(65534) == 0 &&
				       setuid(65534) == 0))
			return 1;
		return do_send(argv[2]);
	}
	fprintf(stderr, "attack_ctl: bad arguments (see the comment at the top of attack_ctl.c)\n");
	return 2;
}
