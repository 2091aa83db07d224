// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster PKI: the CA's profile, leaves issued from keys and from
 * requests carry exactly the identity the issuer chose, forged requests and
 * certificates outside the profile are refused, renewal falls due at two
 * thirds of the lifetime, private key files are private, and the deny list
 * denies what it holds and nothing else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki.h"

#define NOW     ((time_t)1700000000)
#define CLUSTER "c1"

struct fx {
	struct dsm_pki_ca ca;
	EVP_PKEY *key; /* a holder's key */
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || dsm_pki_ca_create(CLUSTER, NOW, DSM_PKI_CA_LIFETIME_S, &f->ca) ||
	    dsm_pki_key_new(&f->key))
		return -1;
	strcpy(f->dir, "/tmp/dsm-pki-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	dsm_pki_ca_free(&f->ca);
	EVP_PKEY_free(f->key);
	free(f);
	return 0;
}

static X509 *issue(const struct fx *f, enum dsm_role role, const char *name, int64_t life)
{
	const struct dsm_pki_issue req = { .role = role, .name = name, .now = NOW, .lifetime_s = life };
	X509 *x = NULL;

	assert_int_equal(dsm_pki_issue(&f->ca, &req, f->key, &x), 0);
	assert_non_null(x);
	return x;
}

static time_t cert_not_after(const X509 *x)
{
	time_t nb, na;

	assert_int_equal(dsm_pki_cert_times(x, &nb, &na), 0);
	return na;
}

static time_t cert_not_before(const X509 *x)
{
	time_t nb, na;

	assert_int_equal(dsm_pki_cert_times(x, &nb, &na), 0);
	return nb;
}

/*
 * A leaf signed by the CA with the extensions given as configuration text
 * (NULL: left out), to build certificates outside the profile. With the
 * profile's own values it must be accepted (test_forged_control).
 */
static X509 *forge(const struct fx *f, const char *san, const char *eku, const char *bc)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	const struct {
		int nid;
		const char *value;
	} ext[] = {
		{ NID_basic_constraints, bc },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, eku },
		{ NID_subject_alt_name, san },
	};

	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234));
	assert_true(X509_set_issuer_name(x, X509_get_subject_name(f->ca.cert)));
	assert_true(X509_set_subject_name(x, X509_get_subject_name(f->ca.cert)));
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), NOW));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), NOW + 3600));
	assert_true(X509_set_pubkey(x, f->key));
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, f->ca.cert, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		X509_EXTENSION *e;

		if (!ext[i].value)
			continue;
		e = X509V3_EXT_conf_nid(NULL, &ctx, ext[i].nid, ext[i].value);
		assert_non_null(e);
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, f->ca.key, NULL) > 0);
	return x;
}

static int identity_of(X509 *x, const char *cluster, struct dsm_identity *id)
{
	int err = dsm_pki_identity(x, cluster, id);

	X509_free(x);
	return err;
}

/* ---- the CA ------------------------------------------------------------- */

static void test_ca_profile(void **state)
{
	struct fx *f = *state;
	BASIC_CONSTRAINTS *bc;
	int crit;
	char cn[64];

	assert_int_equal(dsm_pki_ca_check(f->ca.cert, CLUSTER), 0);
	assert_int_equal(dsm_pki_ca_check(f->ca.cert, "c2"), -EINVAL);
	bc = X509_get_ext_d2i(f->ca.cert, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_true(bc->ca);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(f->ca.cert), NID_commonName,
					      cn, sizeof(cn)) > 0);
	assert_string_equal(cn, CLUSTER);
	assert_int_equal(cert_not_before(f->ca.cert), NOW - DSM_PKI_SKEW_S);
	assert_int_equal(cert_not_after(f->ca.cert), NOW + DSM_PKI_CA_LIFETIME_S);
	assert_true(EVP_PKEY_is_a(X509_get0_pubkey(f->ca.cert), "ED25519"));

	/* a leaf is not a CA */
	X509 *leaf = issue(f, DSM_ROLE_SERVER, "s1", 3600);
	assert_int_equal(dsm_pki_ca_check(leaf, CLUSTER), -EINVAL);
	X509_free(leaf);
}

