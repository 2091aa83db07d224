// SPDX-License-Identifier: GPL-2.0
/*
 * The packet-path programs (bpf/dsm_net.bpf.c) on crafted packets through
 * BPF_PROG_TEST_RUN. Ingress fully: good options pass and are counted,
 * every kind of bad one is dropped, counted and reported with what it
 * claimed. Egress as far as it goes without a socket (a test run has none
 * that carries a label): unlabeled traffic passes untouched, and every
 * dsm option is a copy that is dropped, behind VLAN tags too and on
 * devices without a link header. Labeled egress, forwarding and the mark
 * of this node's egress are tested for real, over veth pairs, in
 * test_net_veth.c.
 * Needs root (BPF): skipped without it, and only then (host_cap.h); an
 * object that does not load as root fails every test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sched.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "host_cap.h"
#include "siphash_ref.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include "dsm/abi.h"
#include "dsm/wire.h"
#include "dsm_lsm.skel.h"
#include "dsm_net.skel.h"
#include "bpf_host.h"

#define SADDR   "10.77.0.1"
#define DADDR   "10.77.0.2"
#define NODE    7
#define EPOCH   1000
#define WINDOW  5
#define KID_CUR 3
#define KID_OLD 2
#define IP_ID   0x1234

static const uint8_t key_cur[16] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
				     0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
static const uint8_t key_old[16] = { 0xa5, 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
				     0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e };

static struct dsm_net_bpf *skel;
/* Why the object is not there: an error and what failed (host_cap.h). */
static int need_err;
static const char *need_what;
static struct ring_buffer *rb;
static struct dsm_event events[64];
static unsigned nevents, events_seen;

/* ---- helpers ------------------------------------------------------------ */

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	assert_int_equal(len, sizeof(struct dsm_event));
	if (nevents < sizeof(events) / sizeof(events[0]))
		memcpy(&events[nevents++], data, sizeof(events[0]));
	events_seen++;
	return 0;
}

static void drain_events(void)
{
	nevents = 0;
	events_seen = 0;
	assert_true(ring_buffer__consume(rb) >= 0);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static struct dsm_mac_key mac_key(uint8_t valid, uint8_t kid, const uint8_t key[16])
{
	struct dsm_mac_key k = { .valid = valid, .key_id = kid };

	k.k0 = le64(key);
	k.k1 = le64(key + 8);
	return k;
}

static void set_cfg(uint32_t epoch, uint32_t window, uint32_t flags)
{
	struct dsm_net_cfg c = { .node_id = NODE, .epoch_window = window, .flags = flags };
	uint32_t k = 0;

	dsm_cfg_at_epoch(&c, epoch);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.dsm_net_config), &k, &c, 0), 0);
}

static void set_key(uint32_t slot, struct dsm_mac_key key)
{
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.dsm_keys), &slot, &key, 0),
			 0);
}

static uint64_t counter(uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], sum = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.dsm_counters), &idx, vals),
			 0);
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

static void reset_counters(void)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t zero[ncpu];

	memset(zero, 0, sizeof(zero));
	for (uint32_t i = 0; i < DSM_CNT_MAX; i++)
		assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.dsm_counters), &i,
						     zero, 0), 0);
}

/* Every counter as expected: the named ones at their value, all others 0. */
static void expect_counters(uint32_t a, uint64_t va, uint32_t b, uint64_t vb)
{
	for (uint32_t i = 0; i < DSM_CNT_MAX; i++) {
		uint64_t want = i == a ? va : i == b ? vb : 0;

		if (counter(i) != want)
			fail_msg("counter %u is %llu, want %llu", i,
				 (unsigned long long)counter(i), (unsigned long long)want);
	}
}

struct pkt {
	uint8_t b[256];
	uint32_t len;
};

static uint16_t ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 with these option bytes + UDP with 16 bytes of data. */
static struct pkt build(const uint8_t *opts, size_t optlen, uint8_t proto)
{
	struct pkt p;
	uint8_t *ip = p.b + ETH_HLEN;
	size_t hlen = 20 + optlen, total = hlen + 8 + 16;
	struct in_addr s, d;

