// SPDX-License-Identifier: GPL-2.0
/*
 * rogue_server: the Security Server of a cluster whose server key was
 * stolen, for guest tests of what a node takes from its server. It uses
 * the real server's identity (STATE/ca.pem, server.pem, server.key,
 * cluster), so nodes accept the session; it signs nothing: the test brings
 * the bundles (signed with another key, cut short, older).
 *
 *   rogue_server STATE ADDR PORT NODES FILE...
 *
 * Serves NODES nodes, one session each, one after the other (a node that
 * comes back is closed at once): to each node, after
 * HELLO_OK, every FILE as a POLICY in turn, printing what the node
 * answered ("NODE ack VERSION RESULT REASON", VERSION the one it enforces
 * now), then "NODE done". PINGs are answered; everything else a node sends
 * (alarms) is read and left unanswered. Gives up after 120 s.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../unit/fake_frames.h"
#include "pki.h"
#include "policy_sign.h"

static int die(const char *what)
{
	fprintf(stderr, "rogue_server: %s\n", what);
	return 1;
}

static SSL_CTX *server_ctx(const char *state)
{
	char path[4][512], cluster[DSM_PKI_NAME_MAX + 2] = "";
	struct dsm_tls_config cfg = { .cluster = cluster };
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;
	FILE *f;

	snprintf(path[0], sizeof(path[0]), "%s/ca.pem", state);
	snprintf(path[1], sizeof(path[1]), "%s/server.pem", state);
	snprintf(path[2], sizeof(path[2]), "%s/server.key", state);
	snprintf(path[3], sizeof(path[3]), "%s/cluster", state);
	f = fopen(path[3], "r");
	if (f) {
		if (!fgets(cluster, sizeof(cluster), f))
			cluster[0] = '\0';
		cluster[strcspn(cluster, "\n")] = '\0';
		fclose(f);
	}
	if (cluster[0] && !dsm_pki_cert_load(path[0], &ca) && !dsm_pki_cert_load(path[1], &cert) &&
	    !dsm_pki_key_load(path[2], &key)) {
		cfg.ca = ca, cfg.cert = cert, cfg.key = key;
		ctx = dsm_tls_server_ctx(&cfg);
	}
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ctx;
}

/* The next message that is not a PING (answered) or an ALARMS batch. */
static int next_msg(struct dsm_tls_conn *t, struct frames_in *in, struct dsm_msg *m)
{
	for (;;) {
		int err = frames_recv(t, in, m);

		if (err || (m->type != DSM_MSG_PING && m->type != DSM_MSG_ALARMS))
			return err;
		if (m->type == DSM_MSG_PING) {
			struct dsm_msg pong = { .version = m->version, .type = DSM_MSG_PONG,
						.id = m->id, .ping = m->ping };

			frames_send(t, &pong);
		}
		dsm_msg_free(m);
	}
}

/* The names of the nodes served so far: each is served once. */
static char served[8][sizeof(((struct dsm_identity *)0)->name)];
static int nserved;

static bool served_before(const char *node)
{
	for (int i = 0; i < nserved; i++)
		if (!strcmp(served[i], node))
			return true;
	return false;
}

/* One node's session; false if it was not a new node's (no HELLO, or a
 * node served before, which is closed at once). */
static bool serve(struct dsm_tls_conn *t, char **files, int nfiles)
{
	struct frames_in in;
	struct dsm_msg m = { 0 };
	struct dsm_identity who;
	const char *node = "?";
	bool hello = false;
	uint64_t id = 1;

	frames_in_init(&in, DSM_MSG_FROM_NODE);
	if (dsm_tls_handshake(t) != DSM_TLS_DONE || frames_recv(t, &in, &m) ||
	    m.type != DSM_MSG_HELLO) {
		printf("? no HELLO\n");
		goto out;
	}
	if (!dsm_tls_peer_identity(t, &who))
		node = who.name;
	if (served_before(node) || nserved == (int)(sizeof(served) / sizeof(served[0]))) {
		printf("%s again: closed\n", node);
		goto out;
	}
	snprintf(served[nserved++], sizeof(served[0]), "%s", node);
	hello = true;
	{
		/* HELLO_OK travels in a version 1 frame whatever it chooses. */
		struct dsm_msg ok = { .version = DSM_MSG_VERSION_MIN, .type = DSM_MSG_HELLO_OK,
				      .id = m.id,
				      .hello_ok = { .version = 2, .heartbeat_ms = 2000,
						    .server_time_ms = (uint64_t)time(NULL) * 1000 } };
		const int err = frames_send(t, &ok);

		dsm_msg_free(&m);
		if (err) {
			printf("%s HELLO_OK not sent: %s\n", node, strerror(-err));
			goto out;
		}
	}
	for (int i = 0; i < nfiles; i++) {
		struct dsm_msg p = { .version = 2, .type = DSM_MSG_POLICY, .id = id++ };
		uint8_t *buf = NULL;
		size_t len = 0;

		if (dsm_signed_read_file(files[i], &buf, &len)) {
			printf("%s cannot read %s\n", node, files[i]);
			goto out;
		}
		p.policy.bundle = (struct dsm_msg_bytes){ buf, len };
		if (frames_send(t, &p) || next_msg(t, &in, &m) || m.type != DSM_MSG_POLICY_ACK) {
			printf("%s no POLICY_ACK for %s\n", node, files[i]);
			free(buf);
			goto out;
		}
		free(buf);
		printf("%s ack %llu %u %s\n", node, (unsigned long long)m.policy_ack.version,
		       m.policy_ack.result, m.policy_ack.reason ? m.policy_ack.reason : "");
		dsm_msg_free(&m);
	}
	printf("%s done\n", node);
	dsm_tls_shutdown(t);
out:
	fflush(stdout);
	dsm_msg_free(&m);
	frames_in_release(&in);
	return hello;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	SSL_CTX *ctx;
	int lfd, one = 1, nodes;

	if (argc < 6)
		return die("usage: rogue_server STATE ADDR PORT NODES FILE...");
	nodes = atoi(argv[4]);
	a.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1 || nodes < 1)
		return die("bad address or node count");
	ctx = server_ctx(argv[1]);
	if (!ctx)
		return die("no server identity in the state directory");
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 8))
		return die("cannot listen");
	alarm(120);
	printf("ready\n");
	fflush(stdout);
	for (int n = 0; n < nodes; n++) {
		struct dsm_tls_conn *t = NULL;
		const int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			return die("accept");
		if (dsm_tls_conn_new(ctx, fd, &t) || !serve(t, argv + 5, argc - 5))
			n--; /* not a node's session: it does not count */
		if (t)
			dsm_tls_conn_free(t);
		close(fd);
	}
	close(lfd);
	SSL_CTX_free(ctx);
	return 0;
}
