// SPDX-License-Identifier: GPL-2.0
/*
 * attack_thread: exec from a thread that existed before dsmd labeled the
 * process. Starts one extra thread at once, prints our pid, then waits
 * until GOFILE exists; then one thread execs PROG ARGS...:
 *
 *   attack_thread leader GOFILE PROG [ARG...]   the thread-group leader
 *   attack_thread thread GOFILE PROG [ARG...]   the thread started at once
 *                                               (before dsmd ran)
 *   attack_thread late GOFILE PROG [ARG...]     a thread started after GOFILE
 *                                               appeared (after dsmd ran)
 *
 * Prints "exec ERRNAME" if the exec fails.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char **prog;
static const char *gofile;

static void wait_go(void)
{
	struct stat st;

	while (stat(gofile, &st))
		usleep(100000);
}

static void *exec_thread(void *arg)
{
	(void)arg;
	execv(prog[0], prog);
	printf("exec %s\n", strerror(errno));
	fflush(stdout);
	_exit(1);
}

static void *early_thread(void *arg)
{
	int do_exec = *(int *)arg;

	wait_go();
	if (do_exec)
		exec_thread(NULL);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	static int early_execs;
	pthread_t t;
	const char *mode = argc > 3 ? argv[1] : "";

	if (strcmp(mode, "leader") && strcmp(mode, "thread") && strcmp(mode, "late")) {
		fprintf(stderr, "attack_thread: bad arguments (see attack_thread.c)\n");
		return 2;
	}
	gofile = argv[2];
	prog = argv + 3;
	early_execs = !strcmp(mode, "thread");
	if (pthread_create(&t, NULL, early_thread, &early_execs)) {
		perror("attack_thread: pthread_create");
		return 1;
	}
	printf("%d\n", getpid());
	fflush(stdout);
	wait_go();
	if (!strcmp(mode, "leader"))
		exec_thread(NULL);
	if (!strcmp(mode, "late") && pthread_create(&t, NULL, exec_thread, NULL)) {
		printf("thread %s\n", strerror(errno));
		fflush(stdout);
		return 1;
	}
	for (;;)
		pause();
}
