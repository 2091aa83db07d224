// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cluster PKI: the CA, leaf issuance (from a key or a PKCS#10 request),
 * the identity a leaf carries, PEM files and the deny list. The certificate
 * profile is in docs/pki.md; every reader here checks it in full and
 * refuses anything else.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "file.h"
#include "pki.h"

#define URI_SCHEME    "dsm://"
#define URI_MAX       (sizeof(URI_SCHEME) + 3 * (DSM_PKI_NAME_MAX + 1))
#define FILE_MAX      (64 * 1024)
#define CSR_MAX       (16 * 1024)
#define SUBJECT_ORG   "dsm"
#define CA_UNIT       "cluster CA"

/* keyUsage bits (RFC 5280, 4.2.1.3) */
#define KU_BIT_DIGITAL_SIGNATURE 0
#define KU_BIT_KEY_CERT_SIGN     5
#define KU_BIT_CRL_SIGN          6

/* ---- names and keys ----------------------------------------------------- */

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool dsm_pki_name_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, DSM_PKI_NAME_MAX + 1);
	if (n == 0 || n > DSM_PKI_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(s[i]))
			return false;
	return true;
}

const char *dsm_pki_role_name(enum dsm_role role)
{
	switch (role) {
	case DSM_ROLE_SERVER:
		return "server";
	case DSM_ROLE_NODE:
		return "node";
	}
	return NULL;
}

static bool is_ed25519(const EVP_PKEY *k)
{
	return k && EVP_PKEY_is_a(k, "ED25519");
}

int dsm_pki_key_new(EVP_PKEY **out)
{
	*out = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!*out) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

/* ---- building certificates ---------------------------------------------- */

static int set_times(X509 *x, time_t now, int64_t lifetime_s)
{
	if (lifetime_s <= 0 || now < DSM_PKI_SKEW_S)
		return -EINVAL;
	if (!ASN1_TIME_set(X509_getm_notBefore(x), now - DSM_PKI_SKEW_S) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + lifetime_s)))
		return -EIO;
	return 0;
}

/* 128 random bits, never zero. */
static int set_random_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int err = -EIO;

	if (!bn)
		return -ENOMEM;
	do {
		if (!BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
			goto out;
	} while (BN_is_zero(bn));
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		err = 0;
out:
	BN_free(bn);
	return err;
}

static X509_NAME *make_name(const char *unit, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (!n)
		return NULL;
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)SUBJECT_ORG, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)unit, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* An extension from its configuration text; issuer is cert when self-signed. */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -EIO;
	ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -EIO;
}

static int format_uri(char *buf, size_t len, const char *cluster, enum dsm_role role,
		      const char *name)
{
	const char *r = dsm_pki_role_name(role);
	int n;

	if (!r)
		return -EINVAL;
	n = snprintf(buf, len, URI_SCHEME "%s/%s/%s", cluster, r, name);
	return n > 0 && (size_t)n < len ? n : -EINVAL;
}

/* subjectAltName: the one URI, built as a GeneralName (no text parsing). */
static int add_identity_uri(X509 *cert, const char *cluster, enum dsm_role role,
			    const char *name)
{
	char uri[URI_MAX];
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	int n = format_uri(uri, sizeof(uri), cluster, role, name), err = -EIO;

	if (n < 0) {
		err = n;
		goto out;
	}
	if (!gens || !gn || !ia5 || !ASN1_STRING_set(ia5, uri, n))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(gens, gn))
		goto out;
	gn = NULL;
	if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND) == 1)
		err = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return err;
}

static int sign_cert(X509 *cert, EVP_PKEY *key)
{
	return X509_sign(cert, key, NULL) > 0 ? 0 : -EIO;
}

/* ---- reading certificates: helpers -------------------------------------- */

static int asn1_time_to_epoch(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -EINVAL;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -EINVAL : 0;
}

