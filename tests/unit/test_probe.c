// SPDX-License-Identifier: GPL-2.0
/*
 * The start-up feature probe (lib/probe.h) against faked roots: every
 * message it can give, word for word, since the message is what an
 * operator acts on; and the private-file check of `dsmctl doctor`.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe.h"

struct fixture {
	char root[PATH_MAX];
};

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/dsm-probe-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

/* ROOT/rel with content (directories made as needed). */
static void put(const struct fixture *f, const char *rel, const char *content, mode_t mode)
{
	char path[PATH_MAX * 2];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	for (char *s = path + strlen(f->root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

#define SECFS_MOUNTED "sysfs /sys sysfs rw 0 0\nsecurityfs /sys/kernel/security securityfs rw 0 0\n"

static void test_btf(void **state)
{
	struct fixture *f = *state;
	struct dsm_probe_result r;

	assert_false(dsm_probe_btf(f->root, &r));
	assert_false(r.ok);
	assert_string_equal(r.check, "btf");
	assert_string_equal(r.msg,
		"the kernel has no BTF (/sys/kernel/btf/vmlinux is missing): it was built without "
		"CONFIG_DEBUG_INFO_BTF, which dsm's programs need; boot a kernel built with "
		"CONFIG_DEBUG_INFO_BTF=y (Debian 12's linux-image-amd64 is)");

	put(f, "sys/kernel/btf/vmlinux", "", 0444);
	assert_false(dsm_probe_btf(f->root, &r));
	assert_string_equal(r.msg,
		"the kernel's BTF (/sys/kernel/btf/vmlinux) is empty or not a file; boot a kernel "
		"built with CONFIG_DEBUG_INFO_BTF=y");

	put(f, "sys/kernel/btf/vmlinux", "\x9f\xeb\x01", 0444);
	assert_true(dsm_probe_btf(f->root, &r));
	assert_true(r.ok);
	assert_string_equal(r.msg, "the kernel has BTF (/sys/kernel/btf/vmlinux, 3 bytes)");
}

static void test_lsm_without_bpf(void **state)
{
	struct fixture *f = *state;
	struct dsm_probe_result r;

	/* as the kernel writes it: no newline */
	put(f, "sys/kernel/security/lsm", "lockdown,capability,apparmor", 0444);
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.check, "lsm");
	assert_string_equal(r.msg,
		"the active LSM list (/sys/kernel/security/lsm) is \"lockdown,capability,apparmor\": "
		"bpf is not in it; boot with lsm=lockdown,capability,apparmor,bpf (GRUB: add it to "
		"GRUB_CMDLINE_LINUX in /etc/default/grub, replacing any lsm= there, run update-grub, "
		"reboot)");

	/* a name that only contains "bpf" is not bpf */
	put(f, "sys/kernel/security/lsm", "capability,bpfx,xbpf\n", 0444);
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.msg,
		"the active LSM list (/sys/kernel/security/lsm) is \"capability,bpfx,xbpf\": "
		"bpf is not in it; boot with lsm=capability,bpfx,xbpf,bpf (GRUB: add it to "
		"GRUB_CMDLINE_LINUX in /etc/default/grub, replacing any lsm= there, run update-grub, "
		"reboot)");

	put(f, "sys/kernel/security/lsm", "", 0444);
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.msg,
		"the active LSM list (/sys/kernel/security/lsm) is \"\": bpf is not in it; boot "
		"with lsm=bpf (GRUB: add it to GRUB_CMDLINE_LINUX in /etc/default/grub, replacing "
		"any lsm= there, run update-grub, reboot)");

	/* what is printed cannot drive a terminal */
	put(f, "sys/kernel/security/lsm", "capability,\033[2J\"x", 0444);
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_non_null(strstr(r.msg, "is \"capability,?[2J?x\": bpf is not in it"));
}

static void test_lsm_with_bpf(void **state)
{
	struct fixture *f = *state;
	struct dsm_probe_result r;

	put(f, "sys/kernel/security/lsm", "lockdown,capability,landlock,yama,apparmor,bpf", 0444);
	assert_true(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.msg, "bpf is in the active LSM list (/sys/kernel/security/lsm): "
			    "\"lockdown,capability,landlock,yama,apparmor,bpf\"");
	put(f, "sys/kernel/security/lsm", "bpf,capability\n", 0444);
	assert_true(dsm_probe_lsm(f->root, &r));
}

static void test_securityfs(void **state)
{
	struct fixture *f = *state;
	struct dsm_probe_result r;

	/* no lsm file, no mount table */
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.msg,
		"the active LSM list (/sys/kernel/security/lsm) is missing and /proc/self/mounts "
		"cannot be read (No such file or directory); mount proc on /proc and securityfs "
		"on /sys/kernel/security");

	/* securityfs not mounted */
	put(f, "proc/self/mounts", "sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\n"
	    "securityfs /mnt/elsewhere securityfs rw 0 0\n", 0444);
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.msg,
		"securityfs is not mounted on /sys/kernel/security, so the active LSM list "
		"(/sys/kernel/security/lsm) cannot be read; mount it (mount -t securityfs "
		"securityfs /sys/kernel/security, which systemd does at boot) and start again");

	/* mounted, but the kernel has no list */
	put(f, "proc/self/mounts", SECFS_MOUNTED, 0444);
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.msg,
		"the kernel has no active LSM list (/sys/kernel/security/lsm is missing although "
		"securityfs is mounted): it is older than 4.15 and cannot run BPF LSM programs; "
		"boot a kernel of 5.7 or later built with CONFIG_BPF_LSM=y");
}

