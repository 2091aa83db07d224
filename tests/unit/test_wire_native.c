// SPDX-License-Identifier: GPL-2.0
/*
 * The packet path's plain-C helpers, built for the host as ordinary C:
 * SipHash-2-4 (bpf/siphash.h), the option walker (bpf/ipopt.h) and the
 * option's MAC and checks (bpf/net_verify.h). No BPF, no kernel, no root:
 * test_net_siphash.c runs the same SipHash inside the BPF object, this
 * file checks the code itself, against the published SipHash vectors and
 * OpenSSL, against the walker's documented verdicts (and an independent
 * walker on generated option lists), and against the MAC message of
 * docs/wire.md built byte by byte here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "siphash_ref.h"

#include "../../bpf/siphash.h"
#include "../../bpf/ipopt.h"
#include "../../bpf/net_verify.h"

/* What the tests below take for granted about the layouts. */
_Static_assert(sizeof(union dsm_mac_msg) == 32, "dsm_mac_msg: four words");
_Static_assert(offsetof(union dsm_mac_msg, f.protocol) == 8, "msg: protocol at 8");
_Static_assert(offsetof(union dsm_mac_msg, f.id) == 10, "msg: id at 10");
_Static_assert(offsetof(union dsm_mac_msg, f.opt) == 12, "msg: option bytes at 12");
_Static_assert(offsetof(union dsm_mac_msg, f.opt) + DSM_OPT_MAC_OFF == DSM_MAC_MSG_LEN,
	       "msg: 28 bytes end with the option's bytes 0..15");
_Static_assert(offsetof(union dsm_mac_msg, f3.zero2) == 10, "msg3: zero at 10");
_Static_assert(offsetof(union dsm_mac_msg, f3.ports) == 12, "msg3: ports at 12");
_Static_assert(offsetof(union dsm_mac_msg, f3.opt) + DSM_OPT_MAC_OFF == DSM_MAC_MSG3_LEN,
	       "msg3: 32 bytes end with the option's bytes 0..15");
_Static_assert(sizeof(struct dsm_ipopt) == DSM_OPT_LEN, "dsm_ipopt: 24 bytes");
_Static_assert(offsetof(struct dsm_ipopt, label) == 4, "option: label at 4");
_Static_assert(offsetof(struct dsm_ipopt, node) == 8, "option: node at 8");
_Static_assert(offsetof(struct dsm_ipopt, epoch) == 12, "option: epoch at 12");
_Static_assert(offsetof(struct dsm_ipopt, mac) == DSM_OPT_MAC_OFF, "option: MAC at 16");
_Static_assert(DSM_SIPHASH_MAX_LEN == 64 && DSM_SIPHASH_MAX_LEN % 8 == 0,
	       "dsm_siphash: whole words, the 64 reference lengths and one more");
_Static_assert((DSM_IPOPT_BUF & (DSM_IPOPT_BUF - 1)) == 0 && DSM_IPOPT_BUF >= DSM_IPOPT_SPACE,
	       "scan buffer: a power of two that holds the option space");
_Static_assert(DSM_IPOPT_NONE > DSM_IPOPT_SPACE, "no offset in the option space is NONE");
_Static_assert(sizeof(struct dsm_ipopt_scan) == 4, "scan result: four bytes, packed into a word");

/* ---- helpers ---------------------------------------------------------- */

/* splitmix64: a fixed sequence, so a failure repeats. */
static uint64_t rng = 0x64736d2d6e617469ULL;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* dsm_siphash() of msg[0..len) with the key's bytes, every byte of the
 * buffer past len set to fill[] (bytes the function must ignore); the
 * result as the reference's 8 output bytes. */
static void native_siphash(const uint8_t key[16], const uint8_t *msg, uint32_t len,
			   const uint8_t fill[DSM_SIPHASH_MAX_LEN], uint8_t out[8])
{
	__u64 buf[DSM_SIPHASH_MAX_LEN / 8];

	assert_true(len <= DSM_SIPHASH_MAX_LEN);
	memcpy(buf, fill, sizeof(buf));
	memcpy(buf, msg, len);
	store_le64(out, dsm_siphash(load_le64(key), load_le64(key + 8), buf, len));
}

/* ---- SipHash-2-4 ------------------------------------------------------ */

/* The reference implementation's vectors_sip64: SipHash-2-4, 64-bit
 * output, key 00 01 .. 0f, message 00 01 .. n-1 for n = index. */
static const uint8_t vectors_sip64[64][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 }, /* 0 */
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 }, /* 1 */
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d }, /* 2 */
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 }, /* 3 */
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf }, /* 4 */
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 }, /* 5 */
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb }, /* 6 */
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab }, /* 7 */
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 }, /* 8 */
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e }, /* 9 */
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a }, /* 10 */
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 }, /* 11 */
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 }, /* 12 */
	{ 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 }, /* 13 */
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 }, /* 14 */
	{ 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 }, /* 15 */
	{ 0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f }, /* 16 */
	{ 0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69 }, /* 17 */
	{ 0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b }, /* 18 */
	{ 0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb }, /* 19 */
	{ 0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe }, /* 20 */
	{ 0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0 }, /* 21 */
	{ 0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93 }, /* 22 */
	{ 0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8 }, /* 23 */
	{ 0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8 }, /* 24 */
	{ 0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc }, /* 25 */
	{ 0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17 }, /* 26 */
	{ 0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f }, /* 27 */
	{ 0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde }, /* 28 */
	{ 0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6 }, /* 29 */
	{ 0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad }, /* 30 */
	{ 0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32 }, /* 31 */
	{ 0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71 }, /* 32 */
	{ 0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7 }, /* 33 */
	{ 0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12 }, /* 34 */
	{ 0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15 }, /* 35 */
	{ 0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31 }, /* 36 */
	{ 0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02 }, /* 37 */
	{ 0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca }, /* 38 */
	{ 0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a }, /* 39 */
	{ 0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e }, /* 40 */
	{ 0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad }, /* 41 */
	{ 0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18 }, /* 42 */
	{ 0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4 }, /* 43 */
	{ 0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9 }, /* 44 */
	{ 0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9 }, /* 45 */
	{ 0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb }, /* 46 */
	{ 0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0 }, /* 47 */
	{ 0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6 }, /* 48 */
	{ 0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7 }, /* 49 */
	{ 0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee }, /* 50 */
	{ 0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1 }, /* 51 */
	{ 0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a }, /* 52 */
	{ 0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81 }, /* 53 */
	{ 0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f }, /* 54 */
	{ 0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24 }, /* 55 */
	{ 0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7 }, /* 56 */
	{ 0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea }, /* 57 */
	{ 0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60 }, /* 58 */
	{ 0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66 }, /* 59 */
	{ 0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c }, /* 60 */
	{ 0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f }, /* 61 */
	{ 0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5 }, /* 62 */
	{ 0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95 }, /* 63 */
};

static void count_key(uint8_t key[16], uint8_t msg[DSM_SIPHASH_MAX_LEN])
{
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < DSM_SIPHASH_MAX_LEN; i++)
		msg[i] = (uint8_t)i;
}

/* All 64 published vectors, with bytes past the message that would change
 * the hash if they were read; OpenSSL agrees with the table as well, so
 * the table and the reference the other tests use are the same function. */
static void test_siphash_published_vectors(void **state)
{
	uint8_t key[16], msg[DSM_SIPHASH_MAX_LEN], fill[DSM_SIPHASH_MAX_LEN], got[8], ref[8];

	(void)state;
	count_key(key, msg);
	memset(fill, 0xff, sizeof(fill));
	for (uint32_t n = 0; n < 64; n++) {
		ref_siphash(key, msg, n, ref);
		if (memcmp(ref, vectors_sip64[n], 8))
			fail_msg("OpenSSL disagrees with published vector %u", n);
		native_siphash(key, msg, n, fill, got);
		if (memcmp(got, vectors_sip64[n], 8))
			fail_msg("published vector %u: dsm_siphash differs", n);
		native_siphash(key, msg, n, msg, got); /* the message's own bytes past n */
		if (memcmp(got, vectors_sip64[n], 8))
			fail_msg("published vector %u: dsm_siphash read past the message", n);
	}
}

