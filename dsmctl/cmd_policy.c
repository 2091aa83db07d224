// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl policy: work on policies offline, without dsmd.
 *
 *   dsmctl policy check FILE          compile, print diagnostics and a summary
 *   dsmctl policy compile FILE -o OUT compile into a bundle (atomic write)
 *   dsmctl policy dump FILE           what a source or a bundle puts into the
 *                                     policy map, one entry a line
 *   dsmctl policy keygen PRIV PUB     a new Ed25519 operator key pair
 *   dsmctl policy sign FILE --key PRIV --cluster NAME [--expires D] -o OUT
 *                                     a bundle (or a source, compiled) in a
 *                                     signed envelope
 *   dsmctl policy verify SIGNED --pubkey PUB --cluster NAME [--after-version N]
 *                                     verify as a node would
 *   dsmctl policy push | status       the cluster's policy, through dsm-server
 *                                     (cmd_push.c)
 *
 * Diagnostics ("file:line:col: error: message") go to standard error, one a
 * line; results to standard output. Exit 0 ok (warnings allowed), 1 the
 * policy has errors or a file could not be read or written, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "dsmctl.h"
#include "policy.h"
#include "policy_sign.h"
#include "server_client.h"

struct policy_args {
	const char *file;
	const char *out;
	bool help;
};

#define SUBCOMMANDS "check, compile, dump, explain, keygen, sign, verify, push, status"

static void policy_usage(FILE *out)
{
	fputs("Usage: dsmctl policy check FILE\n"
	      "       dsmctl policy compile FILE -o OUT\n"
	      "       dsmctl policy dump FILE|BUNDLE\n"
	      "       dsmctl policy keygen PRIVATE_OUT PUBLIC_OUT\n"
	      "       dsmctl policy sign BUNDLE_OR_SOURCE --key PRIVATE --cluster NAME\n"
	      "                          [--expires DURATION] -o OUT\n"
	      "       dsmctl policy verify SIGNED --pubkey PUBLIC --cluster NAME\n"
	      "                            [--after-version N]\n"
	      "       dsmctl policy push BUNDLE_OR_SOURCE (--key PRIVATE | --state DIR)\n"
	      "                          [--cluster NAME] [--expires DURATION] [--json]\n"
	      "       dsmctl policy status [--json]\n"
	      "       dsmctl policy explain SUBJECT[@NODE] TARGET CLASS PERM [--node NODE]\n"
	      "                             [--family F --type T] [--policy FILE] [--json]\n", out);
}

/* FILE and, for compile, -o OUT / --output OUT / --output=OUT, in any
 * order; "--" ends the options. Returns 0 or the usage exit status. */
static int parse_args(const char *sub, int argc, char **argv, bool want_out,
		      struct policy_args *a)
{
	bool options = true;

	for (int i = 2; i < argc; i++) {
		const char *s = argv[i];

		if (options && !strcmp(s, "--")) {
			options = false;
		} else if (options && (!strcmp(s, "-h") || !strcmp(s, "--help"))) {
			a->help = true;
			return 0;
		} else if (options && want_out && (!strcmp(s, "-o") || !strcmp(s, "--output"))) {
			if (++i >= argc)
				return dsmctl_usage_error("policy %s: option %s needs a value", sub, s);
			a->out = argv[i];
		} else if (options && want_out && !strncmp(s, "--output=", 9)) {
			a->out = s + 9;
		} else if (options && s[0] == '-' && s[1]) {
			return dsmctl_usage_error("policy %s: unknown option '%s'", sub, s);
		} else if (a->file) {
			return dsmctl_usage_error("policy %s: unexpected argument '%s'", sub, s);
		} else {
			a->file = s;
		}
	}
	if (!a->file)
		return dsmctl_usage_error("policy %s: missing FILE", sub);
	if (want_out && (!a->out || !*a->out))
		return dsmctl_usage_error("policy %s: missing -o OUT", sub);
	return 0;
}

