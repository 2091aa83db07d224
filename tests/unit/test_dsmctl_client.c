// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl's control-socket client against a fake daemon in a thread: the
 * request line, answers in pieces, error objects, answers that are too
 * large, not JSON or never come, and the messages for a daemon that is
 * not running.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmctl/client.c"

/* ---- the fake daemon ---------------------------------------------------- */

struct fake {
	int fd;              /* its end of the connection (or a listener) */
	bool listen;         /* accept one connection on fd first */
	const char *answer;  /* what to send; NULL: close without answering */
	size_t len;          /* bytes of answer (0: strlen) */
	size_t chunk;        /* write in pieces this large (0: at once) */
	bool hold;           /* never answer: wait for the client to go away */
	char request[1024];  /* what it received */
	pid_t peer_pid;      /* SO_PEERCRED of the client */
	pthread_t thread;
};

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	int fd = f->fd;
	size_t got = 0, off = 0;
	char c;

	if (f->listen) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		fd = accept(f->fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
			f->peer_pid = cred.pid;
	}
	/* One line, byte by byte so nothing after it is consumed. */
	while (got + 1 < sizeof(f->request) && read(fd, &c, 1) == 1) {
		f->request[got++] = c;
		if (c == '\n')
			break;
	}
	f->request[got] = '\0';
	if (f->hold) {
		while (read(fd, &c, 1) > 0)
			;
	} else if (f->answer) {
		size_t len = f->len ? f->len : strlen(f->answer);

		while (off < len) {
			size_t n = f->chunk && f->chunk < len - off ? f->chunk : len - off;
			ssize_t w = send(fd, f->answer + off, n, MSG_NOSIGNAL);

			if (w <= 0)
				break; /* the client gave up: that is allowed */
			off += (size_t)w;
		}
	}
	close(fd);
	return NULL;
}

/* Start a fake daemon on a socketpair; returns the client's end. */
static int fake_start(struct fake *f)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->fd = sv[1];
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
	return sv[0];
}

static void fake_join(struct fake *f)
{
	assert_int_equal(pthread_join(f->thread, NULL), 0);
}

/* One round trip with the given answer; the client's fd is closed after. */
static enum dsmctl_call_status exchange(struct fake *f, const char *request,
					int timeout_ms, size_t max,
					struct json_object **answer,
					char *err, size_t errlen)
{
	int fd = fake_start(f);
	enum dsmctl_call_status st;

	st = dsmctl_roundtrip(fd, request, timeout_ms, max, answer, err, errlen);
	close(fd);
	fake_join(f);
	return st;
}

/* ---- answers ------------------------------------------------------------ */

