/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference SipHash-2-4 the packet-path tests compare the BPF code
 * with: OpenSSL's EVP_MAC "SIPHASH", 8-byte output. Include after cmocka.h.
 */
#ifndef DSM_TEST_SIPHASH_REF_H
#define DSM_TEST_SIPHASH_REF_H

#include <stdint.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

static void ref_siphash(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t out[8])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx;
	size_t size = 8, outl = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};

	assert_non_null(mac);
	ctx = EVP_MAC_CTX_new(mac);
	assert_non_null(ctx);
	assert_int_equal(EVP_MAC_init(ctx, key, 16, params), 1);
	assert_int_equal(EVP_MAC_update(ctx, msg, len), 1);
	assert_int_equal(EVP_MAC_final(ctx, out, &outl, 8), 1);
	assert_int_equal(outl, 8);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

#endif