static void test_names(void **state)
{
	static const char *const good[] = { "a", "n1", "node-7", "0",
		"abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz" /* 63 */ };
	static const char *const bad[] = { "", "-a", "a-", "A", "n_1", "n.1", "n/1", "n 1", "é",
		"abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz0" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(dsm_pki_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(dsm_pki_name_valid(bad[i]));
	assert_false(dsm_pki_name_valid(NULL));
}

/* ---- issuing ------------------------------------------------------------ */

static void test_issue_identity_round_trip(void **state)
{
	struct fx *f = *state;
	X509 *node = issue(f, DSM_ROLE_NODE, "n1", DSM_PKI_NODE_LIFETIME_S);
	X509 *srv = issue(f, DSM_ROLE_SERVER, "s1", DSM_PKI_SERVER_LIFETIME_S);
	struct dsm_identity id, id2;
	struct dsm_pki_serial s;

	assert_int_equal(dsm_pki_identity(node, CLUSTER, &id), 0);
	assert_int_equal(id.role, DSM_ROLE_NODE);
	assert_string_equal(id.name, "n1");
	assert_string_equal(id.cluster, CLUSTER);
	assert_int_equal(id.not_after, NOW + DSM_PKI_NODE_LIFETIME_S);
	assert_int_equal(cert_not_before(node), NOW - DSM_PKI_SKEW_S);
	assert_int_equal(dsm_pki_cert_serial(node, &s), 0);
	assert_int_equal(s.len, id.serial.len);
	assert_memory_equal(s.b, id.serial.b, s.len);
	assert_true(s.len >= 8 && s.len <= 16); /* 128 random bits */

	assert_int_equal(dsm_pki_identity(srv, CLUSTER, &id2), 0);
	assert_int_equal(id2.role, DSM_ROLE_SERVER);
	assert_string_equal(id2.name, "s1");
	assert_false(id2.serial.len == id.serial.len &&
		     !memcmp(id2.serial.b, id.serial.b, id.serial.len));

	/* signed by the CA, and a chain OpenSSL itself accepts for the purpose */
	assert_int_equal(X509_verify(node, X509_get0_pubkey(f->ca.cert)), 1);
	assert_int_equal(X509_check_purpose(node, X509_PURPOSE_SSL_CLIENT, 0), 1);
	assert_int_equal(X509_check_purpose(srv, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_not_equal(X509_check_purpose(node, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(X509_check_ca(node), 0);

	/* and through DER, as on the wire */
	uint8_t *der;
	size_t len;
	X509 *back;

	assert_int_equal(dsm_pki_cert_der(node, &der, &len), 0);
	assert_int_equal(dsm_pki_cert_from_der(der, len, &back), 0);
	assert_int_equal(dsm_pki_identity(back, CLUSTER, &id2), 0);
	assert_string_equal(id2.name, "n1");
	X509_free(back);
	assert_int_equal(dsm_pki_cert_from_der(der, len - 1, &back), -EINVAL);
	OPENSSL_free(der);
	X509_free(node);
	X509_free(srv);
}

static void test_issue_refusals(void **state)
{
	struct fx *f = *state;
	struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = "n1", .now = NOW, .lifetime_s = 3600 };
	struct dsm_pki_ca nokey = { .cert = f->ca.cert };
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = NULL;

	assert_non_null(p256);
	strcpy(nokey.cluster, CLUSTER);
	assert_int_equal(dsm_pki_issue(&f->ca, &req, f->key, &x), 0);
	X509_free(x);
	assert_int_equal(dsm_pki_issue(&nokey, &req, f->key, &x), -EINVAL);
	assert_int_equal(dsm_pki_issue(&f->ca, &req, p256, &x), -EINVAL);
	req.name = "N1";
	assert_int_equal(dsm_pki_issue(&f->ca, &req, f->key, &x), -EINVAL);
	req.name = "n1";
	req.role = 3;
	assert_int_equal(dsm_pki_issue(&f->ca, &req, f->key, &x), -EINVAL);
	req.role = DSM_ROLE_NODE;
	req.lifetime_s = 0;
	assert_int_equal(dsm_pki_issue(&f->ca, &req, f->key, &x), -EINVAL);
	/* never outliving the CA */
	req.lifetime_s = 3600;
	req.now = NOW + DSM_PKI_CA_LIFETIME_S - 1800;
	assert_int_equal(dsm_pki_issue(&f->ca, &req, f->key, &x), -ERANGE);
	assert_null(x);
	EVP_PKEY_free(p256);
}

/* A request naming itself "admin" with a server SAN gets only its key
 * certified, under the name the issuer gives. */
static void test_csr_takes_only_the_key(void **state)
{
	struct fx *f = *state;
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = "n7", .now = NOW, .lifetime_s = 3600 };
	X509_REQ *csr = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "URI:dsm://c1/server/admin");
	unsigned char *der = NULL;
	struct dsm_identity id;
	char cn[64];
	X509 *x;
	int len;

	assert_true(csr && n && exts && e);
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"admin", -1, -1, 0));
	assert_true(X509_REQ_set_subject_name(csr, n));
	assert_true(sk_X509_EXTENSION_push(exts, e));
	assert_true(X509_REQ_add_extensions(csr, exts));
	assert_true(X509_REQ_set_pubkey(csr, f->key));
	assert_true(X509_REQ_sign(csr, f->key, NULL) > 0);
	len = i2d_X509_REQ(csr, &der);
	assert_true(len > 0);

	assert_int_equal(dsm_pki_issue_csr(&f->ca, &req, der, (size_t)len, &x), 0);
	assert_int_equal(dsm_pki_identity(x, CLUSTER, &id), 0);
	assert_int_equal(id.role, DSM_ROLE_NODE);
	assert_string_equal(id.name, "n7");
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), f->key), 1);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "n7");
	X509_free(x);

	/* and our own request works the same */
	uint8_t *mine;
	size_t mlen;

	assert_int_equal(dsm_pki_csr_make(f->key, &mine, &mlen), 0);
	assert_int_equal(dsm_pki_issue_csr(&f->ca, &req, mine, mlen, &x), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), f->key), 1);
	X509_free(x);
	OPENSSL_free(mine);

	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(csr);
}

