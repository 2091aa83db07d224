// SPDX-License-Identifier: GPL-2.0
/*
 * attack_sig: ways to kill, stop or starve another process without kill(2),
 * for a test that denies the attacker `process signal` on the victim.
 * Each step prints "STEP OK" or "STEP ERRNAME"; exit 1 on failure.
 *
 *   attack_sig sigio PID            pipe; F_SETOWN PID, F_SETSIG SIGKILL,
 *                                   O_ASYNC on the read end; write one byte
 *   attack_sig sigio-self GOFILE    pipe; F_SETOWN ourselves, F_SETSIG SIGUSR1,
 *                                   O_ASYNC; "ready"; once GOFILE exists,
 *                                   write one byte: "sigio OK" if SIGUSR1
 *                                   came within 2 s, else "sigio none"
 *   attack_sig sigio-owner FD       F_SETOWN ourselves and O_ASYNC on FD;
 *                                   "owner OK"; then wait for signals
 *   attack_sig setsig-shared VICTIM...
 *                                   pipe; a child gets its read end as fd 3
 *                                   and execs VICTIM (sigio-owner 3, in
 *                                   another label); 3 s later we set
 *                                   F_SETSIG SIGKILL on our copy of that
 *                                   file and write: "setsig killed" if the
 *                                   child died of SIGKILL, else "setsig
 *                                   survived" (it is left running: we may
 *                                   not be allowed to kill it; "child PID"
 *                                   comes first)
 *   attack_sig prlimit PID          prlimit(PID, RLIMIT_CPU, 1 s soft, 2 s hard)
 *   attack_sig sched PID            setpriority(PID, 19) and
 *                                   sched_setscheduler(PID, SCHED_IDLE)
 *   attack_sig write PATH TEXT      open(PATH, O_WRONLY) + write TEXT
 *   attack_sig clone-into DIR       clone3(CLONE_INTO_CGROUP) into the cgroup
 *                                   DIR; the child exits at once
 *   attack_sig spin                 print our pid, burn CPU forever (victim)
 *   attack_sig pty PIDFILE VICTIM... :: ATTACKER...
 *                                   open a pty; a child becomes a session
 *                                   leader with the slave as its controlling
 *                                   terminal, writes its pid to PIDFILE and
 *                                   execs VICTIM; we wait until PIDFILE
 *                                   exists, then exec ATTACKER with the
 *                                   master on fd 3
 *   attack_sig tiocsig FD SIG       ioctl(FD, TIOCSIG, SIG) on a pty master
 *   attack_sig tiocsti FD TEXT      open the slave of the pty master FD and
 *                                   type TEXT and a newline into it (TIOCSTI)
 *   attack_sig vhangup FD           open the slave of the pty master FD and
 *                                   hang it up (TIOCVHANGUP)
 *                                   (these three hold the master 8 s after the step,
 *                                   so the victim is not hung up meanwhile)
 *   attack_sig hangup FD            close the pty master FD (and every copy
 *                                   we hold): the slave hangs up
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ESRCH: return "ESRCH";
	default: return strerror(e);
	}
}

static int step(const char *what, int ok)
{
	int e = ok ? 0 : errno;

	printf("%s %s\n", what, errname(e));
	fflush(stdout);
	return e ? 1 : 0;
}

static int do_sigio(pid_t pid)
{
	int p[2];

	if (step("pipe", pipe(p) == 0))
		return 1;
	if (step("setown", fcntl(p[0], F_SETOWN, pid) == 0))
		return 1;
	if (step("setsig", fcntl(p[0], F_SETSIG, SIGKILL) == 0))
		return 1;
	if (step("async", fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) == 0))
		return 1;
	return step("sigio", write(p[1], "x", 1) == 1);
}

/* struct clone_args up to its cgroup field (uapi/linux/sched.h, size
 * version 2): defined here, as that header clashes with <sched.h>. */
struct clone_args_v2 {
	unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal;
	unsigned long long stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_ 0x200000000ULL

static int do_clone_into(const char *dir)
{
	struct clone_args_v2 a = { .flags = CLONE_INTO_CGROUP_, .exit_signal = SIGCHLD };
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), st;
	long pid;

	if (step("open", fd >= 0))
		return 1;
	a.cgroup = (unsigned long long)fd;
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, &st, 0);
	return step("clone", pid > 0);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int do_sigio_self(const char *gofile)
{
	struct stat st;
	int p[2];

	signal(SIGUSR1, on_usr1);
	if (step("pipe", pipe(p) == 0) || step("setown", fcntl(p[0], F_SETOWN, getpid()) == 0) ||
	    step("setsig", fcntl(p[0], F_SETSIG, SIGUSR1) == 0) ||
	    step("async", fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) == 0))
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (stat(gofile, &st))
		usleep(100000);
	if (write(p[1], "x", 1) != 1)
		return step("write", 0);
	for (int i = 0; i < 20 && !got_usr1; i++)
		usleep(100000);
	printf("sigio %s\n", got_usr1 ? "OK" : "none");
	fflush(stdout);
	return got_usr1 ? 0 : 1;
}

static int do_sigio_owner(int fd)
{
	if (step("owner", fcntl(fd, F_SETOWN, getpid()) == 0 &&
			  fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK) == 0))
		return 1;
	for (;;)
		pause();
}