static void test_unreadable(void **state)
{
	struct fixture *f = *state;
	struct dsm_probe_result r;

	if (geteuid() == 0) {
		/* root reads a 0000 file; a directory in its place fails the read */
		char p[PATH_MAX * 2];

		put(f, "sys/kernel/security/x", "", 0444);
		snprintf(p, sizeof(p), "%s/sys/kernel/security/lsm", f->root);
		assert_int_equal(mkdir(p, 0755), 0);
		assert_false(dsm_probe_lsm(f->root, &r));
		assert_string_equal(r.msg, "cannot read the active LSM list "
				    "(/sys/kernel/security/lsm): Is a directory");
		return;
	}
	put(f, "sys/kernel/security/lsm", "bpf", 0000);
	assert_false(dsm_probe_lsm(f->root, &r));
	assert_string_equal(r.msg, "cannot read the active LSM list (/sys/kernel/security/lsm): "
			    "Permission denied; run as root");
}

static void test_kernel_result(void **state)
{
	struct dsm_probe_result r;

	(void)state;
	assert_true(dsm_probe_kernel_result(1, &r));
	assert_string_equal(r.check, "kernel");
	assert_string_equal(r.msg, "the kernel loads BPF LSM programs (BPF_PROG_TYPE_LSM)");
	assert_false(dsm_probe_kernel_result(0, &r));
	assert_string_equal(r.msg,
		"the kernel cannot load BPF LSM programs: it was built without CONFIG_BPF_LSM; "
		"boot a kernel built with CONFIG_BPF_LSM=y (Debian 12's linux-image-amd64 is)");
	assert_false(dsm_probe_kernel_result(-EPERM, &r));
	assert_string_equal(r.msg,
		"the kernel refused to load a BPF LSM program (Operation not permitted); run as "
		"root, with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (a container may withhold them; "
		"where dsm already runs, in a label with system bpf)");
	assert_false(dsm_probe_kernel_result(-EINVAL, &r));
	assert_string_equal(r.msg, "the kernel refused to load a minimal BPF LSM program: "
			    "Invalid argument");
}

/* All checks on a faked root: no kernel check, failures counted. */
static void test_all(void **state)
{
	struct fixture *f = *state;
	struct dsm_probe_result r[4];
	unsigned failed = 99;

	assert_int_equal(dsm_probe_all(f->root, r, 4, &failed), 2);
	assert_int_equal(failed, 2);
	assert_string_equal(r[0].check, "btf");
	assert_string_equal(r[1].check, "lsm");

	put(f, "sys/kernel/btf/vmlinux", "x", 0444);
	put(f, "sys/kernel/security/lsm", "capability,bpf", 0444);
	assert_int_equal(dsm_probe_all(f->root, r, 4, &failed), 2);
	assert_int_equal(failed, 0);
	assert_true(r[0].ok && r[1].ok);

	put(f, "sys/kernel/security/lsm", "capability", 0444);
	assert_int_equal(dsm_probe_all(f->root, r, 1, &failed), 1);
	assert_int_equal(failed, 0);
	assert_int_equal(dsm_probe_all(f->root, r, 4, &failed), 2);
	assert_int_equal(failed, 1);
	assert_false(r[1].ok);
}

static void test_private(void **state)
{
	struct fixture *f = *state;
	struct dsm_probe_result r;
	char path[PATH_MAX * 2], link[PATH_MAX * 2], want[PATH_MAX * 8];
	uid_t me = geteuid();

	snprintf(path, sizeof(path), "%s/keys", f->root);
	assert_true(dsm_probe_private("keys", path, me, true, &r));
	snprintf(want, sizeof(want), "%s: absent", path);
	assert_string_equal(r.msg, want);
	assert_false(dsm_probe_private("keys", path, me, false, &r));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(r.msg, want);

	put(f, "keys", "k", 0644);
	assert_false(dsm_probe_private("keys", path, me, true, &r));
	snprintf(want, sizeof(want), "%s has mode 0644: its group or others may use it; "
		 "chmod 0600 %s", path, path);
	assert_string_equal(r.msg, want);

	assert_int_equal(chmod(path, 0600), 0);
	assert_true(dsm_probe_private("keys", path, me, true, &r));
	assert_string_equal(r.check, "keys");
	snprintf(want, sizeof(want), "%s: owner %u, mode 0600", path, (unsigned)me);
	assert_string_equal(r.msg, want);

	assert_false(dsm_probe_private("keys", path, me + 1, true, &r));
	snprintf(want, sizeof(want), "%s is owned by uid %u, not %u: chown %u %s", path,
		 (unsigned)me, (unsigned)me + 1, (unsigned)me + 1, path);
	assert_string_equal(r.msg, want);

	snprintf(link, sizeof(link), "%s/link", f->root);
	assert_int_equal(symlink(path, link), 0);
	assert_false(dsm_probe_private("keys", link, me, true, &r));
	snprintf(want, sizeof(want), "%s is a symbolic link: dsm refuses links to secrets; "
		 "put the file itself there", link);
	assert_string_equal(r.msg, want);

	/* a directory: 0755 asks for 0700 */
	assert_int_equal(chmod(f->root, 0755), 0);
	assert_false(dsm_probe_private("config", f->root, me, false, &r));
	snprintf(want, sizeof(want), "%s has mode 0755: its group or others may use it; "
		 "chmod 0700 %s", f->root, f->root);
	assert_string_equal(r.msg, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_btf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lsm_without_bpf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lsm_with_bpf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_securityfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test(test_kernel_result),
		cmocka_unit_test_setup_teardown(test_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
