// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The freshness statement reader on arbitrary bytes, against a CA and a
 * server certificate made at start: it must refuse what it cannot verify,
 * never read past the input and report nothing of a statement whose
 * certificate or signature did not verify. To reach the checks behind the
 * signature, the input is also tried with its certificate replaced by the
 * test server's and signed again with its key (the input's fixed fields
 * and cluster name kept); whatever verifies then must be exactly what
 * dsm_fresh_write() makes of the same fields (Ed25519 is deterministic).
 *
 * Seeds: with DSM_FUZZ_POLICY_FRESH_SEEDS=DIR set, the binary writes a
 * valid statement into DIR and exits (tests/fuzz/seeds runs it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "le.h"
#include "pki.h"
#include "policy_fresh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CLUSTER "fz"
#define T0 1700000000000ull /* ms; certificates cover it */

static struct dsm_pki_ca ca;
static EVP_PKEY *key;
static X509 *cert;
static unsigned char *der;
static int der_len;

static void init(void)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_SERVER, .name = "srv",
					   .now = (time_t)(T0 / 1000), .lifetime_s = 86400 };

	if (cert)
		return;
	if (dsm_pki_ca_create(CLUSTER, (time_t)(T0 / 1000), 86400 * 3650, &ca) ||
	    dsm_pki_key_new(&key) || dsm_pki_issue(&ca, &req, key, &cert) ||
	    (der_len = i2d_X509(cert, &der)) <= 0)
		abort();
}

static void check(const uint8_t *data, size_t len, bool ours)
{
	static const struct dsm_fresh_info zero;
	struct dsm_fresh_info info;
	uint8_t *again = NULL;
	size_t again_len = 0;
	int r = dsm_fresh_verify(data, len, ca.cert, CLUSTER, &info);

	if (r && r != -EXDEV && r != -EBADMSG && memcmp(&info, &zero, sizeof(info)))
		abort(); /* nothing reported of what did not verify */
	if (r)
		return;
	if (!ours || !info.version || info.expires_ms <= info.issued_ms ||
	    strcmp(info.cluster, CLUSTER) || strcmp(info.server, "srv"))
		abort();
	if (dsm_fresh_write(key, cert, info.cluster, info.version, info.digest, info.issued_ms,
			    info.expires_ms, &again, &again_len) ||
	    again_len != len || memcmp(again, data, len))
		abort();
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t clen, total;
	uint8_t *fixed;
	EVP_MD_CTX *ctx;
	size_t siglen = DSM_FRESH_SIG_LEN;
	uint8_t *msg;

	init();
	check(data, len, false);
	if (len < DSM_FRESH_HDR_LEN)
		return 0;
	clen = data[68];
	if (len < DSM_FRESH_HDR_LEN + clen)
		return 0;
	/* the input's fixed part and cluster name, our certificate, signed */
	total = DSM_FRESH_HDR_LEN + clen + (size_t)der_len + DSM_FRESH_SIG_LEN;
	fixed = malloc(total);
	msg = malloc(DSM_FRESH_DOMAIN_LEN + total);
	ctx = EVP_MD_CTX_new();
	if (!fixed || !msg || !ctx)
		abort();
	memcpy(fixed, data, DSM_FRESH_HDR_LEN + clen);
	dsm_put_le(fixed + 69, (uint64_t)der_len, 2);
	memcpy(fixed + DSM_FRESH_HDR_LEN + clen, der, (size_t)der_len);
	memcpy(msg, DSM_FRESH_DOMAIN, DSM_FRESH_DOMAIN_LEN);
	memcpy(msg + DSM_FRESH_DOMAIN_LEN, fixed, total - DSM_FRESH_SIG_LEN);
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, fixed + total - DSM_FRESH_SIG_LEN, &siglen, msg,
			   DSM_FRESH_DOMAIN_LEN + total - DSM_FRESH_SIG_LEN) != 1)
		abort();
	check(fixed, total, true);
	EVP_MD_CTX_free(ctx);
	free(msg);
	free(fixed);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("DSM_FUZZ_POLICY_FRESH_SEEDS");
	uint8_t digest[DSM_FRESH_DIGEST_LEN] = { 1, 2, 3 }, *b = NULL;
	char path[4096];
	size_t len = 0;
	FILE *f;

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	init();
	snprintf(path, sizeof(path), "%s/statement", dir);
	if (dsm_fresh_write(key, cert, CLUSTER, 7, digest, T0, T0 + 3600000, &b, &len) ||
	    !(f = fopen(path, "wb")) || fwrite(b, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "fuzz_policy_fresh: cannot write seeds into %s\n", dir);
		exit(1);
	}
	free(b);
	exit(0);
}
