// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The start-up feature probe (probe.h). Every message names the file it
 * read as the system has it (without the root of a faked tree), so that a
 * test's message is the one an operator sees.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probe.h"

#define BTF_PATH    "/sys/kernel/btf/vmlinux"
#define LSM_PATH    "/sys/kernel/security/lsm"
#define SECFS_DIR   "/sys/kernel/security"
#define MOUNTS_PATH "/proc/self/mounts"
#define LSM_LIST_MAX 1024

static bool real_root(const char *root)
{
	return !root || !*root || !strcmp(root, "/");
}

/* ROOT + path into buf; false if it does not fit. */
static bool under(char *buf, size_t len, const char *root, const char *path)
{
	int n = snprintf(buf, len, "%s%s", real_root(root) ? "" : root, path);

	return n > 0 && (size_t)n < len;
}

static bool result(struct dsm_probe_result *r, const char *check, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool result(struct dsm_probe_result *r, const char *check, bool ok, const char *fmt, ...)
{
	va_list ap;

	r->check = check;
	r->ok = ok;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return ok;
}

bool dsm_probe_btf(const char *root, struct dsm_probe_result *r)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (!under(path, sizeof(path), root, BTF_PATH))
		return result(r, "btf", false, "cannot check the kernel's BTF: root path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return result(r, "btf", false,
			      "the kernel has no BTF (" BTF_PATH " is missing): it was built "
			      "without CONFIG_DEBUG_INFO_BTF, which dsm's programs need; boot a "
			      "kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian 12's "
			      "linux-image-amd64 is)");
	if (fd < 0)
		return result(r, "btf", false,
			      "cannot read the kernel's BTF (" BTF_PATH "): %s; run as root, "
			      "with sysfs mounted on /sys", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		return result(r, "btf", false,
			      "the kernel's BTF (" BTF_PATH ") is empty or not a file; boot a "
			      "kernel built with CONFIG_DEBUG_INFO_BTF=y");
	}
	close(fd);
	return result(r, "btf", true, "the kernel has BTF (" BTF_PATH ", %lld bytes)",
		      (long long)st.st_size);
}

/* Is securityfs mounted on /sys/kernel/security, by ROOT/proc/self/mounts?
 * 1 yes, 0 no, -errno the table could not be read. */
static int securityfs_mounted(const char *root)
{
	char path[PATH_MAX], line[4096], dir[1024], type[256];
	int found = 0;
	FILE *f;

	if (!under(path, sizeof(path), root, MOUNTS_PATH))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %1023s %255s", dir, type) == 2 &&
		    !strcmp(dir, SECFS_DIR) && !strcmp(type, "securityfs"))
			found = 1;
	fclose(f);
	return found;
}

static bool lsm_missing(const char *root, struct dsm_probe_result *r)
{
	int m = securityfs_mounted(root);

	if (m == 0)
		return result(r, "lsm", false,
			      "securityfs is not mounted on " SECFS_DIR ", so the active LSM "
			      "list (" LSM_PATH ") cannot be read; mount it (mount -t securityfs "
			      "securityfs " SECFS_DIR ", which systemd does at boot) and start "
			      "again");
	if (m < 0)
		return result(r, "lsm", false,
			      "the active LSM list (" LSM_PATH ") is missing and " MOUNTS_PATH
			      " cannot be read (%s); mount proc on /proc and securityfs on "
			      SECFS_DIR, strerror(-m));
	return result(r, "lsm", false,
		      "the kernel has no active LSM list (" LSM_PATH " is missing although "
		      "securityfs is mounted): it is older than 4.15 and cannot run BPF LSM "
		      "programs; boot a kernel of 5.7 or later built with CONFIG_BPF_LSM=y");
}

/* Whether the comma-separated list has the entry name. */
static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, name, n))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

