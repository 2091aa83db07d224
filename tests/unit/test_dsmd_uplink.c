// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd's uplink (dsmd/uplink*.c) against an in-process Security Server
 * made of lib/tls and lib/chan_msg over loopback TCP, in a thread of its
 * own; dsmd's side runs on its real event loop (dsmd/loop.c). The reload
 * path is faked: it takes the policy from the uplink's persisted bundle as
 * policy.c does, without BPF. Alarms are recorded.
 *
 *  - enrolment writes exactly the server-state files, with their modes,
 *    and a node identity for the name the server gave;
 *  - a refused token writes nothing, and says so;
 *  - a POLICY with a good envelope is installed and acknowledged with its
 *    version; one with a bad signature, and one older than the version in
 *    force, are refused: the ACK carries the version still in force and
 *    the error, an alarm names why, and the last good bundle stays on disk;
 *  - freshness (protocol 2): a good FRESH for the bundle in force is held
 *    and persisted; one older than the one held, one for a newer version
 *    (policy_behind), one of a server certificate another CA issued, and
 *    one issued in the future are refused with an alarm each; no
 *    policy_stale while the statement held is valid, one when it expires
 *    (the server gone), enforcement unchanged, and not again within the
 *    period; at boot without a server the persisted statement decides the
 *    same way;
 *  - the backoff stays within [0, cap] and its ceiling grows to the cap.
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

#define UPLINK_FRESH_GRACE_MS 300 /* the stale check soon after start */
#include "fake_frames.h"
#include "../../dsmd/uplink.c"
#include "../../dsmd/uplink_alarms.c"
#include "../../dsmd/uplink_conn.c"
#include "../../dsmd/uplink_refusal.c"
#include "../../dsmd/uplink_enrol.c"
#include "../../dsmd/uplink_fresh.c"
#include "../../dsmd/uplink_state.c"
#include "../../dsmd/pairkeys.c"

#define CLUSTER "c1"
#define SRC(version) \
	"policy up-test version " version ";\n" \
	"label init = 1; label web = 10;\n" \
	"node n1 = 1;\n" \
	"initial init;\n" \
	"allow web@n1 init : peer recv;\n"

/* ---- what the test stands in for ------------------------------------- */

void log_msg(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

int log_errno(int level, int err, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	if (getenv("DSM_TEST_LOG")) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, ": %s\n", strerror(-err));
	}
	return err;
}

static unsigned reloads, alarms;
static int last_alarm_err;
static char last_alarm_reason[300];
static char alarm_reasons[16][300]; /* the first 16 */

void dsmd_alarm_raise_reason(struct dsmd *d, const struct dsm_event *e, const char *reason)
{
	(void)d;
	if (alarms < 16)
		snprintf(alarm_reasons[alarms], sizeof(alarm_reasons[0]), "%s", reason);
	alarms++;
	last_alarm_err = e->err;
	snprintf(last_alarm_reason, sizeof(last_alarm_reason), "%s", reason);
}

/* How many alarms so far begin with prefix. */
static unsigned alarms_starting(const char *prefix)
{
	unsigned n = 0;

	for (unsigned i = 0; i < alarms && i < 16; i++)
		n += !strncmp(alarm_reasons[i], prefix, strlen(prefix));
	return n;
}

/* An empty alarm log (test_dsmd_alarm_forward.c forwards a real one). */
uint64_t dsmd_alarm_last_seq(const struct dsmd *d)
{
	(void)d;
	return 0;
}

void dsmd_alarm_seq_floor(struct dsmd *d, uint64_t seq)
{
	(void)d;
	(void)seq;
}

bool dsmd_alarm_line_seq(const char *line, size_t len, uint64_t *seq)
{
	(void)line;
	(void)len;
	(void)seq;
	return false;
}

int dsmd_alarm_reader_open(struct dsmd *d, struct dsmd_alarm_reader *r)
{
	(void)d;
	*r = (struct dsmd_alarm_reader){ .fd = -1 };
	return 0;
}

ssize_t dsmd_alarm_reader_read(struct dsmd *d, struct dsmd_alarm_reader *r, char *buf,
			       size_t len)
{
	(void)d;
	(void)r;
	(void)buf;
	(void)len;
	return 0;
}

void dsmd_alarm_reader_close(struct dsmd_alarm_reader *r)
{
	(void)r;
}

/* The maps, as far as the store sees them: what was applied last (a
 * copy of d->pairkeys), how often, and a failure on demand. */
static unsigned pair_applied;
static int pair_apply_err;
static struct dsmd_pairkeys pair_maps_now;

int dsmd_net_pairkeys(struct dsmd *d)
{
	pair_applied++;
	if (pair_apply_err)
		return pair_apply_err;
	if (d->pairkeys)
		pair_maps_now = *d->pairkeys;
	else
		memset(&pair_maps_now, 0, sizeof(pair_maps_now));
	return 0;
}

/* The reload path, as far as the uplink sees it: the policy from the bundle. */
void dsmd_reload(struct dsmd *d, const char *why, struct dsmd_reload_result *r)
{
	struct dsm_policy *p = NULL;
	char reason[256];
	int err;

	(void)why;
	*r = (struct dsmd_reload_result){ .outcome = DSMD_RELOAD_DONE };
	reloads++;
	err = dsmd_uplink_policy(d, &p, reason, sizeof(reason));
	if (err) {
		r->outcome = DSMD_RELOAD_NOT_INSTALLED;
		r->err = err;
		snprintf(r->what, sizeof(r->what), "not installed because %s", reason);
		return;
	}
	dsm_policy_free(d->policy);
	d->policy = p;
	r->version = dsm_policy_version(p);
}

/* ---- the fake server ----------------------------------------------------- */