int dsm_pki_cert_times(const X509 *cert, time_t *not_before, time_t *not_after)
{
	if (asn1_time_to_epoch(X509_get0_notBefore(cert), not_before) ||
	    asn1_time_to_epoch(X509_get0_notAfter(cert), not_after))
		return -EINVAL;
	return 0;
}

/* The one extension of this type; NULL if absent, repeated or malformed. */
static void *one_ext(const X509 *cert, int nid, bool *critical)
{
	int crit = -1;
	void *v = X509_get_ext_d2i(cert, nid, &crit, NULL);

	if (critical)
		*critical = crit == 1;
	return crit >= 0 ? v : NULL;
}

static bool basic_constraints_ok(const X509 *cert, bool ca)
{
	bool crit;
	BASIC_CONSTRAINTS *bc = one_ext(cert, NID_basic_constraints, &crit);
	bool ok;

	if (!bc)
		return false;
	if (ca)
		ok = crit && bc->ca && bc->pathlen && ASN1_INTEGER_get(bc->pathlen) == 0;
	else
		ok = !bc->ca && !bc->pathlen;
	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

static bool key_usage_ok(const X509 *cert, bool ca)
{
	bool crit;
	ASN1_BIT_STRING *ku = one_ext(cert, NID_key_usage, &crit);
	bool ok;

	if (!ku)
		return false;
	if (ca)
		ok = ASN1_BIT_STRING_get_bit(ku, KU_BIT_KEY_CERT_SIGN) &&
		     ASN1_BIT_STRING_get_bit(ku, KU_BIT_CRL_SIGN);
	else
		ok = ASN1_BIT_STRING_get_bit(ku, KU_BIT_DIGITAL_SIGNATURE) &&
		     !ASN1_BIT_STRING_get_bit(ku, KU_BIT_KEY_CERT_SIGN) &&
		     !ASN1_BIT_STRING_get_bit(ku, KU_BIT_CRL_SIGN);
	ASN1_BIT_STRING_free(ku);
	return ok && crit;
}

/* extendedKeyUsage: exactly the purpose of the role, nothing else. */
static bool ext_key_usage_ok(const X509 *cert, enum dsm_role role)
{
	EXTENDED_KEY_USAGE *eku = one_ext(cert, NID_ext_key_usage, NULL);
	int want = role == DSM_ROLE_SERVER ? NID_server_auth : NID_client_auth;
	bool ok;

	if (!eku)
		return false;
	ok = sk_ASN1_OBJECT_num(eku) == 1 && OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == want;
	EXTENDED_KEY_USAGE_free(eku);
	return ok;
}

/* The value of the one CN of a name, NUL-terminated into buf. */
static int name_cn(const X509_NAME *n, char *buf, size_t len)
{
	int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	const ASN1_STRING *s;
	int slen;

	if (i < 0 || X509_NAME_get_index_by_NID(n, NID_commonName, i) >= 0)
		return -EINVAL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	slen = s ? ASN1_STRING_length(s) : -1;
	if (slen <= 0 || (size_t)slen >= len || memchr(ASN1_STRING_get0_data(s), 0, (size_t)slen))
		return -EINVAL;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)slen);
	buf[slen] = 0;
	return 0;
}

/* Split dsm://CLUSTER/ROLE/NAME; every part checked. */
static int parse_uri(const char *uri, const char *cluster, struct dsm_identity *id)
{
	const char *p = uri + strlen(URI_SCHEME), *s1, *s2;
	size_t clen, rlen;

	if (strncmp(uri, URI_SCHEME, strlen(URI_SCHEME)))
		return -EINVAL;
	s1 = strchr(p, '/');
	s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s2 || strchr(s2 + 1, '/'))
		return -EINVAL;
	clen = (size_t)(s1 - p);
	rlen = (size_t)(s2 - s1 - 1);
	if (clen != strlen(cluster) || memcmp(p, cluster, clen))
		return -EINVAL;
	if (rlen == strlen("server") && !memcmp(s1 + 1, "server", rlen))
		id->role = DSM_ROLE_SERVER;
	else if (rlen == strlen("node") && !memcmp(s1 + 1, "node", rlen))
		id->role = DSM_ROLE_NODE;
	else
		return -EINVAL;
	if (!dsm_pki_name_valid(s2 + 1))
		return -EINVAL;
	memcpy(id->cluster, cluster, clen + 1);
	strcpy(id->name, s2 + 1);
	return 0;
}

