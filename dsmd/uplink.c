// SPDX-License-Identifier: GPL-2.0
/*
 * The uplink's session with a Security Server, driven by dsmd's loop:
 *
 *   WAITING --backoff--> CONNECTING --TCP--> HANDSHAKE --TLS--> HELLO
 *       ^                                                      | HELLO_OK
 *       +------- any error, ERROR, 3 missed PONGs ------- READY <+
 *
 * A connect tries the next server of the list (--join's address first,
 * then every --server); a failure waits a full-jitter exponential backoff
 * (a random delay up to 1 s, 2 s, 4 s ... 30 s) before the next. Once
 * READY, dsmd sends PING every 2 s and declares the server dead when it
 * has read nothing for three of them. While no server answers, dsmd
 * enforces what it enforces: nothing here ever removes a policy.
 *
 * POLICY: the envelope is verified with the operator key pinned at
 * enrolment, for this cluster, newer than the version in force, not
 * expired. A good one is written to policy.signed and installed by the one
 * reload path (reload.c), which takes the policy from there; POLICY_ACK
 * says the version enforced afterwards and the result. A refused one is
 * never installed: an alarm (class dsm) names why, and the ACK carries the
 * version still in force and the error. RENEW: when the node certificate
 * is two thirds through its life, a new key and request; RENEW_OK's
 * certificate must be a node identity for the same name and the new key.
 *
 * ALARMS: once READY, the alarm log is forwarded (uplink_alarms.c), on
 * the tick and after each ALARMS_ACK; HELLO says the highest seq spooled.
 *
 * KEYS: a phase of a pair key rotation (pairkeys.c): checked, persisted
 * in `keys`, applied to the maps, then acknowledged (KEYS_ACK with the
 * generation and phase); a phase already done is acknowledged again. A
 * refused one (malformed, out of order, a SWITCH to a generation not
 * installed: never a regression) raises an alarm (class dsm), is answered
 * with ERROR UNEXPECTED and ends the session, as a message out of order
 * does. HELLO says the newest generation held.
 * FRESH (protocol 2): the server's freshness statements (uplink_fresh.c);
 * HELLO offers protocol versions 1 and 2, HELLO_OK chooses, and every
 * frame after it must be of the chosen version (HELLO, HELLO_OK and ERROR
 * are always version 1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dsmd.h"
#include "dsm/decide.h"
#include "evloop.h"
#include "pairkeys.h"
#include "uplink.h"

#ifndef UPLINK_PING_MS
#define UPLINK_PING_MS      2000
#endif
#define UPLINK_MISSED_MAX   3
#define UPLINK_SETUP_MS     10000 /* connect, TLS and HELLO together */
#define UPLINK_ENROL_MS     15000
#define UPLINK_SOFTWARE     "dsm dsmd 1"

uint32_t dsmd_uplink_backoff_ms(unsigned attempt, uint64_t rnd)
{
	uint64_t ceil = DSMD_UPLINK_BACKOFF_MIN_MS;

	while (attempt-- && ceil < DSMD_UPLINK_BACKOFF_MAX_MS)
		ceil *= 2;
	if (ceil > DSMD_UPLINK_BACKOFF_MAX_MS)
		ceil = DSMD_UPLINK_BACKOFF_MAX_MS;
	return (uint32_t)(rnd % (ceil + 1));
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)dsmd_uplink_mono_ms() * 0x9e3779b97f4a7c15ull;
	return v;
}

static uint64_t version_in_force(const struct dsmd *d)
{
	return d->policy ? dsm_policy_version(d->policy) : 0;
}

/* ---- the connection in the loop ----------------------------------------- */

static void watch(struct dsmd *d, uint32_t events)
{
	struct dsmd_uplink *u = d->uplink;

	if (!u->registered) {
		u->src.fd = u->conn.fd;
		u->registered = !dsm_loop_add(d->loop, &u->src, events);
	} else {
		dsm_loop_watch(d->loop, &u->src, events);
	}
}

static void watch_want(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;

	watch(d, u->conn.want == DSM_TLS_WANT_WRITE ? EPOLLOUT : EPOLLIN);
}