static const uint8_t op_seed[DSM_SIGN_SEED_LEN] = { 9, 9, 9 };
static const uint8_t other_seed[DSM_SIGN_SEED_LEN] = { 7, 7, 7 };

enum script { ENROL_ACCEPT, ENROL_REFUSE, PUSH_POLICIES, PUSH_KEYS, FRESH_SESSION };

#define KEYS_MAX 8

struct server {
	struct dsm_pki_ca ca;
	X509 *cert;
	EVP_PKEY *key;
	SSL_CTX *ctx;
	int lfd;
	char addr[32];
	enum script script;
	uint8_t *push[3];       /* POLICY bodies, in order */
	size_t push_len[3];
	struct dsm_msg_policy_ack acks[3];
	unsigned nacks;
	uint8_t *fresh[6];      /* FRESH bodies after the pushes (FRESH_SESSION) */
	size_t fresh_len[6];
	bool hello_seen;
	uint64_t hello_key_generation;
	/* PUSH_KEYS: KEYS messages in order, and what answered each */
	struct dsm_msg_keys keys[KEYS_MAX];
	unsigned nkeys;
	uint8_t answer[KEYS_MAX];  /* DSM_MSG_KEYS_ACK or DSM_MSG_ERROR; 0: none */
	struct dsm_msg_keys_ack keys_acks[KEYS_MAX];
	uint32_t error_code[KEYS_MAX];
	pthread_t thread;
	volatile bool done;
};

static void raw_operator_key(uint8_t raw[DSM_MSG_PUBKEY_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, op_seed, 32);
	size_t n = DSM_MSG_PUBKEY_LEN;

	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &n), 1);
	EVP_PKEY_free(k);
}

static void serve_enrol(struct server *s, struct dsm_tls_conn *t, const struct dsm_msg *m)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = "n1", .now = time(NULL),
					   .lifetime_s = 86400 };
	struct dsm_msg ok = { .type = DSM_MSG_ENROL_OK, .id = m->id };
	uint8_t *cert = NULL, *ca = NULL;
	size_t clen = 0, calen = 0;
	X509 *x = NULL;

	if (s->script == ENROL_REFUSE) {
		struct dsm_msg e = { .type = DSM_MSG_ERROR, .id = m->id,
				     .error = { .code = DSM_ERR_BAD_TOKEN, .text = "used" } };

		frames_send(t, &e);
		return;
	}
	assert_int_equal(dsm_pki_issue_csr(&s->ca, &req, m->enrol.csr.data, m->enrol.csr.len, &x), 0);
	assert_int_equal(dsm_pki_cert_der(x, &cert, &clen), 0);
	assert_int_equal(dsm_pki_cert_der(s->ca.cert, &ca, &calen), 0);
	ok.enrol_ok.node_id = 7;
	ok.enrol_ok.name = "n1";
	ok.enrol_ok.cert = (struct dsm_msg_bytes){ cert, clen };
	ok.enrol_ok.ca = (struct dsm_msg_bytes){ ca, calen };
	raw_operator_key(ok.enrol_ok.policy_key);
	frames_send(t, &ok);
	OPENSSL_free(cert);
	OPENSSL_free(ca);
	X509_free(x);
}

static void serve_keys(struct server *s, struct dsm_tls_conn *t, struct frames_in *in)
{
	struct dsm_msg m = { 0 };
	uint64_t id = 100;

	for (unsigned i = 0; i < s->nkeys; i++) {
		struct dsm_msg k = { .type = DSM_MSG_KEYS, .id = id++ };

		k.keys = s->keys[i];
		assert_int_equal(frames_send(t, &k), 0);
		do {
			dsm_msg_free(&m);
			if (frames_recv(t, in, &m))
				return; /* the node closed */
		} while (m.type == DSM_MSG_PING);
		s->answer[i] = m.type;
		if (m.type == DSM_MSG_KEYS_ACK) {
			assert_int_equal(m.id, k.id);
			s->keys_acks[i] = m.keys_ack;
		} else if (m.type == DSM_MSG_ERROR) {
			s->error_code[i] = m.error.code;
			dsm_msg_free(&m);
			return; /* the node ends the session */
		}
	}
	dsm_msg_free(&m);
}

static void serve_session(struct server *s, struct dsm_tls_conn *t, struct frames_in *in)
{
	const uint8_t version = s->script == FRESH_SESSION ? 2 : 1;
	struct dsm_msg m = { 0 };
	uint64_t id = 1;

	if (s->script == PUSH_KEYS) {
		serve_keys(s, t, in);
		return;
	}

	for (unsigned i = 0; i < 3 && s->push[i]; i++) {
		struct dsm_msg p = { .version = version, .type = DSM_MSG_POLICY, .id = id++ };

		p.policy.bundle = (struct dsm_msg_bytes){ s->push[i], s->push_len[i] };
		assert_int_equal(frames_send(t, &p), 0);
		do {
			dsm_msg_free(&m);
			assert_int_equal(frames_recv(t, in, &m), 0);
		} while (m.type == DSM_MSG_PING);
		assert_int_equal(m.type, DSM_MSG_POLICY_ACK);
		s->acks[s->nacks] = m.policy_ack;
		s->acks[s->nacks++].reason = NULL;
	}
	for (unsigned i = 0; i < 6 && s->fresh[i]; i++) {
		struct dsm_msg fr = { .version = version, .type = DSM_MSG_FRESH, .id = id++ };

		fr.fresh.statement = (struct dsm_msg_bytes){ s->fresh[i], s->fresh_len[i] };
		assert_int_equal(frames_send(t, &fr), 0);
	}
	if (s->fresh[0]) {
		/* FRESH has no answer: a PING's PONG says dsmd read them all */
		struct dsm_msg ping = { .version = version, .type = DSM_MSG_PING, .id = id++,
					.ping.nonce = 77 };

		assert_int_equal(frames_send(t, &ping), 0);
		do {
			dsm_msg_free(&m);
			assert_int_equal(frames_recv(t, in, &m), 0);
		} while (m.type != DSM_MSG_PONG || m.ping.nonce != 77);
		assert_int_equal(m.version, 2);
	}
	dsm_msg_free(&m);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct frames_in in;
	struct dsm_tls_conn *t = NULL;
	struct dsm_msg m = { 0 };
	int fd = accept(s->lfd, NULL, NULL);

	frames_in_init(&in, DSM_MSG_FROM_NODE);
	if (fd < 0 || dsm_tls_conn_new(s->ctx, fd, &t) || dsm_tls_handshake(t) != DSM_TLS_DONE)
		goto out;
	if (frames_recv(t, &in, &m))
		goto out;
	if (m.type == DSM_MSG_ENROL) {
		serve_enrol(s, t, &m);
	} else if (m.type == DSM_MSG_HELLO) {
		struct dsm_msg ok = { .type = DSM_MSG_HELLO_OK, .id = m.id,
				      .hello_ok = { .version = s->script == FRESH_SESSION ? 2 : 1,
						    .heartbeat_ms = 2000 } };

		assert_int_equal(m.hello.version_max, 2);
		s->hello_seen = true;
		s->hello_key_generation = m.hello.key_generation;
		frames_send(t, &ok);
		serve_session(s, t, &in);
	}
	dsm_tls_shutdown(t);
out:
	dsm_msg_free(&m);
	frames_in_release(&in);
	if (t)
		dsm_tls_conn_free(t);
	if (fd >= 0)
		close(fd);
	s->done = true;
	return NULL;
}