static void print_diags(const char *file, const struct dsm_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		int n = dsm_diag_format(&d->v[i], NULL, 0);
		char *line = n >= 0 ? malloc((size_t)n + 1) : NULL;

		if (!line) {
			fprintf(stderr, "%s: (diagnostic lost: out of memory)\n", file);
			continue;
		}
		dsm_diag_format(&d->v[i], line, (size_t)n + 1);
		/* Messages quote the source, which may hold control bytes. */
		dsmctl_put_safe(stderr, line);
		fputc('\n', stderr);
		free(line);
	}
	if (d->warnings > DSM_DIAG_MAX_WARNINGS)
		fprintf(stderr, "%s: %u more warnings not shown\n", file,
			d->warnings - DSM_DIAG_MAX_WARNINGS);
}

/* Compile a source, printing its diagnostics. NULL if it has errors. */
static struct dsm_policy *compile(const char *sub, const char *file)
{
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = NULL;
	int r = dsm_policy_compile_file(file, &p, &d);

	print_diags(file, &d);
	if (r && !d.errors)
		dsmctl_error("policy %s: %s: %s", sub, file, strerror(-r));
	dsm_diags_free(&d);
	return r ? NULL : p;
}

static void summary(const struct dsm_policy *p, char *buf, size_t len)
{
	size_t nlabels, nentries;

	dsm_policy_labels(p, &nlabels);
	dsm_policy_entries(p, &nentries);
	snprintf(buf, len, "%zu labels, %zu rules, %zu entries, version %llu", nlabels,
		 dsm_policy_nrules(p), nentries, (unsigned long long)dsm_policy_version(p));
}

static int cmd_check(const struct policy_args *a)
{
	struct dsm_policy *p = compile("check", a->file);
	char sum[160];

	if (!p)
		return DSMCTL_EXIT_FAIL;
	summary(p, sum, sizeof(sum));
	printf("%s: ok: %s\n", a->file, sum);
	dsm_policy_free(p);
	return DSMCTL_EXIT_OK;
}

