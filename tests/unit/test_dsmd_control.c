// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd's control socket (dsmd/control.c, loop.c, authz.c, closer.c) with
 * its real event loop on a real unix socket, the kernel's part faked: the
 * label the connect hook stamps on an accepted socket comes from a queue
 * the test fills (one per connection), and alarms are recorded instead of
 * logged. The request table is the test's.
 *
 *  - authorization: class dsm from the caller's label to dsmd's, with the
 *    fallbacks and permissive labels of the shared library; a denial is
 *    answered and raised as an alarm; an unlabeled connection is denied;
 *  - the client state machine: a request in pieces, a line too long, a
 *    request without its newline, an unknown verb, a handler that does
 *    not answer, descriptors passed with a request;
 *  - nothing a client does holds up the others: a silent client and one
 *    that never takes its answer are ended at their deadline while other
 *    clients are served; a client that closes before its answer costs an
 *    EPIPE (SIGPIPE would end this test); too many connections, or too
 *    many from one label, are turned away with an answer;
 *  - streams: parts pulled as the client takes them, pushes beyond the
 *    bound refused, the end callback run whatever ends the stream;
 *  - a socket whose close lingers, passed or left unread in a connection,
 *    holds up neither the loop nor the end of any connection.
 *
 * The deadlines are shortened for the test (they are the only change).
 */
#define DSMD_CTL_REQUEST_MS  1500
#define DSMD_CTL_ANSWER_MS   1500
#define DSMD_CTL_CLIENTS_MAX 8
#define DSMD_CTL_LABEL_MAX   4
#define DSMD_CTL_STREAM_MAX  (64u << 10)

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmd/authz.c"
#include "../../dsmd/closer.c"
#include "../../dsmd/control.c"

/* ---- what the test stands in for ------------------------------------- */