static void test_status_roundtrip(void **state)
{
	struct fake f = {
		.answer = "{\"pid\":123,\"node\":{\"id\":1,\"name\":\"node1\"},\"mode\":\"enforcing\"}",
	};
	struct json_object *ans, *v;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_int_equal(exchange(&f, "status", 1000, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_OK);
	assert_string_equal(f.request, "status\n");
	assert_non_null(ans);
	assert_true(json_object_object_get_ex(ans, "pid", &v));
	assert_int_equal(json_object_get_int(v), 123);
	json_object_put(ans);
}

static void test_answer_in_pieces(void **state)
{
	struct fake f = {
		.answer = "  {\"processes\": [{\"pid\": 1, \"label\": \"unconfined\"}]}\n",
		.chunk = 3,
	};
	struct json_object *ans, *v;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_int_equal(exchange(&f, "ps", 1000, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_OK);
	assert_string_equal(f.request, "ps\n");
	assert_true(json_object_object_get_ex(ans, "processes", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object_put(ans);
}

static void test_exec_label_request(void **state)
{
	struct fake f = { .answer = "{\"ok\":true,\"label\":\"web\",\"label_id\":100}" };
	struct json_object *ans;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_int_equal(exchange(&f, "exec-label web", 1000, DSMCTL_ANSWER_MAX, &ans, err,
				  sizeof(err)), DSMCTL_CALL_OK);
	assert_string_equal(f.request, "exec-label web\n");
	json_object_put(ans);
}

static void test_error_object(void **state)
{
	struct fake f = { .answer = "{\"error\": \"exec-label: no label 'x' in the policy\"}" };
	struct json_object *ans = (struct json_object *)1;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_int_equal(exchange(&f, "exec-label x", 1000, DSMCTL_ANSWER_MAX, &ans, err,
				  sizeof(err)), DSMCTL_CALL_REMOTE);
	assert_null(ans);
	assert_string_equal(err, "exec-label: no label 'x' in the policy");
}

static void test_error_object_odd(void **state)
{
	struct fake f1 = { .answer = "{\"error\":\"bad\\u001b[31m\\nthing\"}" };
	struct fake f2 = { .answer = "{\"error\":42}" };
	struct fake f3 = { .answer = "{\"error\":\"\"}" };
	struct json_object *ans;
	char err[DSMCTL_ERR_MAX] = "", small[8];
	(void)state;

	/* Control characters from the daemon never reach the terminal. */
	assert_int_equal(exchange(&f1, "status", 1000, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_REMOTE);
	assert_string_equal(err, "bad?[31m?thing");
	assert_int_equal(exchange(&f2, "status", 1000, DSMCTL_ANSWER_MAX, &ans, small,
				  sizeof(small)), DSMCTL_CALL_REMOTE);
	assert_string_equal(small, "42");
	assert_int_equal(exchange(&f3, "status", 1000, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_REMOTE);
	assert_string_equal(err, "dsmd reported an error without a message");
}

static void test_oversize_answer(void **state)
{
	static const char padded[] = "{\"a\":1}         "; /* 16 bytes */
	struct fake ok = { .answer = padded, .len = 16 };
	struct fake big = { .answer = padded, .len = 16 };
	struct json_object *ans;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_int_equal(strlen(padded), 16);
	/* Exactly the limit is fine, one byte more is not. */
	assert_int_equal(exchange(&ok, "status", 1000, 16, &ans, err, sizeof(err)), DSMCTL_CALL_OK);
	json_object_put(ans);
	assert_int_equal(exchange(&big, "status", 1000, 15, &ans, err, sizeof(err)),
			 DSMCTL_CALL_PROTOCOL);
	assert_null(ans);
	assert_string_equal(err, "answer from dsmd is larger than 15 bytes");
}

static void test_oversize_default_limit(void **state)
{
	size_t len = DSMCTL_ANSWER_MAX + 1;
	char *huge = malloc(len);
	struct fake f = { .len = len, .chunk = 1 << 20 };
	struct json_object *ans;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_non_null(huge);
	memset(huge, ' ', len);
	huge[0] = '{';
	huge[len - 1] = '}';
	f.answer = huge;
	assert_int_equal(exchange(&f, "ps", 5000, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_PROTOCOL);
	assert_string_equal(err, "answer from dsmd is larger than 16 MiB");
	free(huge);
}

static void test_bad_json(void **state)
{
	static const struct {
		const char *answer;
		const char *err;
	} cases[] = {
		{ "not json", "answer from dsmd is not valid JSON: " },
		{ "{\"a\":", "answer from dsmd is not valid JSON: " },
		{ "{\"a\":\"b", "answer from dsmd is not valid JSON: " },
		{ "{} {}", "answer from dsmd has data after the JSON object" },
		{ "{}x", "answer from dsmd has data after the JSON object" },
		{ "[1,2]", "answer from dsmd is not a JSON object" },
		{ "42", "answer from dsmd is not a JSON object" },
		{ "\"error\"", "answer from dsmd is not a JSON object" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = { .answer = cases[i].answer };
		struct json_object *ans = (struct json_object *)1;
		char err[DSMCTL_ERR_MAX] = "";

		assert_int_equal(exchange(&f, "status", 1000, DSMCTL_ANSWER_MAX, &ans, err,
					  sizeof(err)), DSMCTL_CALL_PROTOCOL);
		assert_null(ans);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)))
			fail_msg("answer '%s': got '%s'", cases[i].answer, err);
	}
}

static void test_answer_with_nul(void **state)
{
	struct fake f = { .answer = "{}\0{}", .len = 5 };
	struct json_object *ans;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_int_equal(exchange(&f, "status", 1000, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_PROTOCOL);
	assert_string_equal(err, "answer from dsmd has data after the JSON object");
}

static void test_no_answer(void **state)
{
	struct fake f = { .answer = NULL };
	struct json_object *ans;
	char err[DSMCTL_ERR_MAX] = "";
	(void)state;

	assert_int_equal(exchange(&f, "status", 1000, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_IO);
	assert_string_equal(err, "dsmd closed the connection without answering");
}

static void test_timeout(void **state)
{
	struct fake f = { .hold = true };
	struct json_object *ans;
	char err[DSMCTL_ERR_MAX] = "";
	struct timespec t0, t1;
	long ms;
	(void)state;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(exchange(&f, "status", 200, DSMCTL_ANSWER_MAX, &ans, err, sizeof(err)),
			 DSMCTL_CALL_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(err, "no complete answer from dsmd within 200 ms");
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 190 && ms < 2000);
}

static void test_bad_requests(void **state)
{
	char big[DSMCTL_REQUEST_MAX + 2], err[DSMCTL_ERR_MAX] = "";
	struct json_object *ans;
	int sv[2];
	(void)state;

	/* Refused before anything is sent. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dsmctl_roundtrip(sv[0], big, 100, 100, &ans, err, sizeof(err)),
			 DSMCTL_CALL_PROTOCOL);
	assert_int_equal(dsmctl_roundtrip(sv[0], "two\nlines", 100, 100, &ans, err, sizeof(err)),
			 DSMCTL_CALL_PROTOCOL);
	assert_int_equal(dsmctl_roundtrip(sv[0], "", 100, 100, &ans, err, sizeof(err)),
			 DSMCTL_CALL_PROTOCOL);
	assert_string_equal(err, "invalid request: it must be one line of 1 to 510 bytes");
	big[DSMCTL_REQUEST_MAX] = '\0'; /* the longest allowed */
	close(sv[1]);
	assert_int_equal(dsmctl_roundtrip(sv[0], big, 100, 100, &ans, err, sizeof(err)),
			 DSMCTL_CALL_IO);
	close(sv[0]);
}

/* ---- connecting by path ------------------------------------------------- */

struct tmpdir {
	char dir[64];
	char sock[128];
};

static void tmp_make(struct tmpdir *t)
{
	strcpy(t->dir, "/tmp/dsmctl-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->sock, sizeof(t->sock), "%s/dsmd.sock", t->dir);
}

static void tmp_remove(struct tmpdir *t)
{
	unlink(t->sock);
	assert_int_equal(rmdir(t->dir), 0);
}

static int bind_unix(const char *path, bool do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_call_by_path(void **state)
{
	struct fake f = { .listen = true, .answer = "{\"ok\":true}" };
	struct json_object *ans, *v;
	char err[DSMCTL_ERR_MAX] = "";
	struct tmpdir t;
	(void)state;

	tmp_make(&t);
	f.fd = bind_unix(t.sock, true);
	assert_int_equal(pthread_create(&f.thread, NULL, fake_run, &f), 0);
	assert_int_equal(dsmctl_call(t.sock, "exec-label web", &ans, err, sizeof(err)),
			 DSMCTL_CALL_OK);
	fake_join(&f);
	close(f.fd);
	/* The daemon knows the caller by its credentials: this process. */
	assert_int_equal(f.peer_pid, getpid());
	assert_string_equal(f.request, "exec-label web\n");
	assert_true(json_object_object_get_ex(ans, "ok", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(ans);
	tmp_remove(&t);
}

static void test_daemon_not_running(void **state)
{
	struct json_object *ans = (struct json_object *)1;
	char err[DSMCTL_ERR_MAX] = "", want[DSMCTL_ERR_MAX];
	struct tmpdir t;
	(void)state;

	tmp_make(&t);
	/* No socket file at all. */
	assert_int_equal(dsmctl_call(t.sock, "status", &ans, err, sizeof(err)),
			 DSMCTL_CALL_NOT_RUNNING);
	assert_null(ans);
	assert_int_equal(dsmctl_exit_status(DSMCTL_CALL_NOT_RUNNING), DSMCTL_EXIT_NOT_RUNNING);
	snprintf(want, sizeof(want),
		 "cannot connect to dsmd at %s: No such file or directory (is dsmd running?)",
		 t.sock);
	assert_string_equal(err, want);
	/* A stale socket file nobody listens on (dsmd died). */
	close(bind_unix(t.sock, false));
	assert_int_equal(dsmctl_connect(t.sock, 100, err, sizeof(err)), -1);
	assert_int_equal(dsmctl_connect_status(errno), DSMCTL_CALL_NOT_RUNNING);
	snprintf(want, sizeof(want),
		 "cannot connect to dsmd at %s: Connection refused (is dsmd running?)", t.sock);
	assert_string_equal(err, want);
	assert_int_equal(dsmctl_call(t.sock, "status", &ans, err, sizeof(err)),
			 DSMCTL_CALL_NOT_RUNNING);
	tmp_remove(&t);
}

static void test_connect_bad_paths(void **state)
{
	char err[DSMCTL_ERR_MAX] = "", path[200];
	(void)state;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(dsmctl_connect(path, 100, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": socket path longer than 107 bytes"));
	assert_int_equal(dsmctl_connect("", 100, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot connect to dsmd: empty socket path");
	assert_int_equal(dsmctl_connect("/proc/self/status", 100, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot connect to dsmd at /proc/self/status: "
				 "Connection refused (is dsmd running?)");
}

static void test_connect_backlog_full(void **state)
{
	char err[DSMCTL_ERR_MAX] = "";
	struct tmpdir t;
	int lfd, fds[8], n = 0, fd;
	(void)state;

	/* A daemon that never accepts: the backlog fills, then we time out. */
	tmp_make(&t);
	lfd = bind_unix(t.sock, false);
	assert_int_equal(listen(lfd, 0), 0);
	while (n < 8 && (fd = dsmctl_connect(t.sock, 50, err, sizeof(err))) >= 0)
		fds[n++] = fd;
	assert_true(n < 8);
	assert_int_equal(dsmctl_connect_status(errno), DSMCTL_CALL_TIMEOUT);
	assert_int_equal(dsmctl_exit_status(DSMCTL_CALL_TIMEOUT), DSMCTL_EXIT_STALLED);
	assert_non_null(strstr(err, ": no answer within 50 ms (dsmd busy?)"));
	while (n)
		close(fds[--n]);
	close(lfd);
	tmp_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_roundtrip),
		cmocka_unit_test(test_answer_in_pieces),
		cmocka_unit_test(test_exec_label_request),
		cmocka_unit_test(test_error_object),
		cmocka_unit_test(test_error_object_odd),
		cmocka_unit_test(test_oversize_answer),
		cmocka_unit_test(test_oversize_default_limit),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_answer_with_nul),
		cmocka_unit_test(test_no_answer),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_call_by_path),
		cmocka_unit_test(test_daemon_not_running),
		cmocka_unit_test(test_connect_bad_paths),
		cmocka_unit_test(test_connect_backlog_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
