// SPDX-License-Identifier: GPL-2.0
/*
 * The files dsmd reads on every load: the policy source and the key file.
 * Each configured path is resolved once, at start-up, into a descriptor of
 * its directory and a name in it; every later read opens that name in that
 * directory (openat2: no symlink, no magic link, no mount crossing, never
 * outside the directory). So renaming a parent directory, swapping a
 * symlink or mounting over the path (mounts are a permission anyway) does
 * not change what a reload reads: it reads the directory dsmd started
 * with. A path with a symlink in it is refused at start: what an operator
 * configures is what dsmd reads, not what a link points to this time.
 *
 * dsmd protects the files themselves (dsmd/protect.c): their inodes and,
 * when the directory is dsm's own (named "dsm", as /etc/dsm), everything
 * in it; other directories are only kept from being renamed or removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dsmd.h"

struct dsmd_file_ref {
	bool set;
	char path[PATH_MAX]; /* the configured path, made absolute */
	char dir[PATH_MAX];  /* its directory */
	char name[NAME_MAX + 1];
	int dirfd;           /* O_PATH descriptor of dir, from start-up */
	struct stat dir_st;
};

struct dsmd_files {
	struct dsmd_file_ref f[DSMD_FILE_MAX];
};

static const char *const file_what[DSMD_FILE_MAX] = { "policy", "key file" };

/* Open @dir (absolute) one component at a time, refusing symlinks and
 * "..": an O_PATH descriptor of it, or -errno (logged). */
static int open_dir_nofollow(const char *what, const char *dir)
{
	char buf[PATH_MAX], *save = NULL, *c;
	int fd, nfd;

	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(LOG_ERR, -errno, "files: open /");
	snprintf(buf, sizeof(buf), "%s", dir);
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		struct stat st;

		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			close(fd);
			log_error("files: %s directory %s: '..' in the path: give the real path",
				  what, dir);
			return -EINVAL;
		}
		if (fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			close(fd);
			log_error("files: %s directory %s: component '%s' is a symlink: give dsmd "
				  "the real path (dsmd reads what it was given, not what a link "
				  "points to)", what, dir, c);
			return -ELOOP;
		}
		nfd = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int err = -errno;

			close(fd);
			return log_errno(LOG_ERR, err, "files: %s directory %s: '%s'", what, dir, c);
		}
		close(fd);
		fd = nfd;
	}
	return fd;
}

