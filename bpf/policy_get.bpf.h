/* SPDX-License-Identifier: GPL-2.0 */
/* The policy lookup dsm/decide.h runs on in BPF: pm is the active inner
 * policy map (policy_map() in policy.bpf.h), a lookup a map lookup. */
#ifndef DSM_BPF_POLICY_GET_BPF_H
#define DSM_BPF_POLICY_GET_BPF_H

#include "common.bpf.h"

typedef void *dsm_pm_t;

static __always_inline const struct dsm_pval *dsm_policy_get(dsm_pm_t pm,
							     const struct dsm_pkey *k)
{
	return bpf_map_lookup_elem(pm, (void *)k);
}

#endif /* DSM_BPF_POLICY_GET_BPF_H */
