// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl policy: work on policies offline, without dsmd.
 *
 *   dsmctl policy check FILE          compile, print diagnostics and a summary
 *   dsmctl policy compile FILE -o OUT compile into a bundle (atomic write)
 *   dsmctl policy dump FILE           what a source or a bundle puts into the
 *                                     policy map, one entry a line
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
#include <unistd.h>

#include "client.h"
#include "dsmctl.h"
#include "policy.h"

struct policy_args {
	const char *file;
	const char *out;
	bool help;
};

static void policy_usage(FILE *out)
{
	fputs("Usage: dsmctl policy check FILE\n"
	      "       dsmctl policy compile FILE -o OUT\n"
	      "       dsmctl policy dump FILE|BUNDLE\n", out);
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

int dsmctl_policy(int argc, char **argv)
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
	struct policy_args a = { 0 };

	if (argc < 2)
		return dsmctl_usage_error("policy: missing subcommand (check, compile, dump)");
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
	return dsmctl_usage_error("policy: unknown subcommand '%s' (check, compile, dump)",
				  argv[1]);
}
