// SPDX-License-Identifier: GPL-2.0
/*
 * server_scale: dsm-server with N managers (default 1 000) over loopback.
 *
 *   server_scale [-n N] [--pushes K] [--storms K] [--rules R] [--admit-rate R]
 *                [--server PATH] [--dsmctl PATH] [--tmp DIR]
 *                [--verify] [--no-pin] [--keep] [--json]
 *
 * The state directory and the server's log go to a new directory in
 * --tmp (default /tmp), removed at the end unless --keep.
 *
 * A real dsm-server process on 127.0.0.1 with a fresh state directory
 * (dsmctl cluster init), and N simulated managers in this one process, on
 * one epoll loop: each its own non-blocking TLS 1.3 session (lib/tls, the
 * node certificate it enrolled for) speaking the channel (lib/chan_msg)
 * as dsmd does: HELLO, PING every heartbeat, POLICY answered with
 * POLICY_ACK of its version, KEYS checked as dsmd checks them (two
 * generations held, INSTALL never older than the newest nor over the one
 * sent with, SWITCH only to one installed, DROP_OLD only up to the one
 * sent with) and answered with KEYS_ACK {generation, phase}, and
 * after a lost session dsmd's full-jitter backoff (up to 1 s, 2 s, ...
 * 30 s) and its 10 s limit for connect, TLS and HELLO.
 *
 * It measures, in this order:
 *   - node-add: N join tokens from the control socket, one at a time;
 *   - enrolment: N ENROL sessions (at most 256 at once);
 *   - the first connection of every manager, until each has HELLO_OK;
 *   - the server's VmRSS and VmHWM (/proc) with N idle sessions;
 *   - K policy pushes (control verb policy-push with the signed file's
 *     descriptor): the time until the server has recorded every
 *     manager's POLICY_ACK of that version (policy-status polled once the
 *     last manager has sent its ack), with the control answer and the
 *     last ack sent as intermediate times; median, min and max;
 *   - the server's memory after the pushes;
 *   - a key rotation (control verb keys-rotate, once the first generation's
 *     rotation has ended): the time until every manager has acknowledged
 *     the install, then the switch, of the new generation, and until
 *     keys-status says the server has it in force (every switch ack
 *     recorded); the grace before DROP_OLD (60 s) is not waited for;
 *   - K reconnect storms (default 3): the server killed with SIGKILL and
 *     started again on the same state directory; the time from the
 *     restart until all N sessions have HELLO_OK again, and the rate they
 *     came at (the server admits handshakes at a bounded rate,
 *     --admit-rate);
 *   - the server's memory after the storm.
 *
 * A POLICY is acknowledged as version V only if its bytes are exactly the
 * envelope that was pushed (V read from the envelope's header); with
 * --verify every manager also verifies the signature as dsmd does
 * (serialized here on one CPU, where N nodes would do it in parallel).
 * Prints a table and one JSON line (the JSON line only, with --json).
 * The server runs on CPU 1 and the managers on CPU 0 unless --no-pin.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "chan_msg.h"
#include "le.h"
#include "pki.h"
#include "policy.h"
#include "policy_sign.h"
#include "tls.h"

#define CLUSTER         "bench"
#define HEARTBEAT_MS    2000     /* dsmd's PING interval */
#define SETUP_MS        10000    /* dsmd: connect, TLS and HELLO within this */
#define BACKOFF_MIN_MS  1000     /* dsmd's full-jitter backoff */
#define BACKOFF_MAX_MS  30000
#define ENROL_INFLIGHT  64
#define ENROL_TRIES     3
#define ENVELOPE_VERSION_OFF 44  /* docs/policy.md: the envelope's u64 version */
#define ENVELOPE_MIN    (DSM_SIGN_HDR_LEN + DSM_SIGN_SIG_LEN)
#define PUSH_GAP_MS     1000
#define IDLE_MS         4000     /* two heartbeats: every session PINGs twice */
#define PHASE_TIMEOUT_MS 120000

enum kind { K_MGR = 1, K_CTL };

enum mstate {
	M_OFF,        /* nothing to do */
	M_WAIT,       /* backoff until next_at */
	M_CONNECTING, /* TCP */
	M_TLS,        /* handshake */
	M_HELLO,      /* HELLO sent */
	M_READY,      /* HELLO_OK had */
	M_ENROL,      /* ENROL sent */
};

struct mgr {
	enum kind kind;
	unsigned idx;
	char name[16];
	char token[80];
	EVP_PKEY *key;
	SSL_CTX *ctx; /* with its node certificate, once enrolled */
	int fd;
	struct dsm_tls_conn *tls;
	struct dsm_msg_reader rd;
	struct dsm_msg_buf out;
	size_t off;
	enum mstate st;
	bool enrol;       /* this session enrols */
	bool enrolled;
	bool enrol_failed; /* to be tried again, with a new token */
	unsigned enrol_tries;
	bool want_write;
	uint32_t watched;
	unsigned attempt;
	uint64_t next_at, deadline, next_ping, next_id;
	uint64_t policy_version; /* acknowledged */
	uint64_t policy_at;      /* when the last POLICY_ACK was sent */
	uint64_t ready_at;       /* the last HELLO_OK */
	unsigned version;        /* the session's protocol version (HELLO_OK) */
	uint64_t key_slot[2];    /* the generations held (dsmd's two slots, g & 1) */
	uint64_t key_send;       /* the one sent with */
	uint64_t key_acked[4];   /* by phase (install, switch, drop): the newest acked */
	uint64_t key_full[2];    /* this session's first INSTALL of a generation (slot g & 1) */
};

struct ctl {
	enum kind kind;
	int fd;
	char *buf;
	size_t len, cap;
	bool done;
};

