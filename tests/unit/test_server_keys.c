// SPDX-License-Identifier: GPL-2.0
/*
 * Pair keys and their rotation on dsm-server (docs/keys.md), with the real
 * server in process and fake nodes made of lib/tls and lib/chan_msg that
 * keep the keys KEYS gives them and acknowledge each phase (or not):
 *
 *  - K_g(A, B) against vectors computed with `openssl kdf` (below), and
 *    K(A, B) == K(B, A);
 *  - a rotation with three nodes: INSTALL to all, SWITCH only once all
 *    acked it, DROP_OLD only after the grace, the old master deleted;
 *  - the keys each node holds are pairwise equal and name only its pairs;
 *  - a node that does not ack holds the switch and is reported (status,
 *    an alarm record);
 *  - a node connecting late gets the INSTALL first, its peers its address;
 *  - a removed node starts a rotation that leaves it out, and does not
 *    hold it back;
 *  - a restart in the middle of a rotation goes on from the stored phase
 *    with the same secret;
 *  - the periodic timer starts a rotation by itself, and 0 turns it off;
 *  - the master secret is nowhere in the store's files in clear, and a
 *    sealed one does not open as another generation's.
 */
#define GOT_MAX 256
#include "server_fixture.h"

#define NODES_MAX 4
#define PEERS_MAX 8

/* ---- fake nodes ---------------------------------------------------------- */

struct held {
	uint64_t g;
	uint32_t n;
	struct dsm_msg_pair_key k[PEERS_MAX];
	bool switched, dropped;
};

struct fnode {
	char name[16];
	uint32_t id;
	struct node_cred cred;
	struct client c;
	bool connected, ack;  /* ack: answer every KEYS */
	size_t seen;          /* messages of c looked at */
	struct held gen[4];
	unsigned int installs, switches, drops; /* KEYS received */
	uint32_t last_install_keys; /* how many keys the last INSTALL carried */
	uint8_t first_keys_phase; /* the phase of the first KEYS of this session */
};

static struct held *held_of(struct fnode *n, uint64_t g, bool make)
{
	for (int i = 0; i < 4; i++)
		if (n->gen[i].g == g)
			return &n->gen[i];
	if (!make)
		return NULL;
	for (int i = 0; i < 4; i++)
		if (!n->gen[i].g) {
			n->gen[i].g = g;
			return &n->gen[i];
		}
	fail_msg("%s holds too many generations", n->name);
	return NULL;
}

/* INSTALL adds or replaces the entries of its peers, as a node does. */
static void take_install(struct fnode *n, const struct dsm_msg_keys *k)
{
	struct held *h = held_of(n, k->generation, true);

	for (uint32_t i = 0; i < k->keys.count; i++) {
		const struct dsm_msg_pair_key *p = &k->keys.key[i];
		uint32_t j = 0;

		assert_int_not_equal(p->peer, n->id); /* never a pair it is not in */
		while (j < h->n && h->k[j].peer != p->peer)
			j++;
		assert_true(j < PEERS_MAX);
		h->k[j] = *p;
		if (j == h->n)
			h->n++;
	}
}

static void ack(struct fnode *n, uint64_t g, uint8_t phase)
{
	struct dsm_msg m = { .type = DSM_MSG_KEYS_ACK, .keys_ack = { g, phase } };

	client_send(&n->c, &m);
}

