/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The receive check: may the sender's label, on its node, send to the
 * receiving socket's label (class peer, permission recv)? Decided in
 * socket_sock_rcv_skb, before the data reaches the socket, for every
 * packet of every IPv4 socket. The sender is
 *   - for a packet a labeled socket of this node sent over loopback, the
 *     label the egress program recorded in the skb, on this node, or
 *   - the label and node of a dsm option, whose MAC and epoch are verified
 *     here, on every path into a socket (so no interface, loopback
 *     included, can slip an unverified option past the check), or
 *   - for a packet without one, the label the policy's unlabeled rules give
 *     its source address (and arrival interface); with no rule, no label,
 *     which no rule allows.
 * TCP is decided once per connection: a listener checks the SYN and keeps
 * the peer for the accepted socket, a connecting socket checks the SYN-ACK;
 * the socket then carries its peer and later segments need no option.
 */
#ifndef DSM_BPF_PEER_BPF_H
#define DSM_BPF_PEER_BPF_H

#include "policy.bpf.h"
#include "ipopt.h"
#include "net_verify.h"

#define ETH_P_IP_BE   0x0008 /* htons(ETH_P_IP) */
#define TCP_SYN_SENT  2
#define TCP_LISTEN    10
#define TCP_FLAG_SYN  0x02
#define TCP_FLAG_ACK  0x10

/* A peer request for the alarm: what the packet claimed, from where. */
static __always_inline struct dsm_req peer_req(__u32 label, __u32 node, __u32 target,
					       __be32 saddr)
{
	struct dsm_req r = { .class = DSM_CLASS_PEER, .perm = DSM_PERM_PEER_RECV,
			     .subject = label, .node = node, .target = target,
			     .qual = DSM_QUAL_ANY, .family = AF_INET, .aux = saddr };

	r.addr[0] = saddr;
	return r;
}

/* The network namespace a socket lives in (its ns.inum): interface rules
 * name an interface of one namespace. */
static __always_inline __u32 sock_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline struct dsm_mac_key *mac_key(__u32 slot)
{
	return bpf_map_lookup_elem(&dsm_keys, &slot);
}

static __always_inline struct dsm_mac_memo *mac_memo(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dsm_mac_memos, &zero);
}

/*
 * The unlabeled rules' label for an IPv4 source, through the socket's cache
 * of the last source it saw (a UDP server hears the same peers again and
 * again). No label (DSM_LABEL_INVALID) is a label too, which no rule
 * allows. *known: on a cache hit, whether the socket's receive cache
 * (peer_check) already allows that label; both caches are read under one
 * lock.
 */
static __always_inline __u32 unlabeled_peer(dsm_pm_t pm, struct dsm_sock_ctx *c, __u32 gen,
					    __be32 saddr, __u32 ifindex, __u32 netns, bool *known)
{
	__u32 label;

	if (c && gen) {
		bool hit = false;

		bpf_spin_lock(&c->lock);
		if (c->un_gen == gen && c->un_saddr == saddr && c->un_ifindex == ifindex) {
			label = c->un_label;
			hit = true;
			*known = c->rcv_gen == gen && c->rcv_label == label &&
				 c->rcv_node == DSM_NODE_ANY;
		}
		bpf_spin_unlock(&c->lock);
		if (hit)
			return label;
	}
	label = dsm_unlabeled4(pm, saddr, ifindex, netns);
	if (c && gen) {
		bpf_spin_lock(&c->lock);
		c->un_gen = gen;
		c->un_saddr = saddr;
		c->un_ifindex = ifindex;
		c->un_label = label;
		bpf_spin_unlock(&c->lock);
	}
	return label;
}

/*
 * Same node: the sender the loopback egress recorded in the skb
 * (dsm/wire.h), when the hash is the tag of the label in the priority.
 * 1 with *peer filled in, else 0.
 */
static __always_inline int same_node_peer(const struct dsm_net_cfg *cfg, struct sk_buff *skb,
					  struct dsm_peer *peer)
{
	__u32 label = skb->priority, *tag;

