// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server's control socket and start-up checks, against a state
 * directory the test makes as `dsmctl cluster init` would:
 *
 *  - node-add: a token of 64 hex digits, ids from 1, a pending node added
 *    again keeps its id, a bad name or lifetime is refused, an enrolled
 *    name is refused;
 *  - node-list, status, policy-status: the registry as the store has it;
 *  - node-remove of an unknown node, policy-push without a descriptor, an
 *    unknown verb, a line too long, an empty request: one readable error;
 *  - the start refuses a directory missing a file (named), a key open to
 *    group, and a server certificate that is a node's.
 */
#include "server_fixture.h"

static void assert_error(json_object *o, const char *part)
{
	const char *e = jget_str(o, "error");

	assert_non_null(e);
	assert_non_null(strstr(e, part));
	assert_null(strchr(e, '\n'));
	json_object_put(o);
}

static void test_node_add(void **state)
{
	struct fx *f = *state;
	json_object *o;
	char token[65];

	fx_node_add(f, "web-1", token);
	for (size_t i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", token[i]));
	o = fx_ctl(f, "node-add web-1 60\n", -1); /* still pending: a new token, same id */
	assert_int_equal(jget_int(o, "id"), 1);
	assert_string_not_equal(jget_str(o, "token"), token);
	json_object_put(o);
	o = fx_ctl(f, "node-add db-1\n", -1);
	assert_int_equal(jget_int(o, "id"), 2);
	assert_true(jget_int(o, "expires") > time(NULL) + 3500);
	json_object_put(o);
	assert_error(fx_ctl(f, "node-add Web_1\n", -1), "not a valid node name");
	assert_error(fx_ctl(f, "node-add web-2 86401\n", -1), "lifetime");
	assert_error(fx_ctl(f, "node-add web-2 0\n", -1), "lifetime");
	assert_error(fx_ctl(f, "node-add web-2 ten\n", -1), "not a number");
	assert_error(fx_ctl(f, "node-add\n", -1), "usage");
}

static void test_node_add_enrolled_refused(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };

	enrolled_node(f, "web-1", &n);
	assert_error(fx_ctl(f, "node-add web-1\n", -1), "already enrolled");
	cred_free(&n);
}

static json_object *node_at(json_object *o, size_t i)
{
	json_object *arr;

	assert_true(json_object_object_get_ex(o, "nodes", &arr));
	return i < json_object_array_length(arr) ? json_object_array_get_idx(arr, i) : NULL;
}

static void test_node_list_and_status(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c;
	char token[65];
	json_object *o, *e;

	enrolled_node(f, "a1", &n);
	fx_node_add(f, "b1", token);
	fx_session(f, &c, &n, 0);
	o = fx_ctl(f, "node-list\n", -1);
	e = node_at(o, 0);
	assert_non_null(e);
	assert_string_equal(jget_str(e, "name"), "a1");
	assert_string_equal(jget_str(e, "state"), "enrolled");
	assert_string_equal(jget_str(e, "address"), "127.0.0.1");
	assert_true(json_object_get_boolean(json_object_object_get(e, "connected")));
	assert_true(jget_int(e, "cert_expires") > time(NULL));
	e = node_at(o, 1);
	assert_string_equal(jget_str(e, "name"), "b1");
	assert_string_equal(jget_str(e, "state"), "pending");
	assert_false(json_object_get_boolean(json_object_object_get(e, "connected")));
	assert_null(node_at(o, 2));
	json_object_put(o);

	o = fx_ctl(f, "status\n", -1);
	assert_string_equal(jget_str(o, "cluster"), CLUSTER);
	assert_string_equal(jget_str(o, "server"), "srv");
	assert_int_equal(jget_int(o, "version"), 0);
	assert_non_null(node_at(o, 1));
	json_object_put(o);
	o = fx_ctl(f, "policy-status\n", -1);
	assert_int_equal(jget_int(o, "version"), 0);
	assert_string_equal(jget_str(node_at(o, 0), "name"), "a1");
	json_object_put(o);
	client_close(&c);
	cred_free(&n);
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	char line[600];

	assert_error(fx_ctl(f, "node-remove nobody\n", -1), "no such node");
	assert_error(fx_ctl(f, "policy-push\n", -1), "descriptor");
	assert_error(fx_ctl(f, "reboot\n", -1), "unknown verb");
	assert_error(fx_ctl(f, "\n", -1), "empty");
	assert_error(fx_ctl(f, "alarms -1\n", -1), "not a number");
	memset(line, 'a', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	assert_error(fx_ctl(f, line, -1), "longer than");
}

static void test_policy_push_then_status(void **state)
{
	struct fx *f = *state;
	size_t len = 0;
	uint8_t *v3 = signed_policy(f->operator_key, 3, &len);
	json_object *o = fx_push(f, v3, len);

	assert_int_equal(jget_int(o, "version"), 3);
	assert_int_equal(jget_int(o, "sent_to"), 0);
	json_object_put(o);
	assert_int_equal(access(fx_path(f, "policies/3.signed"), F_OK), 0);
	/* the version in force survives a restart */
	srv_close(&f->s);
	f->open = false;
	assert_int_equal(fx_start(f), 0);
	o = fx_ctl(f, "policy-status\n", -1);
	assert_int_equal(jget_int(o, "version"), 3);
	json_object_put(o);
	free(v3);
}

static void test_start_refusals(void **state)
{
	struct fx *f = *state;
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = "srv",
		.now = time(NULL), .lifetime_s = 3600 };
	char saved[PATH_MAX], path[PATH_MAX];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	srv_close(&f->s);
	f->open = false;

	snprintf(path, sizeof(path), "%s", fx_path(f, "operator.pub"));
	snprintf(saved, sizeof(saved), "%s", fx_path(f, "operator.pub.saved"));
	assert_int_equal(rename(path, saved), 0);
	assert_int_equal(fx_start(f), -ENOENT);
	assert_int_equal(rename(saved, path), 0);

	assert_int_equal(chmod(fx_path(f, "server.key"), 0640), 0);
	assert_int_equal(fx_start(f), -EPERM);
	assert_int_equal(chmod(fx_path(f, "server.key"), 0600), 0);

	/* a node certificate where the server's should be */
	snprintf(path, sizeof(path), "%s", fx_path(f, "server.pem"));
	snprintf(saved, sizeof(saved), "%s", fx_path(f, "server.pem.saved"));
	assert_int_equal(rename(path, saved), 0);
	assert_int_equal(dsm_pki_key_new(&key), 0);
	assert_int_equal(dsm_pki_issue(&f->ca, &req, key, &cert), 0);
	assert_int_equal(dsm_pki_cert_save(path, cert), 0);
	assert_int_equal(fx_start(f), -EINVAL);
	assert_int_equal(rename(saved, path), 0);
	X509_free(cert);
	EVP_PKEY_free(key);

	assert_int_equal(fx_start(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_node_add, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_node_add_enrolled_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_node_list_and_status, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_push_then_status, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_refusals, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
