/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The cluster PKI (docs/pki.md): a self-signed Ed25519 cluster CA, server
 * and node certificates whose only identity is one URI in the subject
 * alternative name, dsm://CLUSTER/ROLE/NAME, issuance from a node's PKCS#10
 * request (its public key only), PEM files with private keys kept 0600, and
 * a deny list of revoked serials and names for the TLS layer to consult.
 *
 * All functions returning int return 0 on success and a negative errno on
 * failure; every failure refuses (nothing is issued, loaded or accepted).
 * Times are seconds since the epoch, passed in so that tests and callers
 * decide what "now" is.
 */
#ifndef DSM_PKI_H
#define DSM_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Cluster and node names: [a-z0-9-], 1 to 63 bytes, neither first nor last
 * a '-' (a DNS label in lower case). */
#define DSM_PKI_NAME_MAX 63

/* notBefore is this much before the issue time, for peers whose clocks lag. */
#define DSM_PKI_SKEW_S 300

/* Default lifetimes. */
#define DSM_PKI_CA_LIFETIME_S     (10LL * 365 * 24 * 3600)
#define DSM_PKI_SERVER_LIFETIME_S (30LL * 24 * 3600)
#define DSM_PKI_NODE_LIFETIME_S   (24LL * 3600)

/* Longest accepted leaf lifetime (a leaf is never a long-lived credential). */
#define DSM_PKI_LEAF_LIFETIME_MAX_S (397LL * 24 * 3600)

/* Serial numbers: 128 random bits; DER allows up to 20 octets. */
#define DSM_PKI_SERIAL_MAX 20
#define DSM_PKI_SERIAL_HEX (2 * DSM_PKI_SERIAL_MAX + 1)

enum dsm_role {
	DSM_ROLE_SERVER = 1, /* the Security Server: extendedKeyUsage serverAuth */
	DSM_ROLE_NODE   = 2, /* a node's Security Manager: clientAuth */
};

struct dsm_pki_serial {
	uint8_t len;                    /* 1..DSM_PKI_SERIAL_MAX */
	uint8_t b[DSM_PKI_SERIAL_MAX];  /* big-endian magnitude, no leading zeros */
};

/* Who a certificate says its holder is, from its URI SAN only. */
struct dsm_identity {
	enum dsm_role role;
	char cluster[DSM_PKI_NAME_MAX + 1];
	char name[DSM_PKI_NAME_MAX + 1];
	struct dsm_pki_serial serial;
	time_t not_after;
};

/* The cluster CA: its certificate and, on the Security Server only, its key. */
struct dsm_pki_ca {
	X509 *cert;
	EVP_PKEY *key; /* NULL where only verification is needed */
	char cluster[DSM_PKI_NAME_MAX + 1];
};

/* ---- names and keys ----------------------------------------------------- */

/* Is s a valid cluster or node name? */
bool dsm_pki_name_valid(const char *s);

/* "server" or "node"; NULL for anything else. */
const char *dsm_pki_role_name(enum dsm_role role);

/* A new Ed25519 key pair. */
int dsm_pki_key_new(EVP_PKEY **out);

/* ---- the cluster CA ----------------------------------------------------- */

/* Create a self-signed CA for cluster, valid from now - DSM_PKI_SKEW_S to
 * now + lifetime_s, with a new key. ca is overwritten; free with
 * dsm_pki_ca_free. */
int dsm_pki_ca_create(const char *cluster, time_t now, int64_t lifetime_s,
		      struct dsm_pki_ca *ca);

/* Does cert have the CA profile (self-signed Ed25519, CA:TRUE critical,
 * pathlen 0, keyCertSign and cRLSign, subject CN = cluster)? 0 or -EINVAL. */
int dsm_pki_ca_check(X509 *cert, const char *cluster);

/* Load the CA certificate (and, if key_path is not NULL, its private key,
 * which must match) and check its profile for cluster. */
int dsm_pki_ca_load(const char *cert_path, const char *key_path, const char *cluster,
		    struct dsm_pki_ca *ca);

/* Write the CA certificate (0644) and, if key_path is not NULL, its key
 * (0600), each atomically. */
int dsm_pki_ca_save(const struct dsm_pki_ca *ca, const char *cert_path, const char *key_path);

/* Free what ca holds; ca is zeroed. */
void dsm_pki_ca_free(struct dsm_pki_ca *ca);

/* ---- issuing leaves ----------------------------------------------------- */

struct dsm_pki_issue {
	enum dsm_role role;
	const char *name;   /* the holder's name, decided by the issuer */
	time_t now;         /* issue time */
	int64_t lifetime_s; /* notAfter = now + lifetime_s */
};

