// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl cluster init --state DIR --cluster NAME --server-name NAME
 *                     [--ca-days N] [--server-days N]
 * dsmctl cluster status [--json]
 *
 * init makes dsm-server's state directory (docs/server.md): the cluster
 * name, the cluster CA, the server's certificate (role server) and the
 * operator's policy signing key pair, with lib/pki and lib/policy_sign.
 * Everything is made in memory, written into a fresh directory inside DIR
 * and then linked into place, each name with link(), which never replaces
 * a file: a second init, or an init racing another, changes nothing that
 * was there. If a step fails, what this init linked is removed again. The
 * cluster file comes last, so a DIR that has one is complete.
 *
 * status asks dsm-server (request `status`) and prints the cluster and
 * its nodes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pki.h"
#include "policy_sign.h"
#include "server_client.h"

#define CA_DAYS_DEFAULT     3650
#define CA_DAYS_MAX         3650
#define SERVER_DAYS_DEFAULT 30
#define SERVER_DAYS_MAX     (DSM_PKI_LEAF_LIFETIME_MAX_S / 86400)
#define DAY_S               86400LL

/* The files init makes, in the order they are linked into DIR. */
enum init_file {
	IF_CA_CERT, IF_CA_KEY, IF_SERVER_CERT, IF_SERVER_KEY, IF_OPERATOR_PUB, IF_OPERATOR_KEY,
	IF_CLUSTER, IF_COUNT
};

static const char *const init_names[IF_COUNT] = {
	[IF_CA_CERT] = "ca.pem",
	[IF_CA_KEY] = "ca.key",
	[IF_SERVER_CERT] = "server.pem",
	[IF_SERVER_KEY] = "server.key",
	[IF_OPERATOR_PUB] = "operator.pub",
	[IF_OPERATOR_KEY] = "operator.key",
	[IF_CLUSTER] = "cluster",
};

/* Made by dsm-server in a state directory: their presence means DIR is in
 * use, so init refuses it just as it refuses its own files. */
static const char *const server_names[] = { "store.db", "store.key", "policies", "alarms.jsonl" };

struct init_args {
	const char *state, *cluster, *server_name, *ca_days, *server_days;
	long ca_d, server_d;
};

/* What init makes, in memory until it is written. */
struct init_material {
	struct dsm_pki_ca ca;
	EVP_PKEY *server_key;
	X509 *server_cert;
	struct dsm_sign_key *operator_key;
	time_t ca_until, server_until;
};

static void cluster_usage(FILE *out)
{
	fputs("Usage: dsmctl cluster init --state DIR --cluster NAME --server-name NAME\n"
	      "                           [--ca-days N] [--server-days N]\n"
	      "       dsmctl cluster status [--json]\n", out);
}

static bool parse_days(const char *s, long max, long *out)
{
	char *end;
	long n;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n < 1 || n > max)
		return false;
	*out = n;
	return true;
}

static int init_check_args(struct init_args *a)
{
	if (!a->state)
		return dsmctl_usage_error("cluster init: missing --state DIR");
	if (!a->cluster)
		return dsmctl_usage_error("cluster init: missing --cluster NAME");
	if (!a->server_name)
		return dsmctl_usage_error("cluster init: missing --server-name NAME");
	if (!dsm_pki_name_valid(a->cluster))
		return dsmctl_usage_error("cluster init: bad cluster name '%s' (1 to %d of a-z, "
					  "0-9 and '-', not first or last)", a->cluster,
					  DSM_PKI_NAME_MAX);
	if (!dsm_pki_name_valid(a->server_name))
		return dsmctl_usage_error("cluster init: bad server name '%s' (1 to %d of a-z, "
					  "0-9 and '-', not first or last)", a->server_name,
					  DSM_PKI_NAME_MAX);
	a->ca_d = CA_DAYS_DEFAULT;
	a->server_d = SERVER_DAYS_DEFAULT;
	if (a->ca_days && !parse_days(a->ca_days, CA_DAYS_MAX, &a->ca_d))
		return dsmctl_usage_error("cluster init: bad --ca-days '%s' (1 to %d)", a->ca_days,
					  CA_DAYS_MAX);
	if (a->server_days && !parse_days(a->server_days, (long)SERVER_DAYS_MAX, &a->server_d))
		return dsmctl_usage_error("cluster init: bad --server-days '%s' (1 to %lld)",
					  a->server_days, (long long)SERVER_DAYS_MAX);
	if (a->server_d > a->ca_d)
		return dsmctl_usage_error("cluster init: --server-days %ld outlives the CA "
					  "(--ca-days %ld)", a->server_d, a->ca_d);
	return 0;
}

/* DIR exists (made now, 0700, if it did not: *made) and holds nothing
 * init or the server makes. Returns an open descriptor of DIR, or -1 after
 * reporting. */