/* The subject alternative name: exactly one entry, a dsm URI. */
static int identity_from_san(const X509 *cert, const char *cluster, struct dsm_identity *id)
{
	GENERAL_NAMES *gens = one_ext(cert, NID_subject_alt_name, NULL);
	const GENERAL_NAME *gn;
	char uri[URI_MAX];
	int len, err = -EINVAL;

	if (!gens)
		return -EINVAL;
	if (sk_GENERAL_NAME_num(gens) != 1)
		goto out;
	gn = sk_GENERAL_NAME_value(gens, 0);
	if (gn->type != GEN_URI)
		goto out;
	len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
	if (len <= 0 || (size_t)len >= sizeof(uri))
		goto out;
	memcpy(uri, ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier), (size_t)len);
	uri[len] = 0;
	if (strlen(uri) != (size_t)len)
		goto out;
	err = parse_uri(uri, cluster, id);
out:
	GENERAL_NAMES_free(gens);
	return err;
}

int dsm_pki_cert_serial(const X509 *cert, struct dsm_pki_serial *out)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	int n, err = -EINVAL;

	if (!bn) {
		ERR_clear_error();
		return -EINVAL;
	}
	n = BN_num_bytes(bn);
	if (!BN_is_negative(bn) && n > 0 && n <= DSM_PKI_SERIAL_MAX) {
		memset(out, 0, sizeof(*out));
		out->len = (uint8_t)n;
		if (BN_bn2bin(bn, out->b) == n)
			err = 0;
	}
	BN_free(bn);
	return err;
}

int dsm_pki_identity(const X509 *cert, const char *cluster, struct dsm_identity *out)
{
	struct dsm_identity id = { 0 };
	time_t nb;

	memset(out, 0, sizeof(*out));
	if (!cert || !dsm_pki_name_valid(cluster))
		return -EINVAL;
	if (X509_get_version(cert) != X509_VERSION_3 || !is_ed25519(X509_get0_pubkey(cert)))
		return -EINVAL;
	if (identity_from_san(cert, cluster, &id) ||
	    !basic_constraints_ok(cert, false) || !key_usage_ok(cert, false) ||
	    !ext_key_usage_ok(cert, id.role))
		return -EINVAL;
	if (dsm_pki_cert_serial(cert, &id.serial) || dsm_pki_cert_times(cert, &nb, &id.not_after))
		return -EINVAL;
	*out = id;
	return 0;
}

bool dsm_pki_renew_due(const X509 *cert, time_t now)
{
	time_t nb, na;

	if (!cert || dsm_pki_cert_times(cert, &nb, &na) || na <= nb)
		return true;
	return now >= na - (na - nb) / 3;
}

void dsm_pki_serial_hex(const struct dsm_pki_serial *s, char out[DSM_PKI_SERIAL_HEX])
{
	static const char digits[] = "0123456789abcdef";
	size_t n = s->len <= DSM_PKI_SERIAL_MAX ? s->len : 0;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[s->b[i] >> 4];
		out[2 * i + 1] = digits[s->b[i] & 15];
	}
	out[2 * n] = 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dsm_pki_serial_parse(const char *hex, struct dsm_pki_serial *out)
{
	size_t n = hex ? strnlen(hex, DSM_PKI_SERIAL_HEX) : 0;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n % 2 || n > 2 * DSM_PKI_SERIAL_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out->b[i] = (uint8_t)(hi << 4 | lo);
	}
	if (out->b[0] == 0) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	out->len = (uint8_t)(n / 2);
	return 0;
}