	assert_true(optlen % 4 == 0 && optlen <= 40);
	memset(&p, 0, sizeof(p));
	memcpy(p.b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", ETH_HLEN);
	inet_pton(AF_INET, SADDR, &s);
	inet_pton(AF_INET, DADDR, &d);
	ip[0] = (uint8_t)(0x40 | hlen / 4);
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[4] = IP_ID >> 8;
	ip[5] = IP_ID & 0xff;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	if (optlen)
		memcpy(ip + 20, opts, optlen);
	ip[hlen + 0] = 0x30;
	ip[hlen + 1] = 0x39;
	ip[hlen + 2] = 0x30;
	ip[hlen + 3] = 0x3a;
	ip[hlen + 5] = 8 + 16;
	memset(ip + hlen + 8, 'x', 16);
	p.len = (uint32_t)(ETH_HLEN + total);
	return p;
}

static void fix_csum(struct pkt *p)
{
	uint8_t *ip = p->b + ETH_HLEN;
	size_t hlen = (size_t)(ip[0] & 0xf) * 4;
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = ip_csum(ip, hlen);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

struct claim {
	uint8_t kid;
	uint32_t label, node, epoch;
	const uint8_t *key;
	uint8_t version; /* 0: DSM_OPT_VERSION */
};

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/* A dsm option at opts + off whose MAC matches the final packet (the MAC
 * covers the header fields build() sets, so it is computed on a draft). */
static void put_option(uint8_t *opts, size_t off, struct claim c, uint8_t proto)
{
	uint8_t msg[DSM_MAC_MSG_LEN], mac[8];
	struct pkt draft;
	uint8_t *o = opts + off;

	o[0] = DSM_OPT_TYPE;
	o[1] = DSM_OPT_LEN;
	o[2] = c.version ? c.version : DSM_OPT_VERSION;
	o[3] = c.kid;
	put_be32(o + 4, c.label);
	put_be32(o + 8, c.node);
	put_be32(o + 12, c.epoch);
	draft = build(NULL, 0, proto);
	ref_mac_msg(draft.b + ETH_HLEN, o, msg);
	ref_siphash(c.key, msg, sizeof(msg), mac);
	memcpy(o + DSM_OPT_MAC_OFF, mac, 8);
}

static struct claim good_claim(void)
{
	return (struct claim){ .kid = KID_CUR, .label = 100, .node = 3, .epoch = EPOCH,
			       .key = key_cur };
}

/* A packet whose only option is a dsm option making this claim. */
static struct pkt labeled(struct claim c)
{
	uint8_t opts[DSM_OPT_LEN];
	struct pkt p;

	put_option(opts, 0, c, IPPROTO_UDP);
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	return p;
}

/* Run a program on a packet; the output must be the input, unchanged. */
static int run_same(struct bpf_program *prog, const struct pkt *p)
{
	uint8_t out[512];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = p->len,
		    .data_out = out, .data_size_out = sizeof(out));

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
	assert_int_equal(opts.data_size_out, p->len);
	assert_memory_equal(out, p->b, p->len);
	return (int)opts.retval;
}

static int ingress(const struct pkt *p)
{
	return run_same(skel->progs.dsm_ingress, p);
}

static int egress(const struct pkt *p)
{
	return run_same(skel->progs.dsm_egress, p);
}

/* The event of an ingress drop of packet p. */
static void expect_event(const struct dsm_event *e, const struct pkt *p, uint8_t reason,
			 uint8_t detail, const struct claim *c, uint32_t local_epoch)
{
	const uint8_t *ip = p->b + ETH_HLEN;
	uint32_t s, d;

	memcpy(&s, ip + 12, 4);
	memcpy(&d, ip + 16, 4);
	assert_int_equal(e->version, DSM_ABI_VERSION);
	assert_int_equal(e->kind, DSM_EV_PACKET);
	assert_int_equal(e->p.reason, reason);
	assert_int_equal(e->p.detail, detail);
	assert_int_equal(e->p.direction, DSM_NEV_DIR_INGRESS);
	assert_int_equal(e->p.saddr, s);
	assert_int_equal(e->p.daddr, d);
	assert_int_equal(e->p.protocol, ip[9]);
	assert_int_equal(e->p.ifindex, 1); /* a test run's device: lo */
	assert_int_equal(e->p.local_epoch, local_epoch);
	assert_int_equal(e->p.pad | e->p.pad2, 0);
	assert_true(e->time_ns > 0);
	if (c) {
		assert_int_equal(e->p.flags, DSM_NEV_F_CLAIM);
		assert_int_equal(e->p.key_id, c->kid);
		assert_int_equal(e->p.label, c->label);
		assert_int_equal(e->p.node, c->node);
		assert_int_equal(e->p.epoch, c->epoch);
	} else {
		assert_int_equal(e->p.flags, 0);
		assert_int_equal(e->p.label | e->p.node | e->p.epoch | e->p.key_id, 0);
	}
}

/* One ingress drop: verdict, the one counter, the one event. */
static void expect_drop(const struct pkt *p, uint32_t cnt, uint8_t reason, uint8_t detail,
			const struct claim *c)
{
	reset_counters();
	drain_events();
	assert_int_equal(ingress(p), TC_ACT_SHOT);
	expect_counters(cnt, 1, DSM_CNT_MAX, 0);
	drain_events();
	assert_int_equal(nevents, 1);
	expect_event(&events[0], p, reason, detail, c, EPOCH);
}

static void expect_verified(const struct pkt *p)
{
	reset_counters();
	drain_events();
	assert_int_equal(ingress(p), TC_ACT_OK);
	expect_counters(DSM_CNT_PKT_VERIFIED, 1, DSM_CNT_MAX, 0);
	drain_events();
	assert_int_equal(nevents, 0);
}

static void expect_unlabeled(const struct pkt *p)
{
	reset_counters();
	drain_events();
	assert_int_equal(ingress(p), TC_ACT_OK);
	expect_counters(DSM_CNT_PKT_UNLABELED_IN, 1, DSM_CNT_MAX, 0);
	drain_events();
	assert_int_equal(nevents, 0);
}

static void expect_malformed(const uint8_t *opts, size_t optlen, uint8_t detail,
			     const struct claim *c)
{
	struct pkt p = build(opts, optlen, IPPROTO_UDP);

	fix_csum(&p);
	expect_drop(&p, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, detail, c);
}

/* ---- fixture ------------------------------------------------------------ */

static int group_setup(void **state)
{
	cpu_set_t one;
	int err;

	(void)state;
	/* One CPU for every run: the MAC memo tests need the per-CPU memo the
	 * previous run filled. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	libbpf_set_print(host_cap_libbpf_log);
	skel = dsm_net_bpf__open();
	if (!skel) {
		need_err = errno ? -errno : -EINVAL;
		need_what = "opening the dsm_net object";
		return 0;
	}
	dsm_obj_unpinned(skel->obj);
	err = dsm_net_bpf__load(skel);
	if (err) {
		need_err = err;
		need_what = "loading the dsm_net object";
		dsm_net_bpf__destroy(skel);
		skel = NULL;
		return 0;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.dsm_events), on_event, NULL, NULL);
	assert_non_null(rb);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ring_buffer__free(rb);
	dsm_net_bpf__destroy(skel);
	return 0;
}

/* Every test starts from the same node: current and previous key valid,
 * epoch EPOCH, window WINDOW, labeling and verification on. */
static void clear_pair_keys(void);

static int setup(void **state)
{
	(void)state;
	if (!skel)
		return 0;
	set_cfg(EPOCH, WINDOW, DSM_NET_F_LABEL_EGRESS | DSM_NET_F_VERIFY);
	clear_pair_keys();
	set_key(0, mac_key(1, KID_CUR, key_cur));
	set_key(1, mac_key(1, KID_OLD, key_old));
	reset_counters();
	drain_events();
	return 0;
}

#define NEED_BPF()                                                   \
	do {                                                         \
		(void)state;                                         \
		skip_unless_host_capability(need_err, need_what);    \
	} while (0)

/* ---- ingress: good options ---------------------------------------------- */

static void test_in_valid(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = labeled(good_claim());
	expect_verified(&p);
}

static void test_in_previous_key(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	c.kid = KID_OLD;
	c.key = key_old;
	p = labeled(c);
	expect_verified(&p);
}

/* During a rotation both slots may hold the same key id: either verifies. */
static void test_in_same_kid_both_slots(void **state)
{
	struct pkt p;

	NEED_BPF();
	set_key(0, mac_key(1, KID_CUR, key_old));   /* slot 0 torn or stale */
	set_key(1, mac_key(1, KID_CUR, key_cur));
	p = labeled(good_claim());
	expect_verified(&p);
}

static void test_in_after_other_options(void **state)
{
	/* record route (7 bytes, room for one address) + NOP, then dsm */
	uint8_t opts[8 + DSM_OPT_LEN] = { 7, 7, 4, 0, 0, 0, 0, 1 };
	struct pkt p;

	NEED_BPF();
	put_option(opts, 8, good_claim(), IPPROTO_UDP);
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_verified(&p);
}

/* The longest walk: 16 NOPs, then the option at the very end of a 60-byte
 * header. */
static void test_in_option_after_16_nops(void **state)
{
	uint8_t opts[40];
	struct pkt p;

	NEED_BPF();
	memset(opts, 1, 16);
	put_option(opts, 16, good_claim(), IPPROTO_UDP);
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_verified(&p);
}

/* Option first, then NOPs and end-of-options padding. */
static void test_in_option_then_padding(void **state)
{
	uint8_t opts[36] = { 0 };
	struct pkt p;

	NEED_BPF();
	put_option(opts, 0, good_claim(), IPPROTO_UDP);
	opts[24] = opts[25] = 1; /* NOP NOP EOL 0... */
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_verified(&p);
}

/* The protocol is in the MAC: a TCP segment verifies with its own. */
static void test_in_tcp(void **state)
{
	uint8_t opts[DSM_OPT_LEN];
	struct pkt p;

	NEED_BPF();
	put_option(opts, 0, good_claim(), IPPROTO_TCP);
	p = build(opts, sizeof(opts), IPPROTO_TCP);
	fix_csum(&p);
	expect_verified(&p);
	/* the same option in a UDP datagram does not */
	p.b[ETH_HLEN + 9] = IPPROTO_UDP;
	fix_csum(&p);
	{
		struct claim c = good_claim();

		expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	}
}

/* Every fragment carries the option (it is a copied option) and verifies
 * on its own. */
static void test_in_fragment(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = labeled(good_claim());
	p.b[ETH_HLEN + 6] = 0x20; /* MF, offset 0x10 */
	p.b[ETH_HLEN + 7] = 0x10;
	fix_csum(&p);
	expect_verified(&p);
}

/* ---- ingress: keys and MACs --------------------------------------------- */

static void test_in_unknown_key_id(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	c.kid = 9;
	p = labeled(c);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &c);
}

static void test_in_invalid_slot(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	set_key(1, mac_key(0, KID_OLD, key_old)); /* the id is there, the slot is not valid */
	c.kid = KID_OLD;
	c.key = key_old;
	p = labeled(c);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &c);
	/* and slot 0 not valid: nothing is accepted, not even the current id */
	set_key(0, mac_key(0, KID_CUR, key_cur));
	p = labeled(good_claim());
	c = good_claim();
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &c);
}

