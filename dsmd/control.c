// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket dsmctl talks to (docs/dsmctl.md): one request line
 * per connection, then one JSON answer, or a stream of JSON lines, and the
 * connection ends.
 *
 * Who asks is what the kernel says: the unix connect hook (bpf/unix.bpf.h)
 * stamps the server end of every connection with the connecting task's
 * label before the connection exists, and dsmd reads it from the socket
 * it accepted. Each request needs its class dsm permission from that
 * label to dsmd's (authz.c); a denial is answered and raised as an alarm.
 * The socket itself is 0666: the label decides, not the uid, so a service
 * that dropped root can still ask for its peer's label.
 *
 * Nothing a client does can hold dsmd up. Every socket is non-blocking
 * and served from the one event loop; a request must arrive within
 * DSMD_CTL_REQUEST_MS of the connect and its answer be taken within
 * DSMD_CTL_ANSWER_MS; input is one bounded line, output bounded per
 * client; at most DSMD_CTL_CLIENTS_MAX connections are served at once,
 * DSMD_CTL_LABEL_MAX of them from any one label, and a connection beyond
 * that is told so and closed at once. Answers are sent with MSG_NOSIGNAL,
 * so a client that leaves early costs an EPIPE, not dsmd. Connections and
 * passed descriptors are closed by the closer thread (closer.c): their
 * last close can block. A connection is shut down before that, so its
 * client sees the end at once; a passed socket that would linger is told
 * not to; and while the closer is far behind, no connection is accepted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "closer.h"
#include "control.h"
#include "dsmd.h"
#include "evloop.h"

#define ACCEPT_BURST  16  /* connections accepted per wakeup */
#define FDS_PER_RECV  253 /* SCM_MAX_FD: room for every descriptor one
			   * message can carry, so the kernel never drops
			   * (and closes, in this thread) any of them */
#define LOG_EVERY_MS  10000
#define CLOSER_BACKLOG_MAX 256 /* descriptors waiting for the closer */

enum client_state {
	CLIENT_READING,   /* waiting for the request line */
	CLIENT_ANSWERING, /* sending the one answer */
	CLIENT_STREAMING, /* sending JSON lines until finished */
};

struct dsmd_client {
	struct dsm_source src;          /* first: the loop hands it back */
	struct dsmd *d;
	struct dsmd_client *next, *prev;
	struct dsmd_caller caller;
	enum client_state state;
	char line[DSMD_CTL_LINE_MAX + 2]; /* the line, its '\n', a NUL */
	size_t line_len;
	int passed_fd;                   /* -1: none */
	unsigned passed;                 /* descriptors received in all */
	char *out;                       /* pending output: out[off..len) */
	size_t out_off, out_len, out_cap;
	bool finishing;                  /* end once the output is sent */
	bool read_shut;                  /* the client shut down its side */
	uint64_t deadline_ms;            /* READING, ANSWERING: monotonic */
	uint64_t progress_ms;            /* STREAMING: last output taken */
	dsmd_fill_fn *fill;
	dsmd_end_fn *end;
	void *ctx;
};

