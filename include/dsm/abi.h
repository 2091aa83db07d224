/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dsm kernel/user ABI: the one header shared by the BPF programs (bpf/),
 * the daemons and the library. Everything here is either a map key/value, a
 * ring-buffer record or a constant both sides must agree on. Layouts are
 * fixed-size, naturally aligned, padded explicitly and checked at compile
 * time; a layout change bumps DSM_ABI_VERSION, which dsmd compares with the
 * pinned objects' (map dsm_abi) before it takes them over.
 *
 * Labels (ScID) and node IDs (SnID) are 32-bit numbers named in the policy.
 * They are written explicitly in the policy source, never derived from load
 * order, so the same name means the same number on every node and across
 * policy versions (they travel on the wire).
 */
#ifndef DSM_ABI_H
#define DSM_ABI_H

#ifdef __bpf__
#include "vmlinux.h" /* __u8.. __u64, __be32, struct bpf_spin_lock */
#else
#include <linux/bpf.h>
#include <linux/types.h>
#endif

#define DSM_ABI_VERSION 4

/* ---- kernel hook signatures ---------------------------------------------- */

/* LSM hooks whose arguments changed after Linux 6.1. dsmd reads the
 * running kernel's signatures from its BTF and sets these bits in the LSM
 * object's dsm_hook_abi before load; each program then reads its
 * arguments where that kernel passes them (the verifier sees only the
 * branch the bits select). */
#define DSM_HOOK_SETATTR_IDMAP (1u << 0) /* inode_setattr(idmap, dentry, attr) */
#define DSM_HOOK_PERF_NO_ATTR  (1u << 1) /* perf_event_open(type), no attr */

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
	DSM_CLASS_SYSTEM  = 5, /* subject task -> itself: the node as a whole */
	DSM_CLASS_DSM     = 6, /* subject task -> dsmd's label: dsmd's control socket */
	DSM_CLASS_MAX,
};

/* DSM_CLASS_PROCESS */
#define DSM_PERM_FORK       (1u << 0) /* subject on itself */
#define DSM_PERM_TRANSITION (1u << 1) /* old label -> new label on exec */
#define DSM_PERM_SIGNAL     (1u << 2) /* every path that signals, stops, or
				       * changes the scheduling of a task */
#define DSM_PERM_PTRACE     (1u << 3) /* attach; writes to another task's /proc */
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
/* DSM_CLASS_SYSTEM: the ways root could switch dsm off, read it out, or
 * reach another label through the node as a whole */
#define DSM_PERM_BPF        (1u << 0) /* bpf(): programs, maps, dsm's pins */
#define DSM_PERM_MODULE     (1u << 1) /* kernel modules, kexec, other kernel code */
#define DSM_PERM_DSM_FILES  (1u << 2) /* change dsm's own files */
#define DSM_PERM_DSM_READ   (1u << 3) /* read dsm's secrets: keys, policy, pins, state */
#define DSM_PERM_MOUNT      (1u << 4) /* every mount operation */
#define DSM_PERM_KERNEL     (1u << 5) /* kernel tunables and memory: procfs and
				       * sysfs writes, lockdown reasons */
#define DSM_PERM_CGROUP     (1u << 6) /* writes to cgroup file systems */
#define DSM_PERM_NET        (1u << 7) /* traffic control, packet filtering, network
				       * interfaces, and sending past tc egress */
/* DSM_CLASS_DSM: requests on dsmd's control socket */
#define DSM_PERM_QUERY      (1u << 0) /* status, ps, alarms */
#define DSM_PERM_PEERLABEL  (1u << 1) /* the peer of one's own socket */
#define DSM_PERM_ADMIN      (1u << 2) /* reload, exec-label, unload */

/* ---- the policy map ----------------------------------------------------- */
/*
 * The whole policy lives in ONE hash map whose entries are tagged by kind.
 * dsmd builds a fresh map for every policy version and swaps it into slot 0
 * of an array-of-maps with a single update: a hook sees the old policy or
 * the new one, never a mix and never an empty map. Lookups are O(1) hash
 * lookups whatever the policy size.
 *
 * A key is a kind and one named variant per kind; every byte a variant
 * does not name is zero (the kernel compares keys bytewise). Build keys
 * with the dsm_key_*() constructors below, on both sides.
 */
