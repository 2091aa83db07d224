// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd forwards its alarm log to the Security Server (dsmd/uplink_alarms.c
 * with the real alarm log, dsmd/alarm.c), against an in-process server of
 * lib/tls and lib/chan_msg over loopback TCP, in a thread of its own, that
 * stores and acknowledges as dsm-server does (highest sequence stored,
 * duplicates skipped, a batch's dropped count taken once) and follows a
 * script per session: close after storing up to a seq, or close on the
 * Nth batch without storing or acknowledging it.
 *
 *  - acknowledged promptly, every record goes once, in order, in batches
 *    of consecutive numbers; HELLO says the highest seq spooled; the ACK
 *    is saved; the drained backlog is said in one line;
 *  - a session cut in the middle of a batch: the next one sends it again
 *    from the acknowledged seq, nothing is skipped;
 *  - records rotated away while the server was away are the next batch's
 *    dropped count, exactly, and the rest follows;
 *  - batches stay within 256 records and 64 KiB of text, a record too
 *    long to send is counted as dropped, and batches keep to the rate.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define UPLINK_ALARM_RATE 2 /* batches a second: few batches show the limit */

#include "../../dsmd/alarm.c"
#include "../../dsmd/alarm_sink.c"
#include "fake_frames.h"
#include "../../dsmd/uplink.c"
#include "../../dsmd/uplink_alarms.c"
#include "../../dsmd/uplink_conn.c"
#include "../../dsmd/uplink_refusal.c"
#include "../../dsmd/uplink_enrol.c"
#include "../../dsmd/uplink_fresh.c"
#include "../../dsmd/uplink_state.c"
#include "../../dsmd/pairkeys.c"

#define CLUSTER  "c1"
#define SEQ_MAX  1024
#define SESSIONS 3

/* ---- what the test stands in for ------------------------------------- */

static char logged[1 << 16];
static size_t logged_len;

static void keep_log(const char *fmt, va_list ap)
{
	int n;

	if (logged_len >= sizeof(logged) - 1)
		return;
	n = vsnprintf(logged + logged_len, sizeof(logged) - logged_len - 1, fmt, ap);
	if (n > 0)
		logged_len += (size_t)n < sizeof(logged) - logged_len - 1 ? (size_t)n
			      : sizeof(logged) - logged_len - 1;
	logged[logged_len++] = '\n';
	logged[logged_len] = '\0';
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	keep_log(fmt, ap);
	va_end(ap);
}

int log_errno(int level, int err, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	keep_log(fmt, ap);
	va_end(ap);
	return err;
}

void log_stderr(const char *msg)
{
	(void)msg;
}

bool log_stderr_is_journal(void)
{
	return false;
}

int dsmd_map_fd(const struct dsmd *d, enum dsmd_map m)
{
	(void)d;
	(void)m;
	return -1;
}

void dsmd_placeholder_request(struct dsmd *d, const struct dsm_ev_placeholder *r)
{
	(void)d;
	(void)r;
}

/* No pair key maps here (test_dsmd_uplink.c tests the store). */
int dsmd_net_pairkeys(struct dsmd *d)
{
	(void)d;
	return 0;
}

void dsmd_reload(struct dsmd *d, const char *why, struct dsmd_reload_result *r)
{
	(void)d;
	(void)why;
	*r = (struct dsmd_reload_result){ .outcome = DSMD_RELOAD_NOT_INSTALLED, .err = -EIO };
}

/* ---- the fake server ----------------------------------------------------- */

static const uint8_t op_seed[DSM_SIGN_SEED_LEN] = { 9, 9, 9 };

struct script {
	uint64_t end_after;   /* close once this seq is stored */
	unsigned cut_at;      /* close on this batch (1-based), not storing it */
};

struct batch_seen {
	uint64_t first, dropped;
	unsigned count, session;
	size_t text;
	int64_t at_ms;
};

struct server {
	struct dsm_pki_ca ca;
	X509 *cert;
	EVP_PKEY *key;
	SSL_CTX *ctx;
	int lfd;
	char addr[32];
	bool enrol;                       /* one enrolment, nothing else */
	struct script script[SESSIONS];
	unsigned nsessions;
	/* what it saw */
	uint64_t stored;                  /* the highest seq stored */
	unsigned times_stored[SEQ_MAX + 1];
	unsigned received;                /* alarms, duplicates included */
	uint64_t dropped;                 /* dropped counts taken */
	bool bad_batch;                   /* numbers or limits wrong */
	struct batch_seen batch[256];
	unsigned nbatches;
	uint64_t hello_seq[SESSIONS];
	pthread_t thread;
	int sessions_done;                /* __atomic */
	bool done;                        /* __atomic */
};

static void serve_enrol(struct server *s, struct dsm_tls_conn *t, const struct dsm_msg *m)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = "n1", .now = time(NULL),
					   .lifetime_s = 86400 };
	struct dsm_msg ok = { .type = DSM_MSG_ENROL_OK, .id = m->id };
	EVP_PKEY *op = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, op_seed, 32);
	size_t clen = 0, calen = 0, n = DSM_MSG_PUBKEY_LEN;
	uint8_t *cert = NULL, *ca = NULL;
	X509 *x = NULL;

	assert_int_equal(dsm_pki_issue_csr(&s->ca, &req, m->enrol.csr.data, m->enrol.csr.len, &x), 0);
	assert_int_equal(dsm_pki_cert_der(x, &cert, &clen), 0);
	assert_int_equal(dsm_pki_cert_der(s->ca.cert, &ca, &calen), 0);
	assert_int_equal(EVP_PKEY_get_raw_public_key(op, ok.enrol_ok.policy_key, &n), 1);
	ok.enrol_ok.node_id = 7;
	ok.enrol_ok.name = "n1";
	ok.enrol_ok.cert = (struct dsm_msg_bytes){ cert, clen };
	ok.enrol_ok.ca = (struct dsm_msg_bytes){ ca, calen };
	frames_send(t, &ok);
	EVP_PKEY_free(op);
	OPENSSL_free(cert);
	OPENSSL_free(ca);
	X509_free(x);
}

