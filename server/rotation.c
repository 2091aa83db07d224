// SPDX-License-Identifier: GPL-2.0
/*
 * Pair-key generations and their rotation (docs/keys.md, "Rotation, in
 * phases"). One rotation runs at a time; its state is in the store and
 * cached here (the server is the store's one writer), and every change of
 * it is one transaction:
 *
 *   keys/current   {"generation","since_ms"}: the generation nodes send with
 *   keys/rotation  {"generation","prev","phase","started_ms","phase_ms",
 *                   "grace_ms","reason","acked":{"install","switch","drop"},
 *                   "alarmed"}: the rotation running, if one is
 *   keys/queued    {"reason","now"}: one more rotation once this one is done
 *   keys/gen/G     M_G sealed (keys.c)
 *
 * install: M_R is made, every node in session gets KEYS {R, INSTALL, its
 * pair keys}; when every member (enrolled node, now) has acked, switch:
 * KEYS {R, SWITCH}; when every member has acked that, keys/current becomes
 * R and the grace period runs (none for the first generation: there is
 * nothing older to drop); then drop: KEYS {R, DROP_OLD}, and once every
 * member in session has acked it the rotation ends and M_prev is deleted.
 * A member out of session holds install and switch back (it would miss
 * keys), never the drop (it gets DROP_OLD at its next HELLO). A member
 * that has not acked within key_ack_ms of the phase is logged and recorded
 * as an alarm, once per phase.
 *
 * A node in session after HELLO gets what it needs to catch up, back to
 * back on its one ordered stream: INSTALL, SWITCH and DROP_OLD of the
 * current generation, then INSTALL (and SWITCH, DROP_OLD, as far as the
 * rotation got) of the rotating one. A node whose IPv4 address (from its
 * session) differs from the one its peers were given, or a new node, has
 * its address and key go to every other node in session as a new INSTALL
 * of the generations they hold, which only adds or replaces their entries
 * for that node. A removed node is left out of every later key list; its
 * removal queues a rotation, so that its keys end with the next drop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "log.h"
#include "server.h"

#define K_CURRENT  "keys/current"
#define K_ROTATION "keys/rotation"
#define K_QUEUED   "keys/queued"
#define LOOK_MS    1000 /* without a kick, the phase is looked at this often */

static const char *const phase_names[] = {
	[SRV_ROT_NONE] = "none", [SRV_ROT_INSTALL] = "install", [SRV_ROT_SWITCH] = "switch",
	[SRV_ROT_GRACE] = "grace", [SRV_ROT_DROP] = "drop",
};
static const char *const ack_names[3] = { "install", "switch", "drop" };

/* ---- id sets ---------------------------------------------------------- */

static bool idset_has(const struct srv_idset *set, uint32_t id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->id[i] == id)
			return true;
	return false;
}

static int idset_add(struct srv_idset *set, uint32_t id)
{
	if (idset_has(set, id))
		return 0;
	if (set->n == set->cap) {
		const size_t cap = set->cap ? 2 * set->cap : 16;
		uint32_t *p = realloc(set->id, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		set->id = p;
		set->cap = cap;
	}
	set->id[set->n++] = id;
	return 0;
}

static void idset_free(struct srv_idset *set)
{
	free(set->id);
	*set = (struct srv_idset){ 0 };
}

static void rot_free(struct srv_rotation *r)
{
	for (int i = 0; i < 3; i++)
		idset_free(&r->acked[i]);
	idset_free(&r->alarmed);
	*r = (struct srv_rotation){ 0 };
}

/* The ack set of a KEYS phase (1 install, 2 switch, 3 drop). */
static struct srv_idset *acks_of(struct srv_rotation *r, unsigned int phase)
{
	return phase >= DSM_KEYS_INSTALL && phase <= DSM_KEYS_DROP_OLD ? &r->acked[phase - 1] : NULL;
}

/* The KEYS phase a rotation phase waits on; 0 for the grace. */
static unsigned int wire_phase(enum srv_rot_phase p)
{
	return p == SRV_ROT_INSTALL ? DSM_KEYS_INSTALL : p == SRV_ROT_SWITCH ? DSM_KEYS_SWITCH :
	       p == SRV_ROT_DROP ? DSM_KEYS_DROP_OLD : 0;
}

/* ---- JSON ------------------------------------------------------------- */

static json_object *idset_json(const struct srv_idset *set)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < set->n; i++)
		json_object_array_add(a, json_object_new_int64(set->id[i]));
	return a;
}

static int idset_parse(json_object *a, struct srv_idset *set)
{
	if (!a || !json_object_is_type(a, json_type_array))
		return -EIO;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *v = json_object_array_get_idx(a, i);
		const int64_t id = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;

		if (id < 1 || id > DSM_MSG_NODE_ID_MAX || idset_add(set, (uint32_t)id))
			return -EIO;
	}
	return 0;
}