static void test_in_wrong_key(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	c.key = key_old; /* current id, previous key */
	p = labeled(c);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
}

static void test_in_wrong_mac(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	for (int bit = 0; bit < 64; bit += 7) {
		p = labeled(c);
		p.b[ETH_HLEN + 20 + DSM_OPT_MAC_OFF + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		fix_csum(&p);
		expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	}
}

/* Everything the MAC covers: change it after the MAC was made. */
static void test_in_tampered(void **state)
{
	static const struct {
		size_t off; /* in the IPv4 header */
		uint8_t xor;
	} fields[] = {
		{ 12, 0x01 },         /* saddr */
		{ 19, 0x80 },         /* daddr */
		{ 20 + 3, 0x01 },     /* key id: becomes 2, the previous key's */
		{ 20 + 7, 0x01 },     /* label */
		{ 20 + 11, 0x10 },    /* node */
		{ 20 + 15, 0x01 },    /* epoch (to 1001: still in the window) */
	};
	struct pkt p;

	NEED_BPF();
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct claim c = good_claim();

		p = labeled(c);
		p.b[ETH_HLEN + fields[i].off] ^= fields[i].xor;
		fix_csum(&p);
		if (fields[i].off == 20 + 3)
			c.kid ^= 1;
		else if (fields[i].off == 20 + 7)
			c.label ^= 1;
		else if (fields[i].off == 20 + 11)
			c.node ^= 0x10;
		else if (fields[i].off == 20 + 15)
			c.epoch ^= 1;
		expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	}
}

/* Version 2 leaves the IP ID out of the MAC: one MAC per flow and epoch
 * (docs/wire.md). Another IP ID verifies. */
static void test_in_ip_id_not_covered(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = labeled(good_claim());
	p.b[ETH_HLEN + 5] ^= 0x01;
	fix_csum(&p);
	expect_verified(&p);
}

/* Version 1, still accepted: its MAC covers the IP ID. */
static void test_in_version_1(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	c.version = DSM_OPT_VERSION_1;
	p = labeled(c);
	expect_verified(&p);
	p.b[ETH_HLEN + 5] ^= 0x01;
	fix_csum(&p);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
}

/* The same option as version 1 and 2: the version is in the MAC, so one
 * version's MAC does not verify the other. */
static void test_in_version_swapped(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	c.version = DSM_OPT_VERSION_1;
	p = labeled(c);
	p.b[ETH_HLEN + 20 + 2] = DSM_OPT_VERSION;
	fix_csum(&p);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
}

/* ---- ingress: the MAC memo ------------------------------------------------
 * The process runs on one CPU (group_setup), so a packet verified once is
 * in that CPU's memo when the next run looks. */

/* The memo as the BPF side declares it (net_verify.h). */
struct memo_slot {
	uint64_t k0, k1, msg[4], len, mac;
};

struct memo {
	uint32_t busy, pad;
	struct memo_slot slot[64];
};

/* How many slots of this CPU's memo hold the MAC of labeled packet p
 * under key. */
static int memo_holds(const struct pkt *p, const uint8_t key[16])
{
	int ncpu = libbpf_num_possible_cpus(), cpu = sched_getcpu(), found = 0;
	uint32_t zero = 0;
	struct memo *m;

	assert_true(ncpu > 0 && cpu >= 0 && cpu < ncpu);
	assert_int_equal(bpf_map__value_size(skel->maps.dsm_mac_memos), sizeof(struct memo));
	m = calloc((size_t)ncpu, sizeof(*m));
	assert_non_null(m);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.dsm_mac_memos), &zero, m), 0);
	assert_int_equal(m[cpu].busy, 0);
	for (int i = 0; i < 64; i++) {
		const struct memo_slot *sl = &m[cpu].slot[i];

		found += sl->k0 == le64(key) && sl->k1 == le64(key + 8) &&
			 sl->mac == le64(p->b + ETH_HLEN + 20 + DSM_OPT_MAC_OFF);
	}
	free(m);
	return found;
}

/* A verified option's MAC is in this CPU's memo, under the key it was made
 * with: the tests below meet the memo, not only SipHash. */
static void test_in_memo_filled(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = labeled(good_claim());
	expect_verified(&p);
	assert_int_equal(memo_holds(&p, key_cur), 1);
}

/* Both directions of a flow keep their slots: the same claim with the
 * addresses swapped (a ping-pong between two sockets of one label). */
static void test_in_memo_both_directions(void **state)
{
	uint8_t msg[DSM_MAC_MSG_LEN], tmp[4], *ip;
	struct pkt p, q;

	NEED_BPF();
	p = labeled(good_claim());
	q = p;
	ip = q.b + ETH_HLEN;
	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ref_mac_msg(ip, ip + 20, msg);
	ref_siphash(key_cur, msg, sizeof(msg), ip + 20 + DSM_OPT_MAC_OFF);
	fix_csum(&q);
	expect_verified(&p);
	expect_verified(&q);
	expect_verified(&p);
	assert_int_equal(memo_holds(&p, key_cur), 1);
	assert_int_equal(memo_holds(&q, key_cur), 1);
}

/* The memo answers with the MAC it made, not with the packet's: a wrong
 * MAC on a message just verified is still wrong. */
