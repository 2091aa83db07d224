// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy freshness statements: layout in docs/server.md ("Freshness").
 * The reader looks at nothing but the lengths and the format before the
 * embedded certificate is checked against the CA and the signature
 * verifies with its key; every field it reports is covered by the
 * signature. All cryptography is OpenSSL's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "chan_msg.h"
#include "le.h"
#include "policy_fresh.h"

static const uint8_t magic[8] = { 'D', 'S', 'M', 'F', 'R', 'S', 'H', '\n' };

enum {
	OFF_MAGIC       = 0,
	OFF_FORMAT      = 8,
	OFF_FLAGS       = 10,
	OFF_VERSION     = 12,
	OFF_DIGEST      = 20,
	OFF_ISSUED      = OFF_DIGEST + DSM_FRESH_DIGEST_LEN,
	OFF_EXPIRES     = OFF_ISSUED + 8,
	OFF_CLUSTER_LEN = OFF_EXPIRES + 8,
	OFF_CERT_LEN    = OFF_CLUSTER_LEN + 1,
	OFF_CLUSTER     = OFF_CERT_LEN + 2,
};

_Static_assert(OFF_ISSUED == 52 && OFF_EXPIRES == 60 && OFF_CLUSTER_LEN == 68 &&
	       OFF_CERT_LEN == 69, "statement layout as in docs/server.md");
_Static_assert(OFF_CLUSTER == DSM_FRESH_HDR_LEN, "fixed part length");
_Static_assert(DSM_FRESH_MAX_SIZE == DSM_MSG_FRESH_MAX, "a statement fits a FRESH");
_Static_assert(DSM_FRESH_CERT_MAX <= UINT16_MAX && DSM_PKI_NAME_MAX <= UINT8_MAX, "lengths fit");

static int ossl_fail(int err)
{
	ERR_clear_error();
	return err;
}

int dsm_fresh_digest(const uint8_t *bundle, size_t len, uint8_t out[DSM_FRESH_DIGEST_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(bundle, len, out, &n, EVP_sha256(), NULL) || n != DSM_FRESH_DIGEST_LEN)
		return ossl_fail(-EIO);
	return 0;
}

/* The signed message: the domain string with its NUL, then the body. */
static uint8_t *signed_message(const uint8_t *body, size_t len, size_t *msglen)
{
	uint8_t *m = malloc(DSM_FRESH_DOMAIN_LEN + len);

	if (!m)
		return NULL;
	memcpy(m, DSM_FRESH_DOMAIN, DSM_FRESH_DOMAIN_LEN);
	memcpy(m + DSM_FRESH_DOMAIN_LEN, body, len);
	*msglen = DSM_FRESH_DOMAIN_LEN + len;
	return m;
}

static int sign_body(EVP_PKEY *key, const uint8_t *body, size_t len,
		     uint8_t sig[DSM_FRESH_SIG_LEN])
{
	size_t msglen = 0, siglen = DSM_FRESH_SIG_LEN;
	uint8_t *msg = signed_message(body, len, &msglen);
	EVP_MD_CTX *ctx;
	int r = 0;

	if (!msg)
		return -ENOMEM;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, msglen) != 1 || siglen != DSM_FRESH_SIG_LEN)
		r = ossl_fail(ctx ? -EIO : -ENOMEM);
	EVP_MD_CTX_free(ctx);
	free(msg);
	return r;
}

static int verify_body(EVP_PKEY *key, const uint8_t *body, size_t len,
		       const uint8_t sig[DSM_FRESH_SIG_LEN])
{
	size_t msglen = 0;
	uint8_t *msg = signed_message(body, len, &msglen);
	EVP_MD_CTX *ctx;
	int r;

	if (!msg)
		return -ENOMEM;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
		r = ossl_fail(ctx ? -EIO : -ENOMEM);
	else if (EVP_DigestVerify(ctx, sig, DSM_FRESH_SIG_LEN, msg, msglen) != 1)
		r = ossl_fail(-EKEYREJECTED); /* any answer but yes refuses */
	else
		r = 0;
	EVP_MD_CTX_free(ctx);
	free(msg);
	return r;
}

