// SPDX-License-Identifier: GPL-2.0
/*
 * Signed policy bundles: a round trip; every flipped byte, truncation and
 * trailing byte refused; another key, an altered signature, another
 * cluster, a rollback and an expired envelope each refused with their own
 * result; fields a signer could get wrong (version, name, period) refused
 * even when signed; key files (modes, wrong kinds, no replacing); and
 * dsmctl policy keygen/sign/verify run as the built binary.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "policy.h"
#include "policy_sign.h"

#define SRC(version) \
	"policy sign-test version " version ";\n" \
	"label init = 1; label web = 10;\n" \
	"node n1 = 1;\n" \
	"initial init;\n" \
	"allow web@n1 init : peer recv;\n" \
	"unlabeled 10.0.0.0/8 -> web;\n"

#define CLUSTER "prod-1"
#define ISSUED  1700000000ull
#define EXPIRES (ISSUED + 86400)

/* Envelope offsets, as docs/policy.md gives them. */
#define OFF_FORMAT  8
#define OFF_FLAGS   10
#define OFF_KEY_ID  12
#define OFF_VERSION 44
#define OFF_ISSUED  52
#define OFF_EXPIRES 60
#define OFF_BLEN    68
#define OFF_CLEN    72
#define OFF_NLEN    73
#define OFF_NAMES   74

static const uint8_t seed_a[DSM_SIGN_SEED_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t seed_b[DSM_SIGN_SEED_LEN] = { 8, 7, 6, 5, 4, 3, 2, 1 };

struct fixture {
	struct dsm_sign_key *key;
	struct dsm_sign_pubkey *pub;
	uint8_t *bundle, *env;
	size_t blen, elen;
};

static uint8_t *make_bundle(const char *src, size_t *len)
{
	struct dsm_policy *p = NULL;
	uint8_t *buf = NULL;

	assert_int_equal(dsm_policy_compile("s.policy", src, strlen(src), &p, NULL), 0);
	assert_int_equal(dsm_bundle_write(p, &buf, len), 0);
	dsm_policy_free(p);
	return buf;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(dsm_sign_key_from_seed(seed_a, &f->key), 0);
	assert_int_equal(dsm_sign_key_public(f->key, &f->pub), 0);
	f->bundle = make_bundle(SRC("7"), &f->blen);
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, CLUSTER, ISSUED, EXPIRES,
					  &f->env, &f->elen), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dsm_sign_key_free(f->key);
	dsm_sign_pubkey_free(f->pub);
	free(f->bundle);
	free(f->env);
	free(f);
	return 0;
}

static int verify(const struct fixture *f, const uint8_t *buf, size_t len)
{
	struct dsm_policy *p = NULL;
	int r = dsm_signed_verify(buf, len, f->pub, CLUSTER, 0, ISSUED, NULL, &p);

	if (r)
		assert_null(p);
	dsm_policy_free(p);
	return r;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Sign an altered envelope again with the test key, as a signer with a
 * bug (or a stolen key) would. */
static void resign(const struct fixture *f, uint8_t *buf, size_t len)
{
	assert_int_equal(dsm_signed_sign_body(f->key, buf, len - DSM_SIGN_SIG_LEN,
					      buf + len - DSM_SIGN_SIG_LEN), 0);
}

static uint8_t *copy(const uint8_t *b, size_t len)
{
	uint8_t *c = malloc(len + 1);

	assert_non_null(c);
	memcpy(c, b, len);
	return c;
}

/* ---- envelopes ---------------------------------------------------------- */

static void test_round_trip(void **state)
{
	const struct fixture *f = *state;
	uint8_t id[DSM_SIGN_KEY_ID_LEN], *again = NULL;
	struct dsm_signed_info info;
	struct dsm_policy *p = NULL;
	size_t again_len = 0;

	assert_int_equal(f->elen, OFF_NAMES + strlen(CLUSTER) + strlen("sign-test") + f->blen +
				  DSM_SIGN_SIG_LEN);
	assert_memory_equal(f->env, "DSMSIGN\n", 8);
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 6, ISSUED, &info, &p),
			 0);
	assert_non_null(p);
	assert_string_equal(dsm_policy_name(p), "sign-test");
	assert_int_equal(dsm_policy_version(p), 7);
	dsm_policy_free(p);

	dsm_sign_pubkey_id(f->pub, id);
	assert_memory_equal(info.key_id, id, sizeof(id));
	assert_string_equal(info.cluster, CLUSTER);
	assert_string_equal(info.policy, "sign-test");
	assert_int_equal(info.version, 7);
	assert_int_equal(info.issued_at, ISSUED);
	assert_int_equal(info.expires_at, EXPIRES);
	assert_ptr_equal(info.bundle, f->env + OFF_NAMES + strlen(CLUSTER) + strlen("sign-test"));
	assert_int_equal(info.bundle_len, f->blen);
	assert_memory_equal(info.bundle, f->bundle, f->blen);

	/* Ed25519 is deterministic: one input, one envelope. */
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, CLUSTER, ISSUED, EXPIRES,
					  &again, &again_len), 0);
	assert_int_equal(again_len, f->elen);
	assert_memory_equal(again, f->env, f->elen);
	free(again);

	/* policy_out and info are optional. */
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 0, ISSUED, NULL, NULL),
			 0);
}

