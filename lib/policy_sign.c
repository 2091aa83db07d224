// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Signed policy bundles: the envelope around a bundle that a node verifies
 * against its pinned operator key. Layout in docs/policy.md ("Signed
 * bundles"). The reader looks at nothing but the lengths, the format and
 * the key id before the Ed25519 signature verifies; every field it trusts
 * afterwards is covered by it. All cryptography is OpenSSL's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "le.h"
#include "policy_int.h"
#include "file.h"
#include "policy_sign.h"

static const uint8_t magic[8] = { 'D', 'S', 'M', 'S', 'I', 'G', 'N', '\n' };

/* Offsets of the fixed part. */
enum {
	OFF_MAGIC      = 0,
	OFF_FORMAT     = 8,
	OFF_FLAGS      = 10,
	OFF_KEY_ID     = 12,
	OFF_VERSION    = OFF_KEY_ID + DSM_SIGN_KEY_ID_LEN,
	OFF_ISSUED     = OFF_VERSION + 8,
	OFF_EXPIRES    = OFF_ISSUED + 8,
	OFF_BUNDLE_LEN = OFF_EXPIRES + 8,
	OFF_CLUSTER_LEN = OFF_BUNDLE_LEN + 4,
	OFF_NAME_LEN   = OFF_CLUSTER_LEN + 1,
	OFF_NAMES      = OFF_NAME_LEN + 1,
};

_Static_assert(OFF_KEY_ID == 12 && OFF_VERSION == 44 && OFF_ISSUED == 52 &&
	       OFF_EXPIRES == 60 && OFF_BUNDLE_LEN == 68 && OFF_CLUSTER_LEN == 72 &&
	       OFF_NAME_LEN == 73, "envelope layout as in docs/policy.md");
_Static_assert(OFF_NAMES == DSM_SIGN_HDR_LEN, "fixed part length");
_Static_assert(DSM_SIGN_NAME_MAX == POLICY_NAME_MAX, "policy names fit their length byte");
_Static_assert(DSM_SIGN_CLUSTER_MAX <= 255 && DSM_SIGN_NAME_MAX <= 255, "u8 lengths");
_Static_assert(DSM_BUNDLE_MAX_SIZE <= UINT32_MAX, "u32 bundle length");
_Static_assert(DSM_SIGN_DOMAIN_LEN == 21, "the domain string and its NUL");

#define KEY_FILE_MAX 16384 /* a PEM Ed25519 key is about 120 bytes */

struct dsm_sign_key {
	EVP_PKEY *pkey;
	uint8_t id[DSM_SIGN_KEY_ID_LEN];
};

struct dsm_sign_pubkey {
	EVP_PKEY *pkey;
	uint8_t id[DSM_SIGN_KEY_ID_LEN];
};

/* ---- little helpers ----------------------------------------------------- */

static bool cluster_valid(const char *s, size_t len)
{
	if (len == 0 || len > DSM_SIGN_CLUSTER_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

bool dsm_sign_cluster_valid(const char *cluster)
{
	return cluster_valid(cluster, strlen(cluster));
}

/* OpenSSL keeps failures in a per-thread queue; ours are reported by
 * return value, so none is left behind for an unrelated caller. */
static int ossl_fail(int err)
{
	ERR_clear_error();
	return err;
}

/* ---- keys --------------------------------------------------------------- */

/* The key id of an Ed25519 EVP_PKEY: SHA-256 of its raw public key. */
static int key_id_of(const EVP_PKEY *pkey, uint8_t id[DSM_SIGN_KEY_ID_LEN])
{
	uint8_t raw[DSM_SIGN_PUBKEY_LEN];
	size_t rawlen = sizeof(raw);
	unsigned int n = 0;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
		return -EBADMSG;
	if (!EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) || rawlen != sizeof(raw) ||
	    !EVP_Digest(raw, rawlen, id, &n, EVP_sha256(), NULL) || n != DSM_SIGN_KEY_ID_LEN)
		return ossl_fail(-EIO);
	return 0;
}

/* Wrap a private EVP_PKEY (taken over, freed on failure). */
static int key_wrap(EVP_PKEY *pkey, struct dsm_sign_key **out)
{
	struct dsm_sign_key *k;
	int r;

	*out = NULL;
	if (!pkey)
		return ossl_fail(-ENOMEM);
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	r = key_id_of(pkey, k->id);
	if (r) {
		dsm_sign_key_free(k);
		return r;
	}
	*out = k;
	return 0;
}

static int pubkey_wrap(EVP_PKEY *pkey, struct dsm_sign_pubkey **out)
{
	struct dsm_sign_pubkey *k;
	int r;

	*out = NULL;
	if (!pkey)
		return ossl_fail(-ENOMEM);
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	r = key_id_of(pkey, k->id);
	if (r) {
		dsm_sign_pubkey_free(k);
		return r;
	}
	*out = k;
	return 0;
}

int dsm_sign_key_generate(struct dsm_sign_key **out)
{
	*out = NULL;
	return key_wrap(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), out);
}

int dsm_sign_key_from_seed(const uint8_t seed[DSM_SIGN_SEED_LEN], struct dsm_sign_key **out)
{
	return key_wrap(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
						     DSM_SIGN_SEED_LEN), out);
}