/* ---- the cluster CA ----------------------------------------------------- */

static int ca_build(X509 *x, const char *cluster, time_t now, int64_t lifetime_s, EVP_PKEY *key)
{
	X509_NAME *subj = make_name(CA_UNIT, cluster);
	int err = -EIO;

	if (!subj)
		return -ENOMEM;
	if (!X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, subj) || !X509_set_pubkey(x, key))
		goto out;
	if ((err = set_random_serial(x)) || (err = set_times(x, now, lifetime_s)))
		goto out;
	if ((err = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) ||
	    (err = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) ||
	    (err = add_ext(x, x, NID_subject_key_identifier, "hash")) ||
	    (err = add_ext(x, x, NID_authority_key_identifier, "keyid:always")))
		goto out;
	err = sign_cert(x, key);
out:
	X509_NAME_free(subj);
	return err;
}

int dsm_pki_ca_create(const char *cluster, time_t now, int64_t lifetime_s, struct dsm_pki_ca *ca)
{
	int err;

	memset(ca, 0, sizeof(*ca));
	if (!dsm_pki_name_valid(cluster) || lifetime_s <= 0)
		return -EINVAL;
	if ((err = dsm_pki_key_new(&ca->key)))
		return err;
	ca->cert = X509_new();
	err = ca->cert ? ca_build(ca->cert, cluster, now, lifetime_s, ca->key) : -ENOMEM;
	if (err) {
		ERR_clear_error();
		dsm_pki_ca_free(ca);
		return err;
	}
	strcpy(ca->cluster, cluster);
	return 0;
}

int dsm_pki_ca_check(X509 *cert, const char *cluster)
{
	char cn[DSM_PKI_NAME_MAX + 1];
	EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;
	int ok;

	if (!cert || !dsm_pki_name_valid(cluster) || !is_ed25519(pub))
		return -EINVAL;
	if (X509_get_version(cert) != X509_VERSION_3 ||
	    X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)))
		return -EINVAL;
	if (name_cn(X509_get_subject_name(cert), cn, sizeof(cn)) || strcmp(cn, cluster))
		return -EINVAL;
	if (!basic_constraints_ok(cert, true) || !key_usage_ok(cert, true))
		return -EINVAL;
	if (X509_get_ext_by_NID(cert, NID_ext_key_usage, -1) >= 0 ||
	    X509_get_ext_by_NID(cert, NID_subject_alt_name, -1) >= 0)
		return -EINVAL;
	ok = X509_verify(cert, pub); /* the self-signature */
	ERR_clear_error();
	return ok == 1 ? 0 : -EINVAL;
}

void dsm_pki_ca_free(struct dsm_pki_ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	memset(ca, 0, sizeof(*ca));
}

/* ---- issuing leaves ----------------------------------------------------- */

static int issue_check(const struct dsm_pki_ca *ca, const struct dsm_pki_issue *req,
		       const EVP_PKEY *pub)
{
	time_t ca_nb, ca_na;

	if (!ca || !ca->cert || !ca->key || !req || !is_ed25519(pub))
		return -EINVAL;
	if (!dsm_pki_role_name(req->role) || !dsm_pki_name_valid(req->name))
		return -EINVAL;
	if (req->lifetime_s <= 0 || req->lifetime_s > DSM_PKI_LEAF_LIFETIME_MAX_S)
		return -EINVAL;
	if (dsm_pki_cert_times(ca->cert, &ca_nb, &ca_na))
		return -EINVAL;
	if (req->now + req->lifetime_s > ca_na)
		return -ERANGE;
	return 0;
}

