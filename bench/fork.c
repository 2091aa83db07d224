// SPDX-License-Identifier: GPL-2.0
/*
 * fork: process creation latency, lmbench lat_proc fork style: fork, the
 * child exits at once, the parent waits. Prints the mean time per
 * fork+exit+wait in microseconds over N iterations (after a warm-up).
 * In a deterministic guest (tests/vm/run --bench) time counts executed
 * instructions, so the figure repeats to the last digit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int one_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(0);
	return waitpid(pid, &status, 0) == pid ? 0 : -1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	double t0;

	if (n <= 0) {
		fprintf(stderr, "usage: fork [ITERATIONS]\n");
		return 2;
	}
	for (int i = 0; i < 50; i++)
		if (one_fork())
			return perror("fork"), 1;
	t0 = now_us();
	for (long i = 0; i < n; i++)
		if (one_fork())
			return perror("fork"), 1;
	printf("%.3f\n", (now_us() - t0) / (double)n);
	return 0;
}
