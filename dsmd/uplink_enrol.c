// SPDX-License-Identifier: GPL-2.0
/*
 * Enrolment: `dsmd --join HOST:PORT --token HEX --ca FILE` on a node
 * whose server-state directory holds no node.pem. dsmd makes an Ed25519
 * key (it never leaves the node), a PKCS#10 request for it, and sends
 * both with the one-time token in ENROL over TLS without a client
 * certificate; the server answers ENROL_OK with the node's certificate,
 * the CA's and the operator's policy key, and closes.
 *
 * The token goes only to the real server: the node verifies the server's
 * certificate in full against the cluster CA given with --ca (copied from
 * the server's state directory, like the token from `dsmctl node add`),
 * and --ca-pin, when given, must be the SHA-256 of that certificate (DER),
 * so a CA file that came over an untrusted path can be checked against
 * the fingerprint the operator read on the server. There is no trust on
 * first use: a node that cannot verify its server does not enrol.
 *
 * The answer is checked before anything is written: the CA in ENROL_OK
 * must be the one the node trusted, the certificate a node identity of the
 * cluster for the name given, issued by that CA, for the key just made.
 * Then the files are written, node.pem last: a node is enrolled exactly
 * when node.pem exists, and an enrolment cut short is simply done again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dsmd.h"
#include "uplink.h"

#define ENROL_TIMEOUT_MS 15000

/* The token's bytes from its hex. */
static int parse_token(const char *hex, uint8_t *out, size_t *n)
{
	size_t len = strlen(hex);

	if (len % 2 || len / 2 < DSM_MSG_TOKEN_MIN || len / 2 > DSM_MSG_TOKEN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF",
								   hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static int check_pin(X509 *ca, const char *pin, char *why, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned n = 0;

	if (!X509_digest(ca, EVP_sha256(), md, &n))
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strlen(pin) == 2 * n && !strcasecmp(pin, hex))
		return 0;
	snprintf(why, len, "the CA certificate's SHA-256 is %s, not the --ca-pin given", hex);
	return -EKEYREJECTED;
}

/* The CA to trust and the cluster it names (its CN, as the profile has). */
static int load_ca(const struct dsmd_uplink_enrol_req *req, X509 **ca, char *cluster,
		   size_t clen, char *why, size_t len)
{
	int err = dsm_pki_cert_load(req->ca_path, ca);

	if (err) {
		snprintf(why, len, "%s: %s", req->ca_path, strerror(-err));
		return err;
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(*ca), NID_commonName, cluster,
				      (int)clen) <= 0 || dsm_pki_ca_check(*ca, cluster)) {
		snprintf(why, len, "%s is not a dsm cluster CA certificate", req->ca_path);
		return -EINVAL;
	}
	return req->ca_pin ? check_pin(*ca, req->ca_pin, why, len) : 0;
}

/* Connect, handshake, send ENROL, read the one answer. */
static int exchange(SSL_CTX *ctx, const struct dsmd_uplink_enrol_req *req, struct dsm_msg *ask,
		    struct dsm_msg *answer, char *why, size_t len)
{
	const int64_t deadline = dsmd_uplink_mono_ms() + req->timeout_ms;
	struct dsmd_uplink_conn c = { .fd = -1 };
	int fd, r;

