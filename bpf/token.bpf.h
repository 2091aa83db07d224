/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection token's sender (dsm/wire.h, DSM_NET_F_TCP_ALL): a sockops
 * program that dsmd attaches to the root cgroup, so that it sees every TCP
 * socket of the node. Once a connection is established with its peer
 * bound at the handshake (bpf/peer.bpf.h) to a label on another node, the
 * program asks for the header-option callbacks; then, for every segment
 * the socket sends, it reserves DSM_TOKEN_LEN bytes of TCP option space
 * (bpf_reserve_hdr_opt: inside TCP's own headroom, no reallocation; the
 * kernel takes it off the MSS) and writes the token into it. TSO copies
 * the option into every segment of a burst and GRO merges segments whose
 * options are equal, so the stream keeps its offloads, which an IPv4
 * option in every segment costs. The token's MAC is made once per socket
 * and epoch, kept in dsm_tcp_tokens: the callbacks of one socket run
 * under its lock, one at a time.
 *
 * What goes without a token: SACK blocks take option space before BPF
 * does, and a segment that has no room left goes without one (counted,
 * DSM_CNT_TOKEN_NOROOM), as does one with no key to make it. The receive
 * check lets a bare ACK without it through and drops anything else.
 */
#ifndef DSM_BPF_TOKEN_BPF_H
#define DSM_BPF_TOKEN_BPF_H

#include "report.bpf.h"
#include "net_verify.h"

#ifndef AF_INET
#define AF_INET  2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dsm_token_tx);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_tcp_tokens SEC(".maps");

/* The socket's context when its segments carry a token: every segment
 * labeled, the socket labeled, its peer bound at the handshake to a label
 * of a node (an unlabeled peer is told by its address). A peer of this
 * node gets it too: over loopback the receiver reads the tag and ignores
 * the token, between two network namespaces of the node it needs it. NULL
 * otherwise. */
static __always_inline struct dsm_sock_ctx *token_sock(const struct bpf_sock_ops *skops,
							const struct dsm_net_cfg *cfg)
{
	struct bpf_sock *sk = skops->sk;
	struct dsm_sock_ctx *c;

	if (!sk || !cfg || (cfg->flags & (DSM_NET_F_TCP_ALL | DSM_NET_F_LABEL_EGRESS)) !=
				   (DSM_NET_F_TCP_ALL | DSM_NET_F_LABEL_EGRESS))
		return NULL;
	c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
	if (!c || !c->label || !(c->flags & DSM_SOCK_F_PEER_BOUND) || c->peer_node == DSM_NODE_ANY)
		return NULL;
	return c;
}

/* The connection's IPv4 addresses, an AF_INET6 socket's v4-mapped ones
 * too (the kernel keeps those in the IPv4 fields as well): 0, or -1 for
 * IPv6 (which carries no label between nodes). */
static __always_inline int token_addrs(const struct bpf_sock_ops *skops, __be32 *local,
				       __be32 *remote)
{
	if (skops->family == AF_INET6 &&
	    (skops->local_ip6[0] || skops->local_ip6[1] || skops->local_ip6[2] != bpf_htonl(0xffff) ||
	     skops->remote_ip6[0] || skops->remote_ip6[1] ||
	     skops->remote_ip6[2] != bpf_htonl(0xffff)))
		return -1;
	if (skops->family != AF_INET && skops->family != AF_INET6)
		return -1;
	*local = skops->local_ip4;
	*remote = skops->remote_ip4;
	return 0;
}

/* The key a token to @peer is made with, as the IPv4 option's (option_of
 * in dsm_net.bpf.c): the pair key of the sending generation in pair mode,
 * else the cluster key of the sending slot; *version says which. */
static __always_inline struct dsm_mac_key *token_key(const struct dsm_net_cfg *cfg, __u32 peer,
						     __u8 *version)
{
	struct dsm_mac_key *key;
	__u32 slot;

	if (cfg->flags & DSM_NET_F_PAIR) {
		struct dsm_pair_slot ps = { .node = peer, .slot = cfg->send_generation & 1 };

		key = bpf_map_lookup_elem(&dsm_pair_keys, &ps);
		if (key && key->valid && key->key_id == cfg->send_generation) {
			*version = DSM_OPT_VERSION_3;
			return key;
		}
	}
	if (cfg->flags & DSM_NET_F_NO_CLUSTER)
		return NULL;
	slot = cfg->flags & DSM_NET_F_SEND_SLOT1 ? 1 : 0;
	key = bpf_map_lookup_elem(&dsm_keys, &slot);
	if (!key || !key->valid)
		return NULL;
	*version = DSM_OPT_VERSION;
	return key;
}