static int do_setsig_shared(char **victim)
{
	int p[2], st;
	pid_t pid;

	if (step("pipe", pipe(p) == 0))
		return 1;
	pid = fork();
	if (pid == 0) {
		if (dup2(p[0], 3) != 3)
			_exit(1);
		execvp(victim[0], victim);
		_exit(127);
	}
	if (step("fork", pid > 0))
		return 1;
	printf("child %d\n", pid);
	fflush(stdout);
	sleep(3);
	if (step("setsig", fcntl(p[0], F_SETSIG, SIGKILL) == 0) ||
	    step("write", write(p[1], "x", 1) == 1))
		return 1;
	for (int i = 0; i < 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			printf("setsig %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "killed"
									   : "ended");
			return 0;
		}
		usleep(100000);
	}
	printf("setsig survived\n");
	fflush(stdout);
	return 0;
}

static int do_prlimit(pid_t pid)
{
	struct rlimit r = { .rlim_cur = 1, .rlim_max = 2 };

	return step("prlimit", prlimit(pid, RLIMIT_CPU, &r, NULL) == 0);
}

static int do_sched(pid_t pid)
{
	struct sched_param sp = { .sched_priority = 0 };
	int bad = step("setpriority", setpriority(PRIO_PROCESS, (id_t)pid, 19) == 0);

	return step("setscheduler", sched_setscheduler(pid, SCHED_IDLE, &sp) == 0) || bad;
}

static int do_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return step("write", 0);
	return step("write", write(fd, text, strlen(text)) == (ssize_t)strlen(text));
}

static int do_spin(void)
{
	volatile unsigned long n = 0;

	printf("%d\n", getpid());
	fflush(stdout);
	while (n != ~0UL)
		n++;
	return 0;
}

/* The slave of pty master @m, opened (not as a controlling terminal). */
static int open_slave(int m)
{
	char path[64];
	int n;

	if (ioctl(m, TIOCGPTN, &n))
		return -1;
	snprintf(path, sizeof(path), "/dev/pts/%d", n);
	return open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

static int do_tiocsti(int m, const char *text)
{
	int s = open_slave(m);

	if (s < 0)
		return step("tiocsti", 0);
	for (const char *p = text; *p; p++)
		if (ioctl(s, TIOCSTI, p))
			return step("tiocsti", 0);
	return step("tiocsti", ioctl(s, TIOCSTI, "\n") == 0);
}

/* argv: PIDFILE VICTIM... :: ATTACKER... ("::", as the commands may hold "--") */
static int do_pty(int argc, char **argv)
{
	const char *pidfile = argv[0];
	char **victim = argv + 1, **attacker = NULL;
	struct stat st;
	int m, i;
	pid_t pid;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "::")) {
			argv[i] = NULL;
			attacker = argv + i + 1;
			break;
		}
	if (!attacker || !*attacker || !*victim)
		return 2;
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (step("openpt", m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0))
		return 1;
	pid = fork();
	if (pid == 0) {
		char buf[32];
		int s, fd;

		/* A terminal's job as a shell leaves it: default dispositions
		 * (a non-interactive shell ignores SIGINT in background jobs). */
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		setsid();
		s = open(ptsname(m), O_RDWR); /* a session leader's first tty: its ctty */
		if (s < 0 || ioctl(s, TIOCSCTTY, 0)) {
			perror("attack_sig pty: slave");
			_exit(1);
		}
		close(m);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		if (s > 2)
			close(s);
		fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		snprintf(buf, sizeof(buf), "%d\n", getpid());
		if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
			_exit(1);
		close(fd);
		execvp(victim[0], victim);
		_exit(127);
	}
	if (step("fork", pid > 0))
		return 1;
	/* The victim's exec (and its label) happen after the pid file. */
	while (stat(pidfile, &st) || st.st_size == 0)
		usleep(100000);
	sleep(3);
	if (dup2(m, 3) != 3)
		return step("dup2", 0);
	if (m != 3)
		close(m);
	execvp(attacker[0], attacker);
	return step("exec", 0);
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (!strcmp(op, "sigio") && argc == 3)
		return do_sigio(atoi(argv[2]));
	if (!strcmp(op, "sigio-self") && argc == 3)
		return do_sigio_self(argv[2]);
	if (!strcmp(op, "sigio-owner") && argc == 3)
		return do_sigio_owner(atoi(argv[2]));
	if (!strcmp(op, "setsig-shared") && argc >= 3)
		return do_setsig_shared(argv + 2);
	if (!strcmp(op, "prlimit") && argc == 3)
		return do_prlimit(atoi(argv[2]));
	if (!strcmp(op, "sched") && argc == 3)
		return do_sched(atoi(argv[2]));
	if (!strcmp(op, "write") && argc == 4)
		return do_write(argv[2], argv[3]);
	if (!strcmp(op, "clone-into") && argc == 3)
		return do_clone_into(argv[2]);
	if (!strcmp(op, "spin") && argc == 2)
		return do_spin();
	if (!strcmp(op, "pty") && argc >= 6)
		return do_pty(argc - 2, argv + 2);
	if (!strcmp(op, "tiocsig") && argc == 4) {
		int rc = step("tiocsig", ioctl(atoi(argv[2]), TIOCSIG, atoi(argv[3])) == 0);

		sleep(8);
		return rc;
	}
	if (!strcmp(op, "tiocsti") && argc == 4) {
		int rc = do_tiocsti(atoi(argv[2]), argv[3]);

		sleep(8);
		return rc;
	}
	if (!strcmp(op, "vhangup") && argc == 3) {
		int s = open_slave(atoi(argv[2]));
		int rc = step("vhangup", s >= 0 && ioctl(s, TIOCVHANGUP) == 0);

		sleep(8);
		return rc;
	}
	if (!strcmp(op, "hangup") && argc == 3) {
		int ok = close(atoi(argv[2])) == 0;

		sleep(1);
		return step("hangup", ok);
	}
	fprintf(stderr, "attack_sig: bad arguments (see the comment at the top of attack_sig.c)\n");
	return 2;
}
