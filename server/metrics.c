// SPDX-License-Identifier: GPL-2.0
/*
 * GET /metrics over plain HTTP/1.1 (--metrics ADDR:PORT): the server's
 * metrics in the Prometheus text format (lib/prom.h, docs/metrics.md).
 *
 * Served from the server's own loop, one request per connection
 * (Connection: close), so nothing here may hold the loop up or grow
 * without bound: every socket is non-blocking; a request is at most
 * SRV_METRICS_REQ_MAX bytes of head (a longer one is answered 431) and
 * must arrive, and its answer be taken, within SRV_METRICS_DEADLINE_MS of
 * the accept; at most SRV_METRICS_CLIENTS connections are served at once
 * (one more is closed at accept). A request body is never looked at. GET
 * /metrics (a query string is ignored) is answered 200, another path 404,
 * another method 405, a line that does not parse 400.
 *
 * The metrics read the node records from the store at each scrape (one
 * walk), the sessions from the connection list, the rest from memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "prom.h"
#include "server.h"

struct srv_metrics_client {
	struct dsm_source src;          /* first: the loop hands it back */
	struct srv_metrics_client *next, **pprev;
	char in[SRV_METRICS_REQ_MAX + 1];
	size_t in_len;
	char *out;                      /* the whole answer: out[off..len) pending */
	size_t out_off, out_len;
	uint64_t deadline_ms;
};

struct srv_metrics {
	struct dsm_source listen;
	struct srv_metrics_client *clients;
	unsigned int nclients;
};

/* ---- the metrics ---------------------------------------------------------- */

struct mc_tally {
	uint64_t enrolled, pending;
	struct { uint64_t version, nodes; } v[64]; /* nodes per policy version */
	size_t nv;
	uint64_t other_versions;        /* nodes on versions beyond v[] */
};

static int mc_tally_node(const struct srv_node *n, void *ctx)
{
	struct mc_tally *t = ctx;
	size_t i;

	if (!n->enrolled) {
		t->pending++;
		return 0;
	}
	t->enrolled++;
	for (i = 0; i < t->nv && t->v[i].version != n->policy_version; i++)
		;
	if (i == t->nv) {
		if (t->nv == sizeof(t->v) / sizeof(t->v[0])) {
			t->other_versions++;
			return 0;
		}
		t->v[t->nv++].version = n->policy_version;
	}
	t->v[i].nodes++;
	return 0;
}