static void test_csr_forged_refused(void **state)
{
	struct fx *f = *state;
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = "n1", .now = NOW, .lifetime_s = 3600 };
	X509_REQ *csr = X509_REQ_new();
	EVP_PKEY *other;
	unsigned char *der = NULL;
	uint8_t *good;
	size_t glen;
	X509 *x = (X509 *)1;
	int len;

	/* a flipped bit in the signature */
	assert_int_equal(dsm_pki_csr_make(f->key, &good, &glen), 0);
	assert_int_equal(dsm_pki_issue_csr(&f->ca, &req, good, glen, &x), 0);
	X509_free(x);
	good[glen - 1] ^= 1;
	assert_int_equal(dsm_pki_issue_csr(&f->ca, &req, good, glen, &x), -EINVAL);
	assert_null(x);
	good[glen - 1] ^= 1;
	/* trailing bytes, a truncated request */
	uint8_t *longer = malloc(glen + 1);

	assert_non_null(longer);
	memcpy(longer, good, glen);
	longer[glen] = 0;
	assert_int_equal(dsm_pki_issue_csr(&f->ca, &req, longer, glen + 1, &x), -EINVAL);
	assert_int_equal(dsm_pki_issue_csr(&f->ca, &req, good, glen - 1, &x), -EINVAL);
	free(longer);
	OPENSSL_free(good);

	/* a request for one key signed by another: proof of possession fails */
	assert_int_equal(dsm_pki_key_new(&other), 0);
	assert_true(X509_REQ_set_pubkey(csr, f->key));
	assert_true(X509_REQ_sign(csr, other, NULL) > 0);
	len = i2d_X509_REQ(csr, &der);
	assert_true(len > 0);
	assert_int_equal(dsm_pki_issue_csr(&f->ca, &req, der, (size_t)len, &x), -EINVAL);
	assert_null(x);
	OPENSSL_free(der);
	EVP_PKEY_free(other);
	X509_REQ_free(csr);
}

