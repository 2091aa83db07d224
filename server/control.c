// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket (dsmctl's cluster commands): a unix stream socket,
 * 0600 in a 0700 directory, for root or the server's own user only
 * (SO_PEERCRED). A client sends one line "VERB [ARGS]\n" of at most 510
 * bytes, with at most one descriptor (SCM_RIGHTS) for policy-push, and
 * gets one JSON object, then the connection closes. Errors are
 * {"error":"one readable line"}. Clients are non-blocking sources of the
 * one loop, bounded in number and in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "server.h"

#define CTL_LINE_MAX    510
#define CTL_CLIENTS_MAX 16
#define CTL_DEADLINE_MS 10000
#define CTL_ALARMS_MAX  1000
#define CTL_ARGS_MAX    4

struct srv_ctl_client {
	struct dsm_source src;
	struct srv_ctl_client *next;
	char in[CTL_LINE_MAX + 2];
	size_t inlen;
	int passed_fd;
	char *out;
	size_t outlen, outoff;
	uint64_t deadline_ms;
	bool dead;
};

struct ctl_req {
	int argc;
	char *argv[CTL_ARGS_MAX];
	int fd; /* passed with the request, or -1 */
};

static json_object *error_answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_object *error_answer(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (o)
		json_object_object_add(o, "error", json_object_new_string(text));
	return o;
}

/* ---- the verbs ------------------------------------------------------- */

static json_object *verb_node_add(struct srv *s, const struct ctl_req *r)
{
	char token[2 * SRV_TOKEN_LEN + 1];
	struct srv_node n;
	const char *why;
	int64_t ttl = SRV_TOKEN_TTL_S, expires;
	json_object *o;
	int err;

	if (r->argc < 2 || r->argc > 3)
		return error_answer("usage: node-add NAME [TTL_SECONDS]");
	if (r->argc == 3) {
		char *end;

		ttl = strtoll(r->argv[2], &end, 10);
		if (*end || end == r->argv[2])
			return error_answer("TTL_SECONDS: not a number: %s", r->argv[2]);
	}
	err = srv_enrol_add(s, r->argv[1], ttl, &n, token, &expires, &why);
	if (err)
		return error_answer("node-add %s: %s", r->argv[1], why ? why : strerror(-err));
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(n.name));
	json_object_object_add(o, "id", json_object_new_int64(n.id));
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "expires", json_object_new_int64(expires));
	return o;
}

static int node_entry(const struct srv_node *n, void *ctx)
{
	struct srv *s = ((void **)ctx)[0];
	json_object *arr = ((void **)ctx)[1], *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "id", json_object_new_int64(n->id));
	json_object_object_add(o, "state", json_object_new_string(n->enrolled ? "enrolled" : "pending"));
	json_object_object_add(o, "address", json_object_new_string(n->address));
	json_object_object_add(o, "policy_version", json_object_new_uint64(n->policy_version));
	json_object_object_add(o, "policy_result", json_object_new_string(n->policy_result));
	json_object_object_add(o, "cert_expires", json_object_new_int64(n->cert_expires));
	json_object_object_add(o, "last_seen", json_object_new_int64(n->last_seen));
	json_object_object_add(o, "connected", json_object_new_boolean(srv_conn_find(s, n->name) != NULL));
	json_object_object_add(o, "alarms", json_object_new_uint64(n->alarm_seq));
	json_object_object_add(o, "keygen", json_object_new_uint64(n->key_generation));
	json_object_array_add(arr, o);
	return 0;
}

