// SPDX-License-Identifier: GPL-2.0
/*
 * Mutual TLS over a non-blocking socketpair, both ends driven in this
 * thread: a node and the server see each other's identity; a certificate
 * from another CA, an expired one, a node posing as the server, a client
 * without a certificate (outside enrolment), a revoked serial or name and a
 * TLS 1.2 client are each refused, against a control that succeeds.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <openssl/err.h>

#include "tls.h"

#define CLUSTER "c1"
#define DAY     (24 * 3600)

struct leaf {
	X509 *cert;
	EVP_PKEY *key;
};

struct fx {
	struct dsm_pki_ca ca, other_ca;
	struct leaf server, n1, n2, stranger, expired;
	time_t now;
};

static void make_leaf(const struct dsm_pki_ca *ca, enum dsm_role role, const char *name,
		      time_t now, int64_t life, struct leaf *out)
{
	const struct dsm_pki_issue req = { .role = role, .name = name, .now = now, .lifetime_s = life };

	assert_int_equal(dsm_pki_key_new(&out->key), 0);
	assert_int_equal(dsm_pki_issue(ca, &req, out->key, &out->cert), 0);
}

static void free_leaf(struct leaf *l)
{
	X509_free(l->cert);
	EVP_PKEY_free(l->key);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	f->now = time(NULL);
	/* the CA from four days ago, so that an expired leaf can be issued */
	if (dsm_pki_ca_create(CLUSTER, f->now - 4 * DAY, DSM_PKI_CA_LIFETIME_S, &f->ca) ||
	    dsm_pki_ca_create(CLUSTER, f->now, DSM_PKI_CA_LIFETIME_S, &f->other_ca))
		return -1;
	make_leaf(&f->ca, DSM_ROLE_SERVER, "srv", f->now, DSM_PKI_SERVER_LIFETIME_S, &f->server);
	make_leaf(&f->ca, DSM_ROLE_NODE, "n1", f->now, DSM_PKI_NODE_LIFETIME_S, &f->n1);
	make_leaf(&f->ca, DSM_ROLE_NODE, "n2", f->now, DSM_PKI_NODE_LIFETIME_S, &f->n2);
	/* the same cluster name and node name, another CA */
	make_leaf(&f->other_ca, DSM_ROLE_NODE, "n1", f->now, DSM_PKI_NODE_LIFETIME_S, &f->stranger);
	/* valid from three days ago to two days ago */
	make_leaf(&f->ca, DSM_ROLE_NODE, "n1", f->now - 3 * DAY, DAY, &f->expired);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free_leaf(&f->server);
	free_leaf(&f->n1);
	free_leaf(&f->n2);
	free_leaf(&f->stranger);
	free_leaf(&f->expired);
	dsm_pki_ca_free(&f->ca);
	dsm_pki_ca_free(&f->other_ca);
	free(f);
	return 0;
}

static SSL_CTX *server_ctx(const struct fx *f, const struct dsm_pki_denylist *deny, bool enrol)
{
	const struct dsm_tls_config cfg = {
		.cluster = CLUSTER, .ca = f->ca.cert, .cert = f->server.cert, .key = f->server.key,
		.deny = deny, .enrol = enrol,
	};
	SSL_CTX *ctx = dsm_tls_server_ctx(&cfg);

	assert_non_null(ctx);
	return ctx;
}