static void server_start(struct server *s, enum script script)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_SERVER, .name = "srv",
					   .now = time(NULL), .lifetime_s = 86400 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct dsm_tls_config cfg = { .cluster = CLUSTER, .enrol = true };

	s->script = script;
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
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%u", ntohs(a.sin_port));
	s->done = false;
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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dsmd-uplink-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->ca_path, sizeof(f->ca_path), "%s/ca.pem", f->dir);
	f->d.o.server_state = f->state;
	reloads = alarms = 0;
	last_alarm_err = 0;
	memset(alarm_reasons, 0, sizeof(alarm_reasons));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	dsmd_uplink_close(&f->d);
	dsm_loop_close(f->d.loop);
	dsm_policy_free(f->d.policy);
	dsm_pki_ca_free(&f->srv.ca);
	for (unsigned i = 0; i < 3; i++)
		free(f->srv.push[i]);
	for (unsigned i = 0; i < 6; i++)
		free(f->srv.fresh[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#define TOKEN "00112233445566778899aabbccddeeff"

static int enrol_node(struct fixture *f, char *why, size_t len)
{
	struct dsmd_uplink_enrol_req req = { .server = f->srv.addr, .token_hex = TOKEN,
					     .ca_path = f->ca_path, .timeout_ms = 5000 };
	struct dsmd_uplink_state st = { .dirfd = -1 };
	int err;

	assert_int_equal(dsm_pki_cert_save(f->ca_path, f->srv.ca.cert), 0);
	assert_int_equal(dsmd_uplink_state_dir(&st, f->state, true), 0);
	err = dsmd_uplink_enrol(&st, &req, why, len);
	dsmd_uplink_state_free(&st);
	return err;
}

static unsigned mode_of(const struct fixture *f, const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->state, name);
	if (stat(path, &st))
		return 01000; /* no such file */
	return st.st_mode & 07777;
}

static unsigned files_in(const char *dir)
{
	char cmd[160], out[16] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof(out), p));
	pclose(p);
	return (unsigned)atoi(out);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_backoff(void **state)
{
	uint32_t prev_max = 0;

	(void)state;
	for (unsigned attempt = 0; attempt < 12; attempt++) {
		uint32_t max = 0;
		uint64_t ceil = DSMD_UPLINK_BACKOFF_MIN_MS << (attempt < 6 ? attempt : 6);

		if (ceil > DSMD_UPLINK_BACKOFF_MAX_MS)
			ceil = DSMD_UPLINK_BACKOFF_MAX_MS;
		for (unsigned i = 0; i < 2000; i++) {
			uint32_t v = dsmd_uplink_backoff_ms(attempt, random_u64());

			assert_true(v <= ceil);
			if (v > max)
				max = v;
		}
		/* Full jitter reaches near its ceiling, and the ceiling grows. */
		assert_true(max > ceil * 9 / 10);
		assert_true(max >= prev_max || ceil == DSMD_UPLINK_BACKOFF_MAX_MS);
		prev_max = max;
	}
	assert_int_equal(dsmd_uplink_backoff_ms(40, UINT64_MAX), UINT64_MAX % 30001);
	assert_int_equal(dsmd_uplink_backoff_ms(0, 1000), 1000);
	assert_int_equal(dsmd_uplink_backoff_ms(0, 1001), 0);
}

static void test_enrol_writes_identity(void **state)
{
	struct fixture *f = *state;
	struct dsmd_uplink_state st = { .dirfd = -1 };
	char why[512] = "";

	server_start(&f->srv, ENROL_ACCEPT);
	assert_int_equal(enrol_node(f, why, sizeof(why)), 0);
	server_stop(&f->srv);
	assert_non_null(strstr(why, "as node n1 (7) of cluster c1"));
	assert_int_equal(files_in(f->state), 6);
	assert_int_equal(mode_of(f, "node.key"), 0600);
	assert_int_equal(mode_of(f, "node.pem"), 0644);
	assert_int_equal(mode_of(f, "ca.pem"), 0644);
	assert_int_equal(mode_of(f, "operator.pub"), 0644);
	assert_int_equal(mode_of(f, "cluster"), 0644);
	assert_int_equal(mode_of(f, "node-id"), 0644);
	assert_int_equal(dsmd_uplink_state_dir(&st, f->state, false), 0);
	assert_true(dsmd_uplink_enrolled(&st));
	assert_int_equal(dsmd_uplink_state_load(&st), 0);
	assert_string_equal(st.cluster, CLUSTER);
	assert_string_equal(st.name, "n1");
	assert_int_equal(st.node_id, 7);
	dsmd_uplink_state_free(&st);
}

