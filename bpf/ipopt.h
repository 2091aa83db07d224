/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A bounded walker over the options of an IPv4 header, looking for the dsm
 * option (include/dsm/wire.h). It works on a copy of the option bytes in a
 * DSM_IPOPT_BUF-byte buffer, so any program type can use it: a tc program
 * fills the buffer with bpf_skb_load_bytes(), an LSM hook with a read of
 * the skb's network header.
 *
 * RFC 791: end-of-options (0) and no-operation (1) are one byte; every
 * other option is type, length (counting both), data. The option space is
 * at most 40 bytes and every option takes at least one, so 40 steps walk
 * any header; indexes are masked to the buffer, which keeps every read in
 * bounds whatever the packet says. Callers in BPF should run the walk in a
 * global function (see struct dsm_ipopt_buf).
 *
 * Verdicts:
 *   absent     no dsm option (options may be present)
 *   present    exactly one dsm option, len 24, version 1, 2 or 3, all options sound
 *   malformed  an option of length 0 or 1, an option (or its length byte)
 *              past the header end, a dsm option of another length or
 *              version, two dsm options, a non-zero byte after end-of-
 *              options (a parser that ignores it and one that does not
 *              must never disagree about what the header carries)
 */
#ifndef DSM_BPF_IPOPT_H
#define DSM_BPF_IPOPT_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif
#include "dsm/wire.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

#define DSM_IPOPT_SPACE 40 /* most option bytes an IPv4 header holds */
#define DSM_IPOPT_BUF   64 /* size of the scan buffer (a power of two) */
#define DSM_IPOPT_EOL   0
#define DSM_IPOPT_NOP   1
#define DSM_IPOPT_NONE  0xff /* dsm_off when there is no dsm option */

/* Hide a value from the compiler, so that a bounds test written for the
 * verifier is emitted as written and not folded into one it cannot use. */
#define dsm_opaque(v) asm volatile("" : "+r"(v))

/* The same, and the verifier recomputes what it knows of the value (an
 * ALU operation that changes nothing). 6.12's verifier can fill a
 * register from a stack slot of zeros with a constant whose bounds it has
 * not synced ("REG INVARIANTS VIOLATION"); a test on it then takes both
 * ways, and a path that cannot run fails the load. */
#define dsm_resync(v) asm volatile("%[r] += 0" : [r] "+r"(v))

enum dsm_ipopt_status {
	DSM_IPOPT_ABSENT    = 0,
	DSM_IPOPT_PRESENT   = 1,
	DSM_IPOPT_MALFORMED = 2,
};

/* Option bytes (a copy of the header's) and their count, and the walk's
 * state: see dsm_ipopt_len(). */
struct dsm_ipopt_buf {
	__u8  b[DSM_IPOPT_BUF];
	__u32 len;
	__u8  off;   /* where the next option starts (at most DSM_IPOPT_SPACE) */
	__u8  eol;   /* end-of-options seen: the rest is padding */
	__u8  found; /* a dsm option seen */
	__u8  pad;
};

struct dsm_ipopt_scan {
	__u8 status;  /* enum dsm_ipopt_status */
	__u8 error;   /* enum dsm_ipopt_error (include/dsm/wire.h) when malformed */
	__u8 dsm_off; /* offset of the (first) dsm option's type byte, or DSM_IPOPT_NONE */
	__u8 end;     /* length of the list before end-of-options and padding */
};

static __always_inline void dsm_ipopt_fail(struct dsm_ipopt_scan *s, __u8 error)
{
	s->status = DSM_IPOPT_MALFORMED;
	s->error = error;
}

static __always_inline __u8 dsm_ipopt_byte(const __u8 *opts, __u64 off)
{
	dsm_opaque(off);
	return opts[off & (DSM_IPOPT_BUF - 1)];
}

/* The header end and the walk's state, read afresh at every step from
 * the buffer: in a global function, which takes the buffer as plain
 * memory, the verifier then knows nothing about them, so no test against
 * them is ever decided by what earlier steps learnt, and the paths into a
 * step do not multiply with every cursor, length and flag there can be
 * (about 2 500 instructions a step when the cursor was a register). */
static __always_inline __u32 dsm_ipopt_len(const struct dsm_ipopt_buf *buf)
{
	return *(volatile const __u32 *)&buf->len;
}

#define dsm_ipopt_get(buf, field)    (*(volatile const __u8 *)&(buf)->field)
#define dsm_ipopt_set(buf, field, v) (*(volatile __u8 *)&(buf)->field = (__u8)(v))

/* One step of the walk: one option, or one byte of padding. Returns 0 to go
 * on, 1 when the walk is over (the list ends, or s says malformed). Every
 * cursor it stores is at most the header end, so it fits the byte. */
