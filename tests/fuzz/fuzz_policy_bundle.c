// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The policy bundle reader on arbitrary bytes: it must reject what it
 * cannot fully validate, never read past the input, and whatever it accepts
 * must write back to the same bytes (a bundle has one encoding). The input's
 * last 32 bytes are replaced by the SHA-256 of the rest first, so that the
 * fuzzer reaches the tables behind the digest check; the check itself is
 * exercised on the unaltered input too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void read_and_rewrite(const uint8_t *data, size_t len)
{
	struct dsm_policy *p = NULL;
	uint8_t *again = NULL;
	size_t again_len = 0;

	if (dsm_bundle_read(data, len, &p))
		return;
	if (dsm_bundle_write(p, &again, &again_len) || again_len != len || memcmp(again, data, len))
		abort();
	free(again);
	dsm_policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t *fixed;

	read_and_rewrite(data, len);
	if (len < DSM_BUNDLE_DIGEST_LEN || !(fixed = malloc(len)))
		return 0;
	memcpy(fixed, data, len);
	SHA256(fixed, len - DSM_BUNDLE_DIGEST_LEN, fixed + len - DSM_BUNDLE_DIGEST_LEN);
	read_and_rewrite(fixed, len);
	free(fixed);
	return 0;
}