static int mc_version_cmp(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static const char *const mc_phase_names[] = {
	[SRV_ROT_NONE] = "none", [SRV_ROT_INSTALL] = "install", [SRV_ROT_SWITCH] = "switch",
	[SRV_ROT_GRACE] = "grace", [SRV_ROT_DROP] = "drop",
};

static const char *const mc_refusal_names[DSM_ERR_CODE_MAX + 1] = {
	[0] = "other",
	[DSM_ERR_MALFORMED] = "malformed", [DSM_ERR_VERSION] = "version",
	[DSM_ERR_UNEXPECTED] = "unexpected", [DSM_ERR_DENIED] = "denied",
	[DSM_ERR_BAD_TOKEN] = "bad_token", [DSM_ERR_BAD_CSR] = "bad_csr",
	[DSM_ERR_BUSY] = "busy", [DSM_ERR_INTERNAL] = "internal",
};

static const char *const mc_http_names[SRV_HTTP_MAX] = {
	[SRV_HTTP_200] = "200", [SRV_HTTP_400] = "400", [SRV_HTTP_404] = "404",
	[SRV_HTTP_405] = "405", [SRV_HTTP_431] = "431",
	[SRV_HTTP_503] = "503",
};

int srv_metrics_collect(struct srv *s, struct prom_buf *b)
{
	struct mc_tally t = { 0 };
	unsigned int in_session = 0;
	int err;

	srv_batch_flush(s); /* the node records as acknowledged */
	err = srv_node_each(s, mc_tally_node, &t);
	if (err)
		return b->err ? b->err : err;
	for (const struct srv_conn *c = s->conns; c; c = c->next)
		in_session += c->in_session && !c->dead;
	/* sort v[] by version (pairs: version first) */
	qsort(t.v, t.nv, sizeof(t.v[0]), mc_version_cmp);

	prom_family(b, "dsm_server_info", PROM_GAUGE,
		    "This Security Server's cluster and name (value 1).");
	prom_sample(b, (const struct prom_label[]){ { "cluster", s->cluster },
						    { "server", s->name } }, 2, 1);
	prom_family(b, "dsm_server_nodes", PROM_GAUGE, "Nodes in the registry, by state.");
	prom_sample(b, &(struct prom_label){ "state", "enrolled" }, 1, t.enrolled);
	prom_sample(b, &(struct prom_label){ "state", "pending" }, 1, t.pending);
	prom_one(b, "dsm_server_nodes_in_session", PROM_GAUGE,
		 "Nodes with a session up now.", in_session);
	prom_one(b, "dsm_server_connections", PROM_GAUGE,
		 "Channel connections open (sessions, handshakes, enrolments).", s->nconns);
	prom_one(b, "dsm_server_policy_version", PROM_GAUGE,
		 "The version of the current policy (0: none pushed).", s->policy.version);
	prom_family(b, "dsm_server_policy_nodes", PROM_GAUGE,
		    "Enrolled nodes by the policy version they last reported in force.");
	for (size_t i = 0; i < t.nv; i++) {
		char v[24];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)t.v[i].version);
		prom_sample(b, &(struct prom_label){ "version", v }, 1, t.v[i].nodes);
	}
	if (t.other_versions)
		prom_sample(b, &(struct prom_label){ "version", "other" }, 1, t.other_versions);
	prom_one(b, "dsm_server_key_generation", PROM_GAUGE,
		 "The pair-key generation nodes send with (0: none yet).", s->keys.current);
	prom_one(b, "dsm_server_key_rotation_generation", PROM_GAUGE,
		 "The generation of the rotation running (0: none).", s->keys.rot.generation);
	prom_family(b, "dsm_server_key_rotation_phase", PROM_GAUGE,
		    "The phase of the key rotation: 1 for the phase it is in.");
	for (size_t i = 0; i < sizeof(mc_phase_names) / sizeof(mc_phase_names[0]); i++)
		prom_sample(b, &(struct prom_label){ "phase", mc_phase_names[i] }, 1,
			    s->keys.rot.phase == (enum srv_rot_phase)i);
	prom_one(b, "dsm_server_alarms_received_total", PROM_COUNTER,
		 "Alarm records received from nodes (repeats included).", s->stats.alarms_received);
	prom_one(b, "dsm_server_alarms_written_total", PROM_COUNTER,
		 "Alarm records written to alarms.jsonl.", s->stats.alarms_written);
	prom_family(b, "dsm_server_alarms_lost_total", PROM_COUNTER,
		    "Alarms that never reached the server: dropped on the node (reported), or "
		    "a gap in the numbers.");
	prom_sample(b, &(struct prom_label){ "reason", "node_dropped" }, 1,
		    s->stats.alarms_dropped);
	prom_sample(b, &(struct prom_label){ "reason", "gap" }, 1, s->stats.alarms_gap);
	prom_family(b, "dsm_server_refusals_total", PROM_COUNTER,
		    "Channel messages or sessions the server refused (an ERROR, then close), by "
		    "code.");
	for (size_t i = 1; i <= DSM_ERR_CODE_MAX; i++)
		prom_sample(b, &(struct prom_label){ "code", mc_refusal_names[i] }, 1,
			    s->stats.refused[i]);
	prom_sample(b, &(struct prom_label){ "code", mc_refusal_names[0] }, 1, s->stats.refused[0]);
	prom_one(b, "dsm_server_store_commits_total", PROM_COUNTER,
		 "Group commits of node acknowledgements to the store.", s->batch.commits);
	prom_family(b, "dsm_server_metrics_requests_total", PROM_COUNTER,
		    "HTTP requests to the metrics listener, by status code.");
	for (size_t i = 0; i < SRV_HTTP_MAX; i++)
		prom_sample(b, &(struct prom_label){ "code", mc_http_names[i] }, 1,
			    s->stats.http[i]);
	prom_one(b, "dsm_server_metrics_timed_out_total", PROM_COUNTER,
		 "Metrics connections closed at their deadline, unanswered or unread.",
		 s->stats.http_timed_out);
	prom_one(b, "dsm_server_metrics_turned_away_total", PROM_COUNTER,
		 "Metrics connections closed at accept: too many at once.",
		 s->stats.http_turned_away);
	return b->err;
}