static json_object *node_array(struct srv *s)
{
	json_object *arr = json_object_new_array();
	void *ctx[2] = { s, arr };

	if (srv_node_each(s, node_entry, ctx)) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

static json_object *verb_node_list(struct srv *s, const struct ctl_req *r)
{
	json_object *o, *arr;

	if (r->argc != 1)
		return error_answer("usage: node-list");
	arr = node_array(s);
	if (!arr)
		return error_answer("the node registry does not read");
	o = json_object_new_object();
	json_object_object_add(o, "nodes", arr);
	return o;
}

static json_object *verb_node_remove(struct srv *s, const struct ctl_req *r)
{
	struct srv_conn *c;
	struct srv_node n;
	json_object *o;
	int err;

	if (r->argc != 2)
		return error_answer("usage: node-remove NAME");
	err = srv_node_get(s, r->argv[1], &n);
	if (err)
		return error_answer("node-remove %s: %s", r->argv[1],
				    err == -ENOENT ? "no such node" : strerror(-err));
	err = srv_deny_node(s, &n);
	if (!err)
		err = srv_node_delete(s, n.name);
	if (err)
		return error_answer("node-remove %s: %s", n.name, strerror(-err));
	c = srv_conn_find(s, n.name);
	if (c)
		srv_conn_refuse(s, c, DSM_ERR_DENIED, 0, "node removed");
	srv_info("nodes: node %s (id %u) removed%s", n.name, n.id, c ? ", its session closed" : "");
	err = srv_rotation_node_removed(s, n.name);
	if (err)
		return error_answer("node-remove %s: removed, but no key rotation could be started: %s",
				    n.name, strerror(-err));
	o = json_object_new_object();
	json_object_object_add(o, "removed", json_object_new_string(n.name));
	return o;
}

static int read_fd(int fd, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t off = 0;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > DSM_MSG_MAX_POLICY || !st.st_size)
		return -EMSGSIZE;
	*buf = malloc((size_t)st.st_size);
	if (!*buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		const ssize_t n = pread(fd, *buf + off, (size_t)st.st_size - off, (off_t)off);

		if (n <= 0) {
			free(*buf);
			*buf = NULL;
			return n < 0 ? -errno : -EIO;
		}
		off += (size_t)n;
	}
	*len = off;
	return 0;
}

static json_object *verb_policy_push(struct srv *s, const struct ctl_req *r)
{
	char why[256] = "";
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t version = 0;
	unsigned int sent = 0;
	json_object *o;
	int err;

	if (r->argc != 1 || r->fd < 0)
		return error_answer("usage: policy-push, with the signed policy file's descriptor");
	err = read_fd(r->fd, &buf, &len);
	if (err)
		return error_answer("policy-push: the file does not read: %s",
				    err == -EMSGSIZE ? "empty or larger than a POLICY may carry" :
				    strerror(-err));
	err = srv_policy_push(s, buf, len, &version, &sent, why, sizeof(why));
	free(buf);
	if (err)
		return error_answer("policy-push: %s", why);
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_uint64(version));
	json_object_object_add(o, "sent_to", json_object_new_int64(sent));
	return o;
}

static int status_entry(const struct srv_node *n, void *ctx)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "policy_version", json_object_new_uint64(n->policy_version));
	json_object_object_add(o, "policy_result", json_object_new_string(n->policy_result));
	json_object_array_add(ctx, o);
	return 0;
}

static json_object *verb_policy_status(struct srv *s, const struct ctl_req *r)
{
	json_object *o, *arr;

	if (r->argc != 1)
		return error_answer("usage: policy-status");
	arr = json_object_new_array();
	if (srv_node_each(s, status_entry, arr)) {
		json_object_put(arr);
		return error_answer("the node registry does not read");
	}
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_uint64(s->policy.version));
	json_object_object_add(o, "nodes", arr);
	return o;
}

static json_object *verb_status(struct srv *s, const struct ctl_req *r)
{
	json_object *o, *arr;

	if (r->argc != 1)
		return error_answer("usage: status");
	arr = node_array(s);
	if (!arr)
		return error_answer("the node registry does not read");
	o = json_object_new_object();
	json_object_object_add(o, "cluster", json_object_new_string(s->cluster));
	json_object_object_add(o, "server", json_object_new_string(s->name));
	json_object_object_add(o, "version", json_object_new_uint64(s->policy.version));
	json_object_object_add(o, "nodes", arr);
	return o;
}

