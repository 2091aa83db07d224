// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The signed bundle reader on arbitrary bytes, against a fixed test key:
 * it must refuse what it cannot verify, never read past the input, report
 * nothing of an envelope whose signature did not verify, and whatever it
 * accepts must be what dsm_signed_write() makes of the same fields
 * (Ed25519 is deterministic, so an envelope has one encoding). To reach
 * the fields and the inner bundle behind the signature, the input is also
 * tried with the key id set to the test key's and the signature made again
 * over the altered body (as fuzz_policy_bundle fixes up the digest); the
 * unaltered input exercises the key id and signature checks themselves.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

#define OFF_KEY_ID 12

static const uint8_t seed[DSM_SIGN_SEED_LEN] = { 'd', 's', 'm', '-', 'f', 'u', 'z', 'z' };
static struct dsm_sign_key *key;
static struct dsm_sign_pubkey *pub;

static void keys(void)
{
	if (key)
		return;
	if (dsm_sign_key_from_seed(seed, &key) || dsm_sign_key_public(key, &pub))
		abort();
}

static void check_refused_info(int r, const struct dsm_signed_info *info)
{
	static const struct dsm_signed_info zero;
	bool authentic = r == 0 || r == -EXDEV || r == -ESTALE || r == -ETIME;

	/* Before the signature verifies, nothing is reported. */
	if (!authentic && r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMEM &&
	    memcmp(info, &zero, sizeof(zero)))
		abort();
	if (authentic && info->expires_at <= info->issued_at)
		abort();
}

/* An accepted envelope is exactly what the writer makes of its fields. */
static void check_rewrite(const uint8_t *data, size_t len, const struct dsm_signed_info *info,
			  const struct dsm_policy *p)
{
	uint8_t *again = NULL;
	size_t again_len = 0;

	if (dsm_policy_version(p) != info->version || strcmp(dsm_policy_name(p), info->policy) ||
	    info->bundle < data || info->bundle + info->bundle_len > data + len)
		abort();
	if (dsm_signed_write(info->bundle, info->bundle_len, key, info->cluster, info->issued_at,
			     info->expires_at, &again, &again_len) ||
	    again_len != len || memcmp(again, data, len))
		abort();
	free(again);
}

/* now 0, last_version 0: only what is wrong with the input refuses it.
 * Another cluster is refused first; then the one the envelope names. */
static void verify(const uint8_t *data, size_t len)
{
	struct dsm_signed_info info;
	struct dsm_policy *p = NULL;
	char cluster[DSM_SIGN_CLUSTER_MAX + 1];
	int r = dsm_signed_verify(data, len, pub, "\n", 0, 0, &info, &p);

	check_refused_info(r, &info);
	if (r != -EXDEV)
		return;
	memcpy(cluster, info.cluster, sizeof(cluster));
	r = dsm_signed_verify(data, len, pub, cluster, 0, 0, &info, &p);
	check_refused_info(r, &info);
	if (r == -EXDEV || r == -ETIME || (r == 0) != (p != NULL))
		abort();
	if (!r)
		check_rewrite(data, len, &info, p);
	dsm_policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t id[DSM_SIGN_KEY_ID_LEN], *fixed;

	keys();
	verify(data, len);
	if (len < OFF_KEY_ID + DSM_SIGN_KEY_ID_LEN + DSM_SIGN_SIG_LEN || !(fixed = malloc(len)))
		return 0;
	memcpy(fixed, data, len);
	dsm_sign_key_id(key, id);
	memcpy(fixed + OFF_KEY_ID, id, sizeof(id));
	if (dsm_signed_sign_body(key, fixed, len - DSM_SIGN_SIG_LEN,
				 fixed + len - DSM_SIGN_SIG_LEN))
		abort();
	verify(fixed, len);
	free(fixed);
	return 0;
}
