// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl's cluster commands. cluster init: every file with its mode, a
 * server certificate of the cluster issued by its CA, an operator key
 * whose envelopes verify with operator.pub, and a second init (or one into
 * a directory holding a key) refused without changing anything. Against a
 * fake dsm-server in a thread, which checks the exact request lines and
 * answers canned JSON: node add/list/remove, cluster status, policy
 * status, alarms --cluster, keys status and rotate, and policy push, whose descriptor must hold an
 * envelope that verifies with the operator's public key for the policy's
 * version. Bad arguments exit 2 with one line; no server exits 3.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmctl/client.c"
#undef READ_CHUNK
#include "../../dsmctl/cmd_alarms.c"
#include "../../dsmctl/cmd_cluster.c"
#include "../../dsmctl/cmd_explain.c"
#include "../../dsmctl/cmd_keys.c"
#include "../../dsmctl/cmd_node.c"
#include "../../dsmctl/cmd_policy.c"
#include "../../dsmctl/cmd_push.c"
#include "../../dsmctl/cmd_suggest.c"
#include "../../dsmctl/common.c"
#include "../../dsmctl/format.c"
#include "../../dsmctl/server_client.c"

void dsmctl_usage(FILE *out)
{
	fputs("usage\n", out);
}

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define POLICY_SRC \
	"policy push-test version 7;\n" \
	"label init = 1; label web = 10;\n" \
	"node n1 = 1;\n" \
	"initial init;\n" \
	"allow web@n1 init : peer recv;\n"

/* ---- a scratch directory ------------------------------------------------ */

struct scratch {
	char dir[64];
	char sock[128];
	char state[128];
};

static void scratch_make(struct scratch *s)
{
	strcpy(s->dir, "/tmp/dsmctl-cluster-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/control.sock", s->dir);
	snprintf(s->state, sizeof(s->state), "%s/state", s->dir);
}

static void scratch_remove(const struct scratch *s)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	assert_int_equal(system(cmd), 0);
}

