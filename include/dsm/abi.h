/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dsm kernel/user ABI: the one header shared by the BPF programs (bpf/),
 * the daemons and the library. Everything here is either a map key/value, a
 * ring-buffer record or a constant both sides must agree on. Layouts are
 * fixed-size, naturally aligned, padded explicitly and checked at compile
 * time; a layout change bumps DSM_ABI_VERSION.
 *
 * Labels (ScID) and node IDs (SnID) are 32-bit numbers named in the policy.
 * They are written explicitly in the policy source, never derived from load
 * order, so the same name means the same number on every node and across
 * policy versions (they travel on the wire).
 */
#ifndef DSM_ABI_H
#define DSM_ABI_H

#ifdef __bpf__
/* vmlinux.h provides __u8.. __u64 and struct bpf_spin_lock */
#else
#include <linux/bpf.h>
#include <linux/types.h>
#endif

#define DSM_ABI_VERSION 2

/* ---- identifiers -------------------------------------------------------- */

#define DSM_LABEL_INVALID 0u          /* never a valid label */
#define DSM_LABEL_ANY     0xffffffffu /* wildcard in rule keys only */
#define DSM_NODE_LOCAL    0u          /* "this node" in events */
#define DSM_NODE_ANY      0xffffffffu /* wildcard in rule keys only */
#define DSM_QUAL_ANY      0xffffu     /* wildcard socket family/type */

/* ---- classes and permissions -------------------------------------------- */

enum dsm_class {
	DSM_CLASS_PROCESS = 1, /* subject task -> target task label */
	DSM_CLASS_FILE    = 2, /* subject task -> executable's label */
	DSM_CLASS_SOCKET  = 3, /* subject task -> socket label */
	DSM_CLASS_PEER    = 4, /* peer label@node -> receiving socket label */
	DSM_CLASS_SYSTEM  = 5, /* subject task -> itself: self-protection */
	DSM_CLASS_MAX,
};

/* DSM_CLASS_PROCESS */
#define DSM_PERM_FORK       (1u << 0) /* subject on itself */
#define DSM_PERM_TRANSITION (1u << 1) /* old label -> new label on exec */
#define DSM_PERM_SIGNAL     (1u << 2)
#define DSM_PERM_PTRACE     (1u << 3)
/* DSM_CLASS_FILE */
#define DSM_PERM_EXEC       (1u << 0)
/* DSM_CLASS_SOCKET (qualified by family/type) */
#define DSM_PERM_CREATE     (1u << 0)
#define DSM_PERM_BIND       (1u << 1)
#define DSM_PERM_LISTEN     (1u << 2)
#define DSM_PERM_CONNECT    (1u << 3)
#define DSM_PERM_ACCEPT     (1u << 4)
#define DSM_PERM_SEND       (1u << 5)
#define DSM_PERM_RECV       (1u << 6)
/* DSM_CLASS_PEER */
#define DSM_PERM_PEER_RECV  (1u << 0)
/* DSM_CLASS_SYSTEM */
#define DSM_PERM_BPF        (1u << 0) /* bpf(), dsm's pins */
#define DSM_PERM_MODULE     (1u << 1) /* kernel modules, kexec, other kernel code */
#define DSM_PERM_DSM_FILES  (1u << 2) /* write dsm's own files */

/* ---- the policy map ----------------------------------------------------- */
/*
 * The whole policy lives in ONE hash map whose entries are tagged by kind.
 * dsmd builds a fresh map for every policy version and swaps it into slot 0
 * of an array-of-maps with a single update: a hook sees the old policy or
 * the new one, never a mix and never an empty map. Lookups are O(1) hash
 * lookups whatever the policy size.
 */
enum dsm_key_kind {
	DSM_KEY_RULE   = 1, /* class, qual, subject, node, target -> perms */
	DSM_KEY_FILE   = 2, /* (dev, ino) -> file label (aux) */
	DSM_KEY_TRANS  = 3, /* subject, file label -> new label (aux) */
	DSM_KEY_LABEL  = 4, /* label -> flags (DSM_LABEL_F_*) */
	DSM_KEY_CONFIG = 5, /* one entry per enum dsm_config_item */
	DSM_KEY_NET    = 6, /* unlabeled peers: prefix, ifindex -> label (aux) */
};