static void test_enrol_refused_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char why[512] = "";

	server_start(&f->srv, ENROL_REFUSE);
	assert_int_equal(enrol_node(f, why, sizeof(why)), -EACCES);
	server_stop(&f->srv);
	assert_non_null(strstr(why, "refused the enrolment: used")); /* the server's own words */
	assert_int_equal(files_in(f->state), 0);
}

static void test_enrol_refuses_another_ca(void **state)
{
	struct fixture *f = *state;
	struct dsmd_uplink_state st = { .dirfd = -1 };
	struct dsmd_uplink_enrol_req req = { .token_hex = TOKEN, .ca_path = f->ca_path,
					     .timeout_ms = 5000 };
	struct dsm_pki_ca other = { 0 };
	char why[512] = "";

	/* The node trusts another CA of the same name: the handshake fails
	 * and the token is never sent. */
	server_start(&f->srv, ENROL_ACCEPT);
	req.server = f->srv.addr;
	assert_int_equal(dsm_pki_ca_create(CLUSTER, time(NULL), 86400, &other), 0);
	assert_int_equal(dsm_pki_cert_save(f->ca_path, other.cert), 0);
	assert_int_equal(dsmd_uplink_state_dir(&st, f->state, true), 0);
	assert_true(dsmd_uplink_enrol(&st, &req, why, sizeof(why)) < 0);
	dsmd_uplink_state_free(&st);
	server_stop(&f->srv);
	dsm_pki_ca_free(&other);
	assert_int_equal(files_in(f->state), 0);
	/* A pin that is not the CA's refuses before connecting. */
	req.ca_pin = "0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(dsm_pki_cert_save(f->ca_path, f->srv.ca.cert), 0);
	assert_int_equal(dsmd_uplink_state_dir(&st, f->state, true), 0);
	assert_int_equal(dsmd_uplink_enrol(&st, &req, why, sizeof(why)), -EKEYREJECTED);
	dsmd_uplink_state_free(&st);
	assert_non_null(strstr(why, "not the --ca-pin given"));
}

static uint8_t *envelope(const char *src, const uint8_t seed[32], size_t *len)
{
	struct dsm_sign_key *k = NULL;
	struct dsm_policy *p = NULL;
	uint8_t *b = NULL, *env = NULL;
	size_t blen = 0;
	uint64_t now = (uint64_t)time(NULL);

	assert_int_equal(dsm_policy_compile("t.policy", src, strlen(src), &p, NULL), 0);
	assert_int_equal(dsm_bundle_write(p, &b, &blen), 0);
	assert_int_equal(dsm_sign_key_from_seed(seed, &k), 0);
	assert_int_equal(dsm_signed_write(b, blen, k, CLUSTER, now - 10, now + 3600, &env, len), 0);
	dsm_sign_key_free(k);
	dsm_policy_free(p);
	free(b);
	return env;
}

/* Run dsmd's loop (and the tick) until the server thread is done. */
static void run_until_done(struct fixture *f)
{
	int64_t end = dsmd_uplink_mono_ms() + 10000;

	while (!f->srv.done && dsmd_uplink_mono_ms() < end) {
		dsm_loop_once(f->d.loop, &f->d, 100);
		dsmd_uplink_tick(&f->d);
	}
	assert_true(f->srv.done);
}

static void test_policy_push(void **state)
{
	struct fixture *f = *state;
	struct dsmd_uplink_state st = { .dirfd = -1 };
	struct dsm_policy *p = NULL;
	bool expired;
	char why[512] = "";

	server_start(&f->srv, ENROL_ACCEPT);
	assert_int_equal(enrol_node(f, why, sizeof(why)), 0);
	server_stop(&f->srv);

	f->srv.push[0] = envelope(SRC("2"), op_seed, &f->srv.push_len[0]);
	f->srv.push[1] = envelope(SRC("3"), other_seed, &f->srv.push_len[1]);
	f->srv.push[2] = envelope(SRC("1"), op_seed, &f->srv.push_len[2]);
	f->d.o.servers[0] = f->srv.addr;
	f->d.o.n_servers = 1;
	f->d.o.join = f->srv.addr; /* already enrolled: only the session runs */
	server_start(&f->srv, PUSH_POLICIES);
	assert_int_equal(dsm_loop_open(&f->d.loop), 0);
	assert_int_equal(dsmd_uplink_open(&f->d), 0);
	assert_int_equal(dsmd_uplink_start(&f->d), 0);
	run_until_done(f);
	server_stop(&f->srv);

	assert_true(f->srv.hello_seen);
	assert_int_equal(f->srv.nacks, 3);
	/* good: installed through the reload path, acknowledged with its version */
	assert_int_equal(f->srv.acks[0].version, 2);
	assert_int_equal(f->srv.acks[0].result, DSM_POLICY_OK);
	/* another key: refused, version 2 stays, alarm */
	assert_int_equal(f->srv.acks[1].version, 2);
	assert_int_equal(f->srv.acks[1].result, DSM_POLICY_BAD_SIGNATURE);
	/* older: refused as a rollback */
	assert_int_equal(f->srv.acks[2].version, 2);
	assert_int_equal(f->srv.acks[2].result, DSM_POLICY_STALE);
	assert_int_equal(reloads, 1);
	/* (a protocol 1 server sends no freshness: policy_stale may come too) */
	assert_int_equal(alarms_starting("policy from the server refused"), 2);
	assert_int_equal(alarms - alarms_starting("policy_stale"), 2);
	assert_non_null(strstr(alarm_reasons[1], "rollback"));
	assert_int_equal(dsm_policy_version(f->d.policy), 2);
	/* The last good bundle is on disk and verifies (a restart enforces it). */
	assert_int_equal(mode_of(f, "policy.signed"), 0600);
	assert_int_equal(dsmd_uplink_state_dir(&st, f->state, false), 0);
	assert_int_equal(dsmd_uplink_state_load(&st), 0);
	assert_int_equal(dsmd_uplink_state_policy(&st, (uint64_t)time(NULL), &p, &expired, why,
						  sizeof(why)), 0);
	assert_int_equal(dsm_policy_version(p), 2);
	assert_false(expired);
	dsm_policy_free(p);
	dsmd_uplink_state_free(&st);
}

