// SPDX-License-Identifier: GPL-2.0
/*
 * What a label in every TCP segment costs when it rides in a TCP header
 * option instead of an IP option: a sockops program reserves and writes a
 * 24-byte experimental option (kind 253, RFC 6994) in every segment of
 * every connection, SYNs included, with the kernel's own machinery
 * (bpf_reserve_hdr_opt, bpf_store_hdr_opt). The option is reserved inside
 * TCP's own headroom, copied into every segment of a TSO burst, and equal
 * options let GRO merge segments, which an IP option never does. The
 * bytes are those of a label option with a MAC computed once per
 * connection (a version 2 MAC covers no per-segment field), so the price
 * is the callbacks and the stores, no SipHash. bench/tcpopt.c loads it;
 * docs/performance.md reads the figures. An experiment, not dsm's wire
 * format (docs/wire.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define TCPOPT_EXP 253
#define LABEL_OPT_LEN 24

/* Segments that carried the option, and those that had no room for it
 * (SACK blocks take option space first). */
__u64 written;
__u64 no_room;

static const __u8 label_opt[LABEL_OPT_LEN] = {
	TCPOPT_EXP, LABEL_OPT_LEN, 0x9e, 0x02,	/* kind, length, experiment id */
	0, 0, 0, 10,				/* label */
	0, 0, 0, 1,				/* node */
	0, 0, 0, 42,				/* epoch */
	1, 2, 3, 4, 5, 6, 7, 8,			/* MAC */
};

SEC("sockops")
int tcpopt(struct bpf_sock_ops *skops)
{
	__u8 opt[LABEL_OPT_LEN];

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		if (bpf_reserve_hdr_opt(skops, LABEL_OPT_LEN, 0))
			__sync_fetch_and_add(&no_room, 1);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		__builtin_memcpy(opt, label_opt, sizeof(opt));
		if (!bpf_store_hdr_opt(skops, opt, sizeof(opt), 0))
			__sync_fetch_and_add(&written, 1);
		break;
	}
	return 1;
}