/* Look at what n got since the last look: keep keys, ack if n->ack. */
static void fn_look(struct fnode *n)
{
	for (; n->seen < n->c.ngot; n->seen++) {
		const struct dsm_msg *m = &n->c.got[n->seen];
		struct held *h;

		if (m->type != DSM_MSG_KEYS)
			continue;
		if (!n->first_keys_phase)
			n->first_keys_phase = m->keys.phase;
		switch (m->keys.phase) {
		case DSM_KEYS_INSTALL:
			take_install(n, &m->keys);
			n->installs++;
			n->last_install_keys = m->keys.keys.count;
			break;
		case DSM_KEYS_SWITCH:
			h = held_of(n, m->keys.generation, false);
			assert_non_null(h); /* SWITCH never before INSTALL */
			h->switched = true;
			n->switches++;
			break;
		case DSM_KEYS_DROP_OLD:
			for (int i = 0; i < 4; i++)
				if (n->gen[i].g && n->gen[i].g < m->keys.generation)
					n->gen[i] = (struct held){ 0 };
			h = held_of(n, m->keys.generation, false);
			assert_non_null(h);
			h->dropped = true;
			n->drops++;
			break;
		default:
			fail_msg("phase %u", m->keys.phase);
		}
		if (n->ack)
			ack(n, m->keys.generation, m->keys.phase);
	}
}

/* Pump the server and every connected node for ms. */
static void pump(struct fx *f, struct fnode *ns, int count, int ms)
{
	const uint64_t end = srv_now_ms() + (uint64_t)ms;

	do {
		for (int i = 0; i < count; i++)
			if (ns[i].connected) {
				client_step(&ns[i].c);
				fn_look(&ns[i]);
			}
		fx_pump(f, 2);
	} while (srv_now_ms() < end);
}

static void fn_enrol(struct fx *f, struct fnode *n, const char *name)
{
	struct srv_node rec;

	snprintf(n->name, sizeof(n->name), "%s", name);
	enrolled_node(f, name, &n->cred);
	assert_int_equal(srv_node_get(&f->s, name, &rec), 0);
	n->id = rec.id;
	n->ack = true;
}

static void fn_connect(struct fx *f, struct fnode *n, uint64_t key_generation)
{
	struct dsm_msg hello = { .type = DSM_MSG_HELLO, .hello = { .version_min = 1,
		.version_max = 1, .key_generation = key_generation, .software = "test" } };

	client_open(f, &n->c, &n->cred, false);
	client_send(&n->c, &hello);
	assert_non_null(client_wait(f, &n->c, DSM_MSG_HELLO_OK));
	n->seen = 0;
	n->first_keys_phase = 0;
	n->connected = true;
}

static void fn_disconnect(struct fnode *n)
{
	if (n->connected)
		client_close(&n->c);
	n->connected = false;
}

static void fn_free(struct fnode *ns, int count)
{
	for (int i = 0; i < count; i++) {
		fn_disconnect(&ns[i]);
		cred_free(&ns[i].cred);
	}
}

/* The whole cluster's keys of generation g agree: K(A, B) at A is K(A, B)
 * at B, every node holds a key for every other one, and nothing else. */
static void pairwise_equal(struct fnode *ns, int count, uint64_t g)
{
	for (int a = 0; a < count; a++) {
		const struct held *ha = held_of(&ns[a], g, false);

		assert_non_null(ha);
		assert_int_equal(ha->n, count - 1);
		for (uint32_t i = 0; i < ha->n; i++) {
			const struct dsm_msg_pair_key *ab = &ha->k[i];
			const struct held *hb = NULL;
			bool found = false;

			for (int b = 0; b < count; b++)
				if (ns[b].id == ab->peer)
					hb = held_of(&ns[b], g, false);
			assert_non_null(hb);
			for (uint32_t j = 0; j < hb->n; j++)
				if (hb->k[j].peer == ns[a].id) {
					assert_memory_equal(hb->k[j].key, ab->key, DSM_MSG_SIPKEY_LEN);
					found = true;
				}
			assert_true(found);
		}
	}
}

static json_object *keys_status(struct fx *f)
{
	json_object *o = fx_ctl(f, "keys-status\n", -1);

	assert_null(jget_str(o, "error"));
	return o;
}

static json_object *st_node(json_object *st, const char *name)
{
	json_object *arr;

	assert_true(json_object_object_get_ex(st, "nodes", &arr));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *n = json_object_array_get_idx(arr, i);

		if (!strcmp(jget_str(n, "name"), name))
			return n;
	}
	return NULL;
}

