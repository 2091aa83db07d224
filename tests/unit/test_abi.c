// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel/user ABI: map keys are compared bytewise by the kernel, so a
 * key built by userspace and one built by a BPF program must agree on every
 * byte, padding included: every byte a variant does not name is zero.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "dsm/abi.h"
#include "dsm/wire.h"

static void fill(void *p, size_t n) { memset(p, 0xa5, n); }

static void test_rule_key_bytes(void **state)
{
	struct dsm_pkey got;
	uint8_t want[32] = { 0 };
	(void)state;

	fill(&got, sizeof(got));
	got = dsm_key_rule(DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_STREAM), 100, DSM_NODE_ANY, 300);
	want[0] = DSM_KEY_RULE;
	want[4] = DSM_CLASS_SOCKET;
	memcpy(want + 6, &got.rule.qual, 2);
	assert_int_equal(got.rule.qual, (AF_INET << 8) | SOCK_STREAM);
	memcpy(want + 8, &(uint32_t){ 100 }, 4);
	memcpy(want + 12, &(uint32_t){ DSM_NODE_ANY }, 4);
	memcpy(want + 16, &(uint32_t){ 300 }, 4);
	assert_memory_equal(&got, want, sizeof(want));
}

/* Every byte of k outside [off, off + len) ranges is zero. */
static void assert_zero_outside(const struct dsm_pkey *k, const size_t *ranges, size_t n)
{
	const uint8_t *b = (const uint8_t *)k;

	for (size_t i = 1; i < sizeof(*k); i++) {
		bool named = false;

		for (size_t r = 0; r < n; r += 2)
			named |= i >= ranges[r] && i < ranges[r] + ranges[r + 1];
		if (!named)
			assert_int_equal(b[i], 0);
	}
}

#define OFF(f) (offsetof(struct dsm_pkey, f))

static void test_other_keys_zero_unused(void **state)
{
	const __be32 p6[4] = { 0x000080fe, 0, 0, 0 };
	const struct dsm_pkey file = dsm_key_file(0x800001, 0x123456789aULL);
	const struct dsm_pkey trans = dsm_key_trans(1, 2);
	const struct dsm_pkey label = dsm_key_label(7);
	const struct dsm_pkey cfg = dsm_key_config_at(DSM_CFG_NET_PLENS, 3);
	const struct dsm_pkey net = dsm_key_net(0x00004d0a, 24, 2, 4026531840u);
	const struct dsm_pkey net6 = dsm_key_net6(p6, 10, 3, 4026531841u);
	(void)state;

	assert_int_equal(dsm_key_file_ino(&file), 0x123456789aULL);
	assert_zero_outside(&file, (const size_t[]){ OFF(file.dev), 12 }, 2);
	assert_int_equal(trans.trans.subject, 1);
	assert_int_equal(trans.trans.file_label, 2);
	assert_zero_outside(&trans, (const size_t[]){ OFF(trans.subject), 8 }, 2);
	assert_int_equal(label.label.label, 7);
	assert_zero_outside(&label, (const size_t[]){ OFF(label.label), 4 }, 2);
	assert_int_equal(cfg.config.item, DSM_CFG_NET_PLENS);
	assert_int_equal(cfg.config.index, 3);
	assert_zero_outside(&cfg, (const size_t[]){ OFF(config.item), 1, OFF(config.index), 2 }, 4);
	assert_int_equal(net.net.plen, 24);
	assert_int_equal(net.net.netns, 4026531840u);
	assert_zero_outside(&net, (const size_t[]){ OFF(net.plen), 1, OFF(net.prefix), 12 }, 4);
	assert_int_equal(net6.net6.plen, 10);
	assert_memory_equal(net6.net6.prefix, p6, 16);
	assert_zero_outside(&net6, (const size_t[]){ OFF(net6.plen), 1, OFF(net6.prefix), 24 }, 4);
}

static void test_qual_packing(void **state)
{
	(void)state;
	assert_int_equal(dsm_qual(AF_PACKET, SOCK_RAW), (17 << 8) | 3);
	assert_int_not_equal(dsm_qual(AF_INET, SOCK_RAW), DSM_QUAL_ANY);
	/* no real family/type pair packs to the wildcard */
	for (unsigned f = 0; f < 46; f++)
		for (unsigned t = 0; t <= 10; t++)
			assert_int_not_equal(dsm_qual(f, t), DSM_QUAL_ANY);
}

static void test_event_layout(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct dsm_event, time_ns) % 8, 0);
	assert_int_equal(offsetof(struct dsm_event, d), offsetof(struct dsm_event, p));
	assert_int_equal(sizeof(struct dsm_event), 80);
}

/* Epochs count wall-clock time from CLOCK_TAI plus the offset dsmd keeps. */
static void test_epoch(void **state)
{
	struct dsm_net_cfg cfg = { .epoch_seconds = 10, .clock_offset_ns = -37000000000ll };
	(void)state;

	assert_int_equal(dsm_epoch(1037000000000ull, &cfg), 100);
	assert_int_equal(dsm_epoch(1046999999999ull, &cfg), 100);
	assert_int_equal(dsm_epoch(1047000000000ull, &cfg), 101);
	cfg.epoch_base = 0xfffffff0u;
	assert_int_equal(dsm_epoch(1047000000000ull, &cfg), 0xfffffff0u + 101);
	cfg.epoch_base = 0xffffffffu;
	assert_int_equal(dsm_epoch(1037000000000ull, &cfg), 99); /* modulo 2^32 */
	cfg.epoch_seconds = 0;
	assert_int_equal(dsm_epoch(1047000000000ull, &cfg), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_key_bytes),
		cmocka_unit_test(test_other_keys_zero_unused),
		cmocka_unit_test(test_qual_packing),
		cmocka_unit_test(test_event_layout),
		cmocka_unit_test(test_epoch),
	};
	return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
