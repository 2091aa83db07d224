// SPDX-License-Identifier: GPL-2.0
/*
 * Policy bundles: a round trip keeps everything, writing is deterministic,
 * and the reader rejects truncated, extended, corrupted and re-digested but
 * inconsistent input.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "policy.h"

static const char rich[] =
	"policy bundle-test version 0x123456789;\n"
	"mode permissive;\n"
	"node n1 = 1; node n2 = 7;\n"
	"label init = 1; label web = 10; label db = 11; label exe = 12; label ext = 99;\n"
	"initial init;\n"
	"service_manager init;\n"
	"permissive db;\n"
	"allow web self : socket inet stream { create connect };\n"
	"allow web self : socket unix create;\n"
	"allow { web db } self : process *;\n"
	"allow web@n1 db : peer recv;\n"
	"allow ext@any web : peer recv;\n"
	"allow init exe : file exec;\n"
	"allow db self : system { bpf dsm_read };\n"
	"allow { web init } db : dsm { query peerlabel };\n"
	"transition init exe -> web;\n"
	"file /usr/bin/sleep : exe;\n"
	"file \"/opt/with space\" : exe;\n"
	"file default : init;\n"
	"unlabeled 0.0.0.0/0 -> ext;\n"
	"unlabeled 10.1.0.0/16 dev eth0 -> db;\n"
	"unlabeled ::/0 -> ext;\n"
	"unlabeled fd00:77::/64 dev eth0 -> db;\n";

#define HDR_LEN 40
#define DIGEST  DSM_BUNDLE_DIGEST_LEN

static struct dsm_policy *compile(const char *src)
{
	struct dsm_policy *p = NULL;

	assert_int_equal(dsm_policy_compile("b.policy", src, strlen(src), &p, NULL), 0);
	return p;
}

static uint8_t *write_bundle(const struct dsm_policy *p, size_t *len)
{
	uint8_t *buf = NULL;

	assert_int_equal(dsm_bundle_write(p, &buf, len), 0);
	assert_non_null(buf);
	return buf;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Recompute the trailing digest, as a producer with a bug would. */
static void redigest(uint8_t *buf, size_t len)
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len - DIGEST, buf + len - DIGEST, &n, EVP_sha256(),
				    NULL), 1);
}

/* Offset of the header of section tag (1 = META ... 6 = ENTRIES). */
static size_t section(const uint8_t *buf, uint32_t tag)
{
	size_t off = HDR_LEN;

	for (uint32_t t = 1; t < tag; t++)
		off += 16 + get_le(buf + off + 8, 8);
	assert_int_equal(get_le(buf + off, 4), tag);
	return off;
}

static int read_status(const uint8_t *buf, size_t len)
{
	struct dsm_policy *q = NULL;
	int r = dsm_bundle_read(buf, len, &q);

	if (r == 0)
		dsm_policy_free(q);
	else
		assert_null(q);
	return r;
}

static void assert_same(const struct dsm_policy *a, const struct dsm_policy *b)
{
	size_t n, m;

	assert_string_equal(dsm_policy_name(a), dsm_policy_name(b));
	assert_true(dsm_policy_version(a) == dsm_policy_version(b));
	assert_int_equal(dsm_policy_mode(a), dsm_policy_mode(b));
	assert_int_equal(dsm_policy_initial_label(a), dsm_policy_initial_label(b));
	assert_int_equal(dsm_policy_file_label(a), dsm_policy_file_label(b));
	assert_int_equal(dsm_policy_service_manager(a), dsm_policy_service_manager(b));
	assert_int_equal(dsm_policy_nrules(a), dsm_policy_nrules(b));
	{
		const struct dsm_label *x = dsm_policy_labels(a, &n), *y = dsm_policy_labels(b, &m);

		assert_int_equal(n, m);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(x[i].id, y[i].id);
			assert_int_equal(x[i].flags, y[i].flags);
			assert_string_equal(x[i].name, y[i].name);
		}
	}
	{
		const struct dsm_node *x = dsm_policy_nodes(a, &n), *y = dsm_policy_nodes(b, &m);

		assert_int_equal(n, m);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(x[i].id, y[i].id);
			assert_string_equal(x[i].name, y[i].name);
		}
	}
	{
		const struct dsm_file_rule *x = dsm_policy_files(a, &n), *y = dsm_policy_files(b, &m);

		assert_int_equal(n, m);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(x[i].label, y[i].label);
			assert_string_equal(x[i].path, y[i].path);
		}
	}
	{
		const struct dsm_net_rule *x = dsm_policy_nets(a, &n), *y = dsm_policy_nets(b, &m);

		assert_int_equal(n, m);
		assert_memory_equal(x, y, n * sizeof(*x));
	}
	{
		const struct dsm_entry *x = dsm_policy_entries(a, &n), *y = dsm_policy_entries(b, &m);

		assert_int_equal(n, m);
		assert_memory_equal(x, y, n * sizeof(*x));
	}
}

