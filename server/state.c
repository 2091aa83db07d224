// SPDX-License-Identifier: GPL-2.0
/*
 * The state directory (made by `dsmctl cluster init`): check that every
 * file is there and that no key is open to group or other, load the CA
 * with its key (and store.key, if it is there yet), the server's certificate (a server identity of this
 * cluster), the operator's policy key, open the store and read back the
 * deny list and the current policy. Anything wrong refuses the start with
 * one line naming the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>

#include "log.h"
#include "server.h"

/* What `dsmctl cluster init` makes and the server reads. */
static const char *const required[] = {
	"cluster", "ca.pem", "ca.key", "server.pem", "server.key", "operator.pub",
};
/* Private keys: no access for group or other. operator.key is dsmctl's;
 * if it is here it is checked too. */
static const char *const keys[] = { "ca.key", "server.key", "operator.key", "store.key" };

static int check_files(const struct srv *s)
{
	char path[PATH_MAX];
	struct stat st;

	if (stat(s->dir, &st) || !S_ISDIR(st.st_mode)) {
		srv_err("state: %s is not a directory", s->dir);
		return -ENOTDIR;
	}
	if (st.st_mode & 0022) {
		srv_err("state: %s may be written by group or other (want 0700)", s->dir);
		return -EPERM;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (srv_path(s, required[i], path) || lstat(path, &st)) {
			srv_err("state: %s is missing (made by dsmctl cluster init)", path);
			return -ENOENT;
		}
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (srv_path(s, keys[i], path) || lstat(path, &st))
			continue;
		if (st.st_mode & 0077) {
			srv_err("state: %s is open to group or other (mode %04o, want 0600)",
				path, (unsigned int)(st.st_mode & 07777));
			return -EPERM;
		}
	}
	return 0;
}

static int read_cluster(struct srv *s)
{
	char path[PATH_MAX], line[128];
	FILE *f;
	size_t n;

	if (srv_path(s, "cluster", path) || !(f = fopen(path, "re")))
		return -errno;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	if (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (!dsm_pki_name_valid(line)) {
		srv_err("state: %s does not hold a valid cluster name", path);
		return -EINVAL;
	}
	memcpy(s->cluster, line, n + 1);
	return 0;
}

static int load_pki(struct srv *s)
{
	char cert[PATH_MAX], key[PATH_MAX];
	struct dsm_identity id;
	int err;

	srv_path(s, "ca.pem", cert);
	srv_path(s, "ca.key", key);
	err = dsm_pki_ca_load(cert, key, s->cluster, &s->ca);
	if (err) {
		srv_err("state: %s: not the CA of cluster %s: %s", cert, s->cluster, strerror(-err));
		return err;
	}
	srv_path(s, "server.pem", cert);
	srv_path(s, "server.key", key);
	err = dsm_pki_cert_load(cert, &s->cert);
	if (!err)
		err = dsm_pki_key_load(key, &s->key);
	if (err) {
		srv_err("state: server certificate or key: %s", strerror(-err));
		return err;
	}
	if (dsm_pki_identity(s->cert, s->cluster, &id) || id.role != DSM_ROLE_SERVER) {
		srv_err("state: %s is not a server identity of cluster %s", cert, s->cluster);
		return -EINVAL;
	}
	snprintf(s->name, sizeof(s->name), "%s", id.name);
	return 0;
}

/* The raw 32 bytes of operator.pub (for ENROL_OK), checked to be the key
 * lib/policy_sign reads from the same file. */
static int operator_raw(struct srv *s, const char *path)
{
	uint8_t id[DSM_SIGN_KEY_ID_LEN], raw_id[32];
	size_t len = sizeof(s->operator_raw);
	unsigned int idlen = 0;
	EVP_PKEY *pk;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk || EVP_PKEY_get_raw_public_key(pk, s->operator_raw, &len) != 1 ||
	    len != sizeof(s->operator_raw)) {
		EVP_PKEY_free(pk);
		return -EBADMSG;
	}
	EVP_PKEY_free(pk);
	dsm_sign_pubkey_id(s->operator_pub, id);
	if (!EVP_Digest(s->operator_raw, len, raw_id, &idlen, EVP_sha256(), NULL) ||
	    memcmp(id, raw_id, sizeof(id)))
		return -EBADMSG;
	return 0;
}

static int load_operator(struct srv *s)
{
	char path[PATH_MAX];
	int err;

	srv_path(s, "operator.pub", path);
	err = dsm_sign_pubkey_read_file(path, &s->operator_pub);
	if (!err)
		err = operator_raw(s, path);
	if (err)
		srv_err("state: %s: not an operator public key: %s", path, strerror(-err));
	return err;
}

static int open_store(struct srv *s)
{
	char path[PATH_MAX];
	int err;

	srv_path(s, "policies", path);
	if (mkdir(path, 0700) && errno != EEXIST) {
		srv_err("state: %s: %s", path, strerror(errno));
		return -errno;
	}
	srv_path(s, "store.db", path);
	err = dsm_store_open_sqlite(path, &s->store);
	if (err) {
		srv_err("state: %s: %s", path, strerror(-err));
		return err;
	}
	s->deny = dsm_pki_denylist_new();
	if (!s->deny)
		return -ENOMEM;
	err = srv_deny_load(s);
	if (err)
		srv_err("state: the deny list in the store does not load: %s", strerror(-err));
	return err;
}

int srv_state_open(struct srv *s, const char *dir)
{
	int err;

	if (snprintf(s->dir, sizeof(s->dir), "%s", dir) >= (int)sizeof(s->dir))
		return -ENAMETOOLONG;
	err = check_files(s);
	if (!err)
		err = read_cluster(s);
	if (!err)
		err = load_pki(s);
	if (!err)
		err = load_operator(s);
	if (!err)
		err = open_store(s);
	if (!err)
		err = srv_policy_load(s);
	if (!err)
		err = srv_alarms_open(s);
	return err;
}

void srv_state_close(struct srv *s)
{
	srv_alarms_close(s);
	free(s->policy.buf);
	s->policy.buf = NULL;
	if (s->store)
		dsm_store_close(s->store);
	s->store = NULL;
	dsm_pki_denylist_free(s->deny);
	s->deny = NULL;
	dsm_sign_pubkey_free(s->operator_pub);
	s->operator_pub = NULL;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	s->cert = NULL;
	s->key = NULL;
	dsm_pki_ca_free(&s->ca);
}
