// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server's group commit of acks (docs/server.md, "What is durable
 * when"): the POLICY_ACKs of one loop round go to the store in one commit,
 * nothing of an open batch is on disk (a second handle on store.db sees
 * what a crash would leave), and what acts on the acks commits them first.
 */
#define GOT_MAX 64 /* KEYS of the first generation come too */
#include "server_fixture.h"

#define NODES 4

/* Run the loop until no batch is open. */
static void settle(struct fx *f)
{
	for (int i = 0; i < 100 && f->s.batch.open; i++)
		fx_pump(f, 0);
	assert_false(f->s.batch.open);
}

struct commits {
	int calls;
};

static void count_commit(void *ctx, int64_t rev)
{
	(void)rev;
	((struct commits *)ctx)->calls++;
}

/* node NAME's policy version as the handle st has it on disk or in its batch */
static uint64_t version_in(struct dsm_store *st, const char *name)
{
	char key[64];
	void *v = NULL;
	size_t len = 0;
	json_object *o, *pv;
	uint64_t version;

	snprintf(key, sizeof(key), "node/%s", name);
	assert_int_equal(dsm_store_get(st, key, &v, &len, NULL), 0);
	o = srv_json_parse(v, len);
	free(v);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "policy_version", &pv));
	version = json_object_get_uint64(pv);
	json_object_put(o);
	return version;
}

struct nodes {
	struct node_cred cred[NODES];
	struct client c[NODES];
	char name[NODES][16];
};

/* NODES enrolled nodes in session, each with version 1 pushed to it. */
static void nodes_with_policy(struct fx *f, struct nodes *ns)
{
	size_t len = 0;
	uint8_t *v1 = signed_policy(f->operator_key, 1, &len);
	json_object *o;

	for (int i = 0; i < NODES; i++) {
		snprintf(ns->name[i], sizeof(ns->name[i]), "b%d", i + 1);
		enrolled_node(f, ns->name[i], &ns->cred[i]);
		fx_session(f, &ns->c[i], &ns->cred[i], 0);
	}
	o = fx_push(f, v1, len);
	assert_int_equal(jget_int(o, "sent_to"), NODES);
	json_object_put(o);
	for (int i = 0; i < NODES; i++)
		assert_non_null(client_wait(f, &ns->c[i], DSM_MSG_POLICY));
	free(v1);
}

static void nodes_free(struct nodes *ns)
{
	for (int i = 0; i < NODES; i++) {
		client_close(&ns->c[i]);
		cred_free(&ns->cred[i]);
	}
}

/* Acks that arrive together: one commit (two if the tick falls between
 * them), where each was a commit of its own; then on disk. */
static void test_acks_one_commit(void **state)
{
	struct fx *f = *state;
	struct nodes ns;
	struct commits c = { 0 };
	struct dsm_store *other = NULL;
	uint64_t batches;
	bool all = false;

	nodes_with_policy(f, &ns);
	assert_int_equal(dsm_store_open_sqlite(fx_path(f, "store.db"), &other), 0);
	dsm_store_set_notify(f->s.store, count_commit, &c);
	batches = f->s.batch.commits;
	for (int i = 0; i < NODES; i++) {
		struct dsm_msg ack = { .type = DSM_MSG_POLICY_ACK,
			.policy_ack = { .version = 1, .result = DSM_POLICY_OK, .reason = "" } };

		client_send(&ns.c[i], &ack);
		client_step(&ns.c[i]); /* on the wire before the server reads any */
	}
	for (int tries = 0; tries < 400 && !all; tries++) {
		fx_pump(f, 5);
		all = true;
		for (int i = 0; i < NODES; i++)
			all = all && version_in(f->s.store, ns.name[i]) == 1;
	}
	assert_true(all);
	settle(f); /* the round is over: committed */
	assert_in_range(c.calls, 1, 2);
	assert_in_range(f->s.batch.commits - batches, 1, 2);
	for (int i = 0; i < NODES; i++)
		assert_int_equal(version_in(other, ns.name[i]), 1);
	dsm_store_set_notify(f->s.store, NULL, NULL);
	assert_int_equal(dsm_store_close(other), 0);
	nodes_free(&ns);
}

/* An open batch is not on disk; policy-status commits it before it
 * answers, and a new handle (a restarted server) has every ack. */
static void test_batch_committed_before_status(void **state)
{
	struct fx *f = *state;
	struct nodes ns;
	struct dsm_store *other = NULL;
	const struct dsm_msg_policy_ack ack = { .version = 1, .result = DSM_POLICY_OK, .reason = "" };
	json_object *o, *nodes;
	uint64_t batches;

	nodes_with_policy(f, &ns);
	settle(f);
	assert_int_equal(dsm_store_open_sqlite(fx_path(f, "store.db"), &other), 0);
	batches = f->s.batch.commits;
	for (int i = 0; i < NODES; i++) {
		struct srv_conn *sc = srv_conn_find(&f->s, ns.name[i]);

		assert_non_null(sc);
		srv_batch_join(&f->s, sc);
		assert_int_equal(srv_policy_ack(&f->s, sc, &ack), 0);
		assert_int_equal(sc->batch_seq, f->s.batch.seq);
	}
	assert_true(f->s.batch.open);
	assert_int_equal(f->s.batch.writers, NODES);
	for (int i = 0; i < NODES; i++) {
		assert_int_equal(version_in(f->s.store, ns.name[i]), 1); /* the server's view */
		assert_int_equal(version_in(other, ns.name[i]), 0);      /* what a crash leaves */
	}
	o = fx_ctl(f, "policy-status\n", -1);
	assert_false(f->s.batch.open);
	assert_int_equal(f->s.batch.commits, batches + 1);
	for (int i = 0; i < NODES; i++)
		assert_int_equal(version_in(other, ns.name[i]), 1);
	assert_true(json_object_object_get_ex(o, "nodes", &nodes));
	assert_int_equal(json_object_array_length(nodes), NODES);
	for (size_t i = 0; i < NODES; i++)
		assert_int_equal(jget_int(json_object_array_get_idx(nodes, i), "policy_version"), 1);
	json_object_put(o);
	assert_int_equal(dsm_store_close(other), 0);
	nodes_free(&ns);
}

/* A batch lost before its commit (the server killed): the node's next
 * HELLO, with the version it enforces, records it again. */
static void test_lost_ack_restored_by_hello(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c;

	enrolled_node(f, "lost1", &n);
	fx_session(f, &c, &n, 0);
	assert_int_equal(version_in(f->s.store, "lost1"), 0);
	client_close(&c);
	fx_session(f, &c, &n, 7); /* it enforces 7: an ack the store does not have */
	fx_pump(f, 0);
	assert_int_equal(version_in(f->s.store, "lost1"), 7);
	client_close(&c);
	cred_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_acks_one_commit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_committed_before_status, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lost_ack_restored_by_hello, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
