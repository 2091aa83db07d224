// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl alarms --suggest on a recorded alarm log: the rules it prints,
 * appended to the policy and compiled, allow exactly the denials in the
 * log (checked with the decision library, dsm_perms(): every denied
 * request is allowed afterwards, and every permission the new policy adds
 * is one of them, so a request not in the log stays denied); alarms that
 * are not policy denials are listed as "# not suggested" comments, never
 * as rules; --json says the same; --follow and --cluster are refused.
 * Against a fake dsmd: --suggest and policy explain take the policy its
 * status names (a version that differs is warned about, a relative path
 * refused), explain exits 0 allowed, 1 denied, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmctl/client.c"
#undef READ_CHUNK
#include "../../dsmctl/cmd_alarms.c"
#include "../../dsmctl/cmd_explain.c"
#include "../../dsmctl/cmd_suggest.c"
#include "../../dsmctl/common.c"
#include "../../dsmctl/format.c"
#include "../../dsmctl/server_client.c"
#include "dsmctl_run.h"

void dsmctl_usage(FILE *out)
{
	fputs("usage\n", out);
}

static const char policy_src[] =
	"policy s version 4;\n"
	"node n1 = 1; node n2 = 2;\n"
	"label init = 1; label dsmd = 2; label web = 10; label db = 20; label ext = 40;\n"
	"initial init;\n"
	"service_manager init;\n"
	"allow dsmd self : system { bpf dsm_files dsm_read mount net };\n"
	"allow web db : socket inet stream connect;\n"
	"allow web self : process fork;\n"
	"unlabeled 0.0.0.0/0 -> ext;\n";

/* Recorded: socket create/send (and 7 more sends the rate limit held back)
 * and connect on inet dgram, a permissive signal, an exec, peer recv from
 * db@n2 and from unlabeled ext@any; and what must not become a rule: a
 * forged packet, system mount, a signal to dsmd's label, a socket family
 * the language cannot name (40, AF_VSOCK), a request already allowed,
 * dsm admin, a failure closed without labels. */
static const char log_text[] =
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"nc\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"socket\",\"perm\":\"create\",\"verdict\":\"deny\",\"errno\":13,\"aux\":513}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"nc\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"socket\",\"perm\":\"send\",\"verdict\":\"deny\",\"errno\":13,\"aux\":513}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"socket\",\"perm\":\"send\",\"verdict\":\"deny\",\"suppressed\":7,\"aux\":513}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"nc\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"socket\",\"perm\":\"connect\",\"verdict\":\"deny\",\"errno\":13,\"aux\":514}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"kill\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"process\",\"perm\":\"signal\",\"verdict\":\"permissive\",\"errno\":0,\"aux\":15}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"x\",\"subject\":\"db\",\"subject_id\":20,\"subject_node\":\"n2\",\"target\":\"web\",\"target_id\":10,\"class\":\"peer\",\"perm\":\"recv\",\"verdict\":\"deny\",\"errno\":13,\"saddr\":\"10.0.0.2\",\"subject_node_id\":2,\"reason\":\"policy\",\"aux\":0}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"x\",\"subject\":\"ext\",\"subject_id\":40,\"subject_node\":\"any\",\"target\":\"web\",\"target_id\":10,\"class\":\"peer\",\"perm\":\"recv\",\"verdict\":\"deny\",\"errno\":13,\"saddr\":\"8.8.8.8\",\"subject_node_id\":4294967295,\"reason\":\"policy\",\"aux\":0}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"x\",\"subject\":\"db\",\"subject_id\":20,\"subject_node\":\"n2\",\"target\":\"web\",\"target_id\":10,\"class\":\"peer\",\"perm\":\"recv\",\"verdict\":\"deny\",\"errno\":129,\"saddr\":\"10.0.0.9\",\"subject_node_id\":2,\"reason\":\"forged\",\"aux\":0}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"mount\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"web\",\"target_id\":10,\"class\":\"system\",\"perm\":\"mount\",\"verdict\":\"deny\",\"errno\":1,\"aux\":0}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"kill\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"dsmd\",\"target_id\":2,\"class\":\"process\",\"perm\":\"signal\",\"verdict\":\"deny\",\"errno\":1,\"aux\":9}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"nc\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"socket\",\"perm\":\"create\",\"verdict\":\"deny\",\"errno\":13,\"aux\":10241}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"nc\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"socket\",\"perm\":\"connect\",\"verdict\":\"deny\",\"errno\":13,\"aux\":513}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"sh\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"db\",\"target_id\":20,\"class\":\"file\",\"perm\":\"exec\",\"verdict\":\"deny\",\"errno\":13,\"aux\":0}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"ctl\",\"subject\":\"web\",\"subject_id\":10,\"subject_node\":\"n1\",\"target\":\"dsmd\",\"target_id\":2,\"class\":\"dsm\",\"perm\":\"admin\",\"verdict\":\"deny\",\"errno\":13,\"aux\":0}\n"
	"{\"time\":\"2026-11-27T06:30:00.000001Z\",\"node\":\"n1\",\"node_id\":1,\"pid\":1,\"comm\":\"ctl\",\"subject_id\":0,\"subject_node\":\"n1\",\"target_id\":0,\"class\":\"socket\",\"perm\":\"create\",\"verdict\":\"deny\",\"errno\":13,\"aux\":0}\n";