/* The socket's token for this epoch and key, made if the one it keeps is
 * for another: 0 with *mac, or < 0 when there is none. */
static __always_inline int token_of(struct bpf_sock_ops *skops, const struct dsm_net_cfg *cfg,
				    const struct dsm_sock_ctx *c, const struct dsm_mac_key *key,
				    __u8 version, __u32 epoch, __u64 *mac)
{
	struct bpf_sock *sk = skops->sk;
	struct dsm_token_tx *tx;
	__be32 local, remote, ports;
	__be16 p[2];

	if (!sk)
		return -1;
	tx = bpf_sk_storage_get(&dsm_tcp_tokens, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!tx)
		return -1;
	if (tx->valid && tx->epoch == epoch && tx->version == version &&
	    tx->key_id == key->key_id && tx->k0 == key->k0 && tx->k1 == key->k1) {
		*mac = tx->mac;
		return 0;
	}
	if (token_addrs(skops, &local, &remote))
		return -1;
	p[0] = bpf_htons((__u16)skops->local_port);
	p[1] = bpf_htons((__u16)bpf_ntohl(skops->remote_port));
	__builtin_memcpy(&ports, p, sizeof(ports));
	if (dsm_token_mac(NULL, key, local, remote, ports, c->label, cfg->node_id, epoch, mac) < 0)
		return -1;
	tx->k0 = key->k0;
	tx->k1 = key->k1;
	tx->mac = *mac;
	tx->epoch = epoch;
	tx->version = version;
	tx->key_id = key->key_id;
	tx->valid = 1;
	return 0;
}

/* Write the token into the room hdr_opt_len reserved. */
static __always_inline void token_write(struct bpf_sock_ops *skops)
{
	struct dsm_net_cfg *cfg;
	struct dsm_sock_ctx *c;
	struct dsm_mac_key *key;
	struct dsm_token_opt o = { .kind = DSM_TCPOPT_EXP, .len = DSM_TOKEN_LEN,
				   .exid = bpf_htons(DSM_TOKEN_EXID) };
	__u32 zero = 0, epoch;
	__u64 mac;

	cfg = bpf_map_lookup_elem(&dsm_net_config, &zero);
	c = token_sock(skops, cfg);
	if (!c)
		return;
	key = token_key(cfg, c->peer_node, &o.version);
	epoch = dsm_epoch(bpf_ktime_get_tai_ns(), cfg);
	if (!key || token_of(skops, cfg, c, key, o.version, epoch, &mac) < 0) {
		count(DSM_CNT_TOKEN_NOROOM);
		return;
	}
	o.key_id = key->key_id;
	o.epoch_lo = bpf_htons((__u16)epoch);
	mac = dsm_le64(mac);
	__builtin_memcpy(o.mac, &mac, sizeof(o.mac));
	if (bpf_store_hdr_opt(skops, &o, sizeof(o), 0))
		count(DSM_CNT_TOKEN_NOROOM);
}

SEC("sockops")
int dsm_sockops(struct bpf_sock_ops *skops)
{
	struct dsm_net_cfg *cfg;
	__u32 zero = 0;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		cfg = bpf_map_lookup_elem(&dsm_net_config, &zero);
		if (token_sock(skops, cfg))
			bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						  BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		cfg = bpf_map_lookup_elem(&dsm_net_config, &zero);
		/* A failure while the MSS is worked out (no segment yet) is
		 * not a segment without its token. */
		if (token_sock(skops, cfg) && bpf_reserve_hdr_opt(skops, DSM_TOKEN_LEN, 0) &&
		    !(skops->args[0] & BPF_WRITE_HDR_TCP_CURRENT_MSS))
			count(DSM_CNT_TOKEN_NOROOM);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		token_write(skops);
		break;
	}
	return 1;
}

#endif /* DSM_BPF_TOKEN_BPF_H */