/* Close the session and wait for the next attempt. */
static void drop(struct dsmd *d, int err, const char *what)
{
	struct dsmd_uplink *u = d->uplink;
	uint32_t delay;

	if (u->registered)
		dsm_loop_del(d->loop, &u->src);
	u->registered = false;
	if (u->conn.fd >= 0 && u->conn.tls && u->phase == UPLINK_READY)
		dsm_tls_shutdown(u->conn.tls);
	dsmd_uplink_conn_close(&u->conn);
	delay = dsmd_uplink_backoff_ms(u->attempt, random_u64());
	if (u->phase != UPLINK_READY)
		u->attempt++;
	else
		u->attempt = 0;
	log_warning("uplink: %s: %s%s%s; next attempt in %u ms", d->o.servers[u->server], what,
		    err ? ": " : "", err ? strerror(-err) : "", delay);
	u->phase = UPLINK_WAITING;
	u->next_at_ms = dsmd_uplink_mono_ms() + delay;
	u->server = (u->server + 1) % d->o.n_servers;
	dsmd_uplink_alarms_stop(&u->spool);
	u->renewing = false;
	EVP_PKEY_free(u->renew_key);
	u->renew_key = NULL;
}

static void flush(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	int r = dsmd_uplink_conn_flush(&u->conn);

	if (r < 0)
		drop(d, r, "write");
	else
		watch(d, r ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void send_msg(struct dsmd *d, struct dsm_msg *m, uint64_t reply_to)
{
	int err = dsmd_uplink_conn_send(&d->uplink->conn, m, reply_to);

	if (err)
		log_errno(LOG_ERR, err, "uplink: encode %s", dsm_msg_type_name(m->type));
}

static void send_error(struct dsmd *d, uint32_t code, uint64_t id, const char *text)
{
	struct dsm_msg m = { .type = DSM_MSG_ERROR, .error = { .code = code, .text = text } };

	dsmd_uplink_conn_send(&d->uplink->conn, &m, id);
	dsmd_uplink_conn_flush(&d->uplink->conn);
}

static void send_hello(struct dsmd *d)
{
	struct dsm_msg m = { .type = DSM_MSG_HELLO };

	m.hello = (struct dsm_msg_hello){ .version_min = DSM_MSG_VERSION_MIN,
					  .version_max = DSM_MSG_VERSION_MAX,
					  .policy_version = version_in_force(d),
					  .key_generation = d->pairkeys ?
						  dsmd_pairkeys_newest(d->pairkeys) : 0,
					  .alarm_seq = dsmd_alarm_last_seq(d),
					  .software = UPLINK_SOFTWARE };
	send_msg(d, &m, 0);
}

static void begin(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	int fd = dsmd_uplink_connect(d->o.servers[u->server]);

	u->phase = UPLINK_CONNECTING;
	u->deadline_ms = dsmd_uplink_mono_ms() + UPLINK_SETUP_MS;
	if (fd < 0) {
		drop(d, fd, "connect");
		return;
	}
	if (dsmd_uplink_conn_open(&u->conn, u->ctx, fd)) {
		drop(d, -ENOMEM, "TLS");
		return;
	}
	watch(d, EPOLLOUT);
}

static void handshake(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	int r = dsmd_uplink_conn_handshake(&u->conn);

	if (r < 0) {
		log_warning("uplink: TLS: %s", dsm_tls_error(u->conn.tls));
		drop(d, r, "TLS handshake");
	} else if (r) {
		watch_want(d);
	} else {
		u->phase = UPLINK_HELLO;
		send_hello(d);
		flush(d);
	}
}

static void connecting(struct dsmd *d)
{
	int r = dsmd_uplink_connected(d->uplink->conn.fd);

	if (r < 0) {
		drop(d, r, "connect");
	} else if (!r) {
		d->uplink->phase = UPLINK_HANDSHAKE;
		handshake(d);
	}
}

/* ---- messages ----------------------------------------------------------- */

static enum dsm_msg_policy_result policy_result(int err)
{
	switch (err) {
	case -ENOKEY:
	case -EKEYREJECTED: return DSM_POLICY_BAD_SIGNATURE;
	case -ESTALE:       return DSM_POLICY_STALE;
	default:            return DSM_POLICY_BAD_BUNDLE;
	}
}

static void policy_ack(struct dsmd *d, uint64_t id, uint32_t result, const char *reason)
{
	struct dsm_msg m = { .type = DSM_MSG_POLICY_ACK };
	char text[DSM_MSG_REASON_MAX + 1];

	snprintf(text, sizeof(text), "%s", reason);
	if (!dsm_msg_text_ok(text, strlen(text)))
		text[0] = 0;
	m.policy_ack = (struct dsm_msg_policy_ack){ .version = version_in_force(d),
						    .result = result, .reason = text };
	send_msg(d, &m, id);
}

/* A refused policy: an alarm naming why. */
static void policy_alarm(struct dsmd *d, int err, const struct dsm_signed_info *info)
{
	char reason[160];

	snprintf(reason, sizeof(reason), "policy from the server refused: %s",
		 dsm_signed_strerror(err));
	dsmd_uplink_alarm(d, err, info->version, reason);
}

/* Persist the bundle and run the one reload path; 0 once it is in force. */
static int install(struct dsmd *d, const struct dsm_msg_bytes *b, struct dsmd_reload_result *r)
{
	struct dsmd_uplink *u = d->uplink;
	uint8_t *copy = malloc(b->len);
	int err;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, b->data, b->len);
	err = dsmd_uplink_write_at(u->st.dirfd, "policy.signed", copy, b->len, 0600);
	if (err) {
		free(copy);
		snprintf(r->what, sizeof(r->what), "policy.signed cannot be written: %s",
			 strerror(-err));
		return err;
	}
	dsmd_reload(d, "the server's policy", r);
	if (r->outcome == DSMD_RELOAD_NOT_INSTALLED) {
		/* The bundle in force stays the last good one on disk. */
		if (u->bundle)
			dsmd_uplink_write_at(u->st.dirfd, "policy.signed", u->bundle,
					     u->bundle_len, 0600);
		else
			unlinkat(u->st.dirfd, "policy.signed", 0);
		free(copy);
		return r->err ? r->err : -EIO;
	}
	free(u->bundle);
	u->bundle = copy;
	u->bundle_len = b->len;
	dsmd_uplink_fresh_installed(d);
	return 0;
}

static void on_policy(struct dsmd *d, const struct dsm_msg *m)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsm_signed_info info;
	struct dsmd_reload_result r;
	int err;

	err = dsm_signed_verify(m->policy.bundle.data, m->policy.bundle.len, u->st.operator,
				u->st.cluster, version_in_force(d), (uint64_t)time(NULL), &info,
				NULL);
	if (err) {
		log_error("uplink: policy version %llu refused: %s",
			  (unsigned long long)info.version, dsm_signed_strerror(err));
		policy_alarm(d, err, &info);
		policy_ack(d, m->id, policy_result(err), dsm_signed_strerror(err));
		return;
	}
	err = install(d, &m->policy.bundle, &r);
	policy_ack(d, m->id, err ? DSM_POLICY_LOAD_FAILED : DSM_POLICY_OK, err ? r.what : "");
}

