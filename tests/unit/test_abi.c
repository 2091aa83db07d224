// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel/user ABI: map keys are compared bytewise by the kernel, so a
 * key built by userspace and one built by a BPF program must agree on every
 * byte, padding included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "dsm/abi.h"

static void fill(void *p, size_t n) { memset(p, 0xa5, n); }

static void test_rule_key_bytes(void **state)
{
	struct dsm_pkey want, got;
	(void)state;

	fill(&got, sizeof(got));
	got = dsm_key_rule(DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_STREAM), 100, DSM_NODE_ANY, 300);
	memset(&want, 0, sizeof(want));
	want.kind = DSM_KEY_RULE;
	want.class = DSM_CLASS_SOCKET;
	want.qual = (AF_INET << 8) | SOCK_STREAM;
	want.subject = 100;
	want.node = DSM_NODE_ANY;
	want.target = 300;
	assert_memory_equal(&got, &want, sizeof(want));
}

static void test_other_keys_zero_unused(void **state)
{
	const struct dsm_pkey keys[] = {
		dsm_key_file(0x800001, 12345),
		dsm_key_trans(1, 2),
		dsm_key_label(7),
		dsm_key_config(DSM_CFG_MODE),
		dsm_key_net(0x0a4d0000, 24, 2),
	};
	(void)state;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct dsm_pkey *k = &keys[i];
		assert_true(k->kind >= DSM_KEY_RULE && k->kind <= DSM_KEY_NET);
		switch (k->kind) {
		case DSM_KEY_FILE:
			assert_int_equal(k->class | k->qual | k->node | k->target, 0);
			assert_int_equal(k->object, 12345);
			break;
		case DSM_KEY_TRANS:
			assert_int_equal(k->class | k->qual | k->node, 0);
			assert_int_equal(k->object, 0);
			break;
		case DSM_KEY_LABEL:
			assert_int_equal(k->class | k->qual | k->node | k->target, 0);
			assert_int_equal(k->subject, 7);
			break;
		case DSM_KEY_CONFIG:
			assert_int_equal(k->qual | k->subject | k->node | k->target, 0);
			assert_int_equal(k->class, DSM_CFG_MODE);
			break;
		case DSM_KEY_NET:
			assert_int_equal(k->class, 24);
			assert_int_equal(k->qual | k->target, 0);
			break;
		}
	}
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
	assert_int_equal(offsetof(struct dsm_event, comm), 64 - DSM_COMM_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_key_bytes),
		cmocka_unit_test(test_other_keys_zero_unused),
		cmocka_unit_test(test_qual_packing),
		cmocka_unit_test(test_event_layout),
	};
	return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
