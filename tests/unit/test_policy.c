// SPDX-License-Identifier: GPL-2.0
/*
 * The policy language: every statement and what it compiles to, the
 * wildcard expansion and folding the BPF lookups rely on, and every
 * diagnostic with its exact location.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "policy.h"

#define HEADER "policy t version 1;\nlabel init = 1;\ninitial init;\n"
/* HEADER takes lines 1-3: statements appended start on line 4. */

static struct dsm_policy *compile_ok(const char *src)
{
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = NULL;
	int r = dsm_policy_compile("t.policy", src, strlen(src), &p, &d);

	for (size_t i = 0; i < d.n; i++) {
		char line[512];

		dsm_diag_format(&d.v[i], line, sizeof(line));
		print_message("%s\n", line);
	}
	assert_int_equal(r, 0);
	assert_int_equal(d.errors, 0);
	assert_non_null(p);
	dsm_diags_free(&d);
	return p;
}

/* Compile src and compare every diagnostic, formatted, with want[]
 * (NULL-terminated). Returns the compile result. */
static int compile_diags(const char *src, const char *const *want)
{
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = NULL;
	int r = dsm_policy_compile("t.policy", src, strlen(src), &p, &d);
	size_t n = 0;

	while (want[n])
		n++;
	for (size_t i = 0; i < d.n; i++) {
		char line[512];

		dsm_diag_format(&d.v[i], line, sizeof(line));
		if (i >= n || strcmp(line, want[i]))
			print_message("got  [%zu] %s\nwant [%zu] %s\n", i, line, i,
				      i < n ? want[i] : "(nothing)");
		assert_true(i < n);
		assert_string_equal(line, want[i]);
	}
	assert_int_equal(d.n, n);
	if (r == 0)
		dsm_policy_free(p);
	else
		assert_null(p);
	dsm_diags_free(&d);
	return r;
}

static void expect_error(const char *src, const char *want)
{
	const char *const v[] = { want, NULL };

	assert_int_equal(compile_diags(src, v), -EINVAL);
}

static void expect_warning(const char *src, const char *want)
{
	const char *const v[] = { want, NULL };

	assert_int_equal(compile_diags(src, v), 0);
}

static const struct dsm_pval *get(const struct dsm_policy *p, struct dsm_pkey k)
{
	return dsm_policy_lookup(p, &k);
}

static uint32_t rule_perms(const struct dsm_policy *p, uint8_t class, uint16_t qual,
			   uint32_t s, uint32_t node, uint32_t t)
{
	const struct dsm_pval *v = get(p, dsm_key_rule(class, qual, s, node, t));

	return v ? v->perms : 0;
}

static size_t count_kind(const struct dsm_policy *p, uint8_t kind)
{
	size_t n, c = 0;
	const struct dsm_entry *e = dsm_policy_entries(p, &n);

	for (size_t i = 0; i < n; i++)
		c += e[i].key.kind == kind;
	return c;
}

/* ---- statements --------------------------------------------------------- */

static void test_minimal(void **state)
{
	struct dsm_policy *p;
	const struct dsm_pval *v;
	size_t n;
	(void)state;

	p = compile_ok("# a comment\npolicy minimal version 0x100000002;\n"
		       "label init = 7;  # trailing comment\ninitial init;\n");
	assert_string_equal(dsm_policy_name(p), "minimal");
	assert_true(dsm_policy_version(p) == 0x100000002ull);
	assert_int_equal(dsm_policy_mode(p), DSM_MODE_ENFORCING);
	assert_int_equal(dsm_policy_initial_label(p), 7);
	assert_int_equal(dsm_policy_file_label(p), 0);
	assert_int_equal(dsm_policy_nrules(p), 0);

	dsm_policy_entries(p, &n);
	assert_int_equal(n, 4); /* label + mode, initial, version */
	v = get(p, dsm_key_label(7));
	assert_non_null(v);
	assert_int_equal(v->perms, DSM_LABEL_F_DEFINED);
	v = get(p, dsm_key_config(DSM_CFG_MODE));
	assert_int_equal(v->aux, DSM_MODE_ENFORCING);
	v = get(p, dsm_key_config(DSM_CFG_INITIAL_LABEL));
	assert_int_equal(v->aux, 7);
	v = get(p, dsm_key_config(DSM_CFG_POLICY_VERSION));
	assert_int_equal(v->aux, 2);
	assert_int_equal(v->perms, 1);
	assert_null(get(p, dsm_key_config(DSM_CFG_FILE_LABEL)));
	assert_null(get(p, dsm_key_config(DSM_CFG_NODE_ID)));
	dsm_policy_free(p);
}

static void test_names(void **state)
{
	struct dsm_policy *p;
	const struct dsm_label *l;
	const struct dsm_node *nd;
	uint32_t id;
	size_t n;
	(void)state;

	p = compile_ok("policy \"quoted-name.v2\" version 3;\n"
		       "label zeta = 30; label alpha = 0x10; label mid-dle.x = 20;\n"
		       "node n2 = 2; node n1 = 1;\n"
		       "initial alpha;\n");
	assert_string_equal(dsm_policy_name(p), "quoted-name.v2");
	l = dsm_policy_labels(p, &n);
	assert_int_equal(n, 3);
	assert_int_equal(l[0].id, 16);
	assert_string_equal(l[0].name, "alpha");
	assert_int_equal(l[2].id, 30);
	assert_string_equal(dsm_policy_label_name(p, 20), "mid-dle.x");
	assert_null(dsm_policy_label_name(p, 21));
	assert_int_equal(dsm_policy_label_id(p, "zeta", &id), 0);
	assert_int_equal(id, 30);
	assert_int_equal(dsm_policy_label_id(p, "nope", &id), -ENOENT);

	nd = dsm_policy_nodes(p, &n);
	assert_int_equal(n, 2);
	assert_string_equal(nd[0].name, "n1");
	assert_string_equal(dsm_policy_node_name(p, 2), "n2");
	assert_int_equal(dsm_policy_node_id(p, "n1", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(dsm_policy_node_id(p, "n3", &id), -ENOENT);
	dsm_policy_free(p);
}

static void test_keywords_are_not_reserved(void **state)
{
	struct dsm_policy *p;
	(void)state;

	/* Statement words are contextual: they may name labels. */
	p = compile_ok("policy allow version 1;\nlabel file = 1; label socket = 2;\n"
		       "label label = 3;\ninitial file;\n"
		       "allow file socket : process signal;\n");
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 1, DSM_NODE_ANY, 2),
			 DSM_PERM_SIGNAL);
	dsm_policy_free(p);
}

static void test_allow_sets_and_self(void **state)
{
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "label a = 10; label b = 11; label c = 12;\n"
		       "allow { a b } { self c } : process { signal ptrace };\n");
	assert_int_equal(dsm_policy_nrules(p), 1);
	assert_int_equal(count_kind(p, DSM_KEY_RULE), 4);
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_SIGNAL | DSM_PERM_PTRACE);
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 11, DSM_NODE_ANY, 11),
			 DSM_PERM_SIGNAL | DSM_PERM_PTRACE);
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 12),
			 DSM_PERM_SIGNAL | DSM_PERM_PTRACE);
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 11, DSM_NODE_ANY, 12),
			 DSM_PERM_SIGNAL | DSM_PERM_PTRACE);
	/* self is the subject's own label, not the other subject's. */
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 11), 0);
	dsm_policy_free(p);
}

static void test_rules_merge(void **state)
{
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "label a = 10;\n"
		       "allow a self : process fork;\n"
		       "allow a self : process { signal };\n"
		       "allow a self : file exec;\n");
	assert_int_equal(dsm_policy_nrules(p), 3);
	assert_int_equal(count_kind(p, DSM_KEY_RULE), 2);
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_FORK | DSM_PERM_SIGNAL);
	assert_int_equal(rule_perms(p, DSM_CLASS_FILE, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_EXEC);
	dsm_policy_free(p);
}