/* A refused KEYS: an alarm of class dsm naming why (aux: the generation's
 * low 32 bits, err the refusal). */
static void keys_alarm(struct dsmd *d, int err, const struct dsm_msg_keys *k, const char *why)
{
	char reason[260];

	snprintf(reason, sizeof(reason), "pair keys from the server refused: %s", why);
	dsmd_uplink_alarm(d, err, k->generation, reason);
}

/* KEYS: 0 acknowledged, < 0 refused (the caller ends the session). */
static int on_keys(struct dsmd *d, const struct dsm_msg *m)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsm_msg ack = { .type = DSM_MSG_KEYS_ACK };
	char why[200] = "";
	int err;

	err = dsmd_pairkeys_apply(d, u->st.dirfd, u->st.node_id, &m->keys, why, sizeof(why));
	if (err) {
		log_error("uplink: KEYS generation %llu phase %u refused: %s",
			  (unsigned long long)m->keys.generation, m->keys.phase, why);
		keys_alarm(d, err, &m->keys, why);
		send_error(d, err == -ENOMEM || err == -EIO || err == -ENOSPC ? DSM_ERR_INTERNAL :
			   DSM_ERR_UNEXPECTED, m->id, why);
		return err;
	}
	log_info("uplink: pair keys: generation %llu phase %u done",
		 (unsigned long long)m->keys.generation, m->keys.phase);
	ack.keys_ack = (struct dsm_msg_keys_ack){ .generation = m->keys.generation,
						  .phase = m->keys.phase };
	send_msg(d, &ack, m->id);
	return 0;
}