/* DIR/NAME in one of four rotating buffers: for passing, not keeping. */
static char *in(const char *dir, const char *name)
{
	static char buf[4][256];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static size_t read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- the fake dsm-server ------------------------------------------------ */

#define FAKE_MAX 4

struct fake {
	int fd;                         /* the listener */
	int n;                          /* exchanges to serve */
	const char *answer[FAKE_MAX];
	char request[FAKE_MAX][600];    /* what arrived, newline included */
	int got_fd[FAKE_MAX];           /* a descriptor that came along, or -1 */
	pthread_t thread;
};

/* One request line, and a descriptor if one comes with it. */
static void fake_read(int c, char *req, size_t len, int *got_fd)
{
	size_t got = 0;

	*got_fd = -1;
	while (got + 1 < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = req + got, .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		struct cmsghdr *cm;

		if (recvmsg(c, &msg, MSG_CMSG_CLOEXEC) != 1)
			break;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(got_fd, CMSG_DATA(cm), sizeof(int));
		if (req[got++] == '\n')
			break;
	}
	req[got] = '\0';
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < f->n; i++) {
		int c = accept(f->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		fake_read(c, f->request[i], sizeof(f->request[i]), &f->got_fd[i]);
		if (send(c, f->answer[i], strlen(f->answer[i]), MSG_NOSIGNAL) < 0)
			perror("fake: send");
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	for (int i = 0; i < FAKE_MAX; i++)
		f->got_fd[i] = -1;
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	strcpy(sa.sun_path, sock);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->fd, FAKE_MAX), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

/* After the command ran: a server still waiting for a connection that
 * will not come is woken (accept fails on a listener shut down). */
static void fake_stop(struct fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	close(f->fd);
}

/* ---- running a command -------------------------------------------------- */

struct run {
	int status;
	char out[8192], err[4096];
};

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

typedef int (*cmd_fn)(const struct dsmctl_global *g, int argc, char **argv);

static int policy_cmd(const struct dsmctl_global *g, int argc, char **argv)
{
	return dsmctl_policy(g, argc, argv);
}

/* Run fn with the NULL-terminated argv, server socket sock, catching its
 * standard output and error. */
static void run_cmd(struct run *r, cmd_fn fn, const char *sock, const char *const *args)
{
	char o[] = "/tmp/dsmctl-out-XXXXXX", e[] = "/tmp/dsmctl-err-XXXXXX";
	const struct dsmctl_global g = { .socket = "/nonexistent/dsmd.sock",
					 .server_socket = sock };
	char *argv[16];
	int argc = 0, ofd, efd, saved_out, saved_err;

	while (args[argc]) {
		assert_true(argc < 15);
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	ofd = mkstemp(o);
	efd = mkstemp(e);
	assert_true(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);
	r->status = fn(&g, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	slurp(ofd, r->out, sizeof(r->out));
	slurp(efd, r->err, sizeof(r->err));
	unlink(o);
	unlink(e);
}

static int init_cmd(const struct dsmctl_global *g, int argc, char **argv)
{
	return dsmctl_cmd_cluster(g, argc, argv);
}

static void cluster_init_ok(const char *state)
{
	const char *args[] = { "cluster", "init", "--state", state, "--cluster", "prod",
			       "--server-name", "srv1", NULL };
	struct run r;

	run_cmd(&r, init_cmd, NULL, args);
	if (r.status)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
}

/* ---- cluster init ------------------------------------------------------- */

static void test_init_files_and_modes(void **state)
{
	static const struct {
		const char *name;
		mode_t mode;
	} files[] = {
		{ "cluster", 0644 }, { "ca.pem", 0644 }, { "ca.key", 0600 },
		{ "server.pem", 0644 }, { "server.key", 0600 }, { "operator.pub", 0644 },
		{ "operator.key", 0600 },
	};
	const char *args[8];
	struct scratch s;
	struct run r;
	char buf[64];
	int n = 0;
	DIR *d;
	(void)state;

	scratch_make(&s);
	args[0] = "cluster";
	args[1] = "init";
	args[2] = "--state";
	args[3] = s.state;
	args[4] = "--cluster=prod";
	args[5] = "--server-name";
	args[6] = "srv1";
	args[7] = NULL;
	run_cmd(&r, init_cmd, NULL, args);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, "server certificate dsm://prod/server/srv1"));
	assert_int_equal(mode_of(s.state), 0700);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(mode_of(in(s.state, files[i].name)), files[i].mode);
		assert_non_null(strstr(r.out, in(s.state, files[i].name)));
	}
	read_text(in(s.state, "cluster"), buf, sizeof(buf));
	assert_string_equal(buf, "prod\n");
	/* Exactly those files: no staging directory or temporary left. */
	d = opendir(s.state);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 7);
	scratch_remove(&s);
}

static void test_init_server_identity(void **state)
{
	struct dsm_pki_ca ca = { 0 };
	struct dsm_identity id;
	struct scratch s;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL, *pub;
	(void)state;

	scratch_make(&s);
	cluster_init_ok(s.state);
	assert_int_equal(dsm_pki_ca_load(in(s.state, "ca.pem"), in(s.state, "ca.key"), "prod",
					 &ca), 0);
	assert_int_equal(dsm_pki_cert_load(in(s.state, "server.pem"), &cert), 0);
	assert_int_equal(dsm_pki_identity(cert, "prod", &id), 0);
	assert_int_equal(id.role, DSM_ROLE_SERVER);
	assert_string_equal(id.cluster, "prod");
	assert_string_equal(id.name, "srv1");
	/* Issued by the cluster's CA, for the key in server.key. */
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(ca.cert)), 1);
	assert_int_equal(dsm_pki_key_load(in(s.state, "server.key"), &key), 0);
	pub = X509_get0_pubkey(cert);
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);
	/* A server certificate is no node's. */
	assert_int_equal(dsm_pki_identity(cert, "other", &id), -EINVAL);
	EVP_PKEY_free(key);
	X509_free(cert);
	dsm_pki_ca_free(&ca);
	scratch_remove(&s);
}

