/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Signed policy bundles: a bundle in an envelope that names the cluster,
 * the policy version and a validity period, signed with the operator's
 * Ed25519 key (OpenSSL). Nodes verify it against the public key they
 * pinned at enrolment, whatever channel brought it. Layout and rules in
 * docs/policy.md ("Signed bundles").
 *
 * Functions returning int return 0 or a negative errno.
 */
#ifndef DSM_POLICY_SIGN_H
#define DSM_POLICY_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define DSM_SIGN_FORMAT      1
#define DSM_SIGN_KEY_ID_LEN  32 /* SHA-256 of the raw public key */
#define DSM_SIGN_PUBKEY_LEN  32 /* raw Ed25519 public key */
#define DSM_SIGN_SEED_LEN    32 /* raw Ed25519 private key */
#define DSM_SIGN_SIG_LEN     64
#define DSM_SIGN_CLUSTER_MAX 64 /* bytes, graphic ASCII, no space */
#define DSM_SIGN_NAME_MAX    63 /* a policy name, as the language allows */
#define DSM_SIGN_HDR_LEN     74 /* fixed part, before the names */
/* The largest envelope: fixed part, longest names, largest bundle. */
#define DSM_SIGN_MAX_SIZE (DSM_SIGN_HDR_LEN + DSM_SIGN_CLUSTER_MAX + DSM_SIGN_NAME_MAX + \
			   DSM_BUNDLE_MAX_SIZE + DSM_SIGN_SIG_LEN)

/* The signature covers this string (its NUL included), then every
 * envelope byte before the signature. */
#define DSM_SIGN_DOMAIN     "dsm signed policy v1"
#define DSM_SIGN_DOMAIN_LEN (sizeof(DSM_SIGN_DOMAIN))

/* A cluster name an envelope may carry: 1..DSM_SIGN_CLUSTER_MAX bytes of
 * graphic ASCII (no space, no control byte). */
bool dsm_sign_cluster_valid(const char *cluster);

/* ---- keys --------------------------------------------------------------- */

struct dsm_sign_key;    /* a private key (and its public half) */
struct dsm_sign_pubkey; /* a public key */

/* A new random key. */
int dsm_sign_key_generate(struct dsm_sign_key **out);

/* The key of a 32-byte seed (the raw private key). For tests and fuzzing,
 * which need a fixed key; operators' keys come from dsm_sign_key_generate(). */
int dsm_sign_key_from_seed(const uint8_t seed[DSM_SIGN_SEED_LEN], struct dsm_sign_key **out);

/* A public key from its 32 raw bytes. */
int dsm_sign_pubkey_from_raw(const uint8_t raw[DSM_SIGN_PUBKEY_LEN],
			     struct dsm_sign_pubkey **out);

/* The public half of a private key, as a key of its own. */
int dsm_sign_key_public(const struct dsm_sign_key *k, struct dsm_sign_pubkey **out);

/* Key ids: SHA-256 of the raw 32-byte public key. */
void dsm_sign_key_id(const struct dsm_sign_key *k, uint8_t id[DSM_SIGN_KEY_ID_LEN]);
void dsm_sign_pubkey_id(const struct dsm_sign_pubkey *k, uint8_t id[DSM_SIGN_KEY_ID_LEN]);

void dsm_sign_key_free(struct dsm_sign_key *k);
void dsm_sign_pubkey_free(struct dsm_sign_pubkey *k);

/*
 * Key files. The private key is PEM PKCS#8 (unencrypted), written with
 * mode 0600; the public key PEM SubjectPublicKeyInfo, mode 0644. Both are
 * written atomically (temporary file in the same directory, then linked
 * into place) and never replace an existing file (-EEXIST): a key is not
 * lost to a slip of the command line.
 *
 * Reading a private key refuses a file that is not the effective user's or
 * that group or others may access in any way (-EACCES), a symbolic link
 * (-ELOOP), one that is not a regular file (-EINVAL), and anything
 * that is not an Ed25519 key in PEM (-EBADMSG); no passphrase is asked for.
 */
