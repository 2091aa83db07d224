// SPDX-License-Identifier: GPL-2.0
/*
 * Join tokens and certificates. node-add makes a pending node record and a
 * one-time token, of which only the SHA-256 is stored (token/HEX). ENROL
 * redeems it: the record must be unused and unexpired and is marked used
 * by CAS before anything is issued, so a token enrols once even when two
 * nodes race with it. The certificate's name is the token record's, never
 * anything the node sent. RENEW issues again for the name of the session's
 * certificate.
 *
 * The token travels as its 64 hex digits (what dsmctl prints and dsmd is
 * given) or as its 32 raw bytes; both are the same secret, hashed raw.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
#include "server.h"

struct token {
	char name[DSM_PKI_NAME_MAX + 1];
	int64_t expires;
	bool used;
	int64_t mod_rev;
};

static int token_key(const uint8_t raw[SRV_TOKEN_LEN], char key[DSM_STORE_KEY_MAX + 1])
{
	char hex[65];
	const int err = srv_sha256_hex(raw, SRV_TOKEN_LEN, hex);

	if (!err)
		snprintf(key, DSM_STORE_KEY_MAX + 1, "token/%s", hex);
	return err;
}

static int token_put(struct srv *s, const char *key, const struct token *t)
{
	json_object *o = json_object_new_object();
	const char *text;
	int err;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "expires", json_object_new_int64(t->expires));
	json_object_object_add(o, "used", json_object_new_boolean(t->used));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	err = dsm_store_cas(s->store, key, t->mod_rev, text, strlen(text), NULL);
	json_object_put(o);
	return err;
}

static int token_get(struct srv *s, const char *key, struct token *t)
{
	struct dsm_store_revs revs;
	json_object *o, *v;
	void *value = NULL;
	size_t len = 0;
	int err = dsm_store_get(s->store, key, &value, &len, &revs);

	if (err)
		return err;
	o = srv_json_parse(value, len);
	free(value);
	if (!o)
		return -EIO;
	err = -EIO;
	if (json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string) &&
	    snprintf(t->name, sizeof(t->name), "%s", json_object_get_string(v)) < (int)sizeof(t->name) &&
	    json_object_object_get_ex(o, "expires", &v) && json_object_is_type(v, json_type_int)) {
		t->expires = json_object_get_int64(v);
		/* anything but an explicit false counts as used */
		t->used = !json_object_object_get_ex(o, "used", &v) ||
			  !json_object_is_type(v, json_type_boolean) || json_object_get_boolean(v);
		t->mod_rev = revs.mod_rev;
		err = dsm_pki_name_valid(t->name) ? 0 : -EIO;
	}
	json_object_put(o);
	return err;
}

static int pending_node(struct srv *s, const char *name, struct srv_node *n, const char **why)
{
	int err = srv_node_get(s, name, n);

	if (!err && n->enrolled) {
		*why = "node is already enrolled (node-remove it first)";
		return -EEXIST;
	}
	if (err != -ENOENT)
		return err;
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->added = srv_wall();
	n->mod_rev = DSM_STORE_ABSENT;
	err = srv_node_next_id(s, &n->id);
	return err ? err : srv_node_put(s, n);
}