/* The longest message dsm_siphash() takes: eight whole words and the
 * length block on its own (no published vector has 64 bytes). */
static void test_siphash_max_len(void **state)
{
	uint8_t key[16], msg[DSM_SIPHASH_MAX_LEN], got[8], ref[8];

	(void)state;
	count_key(key, msg);
	ref_siphash(key, msg, DSM_SIPHASH_MAX_LEN, ref);
	native_siphash(key, msg, DSM_SIPHASH_MAX_LEN, msg, got);
	assert_memory_equal(got, ref, 8);
}

/* Random keys, messages and lengths 0..DSM_SIPHASH_MAX_LEN, random bytes
 * past the message: against OpenSSL. Every length comes up. */
static void test_siphash_random_lengths(void **state)
{
	uint8_t key[16], msg[DSM_SIPHASH_MAX_LEN], fill[DSM_SIPHASH_MAX_LEN], got[8], ref[8];
	unsigned seen[DSM_SIPHASH_MAX_LEN + 1] = { 0 };

	(void)state;
	for (int n = 0; n < 3000; n++) {
		uint32_t len = (uint32_t)(rnd() % (DSM_SIPHASH_MAX_LEN + 1));

		rnd_bytes(key, sizeof(key));
		rnd_bytes(msg, sizeof(msg));
		rnd_bytes(fill, sizeof(fill));
		seen[len]++;
		ref_siphash(key, msg, len, ref);
		native_siphash(key, msg, len, fill, got);
		if (memcmp(got, ref, 8))
			fail_msg("case %d, length %u: dsm_siphash differs from OpenSSL", n, len);
	}
	for (int len = 0; len <= DSM_SIPHASH_MAX_LEN; len++)
		if (!seen[len])
			fail_msg("length %d never tried", len);
}

/* The fixed 28-byte function of the packet path: OpenSSL and the generic
 * function agree, whatever bytes 28..31 of the union hold. */
static void test_siphash_28(void **state)
{
	uint8_t key[16], fill[DSM_SIPHASH_MAX_LEN], got[8], ref[8];
	union dsm_mac_msg m;

	(void)state;
	for (int n = 0; n < 1000; n++) {
		rnd_bytes(key, sizeof(key));
		rnd_bytes((uint8_t *)&m, sizeof(m));
		rnd_bytes(fill, sizeof(fill));
		ref_siphash(key, (const uint8_t *)&m, DSM_MAC_MSG_LEN, ref);
		store_le64(got, dsm_siphash_28(load_le64(key), load_le64(key + 8), &m));
		if (memcmp(got, ref, 8))
			fail_msg("case %d: dsm_siphash_28 differs from OpenSSL", n);
		native_siphash(key, (const uint8_t *)&m, DSM_MAC_MSG_LEN, fill, got);
		if (memcmp(got, ref, 8))
			fail_msg("case %d: dsm_siphash of 28 bytes differs from OpenSSL", n);
	}
}

/* ---- the option walker ------------------------------------------------ */

/* A well-formed dsm option (24 bytes) of version v. */
#define DSM_V(v) 0x9e, 24, (v), 7, 0, 0, 0, 42, 0, 0, 0, 3, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8
#define DSM      DSM_V(DSM_OPT_VERSION)
/* Options of valid shape (RFC 791): a timestamp with one empty slot, a
 * record route with one empty slot, a router alert (RFC 2113). */
#define TS       68, 8, 5, 0, 0, 0, 0, 0
#define RR       7, 7, 4, 0, 0, 0, 0
#define RA       0x94, 4, 0, 0
#define NOP4     1, 1, 1, 1
#define NOP16    NOP4, NOP4, NOP4, NOP4
#define ANY      (-1)

/* Scan the first len bytes of opts. The rest of the 64-byte buffer holds
 * dsm options and bytes that would change the verdict if they were read
 * (the walker must not read past buf->len). The result also survives
 * dsm_ipopt_pack() and dsm_ipopt_unpack(). */
static struct dsm_ipopt_scan scan_bytes(const uint8_t *opts, size_t len)
{
	static const uint8_t junk[] = { 0x9e, 24, 2, 7, 0x9e, 0, 0, 0xff };
	struct dsm_ipopt_buf buf;
	struct dsm_ipopt_scan s, u;

	assert_true(len <= sizeof(buf.b));
	for (size_t i = 0; i < sizeof(buf.b); i++)
		buf.b[i] = junk[i % sizeof(junk)];
	memcpy(buf.b, opts, len);
	buf.len = (__u32)len;
	/* the walk's state: the scan must start it afresh */
	buf.off = 0xde;
	buf.eol = 0xad;
	buf.found = 0xbe;
	buf.pad = 0xef;
	memset(&s, 0x5a, sizeof(s));
	dsm_ipopt_scan(&buf, &s);
	memset(&u, 0xa5, sizeof(u));
	dsm_ipopt_unpack(dsm_ipopt_pack(&s), &u);
	assert_memory_equal(&u, &s, sizeof(s));
	return s;
}

/* end < 0: not checked (the header leaves end open for a malformed list). */
static void check_scan(int line, const uint8_t *opts, size_t len, int status, int error,
		       int dsm_off, int end)
{
	struct dsm_ipopt_scan s = scan_bytes(opts, len);

	if (s.status != status || s.error != error || s.dsm_off != dsm_off ||
	    (end >= 0 && s.end != end))
		fail_msg("line %d (%zu bytes): status %u error %u dsm_off %u end %u, "
			 "want status %d error %d dsm_off %d end %d",
			 line, len, s.status, s.error, s.dsm_off, s.end, status, error, dsm_off, end);
}

#define SCAN(st, off, end, ...)                                                          \
	check_scan(__LINE__, (const uint8_t[]){ __VA_ARGS__ },                              \
		   sizeof((const uint8_t[]){ __VA_ARGS__ }), (st), DSM_IPOPT_OK, (off), (end))
#define ABSENT(end, ...)       SCAN(DSM_IPOPT_ABSENT, DSM_IPOPT_NONE, (end), __VA_ARGS__)
#define PRESENT(off, end, ...) SCAN(DSM_IPOPT_PRESENT, (off), (end), __VA_ARGS__)
#define BAD(err, off, ...)                                                               \
	check_scan(__LINE__, (const uint8_t[]){ __VA_ARGS__ },                              \
		   sizeof((const uint8_t[]){ __VA_ARGS__ }), DSM_IPOPT_MALFORMED, (err), (off), ANY)
#define BAD_LEN(len, err, off, ...)                                                      \
	check_scan(__LINE__, (const uint8_t[64]){ __VA_ARGS__ }, (len), DSM_IPOPT_MALFORMED, \
		   (err), (off), ANY)

/* No dsm option: nothing at all, padding only, other options. */
static void test_scan_absent(void **state)
{
	(void)state;
	check_scan(__LINE__, (const uint8_t[1]){ 0 }, 0, DSM_IPOPT_ABSENT, DSM_IPOPT_OK,
		   DSM_IPOPT_NONE, 0);
	ABSENT(0, 0, 0, 0, 0);
	ABSENT(4, NOP4);
	ABSENT(7, RR, 0);
	ABSENT(12, TS, RA);
	ABSENT(19, TS, RA, RR, 0);
	ABSENT(40, NOP16, NOP16, NOP4, NOP4); /* 40 one-byte steps */
	ABSENT(39, NOP16, NOP16, NOP4, 1, 1, 1, 0);
	/* one option that takes the whole space */
	check_scan(__LINE__, (const uint8_t[40]){ 7, 40, 4 }, 40, DSM_IPOPT_ABSENT, DSM_IPOPT_OK,
		   DSM_IPOPT_NONE, 40);
	check_scan(__LINE__, (const uint8_t[40]){ 7, 39, 4 }, 40, DSM_IPOPT_ABSENT, DSM_IPOPT_OK,
		   DSM_IPOPT_NONE, 39);
}

