/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where a segment's TCP options hold the connection token (dsm/wire.h):
 * the same bounded walk as ipopt.h over a copy of the option bytes, for
 * the receive check.
 */
#ifndef DSM_BPF_NET_TCP_H
#define DSM_BPF_NET_TCP_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif
#include "ipopt.h"
#include "dsm/wire.h"

#define DSM_TCPOPT_EOL 0
#define DSM_TCPOPT_NOP 1

/* A TCP header without its options. */
struct dsm_tcp_hdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8   doff_res;
	__u8   flags;
	__be16 window;
	__be16 check;
	__be16 urg_ptr;
};

_Static_assert(sizeof(struct dsm_tcp_hdr) == 20, "dsm_tcp_hdr: 20 bytes");

/* Is the option at off (in bounds: the caller checked off + 16 <= len) a
 * connection token? Kind, length and experiment ID. */
static __always_inline int dsm_tcp_token_at(const struct dsm_ipopt_buf *buf, __u64 off)
{
	return dsm_ipopt_byte(buf->b, off) == DSM_TCPOPT_EXP &&
	       dsm_ipopt_byte(buf->b, off + 1) == DSM_TOKEN_LEN &&
	       dsm_ipopt_byte(buf->b, off + 2) == (DSM_TOKEN_EXID >> 8) &&
	       dsm_ipopt_byte(buf->b, off + 3) == (DSM_TOKEN_EXID & 0xff);
}

/* One step of the walk: 0 to go on, 1 when over (*at is then the token's
 * offset, or stays -1). */
static __always_inline int dsm_tcp_step(const struct dsm_ipopt_buf *buf, __u64 *cursor, int *at)
{
	__u64 off = *cursor, kind, len;

	if (off >= DSM_IPOPT_SPACE || off >= dsm_ipopt_len(buf))
		return 1;
	kind = dsm_ipopt_byte(buf->b, off);
	if (kind == DSM_TCPOPT_EOL)
		return 1;
	if (kind == DSM_TCPOPT_NOP) {
		*cursor = off + 1;
		return 0;
	}
	if (off + 1 >= dsm_ipopt_len(buf))
		return 1;
	len = dsm_ipopt_byte(buf->b, off + 1);
	if (len < 2 || off + len > dsm_ipopt_len(buf))
		return 1;
	if (len == DSM_TOKEN_LEN && dsm_tcp_token_at(buf, off)) {
		*at = (int)off;
		return 1;
	}
	*cursor = off + len;
	return 0;
}

#define DSM_TCP_STEP4(buf, c, m)                                                \
	if (dsm_tcp_step(buf, c, m) || dsm_tcp_step(buf, c, m) ||               \
	    dsm_tcp_step(buf, c, m) || dsm_tcp_step(buf, c, m))                 \
		goto out

/* Offset of the token within the buf->len TCP option bytes in buf, or -1
 * if there is none before the end of the list or the first malformed
 * option. The usual place first: after the timestamps (NOP, NOP, 10
 * bytes), where the kernel puts what BPF reserved. Forty steps written
 * out, as in ipopt.h. */
static __always_inline int dsm_tcp_token_off(const struct dsm_ipopt_buf *buf)
{
	__u64 cursor = 0;
	int at = -1;

	if (dsm_ipopt_len(buf) > DSM_IPOPT_SPACE)
		return -1;
	if (dsm_ipopt_len(buf) >= 12 + DSM_TOKEN_LEN && dsm_ipopt_byte(buf->b, 0) == DSM_TCPOPT_NOP &&
	    dsm_ipopt_byte(buf->b, 1) == DSM_TCPOPT_NOP && dsm_ipopt_byte(buf->b, 2) == 8 &&
	    dsm_ipopt_byte(buf->b, 3) == 10 && dsm_tcp_token_at(buf, 12))
		return 12;
	DSM_TCP_STEP4(buf, &cursor, &at); /* 40 steps */
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
	DSM_TCP_STEP4(buf, &cursor, &at);
out:
	return at;
}

#ifdef __bpf__
/* dsm_tcp_token_off() as a global function: the verifier checks the walk
 * once, not once per path through the program that calls it. */
__noinline int dsm_tcp_token_global(struct dsm_ipopt_buf *buf)
{
	if (!buf)
		return -1;
	return dsm_tcp_token_off(buf);
}
#endif

#endif /* DSM_BPF_NET_TCP_H */
