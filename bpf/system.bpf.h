/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node as a whole. A confined process may be root, so every way root
 * could switch dsm off, read it out or reach another label through the
 * kernel is a permission of class system (in the example policy held by
 * dsmd's label, and some by the rest of the system):
 *
 *   bpf        the bpf() syscall (also opening dsm's pins by path or id)
 *   module     loading kernel code: modules, kexec, unsigned modules
 *   dsm_files  changing dsm's own files: pins, policy, keys, state,
 *              binaries, and creating entries in dsm's directories
 *   dsm_read   opening dsm's secrets: pins, policy, keys, state
 *   mount      every mount operation, and chroot
 *   kernel     kernel tunables and memory: writes to procfs files that
 *              are not a process's, sysfs, securityfs, debugfs, tracefs,
 *              configfs, binfmt_misc, efivarfs, pstore, fusectl; block
 *              devices; the lockdown reasons (/dev/mem, kcore, kprobes,
 *              perf, MSR, ioport ...); system-wide and kernel perf events
 *   cgroup     writes to cgroup file systems (v1 and v2), making,
 *              removing and renaming cgroups
 *
 * and a write to another process's /proc/PID file is `process ptrace`
 * from the writer's label to that process's.
 *
 * dsm's files are the inodes dsmd records in dsm_protected (dsmd/protect.c
 * keeps the set, by role). An inode's own record decides for it; an inode
 * without one takes the READ and WRITE flags of its directory's record, so
 * everything directly in a protected directory (every pin, the state
 * directory's files) is covered without a record of its own.
 *
 * Cost on the hot path (file_open, every open): two bit tests in an array
 * (may the inode, or its directory, have a record? dsm_protected_bits),
 * a hash lookup only where one says yes, then, for opens for write only,
 * a look at the superblock's magic number; the procfs owner is looked up
 * in inode storage only for write-opens of procfs files.
 */
#ifndef DSM_BPF_SYSTEM_BPF_H
#define DSM_BPF_SYSTEM_BPF_H

#include "policy.bpf.h"

#define FMODE_WRITE 0x2
#define PF_KTHREAD  0x00200000
#define S_IFMT      00170000
#define S_IFBLK     0060000

/* include/uapi/linux/magic.h (not in BTF: macros) */
#define PROC_SUPER_MAGIC     0x9fa0
#define SYSFS_MAGIC          0x62656572
#define SECURITYFS_MAGIC     0x73636673
#define DEBUGFS_MAGIC        0x64626720
#define TRACEFS_MAGIC        0x74726163
#define CONFIGFS_MAGIC       0x62656570 /* fs/configfs/mount.c */
#define BINFMTFS_MAGIC       0x42494e4d
#define EFIVARFS_MAGIC       0xde5e81e4
#define PSTOREFS_MAGIC       0x6165676C
#define FUSE_CTL_SUPER_MAGIC 0x65735543 /* fs/fuse/control.c */
#define CGROUP_SUPER_MAGIC   0x27e0eb
#define CGROUP2_SUPER_MAGIC  0x63677270

/* include/linux/perf_event.h */
#define PERF_SECURITY_OPEN 0

#define DSM_PROT_COVER (DSM_PROT_READ | DSM_PROT_WRITE) /* what entries inherit */
#define DSM_PROT_CHANGE (DSM_PROT_WRITE | DSM_PROT_WRITE_SELF)

/* Which inodes may have a record (dsm/abi.h): most opens end here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * DSM_PROT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_protected_bits SEC(".maps");

/* Names reserved in a directory whose record has DSM_PROT_NAMES. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct dsm_name_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_protected_names SEC(".maps");

/*
 * The process a /proc/PID inode belongs to, as the kernel last told us
 * (task_to_inode: when the inode is made and whenever its dentry is
 * revalidated, which every path lookup through it does). label 0: the
 * process had no context (the initial label).
 */
struct dsm_proc_owner {
	__u32 tgid;
	__u32 label;
};

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dsm_proc_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_proc_owners SEC(".maps");

static __always_inline int system_check(__u32 perm, __u32 aux)
{
	return check_self(DSM_CLASS_SYSTEM, perm, aux);
}

static __always_inline bool kthread(void)
{
	return bpf_get_current_task_btf()->flags & PF_KTHREAD;
}

/* ---- dsm's files ---------------------------------------------------------- */

/* May @inode have a record (@filter: DSM_PROT_FILTER_*)? An array lookup,
 * which the verifier inlines: a few instructions. */
static __always_inline bool maybe_protected(__u64 ino, __u32 dev, __u32 filter)
{
	__u32 bit = dsm_prot_bit(ino, dev);
	__u32 idx = filter * DSM_PROT_WORDS + (bit >> 6);
	__u64 *w = bpf_map_lookup_elem(&dsm_protected_bits, &idx);

	return !w || ((*w >> (bit & 63)) & 1);
}

/* The record of an inode: its DSM_PROT_* flags, 0 when it has none. */
static __always_inline __u32 record(struct inode *inode, __u32 filter)
{
	struct dsm_inode_key k = {
		.ino = inode->i_ino,
		.dev = inode->i_sb->s_dev,
	};
	__u32 *v;

	if (!maybe_protected(k.ino, k.dev, filter))
		return 0;
	v = bpf_map_lookup_elem(&dsm_protected, &k);
	return v ? *v : 0;
}

static __always_inline __u32 protection(struct inode *inode)
{
	return record(inode, DSM_PROT_FILTER_OWN);
}

/* What protects the inode of @d: its own record, else what its directory's
 * record gives the entries in it. */
static __always_inline __u32 entry_protection(struct dentry *d)
{
	struct inode *inode = d->d_inode;
	__u32 own;

	if (!inode)
		return 0;
	own = protection(inode);
	if (own)
		return own;
	return record(d->d_parent->d_inode, DSM_PROT_FILTER_COVER) & DSM_PROT_COVER;
}

/* Is @dentry's name one the directory @dir reserves? */
static __noinline bool name_reserved(struct inode *dir, struct dentry *dentry)
{
	struct dsm_name_key k = {};

	if (!dir || !dentry || dentry->d_name.len >= DSM_NAME_MAX)
		return false;
	k.dir.ino = dir->i_ino;
	k.dir.dev = dir->i_sb->s_dev;
	if (bpf_probe_read_kernel_str(k.name, sizeof(k.name), dentry->d_name.name) < 0)
		return true; /* cannot tell: as if reserved */
	return bpf_map_lookup_elem(&dsm_protected_names, &k) != NULL;
}

/* ---- kernel file systems ------------------------------------------------- */

/* The permission changing files of this file system needs: DSM_PERM_KERNEL,
 * DSM_PERM_CGROUP, or 0 (an ordinary file system, or procfs, which is
 * decided per file). */
static __always_inline __u32 fs_perm(struct super_block *sb)
{
	switch (sb->s_magic) {
	case SYSFS_MAGIC:
	case SECURITYFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case CONFIGFS_MAGIC:
	case BINFMTFS_MAGIC:
	case EFIVARFS_MAGIC:
	case PSTOREFS_MAGIC:
	case FUSE_CTL_SUPER_MAGIC:
		return DSM_PERM_KERNEL;
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
		return DSM_PERM_CGROUP;
	}
	return 0;
}

static __always_inline int fs_check(struct super_block *sb)
{
	__u32 perm = fs_perm(sb);

	return perm ? system_check(perm, (__u32)sb->s_magic) : 0;
}

/*
 * A directory entry is made, removed or renamed: in a directory that
 * covers its entries, of a protected inode, or of a reserved name, that
 * needs dsm_files; in a kernel file system (tracefs instances, configfs
 * items, cgroups) that file system's permission.
 */
static __always_inline int dir_entry_check(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = dentry->d_inode;
	__u32 dflags = protection(dir);

	if ((dflags & DSM_PROT_WRITE) || (inode && (protection(inode) & DSM_PROT_CHANGE)) ||
	    ((dflags & DSM_PROT_NAMES) && name_reserved(dir, dentry)))
		return system_check(DSM_PERM_DSM_FILES, 0);
	return fs_check(dir->i_sb);
}

/* ---- procfs -------------------------------------------------------------- */

SEC("lsm/task_to_inode")
int BPF_PROG(hook_task_to_inode, struct task_struct *p, struct inode *inode)
{
	struct dsm_task_ctx *c = task_ctx(p);
	struct dsm_proc_owner *o;
	__u32 label = c ? c->label : 0;

	o = bpf_inode_storage_get(&dsm_proc_owners, inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!o)
		return 0; /* an open for write then takes it for a kernel file */
	if (o->tgid != (__u32)p->tgid)
		o->tgid = p->tgid;
	if (o->label != label)
		o->label = label;
	return 0;
}

/*
 * An open for write of a procfs file. A process's own files (/proc/PID,
 * PID its own) are free; another process's are `process ptrace` on its
 * label; everything else in procfs (sysctls under /proc/sys, sysrq-trigger,
 * /proc/PID/net, ...) is `system kernel`. An inode without an owner
 * record is not a process's file (or its record could not be made).
 */
static __noinline int proc_write_check(struct inode *inode)
{
	struct dsm_proc_owner *o = bpf_inode_storage_get(&dsm_proc_owners, inode, 0, 0);
	dsm_pm_t pm;
	__u32 target;

	if (!o)
		return system_check(DSM_PERM_KERNEL, PROC_SUPER_MAGIC);
	if (o->tgid == (__u32)(bpf_get_current_pid_tgid() >> 32))
		return 0;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PROCESS, DSM_PERM_PTRACE, DSM_DENY);
	target = o->label ? o->label : dsm_initial_label(pm);
	return check(pm, DSM_CLASS_PROCESS, DSM_QUAL_ANY, current_label(pm), DSM_NODE_ANY, target,
		     DSM_PERM_PTRACE, o->tgid);
}

/* cgroup v1's release_agent names a program the kernel runs as root in the
 * initial label: a kernel tunable, like kernel.core_pattern. */
static __noinline bool is_release_agent(struct dentry *d)
{
	static const char want[16] = "release_agent";
	char name[16] = {};

	if (d->d_name.len != 13)
		return false;
	bpf_probe_read_kernel_str(name, sizeof(name), d->d_name.name);
	for (int i = 0; i < 14; i++)
		if (name[i] != want[i])
			return false;
	return true;
}

/* An open for write on a kernel file system. */
static __noinline int kernel_write_check(struct file *file)
{
	struct inode *inode = file->f_inode;
	struct super_block *sb = inode->i_sb;
	__u32 perm;
	int err;

	if (sb->s_magic == PROC_SUPER_MAGIC)
		return proc_write_check(inode);
	perm = fs_perm(sb);
	if (!perm)
		return 0;
	err = system_check(perm, (__u32)sb->s_magic);
	if (!err && sb->s_magic == CGROUP_SUPER_MAGIC && is_release_agent(file->f_path.dentry))
		err = system_check(DSM_PERM_KERNEL, CGROUP_SUPER_MAGIC);
	return err;
}

/* ---- hooks --------------------------------------------------------------- */

SEC("lsm/bpf")
int BPF_PROG(hook_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	return ret ?: system_check(DSM_PERM_BPF, cmd);
}

static __always_inline bool is_kernel_code(enum kernel_read_file_id id)
{
	return id == bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE) ||
	       id == bpf_core_enum_value(enum kernel_read_file_id, READING_KEXEC_IMAGE) ||
	       id == bpf_core_enum_value(enum kernel_read_file_id, READING_KEXEC_INITRAMFS) ||
	       id == bpf_core_enum_value(enum kernel_read_file_id, READING_POLICY);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(hook_kernel_read_file, struct file *file, enum kernel_read_file_id id, bool contents,
	     int ret)
{
	if (ret)
		return ret;
	return is_kernel_code(id) ? system_check(DSM_PERM_MODULE, id) : 0;
}

/* init_module(2) and kexec_load(2) hand the kernel a buffer, not a file. */
SEC("lsm/kernel_load_data")
int BPF_PROG(hook_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret)
		return ret;
	if (id == bpf_core_enum_value(enum kernel_load_data_id, LOADING_FIRMWARE))
		return 0;
	return system_check(DSM_PERM_MODULE, id);
}

