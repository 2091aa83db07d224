// SPDX-License-Identifier: GPL-2.0
/*
 * attack_ctl: a hostile client of dsmd's control socket. The socket path
 * is $DSM_SOCKET, else /run/dsm/dsmd.sock.
 *
 *   attack_ctl send LINE             send "LINE\n", print the answer, then
 *                                    "send OK" (or "connect ERRNAME")
 *   attack_ctl repeat N LINE         N requests LINE one after the other;
 *                                    "repeat ANSWERED ERRORS"
 *   attack_ctl silent N SECONDS      open N connections, send nothing, hold
 *                                    them SECONDS, then "silent OPENED"
 *   attack_ctl drip SECONDS          one connection, one byte a second for
 *                                    SECONDS, then the newline and wait for
 *                                    the answer: "drip OK", or "drip cut
 *                                    off after N s" when dsmd ends it
 *   attack_ctl flood BYTES           one line of BYTES bytes without its
 *                                    newline; print the answer, "flood OK"
 *   attack_ctl nobody LINE           setuid to nobody (65534) first, then
 *                                    as "send" (a service that dropped root)
 *   attack_ctl peer                  (also: nobody-peer) connect to a unix
 *                                    listener of our own, pass the accepted
 *                                    end to dsmd with "peerlabel", print the
 *                                    answer: the peer the kernel stamped
 *   attack_ctl linger SECONDS        pass dsmd a TCP socket that lingers
 *                                    when closed (SO_LINGER, unsent data),
 *                                    close our copy: dsmd's close is the
 *                                    last one. Print the answer, keep the
 *                                    connection's listener SECONDS
 *   attack_ctl wait-exec FILE CMD... wait until FILE exists, then exec CMD
 *                                    (in the label it was started in, when
 *                                    nothing can start a labeled one)
 *   attack_ctl sigpipe               one silent connection, then a second
 *                                    that sends "ps\n" and closes at once:
 *                                    dsmd's answer meets a closed peer.
 *                                    "sigpipe OK" when sent
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
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
	printf("silent %d\n", opened);
	return 0;
}

static int do_drip(int seconds)
{
	char buf[512];
	int fd = ctl_connect();

	if (fd < 0)
		return step("connect", 0);
	for (int i = 0; i < seconds; i++) {
		if (send(fd, "s", 1, MSG_NOSIGNAL) != 1) {
			printf("drip cut off after %d s\n", i);
			return 0;
		}
		sleep(1);
	}
	if (send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		printf("drip cut off after %d s\n", seconds);
		return 0;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	errno = 0;
	return step("drip", 1);
}

static int do_repeat(int n, const char *line)
{
	int answered = 0, errors = 0;

	for (int i = 0; i < n; i++) {
		char buf[4096];
		ssize_t got;
		int fd = ctl_connect();

		if (fd < 0)
			continue;
		if (dprintf(fd, "%s\n", line) > 0 && (got = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[got] = '\0';
			answered++;
			errors += strstr(buf, "\"error\"") != NULL;
		}
		close(fd);
	}
	printf("repeat %d %d\n", answered, errors);
	return 0;
}

static int do_flood(long bytes)
{
	char chunk[4096], buf[4096];
	ssize_t got = 0, n;
	long sent = 0;
	int fd = ctl_connect();

	if (fd < 0)
		return step("connect", 0);
	memset(chunk, 'x', sizeof(chunk));
	while (sent < bytes) {
		n = send(fd, chunk, (size_t)(bytes - sent < (long)sizeof(chunk) ? bytes - sent :
					     (long)sizeof(chunk)), MSG_NOSIGNAL);
		if (n <= 0)
			break; /* dsmd stopped reading: fine */
		sent += n;
	}
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got > 0 ? got : 0] = '\0';
	printf("%s\nflood sent %ld\n", buf, sent);
	close(fd);
	errno = 0;
	return step("flood", got > 0);
}

/* Send "peerlabel\n" with fd; print dsmd's answer. */
static int ask_peerlabel(int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, buf[4096];
	struct iovec iov = { .iov_base = "peerlabel\n", .iov_len = 10 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t got = 0, n;
	int c = ctl_connect();

	if (c < 0)
		return step("connect", 0);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(c, &mh, MSG_NOSIGNAL) != 10)
		return step("sendmsg", 0);
	while ((n = read(c, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got > 0 ? got : 0] = '\0';
	printf("%s\n", buf);
	close(c);
	errno = 0;
	return step("peerlabel", got > 0);
}

static int do_peer(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l, c, a;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/attack_ctl-%d.sock", getpid());
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (step("socket", l >= 0) || step("bind", bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0) ||
	    step("listen", listen(l, 1) == 0))
		return 1;
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (step("connect", c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0))
		return 1;
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	unlink(sa.sun_path);
	if (step("accept", a >= 0))
		return 1;
	return ask_peerlabel(a);
}

static int do_linger(int seconds)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct linger lg = { .l_onoff = 1, .l_linger = 3600 };
	char chunk[65536];
	long queued = 0;
	int l, c, err;

	/* A listener that never accepts: the connection's receive buffer
	 * fills, then ours; what is left cannot be sent. */
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (step("listen", l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			   listen(l, 1) == 0 && getsockname(l, (struct sockaddr *)&sa, &len) == 0))
		return 1;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (step("connect", c >= 0 && connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0))
		return 1;
	fcntl(c, F_SETFL, O_NONBLOCK);
	memset(chunk, 'x', sizeof(chunk));
	for (ssize_t n; (n = send(c, chunk, sizeof(chunk), MSG_NOSIGNAL)) > 0;)
		queued += n;
	fprintf(stderr, "attack_ctl: %ld bytes queued, the rest cannot be sent\n", queued);
	if (step("linger", setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0))
		return 1;
	err = ask_peerlabel(c);
	close(c); /* dsmd holds the last reference now (or has closed it) */
	sleep((unsigned)seconds);
	close(l);
	return err;
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
	if (!strcmp(op, "wait-exec") && argc >= 4) {
		while (access(argv[2], F_OK))
			usleep(100000);
		execv(argv[3], argv + 3);
		return step("exec", 0);
	}
	if (!strcmp(op, "repeat") && argc == 4)
		return do_repeat(atoi(argv[2]), argv[3]);
	if (!strcmp(op, "flood") && argc == 3)
		return do_flood(atol(argv[2]));
	if (!strcmp(op, "peer") && argc == 2)
		return do_peer();
	if (!strcmp(op, "linger") && argc == 3)
		return do_linger(atoi(argv[2]));
	if (!strcmp(op, "nobody-peer") && argc == 2) {
		if (step("setuid", setgroups(0, NULL) == 0 && setgid(65534) == 0 &&
				       setuid(65534) == 0))
			return 1;
		return do_peer();
	}
	if (!strcmp(op, "nobody") && argc == 3) {
		if (step("setuid", setgroups(0, NULL) == 0 && setgid(65534) == 0 &&
				       setuid(65534) == 0))
			return 1;
		return do_send(argv[2]);
	}
	fprintf(stderr, "attack_ctl: bad arguments (see the comment at the top of attack_ctl.c)\n");
	return 2;
}
