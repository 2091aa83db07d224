// SPDX-License-Identifier: GPL-2.0
/*
 * The policy generation (dsm_policy_gen): sockets cache what the policy
 * allowed them for one generation (docs/design.md, "Cached decisions"), so
 * every change that could make a cached decision wrong starts a new one:
 * a policy swap (reload.c) and labeling running processes (label.c). In a
 * file of its own so that both can call it without calling each other.
 */
#include <errno.h>

#include <bpf/bpf.h>

#include "dsmd.h"

/*
 * Start a new decision generation: what sockets cached under the old one
 * stops counting. Never 0 (0 validates nothing). An array update of our
 * own map does not fail in practice; if it did, the change is in force all
 * the same, so say what it means.
 */
void dsmd_new_generation(const struct dsmd *d, const char *why)
{
	int fd = dsmd_map_fd(d, DSMD_MAP_GEN);
	uint32_t zero = 0, gen = 0;

	if (bpf_map_lookup_elem(fd, &zero, &gen) == 0) {
		gen = gen + 1 ? gen + 1 : 1;
		if (bpf_map_update_elem(fd, &zero, &gen, BPF_ANY))
			gen = 0;
	}
	if (!gen)
		log_errno(LOG_ERR, -errno, "policy: generation not advanced after the %s change: "
			  "sockets may keep earlier decisions", why);
}

int dsmd_generation_read(const struct dsmd *d, uint32_t *gen)
{
	uint32_t zero = 0;

	*gen = 0;
	return bpf_map_lookup_elem(dsmd_map_fd(d, DSMD_MAP_GEN), &zero, gen) ? -errno : 0;
}
