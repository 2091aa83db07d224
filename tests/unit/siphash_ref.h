/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference SipHash-2-4 the packet-path tests compare the BPF code
 * with: OpenSSL's EVP_MAC "SIPHASH", 8-byte output, and the MAC message
 * of docs/wire.md. Include after cmocka.h.
 */
#ifndef DSM_TEST_SIPHASH_REF_H
#define DSM_TEST_SIPHASH_REF_H

#include <stdint.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "dsm/wire.h"

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

/* The 28-byte MAC message of the dsm option opt in the IPv4 header ip:
 * the IP ID counts for a version 1 option only. */
static inline void ref_mac_msg(const uint8_t *ip, const uint8_t *opt, uint8_t msg[DSM_MAC_MSG_LEN])
{
	memcpy(msg, ip + 12, 8);  /* saddr, daddr */
	msg[8] = ip[9];           /* protocol */
	msg[9] = 0;
	if (opt[2] == DSM_OPT_VERSION_1)
		memcpy(msg + 10, ip + 4, 2); /* IP ID */
	else
		memset(msg + 10, 0, 2);
	memcpy(msg + 12, opt, 16);   /* option bytes 0..15 */
}

/* The 32-byte MAC message of a version 3 option opt in the IPv4 header
 * ip, with the ports (source, destination as in the transport header; zero
 * where the MAC binds none). */
static inline void ref_mac_msg3(const uint8_t *ip, const uint8_t *opt, const uint8_t ports[4],
				uint8_t msg[DSM_MAC_MSG3_LEN])
{
	memcpy(msg, ip + 12, 8);  /* saddr, daddr */
	msg[8] = ip[9];           /* protocol */
	msg[9] = msg[10] = msg[11] = 0;
	memcpy(msg + 12, ports, 4);
	memcpy(msg + 16, opt, 16); /* option bytes 0..15 */
}

#endif