/* A dsm option alone, behind NOPs, before end-of-options and padding. */
static void test_scan_dsm_alone(void **state)
{
	(void)state;
	PRESENT(0, 24, DSM);
	PRESENT(0, 24, DSM_V(DSM_OPT_VERSION_1));
	PRESENT(0, 24, DSM_V(DSM_OPT_VERSION_3));
	PRESENT(4, 28, NOP4, DSM);
	PRESENT(1, 25, 1, DSM);
	PRESENT(16, 40, NOP16, DSM); /* ends on the last byte of the space */
	PRESENT(0, 24, DSM, 0, 0, 0, 0);
	PRESENT(0, 24, DSM, 0);
	PRESENT(0, 27, DSM, 1, 1, 1, 0);
	PRESENT(3, 27, 1, 1, 1, DSM, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}

/* Other options of valid shape before and after it. */
static void test_scan_dsm_among_options(void **state)
{
	(void)state;
	PRESENT(4, 28, RA, DSM);
	PRESENT(4, 28, RA, DSM, 0, 0, 0, 0);
	PRESENT(8, 32, RR, 1, DSM);
	PRESENT(0, 31, DSM, RR, 0);
	PRESENT(8, 39, TS, DSM, RR, 0); /* the whole 40 bytes */
	PRESENT(12, 36, TS, RA, DSM);
	PRESENT(12, 40, TS, RA, DSM, NOP4);
	PRESENT(0, 32, DSM, TS);
	/* an option whose data holds the dsm type byte is not a dsm option */
	ABSENT(8, 68, 8, 5, 0, 0x9e, 24, 2, 7);
}

/* An option length of 0 or 1, a dsm option's included. */
static void test_scan_bad_length(void **state)
{
	(void)state;
	BAD(DSM_IPOPT_E_LEN, DSM_IPOPT_NONE, 68, 0, 0, 0);
	BAD(DSM_IPOPT_E_LEN, DSM_IPOPT_NONE, 68, 1, 0, 0);
	BAD(DSM_IPOPT_E_LEN, DSM_IPOPT_NONE, NOP4, 7, 0, 0, 0);
	BAD(DSM_IPOPT_E_LEN, DSM_IPOPT_NONE, RA, 7, 1, 0, 0);
	BAD(DSM_IPOPT_E_LEN, DSM_IPOPT_NONE, 0x9e, 0, 2, 7);
	BAD(DSM_IPOPT_E_LEN, DSM_IPOPT_NONE, 0x9e, 1, 2, 7);
	/* after a good dsm option: that one's offset is reported */
	BAD(DSM_IPOPT_E_LEN, 0, DSM, 68, 1, 0, 0);
}

/* An option, or its length byte, past the header's option space. */
static void test_scan_overrun(void **state)
{
	(void)state;
	BAD(DSM_IPOPT_E_OVERRUN, DSM_IPOPT_NONE, 7, 12, 4, 0, 0, 0, 0, 0);
	BAD(DSM_IPOPT_E_OVERRUN, DSM_IPOPT_NONE, NOP4, 7, 5, 4, 0);
	BAD(DSM_IPOPT_E_OVERRUN, DSM_IPOPT_NONE, 7, 255, 4, 0);
	/* past the 40 bytes an IPv4 header holds, with all 40 present */
	BAD(DSM_IPOPT_E_OVERRUN, DSM_IPOPT_NONE, NOP16, NOP16, NOP4, 68, 8, 5, 0);
	/* a dsm option cut short is not reported as one */
	BAD_LEN(20, DSM_IPOPT_E_OVERRUN, DSM_IPOPT_NONE, DSM);
	BAD_LEN(23, DSM_IPOPT_E_OVERRUN, DSM_IPOPT_NONE, DSM);
	BAD_LEN(36, DSM_IPOPT_E_OVERRUN, DSM_IPOPT_NONE, NOP16, DSM);
	/* one running past the space after a good dsm option */
	BAD(DSM_IPOPT_E_OVERRUN, 0, DSM, 7, 7, 4, 0);
	/* the length byte itself past the end */
	BAD(DSM_IPOPT_E_TRUNC, DSM_IPOPT_NONE, 1, 1, 1, 68);
	BAD(DSM_IPOPT_E_TRUNC, DSM_IPOPT_NONE, 0x9e);
	BAD(DSM_IPOPT_E_TRUNC, DSM_IPOPT_NONE, RR, 0x9e);
	BAD(DSM_IPOPT_E_TRUNC, DSM_IPOPT_NONE, NOP16, NOP16, NOP4, 1, 1, 1, 0x9e);
	BAD(DSM_IPOPT_E_TRUNC, 0, DSM, 1, 1, 1, 68);
}

/* Two dsm options. Two of the right length take 48 bytes, more than a
 * header holds (that is E_HEADER, below): the second one here is shorter,
 * and the duplicate is what is reported, not its length. */
static void test_scan_two_dsm(void **state)
{
	(void)state;
	BAD(DSM_IPOPT_E_DUP, 0, DSM, 0x9e, 16, 2, 7, 0, 0, 0, 42, 0, 0, 0, 3, 0, 0, 0, 9);
	BAD(DSM_IPOPT_E_DUP, 0, DSM, 0x9e, 4, 2, 7);
	BAD(DSM_IPOPT_E_DUP, 0, DSM, 0x9e, 2);
	BAD(DSM_IPOPT_E_DUP, 4, NOP4, DSM, 0x9e, 12, 2, 7, 0, 0, 0, 42, 0, 0, 0, 3);
	BAD(DSM_IPOPT_E_DUP, 4, RA, DSM, 0x9e, 2, RA, 1, 1, 1, 1, 0, 0);
	check_scan(__LINE__, (const uint8_t[]){ DSM, DSM }, 48, DSM_IPOPT_MALFORMED,
		   DSM_IPOPT_E_HEADER, DSM_IPOPT_NONE, 0);
}

/* A dsm option of another length or of a version this node does not
 * know: its offset is reported. */
static void test_scan_dsm_wrong_shape(void **state)
{
	(void)state;
	BAD(DSM_IPOPT_E_DSM_LEN, 0, 0x9e, 2);
	BAD(DSM_IPOPT_E_DSM_LEN, 0, 0x9e, 4, 2, 7);
	BAD(DSM_IPOPT_E_DSM_LEN, 4, NOP4, 0x9e, 20, 2, 7, 0, 0, 0, 42, 0, 0, 0, 3, 0, 0, 0, 9, 1, 2,
	    3, 4);
	BAD_LEN(24, DSM_IPOPT_E_DSM_LEN, 0, 0x9e, 23, 2, 7);
	BAD_LEN(25, DSM_IPOPT_E_DSM_LEN, 0, 0x9e, 25, 2, 7);
	BAD_LEN(32, DSM_IPOPT_E_DSM_LEN, 4, RA, 0x9e, 28, 2, 7);
	BAD_LEN(40, DSM_IPOPT_E_DSM_LEN, 0, 0x9e, 40, 2, 7);
	BAD(DSM_IPOPT_E_DSM_VER, 0, DSM_V(0));
	BAD(DSM_IPOPT_E_DSM_VER, 0, DSM_V(4));
	BAD(DSM_IPOPT_E_DSM_VER, 0, DSM_V(0xff));
	BAD(DSM_IPOPT_E_DSM_VER, 8, TS, DSM_V(4), 0, 0, 0, 0);
	BAD(DSM_IPOPT_E_DSM_VER, 1, 1, DSM_V(0x82));
}

/* More option bytes than an IPv4 header holds: refused before the walk,
 * whatever they say. */
static void test_scan_beyond_40(void **state)
{
	static const uint8_t dsm[] = { DSM };
	uint8_t opts[64];

	(void)state;
	memset(opts, DSM_IPOPT_NOP, sizeof(opts));
	memcpy(opts, dsm, sizeof(dsm));
	check_scan(__LINE__, opts, 40, DSM_IPOPT_PRESENT, DSM_IPOPT_OK, 0, 40);
	for (size_t len = 41; len <= sizeof(opts); len++)
		check_scan(__LINE__, opts, len, DSM_IPOPT_MALFORMED, DSM_IPOPT_E_HEADER,
			   DSM_IPOPT_NONE, 0);
	memset(opts, 0, sizeof(opts));
	check_scan(__LINE__, opts, 44, DSM_IPOPT_MALFORMED, DSM_IPOPT_E_HEADER, DSM_IPOPT_NONE, 0);
}

/* After end-of-options only zero bytes: an option hidden behind it is
 * malformed, not absent. */
static void test_scan_after_eol(void **state)
{
	(void)state;
	BAD(DSM_IPOPT_E_PAD, DSM_IPOPT_NONE, 0, 1, 0, 0);
	BAD(DSM_IPOPT_E_PAD, DSM_IPOPT_NONE, 0, 0, 0, 0x80);
	BAD(DSM_IPOPT_E_PAD, DSM_IPOPT_NONE, 0, DSM);
	BAD_LEN(40, DSM_IPOPT_E_PAD, DSM_IPOPT_NONE, RR, [39] = 0x44); /* the 40th byte */
	BAD(DSM_IPOPT_E_PAD, 0, DSM, 0, 0, 0, 68);
	BAD(DSM_IPOPT_E_PAD, 0, DSM, 0, 1, 1, 1);
}

/* An independent walker, written from ipopt.h's verdicts. end: the list's
 * length before end-of-options (checked only when not malformed). */
static struct dsm_ipopt_scan ref_scan(const uint8_t *b, size_t len)
{
	struct dsm_ipopt_scan s = { DSM_IPOPT_ABSENT, DSM_IPOPT_OK, DSM_IPOPT_NONE, 0 };
	size_t off = 0, end = len;
	int eol = 0, found = 0;

#define REF_FAIL(e)                                                                      \
	do {                                                                             \
		s.status = DSM_IPOPT_MALFORMED;                                          \
		s.error = (e);                                                           \
		return s;                                                                \
	} while (0)
	if (len > DSM_IPOPT_SPACE)
		REF_FAIL(DSM_IPOPT_E_HEADER);
	while (off < len) {
		uint8_t type = b[off], olen;

		if (eol) {
			if (type)
				REF_FAIL(DSM_IPOPT_E_PAD);
			off++;
			continue;
		}
		if (type == DSM_IPOPT_EOL || type == DSM_IPOPT_NOP) {
			if (type == DSM_IPOPT_EOL) {
				eol = 1;
				end = off;
			}
			off++;
			continue;
		}
		if (off + 2 > len)
			REF_FAIL(DSM_IPOPT_E_TRUNC);
		olen = b[off + 1];
		if (olen < 2)
			REF_FAIL(DSM_IPOPT_E_LEN);
		if (off + olen > len)
			REF_FAIL(DSM_IPOPT_E_OVERRUN);
		if (type == DSM_OPT_TYPE) {
			if (found)
				REF_FAIL(DSM_IPOPT_E_DUP);
			found = 1;
			s.dsm_off = (uint8_t)off;
			if (olen != DSM_OPT_LEN)
				REF_FAIL(DSM_IPOPT_E_DSM_LEN);
			if (b[off + 2] != DSM_OPT_VERSION && b[off + 2] != DSM_OPT_VERSION_1 &&
			    b[off + 2] != DSM_OPT_VERSION_3)
				REF_FAIL(DSM_IPOPT_E_DSM_VER);
		}
		off += olen;
	}
#undef REF_FAIL
	s.end = (uint8_t)end;
	if (found)
		s.status = DSM_IPOPT_PRESENT;
	return s;
}

/* A random option list: NOPs, options of random type and length, dsm
 * options, end-of-options and padding, now and then a byte changed or the
 * list cut short or run long. */
static size_t gen_options(uint8_t b[64])
{
	static const uint8_t dsm[] = { DSM };
	size_t n = 0, want = rnd() % 6 ? rnd() % 41 : rnd() % 65;
	uint8_t t[64 + 2 * DSM_OPT_LEN] = { 0 }; /* room for the last item */

	while (n < want) {
		unsigned kind = (unsigned)(rnd() % 12);
		size_t olen;

		if (kind < 3) {
			t[n++] = DSM_IPOPT_NOP;
		} else if (kind == 3) {
			t[n++] = DSM_IPOPT_EOL; /* the zeroes after it are its padding */
			n = want;
		} else if (kind < 7) {
			olen = 2 + rnd() % 10;
			t[n] = (uint8_t)(2 + rnd() % 254);
			if (t[n] == DSM_OPT_TYPE)
				t[n] = 68;
			t[n + 1] = (uint8_t)olen;
			rnd_bytes(t + n + 2, olen - 2);
			n += olen;
		} else if (kind < 10) {
			memcpy(t + n, dsm, sizeof(dsm));
			if (rnd() % 2)
				t[n + 2] = DSM_OPT_VERSION_1;
			else if (kind == 9)
				t[n + 2] = (uint8_t)rnd();
			n += sizeof(dsm);
		} else if (kind == 10) {
			/* a dsm option of another length */
			olen = 2 + rnd() % 30;
			memcpy(t + n, dsm, olen < sizeof(dsm) ? olen : sizeof(dsm));
			t[n + 1] = (uint8_t)olen;
			n += olen;
		} else {
			/* a short or broken option */
			t[n++] = (uint8_t)(rnd() % 2 ? DSM_OPT_TYPE : 68);
			t[n++] = (uint8_t)(rnd() % 3);
		}
	}
	if (n > 64)
		n = 64;
	if (want < n && rnd() % 4)
		n = want;
	if (rnd() % 4 == 0)
		t[rnd() % 64] = (uint8_t)rnd();
	if (rnd() % 8 == 0)
		t[rnd() % 64] = (uint8_t)(rnd() % 3 ? rnd() % 4 : DSM_OPT_TYPE);
	memcpy(b, t, 64);
	return n;
}

static void test_scan_random_against_reference(void **state)
{
	unsigned verdicts[3] = { 0 }, errors[DSM_IPOPT_E_PAD + 1] = { 0 };
	uint8_t b[64];

	(void)state;
	for (int n = 0; n < 200000; n++) {
		size_t len = gen_options(b);
		struct dsm_ipopt_scan want = ref_scan(b, len), got = scan_bytes(b, len);

		if (got.status != want.status || got.error != want.error ||
		    got.dsm_off != want.dsm_off ||
		    (want.status != DSM_IPOPT_MALFORMED && got.end != want.end)) {
			char hex[64 * 3 + 1] = "";

			for (size_t i = 0; i < len; i++)
				snprintf(hex + 3 * i, 4, "%02x ", b[i]);
			fail_msg("case %d, %zu bytes: %s\n got status %u error %u dsm_off %u end %u,"
				 " want %u %u %u %u",
				 n, len, hex, got.status, got.error, got.dsm_off, got.end,
				 want.status, want.error, want.dsm_off, want.end);
		}
		verdicts[want.status]++;
		errors[want.error]++;
	}
	/* the generator reaches every verdict and every error */
	for (int i = 0; i < 3; i++)
		if (verdicts[i] < 100)
			fail_msg("verdict %d only %u times", i, verdicts[i]);
	for (int i = 0; i <= DSM_IPOPT_E_PAD; i++)
		if (errors[i] < 100)
			fail_msg("error %d only %u times", i, errors[i]);
}

/* ---- the MAC ---------------------------------------------------------- */

/* A packet's fields as bytes on the wire, and the cluster key. */
struct pkt {
	uint8_t key[16];
	uint8_t saddr[4], daddr[4];
	uint8_t protocol;
	uint8_t id[2];
	uint8_t ports[4]; /* source, destination: bound by a version 3 MAC */
	uint8_t opt[DSM_OPT_LEN];
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static struct pkt base_pkt(uint8_t version)
{
	struct pkt p = {
		.saddr = { 10, 0, 0, 1 },
		.daddr = { 10, 0, 0, 2 },
		.protocol = 6,
		.id = { 0x12, 0x34 },
		.ports = { 0x9c, 0x40, 0x00, 0x35 }, /* 40000 -> 53 */
		.opt = { DSM_OPT_TYPE, DSM_OPT_LEN, version, 7 },
	};

	for (int i = 0; i < 16; i++)
		p.key[i] = (uint8_t)(0xa0 + i);
	put_be32(p.opt + 4, 0x00010203); /* label */
	put_be32(p.opt + 8, 3);          /* node */
	put_be32(p.opt + 12, 1000);      /* epoch */
	memset(p.opt + 16, 0xee, 8);     /* MAC: not part of the message */
	return p;
}

/* The MAC of docs/wire.md, built here byte by byte: SipHash-2-4 (OpenSSL)
 * of saddr daddr protocol 0 id-or-0 option[0..16), or for version 3 of
 * saddr daddr protocol 0 0 0 sport dport option[0..16). */
static void ref_mac(const struct pkt *p, uint8_t out[8])
{
	uint8_t msg[DSM_MAC_MSG_LEN], msg3[DSM_MAC_MSG3_LEN];

	if (p->opt[2] == DSM_OPT_VERSION_3) {
		memcpy(msg3, p->saddr, 4);
		memcpy(msg3 + 4, p->daddr, 4);
		msg3[8] = p->protocol;
		msg3[9] = msg3[10] = msg3[11] = 0;
		memcpy(msg3 + 12, p->ports, 4);
		memcpy(msg3 + 16, p->opt, 16);
		ref_siphash(p->key, msg3, sizeof(msg3), out);
		return;
	}
	memcpy(msg, p->saddr, 4);
	memcpy(msg + 4, p->daddr, 4);
	msg[8] = p->protocol;
	msg[9] = 0;
	if (p->opt[2] == DSM_OPT_VERSION_1) {
		msg[10] = p->id[0];
		msg[11] = p->id[1];
	} else {
		msg[10] = msg[11] = 0;
	}
	memcpy(msg + 12, p->opt, 16);
	ref_siphash(p->key, msg, sizeof(msg), out);
}

static struct dsm_mac_key key_of(const uint8_t key[16], uint8_t key_id)
{
	struct dsm_mac_key k = { .valid = 1, .key_id = key_id };

	k.k0 = load_le64(key);
	k.k1 = load_le64(key + 8);
	return k;
}

/* The packet's fields as the BPF code gets them. */
struct native {
	__be32 saddr, daddr;
	__be16 id;
	__be32 ports;
	struct dsm_ipopt opt;
};

static struct native native_of(const struct pkt *p)
{
	struct native n;

	memcpy(&n.saddr, p->saddr, 4);
	memcpy(&n.daddr, p->daddr, 4);
	memcpy(&n.id, p->id, 2);
	memcpy(&n.ports, p->ports, 4);
	memcpy(&n.opt, p->opt, sizeof(n.opt));
	return n;
}

/* dsm_mac() with the packet's own key, as the reference's 8 bytes. */
static void native_mac(struct dsm_mac_memo *memo, const struct pkt *p, uint8_t out[8])
{
	struct dsm_mac_key k = key_of(p->key, p->opt[3]);
	struct native n = native_of(p);
	__u64 mac;

	assert_int_equal(dsm_mac(memo, &k, n.saddr, n.daddr, p->protocol, n.id, n.ports, &n.opt, &mac), 0);
	store_le64(out, mac);
}

static void check_mac(int line, struct dsm_mac_memo *memo, const struct pkt *p)
{
	uint8_t got[8], want[8];

	ref_mac(p, want);
	native_mac(memo, p, got);
	if (memcmp(got, want, 8))
		fail_msg("line %d: dsm_mac differs from the documented message's SipHash", line);
}

/* dsm_mac() and dsm_mac_put(): the wire bytes are SipHash of the message
 * of docs/wire.md, for both versions and for random packets. */
static void test_mac_message(void **state)
{
	struct pkt p = base_pkt(DSM_OPT_VERSION);
	uint8_t want[8], before[DSM_OPT_LEN];
	struct native n;
	struct dsm_mac_key k;
	__u64 mac;

	(void)state;
	check_mac(__LINE__, NULL, &p);
	p = base_pkt(DSM_OPT_VERSION_1);
	check_mac(__LINE__, NULL, &p);
	p = base_pkt(DSM_OPT_VERSION_3);
	check_mac(__LINE__, NULL, &p);

	/* dsm_mac_put writes the reference's bytes into the MAC field only */
	p = base_pkt(DSM_OPT_VERSION);
	n = native_of(&p);
	k = key_of(p.key, p.opt[3]);
	memcpy(before, &n.opt, sizeof(before));
	assert_int_equal(dsm_mac(NULL, &k, n.saddr, n.daddr, p.protocol, n.id, n.ports, &n.opt, &mac), 0);
	dsm_mac_put(&n.opt, mac);
	ref_mac(&p, want);
	assert_memory_equal(n.opt.mac, want, 8);
	assert_memory_equal(&n.opt, before, DSM_OPT_MAC_OFF);

	for (int i = 0; i < 2000; i++) {
		rnd_bytes((uint8_t *)&p, sizeof(p));
		p.opt[0] = DSM_OPT_TYPE;
		p.opt[1] = DSM_OPT_LEN;
		p.opt[2] = i % 3 == 2 ? DSM_OPT_VERSION_3 : i % 2 ? DSM_OPT_VERSION : DSM_OPT_VERSION_1;
		check_mac(__LINE__, NULL, &p);
	}
}

/* Every bit of the message counts: a change to any covered field changes
 * the MAC (to that of the changed message); the IP ID counts in a version 1
 * option only, the MAC field and bytes beyond it never. */
static void test_mac_covers_fields(void **state)
{
	static const struct {
		const char *name;
		size_t off, len; /* in struct pkt */
	} fields[] = {
		{ "saddr", offsetof(struct pkt, saddr), 4 },
		{ "daddr", offsetof(struct pkt, daddr), 4 },
		{ "protocol", offsetof(struct pkt, protocol), 1 },
		{ "type", offsetof(struct pkt, opt), 1 },
		{ "len", offsetof(struct pkt, opt) + 1, 1 },
		{ "version", offsetof(struct pkt, opt) + 2, 1 },
		{ "key id", offsetof(struct pkt, opt) + 3, 1 },
		{ "label", offsetof(struct pkt, opt) + 4, 4 },
		{ "node", offsetof(struct pkt, opt) + 8, 4 },
		{ "epoch", offsetof(struct pkt, opt) + 12, 4 },
		{ "key", offsetof(struct pkt, key), 16 },
	};

	(void)state;
	for (int v = DSM_OPT_VERSION_1; v <= DSM_OPT_VERSION_3; v++) {
		struct pkt base = base_pkt((uint8_t)v), p;
		uint8_t mac0[8], mac[8];

		native_mac(NULL, &base, mac0);
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			for (size_t bit = 0; bit < fields[f].len * 8; bit++) {
				p = base;
				((uint8_t *)&p)[fields[f].off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
				native_mac(NULL, &p, mac);
				if (!memcmp(mac, mac0, 8))
					fail_msg("version %d: %s bit %zu does not change the MAC", v,
						 fields[f].name, bit);
				check_mac(__LINE__, NULL, &p);
			}
		}
		/* the addresses swapped: the other direction has its own MAC */
		p = base;
		memcpy(p.saddr, base.daddr, 4);
		memcpy(p.daddr, base.saddr, 4);
		native_mac(NULL, &p, mac);
		assert_memory_not_equal(mac, mac0, 8);
		/* the IP ID: in the message of a version 1 option only */
		for (int bit = 0; bit < 16; bit++) {
			p = base;
			p.id[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			native_mac(NULL, &p, mac);
			if ((v == DSM_OPT_VERSION_1) != (memcmp(mac, mac0, 8) != 0))
				fail_msg("version %d: IP ID bit %d %s the MAC", v, bit,
					 v == DSM_OPT_VERSION_1 ? "does not change" : "changes");
		}
		/* the ports: in the message of a version 3 option only */
		for (int bit = 0; bit < 32; bit++) {
			p = base;
			p.ports[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			native_mac(NULL, &p, mac);
			if ((v == DSM_OPT_VERSION_3) != (memcmp(mac, mac0, 8) != 0))
				fail_msg("version %d: port bit %d %s the MAC", v, bit,
					 v == DSM_OPT_VERSION_3 ? "does not change" : "changes");
		}
		/* the MAC field is not read */
		p = base;
		rnd_bytes(p.opt + DSM_OPT_MAC_OFF, 8);
		native_mac(NULL, &p, mac);
		assert_memory_equal(mac, mac0, 8);
	}
}

/* dsm_mac_equal(): the field holds the MAC's little-endian bytes; any one
 * bit off, or the bytes in the other order, is a mismatch. */
static void test_mac_equal(void **state)
{
	struct pkt p = base_pkt(DSM_OPT_VERSION);
	struct native n = native_of(&p);
	struct dsm_mac_key k = key_of(p.key, p.opt[3]);
	uint8_t wire[8];
	__u64 mac;

	(void)state;
	assert_int_equal(dsm_mac(NULL, &k, n.saddr, n.daddr, p.protocol, n.id, n.ports, &n.opt, &mac), 0);
	assert_false(dsm_mac_equal(&n.opt, mac)); /* the field holds 0xee bytes */
	ref_mac(&p, wire);
	memcpy(n.opt.mac, wire, 8);
	assert_true(dsm_mac_equal(&n.opt, mac));
	for (int bit = 0; bit < 64; bit++) {
		assert_false(dsm_mac_equal(&n.opt, mac ^ (1ULL << bit)));
		n.opt.mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (dsm_mac_equal(&n.opt, mac))
			fail_msg("MAC field bit %d flipped still equal", bit);
		n.opt.mac[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_true(mac != __builtin_bswap64(mac));
	assert_false(dsm_mac_equal(&n.opt, __builtin_bswap64(mac)));
	dsm_mac_put(&n.opt, mac);
	assert_memory_equal(n.opt.mac, wire, 8);
	assert_true(dsm_mac_equal(&n.opt, mac));
}

/* The slot of the memo that holds key and the packet's message, if any. */
static struct dsm_mac_memo_slot *memo_find(struct dsm_mac_memo *memo, const struct dsm_mac_key *k,
					   const struct pkt *p)
{
	struct dsm_mac_memo_slot *hit = NULL;
	union dsm_mac_msg m = { .w = { 0 } };
	__u64 len = DSM_MAC_MSG_LEN;

	memcpy(&m.f.saddr, p->saddr, 4);
	memcpy(&m.f.daddr, p->daddr, 4);
	m.f.protocol = p->protocol;
	if (p->opt[2] == DSM_OPT_VERSION_3) {
		memcpy(&m.f3.ports, p->ports, 4);
		memcpy(m.f3.opt, p->opt, 16);
		len = DSM_MAC_MSG3_LEN;
	} else {
		if (p->opt[2] == DSM_OPT_VERSION_1)
			memcpy(&m.f.id, p->id, 2);
		memcpy(m.f.opt, p->opt, 16);
	}
	for (int i = 0; i < DSM_MAC_MEMO_SLOTS; i++) {
		struct dsm_mac_memo_slot *s = &memo->slot[i];

		if (s->k0 == k->k0 && s->k1 == k->k1 && s->len == len &&
		    !memcmp(s->msg, m.w, sizeof(m.w))) {
			assert_null(hit);
			hit = s;
		}
	}
	return hit;
}

/* The memo changes no MAC: it remembers what it computed, for that key
 * and message only. */
static void test_mac_memo(void **state)
{
	struct dsm_mac_memo *memo = calloc(1, sizeof(*memo)), *copy = malloc(sizeof(*memo));
	struct pkt p = base_pkt(DSM_OPT_VERSION), q;
	struct dsm_mac_memo_slot *s;
	struct dsm_mac_key k = key_of(p.key, p.opt[3]), kq;
	uint8_t want[8], got[8];

	(void)state;
	assert_non_null(memo);
	assert_non_null(copy);
	/* a miss fills one slot, with the MAC it returns */
	check_mac(__LINE__, memo, &p);
	assert_int_equal(memo->busy, 0);
	s = memo_find(memo, &k, &p);
	assert_non_null(s);
	ref_mac(&p, want);
	store_le64(got, s->mac);
	assert_memory_equal(got, want, 8);
	/* a hit returns the slot's MAC (poked here to see it is used) */
	s->mac ^= 1;
	native_mac(memo, &p, got);
	assert_int_equal(load_le64(got), s->mac);
	s->mac ^= 1;
	check_mac(__LINE__, memo, &p);
	/* another key under the same id misses, and takes the slot over */
	q = p;
	q.key[15] ^= 0x80;
	check_mac(__LINE__, memo, &q);
	kq = key_of(q.key, 7);
	assert_non_null(memo_find(memo, &kq, &q));
	assert_null(memo_find(memo, &k, &p));
	check_mac(__LINE__, memo, &p);
	/* busy: computed without the memo, which is left as it was */
	memo->busy = 1;
	memcpy(copy, memo, sizeof(*memo));
	check_mac(__LINE__, memo, &q);
	p.opt[7] ^= 1;
	check_mac(__LINE__, memo, &p);
	assert_memory_equal(memo, copy, sizeof(*memo));
	memo->busy = 0;
	/* an empty slot matches no message: a zero key and a message that is
	 * zero but for the option's type */
	memset(memo, 0, sizeof(*memo));
	memset(&q, 0, sizeof(q));
	q.opt[0] = DSM_OPT_TYPE;
	check_mac(__LINE__, memo, &q);
	/* many packets through one memo, slots evicted and reused, each
	 * twice: every MAC is the reference's */
	for (int i = 0; i < 3000; i++) {
		rnd_bytes((uint8_t *)&q, sizeof(q));
		if (i % 3)
			memcpy(q.key, p.key, sizeof(q.key));
		q.opt[0] = DSM_OPT_TYPE;
		q.opt[1] = DSM_OPT_LEN;
		q.opt[2] = i % 3 == 2 ? DSM_OPT_VERSION_3 : i % 2 ? DSM_OPT_VERSION : DSM_OPT_VERSION_1;
		q.protocol = (uint8_t)(i % 4);
		check_mac(__LINE__, memo, &q);
		check_mac(__LINE__, memo, &q);
		assert_int_equal(memo->busy, 0);
	}
	free(copy);
	free(memo);
}

/* ---- epochs and keys ---------------------------------------------------- */

/* Serial-number distance: |claimed - local| modulo 2^32, at most 2^31. */
static int ref_epoch_ok(uint32_t claimed, uint32_t local, uint32_t window)
{
	int64_t d = (int32_t)(claimed - local);

	return (d < 0 ? -d : d) <= (int64_t)window;
}

static void test_epoch_window(void **state)
{
	static const struct {
		uint32_t claimed, local, window;
		int ok;
	} cases[] = {
		{ 100, 100, 0, 1 },        { 101, 100, 0, 0 },
		{ 99, 100, 0, 0 },         { 95, 100, 5, 1 },
		{ 105, 100, 5, 1 },        { 94, 100, 5, 0 },
		{ 106, 100, 5, 0 },
		/* the window straddles zero (docs/wire.md's examples) */
		{ 0xfffffffd, 2, 5, 1 },   { 0xfffffffc, 2, 5, 0 },
		{ 0, 2, 5, 1 },            { 7, 2, 5, 1 },
		{ 8, 2, 5, 0 },            { 0xfffffffb, 0xfffffffe, 3, 1 },
		{ 0xfffffffa, 0xfffffffe, 3, 0 }, { 1, 0xfffffffe, 3, 1 },
		{ 2, 0xfffffffe, 3, 0 },   { 0, 0xffffffff, 1, 1 },
		{ 0xffffffff, 0, 1, 1 },   { 1, 0xffffffff, 1, 0 },
		/* the widest windows */
		{ 0x80000064, 100, 0x7fffffff, 0 }, { 0x80000063, 100, 0x7fffffff, 1 },
		{ 0x80000065, 100, 0x7fffffff, 1 }, { 0x80000064, 100, 0x80000000, 1 },
		{ 0x80000000, 0, 0x80000000, 1 }, { 12345, 0x80003039, 0xffffffff, 1 },
		{ 0, 0xffffffff, 0xffffffff, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ok = dsm_epoch_ok(cases[i].claimed, cases[i].local, cases[i].window);

		if (!!ok != cases[i].ok)
			fail_msg("epoch %#x, ours %#x, window %#x: %s", cases[i].claimed,
				 cases[i].local, cases[i].window, ok ? "accepted" : "refused");
		assert_int_equal(ref_epoch_ok(cases[i].claimed, cases[i].local, cases[i].window),
				 cases[i].ok);
	}
	/* anywhere on the circle, at both edges of random windows */
	for (int i = 0; i < 100000; i++) {
		uint32_t local = (uint32_t)rnd(), window = (uint32_t)rnd(), claimed;

		if (i % 2)
			window %= 1000;
		switch (i % 4) {
		case 0: claimed = local + window; break;
		case 1: claimed = local - window - 1; break;
		case 2: claimed = local - window; break;
		default: claimed = (uint32_t)rnd(); break;
		}
		if (!!dsm_epoch_ok(claimed, local, window) != ref_epoch_ok(claimed, local, window))
			fail_msg("epoch %#x, ours %#x, window %#x", claimed, local, window);
	}
	/* every epoch within 2^31 either way of a window of 2^31 or more */
	for (int i = 0; i < 1000; i++)
		assert_true(dsm_epoch_ok((uint32_t)rnd(), (uint32_t)rnd(),
					 0x80000000u + (uint32_t)(rnd() % 0x80000000u)));
}

static void test_key_matches(void **state)
{
	struct dsm_mac_key k = { .valid = 1, .key_id = 7, .k0 = 1, .k1 = 2 };

	(void)state;
	assert_true(dsm_key_matches(&k, 7));
	assert_false(dsm_key_matches(&k, 8));
	assert_false(dsm_key_matches(&k, 0));
	assert_false(dsm_key_matches(NULL, 7));
	k.valid = 0; /* matches nothing, even by id */
	assert_false(dsm_key_matches(&k, 7));
	k = (struct dsm_mac_key){ .valid = 1, .key_id = 0 };
	assert_true(dsm_key_matches(&k, 0));
	assert_false(dsm_key_matches(&k, 0xff));
}

/* ---- dsm_verify ----------------------------------------------------------- */

/* Sign p (its MAC field) with its own key. */
static void sign(struct pkt *p)
{
	ref_mac(p, p->opt + DSM_OPT_MAC_OFF);
}

static enum dsm_verify verify(struct dsm_mac_memo *memo, const struct pkt *p,
			      const struct dsm_mac_key *slot0, const struct dsm_mac_key *slot1,
			      uint32_t local, uint32_t window)
{
	struct native n = native_of(p);

	return dsm_verify(memo, &n.opt, n.saddr, n.daddr, p->protocol, n.id, n.ports, slot0, slot1,
			  local, window);
}

static const char *verdict_name(int v)
{
	switch (v) {
	case DSM_VERIFY_OK: return "ok";
	case DSM_VERIFY_NOKEY: return "no key";
	case DSM_VERIFY_BADMAC: return "bad MAC";
	case DSM_VERIFY_STALE: return "stale";
	}
	return "?";
}

#define VERIFY(want, p, s0, s1, local, window)                                             \
	do {                                                                               \
		int got_ = verify(memo, (p), (s0), (s1), (local), (window));               \
		if (got_ != (want))                                                        \
			fail_msg("line %d (%s memo): %s, want %s", __LINE__,               \
				 memo ? "with" : "no", verdict_name(got_), verdict_name(want)); \
	} while (0)

static void verify_cases(struct dsm_mac_memo *memo)
{
	struct pkt p = base_pkt(DSM_OPT_VERSION), q;
	uint8_t other[16];
	struct dsm_mac_key good, bad, off, id3;

	memcpy(other, p.key, 16);
	other[0] ^= 1;
	good = key_of(p.key, 7);
	bad = key_of(other, 7);  /* another key under the same id */
	off = good;
	off.valid = 0;           /* the right key, not valid */
	id3 = key_of(other, 3);
	sign(&p);

	/* ok: either slot, the other empty, invalid or of another id */
	VERIFY(DSM_VERIFY_OK, &p, &good, NULL, 1000, 0);
	VERIFY(DSM_VERIFY_OK, &p, NULL, &good, 1000, 0);
	VERIFY(DSM_VERIFY_OK, &p, &id3, &good, 1000, 0);
	VERIFY(DSM_VERIFY_OK, &p, &good, &id3, 1000, 0);
	VERIFY(DSM_VERIFY_OK, &p, &off, &good, 1000, 0);
	/* both slots carry the id (a rotation, one being rewritten): either
	 * key verifies */
	VERIFY(DSM_VERIFY_OK, &p, &bad, &good, 1000, 0);
	VERIFY(DSM_VERIFY_OK, &p, &good, &bad, 1000, 0);
	VERIFY(DSM_VERIFY_BADMAC, &p, &bad, &bad, 1000, 0);

	/* no valid slot holds the key id */
	VERIFY(DSM_VERIFY_NOKEY, &p, NULL, NULL, 1000, 0);
	VERIFY(DSM_VERIFY_NOKEY, &p, &id3, NULL, 1000, 0);
	VERIFY(DSM_VERIFY_NOKEY, &p, &id3, &id3, 1000, 0);
	VERIFY(DSM_VERIFY_NOKEY, &p, &off, &off, 1000, 0);
	VERIFY(DSM_VERIFY_NOKEY, &p, &off, &id3, 1000, 0);
	q = p;
	q.opt[3] = 3; /* signed for id 7, claims 3: slot id3 has another key */
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, &id3, 1000, 0);
	VERIFY(DSM_VERIFY_NOKEY, &q, &good, NULL, 1000, 0);

	/* bad MAC: any bit of the field, any covered field after signing */
	for (int bit = 0; bit < 64; bit++) {
		q = p;
		q.opt[DSM_OPT_MAC_OFF + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		VERIFY(DSM_VERIFY_BADMAC, &q, &good, &good, 1000, 0);
		VERIFY(DSM_VERIFY_OK, &p, &good, &good, 1000, 0);
	}
	q = p;
	q.opt[7] ^= 1; /* label */
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 1000, 0);
	q = p;
	q.opt[11] ^= 1; /* node */
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 1000, 0);
	q = p;
	q.saddr[3] ^= 1;
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 1000, 0);
	q = p;
	q.daddr[0] ^= 1;
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 1000, 0);
	q = p;
	q.protocol = 17;
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 1000, 0);
	/* the MAC of one version does not verify the option under the other */
	q = p;
	q.opt[2] = DSM_OPT_VERSION_1;
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 1000, 0);
	/* the IP ID: free in version 2, bound in version 1 */
	q = p;
	q.id[1] ^= 0xff;
	VERIFY(DSM_VERIFY_OK, &q, &good, NULL, 1000, 0);
	q = base_pkt(DSM_OPT_VERSION_1);
	sign(&q);
	VERIFY(DSM_VERIFY_OK, &q, &good, NULL, 1000, 0);
	q.id[1] ^= 0xff;
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 1000, 0);

	/* stale: the MAC is good, the epoch (1000) outside the window */
	VERIFY(DSM_VERIFY_OK, &p, &good, NULL, 990, 10);
	VERIFY(DSM_VERIFY_OK, &p, &good, NULL, 1010, 10);
	VERIFY(DSM_VERIFY_STALE, &p, &good, NULL, 989, 10);
	VERIFY(DSM_VERIFY_STALE, &p, &good, NULL, 1011, 10);
	VERIFY(DSM_VERIFY_STALE, &p, &good, NULL, 1001, 0);
	VERIFY(DSM_VERIFY_STALE, &p, &good, &good, 0, 0);
	/* checked after the MAC: a forged or unkeyed one is not "stale" */
	q = p;
	q.opt[DSM_OPT_MAC_OFF] ^= 1;
	VERIFY(DSM_VERIFY_BADMAC, &q, &good, NULL, 0, 0);
	VERIFY(DSM_VERIFY_NOKEY, &p, &id3, NULL, 0, 0);
	/* the epoch is big-endian on the wire, and wraps */
	q = p;
	q.opt[12] = 0x01;
	q.opt[13] = 0x02;
	q.opt[14] = 0x03;
	q.opt[15] = 0x04;
	sign(&q);
	VERIFY(DSM_VERIFY_OK, &q, &good, NULL, 0x01020304, 0);
	VERIFY(DSM_VERIFY_STALE, &q, &good, NULL, 0x04030201, 0);
	put_be32(q.opt + 12, 0xfffffffd);
	sign(&q);
	VERIFY(DSM_VERIFY_OK, &q, &good, NULL, 2, 5);
	VERIFY(DSM_VERIFY_STALE, &q, &good, NULL, 3, 5);
	put_be32(q.opt + 12, 7);
	sign(&q);
	VERIFY(DSM_VERIFY_OK, &q, &good, NULL, 2, 5);
	VERIFY(DSM_VERIFY_STALE, &q, &good, NULL, 1, 5);
}

