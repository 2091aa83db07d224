/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the dsm-server tests share: every server source compiled in (not
 * main.c), a state directory made the way `dsmctl cluster init` makes it
 * (lib/pki for the CA and the server certificate, lib/policy_sign for the
 * operator key), a control-socket client and an in-process node client
 * over loopback TCP (lib/tls, lib/chan_msg), both pumped together with the
 * server's own loop in one thread.
 */
#ifndef TEST_SERVER_FIXTURE_H
#define TEST_SERVER_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../server/alarms.c"
#include "../../server/batch.c"
#include "../../server/conn.c"
#include "../../server/control.c"
#include "../../server/enrol.c"
#include "../../server/keys.c"
#include "../../server/fresh.c"
#include "../../server/listen.c"
#include "../../server/log.c"
#include "../../server/metrics.c"
#include "../../server/nodes.c"
#include "../../server/policy.c"
#include "../../server/rotation.c"
#include "../../server/server.c"
#include "../../server/session.c"
#include "../../server/state.c"
#include "../../server/util.c"

#define CLUSTER "t1"

static const uint8_t operator_seed[DSM_SIGN_SEED_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
static const uint8_t stranger_seed[DSM_SIGN_SEED_LEN] = { 1, 1, 1, 1 };

struct fx {
	char dir[64];
	char path[PATH_MAX];
	struct dsm_pki_ca ca;
	struct dsm_sign_key *operator_key;
	struct srv s;
	struct srv_config cfg; /* key timers for fx_start (0: the defaults) */
	bool open;
};

static const char *fx_path(struct fx *f, const char *rel)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, rel);
	return f->path;
}

/* The state directory as `dsmctl cluster init` leaves it. */
static void fx_make_state(struct fx *f)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_SERVER, .name = "srv",
		.now = time(NULL), .lifetime_s = DSM_PKI_SERVER_LIFETIME_S };
	char ca_pem[PATH_MAX];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	FILE *c;

	snprintf(f->dir, sizeof(f->dir), "/tmp/dsm-srv-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(dsm_pki_ca_create(CLUSTER, time(NULL), DSM_PKI_CA_LIFETIME_S, &f->ca), 0);
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", f->dir);
	assert_int_equal(dsm_pki_ca_save(&f->ca, ca_pem, fx_path(f, "ca.key")), 0);
	assert_int_equal(dsm_pki_key_new(&key), 0);
	assert_int_equal(dsm_pki_issue(&f->ca, &req, key, &cert), 0);
	assert_int_equal(dsm_pki_cert_save(fx_path(f, "server.pem"), cert), 0);
	assert_int_equal(dsm_pki_key_save(fx_path(f, "server.key"), key), 0);
	X509_free(cert);
	EVP_PKEY_free(key);
	assert_int_equal(dsm_sign_key_from_seed(operator_seed, &f->operator_key), 0);
	assert_int_equal(dsm_sign_pubkey_write_file(f->operator_key, fx_path(f, "operator.pub")), 0);
	assert_int_equal(dsm_sign_key_write_file(f->operator_key, fx_path(f, "operator.key")), 0);
	c = fopen(fx_path(f, "cluster"), "w");
	assert_non_null(c);
	fprintf(c, "%s\n", CLUSTER);
	fclose(c);
}

