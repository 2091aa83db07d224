// SPDX-License-Identifier: GPL-2.0
/*
 * The shared decision library (include/dsm/decide.h) run natively on
 * compiled policies, with the node-local entries a loader adds
 * (dsm_policy_set_local()): what these tests decide is what the BPF side
 * decides on the same map. Permission fallbacks, every exec rule, the
 * labels given at start-up, and the unlabeled-peer lookups. No root, no
 * kernel objects.
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
#include <net/if.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "host_cap.h"

#include "dsm/decide.h"

/* Families the language does not name; <sys/socket.h> may lack some. */
#define FAM_KEY   15
#define FAM_TIPC  30
#define FAM_ALG   38
#define FAM_VSOCK 40
#define FAM_SMC   43

static struct dsm_policy *compile(const char *src)
{
	struct dsm_diags d = { 0 };
	struct dsm_policy *p = NULL;
	int r = dsm_policy_compile("d.policy", src, strlen(src), &p, &d);

	for (size_t i = 0; i < d.n; i++) {
		char line[512];

		dsm_diag_format(&d.v[i], line, sizeof(line));
		if (d.v[i].severity == DSM_SEV_ERROR)
			print_message("%s\n", line);
	}
	assert_int_equal(r, 0);
	dsm_diags_free(&d);
	return p;
}

/* The loader's entries: the service manager (0: none), dsmd's label
 * (0: none) and the prefix lengths of every compiled and resolved
 * unlabeled rule. */
static void set_local(struct dsm_policy *p, uint32_t manager, uint32_t dsmd)
{
	struct dsm_entry v[16] = { 0 };
	size_t n = 0;

	v[n].key = dsm_key_config(DSM_CFG_NODE_ID);
	v[n++].val.aux = 1;
	if (manager) {
		v[n].key = dsm_key_config(DSM_CFG_SERVICE_MANAGER);
		v[n++].val.aux = manager;
	}
	if (dsmd) {
		v[n].key = dsm_key_config(DSM_CFG_DSMD_LABEL);
		v[n++].val.aux = dsmd;
	}
	n += dsm_policy_plens_entries(p, &v[n]);
	assert_int_equal(dsm_policy_set_local(p, v, n), 0);
}

/* ---- permissions ---------------------------------------------------------- */