	fd = dsmd_uplink_connect(req->server);
	if (fd < 0) {
		snprintf(why, len, "cannot connect to %s: %s", req->server, strerror(-fd));
		return fd;
	}
	r = dsmd_uplink_conn_open(&c, ctx, fd);
	if (r)
		return r;
	c.want = DSM_TLS_WANT_WRITE;
	while ((r = dsmd_uplink_connected(c.fd)) == 1 && !(r = dsmd_uplink_conn_wait(&c, deadline)))
		;
	while (!r && (r = dsmd_uplink_conn_handshake(&c)) == 1)
		r = dsmd_uplink_conn_wait(&c, deadline);
	if (!r)
		r = dsmd_uplink_conn_send(&c, ask, 0);
	while (!r && (r = dsmd_uplink_conn_flush(&c)) == 1)
		r = dsmd_uplink_conn_wait(&c, deadline);
	while (!r && (r = dsmd_uplink_conn_recv(&c, answer)) == 0)
		r = dsmd_uplink_conn_wait(&c, deadline);
	if (r < 0)
		snprintf(why, len, "enrolment at %s failed: %s%s%s", req->server, strerror(-r),
			 c.tls && *dsm_tls_error(c.tls) ? ": " : "",
			 c.tls ? dsm_tls_error(c.tls) : "");
	dsmd_uplink_conn_close(&c);
	return r < 0 ? r : 0;
}

/* ENROL_OK must be for this key, from this CA, a node of the cluster. */
static int check_answer(X509 *ca, const char *cluster, EVP_PKEY *key,
			const struct dsm_msg_enrol_ok *ok, X509 **cert, char *why, size_t len)
{
	struct dsm_identity id;
	uint8_t *der = NULL;
	size_t n = 0;
	int err, same;

	err = dsm_pki_cert_der(ca, &der, &n);
	if (err)
		return err;
	same = n == ok->ca.len && !memcmp(der, ok->ca.data, n);
	OPENSSL_free(der);
	if (!same) {
		snprintf(why, len, "the server answered with another CA than the one trusted");
		return -EKEYREJECTED;
	}
	err = dsm_pki_cert_from_der(ok->cert.data, ok->cert.len, cert);
	if (err || X509_verify(*cert, X509_get0_pubkey(ca)) != 1 ||
	    dsm_pki_identity(*cert, cluster, &id) || id.role != DSM_ROLE_NODE ||
	    strcmp(id.name, ok->name) || EVP_PKEY_eq(X509_get0_pubkey(*cert), key) != 1) {
		snprintf(why, len, "the certificate the server issued is not a node identity "
			 "of cluster %s named %s for this node's key", cluster, ok->name);
		return -EKEYREJECTED;
	}
	return 0;
}

static int write_pem(int dirfd, const char *name, int (*fmt)(void *, char **, size_t *),
		     void *obj, unsigned mode)
{
	char *pem = NULL;
	size_t n = 0;
	int err = fmt(obj, &pem, &n);

	if (!err)
		err = dsmd_uplink_write_at(dirfd, name, pem, n, mode);
	if (pem)
		OPENSSL_cleanse(pem, n);
	free(pem);
	return err;
}

static int fmt_key(void *k, char **pem, size_t *n) { return dsmd_uplink_pem_key(k, pem, n); }
static int fmt_cert(void *c, char **pem, size_t *n) { return dsmd_uplink_pem_cert(c, pem, n); }
static int fmt_pub(void *r, char **pem, size_t *n) { return dsmd_uplink_pem_pubkey(r, pem, n); }

/* Every file, node.pem last (the mark of an enrolled node). */
static int write_files(struct dsmd_uplink_state *s, X509 *ca, const char *cluster,
		       const struct dsm_msg_enrol_ok *ok, EVP_PKEY *key, X509 *cert)
{
	char line[80];
	uint8_t raw[DSM_MSG_PUBKEY_LEN];
	int n, err;

	memcpy(raw, ok->policy_key, sizeof(raw));
	err = write_pem(s->dirfd, "ca.pem", fmt_cert, ca, 0644);
	if (!err)
		err = write_pem(s->dirfd, "operator.pub", fmt_pub, raw, 0644);
	n = snprintf(line, sizeof(line), "%s\n", cluster);
	if (!err)
		err = dsmd_uplink_write_at(s->dirfd, "cluster", line, (size_t)n, 0644);
	n = snprintf(line, sizeof(line), "%u\n", ok->node_id);
	if (!err)
		err = dsmd_uplink_write_at(s->dirfd, "node-id", line, (size_t)n, 0644);
	if (!err)
		err = write_pem(s->dirfd, "node.key", fmt_key, key, 0600);
	if (!err)
		err = write_pem(s->dirfd, "node.pem", fmt_cert, cert, 0644);
	return err;
}