static void test_round_trip(void **state)
{
	struct dsm_policy *p = compile(rich), *q = NULL;
	uint8_t *buf, *buf2, digest[DIGEST], want[DIGEST];
	size_t len, len2;
	unsigned int n = 0;
	uint32_t id;
	(void)state;

	buf = write_bundle(p, &len);
	assert_int_equal(dsm_bundle_read(buf, len, &q), 0);
	assert_same(p, q);
	/* Name lookups work on the read copy. */
	assert_int_equal(dsm_policy_label_id(q, "ext", &id), 0);
	assert_int_equal(id, 99);
	assert_string_equal(dsm_policy_node_name(q, 7), "n2");
	assert_int_equal(dsm_policy_file_label(q), 1);
	assert_int_equal(dsm_policy_service_manager(q), 1);
	/* The compiler's flags survive: db holds system permissions. */
	{
		size_t nl;
		const struct dsm_label *l = dsm_policy_labels(q, &nl);

		for (size_t i = 0; i < nl; i++)
			assert_int_equal(!!(l[i].flags & DSM_LABEL_F_SYSTEM), l[i].id == 11);
	}

	/* Deterministic: the same policy gives the same bytes. */
	buf2 = write_bundle(q, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);

	/* The digest is SHA-256 of everything before it. */
	assert_int_equal(dsm_bundle_digest(buf, len, digest), 0);
	assert_int_equal(EVP_Digest(buf, len - DIGEST, want, &n, EVP_sha256(), NULL), 1);
	assert_memory_equal(digest, want, DIGEST);
	assert_int_equal(dsm_bundle_digest(buf, 10, digest), -EBADMSG);

	/* The header says what it is. */
	assert_memory_equal(buf, "DSMBNDL\n", 8);
	assert_int_equal(get_le(buf + 8, 2), DSM_BUNDLE_FORMAT);
	assert_int_equal(get_le(buf + 10, 2), DSM_ABI_VERSION);
	assert_int_equal(get_le(buf + 16, 8), len);
	assert_true(get_le(buf + 24, 8) == 0x123456789ull);

	free(buf);
	free(buf2);
	dsm_policy_free(p);
	dsm_policy_free(q);
}

static void test_round_trip_minimal(void **state)
{
	struct dsm_policy *p = compile("policy m version 0;\nlabel i = 5;\ninitial i;\n"), *q;
	uint8_t *buf;
	size_t len;
	(void)state;

	buf = write_bundle(p, &len);
	assert_int_equal(dsm_bundle_read(buf, len, &q), 0);
	assert_same(p, q);
	assert_int_equal(dsm_policy_file_label(q), 0);
	assert_int_equal(dsm_policy_service_manager(q), 0);
	free(buf);
	dsm_policy_free(p);
	dsm_policy_free(q);
}

static void test_truncated(void **state)
{
	struct dsm_policy *p = compile(rich);
	size_t len;
	uint8_t *buf = write_bundle(p, &len);
	(void)state;

	for (size_t n = 0; n < len; n++)
		assert_int_equal(read_status(buf, n), -EBADMSG);
	free(buf);
	dsm_policy_free(p);
}