static json_object *verb_alarms(struct srv *s, const struct ctl_req *r)
{
	unsigned long long offset = 0;
	uint64_t next = 0;
	json_object *o, *arr;
	int err;

	if (r->argc > 2)
		return error_answer("usage: alarms [OFFSET]");
	if (r->argc == 2) {
		char *end;

		offset = strtoull(r->argv[1], &end, 10);
		if (*end || end == r->argv[1] || r->argv[1][0] == '-')
			return error_answer("OFFSET: not a number: %s", r->argv[1]);
	}
	arr = json_object_new_array();
	err = srv_alarms_read(s, offset, CTL_ALARMS_MAX, arr, &next);
	if (err) {
		json_object_put(arr);
		return error_answer("alarms: %s", strerror(-err));
	}
	o = json_object_new_object();
	json_object_object_add(o, "alarms", arr);
	json_object_object_add(o, "next", json_object_new_uint64(next));
	return o;
}

static json_object *verb_keys_status(struct srv *s, const struct ctl_req *r)
{
	json_object *o;

	if (r->argc != 1)
		return error_answer("usage: keys-status");
	o = srv_rotation_status(s);
	return o ? o : error_answer("keys-status: the node registry does not read");
}

static json_object *verb_keys_rotate(struct srv *s, const struct ctl_req *r)
{
	const bool now = r->argc == 2 && !strcmp(r->argv[1], "now");
	uint64_t g = 0;
	bool queued = false;
	json_object *o;
	int err;

	if (r->argc > 2 || (r->argc == 2 && !now))
		return error_answer("usage: keys-rotate [now]");
	err = srv_rotation_request(s, now, now ? "operator, now" : "operator", &g, &queued);
	if (err)
		return error_answer("keys-rotate: %s", strerror(-err));
	o = json_object_new_object();
	json_object_object_add(o, "generation", json_object_new_uint64(g));
	json_object_object_add(o, "queued", json_object_new_boolean(queued));
	json_object_object_add(o, "grace_ms", json_object_new_uint64(s->keys.rot.grace_ms));
	return o;
}

static const struct {
	const char *verb;
	json_object *(*fn)(struct srv *s, const struct ctl_req *r);
} verbs[] = {
	{ "node-add", verb_node_add }, { "node-list", verb_node_list }, { "node-remove", verb_node_remove },
	{ "policy-push", verb_policy_push }, { "policy-status", verb_policy_status },
	{ "status", verb_status }, { "alarms", verb_alarms },
	{ "keys-status", verb_keys_status }, { "keys-rotate", verb_keys_rotate },
};

static json_object *answer(struct srv *s, char *line, int fd)
{
	struct ctl_req r = { .fd = fd };
	char *save = NULL;

	for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (r.argc == CTL_ARGS_MAX)
			return error_answer("too many arguments");
		r.argv[r.argc++] = w;
	}
	if (!r.argc)
		return error_answer("empty request");
	/* what is answered (policy-status, keys-status ...) or acted on is on disk */
	if (srv_batch_flush(s))
		return error_answer("the store could not commit the nodes' acks");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(r.argv[0], verbs[i].verb))
			return verbs[i].fn(s, &r);
	return error_answer("unknown verb: %.64s", r.argv[0]);
}

/* ---- clients ------------------------------------------------------------ */

static struct srv_ctl_client *client_of(struct dsm_source *src)
{
	return (struct srv_ctl_client *)((char *)src - offsetof(struct srv_ctl_client, src));
}

