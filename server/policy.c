// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster's policy: the signed envelope in force (policy/current and
 * DIR/policies/V.signed), pushes from dsmctl, POLICY to the nodes and
 * their acks. A push is verified with the operator's key, for this
 * cluster, newer than the version in force and not expired, before
 * anything is written or sent; the server can withhold a policy but never
 * passes on one the nodes would refuse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "server.h"

struct current {
	uint64_t version;
	char file[64];
	int64_t mod_rev; /* DSM_STORE_ABSENT: none yet */
};

static int current_get(struct srv *s, struct current *cur)
{
	struct dsm_store_revs revs;
	json_object *o, *v;
	void *value = NULL;
	size_t len = 0;
	int err = dsm_store_get(s->store, "policy/current", &value, &len, &revs);

	memset(cur, 0, sizeof(*cur));
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	o = srv_json_parse(value, len);
	free(value);
	if (!o || !json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int)) {
		json_object_put(o);
		return -EIO;
	}
	cur->version = json_object_get_uint64(v);
	snprintf(cur->file, sizeof(cur->file), "policies/%llu.signed", (unsigned long long)cur->version);
	cur->mod_rev = revs.mod_rev;
	json_object_put(o);
	return cur->version ? 0 : -EIO;
}

int srv_policy_load(struct srv *s)
{
	struct dsm_signed_info info;
	struct current cur;
	char path[PATH_MAX];
	int err = current_get(s, &cur);

	if (err || !cur.version)
		return err;
	srv_path(s, cur.file, path);
	err = dsm_signed_read_file(path, &s->policy.buf, &s->policy.len);
	if (!err) {
		err = dsm_signed_verify(s->policy.buf, s->policy.len, s->operator_pub, s->cluster,
					0, (uint64_t)srv_wall(), &info, NULL);
		if (err == -ETIME) {
			srv_warn("policy: version %llu has expired; the nodes will say so",
				 (unsigned long long)cur.version);
			err = 0;
		}
		if (!err && info.version != cur.version)
			err = -EBADMSG;
	}
	if (err) {
		srv_err("policy: %s (the policy in force): %s", path, dsm_signed_strerror(err));
		free(s->policy.buf);
		s->policy.buf = NULL;
		return err;
	}
	s->policy.version = cur.version;
	srv_info("policy: version %llu in force", (unsigned long long)cur.version);
	return 0;
}

static int current_put(struct srv *s, const struct current *cur, const uint8_t *buf, size_t len,
		       uint64_t expires_at)
{
	char digest[65];
	json_object *o;
	const char *text;
	int err = srv_sha256_hex(buf, len, digest);

	if (err)
		return err;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "version", json_object_new_uint64(cur->version));
	json_object_object_add(o, "digest", json_object_new_string(digest));
	json_object_object_add(o, "file", json_object_new_string(cur->file));
	json_object_object_add(o, "pushed_at", json_object_new_int64(srv_wall()));
	json_object_object_add(o, "expires_at", json_object_new_uint64(expires_at));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	err = dsm_store_cas(s->store, "policy/current", cur->mod_rev, text, strlen(text), NULL);
	json_object_put(o);
	return err;
}

static int send_policy(struct srv *s, struct srv_conn *c)
{
	const struct dsm_msg m = { .type = DSM_MSG_POLICY, .id = ++c->next_id,
		.policy.bundle = { s->policy.buf, s->policy.len } };
	const int err = srv_conn_send(s, c, &m);

	if (!err)
		c->policy_sent = s->policy.version;
	return err;
}

static unsigned int broadcast(struct srv *s)
{
	unsigned int n = 0;

	for (struct srv_conn *c = s->conns; c; c = c->next)
		if (!c->dead && c->state == SRV_CONN_READY && !send_policy(s, c))
			n++;
	return n;
}