/* The request: the token and a CSR of a new key. */
static int make_request(const struct dsmd_uplink_enrol_req *req, EVP_PKEY **key,
			uint8_t tok[DSM_MSG_TOKEN_MAX], struct dsm_msg *m, uint8_t **csr)
{
	size_t tlen = 0, clen = 0;
	int err = parse_token(req->token_hex, tok, &tlen);

	if (!err)
		err = dsm_pki_key_new(key);
	if (!err)
		err = dsm_pki_csr_make(*key, csr, &clen);
	if (err)
		return err;
	*m = (struct dsm_msg){ .type = DSM_MSG_ENROL };
	m->enrol.token = (struct dsm_msg_bytes){ tok, tlen };
	m->enrol.csr = (struct dsm_msg_bytes){ *csr, clen };
	return 0;
}

/* What the server said, when it said no. */
static int refused(const struct dsm_msg *m, const char *server, char *why, size_t len)
{
	if (m->type != DSM_MSG_ERROR) {
		snprintf(why, len, "%s answered ENROL with %s", server, dsm_msg_type_name(m->type));
		return -EPROTO;
	}
	snprintf(why, len, "%s refused the enrolment: %s", server,
		 *m->error.text ? m->error.text :
		 m->error.code == DSM_ERR_BAD_TOKEN ? "the token is unknown, used or expired" :
		 m->error.code == DSM_ERR_BAD_CSR ? "the request was refused" : "error");
	return m->error.code == DSM_ERR_BAD_TOKEN ? -EACCES : -EPROTO;
}

static int enrol_with(struct dsmd_uplink_state *s, const struct dsmd_uplink_enrol_req *req,
		      X509 *ca, const char *cluster, char *why, size_t len)
{
	struct dsm_tls_config cfg = { .cluster = cluster, .ca = ca };
	struct dsm_msg ask, answer = { 0 };
	uint8_t tok[DSM_MSG_TOKEN_MAX];
	EVP_PKEY *key = NULL;
	uint8_t *csr = NULL;
	X509 *cert = NULL;
	SSL_CTX *ctx;
	int err;

	ctx = dsm_tls_node_ctx(&cfg);
	if (!ctx)
		return -EIO;
	err = make_request(req, &key, tok, &ask, &csr);
	if (err)
		snprintf(why, len, "the request could not be made: %s", strerror(-err));
	if (!err)
		err = exchange(ctx, req, &ask, &answer, why, len);
	if (!err && answer.type != DSM_MSG_ENROL_OK)
		err = refused(&answer, req->server, why, len);
	if (!err)
		err = check_answer(ca, cluster, key, &answer.enrol_ok, &cert, why, len);
	if (!err) {
		err = write_files(s, ca, cluster, &answer.enrol_ok, key, cert);
		if (err)
			snprintf(why, len, "%s: %s", s->dir, strerror(-err));
		else
			snprintf(why, len, "enrolled at %s as node %s (%u) of cluster %s",
				 req->server, answer.enrol_ok.name, answer.enrol_ok.node_id, cluster);
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	dsm_msg_free(&answer);
	OPENSSL_free(csr);
	X509_free(cert);
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
	return err;
}

int dsmd_uplink_enrol(struct dsmd_uplink_state *s, const struct dsmd_uplink_enrol_req *req,
		      char *why, size_t len)
{
	char cluster[DSM_PKI_NAME_MAX + 1] = "";
	X509 *ca = NULL;
	int err;

	err = load_ca(req, &ca, cluster, sizeof(cluster), why, len);
	if (!err)
		err = enrol_with(s, req, ca, cluster, why, len);
	X509_free(ca);
	return err;
}
