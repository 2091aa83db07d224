// SPDX-License-Identifier: GPL-2.0
/*
 * Policy freshness statements (lib/policy_fresh.c): a good statement
 * verifies and says what was signed; a server certificate of another CA,
 * a node certificate, a certificate of another cluster, a statement
 * outside its certificate's validity, any flipped byte, every truncation
 * and a trailing byte are refused; the clock checks refuse an expired
 * statement and one issued in the future beyond the skew; the bundle
 * check tells the bundle in force from a newer version, an older one and
 * other bytes of the same version; the writer refuses what the reader
 * would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "pki.h"
#include "policy_fresh.h"

#define CLUSTER "c1"

struct fx {
	struct dsm_pki_ca ca, other_ca, other_cluster;
	EVP_PKEY *key;
	X509 *cert;            /* server "srv" of CLUSTER */
	X509 *foreign;         /* a server certificate of other_ca, same key */
	X509 *node;            /* a node certificate, same key */
	X509 *elsewhere;       /* a server of another cluster, same key */
	uint64_t now_ms;
	uint8_t digest[DSM_FRESH_DIGEST_LEN];
};

static X509 *issue(struct dsm_pki_ca *ca, enum dsm_role role, EVP_PKEY *key, time_t now)
{
	const struct dsm_pki_issue req = { .role = role, .name = "srv", .now = now,
					   .lifetime_s = 86400 };
	X509 *x = NULL;

	assert_int_equal(dsm_pki_issue(ca, &req, key, &x), 0);
	return x;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const time_t now = time(NULL);
	static const uint8_t bundle[] = "DSMSIGN\n a signed bundle";

	assert_non_null(f);
	assert_int_equal(dsm_pki_ca_create(CLUSTER, now, 86400 * 30, &f->ca), 0);
	assert_int_equal(dsm_pki_ca_create(CLUSTER, now, 86400 * 30, &f->other_ca), 0);
	assert_int_equal(dsm_pki_ca_create("c2", now, 86400 * 30, &f->other_cluster), 0);
	assert_int_equal(dsm_pki_key_new(&f->key), 0);
	f->cert = issue(&f->ca, DSM_ROLE_SERVER, f->key, now);
	f->foreign = issue(&f->other_ca, DSM_ROLE_SERVER, f->key, now);
	f->node = issue(&f->ca, DSM_ROLE_NODE, f->key, now);
	f->elsewhere = issue(&f->other_cluster, DSM_ROLE_SERVER, f->key, now);
	f->now_ms = (uint64_t)now * 1000;
	assert_int_equal(dsm_fresh_digest(bundle, sizeof(bundle), f->digest), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->cert);
	X509_free(f->foreign);
	X509_free(f->node);
	X509_free(f->elsewhere);
	EVP_PKEY_free(f->key);
	dsm_pki_ca_free(&f->ca);
	dsm_pki_ca_free(&f->other_ca);
	dsm_pki_ca_free(&f->other_cluster);
	free(f);
	return 0;
}

/* A statement for version 5 of f->digest, issued now, valid an hour. */
static uint8_t *good(struct fx *f, size_t *len)
{
	uint8_t *b = NULL;

	assert_int_equal(dsm_fresh_write(f->key, f->cert, CLUSTER, 5, f->digest, f->now_ms,
					 f->now_ms + 3600000, &b, len), 0);
	return b;
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct dsm_fresh_info info;
	size_t len = 0;
	uint8_t *b = good(f, &len);

	assert_int_equal(dsm_fresh_verify(b, len, f->ca.cert, CLUSTER, &info), 0);
	assert_string_equal(info.cluster, CLUSTER);
	assert_string_equal(info.server, "srv");
	assert_int_equal(info.version, 5);
	assert_memory_equal(info.digest, f->digest, DSM_FRESH_DIGEST_LEN);
	assert_true(info.issued_ms == f->now_ms);
	assert_true(info.expires_ms == f->now_ms + 3600000);
	assert_true(len <= DSM_FRESH_MAX_SIZE);
	assert_int_equal(dsm_fresh_check_time(&info, f->now_ms, DSM_FRESH_SKEW_MS), 0);
	free(b);
}

