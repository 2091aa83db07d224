/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Signals: every kernel path by which one task signals another is checked
 * as kill(2) is, process:signal from the sender's label to the target's.
 */
#ifndef DSM_BPF_SIGNAL_BPF_H
#define DSM_BPF_SIGNAL_BPF_H

#include "policy.bpf.h"

/* kill, tkill, tgkill, rt_sigqueueinfo, pidfd_send_signal, and signals a
 * process group or session receives through them. */
SEC("lsm/task_kill")
int BPF_PROG(hook_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	dsm_pm_t pm;

	if (ret)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_SIGNAL, DSM_DENY);
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, current_label(pm), DSM_NODE_ANY,
		     task_label(pm, p), DSM_PERM_SIGNAL, sig);
}

#endif /* DSM_BPF_SIGNAL_BPF_H */
