// SPDX-License-Identifier: GPL-2.0
/*
 * The secrets behind the pair keys (docs/keys.md). Each generation g has a
 * master secret M_g of 32 random bytes (RAND_bytes) that only the server
 * holds: in the store as keys/gen/G, sealed with AES-256-GCM under the key
 * of DIR/store.key (0600), the generation as the additional data, so a
 * copy of store.db alone reveals nothing and a sealed secret moved to
 * another generation's record does not open. The key of a node pair is
 * derived from M_g with HKDF-SHA256 (OpenSSL's EVP_KDF "HKDF"); nodes see
 * their own pair keys only, never M_g.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "log.h"
#include "server.h"

#define STORE_KEY_FILE "store.key"
#define PAIR_SALT      "dsm pair key v1"
#define GCM_NONCE      12
#define GCM_TAG        16
#define SEALED_LEN     (SRV_MASTER_LEN + GCM_TAG)

static int read_store_key(struct srv *s, const char *path, int fd)
{
	struct stat st;
	size_t off = 0;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		srv_err("keys: %s is not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & 0077) {
		srv_err("keys: %s is open to group or other (mode %04o, want 0600)", path,
			(unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_size != SRV_STORE_KEY_LEN) {
		srv_err("keys: %s holds %lld bytes, not %d", path, (long long)st.st_size,
			SRV_STORE_KEY_LEN);
		return -EINVAL;
	}
	while (off < SRV_STORE_KEY_LEN) {
		const ssize_t n = read(fd, s->keys.store_key + off, SRV_STORE_KEY_LEN - off);

		if (n <= 0) {
			srv_err("keys: %s: %s", path, n < 0 ? strerror(errno) : "cut short");
			return n < 0 ? -errno : -EIO;
		}
		off += (size_t)n;
	}
	return 0;
}

static int make_store_key(struct srv *s, const char *path)
{
	int err = 0;
	const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		srv_err("keys: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (RAND_bytes(s->keys.store_key, SRV_STORE_KEY_LEN) != 1)
		err = -EIO;
	else if (write(fd, s->keys.store_key, SRV_STORE_KEY_LEN) != SRV_STORE_KEY_LEN || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (err) {
		unlink(path);
		srv_err("keys: %s could not be made: %s", path, strerror(-err));
		return err;
	}
	srv_info("keys: %s made (the key of the master secrets in the store)", path);
	return 0;
}

int srv_keys_open(struct srv *s)
{
	char path[PATH_MAX];
	int fd, err;

	srv_path(s, STORE_KEY_FILE, path);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		err = make_store_key(s, path);
	} else if (fd < 0) {
		srv_err("keys: %s: %s", path, strerror(errno));
		err = -errno;
	} else {
		err = read_store_key(s, path, fd);
		close(fd);
	}
	if (err)
		return err;
	s->keys.kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!s->keys.kdf) {
		srv_err("keys: OpenSSL has no HKDF");
		return -ENOSYS;
	}
	return 0;
}

void srv_keys_close(struct srv *s)
{
	OPENSSL_cleanse(s->keys.store_key, sizeof(s->keys.store_key));
	EVP_KDF_free(s->keys.kdf);
	s->keys.kdf = NULL;
}

int srv_pair_key(EVP_KDF *kdf, const uint8_t m[SRV_MASTER_LEN], const char *cluster,
		 uint32_t a, uint32_t b, uint64_t g, uint8_t out[DSM_MSG_SIPKEY_LEN])
{
	uint8_t info[DSM_PKI_NAME_MAX + 12];
	const size_t cl = strlen(cluster);
	const uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
	OSSL_PARAM params[5];
	EVP_KDF_CTX *ctx;
	int ok;

	if (a == b || !a || !b || !g || g > UINT32_MAX || cl > DSM_PKI_NAME_MAX)
		return -EINVAL;
	memcpy(info, cluster, cl);
	for (int i = 0; i < 4; i++) {
		info[cl + i] = (uint8_t)(lo >> (24 - 8 * i));
		info[cl + 4 + i] = (uint8_t)(hi >> (24 - 8 * i));
		info[cl + 8 + i] = (uint8_t)((uint32_t)g >> (24 - 8 * i));
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)m, SRV_MASTER_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)PAIR_SALT,
						      sizeof(PAIR_SALT) - 1);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, cl + 12);
	params[4] = OSSL_PARAM_construct_end();
	ctx = EVP_KDF_CTX_new(kdf);
	ok = ctx && EVP_KDF_derive(ctx, out, DSM_MSG_SIPKEY_LEN, params) == 1;
	EVP_KDF_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

void srv_master_key(uint64_t g, char key[DSM_STORE_KEY_MAX + 1])
{
	snprintf(key, DSM_STORE_KEY_MAX + 1, "keys/gen/%020llu", (unsigned long long)g);
}

/* AES-256-GCM of n bytes under store.key with AAD u64be(g). */
static int gcm(const struct srv *s, bool seal, uint64_t g, const uint8_t nonce[GCM_NONCE],
	       const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[GCM_TAG])
{
	uint8_t aad[8];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	for (int i = 0; i < 8; i++)
		aad[i] = (uint8_t)(g >> (56 - 8 * i));
	ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, s->keys.store_key, nonce,
				      seal) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &len, aad, sizeof(aad)) == 1 &&
	     EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1 && (size_t)len == n &&
	     (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) == 1) &&
	     EVP_CipherFinal_ex(ctx, out + n, &len) == 1 &&
	     (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EBADMSG;
}