static int leaf_build(X509 *x, const struct dsm_pki_ca *ca, const struct dsm_pki_issue *req,
		      EVP_PKEY *pub)
{
	X509_NAME *subj = make_name(dsm_pki_role_name(req->role), req->name);
	const char *eku = req->role == DSM_ROLE_SERVER ? "serverAuth" : "clientAuth";
	int err = -EIO;

	if (!subj)
		return -ENOMEM;
	if (!X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) || !X509_set_pubkey(x, pub))
		goto out;
	if ((err = set_random_serial(x)) || (err = set_times(x, req->now, req->lifetime_s)))
		goto out;
	if ((err = add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE")) ||
	    (err = add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature")) ||
	    (err = add_ext(x, ca->cert, NID_ext_key_usage, eku)) ||
	    (err = add_ext(x, ca->cert, NID_subject_key_identifier, "hash")) ||
	    (err = add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always")) ||
	    (err = add_identity_uri(x, ca->cluster, req->role, req->name)))
		goto out;
	err = sign_cert(x, ca->key);
out:
	X509_NAME_free(subj);
	return err;
}

int dsm_pki_issue(const struct dsm_pki_ca *ca, const struct dsm_pki_issue *req,
		  EVP_PKEY *pub, X509 **out)
{
	X509 *x;
	int err;

	*out = NULL;
	if ((err = issue_check(ca, req, pub)))
		return err;
	x = X509_new();
	err = x ? leaf_build(x, ca, req, pub) : -ENOMEM;
	if (err) {
		ERR_clear_error();
		X509_free(x);
		return err;
	}
	*out = x;
	return 0;
}

int dsm_pki_issue_csr(const struct dsm_pki_ca *ca, const struct dsm_pki_issue *req,
		      const uint8_t *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	X509_REQ *csr;
	EVP_PKEY *pub;
	int err = -EINVAL;

	*out = NULL;
	if (!der || len == 0 || len > CSR_MAX)
		return -EINVAL;
	csr = d2i_X509_REQ(NULL, &p, (long)len);
	if (!csr || p != der + len)
		goto out;
	pub = X509_REQ_get0_pubkey(csr);
	if (!is_ed25519(pub) || X509_REQ_verify(csr, pub) != 1)
		goto out;
	err = dsm_pki_issue(ca, req, pub, out);
out:
	ERR_clear_error();
	X509_REQ_free(csr);
	return err;
}

int dsm_pki_csr_make(EVP_PKEY *key, uint8_t **der, size_t *len)
{
	X509_REQ *csr = X509_REQ_new();
	unsigned char *buf = NULL;
	int n = -1;

	*der = NULL;
	*len = 0;
	if (!csr || !is_ed25519(key))
		goto out;
	if (!X509_REQ_set_version(csr, X509_REQ_VERSION_1) || !X509_REQ_set_pubkey(csr, key) ||
	    X509_REQ_sign(csr, key, NULL) <= 0)
		goto out;
	n = i2d_X509_REQ(csr, &buf);
out:
	X509_REQ_free(csr);
	ERR_clear_error();
	if (n <= 0)
		return -EINVAL;
	*der = buf;
	*len = (size_t)n;
	return 0;
}

/* ---- files -------------------------------------------------------------- */

/* A memory BIO's contents to a file; the BIO is freed (and, for keys,
 * cleared: a secure-memory BIO clears on free). */
static int write_bio(const char *path, BIO *b, mode_t mode)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	int err = n > 0 ? dsm_file_write(path, p, (size_t)n, mode, DSM_FILE_REPLACE) : -EIO;

	BIO_free(b);
	return err;
}

int dsm_pki_key_save(const char *path, const EVP_PKEY *key)
{
	BIO *b;

	if (!is_ed25519(key))
		return -EINVAL;
	b = BIO_new(BIO_s_secmem());
	if (!b)
		return -ENOMEM;
	if (!PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		ERR_clear_error();
		BIO_free(b);
		return -EIO;
	}
	return write_bio(path, b, 0600);
}

int dsm_pki_cert_save(const char *path, const X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (!b)
		return -ENOMEM;
	if (!PEM_write_bio_X509(b, cert)) {
		ERR_clear_error();
		BIO_free(b);
		return -EIO;
	}
	return write_bio(path, b, 0644);
}

/* No passphrase prompts: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

int dsm_pki_key_load(const char *path, EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;
	uint8_t *buf;
	size_t len;
	BIO *b;
	int err;

	*out = NULL;
	if ((err = dsm_file_read(path, FILE_MAX, DSM_FILE_SECRET | DSM_FILE_NONEMPTY, &buf, &len)))
		return err;
	b = BIO_new_mem_buf(buf, (int)len);
	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	dsm_file_free(buf, len);
	ERR_clear_error();
	if (!is_ed25519(k)) {
		EVP_PKEY_free(k);
		return -EINVAL;
	}
	*out = k;
	return 0;
}

int dsm_pki_cert_load(const char *path, X509 **out)
{
	X509 *x = NULL, *extra = NULL;
	uint8_t *buf;
	size_t len;
	BIO *b;
	int err;

	*out = NULL;
	if ((err = dsm_file_read(path, FILE_MAX, DSM_FILE_NONEMPTY, &buf, &len)))
		return err;
	b = BIO_new_mem_buf(buf, (int)len);
	if (b && (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)))
		extra = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	dsm_file_free(buf, len);
	ERR_clear_error();
	if (!x || extra) { /* one certificate per file */
		X509_free(x);
		X509_free(extra);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int dsm_pki_cert_der(const X509 *cert, uint8_t **der, size_t *len)
{
	unsigned char *buf = NULL;
	int n = i2d_X509(cert, &buf);

	*der = NULL;
	*len = 0;
	if (n <= 0) {
		ERR_clear_error();
		return -EINVAL;
	}
	*der = buf;
	*len = (size_t)n;
	return 0;
}

int dsm_pki_cert_from_der(const uint8_t *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	X509 *x;

	*out = NULL;
	if (!der || len == 0 || len > FILE_MAX)
		return -EINVAL;
	x = d2i_X509(NULL, &p, (long)len);
	ERR_clear_error();
	if (!x || p != der + len) {
		X509_free(x);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int dsm_pki_ca_load(const char *cert_path, const char *key_path, const char *cluster,
		    struct dsm_pki_ca *ca)
{
	int err;

	memset(ca, 0, sizeof(*ca));
	if (!dsm_pki_name_valid(cluster))
		return -EINVAL;
	if ((err = dsm_pki_cert_load(cert_path, &ca->cert)) ||
	    (err = dsm_pki_ca_check(ca->cert, cluster)))
		goto fail;
	if (key_path && (err = dsm_pki_key_load(key_path, &ca->key)))
		goto fail;
	if (ca->key && X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		err = -EINVAL;
		goto fail;
	}
	strcpy(ca->cluster, cluster);
	return 0;
fail:
	dsm_pki_ca_free(ca);
	return err;
}

int dsm_pki_ca_save(const struct dsm_pki_ca *ca, const char *cert_path, const char *key_path)
{
	int err;

	if (!ca->cert || (key_path && !ca->key))
		return -EINVAL;
	if (key_path && (err = dsm_pki_key_save(key_path, ca->key)))
		return err;
	return dsm_pki_cert_save(cert_path, ca->cert);
}

/* ---- revocation --------------------------------------------------------- */

struct denied_serial {
	struct dsm_pki_serial s;
	time_t until; /* 0: for ever */
};

struct dsm_pki_denylist {
	struct denied_serial *serials;
	size_t nserials, cap_serials;
	char (*names)[DSM_PKI_NAME_MAX + 1];
	size_t nnames, cap_names;
};

struct dsm_pki_denylist *dsm_pki_denylist_new(void)
{
	return calloc(1, sizeof(struct dsm_pki_denylist));
}

void dsm_pki_denylist_free(struct dsm_pki_denylist *dl)
{
	if (!dl)
		return;
	free(dl->serials);
	free(dl->names);
	free(dl);
}

static bool serial_eq(const struct dsm_pki_serial *a, const struct dsm_pki_serial *b)
{
	return a->len == b->len && !memcmp(a->b, b->b, a->len);
}

static bool serial_valid(const struct dsm_pki_serial *s)
{
	return s->len > 0 && s->len <= DSM_PKI_SERIAL_MAX && s->b[0] != 0;
}

/* Room for one more of n elements of size sz in *v (capacity *cap). */
static int grow(void *v, size_t n, size_t *cap, size_t sz)
{
	void **pv = v, *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 16;
	nv = reallocarray(*pv, ncap, sz);
	if (!nv)
		return -ENOMEM;
	*pv = nv;
	*cap = ncap;
	return 0;
}

int dsm_pki_deny_serial(struct dsm_pki_denylist *dl, const struct dsm_pki_serial *s,
			time_t not_after)
{
	struct denied_serial *d;

	if (!dl || !s || !serial_valid(s))
		return -EINVAL;
	for (size_t i = 0; i < dl->nserials; i++) {
		d = &dl->serials[i];
		if (!serial_eq(&d->s, s))
			continue;
		if (d->until && (!not_after || not_after > d->until))
			d->until = not_after;
		return 0;
	}
	if (grow(&dl->serials, dl->nserials, &dl->cap_serials, sizeof(*dl->serials)))
		return -ENOMEM;
	dl->serials[dl->nserials++] = (struct denied_serial){ .s = *s, .until = not_after };
	return 0;
}

int dsm_pki_deny_cert(struct dsm_pki_denylist *dl, const X509 *cert)
{
	struct dsm_pki_serial s;
	time_t nb, na;

	if (!cert || dsm_pki_cert_serial(cert, &s) || dsm_pki_cert_times(cert, &nb, &na))
		return -EINVAL;
	return dsm_pki_deny_serial(dl, &s, na);
}

static ssize_t find_name(const struct dsm_pki_denylist *dl, const char *name)
{
	for (size_t i = 0; i < dl->nnames; i++)
		if (!strcmp(dl->names[i], name))
			return (ssize_t)i;
	return -1;
}

int dsm_pki_deny_name(struct dsm_pki_denylist *dl, const char *name)
{
	if (!dl || !dsm_pki_name_valid(name))
		return -EINVAL;
	if (find_name(dl, name) >= 0)
		return 0;
	if (grow(&dl->names, dl->nnames, &dl->cap_names, sizeof(*dl->names)))
		return -ENOMEM;
	strcpy(dl->names[dl->nnames++], name);
	return 0;
}

int dsm_pki_allow_name(struct dsm_pki_denylist *dl, const char *name)
{
	ssize_t i;

	if (!dl || !dsm_pki_name_valid(name))
		return -EINVAL;
	i = find_name(dl, name);
	if (i < 0)
		return -ENOENT;
	memmove(dl->names[i], dl->names[i + 1], (dl->nnames - (size_t)i - 1) * sizeof(*dl->names));
	dl->nnames--;
	return 0;
}

void dsm_pki_denylist_prune(struct dsm_pki_denylist *dl, time_t now)
{
	size_t keep = 0;

	if (!dl)
		return;
	for (size_t i = 0; i < dl->nserials; i++)
		if (!dl->serials[i].until || dl->serials[i].until >= now)
			dl->serials[keep++] = dl->serials[i];
	dl->nserials = keep;
}

bool dsm_pki_denied(const struct dsm_pki_denylist *dl, const struct dsm_identity *id)
{
	if (!dl)
		return false;
	if (!id || !serial_valid(&id->serial))
		return true;
	for (size_t i = 0; i < dl->nserials; i++)
		if (serial_eq(&dl->serials[i].s, &id->serial))
			return true;
	return id->role == DSM_ROLE_NODE && find_name(dl, id->name) >= 0;
}
