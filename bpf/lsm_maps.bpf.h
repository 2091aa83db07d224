/* SPDX-License-Identifier: GPL-2.0 */
/* The maps only the LSM object uses; pinned by name like the shared ones. */
#ifndef DSM_BPF_LSM_MAPS_BPF_H
#define DSM_BPF_LSM_MAPS_BPF_H

#include "maps.bpf.h"
#include "net_verify.h"

/* The inner map template refers to its key and value types only through
 * pointers, which clang emits as forward declarations; these keep the full
 * types in BTF. */
const volatile struct dsm_pkey dsm_btf_pkey;
const volatile struct dsm_pval dsm_btf_pval;

/* Template for the policy maps dsmd creates, one per policy version. */
struct dsm_policy_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct dsm_pkey);
	__type(value, struct dsm_pval);
};

/* Slot 0 holds the active policy; a reload replaces it in one update. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct dsm_policy_inner);
} dsm_policy SEC(".maps");

/* The policy generation: dsmd adds one after every swap of dsm_policy.
 * Decisions cached in a socket are valid for one generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_policy_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dsm_task_ctx);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_tasks SEC(".maps");

/* dsm's own files (struct dsm_inode_key -> DSM_PROT_* flags). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct dsm_inode_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_protected SEC(".maps");

/* What a listener learnt from a SYN, until the connection is accepted:
 * keyed by network namespace and the connection's addresses and ports. */
struct dsm_conn_key {
	__u32  netns;
	__u32  family;    /* AF_INET, or AF_INET6 */
	__be32 raddr[4];  /* IPv4: raddr[0] */
	__be32 laddr[4];
	__be16 rport;
	__be16 lport;
	__u32  pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dsm_conn_key);
	__type(value, struct dsm_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_conn_peers SEC(".maps");

/* MACs made last on this CPU (net_verify.h); this object's own. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsm_mac_memo);
} dsm_mac_memos SEC(".maps");

#endif /* DSM_BPF_LSM_MAPS_BPF_H */
