// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SipHash-2-4 on the host (sipmac.h): OpenSSL's EVP_MAC "SIPHASH". */
#include <errno.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sipmac.h"

int dsm_siphash24(const uint8_t key[16], const void *msg, size_t len, uint64_t *out)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t size = 8, outl = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};
	uint8_t b[8];
	int ok;

	ok = ctx && EVP_MAC_init(ctx, key, 16, params) && EVP_MAC_update(ctx, msg, len) &&
	     EVP_MAC_final(ctx, b, &outl, sizeof(b)) && outl == sizeof(b);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	if (!ok)
		return -EIO;
	*out = 0;
	for (int i = 7; i >= 0; i--)
		*out = *out << 8 | b[i];
	return 0;
}