static void test_in_memo_wrong_mac(void **state)
{
	struct claim c = good_claim();
	struct pkt p, bad;

	NEED_BPF();
	p = labeled(c);
	expect_verified(&p);
	bad = p;
	bad.b[ETH_HLEN + 20 + DSM_OPT_MAC_OFF] ^= 0x01;
	fix_csum(&bad);
	expect_drop(&bad, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	reset_counters();
	expect_verified(&p);
}

/* Another key under the same id: the memo compares the key, not its id. */
static void test_in_memo_rekeyed(void **state)
{
	struct claim c = good_claim();
	struct pkt p, q;

	NEED_BPF();
	p = labeled(c);
	expect_verified(&p);
	set_key(0, mac_key(1, KID_CUR, key_old));
	reset_counters();
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	c.key = key_old;
	q = labeled(c);
	reset_counters();
	drain_events();
	expect_verified(&q);
}

/* ---- ingress: epochs ---------------------------------------------------- */

static void epoch_case(uint32_t local, uint32_t window, uint32_t claimed, int ok)
{
	struct claim c = good_claim();
	struct pkt p;

	set_cfg(local, window, DSM_NET_F_VERIFY);
	c.epoch = claimed;
	p = labeled(c);
	reset_counters();
	drain_events();
	if (ok) {
		if (ingress(&p) != TC_ACT_OK)
			fail_msg("epoch %u, window %u: %u refused", local, window, claimed);
		expect_counters(DSM_CNT_PKT_VERIFIED, 1, DSM_CNT_MAX, 0);
	} else {
		if (ingress(&p) != TC_ACT_SHOT)
			fail_msg("epoch %u, window %u: %u accepted", local, window, claimed);
		expect_counters(DSM_CNT_PKT_DROP_STALE, 1, DSM_CNT_MAX, 0);
		drain_events();
		assert_int_equal(nevents, 1);
		expect_event(&events[0], &p, DSM_NR_STALE, 0, &c, local);
	}
}

static void test_in_stale_both_sides(void **state)
{
	NEED_BPF();
	epoch_case(EPOCH, WINDOW, EPOCH - WINDOW - 1, 0);
	epoch_case(EPOCH, WINDOW, EPOCH - WINDOW, 1);
	epoch_case(EPOCH, WINDOW, EPOCH, 1);
	epoch_case(EPOCH, WINDOW, EPOCH + WINDOW, 1);
	epoch_case(EPOCH, WINDOW, EPOCH + WINDOW + 1, 0);
	epoch_case(EPOCH, WINDOW, EPOCH + 0x80000000u, 0);
	epoch_case(EPOCH, 0, EPOCH, 1);
	epoch_case(EPOCH, 0, EPOCH + 1, 0);
	epoch_case(EPOCH, 0, EPOCH - 1, 0);
}

/* Epochs are modulo 2^32: the window wraps around zero both ways. */
static void test_in_epoch_wraparound(void **state)
{
	NEED_BPF();
	epoch_case(0xfffffffeu, 3, 0xfffffffeu, 1);
	epoch_case(0xfffffffeu, 3, 0xffffffffu, 1);
	epoch_case(0xfffffffeu, 3, 0, 1);
	epoch_case(0xfffffffeu, 3, 1, 1);
	epoch_case(0xfffffffeu, 3, 2, 0);
	epoch_case(0xfffffffeu, 3, 0xfffffffau, 0);
	epoch_case(0xfffffffeu, 3, 0xfffffffbu, 1);
	epoch_case(1, 3, 0xfffffffeu, 1);
	epoch_case(1, 3, 0xfffffffdu, 0);
	epoch_case(1, 3, 4, 1);
	epoch_case(1, 3, 5, 0);
}

/* A window wider than the epoch: no underflow into "nothing accepted",
 * and still exactly window on each side. */
static void test_in_window_wider_than_epoch(void **state)
{
	NEED_BPF();
	epoch_case(2, 10, 0, 1);
	epoch_case(2, 10, 2, 1);
	epoch_case(2, 10, 12, 1);
	epoch_case(2, 10, 13, 0);
	epoch_case(2, 10, 0xfffffff8u, 1);
	epoch_case(2, 10, 0xfffffff7u, 0);
	/* a window of half the epoch space or more accepts everything */
	epoch_case(2, 0x80000000u, 0x80000002u, 1);
	epoch_case(2, 0xffffffffu, 0x12345678u, 1);
}

/* ---- ingress: malformed ------------------------------------------------- */

static void test_in_len_zero(void **state)
{
	const uint8_t opts[] = { 0x44, 0, 0, 0 };

	NEED_BPF();
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_LEN, NULL);
}

static void test_in_len_one(void **state)
{
	const uint8_t opts[] = { 1, 7, 1, 0 };

	NEED_BPF();
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_LEN, NULL);
}

static void test_in_len_past_end(void **state)
{
	const uint8_t opts[] = { 1, 7, 4, 0 }; /* record route of 4 bytes at offset 1 */
	const uint8_t opts2[] = { 7, 9, 4, 0, 0, 0, 0, 0 };

	NEED_BPF();
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_OVERRUN, NULL);
	expect_malformed(opts2, sizeof(opts2), DSM_IPOPT_E_OVERRUN, NULL);
}

/* A multi-byte option's type as the last byte: its length is not there. */
static void test_in_truncated_option(void **state)
{
	const uint8_t opts[] = { 1, 1, 1, 7 };
	const uint8_t opts2[] = { 1, 1, 1, DSM_OPT_TYPE };

	NEED_BPF();
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_TRUNC, NULL);
	expect_malformed(opts2, sizeof(opts2), DSM_IPOPT_E_TRUNC, NULL);
}

static void test_in_dsm_len_23(void **state)
{
	struct claim c = good_claim();
	uint8_t opts[DSM_OPT_LEN];

	NEED_BPF();
	put_option(opts, 0, c, IPPROTO_UDP);
	opts[1] = 23;
	opts[23] = 1;
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_DSM_LEN, &c);
}

static void test_in_dsm_len_25(void **state)
{
	struct claim c = good_claim();
	uint8_t opts[28];

	NEED_BPF();
	memset(opts, 1, sizeof(opts));
	put_option(opts, 0, c, IPPROTO_UDP);
	opts[1] = 25;
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_DSM_LEN, &c);
}

/* A dsm option of length 4: malformed, and what it claims is not in it (a
 * claim is reported only when its 24 bytes are inside the header). */
static void test_in_dsm_too_short_for_claim(void **state)
{
	const uint8_t opts[] = { 1, 1, 1, 1, DSM_OPT_TYPE, 4, 1, 3 };

	NEED_BPF();
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_DSM_LEN, NULL);
}

static void test_in_version_4(void **state)
{
	struct claim c = good_claim();
	uint8_t opts[DSM_OPT_LEN];

	NEED_BPF();
	put_option(opts, 0, c, IPPROTO_UDP);
	opts[2] = 4;
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_DSM_VER, &c);
}