	if (!cfg || skb->skb_iif != DSM_LOOPBACK_IFINDEX || !(cfg->flags & DSM_NET_F_LABEL_EGRESS))
		return 0;
	tag = bpf_map_lookup_elem(&dsm_local_tags, &label);
	if (!tag || skb->hash != *tag)
		return 0;
	peer->label = label;
	peer->node = cfg->node_id;
	return 1;
}

/*
 * The dsm option of an IPv4 header with options, into *opt: 1 found, 0
 * none, < 0 malformed or unreadable (the packet is then dropped: already
 * reported). The usual labeled packet carries the dsm option alone,
 * well-formed: what the walker would conclude of those 24 bytes, without
 * the walk.
 */
static __always_inline int find_option(struct sk_buff *skb, const struct ip4 *h,
				       const struct dsm_req *claim, struct dsm_ipopt *opt)
{
	unsigned char *opts_at = skb->head + skb->network_header + sizeof(*h);
	struct dsm_ipopt_buf opts = {};
	struct dsm_ipopt_scan scan = {};
	__u32 optlen = ((__u32)(h->vihl & 0xf) << 2);

	if (optlen <= sizeof(*h))
		return 0;
	optlen -= sizeof(*h);
	if (optlen > DSM_IPOPT_SPACE)
		optlen = DSM_IPOPT_SPACE;
	if (optlen == DSM_OPT_LEN) {
		if (bpf_probe_read_kernel(opt, sizeof(*opt), opts_at))
			return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
		if (opt->type == DSM_OPT_TYPE && opt->len == DSM_OPT_LEN &&
		    opt->version == DSM_OPT_VERSION)
			return 1;
	}
	if (bpf_probe_read_kernel(opts.b, optlen, opts_at))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	opts.len = optlen;
	dsm_ipopt_unpack(dsm_ipopt_scan_global(&opts), &scan);
	if (scan.status == DSM_IPOPT_ABSENT)
		return 0;
	if (scan.status != DSM_IPOPT_PRESENT || scan.dsm_off > DSM_IPOPT_SPACE - DSM_OPT_LEN)
		return deny_always(claim, -EBADMSG);
	if (bpf_probe_read_kernel(opt, sizeof(*opt), opts_at + scan.dsm_off))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	return 1;
}

/*
 * The sender of an IPv4 packet: 0 with *peer filled in, or a negative
 * errno when the packet must be dropped (already reported). *known: the
 * socket's receive cache was seen to allow this peer already.
 */
static __always_inline int packet_peer(dsm_pm_t pm, const struct dsm_net_cfg *cfg,
				       struct sk_buff *skb, const struct ip4 *h, __u32 target,
				       struct dsm_sock_ctx *c, __u32 gen, __u32 netns,
				       struct dsm_peer *peer, bool *known)
{
	struct dsm_req r = peer_req(DSM_LABEL_INVALID, DSM_NODE_ANY, target, h->saddr);
	struct dsm_ipopt opt = {};
	int found, v;

	if (same_node_peer(cfg, skb, peer))
		return 0;
	found = find_option(skb, h, &r, &opt);
	if (found < 0)
		return found;
	if (!found) {
		peer->node = DSM_NODE_ANY;
		peer->label = unlabeled_peer(pm, c, gen, h->saddr, skb->skb_iif, netns, known);
		return 0;
	}
	r.subject = bpf_ntohl(opt.label);
	r.node = bpf_ntohl(opt.node);
	if (!cfg)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	v = dsm_verify(mac_memo(), &opt, h->saddr, h->daddr, h->protocol, h->id, mac_key(0),
		       mac_key(1), dsm_epoch(bpf_ktime_get_tai_ns(), cfg), cfg->epoch_window);
	if (v == DSM_VERIFY_STALE)
		return deny_always(&r, -ESTALE);
	if (v != DSM_VERIFY_OK)
		return deny_always(&r, -EKEYREJECTED); /* an unknown key or a wrong MAC */
	peer->label = r.subject;
	peer->node = r.node;
	return 0;
}

/* Has the socket allowed this peer under this generation already? */
static __always_inline bool rcv_cached(struct dsm_sock_ctx *c, __u32 gen,
				       const struct dsm_peer *peer)
{
	bool hit;

	bpf_spin_lock(&c->lock);
	hit = c->rcv_gen == gen && c->rcv_label == peer->label && c->rcv_node == peer->node;
	bpf_spin_unlock(&c->lock);
	return hit;
}