static void test_wrong_signer(void **state)
{
	struct fx *f = *state;
	struct dsm_fresh_info info;
	size_t len = 0;
	uint8_t *b = good(f, &len);

	/* The node pinned another CA of the same cluster name. */
	assert_int_equal(dsm_fresh_verify(b, len, f->other_ca.cert, CLUSTER, &info),
			 -EKEYREJECTED);
	assert_int_equal(info.version, 0); /* nothing reported */
	/* A node expecting another cluster: the certificate is not of it. */
	assert_int_equal(dsm_fresh_verify(b, len, f->ca.cert, "c2", &info), -EKEYREJECTED);
	free(b);
	/* Signed by a certificate of another CA, checked against ours. */
	assert_int_equal(dsm_fresh_write(f->key, f->foreign, CLUSTER, 5, f->digest, f->now_ms,
					 f->now_ms + 1000, &b, &len), 0);
	assert_int_equal(dsm_fresh_verify(b, len, f->ca.cert, CLUSTER, &info), -EKEYREJECTED);
	free(b);
	/* The writer refuses a node certificate, one of another cluster, a key
	 * that is not the certificate's; so the reader never meets them from
	 * dsm, and refuses them anyway (below, by flipping bytes). */
	assert_int_equal(dsm_fresh_write(f->key, f->node, CLUSTER, 5, f->digest, f->now_ms,
					 f->now_ms + 1000, &b, &len), -EINVAL);
	assert_int_equal(dsm_fresh_write(f->key, f->elsewhere, CLUSTER, 5, f->digest, f->now_ms,
					 f->now_ms + 1000, &b, &len), -EINVAL);
	{
		EVP_PKEY *other = NULL;

		assert_int_equal(dsm_pki_key_new(&other), 0);
		assert_int_equal(dsm_fresh_write(other, f->cert, CLUSTER, 5, f->digest, f->now_ms,
						 f->now_ms + 1000, &b, &len), -EINVAL);
		EVP_PKEY_free(other);
	}
	/* Outside the certificate's validity (24 h), and the fields. */
	assert_int_equal(dsm_fresh_write(f->key, f->cert, CLUSTER, 5, f->digest, f->now_ms,
					 f->now_ms + 2 * 86400000ull, &b, &len), -EINVAL);
	assert_int_equal(dsm_fresh_write(f->key, f->cert, CLUSTER, 0, f->digest, f->now_ms,
					 f->now_ms + 1000, &b, &len), -EINVAL);
	assert_int_equal(dsm_fresh_write(f->key, f->cert, CLUSTER, 5, f->digest, f->now_ms,
					 f->now_ms, &b, &len), -EINVAL);
	assert_int_equal(dsm_fresh_write(f->key, f->cert, "C1", 5, f->digest, f->now_ms,
					 f->now_ms + 1000, &b, &len), -EINVAL);
}

/* A node certificate in the statement, signed by its (own) key: refused. */
static void test_node_certificate_refused(void **state)
{
	struct fx *f = *state;
	size_t len = 0, nlen;
	uint8_t *b = good(f, &len), *n, *der = NULL;
	struct dsm_fresh_info info;
	int dlen = i2d_X509(f->node, &der);
	const size_t clen = strlen(CLUSTER), old = (size_t)(b[69] | b[70] << 8);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64, msglen;
	uint8_t *msg;

	assert_true(dlen > 0);
	nlen = len - old + (size_t)dlen;
	n = malloc(nlen > len ? nlen : len);
	memcpy(n, b, DSM_FRESH_HDR_LEN + clen);
	n[69] = (uint8_t)dlen;
	n[70] = (uint8_t)(dlen >> 8);
	memcpy(n + DSM_FRESH_HDR_LEN + clen, der, (size_t)dlen);
	msglen = DSM_FRESH_DOMAIN_LEN + nlen - 64;
	msg = malloc(msglen);
	memcpy(msg, DSM_FRESH_DOMAIN, DSM_FRESH_DOMAIN_LEN);
	memcpy(msg + DSM_FRESH_DOMAIN_LEN, n, nlen - 64);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, f->key), 1);
	assert_int_equal(EVP_DigestSign(ctx, n + nlen - 64, &siglen, msg, msglen), 1);
	assert_int_equal(dsm_fresh_verify(n, nlen, f->ca.cert, CLUSTER, &info), -EKEYREJECTED);
	/* The same bytes with the server certificate verify: the test can fail. */
	memcpy(n, b, len);
	assert_int_equal(dsm_fresh_verify(n, len, f->ca.cert, CLUSTER, &info), 0);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	free(msg);
	free(n);
	free(b);
}

static void test_every_byte_and_length(void **state)
{
	struct fx *f = *state;
	struct dsm_fresh_info info;
	size_t len = 0;
	uint8_t *b = good(f, &len), *c = malloc(len + 1);

	for (size_t i = 0; i < len; i++) {
		memcpy(c, b, len);
		c[i] ^= 0x01;
		assert_int_not_equal(dsm_fresh_verify(c, len, f->ca.cert, CLUSTER, &info), 0);
	}
	for (size_t n = 0; n < len; n++)
		assert_int_equal(dsm_fresh_verify(b, n, f->ca.cert, CLUSTER, &info), -EBADMSG);
	memcpy(c, b, len);
	c[len] = 0;
	assert_int_equal(dsm_fresh_verify(c, len + 1, f->ca.cert, CLUSTER, &info), -EBADMSG);
	/* format and flags */
	memcpy(c, b, len);
	c[8] = 2;
	assert_int_equal(dsm_fresh_verify(c, len, f->ca.cert, CLUSTER, &info), -EPROTONOSUPPORT);
	memcpy(c, b, len);
	c[10] = 1;
	assert_int_equal(dsm_fresh_verify(c, len, f->ca.cert, CLUSTER, &info), -EPROTONOSUPPORT);
	/* a changed version or digest: the signature no longer verifies */
	memcpy(c, b, len);
	c[12] ^= 0x40;
	assert_int_equal(dsm_fresh_verify(c, len, f->ca.cert, CLUSTER, &info), -EKEYREJECTED);
	memcpy(c, b, len);
	c[20] ^= 0x40;
	assert_int_equal(dsm_fresh_verify(c, len, f->ca.cert, CLUSTER, &info), -EKEYREJECTED);
	free(c);
	free(b);
}