int srv_enrol_add(struct srv *s, const char *name, int64_t ttl_s, struct srv_node *n,
		  char token_hex[2 * SRV_TOKEN_LEN + 1], int64_t *expires, const char **why)
{
	uint8_t raw[SRV_TOKEN_LEN];
	char key[DSM_STORE_KEY_MAX + 1];
	struct token t = { .mod_rev = DSM_STORE_ABSENT };
	int err;

	*why = NULL;
	if (!dsm_pki_name_valid(name)) {
		*why = "not a valid node name ([a-z0-9-], 1 to 63, no '-' at either end)";
		return -EINVAL;
	}
	if (ttl_s < 1 || ttl_s > SRV_TOKEN_TTL_MAX_S) {
		*why = "token lifetime out of range (1 to 86400 seconds)";
		return -EINVAL;
	}
	err = pending_node(s, name, n, why);
	if (!err)
		err = srv_allow_name(s, name);
	if (err)
		return err;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.expires = srv_wall() + ttl_s;
	err = token_key(raw, key);
	if (!err)
		err = token_put(s, key, &t);
	if (!err) {
		srv_hex(raw, sizeof(raw), token_hex);
		*expires = t.expires;
		srv_info("enrol: node %s (id %u) added, token valid for %llds", name, n->id,
			 (long long)ttl_s);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return err;
}

static int token_bytes(const struct dsm_msg_bytes *tok, uint8_t raw[SRV_TOKEN_LEN])
{
	if (tok->len == SRV_TOKEN_LEN) {
		memcpy(raw, tok->data, SRV_TOKEN_LEN);
		return 0;
	}
	return srv_unhex((const char *)tok->data, tok->len, raw, SRV_TOKEN_LEN);
}

/* The token's record, used up: its name into name. */
static int consume_token(struct srv *s, const struct dsm_msg_bytes *tok, char *name)
{
	uint8_t raw[SRV_TOKEN_LEN];
	char key[DSM_STORE_KEY_MAX + 1];
	struct token t;
	int err = token_bytes(tok, raw);

	if (!err)
		err = token_key(raw, key);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (!err)
		err = token_get(s, key, &t);
	if (err)
		return err;
	if (t.used)
		return -EKEYREVOKED;
	if (t.expires <= srv_wall())
		return -EKEYEXPIRED;
	t.used = true;
	err = token_put(s, key, &t);
	if (!err)
		memcpy(name, t.name, sizeof(t.name));
	return err;
}

static int issue(struct srv *s, const char *name, const struct dsm_msg_bytes *csr,
		 struct srv_node *n, X509 **cert)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = name,
		.now = srv_wall(), .lifetime_s = DSM_PKI_NODE_LIFETIME_S };
	struct dsm_pki_serial serial;
	time_t nb, na;
	int err = dsm_pki_issue_csr(&s->ca, &req, csr->data, csr->len, cert);

	if (err)
		return err;
	err = dsm_pki_cert_serial(*cert, &serial);
	if (!err)
		err = dsm_pki_cert_times(*cert, &nb, &na);
	if (err) {
		X509_free(*cert);
		*cert = NULL;
		return err;
	}
	dsm_pki_serial_hex(&serial, n->cert_serial);
	n->cert_expires = na;
	return 0;
}

int srv_enrol_redeem(struct srv *s, const struct dsm_msg_enrol *e, const char *addr,
		     struct srv_node *n, X509 **cert, uint32_t *why)
{
	char name[DSM_PKI_NAME_MAX + 1];
	int err = consume_token(s, &e->token, name);

	*why = DSM_ERR_BAD_TOKEN;
	if (err) {
		srv_info("enrol: %s: token refused: %s", addr,
			 err == -EKEYREVOKED ? "already used" :
			 err == -EKEYEXPIRED ? "expired" :
			 err == -ENOENT ? "unknown" : strerror(-err));
		return err;
	}
	*why = DSM_ERR_DENIED;
	err = srv_node_get(s, name, n);
	if (err || n->enrolled) {
		srv_info("enrol: %s: node %s was removed or enrolled meanwhile", addr, name);
		return err ? err : -EEXIST;
	}
	*why = DSM_ERR_BAD_CSR;
	err = issue(s, name, &e->csr, n, cert);
	if (err) {
		srv_info("enrol: %s: node %s: certificate request refused", addr, name);
		return err;
	}
	*why = DSM_ERR_INTERNAL;
	n->enrolled = true;
	snprintf(n->address, sizeof(n->address), "%s", addr);
	err = srv_node_put(s, n);
	if (err) {
		X509_free(*cert);
		*cert = NULL;
	}
	return err;
}

int srv_enrol_renew(struct srv *s, const char *name, const struct dsm_msg_renew *r, X509 **cert)
{
	struct srv_node n;
	int err = srv_node_get(s, name, &n);

	if (!err && !n.enrolled)
		err = -EACCES;
	if (!err)
		err = issue(s, name, &r->csr, &n, cert);
	if (err)
		return err;
	err = srv_node_put(s, &n);
	if (err) {
		X509_free(*cert);
		*cert = NULL;
	}
	return err;
}