int dsm_sign_key_write_file(const struct dsm_sign_key *k, const char *path);
int dsm_sign_pubkey_write_file(const struct dsm_sign_key *k, const char *path);
int dsm_sign_key_read_file(const char *path, struct dsm_sign_key **out);
int dsm_sign_pubkey_read_file(const char *path, struct dsm_sign_pubkey **out);

/* ---- envelopes ---------------------------------------------------------- */

/* What a verified envelope says. Strings are NUL-terminated copies; bundle
 * points into the buffer that was verified. */
struct dsm_signed_info {
	uint8_t key_id[DSM_SIGN_KEY_ID_LEN];
	char cluster[DSM_SIGN_CLUSTER_MAX + 1];
	char policy[DSM_SIGN_NAME_MAX + 1];
	uint64_t version;
	uint64_t issued_at;  /* unix seconds */
	uint64_t expires_at; /* unix seconds, > issued_at */
	const uint8_t *bundle;
	size_t bundle_len;
};

/*
 * Sign a bundle for a cluster, valid from issued_at until (excluding)
 * expires_at, into a new malloc()ed envelope. The policy name and version
 * are read from the bundle, which must be valid (its dsm_bundle_read()
 * error otherwise), so they cannot disagree with it. -EINVAL for a cluster
 * name that is empty, longer than DSM_SIGN_CLUSTER_MAX or not graphic
 * ASCII, expires_at <= issued_at, or policy version 0 (versions start at
 * 1: a node that has none yet verifies with last_version 0).
 */
int dsm_signed_write(const uint8_t *bundle, size_t len, const struct dsm_sign_key *key,
		     const char *cluster, uint64_t issued_at, uint64_t expires_at,
		     uint8_t **out, size_t *out_len);

/* The signature of an envelope body (every byte before the signature):
 * Ed25519 over DSM_SIGN_DOMAIN, its NUL, then the body. */
int dsm_signed_sign_body(const struct dsm_sign_key *key, const uint8_t *body, size_t len,
			 uint8_t sig[DSM_SIGN_SIG_LEN]);

/*
 * Verify an envelope for this node: signed by key, for cluster, newer than
 * last_version (the version in force; 0 for none), not expired at now
 * (unix seconds). The checks run in this order and the first failure is
 * the result:
 *
 *   -EBADMSG          malformed: truncated, trailing bytes, lengths that
 *                     do not add up (before the signature); after it, a
 *                     name that is not valid, expires_at <= issued_at, an
 *                     inner bundle dsm_bundle_read() rejects, or one whose
 *                     name or version differ from the envelope's
 *   -EPROTONOSUPPORT  another envelope format, flags this reader does not
 *                     know, or an inner bundle of another format or ABI
 *   -ENOKEY           signed by another key (key id differs)
 *   -EKEYREJECTED     the signature does not verify
 *   -EXDEV            signed for another cluster
 *   -ESTALE           rollback: version <= last_version
 *   -ETIME            expired: now >= expires_at (the signature is good;
 *                     keep the bundle in force and raise an alarm)
 *   -ENOMEM, -EIO     out of memory, an OpenSSL failure
 *
 * Nothing but the lengths, the format and the key id is looked at before
 * the signature verifies. info (may be NULL) is zeroed first and filled as
 * soon as the signature verifies, so an authentic envelope that is refused
 * (-EXDEV, -ESTALE, -ETIME, and -EBADMSG after the signature) can be
 * reported for what it says. On success *policy_out (may be NULL) is the
 * inner policy, to be freed with dsm_policy_free(); otherwise NULL.
 */
int dsm_signed_verify(const uint8_t *buf, size_t len, const struct dsm_sign_pubkey *key,
		      const char *cluster, uint64_t last_version, uint64_t now,
		      struct dsm_signed_info *info, struct dsm_policy **policy_out);

/* What a dsm_signed_verify() result means, in a few words ("rollback: not
 * newer than the version in force"); strerror() for other codes. */
const char *dsm_signed_strerror(int err);

/* Envelope files: read whole (at most DSM_SIGN_MAX_SIZE bytes, into a new
 * malloc()ed buffer), write atomically with mode 0644 (replacing). */
int dsm_signed_read_file(const char *path, uint8_t **buf, size_t *len);
int dsm_signed_write_file(const char *path, const uint8_t *buf, size_t len);

#endif /* DSM_POLICY_SIGN_H */