/* cert is a server identity of cluster, valid over [issued_ms, expires_ms];
 * its name into server (may be NULL). */
static bool server_cert_ok(const X509 *cert, const char *cluster, uint64_t issued_ms,
			   uint64_t expires_ms, char *server)
{
	struct dsm_identity id;
	time_t nb, na;

	if (dsm_pki_identity(cert, cluster, &id) || id.role != DSM_ROLE_SERVER ||
	    dsm_pki_cert_times(cert, &nb, &na) || nb < 0 || na < 0) {
		ERR_clear_error();
		return false;
	}
	if (issued_ms / 1000 < (uint64_t)nb || expires_ms / 1000 > (uint64_t)na)
		return false;
	if (server)
		memcpy(server, id.name, sizeof(id.name));
	return true;
}

/* ---- writing ------------------------------------------------------------ */

int dsm_fresh_write(EVP_PKEY *key, X509 *cert, const char *cluster, uint64_t version,
		    const uint8_t digest[DSM_FRESH_DIGEST_LEN], uint64_t issued_ms,
		    uint64_t expires_ms, uint8_t **out, size_t *out_len)
{
	unsigned char *der = NULL;
	size_t clen = strlen(cluster), total;
	int dlen, r;
	uint8_t *e;

	*out = NULL;
	*out_len = 0;
	if (!dsm_pki_name_valid(cluster) || !version || expires_ms <= issued_ms ||
	    EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1 ||
	    !server_cert_ok(cert, cluster, issued_ms, expires_ms, NULL))
		return ossl_fail(-EINVAL);
	dlen = i2d_X509(cert, &der);
	if (dlen <= 0)
		return ossl_fail(-EIO);
	if (dlen > DSM_FRESH_CERT_MAX) {
		OPENSSL_free(der);
		return -EMSGSIZE;
	}
	total = DSM_FRESH_HDR_LEN + clen + (size_t)dlen + DSM_FRESH_SIG_LEN;
	e = malloc(total);
	if (!e) {
		OPENSSL_free(der);
		return -ENOMEM;
	}
	memcpy(e + OFF_MAGIC, magic, sizeof(magic));
	dsm_put_le(e + OFF_FORMAT, DSM_FRESH_FORMAT, 2);
	dsm_put_le(e + OFF_FLAGS, 0, 2);
	dsm_put_le(e + OFF_VERSION, version, 8);
	memcpy(e + OFF_DIGEST, digest, DSM_FRESH_DIGEST_LEN);
	dsm_put_le(e + OFF_ISSUED, issued_ms, 8);
	dsm_put_le(e + OFF_EXPIRES, expires_ms, 8);
	e[OFF_CLUSTER_LEN] = (uint8_t)clen;
	dsm_put_le(e + OFF_CERT_LEN, (uint64_t)dlen, 2);
	memcpy(e + OFF_CLUSTER, cluster, clen);
	memcpy(e + OFF_CLUSTER + clen, der, (size_t)dlen);
	OPENSSL_free(der);
	r = sign_body(key, e, total - DSM_FRESH_SIG_LEN, e + total - DSM_FRESH_SIG_LEN);
	if (r) {
		free(e);
		return r;
	}
	*out = e;
	*out_len = total;
	return 0;
}

/* ---- verifying ---------------------------------------------------------- */