enum dsm_key_kind {
	DSM_KEY_RULE   = 1, /* class, qual, subject, node, target -> perms */
	DSM_KEY_FILE   = 2, /* (dev, ino) -> file label (aux) */
	DSM_KEY_TRANS  = 3, /* subject, file label -> new label (aux) */
	DSM_KEY_LABEL  = 4, /* label -> flags (DSM_LABEL_F_*) */
	DSM_KEY_CONFIG = 5, /* one entry per (enum dsm_config_item, index) */
	DSM_KEY_NET    = 6, /* unlabeled IPv4 peers: prefix, interface -> label (aux) */
	DSM_KEY_NET6   = 7, /* unlabeled IPv6 peers: prefix, interface -> label (aux) */
};

struct dsm_key_rule {
	__u8  class;   /* enum dsm_class */
	__u8  pad;
	__u16 qual;    /* class socket: dsm_qual(family, type) or DSM_QUAL_ANY; else DSM_QUAL_ANY */
	__u32 subject; /* subject label */
	__u32 node;    /* class peer: the subject's node or DSM_NODE_ANY; else DSM_NODE_ANY */
	__u32 target;  /* target label */
	__u32 zero[3];
};

struct dsm_key_file {
	__u32 dev;    /* kernel encoding: major << 20 | minor */
	__u32 ino_lo; /* inode number, low and high halves (the key */
	__u32 ino_hi; /* stays 4-byte aligned): dsm_key_file_ino() */
	__u32 zero[4];
};

struct dsm_key_trans {
	__u32 subject;
	__u32 file_label;
	__u32 zero[5];
};

struct dsm_key_label {
	__u32 label;
	__u32 zero[6];
};

struct dsm_key_config {
	__u8  item;  /* enum dsm_config_item */
	__u8  pad;
	__u16 index; /* items of several words: which word */
	__u32 zero[6];
};

/* Interface rules name an interface of one network namespace: (ifindex,
 * netns), netns being the namespace's inode number (ns.inum); both 0 for
 * a rule that applies on every interface. */
struct dsm_key_net {
	__u8   plen;    /* 0..32 */
	__u8   pad[3];
	__be32 prefix;  /* network byte order, host bits zero */
	__u32  ifindex;
	__u32  netns;
	__u32  zero[3];
};

struct dsm_key_net6 {
	__u8   plen;      /* 0..128 */
	__u8   pad[3];
	__be32 prefix[4]; /* network byte order, host bits zero */
	__u32  ifindex;
	__u32  netns;
};

struct dsm_pkey {
	__u8 kind;   /* enum dsm_key_kind */
	__u8 pad[3];
	union {
		struct dsm_key_rule   rule;
		struct dsm_key_file   file;
		struct dsm_key_trans  trans;
		struct dsm_key_label  label;
		struct dsm_key_config config;
		struct dsm_key_net    net;
		struct dsm_key_net6   net6;
		__u32                 raw[7];
	};
};

#define DSM_LABEL_F_DEFINED    (1u << 0)
#define DSM_LABEL_F_PERMISSIVE (1u << 1)
#define DSM_LABEL_F_SYSTEM     (1u << 2) /* holds some system permission: entered
					  * by exec only from the service manager */

struct dsm_pval {
	__u32 perms; /* RULE: allowed permission bits; LABEL: flags; CONFIG: see item */
	__u32 aux;   /* FILE: file label; TRANS: new label; NET, NET6: label; CONFIG: see item */
};

enum dsm_mode {
	DSM_MODE_ENFORCING  = 0,
	DSM_MODE_PERMISSIVE = 1,
};

/*
 * DSM_KEY_CONFIG entries: the value in aux (and perms for the high half of
 * 64-bit items). They switch atomically with the rules; hooks read them only
 * on slow paths (a denial, a new task, an unlabeled peer).
 */