struct dsmd_control {
	struct dsm_source listen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct dsmd_request *table;
	size_t ntable;
	struct dsmd_client *clients;
	bool paused;                     /* accept paused: out of descriptors */
	uint64_t busy_logged_ms, timeout_logged_ms, pause_logged_ms;
	struct dsmd_control_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static size_t pending(const struct dsmd_client *c)
{
	return c->out_len - c->out_off;
}

static const char *caller_name(const struct dsmd *d, const struct dsmd_caller *w, char *buf,
			       size_t len)
{
	const char *n = w->known && d->policy ? dsm_policy_label_name(d->policy, w->label) : NULL;

	if (!w->known)
		snprintf(buf, len, "an unlabeled connection (pid %d)", w->pid);
	else if (n)
		snprintf(buf, len, "%s (pid %d)", n, w->pid);
	else
		snprintf(buf, len, "label %u (pid %d)", w->label, w->pid);
	return buf;
}

/* ---- ending a connection ------------------------------------------------ */

/*
 * A descriptor a client passed: closed by the closer thread, and a socket
 * whose close would wait (SO_LINGER with a time) is first told not to: the
 * client may have closed its own copy, making dsmd's close the last one.
 * The socket's owner, if it still has it, then closes it in the
 * background instead of waiting; nothing else changes for it.
 */
static void release_passed(int fd)
{
	struct linger lg;
	socklen_t len = sizeof(lg);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0 && lg.l_onoff && lg.l_linger) {
		lg = (struct linger){ 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	dsmd_closer_put(fd);
}

/* A connection: shut down here, so the client sees its end at once, then
 * closed by the closer thread (descriptors it left unread in the
 * connection are released by that close, and may linger). */
static void release_connection(int fd)
{
	shutdown(fd, SHUT_RDWR);
	dsmd_closer_put(fd);
}

static void client_close(struct dsmd_client *c)
{
	struct dsmd_control *ctl = c->d->ctl;

	dsm_loop_del(c->d->loop, &c->src);
	release_connection(c->src.fd);
	release_passed(c->passed_fd);
	if (c->end)
		c->end(c->d, c->ctx);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->st.clients--;
	free(c->out);
	free(c);
}

static void client_gone(struct dsmd_client *c, const char *why)
{
	char who[96];

	c->d->ctl->st.closed_early++;
	log_debug("control: %s went away %s", caller_name(c->d, &c->caller, who, sizeof(who)), why);
	client_close(c);
}

/* ---- output ------------------------------------------------------------- */

static int out_reserve(struct dsmd_client *c, size_t len)
{
	size_t cap;
	char *p;

	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_cap - c->out_len >= len)
		return 0;
	if (c->out_off) { /* slide what is pending to the front */
		memmove(c->out, c->out + c->out_off, pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_cap - c->out_len >= len)
			return 0;
	}
	cap = c->out_cap ? c->out_cap : 4096;
	while (cap - c->out_len < len)
		cap *= 2;
	p = realloc(c->out, cap);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

static int out_append(struct dsmd_client *c, const char *data, size_t len)
{
	int err = out_reserve(c, len);

	if (err)
		return err;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Send what is pending, without waiting: 0, or -errno for a client that
 * went away (EPIPE, ECONNRESET). */
static int out_flush(struct dsmd_client *c)
{
	while (pending(c)) {
		ssize_t n = send(c->src.fd, c->out + c->out_off, pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		c->out_off += (size_t)n;
		c->progress_ms = now_ms();
	}
	return 0;
}

/*
 * After anything happened to c: send what can be sent, pull the next part
 * of a stream, end a finished connection, and watch for what comes next.
 * Never called while another client is being written to from outside
 * (dsmd_client_write only queues), so ending c here is safe.
 */
static void client_update(struct dsmd_client *c)
{
	uint32_t want = 0;
	int err;

	for (;;) {
		err = out_flush(c);
		if (err) {
			client_gone(c, "before taking its answer");
			return;
		}
		if (pending(c) || c->finishing || c->state != CLIENT_STREAMING || !c->fill)
			break;
		if (c->fill(c->d, c, c->ctx) <= 0 || !pending(c))
			break;
	}
	if (!pending(c) && c->finishing) {
		c->d->ctl->st.served++;
		client_close(c);
		return;
	}
	if (c->state == CLIENT_READING || (c->state == CLIENT_STREAMING && !c->read_shut))
		want |= EPOLLIN;
	if (pending(c))
		want |= EPOLLOUT;
	if (dsm_loop_watch(c->d->loop, &c->src, want))
		client_gone(c, "(cannot watch its connection)");
}

void dsmd_client_answer(struct dsmd_client *c, json_object *o)
{
	const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	size_t len = s ? strlen(s) : 0;

	c->state = CLIENT_ANSWERING;
	c->finishing = true;
	c->deadline_ms = now_ms() + DSMD_CTL_ANSWER_MS;
	c->out_off = c->out_len = 0;
	if (!s || len > DSMD_CTL_ANSWER_MAX || out_append(c, s, len)) {
		static const char oom[] = "{\"error\":\"dsmd could not build the answer "
					  "(out of memory, or larger than 16 MiB)\"}";

		c->out_off = c->out_len = 0;
		out_append(c, oom, sizeof(oom) - 1); /* fits the first 4 KiB */
	}
	json_object_put(o);
}

void dsmd_client_error(struct dsmd_client *c, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o)
		json_object_object_add(o, "error", json_object_new_string(msg));
	dsmd_client_answer(c, o);
}

void dsmd_client_stream(struct dsmd_client *c, dsmd_fill_fn *fill, dsmd_end_fn *end, void *ctx)
{
	c->state = CLIENT_STREAMING;
	c->fill = fill;
	c->end = end;
	c->ctx = ctx;
	c->deadline_ms = 0;
	c->progress_ms = now_ms();
}

size_t dsmd_client_room(const struct dsmd_client *c)
{
	return pending(c) >= DSMD_CTL_STREAM_MAX ? 0 : DSMD_CTL_STREAM_MAX - pending(c);
}

int dsmd_client_write(struct dsmd_client *c, const char *data, size_t len)
{
	if (c->finishing || len > dsmd_client_room(c))
		return -ENOBUFS;
	if (!pending(c))
		c->progress_ms = now_ms(); /* the stall clock starts now */
	if (out_append(c, data, len))
		return -ENOBUFS;
	/* Sent from the client's own handler, when the socket takes it: a
	 * push (from the alarm path, say) must not end c under its caller. */
	if (!(c->src.events & EPOLLOUT))
		dsm_loop_watch(c->d->loop, &c->src, c->src.events | EPOLLOUT);
	return 0;
}

void dsmd_client_finish(struct dsmd_client *c)
{
	c->finishing = true;
	if (c->state == CLIENT_STREAMING && !(c->src.events & EPOLLOUT))
		dsm_loop_watch(c->d->loop, &c->src, c->src.events | EPOLLOUT);
}

/* ---- the request -------------------------------------------------------- */

static const struct dsmd_request *find_request(const struct dsmd_control *ctl, const char *verb)
{
	for (size_t i = 0; i < ctl->ntable; i++)
		if (!strcmp(ctl->table[i].verb, verb))
			return &ctl->table[i];
	return NULL;
}

/* The whole line is in: decide, then hand it to its handler. */
static void dispatch(struct dsmd_client *c)
{
	struct dsmd *d = c->d;
	const struct dsmd_request *req;
	struct dsmd_call call = { .client = c, .caller = &c->caller };
	char *verb = c->line, *arg, perm[32], who[96];

	c->line[strcspn(c->line, "\r\n")] = '\0';
	arg = strchr(verb, ' ');
	if (arg) {
		*arg++ = '\0';
		if (!*arg)
			arg = NULL;
	}
	req = find_request(d->ctl, verb);
	if (!req) {
		d->ctl->st.bad_requests++;
		dsmd_client_error(c, "unknown request '%.64s'", verb);
		return;
	}
	if (c->passed > 1) {
		d->ctl->st.bad_requests++;
		dsmd_client_error(c, "%s: at most one descriptor may come with a request", verb);
		return;
	}
	if (dsmd_authorize(d, &c->caller, req->perm)) {
		d->ctl->st.denied++;
		dsm_perms_format(DSM_CLASS_DSM, req->perm, perm, sizeof(perm));
		/* The alarm (rate limited) says it; this is for debugging. */
		log_debug("control: %s denied to %s: no dsm %s on dsmd's label", verb,
			  caller_name(d, &c->caller, who, sizeof(who)), perm);
		dsmd_client_error(c, "%s: permission denied (your label has no dsm %s on dsmd)",
				  verb, perm);
		return;
	}
	log_debug("control: %s from %s", verb, caller_name(d, &c->caller, who, sizeof(who)));
	call.arg = arg;
	call.passed_fd = c->passed_fd;
	c->passed_fd = -1;
	req->run(d, &call);
	release_passed(call.passed_fd); /* unless the handler kept it */
	if (c->state == CLIENT_READING)
		dsmd_client_error(c, "%s: dsmd gave no answer (internal error)", verb);
}

/* Keep the first descriptor that came with the request; every other one
 * goes to the closer (and makes the request a bad one). */
static void take_fds(struct dsmd_client *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->passed_fd < 0 && !c->passed)
				c->passed_fd = fd;
			else
				release_passed(fd);
			c->passed++;
		}
	}
}