static int init_open_dir(const char *dir, bool *made)
{
	struct stat st;
	int fd;

	*made = !mkdir(dir, 0700);
	if (!*made && errno != EEXIST) {
		dsmctl_error("cluster init: %s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		dsmctl_error("cluster init: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!fstatat(fd, init_names[IF_CLUSTER], &st, AT_SYMLINK_NOFOLLOW)) {
		dsmctl_error("cluster init: %s already holds a cluster (%s/cluster): nothing "
			     "changed", dir, dir);
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < IF_COUNT + sizeof(server_names) / sizeof(server_names[0]); i++) {
		const char *name = i < IF_COUNT ? init_names[i] : server_names[i - IF_COUNT];

		const int e = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) ? errno : 0;

		if (e != ENOENT) {
			dsmctl_error("cluster init: %s/%s %s: nothing changed (init never replaces a "
				     "file)", dir, name, e ? strerror(e) : "exists");
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void init_material_free(struct init_material *m)
{
	dsm_pki_ca_free(&m->ca);
	EVP_PKEY_free(m->server_key);
	X509_free(m->server_cert);
	dsm_sign_key_free(m->operator_key);
}

static int init_make_material(const struct init_args *a, struct init_material *m)
{
	const time_t now = time(NULL);
	struct dsm_pki_issue req = {
		.role = DSM_ROLE_SERVER,
		.name = a->server_name,
		.now = now,
		.lifetime_s = a->server_d * DAY_S,
	};
	time_t nb;
	int r;

	r = dsm_pki_ca_create(a->cluster, now, a->ca_d * DAY_S, &m->ca);
	if (!r)
		r = dsm_pki_key_new(&m->server_key);
	if (!r)
		r = dsm_pki_issue(&m->ca, &req, m->server_key, &m->server_cert);
	if (!r)
		r = dsm_sign_key_generate(&m->operator_key);
	if (!r)
		r = dsm_pki_cert_times(m->ca.cert, &nb, &m->ca_until);
	if (!r)
		r = dsm_pki_cert_times(m->server_cert, &nb, &m->server_until);
	if (r)
		dsmctl_error("cluster init: cannot make the cluster's keys and certificates: %s",
			     strerror(-r));
	return r;
}

static int write_cluster_file(const char *path, const char *cluster)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%s\n", cluster) < 0 || fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	return r;
}

/* Write file f of m into dir (the staging directory). */
static int write_one(const char *dir, enum init_file f, const struct init_args *a,
		     const struct init_material *m)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, init_names[f]) >= sizeof(path))
		return -ENAMETOOLONG;
	switch (f) {
	case IF_CA_CERT:
		return dsm_pki_ca_save(&m->ca, path, NULL);
	case IF_CA_KEY:
		return dsm_pki_key_save(path, m->ca.key);
	case IF_SERVER_CERT:
		return dsm_pki_cert_save(path, m->server_cert);
	case IF_SERVER_KEY:
		return dsm_pki_key_save(path, m->server_key);
	case IF_OPERATOR_PUB:
		return dsm_sign_pubkey_write_file(m->operator_key, path);
	case IF_OPERATOR_KEY:
		return dsm_sign_key_write_file(m->operator_key, path);
	case IF_CLUSTER:
		return write_cluster_file(path, a->cluster);
	default:
		return -EINVAL;
	}
}