/*
 * May this peer send to the socket? The socket remembers the last peer
 * allowed under the current policy generation; anything else takes the
 * full check (which reports a denial).
 */
static __always_inline int peer_check(dsm_pm_t pm, struct dsm_sock_ctx *c, __u32 gen,
				      const struct dsm_peer *peer, __u32 target, __be32 saddr)
{
	struct dsm_req r;

	if (c && gen) {
		if (rcv_cached(c, gen, peer))
			return 0;
		if (dsm_perms(pm, DSM_CLASS_PEER, DSM_QUAL_ANY, peer->label, peer->node, target) &
		    DSM_PERM_PEER_RECV) {
			bpf_spin_lock(&c->lock);
			c->rcv_gen = gen;
			c->rcv_label = peer->label;
			c->rcv_node = peer->node;
			bpf_spin_unlock(&c->lock);
			return 0;
		}
	}
	if (dsm_perms(pm, DSM_CLASS_PEER, DSM_QUAL_ANY, peer->label, peer->node, target) &
	    DSM_PERM_PEER_RECV)
		return 0;
	r = peer_req(peer->label, peer->node, target, saddr);
	return deny_unless_permissive(pm, &r);
}

/* The key of a pending connection, as the SYN names it. */
static __always_inline struct dsm_conn_key conn_key_of_syn(__u32 netns, const struct ip4 *h,
							   const __be16 ports[2])
{
	struct dsm_conn_key k = { .netns = netns, .family = AF_INET, .rport = ports[0],
				  .lport = ports[1] };

	k.raddr[0] = h->saddr;
	k.laddr[0] = h->daddr;
	return k;
}

/*
 * TCP before the connection exists: a listener checks the SYN and keeps
 * its sender for the accepted socket; a connecting socket checks the
 * SYN-ACK and binds its peer. Other segments to a listener (the
 * handshake's end) need no check here: the SYN was checked.
 */
static __always_inline int tcp_handshake(dsm_pm_t pm, struct sock *sk, struct sk_buff *skb,
					 struct dsm_sock_ctx *c, __u32 gen, __u32 netns,
					 const struct dsm_peer *peer, __u32 target,
					 const struct ip4 *h)
{
	__u8 state = sk->__sk_common.skc_state, flags;
	struct dsm_conn_key ck;
	__be16 ports[2];
	int err;

	if (bpf_probe_read_kernel(ports, sizeof(ports), skb->head + skb->transport_header) ||
	    bpf_probe_read_kernel(&flags, 1, skb->head + skb->transport_header + 13))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	if (state == TCP_LISTEN) {
		if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
			return 0;
		err = peer_check(pm, c, gen, peer, target, h->saddr);
		if (err)
			return err;
		ck = conn_key_of_syn(netns, h, ports);
		bpf_map_update_elem(&dsm_conn_peers, &ck, peer, BPF_ANY);
		return 0;
	}
	/* SYN_SENT: the SYN-ACK names the server. */
	err = peer_check(pm, c, gen, peer, target, h->saddr);
	if (err || !c)
		return err;
	c->peer_label = peer->label;
	c->peer_node = peer->node;
	c->flags |= DSM_SOCK_F_PEER_BOUND;
	return 0;
}

/* A segment of a connection whose peer was decided at the handshake, with
 * every segment labeled (DSM_NET_F_TCP_ALL): it must come from that peer. */
static __always_inline int bound_segment(const struct dsm_sock_ctx *c,
					 const struct dsm_peer *peer, __u32 target, __be32 saddr)
{
	struct dsm_req r;

	if (peer->label == c->peer_label && peer->node == c->peer_node)
		return 0;
	r = peer_req(peer->label, peer->node, target, saddr);
	return deny_always(&r, DSM_DENY); /* a segment from someone else */
}