/* ---- pair keys ------------------------------------------------------------ */

#define SELF 7 /* the node id enrolment gives (serve_enrol) */

static struct dsm_msg_pair_key pkeys[3];

static void make_pkeys(uint8_t seed)
{
	for (unsigned i = 0; i < 3; i++) {
		pkeys[i].peer = 2 + 3 * i; /* 2, 5, 8 */
		pkeys[i].addr[0] = 10;
		pkeys[i].addr[3] = (uint8_t)pkeys[i].peer;
		for (int b = 0; b < 16; b++)
			pkeys[i].key[b] = (uint8_t)(seed * 16 + b + i);
	}
}

static struct dsm_msg_keys keys_msg(uint64_t g, uint8_t phase, uint32_t n)
{
	return (struct dsm_msg_keys){ .generation = g, .phase = phase,
				      .keys = { .count = n, .key = n ? pkeys : NULL } };
}

/* The phases on their own: install, switch, drop, idempotence, and every
 * refusal leaves the state as it was. */
static void test_pairkeys_phases(void **state)
{
	struct dsmd_pairkeys *pk = calloc(1, sizeof(*pk)), *copy = malloc(sizeof(*pk));
	struct dsm_msg_keys k;
	char why[200];

	(void)state;
	assert_non_null(pk);
	assert_non_null(copy);
	make_pkeys(1);
	k = keys_msg(3, DSM_KEYS_INSTALL, 3);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	assert_int_equal(dsmd_pairkeys_newest(pk), 3);
	assert_int_equal(pk->slot[1].gen, 3);
	assert_int_equal(pk->slot[1].n, 3);
	assert_int_equal(pk->send, 0);
	/* the same INSTALL again: done, nothing changes */
	memcpy(copy, pk, sizeof(*pk));
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	assert_memory_equal(copy, pk, sizeof(*pk));
	/* a generation split over two messages: merged, peers ascending */
	k = keys_msg(3, DSM_KEYS_INSTALL, 1);
	{
		struct dsm_msg_pair_key extra = pkeys[0];

		extra.peer = 4;
		k.keys.key = &extra;
		assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	}
	assert_int_equal(pk->slot[1].n, 4);
	assert_int_equal(pk->slot[1].key[0].peer, 2);
	assert_int_equal(pk->slot[1].key[1].peer, 4);
	assert_int_equal(pk->slot[1].key[2].peer, 5);
	assert_int_equal(pk->slot[1].key[3].peer, 8);

	/* refusals, each leaving the state alone */
	memcpy(copy, pk, sizeof(*pk));
#define REFUSED(err_, msg_)                                                          \
	do {                                                                         \
		struct dsm_msg_keys m_ = (msg_);                                     \
		assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &m_, why, sizeof(why)), \
				 (err_));                                            \
		assert_true(why[0] != 0);                                            \
		assert_memory_equal(copy, pk, sizeof(*pk));                          \
		why[0] = 0;                                                          \
	} while (0)
	REFUSED(-ENOKEY, keys_msg(5, DSM_KEYS_SWITCH, 0));   /* not installed */
	REFUSED(-ENOKEY, keys_msg(4, DSM_KEYS_SWITCH, 0));
	REFUSED(-ENOKEY, keys_msg(3, DSM_KEYS_DROP_OLD, 0)); /* nothing sent with yet */
	REFUSED(-EINVAL, keys_msg(0, DSM_KEYS_INSTALL, 3));
	REFUSED(-EINVAL, keys_msg(3, DSM_KEYS_SWITCH, 3));   /* keys outside INSTALL */
	REFUSED(-EINVAL, keys_msg(3, 9, 0));                 /* no such phase */
	REFUSED(-ESTALE, keys_msg(1, DSM_KEYS_INSTALL, 3));  /* older than held */
	pkeys[1].key[0] ^= 1; /* another key for a peer of generation 3 */
	REFUSED(-EEXIST, keys_msg(3, DSM_KEYS_INSTALL, 3));
	pkeys[1].key[0] ^= 1;
	pkeys[1].peer = SELF;
	REFUSED(-EINVAL, keys_msg(6, DSM_KEYS_INSTALL, 3));  /* a key for this node */
	pkeys[1].peer = 1;                                   /* not ascending */
	REFUSED(-EINVAL, keys_msg(6, DSM_KEYS_INSTALL, 3));
	make_pkeys(1);

	/* switch, again (done), then install the next and switch to it */
	k = keys_msg(3, DSM_KEYS_SWITCH, 0);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	assert_int_equal(pk->send, 3);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	make_pkeys(2);
	k = keys_msg(4, DSM_KEYS_INSTALL, 3);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	assert_int_equal(dsmd_pairkeys_newest(pk), 4);
	assert_int_equal(pk->send, 3); /* still sending with 3 */
	memcpy(copy, pk, sizeof(*pk));
	/* generation 5 would take the slot of 3, sent with */
	REFUSED(-EBUSY, keys_msg(5, DSM_KEYS_INSTALL, 3));
	REFUSED(-ENOKEY, keys_msg(4, DSM_KEYS_DROP_OLD, 0)); /* 4 not sent with yet */
	k = keys_msg(4, DSM_KEYS_SWITCH, 0);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	memcpy(copy, pk, sizeof(*pk));
	REFUSED(-ESTALE, keys_msg(3, DSM_KEYS_SWITCH, 0));   /* never back */
	k = keys_msg(4, DSM_KEYS_DROP_OLD, 0);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	assert_int_equal(pk->slot[1].gen, 0);
	assert_int_equal(pk->slot[0].gen, 4);
	memcpy(copy, pk, sizeof(*pk));
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0); /* again */
	assert_memory_equal(copy, pk, sizeof(*pk));
	/* a DROP_OLD older than the one in use forgets nothing more */
	k = keys_msg(2, DSM_KEYS_DROP_OLD, 0);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	assert_memory_equal(copy, pk, sizeof(*pk));
	REFUSED(-ESTALE, keys_msg(3, DSM_KEYS_INSTALL, 3)); /* dropped: not again */
