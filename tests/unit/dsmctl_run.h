/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For dsmctl's unit tests: run one command with its standard output and
 * error captured, and a fake dsmd that reads one request line on a unix
 * socket, keeps it and sends a fixed answer. Include after cmocka.h and
 * dsmctl's sources.
 */
#ifndef TEST_DSMCTL_RUN_H
#define TEST_DSMCTL_RUN_H

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* fd's whole content (from its start) into buf, NUL-terminated; closes fd. */
static inline void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* fn(g, argc, argv) with stdout into out and stderr into err: its status. */
static inline int dsmctl_run_captured(int (*fn)(const struct dsmctl_global *, int, char **),
				      const struct dsmctl_global *g, int argc, char **argv, char *out,
				      size_t out_len, char *err, size_t err_len)
{
	char o[] = "/tmp/dsmctl-out-XXXXXX", e[] = "/tmp/dsmctl-err-XXXXXX";
	int ofd = mkstemp(o), efd = mkstemp(e), saved_out, saved_err, status;

	assert_true(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);
	status = fn(g, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	slurp(ofd, out, out_len);
	slurp(efd, err, err_len);
	unlink(o);
	unlink(e);
	return status;
}

struct fake_dsmd {
	int fd; /* the listener; -1: none listens */
	const char *answer;
	char request[256];
	struct sockaddr_un sa;
	pthread_t thread;
};

static inline void *fake_dsmd_run(void *arg)
{
	struct fake_dsmd *f = arg;
	int c = accept(f->fd, NULL, NULL);
	size_t got = 0;
	char ch;

	if (c < 0)
		return NULL;
	while (got + 1 < sizeof(f->request) && read(c, &ch, 1) == 1) {
		f->request[got++] = ch;
		if (ch == '\n')
			break;
	}
	f->request[got] = '\0';
	if (send(c, f->answer, strlen(f->answer), MSG_NOSIGNAL) < 0)
		perror("fake: send");
	close(c);
	return NULL;
}

/* Listen on sock and answer one request with answer (NULL: nobody listens). */
static inline void fake_dsmd_start(struct fake_dsmd *f, const char *sock, const char *answer)
{
	*f = (struct fake_dsmd){ .fd = -1, .answer = answer, .sa = { .sun_family = AF_UNIX } };
	if (!answer)
		return;
	f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->fd >= 0);
	assert_true(strlen(sock) < sizeof(f->sa.sun_path));
	strcpy(f->sa.sun_path, sock);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&f->sa, sizeof(f->sa)), 0);
	assert_int_equal(listen(f->fd, 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_dsmd_run, f), 0);
}

/* Wait for the fake to have answered (or to give up), close it. */
static inline void fake_dsmd_stop(struct fake_dsmd *f)
{
	if (f->fd < 0)
		return;
	pthread_join(f->thread, NULL);
	close(f->fd);
	f->fd = -1;
}

#endif /* TEST_DSMCTL_RUN_H */