enum dsm_config_item {
	DSM_CFG_MODE            = 1, /* aux: enum dsm_mode */
	DSM_CFG_INITIAL_LABEL   = 2, /* aux: label of tasks no rule names */
	DSM_CFG_POLICY_VERSION  = 3, /* aux: low 32 bits, perms: high 32 bits */
	DSM_CFG_NODE_ID         = 4, /* aux: this node's SnID (written by dsmd) */
	DSM_CFG_FILE_LABEL      = 5, /* aux: label of executables no rule names
				      * (absent: the initial label) */
	DSM_CFG_NET_PLENS       = 6, /* the prefix lengths unlabeled rules use,
				      * written by dsmd after node-local
				      * resolution, as bit masks (bit n: length
				      * n), perms the low and aux the high word:
				      * index 0 IPv4 rules for any interface,
				      * 1 IPv4 rules naming one (bits 0..32);
				      * 2..4 IPv6 for any interface, 5..7 IPv6
				      * naming one (bits 0..63, 64..127, 128).
				      * Absent: none. */
	DSM_CFG_SERVICE_MANAGER = 7, /* aux: the service manager's label (the
				      * policy's, else PID 1's, written by dsmd) */
	DSM_CFG_DSMD_LABEL      = 8, /* aux: the label dsmd runs in (written by dsmd) */
};

#define DSM_PLENS_V4_ANY 0
#define DSM_PLENS_V4_DEV 1
#define DSM_PLENS_V6_ANY 2 /* .. 4 */
#define DSM_PLENS_V6_DEV 5 /* .. 7 */

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
	/* UDP: datagrams whose header the egress had to grow; at
	 * DSM_PLACEHOLDER_AFTER it asks dsmd for a placeholder (dsm/wire.h,
	 * DSM_SOCK_F_PLACEHOLDER). */
	__u32 grown;
	/* Guards the receive caches below (several CPUs may deliver to one
	 * UDP socket at once). */
	struct bpf_spin_lock lock;
	__u32 rcv_gen;    /* the last sender allowed to reach the socket */
	__u32 rcv_label;
	__u32 rcv_node;
	__u32 un_gen;     /* the last unlabeled IPv4 source and the label */
	__be32 un_saddr;  /* the unlabeled rules gave it */
	__u32 un_ifindex;
	__u32 un_label;
};

/* TCP: the peer was checked at the handshake; later segments need no label. */
#define DSM_SOCK_F_PEER_BOUND   (1u << 0)
/* TCP: accepted, but the peer its SYN was checked as is unknown (the
 * pending-connection entry was lost): every segment is denied. */
#define DSM_SOCK_F_PEER_UNKNOWN (1u << 1)
/* UDP: the egress asked dsmd for a placeholder (DSM_EV_PLACEHOLDER), once. */
#define DSM_SOCK_F_PLACEHOLDER  (1u << 2)

/* ---- protected files (self-protection) --------------------------------- */

struct dsm_inode_key {
	__u64 ino;
	__u32 dev; /* kernel encoding: major << 20 | minor */
	__u32 pad; /* zero */
};

/* The value: what is protected. A directory's flags also cover the entries
 * directly inside it (creating, removing, renaming, opening them). */
#define DSM_PROT_WRITE (1u << 0) /* changing it needs system dsm_files */
#define DSM_PROT_READ  (1u << 1) /* reading it needs system dsm_read */
/* Changing this inode itself (writing, renaming, unlinking, linking it,
 * its attributes) needs system dsm_files, but a directory's entries are
 * not covered: the ancestors of the files dsm reads by path, so that no
 * rename above a file swaps what its path names. */
#define DSM_PROT_WRITE_SELF (1u << 2)
/* A directory some of whose names are reserved (dsm_protected_names):
 * creating an entry of such a name needs system dsm_files (/etc's
 * ld.so.preload, which need not exist). */
#define DSM_PROT_NAMES (1u << 3)
/* An inode's own record decides for it; an inode without one takes the
 * READ and WRITE flags of its directory's record. */

#define DSM_NAME_MAX 32 /* reserved names are shorter, NUL included */

/*
 * dsm_protected_bits: two filters of DSM_PROT_BITS bits each (array of
 * __u64, word DSM_PROT_FILTER_* * DSM_PROT_WORDS + bit / 64) that say which
 * inodes may have a record, so that an open looks dsm_protected up only
 * for those (a false positive costs the lookup, never a decision): every
 * record's bit in OWN, the bit of every directory whose READ or WRITE
 * covers its entries in COVER. dsmd sets a record's bits before relying
 * on it and clears them only after the record is gone.
 */