static int cmd_compile(const struct policy_args *a)
{
	struct dsm_policy *p = compile("compile", a->file);
	uint8_t digest[DSM_BUNDLE_DIGEST_LEN], *buf = NULL;
	char sum[160], hex[2 * DSM_BUNDLE_DIGEST_LEN + 1];
	size_t len = 0;
	int r;

	if (!p)
		return DSMCTL_EXIT_FAIL;
	/* Serialization is deterministic: this is the file's content. */
	r = dsm_bundle_write(p, &buf, &len);
	if (!r)
		r = dsm_bundle_digest(buf, len, digest);
	if (!r)
		r = dsm_bundle_write_file(p, a->out);
	if (r) {
		dsmctl_error("policy compile: %s: %s", a->out, strerror(-r));
		free(buf);
		dsm_policy_free(p);
		return DSMCTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	summary(p, sum, sizeof(sum));
	printf("%s: wrote %s: %zu bytes, %s, sha256 %s\n", a->file, a->out, len, sum, hex);
	free(buf);
	dsm_policy_free(p);
	return DSMCTL_EXIT_OK;
}

/* A bundle starts with its magic; anything else is taken as source. */
static bool is_bundle(const char *file)
{
	char magic[8];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	bool yes;

	if (fd < 0)
		return false;
	yes = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	      !memcmp(magic, "DSMBNDL\n", sizeof(magic));
	close(fd);
	return yes;
}

static void put_label(const struct dsm_policy *p, uint32_t id)
{
	const char *n = dsm_policy_label_name(p, id);

	if (n)
		fputs(n, stdout);
	else
		printf("%u", id);
}

static int print_entry(const struct dsm_pkey *k, const struct dsm_pval *v, void *ctx)
{
	char line[512];

	dsm_entry_format(ctx, k, v, line, sizeof(line));
	puts(line);
	return 0;
}

static int cmd_dump(const struct policy_args *a)
{
	struct dsm_policy *p = NULL;
	const struct dsm_file_rule *files;
	const struct dsm_net_rule *nets;
	size_t nfiles, nnets;
	char sum[160];

	if (is_bundle(a->file)) {
		int r = dsm_bundle_read_file(a->file, &p);

		if (r) {
			dsmctl_error("policy dump: %s: %s", a->file,
				     r == -EBADMSG ? "corrupt bundle" : strerror(-r));
			return DSMCTL_EXIT_FAIL;
		}
	} else if (!(p = compile("dump", a->file))) {
		return DSMCTL_EXIT_FAIL;
	}
	summary(p, sum, sizeof(sum));
	printf("# policy %s: %s, %s\n", dsm_policy_name(p), sum,
	       dsm_policy_mode(p) == DSM_MODE_PERMISSIVE ? "permissive" : "enforcing");
	dsm_policy_foreach_entry(p, print_entry, p);

	/* Node-local parts: entries only once a node resolves them. */
	files = dsm_policy_files(p, &nfiles);
	for (size_t i = 0; i < nfiles; i++) {
		fputs("file ", stdout);
		dsmctl_put_safe(stdout, files[i].path);
		fputs(" : ", stdout);
		put_label(p, files[i].label);
		putchar('\n');
	}
	nets = dsm_policy_nets(p, &nnets);
	for (size_t i = 0; i < nnets; i++) {
		char addr[INET_ADDRSTRLEN];

		if (!nets[i].ifname[0])
			continue; /* already printed as an entry */
		inet_ntop(AF_INET, &nets[i].prefix_be, addr, sizeof(addr));
		printf("unlabeled %s/%u dev %s -> ", addr, nets[i].plen, nets[i].ifname);
		put_label(p, nets[i].label);
		putchar('\n');
	}
	dsm_policy_free(p);
	return DSMCTL_EXIT_OK;
}

/* ---- signing: keygen, sign, verify -------------------------------------- */

#define DEFAULT_EXPIRES "30d"
#define MAX_EXPIRES     (3650ull * 86400) /* a signature that never ends is no limit */

struct named_opt {
	const char *name;  /* "--key" */
	const char *alias; /* "-o", or NULL */
	const char **value;
};

static const struct named_opt *find_named(const struct named_opt *opts, const char *s,
					  size_t len)
{
	for (; opts->name; opts++)
		if ((strlen(opts->name) == len && !strncmp(opts->name, s, len)) ||
		    (opts->alias && strlen(opts->alias) == len && !strncmp(opts->alias, s, len)))
			return opts;
	return NULL;
}

/*
 * npos positional arguments (named in pos_names, for messages) and options
 * of opts as --opt VALUE or --opt=VALUE, in any order; "--" ends the
 * options. An option given twice is an error: which one would count is
 * not for a signing tool to guess. Returns 0 or the usage exit status.
 */
static int parse_named(const char *sub, int argc, char **argv, const struct named_opt *opts,
		       const char **pos, int npos, const char *const *pos_names, bool *help)
{
	bool options = true;
	int have = 0;

	for (int i = 2; i < argc; i++) {
		const char *s = argv[i], *eq = strchr(s, '=');
		const struct named_opt *o;
		size_t n;

		if (options && !strcmp(s, "--")) {
			options = false;
			continue;
		}
		if (options && (!strcmp(s, "-h") || !strcmp(s, "--help"))) {
			*help = true;
			return 0;
		}
		if (!options || s[0] != '-' || !s[1]) {
			if (have == npos)
				return dsmctl_usage_error("policy %s: unexpected argument '%s'", sub, s);
			pos[have++] = s;
			continue;
		}
		n = eq && s[1] == '-' ? (size_t)(eq - s) : strlen(s);
		o = find_named(opts, s, n);
		if (!o)
			return dsmctl_usage_error("policy %s: unknown option '%.*s'", sub, (int)n, s);
		if (*o->value)
			return dsmctl_usage_error("policy %s: option %s given twice", sub, o->name);
		if (n < strlen(s))
			*o->value = s + n + 1;
		else if (++i < argc)
			*o->value = argv[i];
		else
			return dsmctl_usage_error("policy %s: option %s needs a value", sub, o->name);
		if (!**o->value)
			return dsmctl_usage_error("policy %s: option %s needs a non-empty value", sub,
						  o->name);
	}
	if (have < npos)
		return dsmctl_usage_error("policy %s: missing %s", sub, pos_names[have]);
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void utc(uint64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if ((uint64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "@%llu", (unsigned long long)t);
}

/* "90s", "15m", "12h", "30d", "2w"; a bare number is seconds. */
bool dsmctl_parse_duration(const char *s, uint64_t *out)
{
	static const struct {
		char unit;
		uint64_t secs;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
	uint64_t n = 0, mul = 1;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > MAX_EXPIRES)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return false;
	if (*p) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *p; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]) || p[1])
			return false;
		mul = units[i].secs;
	}
	if (n == 0 || n > MAX_EXPIRES / mul)
		return false;
	*out = n * mul;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