static void test_every_byte_flip(void **state)
{
	const struct fixture *f = *state;
	uint8_t *b = copy(f->env, f->elen);
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };

	for (size_t i = 0; i < f->elen; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			int r;

			b[i] ^= masks[m];
			r = verify(f, b, f->elen);
			if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOKEY &&
			    r != -EKEYREJECTED)
				fail_msg("byte %zu ^ 0x%02x: result %d", i, masks[m], r);
			if (i >= OFF_KEY_ID && i < OFF_KEY_ID + DSM_SIGN_KEY_ID_LEN)
				assert_int_equal(r, -ENOKEY);
			if (i >= f->elen - DSM_SIGN_SIG_LEN)
				assert_int_equal(r, -EKEYREJECTED);
			b[i] ^= masks[m];
		}
	}
	assert_int_equal(verify(f, b, f->elen), 0);
	free(b);
}

static void test_truncated(void **state)
{
	const struct fixture *f = *state;

	for (size_t len = 0; len < f->elen; len++) {
		uint8_t *b = copy(f->env, len ? len : 1);

		assert_int_equal(verify(f, b, len), -EBADMSG);
		free(b);
	}
}

static void test_trailing_byte(void **state)
{
	const struct fixture *f = *state;
	uint8_t *b = copy(f->env, f->elen);

	b[f->elen] = 0;
	assert_int_equal(verify(f, b, f->elen + 1), -EBADMSG);
	/* Even re-signed over the extra byte: the lengths must add up. */
	resign(f, b, f->elen + 1);
	assert_int_equal(verify(f, b, f->elen + 1), -EBADMSG);
	free(b);
}

static void test_wrong_key(void **state)
{
	const struct fixture *f = *state;
	struct dsm_sign_pubkey *other = NULL;
	struct dsm_signed_info info;
	struct dsm_sign_key *kb = NULL;

	assert_int_equal(dsm_sign_key_from_seed(seed_b, &kb), 0);
	assert_int_equal(dsm_sign_key_public(kb, &other), 0);
	assert_int_equal(dsm_signed_verify(f->env, f->elen, other, CLUSTER, 0, ISSUED, &info, NULL),
			 -ENOKEY);
	/* Nothing is reported from an envelope that is not authentic. */
	assert_int_equal(info.version, 0);
	assert_string_equal(info.cluster, "");
	dsm_sign_pubkey_free(other);
	dsm_sign_key_free(kb);
}

/* Ed25519 by key A over the body alone, as another protocol signing the
 * same bytes would. */
static void sign_without_domain(uint8_t *buf, size_t len)
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed_a,
						    sizeof(seed_a));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = DSM_SIGN_SIG_LEN;

	assert_non_null(pk);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, buf + len - DSM_SIGN_SIG_LEN, &siglen, buf,
					len - DSM_SIGN_SIG_LEN), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
}