static uint8_t *make_bundle(const char *src, size_t *len)
{
	struct dsm_policy *p = NULL;
	uint8_t *buf = NULL;

	assert_int_equal(dsm_policy_compile("p.policy", src, strlen(src), &p, NULL), 0);
	assert_int_equal(dsm_bundle_write(p, &buf, len), 0);
	dsm_policy_free(p);
	return buf;
}

static void test_init_operator_key_signs(void **state)
{
	struct dsm_sign_pubkey *pub = NULL, *other = NULL;
	struct dsm_sign_key *k = NULL, *stranger = NULL;
	struct dsm_signed_info info;
	uint8_t *bundle, *env = NULL;
	size_t blen, elen;
	struct scratch s;
	(void)state;

	scratch_make(&s);
	cluster_init_ok(s.state);
	assert_int_equal(dsm_sign_key_read_file(in(s.state, "operator.key"), &k), 0);
	assert_int_equal(dsm_sign_pubkey_read_file(in(s.state, "operator.pub"), &pub), 0);
	bundle = make_bundle(POLICY_SRC, &blen);
	assert_int_equal(dsm_signed_write(bundle, blen, k, "prod", 1000, 2000, &env, &elen), 0);
	assert_int_equal(dsm_signed_verify(env, elen, pub, "prod", 0, 1500, &info, NULL), 0);
	assert_int_equal(info.version, 7);
	/* And another key's public half does not verify it. */
	assert_int_equal(dsm_sign_key_generate(&stranger), 0);
	assert_int_equal(dsm_sign_key_public(stranger, &other), 0);
	assert_int_equal(dsm_signed_verify(env, elen, other, "prod", 0, 1500, NULL, NULL),
			 -ENOKEY);
	free(env);
	free(bundle);
	dsm_sign_pubkey_free(other);
	dsm_sign_key_free(stranger);
	dsm_sign_pubkey_free(pub);
	dsm_sign_key_free(k);
	scratch_remove(&s);
}

/* Every file of a state directory, concatenated: to see nothing changed. */
static void snapshot(const char *dir, char *buf, size_t len)
{
	static const char *const names[] = { "cluster", "ca.pem", "ca.key", "server.pem",
					      "server.key", "operator.pub", "operator.key" };
	size_t off = 0;
	DIR *d = opendir(dir);

	/* Which names there are, then what the known files hold. */
	assert_non_null(d);
	buf[0] = '\0';
	for (struct dirent *e; (e = readdir(d));)
		off += (size_t)snprintf(buf + off, len - off, "%s/", e->d_name);
	closedir(d);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct stat st;

		if (stat(in(dir, names[i]), &st))
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s %lu %o:", names[i],
					(unsigned long)st.st_ino, st.st_mode & 07777);
		off += read_text(in(dir, names[i]), buf + off, len - off);
		assert_true(off + 1 < len);
	}
}

static void test_init_twice_refused(void **state)
{
	const char *args[] = { "cluster", "init", "--state", NULL, "--cluster", "other",
			       "--server-name", "srv2", NULL };
	char before[16384], after[16384];
	struct scratch s;
	struct run r;
	(void)state;

	scratch_make(&s);
	cluster_init_ok(s.state);
	snapshot(s.state, before, sizeof(before));
	args[3] = s.state;
	run_cmd(&r, init_cmd, NULL, args);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_string_equal(r.out, "");
	assert_int_equal(count_lines(r.err), 1);
	assert_non_null(strstr(r.err, "already holds a cluster"));
	snapshot(s.state, after, sizeof(after));
	assert_string_equal(before, after);
	scratch_remove(&s);
}