static __always_inline int dsm_ipopt_step(struct dsm_ipopt_buf *buf, struct dsm_ipopt_scan *s)
{
	__u64 off = dsm_ipopt_get(buf, off), type, len, ver;

	/* the first test is implied by the second (len <= 40); it keeps the
	 * verifier's range of the cursor small */
	if (off >= DSM_IPOPT_SPACE || off >= dsm_ipopt_len(buf))
		return 1;
	type = dsm_ipopt_byte(buf->b, off);
	if (dsm_ipopt_get(buf, eol)) {
		/* after end-of-options only zero padding */
		if (type) {
			dsm_ipopt_fail(s, DSM_IPOPT_E_PAD);
			return 1;
		}
		dsm_ipopt_set(buf, off, off + 1);
		return 0;
	}
	if (type == DSM_IPOPT_EOL) {
		dsm_ipopt_set(buf, eol, 1);
		s->end = off;
		dsm_ipopt_set(buf, off, off + 1);
		return 0;
	}
	if (type == DSM_IPOPT_NOP) {
		dsm_ipopt_set(buf, off, off + 1);
		return 0;
	}
	if (off + 1 >= dsm_ipopt_len(buf)) {
		dsm_ipopt_fail(s, DSM_IPOPT_E_TRUNC);
		return 1;
	}
	len = dsm_ipopt_byte(buf->b, off + 1);
	if (len < 2) {
		dsm_ipopt_fail(s, DSM_IPOPT_E_LEN);
		return 1;
	}
	if (off + len > dsm_ipopt_len(buf)) {
		dsm_ipopt_fail(s, DSM_IPOPT_E_OVERRUN);
		return 1;
	}
	if (type == DSM_OPT_TYPE) {
		if (dsm_ipopt_get(buf, found)) {
			dsm_ipopt_fail(s, DSM_IPOPT_E_DUP);
			return 1;
		}
		dsm_ipopt_set(buf, found, 1);
		s->dsm_off = off;
		if (len != DSM_OPT_LEN) {
			dsm_ipopt_fail(s, DSM_IPOPT_E_DSM_LEN);
			return 1;
		}
		ver = dsm_ipopt_byte(buf->b, off + 2);
		if (ver != DSM_OPT_VERSION && ver != DSM_OPT_VERSION_1 && ver != DSM_OPT_VERSION_3) {
			dsm_ipopt_fail(s, DSM_IPOPT_E_DSM_VER);
			return 1;
		}
	}
	dsm_ipopt_set(buf, off, off + len);
	return 0;
}

#define DSM_IPOPT_STEP4(buf, s)                                                 \
	if (dsm_ipopt_step(buf, s) || dsm_ipopt_step(buf, s) ||                 \
	    dsm_ipopt_step(buf, s) || dsm_ipopt_step(buf, s))                   \
		goto out

/*
 * Classify the buf->len option bytes (the header's ihl * 4 - 20) in buf.
 * Bytes of the buffer past buf->len are not read.
 *
 * Forty steps, written out: every step moves on by at least one byte, so
 * they reach the end of any option space. Written out rather than a loop
 * because a loop counter makes every iteration a state of its own for the
 * verifier, while steps that read their cursor from the buffer collapse
 * into one. In BPF, call it from a global function that takes buf
 * (dsm_net.bpf.c does), so that the walk is verified once and not once per
 * path into it, and so that the buffer is memory the verifier does not
 * follow. The walk's state is written into buf (off, eol, found).
 */
static __always_inline void dsm_ipopt_scan(struct dsm_ipopt_buf *buf, struct dsm_ipopt_scan *s)
{
	dsm_ipopt_set(buf, off, 0);
	dsm_ipopt_set(buf, eol, 0);
	dsm_ipopt_set(buf, found, 0);
	s->status = DSM_IPOPT_ABSENT;
	s->error = DSM_IPOPT_OK;
	s->dsm_off = DSM_IPOPT_NONE;
	s->end = 0;
	if (dsm_ipopt_len(buf) > DSM_IPOPT_SPACE) {
		dsm_ipopt_fail(s, DSM_IPOPT_E_HEADER);
		return;
	}
	DSM_IPOPT_STEP4(buf, s); /* 40 steps */
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
	DSM_IPOPT_STEP4(buf, s);
out:
	if (s->status == DSM_IPOPT_MALFORMED)
		return;
	if (!dsm_ipopt_get(buf, eol))
		s->end = dsm_ipopt_get(buf, off);
	if (dsm_ipopt_get(buf, found))
		s->status = DSM_IPOPT_PRESENT;
}

/* The scan result in one word, to return it from a global function:
 * status | error << 8 | dsm_off << 16 | end << 24. */
static __always_inline __u32 dsm_ipopt_pack(const struct dsm_ipopt_scan *s)
{
	return (__u32)s->status | (__u32)s->error << 8 | (__u32)s->dsm_off << 16 |
	       (__u32)s->end << 24;
}

static __always_inline void dsm_ipopt_unpack(__u32 v, struct dsm_ipopt_scan *s)
{
	s->status = v & 0xff;
	s->error = (v >> 8) & 0xff;
	s->dsm_off = (v >> 16) & 0xff;
	s->end = v >> 24;
}

#ifdef __bpf__
/* The fixed IPv4 header, byte for byte as on the wire. */
struct ip4 {
	__u8   vihl;
	__u8   tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8   ttl;
	__u8   protocol;
	__be16 check;
	__be32 saddr;
	__be32 daddr;
};

/*
 * The walk as a global function: verified once on its own, it hands back a
 * plain number, so the paths through a walk do not multiply the paths
 * through the program that calls it. Each BPF object including this
 * header gets its own copy.
 */
__noinline int dsm_ipopt_scan_global(struct dsm_ipopt_buf *buf)
{
	struct dsm_ipopt_scan s;

	if (!buf)
		return -1;
	dsm_ipopt_scan(buf, &s);
	return dsm_ipopt_pack(&s);
}
#endif

#endif /* DSM_BPF_IPOPT_H */