/* dsm_verify()'s four outcomes, without and with a memo (which changes no
 * verdict: a good MAC remembered does not make a bad one pass). */
static void test_verify(void **state)
{
	struct dsm_mac_memo *memo = calloc(1, sizeof(*memo));

	(void)state;
	assert_non_null(memo);
	verify_cases(NULL);
	verify_cases(memo);
	verify_cases(memo); /* now with every message remembered */
	assert_int_equal(memo->busy, 0);
	free(memo);
}

/* Version 3: the pair key of the claimed node and generation bit is the
 * only key tried (the caller passes it as slot 0), its stored generation
 * byte must be the option's key id, and the MAC binds the ports. */
static void verify_v3_cases(struct dsm_mac_memo *memo)
{
	struct pkt p = base_pkt(DSM_OPT_VERSION_3), q;
	struct dsm_mac_key pair, older, other;
	uint8_t k2[16];

	p.opt[3] = 9; /* generation 9 (slot 1) */
	sign(&p);
	pair = key_of(p.key, 9);
	older = key_of(p.key, 7); /* the same slot, generation 7 stored */
	memcpy(k2, p.key, 16);
	k2[5] ^= 0x10;
	other = key_of(k2, 9);    /* another pair's key of generation 9 */

	VERIFY(DSM_VERIFY_OK, &p, &pair, NULL, 1000, 0);
	/* the ports are bound: another destination or source port fails */
	q = p;
	q.ports[3] ^= 1;
	VERIFY(DSM_VERIFY_BADMAC, &q, &pair, NULL, 1000, 0);
	q = p;
	q.ports[0] ^= 0x80;
	VERIFY(DSM_VERIFY_BADMAC, &q, &pair, NULL, 1000, 0);
	q = p;
	memset(q.ports, 0, 4); /* a later fragment's zero ports: another message */
	VERIFY(DSM_VERIFY_BADMAC, &q, &pair, NULL, 1000, 0);
	/* the generation byte must be the stored one: none is, no key */
	VERIFY(DSM_VERIFY_NOKEY, &p, &older, NULL, 1000, 0);
	q = p;
	q.opt[3] = 11; /* same slot bit, a generation not held */
	sign(&q);
	VERIFY(DSM_VERIFY_NOKEY, &q, &pair, NULL, 1000, 0);
	/* no pair key for the claimed node */
	VERIFY(DSM_VERIFY_NOKEY, &p, NULL, NULL, 1000, 0);
	/* a key of another pair with the right generation: wrong MAC */
	VERIFY(DSM_VERIFY_BADMAC, &p, &other, NULL, 1000, 0);
	/* the MAC of version 3 does not verify the option as version 2 */
	q = p;
	q.opt[2] = DSM_OPT_VERSION;
	VERIFY(DSM_VERIFY_BADMAC, &q, &pair, NULL, 1000, 0);
	/* and a version 2 MAC does not verify as version 3 */
	q = base_pkt(DSM_OPT_VERSION);
	q.opt[3] = 9;
	sign(&q);
	q.opt[2] = DSM_OPT_VERSION_3;
	VERIFY(DSM_VERIFY_BADMAC, &q, &pair, NULL, 1000, 0);
	/* stale after a good MAC */
	VERIFY(DSM_VERIFY_STALE, &p, &pair, NULL, 2000, 10);
}

