// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd/link.c against a real kernel: in a network namespace of its own
 * (unshare), a veth link with a connected route and a gatewayed route.
 * dsmd lowers both routes' MTU by the option's size, keeps a route's other
 * metrics and attributes, leaves a route with an MTU of the operator's alone, does nothing the second time, and takes
 * back exactly what it set; gso_max_segs is set on the link.
 *
 * Needs root (a network namespace) and the ip tool. Skipped, with the
 * reason, only for a missing host capability (host_cap.h): not root, or a
 * kernel that refuses a namespace to this process; a link that cannot be
 * built as root fails every test.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "host_cap.h"

#include "../../dsmd/link.c"

/* Why the link is not there: an error and what failed (host_cap.h). */
static int need_err;
static char need_what[128];

static int sh(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

/* The output of a shell command, first line, trailing newline removed. */
static void out(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = '\0';
		pclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		need_err = -EPERM;
		snprintf(need_what, sizeof(need_what), "a network namespace needs root");
		return 0;
	}
	if (unshare(CLONE_NEWNET)) {
		need_err = -errno;
		snprintf(need_what, sizeof(need_what), "unshare(CLONE_NEWNET)");
		return 0;
	}
	if (sh("ip link add dl0 mtu 1500 type veth peer name dl1 && ip link set dl1 up && ip link set dl0 up && "
	       "ip addr add 10.5.0.1/24 dev dl0 && "
	       "ip route add 10.6.0.0/16 via 10.5.0.254 dev dl0 && "
	       "ip route add 10.7.0.0/16 via 10.5.0.254 dev dl0 mtu 1400 && "
	       "ip route add 10.8.0.0/16 via 10.5.0.254 dev dl0 metric 7 initcwnd 10 advmss 1300")) {
		need_err = -EIO;
		snprintf(need_what, sizeof(need_what), "building the veth link with ip (iproute2, veth)");
		return 0;
	}
	return 0;
}

#define NEED_KERNEL() skip_unless_host_capability(need_err, need_what)

static int dl0(void)
{
	return (int)if_nametoindex("dl0");
}

static void route_mtu(const char *dst, char *buf, size_t len)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ip route show %s | grep -o 'mtu [0-9]*' || echo none", dst);
	out(cmd, buf, len);
}

static void test_routes_lowered_and_restored(void **state)
{
	char m[256];

	(void)state;
	NEED_KERNEL();
	/* the connected route, 10.6/16 and 10.8/16; 10.7/16 is the operator's */
	assert_int_equal(dsmd_link_routes_make_room(dl0()), 3);
	route_mtu("10.5.0.0/24", m, sizeof(m));
	assert_string_equal(m, "mtu 1476");
	route_mtu("10.6.0.0/16", m, sizeof(m));
	assert_string_equal(m, "mtu 1476");
	route_mtu("10.7.0.0/16", m, sizeof(m));
	assert_string_equal(m, "mtu 1400");
	/* every other metric and attribute kept */
	out("ip route show 10.8.0.0/16", m, sizeof(m));
	assert_non_null(strstr(m, "mtu 1476"));
	assert_non_null(strstr(m, "initcwnd 10"));
	assert_non_null(strstr(m, "advmss 1300"));
	assert_non_null(strstr(m, "metric 7"));
	/* idempotent: a second start changes nothing */
	assert_int_equal(dsmd_link_routes_make_room(dl0()), 0);
	/* the packets really get the smaller MTU */
	out("ip route get 10.6.1.1 | grep -o 'mtu [0-9]*' || echo none", m, sizeof(m));
	assert_string_equal(m, "mtu 1476");

	assert_int_equal(dsmd_link_routes_restore(dl0()), 3);
	route_mtu("10.5.0.0/24", m, sizeof(m));
	assert_string_equal(m, "none");
	route_mtu("10.6.0.0/16", m, sizeof(m));
	assert_string_equal(m, "none");
	route_mtu("10.7.0.0/16", m, sizeof(m));
	assert_string_equal(m, "mtu 1400");
	/* the gateway survived the rewrite, the other metrics too */
	out("ip route show 10.6.0.0/16", m, sizeof(m));
	assert_non_null(strstr(m, "via 10.5.0.254"));
	out("ip route show 10.8.0.0/16", m, sizeof(m));
	assert_null(strstr(m, "mtu"));
	assert_non_null(strstr(m, "initcwnd 10"));
	assert_non_null(strstr(m, "advmss 1300"));
}

static void test_gso_segs(void **state)
{
	char m[64];

	(void)state;
	NEED_KERNEL();
	assert_int_equal(dsmd_link_gso_segs(dl0(), 1), 0);
	out("ip -d link show dl0 | grep -o 'gso_max_segs [0-9]*'", m, sizeof(m));
	assert_string_equal(m, "gso_max_segs 1");
	assert_int_equal(dsmd_link_gso_segs(dl0(), 65535), 0);
	out("ip -d link show dl0 | grep -o 'gso_max_segs [0-9]*'", m, sizeof(m));
	assert_string_equal(m, "gso_max_segs 65535");
}

static void test_errors(void **state)
{
	(void)state;
	NEED_KERNEL();
	assert_true(dsmd_link_routes_make_room(999999) < 0); /* no such link */
	assert_int_equal(sh("ip link set dl0 mtu 590"), 0);
	assert_int_equal(dsmd_link_routes_make_room(dl0()), -ERANGE); /* no room left */
	assert_int_equal(sh("ip link set dl0 mtu 1500"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_lowered_and_restored),
		cmocka_unit_test(test_gso_segs),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("dsmd_link", tests, group_setup, NULL);
}
