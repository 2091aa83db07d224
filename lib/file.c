// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Whole files: bounded, checked reads; atomic, durable writes (file.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "file.h"

int dsm_file_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int check_kind(const struct stat *st, size_t max, unsigned int flags)
{
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if ((flags & DSM_FILE_SECRET) && (st->st_uid != geteuid() || (st->st_mode & 077)))
		return -EACCES;
	if ((uint64_t)st->st_size > max)
		return -EFBIG;
	if ((flags & DSM_FILE_NONEMPTY) && st->st_size == 0)
		return -EBADMSG;
	return 0;
}

/* Exactly want bytes from fd into buf: a file that shrank is -EBADMSG. */
static int read_exactly(int fd, uint8_t *buf, size_t want)
{
	size_t have = 0;

	while (have < want) {
		ssize_t n = read(fd, buf + have, want - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;
		have += (size_t)n;
	}
	return 0;
}

int dsm_file_read(const char *path, size_t max, unsigned int flags, uint8_t **buf, size_t *len)
{
	const int nofollow = (flags & DSM_FILE_SECRET) ? O_NOFOLLOW : 0;
	struct stat st;
	uint8_t *b = NULL;
	size_t size = 0;
	int fd, err;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | nofollow);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) ? -errno : check_kind(&st, max, flags);
	if (!err) {
		size = (size_t)st.st_size;
		b = malloc(size + 1);
		err = b ? read_exactly(fd, b, size) : -ENOMEM;
	}
	close(fd);
	if (err) {
		dsm_file_free(b, size);
		return err;
	}
	b[size] = 0;
	*buf = b;
	*len = size;
	return 0;
}

void dsm_file_free(uint8_t *buf, size_t len)
{
	if (buf)
		OPENSSL_clear_free(buf, len + 1);
}

/* Make a rename or link durable: sync the directory that holds path. */
static int sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t n = slash ? (size_t)(slash - path) : 1;
	int fd, err = 0;

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (slash && n == 0)
		n = 1; /* the root */
	memcpy(dir, slash ? path : ".", n);
	dir[n] = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int dsm_file_write(const char *path, const void *buf, size_t len, mode_t mode,
		   enum dsm_file_put how)
{
	char tmp[PATH_MAX];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC); /* created 0600 */
	if (fd < 0)
		return -errno;
	err = dsm_file_write_all(fd, buf, len);
	if (!err && (fchmod(fd, mode) || fsync(fd)))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && how == DSM_FILE_REPLACE && rename(tmp, path))
		err = -errno;
	if (!err && how == DSM_FILE_CREATE && link(tmp, path))
		err = -errno;
	if (err || how == DSM_FILE_CREATE)
		unlink(tmp);
	return err ?: sync_parent_dir(path);
}