static void test_init_never_replaces_a_key(void **state)
{
	const char *args[] = { "cluster", "init", "--state", NULL, "--cluster", "prod",
			       "--server-name", "srv1", NULL };
	struct scratch s;
	struct run r;
	char buf[64];
	int n = 0;
	DIR *d;
	(void)state;

	scratch_make(&s);
	assert_int_equal(mkdir(s.state, 0700), 0);
	write_text(in(s.state, "operator.key"), "precious\n");
	args[3] = s.state;
	run_cmd(&r, init_cmd, NULL, args);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_int_equal(count_lines(r.err), 1);
	assert_non_null(strstr(r.err, "operator.key exists"));
	read_text(in(s.state, "operator.key"), buf, sizeof(buf));
	assert_string_equal(buf, "precious\n");
	d = opendir(s.state);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(n, 1);
	scratch_remove(&s);
}

static void test_init_bad_flags(void **state)
{
	static const char *const cases[][12] = {
		{ "cluster", "init", "--cluster", "prod", "--server-name", "s", NULL },
		{ "cluster", "init", "--state", "X", "--server-name", "s", NULL },
		{ "cluster", "init", "--state", "X", "--cluster", "prod", NULL },
		{ "cluster", "init", "--state", "X", "--cluster", "Prod", "--server-name", "s",
		  NULL },
		{ "cluster", "init", "--state", "X", "--cluster", "prod", "--server-name", "-s",
		  NULL },
		{ "cluster", "init", "--state", "X", "--cluster", "prod", "--server-name", "s",
		  "--bogus", NULL },
		{ "cluster", "init", "--state", "X", "--cluster", "prod", "--server-name", "s",
		  "--ca-days=0", NULL },
		{ "cluster", "init", "--state", "X", "--cluster", "prod", "--server-name", "s",
		  "--server-days=400", NULL },
		{ "cluster", "init", "--state", "X", "--cluster", "prod", "--ca-days", "10",
		  "--server-name", "s", "--server-days=20", NULL },
		{ "cluster", "bogus", NULL },
	};
	struct scratch s;
	(void)state;

	scratch_make(&s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[12];
		struct run r;

		memcpy(args, cases[i], sizeof(args));
		for (int j = 0; args[j]; j++)
			if (!strcmp(args[j], "X"))
				args[j] = s.state;
		run_cmd(&r, init_cmd, NULL, args);
		assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
		assert_int_equal(count_lines(r.err), 1);
		assert_string_equal(r.out, "");
		/* Nothing was made. */
		assert_int_equal(access(s.state, F_OK), -1);
	}
	scratch_remove(&s);
}

/* ---- node add / list / remove ------------------------------------------- */

static int node_cmd(const struct dsmctl_global *g, int argc, char **argv)
{
	return dsmctl_cmd_node(g, argc, argv);
}

/* Run a command against a fake server serving one exchange. */
static void against(struct run *r, cmd_fn fn, const char *const *args, const char *answer,
		    char *request, int *got_fd)
{
	struct fake f = { .n = 1, .answer = { answer } };
	struct scratch s;

	scratch_make(&s);
	fake_start(&f, s.sock);
	run_cmd(r, fn, s.sock, args);
	fake_stop(&f);
	strcpy(request, f.request[0]);
	if (got_fd)
		*got_fd = f.got_fd[0];
	else if (f.got_fd[0] >= 0)
		close(f.got_fd[0]);
	scratch_remove(&s);
}

static void test_node_add(void **state)
{
	const char *args[] = { "node", "add", "web1", "--ttl", "2h", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, node_cmd, args, "{\"name\":\"web1\",\"id\":4,\"token\":\"" TOKEN "\","
		"\"expires\":1800000000}", req, NULL);
	assert_string_equal(req, "node-add web1 7200\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out,
		"node web1 (id 4) added: join token valid once, until 2027-01-15T08:00:00Z\n"
		"token   " TOKEN "\n"
		"on the node, run (HOST:PORT: where dsm-server listens for nodes):\n"
		"  dsmd --join HOST:PORT --token " TOKEN " [other dsmd options]\n");
}