static void test_trailing_bytes(void **state)
{
	struct dsm_policy *p = compile(rich);
	size_t len;
	uint8_t *buf = write_bundle(p, &len), *big = calloc(1, len + 1);
	(void)state;

	assert_non_null(big);
	memcpy(big, buf, len);
	assert_int_equal(read_status(big, len + 1), -EBADMSG);
	/* Even with a consistent length and digest: the sections do not
	 * account for the extra byte. */
	memmove(big + len - DIGEST + 1, big + len - DIGEST, DIGEST);
	big[len - DIGEST] = 0;
	put_le(big + 16, len + 1, 8);
	redigest(big, len + 1);
	assert_int_equal(read_status(big, len + 1), -EBADMSG);
	free(big);
	free(buf);
	dsm_policy_free(p);
}

static void test_every_byte_flip(void **state)
{
	struct dsm_policy *p = compile(rich);
	size_t len;
	uint8_t *buf = write_bundle(p, &len);
	(void)state;

	for (size_t i = 0; i < len; i++) {
		int r;

		buf[i] ^= 0x41;
		r = read_status(buf, len);
		/* The version fields are checked before the digest. */
		if (i >= 8 && i < 12)
			assert_int_equal(r, -EPROTONOSUPPORT);
		else
			assert_int_equal(r, -EBADMSG);
		buf[i] ^= 0x41;
	}
	assert_int_equal(read_status(buf, len), 0);
	free(buf);
	dsm_policy_free(p);
}

static void test_versions(void **state)
{
	struct dsm_policy *p = compile(rich);
	size_t len;
	uint8_t *buf = write_bundle(p, &len);
	(void)state;

	put_le(buf + 8, DSM_BUNDLE_FORMAT + 1, 2);
	redigest(buf, len);
	assert_int_equal(read_status(buf, len), -EPROTONOSUPPORT);
	put_le(buf + 8, DSM_BUNDLE_FORMAT, 2);
	put_le(buf + 10, DSM_ABI_VERSION + 1, 2);
	redigest(buf, len);
	assert_int_equal(read_status(buf, len), -EPROTONOSUPPORT);
	put_le(buf + 10, DSM_ABI_VERSION, 2);
	put_le(buf + 12, 1, 4); /* unknown flag */
	redigest(buf, len);
	assert_int_equal(read_status(buf, len), -EBADMSG);
	free(buf);
	dsm_policy_free(p);
}

/* Apply one consistent-looking change (with a valid digest); the reader
 * must still refuse it. */
typedef void (*tamper_fn)(uint8_t *buf, size_t len);

static void tamper_label_id_zero(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 2) + 16, 0, 4);
}

static void tamper_label_id_any(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 2) + 16, 0xffffffff, 4);
}

static void tamper_label_flags(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 2) + 16 + 4, 0, 4); /* not DEFINED */
}

static void tamper_label_order(uint8_t *b, size_t len)
{
	size_t off = section(b, 2) + 16;
	size_t second = off + 9 + b[off + 8];

	(void)len;
	put_le(b + second, get_le(b + off, 4), 4); /* duplicate id */
}

static void tamper_label_name_nul(uint8_t *b, size_t len)
{
	(void)len;
	b[section(b, 2) + 16 + 9] = 0;
}

static void tamper_label_name_bad(uint8_t *b, size_t len)
{
	(void)len;
	b[section(b, 2) + 16 + 9] = ' ';
}

static void tamper_section_tag(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 3), 4, 4);
}

static void tamper_section_len(uint8_t *b, size_t len)
{
	size_t off = section(b, 3);

	put_le(b + off + 8, len, 8);
}

static void tamper_section_count(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 2) + 4, 0xffffffff, 4);
}

static void tamper_string_len(uint8_t *b, size_t len)
{
	(void)len;
	b[section(b, 2) + 16 + 8] = 0xff; /* name runs past the section */
}

static void tamper_policy_name(uint8_t *b, size_t len)
{
	(void)len;
	b[section(b, 1) + 16 + 18] = '/';
}

static void tamper_mode(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 1) + 16, 7, 4);
}

static void tamper_initial(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 1) + 16 + 4, 4242, 4);
}

static void tamper_file_label(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + section(b, 4) + 16, 4242, 4);
}

static void tamper_file_relative(uint8_t *b, size_t len)
{
	(void)len;
	b[section(b, 4) + 16 + 6] = 'x';
}

/* NETS rows: family, length, 16 prefix bytes, ifname (length byte first),
 * label. rich's, sorted: 0.0.0.0/0, 10.1.0.0/16 dev eth0, ::/0,
 * fd00:77::/64 dev eth0. */