static void on_hello_ok(struct dsmd *d, const struct dsm_msg *m)
{
	struct dsmd_uplink *u = d->uplink;

	u->phase = UPLINK_READY;
	u->attempt = 0;
	u->conn.version = m->hello_ok.version;
	u->last_ping_ms = u->last_read_ms = dsmd_uplink_mono_ms();
	log_info("uplink: %s: session up (protocol %u), node %s of cluster %s, policy "
		 "version %llu", d->o.servers[u->server], m->hello_ok.version, u->st.name,
		 u->st.cluster, (unsigned long long)version_in_force(d));
	dsmd_uplink_alarms_session(d);
	dsmd_uplink_alarms_send(d, u->last_read_ms);
}

/* RENEW_OK: the new certificate, for the name and the key of the request. */
static void on_renew_ok(struct dsmd *d, const struct dsm_msg *m)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsm_identity id;
	X509 *cert = NULL;
	char *pem = NULL, *kpem = NULL;
	size_t n = 0, kn = 0;
	int err;

	err = dsm_pki_cert_from_der(m->renew_ok.cert.data, m->renew_ok.cert.len, &cert);
	if (!err && (!u->renew_key || X509_verify(cert, X509_get0_pubkey(u->st.ca)) != 1 ||
		     dsm_pki_identity(cert, u->st.cluster, &id) || id.role != DSM_ROLE_NODE ||
		     strcmp(id.name, u->st.name) ||
		     EVP_PKEY_eq(X509_get0_pubkey(cert), u->renew_key) != 1))
		err = -EKEYREJECTED;
	if (!err)
		err = dsmd_uplink_pem_key(u->renew_key, &kpem, &kn);
	if (!err)
		err = dsmd_uplink_pem_cert(cert, &pem, &n);
	/* The key first: a node.pem never names a key that is not on disk. */
	if (!err)
		err = dsmd_uplink_write_at(u->st.dirfd, "node.key.new", kpem, kn, 0600);
	if (!err)
		err = dsmd_uplink_write_at(u->st.dirfd, "node.pem.new", pem, n, 0644);
	if (!err && (renameat(u->st.dirfd, "node.key.new", u->st.dirfd, "node.key") ||
		     renameat(u->st.dirfd, "node.pem.new", u->st.dirfd, "node.pem")))
		err = -errno;
	if (kpem)
		OPENSSL_cleanse(kpem, kn);
	free(kpem);
	free(pem);
	u->renewing = false;
	if (err) {
		X509_free(cert);
		log_errno(LOG_ERR, err, "uplink: renewed certificate not taken");
		return;
	}
	X509_free(u->st.cert);
	EVP_PKEY_free(u->st.key);
	u->st.cert = cert;
	u->st.key = u->renew_key;
	u->renew_key = NULL;
	log_info("uplink: certificate renewed (the next connection uses it)");
}