/* The rotation's phase ("none" when none runs) and the current generation. */
static const char *rot_phase(struct fx *f, int64_t *current)
{
	static char phase[16];
	json_object *o = keys_status(f), *r;

	*current = jget_int(o, "current");
	snprintf(phase, sizeof(phase), "none");
	if (json_object_object_get_ex(o, "rotation", &r) && r)
		snprintf(phase, sizeof(phase), "%s", jget_str(r, "phase"));
	json_object_put(o);
	return phase;
}

/* Pump until no rotation runs and current is g (or fail). */
static void settle(struct fx *f, struct fnode *ns, int count, int64_t g)
{
	int64_t cur = 0;

	for (int i = 0; i < 200; i++) {
		pump(f, ns, count, 20);
		if (!strcmp(rot_phase(f, &cur), "none") && cur == g)
			return;
	}
	fail_msg("no settled generation %lld (current %lld, phase %s)", (long long)g,
		 (long long)cur, rot_phase(f, &cur));
}

/* Pump until the rotation is at phase (or fail after 5 s). */
static void wait_phase(struct fx *f, struct fnode *ns, int count, const char *phase)
{
	int64_t cur;

	for (int i = 0; i < 250; i++) {
		pump(f, ns, count, 20);
		if (!strcmp(rot_phase(f, &cur), phase)) {
			pump(f, ns, count, 50); /* what the step sent arrives */
			return;
		}
	}
	fail_msg("the rotation is not at %s but at %s", phase, rot_phase(f, &cur));
}

/* Pump until every named node has acked what the phase waits for (the
 * status says not pending), or fail after 5 s. */
static void wait_acked(struct fx *f, struct fnode *ns, int count, const char *const *names)
{
	for (int i = 0; i < 250; i++) {
		json_object *o;
		bool all = true;

		pump(f, ns, count, 20);
		o = keys_status(f);
		for (const char *const *n = names; *n; n++) {
			json_object *e = st_node(o, *n);

			all = all && e && !json_object_get_boolean(json_object_object_get(e, "pending"));
		}
		json_object_put(o);
		if (all)
			return;
	}
	fail_msg("%s and the others named have not acked", names[0]);
}

/* Pump until every node holds generation g (or fail after 5 s). */
static void wait_held(struct fx *f, struct fnode *ns, int count, uint64_t g)
{
	for (int i = 0; i < 250; i++) {
		bool all = true;

		pump(f, ns, count, 20);
		for (int j = 0; j < count; j++)
			all = all && (!ns[j].connected || held_of(&ns[j], g, false));
		if (all)
			return;
	}
	fail_msg("generation %llu did not reach every node", (unsigned long long)g);
}

static int keys_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	signal(SIGPIPE, SIG_IGN);
	fx_make_state(f);
	f->cfg.key_grace_ms = 600;
	f->cfg.key_grace_now_ms = 100;
	f->cfg.key_ack_ms = 60000; /* a test that wants it shorter sets s.keys.ack_ms */
	assert_int_equal(fx_start(f), 0);
	*state = f;
	return 0;
}

static void restart(struct fx *f)
{
	srv_close(&f->s);
	f->open = false;
	assert_int_equal(fx_start(f), 0);
}

/* ---- derivation ---------------------------------------------------------- */

/*
 * The vectors, computed with OpenSSL's command line, independently of the
 * code under test:
 *
 *   openssl kdf -keylen 16 -kdfopt digest:SHA256 \
 *     -kdfopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
 *     -kdfopt salt:"dsm pair key v1" -kdfopt hexinfo:7431000000010000000200000001 HKDF
 *   61:D9:E8:63:1C:B2:98:91:A2:4E:5F:14:D7:87:21:41
 *
 *   openssl kdf -keylen 16 -kdfopt digest:SHA256 -kdfopt hexkey:ff...ff (32 bytes) \
 *     -kdfopt salt:"dsm pair key v1" \
 *     -kdfopt hexinfo:70726f642d6575000000030000000700000102 HKDF
 *   63:64:02:78:12:72:A8:42:45:B4:30:6E:AF:6E:8F:F8
 *
 * info is the cluster's name, then u32be(min id), u32be(max id), u32be(g).
 */
