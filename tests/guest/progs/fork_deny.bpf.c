// SPDX-License-Identifier: GPL-2.0
/*
 * Harness proof, not part of dsm: deny fork/clone to one marked process.
 * Shows that BPF LSM programs load, attach and enforce in a guest node.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 marked_tgid;
__u64 denied;

SEC("lsm/task_alloc")
int BPF_PROG(hook_task_alloc, struct task_struct *task, unsigned long clone_flags)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != marked_tgid)
		return 0;
	__sync_fetch_and_add(&denied, 1);
	return -EPERM;
}