/* ---- version 3: pair keys, ports bound ---------------------------------- */

#define PEER3   3   /* the node good_claim() names */
#define GEN3    5   /* its pair key's generation (slot 1) */

static const uint8_t key_pair[16] = { 0x70, 0x61, 0x69, 0x72, 0x2d, 0x6b, 0x65, 0x79,
				      0x2d, 0x33, 0x2d, 0x37, 0x2d, 0x67, 0x35, 0x00 };

static void set_pair_key(uint32_t node, uint8_t gen, const uint8_t key[16])
{
	struct dsm_pair_slot ps = { .node = node, .slot = gen & 1 };
	struct dsm_mac_key k = mac_key(1, gen, key);

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.dsm_pair_keys), &ps, &k, 0),
			 0);
}

static void clear_pair_keys(void)
{
	struct dsm_pair_slot ps;
	int fd = bpf_map__fd(skel->maps.dsm_pair_keys);

	while (bpf_map_get_next_key(fd, NULL, &ps) == 0)
		assert_int_equal(bpf_map_delete_elem(fd, &ps), 0);
}

static struct claim v3_claim(void)
{
	struct claim c = good_claim();

	c.version = DSM_OPT_VERSION_3;
	c.kid = GEN3;
	c.key = key_pair;
	return c;
}

/* A UDP packet (build(): ports 12345 -> 12346) whose only option is a
 * version 3 option, its MAC made over @ports (NULL: the packet's own). */
static struct pkt labeled3(struct claim c, const uint8_t *ports)
{
	uint8_t msg[DSM_MAC_MSG3_LEN], *o;
	struct pkt p;

	p = build((uint8_t[DSM_OPT_LEN]){ 0 }, DSM_OPT_LEN, IPPROTO_UDP);
	o = p.b + ETH_HLEN + 20;
	o[0] = DSM_OPT_TYPE;
	o[1] = DSM_OPT_LEN;
	o[2] = c.version;
	o[3] = c.kid;
	put_be32(o + 4, c.label);
	put_be32(o + 8, c.node);
	put_be32(o + 12, c.epoch);
	ref_mac_msg3(p.b + ETH_HLEN, o, ports ? ports : o + DSM_OPT_LEN, msg);
	ref_siphash(c.key, msg, sizeof(msg), o + DSM_OPT_MAC_OFF);
	fix_csum(&p);
	return p;
}

/* A good version 3 option verifies under K(claimed node, this node) of
 * its generation, and its MAC is remembered with the ports. */
static void test_in_v3_good(void **state)
{
	struct pkt p;

	NEED_BPF();
	clear_pair_keys();
	set_pair_key(PEER3, GEN3, key_pair);
	p = labeled3(v3_claim(), NULL);
	expect_verified(&p);
	assert_int_equal(memo_holds(&p, key_pair), 1);
	/* the cluster keys play no part: gone, it still verifies */
	set_key(0, mac_key(0, KID_CUR, key_cur));
	set_key(1, mac_key(0, KID_OLD, key_old));
	expect_verified(&p);
	set_key(0, mac_key(1, KID_CUR, key_cur));
	set_key(1, mac_key(1, KID_OLD, key_old));
}

/* The header of one datagram in front of a datagram to another port (or
 * from another): the MAC binds both ports. */
static void test_in_v3_wrong_port(void **state)
{
	struct claim c = v3_claim();
	struct pkt p, q;
	uint8_t *udp;

	NEED_BPF();
	clear_pair_keys();
	set_pair_key(PEER3, GEN3, key_pair);
	p = labeled3(c, NULL);
	expect_verified(&p);
	q = p;
	udp = q.b + ETH_HLEN + 20 + DSM_OPT_LEN;
	udp[3] ^= 0x01; /* destination port 12346 -> 12347 */
	expect_drop(&q, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	q = p;
	udp[0] = 0x31; /* source port 12345 -> 12601 (udp points into q) */
	expect_drop(&q, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	/* made over zero ports (a later fragment's) in front of a first one */
	q = labeled3(c, (const uint8_t[4]){ 0 });
	expect_drop(&q, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
}

/* The slot of the generation's low bit holds another generation: no key.
 * So does a slot that is not valid. */
static void test_in_v3_wrong_generation(void **state)
{
	struct claim c = v3_claim();
	struct pkt p;

	NEED_BPF();
	clear_pair_keys();
	set_pair_key(PEER3, GEN3 + 2, key_pair); /* generation 7 in slot 1 */
	p = labeled3(c, NULL);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &c);
	set_pair_key(PEER3, GEN3 + 1, key_pair); /* generation 6, slot 0 */
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &c);
	{
		struct dsm_pair_slot ps = { .node = PEER3, .slot = 1 };
		struct dsm_mac_key k = mac_key(0, GEN3, key_pair);

		assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.dsm_pair_keys), &ps,
						     &k, 0), 0);
	}
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &c);
	set_pair_key(PEER3, GEN3, key_pair);
	expect_verified(&p);
}

/* An option that claims a node this node holds no pair key of: no key,
 * even with the MAC made under another pair's key (a forger's own). */
static void test_in_v3_unknown_node(void **state)
{
	struct claim c = v3_claim();
	struct pkt p;

	NEED_BPF();
	clear_pair_keys();
	set_pair_key(PEER3, GEN3, key_pair);
	c.node = 4; /* no key */
	p = labeled3(c, NULL);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &c);
	/* node 4 forges as node 3 with his own key K(4, self) */
	set_pair_key(4, GEN3, key_cur);
	c = v3_claim();
	c.key = key_cur;
	p = labeled3(c, NULL);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
}

/* Fragments at tc ingress, each on its own: a later one (offset != 0)
 * has no transport header and its MAC binds zero ports. */
static void test_in_v3_fragment(void **state)
{
	struct claim c = v3_claim();
	struct pkt p;
	uint8_t *ip;

	NEED_BPF();
	clear_pair_keys();
	set_pair_key(PEER3, GEN3, key_pair);
	p = labeled3(c, (const uint8_t[4]){ 0 });
	ip = p.b + ETH_HLEN;
	ip[6] = 0x00;
	ip[7] = 0x10; /* offset 128 bytes */
	fix_csum(&p);
	expect_verified(&p);
	/* the same fragment with a MAC over what looks like ports */
	p = labeled3(c, NULL);
	ip[6] = 0x00;
	ip[7] = 0x10;
	fix_csum(&p);
	expect_drop(&p, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &c);
	/* a protocol without ports: zero ports at offset 0 too */
	p = build((uint8_t[DSM_OPT_LEN]){ 0 }, DSM_OPT_LEN, IPPROTO_ICMP);
	{
		uint8_t msg[DSM_MAC_MSG3_LEN], *o = p.b + ETH_HLEN + 20;

		o[0] = DSM_OPT_TYPE;
		o[1] = DSM_OPT_LEN;
		o[2] = DSM_OPT_VERSION_3;
		o[3] = c.kid;
		put_be32(o + 4, c.label);
		put_be32(o + 8, c.node);
		put_be32(o + 12, c.epoch);
		ref_mac_msg3(p.b + ETH_HLEN, o, (const uint8_t[4]){ 0 }, msg);
		ref_siphash(c.key, msg, sizeof(msg), o + DSM_OPT_MAC_OFF);
	}
	fix_csum(&p);
	expect_verified(&p);
}