int srv_master_new(struct srv *s, uint64_t g, char **text)
{
	uint8_t m[SRV_MASTER_LEN], nonce[GCM_NONCE], sealed[SEALED_LEN + 16];
	char nhex[2 * GCM_NONCE + 1], shex[2 * SEALED_LEN + 1];
	json_object *o;
	int err = -EIO;

	*text = NULL;
	if (RAND_bytes(m, sizeof(m)) == 1 && RAND_bytes(nonce, sizeof(nonce)) == 1)
		err = gcm(s, true, g, nonce, m, sizeof(m), sealed, sealed + SRV_MASTER_LEN);
	OPENSSL_cleanse(m, sizeof(m));
	if (err)
		return err;
	srv_hex(nonce, sizeof(nonce), nhex);
	srv_hex(sealed, SEALED_LEN, shex);
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "generation", json_object_new_uint64(g));
	json_object_object_add(o, "created_ms", json_object_new_int64(srv_wall_ms()));
	json_object_object_add(o, "nonce", json_object_new_string(nhex));
	json_object_object_add(o, "sealed", json_object_new_string(shex));
	*text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return *text ? 0 : -ENOMEM;
}

static const char *jstring(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

int srv_master_get(struct srv *s, uint64_t g, uint8_t m[SRV_MASTER_LEN])
{
	char key[DSM_STORE_KEY_MAX + 1];
	uint8_t nonce[GCM_NONCE], sealed[SEALED_LEN], plain[SRV_MASTER_LEN + 16];
	void *value = NULL;
	size_t len = 0;
	json_object *o, *v;
	const char *nh, *sh;
	int err;

	srv_master_key(g, key);
	err = dsm_store_get(s->store, key, &value, &len, NULL);
	if (err)
		return err;
	o = srv_json_parse(value, len);
	free(value);
	if (!o)
		return -EBADMSG;
	nh = jstring(o, "nonce");
	sh = jstring(o, "sealed");
	err = -EBADMSG;
	if (json_object_object_get_ex(o, "generation", &v) && json_object_is_type(v, json_type_int) &&
	    json_object_get_uint64(v) == g &&
	    !srv_unhex(nh, strlen(nh), nonce, sizeof(nonce)) &&
	    !srv_unhex(sh, strlen(sh), sealed, sizeof(sealed)))
		err = gcm(s, false, g, nonce, sealed, SRV_MASTER_LEN, plain, sealed + SRV_MASTER_LEN);
	json_object_put(o);
	if (!err)
		memcpy(m, plain, SRV_MASTER_LEN);
	OPENSSL_cleanse(plain, sizeof(plain));
	return err;
}
