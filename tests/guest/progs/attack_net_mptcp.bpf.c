// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only, not part of dsm: can a BPF program find the MPTCP socket
 * (msk) that owns a subflow, so that a subflow's packets could carry the
 * msk's label? bpf_skc_to_mptcp_sock() on 6.1:
 *   - tc (sched_cls): offered by bpf_sk_base_func_proto (needs perfmon);
 *     its argument is ARG_PTR_TO_SOCK_COMMON, which skb->sk is
 *   - BPF LSM: offered by tracing_prog_func_proto, but an LSM program's
 *     socket is a BTF pointer (PTR_TO_BTF_ID), which ARG_PTR_TO_SOCK_COMMON
 *     does not accept (verifier.c: sock_types), so the call cannot verify
 * The loader (attack_net_mptcp.c) loads each program alone and, for tc,
 * counts the subflow packets whose msk carries the tag it stored.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} tags SEC(".maps");

__u64 tc_msk_tagged, tc_msk_other, tc_subflow_tagged, tc_plain, lsm_msk_tagged;

SEC("tc")
int tc_subflow_owner(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct mptcp_sock *msk;
	__u32 *v;

	if (!sk)
		return 0; /* TC_ACT_OK */
	sk = bpf_sk_fullsock(sk);
	/* Only stream sockets. The replies TCP sends for no socket (an ACK
	 * in TIME_WAIT, a RST) leave from the per-CPU control socket, a
	 * SOCK_RAW IPPROTO_TCP one: on 6.1 bpf_skc_to_mptcp_sock() reads its
	 * tcp_sock fields past the raw socket's end and may take it for a
	 * subflow, and the "msk" it returns crashed bpf_sk_storage_get (a
	 * guest panicked so, once). dsm calls neither helper on such sockets. */
	if (!sk || sk->type != 1 /* SOCK_STREAM */)
		return 0;
	if (bpf_sk_storage_get(&tags, sk, 0, 0))
		__sync_fetch_and_add(&tc_subflow_tagged, 1);
	msk = bpf_skc_to_mptcp_sock(sk);
	if (!msk) {
		__sync_fetch_and_add(&tc_plain, 1);
		return 0;
	}
	v = bpf_sk_storage_get(&tags, msk, 0, 0);
	if (v && *v == 0x5eed)
		__sync_fetch_and_add(&tc_msk_tagged, 1);
	else
		__sync_fetch_and_add(&tc_msk_other, 1);
	return 0;
}

SEC("lsm/socket_sock_rcv_skb")
int BPF_PROG(lsm_subflow_owner, struct sock *sk, struct sk_buff *skb, int ret)
{
	struct mptcp_sock *msk = bpf_skc_to_mptcp_sock(sk);
	__u32 *v;

	if (!msk)
		return ret;
	v = bpf_sk_storage_get(&tags, msk, 0, 0);
	if (v && *v == 0x5eed)
		__sync_fetch_and_add(&lsm_msk_tagged, 1);
	return ret;
}
