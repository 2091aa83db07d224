// SPDX-License-Identifier: GPL-2.0
/*
 * The node registry (node/NAME, meta/next_node_id) and the deny list
 * (deny/SERIALHEX, deny/name/NAME) in the store, as JSON values. Every
 * write of a record is conditional on the revision it was read at, so two
 * writers never silently undo each other.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "server.h"

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

static uint64_t juint(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

static int node_from_json(const void *value, size_t len, struct srv_node *n)
{
	json_object *o = srv_json_parse(value, len);

	if (!o)
		return -EIO;
	copy_str(n->name, sizeof(n->name), jstr(o, "name"));
	n->id = (uint32_t)jint(o, "id");
	n->enrolled = !strcmp(jstr(o, "state"), "enrolled");
	n->added = jint(o, "added");
	copy_str(n->cert_serial, sizeof(n->cert_serial), jstr(o, "cert_serial"));
	n->cert_expires = jint(o, "cert_expires");
	copy_str(n->address, sizeof(n->address), jstr(o, "address"));
	n->policy_version = juint(o, "policy_version");
	copy_str(n->policy_result, sizeof(n->policy_result), jstr(o, "policy_result"));
	n->alarm_seq = juint(o, "alarm_seq");
	n->last_seen = jint(o, "last_seen");
	n->key_generation = juint(o, "key_generation");
	copy_str(n->key_addr, sizeof(n->key_addr), jstr(o, "key_addr"));
	json_object_put(o);
	return dsm_pki_name_valid(n->name) && n->id ? 0 : -EIO;
}

static json_object *node_to_json(const struct srv_node *n)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "id", json_object_new_int64(n->id));
	json_object_object_add(o, "state", json_object_new_string(n->enrolled ? "enrolled" : "pending"));
	json_object_object_add(o, "added", json_object_new_int64(n->added));
	json_object_object_add(o, "cert_serial", json_object_new_string(n->cert_serial));
	json_object_object_add(o, "cert_expires", json_object_new_int64(n->cert_expires));
	json_object_object_add(o, "address", json_object_new_string(n->address));
	json_object_object_add(o, "policy_version", json_object_new_uint64(n->policy_version));
	json_object_object_add(o, "policy_result", json_object_new_string(n->policy_result));
	json_object_object_add(o, "alarm_seq", json_object_new_uint64(n->alarm_seq));
	json_object_object_add(o, "last_seen", json_object_new_int64(n->last_seen));
	json_object_object_add(o, "key_generation", json_object_new_uint64(n->key_generation));
	json_object_object_add(o, "key_addr", json_object_new_string(n->key_addr));
	return o;
}

static int node_key(const char *name, char key[DSM_STORE_KEY_MAX + 1])
{
	if (!dsm_pki_name_valid(name))
		return -EINVAL;
	snprintf(key, DSM_STORE_KEY_MAX + 1, "node/%s", name);
	return 0;
}

int srv_node_get(struct srv *s, const char *name, struct srv_node *n)
{
	char key[DSM_STORE_KEY_MAX + 1];
	struct dsm_store_revs revs;
	void *value = NULL;
	size_t len = 0;
	int err = node_key(name, key);

	if (err)
		return err;
	memset(n, 0, sizeof(*n));
	err = dsm_store_get(s->store, key, &value, &len, &revs);
	if (err)
		return err;
	err = node_from_json(value, len, n);
	free(value);
	if (!err && strcmp(n->name, name))
		err = -EIO;
	n->mod_rev = revs.mod_rev;
	return err;
}

int srv_node_put(struct srv *s, struct srv_node *n)
{
	char key[DSM_STORE_KEY_MAX + 1];
	json_object *o;
	const char *text;
	int64_t rev;
	int err = node_key(n->name, key);

	if (err)
		return err;
	o = node_to_json(n);
	if (!o)
		return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	err = dsm_store_cas(s->store, key, n->mod_rev, text, strlen(text), &rev);
	json_object_put(o);
	if (!err)
		n->mod_rev = rev;
	return err;
}

int srv_node_delete(struct srv *s, const char *name)
{
	char key[DSM_STORE_KEY_MAX + 1];
	const int err = node_key(name, key);

	return err ? err : dsm_store_delete(s->store, key, DSM_STORE_ANY, NULL);
}

struct each_ctx {
	srv_node_fn *fn;
	void *ctx;
};

static int each_kv(const struct dsm_store_kv *kv, void *ctx)
{
	const struct each_ctx *e = ctx;
	struct srv_node n = { 0 };

	if (node_from_json(kv->value, kv->len, &n)) {
		srv_warn("store: %s does not parse; skipped", kv->key);
		return 0;
	}
	n.mod_rev = kv->revs.mod_rev;
	return e->fn(&n, e->ctx);
}

int srv_node_each(struct srv *s, srv_node_fn *fn, void *ctx)
{
	struct each_ctx e = { fn, ctx };

	return dsm_store_range(s->store, "node/", each_kv, &e, NULL);
}

static int next_id_once(struct srv *s, uint32_t *id)
{
	struct dsm_store_revs revs = { 0 };
	void *value = NULL;
	size_t len = 0;
	uint64_t next = 1;
	char text[64];
	int err = dsm_store_get(s->store, "meta/next_node_id", &value, &len, &revs);

	if (err && err != -ENOENT)
		return err;
	if (!err) {
		json_object *o = srv_json_parse(value, len);

		free(value);
		next = o ? juint(o, "next") : 0;
		json_object_put(o);
		if (!next || next > DSM_MSG_NODE_ID_MAX)
			return next ? -ENOSPC : -EIO;
	}
	snprintf(text, sizeof(text), "{\"next\":%llu}", (unsigned long long)next + 1);
	err = dsm_store_cas(s->store, "meta/next_node_id", err ? DSM_STORE_ABSENT : revs.mod_rev,
			    text, strlen(text), NULL);
	if (!err)
		*id = (uint32_t)next;
	return err;
}

int srv_node_next_id(struct srv *s, uint32_t *id)
{
	int err;

	for (int tries = 0; tries < 8; tries++) {
		err = next_id_once(s, id);
		if (err != -ECANCELED)
			return err;
	}
	return -EBUSY;
}

/* ---- the deny list ------------------------------------------------------ */