static void read_request(struct dsmd_client *c)
{
	static char cbuf[CMSG_SPACE(sizeof(int) * FDS_PER_RECV)];
	struct iovec iov = { .iov_base = c->line + c->line_len,
			     .iov_len = DSMD_CTL_LINE_MAX + 1 - c->line_len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(c->src.fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_gone(c, "while sending its request");
		else
			client_update(c);
		return;
	}
	take_fds(c, &mh);
	if (n == 0) {
		if (!c->line_len) {
			client_gone(c, "without a request");
			return;
		}
		c->d->ctl->st.bad_requests++;
		dsmd_client_error(c, "the request must end with a newline");
		client_update(c);
		return;
	}
	c->line_len += (size_t)n;
	c->line[c->line_len] = '\0';
	if (memchr(c->line, '\n', c->line_len)) {
		dispatch(c);
	} else if (c->line_len > DSMD_CTL_LINE_MAX) {
		c->d->ctl->st.bad_requests++;
		dsmd_client_error(c, "the request must be one line of at most %d bytes",
				  DSMD_CTL_LINE_MAX);
	}
	client_update(c);
}

/* While streaming the client may only go away (EOF: it shut its side down)
 * or hang up; anything it sends is a second request, which ends it. */
static void read_while_streaming(struct dsmd_client *c)
{
	char buf[64];
	ssize_t n = recv(c->src.fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0) {
		c->d->ctl->st.bad_requests++;
		client_close(c);
		return;
	}
	if (n == 0)
		c->read_shut = true;
	else if (errno != EAGAIN && errno != EINTR) {
		client_gone(c, "during its stream");
		return;
	}
	client_update(c);
}

static void client_ready(void *ctx, struct dsm_source *s, uint32_t events)
{
	struct dsmd_client *c = (struct dsmd_client *)s;

	(void)ctx;
	if (events & EPOLLERR) {
		client_gone(c, "(connection error)");
		return;
	}
	if (c->state == CLIENT_READING) {
		read_request(c);
		return;
	}
	if (events & EPOLLHUP) {
		client_gone(c, "before its answer was sent");
		return;
	}
	if (c->state == CLIENT_STREAMING && (events & EPOLLIN)) {
		read_while_streaming(c);
		return;
	}
	client_update(c);
}

/* ---- accepting ---------------------------------------------------------- */

/* Who is on the other end, from the context the connect hook gave the
 * accepted socket. */
static struct dsmd_caller caller_of(const struct dsmd *d, int fd)
{
	struct dsmd_caller w = { 0 };
	struct dsm_sock_ctx sc;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (dsmd_socket_ctx(d, fd, &sc) == 0 && (sc.flags & DSM_SOCK_F_PEER_BOUND) &&
	    sc.peer_label != DSM_LABEL_INVALID) {
		w.label = sc.peer_label;
		w.known = true;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		w.pid = cred.pid;
	return w;
}

static bool over_cap(const struct dsmd_control *ctl, const struct dsmd_caller *w)
{
	size_t same = 0;

	if (ctl->st.clients >= DSMD_CTL_CLIENTS_MAX)
		return true;
	for (const struct dsmd_client *c = ctl->clients; c; c = c->next)
		if (c->caller.known == w->known && c->caller.label == w->label)
			same++;
	return same >= DSMD_CTL_LABEL_MAX;
}

static void reject_busy(struct dsmd *d, int fd, const struct dsmd_caller *w)
{
	static const char msg[] = "{\"error\":\"dsmd is serving too many connections; "
				  "try again\"}";
	struct dsmd_control *ctl = d->ctl;
	uint64_t now = now_ms();
	char who[96];

	/* One non-blocking send into an empty socket buffer: it fits. */
	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: busy answer not sent: %s", strerror(errno));
	release_connection(fd);
	ctl->st.rejected_busy++;
	if (now - ctl->busy_logged_ms >= LOG_EVERY_MS) {
		ctl->busy_logged_ms = now;
		log_warning("control: turned away %s: %zu connections served, at most %d "
			    "(%d per label); %llu turned away so far",
			    caller_name(d, w, who, sizeof(who)), ctl->st.clients,
			    DSMD_CTL_CLIENTS_MAX, DSMD_CTL_LABEL_MAX,
			    (unsigned long long)ctl->st.rejected_busy);
	}
}

static void client_new(struct dsmd *d, int fd)
{
	struct dsmd_control *ctl = d->ctl;
	struct dsmd_caller w = caller_of(d, fd);
	struct dsmd_client *c;

	if (over_cap(ctl, &w)) {
		reject_busy(d, fd, &w);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		release_connection(fd);
		return;
	}
	c->src = (struct dsm_source){ .fd = fd, .ready = client_ready };
	c->d = d;
	c->caller = w;
	c->passed_fd = -1;
	c->deadline_ms = now_ms() + DSMD_CTL_REQUEST_MS;
	if (dsm_loop_add(d->loop, &c->src, EPOLLIN)) {
		release_connection(fd);
		free(c);
		return;
	}
	c->next = ctl->clients;
	if (c->next)
		c->next->prev = c;
	ctl->clients = c;
	ctl->st.clients++;
}

/* Stop accepting until the next tick (level-triggered: a listener left
 * ready would spin the loop). */
static void pause_accepting(struct dsmd *d, const char *why)
{
	uint64_t now = now_ms();

	if (now - d->ctl->pause_logged_ms >= LOG_EVERY_MS) {
		d->ctl->pause_logged_ms = now;
		log_warning("control: not accepting for a second: %s (%zu descriptors wait to "
			    "be closed)", why, dsmd_closer_pending());
	}
	d->ctl->paused = true;
	dsm_loop_watch(d->loop, &d->ctl->listen, 0);
}

static void listener_ready(void *ctx, struct dsm_source *s, uint32_t events)
{
	struct dsmd *d = ctx;

	(void)events;
	/* A closer held up by lingering closes: keep dsmd's descriptors
	 * bounded rather than accept more connections to close later. */
	if (dsmd_closer_pending() > CLOSER_BACKLOG_MAX) {
		pause_accepting(d, "the closer thread is behind");
		return;
	}
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			client_new(d, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			pause_accepting(d, strerror(errno));
		break;
	}
}

/* ---- lifetime ----------------------------------------------------------- */

int dsmd_control_open(struct dsmd *d, const struct dsmd_request *table, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct dsmd_control *ctl;
	int len, fd, err;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->table = table;
	ctl->ntable = n;
	ctl->listen.fd = -1;
	len = snprintf(ctl->path, sizeof(ctl->path), "%s/dsmd.sock", d->o.state_dir);
	if (len < 0 || (size_t)len >= sizeof(ctl->path)) {
		free(ctl);
		return log_errno(LOG_ERR, -ENAMETOOLONG, "control: %s/dsmd.sock", d->o.state_dir);
	}
	memcpy(sa.sun_path, ctl->path, (size_t)len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	unlink(ctl->path);
	/* 0666: every local task may connect; its label decides what it may
	 * ask (and the kernel's peer check whether it may connect at all). */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(ctl->path, 0666) ||
	    listen(fd, 64))
		goto fail;
	ctl->listen = (struct dsm_source){ .fd = fd, .ready = listener_ready };
	err = dsm_loop_add(d->loop, &ctl->listen, EPOLLIN);
	if (err) {
		errno = -err;
		goto fail;
	}
	d->ctl = ctl;
	return 0;
fail:
	err = -errno;
	log_error("control: %s: %s", ctl->path, strerror(-err));
	if (fd >= 0)
		close(fd);
	free(ctl);
	return err;
}

static bool expired(const struct dsmd_client *c, uint64_t now)
{
	if (c->state == CLIENT_STREAMING)
		return pending(c) && now - c->progress_ms >= DSMD_CTL_ANSWER_MS;
	return now >= c->deadline_ms;
}

void dsmd_control_tick(struct dsmd *d)
{
	struct dsmd_control *ctl = d->ctl;
	uint64_t now = now_ms();
	struct dsmd_client *c, *next;
	char who[96];

	if (!ctl)
		return;
	if (ctl->paused && dsmd_closer_pending() <= CLOSER_BACKLOG_MAX &&
	    dsm_loop_watch(d->loop, &ctl->listen, EPOLLIN) == 0)
		ctl->paused = false;
	for (c = ctl->clients; c; c = next) {
		next = c->next;
		if (!expired(c, now))
			continue;
		ctl->st.timed_out++;
		if (now - ctl->timeout_logged_ms >= LOG_EVERY_MS) { /* a client may cause it */
			ctl->timeout_logged_ms = now;
			log_info("control: ended %s: %s within %d ms (%llu so far)",
				 caller_name(d, &c->caller, who, sizeof(who)),
				 c->state == CLIENT_READING ? "no whole request" :
							      "it did not take its answer",
				 c->state == CLIENT_READING ? DSMD_CTL_REQUEST_MS : DSMD_CTL_ANSWER_MS,
				 (unsigned long long)ctl->st.timed_out);
		}
		client_close(c);
	}
}

void dsmd_control_stats(const struct dsmd *d, struct dsmd_control_stats *out)
{
	*out = d->ctl ? d->ctl->st : (struct dsmd_control_stats){ 0 };
}

size_t dsmd_control_busy(const struct dsmd *d)
{
	return d->ctl ? d->ctl->st.clients : 0;
}

void dsmd_control_close(struct dsmd *d)
{
	struct dsmd_control *ctl = d->ctl;

	if (!ctl)
		return;
	while (ctl->clients)
		client_close(ctl->clients);
	if (ctl->listen.fd >= 0) {
		dsm_loop_del(d->loop, &ctl->listen);
		close(ctl->listen.fd);
		unlink(ctl->path);
	}
	free(ctl);
	d->ctl = NULL;
}