static const char *key_error(int r)
{
	switch (r) {
	case -EACCES:
		return "not yours, or group or others may access it (chmod 600 it)";
	case -ELOOP:
		return "a symbolic link (name the key file itself)";
	case -EBADMSG:
		return "not a PEM Ed25519 key";
	case -EINVAL:
		return "not a regular file";
	default:
		return strerror(-r);
	}
}

static int cmd_keygen(int argc, char **argv)
{
	static const char *const names[] = { "PRIVATE_OUT", "PUBLIC_OUT" };
	const struct named_opt opts[] = { { .name = NULL } };
	char idhex[2 * DSM_SIGN_KEY_ID_LEN + 1];
	uint8_t id[DSM_SIGN_KEY_ID_LEN];
	struct dsm_sign_key *k = NULL;
	const char *pos[2] = { 0 };
	bool help = false;
	int r = parse_named("keygen", argc, argv, opts, pos, 2, names, &help);

	if (r || help)
		return r ? r : (policy_usage(stdout), DSMCTL_EXIT_OK);
	r = dsm_sign_key_generate(&k);
	if (r) {
		dsmctl_error("policy keygen: %s", strerror(-r));
		return DSMCTL_EXIT_FAIL;
	}
	r = dsm_sign_key_write_file(k, pos[0]);
	if (r) {
		dsmctl_error("policy keygen: %s: %s", pos[0], strerror(-r));
		dsm_sign_key_free(k);
		return DSMCTL_EXIT_FAIL;
	}
	r = dsm_sign_pubkey_write_file(k, pos[1]);
	if (r) {
		/* Half a key pair is no key pair: the private key goes too. */
		unlink(pos[0]);
		dsmctl_error("policy keygen: %s: %s (%s not kept)", pos[1], strerror(-r), pos[0]);
		dsm_sign_key_free(k);
		return DSMCTL_EXIT_FAIL;
	}
	dsm_sign_key_id(k, id);
	hex(id, sizeof(id), idhex);
	printf("wrote private key %s (mode 0600) and public key %s: key id %s\n", pos[0], pos[1],
	       idhex);
	dsm_sign_key_free(k);
	return DSMCTL_EXIT_OK;
}

int dsmctl_policy_load_bundle(const char *sub, const char *file, uint8_t **buf, size_t *len)
{
	struct dsm_policy *p;
	int r;

	if (is_bundle(file)) {
		r = dsm_signed_read_file(file, buf, len);
		if (r)
			dsmctl_error("policy %s: %s: %s", sub, file, strerror(-r));
		return r;
	}
	p = compile(sub, file);
	if (!p)
		return -EINVAL;
	r = dsm_bundle_write(p, buf, len);
	if (r)
		dsmctl_error("policy %s: %s: %s", sub, file, strerror(-r));
	dsm_policy_free(p);
	return r;
}

struct sign_args {
	const char *key, *cluster, *expires, *out;
};

static int sign_args_check(const struct sign_args *a, uint64_t *lifetime)
{
	if (!a->key)
		return dsmctl_usage_error("policy sign: missing --key PRIVATE");
	if (!a->cluster)
		return dsmctl_usage_error("policy sign: missing --cluster NAME");
	if (!a->out)
		return dsmctl_usage_error("policy sign: missing -o OUT");
	if (!dsm_sign_cluster_valid(a->cluster))
		return dsmctl_usage_error("policy sign: bad cluster name '%s' (1..%u printable "
					  "characters, no space)", a->cluster,
					  DSM_SIGN_CLUSTER_MAX);
	if (!dsmctl_parse_duration(a->expires ? a->expires : DEFAULT_EXPIRES, lifetime))
		return dsmctl_usage_error("policy sign: bad --expires '%s' (N[smhdw], at most "
					  "3650d)", a->expires);
	return 0;
}