/* Issue a certificate for pub (whose private half the holder keeps) under
 * ca, which must hold its key. Refused if the leaf would outlive the CA. */
int dsm_pki_issue(const struct dsm_pki_ca *ca, const struct dsm_pki_issue *req,
		  EVP_PKEY *pub, X509 **out);

/* Issue from a PKCS#10 request in DER: its self-signature must verify and
 * its key must be Ed25519; only the public key is taken, never its subject,
 * attributes or requested extensions. */
int dsm_pki_issue_csr(const struct dsm_pki_ca *ca, const struct dsm_pki_issue *req,
		      const uint8_t *der, size_t len, X509 **out);

/* A PKCS#10 request in DER for key (what an enrolling node sends); free
 * *der with OPENSSL_free. The subject is empty: the issuer names the node. */
int dsm_pki_csr_make(EVP_PKEY *key, uint8_t **der, size_t *len);

/* ---- reading certificates ----------------------------------------------- */

/* The identity of a leaf certificate of cluster: exactly one subject
 * alternative name, a URI dsm://CLUSTER/ROLE/NAME with valid names;
 * CA:FALSE; keyUsage digitalSignature; extendedKeyUsage exactly serverAuth
 * for a server, clientAuth for a node. The signature and validity dates are
 * the verifier's business (lib/tls.c), not checked here. 0 or -EINVAL. */
int dsm_pki_identity(const X509 *cert, const char *cluster, struct dsm_identity *out);

/* The certificate's serial number. */
int dsm_pki_cert_serial(const X509 *cert, struct dsm_pki_serial *out);

/* The serial in lower-case hex (no leading zeros but one for 0); from hex
 * back, refusing anything else. */
void dsm_pki_serial_hex(const struct dsm_pki_serial *s, char out[DSM_PKI_SERIAL_HEX]);
int dsm_pki_serial_parse(const char *hex, struct dsm_pki_serial *out);

/* Is it time to renew? True from two thirds of the way from notBefore to
 * notAfter on, and when the dates cannot be read (fail towards renewal). */
bool dsm_pki_renew_due(const X509 *cert, time_t now);

/* A certificate's dates as seconds since the epoch. */
int dsm_pki_cert_times(const X509 *cert, time_t *not_before, time_t *not_after);

/* ---- files and encodings ------------------------------------------------ */

/* PEM files. Writes go to a temporary file in the same directory, are
 * synced and renamed over path. Private keys are written 0600 and refused
 * at load unless they are regular files owned by this user that group and
 * other can neither read nor write; only Ed25519 keys are accepted. */
int dsm_pki_key_save(const char *path, const EVP_PKEY *key);
int dsm_pki_key_load(const char *path, EVP_PKEY **out);
int dsm_pki_cert_save(const char *path, const X509 *cert);
int dsm_pki_cert_load(const char *path, X509 **out);

/* DER for the wire; free *der with OPENSSL_free. from_der refuses trailing
 * bytes. */
int dsm_pki_cert_der(const X509 *cert, uint8_t **der, size_t *len);
int dsm_pki_cert_from_der(const uint8_t *der, size_t len, X509 **out);

/* ---- revocation --------------------------------------------------------- */

/*
 * Certificates are short-lived, so a removed node is refused by a deny
 * list rather than a CRL: the serials of its certificates (kept until they
 * would have expired anyway) and its name (kept until the name is admitted
 * again). The Security Server persists the entries and adds them back at
 * start; the TLS layer consults the list on every handshake. Not locked:
 * change it from the thread that drives the handshakes.
 */
struct dsm_pki_denylist;

struct dsm_pki_denylist *dsm_pki_denylist_new(void);
void dsm_pki_denylist_free(struct dsm_pki_denylist *dl);

/* Deny a serial until not_after (0: for ever). */
int dsm_pki_deny_serial(struct dsm_pki_denylist *dl, const struct dsm_pki_serial *s,
			time_t not_after);
/* Deny a certificate's serial until its notAfter. */
int dsm_pki_deny_cert(struct dsm_pki_denylist *dl, const X509 *cert);
/* Deny every certificate naming a node (role node only), and admit the name
 * again (0, or -ENOENT if it was not denied). */
int dsm_pki_deny_name(struct dsm_pki_denylist *dl, const char *name);
int dsm_pki_allow_name(struct dsm_pki_denylist *dl, const char *name);

/* Forget serials whose certificates have expired by now. */
void dsm_pki_denylist_prune(struct dsm_pki_denylist *dl, time_t now);

/* Is this identity (its serial, or for a node its name) denied? */
bool dsm_pki_denied(const struct dsm_pki_denylist *dl, const struct dsm_identity *id);

#endif /* DSM_PKI_H */