/* Versions 1 and 2 keep verifying with the cluster keys next to pair
 * keys (the upgrade). */
static void test_in_v2_beside_pair_keys(void **state)
{
	struct pkt p;

	NEED_BPF();
	set_pair_key(PEER3, GEN3, key_pair);
	p = labeled(good_claim());
	expect_verified(&p);
	clear_pair_keys();
}

/* Two full options do not fit in 40 bytes; a second (short) one after a
 * good one is a duplicate all the same. */
static void test_in_two_options(void **state)
{
	struct claim c = good_claim();
	uint8_t opts[DSM_OPT_LEN + 4];

	NEED_BPF();
	put_option(opts, 0, c, IPPROTO_UDP);
	memcpy(opts + DSM_OPT_LEN, (uint8_t[]){ DSM_OPT_TYPE, 4, 1, KID_CUR }, 4);
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_DUP, &c);
}

/* An option hidden after end-of-options: a stack that ignores the padding
 * and one that reads it must not disagree, so it is malformed. */
static void test_in_option_after_eol(void **state)
{
	struct claim c = good_claim();
	uint8_t opts[4 + DSM_OPT_LEN] = { 0 };

	NEED_BPF();
	put_option(opts, 4, c, IPPROTO_UDP);
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_PAD, NULL);
	opts[0] = 1; /* NOP, EOL at 1: still after it */
	opts[1] = 0;
	expect_malformed(opts, sizeof(opts), DSM_IPOPT_E_PAD, NULL);
}

static void test_in_eol_zero_padding(void **state)
{
	const uint8_t opts[] = { 1, 0, 0, 0, 0, 0, 0, 0 };
	struct pkt p;

	NEED_BPF();
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_unlabeled(&p);
}

static void test_in_40_nops(void **state)
{
	uint8_t opts[40];
	struct pkt p;

	NEED_BPF();
	memset(opts, 1, sizeof(opts));
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_unlabeled(&p);
	/* and 39 NOPs with a record route's type as the 40th byte */
	opts[39] = 7;
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_drop(&p, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_TRUNC, NULL);
}

static void test_in_other_options_only(void **state)
{
	/* router alert, then record route with one slot */
	const uint8_t opts[] = { 148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0 };
	struct pkt p;

	NEED_BPF();
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_unlabeled(&p);
}

/* ihl says more header than the packet has. */
static void test_in_truncated_header(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = labeled(good_claim());
	p.len = ETH_HLEN + 20 + 10; /* the option is cut short */
	expect_drop(&p, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER, NULL);
	p.len = ETH_HLEN + 20 + 23; /* by one byte */
	expect_drop(&p, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER, NULL);
	/* (shorter than the fixed header: a test run refuses such a packet) */
}

static void test_in_bad_fixed_header(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = labeled(good_claim());
	p.b[ETH_HLEN] = 0x44; /* ihl 4 */
	expect_drop(&p, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER, NULL);
	p = labeled(good_claim());
	p.b[ETH_HLEN] = 0x6b; /* version 6 in an IPv4 frame */
	expect_drop(&p, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER, NULL);
	p = labeled(good_claim());
	p.b[ETH_HLEN + 2] = 0;
	p.b[ETH_HLEN + 3] = 40; /* tot_len shorter than the 44-byte header */
	fix_csum(&p);
	expect_drop(&p, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER, NULL);
}

/* ---- ingress: what passes untouched -------------------------------------- */

static void test_in_plain(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = build(NULL, 0, IPPROTO_UDP);
	fix_csum(&p);
	expect_unlabeled(&p);
}

static void test_in_not_ipv4(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = labeled(good_claim());
	p.b[12] = 0x08; /* ARP */
	p.b[13] = 0x06;
	assert_int_equal(ingress(&p), TC_ACT_OK);
	p.b[12] = 0x86; /* IPv6 */
	p.b[13] = 0xdd;
	assert_int_equal(ingress(&p), TC_ACT_OK);
	expect_counters(DSM_CNT_MAX, 0, DSM_CNT_MAX, 0);
	drain_events();
	assert_int_equal(nevents, 0);
}

static void test_in_verify_off(void **state)
{
	const uint8_t opts[] = { 0x44, 0, 0, 0 };
	struct pkt p;

	NEED_BPF();
	set_cfg(EPOCH, WINDOW, DSM_NET_F_LABEL_EGRESS);
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	assert_int_equal(ingress(&p), TC_ACT_OK);
	p = labeled(good_claim());
	assert_int_equal(ingress(&p), TC_ACT_OK);
	expect_counters(DSM_CNT_MAX, 0, DSM_CNT_MAX, 0);
}

/* A flood of bad packets: every one dropped and counted; the events that
 * do not fit the ring buffer are counted, never waited for. */
static void test_in_event_overflow(void **state)
{
	const unsigned n = 10000;
	struct claim c = good_claim();
	uint8_t out[512];
	struct pkt p;

	NEED_BPF();
	c.kid = 9;
	p = labeled(c);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p.b, .data_size_in = p.len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = n);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.dsm_ingress), &opts),
			 0);
	assert_int_equal(opts.retval, TC_ACT_SHOT);
	assert_int_equal(counter(DSM_CNT_PKT_DROP_BADMAC), n);
	drain_events();
	assert_true(counter(DSM_CNT_EVENTS_DROPPED) > 0);
	assert_int_equal(events_seen + counter(DSM_CNT_EVENTS_DROPPED), n);
	/* room again once read */
	reset_counters();
	assert_int_equal(ingress(&p), TC_ACT_SHOT);
	drain_events();
	assert_int_equal(events_seen, 1);
	assert_int_equal(counter(DSM_CNT_EVENTS_DROPPED), 0);
}

/* ---- egress without a labeled socket ------------------------------------ */

static void test_out_unlabeled_untouched(void **state)
{
	const uint8_t opts[] = { 148, 4, 0, 0 };
	struct pkt p;

	NEED_BPF();
	p = build(NULL, 0, IPPROTO_UDP);
	fix_csum(&p);
	assert_int_equal(egress(&p), TC_ACT_OK);
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	assert_int_equal(egress(&p), TC_ACT_OK);
	p = build(NULL, 0, IPPROTO_TCP);
	p.b[ETH_HLEN + 20 + 13] = 0x02; /* a SYN: the listener lookup finds nothing */
	fix_csum(&p);
	assert_int_equal(egress(&p), TC_ACT_OK);
	p.b[ETH_HLEN + 20 + 13] = 0x12; /* a SYN-ACK */
	assert_int_equal(egress(&p), TC_ACT_OK);
	expect_counters(DSM_CNT_PKT_NOT_LABELED, 4, DSM_CNT_MAX, 0);
	drain_events();
	assert_int_equal(nevents, 0);
}