static int put_json(struct srv *s, const char *key, json_object *o)
{
	const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	const int err = text ? dsm_store_put(s->store, key, text, strlen(text), NULL) : -ENOMEM;

	json_object_put(o);
	return err;
}

static int deny_serial(struct srv *s, const struct srv_node *n)
{
	char key[DSM_STORE_KEY_MAX + 1];
	struct dsm_pki_serial serial;
	json_object *o;
	int err;

	if (!n->cert_serial[0])
		return 0;
	err = dsm_pki_serial_parse(n->cert_serial, &serial);
	if (err)
		return err;
	snprintf(key, sizeof(key), "deny/%s", n->cert_serial);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "name", json_object_new_string(n->name));
		json_object_object_add(o, "until", json_object_new_int64(n->cert_expires));
	}
	err = put_json(s, key, o);
	return err ? err : dsm_pki_deny_serial(s->deny, &serial, n->cert_expires);
}

int srv_deny_node(struct srv *s, const struct srv_node *n)
{
	char key[DSM_STORE_KEY_MAX + 1];
	json_object *o = json_object_new_object();
	int err;

	if (o)
		json_object_object_add(o, "removed", json_object_new_int64(srv_wall()));
	snprintf(key, sizeof(key), "deny/name/%s", n->name);
	err = put_json(s, key, o);
	if (!err)
		err = dsm_pki_deny_name(s->deny, n->name);
	if (!err)
		err = deny_serial(s, n);
	return err;
}

int srv_allow_name(struct srv *s, const char *name)
{
	char key[DSM_STORE_KEY_MAX + 1];
	int err;

	snprintf(key, sizeof(key), "deny/name/%s", name);
	err = dsm_store_delete(s->store, key, DSM_STORE_ANY, NULL);
	if (err && err != -ENOENT)
		return err;
	err = dsm_pki_allow_name(s->deny, name);
	return err == -ENOENT ? 0 : err;
}

static int load_deny_kv(const struct dsm_store_kv *kv, void *ctx)
{
	struct srv *s = ctx;
	const char *rest = kv->key + strlen("deny/");
	struct dsm_pki_serial serial;
	json_object *o;
	int64_t until;

	if (!strncmp(rest, "name/", 5))
		return dsm_pki_name_valid(rest + 5) ? dsm_pki_deny_name(s->deny, rest + 5) : -EIO;
	if (dsm_pki_serial_parse(rest, &serial))
		return -EIO;
	o = srv_json_parse(kv->value, kv->len);
	until = o ? jint(o, "until") : 0;
	json_object_put(o);
	/* an entry whose end cannot be read denies for ever: fail closed */
	return dsm_pki_deny_serial(s->deny, &serial, until);
}

int srv_deny_load(struct srv *s)
{
	const int err = dsm_store_range(s->store, "deny/", load_deny_kv, s, NULL);

	if (!err)
		dsm_pki_denylist_prune(s->deny, srv_wall());
	return err;
}