static void test_star_is_every_permission(void **state)
{
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "label a = 10; node n = 1;\n"
		       "allow a self : process *;\nallow a self : file *;\n"
		       "allow a self : socket *;\nallow a@n self : peer *;\n"
		       "allow a self : system *;\n");
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_FORK | DSM_PERM_TRANSITION | DSM_PERM_SIGNAL | DSM_PERM_PTRACE);
	assert_int_equal(rule_perms(p, DSM_CLASS_FILE, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_EXEC);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_CREATE | DSM_PERM_BIND | DSM_PERM_LISTEN | DSM_PERM_CONNECT |
			 DSM_PERM_ACCEPT | DSM_PERM_SEND | DSM_PERM_RECV);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 10, 1, 10),
			 DSM_PERM_PEER_RECV);
	assert_int_equal(rule_perms(p, DSM_CLASS_SYSTEM, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_BPF | DSM_PERM_MODULE | DSM_PERM_DSM_FILES | DSM_PERM_DSM_READ |
			 DSM_PERM_MOUNT | DSM_PERM_KERNEL | DSM_PERM_CGROUP | DSM_PERM_NET);
	dsm_policy_free(p);
}

static void test_socket_exact_qualifier(void **state)
{
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "label web = 10;\n"
		       "allow web self : socket inet stream { create connect };\n"
		       "allow web self : socket dgram inet6 create;\n");
	assert_int_equal(count_kind(p, DSM_KEY_RULE), 2);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_STREAM), 10,
				    DSM_NODE_ANY, 10), DSM_PERM_CREATE | DSM_PERM_CONNECT);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET6, SOCK_DGRAM), 10,
				    DSM_NODE_ANY, 10), DSM_PERM_CREATE);
	/* Raw and packet sockets: no entry, no wildcard: denied. */
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_RAW), 10,
				    DSM_NODE_ANY, 10), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_PACKET, SOCK_RAW), 10,
				    DSM_NODE_ANY, 10), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10), 0);
	dsm_policy_free(p);
}

static void test_socket_family_only_expands_types(void **state)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "label web = 10;\nallow web self : socket unix { create };\n");
	assert_int_equal(count_kind(p, DSM_KEY_RULE), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_UNIX, types[i]), 10,
					    DSM_NODE_ANY, 10), DSM_PERM_CREATE);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10), 0);
	dsm_policy_free(p);
}

static void test_socket_type_only_expands_families(void **state)
{
	static const int fams[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET };
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "label web = 10;\nallow web self : socket stream connect;\n");
	assert_int_equal(count_kind(p, DSM_KEY_RULE), 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(fams[i], SOCK_STREAM), 10,
					    DSM_NODE_ANY, 10), DSM_PERM_CONNECT);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_DGRAM), 10,
				    DSM_NODE_ANY, 10), 0);
	dsm_policy_free(p);
}

static void test_socket_wildcard_folding(void **state)
{
	struct dsm_policy *p;
	(void)state;

	/* An exact entry includes the wildcard's permissions, whatever the
	 * order of the statements. */
	p = compile_ok(HEADER "label web = 10;\n"
		       "allow web self : socket inet stream connect;\n"
		       "allow web self : socket { send recv };\n");
	assert_int_equal(count_kind(p, DSM_KEY_RULE), 2);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10),
			 DSM_PERM_SEND | DSM_PERM_RECV);
	assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_STREAM), 10,
				    DSM_NODE_ANY, 10),
			 DSM_PERM_CONNECT | DSM_PERM_SEND | DSM_PERM_RECV);
	dsm_policy_free(p);
}

static void test_peer_nodes(void **state)
{
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "label web = 10; label db = 11;\nnode node1 = 1; node node2 = 2;\n"
		       "allow web@node1 db : peer { recv };\n"
		       "allow db@any web : peer recv;\n"
		       "allow db@node2 self : peer recv;\n"
		       "allow db@any self : peer recv;\n");
	assert_int_equal(count_kind(p, DSM_KEY_RULE), 4);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 10, 1, 11), DSM_PERM_PEER_RECV);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 10, 2, 11), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 11), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 11, DSM_NODE_ANY, 10),
			 DSM_PERM_PEER_RECV);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 11, 2, 11), DSM_PERM_PEER_RECV);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 11, DSM_NODE_ANY, 11),
			 DSM_PERM_PEER_RECV);
	dsm_policy_free(p);
}

static void test_transitions_and_files(void **state)
{
	struct dsm_policy *p;
	const struct dsm_file_rule *f;
	const struct dsm_pval *v;
	size_t n;
	(void)state;

	p = compile_ok(HEADER "label web = 10; label web_exec = 11; label bin = 12;\n"
		       "file /usr/sbin/nginx : web_exec;\n"
		       "file \"/opt/odd path/with:colon\" : web_exec;\n"
		       "file /usr/bin/sleep:bin;\n"
		       "file default : bin;\n"
		       "transition init web_exec -> web;\n"
		       "allow init web_exec : file exec;\n");
	v = get(p, dsm_key_trans(1, 11));
	assert_non_null(v);
	assert_int_equal(v->aux, 10);
	assert_int_equal(v->perms, 0);
	f = dsm_policy_files(p, &n);
	assert_int_equal(n, 3);
	assert_string_equal(f[0].path, "/usr/sbin/nginx");
	assert_int_equal(f[0].label, 11);
	assert_string_equal(f[1].path, "/opt/odd path/with:colon");
	assert_string_equal(f[2].path, "/usr/bin/sleep");
	assert_int_equal(f[2].label, 12);
	/* Paths are resolved at load, never compiled to FILE entries. */
	assert_int_equal(count_kind(p, DSM_KEY_FILE), 0);
	assert_int_equal(dsm_policy_file_label(p), 12);
	v = get(p, dsm_key_config(DSM_CFG_FILE_LABEL));
	assert_non_null(v);
	assert_int_equal(v->aux, 12);
	dsm_policy_free(p);
}

static void test_permissive_and_mode(void **state)
{
	struct dsm_policy *p;
	(void)state;

	p = compile_ok(HEADER "mode permissive;\nlabel web = 10; label db = 11;\n"
		       "permissive web;\n");
	assert_int_equal(dsm_policy_mode(p), DSM_MODE_PERMISSIVE);
	assert_int_equal(get(p, dsm_key_config(DSM_CFG_MODE))->aux, DSM_MODE_PERMISSIVE);
	assert_int_equal(get(p, dsm_key_label(10))->perms,
			 DSM_LABEL_F_DEFINED | DSM_LABEL_F_PERMISSIVE);
	assert_int_equal(get(p, dsm_key_label(11))->perms, DSM_LABEL_F_DEFINED);
	dsm_policy_free(p);

	p = compile_ok(HEADER "mode enforcing;\n");
	assert_int_equal(dsm_policy_mode(p), DSM_MODE_ENFORCING);
	dsm_policy_free(p);
}

static void test_unlabeled(void **state)
{
	struct dsm_policy *p;
	const struct dsm_net_rule *r;
	const struct dsm_pval *v;
	size_t n;
	(void)state;

	p = compile_ok(HEADER "label ext = 10; label cluster = 11;\n"
		       "unlabeled 0.0.0.0/0 -> ext;\n"
		       "unlabeled 10.77.0.0/24 dev eth0 -> cluster;\n"
		       "unlabeled 192.168.1.7 -> cluster;\n"
		       "unlabeled dev \"br-lan.5\" -> ext;\n");
	r = dsm_policy_nets(p, &n);
	assert_int_equal(n, 5);
	/* Sorted by (family, prefix, length, device). */
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(r[i].family, AF_INET);
	assert_int_equal(r[0].prefix_be, 0);
	assert_int_equal(r[0].plen, 0);
	assert_string_equal(r[0].ifname, "");
	assert_string_equal(r[1].ifname, "br-lan.5");
	assert_int_equal(r[1].plen, 0);
	assert_int_equal(r[2].prefix_be, htonl(0x0a4d0000));
	assert_int_equal(r[2].plen, 24);
	assert_string_equal(r[2].ifname, "eth0");
	assert_int_equal(r[2].label, 11);
	assert_int_equal(r[3].prefix_be, htonl(0xc0a80107));
	assert_int_equal(r[3].plen, 32);
	/* An interface without a prefix: every address, IPv4 and IPv6. */
	assert_int_equal(r[4].family, AF_INET6);
	assert_int_equal(r[4].plen, 0);
	assert_string_equal(r[4].ifname, "br-lan.5");
	assert_int_equal(r[4].label, 10);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(r[4].prefix[i], 0);

	/* Only device-less rules are compiled entries (ifindex 0). */
	assert_int_equal(count_kind(p, DSM_KEY_NET), 2);
	v = get(p, dsm_key_net(0, 0, 0, 0));
	assert_non_null(v);
	assert_int_equal(v->aux, 10);
	v = get(p, dsm_key_net(htonl(0xc0a80107), 32, 0, 0));
	assert_non_null(v);
	assert_int_equal(v->aux, 11);
	dsm_policy_free(p);
}

