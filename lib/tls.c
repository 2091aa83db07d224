// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Mutual TLS 1.3 over a connected socket, for an event loop. The peer is
 * checked twice: during the handshake, by the verify callback (chain to the
 * cluster CA, then the dsm identity and the deny list at depth 0, so that a
 * refused peer gets an alert), and once the handshake completed, from the
 * certificate OpenSSL kept, before the session is handed out. Settings and
 * their reasons are in docs/pki.md.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define CIPHERSUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define GROUPS       "X25519:P-256"
#define SIGALGS      "ed25519"

/* What a context was built for, kept in its ex_data. */
struct ctx_params {
	char cluster[DSM_PKI_NAME_MAX + 1];
	bool server;
	bool enrol;
	enum dsm_role peer_role;
	const struct dsm_pki_denylist *deny;
};

enum conn_state {
	CONN_HANDSHAKE, /* not yet complete */
	CONN_AUTH,      /* complete, the peer's identity is known */
	CONN_ENROL,     /* complete, a client without a certificate: enrolment only */
	CONN_DEAD,      /* failed: every call refuses */
};

struct dsm_tls_conn {
	SSL *ssl;
	const struct ctx_params *p;
	enum conn_state state;
	struct dsm_identity peer;
	char why[192];
};

/* ---- context parameters ------------------------------------------------- */

static int params_idx = -1;
static pthread_once_t params_once = PTHREAD_ONCE_INIT;

static void params_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void params_idx_init(void)
{
	params_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, params_free);
}

static const struct ctx_params *params_of(const SSL_CTX *ctx)
{
	if (pthread_once(&params_once, params_idx_init) || params_idx < 0 || !ctx)
		return NULL;
	return SSL_CTX_get_ex_data(ctx, params_idx);
}

static int params_attach(SSL_CTX *ctx, const struct dsm_tls_config *cfg, bool server)
{
	struct ctx_params *p;

	if (pthread_once(&params_once, params_idx_init) || params_idx < 0)
		return -EIO;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	strcpy(p->cluster, cfg->cluster);
	p->server = server;
	p->enrol = server && cfg->enrol;
	p->peer_role = server ? DSM_ROLE_NODE : DSM_ROLE_SERVER;
	p->deny = server ? cfg->deny : NULL;
	if (!SSL_CTX_set_ex_data(ctx, params_idx, p)) {
		free(p);
		return -EIO;
	}
	return 0;
}

/* ---- verification ------------------------------------------------------- */

static void set_why(struct dsm_tls_conn *c, const char *fmt, const char *arg)
{
	if (c && !c->why[0])
		snprintf(c->why, sizeof(c->why), fmt, arg);
}

/* Is cert an acceptable peer for this context: the expected role of the
 * cluster, not denied? On refusal, c->why says why. */
static bool peer_acceptable(struct dsm_tls_conn *c, const X509 *cert, struct dsm_identity *id)
{
	const struct ctx_params *p = c->p;

	if (dsm_pki_identity(cert, p->cluster, id)) {
		set_why(c, "peer certificate: no valid dsm identity of cluster %s", p->cluster);
		return false;
	}
	if (id->role != p->peer_role) {
		set_why(c, "peer certificate: a %s identity where a different role was expected",
			dsm_pki_role_name(id->role));
		return false;
	}
	if (dsm_pki_denied(p->deny, id)) {
		set_why(c, "peer certificate: revoked (%s is denied)", id->name);
		return false;
	}
	return true;
}

static int verify_peer(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct dsm_tls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	struct dsm_identity id;

	if (!c || !c->p)
		return 0;
	if (!ok) {
		set_why(c, "peer certificate: %s",
			X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(store) != 0)
		return 1;
	if (!peer_acceptable(c, X509_STORE_CTX_get_current_cert(store), &id)) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/* ---- contexts ----------------------------------------------------------- */

static int set_protocol(SSL_CTX *ctx)
{
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, CIPHERSUITES) ||
	    !SSL_CTX_set1_groups_list(ctx, GROUPS) ||
	    !SSL_CTX_set1_sigalgs_list(ctx, SIGALGS) ||
	    !SSL_CTX_set1_client_sigalgs_list(ctx, SIGALGS))
		return -EIO;
	/* no resumption (every session is verified in full, against the deny
	 * list of the moment), no early data, no compression */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!SSL_CTX_set_num_tickets(ctx, 0) || !SSL_CTX_set_max_early_data(ctx, 0) ||
	    !SSL_CTX_set_recv_max_early_data(ctx, 0))
		return -EIO;
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

