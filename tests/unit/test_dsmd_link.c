// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd/link.c against a real kernel: in a network namespace of its own
 * (unshare), a veth link with a connected route and a gatewayed route.
 * dsmd lowers both routes' MTU by the option's size, leaves a route with
 * an MTU of the operator's alone, does nothing the second time, and takes
 * back exactly what it set. A route whose
 * link has no carrier (the kernel dumps it as linkdown, a flag it refuses
 * in a request) is rewritten all the same, and a rewrite keeps every other
 * metric of the route. The link list says what each link is.
 *
 * Needs root (a network namespace) and the ip tool. Skipped, with the
 * reason, only for a missing host capability (host_cap.h): not root, or a
 * kernel that refuses a namespace to this process; a link that cannot be
 * built as root fails every test.
 */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
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
	       /* dl2's peer stays down: no carrier, its routes are linkdown */
	       "ip link add dl2 mtu 1500 type veth peer name dl3 && ip link set dl2 up && "
	       "ip addr add 10.8.0.1/24 dev dl2 && "
	       "ip route add 10.9.0.0/16 via 10.8.0.254 dev dl2 advmss 1200 initcwnd 7 "
	       "window 65000 rtt 30ms && "
	       "ip link add dl4 type bridge")) {
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
	char m[64];

	(void)state;
	NEED_KERNEL();
	/* the connected route and 10.6/16; 10.7/16 is the operator's */
	assert_int_equal(dsmd_link_routes_make_room(dl0()), 2);
	route_mtu("10.5.0.0/24", m, sizeof(m));
	assert_string_equal(m, "mtu 1476");
	route_mtu("10.6.0.0/16", m, sizeof(m));
	assert_string_equal(m, "mtu 1476");
	route_mtu("10.7.0.0/16", m, sizeof(m));
	assert_string_equal(m, "mtu 1400");
	/* idempotent: a second start changes nothing */
	assert_int_equal(dsmd_link_routes_make_room(dl0()), 0);
	/* the packets really get the smaller MTU */
	out("ip route get 10.6.1.1 | grep -o 'mtu [0-9]*' || echo none", m, sizeof(m));
	assert_string_equal(m, "mtu 1476");

	assert_int_equal(dsmd_link_routes_restore(dl0()), 2);
	route_mtu("10.5.0.0/24", m, sizeof(m));
	assert_string_equal(m, "none");
	route_mtu("10.6.0.0/16", m, sizeof(m));
	assert_string_equal(m, "none");
	route_mtu("10.7.0.0/16", m, sizeof(m));
	assert_string_equal(m, "mtu 1400");
	/* the gateway survived the rewrite */
	out("ip route show 10.6.0.0/16", m, sizeof(m));
	assert_non_null(strstr(m, "via 10.5.0.254"));
}

/* A linkdown route (RTNH_F_LINKDOWN in the dump) and its other metrics. */
static void test_linkdown_and_metrics(void **state)
{
	int dl2 = (int)if_nametoindex("dl2");
	char m[256];

	(void)state;
	NEED_KERNEL();
	out("ip route show 10.9.0.0/16", m, sizeof(m));
	assert_non_null(strstr(m, "linkdown"));
	assert_int_equal(dsmd_link_routes_make_room(dl2), 2);
	route_mtu("10.9.0.0/16", m, sizeof(m));
	assert_string_equal(m, "mtu 1476");
	out("ip route show 10.9.0.0/16", m, sizeof(m));
	assert_non_null(strstr(m, "advmss 1200"));
	assert_non_null(strstr(m, "initcwnd 7"));
	assert_non_null(strstr(m, "window 65000"));
	assert_non_null(strstr(m, "rtt 30ms"));
	assert_int_equal(dsmd_link_routes_restore(dl2), 2);
	route_mtu("10.9.0.0/16", m, sizeof(m));
	assert_string_equal(m, "none");
	out("ip route show 10.9.0.0/16", m, sizeof(m));
	assert_non_null(strstr(m, "advmss 1200"));
	assert_non_null(strstr(m, "initcwnd 7"));
	assert_non_null(strstr(m, "via 10.8.0.254"));
}

/* Big requests are never cut short: an attribute that does not fit is an
 * error, and the request stays as it was. */
static void test_addattr_refuses(void **state)
{
	struct {
		struct nlmsghdr n;
		char room[32];
	} req = { .n = { .nlmsg_len = NLMSG_LENGTH(0) } };
	char data[64] = { 0 };

	(void)state;
	assert_int_equal(addattr(&req.n, sizeof(req), 1, data, 8), 0);
	assert_int_equal(req.n.nlmsg_len, NLMSG_LENGTH(0) + RTA_SPACE(8));
	assert_int_equal(addattr(&req.n, sizeof(req), 2, data, sizeof(data)), -E2BIG);
	assert_int_equal(req.n.nlmsg_len, NLMSG_LENGTH(0) + RTA_SPACE(8));
}

static const struct dsmd_link *find_link(const struct dsmd_link *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/* What the link list says of each kind of link. */
static void test_link_list(void **state)
{
	const struct dsmd_link *l;
	struct dsmd_link *v;
	size_t n;

	(void)state;
	NEED_KERNEL();
	assert_int_equal(dsmd_link_list(&v, &n), 0);
	l = find_link(v, n, "lo");
	assert_non_null(l);
	assert_int_equal(l->type, ARPHRD_LOOPBACK);
	assert_int_equal(l->ifindex, 1);
	l = find_link(v, n, "dl0");
	assert_non_null(l);
	assert_int_equal(l->type, ARPHRD_ETHER);
	assert_string_equal(l->kind, "veth");
	assert_int_equal(l->ifindex, dl0());
	l = find_link(v, n, "dl4");
	assert_non_null(l);
	assert_string_equal(l->kind, "bridge");
	free(v);
	/* VLAN devices need the 8021q module, which a host may lack */
	if (sh("ip link add link dl0 name dl0.5 type vlan id 5 2>/dev/null"))
		return;
	assert_int_equal(dsmd_link_list(&v, &n), 0);
	l = find_link(v, n, "dl0.5");
	assert_non_null(l);
	assert_string_equal(l->kind, "vlan");
	assert_false(l->builds_header);
	free(v);
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
		cmocka_unit_test(test_linkdown_and_metrics),
		cmocka_unit_test(test_addattr_refuses),
		cmocka_unit_test(test_link_list),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("dsmd_link", tests, group_setup, NULL);
}