static void on_message(struct dsmd *d, const struct dsm_msg *m)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsm_msg pong = { .type = DSM_MSG_PONG };

	if (m->version != dsm_msg_frame_version(m->type, u->conn.version)) {
		send_error(d, DSM_ERR_UNEXPECTED, m->id, "frame of another protocol version");
		drop(d, -EPROTO, "a frame of another protocol version than the session's");
		return;
	}
	if (u->phase == UPLINK_HELLO && m->type != DSM_MSG_HELLO_OK && m->type != DSM_MSG_ERROR) {
		send_error(d, DSM_ERR_UNEXPECTED, m->id, "HELLO_OK expected");
		drop(d, -EPROTO, "unexpected message before HELLO_OK");
		return;
	}
	switch (m->type) {
	case DSM_MSG_HELLO_OK:
		if (u->phase != UPLINK_HELLO)
			break;
		on_hello_ok(d, m);
		return;
	case DSM_MSG_PING:
		pong.ping.nonce = m->ping.nonce;
		send_msg(d, &pong, m->id);
		return;
	case DSM_MSG_PONG:
		return;
	case DSM_MSG_POLICY:
		on_policy(d, m);
		return;
	case DSM_MSG_KEYS:
		if (on_keys(d, m))
			drop(d, -EPROTO, "KEYS refused");
		return;
	case DSM_MSG_FRESH:
		dsmd_uplink_fresh_on(d, m);
		return;
	case DSM_MSG_ALARMS_ACK:
		if (dsmd_uplink_alarms_ack(d, m))
			break; /* an ACK for nothing */
		dsmd_uplink_alarms_send(d, dsmd_uplink_mono_ms());
		return;
	case DSM_MSG_RENEW_OK:
		if (u->renewing) {
			on_renew_ok(d, m);
			return;
		}
		break;
	case DSM_MSG_ERROR:
		log_error("uplink: the server sent ERROR %u: %s", m->error.code, m->error.text);
		drop(d, -ECONNABORTED, "closed by the server");
		return;
	default:
		break;
	}
	send_error(d, DSM_ERR_UNEXPECTED, m->id, "not expected");
	drop(d, -EPROTO, dsm_msg_type_name(m->type));
}

/* Every message that is there, then what they made us send. */
static void receive(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;

	for (;;) {
		struct dsm_msg m = { 0 };
		int r = dsmd_uplink_conn_recv(&u->conn, &m);

		if (r < 0) {
			if (r != -ENOTCONN && r != -ECONNRESET)
				send_error(d, DSM_ERR_MALFORMED, 0, "");
			drop(d, r, "read");
			return;
		}
		if (!r)
			break;
		u->last_read_ms = dsmd_uplink_mono_ms();
		on_message(d, &m);
		dsm_msg_free(&m);
		if (u->phase == UPLINK_WAITING)
			return;
	}
	flush(d);
}

static void ready(void *ctx, struct dsm_source *src, uint32_t events)
{
	struct dsmd *d = ctx;

	(void)src;
	(void)events;
	switch (d->uplink->phase) {
	case UPLINK_CONNECTING: connecting(d); break;
	case UPLINK_HANDSHAKE:  handshake(d); break;
	case UPLINK_HELLO:
	case UPLINK_READY:      receive(d); break;
	case UPLINK_WAITING:    break;
	}
}

/* ---- the tick ----------------------------------------------------------- */

static void ping(struct dsmd *d, int64_t now)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsm_msg m = { .type = DSM_MSG_PING };

	m.ping.nonce = ++u->ping_nonce;
	u->last_ping_ms = now;
	send_msg(d, &m, 0);
}

static void renew(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	struct dsm_msg m = { .type = DSM_MSG_RENEW };
	uint8_t *csr = NULL;
	size_t n = 0;

	if (u->renewing || !dsm_pki_renew_due(u->st.cert, time(NULL)))
		return;
	if (dsm_pki_key_new(&u->renew_key) || dsm_pki_csr_make(u->renew_key, &csr, &n)) {
		log_error("uplink: renewal: no key or request");
		return;
	}
	m.renew.csr = (struct dsm_msg_bytes){ csr, n };
	send_msg(d, &m, 0);
	OPENSSL_free(csr);
	u->renewing = true;
}

void dsmd_uplink_tick(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;
	int64_t now = dsmd_uplink_mono_ms();

	if (!u)
		return;
	dsmd_uplink_fresh_tick(d);
	if (u->phase == UPLINK_WAITING) {
		if (now >= u->next_at_ms)
			begin(d);
		return;
	}
	if (u->phase != UPLINK_READY) {
		if (now >= u->deadline_ms)
			drop(d, -ETIMEDOUT, "session setup");
		return;
	}
	if (now - u->last_read_ms >= UPLINK_MISSED_MAX * UPLINK_PING_MS) {
		drop(d, -ETIMEDOUT, "server dead (no answer to 3 PINGs)");
		return;
	}
	if (now - u->last_ping_ms >= UPLINK_PING_MS)
		ping(d, now);
	renew(d);
	dsmd_uplink_alarms_send(d, now);
	flush(d);
}