static struct {
	unsigned n;
	struct mgr *m;
	int ep;
	struct sockaddr_in addr;
	char port[8];
	char dir[80], state[96], ctl_path[100], log_path[100];
	const char *server_bin, *dsmctl_bin, *tmp;
	unsigned admit_rate, rules, pushes, storms;
	bool verify, pin, keep, json_only;
	pid_t pid;
	SSL_CTX *enrol_ctx;
	X509 *ca;
	struct dsm_sign_key *op_key;
	struct dsm_sign_pubkey *op_pub;
	const uint8_t *envelope; /* the one pushed last */
	size_t envelope_len;
	unsigned ready, enrolled, enrol_inflight, enrol_retries;
	unsigned bad_policy, refused, drops, ignored, keys_refused, keys_short, fresh;
	uint64_t *hello_at;      /* storm: HELLO_OK times */
	unsigned nhello;
	bool record_hello;
} B = { .n = 1000, .pushes = 5, .storms = 3, .rules = 1000, .pin = true, .tmp = "/tmp" };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("server_scale: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (B.pid > 0)
		kill(B.pid, SIGKILL);
	if (B.dir[0])
		fprintf(stderr, "server_scale: state and server log kept in %s\n", B.dir);
	exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("server_scale: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms(void)
{
	return now_us() / 1000u;
}

static double secs(uint64_t us)
{
	return (double)us / 1e6;
}

static uint64_t rnd64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = now_us() * 0x9e3779b97f4a7c15ull;
	return v;
}

/* dsmd_uplink_backoff_ms(), the same rule */
static uint64_t backoff_ms(unsigned attempt)
{
	uint64_t ceil = BACKOFF_MIN_MS;

	while (attempt-- && ceil < BACKOFF_MAX_MS)
		ceil *= 2;
	if (ceil > BACKOFF_MAX_MS)
		ceil = BACKOFF_MAX_MS;
	return rnd64() % (ceil + 1);
}

/* ---- the managers' sessions ---------------------------------------------- */

static void watch(struct mgr *m)
{
	uint32_t ev = EPOLLIN;
	struct epoll_event e = { .data.ptr = m };

	if (m->fd < 0)
		return;
	if (m->st == M_CONNECTING || m->want_write || m->off < m->out.len)
		ev = m->st == M_CONNECTING ? EPOLLOUT : ev | EPOLLOUT;
	if (ev == m->watched)
		return;
	e.events = ev;
	if (epoll_ctl(B.ep, EPOLL_CTL_MOD, m->fd, &e))
		die("epoll_ctl: %s", strerror(errno));
	m->watched = ev;
}

static void drop(struct mgr *m, const char *why)
{
	const bool was_ready = m->st == M_READY;

	if (m->fd >= 0) {
		epoll_ctl(B.ep, EPOLL_CTL_DEL, m->fd, NULL);
		close(m->fd);
	}
	m->fd = -1;
	m->key_full[0] = m->key_full[1] = 0;
	dsm_tls_conn_free(m->tls);
	m->tls = NULL;
	dsm_msg_reader_release(&m->rd);
	m->out.len = m->off = 0;
	m->want_write = false;
	if (was_ready)
		B.ready--;
	if (m->enrol) {
		B.enrol_inflight--;
		m->enrol = false;
		m->st = M_OFF;
		if (!m->enrolled) {
			if (m->enrol_tries >= ENROL_TRIES)
				die("%s: enrolment failed %u times, the last: %s", m->name,
				    m->enrol_tries, why);
			note("%s: enrolment failed (%s); again with a new token", m->name, why);
			m->enrol_failed = true;
			B.enrol_retries++;
		}
		return;
	}
	B.drops++;
	m->st = M_WAIT;
	m->next_at = now_ms() + backoff_ms(m->attempt);
	if (!was_ready)
		m->attempt++;
}

static void send_msg(struct mgr *m, struct dsm_msg *msg)
{
	int err;

	if (!msg->id)
		msg->id = ++m->next_id;
	/* every frame after HELLO_OK in the session's version, as dsmd sends */
	msg->version = (uint8_t)dsm_msg_frame_version(msg->type, m->version);
	err = dsm_msg_encode(msg, &m->out);
	if (err)
		die("%s: encoding %s: %s", m->name, dsm_msg_type_name(msg->type), strerror(-err));
}

static void send_hello(struct mgr *m)
{
	struct dsm_msg h = { .type = DSM_MSG_HELLO, .hello = {
		.version_min = DSM_MSG_VERSION_MIN, .version_max = DSM_MSG_VERSION_MAX,
		.policy_version = m->policy_version,
		.key_generation = m->key_slot[0] > m->key_slot[1] ? m->key_slot[0] : m->key_slot[1],
		.software = "dsm server_scale 1" } };

	send_msg(m, &h);
}

static void send_enrol(struct mgr *m)
{
	uint8_t *csr = NULL;
	size_t len = 0;
	struct dsm_msg e = { .type = DSM_MSG_ENROL };

	if (dsm_pki_csr_make(m->key, &csr, &len))
		die("%s: no CSR", m->name);
	e.enrol = (struct dsm_msg_enrol){ .token = { (const uint8_t *)m->token, strlen(m->token) },
					  .csr = { csr, len } };
	send_msg(m, &e);
	OPENSSL_free(csr);
}

static void on_enrol_ok(struct mgr *m, const struct dsm_msg *msg)
{
	const struct dsm_msg_enrol_ok *ok = &msg->enrol_ok;
	X509 *cert = NULL;
	struct dsm_tls_config cfg = { .cluster = CLUSTER, .ca = B.ca, .key = m->key };

	if (strcmp(ok->name, m->name) ||
	    dsm_pki_cert_from_der(ok->cert.data, ok->cert.len, &cert))
		die("%s: ENROL_OK for %s, or a certificate that does not read", m->name, ok->name);
	cfg.cert = cert;
	m->ctx = dsm_tls_node_ctx(&cfg);
	X509_free(cert);
	if (!m->ctx)
		die("%s: the enrolled certificate does not make a TLS context", m->name);
	m->enrolled = true;
	B.enrolled++;
}

static void on_policy(struct mgr *m, const struct dsm_msg *msg)
{
	const struct dsm_msg_bytes *b = &msg->policy.bundle;
	struct dsm_msg ack = { .type = DSM_MSG_POLICY_ACK, .id = msg->id,
			       .policy_ack = { .version = m->policy_version, .reason = "" } };
	uint64_t version = 0;
	int err = 0;

	if (b->len >= ENVELOPE_MIN)
		version = dsm_get_le(b->data + ENVELOPE_VERSION_OFF, 8);
	if (b->len != B.envelope_len || memcmp(b->data, B.envelope, b->len))
		err = -EBADMSG;
	if (!err && B.verify)
		err = dsm_signed_verify(b->data, b->len, B.op_pub, CLUSTER, m->policy_version,
					(uint64_t)time(NULL), NULL, NULL);
	if (err) {
		B.bad_policy++;
		ack.policy_ack.result = DSM_POLICY_BAD_BUNDLE;
		ack.policy_ack.reason = "not the envelope pushed";
	} else {
		ack.policy_ack.version = m->policy_version = version;
	}
	m->policy_at = now_us();
	send_msg(m, &ack);
}

static bool flush_out(struct mgr *m);

/* dsmd_pairkeys_phase()'s checks, on generations only (the keys are
 * counted, not kept): NULL if the phase applies, else why not. */
static const char *keys_apply(struct mgr *m, const struct dsm_msg_keys *k)
{
	const uint64_t g = k->generation;
	uint64_t *slot = &m->key_slot[g & 1];
	const uint64_t newest = m->key_slot[0] > m->key_slot[1] ? m->key_slot[0] : m->key_slot[1];

	if (!g)
		return "generation 0";
	if (k->phase != DSM_KEYS_INSTALL && k->keys.count)
		return "keys in a phase other than INSTALL";
	switch (k->phase) {
	case DSM_KEYS_INSTALL:
		if (*slot == g)
			return NULL; /* more keys, or a repeat: merged */
		if (g < newest)
			return "INSTALL older than the newest held";
		if (*slot && *slot == m->key_send)
			return "INSTALL over the generation sent with";
		*slot = g;
		return NULL;
	case DSM_KEYS_SWITCH:
		if (*slot != g)
			return "SWITCH to a generation not installed";
		if (g < m->key_send)
			return "SWITCH back";
		m->key_send = g;
		return NULL;
	case DSM_KEYS_DROP_OLD:
		if (!m->key_send || g > m->key_send)
			return "DROP_OLD above the generation sent with";
		for (int i = 0; i < 2; i++)
			if (m->key_slot[i] < g)
				m->key_slot[i] = 0;
		return NULL;
	default:
		return "unknown phase";
	}
}

static void on_keys(struct mgr *m, const struct dsm_msg *msg)
{
	const struct dsm_msg_keys *k = &msg->keys;
	struct dsm_msg ack = { .type = DSM_MSG_KEYS_ACK, .id = msg->id,
			       .keys_ack = { .generation = k->generation, .phase = k->phase } };
	const char *why = keys_apply(m, k);

	if (why) {
		struct dsm_msg e = { .type = DSM_MSG_ERROR, .id = msg->id,
				     .error = { .code = DSM_ERR_UNEXPECTED, .text = why } };

		/* dsmd: ERROR UNEXPECTED and the session ends */
		if (!B.keys_refused++)
			note("%s: KEYS generation %llu phase %u refused: %s", m->name,
			     (unsigned long long)k->generation, k->phase, why);
		send_msg(m, &e);
		if (flush_out(m))
			drop(m, why);
		return;
	}
	/* A session's first INSTALL of a generation carries a key for every
	 * other node; later ones announce nodes that came up or moved. */
	if (k->phase == DSM_KEYS_INSTALL && m->key_full[k->generation & 1] != k->generation) {
		m->key_full[k->generation & 1] = k->generation;
		if (k->keys.count != B.n - 1)
			B.keys_short++;
	}
	if (k->generation > m->key_acked[k->phase])
		m->key_acked[k->phase] = k->generation;
	send_msg(m, &ack);
}

static void on_message(struct mgr *m, const struct dsm_msg *msg)
{
	struct dsm_msg r = { 0 };

	switch (msg->type) {
	case DSM_MSG_ENROL_OK:
		if (m->st == M_ENROL)
			on_enrol_ok(m, msg);
		return;
	case DSM_MSG_HELLO_OK:
		if (m->st != M_HELLO)
			break;
		m->st = M_READY;
		m->version = msg->hello_ok.version;
		m->attempt = 0;
		m->deadline = 0;
		m->ready_at = now_us();
		m->next_ping = now_ms() + HEARTBEAT_MS;
		B.ready++;
		if (B.record_hello && B.nhello < 2 * B.n)
			B.hello_at[B.nhello++] = m->ready_at;
		return;
	case DSM_MSG_PING:
		r = (struct dsm_msg){ .type = DSM_MSG_PONG, .id = msg->id,
				      .ping.nonce = msg->ping.nonce };
		send_msg(m, &r);
		return;
	case DSM_MSG_PONG:
	case DSM_MSG_ALARMS_ACK:
	case DSM_MSG_RENEW_OK:
		return;
	case DSM_MSG_POLICY:
		on_policy(m, msg);
		return;
	case DSM_MSG_KEYS:
		on_keys(m, msg);
		return;
	case DSM_MSG_FRESH:
		B.fresh++; /* dsmd verifies and keeps it; counted here, not verified */
		return;
	case DSM_MSG_ERROR:
		B.refused++;
		note("%s: ERROR %u from the server: %s", m->name, msg->error.code, msg->error.text);
		drop(m, "ERROR");
		return;
	default:
		/* a type this manager does not act on (a later server's FRESH, a
		 * RENEW_OK ...): dsmd's work, not the benchmark's; counted */
		if (!B.ignored++)
			note("%s: %s ignored (counted; the table says how many)", m->name,
			     dsm_msg_type_name(msg->type));
		return;
	}
	note("%s: %s not expected in this state", m->name, dsm_msg_type_name(msg->type));
	drop(m, "unexpected message");
}

static void feed(struct mgr *m, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len && m->fd >= 0) {
		struct dsm_msg msg = { 0 };
		size_t used = 0;
		const int r = dsm_msg_reader_feed(&m->rd, buf + off, len - off, &used, &msg);

		off += used;
		if (r < 0) {
			note("%s: a frame that does not decode: %s", m->name, strerror(-r));
			drop(m, "malformed frame");
			return;
		}
		if (r == 1) {
			on_message(m, &msg);
			dsm_msg_free(&msg);
		}
	}
}