static void test_altered_signature(void **state)
{
	const struct fixture *f = *state;
	uint8_t *b = copy(f->env, f->elen), *other;
	struct dsm_sign_key *kb = NULL;
	size_t olen = 0;

	b[f->elen - 1] ^= 0x40;
	assert_int_equal(verify(f, b, f->elen), -EKEYREJECTED);

	/* Key id of key A, signature by key B over the very same body. */
	memcpy(b, f->env, f->elen);
	assert_int_equal(dsm_sign_key_from_seed(seed_b, &kb), 0);
	assert_int_equal(dsm_signed_sign_body(kb, b, f->elen - DSM_SIGN_SIG_LEN,
					      b + f->elen - DSM_SIGN_SIG_LEN), 0);
	assert_int_equal(verify(f, b, f->elen), -EKEYREJECTED);

	/* A valid signature of another envelope (another cluster). */
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, "prod-2", ISSUED, EXPIRES,
					  &other, &olen), 0);
	assert_int_equal(olen, f->elen);
	memcpy(b, f->env, f->elen);
	memcpy(b + f->elen - DSM_SIGN_SIG_LEN, other + olen - DSM_SIGN_SIG_LEN, DSM_SIGN_SIG_LEN);
	assert_int_equal(verify(f, b, f->elen), -EKEYREJECTED);

	/* A signature of the body without the domain string is not one. */
	memcpy(b, f->env, f->elen);
	sign_without_domain(b, f->elen);
	assert_int_equal(verify(f, b, f->elen), -EKEYREJECTED);
	free(other);
	free(b);
	dsm_sign_key_free(kb);
}

static void test_wrong_cluster(void **state)
{
	const struct fixture *f = *state;
	static const char *const others[] = { "prod-2", "prod-", "prod-10", "PROD-1", "x" };
	struct dsm_signed_info info;

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, others[i], 0, ISSUED,
						   &info, NULL), -EXDEV);
		/* Authentic, so reported for what it says. */
		assert_string_equal(info.cluster, CLUSTER);
		assert_int_equal(info.version, 7);
	}
}

static void test_rollback(void **state)
{
	const struct fixture *f = *state;
	struct dsm_signed_info info;
	struct dsm_policy *p = NULL;

	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 7, ISSUED, &info, &p),
			 -ESTALE);
	assert_null(p);
	assert_int_equal(info.version, 7);
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 8, ISSUED, NULL, NULL),
			 -ESTALE);
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, UINT64_MAX, ISSUED,
					   NULL, NULL), -ESTALE);
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 6, ISSUED, NULL, NULL),
			 0);
}

static void test_expiry(void **state)
{
	const struct fixture *f = *state;
	struct dsm_signed_info info;
	struct dsm_policy *p = NULL;

	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 0, EXPIRES - 1, &info,
					   &p), 0);
	dsm_policy_free(p);
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 0, EXPIRES, &info, &p),
			 -ETIME);
	assert_null(p);
	assert_int_equal(info.expires_at, EXPIRES);
	assert_int_equal(info.version, 7);
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 0, UINT64_MAX, NULL,
					   NULL), -ETIME);
	/* Before issued_at is not refused: clocks differ, expiry is the bound. */
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 0, 0, NULL, NULL), 0);
	/* Rollback is reported before expiry: it is the graver alarm. */
	assert_int_equal(dsm_signed_verify(f->env, f->elen, f->pub, CLUSTER, 7, EXPIRES, NULL,
					   NULL), -ESTALE);
}

/* The envelope version is read from the bundle: no way to make them
 * differ through the API, and a forged one is refused. */
static void test_version_mismatch(void **state)
{
	const struct fixture *f = *state;
	uint8_t *b = copy(f->env, f->elen);

	assert_int_equal(f->env[OFF_VERSION], 7);
	put_le(b + OFF_VERSION, 8, 8);
	assert_int_equal(verify(f, b, f->elen), -EKEYREJECTED);
	resign(f, b, f->elen);
	assert_int_equal(verify(f, b, f->elen), -EBADMSG);
	put_le(b + OFF_VERSION, 6, 8);
	resign(f, b, f->elen);
	assert_int_equal(verify(f, b, f->elen), -EBADMSG);
	free(b);
}