/* The batch's numbers are its records' own, within the limits. */
static void check_batch(struct server *s, const struct dsm_msg_alarms *a, unsigned session)
{
	struct batch_seen *b = &s->batch[s->nbatches < 256 ? s->nbatches++ : 255];
	size_t text = 0;

	for (uint32_t i = 0; i < a->alarms.count; i++) {
		uint64_t seq = 0;
		const size_t n = strlen(a->alarms.line[i]);

		text += n;
		if (!dsmd_alarm_line_seq(a->alarms.line[i], n, &seq) || seq != a->first_seq + i)
			s->bad_batch = true;
	}
	if (a->alarms.count > DSM_MSG_ALARMS_MAX || text > DSM_MSG_ALARMS_TEXT_MAX ||
	    a->first_seq + a->alarms.count - 1 > SEQ_MAX)
		s->bad_batch = true;
	*b = (struct batch_seen){ .first = a->first_seq, .dropped = a->dropped,
				  .count = a->alarms.count, .session = session, .text = text,
				  .at_ms = dsmd_uplink_mono_ms() };
	s->received += a->alarms.count;
}

/* As dsm-server stores: what is above the highest stored, gaps skipped. */
static void store(struct server *s, const struct dsm_msg_alarms *a)
{
	if (a->dropped && a->first_seq > s->stored)
		s->dropped += a->dropped;
	for (uint32_t i = 0; i < a->alarms.count; i++) {
		const uint64_t seq = a->first_seq + i;

		if (seq <= s->stored || seq > SEQ_MAX)
			continue;
		s->times_stored[seq]++;
		s->stored = seq;
	}
}

/* One session: true when the script says to close it. */
static void serve_session(struct server *s, struct dsm_tls_conn *t, struct frames_in *in,
			  unsigned session)
{
	const struct script *sc = &s->script[session];
	struct dsm_msg m = { 0 };
	unsigned batches = 0;

	while (!frames_recv(t, in, &m)) {
		struct dsm_msg r = { .id = m.id };

		if (m.type == DSM_MSG_PING) {
			r.type = DSM_MSG_PONG;
			r.ping.nonce = m.ping.nonce;
			frames_send(t, &r);
		} else if (m.type == DSM_MSG_ALARMS) {
			check_batch(s, &m.alarms, session);
			if (++batches == sc->cut_at)
				break;
			store(s, &m.alarms);
			r.type = DSM_MSG_ALARMS_ACK;
			r.alarms_ack.seq = s->stored;
			frames_send(t, &r);
			if (sc->end_after && s->stored >= sc->end_after)
				break;
		}
		dsm_msg_free(&m);
	}
	dsm_msg_free(&m);
}

