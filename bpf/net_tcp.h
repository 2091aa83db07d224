/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TCP option walk for the MSS clamp of DSM_NET_F_TCP_ALL: the same bounded
 * walk as ipopt.h over a copy of the TCP option bytes.
 */
#ifndef DSM_BPF_NET_TCP_H
#define DSM_BPF_NET_TCP_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif
#include "ipopt.h"

#define DSM_TCPOPT_EOL     0
#define DSM_TCPOPT_NOP     1
#define DSM_TCPOPT_MSS     2
#define DSM_TCPOPT_MSS_LEN 4

/* One step of the walk for the MSS option: 0 to go on, 1 when over (*mss
 * is then the MSS value's offset, or stays -1). */
static __always_inline int dsm_tcp_step(const struct dsm_ipopt_buf *buf, __u64 *cursor, int *mss)
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
	if (kind == DSM_TCPOPT_MSS && len == DSM_TCPOPT_MSS_LEN) {
		*mss = (int)off + 2;
		return 1;
	}
	*cursor = off + len;
	return 0;
}

#define DSM_TCP_STEP4(buf, c, m)                                                \
	if (dsm_tcp_step(buf, c, m) || dsm_tcp_step(buf, c, m) ||               \
	    dsm_tcp_step(buf, c, m) || dsm_tcp_step(buf, c, m))                 \
		goto out

/* Offset of the MSS value within the buf->len TCP option bytes in buf, or
 * -1 if there is no well-formed MSS option before the end of the list or
 * the first malformed option. Forty steps written out, as in ipopt.h. */
static __always_inline int dsm_tcp_mss_off(const struct dsm_ipopt_buf *buf)
{
	__u64 cursor = 0;
	int mss = -1;

	if (dsm_ipopt_len(buf) > DSM_IPOPT_SPACE)
		return -1;
	DSM_TCP_STEP4(buf, &cursor, &mss); /* 40 steps */
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
	DSM_TCP_STEP4(buf, &cursor, &mss);
out:
	return mss;
}

#endif /* DSM_BPF_NET_TCP_H */