static void test_verify_v3(void **state)
{
	struct dsm_mac_memo *memo = calloc(1, sizeof(*memo));

	(void)state;
	assert_non_null(memo);
	verify_v3_cases(NULL);
	verify_v3_cases(memo);
	verify_v3_cases(memo);
	assert_int_equal(memo->busy, 0);
	free(memo);
}

/* dsm_siphash_32() is SipHash-2-4 of 32 bytes (the version 3 message). */
static void test_siphash_32(void **state)
{
	uint8_t key[16], out[8];
	union dsm_mac_msg m;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		rnd_bytes(key, 16);
		rnd_bytes((uint8_t *)m.w, sizeof(m.w));
		ref_siphash(key, (const uint8_t *)m.w, 32, out);
		assert_int_equal(dsm_siphash_32(load_le64(key), load_le64(key + 8), &m),
				 load_le64(out));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_published_vectors),
		cmocka_unit_test(test_siphash_max_len),
		cmocka_unit_test(test_siphash_random_lengths),
		cmocka_unit_test(test_siphash_28),
		cmocka_unit_test(test_scan_absent),
		cmocka_unit_test(test_scan_dsm_alone),
		cmocka_unit_test(test_scan_dsm_among_options),
		cmocka_unit_test(test_scan_bad_length),
		cmocka_unit_test(test_scan_overrun),
		cmocka_unit_test(test_scan_two_dsm),
		cmocka_unit_test(test_scan_dsm_wrong_shape),
		cmocka_unit_test(test_scan_beyond_40),
		cmocka_unit_test(test_scan_after_eol),
		cmocka_unit_test(test_scan_random_against_reference),
		cmocka_unit_test(test_mac_message),
		cmocka_unit_test(test_mac_covers_fields),
		cmocka_unit_test(test_mac_equal),
		cmocka_unit_test(test_mac_memo),
		cmocka_unit_test(test_epoch_window),
		cmocka_unit_test(test_key_matches),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_verify_v3),
		cmocka_unit_test(test_siphash_32),
	};

	return cmocka_run_group_tests_name("wire_native", tests, NULL, NULL);
}