int dsm_sign_pubkey_from_raw(const uint8_t raw[DSM_SIGN_PUBKEY_LEN],
			     struct dsm_sign_pubkey **out)
{
	*out = NULL;
	return pubkey_wrap(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
						       DSM_SIGN_PUBKEY_LEN), out);
}

int dsm_sign_key_public(const struct dsm_sign_key *k, struct dsm_sign_pubkey **out)
{
	uint8_t raw[DSM_SIGN_PUBKEY_LEN];
	size_t rawlen = sizeof(raw);

	*out = NULL;
	if (!EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) || rawlen != sizeof(raw))
		return ossl_fail(-EIO);
	return dsm_sign_pubkey_from_raw(raw, out);
}

void dsm_sign_key_id(const struct dsm_sign_key *k, uint8_t id[DSM_SIGN_KEY_ID_LEN])
{
	memcpy(id, k->id, DSM_SIGN_KEY_ID_LEN);
}

void dsm_sign_pubkey_id(const struct dsm_sign_pubkey *k, uint8_t id[DSM_SIGN_KEY_ID_LEN])
{
	memcpy(id, k->id, DSM_SIGN_KEY_ID_LEN);
}

void dsm_sign_key_free(struct dsm_sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

void dsm_sign_pubkey_free(struct dsm_sign_pubkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* ---- files -------------------------------------------------------------- */

/* Never prompt for a passphrase: dsm's keys have none. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* PEM text of a key (private or public) in a new buffer, cleared on free. */
static int key_pem(EVP_PKEY *pkey, bool private, uint8_t **pem, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int ok;

	*pem = NULL;
	if (!bio)
		return ossl_fail(-ENOMEM);
	ok = private ? PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_bio_PUBKEY(bio, pkey);
	n = BIO_get_mem_data(bio, &data);
	if (ok && n > 0 && (*pem = malloc((size_t)n)))
		memcpy(*pem, data, (size_t)n);
	if (n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	if (!ok || n <= 0)
		return ossl_fail(-EIO);
	if (!*pem)
		return -ENOMEM;
	*len = (size_t)n;
	return 0;
}

static int key_file_write(EVP_PKEY *pkey, bool private, const char *path)
{
	uint8_t *pem;
	size_t len;
	int r = key_pem(pkey, private, &pem, &len);

	if (r)
		return r;
	r = dsm_file_write(path, pem, len, private ? 0600 : 0644, DSM_FILE_CREATE);
	OPENSSL_clear_free(pem, len);
	return r;
}

int dsm_sign_key_write_file(const struct dsm_sign_key *k, const char *path)
{
	return key_file_write(k->pkey, true, path);
}

int dsm_sign_pubkey_write_file(const struct dsm_sign_key *k, const char *path)
{
	return key_file_write(k->pkey, false, path);
}

/* The first PEM key of the given kind in pem; NULL if there is none or
 * it is not an Ed25519 key. */
static EVP_PKEY *key_from_pem(const uint8_t *pem, size_t len, bool private)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey;

	if (!bio)
		return NULL;
	pkey = private ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
		       : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	ERR_clear_error();
	return pkey;
}

int dsm_sign_key_read_file(const char *path, struct dsm_sign_key **out)
{
	EVP_PKEY *pkey;
	uint8_t *pem;
	size_t len;
	int r;

	*out = NULL;
	r = dsm_file_read(path, KEY_FILE_MAX, DSM_FILE_SECRET, &pem, &len);
	if (r)
		return r;
	pkey = key_from_pem(pem, len, true);
	dsm_file_free(pem, len);
	if (!pkey)
		return -EBADMSG;
	return key_wrap(pkey, out);
}

int dsm_sign_pubkey_read_file(const char *path, struct dsm_sign_pubkey **out)
{
	EVP_PKEY *pkey;
	uint8_t *pem;
	size_t len;
	int r;

	*out = NULL;
	r = dsm_file_read(path, KEY_FILE_MAX, 0, &pem, &len);
	if (r)
		return r;
	pkey = key_from_pem(pem, len, false);
	dsm_file_free(pem, len);
	if (!pkey)
		return -EBADMSG;
	return pubkey_wrap(pkey, out);
}

int dsm_signed_read_file(const char *path, uint8_t **buf, size_t *len)
{
	return dsm_file_read(path, DSM_SIGN_MAX_SIZE, 0, buf, len);
}

int dsm_signed_write_file(const char *path, const uint8_t *buf, size_t len)
{
	return dsm_file_write(path, buf, len, 0644, DSM_FILE_REPLACE);
}

/* ---- signatures --------------------------------------------------------- */

/* The signed message: the domain string with its NUL, then the body.
 * Ed25519 (pure) takes its message in one piece. */
static uint8_t *signed_message(const uint8_t *body, size_t len, size_t *msglen)
{
	uint8_t *m = malloc(DSM_SIGN_DOMAIN_LEN + len);

	if (!m)
		return NULL;
	memcpy(m, DSM_SIGN_DOMAIN, DSM_SIGN_DOMAIN_LEN);
	memcpy(m + DSM_SIGN_DOMAIN_LEN, body, len);
	*msglen = DSM_SIGN_DOMAIN_LEN + len;
	return m;
}

int dsm_signed_sign_body(const struct dsm_sign_key *key, const uint8_t *body, size_t len,
			 uint8_t sig[DSM_SIGN_SIG_LEN])
{
	size_t msglen = 0, siglen = DSM_SIGN_SIG_LEN;
	uint8_t *msg = signed_message(body, len, &msglen);
	EVP_MD_CTX *ctx;
	int r = 0;

	if (!msg)
		return -ENOMEM;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, msglen) != 1 || siglen != DSM_SIGN_SIG_LEN)
		r = ossl_fail(ctx ? -EIO : -ENOMEM);
	EVP_MD_CTX_free(ctx);
	free(msg);
	return r;
}