static struct dsm_pkey key6(const char *addr, uint8_t plen)
{
	__be32 a[4];

	assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	return dsm_key_net6(a, plen, 0, 0);
}

static void test_unlabeled6(void **state)
{
	struct dsm_policy *p;
	const struct dsm_net_rule *r;
	const struct dsm_pval *v;
	char buf[128];
	size_t n;
	(void)state;

	p = compile_ok(HEADER "label ext = 10; label cluster = 11; label lo6 = 12;\n"
		       "unlabeled ::/0 -> ext;\n"
		       "unlabeled fd00:77::/64 -> cluster;\n"
		       "unlabeled 2001:DB8:0:0:0:0:0:0/32 -> ext;\n"
		       "unlabeled ::1 -> lo6;\n"
		       "unlabeled fd00:77:0:1::/64 dev eth0 -> cluster;\n"
		       "unlabeled fe80::/10->cluster;\n"
		       "unlabeled 0.0.0.0/0 -> ext;\n");
	r = dsm_policy_nets(p, &n);
	assert_int_equal(n, 7);
	/* IPv4 first, then by prefix (bytes in network order). */
	assert_int_equal(r[0].family, AF_INET);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(r[i].family, AF_INET6);
	dsm_net_rule_prefix_format(&r[1], buf, sizeof(buf));
	assert_string_equal(buf, "::/0");
	dsm_net_rule_prefix_format(&r[2], buf, sizeof(buf));
	assert_string_equal(buf, "::1/128");
	dsm_net_rule_prefix_format(&r[3], buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");
	dsm_net_rule_prefix_format(&r[4], buf, sizeof(buf));
	assert_string_equal(buf, "fd00:77::/64");
	dsm_net_rule_prefix_format(&r[5], buf, sizeof(buf));
	assert_string_equal(buf, "fd00:77:0:1::/64");
	assert_string_equal(r[5].ifname, "eth0");
	dsm_net_rule_prefix_format(&r[6], buf, sizeof(buf));
	assert_string_equal(buf, "fe80::/10");
	dsm_net_rule_prefix_format(&r[0], buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0/0");

	/* Device-less rules are NET6 entries; the dev rule waits. */
	assert_int_equal(count_kind(p, DSM_KEY_NET6), 5);
	assert_int_equal(count_kind(p, DSM_KEY_NET), 1);
	v = get(p, key6("::", 0));
	assert_non_null(v);
	assert_int_equal(v->aux, 10);
	v = get(p, key6("fd00:77::", 64));
	assert_non_null(v);
	assert_int_equal(v->aux, 11);
	v = get(p, key6("::1", 128));
	assert_non_null(v);
	assert_int_equal(v->aux, 12);
	assert_null(get(p, key6("fd00:77:0:1::", 64)));
	{
		struct dsm_pkey k = key6("fe80::", 10);

		v = get(p, k);
		dsm_entry_format(p, &k, v, buf, sizeof(buf));
		assert_string_equal(buf, "unlabeled fe80::/10 -> cluster");
	}
	dsm_policy_free(p);

	/* The same prefix in both families is two rules. */
	p = compile_ok(HEADER "unlabeled 0.0.0.0/0 dev eth0 -> init;\nunlabeled ::/0 dev eth0 -> init;\n");
	dsm_policy_nets(p, &n);
	assert_int_equal(n, 2);
	dsm_policy_free(p);
}

static void test_unlabeled6_errors(void **state)
{
	(void)state;
	expect_error(HEADER "unlabeled fd00:77::1/64 -> init;\n",
		     "t.policy:4:11: error: 'fd00:77::1/64' has host bits set beyond the /64 prefix");
	expect_error(HEADER "unlabeled ::/129 -> init;\n",
		     "t.policy:4:11: error: bad IPv6 prefix '::/129' (expected an IPv6 address [/0..128])");
	expect_error(HEADER "unlabeled ::/064 -> init;\n",
		     "t.policy:4:11: error: bad IPv6 prefix '::/064' (expected an IPv6 address [/0..128])");
	expect_error(HEADER "unlabeled ::/ -> init;\n",
		     "t.policy:4:11: error: bad IPv6 prefix '::/' (expected an IPv6 address [/0..128])");
	expect_error(HEADER "unlabeled fd00:::1 -> init;\n",
		     "t.policy:4:11: error: bad IPv6 prefix 'fd00:::1' (expected an IPv6 address [/0..128])");
	expect_error(HEADER "unlabeled fd00:77:zz::/48 -> init;\n",
		     "t.policy:4:11: error: bad IPv6 prefix 'fd00:77:zz::/48' (expected an IPv6 address [/0..128])");
	expect_error(HEADER "unlabeled 1:2:3:4:5:6:7:8:9 -> init;\n",
		     "t.policy:4:11: error: bad IPv6 prefix '1:2:3:4:5:6:7:8:9' (expected an IPv6 address [/0..128])");
	expect_error(HEADER "unlabeled ::ffff:10.77.0.256/120 -> init;\n",
		     "t.policy:4:11: error: bad IPv6 prefix '::ffff:10.77.0.256/120' (expected an IPv6 address [/0..128])");
	/* A zone is not part of a prefix. */
	expect_error(HEADER "unlabeled fe80::1%eth0 -> init;\n",
		     "t.policy:4:18: error: unexpected character '%'");
	expect_error(HEADER "unlabeled web -> init;\n",
		     "t.policy:4:11: error: expected an IPv4 or IPv6 prefix or 'dev IFNAME', found 'web'");
	expect_error(HEADER "label b = 2;\nunlabeled fd00::/8 dev eth0 -> init;\nunlabeled fd00::/8 dev eth0 -> b;\n",
		     "t.policy:6:1: error: conflicting unlabeled rule: this prefix and device already map to 'init' (at 5:1)");
	/* An interface rule covers IPv6 too: it conflicts with an IPv6 rule
	 * for the same interface, once. */
	expect_error(HEADER "label b = 2;\nunlabeled ::/0 dev eth0 -> b;\nunlabeled dev eth0 -> init;\n",
		     "t.policy:6:1: error: conflicting unlabeled rule: this prefix and device already map to 'b' (at 5:1)");
	expect_warning(HEADER "unlabeled dev eth0 -> init;\nunlabeled dev eth0 -> init;\n",
		       "t.policy:5:1: warning: duplicate unlabeled rule (first at 4:1)");
	expect_warning(HEADER "unlabeled fd00::/8 -> init;\nunlabeled fd00:0::/8 -> init;\n",
		       "t.policy:5:1: warning: duplicate unlabeled rule (first at 4:1)");
	/* IPv4-mapped addresses are how IPv6 sockets show IPv4 peers, whose
	 * packets the IPv4 rules decide. */
	expect_warning(HEADER "unlabeled ::ffff:10.77.0.0/120 -> init;\n",
		       "t.policy:4:11: warning: '::ffff:10.77.0.0/120' is an IPv4-mapped prefix: it matches only IPv6 packets from such a source; IPv4 peers of IPv6 sockets get the IPv4 rules ('unlabeled 10.77.0.0/24')");
}

static void test_service_manager(void **state)
{
	struct dsm_policy *p;
	const struct dsm_pval *v;
	char buf[128];
	(void)state;

	p = compile_ok(HEADER "label pm = 5; label sys = 6; label exe = 7;\n"
		       "service_manager pm;\n"
		       "allow sys self : system bpf;\n"
		       "allow pm exe : file exec;\n"
		       "transition pm exe -> sys;\n"
		       "allow pm sys : process transition;\n"
		       "allow pm self : process *;\n"
		       "allow sys init : process transition;\n");
	assert_int_equal(dsm_policy_service_manager(p), 5);
	v = get(p, dsm_key_config(DSM_CFG_SERVICE_MANAGER));
	assert_non_null(v);
	assert_int_equal(v->aux, 5);
	assert_int_equal(v->perms, 0);
	{
		struct dsm_pkey k = dsm_key_config(DSM_CFG_SERVICE_MANAGER);

		dsm_entry_format(p, &k, v, buf, sizeof(buf));
		assert_string_equal(buf, "service_manager pm");
	}
	/* The label that holds system permissions says so. */
	v = get(p, dsm_key_label(6));
	assert_non_null(v);
	assert_int_equal(v->perms, DSM_LABEL_F_DEFINED | DSM_LABEL_F_SYSTEM);
	v = get(p, dsm_key_label(5));
	assert_int_equal(v->perms, DSM_LABEL_F_DEFINED);
	dsm_policy_free(p);

	/* Optional: without it, no entry (dsmd writes PID 1's label). */
	p = compile_ok(HEADER);
	assert_int_equal(dsm_policy_service_manager(p), 0);
	assert_null(get(p, dsm_key_config(DSM_CFG_SERVICE_MANAGER)));
	dsm_policy_free(p);

	/* The initial label may be the service manager (today's behaviour):
	 * then every task in it may enter a label with system permissions. */
	p = compile_ok(HEADER "label sys = 6; label exe = 7;\nservice_manager init;\n"
		       "allow sys self : system *;\nallow init exe : file exec;\n"
		       "transition init exe -> sys;\nallow init { self sys } : process *;\n");
	assert_int_equal(dsm_policy_service_manager(p), 1);
	dsm_policy_free(p);
}

static void test_service_manager_errors(void **state)
{
	(void)state;
	expect_error(HEADER "label pm = 5;\nservice_manager pm;\nservice_manager pm;\n",
		     "t.policy:6:1: error: duplicate 'service_manager' statement (first at 5:1)");
	expect_error(HEADER "service_manager nope;\n", "t.policy:4:17: error: unknown label 'nope'");
	expect_error(HEADER "service_manager self;\n",
		     "t.policy:4:17: error: 'self' is only valid as the target of an allow rule");
	expect_error(HEADER "service_manager init\nlabel a = 2;\n",
		     "t.policy:4:21: error: expected ';' before 'label'");
	/* No exec enters the service manager's label: not by a transition ... */
	expect_error(HEADER "label pm = 5; label exe = 7;\nservice_manager pm;\n"
		     "allow init exe : file exec;\ntransition init exe -> pm;\n",
		     "t.policy:7:24: error: transition from 'init' into 'pm' is denied at exec: only PID 1 carries the service manager's label");
	/* ... not even from itself (a task other than PID 1 leaves it) ... */
	expect_error(HEADER "label pm = 5; label exe = 7;\nservice_manager pm;\n"
		     "allow pm exe : file exec;\ntransition pm exe -> pm;\n",
		     "t.policy:7:22: error: transition from 'pm' into 'pm' is denied at exec: only PID 1 carries the service manager's label");
	/* ... nor by request. */
	expect_error(HEADER "label pm = 5;\nservice_manager pm;\nallow init { init pm } : process transition;\n",
		     "t.policy:6:19: error: requested transition from 'init' into 'pm' is denied at exec: only PID 1 carries the service manager's label");
	/* The initial label as service manager: nobody else execs into it. */
	expect_error(HEADER "label a = 2; label exe = 7;\nservice_manager init;\n"
		     "allow a exe : file exec;\ntransition a exe -> init;\n",
		     "t.policy:7:21: error: transition from 'a' into 'init' is denied at exec: only PID 1 carries the service manager's label");
	/* A label with system permissions: only from the service manager. */
	expect_error(HEADER "label pm = 5; label sys = 6; label exe = 7; label a = 2;\n"
		     "service_manager pm;\n"
		     "allow sys self : system module;\nallow a exe : file exec;\n"
		     "transition a exe -> sys;\n",
		     "t.policy:8:21: error: transition from 'a' into 'sys' is denied at exec: a label with system permissions is entered only from the service manager 'pm'");
	/* From the initial label the transition still labels dsmd when dsm
	 * starts (dsm_startup_label()): a warning. */
	expect_warning(HEADER "label pm = 5; label sys = 6; label exe = 7;\nservice_manager pm;\n"
		       "allow sys self : system module;\nallow init exe : file exec;\n"
		       "transition init exe -> sys;\n",
		       "t.policy:8:24: warning: transition from 'init' into 'sys' is denied at exec (a label with system permissions is entered only from the service manager 'pm', whose own transition also labels dsmd when dsm starts): it only labels dsmd when dsm starts");
	expect_error(HEADER "label pm = 5; label sys = 6;\nservice_manager pm;\n"
		     "allow sys self : system module;\nallow { pm init } sys : process *;\n",
		     "t.policy:7:19: error: requested transition from 'init' into 'sys' is denied at exec: a label with system permissions is entered only from the service manager 'pm'");
	/* From one system label into another: still only the manager. */
	expect_error(HEADER "label pm = 5; label sys = 6; label sys2 = 8;\nservice_manager pm;\n"
		     "allow { sys sys2 } self : system bpf;\nallow sys sys2 : process transition;\n",
		     "t.policy:7:11: error: requested transition from 'sys' into 'sys2' is denied at exec: a label with system permissions is entered only from the service manager 'pm'");
}

static void test_service_manager_unnamed_warns(void **state)
{
	const char *const want[] = {
		"t.policy:7:24: warning: transition from 'init' into 'sys' works only if 'init' is the service manager: a label with system permissions is entered only from the service manager, PID 1's label at start-up",
		"t.policy:8:12: warning: requested transition from 'init' into 'sys' works only if 'init' is the service manager: a label with system permissions is entered only from the service manager, PID 1's label at start-up",
		NULL,
	};
	const char *const none[] = { NULL };
	(void)state;

	assert_int_equal(compile_diags(HEADER "label sys = 6; label exe = 7;\n"
				       "allow sys self : system bpf;\nallow init exe : file exec;\n"
				       "transition init exe -> sys;\n"
				       "allow init sys : process { transition signal };\n", want), 0);
	/* Neither a label's own transition permission nor requests for labels
	 * without system permissions. */
	assert_int_equal(compile_diags(HEADER "label sys = 6; label a = 2;\n"
				       "allow sys self : system bpf;\nallow sys self : process fork;\n"
				       "allow sys sys : process transition;\n"
				       "allow init a : process transition;\n", none), 0);
}

static void test_class_dsm(void **state)
{
	struct dsm_policy *p;
	const struct dsm_pval *v;
	char buf[128];
	struct dsm_pkey k;
	(void)state;

	/* Subjects ask dsmd, whose label is the target: any label, no self
	 * restriction, no node. */
	p = compile_ok(HEADER "label dsmd = 2; label web = 10; label app = 11; label ops = 12;\n"
		       "allow dsmd self : system { bpf dsm_files dsm_read };\n"
		       "allow { web app } dsmd : dsm { query peerlabel };\n"
		       "allow ops dsmd : dsm *;\n"
		       "allow dsmd self : dsm query;\n");
	assert_int_equal(rule_perms(p, DSM_CLASS_DSM, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 2),
			 DSM_PERM_QUERY | DSM_PERM_PEERLABEL);
	assert_int_equal(rule_perms(p, DSM_CLASS_DSM, DSM_QUAL_ANY, 11, DSM_NODE_ANY, 2),
			 DSM_PERM_QUERY | DSM_PERM_PEERLABEL);
	assert_int_equal(rule_perms(p, DSM_CLASS_DSM, DSM_QUAL_ANY, 12, DSM_NODE_ANY, 2),
			 DSM_PERM_QUERY | DSM_PERM_PEERLABEL | DSM_PERM_ADMIN);
	assert_int_equal(rule_perms(p, DSM_CLASS_DSM, DSM_QUAL_ANY, 2, DSM_NODE_ANY, 2),
			 DSM_PERM_QUERY);
	/* Holding dsm permissions is not holding system permissions. */
	v = get(p, dsm_key_label(12));
	assert_int_equal(v->perms, DSM_LABEL_F_DEFINED);
	k = dsm_key_rule(DSM_CLASS_DSM, DSM_QUAL_ANY, 12, DSM_NODE_ANY, 2);
	v = dsm_policy_lookup(p, &k);
	dsm_entry_format(p, &k, v, buf, sizeof(buf));
	assert_string_equal(buf, "allow ops dsmd : dsm { query peerlabel admin }");
	assert_string_equal(dsm_class_name(DSM_CLASS_DSM), "dsm");
	assert_int_equal(dsm_class_by_name("dsm"), DSM_CLASS_DSM);
	assert_int_equal(dsm_class_all_perms(DSM_CLASS_DSM),
			 DSM_PERM_QUERY | DSM_PERM_PEERLABEL | DSM_PERM_ADMIN);
	dsm_policy_free(p);

	expect_error(HEADER "label dsmd = 2;\nallow init@any dsmd : dsm query;\n",
		     "t.policy:5:12: error: '@node' is only valid in peer rules");
	expect_error(HEADER "label dsmd = 2;\nallow init dsmd@any : dsm query;\n",
		     "t.policy:5:17: error: '@node' belongs to the subject (the sender) of a peer rule");
	expect_error(HEADER "label dsmd = 2;\nallow init dsmd : dsm unix query;\n",
		     "t.policy:5:23: error: 'unix' qualifies sockets only; class dsm has no family or type");
	expect_error(HEADER "label dsmd = 2;\nallow init dsmd : dsm { query reload };\n",
		     "t.policy:5:31: error: unknown permission 'reload' for class dsm");
	/* A target without system permissions cannot be dsmd's label. */
	expect_warning(HEADER "label web = 10;\nallow web self : dsm query;\n",
		       "t.policy:5:11: warning: class dsm's target is dsmd's label, but 'web' holds no system permissions, which dsmd's label needs (bpf, dsm_files, dsm_read)");
}

static void test_entries_sorted_and_deterministic(void **state)
{
	static const char src[] =
		HEADER "label a = 10; label b = 9; node n = 4;\n"
		"allow b a : socket inet stream connect;\nallow a b : process signal;\n"
		"allow a@n b : peer recv;\ntransition a b -> a;\nallow a b : file exec;\n"
		"unlabeled 10.0.0.0/8 -> b;\n";
	struct dsm_policy *p = compile_ok(src), *q = compile_ok(src);
	const struct dsm_entry *e, *f;
	size_t n, m;
	(void)state;

	e = dsm_policy_entries(p, &n);
	f = dsm_policy_entries(q, &m);
	assert_int_equal(n, m);
	assert_memory_equal(e, f, n * sizeof(*e));
	for (size_t i = 1; i < n; i++)
		assert_true(memcmp(&e[i - 1].key, &e[i].key, sizeof(e[i].key)) != 0);
	/* Kinds in ABI order. */
	for (size_t i = 1; i < n; i++)
		assert_true(e[i - 1].key.kind <= e[i].key.kind);
	dsm_policy_free(p);
	dsm_policy_free(q);
}

static void test_foreach_and_format(void **state)
{
	struct dsm_policy *p;
	const struct dsm_entry *e;
	char buf[256];
	size_t n;
	(void)state;

	p = compile_ok(HEADER "label web = 10; label db = 11; node node1 = 1;\n"
		       "allow web@node1 db : peer recv;\n"
		       "allow web self : socket inet stream { connect create };\n");
	const struct dsm_entry *peer = NULL;

	e = dsm_policy_entries(p, &n);
	for (size_t i = 0; i < n; i++) {
		if (e[i].key.kind != DSM_KEY_RULE)
			continue;
		dsm_entry_format(p, &e[i].key, &e[i].val, buf, sizeof(buf));
		if (e[i].key.rule.class == DSM_CLASS_PEER) {
			assert_string_equal(buf, "allow web@node1 db : peer recv");
			peer = &e[i];
		} else {
			assert_string_equal(buf, "allow web web : socket inet stream { create connect }");
		}
	}
	assert_non_null(peer);
	/* Truncation keeps a terminated string and reports the full length. */
	assert_int_equal(dsm_entry_format(p, &peer->key, &peer->val, buf, 8),
			 (int)strlen("allow web@node1 db : peer recv"));
	assert_int_equal(strlen(buf), 7);
	/* Without a policy: numbers. */
	dsm_entry_format(NULL, &peer->key, &peer->val, buf, sizeof(buf));
	assert_string_equal(buf, "allow 10@1 11 : peer recv");
	e = dsm_policy_entries(p, &n);
	for (size_t i = 0; i < n; i++) {
		if (e[i].key.kind != DSM_KEY_CONFIG)
			continue;
		dsm_entry_format(p, &e[i].key, &e[i].val, buf, sizeof(buf));
		assert_true(!strcmp(buf, "mode enforcing") || !strcmp(buf, "initial init") ||
			    !strcmp(buf, "version 1"));
	}
	dsm_policy_free(p);
}

static int count_cb(const struct dsm_pkey *k, const struct dsm_pval *v, void *ctx)
{
	(void)k;
	(void)v;
	return ++*(int *)ctx == 3 ? 42 : 0;
}

static void test_foreach_stops(void **state)
{
	struct dsm_policy *p = compile_ok(HEADER "label a = 2; label b = 3;\n");
	int calls = 0;
	(void)state;

	assert_int_equal(dsm_policy_foreach_entry(p, count_cb, &calls), 42);
	assert_int_equal(calls, 3);
	dsm_policy_free(p);
}

static void test_class_and_perm_names(void **state)
{
	char buf[64];
	(void)state;

	assert_string_equal(dsm_class_name(DSM_CLASS_PROCESS), "process");
	assert_string_equal(dsm_class_name(DSM_CLASS_SYSTEM), "system");
	assert_null(dsm_class_name(0));
	assert_null(dsm_class_name(DSM_CLASS_MAX));
	assert_int_equal(dsm_class_by_name("peer"), DSM_CLASS_PEER);
	assert_int_equal(dsm_class_by_name("nope"), -ENOENT);
	assert_string_equal(dsm_perm_name(DSM_CLASS_SOCKET, DSM_PERM_CONNECT), "connect");
	assert_string_equal(dsm_perm_name(DSM_CLASS_SYSTEM, DSM_PERM_DSM_FILES), "dsm_files");
	assert_string_equal(dsm_perm_name(DSM_CLASS_PEER, DSM_PERM_PEER_RECV), "recv");
	assert_null(dsm_perm_name(DSM_CLASS_FILE, 1u << 5));
	assert_null(dsm_perm_name(DSM_CLASS_SOCKET, 3)); /* not one bit */
	assert_int_equal(dsm_perm_by_name(DSM_CLASS_PROCESS, "ptrace"), DSM_PERM_PTRACE);
	assert_int_equal(dsm_perm_by_name(DSM_CLASS_PROCESS, "exec"), 0);
	assert_string_equal(dsm_family_name(AF_INET6), "inet6");
	assert_null(dsm_family_name(AF_BLUETOOTH));
	assert_string_equal(dsm_socktype_name(SOCK_SEQPACKET), "seqpacket");
	dsm_perms_format(DSM_CLASS_PROCESS, DSM_PERM_FORK | DSM_PERM_PTRACE | 1u << 9, buf,
			 sizeof(buf));
	assert_string_equal(buf, "{ fork ptrace 0x200 }");
	dsm_perms_format(DSM_CLASS_FILE, DSM_PERM_EXEC, buf, sizeof(buf));
	assert_string_equal(buf, "exec");
}

static void test_example_policy(void **state)
{
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = NULL;
	uint32_t web, db, ext, app, dsmd, init, stray, unconf, srv;
	(void)state;

	/* Unit tests run from the top of the tree. */
	assert_int_equal(dsm_policy_compile_file("policy/example.policy", &p, &d), 0);
	for (size_t i = 0; i < d.n; i++) {
		char line[512];

		dsm_diag_format(&d.v[i], line, sizeof(line));
		print_message("%s\n", line);
	}
	/* No warning: PID 1 has a label of its own (init), the only one
	 * that starts dsmd in dsmd's label. */
	assert_int_equal(d.n, 0);
	assert_int_equal(dsm_policy_label_id(p, "init", &init), 0);
	assert_int_equal(dsm_policy_service_manager(p), init);
	assert_int_equal(dsm_policy_label_id(p, "web", &web), 0);
	assert_int_equal(dsm_policy_label_id(p, "app", &app), 0);
	assert_int_equal(dsm_policy_label_id(p, "db", &db), 0);
	assert_int_equal(dsm_policy_label_id(p, "external", &ext), 0);
	assert_int_equal(dsm_policy_label_id(p, "dsmd", &dsmd), 0);
	/* What the example promises. */
	assert_true(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, ext, DSM_NODE_ANY, web) &
		    DSM_PERM_PEER_RECV);
	/* A cluster address that sends without a label is not outside: it
	 * reaches no service. */
	assert_int_equal(dsm_policy_label_id(p, "stray", &stray), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, stray, DSM_NODE_ANY, web), 0);
	/* The Security Server's address reaches dsmd's sockets (its uplink)
	 * and no service; a joined dsmd may use TCP over IPv4 and IPv6. */
	assert_int_equal(dsm_policy_label_id(p, "dsm_server", &srv), 0);
	assert_true(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, srv, DSM_NODE_ANY, dsmd) &
		    DSM_PERM_PEER_RECV);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, srv, DSM_NODE_ANY, web), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, srv, DSM_NODE_ANY, app), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, srv, DSM_NODE_ANY, db), 0);
	for (int fam = 0; fam < 2; fam++) {
		uint16_t q = dsm_qual(fam ? AF_INET6 : AF_INET, SOCK_STREAM);
		uint32_t need = DSM_PERM_CREATE | DSM_PERM_CONNECT | DSM_PERM_SEND | DSM_PERM_RECV;

		assert_int_equal(rule_perms(p, DSM_CLASS_SOCKET, q, dsmd, DSM_NODE_ANY, dsmd) & need,
				 need);
	}
	/* Only PID 1's label stops dsmd: a label that may mount (and so
	 * unmount dsm's pins) and end dsmd could switch dsm off. */
	assert_int_equal(dsm_policy_label_id(p, "unconfined", &unconf), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, unconf, DSM_NODE_ANY, dsmd) &
			 DSM_PERM_SIGNAL, 0);
	assert_true(rule_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, init, DSM_NODE_ANY, dsmd) &
		    DSM_PERM_SIGNAL);
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, ext, DSM_NODE_ANY, db), 0);
	for (uint32_t node = 1; node <= 3; node++) {
		assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, web, node, db), 0);
		assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, ext, node, db), 0);
	}
	assert_int_equal(rule_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, web, DSM_NODE_ANY, db), 0);
	assert_int_equal(rule_perms(p, DSM_CLASS_SYSTEM, DSM_QUAL_ANY, dsmd, DSM_NODE_ANY, dsmd),
			 DSM_PERM_BPF | DSM_PERM_MODULE | DSM_PERM_DSM_FILES | DSM_PERM_DSM_READ |
			 DSM_PERM_MOUNT | DSM_PERM_NET);
	/* No confined label may create raw or packet sockets (PID 1 and the
	 * unconfined rest of the system are not confined). */
	{
		size_t n;
		const struct dsm_entry *e = dsm_policy_entries(p, &n);
		uint32_t unconfined;

		assert_int_equal(dsm_policy_label_id(p, "unconfined", &unconfined), 0);
		for (size_t i = 0; i < n; i++) {
			const struct dsm_pkey *k = &e[i].key;

			if (k->kind != DSM_KEY_RULE || k->rule.class != DSM_CLASS_SOCKET ||
			    k->rule.subject == unconfined || k->rule.subject == init)
				continue;
			assert_true(k->rule.qual != DSM_QUAL_ANY);
			assert_true((k->rule.qual >> 8) != AF_PACKET);
			assert_true((k->rule.qual & 0xff) != SOCK_RAW ||
				    (k->rule.qual >> 8) == AF_NETLINK);
		}
		/* dsm's own system permissions are dsmd's alone; PID 1 and
		 * the rest of the system (the initial label) mount, write
		 * sysctls and sysfs, and manage cgroups. */
		for (size_t i = 0; i < n; i++) {
			if (e[i].key.kind != DSM_KEY_RULE || e[i].key.rule.class != DSM_CLASS_SYSTEM)
				continue;
			if (e[i].key.rule.subject == unconfined || e[i].key.rule.subject == init)
				assert_int_equal(e[i].val.perms,
						 DSM_PERM_MOUNT | DSM_PERM_KERNEL | DSM_PERM_CGROUP);
			else
				assert_int_equal(e[i].key.rule.subject, dsmd);
		}
	}
	dsm_diags_free(&d);
	dsm_policy_free(p);
}