static void test_out_disabled(void **state)
{
	struct pkt p;

	NEED_BPF();
	set_cfg(EPOCH, WINDOW, DSM_NET_F_VERIFY);
	p = build(NULL, 0, IPPROTO_UDP);
	fix_csum(&p);
	assert_int_equal(egress(&p), TC_ACT_OK);
	expect_counters(DSM_CNT_PKT_NOT_LABELED, 1, DSM_CNT_MAX, 0);
}

static void test_out_not_ipv4(void **state)
{
	struct pkt p;

	NEED_BPF();
	p = build(NULL, 0, IPPROTO_UDP);
	p.b[12] = 0x86;
	p.b[13] = 0xdd;
	assert_int_equal(egress(&p), TC_ACT_OK);
	expect_counters(DSM_CNT_MAX, 0, DSM_CNT_MAX, 0);
}

/* ---- egress: dsm options this node did not write ------------------------ */

/* A test run's packet has a socket (the run's own, unlabeled) and no
 * chosen skb->hash, so every dsm option in it is a copy: this node's would
 * carry the mark of its egress, another node's would come forwarded, with
 * no socket (both: test_net_veth.c). */
static struct claim this_node_claim(void)
{
	struct claim c = good_claim();

	c.node = NODE;
	return c;
}

/* The frame with n in-band VLAN tags (tpids[i]) after the addresses. */
static struct pkt tagged(struct pkt p, const uint16_t *tpids, unsigned n)
{
	struct pkt t = p;

	assert_true(p.len + 4 * n <= sizeof(t.b));
	memcpy(t.b + 12 + 4 * n, p.b + 12, p.len - 12);
	for (unsigned i = 0; i < n; i++) {
		t.b[12 + 4 * i] = (uint8_t)(tpids[i] >> 8);
		t.b[13 + 4 * i] = (uint8_t)tpids[i];
		t.b[14 + 4 * i] = 0;
		t.b[15 + 4 * i] = (uint8_t)(i + 5); /* VLAN 5, 6, ... */
	}
	t.len = p.len + 4 * n;
	return t;
}

/* The one event of an egress drop of a copied option. */
static void expect_foreign_event(uint8_t detail, const struct claim *c)
{
	drain_events();
	assert_int_equal(nevents, 1);
	assert_int_equal(events[0].kind, DSM_EV_PACKET);
	assert_int_equal(events[0].p.direction, DSM_NEV_DIR_EGRESS);
	assert_int_equal(events[0].p.reason, DSM_NR_FOREIGN);
	assert_int_equal(events[0].p.detail, detail);
	assert_int_equal(events[0].p.protocol, IPPROTO_UDP);
	if (c) {
		assert_int_equal(events[0].p.flags, DSM_NEV_F_CLAIM);
		assert_int_equal(events[0].p.label, c->label);
		assert_int_equal(events[0].p.node, c->node);
	} else {
		assert_int_equal(events[0].p.flags, 0);
	}
}

static void expect_foreign(struct bpf_program *prog, const struct pkt *p, uint8_t detail,
			   const struct claim *c)
{
	reset_counters();
	drain_events();
	assert_int_equal(run_same(prog, p), TC_ACT_SHOT);
	expect_counters(DSM_CNT_PKT_DROP_FOREIGN, 1, DSM_CNT_MAX, 0);
	expect_foreign_event(detail, c);
}

/* A copy of this node's option is dropped, with labeling on or off. */
static void test_out_copy_of_own_option(void **state)
{
	struct claim c = this_node_claim();
	struct pkt p;

	NEED_BPF();
	p = labeled(c);
	expect_foreign(skel->progs.dsm_egress, &p, 0, &c);
	set_cfg(EPOCH, WINDOW, DSM_NET_F_VERIFY);
	expect_foreign(skel->progs.dsm_egress, &p, 0, &c);
}

/* So is another node's, sent by a local socket. */
static void test_out_copy_from_socket(void **state)
{
	struct claim c = good_claim();
	struct pkt p;

	NEED_BPF();
	p = labeled(c);
	expect_foreign(skel->progs.dsm_egress, &p, 0, &c);
}

/* Behind VLAN tags, whatever skb->protocol says (the tag's type here): the
 * frame is walked to its IPv4 header. */
static void test_out_copy_behind_vlan_tags(void **state)
{
	static const uint16_t q[] = { 0x8100 }, qinq[] = { 0x88a8, 0x8100 },
			      four[] = { 0x88a8, 0x8100, 0x8100, 0x8100 },
			      five[] = { 0x8100, 0x8100, 0x8100, 0x8100, 0x8100 };
	struct claim c = this_node_claim();
	struct pkt p;

	NEED_BPF();
	p = tagged(labeled(c), q, 1);
	expect_foreign(skel->progs.dsm_egress, &p, 0, &c);
	p = tagged(labeled(c), qinq, 2);
	expect_foreign(skel->progs.dsm_egress, &p, 0, &c);
	p = tagged(labeled(c), four, 4);
	expect_foreign(skel->progs.dsm_egress, &p, 0, &c);
	p = tagged(labeled(good_claim()), qinq, 2);
	c = good_claim();
	expect_foreign(skel->progs.dsm_egress, &p, 0, &c);
	/* more tags than the program walks: dropped, whatever is inside */
	p = tagged(build(NULL, 0, IPPROTO_UDP), five, 5);
	reset_counters();
	drain_events();
	assert_int_equal(egress(&p), TC_ACT_SHOT);
	expect_counters(DSM_CNT_PKT_DROP_FOREIGN, 1, DSM_CNT_MAX, 0);
	drain_events();
	assert_int_equal(nevents, 1);
	assert_int_equal(events[0].p.reason, DSM_NR_FOREIGN);
	assert_int_equal(events[0].p.detail, DSM_IPOPT_E_HEADER);
	/* a tagged frame without options passes as before */
	p = tagged(build(NULL, 0, IPPROTO_UDP), qinq, 2);
	fix_csum(&p);
	reset_counters();
	assert_int_equal(egress(&p), TC_ACT_OK);
	expect_counters(DSM_CNT_PKT_NOT_LABELED, 1, DSM_CNT_MAX, 0);
}