/*
 * Every open. dsm's files: opening a READ-protected one (any mode) needs
 * dsm_read, opening a write-protected one for write dsm_files. A block
 * device (the raw bytes of every file on it) needs `system kernel` in any
 * mode. Opens for write on kernel file systems: see kernel_write_check().
 */
SEC("lsm/file_open")
int BPF_PROG(hook_file_open, struct file *file, int ret)
{
	struct inode *inode = file->f_inode;
	bool write = file->f_mode & FMODE_WRITE;
	__u32 prot;
	int err;

	if (ret)
		return ret;
	prot = entry_protection(file->f_path.dentry);
	if (prot) {
		if (prot & DSM_PROT_READ) {
			err = system_check(DSM_PERM_DSM_READ, write);
			if (err)
				return err;
		}
		if (write && (prot & DSM_PROT_CHANGE))
			return system_check(DSM_PERM_DSM_FILES, 0);
	}
	if ((inode->i_mode & S_IFMT) == S_IFBLK)
		return system_check(DSM_PERM_KERNEL, inode->i_rdev);
	return write ? kernel_write_check(file) : 0;
}

SEC("lsm/inode_create")
int BPF_PROG(hook_inode_create, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	return ret ?: dir_entry_check(dir, dentry);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(hook_inode_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	return ret ?: dir_entry_check(dir, dentry);
}

/* Also a unix socket bound to a path (a control socket made in dsm's state
 * directory while dsmd is down). */
SEC("lsm/inode_mknod")
int BPF_PROG(hook_inode_mknod, struct inode *dir, struct dentry *dentry, umode_t mode, dev_t dev,
	     int ret)
{
	return ret ?: dir_entry_check(dir, dentry);
}

SEC("lsm/inode_symlink")
int BPF_PROG(hook_inode_symlink, struct inode *dir, struct dentry *dentry, const char *old_name,
	     int ret)
{
	return ret ?: dir_entry_check(dir, dentry);
}

/* A new name for a protected inode, or for an entry a protected directory
 * covers, would be a name nothing protects: linking one needs dsm_files. */
SEC("lsm/inode_link")
int BPF_PROG(hook_inode_link, struct dentry *old_dentry, struct inode *dir,
	     struct dentry *new_dentry, int ret)
{
	if (ret)
		return ret;
	if (entry_protection(old_dentry))
		return system_check(DSM_PERM_DSM_FILES, 0);
	return dir_entry_check(dir, new_dentry);
}

SEC("lsm/inode_unlink")
int BPF_PROG(hook_inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	return ret ?: dir_entry_check(dir, dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(hook_inode_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	return ret ?: dir_entry_check(dir, dentry);
}

SEC("lsm/inode_rename")
int BPF_PROG(hook_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	return ret ?: dir_entry_check(old_dir, old_dentry) ?: dir_entry_check(new_dir, new_dentry);
}

/* Which hook signatures this kernel has (DSM_HOOK_*): dsmd sets it from
 * the kernel's BTF before load. */
const volatile __u32 dsm_hook_abi = 0;

static __always_inline int setattr_check(struct dentry *dentry, int ret)
{
	struct inode *inode;

	if (ret || !dentry)
		return ret;
	inode = dentry->d_inode;
	if (!inode)
		return 0;
	if (entry_protection(dentry) & DSM_PROT_CHANGE)
		return system_check(DSM_PERM_DSM_FILES, 0);
	return fs_check(inode->i_sb);
}

/* 6.1: inode_setattr(dentry, attr); from 6.9 on an idmap comes first. */
SEC("lsm/inode_setattr")
int hook_inode_setattr(unsigned long long *ctx)
{
	if (dsm_hook_abi & DSM_HOOK_SETATTR_IDMAP)
		return setattr_check((struct dentry *)ctx[1], (int)ctx[3]);
	return setattr_check((struct dentry *)ctx[0], (int)ctx[2]);
}

/* ---- mounts -------------------------------------------------------------- */
/*
 * Every mount operation is `system mount`: a new mount, bind, move,
 * remount and propagation change (mount(2): sb_mount), attaching a
 * detached tree or a new file system (move_mount(2), which open_tree(2)
 * and fsmount(2) need to place anything), a reconfiguration through
 * fspick(2) (sb_remount), every unmount and pivot_root(2). sb_kern_mount
 * is left alone: on 6.1 it runs inside mount(2) (already decided) and at
 * fsconfig(FSCONFIG_CMD_CREATE), which makes a superblock that reaches no
 * path until move_mount. Kernel threads (emergency remount) are not
 * mediated. mount_setattr(2) has no LSM hook on 6.1.
 */
static __always_inline int mount_check(__u32 aux)
{
	return kthread() ? 0 : system_check(DSM_PERM_MOUNT, aux);
}

SEC("lsm/sb_mount")
int BPF_PROG(hook_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	return ret ?: mount_check((__u32)flags);
}

SEC("lsm/move_mount")
int BPF_PROG(hook_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	return ret ?: mount_check(0);
}

SEC("lsm/sb_umount")
int BPF_PROG(hook_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	return ret ?: mount_check((__u32)flags);
}

SEC("lsm/sb_remount")
int BPF_PROG(hook_sb_remount, struct super_block *sb, void *mnt_opts, int ret)
{
	return ret ?: mount_check(0);
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(hook_sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	return ret ?: mount_check(0);
}

/*
 * chroot(2) changes what a program loads: a labeled executable opened
 * before (or reached) and run inside a root of the caller's making loads
 * the caller's libraries in the executable's label. It is `system mount`,
 * except a chroot to the caller's own root, which changes nothing.
 */
SEC("lsm/path_chroot")
int BPF_PROG(hook_path_chroot, const struct path *path, int ret)
{
	struct fs_struct *fs = bpf_get_current_task_btf()->fs;

	if (ret)
		return ret;
	if (fs && path->dentry == fs->root.dentry && path->mnt == fs->root.mnt)
		return 0;
	return mount_check(0);
}

/* ---- kernel memory ------------------------------------------------------- */

/*
 * The kernel's lockdown reasons, asked whatever the lockdown mode: each is
 * a way to read or change kernel memory or hardware (/dev/mem and
 * /dev/port, kcore, kprobes, bpf_probe_read_kernel at program load, perf
 * register samples, MSR and ioport access, PCI and ACPI, debugfs and
 * tracefs, IPsec keys in xfrm dumps ...): `system kernel`; an unsigned
 * module or a kexec image: `system module`. Not mediated: hibernation
 * (asked when anyone reads /sys/power/state; writing it is a sysfs
 * write), the kernel debugger's (asked in debugger context) and the
 * other architectures' reasons.
 */
static __always_inline __u32 lockdown_perm(enum lockdown_reason what)
{
	if (what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_MODULE_SIGNATURE) ||
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_KEXEC))
		return DSM_PERM_MODULE;
	if (what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_NONE) ||
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_HIBERNATION) ||
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_DBG_WRITE_KERNEL) ||
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_DBG_READ_KERNEL) ||
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_INTEGRITY_MAX) ||
	    what == bpf_core_enum_value(enum lockdown_reason, LOCKDOWN_CONFIDENTIALITY_MAX))
		return 0;
	return DSM_PERM_KERNEL;
}

SEC("lsm/locked_down")
int BPF_PROG(hook_locked_down, enum lockdown_reason what, int ret)
{
	__u32 perm;

	if (ret)
		return ret;
	perm = lockdown_perm(what);
	if (!perm || kthread())
		return 0;
	return system_check(perm, what);
}

/* perf events that see more than the caller's own processes in user mode:
 * system-wide (per CPU), kernel and tracepoint events. */
static __always_inline int perf_check(int type, int ret)
{
	if (ret || type == PERF_SECURITY_OPEN)
		return ret;
	return system_check(DSM_PERM_KERNEL, 0x100 | type);
}

/* 6.1: perf_event_open(attr, type); later kernels pass the type alone. */
SEC("lsm/perf_event_open")
int hook_perf_event_open(unsigned long long *ctx)
{
	if (dsm_hook_abi & DSM_HOOK_PERF_NO_ATTR)
		return perf_check((int)ctx[0], (int)ctx[1]);
	return perf_check((int)ctx[1], (int)ctx[2]);
}

#endif /* DSM_BPF_SYSTEM_BPF_H */