static void client_free(struct srv *s, struct srv_ctl_client *c)
{
	for (struct srv_ctl_client **pp = &s->ctl_clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	dsm_loop_del(s->loop, &c->src);
	close(c->src.fd);
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	free(c->out);
	free(c);
	s->nctl--;
}

static void client_write(struct srv *s, struct srv_ctl_client *c)
{
	while (c->outoff < c->outlen) {
		const ssize_t n = send(c->src.fd, c->out + c->outoff, c->outlen - c->outoff,
				       MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			dsm_loop_watch(s->loop, &c->src, EPOLLOUT);
			return;
		}
		if (n <= 0)
			break;
		c->outoff += (size_t)n;
	}
	c->dead = true;
}

static void client_answer(struct srv *s, struct srv_ctl_client *c, json_object *o)
{
	const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;

	c->outlen = text ? strlen(text) + 1 : 0;
	c->out = text ? malloc(c->outlen) : NULL;
	if (c->out) {
		memcpy(c->out, text, c->outlen - 1);
		c->out[c->outlen - 1] = '\n';
	} else {
		c->outlen = 0;
	}
	json_object_put(o);
	client_write(s, c);
}

static void take_fds(struct srv_ctl_client *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		const size_t n = cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS ?
			(cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;

		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->passed_fd < 0)
				c->passed_fd = fd;
			else
				close(fd); /* one descriptor per request; the rest are dropped */
		}
	}
}

/* Read what is there; 1 with a whole line, 0 for more, -1 to end. */
static int client_read(struct srv_ctl_client *c)
{
	union { char buf[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } cbuf;
	struct iovec iov = { c->in + c->inlen, sizeof(c->in) - 1 - c->inlen };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
	const ssize_t n = recvmsg(c->src.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	take_fds(c, &mh);
	if (n == 0)
		return -1;
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	return memchr(c->in, '\n', c->inlen) ? 1 : 0;
}

static void client_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct srv *s = ctx;
	struct srv_ctl_client *c = client_of(src);
	int r;

	if (c->out) {
		client_write(s, c);
	} else if (events & EPOLLIN) {
		r = client_read(c);
		if (r > 0) {
			*strchr(c->in, '\n') = '\0';
			srv_debug("control: %.64s", c->in);
			client_answer(s, c, answer(s, c->in, c->passed_fd));
		} else if (r == 0 && c->inlen > CTL_LINE_MAX) {
			client_answer(s, c, error_answer("request longer than %d bytes", CTL_LINE_MAX));
		} else if (r < 0) {
			c->dead = true;
		}
	} else {
		c->dead = true;
	}
	if (c->dead)
		client_free(s, c);
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void client_new(struct srv *s, int fd)
{
	struct srv_ctl_client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->src = (struct dsm_source){ .fd = fd, .ready = client_ready };
	c->passed_fd = -1;
	c->deadline_ms = srv_now_ms() + CTL_DEADLINE_MS;
	if (dsm_loop_add(s->loop, &c->src, EPOLLIN)) {
		close(fd);
		free(c);
		return;
	}
	c->next = s->ctl_clients;
	s->ctl_clients = c;
	s->nctl++;
}

static void control_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct srv *s = ctx;
	const int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		srv_warn("control: a connection from another user refused");
		close(fd);
		return;
	}
	if (s->nctl >= CTL_CLIENTS_MAX) {
		static const char busy[] = "{\"error\":\"too many control clients; try again\"}\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			srv_debug("control: busy answer not sent");
		close(fd);
		return;
	}
	client_new(s, fd);
}

static int make_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int srv_control_open(struct srv *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		srv_err("control: %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	err = make_dir(path);
	fd = err ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		unlink(path); /* a socket left by an earlier run */
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
		    listen(fd, 64))
			err = -errno;
	} else if (!err) {
		err = -errno;
	}
	if (err) {
		srv_err("control: %s: %s", path, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	snprintf(s->control_path, sizeof(s->control_path), "%s", path);
	s->control = (struct dsm_source){ .fd = fd, .ready = control_ready };
	err = dsm_loop_add(s->loop, &s->control, EPOLLIN);
	if (err)
		close(fd);
	return err;
}

void srv_control_tick(struct srv *s)
{
	const uint64_t now = srv_now_ms();
	struct srv_ctl_client *c = s->ctl_clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (now > c->deadline_ms)
			client_free(s, c);
	}
}

void srv_control_close(struct srv *s)
{
	while (s->ctl_clients)
		client_free(s, s->ctl_clients);
	if (s->control.fd < 0)
		return;
	dsm_loop_del(s->loop, &s->control);
	close(s->control.fd);
	s->control.fd = -1;
	unlink(s->control_path);
}