static void test_perms_fallbacks(void **state)
{
	struct dsm_policy *p = compile(
		"policy d version 1;\n"
		"node n1 = 1; node n2 = 2;\n"
		"label a = 10; label b = 11; label c = 12; label dsmd = 3;\n"
		"initial a;\n"
		"allow a self : socket create;\n"
		"allow a self : socket inet stream connect;\n"
		"allow a b : process signal;\n"
		"allow a@any b : peer recv;\n"
		"allow c@n1 b : peer recv;\n"
		"allow dsmd self : system bpf;\n"
		"allow b dsmd : dsm { query peerlabel };\n");
	const uint16_t stream = SOCK_STREAM;
	(void)state;

	set_local(p, 0, 0);
	/* The exact entry, with the wildcard's permissions folded in. */
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET, stream), 10, DSM_NODE_ANY, 10),
			 DSM_PERM_CREATE | DSM_PERM_CONNECT);
	/* No exact entry: the qualifier wildcard, for the families it covers. */
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET6, stream), 10, DSM_NODE_ANY, 10),
			 DSM_PERM_CREATE);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_UNIX, SOCK_DGRAM), 10, DSM_NODE_ANY, 10),
			 DSM_PERM_CREATE);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET, SOCK_DCCP), 10, DSM_NODE_ANY, 10),
			 DSM_PERM_CREATE);
	for (uint16_t f = 0; f < 64; f++) {
		bool covered = f == AF_UNIX || f == AF_INET || f == AF_INET6 || f == FAM_KEY ||
			       f == AF_NETLINK || f == AF_PACKET || f == FAM_ALG;

		assert_int_equal(dsm_qual_any_covers(dsm_qual(f, stream)), covered);
		if (f != AF_INET)
			assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(f, stream), 10,
						   DSM_NODE_ANY, 10),
					 covered ? DSM_PERM_CREATE : 0);
	}
	/* Families whose traffic would carry no label: no wildcard covers them. */
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(FAM_SMC, stream), 10, DSM_NODE_ANY, 10), 0);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(FAM_TIPC, SOCK_DGRAM), 10, DSM_NODE_ANY, 10), 0);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(FAM_VSOCK, stream), 10, DSM_NODE_ANY, 10), 0);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(FAM_KEY, SOCK_RAW), 10, DSM_NODE_ANY, 10),
			 DSM_PERM_CREATE);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(FAM_ALG, SOCK_SEQPACKET), 10, DSM_NODE_ANY, 10),
			 DSM_PERM_CREATE);
	/* The wildcard itself, and nothing for another label. */
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 10), DSM_PERM_CREATE);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SOCKET, dsm_qual(AF_INET, stream), 11, DSM_NODE_ANY, 11), 0);

	/* Peers: the exact node, then label@any. */
	assert_int_equal(dsm_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 12, 1, 11), DSM_PERM_PEER_RECV);
	assert_int_equal(dsm_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 12, 2, 11), 0);
	assert_int_equal(dsm_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 10, 2, 11), DSM_PERM_PEER_RECV);
	assert_int_equal(dsm_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 10, 77, 11), DSM_PERM_PEER_RECV);
	assert_int_equal(dsm_perms(p, DSM_CLASS_PEER, DSM_QUAL_ANY, 10, 1, 10), 0);
	/* Other classes have one key. */
	assert_int_equal(dsm_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 11), DSM_PERM_SIGNAL);
	assert_int_equal(dsm_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 11, DSM_NODE_ANY, 10), 0);
	assert_int_equal(dsm_perms(p, DSM_CLASS_SYSTEM, DSM_QUAL_ANY, 3, DSM_NODE_ANY, 3), DSM_PERM_BPF);
	assert_int_equal(dsm_perms(p, DSM_CLASS_DSM, DSM_QUAL_ANY, 11, DSM_NODE_ANY, 3),
			 DSM_PERM_QUERY | DSM_PERM_PEERLABEL);
	assert_int_equal(dsm_perms(p, DSM_CLASS_DSM, DSM_QUAL_ANY, 10, DSM_NODE_ANY, 3), 0);
	/* A label the policy does not define holds nothing. */
	assert_int_equal(dsm_perms(p, DSM_CLASS_PROCESS, DSM_QUAL_ANY, 4242, DSM_NODE_ANY, 11), 0);
	dsm_policy_free(p);
}

static void test_config_and_flags(void **state)
{
	struct dsm_policy *p = compile(
		"policy d version 1;\nlabel a = 10; label b = 11; label s = 12;\ninitial a;\n"
		"permissive b;\nallow s self : system cgroup;\nfile default : b;\n");
	struct dsm_entry f = { .key = dsm_key_file(8u << 20 | 1, 77), .val.aux = 12 };
	(void)state;

	assert_int_equal(dsm_initial_label(p), 10);
	assert_int_equal(dsm_label_flags(p, 10), DSM_LABEL_F_DEFINED);
	assert_int_equal(dsm_label_flags(p, 11), DSM_LABEL_F_DEFINED | DSM_LABEL_F_PERMISSIVE);
	assert_int_equal(dsm_label_flags(p, 12), DSM_LABEL_F_DEFINED | DSM_LABEL_F_SYSTEM);
	assert_int_equal(dsm_label_flags(p, 13), 0);
	assert_false(dsm_permissive(p, 10));
	assert_true(dsm_permissive(p, 11));
	assert_int_equal(dsm_config(p, DSM_CFG_NODE_ID, 99), 99);
	/* File labels: the file's own, else the default file label. */
	assert_int_equal(dsm_policy_set_local(p, &f, 1), 0);
	assert_int_equal(dsm_file_label(p, 8u << 20 | 1, 77), 12);
	assert_int_equal(dsm_file_label(p, 8u << 20 | 1, 78), 11);
	dsm_policy_free(p);

	/* Without a default: the initial label. The node's mode. */
	p = compile("policy d version 1;\nlabel a = 10;\ninitial a;\nmode permissive;\n");
	assert_int_equal(dsm_file_label(p, 1, 1), 10);
	assert_true(dsm_permissive(p, 10));
	assert_true(dsm_permissive(p, 4242));
	dsm_policy_free(p);
}

/* ---- exec ----------------------------------------------------------------- */

