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
#ifndef DSM_BPF_PEER_H
#define DSM_BPF_PEER_H

#define ETH_P_IP_BE   0x0008 /* htons(ETH_P_IP) */
#define AF_INET       2
#define IPPROTO_TCP   6
#define TCP_SYN_SENT  2
#define TCP_LISTEN    10
#define EBADMSG       74
#define ESTALE        116
#define EKEYREJECTED  129

/* What a listener learnt from a SYN, until the connection is accepted. */
struct dsm_conn_key {
	__be32 raddr;
	__be32 laddr;
	__be16 rport;
	__be16 lport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dsm_conn_key);
	__type(value, struct dsm_peer);
} dsm_conn_peers SEC(".maps");

/* The label the unlabeled rules give a source address arriving on ifindex:
 * the longest prefix wins, a rule naming the interface before one that
 * does not. DSM_LABEL_INVALID when no rule matches. Only the prefix
 * lengths some rule uses (DSM_CFG_NET_PLENS) cost a lookup. */
static __noinline __u32 unlabeled_label(void *pm, __be32 saddr, __u32 ifindex)
{
	struct dsm_pkey ck = dsm_key_config(DSM_CFG_NET_PLENS);
	struct dsm_pval *v;
	__u64 any = 0, dev = 0;
	__u32 addr = bpf_ntohl(saddr);

	v = policy_get(pm, &ck);
	if (v)
		any = (__u64)(v->aux & 1) << 32 | v->perms;
	ck.qual = 1;
	v = ifindex ? policy_get(pm, &ck) : NULL;
	if (v)
		dev = (__u64)(v->aux & 1) << 32 | v->perms;
	for (int plen = 32; plen >= 0; plen--) {
		__u32 mask = plen ? ~0u << (32 - plen) : 0;
		struct dsm_pkey k;

		if (!((any | dev) >> plen & 1))
			continue;
		k = dsm_key_net(bpf_htonl(addr & mask), (__u8)plen, ifindex);
		v = (dev >> plen & 1) ? policy_get(pm, &k) : NULL;
		if (v)
			return v->aux;
		k.node = 0;
		v = (any >> plen & 1) ? policy_get(pm, &k) : NULL;
		if (v)
			return v->aux;
	}
	return DSM_LABEL_INVALID;
}

static __always_inline struct dsm_mac_key *mac_key(__u32 slot)
{
	return bpf_map_lookup_elem(&dsm_keys, &slot);
}

/* A packet with a dsm option that fails verification: drop, count, report
 * what it claimed, with the reason in err. */
static __noinline int forged(const struct dsm_req *r, __s32 err)
{
	count(DSM_CNT_DENIED);
	report(r, DSM_VERDICT_DENY, err);
	return -EACCES;
}

/*
 * The unlabeled rules' label for a source, through the socket's cache of
 * the last source it saw (a UDP server hears the same peers again and
 * again). Always 0: no label is a label too, which no rule allows. On a
 * hit, *known says whether the socket's receive cache (peer_check)
 * already allows that label: both caches are read under one lock.
 */
static __always_inline int unlabeled_cached(void *pm, struct dsm_sock_ctx *c, __u32 gen,
					    __be32 saddr, __u32 ifindex, __u32 *label,
					    bool *known)
{
	int hit = 0;

	if (c && gen) {
		bpf_spin_lock(&c->lock);
		if (c->un_gen == gen && c->un_saddr == saddr && c->un_ifindex == ifindex) {
			*label = c->un_label;
			hit = 1;
			*known = c->rcv_gen == gen && c->rcv_label == *label &&
				 c->rcv_node == DSM_NODE_ANY;
		}
		bpf_spin_unlock(&c->lock);
		if (hit)
			return 0;
	}
	*label = unlabeled_label(pm, saddr, ifindex);
	if (c && gen) {
		bpf_spin_lock(&c->lock);
		c->un_gen = gen;
		c->un_saddr = saddr;
		c->un_ifindex = ifindex;
		c->un_label = *label;
		bpf_spin_unlock(&c->lock);
	}
	return 0;
}

