// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server's channel, end to end in one process: the real server (its
 * loop, TLS in enrolment mode, the store in a temporary state directory)
 * and node clients made of lib/tls and lib/chan_msg over loopback TCP.
 *
 *  - enrolment: a good token enrols and the certificate names the token's
 *    node; the same token again, and an expired one, get BAD_TOKEN;
 *  - handshakes: a certificate of another CA, and a removed node's, are
 *    refused; a removal closes the node's live session;
 *  - policy: a push reaches a connected session as POLICY, byte for byte,
 *    and a node that says HELLO with an older version gets it too; an
 *    equal version and a wrong signature are refused with a readable line;
 *  - alarms: a resent sequence is written once; the ack is the highest
 *    contiguous sequence; PING is answered with its nonce.
 */
#include <poll.h>
#include "server_fixture.h"

static void test_enrol_good_token_once(void **state)
{
	struct fx *f = *state;
	struct dsm_identity id;
	struct client c, again;
	char token[65];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	const struct dsm_msg *ok, *err;

	fx_node_add(f, "node1", token);
	assert_int_equal(dsm_pki_key_new(&key), 0);
	ok = fx_enrol(f, &c, token, key);
	assert_non_null(ok);
	assert_string_equal(ok->enrol_ok.name, "node1");
	assert_int_equal(ok->enrol_ok.node_id, 1);
	assert_memory_equal(ok->enrol_ok.policy_key, f->s.operator_raw, DSM_MSG_PUBKEY_LEN);
	assert_int_equal(dsm_pki_cert_from_der(ok->enrol_ok.cert.data, ok->enrol_ok.cert.len, &cert), 0);
	assert_int_equal(dsm_pki_identity(cert, CLUSTER, &id), 0);
	assert_int_equal(id.role, DSM_ROLE_NODE);
	assert_string_equal(id.name, "node1");
	X509_free(cert);
	client_close(&c);

	assert_null(fx_enrol(f, &again, token, key));
	err = client_wait(f, &again, DSM_MSG_ERROR);
	if (!err) /* the ERROR may have come with the close: look at what arrived */
		for (size_t i = 0; i < again.ngot; i++)
			if (again.got[i].type == DSM_MSG_ERROR)
				err = &again.got[i];
	assert_non_null(err);
	assert_int_equal(err->error.code, DSM_ERR_BAD_TOKEN);
	client_close(&again);
	EVP_PKEY_free(key);
}

static void expire_token(struct fx *f, const char *token)
{
	uint8_t raw[SRV_TOKEN_LEN];
	char key[DSM_STORE_KEY_MAX + 1];
	struct token t;

	assert_int_equal(srv_unhex(token, strlen(token), raw, sizeof(raw)), 0);
	assert_int_equal(token_key(raw, key), 0);
	assert_int_equal(token_get(&f->s, key, &t), 0);
	t.expires = time(NULL) - 1;
	assert_int_equal(token_put(&f->s, key, &t), 0);
}

static void test_enrol_expired_token(void **state)
{
	struct fx *f = *state;
	struct client c;
	char token[65];
	EVP_PKEY *key = NULL;

	fx_node_add(f, "node2", token);
	expire_token(f, token);
	assert_int_equal(dsm_pki_key_new(&key), 0);
	assert_null(fx_enrol(f, &c, token, key));
	assert_true(c.ngot == 1 && c.got[0].type == DSM_MSG_ERROR);
	assert_int_equal(c.got[0].error.code, DSM_ERR_BAD_TOKEN);
	client_close(&c);
	EVP_PKEY_free(key);
}

static void test_other_ca_refused(void **state)
{
	struct fx *f = *state;
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = "node1",
		.now = time(NULL), .lifetime_s = 3600 };
	struct dsm_pki_ca other;
	struct node_cred n = { 0 };
	struct client c;

	enrolled_node(f, "node1", &n); /* the name exists: only the CA differs */
	cred_free(&n);
	assert_int_equal(dsm_pki_ca_create(CLUSTER, time(NULL), DSM_PKI_CA_LIFETIME_S, &other), 0);
	assert_int_equal(dsm_pki_key_new(&n.key), 0);
	assert_int_equal(dsm_pki_issue(&other, &req, n.key, &n.cert), 0);
	client_open(f, &c, &n, true);
	assert_null(client_wait(f, &c, DSM_MSG_HELLO_OK));
	assert_true(c.err < 0);
	assert_int_equal(c.ngot, 0);
	client_close(&c);
	cred_free(&n);
	dsm_pki_ca_free(&other);
}