static void test_node_add_default_ttl_and_bad_token(void **state)
{
	const char *args[] = { "node", "add", "web1", NULL };
	struct run r;
	char req[600];
	(void)state;

	/* A token that is not 64 hex characters is not handed out. */
	against(&r, node_cmd, args, "{\"name\":\"web1\",\"id\":4,\"token\":\"abc\","
		"\"expires\":1800000000}", req, NULL);
	assert_string_equal(req, "node-add web1\n");
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_string_equal(r.out, "");
	assert_int_equal(count_lines(r.err), 1);
}

#define NODES "[{\"name\":\"web2\",\"id\":2,\"state\":\"pending\",\"address\":null," \
	      "\"policy_version\":0,\"cert_expires\":0,\"last_seen\":0,\"connected\":false," \
	      "\"alarms\":0}," \
	      "{\"name\":\"web1\",\"id\":1,\"state\":\"enrolled\",\"address\":\"10.0.0.5:41000\"," \
	      "\"policy_version\":3,\"policy_result\":\"ok\",\"cert_expires\":1800000000," \
	      "\"last_seen\":0,\"connected\":true,\"alarms\":12}]"

static void test_node_list_table(void **state)
{
	const char *args[] = { "node", "list", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, node_cmd, args, "{\"nodes\":" NODES "}", req, NULL);
	assert_string_equal(req, "node-list\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
		"NAME  ID  STATE     ADDRESS         POLICY  CERT-EXPIRES          LAST-SEEN  ALARMS  CONNECTED\n"
		"web1   1  enrolled  10.0.0.5:41000  3 (ok)  2027-01-15T08:00:00Z  never          12  yes\n"
		"web2   2  pending   -               -       -                     never           0  no\n");
}