/*
 * init: the initial label; pm: the service manager (PID 1's label, set as
 * the loader does when the policy names none); dsmd: a label with system
 * permissions; web, app: services. Executables: dsmd_exec, web_exec,
 * tool_exec (no transition), pm_exec (a transition into pm).
 */
static const char exec_policy[] =
	"policy d version 1;\n"
	"label init = 1; label pm = 2; label dsmd = 3; label web = 10; label app = 11;\n"
	"label dsmd_exec = 100; label web_exec = 101; label tool_exec = 102; label pm_exec = 103;\n"
	"initial init;\n"
	"permissive app;\n"
	"allow dsmd self : system { bpf dsm_files dsm_read };\n"
	"allow { init pm web dsmd } { dsmd_exec web_exec tool_exec pm_exec } : file exec;\n"
	"transition init dsmd_exec -> dsmd;\n"
	"transition pm dsmd_exec -> dsmd;\n"
	"transition init web_exec -> web;\n"
	"transition pm web_exec -> web;\n"
	"transition init pm_exec -> pm;\n"
	"allow init { web app pm dsmd } : process transition;\n"
	"allow pm { web dsmd } : process transition;\n"
	"allow web init : process transition;\n";

enum { INIT = 1, PM = 2, DSMD = 3, WEB = 10, APP = 11 };
enum { DSMD_EXEC = 100, WEB_EXEC = 101, TOOL_EXEC = 102, PM_EXEC = 103 };

static void expect_exec(dsm_pm_t p, uint32_t subject, uint32_t file, uint32_t req, bool pid1,
			uint32_t next, uint32_t class, uint32_t perm, uint32_t target)
{
	struct dsm_exec_decision d = dsm_exec(p, subject, file, req, pid1);

	if (d.next != next || d.class != class || d.perm != perm || d.target != target)
		print_message("exec by %u of %u (req %u, pid1 %d): next %u class %u perm %u target %u\n",
			      subject, file, req, pid1, d.next, d.class, d.perm, d.target);
	assert_int_equal(d.next, next);
	assert_int_equal(d.class, class);
	assert_int_equal(d.perm, perm);
	assert_int_equal(d.target, target);
}

#define ALLOWED(next) (next), 0, 0, 0
#define DENIED(next, class, perm, target) (next), (class), (perm), (target)

static void test_exec_file_and_transitions(void **state)
{
	struct dsm_policy *p = compile(exec_policy);
	(void)state;

	set_local(p, PM, DSMD);
	/* The exec itself needs file exec; the decision still says where
	 * it would have gone (permissive mode goes on there). */
	expect_exec(p, APP, TOOL_EXEC, 0, false,
		    DENIED(APP, DSM_CLASS_FILE, DSM_PERM_EXEC, TOOL_EXEC));
	expect_exec(p, WEB, TOOL_EXEC, 0, false, ALLOWED(WEB));
	/* The policy's transition, else the label stays. */
	expect_exec(p, INIT, WEB_EXEC, 0, false, ALLOWED(WEB));
	expect_exec(p, INIT, TOOL_EXEC, 0, false, ALLOWED(INIT));
	expect_exec(p, WEB, WEB_EXEC, 0, false, ALLOWED(WEB));
	/* A requested label needs process transition, and wins over the
	 * policy's transition. */
	expect_exec(p, INIT, TOOL_EXEC, APP, false, ALLOWED(APP));
	expect_exec(p, INIT, WEB_EXEC, APP, false, ALLOWED(APP));
	expect_exec(p, WEB, TOOL_EXEC, APP, false,
		    DENIED(APP, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, APP));
	/* The first denial is the one reported. */
	expect_exec(p, APP, TOOL_EXEC, WEB, false,
		    DENIED(WEB, DSM_CLASS_FILE, DSM_PERM_EXEC, TOOL_EXEC));
	/* A permissive subject: the caller allows it, into the would-be label. */
	assert_true(dsm_permissive(p, APP));
	assert_false(dsm_permissive(p, WEB));
	dsm_policy_free(p);
}