#undef REFUSED
	free(copy);
	free(pk);
}

/* The file: what is formatted parses back to the same state; anything
 * else is refused whole. */
static void test_pairkeys_file(void **state)
{
	struct dsmd_pairkeys *pk = calloc(1, sizeof(*pk)), *back = calloc(1, sizeof(*pk));
	static const char *bad[] = {
		"dsm-pair-keys 2\nsend 0\n",
		"dsm-pair-keys 1\n",                                   /* no send */
		"dsm-pair-keys 1\nsend 3\n",                          /* 3 not held */
		"dsm-pair-keys 1\nsend 0\nkey 2 0.0.0.0 00112233445566778899aabbccddeeff\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey 7 0.0.0.0 00112233445566778899aabbccddeeff\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey 2 0.0.0.0 00112233445566778899aabbccddeeff\n"
		"key 2 0.0.0.0 00112233445566778899aabbccddeeff\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey 2 0.0.0.0 00112233445566778899aabbccddeeZZ\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey 2 10.0.0 00112233445566778899aabbccddeeff\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\ngen 5\n",          /* two of one parity */
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey 2 0.0.0.0 00112233445566778899aabbccddeeff",
		"dsm-pair-keys 1\nsend 0\nsend 0\n",
		"dsm-pair-keys 1\nsend -1\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey -2 0.0.0.0 00112233445566778899aabbccddeeff\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey 4294967295 0.0.0.0 "
		"00112233445566778899aabbccddeeff\n",
		"dsm-pair-keys 1\nsend 0\ngen 3 4\n",
		"dsm-pair-keys 1\nsend 0\ngen 3\nkey 2 0.0.0.0 00112233445566778899aabbccddeeff x\n",
		"dsm-pair-keys 1\nsend 0\nkeys 2\n",
	};
	struct dsm_msg_keys k;
	char why[200], *buf;
	size_t len;

	(void)state;
	assert_non_null(pk);
	assert_non_null(back);
	make_pkeys(3);
	k = keys_msg(9, DSM_KEYS_INSTALL, 3);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	k = keys_msg(9, DSM_KEYS_SWITCH, 0);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	pkeys[2].addr[0] = 0; /* an address not known */
	pkeys[2].addr[3] = 0;
	k = keys_msg(10, DSM_KEYS_INSTALL, 3);
	assert_int_equal(dsmd_pairkeys_phase(pk, SELF, &k, why, sizeof(why)), 0);
	assert_int_equal(dsmd_pairkeys_format(pk, &buf, &len), 0);
	assert_non_null(strstr(buf, "send 9\ngen 10\nkey 2 10.0.0.2 "));
	assert_non_null(strstr(buf, "key 8 0.0.0.0 "));
	assert_int_equal(dsmd_pairkeys_parse(buf, len, SELF, back, why, sizeof(why)), 0);
	assert_memory_equal(pk, back, sizeof(*pk));
	/* the file of another node (a key for SELF) is refused */
	assert_true(dsmd_pairkeys_parse(buf, len, 5, back, why, sizeof(why)) < 0);
	free(buf);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		if (dsmd_pairkeys_parse(bad[i], strlen(bad[i]), SELF, back, why, sizeof(why)) !=
		    -EBADMSG)
			fail_msg("bad file %zu accepted", i);
		assert_true(why[0] != 0);
	}
	free(back);
	free(pk);
}

/* A session of KEYS against the fake server: each phase applied (maps),
 * persisted (0600) and acknowledged; a repeat acknowledged again; a
 * SWITCH to a generation never installed refused with an alarm and the
 * session ended; the file reloads to the same state, and the next HELLO
 * says the newest generation. */