struct run {
	int status;
	char out[16384], err[4096];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* dsmctl alarms ARGS..., output captured; no dsmd (the socket does not
 * exist), so everything comes from --file and --policy. */
static void alarms(struct run *r, int argc, char **argv)
{
	const struct dsmctl_global g = { .socket = "/nonexistent/dsmd.sock" };

	r->status = dsmctl_run_captured(dsmctl_cmd_alarms, &g, argc, argv, r->out,
					sizeof(r->out), r->err, sizeof(r->err));
}

struct files {
	char dir[64], log[96], pol[96];
};

static void make_files(struct files *f)
{
	strcpy(f->dir, "/tmp/dsmctl-suggest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/alarms.jsonl", f->dir);
	snprintf(f->pol, sizeof(f->pol), "%s/s.policy", f->dir);
	write_file(f->log, log_text);
	write_file(f->pol, policy_src);
}

static void remove_files(struct files *f)
{
	unlink(f->log);
	unlink(f->pol);
	rmdir(f->dir);
}

static struct dsm_policy *compile(const char *text)
{
	struct dsm_policy *p = NULL;
	struct dsm_diags d = { 0 };
	int r = dsm_policy_compile("s.policy", text, strlen(text), &p, &d);

	for (size_t i = 0; i < d.n; i++) {
		char line[512];

		dsm_diag_format(&d.v[i], line, sizeof(line));
		print_message("%s\n", line);
	}
	dsm_diags_free(&d);
	assert_int_equal(r, 0);
	return p;
}

struct req {
	uint8_t class;
	uint16_t qual;
	uint32_t subject, node, target, perm;
};

#define Q(f, t) ((uint16_t)((f) << 8 | (t)))
#define INET_STREAM Q(AF_INET, SOCK_STREAM)
#define INET_DGRAM  Q(AF_INET, SOCK_DGRAM)
#define ANY         DSM_QUAL_ANY
#define NANY        DSM_NODE_ANY

/* The policy denials of the log, which the suggestions must allow. */
static const struct req denied[] = {
	{ DSM_CLASS_SOCKET, INET_STREAM, 10, NANY, 20, DSM_PERM_CREATE },
	{ DSM_CLASS_SOCKET, INET_STREAM, 10, NANY, 20, DSM_PERM_SEND },
	{ DSM_CLASS_SOCKET, INET_DGRAM, 10, NANY, 20, DSM_PERM_CONNECT },
	{ DSM_CLASS_PROCESS, ANY, 10, NANY, 20, DSM_PERM_SIGNAL },
	{ DSM_CLASS_FILE, ANY, 10, NANY, 20, DSM_PERM_EXEC },
	{ DSM_CLASS_PEER, ANY, 20, 2, 10, DSM_PERM_PEER_RECV },
	{ DSM_CLASS_PEER, ANY, 40, NANY, 10, DSM_PERM_PEER_RECV },
};

/* Requests near them that are not in the log (or were not suggested). */
static const struct req still_denied[] = {
	{ DSM_CLASS_SOCKET, INET_STREAM, 10, NANY, 20, DSM_PERM_BIND },
	{ DSM_CLASS_SOCKET, INET_DGRAM, 10, NANY, 20, DSM_PERM_SEND },
	{ DSM_CLASS_SOCKET, Q(AF_UNIX, SOCK_STREAM), 10, NANY, 20, DSM_PERM_CREATE },
	{ DSM_CLASS_SOCKET, Q(40, SOCK_STREAM), 10, NANY, 20, DSM_PERM_CREATE },
	{ DSM_CLASS_PROCESS, ANY, 20, NANY, 10, DSM_PERM_SIGNAL },
	{ DSM_CLASS_PROCESS, ANY, 10, NANY, 2, DSM_PERM_SIGNAL },
	{ DSM_CLASS_PROCESS, ANY, 10, NANY, 20, DSM_PERM_PTRACE },
	{ DSM_CLASS_PEER, ANY, 20, 1, 10, DSM_PERM_PEER_RECV },
	{ DSM_CLASS_PEER, ANY, 40, NANY, 20, DSM_PERM_PEER_RECV },
	{ DSM_CLASS_SYSTEM, ANY, 10, NANY, 10, DSM_PERM_MOUNT },
	{ DSM_CLASS_DSM, ANY, 10, NANY, 2, DSM_PERM_ADMIN },
};

static bool allowed(const struct dsm_policy *p, const struct req *r)
{
	return dsm_perms(p, r->class, r->qual, r->subject, r->node, r->target) & r->perm;
}

/* Is (key, bit) one of the denied requests, as the kernel would look it up? */
static bool in_log(const struct dsm_policy *after, const struct dsm_key_rule *k, uint32_t bit)
{
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		const struct req *r = &denied[i];
		struct dsm_pkey q = dsm_key_rule(r->class, r->qual, r->subject, r->node, r->target);

		dsm_rule_lookup(after, &q);
		if (r->perm == bit && !memcmp(&q.rule, k, sizeof(*k)))
			return true;
	}
	return false;
}