static void test_exec_service_manager(void **state)
{
	struct dsm_policy *p = compile(exec_policy);
	(void)state;

	set_local(p, PM, DSMD);
	/* PID 1 keeps the manager's label when it executes again ... */
	expect_exec(p, PM, TOOL_EXEC, 0, true, ALLOWED(PM));
	expect_exec(p, PM, PM_EXEC, 0, true, ALLOWED(PM));
	/* ... every other task in it leaves it: for its transition, else for
	 * the initial label. */
	expect_exec(p, PM, TOOL_EXEC, 0, false, ALLOWED(INIT));
	expect_exec(p, PM, WEB_EXEC, 0, false, ALLOWED(WEB));
	expect_exec(p, PM, WEB_EXEC, 0, true, ALLOWED(WEB));
	/* No exec enters the manager's label: not by transition, not by request. */
	expect_exec(p, INIT, PM_EXEC, 0, false,
		    DENIED(PM, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, PM));
	expect_exec(p, INIT, PM_EXEC, 0, true,
		    DENIED(PM, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, PM));
	expect_exec(p, INIT, TOOL_EXEC, PM, false,
		    DENIED(PM, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, PM));
	/* A request needs process transition even for one's own label. */
	expect_exec(p, PM, TOOL_EXEC, PM, true,
		    DENIED(PM, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, PM));
	/* Into the initial label by request, when it is not the manager's. */
	expect_exec(p, WEB, TOOL_EXEC, INIT, false, ALLOWED(INIT));
	dsm_policy_free(p);
}

static void test_exec_system_labels(void **state)
{
	struct dsm_policy *p = compile(exec_policy);
	(void)state;

	set_local(p, PM, DSMD);
	assert_true(dsm_label_flags(p, DSMD) & DSM_LABEL_F_SYSTEM);
	/* Only from the service manager's label, PID 1 or not. */
	expect_exec(p, PM, DSMD_EXEC, 0, true, ALLOWED(DSMD));
	expect_exec(p, PM, DSMD_EXEC, 0, false, ALLOWED(DSMD));
	expect_exec(p, PM, TOOL_EXEC, DSMD, false, ALLOWED(DSMD));
	/* From any other label: denied, though the policy says transition
	 * and process transition. */
	expect_exec(p, INIT, DSMD_EXEC, 0, false,
		    DENIED(DSMD, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, DSMD));
	expect_exec(p, INIT, TOOL_EXEC, DSMD, false,
		    DENIED(DSMD, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, DSMD));
	expect_exec(p, WEB, DSMD_EXEC, 0, false, ALLOWED(WEB)); /* no transition: stays */
	/* A task in the system label stays in it. */
	expect_exec(p, DSMD, TOOL_EXEC, 0, false, ALLOWED(DSMD));
	dsm_policy_free(p);

	/* No service manager at all (no entry): nobody enters a system
	 * label, and nobody leaves a label for lack of one. */
	p = compile(exec_policy);
	set_local(p, 0, 0);
	expect_exec(p, INIT, DSMD_EXEC, 0, true,
		    DENIED(DSMD, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, DSMD));
	expect_exec(p, PM, TOOL_EXEC, 0, false, ALLOWED(PM));
	expect_exec(p, INIT, PM_EXEC, 0, false, ALLOWED(PM));
	dsm_policy_free(p);

	/* The initial label as the service manager (a policy naming none, on
	 * a node whose PID 1 carries it): every task in it may enter system
	 * labels, none may come back into it by exec. */
	p = compile(exec_policy);
	set_local(p, INIT, DSMD);
	expect_exec(p, INIT, DSMD_EXEC, 0, false, ALLOWED(DSMD));
	expect_exec(p, INIT, TOOL_EXEC, 0, false, ALLOWED(INIT));
	expect_exec(p, WEB, TOOL_EXEC, INIT, false,
		    DENIED(INIT, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, INIT));
	dsm_policy_free(p);
}