static int fx_start(struct fx *f)
{
	char control[PATH_MAX];
	struct srv_config cfg = f->cfg;
	int err;

	cfg.state_dir = f->dir;
	cfg.listen = "127.0.0.1:0";
	cfg.control = control;
	snprintf(control, sizeof(control), "%s/control.sock", f->dir);
	err = srv_open(&f->s, &cfg);
	f->open = !err;
	return err;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	signal(SIGPIPE, SIG_IGN);
	fx_make_state(f);
	assert_int_equal(fx_start(f), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[PATH_MAX + 16];

	if (f->open)
		srv_close(&f->s);
	dsm_pki_ca_free(&f->ca);
	dsm_sign_key_free(f->operator_key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void fx_pump(struct fx *f, int ms)
{
	srv_run_once(&f->s, ms);
}

/* ---- the control socket -------------------------------------------------- */

/* One request (with fd, if >= 0) and its answer, the server pumped meanwhile. */
static json_object *fx_ctl(struct fx *f, const char *line, int fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
	struct iovec iov = { (void *)line, strlen(line) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char answer[1 << 16];
	size_t have = 0;
	const int sock = socket(AF_UNIX, SOCK_STREAM, 0);
	json_object *o;

	assert_true(strlen(f->s.control_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->s.control_path, strlen(f->s.control_path) + 1);
	assert_int_equal(connect(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)strlen(line));
	for (int i = 0; i < 2000; i++) {
		const ssize_t n = recv(sock, answer + have, sizeof(answer) - 1 - have, MSG_DONTWAIT);

		if (n == 0)
			break;
		if (n > 0)
			have += (size_t)n;
		else
			fx_pump(f, 5);
	}
	close(sock);
	answer[have] = '\0';
	assert_true(have > 1 && answer[have - 1] == '\n');
	o = srv_json_parse(answer, have - 1);
	assert_non_null(o);
	return o;
}

static const char *jget_str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static int64_t jget_int(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_int64(v);
}

/* node-add NAME: the token's hex into token. */
static void fx_node_add(struct fx *f, const char *name, char token[65])
{
	char line[128];
	const char *tok;
	json_object *o;

	snprintf(line, sizeof(line), "node-add %s\n", name);
	o = fx_ctl(f, line, -1);
	assert_null(jget_str(o, "error"));
	assert_string_equal(jget_str(o, "name"), name);
	tok = jget_str(o, "token");
	assert_non_null(tok);
	assert_int_equal(strlen(tok), 64);
	memcpy(token, tok, 65);
	json_object_put(o);
}

/* ---- signed policies ----------------------------------------------------- */

static uint8_t *signed_policy(const struct dsm_sign_key *key, unsigned int version, size_t *len)
{
	char src[512];
	struct dsm_policy *p = NULL;
	uint8_t *bundle = NULL, *env = NULL;
	size_t blen = 0;
	const uint64_t now = (uint64_t)time(NULL);

	snprintf(src, sizeof(src), "policy srv-test version %u;\n"
		 "label init = 1; label web = 10;\nnode n1 = 1;\ninitial init;\n"
		 "allow web@n1 init : peer recv;\n", version);
	assert_int_equal(dsm_policy_compile("t.policy", src, strlen(src), &p, NULL), 0);
	assert_int_equal(dsm_bundle_write(p, &bundle, &blen), 0);
	dsm_policy_free(p);
	assert_int_equal(dsm_signed_write(bundle, blen, key, CLUSTER, now - 10, now + 86400,
					  &env, len), 0);
	free(bundle);
	return env;
}

/* A file descriptor reading buf. */
static int buf_fd(struct fx *f, const uint8_t *buf, size_t len)
{
	int fd = open(fx_path(f, "push.signed"), O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

static json_object *fx_push(struct fx *f, const uint8_t *buf, size_t len)
{
	const int fd = buf_fd(f, buf, len);
	json_object *o = fx_ctl(f, "policy-push\n", fd);

	close(fd);
	return o;
}

/* ---- a node client ------------------------------------------------------- */

#ifndef GOT_MAX
#define GOT_MAX 8 /* messages a test client keeps */
#endif

struct client {
	int fd;
	SSL_CTX *ctx;
	struct dsm_tls_conn *tls;
	struct dsm_msg_reader rd;
	struct dsm_msg_buf out;
	size_t off;
	bool up;
	int err;           /* the connection ended: closed, refused */
	uint64_t next_id;
	struct dsm_msg got[GOT_MAX];
	bool taken[GOT_MAX];
	size_t ngot;
};

struct node_cred {
	X509 *cert;
	EVP_PKEY *key;
};

static void cred_free(struct node_cred *n)
{
	X509_free(n->cert);
	EVP_PKEY_free(n->key);
}

static SSL_CTX *client_ctx(struct fx *f, const struct node_cred *n, bool swap)
{
	const struct dsm_tls_config cfg = { .cluster = CLUSTER, .ca = f->ca.cert,
		.cert = n && !swap ? n->cert : NULL, .key = n && !swap ? n->key : NULL };
	SSL_CTX *ctx = dsm_tls_node_ctx(&cfg);

	assert_non_null(ctx);
	/* a certificate the builder would refuse (another CA) goes in by hand */
	if (swap) {
		assert_int_equal(SSL_CTX_use_certificate(ctx, n->cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(ctx, n->key), 1);
	}
	return ctx;
}

static void client_open(struct fx *f, struct client *c, const struct node_cred *n, bool swap)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(c, 0, sizeof(*c));
	assert_int_equal(getsockname(f->s.listener.fd, (struct sockaddr *)&sa, &len), 0);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(c->fd >= 0);
	assert_true(connect(c->fd, (struct sockaddr *)&sa, len) == 0 || errno == EINPROGRESS);
	c->ctx = client_ctx(f, n, swap);
	assert_int_equal(dsm_tls_conn_new(c->ctx, c->fd, &c->tls), 0);
	dsm_msg_reader_init(&c->rd, DSM_MSG_FROM_SERVER);
}

static void client_close(struct client *c)
{
	for (size_t i = 0; i < c->ngot; i++)
		dsm_msg_free(&c->got[i]);
	dsm_tls_conn_free(c->tls);
	close(c->fd);
	SSL_CTX_free(c->ctx);
	dsm_msg_reader_release(&c->rd);
	dsm_msg_buf_release(&c->out);
}

static void client_send(struct client *c, struct dsm_msg *m)
{
	m->id = ++c->next_id;
	assert_int_equal(dsm_msg_encode(m, &c->out), 0);
}

static void client_feed(struct client *c, const uint8_t *buf, size_t got)
{
	size_t off = 0;

	while (off < got && c->ngot < GOT_MAX) {
		size_t used = 0;
		const int r = dsm_msg_reader_feed(&c->rd, buf + off, got - off, &used,
						  &c->got[c->ngot]);

		assert_true(r >= 0);
		off += used;
		if (r == 1)
			c->ngot++;
	}
}

static void client_step(struct client *c)
{
	uint8_t buf[1 << 16];
	size_t n = 0;
	int r;

	if (c->err)
		return;
	if (!c->up) {
		r = dsm_tls_handshake(c->tls);
		if (r < 0)
			c->err = r;
		c->up = r == DSM_TLS_DONE;
		if (!c->up)
			return;
	}
	while (c->off < c->out.len) {
		r = dsm_tls_write(c->tls, c->out.data + c->off, c->out.len - c->off, &n);
		if (r != DSM_TLS_DONE)
			break;
		c->off += n;
	}
	for (;;) {
		r = dsm_tls_read(c->tls, buf, sizeof(buf), &n);
		if (r == DSM_TLS_DONE) {
			client_feed(c, buf, n);
			continue;
		}
		if (r == DSM_TLS_CLOSED || r < 0)
			c->err = r == DSM_TLS_CLOSED ? -EPIPE : r;
		return;
	}
}

/* Pump both ends until a message of type arrived (returned) or the
 * connection ended (NULL). */
static const struct dsm_msg *client_wait(struct fx *f, struct client *c, uint8_t type)
{
	for (int i = 0; i < 600; i++) {
		for (size_t k = 0; k < c->ngot; k++)
			if (c->got[k].type == type && !c->taken[k]) {
				c->taken[k] = true; /* not found again */
				return &c->got[k];
			}
		if (c->err)
			return NULL;
		client_step(c);
		fx_pump(f, 5);
	}
	return NULL;
}

/* ENROL with the token's text and a new key: the ENROL_OK, or NULL. */
static const struct dsm_msg *fx_enrol(struct fx *f, struct client *c, const char *token,
				   EVP_PKEY *key)
{
	struct dsm_msg m = { .type = DSM_MSG_ENROL };
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	const struct dsm_msg *ok;

	assert_int_equal(dsm_pki_csr_make(key, &csr, &csr_len), 0);
	client_open(f, c, NULL, false);
	m.enrol = (struct dsm_msg_enrol){ .token = { (const uint8_t *)token, strlen(token) },
					  .csr = { csr, csr_len } };
	client_send(c, &m);
	OPENSSL_free(csr);
	ok = client_wait(f, c, DSM_MSG_ENROL_OK);
	return ok;
}

/* node-add and ENROL: the node's certificate and key. */
static void enrolled_node(struct fx *f, const char *name, struct node_cred *n)
{
	char token[65];
	struct client c;
	const struct dsm_msg *ok;

	fx_node_add(f, name, token);
	assert_int_equal(dsm_pki_key_new(&n->key), 0);
	ok = fx_enrol(f, &c, token, n->key);
	assert_non_null(ok);
	assert_int_equal(dsm_pki_cert_from_der(ok->enrol_ok.cert.data, ok->enrol_ok.cert.len,
					       &n->cert), 0);
	client_close(&c);
}

/* A node session after HELLO / HELLO_OK. */
static void fx_session(struct fx *f, struct client *c, const struct node_cred *n,
		    uint64_t policy_version)
{
	struct dsm_msg hello = { .type = DSM_MSG_HELLO, .hello = { .version_min = 1,
		.version_max = 1, .policy_version = policy_version, .software = "test" } };

	client_open(f, c, n, false);
	client_send(c, &hello);
	assert_non_null(client_wait(f, c, DSM_MSG_HELLO_OK));
}

#endif /* TEST_SERVER_FIXTURE_H */