/* Write what is queued until TLS would block; false if the session ended. */
static bool flush_out(struct mgr *m)
{
	while (m->off < m->out.len) {
		size_t put = 0;
		const int r = dsm_tls_write(m->tls, m->out.data + m->off, m->out.len - m->off, &put);

		if (r == DSM_TLS_DONE) {
			m->off += put;
			continue;
		}
		if (r == DSM_TLS_WANT_WRITE) {
			m->want_write = true;
			break;
		}
		if (r == DSM_TLS_WANT_READ)
			break;
		drop(m, dsm_tls_error(m->tls));
		return false;
	}
	if (m->off == m->out.len)
		m->out.len = m->off = 0;
	return true;
}

static void step(struct mgr *m)
{
	static uint8_t buf[1 << 17];
	int r;

	if (m->st == M_TLS) {
		r = dsm_tls_handshake(m->tls);
		m->want_write = r == DSM_TLS_WANT_WRITE;
		if (r == DSM_TLS_WANT_READ || r == DSM_TLS_WANT_WRITE) {
			watch(m);
			return;
		}
		if (r != DSM_TLS_DONE) {
			drop(m, dsm_tls_error(m->tls));
			return;
		}
		if (m->enrol) {
			send_enrol(m);
			m->st = M_ENROL;
		} else {
			send_hello(m);
			m->st = M_HELLO;
		}
	}
	m->want_write = false;
	if (!flush_out(m))
		return;
	for (;;) {
		size_t got = 0;

		r = dsm_tls_read(m->tls, buf, sizeof(buf), &got);
		if (r == DSM_TLS_DONE) {
			feed(m, buf, got);
			if (m->fd < 0 || !flush_out(m))
				return;
			continue;
		}
		if (r == DSM_TLS_WANT_WRITE)
			m->want_write = true;
		if (r == DSM_TLS_WANT_READ || r == DSM_TLS_WANT_WRITE)
			break;
		drop(m, r == DSM_TLS_CLOSED ? "closed" : dsm_tls_error(m->tls));
		return;
	}
	watch(m);
}

static void mgr_connect(struct mgr *m)
{
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = m };
	const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s (RLIMIT_NOFILE?)", strerror(errno));
	m->fd = fd;
	m->st = M_CONNECTING;
	m->version = DSM_MSG_VERSION_MIN; /* until HELLO_OK chooses */
	m->deadline = now_ms() + SETUP_MS;
	m->watched = EPOLLOUT;
	dsm_msg_reader_init(&m->rd, DSM_MSG_FROM_SERVER);
	if (epoll_ctl(B.ep, EPOLL_CTL_ADD, fd, &e))
		die("epoll_ctl: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&B.addr, sizeof(B.addr)) && errno != EINPROGRESS)
		drop(m, strerror(errno));
}

static void connected(struct mgr *m)
{
	int soerr = 0, err;
	socklen_t len = sizeof(soerr);

	if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
		drop(m, strerror(soerr ? soerr : errno));
		return;
	}
	err = dsm_tls_conn_new(m->enrol ? B.enrol_ctx : m->ctx, m->fd, &m->tls);
	if (err)
		die("%s: TLS connection: %s", m->name, strerror(-err));
	m->st = M_TLS;
	step(m);
}

