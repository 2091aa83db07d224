// SPDX-License-Identifier: GPL-2.0
/*
 * dsm-server's GET /metrics (server/metrics.c) over a real loopback
 * socket, the server pumped in the test's thread: the answer's head and
 * body, the metrics following enrolment, a session, alarms and a refusal,
 * the statuses for another path (404), another method (405), a line that
 * does not parse (400), a head too long (431), a request split across
 * writes, the deadline for one that never ends, the bound on connections
 * at once, and a listen address that is not one.
 */
#define SRV_METRICS_DEADLINE_MS 300
#include "server_fixture.h"

static int mfx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	signal(SIGPIPE, SIG_IGN);
	fx_make_state(f);
	f->cfg.metrics = "127.0.0.1:0";
	assert_int_equal(fx_start(f), 0);
	*state = f;
	return 0;
}

static int http_connect(struct fx *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const int port = srv_metrics_port(&f->s);
	int fd;

	assert_true(port > 0);
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Read until the server closes (the server pumped meanwhile): what came. */
static char *http_read(struct fx *f, int fd, size_t *got)
{
	size_t cap = 1 << 17, have = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (int i = 0; i < 1000; i++) {
		const ssize_t n = recv(fd, buf + have, cap - 1 - have, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		if (n > 0)
			have += (size_t)n;
		else
			fx_pump(f, 5);
		assert_true(have < cap - 1);
	}
	buf[have] = '\0';
	*got = have;
	return buf;
}

static char *http(struct fx *f, const char *req, size_t len)
{
	const int fd = http_connect(f);
	size_t got;
	char *ans;

	assert_int_equal(send(fd, req, len, 0), (ssize_t)len);
	ans = http_read(f, fd, &got);
	close(fd);
	return ans;
}

static char *get(struct fx *f, const char *req)
{
	return http(f, req, strlen(req));
}

/* The body of a 200 answer, its head checked. */
static const char *body_of(const char *ans)
{
	const char *body = strstr(ans, "\r\n\r\n");
	const char *cl = strstr(ans, "\r\nContent-Length: ");

	assert_non_null(body);
	assert_non_null(cl);
	body += 4;
	assert_true(!strncmp(ans, "HTTP/1.1 200 OK\r\n", 17));
	assert_non_null(strstr(ans, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(ans, "\r\nConnection: close\r\n"));
	assert_int_equal(strtoul(cl + 18, NULL, 10), strlen(body));
	return body;
}

static void test_get_metrics(void **state)
{
	struct fx *f = *state;
	char *ans = get(f, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
	const char *b = body_of(ans);

	assert_true(!strncmp(b, "# HELP dsm_server_info ", 23));
	assert_non_null(strstr(b, "\ndsm_server_info{cluster=\"" CLUSTER "\",server=\"srv\"} 1\n"));
	assert_non_null(strstr(b, "# TYPE dsm_server_nodes gauge\n"
				  "dsm_server_nodes{state=\"enrolled\"} 0\n"
				  "dsm_server_nodes{state=\"pending\"} 0\n"));
	assert_non_null(strstr(b, "\ndsm_server_nodes_in_session 0\n"));
	assert_non_null(strstr(b, "\ndsm_server_policy_version 0\n"));
	assert_non_null(strstr(b, "# TYPE dsm_server_key_rotation_phase gauge\n"));
	assert_non_null(strstr(b, "# TYPE dsm_server_store_commits_total counter\n"));
	assert_non_null(strstr(b, "\ndsm_server_refusals_total{code=\"denied\"} 0\n"));
	/* a query string is ignored; this is the second 200 */
	free(ans);
	ans = get(f, "GET /metrics?x=1 HTTP/1.0\n\n");
	b = body_of(ans);
	assert_non_null(strstr(b, "\ndsm_server_metrics_requests_total{code=\"200\"} 1\n"));
	free(ans);
}

static void test_follows_the_cluster(void **state)
{
	struct fx *f = *state;
	struct node_cred n = { 0 };
	struct client c;
	char token[65];
	const char *lines[] = { "{\"a\":1}", "{\"a\":2}" };
	struct dsm_msg al = { .type = DSM_MSG_ALARMS, .alarms = { .first_seq = 3, .dropped = 4,
		.alarms = { .count = 2, .line = lines } } };
	char *ans;
	const char *b;

	enrolled_node(f, "a1", &n);
	fx_node_add(f, "b1", token);
	fx_session(f, &c, &n, 0);
	client_send(&c, &al);
	assert_non_null(client_wait(f, &c, DSM_MSG_ALARMS_ACK));
	/* a message out of order: refused */
	client_send(&c, &(struct dsm_msg){ .type = DSM_MSG_HELLO, .hello = { .version_min = 1,
		.version_max = 1, .software = "again" } });
	assert_non_null(client_wait(f, &c, DSM_MSG_ERROR));

	ans = get(f, "GET /metrics HTTP/1.1\r\n\r\n");
	b = body_of(ans);
	assert_non_null(strstr(b, "dsm_server_nodes{state=\"enrolled\"} 1\n"
				  "dsm_server_nodes{state=\"pending\"} 1\n"));
	assert_non_null(strstr(b, "\ndsm_server_policy_nodes{version=\"0\"} 1\n"));
	assert_non_null(strstr(b, "\ndsm_server_alarms_received_total 2\n"));
	assert_non_null(strstr(b, "\ndsm_server_alarms_written_total 2\n"));
	assert_non_null(strstr(b, "\ndsm_server_alarms_lost_total{reason=\"node_dropped\"} 4\n"));
	assert_non_null(strstr(b, "\ndsm_server_alarms_lost_total{reason=\"gap\"} 2\n"));
	assert_non_null(strstr(b, "\ndsm_server_refusals_total{code=\"unexpected\"} 1\n"));
	free(ans);
	client_close(&c);
	cred_free(&n);
}

static void test_statuses(void **state)
{
	struct fx *f = *state;
	char big[SRV_METRICS_REQ_MAX + 100];
	char *ans;

	ans = get(f, "GET /other HTTP/1.1\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 404 Not Found\r\n", 24));
	free(ans);
	ans = get(f, "GET /metrics/x HTTP/1.1\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 404 ", 13));
	free(ans);
	ans = get(f, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	assert_true(!strncmp(ans, "HTTP/1.1 405 Method Not Allowed\r\n", 33));
	assert_non_null(strstr(ans, "\r\nAllow: GET\r\n"));
	free(ans);
	ans = get(f, "HEAD /metrics HTTP/1.1\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 405 ", 13));
	free(ans);
	ans = get(f, "hello\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 400 Bad Request\r\n", 26));
	free(ans);
	ans = get(f, "GET /metrics SMTP/1.0\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 400 ", 13));
	free(ans);
	ans = get(f, "GET  /metrics HTTP/1.1\r\n\r\n");
	assert_true(!strncmp(ans, "HTTP/1.1 400 ", 13));
	free(ans);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	ans = http(f, big, sizeof(big));
	assert_true(!strncmp(ans, "HTTP/1.1 431 ", 13));
	free(ans);
	/* each counted by its code */
	ans = get(f, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(ans, "\ndsm_server_metrics_requests_total{code=\"404\"} 2\n"));
	assert_non_null(strstr(ans, "\ndsm_server_metrics_requests_total{code=\"405\"} 2\n"));
	assert_non_null(strstr(ans, "\ndsm_server_metrics_requests_total{code=\"400\"} 3\n"));
	assert_non_null(strstr(ans, "\ndsm_server_metrics_requests_total{code=\"431\"} 1\n"));
	free(ans);
}

