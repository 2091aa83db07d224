// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl policy push FILE (--key PRIVATE | --state DIR) [--cluster NAME]
 *                         [--expires DURATION] [--json]
 * dsmctl policy status [--json]
 *
 * push signs a policy (a bundle as it is, a source compiled) for the
 * cluster with the operator's key, exactly as `policy sign` does, checks
 * the envelope against the key's public half, and hands it to dsm-server
 * as a file descriptor (request `policy-push`): a sealed memfd, so nothing
 * is written to disk and the server reads what was signed. The server
 * verifies it again with operator.pub, stores it and sends it to every
 * connected node. With --state DIR the key defaults to DIR/operator.key and
 * the cluster is the one named in DIR/cluster.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dsmctl.h"
#include "policy_sign.h"
#include "server_client.h"

#define PUSH_EXPIRES_DEFAULT "30d"
#define CLUSTER_FILE_MAX     128

struct push_args {
	const char *file, *key, *state, *cluster, *expires;
	bool json;
	char key_buf[4096];
	char cluster_buf[CLUSTER_FILE_MAX];
	uint64_t lifetime;
};

static void push_usage(FILE *out)
{
	fputs("Usage: dsmctl policy push BUNDLE_OR_SOURCE (--key PRIVATE | --state DIR)\n"
	      "                          [--cluster NAME] [--expires DURATION] [--json]\n"
	      "       dsmctl policy status [--json]\n", out);
}

/* The one line of DIR/cluster, checked as a cluster name. 0, or 1 after
 * reporting why not. */
static int read_cluster_file(const char *dir, char *out, size_t len)
{
	char path[4096];
	FILE *f;
	size_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/cluster", dir) >= sizeof(path)) {
		dsmctl_error("policy push: --state %s: path too long", dir);
		return 1;
	}
	f = fopen(path, "re");
	if (!f) {
		dsmctl_error("policy push: %s: %s (not a state directory made by cluster init?)",
			     path, strerror(errno));
		return 1;
	}
	n = fread(out, 1, len - 1, f);
	fclose(f);
	out[n] = '\0';
	if (n && out[n - 1] == '\n')
		out[--n] = '\0';
	if (!dsm_sign_cluster_valid(out)) {
		dsmctl_error("policy push: %s: not one line with a cluster name", path);
		return 1;
	}
	return 0;
}

/* Fill in the key and cluster from --state. 0, or an exit status. */
static int push_resolve(struct push_args *a)
{
	if (!a->key && !a->state)
		return dsmctl_usage_error("policy push: missing --key PRIVATE (or --state DIR)");
	if (!a->cluster && !a->state)
		return dsmctl_usage_error("policy push: missing --cluster NAME (or --state DIR)");
	if (a->cluster && !dsm_sign_cluster_valid(a->cluster))
		return dsmctl_usage_error("policy push: bad cluster name '%s'", a->cluster);
	if (!dsmctl_parse_duration(a->expires ? a->expires : PUSH_EXPIRES_DEFAULT, &a->lifetime))
		return dsmctl_usage_error("policy push: bad --expires '%s' (N[smhdw], at most "
					  "3650d)", a->expires);
	if (!a->state)
		return 0;
	if (read_cluster_file(a->state, a->cluster_buf, sizeof(a->cluster_buf)))
		return DSMCTL_EXIT_FAIL;
	if (a->cluster && strcmp(a->cluster, a->cluster_buf))
		return dsmctl_usage_error("policy push: --cluster %s, but %s is cluster '%s'",
					  a->cluster, a->state, a->cluster_buf);
	a->cluster = a->cluster_buf;
	if (!a->key) {
		if ((size_t)snprintf(a->key_buf, sizeof(a->key_buf), "%s/operator.key", a->state) >=
		    sizeof(a->key_buf))
			return dsmctl_usage_error("policy push: --state %s: path too long", a->state);
		a->key = a->key_buf;
	}
	return 0;
}

static int push_parse(int argc, char **argv, struct push_args *a)
{
	const struct dsmctl_opt opts[] = {
		{ .name = "--key", .value = &a->key },
		{ .name = "--state", .value = &a->state },
		{ .name = "--cluster", .value = &a->cluster },
		{ .name = "--expires", .value = &a->expires },
		{ .name = "--json", .flag = &a->json },
		{ .name = NULL },
	};
	/* argv[0] is "policy", argv[1] "push": FILE may come before or after
	 * the options. */
	int i = dsmctl_parse_opts("policy push", argc - 1, argv + 1, opts, true);

	if (i == DSMCTL_OPTS_HELP || i < 0)
		return i;
	i++;
	if (i < argc) {
		int j;

		a->file = argv[i];
		j = dsmctl_parse_opts("policy push", argc - i, argv + i, opts, false);
		if (j == DSMCTL_OPTS_HELP || j < 0)
			return j;
		if (i + j < argc)
			return dsmctl_usage_error("policy push: unexpected argument '%s'",
						  argv[i + j]), -1;
	}
	if (!a->file)
		return dsmctl_usage_error("policy push: missing BUNDLE_OR_SOURCE"), -1;
	return 0;
}

/* Sign the bundle and check the envelope as a node will. 0 or exit status. */
static int push_sign(const struct push_args *a, const struct dsm_sign_key *k,
		     const uint8_t *bundle, size_t blen, uint8_t **env, size_t *elen,
		     struct dsm_signed_info *info)
{
	const uint64_t now = (uint64_t)time(NULL);
	struct dsm_sign_pubkey *pub = NULL;
	int r = dsm_signed_write(bundle, blen, k, a->cluster, now, now + a->lifetime, env, elen);