static int write_signed(const char *file, const struct sign_args *a, uint64_t lifetime,
			const uint8_t *bundle, size_t blen, const struct dsm_sign_key *k)
{
	uint64_t now = (uint64_t)time(NULL);
	struct dsm_signed_info info;
	struct dsm_sign_pubkey *pub = NULL;
	char idhex[2 * DSM_SIGN_KEY_ID_LEN + 1], exp[32];
	uint8_t *env = NULL;
	size_t elen = 0;
	int r = dsm_signed_write(bundle, blen, k, a->cluster, now, now + lifetime, &env, &elen);

	if (r == -EINVAL) {
		dsmctl_error("policy sign: %s: policy version 0 cannot be signed (versions start "
			     "at 1)", file);
		return DSMCTL_EXIT_FAIL;
	}
	if (r) {
		dsmctl_error("policy sign: %s: %s", file,
			     r == -EBADMSG ? "corrupt bundle" : strerror(-r));
		return DSMCTL_EXIT_FAIL;
	}
	/* What was signed is what a node will verify: check it here first. */
	r = dsm_sign_key_public(k, &pub);
	if (!r)
		r = dsm_signed_verify(env, elen, pub, a->cluster, 0, now, &info, NULL);
	dsm_sign_pubkey_free(pub);
	if (!r)
		r = dsm_signed_write_file(a->out, env, elen);
	free(env);
	if (r) {
		dsmctl_error("policy sign: %s: %s", a->out, dsm_signed_strerror(r));
		return DSMCTL_EXIT_FAIL;
	}
	hex(info.key_id, sizeof(info.key_id), idhex);
	utc(info.expires_at, exp);
	printf("%s: wrote %s: %zu bytes, policy %s version %llu for cluster %s, expires %s, "
	       "key id %s\n", file, a->out, elen, info.policy, (unsigned long long)info.version,
	       info.cluster, exp, idhex);
	return DSMCTL_EXIT_OK;
}

static int cmd_sign(int argc, char **argv)
{
	static const char *const names[] = { "BUNDLE_OR_SOURCE" };
	struct sign_args a = { 0 };
	const struct named_opt opts[] = {
		{ "--key", NULL, &a.key },
		{ "--cluster", NULL, &a.cluster },
		{ "--expires", NULL, &a.expires },
		{ "--output", "-o", &a.out },
		{ .name = NULL },
	};
	struct dsm_sign_key *k = NULL;
	const char *pos[1] = { 0 };
	uint8_t *bundle = NULL;
	uint64_t lifetime = 0;
	size_t blen = 0;
	bool help = false;
	int r = parse_named("sign", argc, argv, opts, pos, 1, names, &help);

	if (r || help)
		return r ? r : (policy_usage(stdout), DSMCTL_EXIT_OK);
	r = sign_args_check(&a, &lifetime);
	if (r)
		return r;
	r = dsm_sign_key_read_file(a.key, &k);
	if (r) {
		dsmctl_error("policy sign: private key %s: %s", a.key, key_error(r));
		return DSMCTL_EXIT_FAIL;
	}
	if (dsmctl_policy_load_bundle("sign", pos[0], &bundle, &blen)) {
		dsm_sign_key_free(k);
		return DSMCTL_EXIT_FAIL;
	}
	r = write_signed(pos[0], &a, lifetime, bundle, blen, k);
	free(bundle);
	dsm_sign_key_free(k);
	return r;
}

/* One line on why an envelope was refused, with what it said when the
 * signature made that trustworthy. */
static void verify_error(const char *file, int r, const struct dsm_signed_info *in,
			 const char *pubkey, const char *cluster, uint64_t after)
{
	char when[32];

	switch (r) {
	case -ENOKEY:
		dsmctl_error("policy verify: %s: not signed by the key in %s", file, pubkey);
		break;
	case -EXDEV:
		dsmctl_error("policy verify: %s: signed for cluster '%s', not '%s'", file,
			     in->cluster, cluster);
		break;
	case -ESTALE:
		dsmctl_error("policy verify: %s: rollback: policy %s version %llu is not newer "
			     "than version %llu", file, in->policy,
			     (unsigned long long)in->version, (unsigned long long)after);
		break;
	case -ETIME:
		utc(in->expires_at, when);
		dsmctl_error("policy verify: %s: expired: policy %s version %llu expired at %s",
			     file, in->policy, (unsigned long long)in->version, when);
		break;
	default:
		dsmctl_error("policy verify: %s: %s", file, dsm_signed_strerror(r));
		break;
	}
}

