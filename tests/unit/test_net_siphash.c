// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF SipHash-2-4 (bpf/siphash.h) as the kernel runs it: the
 * dsm_mac_selftest program of the packet-path object, run with
 * BPF_PROG_TEST_RUN, against the published test vectors (key 00..0f,
 * message 00..n-1), against OpenSSL's SipHash for all 64 of them, and for
 * the fixed 28-byte MAC message against OpenSSL on random keys and
 * messages. The program reports through a map and leaves the packet alone.
 * Needs root (BPF): skipped without it, and only then (host_cap.h); an
 * object that does not load as root fails every test.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "host_cap.h"
#include "siphash_ref.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dsm/wire.h"
#include "dsm_net.skel.h"
#include "bpf_host.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK     0

/* From the SipHash reference implementation's vectors (SipHash-2-4, 64-bit
 * output): message length n = index, key and message bytes counting from 0. */
static const struct {
	unsigned len;
	uint8_t out[8];
} published[] = {
	{ 0, { 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 } },
	{ 1, { 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 } },
	{ 2, { 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d } },
	{ 3, { 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 } },
	/* the paper's worked example (appendix A): 0xa129ca6149be45e5 */
	{ 15, { 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 } },
	{ 63, { 0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95 } },
};

static struct dsm_net_bpf *skel;
/* Why the object is not there: an error and what failed (host_cap.h). */
static int need_err;
static const char *need_what;

static int setup(void **state)
{
	int err;

	(void)state;
	libbpf_set_print(host_cap_libbpf_log);
	skel = dsm_net_bpf__open();
	if (!skel) {
		need_err = errno ? -errno : -EINVAL;
		need_what = "opening the dsm_net object";
		return 0;
	}
	dsm_obj_unpinned(skel->obj);
	err = dsm_net_bpf__load(skel);
	if (err) {
		need_err = err;
		need_what = "loading the dsm_net object";
		dsm_net_bpf__destroy(skel);
		skel = NULL;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dsm_net_bpf__destroy(skel);
	return 0;
}

static void need_bpf(void)
{
	skip_unless_host_capability(need_err, need_what);
}

/* Run the self-test program on key || msg; *retval is its tc verdict, out
 * its result (generic, then fixed 28-byte). The packet must come out as it
 * went in: the program only reports. */
static void bpf_siphash(const uint8_t key[16], const uint8_t *msg, size_t len,
			uint8_t out[16], int *retval)
{
	uint8_t in[16 + 128], res[16 + 128], poison[16];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = 16 + len,
		    .data_out = res, .data_size_out = sizeof(res));
	int fd = bpf_map__fd(skel->maps.dsm_net_selftest);
	uint32_t zero = 0;

	assert_true(len <= 128);
	memcpy(in, key, 16);
	memcpy(in + 16, msg, len);
	memset(poison, 0xee, sizeof(poison));
	assert_int_equal(bpf_map_update_elem(fd, &zero, poison, 0), 0);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.dsm_mac_selftest),
						&opts), 0);
	*retval = (int)opts.retval;
	assert_int_equal(opts.data_size_out, 16 + len);
	assert_memory_equal(res, in, 16 + len);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, out), 0);
}

static void count_key(uint8_t key[16], uint8_t msg[64])
{
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
}

static void test_published_vectors(void **state)
{
	uint8_t key[16], msg[64], got[16], ref[8];
	int rv;

	(void)state;
	count_key(key, msg);
	for (size_t i = 0; i < sizeof(published) / sizeof(published[0]); i++) {
		/* the generator agrees with the published values... */
		ref_siphash(key, msg, published[i].len, ref);
		assert_memory_equal(ref, published[i].out, 8);
		/* ...and so does the BPF code */
		need_bpf();
		bpf_siphash(key, msg, published[i].len, got, &rv);
		assert_int_equal(rv, TC_ACT_OK);
		assert_memory_equal(got, published[i].out, 8);
	}
}