/* A dsm option the walker finds malformed is never this node's. */
static void test_out_malformed_copy(void **state)
{
	uint8_t opts[20] = { DSM_OPT_TYPE, 20, DSM_OPT_VERSION };
	uint8_t after_eol[24 + 4];
	struct claim c = this_node_claim();
	struct pkt p;

	NEED_BPF();
	p = build(opts, sizeof(opts), IPPROTO_UDP);
	fix_csum(&p);
	expect_foreign(skel->progs.dsm_egress, &p, DSM_IPOPT_E_DSM_LEN, NULL);
	/* a version this node does not know, and another node's at that */
	c.node = 3;
	put_option(after_eol, 0, c, IPPROTO_UDP);
	after_eol[2] = 9;
	memset(after_eol + 24, 0, 4);
	p = build(after_eol, sizeof(after_eol), IPPROTO_UDP);
	fix_csum(&p);
	expect_foreign(skel->progs.dsm_egress, &p, DSM_IPOPT_E_DSM_VER, &c);
}

/* Devices without a link header: the IPv4 header is byte 0. */
static struct pkt l3_of(const struct pkt *eth)
{
	struct pkt p = { .len = eth->len - ETH_HLEN };

	memcpy(p.b, eth->b + ETH_HLEN, p.len);
	return p;
}

static void test_out_l3(void **state)
{
	struct claim c = this_node_claim();
	struct pkt p, v6;

	NEED_BPF();
	p = build(NULL, 0, IPPROTO_UDP);
	fix_csum(&p);
	p = l3_of(&p);
	reset_counters();
	assert_int_equal(run_same(skel->progs.dsm_egress_l3, &p), TC_ACT_OK);
	expect_counters(DSM_CNT_PKT_NOT_LABELED, 1, DSM_CNT_MAX, 0);
	p = labeled(c);
	p = l3_of(&p);
	expect_foreign(skel->progs.dsm_egress_l3, &p, 0, &c);
	c = good_claim();
	p = labeled(c);
	p = l3_of(&p);
	expect_foreign(skel->progs.dsm_egress_l3, &p, 0, &c);
	/* IPv6 passes, uncounted */
	v6 = p;
	v6.b[0] = 0x60;
	reset_counters();
	assert_int_equal(run_same(skel->progs.dsm_egress_l3, &v6), TC_ACT_OK);
	expect_counters(DSM_CNT_MAX, 0, DSM_CNT_MAX, 0);
	/* and the Ethernet program does not read an L3 packet as IPv4 */
	p = build(NULL, 0, IPPROTO_UDP);
	p = l3_of(&p);
	reset_counters();
	assert_int_equal(egress(&p), TC_ACT_OK);
	expect_counters(DSM_CNT_MAX, 0, DSM_CNT_MAX, 0);
}

/* ---- the object's maps -------------------------------------------------- */

/* Both objects pin their shared maps by name and the one loaded second
 * reuses the first one's: that needs the same definition of every map the
 * two declare, and a pinned one in each. */
static void test_shared_maps_match_lsm(void **state)
{
	struct dsm_lsm_bpf *lsm;
	struct bpf_map *b;
	int shared = 0;

	NEED_BPF();
	/* The LSM object comes from its skeleton: opened, never loaded (LSM
	 * programs load only in guests). */
	lsm = dsm_lsm_bpf__open();
	assert_non_null(lsm);
	bpf_object__for_each_map(b, skel->obj) {
		struct bpf_map *a = bpf_object__find_map_by_name(lsm->obj, bpf_map__name(b));

		if (!a || bpf_map__is_internal(b))
			continue;
		shared++;
		assert_int_equal(bpf_map__type(a), bpf_map__type(b));
		assert_int_equal(bpf_map__map_flags(a), bpf_map__map_flags(b));
		assert_int_equal(bpf_map__key_size(a), bpf_map__key_size(b));
		assert_int_equal(bpf_map__value_size(a), bpf_map__value_size(b));
		assert_int_equal(bpf_map__max_entries(a), bpf_map__max_entries(b));
		if (strcmp(bpf_map__name(b), "dsm_mac_memos"))
			assert_non_null(bpf_map__pin_path(a)); /* the test unpinned b */
		else
			assert_null(bpf_map__pin_path(a)); /* each object's own */
	}
	assert_true(shared >= 7); /* abi, sockets, keys, config, tags, events, counters */
	dsm_lsm_bpf__destroy(lsm);
}

/* The maps dsmd writes have the ABI's sizes. */
static void test_map_layouts(void **state)
{
	NEED_BPF();
	assert_int_equal(bpf_map__value_size(skel->maps.dsm_keys), sizeof(struct dsm_mac_key));
	assert_int_equal(bpf_map__max_entries(skel->maps.dsm_keys), DSM_KEY_MAP_SLOTS);
	assert_int_equal(bpf_map__value_size(skel->maps.dsm_net_config), sizeof(struct dsm_net_cfg));
	assert_int_equal(bpf_map__max_entries(skel->maps.dsm_counters), DSM_CNT_MAX);
	assert_int_equal(bpf_map__value_size(skel->maps.dsm_sockets), sizeof(struct dsm_sock_ctx));
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_in_valid),
		T(test_in_previous_key),
		T(test_in_same_kid_both_slots),
		T(test_in_after_other_options),
		T(test_in_option_after_16_nops),
		T(test_in_option_then_padding),
		T(test_in_tcp),
		T(test_in_fragment),
		T(test_in_unknown_key_id),
		T(test_in_invalid_slot),
		T(test_in_wrong_key),
		T(test_in_wrong_mac),
		T(test_in_tampered),
		T(test_in_ip_id_not_covered),
		T(test_in_version_1),
		T(test_in_version_swapped),
		T(test_in_memo_filled),
		T(test_in_memo_both_directions),
		T(test_in_memo_wrong_mac),
		T(test_in_memo_rekeyed),
		T(test_in_stale_both_sides),
		T(test_in_epoch_wraparound),
		T(test_in_window_wider_than_epoch),
		T(test_in_len_zero),
		T(test_in_len_one),
		T(test_in_len_past_end),
		T(test_in_truncated_option),
		T(test_in_dsm_len_23),
		T(test_in_dsm_len_25),
		T(test_in_dsm_too_short_for_claim),
		T(test_in_version_4),
		T(test_in_v3_good),
		T(test_in_v3_wrong_port),
		T(test_in_v3_wrong_generation),
		T(test_in_v3_unknown_node),
		T(test_in_v3_fragment),
		T(test_in_v2_beside_pair_keys),
		T(test_in_two_options),
		T(test_in_option_after_eol),
		T(test_in_eol_zero_padding),
		T(test_in_40_nops),
		T(test_in_other_options_only),
		T(test_in_truncated_header),
		T(test_in_bad_fixed_header),
		T(test_in_plain),
		T(test_in_not_ipv4),
		T(test_in_verify_off),
		T(test_in_event_overflow),
		T(test_out_unlabeled_untouched),
		T(test_out_disabled),
		T(test_out_not_ipv4),
		T(test_out_copy_of_own_option),
		T(test_out_copy_from_socket),
		T(test_out_copy_behind_vlan_tags),
		T(test_out_malformed_copy),
		T(test_out_l3),
		T(test_shared_maps_match_lsm),
		T(test_map_layouts),
	};

	return cmocka_run_group_tests_name("net_prog", tests, group_setup, group_teardown);
}