static void print_verified(const char *file, const struct dsm_signed_info *in)
{
	char idhex[2 * DSM_SIGN_KEY_ID_LEN + 1], dhex[2 * DSM_BUNDLE_DIGEST_LEN + 1];
	char issued[32], expires[32];
	uint8_t digest[DSM_BUNDLE_DIGEST_LEN];

	hex(in->key_id, sizeof(in->key_id), idhex);
	if (dsm_bundle_digest(in->bundle, in->bundle_len, digest))
		memset(digest, 0, sizeof(digest));
	hex(digest, sizeof(digest), dhex);
	utc(in->issued_at, issued);
	utc(in->expires_at, expires);
	printf("%s: ok: policy %s version %llu for cluster %s, issued %s, expires %s, "
	       "key id %s, bundle %zu bytes sha256 %s\n", file, in->policy,
	       (unsigned long long)in->version, in->cluster, issued, expires, idhex,
	       in->bundle_len, dhex);
}

static int cmd_verify(int argc, char **argv)
{
	static const char *const names[] = { "SIGNED" };
	const char *pubkey = NULL, *cluster = NULL, *after = NULL, *pos[1] = { 0 };
	const struct named_opt opts[] = {
		{ "--pubkey", NULL, &pubkey },
		{ "--cluster", NULL, &cluster },
		{ "--after-version", NULL, &after },
		{ .name = NULL },
	};
	struct dsm_sign_pubkey *k = NULL;
	struct dsm_signed_info info;
	uint64_t last = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	bool help = false;
	int r = parse_named("verify", argc, argv, opts, pos, 1, names, &help);

	if (r || help)
		return r ? r : (policy_usage(stdout), DSMCTL_EXIT_OK);
	if (!pubkey)
		return dsmctl_usage_error("policy verify: missing --pubkey PUBLIC");
	if (!cluster)
		return dsmctl_usage_error("policy verify: missing --cluster NAME");
	if (after && !parse_u64(after, &last))
		return dsmctl_usage_error("policy verify: bad --after-version '%s'", after);
	r = dsm_sign_pubkey_read_file(pubkey, &k);
	if (r) {
		dsmctl_error("policy verify: public key %s: %s", pubkey, key_error(r));
		return DSMCTL_EXIT_FAIL;
	}
	r = dsm_signed_read_file(pos[0], &buf, &len);
	if (r) {
		dsmctl_error("policy verify: %s: %s", pos[0], strerror(-r));
		dsm_sign_pubkey_free(k);
		return DSMCTL_EXIT_FAIL;
	}
	r = dsm_signed_verify(buf, len, k, cluster, last, (uint64_t)time(NULL), &info, NULL);
	if (r)
		verify_error(pos[0], r, &info, pubkey, cluster, last);
	else
		print_verified(pos[0], &info);
	free(buf);
	dsm_sign_pubkey_free(k);
	return r ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
}

int dsmctl_policy(const struct dsmctl_global *g, int argc, char **argv)
{
	static const struct {
		const char *name;
		bool want_out;
		int (*fn)(const struct policy_args *);
	} subs[] = {
		{ "check", false, cmd_check },
		{ "compile", true, cmd_compile },
		{ "dump", false, cmd_dump },
	};
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} signing[] = {
		{ "keygen", cmd_keygen },
		{ "sign", cmd_sign },
		{ "verify", cmd_verify },
	};
	struct policy_args a = { 0 };

	if (argc < 2)
		return dsmctl_usage_error("policy: missing subcommand (" SUBCOMMANDS ")");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		policy_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		int r;

		if (strcmp(argv[1], subs[i].name))
			continue;
		r = parse_args(subs[i].name, argc, argv, subs[i].want_out, &a);
		if (r)
			return r;
		if (a.help) {
			policy_usage(stdout);
			return DSMCTL_EXIT_OK;
		}
		return subs[i].fn(&a);
	}
	for (size_t i = 0; i < sizeof(signing) / sizeof(signing[0]); i++)
		if (!strcmp(argv[1], signing[i].name))
			return signing[i].fn(argc, argv);
	if (!strcmp(argv[1], "push"))
		return dsmctl_policy_push(g, argc, argv);
	if (!strcmp(argv[1], "status"))
		return dsmctl_policy_status(g, argc, argv);
	if (!strcmp(argv[1], "explain"))
		return dsmctl_policy_explain(g, argc, argv);
	return dsmctl_usage_error("policy: unknown subcommand '%s' (" SUBCOMMANDS ")", argv[1]);
}