#define DSM_PROT_BITS_SHIFT 16
#define DSM_PROT_BITS       (1u << DSM_PROT_BITS_SHIFT)
#define DSM_PROT_WORDS      (DSM_PROT_BITS / 64)
#define DSM_PROT_FILTER_OWN   0
#define DSM_PROT_FILTER_COVER 1

static inline __u32 dsm_prot_bit(__u64 ino, __u32 dev)
{
	__u64 h = (ino ^ ((__u64)dev << 40)) * 0x9E3779B97F4A7C15ull;

	return (__u32)(h >> (64 - DSM_PROT_BITS_SHIFT));
}

/* dsm_protected_names: a reserved name in a directory -> DSM_PROT_* flags. */
struct dsm_name_key {
	struct dsm_inode_key dir;
	char name[DSM_NAME_MAX]; /* NUL-padded */
};

/* ---- events (one ring buffer, dsm_events) ------------------------------- */

enum dsm_event_kind {
	DSM_EV_DECISION = 1, /* a denial or a permissive would-be denial */
	DSM_EV_PACKET   = 2, /* a packet the egress program dropped */
	DSM_EV_PLACEHOLDER = 3, /* not an alarm: a request, struct dsm_ev_placeholder */
};

enum dsm_verdict {
	DSM_VERDICT_DENY       = 1,
	DSM_VERDICT_PERMISSIVE = 2, /* would have been denied; allowed */
};

#define DSM_COMM_LEN 16

struct dsm_ev_decision {
	__u16 class;        /* enum dsm_class */
	__u16 family;       /* class peer: AF_INET or AF_INET6 of addr; else 0 */
	__u32 perm;         /* one DSM_PERM_* bit */
	__u32 subject;      /* label */
	__u32 subject_node; /* DSM_NODE_LOCAL unless class peer */
	__u32 target;       /* label */
	__u32 aux;          /* class-specific: socket family<<8|type, signal number ... */
	__u8  addr[16];     /* class peer: the sender's address */
};

struct dsm_ev_packet {
	__u8   direction;   /* DSM_NEV_DIR_* (dsm/wire.h) */
	__u8   reason;      /* enum dsm_net_reason (dsm/wire.h) */
	__u8   detail;      /* DSM_NR_MALFORMED: enum dsm_ipopt_error, else 0 */
	__u8   protocol;
	__u32  ifindex;
	__be32 saddr;       /* network byte order */
	__be32 daddr;
	__u8   key_id;
	__u8   flags;       /* DSM_NEV_F_* */
	__u16  pad;
	__u32  label;       /* host byte order from here on */
	__u32  node;
	__u32  epoch;
	__u32  local_epoch; /* this node's epoch at the time */
	__u32  pad2;
};

/* A labeled UDP socket whose datagrams the egress keeps growing: dsmd may
 * set the placeholder on it (IP_OPTIONS, dsm/wire.h), found by its cookie
 * among the descriptors of the process that made it. */
struct dsm_ev_placeholder {
	__u64 cookie;      /* SO_COOKIE */
	__u64 owner_start; /* struct dsm_sock_ctx's owner */
	__u32 owner_tgid;
	__u32 label;
	__u64 pad[2];
};

struct dsm_event {
	__u16 version;      /* DSM_ABI_VERSION */
	__u8  kind;         /* enum dsm_event_kind */
	__u8  verdict;      /* enum dsm_verdict */
	__s32 err;          /* errno returned to the caller (negative), 0 if allowed */
	__u64 time_ns;      /* CLOCK_BOOTTIME */
	__u32 pid;          /* tgid of the current task (0 in softirq context) */
	__u32 tid;
	char  comm[DSM_COMM_LEN];
	union {
		struct dsm_ev_decision d;
		struct dsm_ev_packet   p;
		struct dsm_ev_placeholder ph;
	};
};

/* ---- per-CPU counters (one array map for every object) ------------------ */

