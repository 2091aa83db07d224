// SPDX-License-Identifier: GPL-2.0
/*
 * The start-up feature probe (lib/probe.h), the first thing dsmd does: a
 * kernel without BTF, without BPF LSM, or booted without `bpf` in its
 * active LSM list would load dsm's programs and never run them, and dsmd
 * would look as if it enforced. So dsmd refuses to start, with one line a
 * failed check (what is wrong and how to fix it), and exits with
 * DSMD_EXIT_PROBE, which its unit does not restart on. `dsmctl doctor`
 * runs the same checks.
 */
#include <errno.h>

#include "dsmd.h"
#include "probe.h"

int dsmd_probe(void)
{
	struct dsm_probe_result r[3];
	unsigned failed;
	size_t n = dsm_probe_all(NULL, r, 3, &failed);

	for (size_t i = 0; i < n; i++) {
		if (r[i].ok)
			log_debug("probe: %s", r[i].msg);
		else
			log_error("probe: %s", r[i].msg);
	}
	if (!failed)
		return 0;
	log_error("main: not starting: this kernel cannot enforce dsm's policy (%u check%s "
		  "failed; `dsmctl doctor` checks again)", failed, failed == 1 ? "" : "s");
	return -ENOTSUP;
}