/* ---- diagnostics -------------------------------------------------------- */

static void test_error_unknown_label(void **state)
{
	(void)state;
	expect_error(HEADER "label a = 10;\nallow a nosuch : process signal;\n",
		     "t.policy:5:9: error: unknown label 'nosuch'");
	expect_error(HEADER "label a = 10;\nallow { a b } a : process signal;\n",
		     "t.policy:5:11: error: unknown label 'b'");
	expect_error(HEADER "transition init x -> init;\n",
		     "t.policy:4:17: error: unknown label 'x'");
	expect_error(HEADER "file /bin/true : nope;\n",
		     "t.policy:4:18: error: unknown label 'nope'");
	expect_error(HEADER "permissive nope;\n", "t.policy:4:12: error: unknown label 'nope'");
	expect_error("policy t version 1;\ninitial nope;\n",
		     "t.policy:2:9: error: unknown label 'nope'");
	expect_error(HEADER "unlabeled 0.0.0.0/0 -> ext;\n",
		     "t.policy:4:24: error: unknown label 'ext'");
}

static void test_error_numbers(void **state)
{
	(void)state;
	expect_error(HEADER "label a = 12ab;\n", "t.policy:4:11: error: bad number '12ab'");
	expect_error(HEADER "label a = 0x;\n", "t.policy:4:11: error: bad number '0x'");
	expect_error("policy t version 99999999999999999999;\nlabel i = 1; initial i;\n",
		     "t.policy:1:18: error: bad number '99999999999999999999'");
	expect_error(HEADER "label a = 0;\n",
		     "t.policy:4:11: error: label id 0 is reserved (it means invalid)");
	expect_error(HEADER "label a = 0xffffffff;\n",
		     "t.policy:4:11: error: label id 4294967295 is reserved (it means any)");
	expect_error(HEADER "label a = 4294967296;\n",
		     "t.policy:4:11: error: label id 4294967296 out of range (1..4294967294)");
	expect_error(HEADER "node n = 0;\n",
		     "t.policy:4:10: error: node id 0 is reserved (it means the local node)");
	expect_error(HEADER "label a = x;\n",
		     "t.policy:4:11: error: expected a label id, found 'x'");
}