/* Signed but wrong: each field the reader trusts after the signature. */
static void test_forged_fields(void **state)
{
	const struct fixture *f = *state;
	size_t name_at = OFF_NAMES + strlen(CLUSTER), bundle_at = name_at + strlen("sign-test");
	uint8_t *b = copy(f->env, f->elen);

#define FORGE(stmt, want)                                  \
	do {                                               \
		memcpy(b, f->env, f->elen);                \
		stmt;                                      \
		resign(f, b, f->elen);                     \
		assert_int_equal(verify(f, b, f->elen), want); \
	} while (0)

	FORGE((void)0, 0);
	FORGE(b[name_at] = 'S', -EBADMSG);                     /* another policy name */
	FORGE(b[name_at] = '!', -EBADMSG);                     /* not a valid name */
	FORGE(b[OFF_NAMES] = ' ', -EBADMSG);                   /* not a valid cluster */
	FORGE(b[OFF_NAMES] = 0x7f, -EBADMSG);
	FORGE(put_le(b + OFF_EXPIRES, ISSUED, 8), -EBADMSG);   /* empty period */
	FORGE(put_le(b + OFF_EXPIRES, ISSUED - 1, 8), -EBADMSG);
	FORGE(b[bundle_at + 50] ^= 1, -EBADMSG);               /* inner digest */
	FORGE(b[bundle_at + 8] ^= 1, -EPROTONOSUPPORT);        /* inner format */
	FORGE(put_le(b + OFF_FORMAT, 2, 2), -EPROTONOSUPPORT); /* envelope format */
	FORGE(put_le(b + OFF_FLAGS, 1, 2), -EPROTONOSUPPORT);
	FORGE(put_le(b + OFF_BLEN, f->blen + 1, 4), -EBADMSG); /* lengths that do not add up */
	FORGE(b[OFF_CLEN]--, -EBADMSG);
	FORGE(b[OFF_NLEN] = 0, -EBADMSG);
#undef FORGE
	free(b);
}

static void test_write_refuses(void **state)
{
	const struct fixture *f = *state;
	char longname[DSM_SIGN_CLUSTER_MAX + 2];
	uint8_t *out = NULL, *zero, *bad;
	size_t olen = 0, zlen;

	memset(longname, 'c', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, longname, ISSUED, EXPIRES,
					  &out, &olen), -EINVAL);
	longname[DSM_SIGN_CLUSTER_MAX] = '\0';
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, longname, ISSUED, EXPIRES,
					  &out, &olen), 0);
	assert_int_equal(verify(f, out, olen), -EXDEV);
	free(out);
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, "", ISSUED, EXPIRES, &out,
					  &olen), -EINVAL);
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, "a b", ISSUED, EXPIRES, &out,
					  &olen), -EINVAL);
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, "a\n", ISSUED, EXPIRES, &out,
					  &olen), -EINVAL);
	assert_int_equal(dsm_signed_write(f->bundle, f->blen, f->key, CLUSTER, ISSUED, ISSUED,
					  &out, &olen), -EINVAL);
	assert_null(out);

	zero = make_bundle(SRC("0"), &zlen);
	assert_int_equal(dsm_signed_write(zero, zlen, f->key, CLUSTER, ISSUED, EXPIRES, &out,
					  &olen), -EINVAL);
	free(zero);

	bad = copy(f->bundle, f->blen);
	bad[f->blen - 1] ^= 1;
	assert_int_equal(dsm_signed_write(bad, f->blen, f->key, CLUSTER, ISSUED, EXPIRES, &out,
					  &olen), -EBADMSG);
	assert_int_equal(dsm_signed_write(bad, 10, f->key, CLUSTER, ISSUED, EXPIRES, &out, &olen),
			 -EBADMSG);
	assert_null(out);
	assert_int_equal(olen, 0);
	free(bad);
}

static void test_strerror(void **state)
{
	static const int codes[] = { -EBADMSG, -EPROTONOSUPPORT, -ENOKEY, -EKEYREJECTED,
				     -EXDEV, -ESTALE, -ETIME };
	(void)state;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(dsm_signed_strerror(codes[i]),
						dsm_signed_strerror(codes[j]));
	assert_non_null(strstr(dsm_signed_strerror(-ESTALE), "rollback"));
	assert_non_null(strstr(dsm_signed_strerror(-ETIME), "expired"));
	assert_string_equal(dsm_signed_strerror(-ENOMEM), strerror(ENOMEM));
}