static void test_pair_key_vectors(void **state)
{
	static const uint8_t want1[16] = { 0x61, 0xd9, 0xe8, 0x63, 0x1c, 0xb2, 0x98, 0x91,
					   0xa2, 0x4e, 0x5f, 0x14, 0xd7, 0x87, 0x21, 0x41 };
	static const uint8_t want2[16] = { 0x63, 0x64, 0x02, 0x78, 0x12, 0x72, 0xa8, 0x42,
					   0x45, 0xb4, 0x30, 0x6e, 0xaf, 0x6e, 0x8f, 0xf8 };
	struct fx *f = *state;
	uint8_t m[SRV_MASTER_LEN], k[16], k2[16];

	for (int i = 0; i < SRV_MASTER_LEN; i++)
		m[i] = (uint8_t)i;
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "t1", 1, 2, 1, k), 0);
	assert_memory_equal(k, want1, 16);
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "t1", 2, 1, 1, k2), 0);
	assert_memory_equal(k2, want1, 16); /* K(A, B) == K(B, A) */

	memset(m, 0xff, sizeof(m));
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "prod-eu", 7, 3, 258, k), 0);
	assert_memory_equal(k, want2, 16);
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "prod-eu", 3, 7, 258, k2), 0);
	assert_memory_equal(k2, want2, 16);
	/* anything else in the input changes the key */
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "prod-eu", 3, 7, 259, k2), 0);
	assert_memory_not_equal(k2, want2, 16);
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "prod-e", 3, 7, 258, k2), 0);
	assert_memory_not_equal(k2, want2, 16);

	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "t1", 5, 5, 1, k), -EINVAL);
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "t1", 1, 2, 0, k), -EINVAL);
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, "t1", 1, 2, 1ull << 32, k), -EINVAL);
}

/* ---- rotation ------------------------------------------------------------ */

static void three_nodes(struct fx *f, struct fnode *ns)
{
	fn_enrol(f, &ns[0], "node1");
	fn_enrol(f, &ns[1], "node2");
	fn_enrol(f, &ns[2], "node3");
	for (int i = 0; i < 3; i++)
		fn_connect(f, &ns[i], 0);
}