static void test_removed_node_refused(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c, again;
	json_object *o;

	enrolled_node(f, "node3", &n);
	fx_session(f, &c, &n, 0);
	o = fx_ctl(f, "node-remove node3\n", -1);
	assert_string_equal(jget_str(o, "removed"), "node3");
	json_object_put(o);
	assert_null(client_wait(f, &c, DSM_MSG_PONG)); /* the session ends */
	assert_true(c.err < 0);
	client_close(&c);

	client_open(f, &again, &n, false);
	assert_null(client_wait(f, &again, DSM_MSG_HELLO_OK));
	assert_true(again.err < 0);
	assert_int_equal(again.ngot, 0);
	client_close(&again);

	/* the deny list outlives a restart */
	srv_close(&f->s);
	f->open = false;
	assert_int_equal(fx_start(f), 0);
	client_open(f, &again, &n, false);
	assert_null(client_wait(f, &again, DSM_MSG_HELLO_OK));
	assert_int_equal(again.ngot, 0);
	client_close(&again);
	cred_free(&n);
}

static void test_policy_push_delivered(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c, late;
	struct dsm_sign_key *stranger = NULL;
	size_t len = 0, len2 = 0, len3 = 0;
	uint8_t *v1 = signed_policy(f->operator_key, 1, &len), *v2;
	const struct dsm_msg *p;
	json_object *o;

	enrolled_node(f, "node4", &n);
	fx_session(f, &c, &n, 0);
	o = fx_push(f, v1, len);
	assert_null(jget_str(o, "error"));
	assert_int_equal(jget_int(o, "version"), 1);
	assert_int_equal(jget_int(o, "sent_to"), 1);
	json_object_put(o);
	p = client_wait(f, &c, DSM_MSG_POLICY);
	assert_non_null(p);
	assert_int_equal(p->policy.bundle.len, len);
	assert_memory_equal(p->policy.bundle.data, v1, len);

	/* a node connecting with version 0 is sent version 1 after HELLO_OK */
	fx_session(f, &late, &n, 0);
	assert_non_null(client_wait(f, &late, DSM_MSG_POLICY));
	client_close(&late);

	/* an equal version: a rollback */
	o = fx_push(f, v1, len);
	assert_non_null(strstr(jget_str(o, "error"), "policy-push: refused: rollback"));
	json_object_put(o);

	/* another key; then the right key with its signature broken */
	assert_int_equal(dsm_sign_key_from_seed(stranger_seed, &stranger), 0);
	v2 = signed_policy(stranger, 2, &len2);
	o = fx_push(f, v2, len2);
	assert_non_null(strstr(jget_str(o, "error"), "policy-push: refused"));
	json_object_put(o);
	free(v2);
	v2 = signed_policy(f->operator_key, 2, &len3);
	v2[len3 - 1] ^= 1;
	o = fx_push(f, v2, len3);
	assert_non_null(strstr(jget_str(o, "error"), "policy-push: refused"));
	json_object_put(o);
	free(v2);
	assert_int_equal(f->s.policy.version, 1);
	assert_int_equal(access(fx_path(f, "policies/2.signed"), F_OK), -1);

	client_close(&c);
	dsm_sign_key_free(stranger);
	free(v1);
	cred_free(&n);
}

static uint64_t send_alarms(struct fx *f, struct client *c, uint64_t first,
			    const char *const *lines, uint32_t count)
{
	struct dsm_msg m = { .type = DSM_MSG_ALARMS, .alarms = { .first_seq = first,
		.alarms = { .count = count, .line = lines } } };
	const struct dsm_msg *ack;

	client_send(c, &m);
	ack = client_wait(f, c, DSM_MSG_ALARMS_ACK);
	assert_non_null(ack);
	return ack->alarms_ack.seq;
}

static void test_alarms_written_once(void **state)
{
	struct fx *f = *state;
	static const char *const first[] = { "{\"what\":\"a\"}", "{\"what\":\"b\"}",
					     "{\"what\":\"c\"}" };
	static const char *const resent[] = { "{\"what\":\"b\"}", "{\"what\":\"c\"}",
					      "{\"what\":\"d\"}" };
	struct node_cred n = { 0 };
	struct client c;
	json_object *o, *arr;
	size_t count;

	enrolled_node(f, "node5", &n);
	fx_session(f, &c, &n, 0);
	assert_int_equal(send_alarms(f, &c, 1, first, 3), 3);
	assert_int_equal(send_alarms(f, &c, 2, resent, 3), 4);
	assert_int_equal(send_alarms(f, &c, 1, first, 1), 4);

	o = fx_ctl(f, "alarms 0\n", -1);
	assert_true(json_object_object_get_ex(o, "alarms", &arr));
	count = json_object_array_length(arr);
	assert_int_equal(count, 4);
	for (size_t i = 0; i < count; i++) {
		json_object *a = json_object_array_get_idx(arr, i);

		assert_string_equal(jget_str(a, "node"), "node5");
		assert_int_equal(jget_int(a, "seq"), (int64_t)i + 1);
	}
	assert_string_equal(jget_str(json_object_array_get_idx(arr, 3), "what"), "d");
	json_object_put(o);
	client_close(&c);
	cred_free(&n);
}

