// SPDX-License-Identifier: GPL-2.0
/*
 * attack_fs: file and mount operations a confined root tries against dsm's
 * secrets and files. Each prints "STEP OK" or "STEP ERRNAME" as its last
 * line (like probe); exit 1 on failure, 2 on a usage error.
 *
 *   attack_fs read PATH [MAX]        open(O_RDONLY) + read: the bytes read
 *                                    (at most MAX, default 65536) on stdout,
 *                                    then "read OK N"
 *   attack_fs umount-lazy PATH       umount2(PATH, MNT_DETACH)
 *   attack_fs bind SRC DST           mount(SRC, DST, MS_BIND)
 *   attack_fs tmpfs DST              mount("tmpfs", DST, "tmpfs")
 *   attack_fs tree-bind SRC DST      open_tree(SRC, OPEN_TREE_CLONE) +
 *                                    move_mount(fd, DST): no mount(2)
 *   attack_fs fsmount-tmpfs DST      fsopen("tmpfs") + fsconfig(CREATE) +
 *                                    fsmount + move_mount(DST): no mount(2)
 *   attack_fs fake-server PATH LOG   a stand-in for dsmd's control socket:
 *                                    bind PATH, print "listening OK", then
 *                                    answer every request line with a
 *                                    made-up success, logging it to LOG
 *   attack_fs open-read PATH         open(O_RDONLY), nothing read: "open .."
 *   attack_fs open-write PATH        open(O_WRONLY), nothing written
 *   attack_fs create PATH            open(O_CREAT | O_EXCL | O_WRONLY)
 *   attack_fs mkdir PATH             mkdir(PATH, 0755)
 *   attack_fs symlink TARGET PATH    symlink(TARGET, PATH)
 *   attack_fs link OLD NEW           link(OLD, NEW)
 *   attack_fs mkfifo PATH            mknod(PATH, S_IFIFO)
 *   attack_fs bind-unix PATH         a unix socket bound to PATH: "bind .."
 *   attack_fs rename OLD NEW         rename(OLD, NEW)
 *   attack_fs umount PATH            umount2(PATH, 0)
 *   attack_fs remount PATH           mount(NULL, PATH, NULL, MS_REMOUNT)
 *   attack_fs fspick PATH            fspick + fsconfig(RECONFIGURE): no mount(2)
 *   attack_fs make-private PATH      mount(NULL, PATH, NULL, MS_PRIVATE)
 *   attack_fs move SRC DST           mount(SRC, DST, NULL, MS_MOVE)
 *   attack_fs pivot-root NEW OLD     pivot_root(NEW, OLD) (in a mount
 *                                    namespace of its own: unshare -m)
 *   attack_fs chroot PATH            chroot(PATH)
 *   attack_fs perf-cpu               perf_event_open: a CPU-wide software
 *                                    event (every process on CPU 0)
 *   attack_fs ioperm                 ioperm(0x80, 1, 1): raw I/O ports
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif
#ifndef MS_BIND
#define MS_BIND 4096
#endif
#define MS_REMOUNT_ 32
#define MS_MOVE_    8192
#define MS_PRIVATE_ (1 << 18)

/* <sys/mount.h> clashes with <linux/mount.h>: declare what we use. */
extern int mount(const char *source, const char *target, const char *fstype,
		 unsigned long flags, const void *data);
extern int umount2(const char *target, int flags);

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case ENOSYS: return "ENOSYS";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case EEXIST: return "EEXIST";
	case EROFS: return "EROFS";
	case EXDEV: return "EXDEV";
	case ELOOP: return "ELOOP";
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

static int do_read(const char *path, size_t max)
{
	char buf[4096];
	size_t total = 0;
	char last = '\n';
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return step("open", 0);
	while (total < max) {
		size_t want = max - total < sizeof(buf) ? max - total : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0) {
			close(fd);
			return step("read", 0);
		}
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		total += (size_t)n;
		last = buf[n - 1];
	}
	close(fd);
	if (last != '\n')
		putchar('\n');
	printf("read OK %zu\n", total);
	return 0;
}

static int do_tree_bind(const char *src, const char *dst)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (step("open_tree", fd >= 0))
		return 1;
	return step("move_mount", syscall(SYS_move_mount, fd, "", AT_FDCWD, dst,
					  MOVE_MOUNT_F_EMPTY_PATH) == 0);
}

static int do_fsmount_tmpfs(const char *dst)
{
	int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC), mfd;

	if (step("fsopen", fs >= 0))
		return 1;
	if (step("fsconfig", syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0))
		return 1;
	mfd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	if (step("fsmount", mfd >= 0))
		return 1;
	return step("move_mount", syscall(SYS_move_mount, mfd, "", AT_FDCWD, dst,
					  MOVE_MOUNT_F_EMPTY_PATH) == 0);
}

/* Answer like dsmd would, always with success. */
static void fake_answer(int c, const char *line)
{
	char out[512];

	if (!strncmp(line, "exec-label ", 11))
		snprintf(out, sizeof(out), "{\"ok\":true,\"label\":\"%.64s\",\"label_id\":10}",
			 line + 11);
	else if (!strcmp(line, "status"))
		snprintf(out, sizeof(out),
			 "{\"pid\":1,\"node\":{\"id\":1,\"name\":\"node1\"},\"mode\":\"enforcing\","
			 "\"takeover\":false,\"policy\":{\"name\":\"FAKE\",\"version\":999,"
			 "\"labels\":1,\"entries\":1,\"source\":\"fake\"},\"counters\":{\"denied\":0},"
			 "\"packets\":{},\"alarms\":[]}");
	else
		snprintf(out, sizeof(out), "{\"ok\":true,\"version\":999}");
	if (write(c, out, strlen(out)) < 0)
		perror("fake-server: write");
}

