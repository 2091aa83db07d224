/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps of the packet-path object (dsm_net.bpf.c). dsmd writes the keys
 * and the configuration; it reads the counters and the events.
 *
 * An object that only verifies options (a receive-side LSM hook) defines
 * DSM_NET_KEYS_ONLY before including this and gets dsm_keys and
 * dsm_net_config, to be shared with this object's by bpf_map__reuse_fd,
 * and a MAC memo of its own.
 */
#ifndef DSM_BPF_NET_MAPS_H
#define DSM_BPF_NET_MAPS_H

/* The keys this node accepts, by key id; it sends with slot 0, or slot 1
 * under DSM_NET_F_SEND_SLOT1. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSM_KEY_SLOTS);
	__type(key, __u32);
	__type(value, struct dsm_mac_key);
} dsm_keys SEC(".maps");

/* One slot: node id, epoch, window, DSM_NET_F_* flags, local tag. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsm_net_cfg);
} dsm_net_config SEC(".maps");

/* MACs made last on this CPU (net_verify.h). Not shared: each object that
 * includes this has its own. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsm_mac_memo);
} dsm_mac_memos SEC(".maps");

static __always_inline struct dsm_mac_memo *dsm_mac_memo_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dsm_mac_memos, &zero);
}

#ifndef DSM_NET_KEYS_ONLY
#include "socks_map.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DSM_NC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} dsm_net_counters SEC(".maps");

/* struct dsm_net_event, one per dropped packet; never waited for. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} dsm_net_events SEC(".maps");

/* The result of the last dsm_mac_selftest run (that program's only output). */
struct dsm_net_selftest {
	__u64 mac;   /* dsm_siphash(): the reference's 8 output bytes */
	__u64 mac28; /* dsm_siphash_28() for a 28-byte message, else 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsm_net_selftest);
} dsm_net_selftest SEC(".maps");
#endif

#endif /* DSM_BPF_NET_MAPS_H */