static void test_suggested_rules_allow_exactly_the_denials(void **state)
{
	struct files f;
	struct run r;
	struct dsm_policy *before, *after;
	char *argv[] = { "alarms", "--suggest", "--file", f.log, "--policy", f.pol, NULL };
	char *text;
	size_t n;
	const struct dsm_entry *e;

	(void)state;
	make_files(&f);
	argv[3] = f.log;
	argv[5] = f.pol;
	alarms(&r, 6, argv);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, "# FOR REVIEW ONLY: nothing here is applied."));
	assert_non_null(strstr(r.out, "\nallow web db : socket inet stream { create send };  # 9 alarms\n"));
	assert_non_null(strstr(r.out, "\nallow web db : socket inet dgram connect;"));
	assert_non_null(strstr(r.out, "\nallow web db : process signal;"));
	assert_non_null(strstr(r.out, "\nallow web db : file exec;"));
	assert_non_null(strstr(r.out, "\nallow db@n2 web : peer recv;"));
	assert_non_null(strstr(r.out, "\nallow ext@any web : peer recv;"));
	assert_non_null(strstr(r.out, "# not suggested (1 alarm): db@n2 -> web peer recv from 10.0.0.9: a forged packet"));
	assert_non_null(strstr(r.out, "# not suggested (1 alarm): web -> web system mount: class system"));
	assert_non_null(strstr(r.out, "# not suggested (1 alarm): web -> dsmd process signal: the target label holds system permissions"));
	assert_non_null(strstr(r.out, "socket family 40 type 1"));
	assert_non_null(strstr(r.out, "web -> db socket connect: the policy already allows it"));
	assert_non_null(strstr(r.out, "web -> dsmd dsm admin: dsm admin controls dsm itself"));
	assert_non_null(strstr(r.out, "dsm failed closed"));
	/* Six rules, nothing else that is not a comment. */
	n = 0;
	for (const char *l = r.out; *l; l = strchr(l, '\n') + 1) {
		if (*l != '#' && *l != '\n')
			n++;
		assert_false(*l == 'a' && strstr(l, "*") && strstr(l, "*") < strchr(l, '\n'));
	}
	assert_int_equal(n, 6);

	before = compile(policy_src);
	assert_true(asprintf(&text, "%s%s", policy_src, r.out) > 0);
	after = compile(text);
	free(text);
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		assert_false(allowed(before, &denied[i]));
		assert_true(allowed(after, &denied[i]));
	}
	for (size_t i = 0; i < sizeof(still_denied) / sizeof(still_denied[0]); i++)
		assert_false(allowed(after, &still_denied[i]));
	/* Exactly: every permission the new policy holds that the old one did
	 * not decide to allow is one of the denials. */
	e = dsm_policy_entries(after, &n);
	for (size_t i = 0; i < n; i++) {
		const struct dsm_key_rule *k = &e[i].key.rule;
		uint32_t old;

		if (e[i].key.kind != DSM_KEY_RULE)
			continue;
		old = dsm_perms(before, k->class, k->qual, k->subject, k->node, k->target);
		for (uint32_t b = 1; b; b <<= 1)
			if ((e[i].val.perms & b) && !(old & b))
				assert_true(in_log(after, k, b));
	}
	dsm_policy_free(before);
	dsm_policy_free(after);
	remove_files(&f);
}