/* The cluster CA as the only trust anchor: a store of its own, never the
 * system's. */
static int set_trust(SSL_CTX *ctx, const struct dsm_tls_config *cfg, bool server)
{
	X509_STORE *st = X509_STORE_new();
	X509_VERIFY_PARAM *vp;

	if (!st || !X509_STORE_add_cert(st, cfg->ca)) {
		X509_STORE_free(st);
		return -EIO;
	}
	SSL_CTX_set_cert_store(ctx, st);
	vp = SSL_CTX_get0_param(ctx);
	if (!X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT) ||
	    !SSL_CTX_set_purpose(ctx, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER))
		return -EIO;
	SSL_CTX_set_verify_depth(ctx, 1);
	SSL_CTX_set_verify(ctx, server && cfg->enrol ? SSL_VERIFY_PEER :
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
	return 0;
}

/* This end's certificate: the role of the context, of the cluster, issued
 * by the cluster CA, with its key. */
static int set_own_cert(SSL_CTX *ctx, const struct dsm_tls_config *cfg, bool server)
{
	const enum dsm_role role = server ? DSM_ROLE_SERVER : DSM_ROLE_NODE;
	struct dsm_identity id;

	if (!cfg->cert && !server && !cfg->key)
		return 0; /* a node that has yet to enrol */
	if (!cfg->cert || !cfg->key)
		return -EINVAL;
	if (dsm_pki_identity(cfg->cert, cfg->cluster, &id) || id.role != role)
		return -EINVAL;
	if (X509_verify(cfg->cert, X509_get0_pubkey(cfg->ca)) != 1)
		return -EINVAL;
	if (SSL_CTX_use_certificate(ctx, cfg->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, cfg->key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		return -EINVAL;
	return 0;
}

static SSL_CTX *ctx_build(const struct dsm_tls_config *cfg, bool server)
{
	SSL_CTX *ctx;

	if (!cfg || !cfg->ca || dsm_pki_ca_check(cfg->ca, cfg->cluster))
		return NULL;
	if (!server && cfg->enrol)
		return NULL;
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx || set_protocol(ctx) || set_trust(ctx, cfg, server) ||
	    set_own_cert(ctx, cfg, server) || params_attach(ctx, cfg, server)) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	return ctx;
}

SSL_CTX *dsm_tls_server_ctx(const struct dsm_tls_config *cfg)
{
	return ctx_build(cfg, true);
}

SSL_CTX *dsm_tls_node_ctx(const struct dsm_tls_config *cfg)
{
	return ctx_build(cfg, false);
}

/* ---- connections -------------------------------------------------------- */

int dsm_tls_conn_new(SSL_CTX *ctx, int fd, struct dsm_tls_conn **out)
{
	const struct ctx_params *p = params_of(ctx);
	struct dsm_tls_conn *c;

	*out = NULL;
	if (!p || fd < 0)
		return -EINVAL; /* only contexts built here */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = p;
	c->state = CONN_HANDSHAKE;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd) || !SSL_set_app_data(c->ssl, c)) {
		ERR_clear_error();
		dsm_tls_conn_free(c);
		return -ENOMEM;
	}
	if (p->server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	*out = c;
	return 0;
}

void dsm_tls_conn_free(struct dsm_tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

static int fail(struct dsm_tls_conn *c, int err)
{
	c->state = CONN_DEAD;
	memset(&c->peer, 0, sizeof(c->peer));
	ERR_clear_error();
	return err;
}

/* A failed step of OpenSSL's as a status or a negative errno. */
static int step_failed(struct dsm_tls_conn *c, int ret)
{
	unsigned long e;
	long vr;

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return DSM_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return DSM_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return DSM_TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		set_why(c, "connection: %s", errno ? strerror(errno) : "closed by the peer");
		return fail(c, -ECONNRESET);
	case SSL_ERROR_SSL:
		break;
	default:
		set_why(c, "%s", "TLS: unexpected state");
		return fail(c, -EPROTO);
	}
	e = ERR_peek_error();
	if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		set_why(c, "%s", "connection: closed by the peer without close_notify");
		return fail(c, -ECONNRESET);
	}
	vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK) {
		set_why(c, "peer certificate: %s", X509_verify_cert_error_string(vr));
		return fail(c, -EACCES);
	}
	set_why(c, "TLS: %s", ERR_reason_error_string(e) ?: "handshake failed");
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		return fail(c, -EACCES);
	return fail(c, -EPROTO);
}