/* Remove the staging directory and what is in it. */
static void remove_staging(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		for (int f = 0; f < IF_COUNT; f++)
			unlinkat(fd, init_names[f], 0);
		close(fd);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Write every file into a staging directory in DIR, then link them into
 * DIR. 0, or -1 after reporting (DIR as it was). */
static int init_write(int dirfd, const struct init_args *a, const struct init_material *m)
{
	char staging[4096], tmpl[] = ".init-XXXXXX";
	const char *base;
	int f, linked = 0, r = 0;

	if ((size_t)snprintf(staging, sizeof(staging), "%s/%s", a->state, tmpl) >=
	    sizeof(staging) || !mkdtemp(staging)) {
		dsmctl_error("cluster init: %s: cannot make a staging directory: %s", a->state,
			     strerror(errno));
		return -1;
	}
	base = strrchr(staging, '/') + 1;
	for (f = 0; f < IF_COUNT && !r; f++)
		if ((r = write_one(staging, f, a, m)))
			dsmctl_error("cluster init: %s/%s: %s", a->state, init_names[f],
				     strerror(-r));
	for (f = 0; f < IF_COUNT && !r; f++, linked++) {
		char from[4096];

		snprintf(from, sizeof(from), "%s/%s", base, init_names[f]);
		if (linkat(dirfd, from, dirfd, init_names[f], 0)) {
			r = -errno;
			dsmctl_error("cluster init: %s/%s: %s: nothing changed", a->state,
				     init_names[f], strerror(errno));
		}
	}
	if (r)
		while (linked--)
			unlinkat(dirfd, init_names[linked], 0); /* ours: linked just now */
	remove_staging(dirfd, base);
	if (!r && (fchmod(dirfd, 0700) || fsync(dirfd))) {
		dsmctl_error("cluster init: %s: %s", a->state, strerror(errno));
		return -1;
	}
	return r ? -1 : 0;
}

static void init_report(const struct init_args *a, const struct init_material *m)
{
	char ca_until[32], server_until[32], idhex[2 * DSM_SIGN_KEY_ID_LEN + 1];
	uint8_t id[DSM_SIGN_KEY_ID_LEN];
	const char *d = a->state;

	dsmctl_utc((uint64_t)m->ca_until, ca_until);
	dsmctl_utc((uint64_t)m->server_until, server_until);
	dsm_sign_key_id(m->operator_key, id);
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(idhex + 2 * i, 3, "%02x", id[i]);
	printf("cluster %s: state directory %s (mode 0700)\n", a->cluster, d);
	printf("  %s/cluster       the cluster name\n", d);
	printf("  %s/ca.pem        cluster CA certificate, valid until %s\n", d, ca_until);
	printf("  %s/ca.key        cluster CA private key (mode 0600)\n", d);
	printf("  %s/server.pem    server certificate dsm://%s/server/%s, valid until %s\n", d,
	       a->cluster, a->server_name, server_until);
	printf("  %s/server.key    server private key (mode 0600)\n", d);
	printf("  %s/operator.pub  policy signing public key, key id %s\n", d, idhex);
	printf("  %s/operator.key  policy signing private key (mode 0600; dsm-server never "
	       "reads it)\n", d);
	printf("next steps:\n");
	printf("  1. start dsm-server with the state directory %s\n", d);
	printf("  2. dsmctl node add NAME            a join token for each node\n");
	printf("  3. dsmctl policy push FILE --state %s\n", d);
	printf("                                     sign a policy and send it to every node\n");
	printf("operator.key may be moved to where policies are signed (policy push --key).\n");
}

static int cluster_init(int argc, char **argv)
{
	struct init_args a = { 0 };
	const struct dsmctl_opt opts[] = {
		{ .name = "--state", .value = &a.state },
		{ .name = "--cluster", .value = &a.cluster },
		{ .name = "--server-name", .value = &a.server_name },
		{ .name = "--ca-days", .value = &a.ca_days },
		{ .name = "--server-days", .value = &a.server_days },
		{ .name = NULL },
	};
	struct init_material m = { 0 };
	bool made = false;
	int dirfd, r = dsmctl_parse_opts("cluster init", argc, argv, opts, false);

	if (r == DSMCTL_OPTS_HELP) {
		cluster_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (r < 0)
		return DSMCTL_EXIT_USAGE;
	r = init_check_args(&a);
	if (r)
		return r;
	dirfd = init_open_dir(a.state, &made);
	if (dirfd < 0) {
		if (made)
			rmdir(a.state);
		return DSMCTL_EXIT_FAIL;
	}
	r = init_make_material(&a, &m);
	if (!r)
		r = init_write(dirfd, &a, &m);
	if (!r)
		init_report(&a, &m);
	close(dirfd);
	if (r && made)
		rmdir(a.state); /* made by this init, and empty again */
	init_material_free(&m);
	return r ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
}

static int cluster_status(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = NULL },
	};
	struct json_object *ans;
	int ret = dsmctl_parse_opts("cluster status", argc, argv, opts, false);

	if (ret == DSMCTL_OPTS_HELP) {
		cluster_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (ret < 0)
		return DSMCTL_EXIT_USAGE;
	ans = dsmctl_server_query(g, "status", -1, &ret);
	if (!ans)
		return ret;
	if (json) {
		ret = dsmctl_print_json(stdout, ans) ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
	} else if (dsmctl_format_cluster_status(stdout, ans, time(NULL))) {
		dsmctl_error("cluster status: unexpected answer from %s (no nodes array)",
			     DSMCTL_SERVER_PEER);
		ret = DSMCTL_EXIT_FAIL;
	} else {
		ret = DSMCTL_EXIT_OK;
	}
	json_object_put(ans);
	return ret;
}

int dsmctl_cmd_cluster(const struct dsmctl_global *g, int argc, char **argv)
{
	if (argc < 2)
		return dsmctl_usage_error("cluster: missing subcommand (init, status)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cluster_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (!strcmp(argv[1], "init"))
		return cluster_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cluster_status(g, argc - 1, argv + 1);
	return dsmctl_usage_error("cluster: unknown subcommand '%s' (init, status)", argv[1]);
}