static void test_exec_named_manager(void **state)
{
	/* The statement gives the same entry the loader would add. */
	struct dsm_policy *p = compile(
		"policy d version 1;\nlabel init = 1; label pm = 2; label dsmd = 3; label tool_exec = 102;\n"
		"label dsmd_exec = 100;\ninitial init;\nservice_manager pm;\n"
		"allow dsmd self : system bpf;\nallow { init pm } { tool_exec dsmd_exec } : file exec;\n"
		"transition pm dsmd_exec -> dsmd;\ntransition init dsmd_exec -> dsmd;\n");
	struct dsm_entry sm = { .key = dsm_key_config(DSM_CFG_SERVICE_MANAGER), .val.aux = 1 };
	(void)state;

	assert_int_equal(dsm_config(p, DSM_CFG_SERVICE_MANAGER, 0), PM);
	/* The loader cannot override it. */
	assert_int_equal(dsm_policy_set_local(p, &sm, 1), -EEXIST);
	set_local(p, 0, DSMD);
	expect_exec(p, PM, DSMD_EXEC, 0, false, ALLOWED(DSMD));
	expect_exec(p, INIT, DSMD_EXEC, 0, false,
		    DENIED(DSMD, DSM_CLASS_PROCESS, DSM_PERM_TRANSITION, DSMD));
	expect_exec(p, PM, TOOL_EXEC, 0, false, ALLOWED(INIT));
	/* dsmd starting with dsm gets its label from the manager's
	 * transition (here also the initial label's); PID 1 the manager's. */
	assert_int_equal(dsm_startup_label(p, DSMD_EXEC, false, true), DSMD);
	assert_int_equal(dsm_startup_label(p, TOOL_EXEC, true, false), PM);
	dsm_policy_free(p);

	/* With the manager's transition only, as a policy that names one
	 * should be written: dsmd still starts in its label, and a task of
	 * the initial label running dsmd's binary does not get it. */
	p = compile("policy d version 1;\nlabel init = 1; label pm = 2; label dsmd = 3;\n"
		    "label tool_exec = 102; label dsmd_exec = 100;\ninitial init;\n"
		    "service_manager pm;\nallow dsmd self : system bpf;\n"
		    "allow { init pm } { tool_exec dsmd_exec } : file exec;\n"
		    "transition pm dsmd_exec -> dsmd;\n");
	set_local(p, 0, DSMD);
	assert_int_equal(dsm_startup_label(p, DSMD_EXEC, false, true), DSMD);
	assert_int_equal(dsm_startup_label(p, DSMD_EXEC, false, false), INIT);
	expect_exec(p, INIT, DSMD_EXEC, 0, false, ALLOWED(INIT));
	dsm_policy_free(p);
}

/* ---- start-up ------------------------------------------------------------- */

static void test_startup_label(void **state)
{
	struct dsm_policy *p = compile(exec_policy);
	(void)state;

	set_local(p, PM, 0);
	/* PID 1 gets the service manager's label, whatever its binary. */
	assert_int_equal(dsm_startup_label(p, TOOL_EXEC, true, false), PM);
	assert_int_equal(dsm_startup_label(p, WEB_EXEC, true, false), PM);
	/* dsmd gets its system label from the initial label's transition. */
	assert_int_equal(dsm_startup_label(p, DSMD_EXEC, false, true), DSMD);
	/* Other tasks: the initial label's transition ... */
	assert_int_equal(dsm_startup_label(p, WEB_EXEC, false, false), WEB);
	assert_int_equal(dsm_startup_label(p, TOOL_EXEC, false, false), INIT);
	/* ... but never a system label, and never the manager's. */
	assert_int_equal(dsm_startup_label(p, DSMD_EXEC, false, false), INIT);
	assert_int_equal(dsm_startup_label(p, PM_EXEC, false, false), INIT);
	assert_int_equal(dsm_startup_label(p, PM_EXEC, false, true), INIT);
	dsm_policy_free(p);

	/* Before the loader knows PID 1's label (no entry): PID 1 gets the
	 * transition like everyone, and may get a system label. */
	p = compile(exec_policy);
	set_local(p, 0, 0);
	assert_int_equal(dsm_startup_label(p, TOOL_EXEC, true, false), INIT);
	assert_int_equal(dsm_startup_label(p, DSMD_EXEC, true, false), DSMD);
	assert_int_equal(dsm_startup_label(p, PM_EXEC, true, false), PM);
	assert_int_equal(dsm_startup_label(p, DSMD_EXEC, false, false), INIT);
	dsm_policy_free(p);
}

/* ---- unlabeled peers ------------------------------------------------------ */