/* The handshake completed: admit the peer, or refuse it. */
static int handshake_done(struct dsm_tls_conn *c)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);

	if (SSL_version(c->ssl) != TLS1_3_VERSION) {
		set_why(c, "%s", "TLS: not TLS 1.3");
		return fail(c, -EPROTO);
	}
	if (!peer) {
		if (c->p->server && c->p->enrol) {
			c->state = CONN_ENROL;
			return DSM_TLS_DONE;
		}
		set_why(c, "%s", "peer certificate: none");
		return fail(c, -EACCES);
	}
	if (SSL_get_verify_result(c->ssl) != X509_V_OK || !peer_acceptable(c, peer, &c->peer)) {
		set_why(c, "%s", "peer certificate: not verified");
		return fail(c, -EACCES);
	}
	c->state = CONN_AUTH;
	return DSM_TLS_DONE;
}

static int refuse_if_dead(const struct dsm_tls_conn *c)
{
	if (!c)
		return -EINVAL;
	return c->state == CONN_DEAD ? -EPIPE : 0;
}

int dsm_tls_handshake(struct dsm_tls_conn *c)
{
	int ret = refuse_if_dead(c);

	if (ret)
		return ret;
	if (c->state != CONN_HANDSHAKE)
		return DSM_TLS_DONE;
	ERR_clear_error();
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1)
		return handshake_done(c);
	ret = step_failed(c, ret);
	if (ret == DSM_TLS_CLOSED) {
		set_why(c, "%s", "connection: closed during the handshake");
		return fail(c, -ECONNRESET);
	}
	return ret;
}

/* Reading and writing need a completed handshake. */
static int refuse_unless_established(const struct dsm_tls_conn *c)
{
	int err = refuse_if_dead(c);

	if (err)
		return err;
	return c->state == CONN_AUTH || c->state == CONN_ENROL ? 0 : -ENOTCONN;
}

int dsm_tls_read(struct dsm_tls_conn *c, void *buf, size_t len, size_t *got)
{
	int err = refuse_unless_established(c);

	*got = 0;
	if (err)
		return err;
	if (!len)
		return -EINVAL;
	ERR_clear_error();
	if (SSL_read_ex(c->ssl, buf, len, got) == 1)
		return DSM_TLS_DONE;
	*got = 0;
	return step_failed(c, 0);
}

int dsm_tls_write(struct dsm_tls_conn *c, const void *buf, size_t len, size_t *put)
{
	int err = refuse_unless_established(c), ret;

	*put = 0;
	if (err)
		return err;
	if (!len)
		return -EINVAL;
	ERR_clear_error();
	if (SSL_write_ex(c->ssl, buf, len, put) == 1)
		return DSM_TLS_DONE;
	*put = 0;
	ret = step_failed(c, 0);
	return ret == DSM_TLS_CLOSED ? fail(c, -EPIPE) : ret;
}

int dsm_tls_shutdown(struct dsm_tls_conn *c)
{
	int ret = refuse_unless_established(c);

	if (ret)
		return ret;
	ERR_clear_error();
	ret = SSL_shutdown(c->ssl);
	if (ret >= 0)
		return DSM_TLS_DONE; /* close_notify sent; the peer's is not awaited */
	ret = step_failed(c, ret);
	return ret == DSM_TLS_CLOSED ? DSM_TLS_DONE : ret;
}

int dsm_tls_peer_identity(const struct dsm_tls_conn *c, struct dsm_identity *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return -EINVAL;
	switch (c->state) {
	case CONN_AUTH:
		*out = c->peer;
		return 0;
	case CONN_ENROL:
		return -EACCES;
	case CONN_HANDSHAKE:
		return -EAGAIN;
	case CONN_DEAD:
		break;
	}
	return -EPIPE;
}

bool dsm_tls_enrol_only(const struct dsm_tls_conn *c)
{
	return c && c->state == CONN_ENROL;
}

const char *dsm_tls_error(const struct dsm_tls_conn *c)
{
	return c ? c->why : "";
}