static void test_json(void **state)
{
	struct files f;
	struct run r;
	char *argv[] = { "alarms", "--suggest", "--json", "--file", NULL, "--policy", NULL, NULL };
	struct json_object *o, *rules, *skips, *v;

	(void)state;
	make_files(&f);
	argv[4] = f.log;
	argv[6] = f.pol;
	alarms(&r, 7, argv);
	assert_int_equal(r.status, 0);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "rules", &rules));
	assert_true(json_object_object_get_ex(o, "not_suggested", &skips));
	assert_int_equal(json_object_array_length(rules), 6);
	assert_int_equal(json_object_array_length(skips), 7);
	assert_true(json_object_object_get_ex(o, "note", &v));
	assert_non_null(strstr(json_object_get_string(v), "never applied"));
	v = json_object_array_get_idx(rules, 2);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "rule")),
			    "allow web db : socket inet stream { create send };");
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "alarms")), 9);
	assert_int_equal(json_object_array_length(json_object_object_get(v, "perms")), 2);
	json_object_put(o);
	remove_files(&f);
}

static void test_usage(void **state)
{
	struct run r;
	char *follow[] = { "alarms", "--suggest", "--follow", NULL };
	char *cluster[] = { "alarms", "--suggest", "--cluster", NULL };
	char *policy[] = { "alarms", "--policy", "x", NULL };
	char *nodsmd[] = { "alarms", "--suggest", "--file", "/nonexistent/log", NULL };

	(void)state;
	alarms(&r, 3, follow);
	assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
	alarms(&r, 3, cluster);
	assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
	alarms(&r, 3, policy);
	assert_int_equal(r.status, DSMCTL_EXIT_USAGE);
	/* No --policy and no dsmd to ask which: not running, nothing made up. */
	alarms(&r, 4, nodsmd);
	assert_int_equal(r.status, DSMCTL_EXIT_NOT_RUNNING);
	assert_string_equal(r.out, "");
}

/* ---- against a fake dsmd: the policy its status names -------------------- */

struct fake {
	int fd, conns;
	char status[512], requests[512];
	const char *alarms;
	pthread_t thread;
};