/* The cluster name is its bytes: "c1\0z", signed by the right key, is not
 * "c1" (a C string of it would say so; found by fuzz_policy_fresh). */
static void test_cluster_name_with_nul(void **state)
{
	struct fx *f = *state;
	struct dsm_fresh_info info;
	size_t len = 0, total, siglen = DSM_FRESH_SIG_LEN;
	uint8_t *b = good(f, &len), *e, *msg;
	const size_t clen = strlen(CLUSTER), rest = len - DSM_FRESH_HDR_LEN - clen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* header, "c1\0z", the certificate, a new signature over it all */
	total = len + 2;
	e = malloc(total);
	msg = malloc(DSM_FRESH_DOMAIN_LEN + total);
	assert_non_null(e);
	assert_non_null(msg);
	assert_non_null(ctx);
	memcpy(e, b, DSM_FRESH_HDR_LEN);
	e[68] = (uint8_t)(clen + 2); /* the cluster name's length */
	memcpy(e + DSM_FRESH_HDR_LEN, CLUSTER "\0z", clen + 2);
	memcpy(e + DSM_FRESH_HDR_LEN + clen + 2, b + DSM_FRESH_HDR_LEN + clen,
	       rest - DSM_FRESH_SIG_LEN);
	memcpy(msg, DSM_FRESH_DOMAIN, DSM_FRESH_DOMAIN_LEN);
	memcpy(msg + DSM_FRESH_DOMAIN_LEN, e, total - DSM_FRESH_SIG_LEN);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, f->key), 1);
	assert_int_equal(EVP_DigestSign(ctx, e + total - DSM_FRESH_SIG_LEN, &siglen, msg,
					DSM_FRESH_DOMAIN_LEN + total - DSM_FRESH_SIG_LEN), 1);
	assert_int_equal(dsm_fresh_verify(e, total, f->ca.cert, CLUSTER, &info), -EBADMSG);
	assert_int_equal(info.version, 0);
	EVP_MD_CTX_free(ctx);
	free(msg);
	free(e);
	free(b);
}

static void test_time(void **state)
{
	struct fx *f = *state;
	struct dsm_fresh_info info;
	size_t len = 0;
	uint8_t *b = good(f, &len);

	assert_int_equal(dsm_fresh_verify(b, len, f->ca.cert, CLUSTER, &info), 0);
	/* expired: at and after expires_ms */
	assert_int_equal(dsm_fresh_check_time(&info, f->now_ms + 3600000, 0), -ETIME);
	assert_int_equal(dsm_fresh_check_time(&info, f->now_ms + 3599999, 0), 0);
	/* in the future: within the skew is fine, beyond it refused */
	assert_int_equal(dsm_fresh_check_time(&info, f->now_ms - DSM_FRESH_SKEW_MS,
					      DSM_FRESH_SKEW_MS), 0);
	assert_int_equal(dsm_fresh_check_time(&info, f->now_ms - DSM_FRESH_SKEW_MS - 1,
					      DSM_FRESH_SKEW_MS), -ERANGE);
	free(b);
	/* One signed an hour ahead, as a server with a wrong clock would. */
	assert_int_equal(dsm_fresh_write(f->key, f->cert, CLUSTER, 5, f->digest,
					 f->now_ms + 3600000, f->now_ms + 7200000, &b, &len), 0);
	assert_int_equal(dsm_fresh_verify(b, len, f->ca.cert, CLUSTER, &info), 0);
	assert_int_equal(dsm_fresh_check_time(&info, f->now_ms, DSM_FRESH_SKEW_MS), -ERANGE);
	free(b);
}

static void test_match(void **state)
{
	struct fx *f = *state;
	static const uint8_t bundle[] = "DSMSIGN\n a signed bundle";
	static const uint8_t other[] = "DSMSIGN\n another bundle!";
	struct dsm_fresh_info info;
	size_t len = 0;
	uint8_t *b = good(f, &len);

	assert_int_equal(dsm_fresh_verify(b, len, f->ca.cert, CLUSTER, &info), 0);
	assert_int_equal(dsm_fresh_match(&info, 5, bundle, sizeof(bundle)), 0);
	assert_int_equal(dsm_fresh_match(&info, 5, other, sizeof(other)), -EILSEQ);
	assert_int_equal(dsm_fresh_match(&info, 4, bundle, sizeof(bundle)), -EAGAIN);
	assert_int_equal(dsm_fresh_match(&info, 6, bundle, sizeof(bundle)), -ESTALE);
	assert_string_equal(dsm_fresh_strerror(-EAGAIN),
			    "about a newer policy version than the one in force");
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_signer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_certificate_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_byte_and_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_name_with_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