static void mgr_ready(struct mgr *m, uint32_t events)
{
	(void)events;
	if (m->fd < 0)
		return;
	if (m->st == M_CONNECTING)
		connected(m);
	else
		step(m);
}

/* ---- the control socket ---------------------------------------------------- */

static struct ctl ctl_pending;

static void ctl_ready(struct ctl *c)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? 2 * c->cap : 1 << 17;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				die("out of memory");
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		epoll_ctl(B.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		c->done = true;
		return;
	}
}

static void timers(void);

/* One pass of the loop: up to timeout_ms for events, then the timers. */
static void pump(int timeout_ms)
{
	struct epoll_event ev[512];
	const int n = epoll_wait(B.ep, ev, 512, timeout_ms);

	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		enum kind *k = ev[i].data.ptr;

		if (*k == K_CTL)
			ctl_ready((struct ctl *)k);
		else
			mgr_ready((struct mgr *)k, ev[i].events);
	}
	timers();
}

/* Start a request (with fd passed when >= 0); its answer arrives in
 * ctl_pending as the loop runs. */
static void ctl_start(const char *line, int fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
	struct iovec iov = { (void *)line, strlen(line) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &ctl_pending };
	struct ctl *c = &ctl_pending;

	c->kind = K_CTL;
	c->len = 0;
	c->done = false;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", B.ctl_path);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("control socket %s: %s", B.ctl_path, strerror(errno));
	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) != (ssize_t)strlen(line))
		die("control socket: send: %s", strerror(errno));
	if (epoll_ctl(B.ep, EPOLL_CTL_ADD, c->fd, &e))
		die("epoll_ctl: %s", strerror(errno));
}

static json_object *ctl_answer(void)
{
	struct ctl *c = &ctl_pending;
	json_object *o;
	struct json_tokener *t;

	if (!c->len || c->buf[c->len - 1] != '\n')
		die("control socket: no answer (the server's log: %s)", B.log_path);
	t = json_tokener_new_ex(64);
	o = json_tokener_parse_ex(t, c->buf, (int)c->len - 1);
	json_tokener_free(t);
	if (!o)
		die("control socket: an answer that does not parse");
	return o;
}

/* A request and its answer, the managers served meanwhile. */
static json_object *ctl_call(const char *line, int fd)
{
	ctl_start(line, fd);
	while (!ctl_pending.done)
		pump(50);
	return ctl_answer();
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

/* ---- timers ---------------------------------------------------------------- */

static void timers(void)
{
	static uint64_t last;
	const uint64_t now = now_ms();

	if (now - last < 20)
		return;
	last = now;
	for (unsigned i = 0; i < B.n; i++) {
		struct mgr *m = &B.m[i];

		if (m->st == M_WAIT && now >= m->next_at) {
			mgr_connect(m);
		} else if (m->deadline && now > m->deadline && m->st != M_READY &&
			   m->st != M_OFF && m->st != M_WAIT) {
			drop(m, "no HELLO_OK within 10 s");
		} else if (m->st == M_READY && now >= m->next_ping) {
			struct dsm_msg p = { .type = DSM_MSG_PING, .ping.nonce = rnd64() };

			m->next_ping = now + HEARTBEAT_MS;
			send_msg(m, &p);
			step(m);
		}
	}
}

/* ---- the server process ---------------------------------------------------- */

static void pick_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	const int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		die("no free loopback port: %s", strerror(errno));
	close(fd);
	B.addr = sa;
	snprintf(B.port, sizeof(B.port), "%u", ntohs(sa.sin_port));
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		note("cannot run on CPU %d: %s", cpu, strerror(errno));
}

static void server_start(void)
{
	char listen[32], rate[16];
	const char *argv[12];
	int a = 0, fd;

	snprintf(listen, sizeof(listen), "127.0.0.1:%s", B.port);
	argv[a++] = B.server_bin;
	argv[a++] = "--state";
	argv[a++] = B.state;
	argv[a++] = "--listen";
	argv[a++] = listen;
	argv[a++] = "--control";
	argv[a++] = B.ctl_path;
	if (B.admit_rate) {
		snprintf(rate, sizeof(rate), "%u", B.admit_rate);
		argv[a++] = "--admit-rate";
		argv[a++] = rate;
	}
	argv[a] = NULL;
	fd = open(B.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: %s", B.log_path, strerror(errno));
	B.pid = fork();
	if (B.pid < 0)
		die("fork: %s", strerror(errno));
	if (!B.pid) {
		if (B.pin)
			pin_to(1);
		dup2(fd, 2);
		dup2(fd, 1);
		execv(B.server_bin, (char *const *)argv);
		_exit(127);
	}
	close(fd);
}

/* Wait until the control socket answers status. */
static void server_wait(void)
{
	const uint64_t until = now_ms() + 10000;

	for (;;) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int st;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", B.ctl_path);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			return;
		}
		if (fd >= 0)
			close(fd);
		if (waitpid(B.pid, &st, WNOHANG) == B.pid) {
			B.pid = 0;
			die("dsm-server exited at start (its log: %s)", B.log_path);
		}
		if (now_ms() > until)
			die("dsm-server did not open its control socket in 10 s (%s)", B.log_path);
		pump(5);
	}
}

struct mem { double rss, hwm; }; /* MiB */

static struct mem server_mem(void)
{
	char path[64], line[256];
	struct mem m = { NAN, NAN };
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)B.pid);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;

		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			m.rss = kb / 1024.0;
		else if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
			m.hwm = kb / 1024.0;
	}
	fclose(f);
	return m;
}

/* The server's time on a CPU so far, in seconds (/proc/PID/schedstat). */
static double server_cpu(void)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)B.pid);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu", &ns) != 1)
		die("%s: does not read", path);
	fclose(f);
	return (double)ns / 1e9;
}

static void run(const char *what, char *const argv[])
{
	int st;
	const pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		const int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("%s failed", what);
}

/* ---- policies -------------------------------------------------------------- */

/* A policy naming every manager's node, with about `rules` rules. */
static char *policy_text(unsigned version, size_t *len)
{
	size_t cap = 4096 + (size_t)B.n * 32 + (size_t)B.rules * 48, off = 0;
	char *t = malloc(cap);
	unsigned subjects = (unsigned)sqrt((double)B.rules) + 2, per, done = 0;

#define ADD(...) (off += (size_t)snprintf(t + off, cap - off, __VA_ARGS__))
	if (!t)
		die("out of memory");
	ADD("policy bench version %u;\n", version);
	for (unsigned i = 0; i < B.n; i++)
		ADD("node %s = %u;\n", B.m[i].name, i + 1);
	ADD("label unconfined = 1;\nlabel dsmd = 2;\nlabel a = 10;\ninitial unconfined;\n"
	    "allow unconfined { unconfined dsmd a } : process *;\n"
	    "allow unconfined unconfined : socket *;\n"
	    "allow a@any a : peer recv;\n");
	for (unsigned i = 0; i < subjects; i++)
		ADD("label f%u = %u;\n", i, 1000 + i);
	per = (B.rules + subjects - 1) / subjects;
	for (unsigned i = 0; i < subjects && done < B.rules; i++)
		for (unsigned j = 1; j <= per && done < B.rules; j++, done++)
			ADD("allow f%u f%u : socket send;\n", i, (i + j) % subjects);
	if (off >= cap)
		die("policy text overflow");
#undef ADD
	*len = off;
	return t;
}