static const char net_policy[] =
	"policy d version 1;\n"
	"label init = 1; label ext = 10; label cluster = 11; label c24 = 12; label lo16 = 13;\n"
	"label host = 14; label x64 = 15; label x65 = 16; label lo0 = 17;\n"
	"initial init;\n"
	"unlabeled 0.0.0.0/0 -> ext;\n"
	"unlabeled 10.77.0.0/16 -> cluster;\n"
	"unlabeled 10.77.1.0/24 -> c24;\n"
	"unlabeled 10.77.0.0/16 dev lo -> lo16;\n"
	"unlabeled 10.77.9.9 -> host;\n"
	"unlabeled ::/0 -> ext;\n"
	"unlabeled fd00:77::/32 -> cluster;\n"
	"unlabeled fd00:77:1::/48 -> c24;\n"
	"unlabeled fd00:77::/32 dev lo -> lo16;\n"
	"unlabeled fd00:77:1:2::/64 -> x64;\n"
	"unlabeled fd00:77:1:2:8000::/65 -> x65;\n"
	"unlabeled ::1 -> host;\n"
	"unlabeled 192.168.0.0/16 dev lo -> lo16;\n"
	"unlabeled dev lo -> lo0;\n";

static uint32_t un4(dsm_pm_t p, const char *addr, uint32_t ifindex, uint32_t netns)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, addr, &a), 1);
	return dsm_unlabeled4(p, a.s_addr, ifindex, netns);
}

static uint32_t un6(dsm_pm_t p, const char *addr, uint32_t ifindex, uint32_t netns)
{
	__be32 a[4];

	assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	return dsm_unlabeled6(p, a, ifindex, netns);
}

static void test_unlabeled(void **state)
{
	struct dsm_policy *p = compile(net_policy);
	unsigned int lo = if_nametoindex("lo");
	uint32_t ns = dsm_netns_self(), other = ns + 1;
	(void)state;

	if (!lo) {
		dsm_policy_free(p);
		skip_host("no loopback device in this network namespace");
	}
	assert_int_equal(dsm_policy_resolve(p, NULL, NULL), 0);
	/* The masks gate the lookups: without them (the loader's entries),
	 * no rule is looked at, and nothing matches. */
	assert_int_equal(un4(p, "10.77.1.5", 0, 0), DSM_LABEL_INVALID);
	assert_int_equal(un6(p, "fd00:77:1::5", 0, 0), DSM_LABEL_INVALID);
	set_local(p, 0, 0);

	/* IPv4: the longest prefix wins ... */
	assert_int_equal(un4(p, "10.77.1.5", 0, 0), 12);
	assert_int_equal(un4(p, "10.77.9.9", 0, 0), 14);
	assert_int_equal(un4(p, "10.77.9.8", 0, 0), 11);
	assert_int_equal(un4(p, "192.0.2.1", 0, 0), 10);
	assert_int_equal(un4(p, "192.168.3.4", 0, 0), 10);
	/* ... a rule naming the interface before one that does not, at the
	 * same length; a longer prefix still wins ... */
	assert_int_equal(un4(p, "10.77.2.5", lo, ns), 13);
	assert_int_equal(un4(p, "10.77.1.5", lo, ns), 12);
	assert_int_equal(un4(p, "192.168.3.4", lo, ns), 13);
	assert_int_equal(un4(p, "192.0.2.1", lo, ns), 17);
	/* ... on that interface of that network namespace only. */
	assert_int_equal(un4(p, "10.77.2.5", lo, other), 11);
	assert_int_equal(un4(p, "10.77.2.5", lo + 1000, ns), 11);
	assert_int_equal(un4(p, "10.77.2.5", 0, ns), 11);
	assert_int_equal(un4(p, "192.0.2.1", lo, other), 10);

	/* IPv6 the same way, across the three mask words (0..63, 64..127, 128). */
	assert_int_equal(un6(p, "fd00:77:1::5", 0, 0), 12);
	assert_int_equal(un6(p, "fd00:77:2::5", 0, 0), 11);
	assert_int_equal(un6(p, "fd00:77:1:2::5", 0, 0), 15);
	assert_int_equal(un6(p, "fd00:77:1:2:8000::5", 0, 0), 16);
	assert_int_equal(un6(p, "fd00:77:1:2:7fff::5", 0, 0), 15);
	assert_int_equal(un6(p, "::1", 0, 0), 14);
	assert_int_equal(un6(p, "::2", 0, 0), 10);
	assert_int_equal(un6(p, "2001:db8::1", 0, 0), 10);
	assert_int_equal(un6(p, "fd00:77:2::5", lo, ns), 13);
	assert_int_equal(un6(p, "fd00:77:1::5", lo, ns), 12);
	assert_int_equal(un6(p, "2001:db8::1", lo, ns), 17);
	assert_int_equal(un6(p, "fd00:77:2::5", lo, other), 11);
	assert_int_equal(un6(p, "2001:db8::1", lo, other), 10);
	/* The families do not mix: an IPv4-mapped address is an IPv6 source
	 * here, and IPv4 rules never see it. */
	assert_int_equal(un6(p, "::ffff:10.77.1.5", 0, 0), 10);
	dsm_policy_free(p);
}