static void test_ping_and_order(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct dsm_msg ping = { .type = DSM_MSG_PING, .ping.nonce = 77 };
	struct client c, early;
	const struct dsm_msg *pong, *err;

	enrolled_node(f, "node6", &n);
	fx_session(f, &c, &n, 0);
	client_send(&c, &ping);
	pong = client_wait(f, &c, DSM_MSG_PONG);
	assert_non_null(pong);
	assert_int_equal(pong->ping.nonce, 77);
	client_close(&c);

	/* PING before HELLO: UNEXPECTED, closed */
	client_open(f, &early, &n, false);
	client_send(&early, &ping);
	err = client_wait(f, &early, DSM_MSG_ERROR);
	assert_non_null(err);
	assert_int_equal(err->error.code, DSM_ERR_UNEXPECTED);
	client_close(&early);
	cred_free(&n);
}

/* A node that gave up (its setup limit ran out) closes after its HELLO:
 * the server answers nothing, and the node is not taken as connected. */
static void test_hello_of_a_closed_node_unanswered(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct dsm_msg hello = { .type = DSM_MSG_HELLO, .hello = { .version_min = 1,
		.version_max = 2, .software = "test" } };
	struct client c;
	json_object *st, *nodes, *node;

	enrolled_node(f, "node7", &n);
	client_open(f, &c, &n, false);
	client_send(&c, &hello);
	for (int i = 0; i < 400 && c.off < c.out.len; i++) {
		client_step(&c);
		fx_pump(f, 0);
	}
	assert_int_equal(c.off, c.out.len); /* HELLO written, not yet read */
	assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
	assert_null(client_wait(f, &c, DSM_MSG_HELLO_OK));
	for (size_t k = 0; k < c.ngot; k++)
		fail_msg("the server answered with %s", dsm_msg_type_name(c.got[k].type));
	st = fx_ctl(f, "node-list\n", -1);
	assert_non_null(st);
	assert_true(json_object_object_get_ex(st, "nodes", &nodes));
	assert_int_equal(json_object_array_length(nodes), 1);
	node = json_object_array_get_idx(nodes, 0);
	assert_string_equal(jget_str(node, "name"), "node7");
	assert_int_equal(jget_int(node, "last_seen"), 0); /* never in session */
	json_object_put(st);
	client_close(&c);
	cred_free(&n);
}

/* A node silent for three heartbeats is closed, unless its bytes wait
 * unread: then the node spoke and the server is behind. */
static void test_silence_counts_unread_bytes(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct dsm_msg ping = { .type = DSM_MSG_PING, .ping.nonce = 5 };
	struct srv_conn *sc;
	struct client c;

	enrolled_node(f, "node8", &n);
	fx_session(f, &c, &n, 0);
	sc = srv_conn_find(&f->s, "node8");
	assert_non_null(sc);
	client_send(&c, &ping);
	client_step(&c); /* written, not read by the server (not pumped) */
	for (int i = 0; i < 100; i++) {
		struct pollfd p = { .fd = sc->src.fd, .events = POLLIN };

		if (poll(&p, 1, 10) == 1)
			break;
	}
	sc->last_read_ms = srv_now_ms() - 3 * SRV_HEARTBEAT_MS - 1;
	srv_conns_tick(&f->s);
	assert_ptr_equal(srv_conn_find(&f->s, "node8"), sc); /* still in session */
	assert_non_null(client_wait(f, &c, DSM_MSG_PONG));   /* read at last */
	sc->last_read_ms = srv_now_ms() - 3 * SRV_HEARTBEAT_MS - 1;
	srv_conns_tick(&f->s);
	assert_null(srv_conn_find(&f->s, "node8"));          /* silent: closed */
	client_close(&c);
	cred_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enrol_good_token_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_enrol_expired_token, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_other_ca_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_removed_node_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_push_delivered, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_alarms_written_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ping_and_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hello_of_a_closed_node_unanswered, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_silence_counts_unread_bytes, fx_setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
