// SPDX-License-Identifier: GPL-2.0
/*
 * Reading dsm's per-CPU arrays (the counters) without trusting a file.
 *
 * A lookup in a per-CPU array copies one value per possible CPU into the
 * caller's buffer, as many as the kernel has, whatever the caller thinks.
 * libbpf sizes that buffer from /sys/devices/system/cpu/possible, read the
 * first time it is asked: a label that may mount (`system mount`) can
 * unmount /sys or mount a file of its own there before that, and a count
 * smaller than the kernel's makes every lookup write past the end of
 * dsmd's buffer. (It also hung dsmd on a guest whose /sys fell through to
 * a 9p view of the host's, on 6.12.)
 *
 * So the count comes from a system call: sched_getaffinity() refuses a
 * mask smaller than nr_cpu_ids bits with EINVAL, and every possible CPU is
 * below nr_cpu_ids; the smallest mask it accepts, in bits, is a bound on
 * the number of values a lookup writes. The buffer has that many slots,
 * zeroed, and the sum is taken over all of them: slots the kernel did not
 * write add nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dsmd.h"

/* No kernel has more (NR_CPUS is at most 8192 on x86_64 today). */
#define CPU_SLOTS_MAX (1u << 16)

/* How many values a per-CPU lookup may write at most: nr_cpu_ids rounded
 * up to a multiple of 64. -errno when the kernel says nothing usable. */
int dsmd_cpu_slots(void)
{
	static int slots;
	unsigned long mask[CPU_SLOTS_MAX / 64];

	if (slots)
		return slots;
	for (unsigned bits = 64; bits <= CPU_SLOTS_MAX; bits *= 2) {
		/* The raw call: glibc's wrapper hides the length the kernel
		 * accepted, and it is the length that is asked. */
		long r = syscall(SYS_sched_getaffinity, 0, bits / 8, mask);

		if (r > 0) {
			slots = (int)bits;
			return slots;
		}
		if (r < 0 && errno != EINVAL)
			return -errno;
	}
	return -ERANGE;
}

/* Sum the first n slots of a per-CPU array of counters into out. */
int dsmd_bpf_counters(int fd, uint32_t n, uint64_t *out)
{
	int slots = dsmd_cpu_slots();
	uint64_t *vals;

	if (slots < 0)
		return slots;
	if (fd < 0)
		return -EBADF;
	vals = malloc((size_t)slots * sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		memset(vals, 0, (size_t)slots * sizeof(*vals));
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			int err = -errno;

			free(vals);
			return err;
		}
		out[k] = 0;
		for (int c = 0; c < slots; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}