static void test_error_bad_id_does_not_cascade(void **state)
{
	(void)state;
	/* The label exists (with a bad id): its uses are not "unknown". */
	expect_error(HEADER "label a = 0;\nallow a self : process fork;\n",
		     "t.policy:4:11: error: label id 0 is reserved (it means invalid)");
}

static void test_error_duplicates(void **state)
{
	(void)state;
	expect_error(HEADER "label a = 10;\nlabel a = 11;\n",
		     "t.policy:5:1: error: duplicate label 'a' (first defined at 4:1)");
	expect_error(HEADER "label a = 10;\nlabel b = 10;\n",
		     "t.policy:5:1: error: label id 10 already used by 'a' (defined at 4:1)");
	expect_error(HEADER "label b = 1;\n",
		     "t.policy:4:1: error: label id 1 already used by 'init' (defined at 2:1)");
	expect_error(HEADER "node n = 1;\nnode n = 2;\n",
		     "t.policy:5:1: error: duplicate node 'n' (first defined at 4:1)");
	expect_error(HEADER "node n = 1;\nnode m = 1;\n",
		     "t.policy:5:1: error: node id 1 already used by 'n' (defined at 4:1)");
	expect_error(HEADER "policy u version 2;\n",
		     "t.policy:4:1: error: duplicate 'policy' statement (first at 1:1)");
	expect_error(HEADER "initial init;\n",
		     "t.policy:4:1: error: duplicate 'initial' statement (first at 3:1)");
	expect_error(HEADER "mode enforcing;\nmode permissive;\n",
		     "t.policy:5:1: error: duplicate 'mode' statement (first at 4:1)");
	expect_error(HEADER "file default : init;\nfile default : init;\n",
		     "t.policy:5:1: error: duplicate 'file default' statement (first at 4:1)");
	/* Labels and nodes are separate name spaces. */
	{
		const char *const none[] = { NULL };

		assert_int_equal(compile_diags(HEADER "node init = 1;\n", none), 0);
	}
}