/* 0 if sig is key's signature of body, -EKEYREJECTED if not. */
static int verify_body(const struct dsm_sign_pubkey *key, const uint8_t *body, size_t len,
		       const uint8_t sig[DSM_SIGN_SIG_LEN])
{
	size_t msglen = 0;
	uint8_t *msg = signed_message(body, len, &msglen);
	EVP_MD_CTX *ctx;
	int r;

	if (!msg)
		return -ENOMEM;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) != 1)
		r = ossl_fail(ctx ? -EIO : -ENOMEM);
	else if (EVP_DigestVerify(ctx, sig, DSM_SIGN_SIG_LEN, msg, msglen) != 1)
		r = ossl_fail(-EKEYREJECTED); /* fail closed on any answer but yes */
	else
		r = 0;
	EVP_MD_CTX_free(ctx);
	free(msg);
	return r;
}

/* ---- writing ------------------------------------------------------------ */

/* The policy name and version of a valid bundle. */
static int bundle_identity(const uint8_t *bundle, size_t len, char name[DSM_SIGN_NAME_MAX + 1],
			   uint64_t *version)
{
	struct dsm_policy *p = NULL;
	int r = dsm_bundle_read(bundle, len, &p);

	if (r)
		return r;
	snprintf(name, DSM_SIGN_NAME_MAX + 1, "%s", dsm_policy_name(p));
	*version = dsm_policy_version(p);
	dsm_policy_free(p);
	return 0;
}