static void test_node_list_json_and_empty(void **state)
{
	const char *json[] = { "node", "list", "--json", NULL }, *text[] = { "node", "list", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, node_cmd, json, "{\"nodes\":[]}", req, NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "{\n  \"nodes\": [\n  ]\n}\n");
	against(&r, node_cmd, text, "{\"nodes\":[]}", req, NULL);
	assert_string_equal(r.out, "no nodes\n");
	/* An answer without the array is an error, not an empty cluster. */
	against(&r, node_cmd, text, "{\"nodez\":[]}", req, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_int_equal(count_lines(r.err), 1);
}

static void test_nodes_last_seen(void **state)
{
	struct json_object *nodes = json_tokener_parse(
		"[{\"name\":\"a\",\"id\":1,\"state\":\"enrolled\",\"last_seen\":1000,"
		"\"keygen\":2,\"connected\":true,\"alarms\":0},"
		"{\"name\":\"b\",\"id\":2,\"state\":\"enrolled\",\"last_seen\":1000,"
		"\"connected\":false,\"alarms\":0}]");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	(void)state;

	assert_non_null(nodes);
	assert_int_equal(dsmctl_format_nodes(out, nodes, DSMCTL_NODES_KEYGEN, 1000 + 3 * 3600 + 5),
			 0);
	fclose(out);
	assert_string_equal(buf,
		"NAME  ID  STATE     ADDRESS  POLICY  KEYGEN  LAST-SEEN  ALARMS  CONNECTED\n"
		"a      1  enrolled  -        -       2       3h ago          0  yes\n"
		"b      2  enrolled  -        -       -       3h ago          0  no\n");
	free(buf);
	json_object_put(nodes);
}

static void test_node_remove_and_error(void **state)
{
	const char *args[] = { "node", "remove", "web1", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, node_cmd, args, "{\"removed\":\"web1\"}", req, NULL);
	assert_string_equal(req, "node-remove web1\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "removed node web1: its name and certificates are denied, "
			    "its session closed\n");
	against(&r, node_cmd, args, "{\"error\":\"node-remove: no node 'web1'\"}", req, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "dsmctl: node-remove: no node 'web1'\n");
	/* An answer about another node is not a removal. */
	against(&r, node_cmd, args, "{\"removed\":\"web2\"}", req, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
}

/* ---- cluster status, policy status, alarms ------------------------------ */

static void test_cluster_status(void **state)
{
	const char *args[] = { "cluster", "status", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, init_cmd, args, "{\"cluster\":\"prod\",\"server\":\"srv1\",\"version\":3,"
		"\"nodes\":" NODES "}", req, NULL);
	assert_string_equal(req, "status\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
		"cluster         prod\n"
		"server          srv1\n"
		"policy          version 3\n"
		"nodes           2, 1 connected\n"
		"\n"
		"NAME  ID  STATE     ADDRESS         POLICY  LAST-SEEN  ALARMS  CONNECTED\n"
		"web1   1  enrolled  10.0.0.5:41000  3 (ok)  never          12  yes\n"
		"web2   2  pending   -               -       never           0  no\n");
}

static void test_policy_status(void **state)
{
	const char *args[] = { "policy", "status", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, policy_cmd, args, "{\"version\":3,\"nodes\":["
		"{\"name\":\"web2\",\"policy_version\":2,\"policy_result\":\"ok\"},"
		"{\"name\":\"web1\",\"policy_version\":3,\"policy_result\":\"ok\"},"
		"{\"name\":\"web3\"}]}", req, NULL);
	assert_string_equal(req, "policy-status\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
		"policy          version 3\n"
		"\n"
		"NAME  VERSION  RESULT  STATE\n"
		"web1        3  ok      current\n"
		"web2        2  ok      behind\n"
		"web3        -  -       none\n");
}

static int keys_cmd(const struct dsmctl_global *g, int argc, char **argv)
{
	return dsmctl_cmd_keys(g, argc, argv);
}

static void test_keys_status(void **state)
{
	const char *args[] = { "keys", "status", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, keys_cmd, args, "{\"current\":4,\"current_since\":1796150000,"
		"\"rotation\":{\"generation\":5,\"phase\":\"install\",\"since\":1796150060,"
		"\"started\":1796150060,\"grace_ms\":60000,\"reason\":\"node web3 removed\"},"
		"\"queued\":false,\"interval_s\":86400,\"nodes\":["
		"{\"name\":\"web1\",\"id\":1,\"address\":\"10.0.0.5\",\"key_generation\":5,"
		"\"connected\":true,\"acked\":[\"install\"],\"pending\":false,\"overdue\":false},"
		"{\"name\":\"web2\",\"id\":2,\"address\":\"10.0.0.6\",\"key_generation\":4,"
		"\"connected\":false,\"acked\":[],\"pending\":true,\"overdue\":true}]}",
		req, NULL);
	assert_string_equal(req, "keys-status\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
		"generation  4 since 2026-12-01T18:33:20Z\n"
		"rotation    to 5, phase install since 2026-12-01T18:34:20Z (node web3 removed)\n"
		"periodic    every 86400 s\n"
		"\n"
		"NAME                     ID ADDRESS         KEYGEN ACKED                  STATE\n"
		"web1                      1 10.0.0.5             5 install                done\n"
		"web2                      2 10.0.0.6             4 -                      "
		"pending, overdue, not connected\n");
	/* an answer without nodes is not a status */
	against(&r, keys_cmd, args, "{\"current\":4}", req, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
}

static void test_keys_rotate(void **state)
{
	const char *now[] = { "keys", "rotate", "--now", NULL };
	const char *plain[] = { "keys", "rotate", NULL };
	struct run r;
	char req[600];
	(void)state;

	against(&r, keys_cmd, now, "{\"generation\":6,\"queued\":false,\"grace_ms\":30000}",
		req, NULL);
	assert_string_equal(req, "keys-rotate now\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "rotation to generation 6 started; see dsmctl keys status\n");
	against(&r, keys_cmd, plain, "{\"generation\":6,\"queued\":true,\"grace_ms\":60000}",
		req, NULL);
	assert_string_equal(req, "keys-rotate\n");
	assert_string_equal(r.out, "rotation queued: it starts when the rotation to generation 6 "
			    "is done\n");
	against(&r, keys_cmd, plain, "{\"error\":\"keys-rotate: Value too large\"}", req, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_string_equal(r.err, "dsmctl: keys-rotate: Value too large\n");
}

#define ALARM1 "{\"time\":\"2026-11-27T06:30:00.123456Z\",\"node\":\"web1\",\"seq\":1," \
	       "\"pid\":812,\"comm\":\"nc\",\"subject\":\"web\",\"target\":\"db\"," \
	       "\"class\":\"socket\",\"perm\":\"connect\",\"verdict\":\"deny\"}"

static int alarms_cmd(const struct dsmctl_global *g, int argc, char **argv)
{
	return dsmctl_cmd_alarms(g, argc, argv);
}

static void test_alarms_cluster(void **state)
{
	const char *args[] = { "alarms", "--cluster", NULL };
	struct fake f = { .n = 2, .answer = { "{\"alarms\":[" ALARM1 "],\"next\":310}",
					      "{\"alarms\":[],\"next\":310}" } };
	struct scratch s;
	struct run r;
	(void)state;

	scratch_make(&s);
	fake_start(&f, s.sock);
	run_cmd(&r, alarms_cmd, s.sock, args);
	fake_stop(&f);
	assert_string_equal(f.request[0], "alarms 0\n");
	assert_string_equal(f.request[1], "alarms 310\n");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "2026-11-27T06:30:00.123456Z web1 deny web -> db socket "
			    "connect pid=812 comm=nc\n");
	scratch_remove(&s);
}

/* ---- policy push -------------------------------------------------------- */

static void test_policy_push_sends_signed_fd(void **state)
{
	const char *args[] = { "policy", "push", NULL, "--state", NULL, NULL };
	struct dsm_sign_pubkey *pub = NULL;
	struct dsm_signed_info info;
	struct scratch s;
	struct run r;
	uint8_t buf[65536];
	char req[600], before[16384], after[16384], src[256];
	ssize_t n;
	int fd = -1;
	(void)state;

	scratch_make(&s);
	cluster_init_ok(s.state);
	snprintf(src, sizeof(src), "%s/p.policy", s.dir);
	write_text(src, POLICY_SRC);
	args[2] = src;
	args[4] = s.state;
	snapshot(s.state, before, sizeof(before));
	against(&r, policy_cmd, args, "{\"version\":7,\"sent_to\":2}", req, &fd);
	assert_string_equal(req, "policy-push\n");
	assert_true(fd >= 0);
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	assert_true(n > 0);
	assert_int_equal(dsm_sign_pubkey_read_file(in(s.state, "operator.pub"), &pub), 0);
	assert_int_equal(dsm_signed_verify(buf, (size_t)n, pub, "prod", 6, (uint64_t)time(NULL),
					   &info, NULL), 0);
	assert_int_equal(info.version, 7);
	assert_string_equal(info.policy, "push-test");
	/* Valid 30 days by default. */
	assert_int_equal(info.expires_at - info.issued_at, 30 * 86400);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "pushed policy 'push-test' version 7 to 2 nodes\n");
	/* Nothing was written next to the keys. */
	snapshot(s.state, after, sizeof(after));
	assert_string_equal(before, after);
	dsm_sign_pubkey_free(pub);
	scratch_remove(&s);
}

static void test_policy_push_answer_checked(void **state)
{
	const char *args[] = { "policy", "push", NULL, "--key", NULL, "--cluster", "prod",
			       "--expires", "1h", NULL };
	struct scratch s;
	struct run r;
	char req[600], src[256], key[256];
	(void)state;

	scratch_make(&s);
	cluster_init_ok(s.state);
	snprintf(src, sizeof(src), "%s/p.policy", s.dir);
	snprintf(key, sizeof(key), "%s/operator.key", s.state);
	write_text(src, POLICY_SRC);
	args[2] = src;
	args[4] = key;
	/* The server speaking of another version did not take this one. */
	against(&r, policy_cmd, args, "{\"version\":6,\"sent_to\":2}", req, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_int_equal(count_lines(r.err), 1);
	against(&r, policy_cmd, args, "{\"error\":\"policy-push: version 7 is not newer than "
		"version 7\"}", req, NULL);
	assert_int_equal(r.status, DSMCTL_EXIT_FAIL);
	assert_string_equal(r.err, "dsmctl: policy-push: version 7 is not newer than version 7\n");
	scratch_remove(&s);
}

/* ---- usage errors, no server -------------------------------------------- */

static void test_bad_flags_exit_2(void **state)
{
	static const char *const node_cases[][6] = {
		{ "node", NULL },
		{ "node", "bogus", NULL },
		{ "node", "add", NULL },
		{ "node", "add", "web1", "web2", NULL },
		{ "node", "add", "Web1", NULL },
		{ "node", "add", "web1", "--ttl", "2d", NULL },
		{ "node", "add", "web1", "--ttl", "x", NULL },
		{ "node", "list", "--bogus", NULL },
		{ "node", "remove", NULL },
	};
	static const char *const policy_cases[][10] = {
		{ "policy", "push", NULL },
		{ "policy", "push", "p.policy", NULL },
		{ "policy", "push", "p.policy", "--key", "k", NULL },
		{ "policy", "push", "p.policy", "--key", "k", "--cluster", "a b", NULL },
		{ "policy", "push", "p.policy", "--key", "k", "--cluster", "c", "--expires=0", NULL },
		{ "policy", "status", "--bogus", NULL },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(node_cases) / sizeof(node_cases[0]); i++) {
		struct run r;

		run_cmd(&r, node_cmd, "/nonexistent/server.sock", node_cases[i]);
		assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
		assert_int_equal(count_lines(r.err), 1);
		assert_string_equal(r.out, "");
	}
	for (size_t i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++) {
		struct run r;

		run_cmd(&r, policy_cmd, "/nonexistent/server.sock", policy_cases[i]);
		assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
		assert_int_equal(count_lines(r.err), 1);
	}
}

static void test_no_server_exit_3(void **state)
{
	static const char *const cases[][4] = {
		{ "node", "list", NULL },
		{ "node", "add", "web1", NULL },
		{ "cluster", "status", NULL },
	};
	struct scratch s;
	(void)state;

	scratch_make(&s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		run_cmd(&r, i < 2 ? node_cmd : init_cmd, s.sock, cases[i]);
		assert_int_equal(r.status, DSMCTL_EXIT_NOT_RUNNING);
		assert_int_equal(count_lines(r.err), 1);
		assert_non_null(strstr(r.err, s.sock));
		assert_non_null(strstr(r.err, "dsm-server"));
	}
	scratch_remove(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_files_and_modes),
		cmocka_unit_test(test_init_server_identity),
		cmocka_unit_test(test_init_operator_key_signs),
		cmocka_unit_test(test_init_twice_refused),
		cmocka_unit_test(test_init_never_replaces_a_key),
		cmocka_unit_test(test_init_bad_flags),
		cmocka_unit_test(test_keys_status),
		cmocka_unit_test(test_keys_rotate),
		cmocka_unit_test(test_node_add),
		cmocka_unit_test(test_node_add_default_ttl_and_bad_token),
		cmocka_unit_test(test_node_list_table),
		cmocka_unit_test(test_node_list_json_and_empty),
		cmocka_unit_test(test_nodes_last_seen),
		cmocka_unit_test(test_node_remove_and_error),
		cmocka_unit_test(test_cluster_status),
		cmocka_unit_test(test_policy_status),
		cmocka_unit_test(test_alarms_cluster),
		cmocka_unit_test(test_policy_push_sends_signed_fd),
		cmocka_unit_test(test_policy_push_answer_checked),
		cmocka_unit_test(test_bad_flags_exit_2),
		cmocka_unit_test(test_no_server_exit_3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