/* ---- identities --------------------------------------------------------- */

/* The forging helper with the profile's own values yields an accepted
 * certificate, so each refusal below is due to what it changes. */
static void test_forged_control(void **state)
{
	struct fx *f = *state;
	struct dsm_identity id;

	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1", "clientAuth", "critical,CA:FALSE"),
				     CLUSTER, &id), 0);
	assert_string_equal(id.name, "n1");
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/server/s1", "serverAuth", "critical,CA:FALSE"),
				     CLUSTER, &id), 0);
	assert_int_equal(id.role, DSM_ROLE_SERVER);
}

static void test_identity_other_cluster_refused(void **state)
{
	struct fx *f = *state;
	struct dsm_identity id;
	X509 *x = issue(f, DSM_ROLE_NODE, "n1", 3600);

	assert_int_equal(dsm_pki_identity(x, "c2", &id), -EINVAL);
	assert_int_equal(dsm_pki_identity(x, "c", &id), -EINVAL);
	assert_int_equal(dsm_pki_identity(x, "c1x", &id), -EINVAL);
	assert_int_equal(id.role, 0);
	X509_free(x);
	assert_int_equal(identity_of(forge(f, "URI:dsm://c2/node/n1", "clientAuth", "critical,CA:FALSE"),
				     CLUSTER, &id), -EINVAL);
}

static void test_identity_two_uris_refused(void **state)
{
	struct fx *f = *state;
	struct dsm_identity id;

	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1,URI:dsm://c1/node/n2",
					   "clientAuth", "critical,CA:FALSE"), CLUSTER, &id), -EINVAL);
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1,DNS:n1.example",
					   "clientAuth", "critical,CA:FALSE"), CLUSTER, &id), -EINVAL);
	/* and none at all */
	assert_int_equal(identity_of(forge(f, NULL, "clientAuth", "critical,CA:FALSE"), CLUSTER, &id),
			 -EINVAL);
	assert_int_equal(identity_of(forge(f, "DNS:n1", "clientAuth", "critical,CA:FALSE"), CLUSTER, &id),
			 -EINVAL);
}

static void test_identity_bad_name_refused(void **state)
{
	static const char *const sans[] = {
		"URI:dsm://c1/node/N1",
		"URI:dsm://c1/node/n_1",
		"URI:dsm://c1/node/",
		"URI:dsm://c1/node/n1/x",
		"URI:dsm://c1/admin/n1",
		"URI:DSM://c1/node/n1",
		"URI:https://c1/node/n1",
		"URI:dsm://c1/node/abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz0",
	};
	struct fx *f = *state;
	struct dsm_identity id;

	for (size_t i = 0; i < sizeof(sans) / sizeof(sans[0]); i++)
		assert_int_equal(identity_of(forge(f, sans[i], "clientAuth", "critical,CA:FALSE"),
					     CLUSTER, &id), -EINVAL);
}

static void test_identity_role_eku_mismatch_refused(void **state)
{
	struct fx *f = *state;
	struct dsm_identity id;

	/* a node certificate with serverAuth only */
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1", "serverAuth", "critical,CA:FALSE"),
				     CLUSTER, &id), -EINVAL);
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/server/s1", "clientAuth", "critical,CA:FALSE"),
				     CLUSTER, &id), -EINVAL);
	/* both purposes, none, or no constraint against being a CA */
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1", "clientAuth,serverAuth",
					   "critical,CA:FALSE"), CLUSTER, &id), -EINVAL);
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1", NULL, "critical,CA:FALSE"),
				     CLUSTER, &id), -EINVAL);
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1", "clientAuth", "critical,CA:TRUE"),
				     CLUSTER, &id), -EINVAL);
	assert_int_equal(identity_of(forge(f, "URI:dsm://c1/node/n1", "clientAuth", NULL),
				     CLUSTER, &id), -EINVAL);
	/* and the CA itself is no peer */
	assert_int_equal(dsm_pki_identity(f->ca.cert, CLUSTER, &id), -EINVAL);
}