static uint8_t *net_row(uint8_t *b, unsigned int i)
{
	uint8_t *r = b + section(b, 5) + 16;

	while (i--)
		r += 23 + r[18];
	return r;
}

static void tamper_net_host_bits(uint8_t *b, size_t len)
{
	(void)len;
	net_row(b, 0)[2 + 3] = 1; /* 0.0.0.1/0 */
}

static void tamper_net_plen(uint8_t *b, size_t len)
{
	(void)len;
	net_row(b, 0)[1] = 33;
}

static void tamper_net_family(uint8_t *b, size_t len)
{
	(void)len;
	net_row(b, 0)[0] = 3; /* neither AF_INET nor AF_INET6 */
}

static void tamper_net_v4_tail(uint8_t *b, size_t len)
{
	(void)len;
	net_row(b, 1)[2 + 15] = 1; /* a byte an IPv4 prefix does not use */
}

static void tamper_net6_plen(uint8_t *b, size_t len)
{
	(void)len;
	net_row(b, 2)[1] = 129;
}

static void tamper_net6_host_bits(uint8_t *b, size_t len)
{
	uint8_t *r = net_row(b, 3);

	(void)len;
	assert_int_equal(r[1], 64);
	r[2 + 8] = 0x80; /* bit 64 of fd00:77::/64 */
}

static void tamper_net_order(uint8_t *b, size_t len)
{
	(void)len;
	net_row(b, 0)[0] = AF_INET6; /* a second ::/0, before an IPv4 rule */
}

static void tamper_net_label(uint8_t *b, size_t len)
{
	(void)len;
	put_le(net_row(b, 2) + 19, 10, 4); /* ::/0 -> web, its entry says ext */
}

/* An entry: kind, 3 zero bytes, the key's variant (28 bytes; a rule's
 * class at 4, qual at 6, subject at 8), perms at 32, aux at 36. */
#define ENTRY 40

static uint8_t *entry(uint8_t *b, size_t i)
{
	return b + section(b, 6) + 16 + ENTRY * i;
}

static void tamper_entry_order(uint8_t *b, size_t len)
{
	uint8_t tmp[ENTRY];

	(void)len;
	memcpy(tmp, entry(b, 0), ENTRY);
	memcpy(entry(b, 0), entry(b, 1), ENTRY);
	memcpy(entry(b, 1), tmp, ENTRY);
}

static void tamper_entry_pad(uint8_t *b, size_t len)
{
	(void)len;
	entry(b, 0)[1] = 1; /* the bytes after the kind are zero */
}

static void tamper_entry_unused(uint8_t *b, size_t len)
{
	(void)len;
	entry(b, 0)[24] = 1; /* a byte the rule variant does not name */
}

static void tamper_entry_kind(uint8_t *b, size_t len)
{
	uint8_t *e = entry(b, 0);

	(void)len;
	e[0] = 9;
}

static void tamper_entry_file_kind(uint8_t *b, size_t len)
{
	(void)len;
	entry(b, 0)[0] = DSM_KEY_FILE;
}

static void tamper_entry_perms(uint8_t *b, size_t len)
{
	(void)len;
	put_le(entry(b, 0) + 32, 1u << 20, 4); /* no such permission */
}

static void tamper_entry_label(uint8_t *b, size_t len)
{
	(void)len;
	put_le(entry(b, 0) + 8, 4242, 4); /* undefined subject */
}

static void tamper_entry_class(uint8_t *b, size_t len)
{
	(void)len;
	entry(b, 0)[4] = 0;
}

static void tamper_version(uint8_t *b, size_t len)
{
	(void)len;
	put_le(b + 24, 5, 8); /* header disagrees with the CONFIG entry */
}

static void tamper_entry_duplicate(uint8_t *b, size_t len)
{
	size_t off = section(b, 6), n = get_le(b + off + 4, 4);

	(void)len;
	/* Two LABEL entries for the same label. */
	for (size_t i = 0; i + 1 < n; i++) {
		uint8_t *e = entry(b, i);

		if (e[0] == DSM_KEY_LABEL) {
			memcpy(e, e + ENTRY, ENTRY);
			return;
		}
	}
	fail();
}

