// SPDX-License-Identifier: GPL-2.0
/*
 * The server-state directory (--server-state, default /var/lib/dsm):
 * what a joined dsmd keeps across restarts (uplink.h lists the files).
 * The directory is opened once and every file dsmd writes goes through
 * that descriptor: a temporary file created 0600, written, given its mode,
 * synced, renamed over the old one, and the directory synced, so a reader
 * (or the next start) sees the old file or the new, never a part.
 *
 * The persisted bundle is the policy of a joined node: the one reload
 * path (reload.c, policy.c) takes it from here, verified again with the
 * operator key pinned at enrolment, so a node that restarts while its
 * server is away enforces the last policy it accepted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dsmd.h"
#include "uplink.h"

#define SMALL_FILE_MAX 256

bool dsmd_uplink_configured(const struct dsmd *d)
{
	return d->o.join || d->o.n_servers;
}

int dsmd_uplink_write_at(int dirfd, const char *name, const void *buf, size_t len,
			 unsigned mode)
{
	char tmp[NAME_MAX + 1];
	const char *p = buf;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len && !err) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno != EINTR)
			err = -errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	if (!err && (fchmod(fd, (mode_t)mode) || fsync(fd)))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	return fsync(dirfd) ? -errno : 0;
}

int dsmd_uplink_read_at(int dirfd, const char *name, uint8_t **buf, size_t *len, size_t max)
{
	struct stat st;
	uint8_t *b;
	size_t n = 0;
	int fd, err = 0;

	*buf = NULL;
	*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((uint64_t)st.st_size > max)
		err = -EFBIG;
	if (err) {
		close(fd);
		return err;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		ssize_t got = read(fd, b + n, (size_t)st.st_size - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			err = got < 0 ? -errno : -EIO;
			break;
		}
		n += (size_t)got;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

int dsmd_uplink_state_dir(struct dsmd_uplink_state *s, const char *dir, bool create)
{
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s", dir) >= sizeof(s->dir))
		return -ENAMETOOLONG;
	if (create && mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return s->dirfd < 0 ? -errno : 0;
}

bool dsmd_uplink_enrolled(const struct dsmd_uplink_state *s)
{
	struct stat st;

	return s->dirfd >= 0 && fstatat(s->dirfd, "node.pem", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* One line of a small file, without its newline. */
static int read_line(const struct dsmd_uplink_state *s, const char *name, char *out, size_t len)
{
	uint8_t *b;
	size_t n;
	int err = dsmd_uplink_read_at(s->dirfd, name, &b, &n, SMALL_FILE_MAX);

	if (err)
		return err;
	n = strcspn((char *)b, "\n");
	if (!n || n >= len || memchr(b, 0, n)) {
		free(b);
		return -EBADMSG;
	}
	memcpy(out, b, n);
	out[n] = 0;
	free(b);
	return 0;
}

static int read_u64(const struct dsmd_uplink_state *s, const char *name, uint64_t max,
		    uint64_t *out)
{
	char line[32], *end;
	unsigned long long v;
	int err = read_line(s, name, line, sizeof(line));

	if (err)
		return err;
	errno = 0;
	v = strtoull(line, &end, 10);
	if (*end || errno || line[0] == '-' || v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

static void path_of(const struct dsmd_uplink_state *s, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", s->dir, name);
}

/* The certificate and key: a node identity of the cluster, one key. */
static int load_identity(struct dsmd_uplink_state *s)
{
	struct dsm_identity id;
	char path[600];
	int err;

	path_of(s, "node.pem", path, sizeof(path));
	err = dsm_pki_cert_load(path, &s->cert);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s", path);
	path_of(s, "node.key", path, sizeof(path));
	err = dsm_pki_key_load(path, &s->key);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s", path);
	if (EVP_PKEY_eq(X509_get0_pubkey(s->cert), s->key) != 1) {
		log_error("uplink: %s/node.key is not the key of node.pem", s->dir);
		return -EKEYREJECTED;
	}
	err = dsm_pki_identity(s->cert, s->cluster, &id);
	if (err || id.role != DSM_ROLE_NODE) {
		log_error("uplink: %s/node.pem is not a node certificate of cluster %s", s->dir,
			  s->cluster);
		return -EKEYREJECTED;
	}
	snprintf(s->name, sizeof(s->name), "%s", id.name);
	return 0;
}

int dsmd_uplink_state_load(struct dsmd_uplink_state *s)
{
	struct dsm_pki_ca ca = { 0 };
	uint64_t id = 0;
	char path[600];
	int err;

	err = read_line(s, "cluster", s->cluster, sizeof(s->cluster));
	if (!err && !dsm_pki_name_valid(s->cluster))
		err = -EBADMSG;
	if (!err)
		err = read_u64(s, "node-id", DSM_MSG_NODE_ID_MAX, &id);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s: cluster and node-id", s->dir);
	s->node_id = (uint32_t)id;
	path_of(s, "ca.pem", path, sizeof(path));
	err = dsm_pki_ca_load(path, NULL, s->cluster, &ca);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s", path);
	s->ca = ca.cert;
	err = load_identity(s);
	if (err)
		return err;
	path_of(s, "operator.pub", path, sizeof(path));
	err = dsm_sign_pubkey_read_file(path, &s->operator);
	if (err)
		return log_errno(LOG_ERR, err, "uplink: %s", path);
	err = read_u64(s, "alarm-acked", UINT64_MAX, &s->alarm_acked);
	if (err && err != -ENOENT)
		return log_errno(LOG_ERR, err, "uplink: %s/alarm-acked", s->dir);
	return 0;
}

void dsmd_uplink_state_free(struct dsmd_uplink_state *s)
{
	X509_free(s->ca);
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	dsm_sign_pubkey_free(s->operator);
	if (s->dirfd >= 0)
		close(s->dirfd);
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
}

int dsmd_uplink_save_acked(struct dsmd_uplink_state *s, uint64_t seq)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)seq);

	s->alarm_acked = seq;
	return dsmd_uplink_write_at(s->dirfd, "alarm-acked", line, (size_t)n, 0600);
}