static SSL_CTX *node_ctx(const struct fx *f, const struct leaf *l)
{
	const struct dsm_tls_config cfg = {
		.cluster = CLUSTER, .ca = f->ca.cert,
		.cert = l ? l->cert : NULL, .key = l ? l->key : NULL,
	};
	SSL_CTX *ctx;

	/* the context builder refuses a leaf of another CA: hand it over by
	 * building with a good leaf and then swapping the certificate in */
	if (l == &f->stranger || l == &f->expired) {
		const struct dsm_tls_config ok = { .cluster = CLUSTER, .ca = f->ca.cert,
			.cert = f->n1.cert, .key = f->n1.key };

		ctx = dsm_tls_node_ctx(&ok);
		assert_non_null(ctx);
		assert_int_equal(SSL_CTX_use_certificate(ctx, l->cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(ctx, l->key), 1);
		return ctx;
	}
	ctx = dsm_tls_node_ctx(&cfg);
	assert_non_null(ctx);
	return ctx;
}

/* A plain OpenSSL end, for peers the builders would not make. */
static SSL_CTX *raw_ctx(bool server, int max_version, const struct leaf *l)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	assert_non_null(ctx);
	assert_true(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION));
	assert_true(SSL_CTX_set_max_proto_version(ctx, max_version));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (l) {
		assert_int_equal(SSL_CTX_use_certificate(ctx, l->cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(ctx, l->key), 1);
	}
	return ctx;
}

/* ---- one end of a socketpair ---------------------------------------------- */

struct end {
	struct dsm_tls_conn *c; /* a dsm end, or */
	SSL *raw;               /* a plain one */
	int fd;
	int rc;                 /* last status: WANT_*, DONE or a negative errno */
};

static void end_dsm(struct end *e, SSL_CTX *ctx, int fd)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->rc = DSM_TLS_WANT_READ;
	assert_int_equal(dsm_tls_conn_new(ctx, fd, &e->c), 0);
}

static void end_raw(struct end *e, SSL_CTX *ctx, int fd, bool server)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->rc = DSM_TLS_WANT_READ;
	e->raw = SSL_new(ctx);
	assert_non_null(e->raw);
	assert_true(SSL_set_fd(e->raw, fd));
	if (server)
		SSL_set_accept_state(e->raw);
	else
		SSL_set_connect_state(e->raw);
}

static bool end_finished(const struct end *e)
{
	return e->rc == DSM_TLS_DONE || e->rc < 0;
}

static void end_step(struct end *e)
{
	int r;

	if (end_finished(e))
		return;
	if (e->c) {
		e->rc = dsm_tls_handshake(e->c);
		return;
	}
	ERR_clear_error();
	r = SSL_do_handshake(e->raw);
	if (r == 1) {
		e->rc = DSM_TLS_DONE;
		return;
	}
	switch (SSL_get_error(e->raw, r)) {
	case SSL_ERROR_WANT_READ:
		e->rc = DSM_TLS_WANT_READ;
		break;
	case SSL_ERROR_WANT_WRITE:
		e->rc = DSM_TLS_WANT_WRITE;
		break;
	default:
		e->rc = -EPROTO;
	}
	ERR_clear_error();
}

static void end_free(struct end *e)
{
	dsm_tls_conn_free(e->c);
	SSL_free(e->raw);
	close(e->fd);
}

/* Drive both ends until neither can go on. */
static void pump(struct end *client, struct end *server)
{
	for (int i = 0; i < 100 && !(end_finished(client) && end_finished(server)); i++) {
		end_step(client);
		end_step(server);
	}
}

/* A handshake between a client and a server context; dsm ends unless raw. */
static void handshake(SSL_CTX *cctx, bool craw, SSL_CTX *sctx, bool sraw,
		      struct end *client, struct end *server)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	if (craw)
		end_raw(client, cctx, sv[0], false);
	else
		end_dsm(client, cctx, sv[0]);
	if (sraw)
		end_raw(server, sctx, sv[1], true);
	else
		end_dsm(server, sctx, sv[1]);
	pump(client, server);
}

/* A dsm client whose handshake completed before the server refused it
 * learns of the refusal (the server's alert) on its first read. */
static void assert_refused_on_read(struct end *client)
{
	char buf[16];
	size_t got;
	int rc;

	if (client->rc < 0)
		return;
	assert_int_equal(client->rc, DSM_TLS_DONE);
	rc = dsm_tls_read(client->c, buf, sizeof(buf), &got);
	assert_true(rc < 0);
	assert_int_equal(got, 0);
}

static void assert_why(const struct end *e, const char *part)
{
	const char *why = dsm_tls_error(e->c);

	if (!strstr(why, part))
		fail_msg("expected a reason with \"%s\", got \"%s\"", part, why);
}