/* Serve conns connections: "status" gets the status, "alarms" the stream. */
static void *fake_run(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < f->conns; i++) {
		int c = accept(f->fd, NULL, NULL);
		char req[64] = "", ch;
		size_t got = 0;
		const char *ans;

		if (c < 0)
			return NULL;
		while (got + 1 < sizeof(req) && read(c, &ch, 1) == 1 && ch != '\n')
			req[got++] = ch;
		strncat(f->requests, req, sizeof(f->requests) - strlen(f->requests) - 2);
		strcat(f->requests, ";");
		ans = !strcmp(req, "status") ? f->status : f->alarms;
		if (send(c, ans, strlen(ans), MSG_NOSIGNAL) < 0)
			perror("fake: send");
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *sock, const char *source, int version,
		       int conns)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	f->conns = conns;
	snprintf(f->status, sizeof(f->status),
		 "{\"node\":{\"id\":1,\"name\":\"n1\"},\"policy\":{\"name\":\"s\","
		 "\"version\":%d,\"source\":\"%s\"}}\n", version, source);
	f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, sock);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->fd, 4), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake *f, const char *sock)
{
	pthread_join(f->thread, NULL);
	close(f->fd);
	unlink(sock);
}

/* Run fn(g, argc, argv) with output captured. */
static void run_cmd(struct run *r, int (*fn)(const struct dsmctl_global *, int, char **),
		    const char *sock, int argc, char **argv)
{
	const struct dsmctl_global g = { .socket = sock };

	r->status = dsmctl_run_captured(fn, &g, argc, argv, r->out, sizeof(r->out), r->err,
					sizeof(r->err));
}

static void test_from_dsmd(void **state)
{
	struct files f;
	struct fake fk = { .fd = -1 };
	struct run r;
	char sock[128], *stream;
	char *suggest[] = { "alarms", "--suggest", NULL };
	char *allowed[] = { "policy", "explain", "web", "db", "socket", "connect", "--family",
			    "inet", "--type", "stream", NULL };
	char *denied[] = { "policy", "explain", "db@n1", "web", "peer", "recv", NULL };
	char *usage[] = { "policy", "explain", "web", "db", "socket", NULL };

	(void)state;
	make_files(&f);
	snprintf(sock, sizeof(sock), "%s/dsmd.sock", f.dir);
	assert_true(asprintf(&stream, "{\"stream\":\"alarms\",\"follow\":false}\n%s"
			     "{\"end\":\"alarms\",\"lost_files\":0}\n", log_text) > 0);
	fk.alarms = stream;

	/* --suggest: the alarms from dsmd, then its policy from its status. */
	fake_start(&fk, sock, f.pol, 4, 2);
	run_cmd(&r, dsmctl_cmd_alarms, sock, 2, suggest);
	fake_stop(&fk, sock);
	assert_int_equal(r.status, 0);
	assert_string_equal(fk.requests, "alarms;status;");
	assert_non_null(strstr(r.out, "for policy 's' version 4"));
	assert_non_null(strstr(r.out, "\nallow web db : socket inet stream { create send };"));

	/* explain: allowed (exit 0) by the line of the file dsmd names. */
	memset(fk.requests, 0, sizeof(fk.requests));
	fake_start(&fk, sock, f.pol, 4, 1);
	run_cmd(&r, dsmctl_policy_explain, sock, 10, allowed);
	fake_stop(&fk, sock);
	assert_int_equal(r.status, 0);
	assert_string_equal(fk.requests, "status;");
	{
		char want[256];

		snprintf(want, sizeof(want),
			 "allowed by %s:7:1: allow web db : socket inet stream connect;\n", f.pol);
		assert_string_equal(r.out, want);
	}
	assert_string_equal(r.err, "");

	/* denied (exit 1); the file's version differs from dsmd's: a warning. */
	fake_start(&fk, sock, f.pol, 3, 1);
	run_cmd(&r, dsmctl_policy_explain, sock, 6, denied);
	fake_stop(&fk, sock);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "denied: no rule allows peer recv from db@n1 to web\n"));
	assert_non_null(strstr(r.err, "is version 4, dsmd enforces version 3"));

	/* A relative path is dsmd's, not ours: refused. */
	fake_start(&fk, sock, "s.policy", 4, 1);
	run_cmd(&r, dsmctl_policy_explain, sock, 6, denied);
	fake_stop(&fk, sock);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "relative path"));
	assert_string_equal(r.out, "");

	/* Usage: exit 2, dsmd not asked. */
	run_cmd(&r, dsmctl_policy_explain, sock, 5, usage);
	assert_int_equal(r.status, 2);

	free(stream);
	remove_files(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suggested_rules_allow_exactly_the_denials),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_from_dsmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