/* ---- key files ---------------------------------------------------------- */

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static char *in(const char *dir, const char *name)
{
	static char bufs[8][512];
	static unsigned int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_key_files(void **state)
{
	char dir[] = "/tmp/dsm-sign-keys-XXXXXX";
	uint8_t id1[DSM_SIGN_KEY_ID_LEN], id2[DSM_SIGN_KEY_ID_LEN], id3[DSM_SIGN_KEY_ID_LEN];
	struct dsm_sign_key *k = NULL, *k2 = NULL;
	struct dsm_sign_pubkey *pub = NULL;
	struct fixture f2 = { 0 };
	uint8_t *env = NULL;
	size_t elen = 0;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(dsm_sign_key_generate(&k), 0);
	assert_int_equal(dsm_sign_key_write_file(k, in(dir, "k.pem")), 0);
	assert_int_equal(dsm_sign_pubkey_write_file(k, in(dir, "k.pub")), 0);
	assert_int_equal(mode_of(in(dir, "k.pem")), 0600);
	assert_int_equal(mode_of(in(dir, "k.pub")), 0644);
	/* No file left behind by the atomic write, nothing replaced. */
	assert_int_equal(dsm_sign_key_write_file(k, in(dir, "k.pem")), -EEXIST);
	assert_int_equal(dsm_sign_pubkey_write_file(k, in(dir, "k.pub")), -EEXIST);

	assert_int_equal(dsm_sign_key_read_file(in(dir, "k.pem"), &k2), 0);
	assert_int_equal(dsm_sign_pubkey_read_file(in(dir, "k.pub"), &pub), 0);
	dsm_sign_key_id(k, id1);
	dsm_sign_key_id(k2, id2);
	dsm_sign_pubkey_id(pub, id3);
	assert_memory_equal(id1, id2, sizeof(id1));
	assert_memory_equal(id1, id3, sizeof(id1));

	/* Signed with the key read back, verified with the public file. */
	f2.bundle = make_bundle(SRC("3"), &f2.blen);
	assert_int_equal(dsm_signed_write(f2.bundle, f2.blen, k2, CLUSTER, ISSUED, EXPIRES, &env,
					  &elen), 0);
	assert_int_equal(dsm_signed_verify(env, elen, pub, CLUSTER, 2, ISSUED, NULL, NULL), 0);
	assert_int_equal(dsm_signed_write_file(in(dir, "s.signed"), env, elen), 0);
	free(env);
	assert_int_equal(dsm_signed_read_file(in(dir, "s.signed"), &env, &elen), 0);
	assert_int_equal(dsm_signed_verify(env, elen, pub, CLUSTER, 2, ISSUED, NULL, NULL), 0);
	free(env);
	dsm_sign_key_free(k2);
	k2 = NULL;

	/* A private key others may read, or only the group, is refused. */
	assert_int_equal(chmod(in(dir, "k.pem"), 0644), 0);
	assert_int_equal(dsm_sign_key_read_file(in(dir, "k.pem"), &k2), -EACCES);
	assert_null(k2);
	assert_int_equal(chmod(in(dir, "k.pem"), 0640), 0);
	assert_int_equal(dsm_sign_key_read_file(in(dir, "k.pem"), &k2), -EACCES);
	assert_int_equal(chmod(in(dir, "k.pem"), 0604), 0);
	assert_int_equal(dsm_sign_key_read_file(in(dir, "k.pem"), &k2), -EACCES);
	assert_int_equal(chmod(in(dir, "k.pem"), 0400), 0);
	assert_int_equal(dsm_sign_key_read_file(in(dir, "k.pem"), &k2), 0);
	dsm_sign_key_free(k2);
	k2 = NULL;

	/* The wrong kind of file. */
	assert_int_equal(chmod(in(dir, "k.pub"), 0600), 0);
	assert_int_equal(dsm_sign_key_read_file(in(dir, "k.pub"), &k2), -EBADMSG);
	dsm_sign_pubkey_free(pub);
	pub = NULL;
	assert_int_equal(dsm_sign_pubkey_read_file(in(dir, "k.pem"), &pub), -EBADMSG);
	assert_int_equal(dsm_sign_key_read_file(dir, &k2), -EINVAL);
	assert_int_equal(dsm_sign_key_read_file(in(dir, "none"), &k2), -ENOENT);
	{
		EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		FILE *fp = fopen(in(dir, "ec.pem"), "w");

		assert_non_null(ec);
		assert_non_null(fp);
		assert_int_equal(chmod(in(dir, "ec.pem"), 0600), 0);
		assert_int_equal(PEM_write_PrivateKey(fp, ec, NULL, NULL, 0, NULL, NULL), 1);
		assert_int_equal(PEM_write_PUBKEY(fp, ec), 1);
		fclose(fp);
		EVP_PKEY_free(ec);
		assert_int_equal(dsm_sign_key_read_file(in(dir, "ec.pem"), &k2), -EBADMSG);
		assert_int_equal(dsm_sign_pubkey_read_file(in(dir, "ec.pem"), &pub), -EBADMSG);
	}
	assert_null(k2);
	assert_null(pub);

	free(f2.bundle);
	dsm_sign_key_free(k);
	rm_tree(dir);
}

/* ---- dsmctl ------------------------------------------------------------- */

struct run {
	int status;
	char out[4096], err[4096];
};

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Run the built dsmctl with args (NULL-terminated) in dir. */
static void dsmctl(struct run *r, const char *dir, const char *const *args)
{
	const char *build = getenv("DSM_BUILD");
	char bin[8192], cwd[4096], o[] = "/tmp/dsmctl-out-XXXXXX", e[] = "/tmp/dsmctl-err-XXXXXX";
	const char *argv[16] = { "dsmctl" };
	int ofd = mkstemp(o), efd = mkstemp(e), st = 0;
	pid_t pid;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	if (build && build[0] == '/')
		snprintf(bin, sizeof(bin), "%s/dsmctl", build);
	else
		snprintf(bin, sizeof(bin), "%s/%s/dsmctl", cwd, build && *build ? build : "build");
	if (access(bin, X_OK))
		fail_msg("%s not built (run make)", bin);
	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = args[i];
	}
	assert_true(ofd >= 0 && efd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(ofd, 1) < 0 || dup2(efd, 2) < 0 || chdir(dir))
			_exit(99);
		execv(bin, (char *const *)argv);
		_exit(98);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
	slurp(ofd, r->out, sizeof(r->out));
	slurp(efd, r->err, sizeof(r->err));
	unlink(o);
	unlink(e);
}