/* Store the verified envelope and make it current. */
static int publish(struct srv *s, const uint8_t *buf, size_t len, const struct dsm_signed_info *info,
		   int64_t mod_rev, char *why, size_t whylen)
{
	struct current cur = { .version = info->version, .mod_rev = mod_rev };
	char path[PATH_MAX];
	uint8_t *copy = malloc(len);
	int err = copy ? 0 : -ENOMEM;

	snprintf(cur.file, sizeof(cur.file), "policies/%llu.signed", (unsigned long long)cur.version);
	srv_path(s, cur.file, path);
	if (!err)
		err = dsm_signed_write_file(path, buf, len);
	if (!err)
		err = current_put(s, &cur, buf, len, info->expires_at);
	if (err) {
		snprintf(why, whylen, "%s", err == -ECANCELED ?
			 "another push changed the current policy meanwhile; try again" :
			 "the policy could not be stored");
		free(copy);
		return err;
	}
	memcpy(copy, buf, len);
	free(s->policy.buf);
	s->policy = (struct srv_policy){ .version = cur.version, .buf = copy, .len = len };
	return 0;
}

int srv_policy_push(struct srv *s, const uint8_t *buf, size_t len, uint64_t *version,
		    unsigned int *sent_to, char *why, size_t whylen)
{
	struct dsm_signed_info info;
	struct current cur;
	uint64_t last;
	int err = current_get(s, &cur);

	if (err) {
		snprintf(why, whylen, "policy/current in the store does not read");
		return err;
	}
	if (len > DSM_MSG_MAX_POLICY) {
		snprintf(why, whylen, "a signed policy of %zu bytes is over the %u a POLICY may carry",
			 len, DSM_MSG_MAX_POLICY);
		return -EMSGSIZE;
	}
	last = cur.version > s->policy.version ? cur.version : s->policy.version;
	err = dsm_signed_verify(buf, len, s->operator_pub, s->cluster, last, (uint64_t)srv_wall(),
				&info, NULL);
	if (err) {
		snprintf(why, whylen, "refused: %s", dsm_signed_strerror(err));
		return err;
	}
	err = publish(s, buf, len, &info, cur.mod_rev, why, whylen);
	if (err)
		return err;
	*version = info.version;
	*sent_to = broadcast(s);
	srv_fresh_issue(s); /* after POLICY, in the same queues: the nodes have the bundle */
	srv_info("policy: version %llu (%s) pushed, sent to %u nodes",
		 (unsigned long long)info.version, info.policy, *sent_to);
	return 0;
}

int srv_policy_offer(struct srv *s, struct srv_conn *c, uint64_t node_version)
{
	if (!s->policy.buf || s->policy.version <= node_version)
		return 0;
	return send_policy(s, c);
}

const char *srv_policy_result_name(uint32_t result)
{
	static const char *const names[] = {
		[DSM_POLICY_OK] = "ok", [DSM_POLICY_BAD_SIGNATURE] = "bad-signature",
		[DSM_POLICY_BAD_BUNDLE] = "bad-bundle", [DSM_POLICY_STALE] = "stale",
		[DSM_POLICY_LOAD_FAILED] = "load-failed",
	};

	return result <= DSM_POLICY_RESULT_MAX ? names[result] : "unknown";
}

int srv_policy_ack(struct srv *s, struct srv_conn *c, const struct dsm_msg_policy_ack *a)
{
	const char *result = srv_policy_result_name(a->result);
	struct srv_node n;
	int err;

	c->policy_sent = 0;
	if (a->result == DSM_POLICY_OK)
		srv_info("policy: node %s enforces version %llu", c->id.name,
			 (unsigned long long)a->version);
	else
		srv_warn("policy: node %s: %s (%s), enforces version %llu", c->id.name, result,
			 a->reason, (unsigned long long)a->version);
	err = srv_node_get(s, c->id.name, &n);
	if (err)
		return err;
	if (n.policy_version == a->version && !strcmp(n.policy_result, result))
		return 0;
	n.policy_version = a->version;
	snprintf(n.policy_result, sizeof(n.policy_result), "%s", result);
	return srv_node_put(s, &n);
}
