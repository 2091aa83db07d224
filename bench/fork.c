// SPDX-License-Identifier: GPL-2.0
/*
 * fork: process creation latency, lmbench lat_proc fork style: fork, the
 * child exits at once, the parent waits. Prints the median time of one
 * fork+exit+wait in microseconds over N iterations (after a warm-up).
 * In a deterministic guest (tests/vm/run --bench) time counts executed
 * instructions; even there the mean of a run moves by a few percent from
 * run to run (deferred work: RCU callbacks, freed task memory, land in
 * whichever iterations they land in), the median by far less.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	double *t, t0;

	if (argc > 2 || n <= 0 || n > 10000000) {
		fprintf(stderr, "usage: fork [ITERATIONS]\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		return perror("calloc"), 1;
	for (int i = 0; i < 50; i++)
		if (one_fork())
			return perror("fork"), 1;
	for (long i = 0; i < n; i++) {
		t0 = now_us();
		if (one_fork())
			return perror("fork"), 1;
		t[i] = now_us() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("%.3f\n", n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2);
	free(t);
	return 0;
}