	if (r) {
		dsmctl_error("policy push: %s: %s", a->file,
			     r == -EINVAL ? "policy version 0 cannot be signed (versions start at 1)"
					  : dsm_signed_strerror(r));
		return DSMCTL_EXIT_FAIL;
	}
	r = dsm_sign_key_public(k, &pub);
	if (!r)
		r = dsm_signed_verify(*env, *elen, pub, a->cluster, 0, now, info, NULL);
	dsm_sign_pubkey_free(pub);
	if (r) {
		dsmctl_error("policy push: %s: the signed envelope does not verify: %s", a->file,
			     dsm_signed_strerror(r));
		free(*env);
		*env = NULL;
		return DSMCTL_EXIT_FAIL;
	}
	return 0;
}

/* A descriptor holding exactly buf, read from its start: a sealed memfd,
 * else an unlinked temporary file. -1 after reporting. */
static int envelope_fd(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("dsm-policy-signed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t off = 0;

	if (fd < 0) {
		const char *tmp = getenv("TMPDIR");

		fd = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		dsmctl_error("policy push: cannot make a file for the signed policy: %s",
			     strerror(errno));
		return -1;
	}
	while (off < len) {
		const ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			dsmctl_error("policy push: cannot write the signed policy: %s",
				     n < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	/* What was signed is what the server reads: no one changes it now. A
	 * temporary file cannot be sealed; it is ours alone anyway. */
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	if (lseek(fd, 0, SEEK_SET) != 0) {
		dsmctl_error("policy push: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The server's answer: it must be about the version that was sent. */
static int push_report(struct json_object *ans, const struct dsm_signed_info *info, bool json)
{
	int64_t version, sent_to;

	if (!dsmctl_json_int(ans, "version", &version) ||
	    !dsmctl_json_int(ans, "sent_to", &sent_to) || sent_to < 0) {
		dsmctl_error("policy push: answer from %s lacks version or sent_to",
			     DSMCTL_SERVER_PEER);
		return DSMCTL_EXIT_FAIL;
	}
	if ((uint64_t)version != info->version) {
		dsmctl_error("policy push: %s reports version %" PRId64 ", not the version %" PRIu64
			     " that was pushed", DSMCTL_SERVER_PEER, version, info->version);
		return DSMCTL_EXIT_FAIL;
	}
	if (json)
		return dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	printf("pushed policy '");
	dsmctl_put_safe(stdout, info->policy);
	printf("' version %" PRIu64 " to %" PRId64 " node%s\n", info->version, sent_to,
	       sent_to == 1 ? "" : "s");
	return DSMCTL_EXIT_OK;
}

static int push_send(const struct dsmctl_global *g, const struct push_args *a,
		     const uint8_t *env, size_t elen, const struct dsm_signed_info *info)
{
	struct json_object *ans;
	int ret = DSMCTL_EXIT_FAIL, fd = envelope_fd(env, elen);

	if (fd < 0)
		return DSMCTL_EXIT_FAIL;
	ans = dsmctl_server_query(g, "policy-push", fd, &ret);
	close(fd);
	if (!ans)
		return ret;
	ret = push_report(ans, info, a->json);
	json_object_put(ans);
	return ret;
}

int dsmctl_policy_push(const struct dsmctl_global *g, int argc, char **argv)
{
	struct push_args a = { 0 };
	struct dsm_signed_info info;
	struct dsm_sign_key *k = NULL;
	uint8_t *bundle = NULL, *env = NULL;
	size_t blen = 0, elen = 0;
	int r = push_parse(argc, argv, &a);

	if (r == DSMCTL_OPTS_HELP) {
		push_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (r < 0)
		return DSMCTL_EXIT_USAGE;
	r = push_resolve(&a);
	if (r)
		return r;
	r = dsm_sign_key_read_file(a.key, &k);
	if (r) {
		dsmctl_error("policy push: private key %s: %s", a.key,
			     r == -EPERM ? "group or others may access it (chmod 600 it)" :
			     r == -EBADMSG ? "not a PEM Ed25519 key" : strerror(-r));
		return DSMCTL_EXIT_FAIL;
	}
	if (dsmctl_policy_load_bundle("push", a.file, &bundle, &blen)) {
		dsm_sign_key_free(k);
		return DSMCTL_EXIT_FAIL;
	}
	r = push_sign(&a, k, bundle, blen, &env, &elen, &info);
	if (!r)
		r = push_send(g, &a, env, elen, &info);
	free(env);
	free(bundle);
	dsm_sign_key_free(k);
	return r;
}

int dsmctl_policy_status(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	struct json_object *ans;
	int ret = DSMCTL_EXIT_FAIL, i = dsmctl_parse_opts("policy status", argc - 1, argv + 1,
							  opts, false);

	if (i == DSMCTL_OPTS_HELP) {
		push_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	ans = dsmctl_server_query(g, "policy-status", -1, &ret);
	if (!ans)
		return ret;
	if (json)
		ret = dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	else if (dsmctl_format_policy_status(stdout, ans)) {
		dsmctl_error("policy status: unexpected answer from %s (no nodes array)",
			     DSMCTL_SERVER_PEER);
		ret = DSMCTL_EXIT_FAIL;
	} else {
		ret = DSMCTL_EXIT_OK;
	}
	json_object_put(ans);
	return ret;
}