SEC("lsm/socket_sock_rcv_skb")
int BPF_PROG(hook_sock_rcv_skb, struct sock *sk, struct sk_buff *skb, int ret)
{
	struct dsm_peer peer = {};
	struct dsm_net_cfg *cfg;
	struct dsm_sock_ctx *c;
	bool known = false;
	__u32 target, gen, netns, zero = 0;
	struct ip4 h;
	dsm_pm_t pm;
	int err;

	if (ret)
		return ret;
	if (sk->__sk_common.skc_family != AF_INET || skb->protocol != ETH_P_IP_BE)
		return 0;
	gen = policy_gen();
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
	cfg = bpf_map_lookup_elem(&dsm_net_config, &zero);
	if (c && (c->flags & DSM_SOCK_F_PEER_UNKNOWN)) {
		struct dsm_req r = peer_req(DSM_LABEL_INVALID, DSM_NODE_ANY, c->label, 0);

		return deny_always(&r, DSM_DENY);
	}
	/* Established TCP: decided at the handshake; with every segment
	 * labeled (DSM_NET_F_TCP_ALL), each one must also come from the peer
	 * decided then. */
	if (c && (c->flags & DSM_SOCK_F_PEER_BOUND) && !(cfg && (cfg->flags & DSM_NET_F_TCP_ALL)))
		return 0;
	/* A same-node datagram from a sender the socket already allowed: no
	 * header to read (reading it costs more than the rest). Anything else,
	 * and TCP, whose handshake needs the addresses, takes the full path. */
	if (skb->skb_iif == DSM_LOOPBACK_IFINDEX && c && gen && sk->sk_protocol != IPPROTO_TCP &&
	    same_node_peer(cfg, skb, &peer) && rcv_cached(c, gen, &peer)) {
		c->peer_label = peer.label;
		c->peer_node = peer.node;
		return 0;
	}
	target = c && c->label ? c->label : dsm_initial_label(pm);
	netns = sock_netns(sk);
	if (bpf_probe_read_kernel(&h, sizeof(h), skb->head + skb->network_header))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	err = packet_peer(pm, cfg, skb, &h, target, c, gen, netns, &peer, &known);
	if (err)
		return err;
	if (c && (c->flags & DSM_SOCK_F_PEER_BOUND))
		return bound_segment(c, &peer, target, h.saddr);
	if (sk->sk_protocol == IPPROTO_TCP) {
		__u8 state = sk->__sk_common.skc_state;

		if (state == TCP_LISTEN || state == TCP_SYN_SENT)
			return tcp_handshake(pm, sk, skb, c, gen, netns, &peer, target, &h);
		return peer_check(pm, c, gen, &peer, target, h.saddr);
	}
	err = known ? 0 : peer_check(pm, c, gen, &peer, target, h.saddr);
	if (!err && c) {
		c->peer_label = peer.label;
		c->peer_node = peer.node;
	}
	return err;
}

/* The accepted socket: its listener's context (cloned), and the peer the
 * listener checked at the SYN. No pending entry (lost to the LRU, or a
 * connection the SYN of which this hook never saw): the socket is marked,
 * and every segment it receives is denied. */
SEC("lsm/inet_csk_clone")
int BPF_PROG(hook_inet_csk_clone, struct sock *newsk, const struct request_sock *req)
{
	struct dsm_conn_key ck = {
		.netns = sock_netns(newsk),
		.family = AF_INET,
		.rport = req->__req_common.skc_dport,
		.lport = bpf_htons(req->__req_common.skc_num),
	};
	struct dsm_sock_ctx *c;
	struct dsm_peer *peer;

	if (newsk->__sk_common.skc_family != AF_INET)
		return 0;
	ck.raddr[0] = req->__req_common.skc_daddr;
	ck.laddr[0] = req->__req_common.skc_rcv_saddr;
	c = bpf_sk_storage_get(&dsm_sockets, newsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	peer = bpf_map_lookup_elem(&dsm_conn_peers, &ck);
	if (!c) {
		count(DSM_CNT_ERRORS);
		return 0;
	}
	if (!peer) {
		c->flags |= DSM_SOCK_F_PEER_UNKNOWN;
		count(DSM_CNT_CONN_LOST);
		return 0;
	}
	c->peer_label = peer->label;
	c->peer_node = peer->node;
	c->flags |= DSM_SOCK_F_PEER_BOUND;
	bpf_map_delete_elem(&dsm_conn_peers, &ck);
	return 0;
}

#endif /* DSM_BPF_PEER_BPF_H */