static void test_full_rotation(void **state)
{
	struct fx *f = *state;
	struct fnode ns[3] = { 0 };
	char key[DSM_STORE_KEY_MAX + 1];
	uint8_t old[16];
	int64_t cur;
	json_object *o;

	three_nodes(f, ns);
	settle(f, ns, 3, 1);
	pairwise_equal(ns, 3, 1);
	memcpy(old, held_of(&ns[0], 1, false)->k[0].key, 16);
	for (int i = 0; i < 3; i++) {
		struct held *h = held_of(&ns[i], 1, false);

		assert_true(h->switched && h->dropped);
		for (uint32_t j = 0; j < h->n; j++) /* every peer's address, from its session */
			assert_memory_equal(h->k[j].addr, ((uint8_t[4]){ 127, 0, 0, 1 }), 4);
	}

	/* rotation 2 by hand: nobody acks, so it waits at install */
	for (int i = 0; i < 3; i++)
		ns[i].ack = false;
	o = fx_ctl(f, "keys-rotate\n", -1);
	assert_null(jget_str(o, "error"));
	assert_int_equal(jget_int(o, "generation"), 2);
	json_object_put(o);
	wait_held(f, ns, 3, 2);
	for (int i = 0; i < 3; i++) {
		assert_non_null(held_of(&ns[i], 2, false));
		ack(&ns[i], 2, DSM_KEYS_INSTALL);
		if (i < 2) { /* two of three acked: no SWITCH yet */
			pump(f, ns, 3, 200);
			assert_false(held_of(&ns[0], 2, false)->switched);
			assert_string_equal(rot_phase(f, &cur), "install");
		}
	}
	wait_phase(f, ns, 3, "switch");
	assert_int_equal(cur, 1);
	for (int i = 0; i < 3; i++) {
		assert_true(held_of(&ns[i], 2, false)->switched);
		ack(&ns[i], 2, DSM_KEYS_SWITCH);
	}
	wait_phase(f, ns, 3, "grace");
	assert_string_equal(rot_phase(f, &cur), "grace");
	assert_int_equal(cur, 2);
	assert_int_equal(ns[0].drops, 1); /* generation 1's only: none within the grace */
	assert_non_null(held_of(&ns[0], 1, false));
	wait_phase(f, ns, 3, "drop");
	for (int i = 0; i < 3; i++) {
		assert_null(held_of(&ns[i], 1, false));
		ack(&ns[i], 2, DSM_KEYS_DROP_OLD);
	}
	wait_phase(f, ns, 3, "none");
	assert_string_equal(rot_phase(f, &cur), "none");
	assert_int_equal(cur, 2);
	pairwise_equal(ns, 3, 2);
	assert_memory_not_equal(held_of(&ns[0], 2, false)->k[0].key, old, 16); /* a new key */
	/* the old master secret is gone, the new one is there */
	srv_master_key(1, key);
	assert_int_equal(dsm_store_get(f->s.store, key, NULL, NULL, NULL), -ENOENT);
	srv_master_key(2, key);
	assert_int_equal(dsm_store_get(f->s.store, key, NULL, NULL, NULL), 0);

	/* an ack of something never sent ends the session */
	ack(&ns[0], 9, DSM_KEYS_SWITCH);
	assert_non_null(client_wait(f, &ns[0].c, DSM_MSG_ERROR));
	fn_free(ns, 3);
}

static void test_silent_node_holds_and_is_reported(void **state)
{
	struct fx *f = *state;
	struct fnode ns[3] = { 0 };
	json_object *o, *arr, *n;
	bool alarmed = false;
	int64_t cur;

	three_nodes(f, ns);
	ns[2].ack = false;
	wait_acked(f, ns, 3, (const char *const[]){ "node1", "node2", NULL });
	f->s.keys.ack_ms = 300; /* now that node1 and node2 have acked */
	pump(f, ns, 3, 1500); /* past it, and past a look at the phase */
	assert_string_equal(rot_phase(f, &cur), "install");
	assert_int_equal(cur, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ns[i].switches, 0);

	o = keys_status(f);
	n = st_node(o, "node3");
	assert_non_null(n);
	assert_true(json_object_get_boolean(json_object_object_get(n, "pending")));
	assert_true(json_object_get_boolean(json_object_object_get(n, "overdue")));
	n = st_node(o, "node1");
	assert_false(json_object_get_boolean(json_object_object_get(n, "pending")));
	json_object_put(o);

	o = fx_ctl(f, "alarms 0\n", -1);
	assert_true(json_object_object_get_ex(o, "alarms", &arr));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *a = json_object_array_get_idx(arr, i);

		assert_string_equal(jget_str(a, "node"), "node3"); /* only the silent one */
		assert_string_equal(jget_str(a, "class"), "keys");
		assert_string_equal(jget_str(a, "perm"), "install");
		assert_non_null(jget_str(a, "time"));
		alarmed = true;
	}
	assert_true(alarmed);
	json_object_put(o);

	/* once it acks, the rotation goes on */
	ns[2].ack = true;
	ack(&ns[2], 1, DSM_KEYS_INSTALL);
	settle(f, ns, 3, 1);
	pairwise_equal(ns, 3, 1);
	fn_free(ns, 3);
}