static void serve_one(struct server *s, int fd, unsigned session)
{
	const struct timeval limit = { .tv_sec = 20 };
	struct frames_in in;
	struct dsm_tls_conn *t = NULL;
	struct dsm_msg m = { 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	frames_in_init(&in, DSM_MSG_FROM_NODE);
	if (dsm_tls_conn_new(s->ctx, fd, &t) || dsm_tls_handshake(t) != DSM_TLS_DONE ||
	    frames_recv(t, &in, &m))
		goto out;
	if (m.type == DSM_MSG_ENROL) {
		serve_enrol(s, t, &m);
	} else if (m.type == DSM_MSG_HELLO) {
		struct dsm_msg ok = { .type = DSM_MSG_HELLO_OK, .id = m.id,
				      .hello_ok = { .version = 1, .heartbeat_ms = 2000 } };

		s->hello_seq[session] = m.hello.alarm_seq;
		frames_send(t, &ok);
		serve_session(s, t, &in, session);
	}
	dsm_tls_shutdown(t);
out:
	dsm_msg_free(&m);
	frames_in_release(&in);
	if (t)
		dsm_tls_conn_free(t);
	close(fd);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	const unsigned n = s->enrol ? 1 : s->nsessions;

	for (unsigned i = 0; i < n; i++) {
		const int fd = accept(s->lfd, NULL, NULL);

		if (fd < 0)
			break;
		serve_one(s, fd, i);
		__atomic_store_n(&s->sessions_done, (int)i + 1, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&s->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void server_start(struct server *s)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_SERVER, .name = "srv",
					   .now = time(NULL), .lifetime_s = 86400 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const struct timeval limit = { .tv_sec = 20 };
	struct dsm_tls_config cfg = { .cluster = CLUSTER, .enrol = true };
	socklen_t alen = sizeof(a);

	if (!s->ca.cert)
		assert_int_equal(dsm_pki_ca_create(CLUSTER, time(NULL), 86400 * 30, &s->ca), 0);
	assert_int_equal(dsm_pki_key_new(&s->key), 0);
	assert_int_equal(dsm_pki_issue(&s->ca, &req, s->key, &s->cert), 0);
	cfg.ca = s->ca.cert;
	cfg.cert = s->cert;
	cfg.key = s->key;
	s->ctx = dsm_tls_server_ctx(&cfg);
	assert_non_null(s->ctx);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)); /* accept() too */
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%u", ntohs(a.sin_port));
	s->done = false;
	s->sessions_done = 0;
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	s->ctx = NULL;
	s->cert = NULL;
	s->key = NULL;
}

/* ---- fixture -------------------------------------------------------------- */

struct fixture {
	struct server srv;
	char dir[64], state[96], ca_path[96];
	struct dsmd d;
};

static void enrol_node(struct fixture *f)
{
	struct dsmd_uplink_enrol_req req = { .token_hex = "00112233445566778899aabbccddeeff",
					     .ca_path = f->ca_path, .timeout_ms = 5000 };
	struct dsmd_uplink_state st = { .dirfd = -1 };
	char why[512];

	f->srv.enrol = true;
	server_start(&f->srv);
	req.server = f->srv.addr;
	assert_int_equal(dsm_pki_cert_save(f->ca_path, f->srv.ca.cert), 0);
	assert_int_equal(dsmd_uplink_state_dir(&st, f->state, true), 0);
	assert_int_equal(dsmd_uplink_enrol(&st, &req, why, sizeof(why)), 0);
	dsmd_uplink_state_free(&st);
	server_stop(&f->srv);
	f->srv.enrol = false;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dsmd-forward-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->ca_path, sizeof(f->ca_path), "%s/ca.pem", f->dir);
	f->d.o.server_state = f->state;
	f->d.o.state_dir = f->dir;
	f->d.o.alarm_log_max = DSMD_ALARM_LOG_MAX;
	snprintf(f->d.node_name, sizeof(f->d.node_name), "n1");
	logged_len = 0;
	logged[0] = '\0';
	enrol_node(f);
	assert_int_equal(dsm_loop_open(&f->d.loop), 0);
	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	dsmd_uplink_close(&f->d);
	dsm_loop_close(f->d.loop);
	dsmd_alarm_close(&f->d);
	dsm_pki_ca_free(&f->srv.ca);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* n records into the log, each with pad bytes of padding (no rate limit:
 * the records go straight to the writer). */
static void spool(struct fixture *f, unsigned n, size_t pad)
{
	char *text = malloc(pad + 1);

	assert_non_null(text);
	memset(text, 'x', pad);
	text[pad] = '\0';
	for (unsigned i = 0; i < n; i++) {
		json_object *o = alarm_object(&f->d, boot_ns_now());

		json_object_object_add(o, "verdict", json_object_new_string("deny"));
		json_object_object_add(o, "pad", json_object_new_string(text));
		write_line(&f->d, o, LOG_WARNING, "alarm: spooled");
	}
	free(text);
}

/* Start the session: the server's scripts, then dsmd's uplink. */
static void start(struct fixture *f, const struct script *sc, unsigned n)
{
	memcpy(f->srv.script, sc, n * sizeof(*sc));
	f->srv.nsessions = n;
	server_start(&f->srv);
	f->d.o.servers[0] = f->srv.addr;
	f->d.o.n_servers = 1;
	f->d.o.join = f->srv.addr; /* enrolled already: only the session runs */
	assert_int_equal(dsmd_uplink_open(&f->d), 0);
	assert_int_equal(dsmd_uplink_start(&f->d), 0);
}

/* Run dsmd's loop and tick until the server finished `sessions` sessions
 * and dsmd noticed. */
static void run_until(struct fixture *f, int sessions)
{
	const int64_t end = dsmd_uplink_mono_ms() + 20000;

	while (dsmd_uplink_mono_ms() < end &&
	       (__atomic_load_n(&f->srv.sessions_done, __ATOMIC_SEQ_CST) < sessions ||
		f->d.uplink->phase != UPLINK_WAITING)) {
		dsm_loop_once(f->d.loop, &f->d, 50);
		dsmd_uplink_tick(&f->d);
	}
	assert_true(__atomic_load_n(&f->srv.sessions_done, __ATOMIC_SEQ_CST) >= sessions);
}

/* Every seq from..to stored exactly once. */
static void assert_stored_once(const struct server *s, uint64_t from, uint64_t to)
{
	for (uint64_t seq = from; seq <= to; seq++)
		if (s->times_stored[seq] != 1)
			fail_msg("alarm %llu stored %u times", (unsigned long long)seq,
				 s->times_stored[seq]);
}

/* Batches of consecutive numbers, each after the one before. */
static void assert_in_order(const struct server *s, unsigned from_batch)
{
	for (unsigned i = from_batch + 1; i < s->nbatches; i++)
		assert_true(s->batch[i].first >= s->batch[i - 1].first + s->batch[i - 1].count);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_forward_in_order(void **state)
{
	struct fixture *f = *state;
	const struct script sc[] = { { .end_after = 600 } };

	spool(f, 600, 10);
	start(f, sc, 1);
	run_until(f, 1);
	server_stop(&f->srv);

	assert_false(f->srv.bad_batch);
	assert_int_equal(f->srv.hello_seq[0], 600); /* the highest spooled, not the acked */
	assert_int_equal(f->srv.received, 600);     /* each once: acked promptly */
	assert_stored_once(&f->srv, 1, 600);
	assert_in_order(&f->srv, 0);
	assert_int_equal(f->srv.nbatches, 3);
	assert_int_equal(f->srv.batch[0].count, DSM_MSG_ALARMS_MAX);
	assert_int_equal(f->srv.dropped, 0);
	assert_int_equal(f->d.uplink->st.alarm_acked, 600);
	assert_non_null(strstr(logged, "forwarded 600 alarms held while the server was away"));
}

static void test_forward_resends_after_a_cut(void **state)
{
	struct fixture *f = *state;
	/* The first session ends in its second batch: not stored, not acked. */
	const struct script sc[] = { { .cut_at = 2 }, { .end_after = 600 } };
	unsigned second = 0;

	spool(f, 600, 10);
	start(f, sc, 2);
	run_until(f, 2);
	server_stop(&f->srv);

	assert_false(f->srv.bad_batch);
	assert_int_equal(f->d.uplink->st.alarm_acked, 600);
	assert_stored_once(&f->srv, 1, 600);
	assert_int_equal(f->srv.dropped, 0);
	while (second < f->srv.nbatches && f->srv.batch[second].session == 0)
		second++;
	assert_int_equal(second, 2);
	/* From the acknowledged seq on: the cut batch again, nothing skipped. */
	assert_int_equal(f->srv.batch[second].first, 257);
	assert_int_equal(f->srv.batch[second].first, f->srv.batch[1].first);
	assert_int_equal(f->srv.received, 600 + f->srv.batch[1].count);
	assert_int_equal(f->srv.hello_seq[1], 600);
	assert_in_order(&f->srv, second);
}

/* The seq of the first record of the oldest kept log file. */
static uint64_t first_kept(const struct fixture *f)
{
	char path[600], line[4096];
	uint64_t seq = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/alarms.jsonl.1", f->dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_true(dsmd_alarm_line_seq(line, strlen(line), &seq));
	return seq;
}

static void test_forward_counts_rotated(void **state)
{
	struct fixture *f = *state;
	const struct script sc[] = { { .end_after = 40 }, { .end_after = 340 } };
	unsigned second = 0;
	uint64_t kept, lost;

	f->d.o.alarm_log_max = 16384;
	spool(f, 40, 200);
	start(f, sc, 2);
	run_until(f, 1);
	assert_int_equal(f->d.uplink->st.alarm_acked, 40);
	/* The server is away; the log rotates past records never sent. */
	spool(f, 300, 200);
	kept = first_kept(f);
	lost = kept - 41;
	assert_true(lost > 0);
	run_until(f, 2);
	server_stop(&f->srv);

	assert_false(f->srv.bad_batch);
	assert_int_equal(f->srv.hello_seq[1], 340);
	while (second < f->srv.nbatches && f->srv.batch[second].session == 0)
		second++;
	assert_int_equal(f->srv.batch[second].first, kept);
	assert_int_equal(f->srv.batch[second].dropped, lost);
	assert_int_equal(f->srv.dropped, lost);
	assert_stored_once(&f->srv, 1, 40);
	assert_stored_once(&f->srv, kept, 340);
	assert_in_order(&f->srv, second);
	assert_int_equal(f->d.uplink->st.alarm_acked, 340);
	assert_non_null(strstr(logged, "are not in the log"));
}

static void test_forward_limits_and_rate(void **state)
{
	struct fixture *f = *state;
	const struct script sc[] = { { .end_after = 121 } };
	bool full = false;

	/* Records of about 3 KiB: the text limit ends each batch. */
	spool(f, 60, 3000);
	spool(f, 1, DSM_MSG_ALARM_MAX + 100); /* too long to send: seq 61 */
	spool(f, 60, 3000);
	start(f, sc, 1);
	run_until(f, 1);
	server_stop(&f->srv);

	assert_false(f->srv.bad_batch);
	assert_int_equal(f->srv.times_stored[61], 0);
	assert_stored_once(&f->srv, 1, 60);
	assert_stored_once(&f->srv, 62, 121);
	assert_int_equal(f->srv.dropped, 1);
	for (unsigned i = 0; i < f->srv.nbatches; i++) {
		full |= f->srv.batch[i].text > DSM_MSG_ALARMS_TEXT_MAX - 3100;
		if (f->srv.batch[i].first == 62)
			assert_int_equal(f->srv.batch[i].dropped, 1);
		else
			assert_int_equal(f->srv.batch[i].dropped, 0);
	}
	assert_true(full);
	assert_true(f->srv.nbatches >= 5);
	/* No more than UPLINK_ALARM_RATE batches in any second. */
	for (unsigned i = UPLINK_ALARM_RATE; i < f->srv.nbatches; i++)
		assert_true(f->srv.batch[i].at_ms - f->srv.batch[i - UPLINK_ALARM_RATE].at_ms >= 900);
	assert_non_null(strstr(logged, "alarm 61 not forwarded (too long)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_resends_after_a_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_counts_rotated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_limits_and_rate, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