static void test_all_64_vectors(void **state)
{
	uint8_t key[16], msg[64], got[16], ref[8];
	int rv;

	(void)state;
	need_bpf();
	count_key(key, msg);
	for (unsigned len = 0; len < 64; len++) {
		ref_siphash(key, msg, len, ref);
		bpf_siphash(key, msg, len, got, &rv);
		assert_int_equal(rv, TC_ACT_OK);
		if (memcmp(got, ref, 8))
			fail_msg("vector %u differs", len);
	}
}

/* The longest message the generic function takes: the length block is a
 * block of its own. */
static void test_max_length(void **state)
{
	uint8_t key[16], msg[64], got[16], ref[8];
	int rv;

	(void)state;
	need_bpf();
	count_key(key, msg);
	ref_siphash(key, msg, 64, ref);
	bpf_siphash(key, msg, 64, got, &rv);
	assert_int_equal(rv, TC_ACT_OK);
	assert_memory_equal(got, ref, 8);
}

/* The fixed 28-byte function (the one on the packet path) and the generic
 * one on the same input, random keys and messages. */
static void test_mac_message_random(void **state)
{
	uint8_t key[16], msg[DSM_MAC_MSG_LEN], got[16], ref[8];
	unsigned seed = 0x5eed;
	int rv;

	(void)state;
	need_bpf();
	for (int n = 0; n < 500; n++) {
		for (int i = 0; i < 16; i++)
			key[i] = (uint8_t)rand_r(&seed);
		for (int i = 0; i < DSM_MAC_MSG_LEN; i++)
			msg[i] = (uint8_t)rand_r(&seed);
		ref_siphash(key, msg, sizeof(msg), ref);
		bpf_siphash(key, msg, sizeof(msg), got, &rv);
		assert_int_equal(rv, TC_ACT_OK);
		if (memcmp(got, ref, 8))
			fail_msg("generic, case %d differs", n);
		if (memcmp(got + 8, ref, 8))
			fail_msg("fixed 28-byte, case %d differs", n);
		/* and the generic function alone for other lengths */
		bpf_siphash(key, msg, sizeof(msg) - 1, got, &rv);
		assert_int_equal(rv, TC_ACT_OK);
		assert_memory_equal(got + 8, (uint8_t[8]){ 0 }, 8);
	}
}

/* Random keys at every length: the tail masking and length byte. */
static void test_random_all_lengths(void **state)
{
	uint8_t key[16], msg[64], got[16], ref[8];
	unsigned seed = 0xd5a;
	int rv;

	(void)state;
	need_bpf();
	for (unsigned len = 0; len <= 64; len++) {
		for (int i = 0; i < 16; i++)
			key[i] = (uint8_t)rand_r(&seed);
		for (int i = 0; i < 64; i++)
			msg[i] = (uint8_t)rand_r(&seed);
		ref_siphash(key, msg, len, ref);
		bpf_siphash(key, msg, len, got, &rv);
		assert_int_equal(rv, TC_ACT_OK);
		if (memcmp(got, ref, 8))
			fail_msg("length %u differs", len);
	}
}

/* Too long for the generic function: refused, not truncated, and nothing
 * written. */
static void test_too_long(void **state)
{
	uint8_t key[16] = { 0 }, msg[65] = { 0 }, got[16], poison[16];
	int rv;

	(void)state;
	need_bpf();
	memset(poison, 0xee, sizeof(poison));
	bpf_siphash(key, msg, sizeof(msg), got, &rv);
	assert_int_equal(rv, TC_ACT_UNSPEC);
	assert_memory_equal(got, poison, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test(test_all_64_vectors),
		cmocka_unit_test(test_max_length),
		cmocka_unit_test(test_mac_message_random),
		cmocka_unit_test(test_random_all_lengths),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests_name("net_siphash", tests, setup, teardown);
}