void log_msg(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

int log_errno(int level, int err, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
	return err;
}

/* The labels the "kernel" stamps on the next accepted sockets; 0: none. */
static uint32_t peer_queue[64];
static size_t peer_head, peer_tail;

static void next_peers(uint32_t label, size_t n)
{
	while (n--)
		peer_queue[peer_tail++ % 64] = label;
}

int dsmd_socket_ctx(const struct dsmd *d, int fd, struct dsm_sock_ctx *out)
{
	uint32_t label = peer_head < peer_tail ? peer_queue[peer_head++ % 64] : 0;

	(void)d;
	(void)fd;
	if (!label)
		return -ENOENT;
	*out = (struct dsm_sock_ctx){ .peer_label = label, .peer_node = DSM_NODE_LOCAL,
				      .flags = DSM_SOCK_F_PEER_BOUND };
	return 0;
}

static struct dsm_event alarms[64];
static size_t nalarms;

void dsmd_alarm_raise(struct dsmd *d, const struct dsm_event *e)
{
	(void)d;
	if (nalarms < 64)
		alarms[nalarms++] = *e;
}

/* ---- the policy: labels and who may ask what ---------------------------- */

enum { OP = 1, DSMD = 2, SVC = 3, LAX = 4, NOBODY = 5 };

static const char policy_src[] =
	"policy t version 1;\n"
	"label op = 1; label dsmd = 2; label svc = 3; label lax = 4; label nobody = 5;\n"
	"initial op;\n"
	"permissive lax;\n"
	"allow op dsmd : dsm *;\n"
	"allow svc dsmd : dsm peerlabel;\n";

static struct dsm_policy *make_policy(const char *src, bool with_dsmd_label)
{
	struct dsm_entry v = { .key = dsm_key_config(DSM_CFG_DSMD_LABEL), .val.aux = DSMD };
	struct dsm_policy *p = NULL;

	assert_int_equal(dsm_policy_compile("t", src, strlen(src), &p, NULL), 0);
	if (with_dsmd_label)
		assert_int_equal(dsm_policy_set_local(p, &v, 1), 0);
	return p;
}

/* ---- the test's requests ------------------------------------------------ */

static int passed_seen = -2;

static void req_echo(struct dsmd *d, struct dsmd_call *call)
{
	json_object *o = json_object_new_object();

	(void)d;
	json_object_object_add(o, "arg", json_object_new_string(call->arg ? call->arg : ""));
	passed_seen = call->passed_fd;
	dsmd_client_answer(call->client, o);
}

static void req_big(struct dsmd *d, struct dsmd_call *call)
{
	static char big[1 << 20];
	json_object *o = json_object_new_object();

	(void)d;
	memset(big, 'x', sizeof(big) - 1);
	json_object_object_add(o, "big", json_object_new_string(big));
	dsmd_client_answer(call->client, o);
}

static void req_silent(struct dsmd *d, struct dsmd_call *call)
{
	(void)d;
	(void)call; /* no answer: control.c must answer for it */
}

struct stream_ctx {
	int parts, pulled;
	bool ended;
	struct dsmd_client *c;
};

static struct stream_ctx stream_state;

static int stream_fill(struct dsmd *d, struct dsmd_client *c, void *ctx)
{
	struct stream_ctx *s = ctx;
	char line[64];
	int n;

	(void)d;
	if (s->pulled == s->parts) {
		dsmd_client_finish(c);
		return 0;
	}
	n = snprintf(line, sizeof(line), "{\"part\":%d}\n", s->pulled++);
	assert_int_equal(dsmd_client_write(c, line, (size_t)n), 0);
	return 1;
}

static void stream_end(struct dsmd *d, void *ctx)
{
	(void)d;
	((struct stream_ctx *)ctx)->ended = true;
}

static void req_stream(struct dsmd *d, struct dsmd_call *call)
{
	(void)d;
	stream_state = (struct stream_ctx){ .parts = call->arg ? atoi(call->arg) : 3,
					    .c = call->client };
	dsmd_client_stream(call->client, stream_fill, stream_end, &stream_state);
}

/* A stream with nothing to pull: parts are pushed from outside. */
static void req_live(struct dsmd *d, struct dsmd_call *call)
{
	(void)d;
	stream_state = (struct stream_ctx){ .c = call->client };
	dsmd_client_stream(call->client, NULL, stream_end, &stream_state);
}

static const struct dsmd_request table[] = {
	{ "echo",   DSM_PERM_QUERY,     req_echo },
	{ "peer",   DSM_PERM_PEERLABEL, req_echo },
	{ "admin",  DSM_PERM_ADMIN,     req_echo },
	{ "big",    DSM_PERM_QUERY,     req_big },
	{ "silent", DSM_PERM_QUERY,     req_silent },
	{ "stream", DSM_PERM_QUERY,     req_stream },
	{ "live",   DSM_PERM_QUERY,     req_live },
};

/* ---- a dsmd with a control socket in a directory of its own ------------ */

struct fixture {
	struct dsmd d;
	char dir[64];
	char sock[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/dsmd-control-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/dsmd.sock", f->dir);
	f->d.o.state_dir = f->dir;
	f->d.policy = make_policy(policy_src, true);
	if (dsm_loop_open(&f->d.loop) || dsmd_control_open(&f->d, table, 7) ||
	    dsmd_closer_start())
		return -1;
	peer_head = peer_tail = 0;
	nalarms = 0;
	passed_seen = -2;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dsmd_control_close(&f->d);
	dsm_loop_close(f->d.loop);
	dsm_policy_free(f->d.policy);
	dsmd_closer_stop();
	rmdir(f->dir);
	free(f);
	return 0;
}

static uint64_t ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Run dsmd's loop (and its tick) for ms milliseconds. */
static void pump(struct fixture *f, int ms)
{
	uint64_t end = ms_now() + (uint64_t)ms;

	while (ms_now() < end) {
		dsm_loop_once(f->d.loop, &f->d, 10);
		dsmd_control_tick(&f->d);
	}
}

static int client(struct fixture *f, uint32_t label)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, f->sock);
	next_peers(label, 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void say(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* What dsmd sent until now (up to len - 1 bytes); *closed: it closed. */
static size_t heard(int fd, char *buf, size_t len, bool *closed)
{
	size_t got = 0;
	ssize_t n;

	*closed = false;
	while (got < len - 1 && (n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT)) != 0) {
		if (n < 0)
			break;
		got += (size_t)n;
	}
	if (got < len - 1 && recv(fd, buf + got, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
		*closed = true;
	buf[got] = '\0';
	return got;
}

/* Run the loop until dsmd has closed fd (at most 2 s: a busy machine). */
static void pump_until_closed(struct fixture *f, int fd)
{
	uint64_t end = ms_now() + 2000;
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	while (ms_now() < end) {
		dsm_loop_once(f->d.loop, &f->d, 10);
		dsmd_control_tick(&f->d);
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP)))
			return;
	}
}

/* Read everything dsmd sends on fd until it closes. */
static size_t heard_all(struct fixture *f, int fd, char *buf, size_t len)
{
	uint64_t end = ms_now() + 2000;
	size_t got = 0;
	ssize_t n;

	while (ms_now() < end && got < len - 1) {
		n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		dsm_loop_once(f->d.loop, &f->d, 10);
		dsmd_control_tick(&f->d);
	}
	buf[got] = '\0';
	return got;
}

/* One request, its whole answer. */
static void ask(struct fixture *f, uint32_t label, const char *req, char *buf, size_t len)
{
	int fd = client(f, label);
	bool closed;

	say(fd, req);
	heard_all(f, fd, buf, len);
	heard(fd, buf + strlen(buf), len - strlen(buf), &closed);
	assert_true(closed);
	close(fd);
}

/* ---- authorization ------------------------------------------------------ */

static void test_authorize(void **state)
{
	struct fixture *f = *state;
	struct dsmd_caller op = { .label = OP, .known = true, .pid = 7 },
			   svc = { .label = SVC, .known = true, .pid = 8 },
			   nobody = { .label = NOBODY, .known = true, .pid = 9 },
			   unknown = { .known = false, .pid = 10 };

	assert_int_equal(dsmd_authorize(&f->d, &op, DSM_PERM_QUERY), 0);
	assert_int_equal(dsmd_authorize(&f->d, &op, DSM_PERM_ADMIN), 0);
	assert_int_equal(dsmd_authorize(&f->d, &svc, DSM_PERM_PEERLABEL), 0);
	assert_int_equal(nalarms, 0);
	assert_int_equal(dsmd_authorize(&f->d, &svc, DSM_PERM_ADMIN), -EACCES);
	assert_int_equal(nalarms, 1);
	assert_int_equal(alarms[0].kind, DSM_EV_DECISION);
	assert_int_equal(alarms[0].verdict, DSM_VERDICT_DENY);
	assert_int_equal(alarms[0].err, -EACCES);
	assert_int_equal(alarms[0].d.class, DSM_CLASS_DSM);
	assert_int_equal(alarms[0].d.perm, DSM_PERM_ADMIN);
	assert_int_equal(alarms[0].d.subject, SVC);
	assert_int_equal(alarms[0].d.target, DSMD);
	assert_int_equal(alarms[0].pid, 8);
	assert_int_equal(dsmd_authorize(&f->d, &nobody, DSM_PERM_QUERY), -EACCES);
	/* Fail closed: a connection the kernel did not name. */
	assert_int_equal(dsmd_authorize(&f->d, &unknown, DSM_PERM_QUERY), -EACCES);
	assert_int_equal(nalarms, 3);
	assert_int_equal(alarms[2].d.subject, DSM_LABEL_INVALID);
}

static void test_authorize_permissive(void **state)
{
	struct fixture *f = *state;
	struct dsmd_caller lax = { .label = LAX, .known = true, .pid = 11 },
			   svc = { .label = SVC, .known = true, .pid = 12 };
	struct dsm_policy *p;

	/* A permissive label passes, and the pass is an alarm. */
	assert_int_equal(dsmd_authorize(&f->d, &lax, DSM_PERM_ADMIN), 0);
	assert_int_equal(nalarms, 1);
	assert_int_equal(alarms[0].verdict, DSM_VERDICT_PERMISSIVE);
	assert_int_equal(alarms[0].err, 0);
	/* A permissive policy: everything passes, reported. */
	p = make_policy("policy t version 2; mode permissive;\n"
			"label op = 1; label dsmd = 2; label svc = 3;\ninitial op;\n", true);
	dsm_policy_free(f->d.policy);
	f->d.policy = p;
	assert_int_equal(dsmd_authorize(&f->d, &svc, DSM_PERM_ADMIN), 0);
	assert_int_equal(alarms[1].verdict, DSM_VERDICT_PERMISSIVE);
	/* A policy without dsmd's label: nobody may ask anything. */
	p = make_policy(policy_src, false);
	dsm_policy_free(f->d.policy);
	f->d.policy = p;
	svc.label = OP;
	assert_int_equal(dsmd_authorize(&f->d, &svc, DSM_PERM_QUERY), -EACCES);
}

static void test_self_rule(void **state)
{
	struct fixture *f = *state;
	struct dsmd_caller self = { .label = DSMD, .known = true },
			   op = { .label = OP, .known = true };
	struct dsm_policy *p;

	/* dsmd's own label asking (dsmd --unload): a `self` rule. */
	p = make_policy("policy t version 3;\n"
			"label op = 1; label dsmd = 2;\ninitial op;\n"
			"allow dsmd self : dsm admin;\n", true);
	dsm_policy_free(f->d.policy);
	f->d.policy = p;
	assert_int_equal(dsmd_authorize(&f->d, &self, DSM_PERM_ADMIN), 0);
	assert_int_equal(dsmd_authorize(&f->d, &self, DSM_PERM_QUERY), -EACCES);
	assert_int_equal(dsmd_authorize(&f->d, &op, DSM_PERM_ADMIN), -EACCES);
}

/* ---- requests ----------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	char buf[4096];

	ask(f, OP, "echo hello world\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"hello world\"}");
	assert_int_equal(passed_seen, -1);
	ask(f, OP, "echo\r\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"\"}");
}

static void test_denied_answer(void **state)
{
	struct fixture *f = *state;
	char buf[4096];

	ask(f, SVC, "admin\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"error\":\"admin: permission denied (your label has no dsm "
				 "admin on dsmd)\"}");
	assert_int_equal(nalarms, 1);
	assert_int_equal(alarms[0].d.perm, DSM_PERM_ADMIN);
	ask(f, SVC, "peer\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"\"}");
	/* No context on the accepted socket: denied, whatever is asked. */
	ask(f, 0, "echo\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "permission denied"));
	assert_int_equal(nalarms, 2);
	assert_int_equal(alarms[1].d.subject, DSM_LABEL_INVALID);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	char buf[4096], line[DSMD_CTL_LINE_MAX + 64];
	struct dsmd_control_stats st;
	bool closed;
	int fd;

	ask(f, OP, "nosuch thing\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"error\":\"unknown request 'nosuch'\"}");
	ask(f, OP, "silent\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"error\":\"silent: dsmd gave no answer (internal error)\"}");
	/* A line too long: answered as soon as it is too long. */
	memset(line, 'e', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	fd = client(f, OP);
	say(fd, line);
	pump_until_closed(f, fd);
	heard(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_string_equal(buf, "{\"error\":\"the request must be one line of at most 510 "
				 "bytes\"}");
	close(fd);
	/* The longest line there may be is served. */
	memcpy(line, "echo ", 5);
	line[DSMD_CTL_LINE_MAX] = '\n';
	line[DSMD_CTL_LINE_MAX + 1] = '\0';
	ask(f, OP, line, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"arg\":\"eee"));
	/* The client shuts down its side before the newline. */
	fd = client(f, OP);
	say(fd, "echo");
	shutdown(fd, SHUT_WR);
	pump_until_closed(f, fd);
	heard(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_string_equal(buf, "{\"error\":\"the request must end with a newline\"}");
	close(fd);
	dsmd_control_stats(&f->d, &st);
	assert_int_equal(st.bad_requests, 3);
	assert_int_equal(st.clients, 0);
}

static void test_request_in_pieces(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	bool closed;
	int fd = client(f, OP);

	say(fd, "ec");
	pump(f, 100);
	assert_int_equal(heard(fd, buf, sizeof(buf), &closed), 0);
	assert_false(closed);
	say(fd, "ho a");
	pump(f, 100);
	say(fd, "b\nignored");
	pump_until_closed(f, fd);
	heard(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_string_equal(buf, "{\"arg\":\"ab\"}");
	close(fd);
}

/* Send req with the descriptors fds[0..n). */
static void say_with_fds(int fd, const char *req, const int *fds, size_t n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)] = { 0 };
	struct iovec iov = { .iov_base = (void *)req, .iov_len = strlen(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)strlen(req));
}

static void test_passed_descriptors(void **state)
{
	struct fixture *f = *state;
	int sv[2], fds[2], fd;
	char buf[512];
	bool closed;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fds[0] = sv[0];
	fds[1] = sv[1];
	fd = client(f, SVC);
	say_with_fds(fd, "peer\n", fds, 1);
	pump_until_closed(f, fd);
	heard(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_true(passed_seen >= 0); /* the handler saw it; dsmd closed its copy */
	close(fd);
	fd = client(f, SVC);
	say_with_fds(fd, "peer\n", fds, 2);
	pump_until_closed(f, fd);
	heard(fd, buf, sizeof(buf), &closed);
	assert_string_equal(buf, "{\"error\":\"peer: at most one descriptor may come with a "
				 "request\"}");
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/* ---- nothing holds dsmd up ----------------------------------------------- */

static void test_silent_client_times_out(void **state)
{
	struct fixture *f = *state;
	struct dsmd_control_stats st;
	char buf[256];
	bool closed;
	int fd = client(f, OP);

	pump(f, 100);
	/* Others are served meanwhile. */
	ask(f, OP, "echo x\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"x\"}");
	heard(fd, buf, sizeof(buf), &closed);
	assert_false(closed);
	pump(f, DSMD_CTL_REQUEST_MS + 100);
	heard(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_int_equal(buf[0], '\0');
	dsmd_control_stats(&f->d, &st);
	assert_int_equal(st.timed_out, 1);
	close(fd);
}

static void test_reader_that_never_reads(void **state)
{
	struct fixture *f = *state;
	struct dsmd_control_stats st;
	char buf[256];
	uint64_t t0;
	bool closed;
	int fd = client(f, OP);

	say(fd, "big\n");
	t0 = ms_now();
	pump(f, 50);
	ask(f, OP, "echo y\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"y\"}");
	assert_true(ms_now() - t0 < DSMD_CTL_ANSWER_MS);
	pump(f, DSMD_CTL_ANSWER_MS + 100);
	dsmd_control_stats(&f->d, &st);
	assert_int_equal(st.timed_out, 1);
	assert_int_equal(st.clients, 0);
	heard(fd, buf, sizeof(buf), &closed);
	close(fd);
}

static void test_client_leaves_early(void **state)
{
	struct fixture *f = *state;
	struct dsmd_control_stats st;
	char buf[256];
	int fd = client(f, OP);

	/* A large answer to a client already gone: EPIPE, not SIGPIPE. */
	say(fd, "big\n");
	close(fd);
	pump(f, 100);
	dsmd_control_stats(&f->d, &st);
	assert_int_equal(st.clients, 0);
	assert_true(st.closed_early + st.served >= 1);
	ask(f, OP, "echo z\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"z\"}");
}

static void test_too_many_clients(void **state)
{
	struct fixture *f = *state;
	int held[DSMD_CTL_CLIENTS_MAX + 1], n = 0, fd;
	struct dsmd_control_stats st;
	char buf[256];
	bool closed;

	/* One label may hold DSMD_CTL_LABEL_MAX connections, no more. */
	for (; n < DSMD_CTL_LABEL_MAX; n++)
		held[n] = client(f, SVC);
	pump(f, 100);
	fd = client(f, SVC);
	pump_until_closed(f, fd);
	heard(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_string_equal(buf, "{\"error\":\"dsmd is serving too many connections; try again\"}");
	close(fd);
	/* Another label still gets in, up to the total. */
	ask(f, OP, "echo in\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"in\"}");
	for (; n < DSMD_CTL_CLIENTS_MAX; n++)
		held[n] = client(f, n % 2 ? LAX : OP);
	pump(f, 100);
	fd = client(f, NOBODY);
	pump_until_closed(f, fd);
	heard(fd, buf, sizeof(buf), &closed);
	assert_true(closed);
	assert_non_null(strstr(buf, "too many connections"));
	close(fd);
	dsmd_control_stats(&f->d, &st);
	assert_int_equal(st.rejected_busy, 2);
	assert_int_equal(st.clients, DSMD_CTL_CLIENTS_MAX);
	while (n)
		close(held[--n]);
	pump(f, 50);
	dsmd_control_stats(&f->d, &st);
	assert_int_equal(st.clients, 0);
}

/* ---- streams ------------------------------------------------------------ */

static void test_stream_pulls(void **state)
{
	struct fixture *f = *state;
	char buf[256];

	ask(f, OP, "stream 3\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"part\":0}\n{\"part\":1}\n{\"part\":2}\n");
	assert_true(stream_state.ended);
}

static void test_stream_pushes(void **state)
{
	struct fixture *f = *state;
	static char chunk[DSMD_CTL_STREAM_MAX / 4];
	char buf[256];
	bool closed;
	int fd = client(f, OP), refused = 0;

	say(fd, "live\n");
	pump(f, 100);
	assert_non_null(stream_state.c);
	assert_int_equal(dsmd_client_write(stream_state.c, "{\"a\":1}\n", 8), 0);
	pump(f, 100);
	heard(fd, buf, sizeof(buf), &closed);
	assert_false(closed);
	assert_string_equal(buf, "{\"a\":1}\n");
	/* A client that does not read: pushes beyond the bound are refused. */
	memset(chunk, 'p', sizeof(chunk));
	for (int i = 0; i < 64 && !stream_state.ended; i++) {
		refused += dsmd_client_write(stream_state.c, chunk, sizeof(chunk)) == -ENOBUFS;
		pump(f, 5);
	}
	assert_true(refused > 0);
	/* ... and it is ended once it has taken nothing for the deadline. */
	pump(f, DSMD_CTL_ANSWER_MS + 100);
	assert_true(stream_state.ended);
	close(fd);
}

static void test_stream_client_goes(void **state)
{
	struct fixture *f = *state;
	int fd = client(f, OP);

	say(fd, "live\n");
	pump(f, 100);
	assert_false(stream_state.ended);
	close(fd);
	pump(f, 100);
	assert_true(stream_state.ended);
}

/* A TCP socket whose close waits: SO_LINGER with a time, data that cannot
 * be sent (its peer is a listener that never accepts). *l: the listener. */
static int lingering_socket(int *l)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger lg = { .l_onoff = 1, .l_linger = 5 };
	socklen_t len = sizeof(sa);
	static char chunk[65536];
	int t;

	*l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*l >= 0);
	assert_int_equal(bind(*l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(*l, 1), 0);
	assert_int_equal(getsockname(*l, (struct sockaddr *)&sa, &len), 0);
	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(t, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(t, F_SETFL, O_NONBLOCK);
	while (send(t, chunk, sizeof(chunk), MSG_NOSIGNAL) > 0)
		;
	assert_int_equal(setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	return t;
}

/*
 * A client passes a socket whose close would linger and closes its own
 * copy: dsmd's close is the last. dsmd turns the linger off: nothing waits.
 */
static void test_passed_socket_lingers(void **state)
{
	struct fixture *f = *state;
	struct linger lg;
	socklen_t len = sizeof(lg);
	int l, t = lingering_socket(&l), fd;
	char buf[256];
	uint64_t t0;

	fd = client(f, SVC);
	say_with_fds(fd, "peer\n", &t, 1);
	pump_until_closed(f, fd);
	close(fd);
	/* Our copy still names the socket: its linger is off now. */
	assert_int_equal(getsockopt(t, SOL_SOCKET, SO_LINGER, &lg, &len), 0);
	assert_int_equal(lg.l_onoff, 0);
	close(t);
	t0 = ms_now();
	ask(f, OP, "echo on\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"on\"}");
	assert_true(ms_now() - t0 < 1000);
	close(l);
}

/*
 * Descriptors left unread in a connection are released when dsmd closes
 * it, and one of them lingers: the closer thread waits, the loop does not,
 * and every later client still sees its connection end at once (it is
 * shut down before the closer gets it). Last: it leaves the closer busy.
 */
static void test_unread_socket_lingers(void **state)
{
	struct fixture *f = *state;
	int l, t = lingering_socket(&l), fd, sv[2];
	char buf[256];
	uint64_t t0;

	/* A big answer the client does not take: dsmd reads nothing more. */
	fd = client(f, OP);
	say(fd, "big\n");
	pump(f, 100);
	say_with_fds(fd, "x", &t, 1);
	close(t);
	close(fd);
	pump(f, 100);
	t0 = ms_now();
	ask(f, OP, "echo on\n", buf, sizeof(buf));
	assert_string_equal(buf, "{\"arg\":\"on\"}");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd = client(f, SVC);
	say_with_fds(fd, "peer\n", &sv[0], 1);
	pump_until_closed(f, fd);
	close(fd);
	assert_true(ms_now() - t0 < 1000);
	assert_true(dsmd_closer_pending() >= 1); /* behind the lingering close */
	close(sv[0]);
	close(sv[1]);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_authorize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authorize_permissive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passed_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_client_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_that_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_leaves_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_pulls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_pushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_client_goes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passed_socket_lingers, setup, teardown),
		/* Last: it leaves the closer thread busy for seconds. */
		cmocka_unit_test_setup_teardown(test_unread_socket_lingers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
