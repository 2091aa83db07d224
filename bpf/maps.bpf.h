/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps both objects (dsm_lsm, dsm_net) share. Every one is pinned by
 * name under the pin root dsmd gives libbpf (LIBBPF_PIN_BY_NAME), so the
 * object loaded second, and a dsmd that takes over, find and reuse the
 * maps the first one created: no table of names to keep in step.
 */
#ifndef DSM_BPF_MAPS_BPF_H
#define DSM_BPF_MAPS_BPF_H

#include "common.bpf.h"

/* The ABI stamp of the pinned objects (slot 0), written by the dsmd that
 * created them and checked by every dsmd that takes them over. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsm_abi_stamp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_abi SEC(".maps");

/* Socket labels: the LSM object fills them, the packet object reads them.
 * BPF_F_CLONE: an accepted TCP socket inherits its listener's context. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct dsm_sock_ctx);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_sockets SEC(".maps");

/* Keys by slot (dsm/wire.h): the cluster keys in 0 and 1, the same-node
 * key in DSM_KEY_SLOT_LOCAL. Sizes instead of types: a map without BTF
 * prints nothing when its pin is read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSM_KEY_MAP_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct dsm_mac_key));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_keys SEC(".maps");

/* Pair keys (dsm/wire.h): {peer node, generation & 1} -> struct
 * dsm_mac_key, key_id the generation % 256. Two generations per peer. No
 * BTF, as dsm_keys. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * DSM_PAIR_NODES_MAX);
	__uint(key_size, sizeof(struct dsm_pair_slot));
	__uint(value_size, sizeof(struct dsm_mac_key));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_pair_keys SEC(".maps");

/* A peer's IPv4 address (/32, network byte order) -> its node id: which
 * pair key a sender uses for a destination. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DSM_PAIR_NODES_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_pair_addrs SEC(".maps");

/* One slot: node id, epoch length and window, clock offset, flags. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsm_net_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_net_config SEC(".maps");

/* Same-node tags by label (dsm/wire.h), written by dsmd for every label of
 * the policy. No BTF: the tags are derived from a secret. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_local_tags SEC(".maps");

/* Every event, one struct dsm_event each; a full buffer drops the event
 * (counted), never delays the syscall or the packet. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_events SEC(".maps");

/* enum dsm_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DSM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_counters SEC(".maps");

#endif /* DSM_BPF_MAPS_BPF_H */