struct dsm_pkey {
	__u8  kind;    /* enum dsm_key_kind */
	__u8  class;   /* RULE: enum dsm_class; NET: prefix length */
	__u16 qual;    /* RULE/SOCKET: family << 8 | type, or DSM_QUAL_ANY */
	__u32 subject; /* RULE/TRANS: subject label; LABEL: the label; FILE: dev; NET: IPv4 prefix (network order) */
	__u32 node;    /* RULE: subject's node (CLASS_PEER) or DSM_NODE_ANY; NET: ifindex or 0 */
	__u32 target;  /* RULE: target label; TRANS: file label */
	__u64 object;  /* FILE: inode number */
};

#define DSM_LABEL_F_DEFINED    (1u << 0)
#define DSM_LABEL_F_PERMISSIVE (1u << 1)

struct dsm_pval {
	__u32 perms; /* RULE: allowed permission bits; LABEL: flags */
	__u32 aux;   /* FILE: file label; TRANS: new label; NET: label */
};

enum dsm_mode {
	DSM_MODE_ENFORCING  = 0,
	DSM_MODE_PERMISSIVE = 1,
};

/*
 * DSM_KEY_CONFIG entries: class = enum dsm_config_item, value in aux (and
 * perms for the high half of 64-bit items). They switch atomically with the
 * rules; hooks read them only on slow paths (a denial, a new task).
 */
enum dsm_config_item {
	DSM_CFG_MODE           = 1, /* aux: enum dsm_mode */
	DSM_CFG_INITIAL_LABEL  = 2, /* aux: label of tasks no rule names */
	DSM_CFG_POLICY_VERSION = 3, /* aux: low 32 bits, perms: high 32 bits */
	DSM_CFG_NODE_ID        = 4, /* aux: this node's SnID */
	DSM_CFG_FILE_LABEL     = 5, /* aux: label of executables no rule names
				     * (absent: the initial label) */
	DSM_CFG_NET_PLENS      = 6, /* the prefix lengths unlabeled rules use,
				     * written by dsmd after node-local
				     * resolution; qual 0: rules for any
				     * interface, qual 1: rules naming one.
				     * Bit n of perms: length n (0..31);
				     * bit 0 of aux: length 32. Absent: none. */
};

/* ---- per-object storage ------------------------------------------------- */

struct dsm_task_ctx {
	__u32 label;
	__u32 flags;      /* DSM_TASK_F_* */
	__u32 exec_label; /* decided at bprm_check, applied at commit */
	__u32 req_label;  /* requested by dsmd for the next exec (dsmctl exec) */
};

#define DSM_TASK_F_EXEC_PENDING (1u << 0)
#define DSM_TASK_F_REQUESTED    (1u << 1)

struct dsm_sock_ctx {
	__u32 label;      /* creator's label (listener's for accepted sockets) */
	__u32 peer_label; /* bound at handshake for TCP, last sender for UDP */
	__u32 peer_node;
	__u32 flags;      /* DSM_SOCK_F_* */
	/*
	 * Decision caches, valid for one policy generation (dsm_policy_gen;
	 * 0 is never valid). They only ever hold what the policy allowed:
	 * a denial always takes the full path, which reports it.
	 *
	 * op_cache: generation << 32 | the socket permissions the socket's
	 * own label has on it (the task using a socket usually carries the
	 * label that created it). One 64-bit word: read and written whole.
	 * It serves the process that created the socket without a look at
	 * the task's label: the owner fields name that process, and exec
	 * (the one way a process's label changes in the kernel) changes its
	 * exec count. Written once, at creation; never a kernel address.
	 */
	__u64 op_cache;
	__u64 owner_start; /* the creating process: start time (ns), */
	__u64 owner_exec;  /* its exec count (self_exec_id), */
	__u32 owner_tgid;  /* and its id; 0 for none */
	__u32 owner_pad;
	/* Guards the receive caches below (several CPUs may deliver to one
	 * UDP socket at once). */
	struct bpf_spin_lock lock;
	__u32 rcv_gen;    /* the last sender allowed to reach the socket */
	__u32 rcv_label;
	__u32 rcv_node;
	__u32 un_gen;     /* the last unlabeled source and the label the */
	__be32 un_saddr;  /* unlabeled rules gave it */
	__u32 un_ifindex;
	__u32 un_label;
};

/* TCP: the peer was checked at the handshake; later segments need no label. */
#define DSM_SOCK_F_PEER_BOUND (1u << 0)