struct signed_policy {
	uint8_t *env;
	size_t len;
	int fd;
};

static struct signed_policy sign_policy(unsigned version)
{
	struct signed_policy sp = { .fd = -1 };
	struct dsm_policy *p = NULL;
	uint8_t *bundle = NULL;
	size_t tlen = 0, blen = 0;
	char *text = policy_text(version, &tlen), path[160];
	const uint64_t now = (uint64_t)time(NULL);
	struct dsm_diags d;

	dsm_diags_init(&d);
	if (dsm_policy_compile("bench.policy", text, tlen, &p, &d))
		die("the benchmark policy does not compile");
	dsm_diags_free(&d);
	free(text);
	if (dsm_bundle_write(p, &bundle, &blen))
		die("the benchmark policy does not bundle");
	dsm_policy_free(p);
	if (dsm_signed_write(bundle, blen, B.op_key, CLUSTER, now - 60, now + 86400, &sp.env,
			     &sp.len))
		die("the benchmark policy cannot be signed");
	free(bundle);
	snprintf(path, sizeof(path), "%s/policy-%u.signed", B.dir, version);
	sp.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (sp.fd < 0 || write(sp.fd, sp.env, sp.len) != (ssize_t)sp.len)
		die("%s: %s", path, strerror(errno));
	return sp;
}

/* ---- the phases ------------------------------------------------------------ */

static void wait_until(bool (*done)(void), const char *what, uint64_t timeout_ms)
{
	const uint64_t until = now_ms() + timeout_ms;

	while (!done()) {
		if (now_ms() > until)
			die("%s: not within %llu s (ready %u of %u; the server's log: %s)", what,
			    (unsigned long long)timeout_ms / 1000, B.ready, B.n, B.log_path);
		pump(20);
	}
}

static bool all_enrolled(void)
{
	return B.enrolled == B.n;
}

static bool all_ready(void)
{
	return B.ready == B.n;
}

static void settle(unsigned ms)
{
	const uint64_t until = now_ms() + ms;

	while (now_ms() < until)
		pump(20);
}

/* A join token for m (a pending node gets a new one). */
static void node_add(struct mgr *m)
{
	char line[64];
	json_object *o;
	const char *tok;

	snprintf(line, sizeof(line), "node-add %s\n", m->name);
	o = ctl_call(line, -1);
	tok = jstr(o, "token");
	if (!tok || jstr(o, "error"))
		die("node-add %s: %s", m->name, jstr(o, "error") ?: "no token");
	snprintf(m->token, sizeof(m->token), "%s", tok);
	json_object_put(o);
}

static double node_add_all(void)
{
	const uint64_t t0 = now_us();

	for (unsigned i = 0; i < B.n; i++)
		node_add(&B.m[i]);
	return secs(now_us() - t0);
}

static void enrol_start(struct mgr *m)
{
	m->enrol = true;
	m->enrol_tries++;
	B.enrol_inflight++;
	mgr_connect(m);
}

static double enrol_all(void)
{
	const uint64_t t0 = now_us();
	unsigned next = 0;

	while (!all_enrolled()) {
		for (unsigned i = 0; i < next; i++)
			if (B.m[i].enrol_failed) {
				B.m[i].enrol_failed = false;
				node_add(&B.m[i]);
				enrol_start(&B.m[i]);
			}
		while (next < B.n && B.enrol_inflight < ENROL_INFLIGHT)
			enrol_start(&B.m[next++]);
		if (now_us() - t0 > 600 * 1000000ull)
			die("enrolment: %u of %u in 600 s", B.enrolled, B.n);
		pump(20);
	}
	/* the server closes each enrolment session after ENROL_OK */
	while (B.enrol_inflight)
		pump(20);
	return secs(now_us() - t0);
}

static double connect_all(void)
{
	const uint64_t t0 = now_us();

	for (unsigned i = 0; i < B.n; i++)
		mgr_connect(&B.m[i]);
	wait_until(all_ready, "first connection", 600000);
	return secs(now_us() - t0);
}

static uint64_t push_target;

static bool all_acked(void)
{
	for (unsigned i = 0; i < B.n; i++)
		if (B.m[i].policy_version != push_target)
			return false;
	return true;
}

/* Has the server recorded every manager at version v? */
static bool server_has_all(uint64_t v)
{
	json_object *o = ctl_call("policy-status\n", -1), *nodes, *e, *pv;
	size_t n, good = 0;

	if (!json_object_object_get_ex(o, "nodes", &nodes))
		die("policy-status: %s", jstr(o, "error") ?: "no nodes");
	n = json_object_array_length(nodes);
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(nodes, i);
		if (json_object_object_get_ex(e, "policy_version", &pv) &&
		    json_object_get_uint64(pv) == v)
			good++;
	}
	json_object_put(o);
	return n == B.n && good == n;
}

struct push_result {
	double answer, last_ack, recorded; /* seconds from the push */
	double cpu;                        /* the server's CPU seconds until recorded */
	unsigned sent_to;
	unsigned polls;
};

static struct push_result push_once(unsigned version)
{
	struct signed_policy sp = sign_policy(version);
	struct push_result r = { 0 };
	uint64_t t0, t_ans = 0, last = 0;
	json_object *o;

	free((void *)B.envelope); /* the one before: no longer offered */
	B.envelope = sp.env;
	B.envelope_len = sp.len;
	push_target = version;
	r.cpu = server_cpu();
	t0 = now_us();
	ctl_start("policy-push\n", sp.fd);
	while (!ctl_pending.done || !all_acked()) {
		if (ctl_pending.done && !t_ans)
			t_ans = now_us();
		if (now_us() - t0 > PHASE_TIMEOUT_MS * 1000ull)
			die("push of version %u: not acknowledged by all within %d s", version,
			    PHASE_TIMEOUT_MS / 1000);
		pump(20);
	}
	if (!t_ans)
		t_ans = now_us();
	o = ctl_answer();
	if (jstr(o, "error"))
		die("policy-push: %s", jstr(o, "error"));
	r.sent_to = (unsigned)jint(o, "sent_to");
	json_object_put(o);
	for (unsigned i = 0; i < B.n; i++)
		if (B.m[i].policy_at > last)
			last = B.m[i].policy_at;
	r.answer = secs(t_ans - t0);
	r.last_ack = secs(last - t0);
	while (!server_has_all(version)) {
		r.polls++;
		if (now_us() - t0 > PHASE_TIMEOUT_MS * 1000ull)
			die("push of version %u: the server has not recorded every ack in %d s",
			    version, PHASE_TIMEOUT_MS / 1000);
		pump(5);
	}
	r.recorded = secs(now_us() - t0);
	r.cpu = server_cpu() - r.cpu;
	close(sp.fd);
	return r; /* B.envelope stays: a reconnecting node behind would get it */
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- key rotation ------------------------------------------------------------ */

struct rotation {
	uint64_t generation;
	double install, switched; /* every manager acked, seconds from the request */
	double in_force;          /* keys-status: the server has every switch ack */
	double cpu;               /* the server's CPU seconds until in force */
	unsigned polls;
};

static uint64_t rot_gen;
static int rot_phase;

static bool all_keys(void)
{
	for (unsigned i = 0; i < B.n; i++)
		if (B.m[i].key_acked[rot_phase] < rot_gen)
			return false;
	return true;
}

/* keys-status: the generation in force and whether a rotation runs. */
static uint64_t keys_current(bool *running)
{
	json_object *o = ctl_call("keys-status\n", -1), *rot;
	uint64_t cur;

	if (jstr(o, "error"))
		die("keys-status: %s", jstr(o, "error"));
	cur = (uint64_t)jint(o, "current");
	*running = json_object_object_get_ex(o, "rotation", &rot) && rot &&
		   json_object_is_type(rot, json_type_object);
	json_object_put(o);
	return cur;
}

static struct rotation rotate(void)
{
	struct rotation r = { 0 };
	uint64_t t0, until = now_ms() + PHASE_TIMEOUT_MS;
	bool running = true;
	json_object *o, *q;