#define DSMCTL(r, dir, ...) dsmctl(r, dir, (const char *const[]){ __VA_ARGS__, NULL })

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void test_dsmctl_sign_verify(void **state)
{
	char dir[] = "/tmp/dsm-sign-cli-XXXXXX";
	struct run r;
	(void)state;

	assert_non_null(mkdtemp(dir));
	write_text(in(dir, "p.policy"), SRC("5"));

	DSMCTL(&r, dir, "policy", "keygen", "k.pem", "k.pub");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "key id "));
	assert_string_equal(r.err, "");
	assert_int_equal(mode_of(in(dir, "k.pem")), 0600);

	DSMCTL(&r, dir, "policy", "keygen", "k.pem", "other.pub");
	assert_int_equal(r.status, 1);
	assert_int_equal(lines(r.err), 1);
	assert_int_equal(access(in(dir, "other.pub"), F_OK), -1);

	/* From source. */
	DSMCTL(&r, dir, "policy", "sign", "p.policy", "--key", "k.pem", "--cluster", CLUSTER,
	       "--expires", "1h", "-o", "p.signed");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "policy sign-test version 5 for cluster " CLUSTER));
	assert_string_equal(r.err, "");

	DSMCTL(&r, dir, "policy", "verify", "p.signed", "--pubkey", "k.pub", "--cluster", CLUSTER,
	       "--after-version", "4");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "p.signed: ok: policy sign-test version 5 for cluster "
				      CLUSTER));
	assert_int_equal(lines(r.out), 1);
	assert_string_equal(r.err, "");

	/* From a bundle, signed as it is. */
	DSMCTL(&r, dir, "policy", "compile", "p.policy", "-o", "p.bundle");
	assert_int_equal(r.status, 0);
	DSMCTL(&r, dir, "policy", "sign", "p.bundle", "--key=k.pem", "--cluster=" CLUSTER,
	       "--output=b.signed");
	assert_int_equal(r.status, 0);
	DSMCTL(&r, dir, "policy", "verify", "--cluster", CLUSTER, "--pubkey", "k.pub", "b.signed");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "expires "));

	rm_tree(dir);
}