static void test_late_node_gets_install(void **state)
{
	struct fx *f = *state;
	struct fnode ns[3] = { 0 };
	int64_t cur;

	fn_enrol(f, &ns[0], "node1");
	fn_enrol(f, &ns[1], "node2");
	fn_enrol(f, &ns[2], "node3");
	fn_connect(f, &ns[0], 0);
	fn_connect(f, &ns[1], 0);
	wait_acked(f, ns, 3, (const char *const[]){ "node1", "node2", NULL });
	pump(f, ns, 3, 300);
	/* node3 is enrolled but away: it holds the switch */
	assert_string_equal(rot_phase(f, &cur), "install");
	assert_int_equal(ns[0].switches, 0);
	/* its key is there, its address not yet */
	assert_int_equal(held_of(&ns[0], 1, false)->n, 2);
	assert_memory_equal(held_of(&ns[0], 1, false)->k[1].addr, ((uint8_t[4]){ 0 }), 4);

	fn_connect(f, &ns[2], 0);
	settle(f, ns, 3, 1);
	assert_int_equal(ns[2].first_keys_phase, DSM_KEYS_INSTALL);
	pairwise_equal(ns, 3, 1);
	/* its peers got its address with a new INSTALL of the generation,
	 * carrying their key with it alone (their others stand) */
	for (int i = 0; i < 2; i++) {
		const struct held *h = held_of(&ns[i], 1, false);

		assert_int_equal(ns[i].last_install_keys, 1);
		assert_int_equal(h->n, 2);

		for (uint32_t j = 0; j < h->n; j++)
			if (h->k[j].peer == ns[2].id)
				assert_memory_equal(h->k[j].addr, ((uint8_t[4]){ 127, 0, 0, 1 }), 4);
	}

	/* a node that reconnects after a rotation catches up at once */
	fn_disconnect(&ns[1]);
	json_object_put(fx_ctl(f, "keys-rotate\n", -1));
	pump(f, ns, 3, 200);
	assert_string_equal(rot_phase(f, &cur), "install"); /* node2 away */
	memset(ns[1].gen, 0, sizeof(ns[1].gen));
	fn_connect(f, &ns[1], 1);
	settle(f, ns, 3, 2);
	assert_int_equal(ns[1].first_keys_phase, DSM_KEYS_INSTALL);
	pairwise_equal(ns, 3, 2);
	fn_free(ns, 3);
}

/* Nodes that come up within one announcement period reach their peers in
 * one INSTALL carrying all their keys, not one INSTALL each. */
static void test_new_nodes_announced_together(void **state)
{
	struct fx *f = *state;
	struct fnode ns[4] = { 0 };
	unsigned int before[2];

	fn_enrol(f, &ns[0], "node1");
	fn_enrol(f, &ns[1], "node2");
	fn_enrol(f, &ns[2], "node3");
	fn_enrol(f, &ns[3], "node4");
	fn_connect(f, &ns[0], 0);
	fn_connect(f, &ns[1], 0);
	wait_acked(f, ns, 4, (const char *const[]){ "node1", "node2", NULL });
	pump(f, ns, 4, 300);
	before[0] = ns[0].installs;
	before[1] = ns[1].installs;

	f->s.keys.announce_ms = 60000; /* hold the announcement */
	fn_connect(f, &ns[2], 0);
	fn_connect(f, &ns[3], 0);
	pump(f, ns, 4, 300);
	assert_int_equal(ns[0].installs, before[0]);
	assert_int_equal(ns[1].installs, before[1]);
	assert_int_equal(ns[2].last_install_keys, 3); /* its own: every other member */

	f->s.keys.announce_ms = 0;
	pump(f, ns, 4, 300);
	for (int i = 0; i < 2; i++) {
		const struct held *h = held_of(&ns[i], 1, false);

		assert_int_equal(ns[i].installs, before[i] + 1);
		assert_int_equal(ns[i].last_install_keys, 2);
		assert_int_equal(h->n, 3);
		for (uint32_t j = 0; j < h->n; j++)
			assert_memory_equal(h->k[j].addr, ((uint8_t[4]){ 127, 0, 0, 1 }), 4);
	}
	/* node3 was in session when node4 was announced: node4's key alone */
	assert_int_equal(ns[2].last_install_keys, 1);
	pump(f, ns, 4, 300);
	assert_int_equal(ns[0].installs, before[0] + 1); /* told once */
	fn_free(ns, 4);
}

