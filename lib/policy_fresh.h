/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Policy freshness statements (docs/server.md, "Freshness"): the Security
 * Server's signed word that a given signed bundle is still the current
 * policy of the cluster, valid from issued_at until expires_at. The
 * statement carries the server's certificate and is signed with its
 * Ed25519 key, so a node verifies it against the cluster CA it pinned at
 * enrolment, whatever channel brought it and long after (at boot, from
 * disk). It defends against a freeze: a node kept on an old policy, by a
 * server cut off, a stale standby or an attacker withholding newer
 * versions, sees its statement expire and raises an alarm while it keeps
 * enforcing its last good bundle. The operator's key, which signs the
 * bundles themselves, stays offline: it is never needed for freshness.
 *
 * Functions returning int return 0 or a negative errno.
 */
#ifndef DSM_POLICY_FRESH_H
#define DSM_POLICY_FRESH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki.h"

#define DSM_FRESH_FORMAT     1
#define DSM_FRESH_DIGEST_LEN 32    /* SHA-256 of the signed bundle, as sent */
#define DSM_FRESH_SIG_LEN    64
#define DSM_FRESH_CERT_MAX   16384 /* the server certificate, DER */
#define DSM_FRESH_HDR_LEN    71    /* fixed part, before the cluster name */
#define DSM_FRESH_MAX_SIZE   (DSM_FRESH_HDR_LEN + DSM_PKI_NAME_MAX + DSM_FRESH_CERT_MAX + \
			      DSM_FRESH_SIG_LEN)
/* How far in the future issued_at may be (clocks that disagree). */
#define DSM_FRESH_SKEW_MS    ((uint64_t)DSM_PKI_SKEW_S * 1000)

/* The signature covers this string (its NUL included), then every byte of
 * the statement before the signature. TLS 1.3 signatures start with 64
 * spaces, so the server key's two uses cannot be taken for each other. */
#define DSM_FRESH_DOMAIN     "dsm policy freshness v1"
#define DSM_FRESH_DOMAIN_LEN (sizeof(DSM_FRESH_DOMAIN))

/* What a verified statement says. */
struct dsm_fresh_info {
	char cluster[DSM_PKI_NAME_MAX + 1];
	char server[DSM_PKI_NAME_MAX + 1];  /* the signer, from its certificate */
	uint64_t version;                   /* of the policy the statement is about */
	uint8_t digest[DSM_FRESH_DIGEST_LEN]; /* SHA-256 of its signed bundle */
	uint64_t issued_ms, expires_ms;     /* Unix time in milliseconds */
};

/* SHA-256 of a signed bundle (the bytes of policy.signed, of POLICY). */
int dsm_fresh_digest(const uint8_t *bundle, size_t len, uint8_t out[DSM_FRESH_DIGEST_LEN]);

/*
 * A new statement into a malloc()ed buffer, signed with key, whose
 * certificate cert is embedded. -EINVAL when key is not cert's, cert is not
 * a server identity of cluster, version is 0, expires_ms <= issued_ms, or
 * the certificate is not valid from issued_ms to expires_ms (the reader
 * refuses exactly that); -EMSGSIZE for a certificate over
 * DSM_FRESH_CERT_MAX.
 */
int dsm_fresh_write(EVP_PKEY *key, X509 *cert, const char *cluster, uint64_t version,
		    const uint8_t digest[DSM_FRESH_DIGEST_LEN], uint64_t issued_ms,
		    uint64_t expires_ms, uint8_t **out, size_t *out_len);

/*
 * Verify a statement's form and signature for this node: its certificate
 * issued by ca (the pinned cluster CA), a server identity of cluster, valid
 * at issued_ms and until expires_ms; the signature by that certificate's
 * key. No clock is looked at (dsm_fresh_check_time). The first failure,
 * in this order, is the result:
 *
 *   -EBADMSG          malformed: truncated, trailing bytes, lengths that do
 *                     not add up, a certificate that does not parse; after
 *                     the signature: version 0, expires_ms <= issued_ms
 *   -EPROTONOSUPPORT  another format, or flags this reader does not know
 *   -EKEYREJECTED     the certificate is not the CA's, not a server of the
 *                     cluster, not valid over the statement's period, or
 *                     the signature does not verify
 *   -EXDEV            the statement names another cluster
 *   -ENOMEM, -EIO     out of memory, an OpenSSL failure
 *
 * info (may be NULL) is zeroed first and filled only when the signature
 * verifies.
 */
int dsm_fresh_verify(const uint8_t *buf, size_t len, X509 *ca, const char *cluster,
		     struct dsm_fresh_info *info);

/* A verified statement against the clock: -ETIME expired (now_ms >=
 * expires_ms), -ERANGE issued more than skew_ms in the future, else 0. */
int dsm_fresh_check_time(const struct dsm_fresh_info *info, uint64_t now_ms, uint64_t skew_ms);

/* A verified statement against the bundle in force (its version and its
 * signed bytes): 0 it is about that bundle; -EAGAIN about a newer version
 * (this node is behind); -ESTALE about an older one; -EILSEQ about the
 * same version with other bytes. */
int dsm_fresh_match(const struct dsm_fresh_info *info, uint64_t version, const uint8_t *bundle,
		    size_t len);

/* What a result of the calls above means, in a few words. */
const char *dsm_fresh_strerror(int err);

#endif /* DSM_POLICY_FRESH_H */
