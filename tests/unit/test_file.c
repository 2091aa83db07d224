// SPDX-License-Identifier: GPL-2.0
/*
 * Whole files (lib/file.h): what a read refuses (kind, size, a secret that
 * others may read or that is not ours, a link to a secret), and that writes
 * land whole with their mode, never replace in create mode and leave no
 * temporary file behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "file.h"

struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
};

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/dsm-file-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/f", f->dir);
	*state = f;
	return 0;
}

/* Names in the directory; the test's files are removed. */
static int entries(const char *dir, int remove)
{
	struct dirent *e;
	char p[PATH_MAX + 300];
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (remove)
			unlink(p);
	}
	closedir(d);
	return n;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	entries(f->dir, 1);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(dsm_file_write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_read_whole(void **state)
{
	struct fixture *f = *state;
	uint8_t *b;
	size_t n;

	put(f->path, "hello", 0644);
	assert_int_equal(dsm_file_read(f->path, 5, 0, &b, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(b, "hello", 5);
	assert_int_equal(b[5], 0); /* the NUL after the content */
	dsm_file_free(b, n);
	assert_int_equal(dsm_file_read(f->path, 4, 0, &b, &n), -EFBIG);
	assert_null(b);
	put(f->path, "", 0644);
	assert_int_equal(dsm_file_read(f->path, 4, 0, &b, &n), 0);
	assert_int_equal(n, 0);
	dsm_file_free(b, n);
	assert_int_equal(dsm_file_read(f->path, 4, DSM_FILE_NONEMPTY, &b, &n), -EBADMSG);
	assert_int_equal(dsm_file_read(f->dir, 4096, 0, &b, &n), -EINVAL);
	assert_int_equal(dsm_file_read("/nonexistent/dsm", 4096, 0, &b, &n), -ENOENT);
}

static void test_read_secret(void **state)
{
	struct fixture *f = *state;
	const mode_t open_modes[] = { 0640, 0604, 0644, 0610, 0601 };
	char link_path[PATH_MAX + 16];
	uint8_t *b;
	size_t n;

	put(f->path, "key", 0600);
	assert_int_equal(dsm_file_read(f->path, 64, DSM_FILE_SECRET, &b, &n), 0);
	dsm_file_free(b, n);
	put(f->path, "key", 0400);
	assert_int_equal(dsm_file_read(f->path, 64, DSM_FILE_SECRET, &b, &n), 0);
	dsm_file_free(b, n);
	for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		assert_int_equal(chmod(f->path, open_modes[i]), 0);
		assert_int_equal(dsm_file_read(f->path, 64, DSM_FILE_SECRET, &b, &n), -EACCES);
		assert_null(b);
		/* the same file is fine to read when it is not a secret */
		assert_int_equal(dsm_file_read(f->path, 64, 0, &b, &n), 0);
		dsm_file_free(b, n);
	}
	assert_int_equal(chmod(f->path, 0600), 0);
	snprintf(link_path, sizeof(link_path), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, link_path), 0);
	assert_int_equal(dsm_file_read(link_path, 64, DSM_FILE_SECRET, &b, &n), -ELOOP);
	assert_int_equal(dsm_file_read(link_path, 64, 0, &b, &n), 0);
	dsm_file_free(b, n);
	if (geteuid() == 0) { /* a secret of another user, even closed to others */
		assert_int_equal(chown(f->path, 65534, 65534), 0);
		assert_int_equal(dsm_file_read(f->path, 64, DSM_FILE_SECRET, &b, &n), -EACCES);
	}
}

static void test_write_replace(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	uint8_t *b;
	size_t n;

	umask(0);
	assert_int_equal(dsm_file_write(f->path, "one", 3, 0640, DSM_FILE_REPLACE), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(dsm_file_write(f->path, "second", 6, 0600, DSM_FILE_REPLACE), 0);
	assert_int_equal(dsm_file_read(f->path, 64, DSM_FILE_SECRET, &b, &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(b, "second", 6);
	dsm_file_free(b, n);
	umask(022);
	assert_int_equal(entries(f->dir, 0), 1); /* no temporary file left */
}

static void test_write_create(void **state)
{
	struct fixture *f = *state;
	uint8_t *b;
	size_t n;

	assert_int_equal(dsm_file_write(f->path, "first", 5, 0600, DSM_FILE_CREATE), 0);
	assert_int_equal(dsm_file_write(f->path, "other", 5, 0600, DSM_FILE_CREATE), -EEXIST);
	assert_int_equal(dsm_file_read(f->path, 64, 0, &b, &n), 0);
	assert_memory_equal(b, "first", 5);
	dsm_file_free(b, n);
	assert_int_equal(entries(f->dir, 0), 1);
	assert_int_equal(dsm_file_write("/nonexistent/dsm/f", "x", 1, 0600, DSM_FILE_REPLACE), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_create, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