/*
 * Same node: the sender the loopback egress recorded in the skb
 * (dsm/wire.h), when the tag says it did. 1 with *peer filled in, else 0.
 */
static __always_inline int same_node_peer(const struct dsm_net_cfg *cfg, struct sk_buff *skb,
					  struct dsm_peer *peer)
{
	if (!cfg || skb->skb_iif != DSM_LOOPBACK_IFINDEX ||
	    !(cfg->flags & DSM_NET_F_LABEL_EGRESS) || !cfg->local_tag ||
	    skb->hash != cfg->local_tag)
		return 0;
	peer->label = skb->priority;
	peer->node = cfg->node_id;
	return 1;
}

/*
 * The sender of an IPv4 packet: 0 with *peer filled in, or a negative
 * errno when the packet must be dropped (already reported). *known: the
 * socket's receive cache was seen to allow this peer already.
 */
static __always_inline int packet_peer(void *pm, const struct dsm_net_cfg *cfg,
				       struct sk_buff *skb, const struct ip4 *h, __u32 target,
				       struct dsm_sock_ctx *c, __u32 gen, struct dsm_peer *peer,
				       bool *known)
{
	struct dsm_req r = { .class = DSM_CLASS_PEER, .perm = DSM_PERM_PEER_RECV,
			     .target = target, .qual = DSM_QUAL_ANY, .aux = h->saddr };
	struct dsm_ipopt_buf opts = {};
	struct dsm_ipopt_scan scan = {};
	struct dsm_ipopt opt = {};
	unsigned char *head = skb->head;
	__u32 optlen;
	__u16 nh = skb->network_header;
	int v;

	if (same_node_peer(cfg, skb, peer))
		return 0;
	optlen = ((__u32)(h->vihl & 0xf) << 2);
	if (optlen <= sizeof(*h))
		goto unlabeled;
	optlen -= sizeof(*h);
	if (optlen > DSM_IPOPT_SPACE)
		optlen = DSM_IPOPT_SPACE;
	/* The usual labeled packet: the dsm option alone, well-formed. What
	 * the walker would conclude of these 24 bytes, without the walk. */
	if (optlen == DSM_OPT_LEN) {
		if (bpf_probe_read_kernel(&opt, sizeof(opt), head + nh + sizeof(*h)))
			return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
		if (opt.type == DSM_OPT_TYPE && opt.len == DSM_OPT_LEN &&
		    opt.version == DSM_OPT_VERSION)
			goto verify;
	}
	if (bpf_probe_read_kernel(opts.b, optlen, head + nh + sizeof(*h)))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	opts.len = optlen;
	dsm_ipopt_unpack(dsm_ipopt_scan_global(&opts), &scan);
	if (scan.status == DSM_IPOPT_ABSENT)
		goto unlabeled;
	r.node = DSM_NODE_ANY;
	r.subject = DSM_LABEL_INVALID;
	if (scan.status != DSM_IPOPT_PRESENT || scan.dsm_off > DSM_IPOPT_SPACE - DSM_OPT_LEN)
		return forged(&r, -EBADMSG);
	if (bpf_probe_read_kernel(&opt, sizeof(opt), head + nh + sizeof(*h) + scan.dsm_off))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
verify:
	r.subject = bpf_ntohl(opt.label);
	r.node = bpf_ntohl(opt.node);
	if (!cfg)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	v = dsm_verify(dsm_mac_memo_get(), &opt, h->saddr, h->daddr, h->protocol, h->id,
		       mac_key(0), mac_key(1), cfg->epoch, cfg->epoch_window);
	if (v == DSM_VERIFY_STALE)
		return forged(&r, -ESTALE);
	if (v != DSM_VERIFY_OK)
		return forged(&r, -EKEYREJECTED);
	peer->label = r.subject;
	peer->node = r.node;
	return 0;
unlabeled:
	peer->node = DSM_NODE_ANY;
	return unlabeled_cached(pm, c, gen, h->saddr, skb->skb_iif, &peer->label, known);
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
static __always_inline int peer_check(void *pm, struct dsm_sock_ctx *c, __u32 gen,
				      const struct dsm_peer *peer, __u32 target, __be32 saddr)
{
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
	return dsm_check(pm, DSM_CLASS_PEER, DSM_QUAL_ANY, peer->label, peer->node, target,
			 DSM_PERM_PEER_RECV, saddr);
}

SEC("lsm/socket_sock_rcv_skb")
int BPF_PROG(hook_sock_rcv_skb, struct sock *sk, struct sk_buff *skb, int ret)
{
	struct dsm_net_cfg *cfg;
	struct dsm_sock_ctx *c;
	struct dsm_peer peer;
	bool known = false;
	struct ip4 h;
	__u32 target, gen, zero = 0;
	void *pm;
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
	target = c ? c->label : config_get(pm, DSM_CFG_INITIAL_LABEL, DSM_LABEL_INVALID);
	if (bpf_probe_read_kernel(&h, sizeof(h), skb->head + skb->network_header))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	err = packet_peer(pm, cfg, skb, &h, target, c, gen, &peer, &known);
	if (err)
		return err;
	if (c && (c->flags & DSM_SOCK_F_PEER_BOUND)) {
		struct dsm_req r = { .class = DSM_CLASS_PEER, .perm = DSM_PERM_PEER_RECV,
				     .subject = peer.label, .node = peer.node, .target = target,
				     .qual = DSM_QUAL_ANY, .aux = h.saddr };

		if (peer.label == c->peer_label && peer.node == c->peer_node)
			return 0;
		return forged(&r, -EACCES); /* a segment from someone else */
	}

	if (sk->sk_protocol == IPPROTO_TCP) {
		struct dsm_conn_key ck;
		__u8 state = sk->__sk_common.skc_state;
		__be16 ports[2];
		__u8 flags;

		if (state != TCP_LISTEN && state != TCP_SYN_SENT)
			return peer_check(pm, c, gen, &peer, target, h.saddr);
		if (bpf_probe_read_kernel(ports, sizeof(ports), skb->head + skb->transport_header) ||
		    bpf_probe_read_kernel(&flags, 1, skb->head + skb->transport_header + 13))
			return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
		if (state == TCP_LISTEN) {
			if ((flags & 0x12) != 0x02) /* not a SYN: the handshake's end */
				return 0;
			err = peer_check(pm, c, gen, &peer, target, h.saddr);
			if (err)
				return err;
			ck = (struct dsm_conn_key){ .raddr = h.saddr, .laddr = h.daddr,
						    .rport = ports[0], .lport = ports[1] };
			bpf_map_update_elem(&dsm_conn_peers, &ck, &peer, BPF_ANY);
			return 0;
		}
		/* SYN_SENT: the SYN-ACK names the server. */
		err = peer_check(pm, c, gen, &peer, target, h.saddr);
		if (err || !c)
			return err;
		c->peer_label = peer.label;
		c->peer_node = peer.node;
		c->flags |= DSM_SOCK_F_PEER_BOUND;
		return 0;
	}
	err = known ? 0 : peer_check(pm, c, gen, &peer, target, h.saddr);
	if (!err && c) {
		c->peer_label = peer.label;
		c->peer_node = peer.node;
	}
	return err;
}

/* The accepted socket: its listener's context (cloned), and the peer the
 * listener checked at the SYN. */
SEC("lsm/inet_csk_clone")
int BPF_PROG(hook_inet_csk_clone, struct sock *newsk, const struct request_sock *req)
{
	struct dsm_conn_key ck = {
		.raddr = req->__req_common.skc_daddr,
		.laddr = req->__req_common.skc_rcv_saddr,
		.rport = req->__req_common.skc_dport,
		.lport = bpf_htons(req->__req_common.skc_num),
	};
	struct dsm_sock_ctx *c;
	struct dsm_peer *peer;

	peer = bpf_map_lookup_elem(&dsm_conn_peers, &ck);
	if (!peer)
		return 0;
	c = bpf_sk_storage_get(&dsm_sockets, newsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (c) {
		c->peer_label = peer->label;
		c->peer_node = peer->node;
		c->flags |= DSM_SOCK_F_PEER_BOUND;
	}
	bpf_map_delete_elem(&dsm_conn_peers, &ck);
	return 0;
}

#endif