static void test_removed_node_left_out(void **state)
{
	struct fx *f = *state;
	struct fnode ns[3] = { 0 };
	json_object *o;

	three_nodes(f, ns);
	settle(f, ns, 3, 1);
	/* node3 is compromised: it stops answering, then it is removed */
	ns[2].ack = false;
	o = fx_ctl(f, "node-remove node3\n", -1);
	assert_string_equal(jget_str(o, "removed"), "node3");
	json_object_put(o);
	settle(f, ns, 2, 2); /* node3 does not hold it back */
	pairwise_equal(ns, 2, 2);
	for (int i = 0; i < 2; i++) {
		const struct held *h = held_of(&ns[i], 2, false);

		assert_int_equal(h->n, 1);
		assert_int_not_equal(h->k[0].peer, ns[2].id);
		assert_null(held_of(&ns[i], 1, false)); /* dropped, node3's keys with it */
	}
	assert_null(held_of(&ns[2], 2, false));

	/* keys rotate --now: the short grace */
	o = fx_ctl(f, "keys-rotate now\n", -1);
	assert_int_equal(jget_int(o, "generation"), 3);
	assert_int_equal(jget_int(o, "grace_ms"), 100);
	json_object_put(o);
	settle(f, ns, 2, 3);
	fn_free(ns, 3);
}

static void test_restart_mid_rotation(void **state)
{
	struct fx *f = *state;
	struct fnode ns[3] = { 0 };
	uint8_t before[16];
	json_object *o, *n, *acked;
	int64_t cur;

	three_nodes(f, ns);
	settle(f, ns, 3, 1);
	ns[2].ack = false;
	json_object_put(fx_ctl(f, "keys-rotate\n", -1));
	wait_acked(f, ns, 3, (const char *const[]){ "node1", "node2", NULL });
	assert_string_equal(rot_phase(f, &cur), "install");
	memcpy(before, held_of(&ns[0], 2, false)->k[0].key, 16);

	for (int i = 0; i < 3; i++)
		fn_disconnect(&ns[i]);
	restart(f);
	assert_string_equal(rot_phase(f, &cur), "install");
	assert_int_equal(cur, 1);
	o = keys_status(f);
	n = st_node(o, "node1");
	acked = json_object_object_get(n, "acked");
	assert_int_equal(json_object_array_length(acked), 1); /* the ack outlived the restart */
	assert_false(json_object_get_boolean(json_object_object_get(st_node(o, "node2"),
								    "pending")));
	assert_true(json_object_get_boolean(json_object_object_get(st_node(o, "node3"),
								   "pending")));
	json_object_put(o);

	for (int i = 0; i < 3; i++) {
		memset(ns[i].gen, 0, sizeof(ns[i].gen));
		ns[i].ack = true;
		fn_connect(f, &ns[i], 2);
	}
	settle(f, ns, 3, 2);
	pairwise_equal(ns, 3, 2);
	/* the same master secret: the same pair keys as before the restart */
	assert_memory_equal(held_of(&ns[0], 2, false)->k[0].key, before, 16);
	fn_free(ns, 3);
}