/* ---- start and end ------------------------------------------------------ */

static int enrol(struct dsmd *d)
{
	const struct dsmd_uplink_enrol_req req = {
		.server = d->o.join, .token_hex = d->o.join_token, .ca_path = d->o.join_ca,
		.ca_pin = d->o.ca_pin, .timeout_ms = UPLINK_ENROL_MS };
	char why[512] = "";
	int err;

	if (!d->o.join) {
		log_error("uplink: %s has no node.pem: this node is not enrolled (--join)",
			  d->o.server_state);
		return -ENOENT;
	}
	err = dsmd_uplink_enrol(&d->uplink->st, &req, why, sizeof(why));
	if (err)
		log_error("uplink: %s", why);
	else
		log_info("uplink: %s", why);
	return err;
}

static int make_ctx(struct dsmd_uplink *u)
{
	const struct dsm_tls_config cfg = { .cluster = u->st.cluster, .ca = u->st.ca,
					    .cert = u->st.cert, .key = u->st.key };

	u->ctx = dsm_tls_node_ctx(&cfg);
	return u->ctx ? 0 : -EKEYREJECTED;
}

int dsmd_uplink_open(struct dsmd *d)
{
	struct dsmd_uplink *u;
	int err;

	if (!dsmd_uplink_configured(d))
		return 0;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	d->uplink = u;
	u->st.dirfd = -1;
	u->conn.fd = -1;
	err = dsmd_uplink_state_dir(&u->st, d->o.server_state, true);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s", d->o.server_state);
	if (!dsmd_uplink_enrolled(&u->st)) {
		err = enrol(d);
		if (err)
			return err;
	}
	err = dsmd_uplink_state_load(&u->st);
	if (!err)
		err = make_ctx(u);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s", d->o.server_state);
	err = dsmd_uplink_read_at(u->st.dirfd, "policy.signed", &u->bundle, &u->bundle_len,
				  DSM_SIGN_MAX_SIZE);
	if (err && err != -ENOENT)
		return log_errno(LOG_ERR, err, "uplink: %s/policy.signed", d->o.server_state);
	/* Before the programs label (the first reload applies them). */
	err = dsmd_pairkeys_load(d, u->st.dirfd, u->st.node_id);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s/%s", d->o.server_state,
				 DSMD_PAIRKEYS_FILE);
	dsmd_uplink_fresh_load(d);
	log_info("uplink: node %s (%u) of cluster %s, %u server%s", u->st.name, u->st.node_id,
		 u->st.cluster, d->o.n_servers, d->o.n_servers == 1 ? "" : "s");
	return 0;
}

int dsmd_uplink_start(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;

	if (!u)
		return 0;
	/* Numbers above the server's acknowledgement, whatever the log kept. */
	dsmd_alarm_seq_floor(d, u->st.alarm_acked);
	u->src = (struct dsm_source){ .fd = -1, .ready = ready };
	u->phase = UPLINK_WAITING;
	u->next_at_ms = dsmd_uplink_mono_ms();
	begin(d);
	return 0;
}

void dsmd_uplink_close(struct dsmd *d)
{
	struct dsmd_uplink *u = d->uplink;

	if (!u)
		return;
	if (u->registered && d->loop)
		dsm_loop_del(d->loop, &u->src);
	dsmd_uplink_conn_close(&u->conn);
	dsmd_uplink_alarms_stop(&u->spool);
	SSL_CTX_free(u->ctx);
	EVP_PKEY_free(u->renew_key);
	free(u->bundle);
	dsmd_uplink_fresh_free(&u->fresh);
	dsmd_uplink_state_free(&u->st);
	free(u);
	d->uplink = NULL;
	dsmd_pairkeys_free(d);
}