/* The LABELS record and the LABEL entry of label id, both. */
static void label_flags_xor(uint8_t *b, uint32_t id, uint32_t bits)
{
	size_t off = section(b, 2), n = get_le(b + off + 4, 4), done = 0;
	size_t rec = off + 16;

	for (size_t i = 0; i < n; i++, rec += 9 + b[rec + 8]) {
		if (get_le(b + rec, 4) == id) {
			put_le(b + rec + 4, get_le(b + rec + 4, 4) ^ bits, 4);
			done++;
		}
	}
	n = get_le(b + section(b, 6) + 4, 4);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = entry(b, i);

		if (e[0] == DSM_KEY_LABEL && get_le(e + 4, 4) == id) {
			put_le(e + 32, get_le(e + 32, 4) ^ bits, 4);
			done++;
		}
	}
	assert_int_equal(done, 2);
}

static void tamper_service_manager(uint8_t *b, size_t len)
{
	size_t n = get_le(b + section(b, 6) + 4, 4);

	(void)len;
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = entry(b, i);

		if (e[0] == DSM_KEY_CONFIG && e[4] == DSM_CFG_SERVICE_MANAGER) {
			put_le(e + 36, 4242, 4); /* no such label */
			return;
		}
	}
	fail();
}

static void tamper_system_flag_missing(uint8_t *b, size_t len)
{
	(void)len;
	label_flags_xor(b, 11, DSM_LABEL_F_SYSTEM); /* db holds system rules */
}

static void tamper_system_flag_extra(uint8_t *b, size_t len)
{
	(void)len;
	label_flags_xor(b, 10, DSM_LABEL_F_SYSTEM); /* web holds none */
}

static void test_tampered(void **state)
{
	static const tamper_fn fns[] = {
		tamper_label_id_zero, tamper_label_id_any, tamper_label_flags,
		tamper_label_order, tamper_label_name_nul, tamper_label_name_bad,
		tamper_section_tag, tamper_section_len, tamper_section_count,
		tamper_string_len, tamper_policy_name, tamper_mode, tamper_initial,
		tamper_file_label, tamper_file_relative, tamper_net_host_bits,
		tamper_net_plen, tamper_entry_order, tamper_entry_kind,
		tamper_entry_file_kind, tamper_entry_perms, tamper_entry_label,
		tamper_entry_class, tamper_version, tamper_entry_duplicate, tamper_entry_pad,
		tamper_entry_unused, tamper_system_flag_missing, tamper_system_flag_extra,
		tamper_service_manager, tamper_net_family, tamper_net_v4_tail, tamper_net6_plen,
		tamper_net6_host_bits, tamper_net_order, tamper_net_label,
	};
	struct dsm_policy *p = compile(rich);
	size_t len;
	uint8_t *orig = write_bundle(p, &len), *buf = malloc(len);
	(void)state;

	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		memcpy(buf, orig, len);
		fns[i](buf, len);
		redigest(buf, len);
		if (read_status(buf, len) != -EBADMSG)
			fail_msg("tampering #%zu was accepted", i);
	}
	free(buf);
	free(orig);
	dsm_policy_free(p);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/dsm-bundle-XXXXXX", path[64], junk[64];
	struct dsm_policy *p = compile(rich), *q = NULL;
	struct stat st;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.bundle", dir);
	snprintf(junk, sizeof(junk), "%s/junk", dir);
	assert_int_equal(dsm_bundle_write_file(p, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(dsm_bundle_read_file(path, &q), 0);
	assert_same(p, q);
	dsm_policy_free(q);
	/* Overwrite in place. */
	assert_int_equal(dsm_bundle_write_file(p, path), 0);

	f = fopen(junk, "w");
	assert_non_null(f);
	fputs("not a bundle", f);
	fclose(f);
	assert_int_equal(dsm_bundle_read_file(junk, &q), -EBADMSG);
	assert_null(q);
	assert_int_equal(dsm_bundle_read_file(dir, &q), -EINVAL);
	assert_int_equal(dsm_bundle_read_file("/nonexistent/b", &q), -ENOENT);
	assert_int_equal(dsm_bundle_write_file(p, "/nonexistent/b"), -ENOENT);

	unlink(path);
	unlink(junk);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
	dsm_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_minimal),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_every_byte_flip),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