/* Write all of msg on one end and read it on the other. */
static void exchange(struct end *from, struct end *to, const char *msg)
{
	char buf[64];
	size_t put = 0, got = 0;

	assert_int_equal(dsm_tls_write(from->c, msg, strlen(msg), &put), DSM_TLS_DONE);
	assert_int_equal(put, strlen(msg));
	assert_int_equal(dsm_tls_read(to->c, buf, sizeof(buf), &got), DSM_TLS_DONE);
	assert_int_equal(got, strlen(msg));
	assert_memory_equal(buf, msg, got);
	/* nothing more: the reader would wait */
	assert_int_equal(dsm_tls_read(to->c, buf, sizeof(buf), &got), DSM_TLS_WANT_READ);
}

/* ---- tests -------------------------------------------------------------- */

static void test_node_server_handshake(void **state)
{
	struct fx *f = *state;
	SSL_CTX *sctx = server_ctx(f, NULL, false), *cctx = node_ctx(f, &f->n1);
	struct end c, s;
	struct dsm_identity id;
	char buf[8];
	size_t got;

	handshake(cctx, false, sctx, false, &c, &s);
	assert_int_equal(c.rc, DSM_TLS_DONE);
	assert_int_equal(s.rc, DSM_TLS_DONE);
	assert_int_equal(dsm_tls_peer_identity(c.c, &id), 0);
	assert_int_equal(id.role, DSM_ROLE_SERVER);
	assert_string_equal(id.name, "srv");
	assert_string_equal(id.cluster, CLUSTER);
	assert_int_equal(dsm_tls_peer_identity(s.c, &id), 0);
	assert_int_equal(id.role, DSM_ROLE_NODE);
	assert_string_equal(id.name, "n1");
	assert_false(dsm_tls_enrol_only(s.c));
	assert_string_equal(dsm_tls_error(s.c), "");

	exchange(&c, &s, "ping");
	exchange(&s, &c, "pong");
	/* close_notify is a clean end, seen as such */
	assert_int_equal(dsm_tls_shutdown(c.c), DSM_TLS_DONE);
	assert_int_equal(dsm_tls_read(s.c, buf, sizeof(buf), &got), DSM_TLS_CLOSED);

	end_free(&c);
	end_free(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* A peer that goes away without close_notify: a reset, not an end. */
static void test_truncation_is_not_a_close(void **state)
{
	struct fx *f = *state;
	SSL_CTX *sctx = server_ctx(f, NULL, false), *cctx = node_ctx(f, &f->n1);
	struct end c, s;
	char buf[8];
	size_t got;

	handshake(cctx, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, DSM_TLS_DONE);
	assert_int_equal(shutdown(c.fd, SHUT_RDWR), 0);
	assert_int_equal(dsm_tls_read(s.c, buf, sizeof(buf), &got), -ECONNRESET);
	/* and the connection stays dead */
	assert_int_equal(dsm_tls_read(s.c, buf, sizeof(buf), &got), -EPIPE);
	end_free(&c);
	end_free(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_other_ca_refused(void **state)
{
	struct fx *f = *state;
	SSL_CTX *sctx = server_ctx(f, NULL, false), *cctx = node_ctx(f, &f->stranger);
	struct end c, s;
	struct dsm_identity id;

	handshake(cctx, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, -EACCES);
	assert_why(&s, "local issuer");
	assert_int_equal(dsm_tls_peer_identity(s.c, &id), -EPIPE);
	assert_refused_on_read(&c);
	end_free(&c);
	end_free(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_expired_refused(void **state)
{
	struct fx *f = *state;
	SSL_CTX *sctx = server_ctx(f, NULL, false), *cctx = node_ctx(f, &f->expired);
	struct end c, s;

	handshake(cctx, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, -EACCES);
	assert_why(&s, "expired");
	assert_refused_on_read(&c);
	end_free(&c);
	end_free(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* A node serving with its node certificate is no server to another node
 * (its clientAuth-only purpose fails first, before the role is read); the
 * same plain server with the server certificate is. */
static void test_node_posing_as_server_refused(void **state)
{
	struct fx *f = *state;
	SSL_CTX *cctx = node_ctx(f, &f->n1);
	SSL_CTX *real = raw_ctx(true, TLS1_3_VERSION, &f->server), *rogue = raw_ctx(true, TLS1_3_VERSION, &f->n2);
	struct end c, s;
	struct dsm_identity id;

	handshake(cctx, false, real, true, &c, &s);
	assert_int_equal(c.rc, DSM_TLS_DONE);
	assert_int_equal(dsm_tls_peer_identity(c.c, &id), 0);
	assert_string_equal(id.name, "srv");
	end_free(&c);
	end_free(&s);

	handshake(cctx, false, rogue, true, &c, &s);
	assert_int_equal(c.rc, -EACCES);
	assert_why(&c, "purpose");
	assert_int_equal(dsm_tls_peer_identity(c.c, &id), -EPIPE);
	assert_true(s.rc < 0);
	end_free(&c);
	end_free(&s);
	SSL_CTX_free(rogue);
	SSL_CTX_free(real);
	SSL_CTX_free(cctx);
}

static void test_no_client_cert_refused(void **state)
{
	struct fx *f = *state;
	SSL_CTX *sctx = server_ctx(f, NULL, false), *cctx = node_ctx(f, NULL);
	struct end c, s;

	handshake(cctx, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, -EACCES);
	assert_why(&s, "certificate");
	assert_refused_on_read(&c);
	end_free(&c);
	end_free(&s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* An enrolment context admits a client without a certificate, marked
 * unauthenticated; a client with a bad certificate is still refused, and
 * one with a good certificate is authenticated as ever. */
static void test_enrol_mode(void **state)
{
	struct fx *f = *state;
	SSL_CTX *sctx = server_ctx(f, NULL, true);
	SSL_CTX *anon = node_ctx(f, NULL), *bad = node_ctx(f, &f->stranger), *good = node_ctx(f, &f->n1);
	struct end c, s;
	struct dsm_identity id;

	handshake(anon, false, sctx, false, &c, &s);
	assert_int_equal(c.rc, DSM_TLS_DONE);
	assert_int_equal(s.rc, DSM_TLS_DONE);
	assert_true(dsm_tls_enrol_only(s.c));
	assert_int_equal(dsm_tls_peer_identity(s.c, &id), -EACCES);
	assert_int_equal(dsm_tls_peer_identity(c.c, &id), 0);
	assert_int_equal(id.role, DSM_ROLE_SERVER);
	exchange(&c, &s, "ENROL");
	end_free(&c);
	end_free(&s);

	handshake(bad, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, -EACCES);
	assert_false(dsm_tls_enrol_only(s.c));
	assert_refused_on_read(&c);
	end_free(&c);
	end_free(&s);

	handshake(good, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, DSM_TLS_DONE);
	assert_false(dsm_tls_enrol_only(s.c));
	assert_int_equal(dsm_tls_peer_identity(s.c, &id), 0);
	assert_string_equal(id.name, "n1");
	end_free(&c);
	end_free(&s);

	SSL_CTX_free(good);
	SSL_CTX_free(bad);
	SSL_CTX_free(anon);
	SSL_CTX_free(sctx);
}

static void test_revoked_refused(void **state)
{
	struct fx *f = *state;
	struct dsm_pki_denylist *dl = dsm_pki_denylist_new();
	SSL_CTX *sctx, *c1 = node_ctx(f, &f->n1), *c2 = node_ctx(f, &f->n2);
	struct end c, s;

	assert_non_null(dl);
	sctx = server_ctx(f, dl, false);
	assert_int_equal(dsm_pki_deny_cert(dl, f->n1.cert), 0);

	handshake(c1, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, -EACCES);
	assert_why(&s, "revoked");
	assert_refused_on_read(&c);
	end_free(&c);
	end_free(&s);

	/* n2 is not denied; then its name is, then admitted again */
	handshake(c2, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, DSM_TLS_DONE);
	end_free(&c);
	end_free(&s);
	assert_int_equal(dsm_pki_deny_name(dl, "n2"), 0);
	handshake(c2, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, -EACCES);
	assert_why(&s, "revoked");
	end_free(&c);
	end_free(&s);
	assert_int_equal(dsm_pki_allow_name(dl, "n2"), 0);
	handshake(c2, false, sctx, false, &c, &s);
	assert_int_equal(s.rc, DSM_TLS_DONE);
	end_free(&c);
	end_free(&s);

	SSL_CTX_free(c2);
	SSL_CTX_free(c1);
	SSL_CTX_free(sctx);
	dsm_pki_denylist_free(dl);
}

/* A plain client with the node's certificate gets in with TLS 1.3 and is
 * refused when it can speak only TLS 1.2. */
static void test_tls12_refused(void **state)
{
	struct fx *f = *state;
	SSL_CTX *sctx = server_ctx(f, NULL, false);
	SSL_CTX *v13 = raw_ctx(false, TLS1_3_VERSION, &f->n1), *v12 = raw_ctx(false, TLS1_2_VERSION, &f->n1);
	struct end c, s;

	handshake(v13, true, sctx, false, &c, &s);
	assert_int_equal(s.rc, DSM_TLS_DONE);
	end_free(&c);
	end_free(&s);

	handshake(v12, true, sctx, false, &c, &s);
	assert_int_equal(s.rc, -EPROTO);
	assert_why(&s, "unsupported protocol");
	assert_true(c.rc < 0);
	end_free(&c);
	end_free(&s);
	SSL_CTX_free(v12);
	SSL_CTX_free(v13);
	SSL_CTX_free(sctx);
}

/* The builders refuse a certificate of the wrong role, of another CA, a CA
 * of another cluster, and a missing key. */
static void test_builders_refuse(void **state)
{
	struct fx *f = *state;
	struct dsm_tls_config cfg = { .cluster = CLUSTER, .ca = f->ca.cert };
	SSL_CTX *ctx;

	cfg.cert = f->n1.cert, cfg.key = f->n1.key;
	assert_null(dsm_tls_server_ctx(&cfg));
	ctx = dsm_tls_node_ctx(&cfg);
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
	cfg.cert = f->server.cert, cfg.key = f->server.key;
	assert_null(dsm_tls_node_ctx(&cfg));
	cfg.cert = f->stranger.cert, cfg.key = f->stranger.key;
	assert_null(dsm_tls_node_ctx(&cfg));
	cfg.cert = f->n1.cert, cfg.key = f->n2.key;
	assert_null(dsm_tls_node_ctx(&cfg));
	cfg.key = NULL;
	assert_null(dsm_tls_node_ctx(&cfg));
	cfg.key = f->n1.key;
	cfg.cluster = "c2";
	assert_null(dsm_tls_node_ctx(&cfg));
	cfg.cluster = CLUSTER;
	cfg.ca = f->n1.cert;
	assert_null(dsm_tls_node_ctx(&cfg));
	/* a server context needs its certificate */
	cfg.ca = f->ca.cert;
	cfg.cert = NULL, cfg.key = NULL;
	assert_null(dsm_tls_server_ctx(&cfg));
	/* and connections come only from contexts built here */
	struct dsm_tls_conn *c;
	SSL_CTX *plain = raw_ctx(true, TLS1_3_VERSION, NULL);

	assert_int_equal(dsm_tls_conn_new(plain, 0, &c), -EINVAL);
	SSL_CTX_free(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_server_handshake),
		cmocka_unit_test(test_truncation_is_not_a_close),
		cmocka_unit_test(test_other_ca_refused),
		cmocka_unit_test(test_expired_refused),
		cmocka_unit_test(test_node_posing_as_server_refused),
		cmocka_unit_test(test_no_client_cert_refused),
		cmocka_unit_test(test_enrol_mode),
		cmocka_unit_test(test_revoked_refused),
		cmocka_unit_test(test_tls12_refused),
		cmocka_unit_test(test_builders_refuse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