int dsm_signed_write(const uint8_t *bundle, size_t len, const struct dsm_sign_key *key,
		     const char *cluster, uint64_t issued_at, uint64_t expires_at,
		     uint8_t **out, size_t *out_len)
{
	char name[DSM_SIGN_NAME_MAX + 1];
	size_t clen = strlen(cluster), nlen, total;
	uint64_t version;
	uint8_t *e, *p;
	int r;

	*out = NULL;
	*out_len = 0;
	if (!cluster_valid(cluster, clen) || expires_at <= issued_at)
		return -EINVAL;
	r = bundle_identity(bundle, len, name, &version);
	if (r)
		return r;
	if (version == 0)
		return -EINVAL;
	nlen = strlen(name);
	total = DSM_SIGN_HDR_LEN + clen + nlen + len + DSM_SIGN_SIG_LEN;
	e = malloc(total);
	if (!e)
		return -ENOMEM;
	memcpy(e + OFF_MAGIC, magic, sizeof(magic));
	dsm_put_le(e + OFF_FORMAT, DSM_SIGN_FORMAT, 2);
	dsm_put_le(e + OFF_FLAGS, 0, 2);
	memcpy(e + OFF_KEY_ID, key->id, DSM_SIGN_KEY_ID_LEN);
	dsm_put_le(e + OFF_VERSION, version, 8);
	dsm_put_le(e + OFF_ISSUED, issued_at, 8);
	dsm_put_le(e + OFF_EXPIRES, expires_at, 8);
	dsm_put_le(e + OFF_BUNDLE_LEN, len, 4);
	e[OFF_CLUSTER_LEN] = (uint8_t)clen;
	e[OFF_NAME_LEN] = (uint8_t)nlen;
	p = e + OFF_NAMES;
	memcpy(p, cluster, clen);
	memcpy(p + clen, name, nlen);
	memcpy(p + clen + nlen, bundle, len);
	r = dsm_signed_sign_body(key, e, total - DSM_SIGN_SIG_LEN, e + total - DSM_SIGN_SIG_LEN);
	if (r) {
		free(e);
		return r;
	}
	*out = e;
	*out_len = total;
	return 0;
}

/* ---- verifying ---------------------------------------------------------- */

/* Where the parts of an envelope are, from its lengths alone. */
struct layout {
	size_t clen, nlen, blen;
	const uint8_t *cluster, *name, *bundle, *sig;
};

/* Step 1, untrusted: magic, format, flags, and lengths that add up to
 * exactly len. */
static int parse_layout(const uint8_t *buf, size_t len, struct layout *l)
{
	if (len < DSM_SIGN_HDR_LEN + DSM_SIGN_SIG_LEN || memcmp(buf, magic, sizeof(magic)))
		return -EBADMSG;
	if (dsm_get_le(buf + OFF_FORMAT, 2) != DSM_SIGN_FORMAT || dsm_get_le(buf + OFF_FLAGS, 2) != 0)
		return -EPROTONOSUPPORT;
	l->clen = buf[OFF_CLUSTER_LEN];
	l->nlen = buf[OFF_NAME_LEN];
	l->blen = (size_t)dsm_get_le(buf + OFF_BUNDLE_LEN, 4);
	/* Each term is bounded, so the sum cannot wrap. */
	if (l->clen == 0 || l->clen > DSM_SIGN_CLUSTER_MAX || l->nlen == 0 ||
	    l->nlen > DSM_SIGN_NAME_MAX || l->blen > DSM_BUNDLE_MAX_SIZE ||
	    len != DSM_SIGN_HDR_LEN + l->clen + l->nlen + l->blen + DSM_SIGN_SIG_LEN)
		return -EBADMSG;
	l->cluster = buf + OFF_NAMES;
	l->name = l->cluster + l->clen;
	l->bundle = l->name + l->nlen;
	l->sig = l->bundle + l->blen;
	return 0;
}

