/* SPDX-License-Identifier: GPL-2.0 */
/* The maps of the LSM object; dsmd pins them all under its pin directory. */
#ifndef DSM_BPF_MAPS_H
#define DSM_BPF_MAPS_H

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
	__array(values, struct dsm_policy_inner);
} dsm_policy SEC(".maps");

/* The policy generation: dsmd adds one after every swap of dsm_policy.
 * Decisions cached in a socket are valid for one generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} dsm_policy_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dsm_task_ctx);
} dsm_tasks SEC(".maps");

#include "socks_map.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} dsm_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DSM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} dsm_counters SEC(".maps");

/* dsm's own files: pins, configuration, policy, binaries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct dsm_inode_key);
	__type(value, __u32);
} dsm_protected SEC(".maps");

#endif
