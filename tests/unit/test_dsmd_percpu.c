// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd's per-CPU counters (dsmd/percpu.c): the sums are right, the buffer
 * is sized by the kernel and not by /sys/devices/system/cpu/possible, so a
 * file mounted there (here: a tmpfs that says one CPU, in a mount
 * namespace of the test's own) changes nothing. A buffer sized from that
 * file, on a machine of two CPUs or more, gets the first CPU's value only
 * (the sum here is wrong) and the others written past its end by the
 * kernel, which ASan does not see.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "host_cap.h"

#include "../../dsmd/percpu.c"

#define ENTRIES 3

static int make_map(int *fd)
{
	*fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "test_percpu", sizeof(uint32_t),
			     sizeof(uint64_t), ENTRIES, NULL);
	return *fd < 0 ? -errno : 0;
}

/* Key 1 holds CPU i's value 100 + i on every possible CPU; the others 0. */
static uint64_t fill(int fd, int ncpu)
{
	uint64_t *v = calloc((size_t)ncpu, sizeof(*v)), sum = 0;
	uint32_t key = 1;

	assert_non_null(v);
	for (int c = 0; c < ncpu; c++)
		sum += v[c] = 100 + (uint64_t)c;
	assert_int_equal(bpf_map_update_elem(fd, &key, v, BPF_ANY), 0);
	free(v);
	return sum;
}

static void expect_sums(int fd, uint64_t sum)
{
	uint64_t out[ENTRIES] = { 7, 7, 7 };

	assert_int_equal(dsmd_bpf_counters(fd, ENTRIES, out), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], sum);
	assert_int_equal(out[2], 0);
}

/* First, before anything has read the real file through libbpf (which
 * keeps the first count it read): the attack. */
static void test_a_file_over_sys_changes_nothing(void **state)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF), fd, err, tfd;
	uint64_t sum;

	(void)state;
	assert_true(ncpu > 0);
	err = make_map(&fd);
	skip_unless_host_capability(err, "create a per-CPU array");
	sum = fill(fd, ncpu);
	if (unshare(CLONE_NEWNS))
		skip_host("unshare(CLONE_NEWNS): %s", strerror(errno));
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	if (mount("tmpfs", "/sys/devices/system/cpu", "tmpfs", 0, "mode=0755"))
		skip_host("mount a tmpfs on /sys/devices/system/cpu: %s", strerror(errno));
	tfd = open("/sys/devices/system/cpu/possible", O_WRONLY | O_CREAT, 0644);
	assert_true(tfd >= 0);
	assert_int_equal(write(tfd, "0\n", 2), 2);
	close(tfd);
	expect_sums(fd, sum);
	assert_int_equal(umount("/sys/devices/system/cpu"), 0);
	close(fd);
}

static void test_sums(void **state)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err;

	(void)state;
	err = make_map(&fd);
	skip_unless_host_capability(err, "create a per-CPU array");
	expect_sums(fd, 0);
	expect_sums(fd, fill(fd, ncpu));
	close(fd);
}

static void test_slots_bound_the_kernel(void **state)
{
	int slots = dsmd_cpu_slots();

	(void)state;
	assert_true(slots >= 64);
	assert_int_equal(slots % 64, 0);
	assert_true(slots >= libbpf_num_possible_cpus());
	assert_true(slots >= sysconf(_SC_NPROCESSORS_CONF));
	assert_int_equal(dsmd_cpu_slots(), slots);
}

static void test_errors(void **state)
{
	uint64_t out[ENTRIES];
	int p[2];

	(void)state;
	assert_int_equal(dsmd_bpf_counters(-1, ENTRIES, out), -EBADF);
	assert_int_equal(pipe(p), 0);
	assert_true(dsmd_bpf_counters(p[0], ENTRIES, out) < 0); /* not a map */
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_file_over_sys_changes_nothing),
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_slots_bound_the_kernel),
		cmocka_unit_test(test_errors),
	};

	libbpf_set_print(host_cap_libbpf_log);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