enum dsm_counter {
	DSM_CNT_DENIED = 0,
	DSM_CNT_PERMISSIVE,
	DSM_CNT_EVENTS_DROPPED, /* ring buffer full */
	DSM_CNT_ERRORS,         /* internal error path taken (fail closed) */
	DSM_CNT_PKT_LABELED,    /* egress: options inserted */
	DSM_CNT_PKT_NOT_LABELED,/* egress: packets left alone (no labeled socket) */
	DSM_CNT_PKT_LOCAL,      /* egress on loopback: label recorded, packet untouched */
	DSM_CNT_PKT_DROP_NOROOM,/* egress: could not be labeled: dropped */
	DSM_CNT_PKT_DROP_FOREIGN, /* egress: carried a dsm option this node did not write */
	DSM_CNT_PKT_VERIFIED,   /* ingress (tc): MAC and epoch good */
	DSM_CNT_PKT_UNLABELED_IN, /* ingress (tc): no dsm option */
	DSM_CNT_PKT_DROP_MALFORMED, /* ingress (tc): option present but malformed */
	DSM_CNT_PKT_DROP_BADMAC,  /* ingress (tc): unknown key or wrong MAC */
	DSM_CNT_PKT_DROP_STALE,   /* ingress (tc): epoch outside the window */
	DSM_CNT_CONN_LOST,      /* TCP: accepted with no pending peer (denied) */
	DSM_CNT_PKT_RELAYED,    /* egress: carried a dsm option that may pass as it is:
				 * this node's own, marked, labeled in another of its
				 * network namespaces or on a stacked device; or another
				 * node's, on a forwarded packet */
	DSM_CNT_TOKEN_NOROOM,   /* sockops: a segment left without its connection token
				 * (SACK blocks took the option space, or no key) */
	DSM_CNT_TOKEN_BARE_ACK, /* receive: a bare ACK without the token, let through */
	DSM_CNT_MAX,
};

/* ---- the ABI stamp of pinned objects (map dsm_abi) ---------------------- */

struct dsm_abi_stamp {
	__u32 version;  /* DSM_ABI_VERSION of the dsmd that created the pins */
	__u32 key_size; /* sizeof(struct dsm_pkey) */
	__u32 event_size;
	__u32 sock_ctx_size;
};

/* ---- start-up labeling (bpf/label_iter.bpf.h) ---------------------------- */

/* What the labeling iterators write, one record per object they labeled or
 * failed to label. */
enum dsm_label_rec_kind {
	DSM_LREC_TASK   = 1, /* a task (thread) got its own storage */
	DSM_LREC_SOCKET = 2, /* a socket got its holder's label */
	DSM_LREC_FOWN   = 3, /* a file's SIGIO owner got its holder's label */
};

struct dsm_label_rec {
	__u32 kind;  /* enum dsm_label_rec_kind */
	__u32 tid;   /* the task (holder), kernel's global id */
	__u32 label;
	__s32 err;   /* 0: labeled; else why not (negative errno) */
};

/* ---- layout checks ------------------------------------------------------ */

#define DSM_ASSERT(c, m) _Static_assert(c, m)
DSM_ASSERT(sizeof(struct dsm_key_rule) == 28, "dsm_key_rule: 28 bytes");
DSM_ASSERT(sizeof(struct dsm_key_file) == 28, "dsm_key_file: 28 bytes");
DSM_ASSERT(sizeof(struct dsm_key_trans) == 28, "dsm_key_trans: 28 bytes");
DSM_ASSERT(sizeof(struct dsm_key_label) == 28, "dsm_key_label: 28 bytes");
DSM_ASSERT(sizeof(struct dsm_key_config) == 28, "dsm_key_config: 28 bytes");
DSM_ASSERT(sizeof(struct dsm_key_net) == 28, "dsm_key_net: 28 bytes");
DSM_ASSERT(sizeof(struct dsm_key_net6) == 28, "dsm_key_net6: 28 bytes");
DSM_ASSERT(sizeof(struct dsm_pkey) == 32, "dsm_pkey is a map key: 32 bytes");
DSM_ASSERT(__builtin_offsetof(struct dsm_pkey, raw) == 4, "variants start at byte 4");
DSM_ASSERT(sizeof(struct dsm_pval) == 8, "dsm_pval is a map value: 8 bytes");
DSM_ASSERT(sizeof(struct dsm_inode_key) == 16, "dsm_inode_key: 16 bytes");
DSM_ASSERT(sizeof(struct dsm_name_key) == 48, "dsm_name_key: 48 bytes");
DSM_ASSERT(sizeof(struct dsm_task_ctx) == 16, "dsm_task_ctx: 16 bytes");
DSM_ASSERT(sizeof(struct dsm_sock_ctx) == 80, "dsm_sock_ctx: 80 bytes");
DSM_ASSERT(__builtin_offsetof(struct dsm_sock_ctx, op_cache) % 8 == 0, "op_cache: one aligned word");
DSM_ASSERT(sizeof(struct dsm_ev_decision) == 40, "dsm_ev_decision: 40 bytes");
DSM_ASSERT(sizeof(struct dsm_ev_packet) == 40, "dsm_ev_packet: 40 bytes");
DSM_ASSERT(sizeof(struct dsm_ev_placeholder) == 40, "dsm_ev_placeholder: 40 bytes");
DSM_ASSERT(sizeof(struct dsm_event) == 80, "dsm_event: 80 bytes");
DSM_ASSERT(__builtin_offsetof(struct dsm_event, d) == 40, "event body at byte 40");
DSM_ASSERT(sizeof(struct dsm_abi_stamp) == 16, "dsm_abi_stamp: 16 bytes");
DSM_ASSERT(sizeof(struct dsm_label_rec) == 16, "dsm_label_rec: 16 bytes");