static void test_error_three_duplicate_ids(void **state)
{
	const char *const want[] = {
		"t.policy:5:1: error: label id 10 already used by 'a' (defined at 4:1)",
		"t.policy:6:1: error: label id 10 already used by 'a' (defined at 4:1)",
		NULL,
	};
	(void)state;

	assert_int_equal(compile_diags(HEADER "label a = 10;\nlabel b = 10;\nlabel c = 10;\n",
				       want), -EINVAL);
}

static void test_error_reserved_names(void **state)
{
	(void)state;
	expect_error(HEADER "label self = 5;\n",
		     "t.policy:4:7: error: 'self' is reserved and cannot name a label");
	expect_error(HEADER "node any = 5;\n",
		     "t.policy:4:6: error: 'any' is reserved and cannot name a node");
	expect_error(HEADER "allow any init : process fork;\n",
		     "t.policy:4:7: error: 'any' is not a label: rules name labels explicitly");
	expect_error(HEADER "label aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 5;\n",
		     "t.policy:4:7: error: label name too long (at most 63 characters)");
}

static void test_error_classes_and_perms(void **state)
{
	(void)state;
	expect_error(HEADER "allow init self : proc fork;\n",
		     "t.policy:4:19: error: unknown class 'proc' (process, file, socket, peer, system, dsm)");
	expect_error(HEADER "allow init self : process { fork exec };\n",
		     "t.policy:4:34: error: unknown permission 'exec' for class process");
	/* The next statement on the same line still counts. */
	expect_error(HEADER "allow init self : process bad; label x = 2; permissive x;\n",
		     "t.policy:4:27: error: unknown permission 'bad' for class process");
	expect_error(HEADER "allow init self : socket connec;\n",
		     "t.policy:4:26: error: unknown permission 'connec' for class socket");
	expect_error(HEADER "allow init self : process { };\n",
		     "t.policy:4:27: error: empty permission set");
	expect_error(HEADER "allow init self : process;\n",
		     "t.policy:4:26: error: expected permissions ('{ ... }', one permission or '*'), found ';'");
	expect_error(HEADER "allow init self : process inet fork;\n",
		     "t.policy:4:27: error: 'inet' qualifies sockets only; class process has no family or type");
	expect_error(HEADER "allow init self : socket inet inet6 create;\n",
		     "t.policy:4:31: error: more than one socket family");
	expect_error(HEADER "allow init self : socket stream dgram create;\n",
		     "t.policy:4:33: error: more than one socket type");
	expect_error(HEADER "allow init self process fork;\n",
		     "t.policy:4:17: error: expected ':' before the class, found 'process'");
}