static json_object *member_of(json_object *o, const char *k)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static bool rjint(json_object *o, const char *k, int64_t *out)
{
	json_object *v = member_of(o, k);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static bool rjuint(json_object *o, const char *k, uint64_t *out)
{
	json_object *v = member_of(o, k);

	if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static char *to_text(json_object *o)
{
	char *t = o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;

	json_object_put(o);
	return t;
}

static char *rotation_text(const struct srv_rotation *r)
{
	json_object *o = json_object_new_object(), *acked = json_object_new_object();

	if (!o || !acked) {
		json_object_put(o);
		json_object_put(acked);
		return NULL;
	}
	json_object_object_add(o, "generation", json_object_new_uint64(r->generation));
	json_object_object_add(o, "prev", json_object_new_uint64(r->prev));
	json_object_object_add(o, "phase", json_object_new_string(phase_names[r->phase]));
	json_object_object_add(o, "started_ms", json_object_new_int64(r->started_ms));
	json_object_object_add(o, "phase_ms", json_object_new_int64(r->phase_ms));
	json_object_object_add(o, "grace_ms", json_object_new_uint64(r->grace_ms));
	json_object_object_add(o, "reason", json_object_new_string(r->reason));
	for (int i = 0; i < 3; i++)
		json_object_object_add(acked, ack_names[i], idset_json(&r->acked[i]));
	json_object_object_add(o, "acked", acked);
	json_object_object_add(o, "alarmed", idset_json(&r->alarmed));
	return to_text(o);
}

static int rotation_parse(const void *value, size_t len, struct srv_rotation *r)
{
	json_object *o = srv_json_parse(value, len), *v, *acked;
	int err = o ? 0 : -EIO;

	*r = (struct srv_rotation){ 0 };
	if (!err && (!rjuint(o, "generation", &r->generation) || !rjuint(o, "prev", &r->prev) ||
		     !rjint(o, "started_ms", &r->started_ms) || !rjint(o, "phase_ms", &r->phase_ms) ||
		     !rjuint(o, "grace_ms", &r->grace_ms) || !r->generation ||
		     r->generation > UINT32_MAX || r->prev >= r->generation))
		err = -EIO;
	v = o ? member_of(o, "phase") : NULL;
	for (int p = SRV_ROT_INSTALL; !err && p <= SRV_ROT_DROP; p++)
		if (v && json_object_is_type(v, json_type_string) &&
		    !strcmp(json_object_get_string(v), phase_names[p]))
			r->phase = p;
	if (!err && !r->phase)
		err = -EIO;
	v = o ? member_of(o, "reason") : NULL;
	if (!err && v && json_object_is_type(v, json_type_string))
		snprintf(r->reason, sizeof(r->reason), "%s", json_object_get_string(v));
	acked = o ? member_of(o, "acked") : NULL;
	for (int i = 0; i < 3 && !err; i++)
		err = idset_parse(acked ? member_of(acked, ack_names[i]) : NULL, &r->acked[i]);
	if (!err)
		err = idset_parse(member_of(o, "alarmed"), &r->alarmed);
	json_object_put(o);
	if (err)
		rot_free(r);
	return err;
}

/* ---- the store -------------------------------------------------------- */

static int load(struct srv *s)
{
	struct srv_keys *k = &s->keys;
	struct dsm_store_revs revs;
	void *value = NULL;
	size_t len = 0;
	json_object *o;
	int err;

	rot_free(&k->rot);
	k->current = 0;
	k->current_ms = 0;
	k->current_rev = k->rot_rev = k->queued_rev = DSM_STORE_ABSENT;
	k->queued = k->queued_now = false;
	k->queued_reason[0] = '\0';

	err = dsm_store_get(s->store, K_CURRENT, &value, &len, &revs);
	if (!err) {
		o = srv_json_parse(value, len);
		free(value);
		if (!o || !rjuint(o, "generation", &k->current) || !rjint(o, "since_ms", &k->current_ms) ||
		    !k->current || k->current > UINT32_MAX)
			err = -EIO;
		json_object_put(o);
		k->current_rev = revs.mod_rev;
	}
	if (err && err != -ENOENT)
		return err;

	err = dsm_store_get(s->store, K_ROTATION, &value, &len, &revs);
	if (!err) {
		err = rotation_parse(value, len, &k->rot);
		free(value);
		k->rot_rev = revs.mod_rev;
	}
	if (err && err != -ENOENT)
		return err;

	err = dsm_store_get(s->store, K_QUEUED, &value, &len, &revs);
	if (!err) {
		json_object *v;

		o = srv_json_parse(value, len);
		free(value);
		if (!o)
			return -EIO;
		k->queued = true;
		v = member_of(o, "now");
		k->queued_now = v && json_object_is_type(v, json_type_boolean) &&
				json_object_get_boolean(v);
		v = member_of(o, "reason");
		snprintf(k->queued_reason, sizeof(k->queued_reason), "%s",
			 v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "");
		json_object_put(o);
		k->queued_rev = revs.mod_rev;
	}
	return err == -ENOENT ? 0 : err;
}

/* Write the cached state (current, rotation, queued) as one transaction,
 * with extra ops (a master secret made or deleted), each conditional on
 * the revision it was read at. On failure the cache is read back. */
static int commit(struct srv *s, const struct dsm_store_op *extra, size_t nextra)
{
	struct srv_keys *k = &s->keys;
	struct dsm_store_op ops[6];
	char *cur = NULL, *rot = NULL, *q = NULL;
	size_t n = 0;
	int64_t rev = 0;
	int err = 0;
	int cur_i = -1, rot_i = -1, q_i = -1;

	if (k->current) {
		json_object *o = json_object_new_object();

		if (o) {
			json_object_object_add(o, "generation", json_object_new_uint64(k->current));
			json_object_object_add(o, "since_ms", json_object_new_int64(k->current_ms));
		}
		cur = to_text(o);
		if (!cur)
			err = -ENOMEM;
		cur_i = (int)n;
		ops[n++] = (struct dsm_store_op){ DSM_STORE_PUT, K_CURRENT, k->current_rev, cur,
						  cur ? strlen(cur) : 0 };
	}
	if (k->rot.generation) {
		rot = rotation_text(&k->rot);
		if (!rot)
			err = -ENOMEM;
		rot_i = (int)n;
		ops[n++] = (struct dsm_store_op){ DSM_STORE_PUT, K_ROTATION, k->rot_rev, rot,
						  rot ? strlen(rot) : 0 };
	} else if (k->rot_rev) {
		ops[n++] = (struct dsm_store_op){ DSM_STORE_DELETE, K_ROTATION, k->rot_rev, NULL, 0 };
	}
	if (k->queued) {
		json_object *o = json_object_new_object();

		if (o) {
			json_object_object_add(o, "reason", json_object_new_string(k->queued_reason));
			json_object_object_add(o, "now", json_object_new_boolean(k->queued_now));
		}
		q = to_text(o);
		if (!q)
			err = -ENOMEM;
		q_i = (int)n;
		ops[n++] = (struct dsm_store_op){ DSM_STORE_PUT, K_QUEUED, k->queued_rev, q,
						  q ? strlen(q) : 0 };
	} else if (k->queued_rev) {
		ops[n++] = (struct dsm_store_op){ DSM_STORE_DELETE, K_QUEUED, k->queued_rev, NULL, 0 };
	}
	for (size_t i = 0; i < nextra && n < sizeof(ops) / sizeof(ops[0]); i++)
		ops[n++] = extra[i];
	if (!err)
		err = n ? dsm_store_txn(s->store, ops, n, &rev) : 0;
	free(cur);
	free(rot);
	free(q);
	if (err) {
		srv_err("keys: the key state could not be written: %s", strerror(-err));
		if (load(s))
			srv_err("keys: the key state in the store does not read back");
		return err;
	}
	if (cur_i >= 0)
		k->current_rev = rev;
	k->rot_rev = rot_i >= 0 ? rev : DSM_STORE_ABSENT;
	k->queued_rev = q_i >= 0 ? rev : DSM_STORE_ABSENT;
	return 0;
}

/* ---- members and KEYS --------------------------------------------------- */

struct member {
	uint32_t id;
	char name[DSM_PKI_NAME_MAX + 1];
	uint8_t addr[4];
};

struct members {
	struct member *m;             /* by id */
	const struct member **by_name; /* the same, by name (member_named) */
	size_t n, cap;
};

static int member_add(const struct srv_node *n, void *ctx)
{
	struct members *ms = ctx;

	if (!n->enrolled)
		return 0;
	if (ms->n == ms->cap) {
		const size_t cap = ms->cap ? 2 * ms->cap : 16;
		struct member *p = realloc(ms->m, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ms->m = p;
		ms->cap = cap;
	}
	ms->m[ms->n] = (struct member){ .id = n->id };
	snprintf(ms->m[ms->n].name, sizeof(ms->m[ms->n].name), "%s", n->name);
	if (inet_pton(AF_INET, n->key_addr, ms->m[ms->n].addr) != 1)
		memset(ms->m[ms->n].addr, 0, 4);
	ms->n++;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Every enrolled node, by id. */
static int by_name(const void *a, const void *b)
{
	const struct member *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static void members_free(struct members *ms)
{
	free(ms->m);
	free(ms->by_name);
	*ms = (struct members){ 0 };
}

static int members_get(struct srv *s, struct members *ms)
{
	int err;

	*ms = (struct members){ 0 };
	err = srv_node_each(s, member_add, ms);
	if (!err && ms->n) {
		ms->by_name = malloc(ms->n * sizeof(*ms->by_name));
		err = ms->by_name ? 0 : -ENOMEM;
	}
	if (err) {
		members_free(ms);
		return err;
	}
	if (!ms->n)
		return 0;
	qsort(ms->m, ms->n, sizeof(*ms->m), by_id);
	for (size_t i = 0; i < ms->n; i++)
		ms->by_name[i] = &ms->m[i];
	qsort(ms->by_name, ms->n, sizeof(*ms->by_name), by_name);
	return 0;
}

/* A broadcast looks up every session's node: by name, not a walk. */
static const struct member *member_named(const struct members *ms, const char *name)
{
	struct member key;
	const struct member *k = &key, *const *hit;

	if (!ms->n || strlen(name) >= sizeof(key.name))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	hit = bsearch(&k, ms->by_name, ms->n, sizeof(*ms->by_name), by_name);
	return hit ? *hit : NULL;
}

static void mark_sent(struct srv_conn *c, uint64_t g, unsigned int phase)
{
	int slot = c->keys_gen[0] == g ? 0 : c->keys_gen[1] == g ? 1 :
		   c->keys_gen[0] < c->keys_gen[1] ? 0 : 1;

	if (c->keys_gen[slot] != g) {
		c->keys_gen[slot] = g;
		c->keys_sent[slot] = 0;
	}
	c->keys_sent[slot] |= (uint8_t)(1u << phase);
}

static bool was_sent(const struct srv_conn *c, uint64_t g, unsigned int phase)
{
	for (int i = 0; i < 2; i++)
		if (c->keys_gen[i] == g && g && (c->keys_sent[i] & (1u << phase)))
			return true;
	return false;
}

/* KEYS {g, phase} to c; INSTALL carries c's node's pair keys with every
 * other member (m: M_g), or with the nonly members of `only` alone (c's
 * own node skipped) when it is not NULL. */
static int send_keys(struct srv *s, struct srv_conn *c, const struct members *ms,
		     const uint8_t *m, uint64_t g, unsigned int phase,
		     const struct member *const *only, size_t nonly)
{
	struct dsm_msg msg = { .type = DSM_MSG_KEYS, .id = ++c->next_id,
			       .keys = { .generation = g, .phase = (uint8_t)phase } };
	struct dsm_msg_pair_key *keys = NULL;
	const struct member *self = member_named(ms, c->id.name);
	uint32_t count = 0;
	size_t slots = 0;
	int err = 0;

	if (!self)
		return 0; /* not enrolled (any more): it gets no keys */
	if (phase == DSM_KEYS_INSTALL) {
		slots = only ? nonly : ms->n;
		if (slots - (only ? 0 : 1) > DSM_MSG_KEYS_MAX) {
			srv_err("keys: %zu peers are more than one KEYS carries (%u)", slots - 1,
				DSM_MSG_KEYS_MAX);
			return -EMSGSIZE;
		}
		keys = calloc(slots ? slots : 1, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		for (size_t i = 0; i < slots && !err; i++) {
			const struct member *p = only ? only[i] : &ms->m[i];

			if (p->id == self->id)
				continue;
			keys[count].peer = p->id;
			memcpy(keys[count].addr, p->addr, 4);
			err = srv_pair_key(s->keys.kdf, m, s->cluster, self->id, p->id, g,
					   keys[count].key);
			count++;
		}
		msg.keys.keys = (struct dsm_msg_key_list){ .count = count, .key = keys };
		if (only && !count) {
			free(keys); /* an announcement of itself alone: nothing to tell */
			return 0;
		}
	}
	if (!err)
		err = srv_conn_send(s, c, &msg);
	if (keys) {
		OPENSSL_cleanse(keys, (slots ? slots : 1) * sizeof(*keys));
		free(keys);
	}
	if (!err) {
		mark_sent(c, g, phase);
		srv_debug("keys: KEYS %llu %s (%u keys) to %s", (unsigned long long)g,
			  ack_names[phase - 1], count, c->id.name);
	}
	return err;
}

static bool in_session(const struct srv_conn *c)
{
	return !c->dead && c->state == SRV_CONN_READY;
}

/* KEYS {g, phase} to every node in session. */
static unsigned int keys_broadcast(struct srv *s, uint64_t g, unsigned int phase)
{
	uint8_t m[SRV_MASTER_LEN];
	struct members ms;
	unsigned int sent = 0;
	int err = members_get(s, &ms);

	if (!err && phase == DSM_KEYS_INSTALL)
		err = srv_master_get(s, g, m);
	if (err) {
		srv_err("keys: generation %llu: KEYS not sent: %s", (unsigned long long)g,
			strerror(-err));
		members_free(&ms);
		return 0;
	}
	for (struct srv_conn *c = s->conns; c; c = c->next)
		if (in_session(c) && !send_keys(s, c, &ms, m, g, phase, NULL, 0))
			sent++;
	OPENSSL_cleanse(m, sizeof(m));
	members_free(&ms);
	return sent;
}

/* ---- announcements: a new or moved node's key to its peers --------------- */

/*
 * A node that is new or has a new address gets a full INSTALL at its
 * HELLO; its peers learn its key (with its address) from an INSTALL that
 * carries only the keys of the nodes that came up since the last
 * announcement, at most announce_ms later. INSTALL of a generation a node
 * holds adds or replaces entries, so the others stand. One INSTALL per
 * peer for each announcement, not for each node: 1 000 nodes coming up
 * cost each peer a few dozen small INSTALLs, not 1 000.
 */
static int announce_add(struct srv_keys *k, uint32_t id)
{
	for (size_t i = 0; i < k->nannounce; i++)
		if (k->announce[i] == id)
			return 0;
	if (k->nannounce == k->capannounce) {
		const size_t cap = k->capannounce ? 2 * k->capannounce : 64;
		uint32_t *p = realloc(k->announce, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		k->announce = p;
		k->capannounce = cap;
	}
	if (!k->nannounce)
		k->announce_since_ms = srv_now_ms();
	k->announce[k->nannounce++] = id;
	return 0;
}

static const struct member *member_of_id(const struct members *ms, uint32_t id)
{
	const struct member key = { .id = id };

	return ms->n ? bsearch(&key, ms->m, ms->n, sizeof(*ms->m), by_id) : NULL;
}

/* INSTALL of generation g with the keys of about[] to every node in session. */
static void announce_gen(struct srv *s, const struct members *ms, uint64_t g,
			 const struct member *const *about, size_t n)
{
	uint8_t m[SRV_MASTER_LEN];
	int err = srv_master_get(s, g, m);

	if (err) {
		srv_err("keys: generation %llu: new nodes' keys not sent: %s",
			(unsigned long long)g, strerror(-err));
		return;
	}
	for (struct srv_conn *c = s->conns; c; c = c->next)
		if (in_session(c))
			send_keys(s, c, ms, m, g, DSM_KEYS_INSTALL, about, n);
	OPENSSL_cleanse(m, sizeof(m));
}

static void announce_flush(struct srv *s)
{
	struct srv_keys *k = &s->keys;
	const struct member **about;
	struct members ms;
	size_t n = 0;

	if (!k->nannounce || srv_now_ms() - k->announce_since_ms < k->announce_ms)
		return;
	if (members_get(s, &ms))
		return; /* kept: told at a later tick */
	about = calloc(k->nannounce, sizeof(*about));
	if (!about) {
		members_free(&ms);
		return;
	}
	for (size_t i = 0; i < k->nannounce; i++) {
		const struct member *p = member_of_id(&ms, k->announce[i]);

		if (p) /* not a member (any more): nobody gets its keys */
			about[n++] = p;
	}
	if (n && k->current && k->current != k->rot.generation)
		announce_gen(s, &ms, k->current, about, n);
	if (n && k->rot.generation)
		announce_gen(s, &ms, k->rot.generation, about, n);
	srv_debug("keys: %zu new or moved nodes' keys sent to their peers", n);
	k->nannounce = 0;
	free(about);
	members_free(&ms);
}

static struct srv_conn *session_of(struct srv *s, const char *name)
{
	struct srv_conn *c = srv_conn_find(s, name);

	return c && in_session(c) ? c : NULL;
}

/* ---- the state machine ------------------------------------------------- */

static int start(struct srv *s, bool now, const char *reason)
{
	struct srv_keys *k = &s->keys;
	const uint64_t g = (k->current > k->rot.generation ? k->current : k->rot.generation) + 1;
	char key[DSM_STORE_KEY_MAX + 1], *text = NULL;
	struct dsm_store_op op;
	unsigned int sent;
	int err;

	if (g > UINT32_MAX)
		return -EOVERFLOW;
	err = srv_master_new(s, g, &text);
	if (err) {
		srv_err("keys: no master secret for generation %llu: %s", (unsigned long long)g,
			strerror(-err));
		return err;
	}
	srv_master_key(g, key);
	op = (struct dsm_store_op){ DSM_STORE_PUT, key, DSM_STORE_ABSENT, text, strlen(text) };
	rot_free(&k->rot);
	k->rot = (struct srv_rotation){ .generation = g, .prev = k->current,
		.phase = SRV_ROT_INSTALL, .started_ms = srv_wall_ms(),
		.grace_ms = now ? k->grace_now_ms : k->grace_ms };
	k->rot.phase_ms = k->rot.started_ms;
	snprintf(k->rot.reason, sizeof(k->rot.reason), "%s", reason);
	if (k->queued) {
		k->queued = k->queued_now = false; /* this one is it */
		k->queued_reason[0] = '\0';
	}
	err = commit(s, &op, 1);
	free(text);
	if (err)
		return err;
	sent = keys_broadcast(s, g, DSM_KEYS_INSTALL);
	srv_info("keys: rotation to generation %llu started (%s): INSTALL sent to %u nodes",
		 (unsigned long long)g, reason, sent);
	k->kick = true;
	return 0;
}

static void alarm_overdue(struct srv *s, const struct member *m, int64_t now)
{
	struct srv_keys *k = &s->keys;
	json_object *o = json_object_new_object();
	const unsigned int wp = wire_phase(k->rot.phase);

	srv_warn("keys: node %s has not acknowledged %s of generation %llu for %lld s: it holds "
		 "the rotation back (bring it back or node-remove it)", m->name, ack_names[wp - 1],
		 (unsigned long long)k->rot.generation, (long long)(now - k->rot.phase_ms) / 1000);
	if (o) {
		json_object_object_add(o, "node", json_object_new_string(m->name));
		json_object_object_add(o, "node_id", json_object_new_int64(m->id));
		json_object_object_add(o, "verdict", json_object_new_string("alarm"));
		json_object_object_add(o, "subject", json_object_new_string("dsm-server"));
		json_object_object_add(o, "target", json_object_new_string(m->name));
		json_object_object_add(o, "class", json_object_new_string("keys"));
		json_object_object_add(o, "perm", json_object_new_string(ack_names[wp - 1]));
		json_object_object_add(o, "reason", json_object_new_string("KEYS_ACK overdue"));
		json_object_object_add(o, "generation", json_object_new_uint64(k->rot.generation));
		json_object_object_add(o, "pending_ms", json_object_new_int64(now - k->rot.phase_ms));
	}
	if (srv_alarms_raise(s, o))
		srv_err("keys: the alarm for node %s could not be written", m->name);
}

/* Members overdue in this phase: reported once each. */
static void overdue(struct srv *s, const struct members *ms, const struct srv_idset *acked,
		    int64_t now)
{
	struct srv_keys *k = &s->keys;
	bool changed = false;

	if (now - k->rot.phase_ms < (int64_t)k->ack_ms)
		return;
	for (size_t i = 0; i < ms->n; i++) {
		const struct member *m = &ms->m[i];

		if (idset_has(acked, m->id) || idset_has(&k->rot.alarmed, m->id))
			continue;
		if (k->rot.phase == SRV_ROT_DROP && !session_of(s, m->name))
			continue; /* the drop waits for nobody out of session */
		if (idset_add(&k->rot.alarmed, m->id))
			continue;
		alarm_overdue(s, m, now);
		changed = true;
	}
	if (changed)
		commit(s, NULL, 0);
}

static void enter(struct srv *s, enum srv_rot_phase p, int64_t now)
{
	struct srv_keys *k = &s->keys;

	k->rot.phase = p;
	k->rot.phase_ms = now;
	idset_free(&k->rot.alarmed);
}

/* Every member acked (for the drop: every member in session). */
static bool all_acked(struct srv *s, const struct members *ms, const struct srv_idset *acked,
		      bool drop)
{
	for (size_t i = 0; i < ms->n; i++)
		if (!idset_has(acked, ms->m[i].id) && (!drop || session_of(s, ms->m[i].name)))
			return false;
	return true;
}

static void finish(struct srv *s)
{
	struct srv_keys *k = &s->keys;
	char key[DSM_STORE_KEY_MAX + 1];
	struct dsm_store_op op;
	const uint64_t g = k->rot.generation, prev = k->rot.prev;
	struct srv_rotation keep = k->rot;
	struct dsm_store_revs revs;
	bool have_prev;

	srv_master_key(prev, key);
	have_prev = prev && !dsm_store_get(s->store, key, NULL, NULL, &revs);
	op = (struct dsm_store_op){ DSM_STORE_DELETE, key, have_prev ? revs.mod_rev : 0, NULL, 0 };
	k->rot = (struct srv_rotation){ 0 };
	if (commit(s, &op, have_prev ? 1 : 0)) {
		rot_free(&keep);
		return;
	}
	rot_free(&keep);
	srv_info("keys: rotation to generation %llu done%s", (unsigned long long)g,
		 have_prev ? "; the older master secret is deleted" : "");
}

/* The next look without a kick: at the end of the grace or of the ack
 * time if that comes before LOOK_MS. */
static void look_again(struct srv *s, int64_t now)
{
	struct srv_keys *k = &s->keys;
	int64_t wait = LOOK_MS, due = 0;

	if (k->rot.phase == SRV_ROT_GRACE)
		due = k->rot.phase_ms + (int64_t)k->rot.grace_ms;
	else if (k->rot.generation)
		due = k->rot.phase_ms + (int64_t)k->ack_ms;
	if (due && due - now < wait)
		wait = due > now ? due - now : 0;
	k->next_look_ms = srv_now_ms() + (uint64_t)wait;
}

/* One step, as far as the state allows. */
static void step(struct srv *s)
{
	struct srv_keys *k = &s->keys;
	struct members ms;
	const int64_t now = srv_wall_ms();

	if (members_get(s, &ms))
		return;
	if (!k->rot.generation) {
		if (k->queued)
			start(s, k->queued_now, k->queued_reason[0] ? k->queued_reason : "queued");
		else if (!k->current && ms.n)
			start(s, false, "the first generation");
		else if (k->current && k->interval_ms &&
			 now - k->current_ms >= (int64_t)k->interval_ms)
			start(s, false, "periodic");
		members_free(&ms);
		look_again(s, now);
		return;
	}
	for (int guard = 0; guard < 5 && k->rot.generation; guard++) {
		const enum srv_rot_phase was = k->rot.phase;
		const uint64_t g = k->rot.generation;

		switch (k->rot.phase) {
		case SRV_ROT_INSTALL:
			if (!all_acked(s, &ms, &k->rot.acked[0], false))
				break;
			enter(s, SRV_ROT_SWITCH, now);
			if (!commit(s, NULL, 0))
				srv_info("keys: generation %llu installed on every node: SWITCH sent "
					 "to %u", (unsigned long long)g,
					 keys_broadcast(s, g, DSM_KEYS_SWITCH));
			break;
		case SRV_ROT_SWITCH:
			if (!all_acked(s, &ms, &k->rot.acked[1], false))
				break;
			k->current = g;
			k->current_ms = now;
			enter(s, k->rot.prev && k->rot.grace_ms ? SRV_ROT_GRACE : SRV_ROT_DROP, now);
			if (commit(s, NULL, 0))
				break;
			srv_info("keys: every node sends with generation %llu", (unsigned long long)g);
			if (k->rot.phase == SRV_ROT_DROP)
				keys_broadcast(s, g, DSM_KEYS_DROP_OLD);
			break;
		case SRV_ROT_GRACE:
			if (now - k->rot.phase_ms < (int64_t)k->rot.grace_ms)
				break;
			enter(s, SRV_ROT_DROP, now);
			if (!commit(s, NULL, 0))
				srv_info("keys: grace over: DROP_OLD %llu sent to %u nodes",
					 (unsigned long long)g, keys_broadcast(s, g, DSM_KEYS_DROP_OLD));
			break;
		case SRV_ROT_DROP:
			if (all_acked(s, &ms, &k->rot.acked[2], true))
				finish(s);
			break;
		default:
			break;
		}
		if (k->rot.generation && k->rot.phase == was)
			break;
	}
	if (k->rot.generation && wire_phase(k->rot.phase))
		overdue(s, &ms, acks_of(&k->rot, wire_phase(k->rot.phase)), now);
	members_free(&ms);
	look_again(s, now);
}

void srv_rotation_tick(struct srv *s)
{
	struct srv_keys *k = &s->keys;
	const uint64_t mono = srv_now_ms();

	announce_flush(s);
	if (!k->kick && mono < k->next_look_ms)
		return;
	k->kick = false;
	step(s);
	if (!k->rot.generation && k->queued)
		step(s); /* the queued one starts right after the end of the last */
}

/* ---- the session's side -------------------------------------------------- */

/* The IPv4 address of c's peer as text ("0.0.0.0": not IPv4). */
static void session_ipv4(const struct srv_conn *c, char out[16])
{
	struct in_addr a;
	const char *p = c->addr;

	if (!strncmp(p, "::ffff:", 7))
		p += 7;
	if (inet_pton(AF_INET, p, &a) != 1)
		a.s_addr = 0;
	inet_ntop(AF_INET, &a, out, 16);
}

int srv_rotation_hello(struct srv *s, struct srv_conn *c, uint64_t key_generation)
{
	struct srv_keys *k = &s->keys;
	const struct srv_rotation *r = &k->rot;
	char addr[16];
	uint8_t m[SRV_MASTER_LEN];
	struct members ms;
	struct srv_node n;
	bool moved = false;
	int err = srv_node_get(s, c->id.name, &n);

	if (err)
		return err;
	session_ipv4(c, addr);
	if (key_generation > k->current && key_generation > r->generation)
		srv_warn("keys: node %s holds generation %llu, newer than any here (%llu): the "
			 "store is older than the node", n.name, (unsigned long long)key_generation,
			 (unsigned long long)(r->generation > k->current ? r->generation : k->current));
	if (strcmp(n.key_addr, addr) || n.key_generation != key_generation) {
		moved = strcmp(n.key_addr, addr) != 0;
		if (moved && n.key_addr[0])
			srv_info("keys: node %s is at %s now (was %s): its peers get its address",
				 n.name, addr, n.key_addr);
		snprintf(n.key_addr, sizeof(n.key_addr), "%s", addr);
		n.key_generation = key_generation;
		err = srv_node_put(s, &n);
		if (err)
			return err;
	}
	err = members_get(s, &ms);
	if (err)
		return err;
	/* the generation in force (unless it is the rotating one) */
	if (k->current && k->current != r->generation) {
		err = srv_master_get(s, k->current, m);
		if (!err)
			err = send_keys(s, c, &ms, m, k->current, DSM_KEYS_INSTALL, NULL, 0);
		if (!err)
			err = send_keys(s, c, &ms, NULL, k->current, DSM_KEYS_SWITCH, NULL, 0);
		if (!err)
			err = send_keys(s, c, &ms, NULL, k->current, DSM_KEYS_DROP_OLD, NULL, 0);
	}
	/* the rotating one, as far as it got */
	if (!err && r->generation) {
		err = srv_master_get(s, r->generation, m);
		if (!err)
			err = send_keys(s, c, &ms, m, r->generation, DSM_KEYS_INSTALL, NULL, 0);
		if (!err && r->phase >= SRV_ROT_SWITCH)
			err = send_keys(s, c, &ms, NULL, r->generation, DSM_KEYS_SWITCH, NULL, 0);
		if (!err && r->phase >= SRV_ROT_DROP)
			err = send_keys(s, c, &ms, NULL, r->generation, DSM_KEYS_DROP_OLD, NULL, 0);
	}
	OPENSSL_cleanse(m, sizeof(m));
	members_free(&ms);
	if (err) {
		srv_err("keys: node %s: KEYS not sent: %s", c->id.name, strerror(-err));
		return err;
	}
	/* its peers learn its key (a new node) or its new address */
	if (moved && announce_add(k, n.id))
		srv_err("keys: node %s: its new address not announced: %s", n.name,
			strerror(ENOMEM));
	k->kick = true;
	return 0;
}

int srv_rotation_ack(struct srv *s, struct srv_conn *c, const struct dsm_msg_keys_ack *a)
{
	struct srv_keys *k = &s->keys;
	struct srv_idset *set;
	struct srv_node n;
	int err;

	if (a->phase < DSM_KEYS_INSTALL || a->phase > DSM_KEYS_DROP_OLD ||
	    !was_sent(c, a->generation, a->phase))
		return -EPROTO;
	srv_debug("keys: node %s acknowledged %s of generation %llu", c->id.name,
		  ack_names[a->phase - 1], (unsigned long long)a->generation);
	err = srv_node_get(s, c->id.name, &n);
	if (err)
		return err;
	if (a->phase == DSM_KEYS_INSTALL && a->generation > n.key_generation) {
		n.key_generation = a->generation;
		err = srv_node_put(s, &n);
		if (err)
			return err;
	}
	if (a->generation != k->rot.generation)
		return 0; /* a repeat for the generation in force */
	set = acks_of(&k->rot, a->phase);
	if (idset_has(set, n.id))
		return 0;
	err = idset_add(set, n.id);
	if (!err)
		err = commit(s, NULL, 0);
	k->kick = true;
	return err;
}

int srv_rotation_request(struct srv *s, bool now, const char *reason, uint64_t *generation,
			 bool *queued)
{
	struct srv_keys *k = &s->keys;
	int err = 0;

	*queued = false;
	if (!k->rot.generation) {
		err = start(s, now, reason);
		*generation = k->rot.generation;
		return err;
	}
	/* one runs: one more after it; now applies to both */
	if (now && k->rot.phase < SRV_ROT_DROP && k->rot.grace_ms > k->grace_now_ms)
		k->rot.grace_ms = k->grace_now_ms;
	k->queued = true;
	k->queued_now = k->queued_now || now;
	snprintf(k->queued_reason, sizeof(k->queued_reason), "%s", reason);
	err = commit(s, NULL, 0);
	*generation = k->rot.generation;
	*queued = true;
	k->kick = true;
	if (!err)
		srv_info("keys: rotation queued (%s) behind generation %llu", reason,
			 (unsigned long long)k->rot.generation);
	return err;
}

int srv_rotation_reload(struct srv *s)
{
	const int err = load(s);

	if (err)
		srv_err("keys: the key state in the store does not read back: %s", strerror(-err));
	s->keys.kick = true;
	return err;
}

int srv_rotation_node_removed(struct srv *s, const char *name)
{
	char reason[DSM_PKI_NAME_MAX + 16];
	uint64_t g;
	bool queued;

	if (!s->keys.current && !s->keys.rot.generation)
		return 0; /* no key was ever handed out */
	snprintf(reason, sizeof(reason), "node %s removed", name);
	return srv_rotation_request(s, false, reason, &g, &queued);
}

/* ---- status ------------------------------------------------------------- */

struct status_ctx {
	struct srv *s;
	json_object *arr;
};

static int status_node(const struct srv_node *n, void *ctx)
{
	struct status_ctx *st = ctx;
	const struct srv_rotation *r = &st->s->keys.rot;
	json_object *o, *acked;
	const unsigned int wp = wire_phase(r->phase);

	if (!n->enrolled)
		return 0;
	o = json_object_new_object();
	acked = json_object_new_array();
	if (!o || !acked) {
		json_object_put(o);
		json_object_put(acked);
		return -ENOMEM;
	}
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "id", json_object_new_int64(n->id));
	json_object_object_add(o, "address", json_object_new_string(n->key_addr));
	json_object_object_add(o, "key_generation", json_object_new_uint64(n->key_generation));
	json_object_object_add(o, "connected", json_object_new_boolean(session_of(st->s, n->name) != NULL));
	for (int i = 0; i < 3; i++)
		if (r->generation && idset_has(&r->acked[i], n->id))
			json_object_array_add(acked, json_object_new_string(ack_names[i]));
	json_object_object_add(o, "acked", acked);
	json_object_object_add(o, "pending", json_object_new_boolean(
		r->generation && wp && !idset_has(&r->acked[wp - 1], n->id)));
	json_object_object_add(o, "overdue", json_object_new_boolean(
		r->generation && idset_has(&r->alarmed, n->id)));
	json_object_array_add(st->arr, o);
	return 0;
}

json_object *srv_rotation_status(struct srv *s)
{
	const struct srv_keys *k = &s->keys;
	const struct srv_rotation *r = &k->rot;
	json_object *o = json_object_new_object(), *rot = NULL;
	struct status_ctx st = { s, json_object_new_array() };

	if (!o || !st.arr || srv_node_each(s, status_node, &st)) {
		json_object_put(o);
		json_object_put(st.arr);
		return NULL;
	}
	json_object_object_add(o, "current", json_object_new_uint64(k->current));
	json_object_object_add(o, "current_since", json_object_new_int64(k->current_ms / 1000));
	if (r->generation) {
		rot = json_object_new_object();
		json_object_object_add(rot, "generation", json_object_new_uint64(r->generation));
		json_object_object_add(rot, "phase", json_object_new_string(phase_names[r->phase]));
		json_object_object_add(rot, "since", json_object_new_int64(r->phase_ms / 1000));
		json_object_object_add(rot, "started", json_object_new_int64(r->started_ms / 1000));
		json_object_object_add(rot, "grace_ms", json_object_new_uint64(r->grace_ms));
		json_object_object_add(rot, "reason", json_object_new_string(r->reason));
	}
	json_object_object_add(o, "rotation", rot);
	json_object_object_add(o, "queued", json_object_new_boolean(k->queued));
	json_object_object_add(o, "interval_s", json_object_new_uint64(k->interval_ms / 1000));
	json_object_object_add(o, "nodes", st.arr);
	return o;
}

/* ---- start and end -------------------------------------------------------- */

int srv_rotation_open(struct srv *s, const struct srv_config *cfg)
{
	struct srv_keys *k = &s->keys;
	uint8_t m[SRV_MASTER_LEN];
	int err;

	k->interval_ms = cfg->key_interval_ms;
	k->announce_ms = SRV_ANNOUNCE_MS;
	k->grace_ms = cfg->key_grace_ms ? cfg->key_grace_ms : SRV_KEY_GRACE_MS;
	k->grace_now_ms = cfg->key_grace_now_ms ? cfg->key_grace_now_ms : SRV_EPOCH_WINDOW_MS;
	k->ack_ms = cfg->key_ack_ms ? cfg->key_ack_ms : SRV_KEY_ACK_MS;
	err = load(s);
	if (err) {
		srv_err("keys: the key state in the store does not read: %s", strerror(-err));
		return err;
	}
	/* fail closed: a generation nodes need whose secret does not open */
	for (int i = 0; i < 2; i++) {
		const uint64_t g = i ? k->rot.generation : k->current;

		if (!g)
			continue;
		err = srv_master_get(s, g, m);
		OPENSSL_cleanse(m, sizeof(m));
		if (err) {
			srv_err("keys: the master secret of generation %llu %s", (unsigned long long)g,
				err == -EBADMSG ? "does not open with store.key (another key file?)" :
				"is missing from the store");
			return err;
		}
	}
	if (k->rot.generation && !k->current)
		srv_info("keys: no generation in force yet; the first, %llu, at %s",
			 (unsigned long long)k->rot.generation, phase_names[k->rot.phase]);
	else if (k->rot.generation)
		srv_info("keys: generation %llu in force; rotation to %llu at %s",
			 (unsigned long long)k->current, (unsigned long long)k->rot.generation,
			 phase_names[k->rot.phase]);
	else if (k->current)
		srv_info("keys: generation %llu in force", (unsigned long long)k->current);
	k->kick = true;
	return 0;
}

void srv_rotation_close(struct srv *s)
{
	rot_free(&s->keys.rot);
	free(s->keys.announce);
	s->keys.announce = NULL;
	s->keys.nannounce = s->keys.capannounce = 0;
}