	/* the first generation's rotation ran while the managers came up */
	while (keys_current(&running), running) {
		if (now_ms() > until)
			die("key rotation: the first generation's has not ended in %d s",
			    PHASE_TIMEOUT_MS / 1000);
		settle(100);
	}
	r.cpu = server_cpu();
	t0 = now_us();
	o = ctl_call("keys-rotate\n", -1);
	if (jstr(o, "error"))
		die("keys-rotate: %s", jstr(o, "error"));
	if (json_object_object_get_ex(o, "queued", &q) && json_object_get_boolean(q))
		die("keys-rotate: queued behind a rotation that runs");
	rot_gen = r.generation = (uint64_t)jint(o, "generation");
	json_object_put(o);
	for (rot_phase = DSM_KEYS_INSTALL; rot_phase <= DSM_KEYS_SWITCH; rot_phase++) {
		while (!all_keys()) {
			if (now_us() - t0 > PHASE_TIMEOUT_MS * 1000ull)
				die("key rotation to %llu: %s not acknowledged by every manager "
				    "within %d s", (unsigned long long)rot_gen,
				    rot_phase == DSM_KEYS_INSTALL ? "install" : "switch",
				    PHASE_TIMEOUT_MS / 1000);
			pump(5);
		}
		if (rot_phase == DSM_KEYS_INSTALL)
			r.install = secs(now_us() - t0);
		else
			r.switched = secs(now_us() - t0);
	}
	while (keys_current(&running) != rot_gen) {
		r.polls++;
		if (now_us() - t0 > PHASE_TIMEOUT_MS * 1000ull)
			die("key rotation to %llu: not in force within %d s",
			    (unsigned long long)rot_gen, PHASE_TIMEOUT_MS / 1000);
		pump(5);
	}
	r.in_force = secs(now_us() - t0);
	r.cpu = server_cpu() - r.cpu;
	return r;
}

/* ---- the storm ---------------------------------------------------------------- */

struct storm {
	double kill_to_start, first, all; /* from the restart */
	double rate, peak;                /* sessions a second: overall, best second */
	double cpu;                       /* the new server's CPU seconds until all were back */
	unsigned drops;
};

static uint64_t storm_t0;

/* Every manager has a session that began after the restart. */
static bool all_back(void)
{
	for (unsigned i = 0; i < B.n; i++)
		if (B.m[i].st != M_READY || B.m[i].ready_at < storm_t0)
			return false;
	return true;
}

static struct storm storm(void)
{
	struct storm s = { 0 };
	uint64_t t_kill, t0;
	int st;

	B.nhello = 0;
	B.record_hello = true;
	B.drops = 0;
	t_kill = now_us();
	if (kill(B.pid, SIGKILL) || waitpid(B.pid, &st, 0) != B.pid)
		die("kill -9 dsm-server: %s", strerror(errno));
	t0 = storm_t0 = now_us();
	server_start();
	s.kill_to_start = secs(t0 - t_kill);
	wait_until(all_back, "reconnect storm", 600000);
	s.cpu = server_cpu();
	B.record_hello = false;
	if (B.nhello < B.n)
		die("storm: %u HELLO_OK for %u managers", B.nhello, B.n);
	s.first = secs(B.hello_at[0] - t0);
	s.all = secs(B.hello_at[B.nhello - 1] - t0);
	if (B.nhello > 1 && B.hello_at[B.nhello - 1] > B.hello_at[0])
		s.rate = (B.nhello - 1) / secs(B.hello_at[B.nhello - 1] - B.hello_at[0]);
	for (unsigned i = 0, j = 0; i < B.nhello; i++) {
		while (B.hello_at[i] - B.hello_at[j] > 1000000)
			j++;
		if (i - j + 1 > s.peak)
			s.peak = i - j + 1;
	}
	s.drops = B.drops;
	return s;
}

/* ---- setup ------------------------------------------------------------------ */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: server_scale [-n N] [--pushes K] [--storms K] [--rules R] [--admit-rate R]\n"
		"                    [--server PATH] [--dsmctl PATH] [--tmp DIR] [--verify]\n"
		"                    [--no-pin] [--keep] [--json]\n");
	exit(status);
}

static unsigned parse_uint(const char *flag, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	const unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v < lo || v > hi || s[0] == '-') {
		fprintf(stderr, "server_scale: %s wants a number from %u to %u\n", flag, lo, hi);
		exit(2);
	}
	return (unsigned)v;
}

