/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Whole files, the way every dsm file is read and written: reads bounded in
 * size and checked for what they are (a regular file; for secrets, ours and
 * closed to group and other), writes atomic and durable (a temporary file
 * created 0600 next to the target, synced, renamed or linked into place,
 * the directory synced), so that a reader sees the old file or the new one,
 * a crash leaves no half file, and a key is never readable by others, not
 * even for a moment.
 */
#ifndef DSM_FILE_H
#define DSM_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* dsm_file_read flags. */
#define DSM_FILE_SECRET   0x1u /* refuse (-EACCES) unless owned by the effective
				* user with no group or other access; never
				* follow a symbolic link (-ELOOP) */
#define DSM_FILE_NONEMPTY 0x2u /* refuse an empty file (-EBADMSG) */

/* How dsm_file_write puts the new file in place. */
enum dsm_file_put {
	DSM_FILE_REPLACE, /* rename over whatever is at path */
	DSM_FILE_CREATE,  /* link: -EEXIST (and nothing written) if path exists */
};

/* Write all of buf to fd, across short writes and EINTR. 0 or -errno. */
int dsm_file_write_all(int fd, const void *buf, size_t len);

/*
 * Read the whole regular file at path, at most max bytes, into a new
 * buffer with one NUL byte after the content (for text parsers; not
 * counted in *len). -EINVAL not a regular file, -EFBIG larger than max,
 * -EACCES/-ELOOP (DSM_FILE_SECRET), -EBADMSG empty (DSM_FILE_NONEMPTY) or
 * changed size while read, other -errno. Release with dsm_file_free().
 */
int dsm_file_read(const char *path, size_t max, unsigned int flags, uint8_t **buf, size_t *len);

/* Clear and free a buffer of dsm_file_read (len as it returned; NULL ok). */
void dsm_file_free(uint8_t *buf, size_t len);

/* Write buf to path with mode, atomically and durably (see above). */
int dsm_file_write(const char *path, const void *buf, size_t len, mode_t mode,
		   enum dsm_file_put how);

#endif /* DSM_FILE_H */