/* Step 3, trusted: the signed fields as info. */
static void fill_info(const uint8_t *buf, const struct layout *l, struct dsm_signed_info *info)
{
	memcpy(info->key_id, buf + OFF_KEY_ID, DSM_SIGN_KEY_ID_LEN);
	memcpy(info->cluster, l->cluster, l->clen);
	info->cluster[l->clen] = '\0';
	memcpy(info->policy, l->name, l->nlen);
	info->policy[l->nlen] = '\0';
	info->version = dsm_get_le(buf + OFF_VERSION, 8);
	info->issued_at = dsm_get_le(buf + OFF_ISSUED, 8);
	info->expires_at = dsm_get_le(buf + OFF_EXPIRES, 8);
	info->bundle = l->bundle;
	info->bundle_len = l->blen;
}

/* Step 4, trusted fields against this node: well-formed, this cluster,
 * newer, not expired. */
static int check_fields(const struct layout *l, const struct dsm_signed_info *in,
			const char *cluster, uint64_t last_version, uint64_t now)
{
	if (!cluster_valid((const char *)l->cluster, l->clen) ||
	    !policy_name_valid((const char *)l->name, l->nlen) || in->expires_at <= in->issued_at)
		return -EBADMSG;
	if (strlen(cluster) != l->clen || memcmp(cluster, l->cluster, l->clen))
		return -EXDEV;
	if (in->version <= last_version)
		return -ESTALE;
	if (now >= in->expires_at)
		return -ETIME;
	return 0;
}

/* Step 5: the inner bundle, and that it is what the envelope says. */
static int read_inner(const struct dsm_signed_info *in, struct dsm_policy **out)
{
	struct dsm_policy *p = NULL;
	int r = dsm_bundle_read(in->bundle, in->bundle_len, &p);

	if (r == -ENOMEM || r == -EPROTONOSUPPORT)
		return r;
	if (r)
		return -EBADMSG;
	if (dsm_policy_version(p) != in->version || strcmp(dsm_policy_name(p), in->policy)) {
		dsm_policy_free(p);
		return -EBADMSG;
	}
	*out = p;
	return 0;
}

int dsm_signed_verify(const uint8_t *buf, size_t len, const struct dsm_sign_pubkey *key,
		      const char *cluster, uint64_t last_version, uint64_t now,
		      struct dsm_signed_info *info, struct dsm_policy **policy_out)
{
	struct dsm_signed_info local;
	struct dsm_policy *p = NULL;
	struct layout l;
	int r;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (policy_out)
		*policy_out = NULL;
	r = parse_layout(buf, len, &l);
	if (r)
		return r;
	if (memcmp(buf + OFF_KEY_ID, key->id, DSM_SIGN_KEY_ID_LEN))
		return -ENOKEY;
	r = verify_body(key, buf, len - DSM_SIGN_SIG_LEN, l.sig);
	if (r)
		return r;
	fill_info(buf, &l, info);
	r = check_fields(&l, info, cluster, last_version, now);
	if (r)
		return r;
	r = read_inner(info, &p);
	if (r)
		return r;
	if (policy_out)
		*policy_out = p;
	else
		dsm_policy_free(p);
	return 0;
}

const char *dsm_signed_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EBADMSG:
		return "malformed signed bundle";
	case -EPROTONOSUPPORT:
		return "unsupported signed bundle format";
	case -ENOKEY:
		return "signed by another key";
	case -EKEYREJECTED:
		return "bad signature";
	case -EXDEV:
		return "signed for another cluster";
	case -ESTALE:
		return "rollback: version not newer than the one in force";
	case -ETIME:
		return "expired";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