static int do_fake_server(const char *path, const char *logpath)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	FILE *log = fopen(logpath, "a");
	int s;

	if (!log)
		return step("log", 0);
	setvbuf(log, NULL, _IOLBF, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (step("socket", s >= 0))
		return 1;
	unlink(path);
	if (step("bind", bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0))
		return 1;
	if (step("listening", listen(s, 16) == 0))
		return 1;
	for (;;) {
		char line[512];
		size_t got = 0;
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		while (got < sizeof(line) - 1) {
			ssize_t n = read(c, line + got, sizeof(line) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			if (memchr(line, '\n', got))
				break;
		}
		line[got] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		fprintf(log, "fake-server: request '%s'\n", line);
		fake_answer(c, line);
		close(c);
	}
}

static int do_open(const char *path, int flags, const char *what)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd >= 0)
		close(fd);
	return step(what, fd >= 0);
}

static int do_bind_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (step("socket", s >= 0))
		return 1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	return step("bind", bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
}

static int do_fspick(const char *path)
{
	int fd = (int)syscall(SYS_fspick, AT_FDCWD, path, FSPICK_CLOEXEC);

	if (step("fspick", fd >= 0))
		return 1;
	return step("fsconfig", syscall(SYS_fsconfig, fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL,
					0) == 0);
}

static int do_perf_cpu(void)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	int fd = (int)syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);

	if (fd >= 0)
		close(fd);
	return step("perf_event_open", fd >= 0);
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (!strcmp(op, "read") && (argc == 3 || argc == 4))
		return do_read(argv[2], argc == 4 ? strtoul(argv[3], NULL, 0) : 65536);
	if (!strcmp(op, "umount-lazy") && argc == 3)
		return step("umount", umount2(argv[2], MNT_DETACH) == 0);
	if (!strcmp(op, "bind") && argc == 4)
		return step("mount", mount(argv[2], argv[3], NULL, MS_BIND, NULL) == 0);
	if (!strcmp(op, "tmpfs") && argc == 3)
		return step("mount", mount("tmpfs", argv[2], "tmpfs", 0, "mode=0755") == 0);
	if (!strcmp(op, "tree-bind") && argc == 4)
		return do_tree_bind(argv[2], argv[3]);
	if (!strcmp(op, "fsmount-tmpfs") && argc == 3)
		return do_fsmount_tmpfs(argv[2]);
	if (!strcmp(op, "fake-server") && argc == 4)
		return do_fake_server(argv[2], argv[3]);
	if (!strcmp(op, "open-read") && argc == 3)
		return do_open(argv[2], O_RDONLY, "open");
	if (!strcmp(op, "open-write") && argc == 3)
		return do_open(argv[2], O_WRONLY, "open");
	if (!strcmp(op, "create") && argc == 3)
		return do_open(argv[2], O_WRONLY | O_CREAT | O_EXCL, "create");
	if (!strcmp(op, "mkdir") && argc == 3)
		return step("mkdir", mkdir(argv[2], 0755) == 0);
	if (!strcmp(op, "symlink") && argc == 4)
		return step("symlink", symlink(argv[2], argv[3]) == 0);
	if (!strcmp(op, "link") && argc == 4)
		return step("link", link(argv[2], argv[3]) == 0);
	if (!strcmp(op, "mkfifo") && argc == 3)
		return step("mknod", mknod(argv[2], S_IFIFO | 0600, 0) == 0);
	if (!strcmp(op, "bind-unix") && argc == 3)
		return do_bind_unix(argv[2]);
	if (!strcmp(op, "rename") && argc == 4)
		return step("rename", rename(argv[2], argv[3]) == 0);
	if (!strcmp(op, "umount") && argc == 3)
		return step("umount", umount2(argv[2], 0) == 0);
	if (!strcmp(op, "remount") && argc == 3)
		return step("mount", mount(NULL, argv[2], NULL, MS_REMOUNT_, NULL) == 0);
	if (!strcmp(op, "fspick") && argc == 3)
		return do_fspick(argv[2]);
	if (!strcmp(op, "make-private") && argc == 3)
		return step("mount", mount(NULL, argv[2], NULL, MS_PRIVATE_, NULL) == 0);
	if (!strcmp(op, "move") && argc == 4)
		return step("mount", mount(argv[2], argv[3], NULL, MS_MOVE_, NULL) == 0);
	if (!strcmp(op, "pivot-root") && argc == 4)
		return step("pivot_root", syscall(SYS_pivot_root, argv[2], argv[3]) == 0);
	if (!strcmp(op, "chroot") && argc == 3)
		return step("chroot", chroot(argv[2]) == 0);
	if (!strcmp(op, "perf-cpu") && argc == 2)
		return do_perf_cpu();
	if (!strcmp(op, "ioperm") && argc == 2)
		return step("ioperm", ioperm(0x80, 1, 1) == 0);
	fprintf(stderr, "attack_fs: bad arguments (see the comment at the top of attack_fs.c)\n");
	return 2;
}
