/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SipHash-2-4 (Aumasson and Bernstein) for BPF programs: straight-line code
 * or loops with a constant trip count, no division, every memory access at a
 * constant offset of an 8-byte aligned buffer. The key is the pair of 64-bit
 * little-endian halves of the 16-byte key (k0 = bytes 0..7), the result is
 * the 64-bit value whose little-endian bytes are the reference output.
 *
 * Also plain C: nothing here depends on BPF, so the same code can be built
 * for userspace.
 */
#ifndef DSM_BPF_SIPHASH_H
#define DSM_BPF_SIPHASH_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Longest message dsm_siphash() takes. */
#define DSM_SIPHASH_MAX_LEN 64

struct dsm_sip {
	__u64 v0, v1, v2, v3;
};

static __always_inline __u64 dsm_rotl64(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Memory words are little-endian in the algorithm. */
static __always_inline __u64 dsm_le64(__u64 raw)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(raw);
#else
	return raw;
#endif
}

static __always_inline void dsm_sipround(struct dsm_sip *s)
{
	s->v0 += s->v1;
	s->v1 = dsm_rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = dsm_rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = dsm_rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = dsm_rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = dsm_rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = dsm_rotl64(s->v2, 32);
}

static __always_inline void dsm_sip_init(struct dsm_sip *s, __u64 k0, __u64 k1)
{
	s->v0 = k0 ^ 0x736f6d6570736575ULL;
	s->v1 = k1 ^ 0x646f72616e646f6dULL;
	s->v2 = k0 ^ 0x6c7967656e657261ULL;
	s->v3 = k1 ^ 0x7465646279746573ULL;
}

/* One message word, two compression rounds. */
static __always_inline void dsm_sip_word(struct dsm_sip *s, __u64 m)
{
	s->v3 ^= m;
	dsm_sipround(s);
	dsm_sipround(s);
	s->v0 ^= m;
}

/* Four finalization rounds. */
static __always_inline __u64 dsm_sip_final(struct dsm_sip *s)
{
	s->v2 ^= 0xff;
	dsm_sipround(s);
	dsm_sipround(s);
	dsm_sipround(s);
	dsm_sipround(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/*
 * The MAC message of the dsm option (include/dsm/wire.h), in wire order, in
 * a union that gives it 8-byte alignment so that it is read as whole words:
 * f for versions 1 and 2 (28 bytes; bytes 28..31 are not part of the
 * message and are ignored), f3 for version 3 (32 bytes, the ports bound).
 */
union dsm_mac_msg {
	struct {
		__be32 saddr;
		__be32 daddr;
		__u8   protocol;
		__u8   zero;
		__be16 id;
		__u8   opt[16]; /* option bytes 0..15 */
	} f;
	struct {
		__be32 saddr;
		__be32 daddr;
		__u8   protocol;
		__u8   zero;
		__be16 zero2;
		__be32 ports;   /* source port, destination port, as in the header */
		__u8   opt[16]; /* option bytes 0..15 */
	} f3;
	__u64 w[4];
};

/* SipHash-2-4 of the 28-byte MAC message: three words and a 4-byte tail. */
static __always_inline __u64 dsm_siphash_28(__u64 k0, __u64 k1, const union dsm_mac_msg *m)
{
	struct dsm_sip s;

	dsm_sip_init(&s, k0, k1);
	dsm_sip_word(&s, dsm_le64(m->w[0]));
	dsm_sip_word(&s, dsm_le64(m->w[1]));
	dsm_sip_word(&s, dsm_le64(m->w[2]));
	dsm_sip_word(&s, (dsm_le64(m->w[3]) & 0xffffffffULL) | (28ULL << 56));
	return dsm_sip_final(&s);
}

/* SipHash-2-4 of the 32-byte MAC message of version 3: four words and an
 * empty tail. */
static __always_inline __u64 dsm_siphash_32(__u64 k0, __u64 k1, const union dsm_mac_msg *m)
{
	struct dsm_sip s;

	dsm_sip_init(&s, k0, k1);
	dsm_sip_word(&s, dsm_le64(m->w[0]));
	dsm_sip_word(&s, dsm_le64(m->w[1]));
	dsm_sip_word(&s, dsm_le64(m->w[2]));
	dsm_sip_word(&s, dsm_le64(m->w[3]));
	dsm_sip_word(&s, 32ULL << 56);
	return dsm_sip_final(&s);
}

/*
 * SipHash-2-4 of the first len bytes (len <= DSM_SIPHASH_MAX_LEN) of buf,
 * a buffer of DSM_SIPHASH_MAX_LEN bytes; bytes past len are ignored. The
 * loop is unrolled: every word is read at a constant offset and the ones
 * past the message are masked out, so the verifier sees no variable stack
 * offset and no back edge.
 */
static __always_inline __u64 dsm_siphash(__u64 k0, __u64 k1,
					 const __u64 buf[DSM_SIPHASH_MAX_LEN / 8], __u32 len)
{
	__u32 full = len >> 3, rem = len & 7;
	struct dsm_sip s;
	__u64 tail = 0;
	int i;

	dsm_sip_init(&s, k0, k1);
#ifdef __clang__
#pragma unroll
#endif
	for (i = 0; i < DSM_SIPHASH_MAX_LEN / 8; i++) {
		__u64 m = dsm_le64(buf[i]);

		if ((__u32)i < full)
			dsm_sip_word(&s, m);
		else if ((__u32)i == full)
			tail = m;
	}
	/* rem <= 7: the shift stays below 64 */
	tail &= (1ULL << (rem * 8)) - 1;
	dsm_sip_word(&s, tail | ((__u64)(len & 0xff) << 56));
	return dsm_sip_final(&s);
}

#endif /* DSM_BPF_SIPHASH_H */