static void test_split_request(void **state)
{
	struct fx *f = *state;
	const int fd = http_connect(f);
	const char *parts[] = { "GE", "T /metr", "ics HTTP/1.1\r", "\nHost: a\r\n", "\r\n" };
	size_t got;
	char *ans;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		assert_int_equal(send(fd, parts[i], strlen(parts[i]), 0), (ssize_t)strlen(parts[i]));
		for (int k = 0; k < 3; k++)
			fx_pump(f, 2);
	}
	ans = http_read(f, fd, &got);
	close(fd);
	body_of(ans);
	free(ans);
}

static void test_deadline_and_bound(void **state)
{
	struct fx *f = *state;
	int fds[SRV_METRICS_CLIENTS], extra, slow;
	size_t got;
	char *ans;

	/* a request that never ends: closed at the deadline, unanswered */
	slow = http_connect(f);
	assert_int_equal(send(slow, "GET /metr", 9, 0), 9);
	ans = http_read(f, slow, &got);
	assert_int_equal(got, 0);
	free(ans);
	close(slow);

	/* SRV_METRICS_CLIENTS at once; one more is closed at accept */
	for (int i = 0; i < SRV_METRICS_CLIENTS; i++)
		fds[i] = http_connect(f);
	for (int i = 0; i < 20; i++)
		fx_pump(f, 2);
	assert_int_equal(f->s.metrics->nclients, SRV_METRICS_CLIENTS);
	extra = http_connect(f);
	ans = http_read(f, extra, &got);
	assert_int_equal(got, 0);
	free(ans);
	close(extra);
	for (int i = 0; i < SRV_METRICS_CLIENTS; i++)
		close(fds[i]);
	for (int i = 0; i < 20; i++)
		fx_pump(f, 2);
	assert_int_equal(f->s.metrics->nclients, 0);

	ans = get(f, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(ans, "\ndsm_server_metrics_timed_out_total 1\n"));
	assert_non_null(strstr(ans, "\ndsm_server_metrics_turned_away_total 1\n"));
	free(ans);
}

/* A push: the version, and the node reports it in force after its ack. */
static void test_policy_version(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *v5 = signed_policy(f->operator_key, 5, &len);
	json_object *o = fx_push(f, v5, len);
	char *ans;

	assert_int_equal(jget_int(o, "version"), 5);
	json_object_put(o);
	free(v5);
	ans = get(f, "GET /metrics HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(body_of(ans), "\ndsm_server_policy_version 5\n"));
	free(ans);
}

/* Without --metrics, no listener. */
static void test_off(void **state)
{
	struct fx *f = *state;

	assert_null(f->s.metrics);
	assert_int_equal(srv_metrics_port(&f->s), -1);
	srv_metrics_tick(&f->s);
}

static void test_bad_address(void **state)
{
	struct fx *f = *state;

	srv_close(&f->s);
	f->open = false;
	f->cfg.metrics = "localhost:9000";
	assert_int_equal(fx_start(f), -EINVAL);
	f->cfg.metrics = "127.0.0.1";
	assert_int_equal(fx_start(f), -EINVAL);
	f->cfg.metrics = "127.0.0.1:0";
	assert_int_equal(fx_start(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_metrics, mfx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_follows_the_cluster, mfx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_statuses, mfx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_split_request, mfx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_deadline_and_bound, mfx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_version, mfx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_off, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_address, mfx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