static void test_periodic_rotation(void **state)
{
	struct fx *f = *state;
	struct fnode ns[2] = { 0 };

	fn_enrol(f, &ns[0], "node1");
	fn_enrol(f, &ns[1], "node2");
	fn_connect(f, &ns[0], 0);
	fn_connect(f, &ns[1], 0);
	settle(f, ns, 2, 1);
	f->s.keys.interval_ms = 500; /* --key-rotation-interval */
	settle(f, ns, 2, 2);         /* started by the timer alone */
	pairwise_equal(ns, 2, 2);
	f->s.keys.interval_ms = 0;   /* off: nothing more */
	pump(f, ns, 2, 1200);
	{
		int64_t cur;

		assert_string_equal(rot_phase(f, &cur), "none");
		assert_int_equal(cur, 2);
	}
	fn_free(ns, 2);
}

/* ---- the secret at rest --------------------------------------------------- */

static bool file_has(const char *path, const uint8_t *needle, size_t n)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	size_t len;
	bool found;

	if (!fp)
		return false;
	buf = malloc(64u << 20);
	assert_non_null(buf);
	len = fread(buf, 1, 64u << 20, fp);
	fclose(fp);
	found = memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

static void test_master_not_in_clear(void **state)
{
	struct fx *f = *state;
	struct fnode ns[2] = { 0 };
	uint8_t m[SRV_MASTER_LEN], k[16], bad[SRV_MASTER_LEN];
	char hex[2 * SRV_MASTER_LEN + 1], key1[DSM_STORE_KEY_MAX + 1], key2[DSM_STORE_KEY_MAX + 1];
	static const char *const files[] = { "store.db", "store.db-wal", "store.db-journal" };
	void *value = NULL;
	size_t len = 0;
	struct stat st;

	fn_enrol(f, &ns[0], "node1");
	fn_enrol(f, &ns[1], "node2");
	fn_connect(f, &ns[0], 0);
	fn_connect(f, &ns[1], 0);
	settle(f, ns, 2, 1);

	assert_int_equal(srv_master_get(&f->s, 1, m), 0);
	/* it is the secret the nodes' keys come from */
	assert_int_equal(srv_pair_key(f->s.keys.kdf, m, CLUSTER, ns[0].id, ns[1].id, 1, k), 0);
	assert_memory_equal(held_of(&ns[0], 1, false)->k[0].key, k, 16);
	/* and it is in no file of the store, raw or as hex */
	srv_hex(m, sizeof(m), hex);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_false(file_has(fx_path(f, files[i]), m, sizeof(m)));
		assert_false(file_has(fx_path(f, files[i]), (const uint8_t *)hex, strlen(hex)));
	}
	assert_int_equal(stat(fx_path(f, "store.key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a sealed secret copied to another generation does not open there */
	srv_master_key(1, key1);
	srv_master_key(7, key2);
	assert_int_equal(dsm_store_get(f->s.store, key1, &value, &len, NULL), 0);
	assert_int_equal(dsm_store_put(f->s.store, key2, value, len, NULL), 0);
	free(value);
	assert_int_equal(srv_master_get(&f->s, 7, bad), -EBADMSG);

	/* another store.key: the server refuses to start */
	fn_free(ns, 2);
	srv_close(&f->s);
	f->open = false;
	{
		const int fd = open(fx_path(f, "store.key"), O_WRONLY | O_TRUNC);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
		close(fd);
	}
	assert_int_equal(fx_start(f), -EBADMSG);
	/* a key file open to others: refused */
	chmod(fx_path(f, "store.key"), 0644);
	assert_int_equal(fx_start(f), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pair_key_vectors, keys_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_full_rotation, keys_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_silent_node_holds_and_is_reported, keys_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_late_node_gets_install, keys_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_new_nodes_announced_together, keys_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_removed_node_left_out, keys_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_mid_rotation, keys_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_periodic_rotation, keys_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_master_not_in_clear, keys_setup, fx_teardown),
	};

	(void)fx_session; /* fixture parts these tests do without */
	(void)fx_push;
	(void)signed_policy;
	(void)fx_setup;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