static void test_keys_session(void **state)
{
	struct fixture *f = *state;
	struct dsmd_pairkeys *saved;
	char why[512] = "";

	server_start(&f->srv, ENROL_ACCEPT);
	assert_int_equal(enrol_node(f, why, sizeof(why)), 0);
	server_stop(&f->srv);

	make_pkeys(4);
	f->srv.keys[0] = keys_msg(1, DSM_KEYS_INSTALL, 3);
	f->srv.keys[1] = keys_msg(1, DSM_KEYS_INSTALL, 3); /* again */
	f->srv.keys[2] = keys_msg(1, DSM_KEYS_SWITCH, 0);
	f->srv.keys[3] = keys_msg(1, DSM_KEYS_SWITCH, 0);   /* again */
	f->srv.keys[4] = keys_msg(3, DSM_KEYS_SWITCH, 0);   /* never installed */
	f->srv.keys[5] = keys_msg(1, DSM_KEYS_DROP_OLD, 0); /* not reached */
	f->srv.nkeys = 6;
	f->d.o.servers[0] = f->srv.addr;
	f->d.o.n_servers = 1;
	f->d.o.join = f->srv.addr;
	pair_applied = 0;
	server_start(&f->srv, PUSH_KEYS);
	assert_int_equal(dsm_loop_open(&f->d.loop), 0);
	assert_int_equal(dsmd_uplink_open(&f->d), 0);
	assert_null(f->d.pairkeys); /* no file yet */
	assert_int_equal(dsmd_uplink_start(&f->d), 0);
	run_until_done(f);
	server_stop(&f->srv);

	assert_int_equal(f->srv.hello_key_generation, 0);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(f->srv.answer[i], DSM_MSG_KEYS_ACK);
		assert_int_equal(f->srv.keys_acks[i].generation, 1);
		assert_int_equal(f->srv.keys_acks[i].phase, f->srv.keys[i].phase);
	}
	assert_int_equal(f->srv.answer[4], DSM_MSG_ERROR);
	assert_int_equal(f->srv.error_code[4], DSM_ERR_UNEXPECTED);
	assert_int_equal(f->srv.answer[5], 0);
	assert_int_equal(alarms, 1);
	assert_int_equal(last_alarm_err, -ENOKEY);
	assert_non_null(strstr(last_alarm_reason, "pair keys from the server refused: SWITCH"));
	assert_int_equal(pair_applied, 4);
	assert_non_null(f->d.pairkeys);
	assert_int_equal(f->d.pairkeys->send, 1);
	assert_memory_equal(&pair_maps_now, f->d.pairkeys, sizeof(pair_maps_now));
	assert_int_equal(mode_of(f, "keys"), 0600);

	/* a restart: the file gives the same state, before any session */
	saved = malloc(sizeof(*saved));
	assert_non_null(saved);
	memcpy(saved, f->d.pairkeys, sizeof(*saved));
	dsmd_uplink_close(&f->d);
	assert_null(f->d.pairkeys);
	assert_int_equal(dsmd_uplink_open(&f->d), 0);
	assert_non_null(f->d.pairkeys);
	assert_memory_equal(saved, f->d.pairkeys, sizeof(*saved));
	free(saved);

	/* the next session: HELLO says generation 1; a map failure is not
	 * acknowledged */
	memset(f->srv.answer, 0, sizeof(f->srv.answer));
	make_pkeys(5);
	f->srv.keys[0] = keys_msg(2, DSM_KEYS_INSTALL, 3);
	f->srv.nkeys = 1;
	pair_apply_err = -EIO;
	server_start(&f->srv, PUSH_KEYS);
	assert_int_equal(dsmd_uplink_start(&f->d), 0);
	run_until_done(f);
	server_stop(&f->srv);
	pair_apply_err = 0;
	assert_int_equal(f->srv.hello_key_generation, 1);
	assert_int_equal(f->srv.answer[0], DSM_MSG_ERROR);
	assert_int_equal(f->srv.error_code[0], DSM_ERR_INTERNAL);
}

static uint64_t wall_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* A statement about bundle (as version), signed by a new server
 * certificate that ca issues. */
static uint8_t *statement(struct dsm_pki_ca *ca, uint64_t version, const uint8_t *bundle,
			  size_t blen, uint64_t issued, uint64_t expires, size_t *len)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_SERVER, .name = "srv",
					   .now = time(NULL), .lifetime_s = 86400 };
	uint8_t digest[DSM_FRESH_DIGEST_LEN], *b = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;

	assert_int_equal(dsm_pki_key_new(&k), 0);
	assert_int_equal(dsm_pki_issue(ca, &req, k, &x), 0);
	assert_int_equal(dsm_fresh_digest(bundle, blen, digest), 0);
	assert_int_equal(dsm_fresh_write(k, x, CLUSTER, version, digest, issued, expires, &b, len),
			 0);
	X509_free(x);
	EVP_PKEY_free(k);
	return b;
}

/* dsmd's loop and tick for ms, or until a policy_stale alarm. */
static void run_for(struct fixture *f, int64_t ms)
{
	int64_t end = dsmd_uplink_mono_ms() + ms;

	while (!alarms_starting("policy_stale") && dsmd_uplink_mono_ms() < end) {
		dsm_loop_once(f->d.loop, &f->d, 50);
		dsmd_uplink_tick(&f->d);
	}
}

static void reset_alarms(void)
{
	alarms = 0;
	memset(alarm_reasons, 0, sizeof(alarm_reasons));
}

