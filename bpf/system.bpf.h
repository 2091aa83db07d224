/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Self-protection: a confined process may be root, so the ways root could
 * switch dsm off are permissions of class system, held in the example
 * policy by dsmd's label only: the bpf() syscall (which also covers
 * opening dsm's pinned maps and links), loading kernel code (modules,
 * kexec), and changing dsm's own files (pins, policy, binaries), including
 * unmounting the bpffs that holds the pins.
 */
#ifndef DSM_BPF_SYSTEM_BPF_H
#define DSM_BPF_SYSTEM_BPF_H

#include "policy.bpf.h"

#define FMODE_WRITE 0x2

static __always_inline int system_check(__u32 perm, __u32 aux)
{
	return check_self(DSM_CLASS_SYSTEM, perm, aux);
}

/* DSM_PROT_* flags of an inode, 0 when dsm does not protect it. */
static __always_inline __u32 protection(struct inode *inode)
{
	struct dsm_inode_key k = {
		.ino = inode->i_ino,
		.dev = inode->i_sb->s_dev,
	};
	__u32 *v = bpf_map_lookup_elem(&dsm_protected, &k);

	return v ? *v : 0;
}

static __always_inline bool is_protected(struct inode *inode)
{
	return protection(inode) & DSM_PROT_WRITE;
}

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

SEC("lsm/file_open")
int BPF_PROG(hook_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	if (!(file->f_mode & FMODE_WRITE) || !is_protected(file->f_inode))
		return 0;
	return system_check(DSM_PERM_DSM_FILES, 0);
}

static __always_inline int dir_entry_check(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = dentry->d_inode;

	if (is_protected(dir) || (inode && is_protected(inode)))
		return system_check(DSM_PERM_DSM_FILES, 0);
	return 0;
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

SEC("lsm/inode_setattr")
int BPF_PROG(hook_inode_setattr, struct dentry *dentry, struct iattr *attr, int ret)
{
	struct inode *inode = dentry->d_inode;

	if (ret)
		return ret;
	return inode && is_protected(inode) ? system_check(DSM_PERM_DSM_FILES, 0) : 0;
}

/* Unmounting the bpffs that holds the pins would drop them. A protected
 * file system is recorded as its device with inode number 0. */
SEC("lsm/sb_umount")
int BPF_PROG(hook_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct dsm_inode_key k = { .dev = mnt->mnt_sb->s_dev };

	if (ret)
		return ret;
	if (!bpf_map_lookup_elem(&dsm_protected, &k))
		return 0;
	return system_check(DSM_PERM_DSM_FILES, 0);
}

#endif /* DSM_BPF_SYSTEM_BPF_H */