static int resolve(struct dsmd_file_ref *r, const char *what, const char *path)
{
	char cwd[PATH_MAX];
	char *slash;
	struct stat st;
	int n;

	if (path[0] == '/') {
		n = snprintf(r->path, sizeof(r->path), "%s", path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return log_errno(LOG_ERR, -errno, "files: %s %s: current directory", what,
					 path);
		n = snprintf(r->path, sizeof(r->path), "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	}
	if (n < 0 || (size_t)n >= sizeof(r->path))
		return log_errno(LOG_ERR, -ENAMETOOLONG, "files: %s %s", what, path);
	while (n > 1 && r->path[n - 1] == '/')
		r->path[--n] = '\0';
	slash = strrchr(r->path, '/');
	if (!slash[1]) {
		log_error("files: %s %s: not a file", what, path);
		return -EISDIR;
	}
	snprintf(r->name, sizeof(r->name), "%s", slash + 1);
	if (slash == r->path)
		snprintf(r->dir, sizeof(r->dir), "/");
	else
		snprintf(r->dir, sizeof(r->dir), "%.*s", (int)(slash - r->path), r->path);
	if (!strcmp(r->name, ".") || !strcmp(r->name, "..")) {
		log_error("files: %s %s: not a file name", what, path);
		return -EINVAL;
	}
	r->dirfd = open_dir_nofollow(what, r->dir);
	if (r->dirfd < 0)
		return r->dirfd;
	if (fstat(r->dirfd, &r->dir_st))
		return log_errno(LOG_ERR, -errno, "files: %s directory %s", what, r->dir);
	if (fstatat(r->dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW))
		return log_errno(LOG_ERR, -errno, "files: %s %s", what, r->path);
	if (S_ISLNK(st.st_mode)) {
		log_error("files: %s %s is a symlink: give dsmd the file itself (dsmd reads what "
			  "it was given, not what a link points to)", what, r->path);
		return -ELOOP;
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("files: %s %s: not a regular file", what, r->path);
		return -EINVAL;
	}
	r->set = true;
	log_debug("files: %s %s: reading it from the directory opened at start", what, r->path);
	return 0;
}

int dsmd_files_open(struct dsmd *d)
{
	const char *paths[DSMD_FILE_MAX] = { d->o.policy_path, d->o.key_file };
	int err;

	d->files = calloc(1, sizeof(*d->files));
	if (!d->files)
		return -ENOMEM;
	for (int i = 0; i < DSMD_FILE_MAX; i++) {
		d->files->f[i].dirfd = -1;
		if (!paths[i])
			continue;
		err = resolve(&d->files->f[i], file_what[i], paths[i]);
		if (err)
			return err;
	}
	return 0;
}

void dsmd_files_close(struct dsmd *d)
{
	if (!d->files)
		return;
	for (int i = 0; i < DSMD_FILE_MAX; i++)
		if (d->files->f[i].dirfd >= 0)
			close(d->files->f[i].dirfd);
	free(d->files);
	d->files = NULL;
}

static const struct dsmd_file_ref *ref(const struct dsmd *d, enum dsmd_file f)
{
	if (!d->files || f < 0 || f >= DSMD_FILE_MAX || !d->files->f[f].set)
		return NULL;
	return &d->files->f[f];
}

/* Say so when the configured path no longer names the directory dsmd
 * reads: the operator may be editing a file dsmd does not read. */
static void warn_moved(const struct dsmd_file_ref *r, const char *what)
{
	struct stat st;

	if (stat(r->dir, &st) == 0 && st.st_dev == r->dir_st.st_dev && st.st_ino == r->dir_st.st_ino)
		return;
	log_warning("files: %s directory %s is not the directory dsmd opened at start any more "
		    "(moved, replaced or mounted over): dsmd keeps reading %s in the directory "
		    "it opened; restart dsmd to use the new one", what, r->dir, r->name);
}

int dsmd_file_open(const struct dsmd *d, enum dsmd_file f)
{
	const struct dsmd_file_ref *r = ref(d, f);
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	struct stat st;
	int fd;

	if (!r)
		return -ENOENT;
	warn_moved(r, file_what[f]);
	fd = (int)syscall(SYS_openat2, r->dirfd, r->name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		/* Before openat2: no symlink, and no file of another file
		 * system than its directory's (a bind mount on it). */
		fd = openat(r->dirfd, r->name, (int)how.flags);
		if (fd >= 0 && (fstat(fd, &st) || st.st_dev != r->dir_st.st_dev)) {
			close(fd);
			fd = -1;
			errno = EXDEV;
		}
	}
	if (fd < 0)
		return log_errno(LOG_ERR, -errno, "files: open %s %s%s", file_what[f], r->path,
				 errno == ELOOP ? " (it is a symlink now)" :
				 errno == EXDEV ? " (something is mounted on it)" : "");
	return fd;
}

int dsmd_file_read(const struct dsmd *d, enum dsmd_file f, char **buf, size_t *len, size_t max)
{
	size_t cap = 0, n = 0;
	char *b = NULL;
	int fd = dsmd_file_open(d, f), err = 0;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *nb;

			if (cap >= max) {
				err = log_errno(LOG_ERR, -EFBIG, "files: %s %s: more than %zu bytes",
						file_what[f], ref(d, f)->path, max);
				break;
			}
			cap = cap ? cap * 2 : 65536;
			if (cap > max)
				cap = max;
			nb = realloc(b, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = log_errno(LOG_ERR, -errno, "files: read %s %s", file_what[f],
					ref(d, f)->path);
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	if (!b && !(b = malloc(1)))
		return -ENOMEM;
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int dsmd_file_stat(const struct dsmd *d, enum dsmd_file f, struct stat *st)
{
	const struct dsmd_file_ref *r = ref(d, f);

	if (!r)
		return -ENOENT;
	return fstatat(r->dirfd, r->name, st, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

int dsmd_file_dir(const struct dsmd *d, enum dsmd_file f, struct stat *st, const char **dir)
{
	const struct dsmd_file_ref *r = ref(d, f);

	if (!r)
		return -ENOENT;
	*st = r->dir_st;
	*dir = r->dir;
	return 0;
}

const char *dsmd_file_path(const struct dsmd *d, enum dsmd_file f)
{
	const struct dsmd_file_ref *r = ref(d, f);

	return r ? r->path : NULL;
}