static void test_error_operands(void **state)
{
	(void)state;
	expect_error(HEADER "allow self init : process fork;\n",
		     "t.policy:4:7: error: 'self' is only valid as the target of an allow rule");
	expect_error(HEADER "node n = 1;\nallow init@n self : process fork;\n",
		     "t.policy:5:12: error: '@node' is only valid in peer rules");
	expect_error(HEADER "allow init init : peer recv;\n",
		     "t.policy:4:7: error: peer rules name the sender's node: write 'init@NODE' or 'init@any'");
	expect_error(HEADER "allow init@n2 init : peer recv;\n",
		     "t.policy:4:12: error: unknown node 'n2'");
	expect_error(HEADER "allow init@any init@any : peer recv;\n",
		     "t.policy:4:21: error: '@node' belongs to the subject (the sender) of a peer rule");
	expect_error(HEADER "label d = 2;\nallow d init : system bpf;\n",
		     "t.policy:5:9: error: class system applies to the subject itself: the target must be 'self'");
	expect_error(HEADER "allow { } init : process fork;\n",
		     "t.policy:4:7: error: empty set");
	expect_error(HEADER "allow init@ : peer recv;\n",
		     "t.policy:4:13: error: expected a node name or 'any' after '@', found ':'");
	expect_error(HEADER "transition self init -> init;\n",
		     "t.policy:4:12: error: 'self' is only valid as the target of an allow rule");
	expect_error(HEADER "node n = 1;\ninitial init@n;\n",
		     "t.policy:5:14: error: '@node' is only valid in peer rules");
}

static void test_error_unterminated_brace(void **state)
{
	(void)state;
	expect_error(HEADER "allow init self : process { fork signal;\n",
		     "t.policy:4:27: error: unterminated '{' (missing '}')");
	expect_error(HEADER "allow { init init : process fork;\n",
		     "t.policy:4:7: error: unterminated '{' (missing '}')");
	expect_error(HEADER "allow init self : process { fork",
		     "t.policy:4:27: error: unterminated '{' (missing '}')");
	/* A statement on the next line closes it: reported once, and the next
	 * statement still counts (its label is defined). */
	expect_error(HEADER "allow init x : process { fork\nlabel x = 5;\n",
		     "t.policy:4:24: error: unterminated '{' (missing '}')");
}

static void test_error_missing_semicolon(void **state)
{
	(void)state;
	expect_error(HEADER "label a = 10\nlabel b = 11;\nallow a b : process signal;\n",
		     "t.policy:4:13: error: expected ';' before 'label'");
	expect_error(HEADER "allow init self : process fork",
		     "t.policy:4:31: error: expected ';' before end of file");
	expect_error(HEADER "mode enforcing mode;\n",
		     "t.policy:4:15: error: expected ';' before 'mode'");
}

static void test_error_lexical(void **state)
{
	(void)state;
	expect_error(HEADER "label a = 10; $\n", "t.policy:4:15: error: unexpected character '$'");
	expect_error(HEADER "label a = 10;\n\x01;\n",
		     "t.policy:5:1: error: unexpected character byte 0x01");
	expect_error("policy \"abc version 1;\nlabel i = 1; initial i;\n",
		     "t.policy:1:8: error: unterminated string (strings end on the same line)");
	expect_error(HEADER "frobnicate a;\n", "t.policy:4:1: error: unknown statement 'frobnicate'");
	expect_error(HEADER "; label a = 2;\n", "t.policy:4:1: error: expected a statement, found ';'");
	expect_error(HEADER "mode strict;\n",
		     "t.policy:4:6: error: expected 'enforcing' or 'permissive', found 'strict'");
	expect_error("policy t 1;\nlabel i = 1; initial i;\n",
		     "t.policy:1:10: error: expected 'version', found '1'");
}

static void test_error_files_and_nets(void **state)
{
	(void)state;
	expect_error(HEADER "file \"relative/path\" : init;\n",
		     "t.policy:4:6: error: file path must be absolute");
	expect_error(HEADER "file /a : init;\nlabel b = 2;\nfile /a : b;\n",
		     "t.policy:6:1: error: '/a' is already labeled 'init' (at 4:1)");
	expect_error(HEADER "unlabeled 10.0.0.1/24 -> init;\n",
		     "t.policy:4:11: error: '10.0.0.1/24' has host bits set beyond the /24 prefix");
	expect_error(HEADER "unlabeled 10.0.0/8 -> init;\n",
		     "t.policy:4:11: error: bad IPv4 prefix '10.0.0/8' (expected a.b.c.d/len)");
	expect_error(HEADER "unlabeled 10.0.0.0/33 -> init;\n",
		     "t.policy:4:11: error: bad IPv4 prefix '10.0.0.0/33' (expected a.b.c.d/len)");
	expect_error(HEADER "unlabeled 256.0.0.0/8 -> init;\n",
		     "t.policy:4:11: error: bad IPv4 prefix '256.0.0.0/8' (expected a.b.c.d/len)");
	expect_error(HEADER "unlabeled 010.0.0.0/8 -> init;\n",
		     "t.policy:4:11: error: bad IPv4 prefix '010.0.0.0/8' (expected a.b.c.d/len)");
	expect_error(HEADER "unlabeled dev averyveryverylongname -> init;\n",
		     "t.policy:4:15: error: bad interface name 'averyveryverylongname' (1..15 characters, no '/' or blanks)");
	expect_error(HEADER "unlabeled -> init;\n",
		     "t.policy:4:11: error: expected an IPv4 or IPv6 prefix or 'dev IFNAME', found '->'");
	expect_error(HEADER "label b = 2;\nunlabeled 0.0.0.0/0 -> init;\nunlabeled 0.0.0.0/0 -> b;\n",
		     "t.policy:6:1: error: conflicting unlabeled rule: this prefix and device already map to 'init' (at 5:1)");
	expect_error(HEADER "label a = 2; label b = 3;\ntransition init a -> a;\ntransition init a -> b;\n",
		     "t.policy:6:1: error: conflicting transition: 'init' executing 'a' already becomes 'a' (at 5:1)");
}