/* ---- PEM ---------------------------------------------------------------- */

static int bio_take(BIO *b, int ok, char **pem, size_t *len)
{
	char *data;
	long n;

	if (!ok) {
		BIO_free(b);
		return -EIO;
	}
	n = BIO_get_mem_data(b, &data);
	*pem = n > 0 ? malloc((size_t)n) : NULL;
	if (*pem) {
		memcpy(*pem, data, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_cleanse(data, (size_t)(n > 0 ? n : 0));
	BIO_free(b);
	return *pem ? 0 : -ENOMEM;
}

int dsmd_uplink_pem_key(EVP_PKEY *key, char **pem, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (!b)
		return -ENOMEM;
	return bio_take(b, PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL), pem, len);
}

int dsmd_uplink_pem_cert(X509 *cert, char **pem, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (!b)
		return -ENOMEM;
	return bio_take(b, PEM_write_bio_X509(b, cert), pem, len);
}

int dsmd_uplink_pem_pubkey(const uint8_t raw[DSM_MSG_PUBKEY_LEN], char **pem, size_t *len)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, DSM_MSG_PUBKEY_LEN);
	BIO *b = k ? BIO_new(BIO_s_mem()) : NULL;
	int err;

	if (!b) {
		EVP_PKEY_free(k);
		return -ENOMEM;
	}
	err = bio_take(b, PEM_write_bio_PUBKEY(b, k), pem, len);
	EVP_PKEY_free(k);
	return err;
}

/* ---- the persisted bundle ----------------------------------------------- */

int dsmd_uplink_state_policy(const struct dsmd_uplink_state *s, uint64_t now,
			     struct dsm_policy **out, bool *expired, char *why, size_t len)
{
	struct dsm_signed_info info;
	uint8_t *buf;
	size_t n;
	int err;

	*out = NULL;
	*expired = false;
	err = dsmd_uplink_read_at(s->dirfd, "policy.signed", &buf, &n, DSM_SIGN_MAX_SIZE);
	if (err) {
		snprintf(why, len, "%s/policy.signed cannot be read: %s", s->dir, strerror(-err));
		return err;
	}
	err = dsm_signed_verify(buf, n, s->operator, s->cluster, 0, now, &info, out);
	if (err == -ETIME) {
		/* It was in force: it stays so until a newer one comes. */
		*expired = true;
		err = dsm_signed_verify(buf, n, s->operator, s->cluster, 0, info.expires_at - 1,
					NULL, out);
	}
	free(buf);
	if (err)
		snprintf(why, len, "%s/policy.signed does not verify: %s", s->dir,
			 dsm_signed_strerror(err));
	return err;
}

int dsmd_uplink_policy(struct dsmd *d, struct dsm_policy **out, char *why, size_t len)
{
	bool expired;
	int err;

	if (!d->uplink || d->uplink->st.dirfd < 0)
		return -ENOENT;
	err = dsmd_uplink_state_policy(&d->uplink->st, (uint64_t)time(NULL), out, &expired, why,
				       len);
	if (!err && expired)
		log_warning("uplink: %s/policy.signed has expired: it stays in force until the "
			    "server sends a newer one", d->uplink->st.dir);
	return err;
}