static void test_unlabeled_masks(void **state)
{
	struct dsm_policy *p = compile("policy d version 1;\nlabel init = 1; label a = 2;\ninitial init;\n"
				       "unlabeled 10.0.0.0/8 -> a;\nunlabeled fd00::/8 -> a;\n");
	struct dsm_entry pl[8];
	(void)state;

	/* One length each: the only lookups made. */
	assert_int_equal(dsm_policy_plens_entries(p, pl), 2);
	set_local(p, 0, 0);
	assert_true(dsm_plens(p, DSM_PLENS_V4_ANY) == 1ull << 8);
	assert_true(dsm_plens(p, DSM_PLENS_V6_ANY) == 1ull << 8);
	assert_true(dsm_plens(p, DSM_PLENS_V4_DEV) == 0);
	assert_int_equal(un4(p, "10.1.2.3", 0, 0), 2);
	assert_int_equal(un4(p, "11.1.2.3", 0, 0), DSM_LABEL_INVALID);
	assert_int_equal(un6(p, "fd12::1", 0, 0), 2);
	assert_int_equal(un6(p, "fe80::1", 0, 0), DSM_LABEL_INVALID);
	dsm_policy_free(p);

	/* No unlabeled rule at all: no label for anyone. */
	p = compile("policy d version 1;\nlabel init = 1;\ninitial init;\n");
	assert_int_equal(dsm_policy_plens_entries(p, pl), 0);
	set_local(p, 0, 0);
	assert_int_equal(un4(p, "10.1.2.3", 1, 1), DSM_LABEL_INVALID);
	assert_int_equal(un6(p, "::1", 1, 1), DSM_LABEL_INVALID);
	dsm_policy_free(p);
}

static void test_prefix6(void **state)
{
	__be32 a[4], out[4], want[4];
	(void)state;

	assert_int_equal(inet_pton(AF_INET6, "fd00:77:1:2:ffff:ffff:ffff:ffff", a), 1);
	dsm_prefix6(a, 0, out);
	memset(want, 0, sizeof(want));
	assert_memory_equal(out, want, sizeof(out));
	dsm_prefix6(a, 65, out);
	assert_int_equal(inet_pton(AF_INET6, "fd00:77:1:2:8000::", want), 1);
	assert_memory_equal(out, want, sizeof(out));
	dsm_prefix6(a, 20, out);
	assert_int_equal(inet_pton(AF_INET6, "fd00:0::", want), 1);
	assert_memory_equal(out, want, sizeof(out));
	dsm_prefix6(a, 128, out);
	assert_memory_equal(out, a, sizeof(out));
	assert_true(dsm_plen6_used(1, 0, 0, 0));
	assert_true(dsm_plen6_used(0, 1, 0, 64));
	assert_true(dsm_plen6_used(0, 0, 1, 128));
	assert_false(dsm_plen6_used(1ull << 63, 0, 0, 64));
	assert_true(dsm_plen6_used(1ull << 63, 0, 0, 63));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perms_fallbacks),
		cmocka_unit_test(test_config_and_flags),
		cmocka_unit_test(test_exec_file_and_transitions),
		cmocka_unit_test(test_exec_service_manager),
		cmocka_unit_test(test_exec_system_labels),
		cmocka_unit_test(test_exec_named_manager),
		cmocka_unit_test(test_startup_label),
		cmocka_unit_test(test_unlabeled),
		cmocka_unit_test(test_unlabeled_masks),
		cmocka_unit_test(test_prefix6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
