// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server's freshness statements (server/fresh.c), against the whole
 * server in-process (server_fixture.h) with short periods:
 *
 *  - a protocol 2 session gets HELLO_OK, POLICY, then FRESH: a statement
 *    that verifies against the cluster CA, names the server, the version
 *    pushed and the SHA-256 of the bundle as sent;
 *  - the server issues again every interval, each statement strictly newer
 *    than the last, and again at a push, after the new POLICY;
 *  - a protocol 1 session never gets FRESH, and a version 1 frame in a
 *    version 2 session is refused;
 *  - without a policy there is nothing to vouch for; an interval not
 *    below the expiry refuses to start.
 */
#include "server_fixture.h"
#include "policy_fresh.h"

#define EXPIRY_MS   3000
#define INTERVAL_MS 300

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char control[PATH_MAX];
	const struct srv_config cfg = { .state_dir = f->dir, .listen = "127.0.0.1:0",
					.control = control, .fresh_expiry_ms = EXPIRY_MS,
					.fresh_interval_ms = INTERVAL_MS };

	signal(SIGPIPE, SIG_IGN);
	fx_make_state(f);
	snprintf(control, sizeof(control), "%s/control.sock", f->dir);
	assert_int_equal(srv_open(&f->s, &cfg), 0);
	f->open = true;
	*state = f;
	return 0;
}

/* HELLO offering protocol versions 1..max, answered HELLO_OK. */
static void session(struct fx *f, struct client *c, const struct node_cred *n, uint16_t max)
{
	struct dsm_msg hello = { .type = DSM_MSG_HELLO, .hello = { .version_min = 1,
		.version_max = max, .software = "test" } };
	const struct dsm_msg *ok;

	client_open(f, c, n, false);
	client_send(c, &hello);
	ok = client_wait(f, c, DSM_MSG_HELLO_OK);
	assert_non_null(ok);
	assert_int_equal(ok->hello_ok.version, max);
}

static void check_statement(struct fx *f, const struct dsm_msg *m, uint64_t version,
			    const uint8_t *bundle, size_t len, struct dsm_fresh_info *info)
{
	const uint64_t now = srv_wall_ms();

	assert_non_null(m);
	assert_int_equal(m->version, 2);
	assert_int_equal(dsm_fresh_verify(m->fresh.statement.data, m->fresh.statement.len,
					  f->ca.cert, CLUSTER, info), 0);
	assert_string_equal(info->server, "srv");
	assert_int_equal(info->version, version);
	assert_int_equal(dsm_fresh_match(info, version, bundle, len), 0);
	assert_true(info->issued_ms <= now + 5 && info->issued_ms + 5000 > now);
	assert_true(info->expires_ms == info->issued_ms + EXPIRY_MS);
	assert_int_equal(dsm_fresh_check_time(info, now, DSM_FRESH_SKEW_MS), 0);
}

/* Where the first message of this type came, among those received (KEYS
 * of the pair-key generation may come before POLICY). */
static size_t first_of(const struct client *c, uint8_t type)
{
	size_t i = 0;

	while (i < c->ngot && c->got[i].type != type)
		i++;
	assert_true(i < c->ngot);
	return i;
}

static void test_fresh_after_policy_and_periodic(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c;
	struct dsm_fresh_info a, b;
	size_t len = 0;
	uint8_t *v1 = signed_policy(f->operator_key, 1, &len);
	json_object *o;

	enrolled_node(f, "node1", &n);
	o = fx_push(f, v1, len);
	assert_null(jget_str(o, "error"));
	assert_int_equal(jget_int(o, "version"), 1);
	json_object_put(o);

	session(f, &c, &n, 2);
	/* POLICY first, then FRESH, in that order on the wire */
	assert_non_null(client_wait(f, &c, DSM_MSG_POLICY));
	check_statement(f, client_wait(f, &c, DSM_MSG_FRESH), 1, v1, len, &a);
	assert_true(first_of(&c, DSM_MSG_POLICY) < first_of(&c, DSM_MSG_FRESH));
	/* again after the interval, strictly newer */
	check_statement(f, client_wait(f, &c, DSM_MSG_FRESH), 1, v1, len, &b);
	assert_true(b.issued_ms > a.issued_ms);
	assert_true(b.issued_ms - a.issued_ms >= INTERVAL_MS - 50);
	client_close(&c);
	cred_free(&n);
	free(v1);
}