/* ---- key constructors (both sides build keys the same way) -------------- */

static inline struct dsm_pkey dsm_key_rule(__u8 class, __u16 qual, __u32 subject,
					   __u32 node, __u32 target)
{
	struct dsm_pkey k = { .kind = DSM_KEY_RULE };

	k.rule.class = class;
	k.rule.qual = qual;
	k.rule.subject = subject;
	k.rule.node = node;
	k.rule.target = target;
	return k;
}

static inline struct dsm_pkey dsm_key_file(__u32 dev, __u64 ino)
{
	struct dsm_pkey k = { .kind = DSM_KEY_FILE };

	k.file.dev = dev;
	k.file.ino_lo = (__u32)ino;
	k.file.ino_hi = (__u32)(ino >> 32);
	return k;
}

static inline __u64 dsm_key_file_ino(const struct dsm_pkey *k)
{
	return (__u64)k->file.ino_hi << 32 | k->file.ino_lo;
}

static inline struct dsm_pkey dsm_key_trans(__u32 subject, __u32 file_label)
{
	struct dsm_pkey k = { .kind = DSM_KEY_TRANS };

	k.trans.subject = subject;
	k.trans.file_label = file_label;
	return k;
}

static inline struct dsm_pkey dsm_key_label(__u32 label)
{
	struct dsm_pkey k = { .kind = DSM_KEY_LABEL };

	k.label.label = label;
	return k;
}

static inline struct dsm_pkey dsm_key_net(__be32 prefix, __u8 plen, __u32 ifindex, __u32 netns)
{
	struct dsm_pkey k = { .kind = DSM_KEY_NET };

	k.net.plen = plen;
	k.net.prefix = prefix;
	k.net.ifindex = ifindex;
	k.net.netns = netns;
	return k;
}

static inline struct dsm_pkey dsm_key_net6(const __be32 prefix[4], __u8 plen, __u32 ifindex,
					   __u32 netns)
{
	struct dsm_pkey k = { .kind = DSM_KEY_NET6 };

	k.net6.plen = plen;
	k.net6.prefix[0] = prefix[0];
	k.net6.prefix[1] = prefix[1];
	k.net6.prefix[2] = prefix[2];
	k.net6.prefix[3] = prefix[3];
	k.net6.ifindex = ifindex;
	k.net6.netns = netns;
	return k;
}

static inline struct dsm_pkey dsm_key_config_at(__u8 item, __u16 index)
{
	struct dsm_pkey k = { .kind = DSM_KEY_CONFIG };

	k.config.item = item;
	k.config.index = index;
	return k;
}

static inline struct dsm_pkey dsm_key_config(__u8 item)
{
	return dsm_key_config_at(item, 0);
}

static inline __u16 dsm_qual(__u16 family, __u16 type)
{
	return (__u16)((family & 0xff) << 8 | (type & 0xff));
}

#endif /* DSM_ABI_H */