static void test_error_missing_header(void **state)
{
	const char *const want[] = {
		"t.policy:1:1: error: missing 'policy NAME version N;' statement",
		"t.policy:1:1: error: missing 'initial LABEL;' statement (the label of tasks no transition names)",
		NULL,
	};
	(void)state;

	assert_int_equal(compile_diags("label a = 1;\n", want), -EINVAL);
	assert_int_equal(compile_diags("", want), -EINVAL);
}

static void test_errors_collected_in_order(void **state)
{
	const char *const want[] = {
		"t.policy:4:11: error: bad number '1x'",
		"t.policy:5:7: error: unknown label 'nope'",
		"t.policy:6:19: error: unknown class 'bogus' (process, file, socket, peer, system, dsm)",
		"t.policy:7:1: warning: duplicate file rule (first at 4:15)",
		NULL,
	};
	(void)state;

	/* Semantic errors (found later) are sorted with syntax errors. */
	assert_int_equal(compile_diags(HEADER "label a = 1x; file /x : init;\n"
				       "allow nope self : process fork;\n"
				       "allow init self : bogus fork;\n"
				       "file /x : init;\n", want), -EINVAL);
}

static void test_errors_stop_after_limit(void **state)
{
	struct dsm_diags d = { 0 };
	struct dsm_policy *p;
	char *src = malloc(64 * 40 + sizeof(HEADER));
	size_t len;
	char line[256];
	(void)state;

	assert_non_null(src);
	len = (size_t)sprintf(src, HEADER);
	for (int i = 0; i < 40; i++)
		len += (size_t)sprintf(src + len, "allow init u%d : process fork;\n", i);
	assert_int_equal(dsm_policy_compile("t.policy", src, len, &p, &d), -EINVAL);
	assert_int_equal(d.errors, DSM_DIAG_MAX_ERRORS);
	assert_int_equal(d.n, DSM_DIAG_MAX_ERRORS + 1);
	dsm_diag_format(&d.v[0], line, sizeof(line));
	assert_string_equal(line, "t.policy:4:12: error: unknown label 'u0'");
	dsm_diag_format(&d.v[DSM_DIAG_MAX_ERRORS], line, sizeof(line));
	assert_string_equal(line, "t.policy:23:12: error: too many errors, stopping");
	dsm_diags_free(&d);
	free(src);
}

static void test_warnings(void **state)
{
	(void)state;
	expect_warning(HEADER "allow init self : process fork;\nallow init self : process fork;\n",
		       "t.policy:5:1: warning: rule has no effect: everything it allows is already allowed (see 4:1)");
	expect_warning(HEADER "allow init self : process *;\nallow init self : process { signal };\n",
		       "t.policy:5:1: warning: rule has no effect: everything it allows is already allowed (see 4:1)");
	expect_warning(HEADER "file /a : init;\nfile /a : init;\n",
		       "t.policy:5:1: warning: duplicate file rule (first at 4:1)");
	expect_warning(HEADER "allow init init : file exec;\ntransition init init -> init;\n"
		       "transition init init -> init;\n",
		       "t.policy:6:1: warning: duplicate transition (first at 5:1)");
	expect_warning(HEADER "unlabeled 0.0.0.0/0 -> init;\nunlabeled 0.0.0.0/0 -> init;\n",
		       "t.policy:5:1: warning: duplicate unlabeled rule (first at 4:1)");
	expect_warning(HEADER "permissive init;\npermissive init;\n",
		       "t.policy:5:1: warning: label 'init' is already permissive (at 4:1)");
	expect_warning(HEADER "label e = 2;\ntransition init e -> init;\n",
		       "t.policy:5:1: warning: transition cannot happen without 'allow init e : file exec;'");
}

static void test_no_false_warnings(void **state)
{
	const char *const none[] = { NULL };
	(void)state;

	/* Unused labels, a rule that adds one permission, a more specific rule
	 * after a general one, the same permissions on another target. */
	assert_int_equal(compile_diags(HEADER "label unused = 99; label b = 2;\n"
				       "allow init self : process fork;\n"
				       "allow init self : process { fork signal };\n"
				       "allow init self : socket inet stream connect;\n"
				       "allow init self : socket inet connect;\n"
				       "allow init b : process fork;\n", none), 0);
}

static void test_compile_file(void **state)
{
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = (struct dsm_policy *)1;
	char line[256];
	(void)state;

	assert_int_equal(dsm_policy_compile_file("/nonexistent/x.policy", &p, &d), -ENOENT);
	assert_null(p);
	assert_int_equal(d.n, 1);
	dsm_diag_format(&d.v[0], line, sizeof(line));
	assert_string_equal(line, "/nonexistent/x.policy: error: No such file or directory");
	dsm_diags_free(&d);
	/* Without a diagnostics list. */
	assert_int_equal(dsm_policy_compile("x", "nonsense", 8, &p, NULL), -EINVAL);
	assert_null(p);
}

static void test_diags_reused(void **state)
{
	struct dsm_diags d;
	struct dsm_policy *p;
	(void)state;

	/* A list that already holds errors does not stop a new run early. */
	dsm_diags_init(&d);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dsm_policy_compile("x", "junk junk;", 10, &p, &d), -EINVAL);
	assert_int_equal(d.errors, 9); /* unknown statement + 2 missing */
	assert_int_equal(dsm_policy_compile("x", HEADER, strlen(HEADER), &p, &d), 0);
	dsm_policy_free(p);
	dsm_diags_free(&d);
	assert_int_equal(d.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_keywords_are_not_reserved),
		cmocka_unit_test(test_allow_sets_and_self),
		cmocka_unit_test(test_rules_merge),
		cmocka_unit_test(test_star_is_every_permission),
		cmocka_unit_test(test_socket_exact_qualifier),
		cmocka_unit_test(test_socket_family_only_expands_types),
		cmocka_unit_test(test_socket_type_only_expands_families),
		cmocka_unit_test(test_socket_wildcard_folding),
		cmocka_unit_test(test_peer_nodes),
		cmocka_unit_test(test_transitions_and_files),
		cmocka_unit_test(test_permissive_and_mode),
		cmocka_unit_test(test_unlabeled),
		cmocka_unit_test(test_unlabeled6),
		cmocka_unit_test(test_unlabeled6_errors),
		cmocka_unit_test(test_service_manager),
		cmocka_unit_test(test_service_manager_errors),
		cmocka_unit_test(test_service_manager_unnamed_warns),
		cmocka_unit_test(test_class_dsm),
		cmocka_unit_test(test_entries_sorted_and_deterministic),
		cmocka_unit_test(test_foreach_and_format),
		cmocka_unit_test(test_foreach_stops),
		cmocka_unit_test(test_class_and_perm_names),
		cmocka_unit_test(test_example_policy),
		cmocka_unit_test(test_error_unknown_label),
		cmocka_unit_test(test_error_numbers),
		cmocka_unit_test(test_error_bad_id_does_not_cascade),
		cmocka_unit_test(test_error_duplicates),
		cmocka_unit_test(test_error_three_duplicate_ids),
		cmocka_unit_test(test_error_reserved_names),
		cmocka_unit_test(test_error_classes_and_perms),
		cmocka_unit_test(test_error_operands),
		cmocka_unit_test(test_error_unterminated_brace),
		cmocka_unit_test(test_error_missing_semicolon),
		cmocka_unit_test(test_error_lexical),
		cmocka_unit_test(test_error_files_and_nets),
		cmocka_unit_test(test_error_missing_header),
		cmocka_unit_test(test_errors_collected_in_order),
		cmocka_unit_test(test_errors_stop_after_limit),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_no_false_warnings),
		cmocka_unit_test(test_compile_file),
		cmocka_unit_test(test_diags_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
