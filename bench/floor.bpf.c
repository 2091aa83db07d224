// SPDX-License-Identifier: GPL-2.0
/*
 * The floor under dsm's figures: programs that do nothing, on exactly the
 * hooks dsm runs per fork and per datagram. What they cost is the price of
 * running any BPF program there (the LSM trampoline, the tc hook), which no
 * work inside dsm's programs can take back. bench/floor.c loads them;
 * docs/performance.md reads the figures.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/task_alloc")
int BPF_PROG(floor_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	return ret;
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(floor_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	return ret;
}

SEC("lsm/socket_recvmsg")
int BPF_PROG(floor_recvmsg, struct socket *sock, struct msghdr *msg, int size, int flags, int ret)
{
	return ret;
}

SEC("lsm/socket_sock_rcv_skb")
int BPF_PROG(floor_sock_rcv_skb, struct sock *sk, struct sk_buff *skb, int ret)
{
	return ret;
}

/* tc egress: attached by tc(8) from its pin (bench/floor.c --pin-tc). */
SEC("tc")
int floor_tc(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}