static void test_freshness(void **state)
{
	struct fixture *f = *state;
	struct dsm_pki_ca other = { 0 };
	struct dsmd_uplink_state st = { .dirfd = -1 };
	static const uint8_t not_the_bundle[] = "DSMSIGN\n another one";
	char why[512] = "";
	size_t len2 = 0, slen = 0;
	uint8_t *v2, *s;
	uint64_t t0, t1;

	server_start(&f->srv, ENROL_ACCEPT);
	assert_int_equal(enrol_node(f, why, sizeof(why)), 0);
	server_stop(&f->srv);

	v2 = envelope(SRC("2"), op_seed, &len2);
	f->srv.push[0] = v2;
	f->srv.push_len[0] = len2;
	t0 = wall_now_ms();
	/* held: valid for 2.5 s */
	f->srv.fresh[0] = statement(&f->srv.ca, 2, v2, len2, t0, t0 + 2500, &f->srv.fresh_len[0]);
	/* older than the one held */
	f->srv.fresh[1] = statement(&f->srv.ca, 2, v2, len2, t0 - 1000, t0 + 60000,
				    &f->srv.fresh_len[1]);
	/* the server has version 3: this node is behind */
	f->srv.fresh[2] = statement(&f->srv.ca, 3, v2, len2, t0 + 1, t0 + 60000,
				    &f->srv.fresh_len[2]);
	/* a server certificate another CA (of the same cluster name) issued */
	assert_int_equal(dsm_pki_ca_create(CLUSTER, time(NULL), 86400, &other), 0);
	f->srv.fresh[3] = statement(&other, 2, v2, len2, t0 + 2, t0 + 60000, &f->srv.fresh_len[3]);
	/* issued an hour ahead */
	f->srv.fresh[4] = statement(&f->srv.ca, 2, v2, len2, t0 + 3600000, t0 + 7200000,
				    &f->srv.fresh_len[4]);
	/* version 2, but not the bytes in force */
	f->srv.fresh[5] = statement(&f->srv.ca, 2, not_the_bundle, sizeof(not_the_bundle), t0 + 3,
				    t0 + 60000, &f->srv.fresh_len[5]);
	dsm_pki_ca_free(&other);

	f->d.o.servers[0] = f->srv.addr;
	f->d.o.n_servers = 1;
	f->d.o.join = f->srv.addr;
	server_start(&f->srv, FRESH_SESSION);
	assert_int_equal(dsm_loop_open(&f->d.loop), 0);
	assert_int_equal(dsmd_uplink_open(&f->d), 0);
	assert_null(f->d.uplink->fresh.buf); /* nothing persisted yet */
	assert_int_equal(dsmd_uplink_start(&f->d), 0);
	run_until_done(f);
	server_stop(&f->srv);

	assert_int_equal(f->srv.nacks, 1);
	assert_int_equal(f->srv.acks[0].result, DSM_POLICY_OK);
	assert_int_equal(dsm_policy_version(f->d.policy), 2);
	/* one held, five refused; nothing stale while it is valid */
	assert_true(wall_now_ms() < t0 + 2500);
	assert_int_equal(alarms_starting("freshness statement from the server refused"), 4);
	assert_int_equal(alarms_starting("policy_behind"), 1);
	assert_non_null(strstr(alarm_reasons[1], "version 3, this node enforces version 2"));
	assert_int_equal(alarms_starting("policy_stale"), 0);
	assert_int_equal(alarms, 5);
	assert_non_null(f->d.uplink->fresh.buf);
	assert_true(f->d.uplink->fresh.info.issued_ms == t0);
	assert_int_equal(mode_of(f, "policy.fresh"), 0600);

	/* The server gone: stale once the statement expires, the policy stays. */
	run_for(f, 6000);
	assert_int_equal(alarms_starting("policy_stale"), 1);
	assert_true(wall_now_ms() >= t0 + 2500);
	assert_int_equal(last_alarm_err, -ETIME);
	assert_int_equal(dsm_policy_version(f->d.policy), 2);
	assert_int_equal(reloads, 1);
	/* and not again within the period (2.5 s) */
	reset_alarms();
	run_for(f, 1000);
	assert_int_equal(alarms, 0);

	/* A restart without a server: the persisted (expired) statement says
	 * stale at the first check. */
	dsmd_uplink_close(&f->d);
	reset_alarms();
	assert_int_equal(dsmd_uplink_open(&f->d), 0);
	assert_non_null(f->d.uplink->fresh.buf);
	dsmd_uplink_fresh_tick(&f->d);
	assert_int_equal(alarms, 0); /* a session may still bring one */
	usleep(UPLINK_FRESH_GRACE_MS * 1000);
	dsmd_uplink_fresh_tick(&f->d);
	assert_int_equal(alarms_starting("policy_stale"), 1);
	assert_int_equal(alarms, 1);

	/* A restart with a valid statement on disk: fresh until it expires. */
	dsmd_uplink_close(&f->d);
	reset_alarms();
	t1 = wall_now_ms();
	s = statement(&f->srv.ca, 2, v2, len2, t1, t1 + 1500, &slen);
	assert_int_equal(dsmd_uplink_state_dir(&st, f->state, false), 0);
	assert_int_equal(dsmd_uplink_write_at(st.dirfd, "policy.fresh", s, slen, 0600), 0);
	dsmd_uplink_state_free(&st);
	free(s);
	assert_int_equal(dsmd_uplink_open(&f->d), 0);
	assert_true(f->d.uplink->fresh.info.issued_ms == t1);
	usleep(UPLINK_FRESH_GRACE_MS * 1000);
	while (wall_now_ms() < t1 + 1500) {
		dsmd_uplink_fresh_tick(&f->d);
		assert_int_equal(alarms, 0);
		usleep(50000);
	}
	dsmd_uplink_fresh_tick(&f->d);
	assert_int_equal(alarms_starting("policy_stale"), 1);
	assert_int_equal(dsm_policy_version(f->d.policy), 2);
}

static void test_addresses(void **state)
{
	(void)state;
	assert_true(dsmd_uplink_addr_valid("10.0.0.1:7000"));
	assert_true(dsmd_uplink_addr_valid("server.example:1"));
	assert_true(dsmd_uplink_addr_valid("[fd00::1]:65535"));
	assert_false(dsmd_uplink_addr_valid("10.0.0.1"));
	assert_false(dsmd_uplink_addr_valid("10.0.0.1:0"));
	assert_false(dsmd_uplink_addr_valid("10.0.0.1:65536"));
	assert_false(dsmd_uplink_addr_valid(":7000"));
	assert_false(dsmd_uplink_addr_valid("fd00::1:7000"));
	assert_false(dsmd_uplink_addr_valid("h:-1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test_setup_teardown(test_enrol_writes_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrol_refused_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrol_refuses_another_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_push, setup, teardown),
		cmocka_unit_test(test_pairkeys_phases),
		cmocka_unit_test(test_pairkeys_file),
		cmocka_unit_test_setup_teardown(test_keys_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freshness, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