/* ---- HTTP ----------------------------------------------------------------- */

static void mc_close(struct srv *s, struct srv_metrics_client *c)
{
	char sink[4096];

	dsm_loop_del(s->loop, &c->src);
	/* what the client sent beyond the head (a body) is read first, a
	 * bounded amount: a close with unread data resets the connection,
	 * and the reset can overtake the answer on its way to the client */
	for (int i = 0; i < 16 && recv(c->src.fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	close(c->src.fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	s->metrics->nclients--;
	free(c->out);
	free(c);
}

/* Send what is pending: 1 all sent, 0 more to send, -errno. */
static int mc_flush(struct srv_metrics_client *c)
{
	while (c->out_off < c->out_len) {
		const ssize_t n = send(c->src.fd, c->out + c->out_off, c->out_len - c->out_off,
				       MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += (size_t)n;
	}
	return 1;
}

static void mc_respond(struct srv *s, struct srv_metrics_client *c, enum srv_http code,
		    const char *body, size_t len)
{
	static const char *const reason[SRV_HTTP_MAX] = {
		[SRV_HTTP_200] = "200 OK", [SRV_HTTP_400] = "400 Bad Request",
		[SRV_HTTP_404] = "404 Not Found", [SRV_HTTP_405] = "405 Method Not Allowed",
		[SRV_HTTP_431] = "431 Request Header Fields Too Large",
		[SRV_HTTP_503] = "503 Service Unavailable",
	};
	char head[256];
	int n, r;

	s->stats.http[code]++;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\n\r\n", reason[code],
		     code == SRV_HTTP_200 ? "text/plain; version=0.0.4; charset=utf-8"
					  : "text/plain; charset=utf-8",
		     len, code == SRV_HTTP_405 ? "Allow: GET\r\n" : "");
	c->out = malloc((size_t)n + len);
	if (!c->out) {
		mc_close(s, c);
		return;
	}
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, len);
	c->out_len = (size_t)n + len;
	c->out_off = 0;
	r = mc_flush(c);
	if (r != 0 || dsm_loop_watch(s->loop, &c->src, EPOLLOUT))
		mc_close(s, c);
}

static void mc_respond_text(struct srv *s, struct srv_metrics_client *c, enum srv_http code,
			 const char *text)
{
	mc_respond(s, c, code, text, strlen(text));
}

/* The request head is complete (or too long): answer it. */
static void mc_serve(struct srv *s, struct srv_metrics_client *c)
{
	char *sp1, *sp2, *eol, *q;
	struct prom_buf b;

	c->in[c->in_len] = '\0';
	eol = strpbrk(c->in, "\r\n");
	if (!eol) { mc_respond_text(s, c, SRV_HTTP_400, "bad request\n"); return; }
	*eol = '\0';
	sp1 = strchr(c->in, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == c->in || sp2 == sp1 + 1 || strchr(sp2 + 1, ' ') ||
	    strncmp(sp2 + 1, "HTTP/1.", 7))
		{ mc_respond_text(s, c, SRV_HTTP_400, "bad request\n"); return; }
	*sp1 = *sp2 = '\0';
	if (strcmp(c->in, "GET"))
		{ mc_respond_text(s, c, SRV_HTTP_405, "only GET\n"); return; }
	if ((q = strchr(sp1 + 1, '?')))
		*q = '\0';
	if (strcmp(sp1 + 1, "/metrics"))
		{ mc_respond_text(s, c, SRV_HTTP_404, "not found: try /metrics\n"); return; }
	prom_init(&b);
	if (srv_metrics_collect(s, &b)) {
		srv_warn("metrics: cannot collect: %s", strerror(-b.err));
		prom_free(&b);
		{ mc_respond_text(s, c, SRV_HTTP_503, "metrics unavailable\n"); return; }
	}
	mc_respond(s, c, SRV_HTTP_200, b.data ? b.data : "", b.len);
	prom_free(&b);
}

static bool mc_head_complete(const struct srv_metrics_client *c)
{
	return memmem(c->in, c->in_len, "\r\n\r\n", 4) || memmem(c->in, c->in_len, "\n\n", 2);
}

static void mc_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct srv *s = ctx;
	struct srv_metrics_client *c = (struct srv_metrics_client *)src;
	ssize_t n;

	if (c->out) { /* answering */
		if ((events & (EPOLLERR | EPOLLHUP)) || mc_flush(c) != 0)
			mc_close(s, c);
		return;
	}
	n = recv(c->src.fd, c->in + c->in_len, SRV_METRICS_REQ_MAX - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mc_close(s, c); /* gone before a whole request */
		return;
	}
	c->in_len += (size_t)n;
	if (mc_head_complete(c))
		mc_serve(s, c);
	else if (c->in_len == SRV_METRICS_REQ_MAX)
		mc_respond_text(s, c, SRV_HTTP_431, "request too large\n");
}

static void mc_listen_ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct srv *s = ctx;
	struct srv_metrics *m = s->metrics;

	(void)events;
	for (int i = 0; i < 16; i++) {
		const int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct srv_metrics_client *c;

		if (fd < 0)
			return;
		if (m->nclients >= SRV_METRICS_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
			s->stats.http_turned_away++;
			close(fd);
			continue;
		}
		c->src = (struct dsm_source){ .fd = fd, .ready = mc_ready };
		c->deadline_ms = srv_now_ms() + SRV_METRICS_DEADLINE_MS;
		if (dsm_loop_add(s->loop, &c->src, EPOLLIN)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = m->clients;
		c->pprev = &m->clients;
		if (m->clients)
			m->clients->pprev = &c->next;
		m->clients = c;
		m->nclients++;
	}
}

void srv_metrics_tick(struct srv *s)
{
	const uint64_t now = srv_now_ms();
	struct srv_metrics_client *c, *next;

	if (!s->metrics)
		return;
	for (c = s->metrics->clients; c; c = next) {
		next = c->next;
		if (now < c->deadline_ms)
			continue;
		s->stats.http_timed_out++; /* no whole request, or its answer not taken */
		mc_close(s, c);
	}
}

int srv_metrics_open(struct srv *s, const char *addr_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const int one = 1;
	int fd, err = srv_parse_addr(addr_port, &ss, &len);

	if (err) {
		srv_err("metrics: %s: not ADDR:PORT (127.0.0.1:9443, [::1]:9443)", addr_port);
		return err;
	}
	s->metrics = calloc(1, sizeof(*s->metrics));
	if (!s->metrics)
		return -ENOMEM;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		err = -errno;
		srv_err("metrics: %s: %s", addr_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(s->metrics);
		s->metrics = NULL;
		return err;
	}
	s->metrics->listen = (struct dsm_source){ .fd = fd, .ready = mc_listen_ready };
	err = dsm_loop_add(s->loop, &s->metrics->listen, EPOLLIN);
	if (err) {
		close(fd);
		free(s->metrics);
		s->metrics = NULL;
		return err;
	}
	srv_info("metrics: http://%s/metrics", addr_port);
	return 0;
}

int srv_metrics_port(const struct srv *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!s->metrics || getsockname(s->metrics->listen.fd, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

void srv_metrics_close(struct srv *s)
{
	if (!s->metrics)
		return;
	while (s->metrics->clients)
		mc_close(s, s->metrics->clients);
	dsm_loop_del(s->loop, &s->metrics->listen);
	close(s->metrics->listen.fd);
	free(s->metrics);
	s->metrics = NULL;
}