static void test_dsmctl_refusals(void **state)
{
	char dir[] = "/tmp/dsm-sign-cli-XXXXXX";
	struct run r;
	(void)state;

	assert_non_null(mkdtemp(dir));
	write_text(in(dir, "p.policy"), SRC("5"));
	DSMCTL(&r, dir, "policy", "keygen", "k.pem", "k.pub");
	assert_int_equal(r.status, 0);
	DSMCTL(&r, dir, "policy", "keygen", "o.pem", "o.pub");
	assert_int_equal(r.status, 0);
	DSMCTL(&r, dir, "policy", "sign", "p.policy", "--key", "k.pem", "--cluster", CLUSTER, "-o",
	       "p.signed");
	assert_int_equal(r.status, 0);

	/* Each refusal: exit 1, one line on standard error, nothing else. */
#define REFUSED(want_status, want_err, ...)                          \
	do {                                                         \
		DSMCTL(&r, dir, __VA_ARGS__);                        \
		assert_int_equal(r.status, want_status);             \
		assert_string_equal(r.out, "");                      \
		assert_int_equal(lines(r.err), 1);                   \
		assert_non_null(strstr(r.err, "dsmctl: "));          \
		if (!strstr(r.err, want_err))                        \
			fail_msg("stderr '%s' lacks '%s'", r.err, want_err); \
	} while (0)

	REFUSED(1, "rollback: policy sign-test version 5 is not newer than version 5", "policy",
		"verify", "p.signed", "--pubkey", "k.pub", "--cluster", CLUSTER, "--after-version",
		"5");
	REFUSED(1, "signed for cluster '" CLUSTER "', not 'prod-2'", "policy", "verify",
		"p.signed", "--pubkey", "k.pub", "--cluster", "prod-2");
	REFUSED(1, "not signed by the key in o.pub", "policy", "verify", "p.signed", "--pubkey",
		"o.pub", "--cluster", CLUSTER);
	REFUSED(1, "not a PEM Ed25519 key", "policy", "verify", "p.signed", "--pubkey", "p.policy",
		"--cluster", CLUSTER);
	REFUSED(1, "malformed signed bundle", "policy", "verify", "p.policy", "--pubkey", "k.pub",
		"--cluster", CLUSTER);

	/* Usage errors: exit 2, one line. */
	REFUSED(2, "unknown option '--bogus'", "policy", "verify", "p.signed", "--pubkey", "k.pub",
		"--cluster", CLUSTER, "--bogus");
	REFUSED(2, "unknown option '--bogus'", "policy", "sign", "p.policy", "--bogus", "x");
	REFUSED(2, "missing --cluster", "policy", "sign", "p.policy", "--key", "k.pem", "-o",
		"x.signed");
	REFUSED(2, "option --cluster given twice", "policy", "verify", "p.signed", "--pubkey",
		"k.pub", "--cluster", "a", "--cluster", "b");
	REFUSED(2, "bad --expires", "policy", "sign", "p.policy", "--key", "k.pem", "--cluster",
		CLUSTER, "--expires", "0", "-o", "x.signed");
	REFUSED(2, "bad --expires", "policy", "sign", "p.policy", "--key", "k.pem", "--cluster",
		CLUSTER, "--expires", "3651d", "-o", "x.signed");
	REFUSED(2, "bad --after-version", "policy", "verify", "p.signed", "--pubkey", "k.pub",
		"--cluster", CLUSTER, "--after-version", "-1");
	REFUSED(2, "bad cluster name", "policy", "sign", "p.policy", "--key", "k.pem",
		"--cluster", "a b", "-o", "x.signed");
	REFUSED(2, "missing PUBLIC_OUT", "policy", "keygen", "x.pem");

	/* A private key others may read is not used. */
	assert_int_equal(chmod(in(dir, "k.pem"), 0644), 0);
	REFUSED(1, "group or others may access it", "policy", "sign", "p.policy", "--key",
		"k.pem", "--cluster", CLUSTER, "-o", "x.signed");
	assert_int_equal(access(in(dir, "x.signed"), F_OK), -1);
#undef REFUSED
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_byte_flip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trailing_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_altered_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_cluster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_refuses, setup, teardown),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_dsmctl_sign_verify),
		cmocka_unit_test(test_dsmctl_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