static void flags(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pushes", required_argument, NULL, 'p' },
		{ "storms", required_argument, NULL, 'S' },
		{ "rules", required_argument, NULL, 'r' },
		{ "admit-rate", required_argument, NULL, 'a' },
		{ "server", required_argument, NULL, 's' },
		{ "dsmctl", required_argument, NULL, 'c' },
		{ "tmp", required_argument, NULL, 't' },
		{ "verify", no_argument, NULL, 'V' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "keep", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n': B.n = parse_uint("-n", optarg, 1, 4000); break;
		case 'p': B.pushes = parse_uint("--pushes", optarg, 1, 100); break;
		case 'S': B.storms = parse_uint("--storms", optarg, 0, 20); break;
		case 'r': B.rules = parse_uint("--rules", optarg, 1, 200000); break;
		case 'a': B.admit_rate = parse_uint("--admit-rate", optarg, 1, 100000); break;
		case 's': B.server_bin = optarg; break;
		case 'c': B.dsmctl_bin = optarg; break;
		case 't': B.tmp = optarg; break;
		case 'V': B.verify = true; break;
		case 'P': B.pin = false; break;
		case 'k': B.keep = true; break;
		case 'j': B.json_only = true; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

/* build/bench/server_scale -> build/NAME */
static const char *sibling(const char *argv0, const char *name)
{
	static char buf[2][PATH_MAX + 64];
	static int k;
	char self[PATH_MAX];
	const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	(void)argv0;
	if (n <= 0)
		die("/proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	for (int up = 0; up < 2; up++) {
		slash = strrchr(self, '/');
		if (!slash)
			die("where am I? %s", self);
		*slash = '\0';
	}
	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", self, name);
	return buf[k];
}

static void fds(void)
{
	const rlim_t want = 2 * (rlim_t)B.n + 512;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want)
		rl.rlim_max = want; /* root may raise it */
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("RLIMIT_NOFILE to %llu: %s (raise it, or fewer managers)",
		    (unsigned long long)want, strerror(errno));
}

static void setup(void)
{
	char path[160];
	char *init[] = { (char *)B.dsmctl_bin, "cluster", "init", "--state", B.state,
			 "--cluster", CLUSTER, "--server-name", "srv", NULL };
	struct dsm_tls_config cfg = { .cluster = CLUSTER };

	if (strlen(B.tmp) > 60)
		die("--tmp: a shorter directory, please (the control socket's path must fit)");
	snprintf(B.dir, sizeof(B.dir), "%s/dsm-scale-XXXXXX", B.tmp);
	if (!mkdtemp(B.dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(B.state, sizeof(B.state), "%s/state", B.dir);
	snprintf(B.ctl_path, sizeof(B.ctl_path), "%s/control.sock", B.dir);
	snprintf(B.log_path, sizeof(B.log_path), "%s/server.log", B.dir);
	run("dsmctl cluster init", init);
	snprintf(path, sizeof(path), "%s/ca.pem", B.state);
	if (dsm_pki_cert_load(path, &B.ca))
		die("%s does not load", path);
	snprintf(path, sizeof(path), "%s/operator.key", B.state);
	if (dsm_sign_key_read_file(path, &B.op_key) || dsm_sign_key_public(B.op_key, &B.op_pub))
		die("%s does not load", path);
	cfg.ca = B.ca;
	B.enrol_ctx = dsm_tls_node_ctx(&cfg);
	if (!B.enrol_ctx)
		die("no TLS context to enrol with");
	B.m = calloc(B.n, sizeof(*B.m));
	B.hello_at = calloc(2 * (size_t)B.n, sizeof(*B.hello_at));
	if (!B.m || !B.hello_at)
		die("out of memory");
	for (unsigned i = 0; i < B.n; i++) {
		struct mgr *m = &B.m[i];

		m->kind = K_MGR;
		m->idx = i;
		m->fd = -1;
		snprintf(m->name, sizeof(m->name), "m%u", i + 1);
		if (dsm_pki_key_new(&m->key))
			die("no key");
	}
	B.ep = epoll_create1(EPOLL_CLOEXEC);
	if (B.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	pick_port();
}

static void cleanup(void)
{
	char cmd[128];

	if (B.pid > 0) {
		int st;

		kill(B.pid, SIGTERM);
		waitpid(B.pid, &st, 0);
		B.pid = 0;
	}
	for (unsigned i = 0; i < B.n; i++) {
		struct mgr *m = &B.m[i];

		if (m->fd >= 0)
			close(m->fd);
		dsm_tls_conn_free(m->tls);
		dsm_msg_reader_release(&m->rd);
		dsm_msg_buf_release(&m->out);
		SSL_CTX_free(m->ctx);
		EVP_PKEY_free(m->key);
	}
	if (B.keep) {
		note("state and server log kept in %s", B.dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", B.dir);
	if (system(cmd))
		note("could not remove %s", B.dir);
}

int main(int argc, char **argv)
{
	struct push_result *pr;
	double *recorded, *answer, *last_ack, *cpu, idle_cpu, t_add, t_enrol, t_first, rec_min, rec_max;
	struct mem idle, after_push, after_storm;
	struct rotation rot;
	struct storm *sto, st_med;
	double *st_all, *st_first, *st_rate, *st_cpu, st_min, st_max, st_peak = 0;
	size_t env_len;
	long ncpu;

	flags(argc, argv);
	if (!B.server_bin)
		B.server_bin = sibling(argv[0], "dsm-server");
	if (!B.dsmctl_bin)
		B.dsmctl_bin = sibling(argv[0], "dsmctl");
	if (access(B.server_bin, X_OK) || access(B.dsmctl_bin, X_OK))
		die("no %s or %s: build first (make)", B.server_bin, B.dsmctl_bin);
	signal(SIGPIPE, SIG_IGN);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2)
		B.pin = false;
	if (B.pin)
		pin_to(0);
	fds();
	setup();
	{
		struct signed_policy sp = sign_policy(1);

		env_len = sp.len;
		close(sp.fd);
		free(sp.env);
	}
	server_start();
	server_wait();
	note("dsm-server is pid %d; %u managers: node-add", (int)B.pid, B.n);
	t_add = node_add_all();
	note("enrolment");
	t_enrol = enrol_all();
	note("first connection");
	t_first = connect_all();
	settle(1000);
	idle_cpu = server_cpu();
	settle(IDLE_MS);
	idle_cpu = (server_cpu() - idle_cpu) / (IDLE_MS / 1000.0);
	idle = server_mem();

	pr = calloc(B.pushes, sizeof(*pr));
	recorded = calloc(B.pushes, sizeof(double));
	answer = calloc(B.pushes, sizeof(double));
	last_ack = calloc(B.pushes, sizeof(double));
	cpu = calloc(B.pushes, sizeof(double));
	if (!pr || !recorded || !answer || !last_ack || !cpu)
		die("out of memory");
	for (unsigned k = 0; k < B.pushes; k++) {
		note("push %u of %u", k + 1, B.pushes);
		pr[k] = push_once(k + 1);
		if (pr[k].sent_to != B.n)
			die("push %u: sent to %u of %u", k + 1, pr[k].sent_to, B.n);
		recorded[k] = pr[k].recorded;
		answer[k] = pr[k].answer;
		last_ack[k] = pr[k].last_ack;
		cpu[k] = pr[k].cpu;
		settle(PUSH_GAP_MS);
	}
	rec_min = rec_max = recorded[0];
	for (unsigned k = 0; k < B.pushes; k++) {
		rec_min = fmin(rec_min, recorded[k]);
		rec_max = fmax(rec_max, recorded[k]);
	}
	after_push = server_mem();
	note("key rotation");
	rot = rotate();
	sto = calloc(B.storms + 1, sizeof(*sto));
	st_all = calloc(B.storms + 1, sizeof(double));
	st_first = calloc(B.storms + 1, sizeof(double));
	st_rate = calloc(B.storms + 1, sizeof(double));
	st_cpu = calloc(B.storms + 1, sizeof(double));
	if (!sto || !st_all || !st_first || !st_rate || !st_cpu)
		die("out of memory");
	for (unsigned k = 0; k < B.storms; k++) {
		note("reconnect storm %u of %u", k + 1, B.storms);
		sto[k] = storm();
		st_all[k] = sto[k].all;
		st_first[k] = sto[k].first;
		st_rate[k] = sto[k].rate;
		st_cpu[k] = sto[k].cpu;
		st_peak = fmax(st_peak, sto[k].peak);
		settle(PUSH_GAP_MS);
	}
	st_min = st_max = B.storms ? st_all[0] : NAN;
	for (unsigned k = 0; k < B.storms; k++) {
		st_min = fmin(st_min, st_all[k]);
		st_max = fmax(st_max, st_all[k]);
	}
	st_med = (struct storm){ .all = NAN, .first = NAN, .rate = NAN, .peak = NAN };
	if (B.storms)
		st_med = (struct storm){ .all = median(st_all, B.storms),
			.first = median(st_first, B.storms), .rate = median(st_rate, B.storms),
			.peak = st_peak, .cpu = median(st_cpu, B.storms) };
	settle(500);
	after_storm = server_mem();

	{
		const double med_rec = median(recorded, B.pushes), med_ans = median(answer, B.pushes),
			     med_last = median(last_ack, B.pushes), med_cpu = median(cpu, B.pushes);

		if (!B.json_only) {
			printf("\n### Security Server at scale\n\n");
			printf("%u managers in one process over loopback (TLS 1.3, mutual), dsm-server %s; "
			       "%ld CPUs%s.\n", B.n, B.admit_rate ? "with --admit-rate" : "with its defaults",
			       ncpu, B.pin ? ", server on CPU 1, managers on CPU 0" : "");
			printf("Policy: %u nodes, %u filler rules, signed envelope %zu bytes; %u pushes.\n\n",
			       B.n, B.rules, env_len, B.pushes);
			printf("| measurement | result |\n|---|---|\n");
			printf("| node-add, one at a time on the control socket | %.2f s (%.0f/s) |\n",
			       t_add, B.n / t_add);
			printf("| enrolment, ENROL sessions (%u at once at most) | %.2f s (%.0f/s); "
			       "%u tried again |\n", ENROL_INFLIGHT, t_enrol, B.n / t_enrol,
			       B.enrol_retries);
			printf("| first connection, all sessions at HELLO_OK | %.2f s (%.0f/s) |\n",
			       t_first, B.n / t_first);
			printf("| server memory, %u idle sessions | VmRSS %.1f MiB, VmHWM %.1f MiB |\n",
			       B.n, idle.rss, idle.hwm);
			printf("| server CPU, %u idle sessions (a PING each every %u ms) | %.1f %% of a CPU |\n",
			       B.n, HEARTBEAT_MS, idle_cpu * 100);
			printf("| **policy push until the server has every ack** | **median %.3f s** "
			       "(min %.3f, max %.3f) |\n", med_rec, rec_min, rec_max);
			printf("| ... the control answer (verified, stored, POLICY queued to all) | median %.3f s |\n",
			       med_ans);
			printf("| ... the last POLICY_ACK sent by a manager | median %.3f s |\n", med_last);
			printf("| ... the server's CPU time for the push, to the last ack recorded | median %.3f s |\n",
			       med_cpu);
			printf("| server memory after the pushes | VmRSS %.1f MiB, VmHWM %.1f MiB |\n",
			       after_push.rss, after_push.hwm);
			printf("| **key rotation** to generation %llu (keys-rotate): every manager "
			       "acked install / switch | **%.3f s / %.3f s** |\n",
			       (unsigned long long)rot.generation, rot.install, rot.switched);
			printf("| ... the server has it in force (keys-status, %u polls after the last "
			       "switch ack) | %.3f s |\n", rot.polls, rot.in_force);
			printf("| ... the server's CPU time for the rotation, to in force | %.3f s |\n",
			       rot.cpu);
			if (!B.storms) {
				printf("| reconnect storm | not measured (--storms 0) |\n");
			} else {
				printf("| **reconnect storm**: kill -9, restart, all %u at HELLO_OK, %u storms | "
				       "**median %.2f s** after the restart (min %.2f, max %.2f) |\n", B.n,
				       B.storms, st_med.all, st_min, st_max);
				printf("| ... the first session back | median %.3f s after the restart |\n",
				       st_med.first);
				printf("| ... the rate sessions came back at | median %.0f/s, %.0f in the "
				       "best second |\n", st_med.rate, st_med.peak);
				printf("| ... the new server's CPU time until all were back | median %.3f s |\n",
				       st_med.cpu);
			}
			if (B.storms)
				printf("| server memory after the storm | VmRSS %.1f MiB, VmHWM %.1f MiB |\n",
				       after_storm.rss, after_storm.hwm);
			printf("\nPush times (s): ");
			for (unsigned k = 0; k < B.pushes; k++)
				printf("%s%.3f", k ? ", " : "", pr[k].recorded);
			printf("; policy-status polls after the last ack: ");
			for (unsigned k = 0; k < B.pushes; k++)
				printf("%s%u", k ? ", " : "", pr[k].polls);
			printf(".\n");
			if (B.bad_policy || B.refused || B.ignored || B.keys_refused || B.keys_short)
				printf("Warnings: %u POLICY not the envelope pushed, %u ERRORs from the "
				       "server, %u messages the managers ignored, %u KEYS refused, %u "
				       "INSTALL without a key for every other node.\n", B.bad_policy,
				       B.refused, B.ignored, B.keys_refused, B.keys_short);
			printf("\n");
		}
		printf("{\"bench\":\"server_scale\",\"n\":%u,\"cpus\":%ld,\"pinned\":%s,\"rules\":%u,"
		       "\"envelope_bytes\":%zu,\"admit_rate\":%u,\"node_add_s\":%.3f,\"enrol_s\":%.3f,"
		       "\"enrol_retries\":%u,\"first_connect_s\":%.3f,\"idle_rss_mib\":%.1f,\"idle_hwm_mib\":%.1f,\"idle_cpu\":%.4f,"
		       "\"push_s\":{\"median\":%.4f,\"min\":%.4f,\"max\":%.4f,\"runs\":[",
		       B.n, ncpu, B.pin ? "true" : "false", B.rules, env_len, B.admit_rate, t_add,
		       t_enrol, B.enrol_retries, t_first, idle.rss, idle.hwm, idle_cpu, med_rec, rec_min, rec_max);
		for (unsigned k = 0; k < B.pushes; k++)
			printf("%s%.4f", k ? "," : "", pr[k].recorded);
		printf("]},\"push_answer_s\":%.4f,\"push_last_ack_s\":%.4f,\"push_server_cpu_s\":%.4f,"
		       "\"push_rss_mib\":%.1f,\"push_hwm_mib\":%.1f,", med_ans, med_last, med_cpu,
		       after_push.rss, after_push.hwm);
		printf("\"rotation\":{\"generation\":%llu,\"install_s\":%.4f,\"switch_s\":%.4f,"
		       "\"in_force_s\":%.4f,\"server_cpu_s\":%.4f},", (unsigned long long)rot.generation,
		       rot.install, rot.switched, rot.in_force, rot.cpu);
		if (B.storms) {
			printf("\"storm_s\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"runs\":[",
			       st_med.all, st_min, st_max);
			for (unsigned k = 0; k < B.storms; k++)
				printf("%s%.3f", k ? "," : "", sto[k].all);
			printf("]},\"storm_first_s\":%.4f,\"storm_rate_per_s\":%.1f,\"storm_server_cpu_s\":%.3f,"
			       "\"storm_peak_per_s\":%.0f,\"storm_rss_mib\":%.1f,\"storm_hwm_mib\":%.1f,",
			       st_med.first, st_med.rate, st_med.cpu, st_med.peak, after_storm.rss,
			       after_storm.hwm);
		} else {
			printf("\"storm_s\":null,");
		}
		printf("\"bad_policy\":%u,\"errors\":%u,\"ignored\":%u,\"keys_refused\":%u,"
		       "\"keys_short\":%u}\n", B.bad_policy, B.refused, B.ignored, B.keys_refused,
		       B.keys_short);
	}
	fflush(stdout);
	cleanup();
	return B.bad_policy || B.refused || B.keys_refused || B.keys_short ? 1 : 0;
}