static void test_fresh_at_push(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c;
	struct dsm_fresh_info a, b;
	size_t len1 = 0, len2 = 0;
	uint8_t *v1 = signed_policy(f->operator_key, 1, &len1);
	uint8_t *v2 = signed_policy(f->operator_key, 2, &len2);
	const struct dsm_msg *p;
	json_object *o;

	enrolled_node(f, "node1", &n);
	o = fx_push(f, v1, len1);
	json_object_put(o);
	session(f, &c, &n, 2);
	check_statement(f, client_wait(f, &c, DSM_MSG_FRESH), 1, v1, len1, &a);
	o = fx_push(f, v2, len2);
	assert_null(jget_str(o, "error"));
	json_object_put(o);
	p = client_wait(f, &c, DSM_MSG_POLICY);
	assert_non_null(p);
	assert_int_equal(p->policy.bundle.len, len2);
	/* the first FRESH after the push's POLICY is about version 2 */
	for (;;) {
		const struct dsm_msg *m = client_wait(f, &c, DSM_MSG_FRESH);

		assert_non_null(m);
		if (m < p) /* sent before the push, read only now */
			continue;
		check_statement(f, m, 2, v2, len2, &b);
		break;
	}
	assert_true(b.issued_ms > a.issued_ms);
	client_close(&c);
	cred_free(&n);
	free(v1);
	free(v2);
}

static void test_protocol_1_gets_no_fresh(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c;
	size_t len = 0;
	uint8_t *v1 = signed_policy(f->operator_key, 1, &len);
	struct dsm_msg ping = { .type = DSM_MSG_PING, .ping.nonce = 5 };
	const struct dsm_msg *pong;
	json_object *o;
	uint64_t end;

	enrolled_node(f, "node1", &n);
	o = fx_push(f, v1, len);
	json_object_put(o);
	fx_session(f, &c, &n, 0); /* protocol 1 only */
	assert_non_null(client_wait(f, &c, DSM_MSG_POLICY));
	/* three intervals: PINGs keep the session, no FRESH comes */
	end = srv_now_ms() + 3 * INTERVAL_MS;
	while (srv_now_ms() < end) {
		client_send(&c, &ping);
		pong = client_wait(f, &c, DSM_MSG_PONG);
		assert_non_null(pong);
		assert_int_equal(pong->version, 1);
		for (size_t k = 0; k < c.ngot; k++)
			assert_int_not_equal(c.got[k].type, DSM_MSG_FRESH);
		for (size_t k = 0; k < c.ngot; k++)
			dsm_msg_free(&c.got[k]);
		memset(c.taken, 0, sizeof(c.taken));
		c.ngot = 0;
	}
	client_close(&c);

	/* a version 1 frame inside a version 2 session: refused */
	session(f, &c, &n, 2);
	ping.version = 1;
	client_send(&c, &ping);
	pong = client_wait(f, &c, DSM_MSG_ERROR);
	assert_non_null(pong);
	assert_int_equal(pong->error.code, DSM_ERR_UNEXPECTED);
	client_close(&c);
	cred_free(&n);
	free(v1);
}

static void test_no_policy_no_fresh(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c;
	char control[PATH_MAX];
	struct srv other;
	const struct srv_config bad = { .state_dir = f->dir, .listen = "127.0.0.1:0",
					.control = control, .fresh_expiry_ms = 1000,
					.fresh_interval_ms = 1000 };

	assert_null(f->s.fresh.buf);
	enrolled_node(f, "node1", &n);
	session(f, &c, &n, 2);
	assert_null(client_wait(f, &c, DSM_MSG_FRESH));
	client_close(&c);
	cred_free(&n);
	snprintf(control, sizeof(control), "%s/other.sock", f->dir);
	assert_int_equal(srv_open(&other, &bad), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_after_policy_and_periodic, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_fresh_at_push, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_protocol_1_gets_no_fresh, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_policy_no_fresh, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_policy_no_fresh, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