/* ---- renewal ------------------------------------------------------------ */

static void test_renew_due_boundary(void **state)
{
	struct fx *f = *state;
	X509 *x = issue(f, DSM_ROLE_NODE, "n1", 3 * 3600);
	/* window = 3 h + skew; due at notAfter - window / 3 */
	const time_t nb = NOW - DSM_PKI_SKEW_S, na = NOW + 3 * 3600, due = na - (na - nb) / 3;

	assert_int_equal(due, NOW + 7100);
	assert_false(dsm_pki_renew_due(x, NOW));
	assert_false(dsm_pki_renew_due(x, due - 1));
	assert_true(dsm_pki_renew_due(x, due));
	assert_true(dsm_pki_renew_due(x, na + 1));
	assert_true(dsm_pki_renew_due(NULL, NOW));
	X509_free(x);
}

/* ---- files -------------------------------------------------------------- */

static void test_key_file_modes(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct stat st;
	EVP_PKEY *k;

	snprintf(path, sizeof(path), "%s/node.key", f->dir);
	assert_int_equal(dsm_pki_key_save(path, f->key), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(dsm_pki_key_load(path, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, f->key), 1);
	EVP_PKEY_free(k);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(dsm_pki_key_load(path, &k), -EACCES);
	assert_null(k);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(dsm_pki_key_load(path, &k), -EACCES);
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(dsm_pki_key_load(path, &k), -EACCES);

	/* saving again replaces the file and makes it private again */
	assert_int_equal(dsm_pki_key_save(path, f->key), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(dsm_pki_key_load(path, &k), 0);
	EVP_PKEY_free(k);

	/* a symbolic link is not followed */
	char link[160];

	snprintf(link, sizeof(link), "%s/link.key", f->dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(dsm_pki_key_load(link, &k), -ELOOP);
}

static void test_ca_and_cert_files(void **state)
{
	struct fx *f = *state;
	char crt[128], key[128], two[128];
	struct dsm_pki_ca back;
	struct stat st;
	X509 *x, *y;
	FILE *fp;

	snprintf(crt, sizeof(crt), "%s/ca.crt", f->dir);
	snprintf(key, sizeof(key), "%s/ca.key", f->dir);
	assert_int_equal(dsm_pki_ca_save(&f->ca, crt, key), 0);
	assert_int_equal(stat(crt, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(dsm_pki_ca_load(crt, key, CLUSTER, &back), 0);
	assert_int_equal(X509_cmp(back.cert, f->ca.cert), 0);
	/* the loaded CA issues leaves the original verifies */
	x = NULL;
	{
		const struct dsm_pki_issue req = { DSM_ROLE_NODE, "n1", NOW, 3600 };

		assert_int_equal(dsm_pki_issue(&back, &req, f->key, &x), 0);
	}
	assert_int_equal(X509_verify(x, X509_get0_pubkey(f->ca.cert)), 1);
	dsm_pki_ca_free(&back);
	assert_int_equal(dsm_pki_ca_load(crt, NULL, "c2", &back), -EINVAL);
	assert_null(back.cert);

	/* a key that does not belong to the certificate */
	assert_int_equal(dsm_pki_key_save(key, f->key), 0);
	assert_int_equal(dsm_pki_ca_load(crt, key, CLUSTER, &back), -EINVAL);

	/* one certificate per file */
	snprintf(two, sizeof(two), "%s/two.crt", f->dir);
	assert_int_equal(dsm_pki_cert_save(two, x), 0);
	assert_int_equal(dsm_pki_cert_load(two, &y), 0);
	assert_int_equal(X509_cmp(x, y), 0);
	X509_free(y);
	fp = fopen(two, "a");
	assert_non_null(fp);
	assert_true(PEM_write_X509(fp, x));
	fclose(fp);
	assert_int_equal(dsm_pki_cert_load(two, &y), -EINVAL);
	X509_free(x);
}

/* ---- revocation --------------------------------------------------------- */

static void test_denylist(void **state)
{
	struct fx *f = *state;
	struct dsm_pki_denylist *dl = dsm_pki_denylist_new();
	X509 *a = issue(f, DSM_ROLE_NODE, "n1", 3600), *b = issue(f, DSM_ROLE_NODE, "n2", 7200);
	X509 *s = issue(f, DSM_ROLE_SERVER, "n2", 3600);
	struct dsm_identity ia, ib, is;
	struct dsm_pki_serial back;
	char hex[DSM_PKI_SERIAL_HEX];

	assert_non_null(dl);
	assert_int_equal(dsm_pki_identity(a, CLUSTER, &ia), 0);
	assert_int_equal(dsm_pki_identity(b, CLUSTER, &ib), 0);
	assert_int_equal(dsm_pki_identity(s, CLUSTER, &is), 0);
	assert_false(dsm_pki_denied(dl, &ia));
	assert_false(dsm_pki_denied(NULL, &ia));

	/* serials, through their hex form as the server persists them */
	dsm_pki_serial_hex(&ia.serial, hex);
	assert_int_equal(strlen(hex), 2 * ia.serial.len);
	assert_int_equal(dsm_pki_serial_parse(hex, &back), 0);
	assert_int_equal(dsm_pki_deny_serial(dl, &back, ia.not_after), 0);
	assert_true(dsm_pki_denied(dl, &ia));
	assert_false(dsm_pki_denied(dl, &ib));
	assert_int_equal(dsm_pki_serial_parse("00ab", &back), -EINVAL);
	assert_int_equal(dsm_pki_serial_parse("abc", &back), -EINVAL);
	assert_int_equal(dsm_pki_serial_parse("AB", &back), -EINVAL);

	/* names: nodes only */
	assert_int_equal(dsm_pki_deny_name(dl, "n2"), 0);
	assert_true(dsm_pki_denied(dl, &ib));
	assert_false(dsm_pki_denied(dl, &is));
	assert_int_equal(dsm_pki_allow_name(dl, "n2"), 0);
	assert_false(dsm_pki_denied(dl, &ib));
	assert_int_equal(dsm_pki_allow_name(dl, "n2"), -ENOENT);
	assert_int_equal(dsm_pki_deny_name(dl, "N2"), -EINVAL);

	/* pruning forgets serials of expired certificates only */
	assert_int_equal(dsm_pki_deny_cert(dl, b), 0);
	dsm_pki_denylist_prune(dl, NOW + 3601);
	assert_false(dsm_pki_denied(dl, &ia));
	assert_true(dsm_pki_denied(dl, &ib));

	X509_free(a);
	X509_free(b);
	X509_free(s);
	dsm_pki_denylist_free(dl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_profile),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_issue_identity_round_trip),
		cmocka_unit_test(test_issue_refusals),
		cmocka_unit_test(test_csr_takes_only_the_key),
		cmocka_unit_test(test_csr_forged_refused),
		cmocka_unit_test(test_forged_control),
		cmocka_unit_test(test_identity_other_cluster_refused),
		cmocka_unit_test(test_identity_two_uris_refused),
		cmocka_unit_test(test_identity_bad_name_refused),
		cmocka_unit_test(test_identity_role_eku_mismatch_refused),
		cmocka_unit_test(test_renew_due_boundary),
		cmocka_unit_test(test_key_file_modes),
		cmocka_unit_test(test_ca_and_cert_files),
		cmocka_unit_test(test_denylist),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