/* ---- events (ring buffer) ----------------------------------------------- */

enum dsm_verdict {
	DSM_VERDICT_DENY       = 1,
	DSM_VERDICT_PERMISSIVE = 2, /* would have been denied; allowed */
};

#define DSM_COMM_LEN 16

struct dsm_event {
	__u16 version;       /* DSM_ABI_VERSION */
	__u16 class;         /* enum dsm_class */
	__u32 perm;          /* one DSM_PERM_* bit */
	__u64 time_ns;       /* CLOCK_BOOTTIME */
	__u32 pid;           /* tgid */
	__u32 tid;
	__u32 subject;       /* label */
	__u32 subject_node;  /* DSM_NODE_LOCAL unless CLASS_PEER */
	__u32 target;        /* label */
	__u32 verdict;       /* enum dsm_verdict */
	__s32 err;           /* errno returned to the caller, 0 if allowed */
	__u32 aux;           /* class-specific: socket family<<8|type, signal number ... */
	char  comm[DSM_COMM_LEN];
};

/* ---- protected files (self-protection) --------------------------------- */

/* A protected file, or with ino 0 a whole file system (unmount). */
struct dsm_inode_key {
	__u64 ino;
	__u32 dev; /* kernel encoding: major << 20 | minor */
	__u32 pad; /* zero */
};

/* ---- per-CPU counters (array map, one slot each) ------------------------ */

enum dsm_counter {
	DSM_CNT_DENIED = 0,
	DSM_CNT_PERMISSIVE,
	DSM_CNT_EVENTS_DROPPED, /* ring buffer full */
	DSM_CNT_ERRORS,         /* internal error path taken (fail closed) */
	DSM_CNT_MAX,
};

/* ---- layout checks ------------------------------------------------------ */

#define DSM_ASSERT(c, m) _Static_assert(c, m)
DSM_ASSERT(sizeof(struct dsm_inode_key) == 16, "dsm_inode_key: 16 bytes");
DSM_ASSERT(sizeof(struct dsm_pkey) == 24, "dsm_pkey is a map key: 24 bytes");
DSM_ASSERT(sizeof(struct dsm_pval) == 8, "dsm_pval is a map value: 8 bytes");
DSM_ASSERT(sizeof(struct dsm_task_ctx) == 16, "dsm_task_ctx: 16 bytes");
DSM_ASSERT(sizeof(struct dsm_sock_ctx) == 80, "dsm_sock_ctx: 80 bytes");
DSM_ASSERT(__builtin_offsetof(struct dsm_sock_ctx, op_cache) % 8 == 0, "op_cache: one aligned word");
DSM_ASSERT(sizeof(struct dsm_event) == 64, "dsm_event: 64 bytes");

/* ---- key constructors (both sides build keys the same way) -------------- */

static inline struct dsm_pkey dsm_key_rule(__u8 class, __u16 qual, __u32 subject,
					   __u32 node, __u32 target)
{
	struct dsm_pkey k = { .kind = DSM_KEY_RULE, .class = class, .qual = qual,
			      .subject = subject, .node = node, .target = target };
	return k;
}

static inline struct dsm_pkey dsm_key_file(__u32 dev, __u64 ino)
{
	struct dsm_pkey k = { .kind = DSM_KEY_FILE, .subject = dev, .object = ino };
	return k;
}

static inline struct dsm_pkey dsm_key_trans(__u32 subject, __u32 file_label)
{
	struct dsm_pkey k = { .kind = DSM_KEY_TRANS, .subject = subject, .target = file_label };
	return k;
}

static inline struct dsm_pkey dsm_key_label(__u32 label)
{
	struct dsm_pkey k = { .kind = DSM_KEY_LABEL, .subject = label };
	return k;
}

static inline struct dsm_pkey dsm_key_net(__u32 prefix_be, __u8 plen, __u32 ifindex)
{
	struct dsm_pkey k = { .kind = DSM_KEY_NET, .class = plen, .subject = prefix_be,
			      .node = ifindex };
	return k;
}

static inline struct dsm_pkey dsm_key_config(__u8 item)
{
	struct dsm_pkey k = { .kind = DSM_KEY_CONFIG, .class = item };
	return k;
}

static inline __u16 dsm_qual(__u16 family, __u16 type)
{
	return (__u16)((family & 0xff) << 8 | (type & 0xff));
}

#endif /* DSM_ABI_H */