bool dsm_probe_lsm(const char *root, struct dsm_probe_result *r)
{
	char path[PATH_MAX], list[LSM_LIST_MAX + 1];
	ssize_t n;
	size_t len;
	int fd;

	if (!under(path, sizeof(path), root, LSM_PATH))
		return result(r, "lsm", false, "cannot check the LSM list: root path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return lsm_missing(root, r);
	n = fd < 0 ? -1 : read(fd, list, LSM_LIST_MAX);
	if (n < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return result(r, "lsm", false, "cannot read the active LSM list (" LSM_PATH "): %s%s",
			      strerror(e), e == EACCES || e == EPERM ? "; run as root" : "");
	}
	close(fd);
	len = (size_t)n;
	while (len && (list[len - 1] == '\n' || list[len - 1] == ' ' || list[len - 1] == '\0'))
		len--;
	list[len] = '\0';
	/* what is printed must not drive a terminal */
	for (size_t i = 0; i < len; i++)
		if (list[i] < 0x21 || list[i] > 0x7e || list[i] == '"')
			list[i] = '?';
	if (list_has(list, "bpf"))
		return result(r, "lsm", true, "bpf is in the active LSM list (" LSM_PATH "): \"%s\"",
			      list);
	return result(r, "lsm", false,
		      "the active LSM list (" LSM_PATH ") is \"%s\": bpf is not in it; boot "
		      "with lsm=%s%sbpf (GRUB: add it to GRUB_CMDLINE_LINUX in /etc/default/grub, "
		      "replacing any lsm= there, run update-grub, reboot)",
		      list, list, len ? "," : "");
}

bool dsm_probe_kernel_result(int ret, struct dsm_probe_result *r)
{
	if (ret == 1)
		return result(r, "kernel", true,
			      "the kernel loads BPF LSM programs (BPF_PROG_TYPE_LSM)");
	if (ret == 0)
		return result(r, "kernel", false,
			      "the kernel cannot load BPF LSM programs: it was built without "
			      "CONFIG_BPF_LSM; boot a kernel built with CONFIG_BPF_LSM=y (Debian "
			      "12's linux-image-amd64 is)");
	if (ret == -EPERM || ret == -EACCES)
		return result(r, "kernel", false,
			      "the kernel refused to load a BPF LSM program (%s); run as root, "
			      "with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (a container may "
			      "withhold them; where dsm already runs, in a label with system "
			      "bpf)", strerror(-ret));
	return result(r, "kernel", false,
		      "the kernel refused to load a minimal BPF LSM program: %s",
		      strerror(ret < 0 ? -ret : EIO));
}

/*
 * Ask the kernel by loading the smallest BPF LSM program there is (return
 * 0, on file_open) and closing it: it is never attached. The hook's BTF
 * function, bpf_lsm_file_open, exists only in a kernel built with
 * CONFIG_BPF_LSM. (libbpf_probe_bpf_prog_type() is not used: it
 * recognizes the answer by a verifier message that newer kernels word
 * differently, and takes a refusal for a "no".)
 */
static int load_lsm_prog(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct btf *btf = btf__load_vmlinux_btf();
	int id, fd, err;

	if (!btf)
		return errno ? -errno : -ENOENT;
	id = btf__find_by_name_kind(btf, "bpf_lsm_file_open", BTF_KIND_FUNC);
	btf__free(btf);
	if (id < 0)
		return 0;
	{
		LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_MAC,
			    .attach_btf_id = (__u32)id);

		fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "dsm_probe", "GPL", insns,
				   sizeof(insns) / sizeof(insns[0]), &opts);
	}
	if (fd < 0) {
		err = errno;
		return err ? -err : -EIO;
	}
	close(fd);
	return 1;
}

bool dsm_probe_kernel(struct dsm_probe_result *r)
{
	return dsm_probe_kernel_result(load_lsm_prog(), r);
}

size_t dsm_probe_all(const char *root, struct dsm_probe_result *r, size_t n, unsigned *failed)
{
	size_t k = 0;

	*failed = 0;
	if (k < n && !dsm_probe_btf(root, &r[k++]))
		(*failed)++;
	if (k < n && !dsm_probe_lsm(root, &r[k++]))
		(*failed)++;
	if (k < n && real_root(root) && !dsm_probe_kernel(&r[k++]))
		(*failed)++;
	return k;
}

bool dsm_probe_private(const char *check, const char *path, uid_t owner, bool absent_ok,
		       struct dsm_probe_result *r)
{
	struct stat st;
	mode_t perm;

	if (lstat(path, &st)) {
		if (errno == ENOENT && absent_ok)
			return result(r, check, true, "%s: absent", path);
		return result(r, check, false, "%s: %s", path, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return result(r, check, false,
			      "%s is a symbolic link: dsm refuses links to secrets; put the "
			      "file itself there", path);
	perm = st.st_mode & 07777;
	if (st.st_uid != owner)
		return result(r, check, false, "%s is owned by uid %u, not %u: chown %u %s", path,
			      (unsigned)st.st_uid, (unsigned)owner, (unsigned)owner, path);
	if (perm & 077)
		return result(r, check, false,
			      "%s has mode %04o: its group or others may use it; chmod %04o %s",
			      path, (unsigned)perm, (unsigned)(perm & 0700), path);
	return result(r, check, true, "%s: owner %u, mode %04o", path, (unsigned)owner,
		      (unsigned)perm);
}