int dsm_fresh_verify(const uint8_t *buf, size_t len, X509 *ca, const char *cluster,
		     struct dsm_fresh_info *info)
{
	struct dsm_fresh_info local;
	const unsigned char *p;
	const uint8_t *cl;
	size_t clen, dlen;
	X509 *cert;
	int r;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	/* Step 1, untrusted: magic, format, flags, lengths that add up. */
	if (len < DSM_FRESH_HDR_LEN + DSM_FRESH_SIG_LEN || memcmp(buf, magic, sizeof(magic)))
		return -EBADMSG;
	if (dsm_get_le(buf + OFF_FORMAT, 2) != DSM_FRESH_FORMAT || dsm_get_le(buf + OFF_FLAGS, 2))
		return -EPROTONOSUPPORT;
	clen = buf[OFF_CLUSTER_LEN];
	dlen = (size_t)dsm_get_le(buf + OFF_CERT_LEN, 2);
	if (!clen || clen > DSM_PKI_NAME_MAX || !dlen || dlen > DSM_FRESH_CERT_MAX ||
	    len != DSM_FRESH_HDR_LEN + clen + dlen + DSM_FRESH_SIG_LEN)
		return -EBADMSG;
	cl = buf + OFF_CLUSTER;
	/* the name is its clen bytes, no NUL among them: "fz\0\0a`" is not
	 * "fz", whatever a C string of it says */
	if (memchr(cl, 0, clen))
		return -EBADMSG;
	/* Step 2: the certificate, exactly its bytes, issued by the CA. */
	p = cl + clen;
	cert = d2i_X509(NULL, &p, (long)dlen);
	if (!cert || p != cl + clen + dlen) {
		X509_free(cert);
		return ossl_fail(-EBADMSG);
	}
	if (X509_check_issued(ca, cert) != X509_V_OK ||
	    X509_verify(cert, X509_get0_pubkey(ca)) != 1 ||
	    !server_cert_ok(cert, cluster, dsm_get_le(buf + OFF_ISSUED, 8),
			    dsm_get_le(buf + OFF_EXPIRES, 8), info->server)) {
		/* (a statement of another cluster has a certificate of another
		 * cluster: refused here, before anything is reported) */
		X509_free(cert);
		memset(info, 0, sizeof(*info));
		return ossl_fail(-EKEYREJECTED);
	}
	/* Step 3: the signature, with the certificate's key. */
	r = verify_body(X509_get0_pubkey(cert), buf, len - DSM_FRESH_SIG_LEN,
			buf + len - DSM_FRESH_SIG_LEN);
	X509_free(cert);
	if (r) {
		memset(info, 0, sizeof(*info));
		return r;
	}
	/* Step 4, trusted: the fields. */
	memcpy(info->cluster, cl, clen);
	info->cluster[clen] = '\0';
	info->version = dsm_get_le(buf + OFF_VERSION, 8);
	memcpy(info->digest, buf + OFF_DIGEST, DSM_FRESH_DIGEST_LEN);
	info->issued_ms = dsm_get_le(buf + OFF_ISSUED, 8);
	info->expires_ms = dsm_get_le(buf + OFF_EXPIRES, 8);
	if (!info->version || info->expires_ms <= info->issued_ms ||
	    !dsm_pki_name_valid(info->cluster))
		return -EBADMSG;
	if (strcmp(info->cluster, cluster))
		return -EXDEV;
	return 0;
}

int dsm_fresh_check_time(const struct dsm_fresh_info *info, uint64_t now_ms, uint64_t skew_ms)
{
	if (now_ms >= info->expires_ms)
		return -ETIME;
	if (info->issued_ms > now_ms && info->issued_ms - now_ms > skew_ms)
		return -ERANGE;
	return 0;
}

int dsm_fresh_match(const struct dsm_fresh_info *info, uint64_t version, const uint8_t *bundle,
		    size_t len)
{
	uint8_t digest[DSM_FRESH_DIGEST_LEN];
	int r;

	if (info->version > version)
		return -EAGAIN;
	if (info->version < version)
		return -ESTALE;
	r = dsm_fresh_digest(bundle, len, digest);
	if (r)
		return r;
	return memcmp(digest, info->digest, sizeof(digest)) ? -EILSEQ : 0;
}

const char *dsm_fresh_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EBADMSG:
		return "malformed freshness statement";
	case -EPROTONOSUPPORT:
		return "unsupported freshness statement format";
	case -EKEYREJECTED:
		return "not signed by a server of this cluster's CA";
	case -EXDEV:
		return "for another cluster";
	case -ETIME:
		return "expired";
	case -ERANGE:
		return "issued in the future";
	case -EAGAIN:
		return "about a newer policy version than the one in force";
	case -ESTALE:
		return "about an older policy version than the one in force";
	case -EILSEQ:
		return "about another bundle of the version in force";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
