/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The receive check: may the sender's label, on its node, send to the
 * receiving socket's label (class peer, permission recv)? Decided in
 * socket_sock_rcv_skb, before the data reaches the socket, for every
 * packet of every socket, by (socket family, packet protocol):
 *   AF_INET + IPv4, AF_INET6 + IPv4 (a dual-stack socket's v4-mapped
 *     peers): the IPv4 check. The sender is
 *     - for a packet a labeled socket of this node sent over loopback, the
 *       label the egress program recorded in the skb, on this node, or
 *     - the label and node of a dsm option, whose MAC and epoch are
 *       verified here, on every path into a socket (so no interface,
 *       loopback included, can slip an unverified option past the check),
 *       or
 *     - for a packet without one, the label the policy's unlabeled IPv4
 *       rules give its source address (and arrival interface); with no
 *       rule, no label, which no rule allows.
 *   AF_INET6 + IPv6: the same-node label of a loopback packet, else the
 *     label the unlabeled IPv6 rules give its source (IPv6 carries no dsm
 *     option); no rule, no label.
 *   AF_UNIX, AF_NETLINK: local messages, checked where they are sent (unix
 *     sockets) or not labeled at all; AF_PACKET: raw frames (SOCK_PACKET
 *     sockets pass here, the others never do), gated by socket create.
 *     Allowed here.
 *   Anything else (AF_INET with a packet that is not IPv4, every other
 *     family): denied, counted as an error and reported.
 * TCP is decided once per connection: a listener checks the SYN and keeps
 * the peer for the accepted socket, a connecting socket checks the SYN-ACK;
 * the socket then carries its peer and later segments need no option.
 * With every segment labeled (DSM_NET_F_TCP_ALL), each later segment from
 * another node must carry the connection token of the bound peer
 * (token_check; a bare ACK may go without), and one over loopback or from
 * an unlabeled peer must come from the bound label.
 * An MPTCP subflow without a label (the kernel makes them: the MPTCP socket
 * it serves is out of a BPF LSM program's reach on 6.1) is denied.
 */
#ifndef DSM_BPF_PEER_BPF_H
#define DSM_BPF_PEER_BPF_H

#include "policy.bpf.h"
#include "ipopt.h"
#include "net_tcp.h"
#include "net_verify.h"

#define ETH_P_IP_BE   0x0008 /* htons(ETH_P_IP) */
#define ETH_P_IPV6_BE 0xdd86 /* htons(ETH_P_IPV6) */
#define TCP_SYN_SENT  2
#define TCP_LISTEN    10
#define TCP_FLAG_SYN  0x02
#define TCP_FLAG_ACK  0x10
#ifndef AF_PACKET
#define AF_PACKET     17
#endif

/* A peer request for the alarm: what the packet claimed, from where
 * (@saddr: one word for AF_INET, four for AF_INET6). */
static __always_inline struct dsm_req peer_req(__u32 label, __u32 node, __u32 target,
					       __u8 family, const __be32 *saddr)
{
	struct dsm_req r = { .class = DSM_CLASS_PEER, .perm = DSM_PERM_PEER_RECV,
			     .subject = label, .node = node, .target = target,
			     .qual = DSM_QUAL_ANY, .family = family };

	r.addr[0] = saddr[0];
	if (family == AF_INET6) {
		r.addr[1] = saddr[1];
		r.addr[2] = saddr[2];
		r.addr[3] = saddr[3];
	} else {
		r.aux = saddr[0];
	}
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

/* K(this node, peer) of the generation whose low bit is @slot; the caller
 * compares its key_id with the option's generation byte (dsm_verify). */
static __always_inline struct dsm_mac_key *pair_key(__u32 peer, __u32 slot)
{
	struct dsm_pair_slot k = { .node = peer, .slot = slot & 1 };

	return bpf_map_lookup_elem(&dsm_pair_keys, &k);
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

/* A packet whose dsm option claims label@node (DSM_LABEL_INVALID,
 * DSM_NODE_ANY: not read yet) fails verification: reported, denied
 * whatever the mode. Out of line: the request takes no room in the
 * receive check's stack. */
static __noinline int claim_deny(__u32 label, __u32 node, __u32 target, __be32 saddr, __s32 err)
{
	struct dsm_req r = peer_req(label, node, target, AF_INET, &saddr);

	return deny_always(&r, err);
}

/* find_option() past the usual case: walk the whole option list; a
 * malformed one is -EBADMSG, for the caller to report (a call less deep).
 * Out of line: its buffers take no room in the receive check's stack. */
static __noinline int option_walk(struct sk_buff *skb, __u32 optlen, struct dsm_ipopt *opt)
{
	unsigned char *opts_at = skb->head + skb->network_header + sizeof(struct ip4);
	struct dsm_ipopt_buf opts = {};
	struct dsm_ipopt_scan scan = {};

	if (optlen > DSM_IPOPT_SPACE)
		optlen = DSM_IPOPT_SPACE;
	if (bpf_probe_read_kernel(opts.b, optlen, opts_at))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	opts.len = optlen;
	dsm_ipopt_unpack(dsm_ipopt_scan_global(&opts), &scan);
	if (scan.status == DSM_IPOPT_ABSENT)
		return 0;
	if (scan.status != DSM_IPOPT_PRESENT || scan.dsm_off > DSM_IPOPT_SPACE - DSM_OPT_LEN)
		return -EBADMSG;
	if (bpf_probe_read_kernel(opt, sizeof(*opt), opts_at + scan.dsm_off))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	return 1;
}

/*
 * The dsm option of an IPv4 header with options, into *opt: 1 found, 0
 * none, -EBADMSG malformed (not reported yet), another errno when
 * unreadable (reported); the packet is dropped on an error. The usual labeled packet carries the dsm option alone,
 * well-formed: what the walker would conclude of those 24 bytes, without
 * the walk.
 */
static __always_inline int find_option(struct sk_buff *skb, const struct ip4 *h,
				       struct dsm_ipopt *opt)
{
	unsigned char *opts_at = skb->head + skb->network_header + sizeof(*h);
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
		    (opt->version == DSM_OPT_VERSION || opt->version == DSM_OPT_VERSION_3))
			return 1;
	}
	return option_walk(skb, optlen, opt);
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
	struct dsm_mac_key *k0 = NULL, *k1 = NULL;
	struct dsm_ipopt opt = {};
	__u32 label, node;
	__be32 ports = 0;
	int found, v;

	if (same_node_peer(cfg, skb, peer))
		return 0;
	found = find_option(skb, h, &opt);
	if (found == -EBADMSG)
		return claim_deny(DSM_LABEL_INVALID, DSM_NODE_ANY, target, h->saddr, -EBADMSG);
	if (found < 0)
		return found;
	if (!found) {
		peer->node = DSM_NODE_ANY;
		peer->label = unlabeled_peer(pm, c, gen, h->saddr, skb->skb_iif, netns, known);
		return 0;
	}
	label = bpf_ntohl(opt.label);
	node = bpf_ntohl(opt.node);
	if (!cfg)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	if (opt.version == DSM_OPT_VERSION_3) {
		/* The packet as the socket gets it is reassembled: its header
		 * is the first fragment's, its offset 0, and the transport
		 * header (set by the IPv4 receive path right after the IP
		 * header) holds the ports the sender's MAC bound. */
		if (dsm_proto_has_ports(h->protocol) &&
		    bpf_probe_read_kernel(&ports, sizeof(ports), skb->head + skb->transport_header))
			return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
		k0 = pair_key(node, opt.key_id);
	} else {
		k0 = mac_key(0);
		k1 = mac_key(1);
	}
	v = dsm_verify(mac_memo(), &opt, h->saddr, h->daddr, h->protocol, h->id, ports, k0, k1,
		       dsm_epoch(bpf_ktime_get_tai_ns(), cfg), cfg->epoch_window);
	if (v == DSM_VERIFY_STALE)
		return claim_deny(label, node, target, h->saddr, -ESTALE);
	if (v != DSM_VERIFY_OK) /* an unknown key or a wrong MAC */
		return claim_deny(label, node, target, h->saddr, -EKEYREJECTED);
	peer->label = label;
	peer->node = node;
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

/* The peer may not send to @target: report it, and deny unless the
 * peer's label or the node is permissive. A function of its own, so that
 * the request it reports takes no room in the callers' stack. */
static __noinline int peer_deny(dsm_pm_t pm, const struct dsm_peer *peer, __u32 target,
				__u8 family, const __be32 *saddr)
{
	struct dsm_req r = peer_req(peer->label, peer->node, target, family, saddr);

	return deny_unless_permissive(pm, &r);
}

/*
 * May this peer send to the socket? The socket remembers the last peer
 * allowed under the current policy generation; anything else takes the
 * full check (which reports a denial).
 */
static __always_inline int peer_check(dsm_pm_t pm, struct dsm_sock_ctx *c, __u32 gen,
				      const struct dsm_peer *peer, __u32 target, __u8 family,
				      const __be32 *saddr)
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
	if (dsm_perms(pm, DSM_CLASS_PEER, DSM_QUAL_ANY, peer->label, peer->node, target) &
	    DSM_PERM_PEER_RECV)
		return 0;
	return peer_deny(pm, peer, target, family, saddr);
}

/*
 * The addresses of a packet, as the checks below take them: @addrs holds
 * the source, then the destination, each one word for AF_INET (an IPv4
 * header's saddr and daddr are adjacent) and four for AF_INET6.
 */
static __always_inline const __be32 *daddr_of(__u8 family, const __be32 *addrs)
{
	return family == AF_INET6 ? addrs + 4 : addrs + 1;
}

/* A listener's SYN passed: keep its sender for the accepted socket, keyed
 * by what the SYN names (@ports: source port, then destination port, as in
 * the TCP header): the packet's family and addresses (an IPv4 SYN to a
 * dual-stack listener is AF_INET, as its request socket is). Out of line:
 * the key takes no room in the receive check's stack. */
static __noinline void pending_store(__u32 netns, __u8 family, const __be32 *addrs,
				     const __be16 *ports, const struct dsm_peer *peer)
{
	const __be32 *daddr = daddr_of(family, addrs);
	struct dsm_conn_key k = { .netns = netns, .family = family, .rport = ports[0],
				  .lport = ports[1] };

	k.raddr[0] = addrs[0];
	k.laddr[0] = daddr[0];
	if (family == AF_INET6) {
		for (int i = 1; i < 4; i++) {
			k.raddr[i] = addrs[i];
			k.laddr[i] = daddr[i];
		}
	}
	bpf_map_update_elem(&dsm_conn_peers, &k, peer, BPF_ANY);
}

/*
 * TCP before the connection exists: a listener checks the SYN and keeps
 * its sender for the accepted socket; a connecting socket checks the
 * SYN-ACK and binds its peer. Other segments to a listener (the
 * handshake's end) need no check here: the SYN was checked.
 */
static __always_inline int tcp_handshake(dsm_pm_t pm, struct sock *sk, struct sk_buff *skb,
					 struct dsm_sock_ctx *c, __u32 gen, __u32 netns,
					 const struct dsm_peer *peer, __u32 target, __u8 family,
					 const __be32 *addrs)
{
	__u8 state = sk->__sk_common.skc_state, flags;
	__be16 ports[2];
	int err;

	if (bpf_probe_read_kernel(ports, sizeof(ports), skb->head + skb->transport_header) ||
	    bpf_probe_read_kernel(&flags, 1, skb->head + skb->transport_header + 13))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	if (state == TCP_LISTEN) {
		if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN)
			return 0;
		err = peer_check(pm, c, gen, peer, target, family, addrs);
		if (err)
			return err;
		pending_store(netns, family, addrs, ports, peer);
		return 0;
	}
	/* SYN_SENT: the SYN-ACK names the server. */
	err = peer_check(pm, c, gen, peer, target, family, addrs);
	if (err || !c)
		return err;
	c->peer_label = peer->label;
	c->peer_node = peer->node;
	c->flags |= DSM_SOCK_F_PEER_BOUND;
	return 0;
}

/* A segment from someone other than the connection's peer: reported and
 * denied whatever the mode (a function of its own, as peer_deny). */
static __noinline int segment_deny(const struct dsm_peer *peer, __u32 target, __u8 family,
				   const __be32 *saddr)
{
	struct dsm_req r = peer_req(peer->label, peer->node, target, family, saddr);

	return deny_always(&r, DSM_DENY);
}

/* A segment of a connection whose peer was decided at the handshake, with
 * every segment labeled (DSM_NET_F_TCP_ALL): it must come from that peer. */
static __always_inline int bound_segment(const struct dsm_sock_ctx *c,
					 const struct dsm_peer *peer, __u32 target, __u8 family,
					 const __be32 *saddr)
{
	if (peer->label == c->peer_label && peer->node == c->peer_node)
		return 0;
	return segment_deny(peer, target, family, saddr);
}

/* ---- the connection token (dsm/wire.h, DSM_NET_F_TCP_ALL) ---------------- */

#define TCP_FLAGS_NOT_BARE 0x27 /* FIN, SYN, RST, URG: a segment with one is no bare ACK */

/* Does a segment of this connection carry a token? Off loopback, from a
 * peer bound to a label of a node (this one too: between two of its
 * network namespaces): over loopback the tag tells the sender, and an
 * unlabeled peer (DSM_NODE_ANY) is told by its address. */
static __always_inline bool token_wanted(const struct sock *sk, const struct dsm_sock_ctx *c,
					 const struct sk_buff *skb)
{
	return sk->sk_protocol == IPPROTO_TCP && c->peer_node != DSM_NODE_ANY &&
	       skb->skb_iif != DSM_LOOPBACK_IFINDEX;
}

/* A segment without the token moves no data and changes no state (no
 * FIN, SYN, RST or URG): a bare ACK, which SACK blocks may have left
 * without room for it. @ip_len: the IPv4 header's length. */
static __always_inline bool bare_ack(const struct ip4 *h, const struct dsm_tcp_hdr *t,
				     __u32 ip_len)
{
	__u32 tot = bpf_ntohs(h->tot_len), tcp_len = (__u32)(t->doff_res >> 4) << 2;

	return tot && tot == ip_len + tcp_len && !(t->flags & TCP_FLAGS_NOT_BARE);
}

/* What token_check needs besides its stack, which the receive check's
 * leaves little of: per CPU, and used by that function alone, which runs
 * in softirq (TCP's receive path), so nothing on this CPU interrupts it. */
struct token_scratch {
	struct dsm_ipopt_buf opts;
	struct dsm_token_opt tok;
	struct dsm_tcp_hdr t;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct token_scratch);
} dsm_token_scratch SEC(".maps");

enum token_verdict {
	TOKEN_OK = 0,  /* the bound peer's token, or a bare ACK without one */
	TOKEN_MISSING, /* no token on a segment that needs one */
	TOKEN_STALE,   /* a good MAC, an epoch outside the window */
	TOKEN_FORGED,  /* an unknown key or version, or a wrong MAC */
	TOKEN_ERROR,   /* unreadable: fail closed */
};

/*
 * A segment of a bound connection between nodes (token_wanted): it must
 * carry the token the bound peer makes for this connection and an epoch
 * within the window, whose MAC is checked as an option's (through the
 * memo: once per connection and epoch on a miss). No token: a bare ACK
 * passes (counted). The caller reports the rest (token_deny). Out of
 * line, its buffers in a per-CPU map: the receive check's frame leaves
 * little stack.
 */
static __noinline int token_check(struct sk_buff *skb, const struct dsm_net_cfg *cfg,
				  const struct dsm_sock_ctx *c, const struct ip4 *h)
{
	unsigned char *th = skb->head + skb->transport_header;
	struct dsm_mac_key *k0 = NULL, *k1 = NULL;
	struct token_scratch *w;
	__u32 optlen, zero = 0;
	__be32 ports;
	int at, v;

	w = bpf_map_lookup_elem(&dsm_token_scratch, &zero);
	if (!w || bpf_probe_read_kernel(&w->t, sizeof(w->t), th))
		return TOKEN_ERROR;
	optlen = (__u32)(w->t.doff_res >> 4) << 2;
	optlen = optlen > sizeof(w->t) ? optlen - sizeof(w->t) : 0;
	if (optlen > DSM_IPOPT_SPACE)
		optlen = DSM_IPOPT_SPACE;
	at = -1;
	if (optlen >= DSM_TOKEN_LEN) {
		if (bpf_probe_read_kernel(w->opts.b, optlen, th + sizeof(w->t)))
			return TOKEN_ERROR;
		w->opts.len = optlen;
		at = dsm_tcp_token_global(&w->opts);
	}
	if (at < 0 || at > DSM_IPOPT_SPACE - DSM_TOKEN_LEN) {
		if (!bare_ack(h, &w->t, (__u32)(h->vihl & 0xf) << 2))
			return TOKEN_MISSING;
		count(DSM_CNT_TOKEN_BARE_ACK);
		return TOKEN_OK;
	}
	if (bpf_probe_read_kernel(&w->tok, sizeof(w->tok), th + sizeof(w->t) + at))
		return TOKEN_ERROR;
	if (w->tok.version == DSM_OPT_VERSION_3) {
		k0 = pair_key(c->peer_node, w->tok.key_id);
	} else if (w->tok.version == DSM_OPT_VERSION) {
		k0 = mac_key(0);
		k1 = mac_key(1);
	}
	__builtin_memcpy(&ports, &w->t, sizeof(ports)); /* source and destination port */
	v = dsm_token_verify(mac_memo(), &w->tok, h->saddr, h->daddr, ports, c->peer_label,
			     c->peer_node, k0, k1, dsm_epoch(bpf_ktime_get_tai_ns(), cfg),
			     cfg->epoch_window);
	if (v == DSM_VERIFY_STALE)
		return TOKEN_STALE;
	return v == DSM_VERIFY_OK ? TOKEN_OK : TOKEN_FORGED;
}

/* A segment token_check() refused: dropped as malformed (EBADMSG, no
 * claim: nothing in it names a sender) when it has no token, and as
 * claiming the bound peer when its token does not verify (ESTALE,
 * EKEYREJECTED, as for an option). */
static __always_inline int token_deny(int verdict, const struct dsm_sock_ctx *c, __u32 target,
				      __be32 saddr)
{
	if (verdict == TOKEN_MISSING)
		return claim_deny(DSM_LABEL_INVALID, DSM_NODE_ANY, target, saddr, -EBADMSG);
	if (verdict == TOKEN_STALE)
		return claim_deny(c->peer_label, c->peer_node, target, saddr, -ESTALE);
	if (verdict == TOKEN_FORGED)
		return claim_deny(c->peer_label, c->peer_node, target, saddr, -EKEYREJECTED);
	return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
}

/*
 * A packet this check does not understand (the socket's family and the
 * packet's protocol, above): denied whatever the mode, counted as an
 * error, reported with both (aux: family << 16 | ethertype).
 */
static __noinline int deny_family(__u32 family, __be16 proto)
{
	struct dsm_req r = { .class = DSM_CLASS_PEER, .perm = DSM_PERM_PEER_RECV,
			     .node = DSM_NODE_ANY, .qual = DSM_QUAL_ANY,
			     .aux = family << 16 | bpf_ntohs(proto) };

	count(DSM_CNT_ERRORS);
	report_req(&r, DSM_VERDICT_DENY, DSM_DENY);
	return DSM_DENY;
}

/*
 * Is a TCP socket an MPTCP subflow (or the first subflow of an MPTCP
 * socket)? Asked only of sockets without a label: the kernel makes
 * subflows without the socket hooks, and socket_create refuses MPTCP to
 * every label, so a subflow here serves an MPTCP socket that predates dsm
 * or was made in permissive mode. Its data goes to that socket, whose
 * label this program cannot see.
 */
static __always_inline bool mptcp_subflow(struct sock *sk)
{
	struct tcp_sock *tp;

	/* 6.1's bpf_skc_to_tcp_sock() takes any full socket of IPPROTO_TCP,
	 * a SOCK_RAW one too: only a stream socket is a tcp_sock. */
	if (sk->sk_protocol != IPPROTO_TCP || sk->sk_type != SOCK_STREAM)
		return false;
	tp = bpf_skc_to_tcp_sock(sk);
	return tp && tp->is_mptcp;
}

/* The unlabeled subflow's packet: denied unless the mode is permissive
 * (no subject label: only the node's mode can make it permissive),
 * reported with the packet's source. */
static __noinline int deny_subflow(dsm_pm_t pm, struct sk_buff *skb, __u8 family)
{
	unsigned char *ip = skb->head + skb->network_header;
	__be32 saddr[4] = {};
	struct dsm_req r;

	if (family == AF_INET6)
		bpf_probe_read_kernel(saddr, sizeof(saddr), ip + 8);
	else
		bpf_probe_read_kernel(saddr, 4, ip + 12);
	r = peer_req(DSM_LABEL_INVALID, DSM_NODE_ANY, DSM_LABEL_INVALID, family, saddr);
	return deny_unless_permissive(pm, &r);
}

/*
 * What the unlabeled IPv6 rules gave a source, by policy generation: the
 * longest-prefix walk over 129 lengths costs some thirty times a lookup
 * (bench/hook-cost), and the answer depends only on the policy, the
 * source and the interface, not on the socket. An entry of an older
 * generation never matches; the LRU drops it in time. A miss (a flood of
 * sources evicting each other) costs the walk, never a wrong label.
 */
struct dsm_un6_key {
	__u32  gen;
	__u32  ifindex;
	__u32  netns;
	__be32 saddr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct dsm_un6_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dsm_unlabeled6_cache SEC(".maps");

/* bpf_loop()'s step of the IPv6 walk (dsm/decide.h). */
static int un6_step(__u32 i, void *w)
{
	return dsm_un6_step(i, w);
}

static __always_inline struct dsm_un6_key un6_key(__u32 gen, const __be32 *saddr,
						  __u32 ifindex, __u32 netns)
{
	struct dsm_un6_key k = { .gen = gen, .ifindex = ifindex, .netns = netns };

	for (int i = 0; i < 4; i++)
		k.saddr[i] = saddr[i];
	return k;
}

/* dsm_unlabeled6() through the cache (generation 0: unknown, no cache).
 * Out of line: its keys take no room in the receive check's stack. The
 * blocks let the cache key and the walk share one slot: the receive
 * check, this frame and bpf_loop()'s callback must fit in 512 bytes. */
static __noinline __u32 unlabeled6(dsm_pm_t pm, __u32 gen, const __be32 *saddr,
				   __u32 ifindex, __u32 netns)
{
	__u32 label = DSM_LABEL_INVALID;

	if (gen) {
		struct dsm_un6_key k = un6_key(gen, saddr, ifindex, netns);
		__u32 *hit = bpf_map_lookup_elem(&dsm_unlabeled6_cache, &k);

		if (hit)
			return *hit;
	}
	{
		struct dsm_un6_walk w;

		dsm_un6_begin(&w, pm, saddr, ifindex, netns);
		if (bpf_loop(DSM_UN6_STEPS, un6_step, &w, 0) >= 0)
			label = w.label;
	}
	if (gen) {
		struct dsm_un6_key k = un6_key(gen, saddr, ifindex, netns);

		bpf_map_update_elem(&dsm_unlabeled6_cache, &k, &label, BPF_ANY);
	}
	return label;
}

/* The IPv6 header's addresses (network byte order), as daddr_of() wants
 * them: the source, then the destination. */
struct ip6_addrs {
	__be32 saddr[4];
	__be32 daddr[4];
};

/*
 * A native IPv6 packet to an AF_INET6 socket (past the same-node fast
 * path), for @target: its sender is the same-node label of a tagged
 * loopback packet, else the unlabeled IPv6 rules' label for its source.
 * TCP as for IPv4: the SYN at a listener, the SYN-ACK at a connecting
 * socket.
 */
static __always_inline int rcv_ipv6(dsm_pm_t pm, const struct dsm_net_cfg *cfg,
				    struct sock *sk, struct sk_buff *skb,
				    struct dsm_sock_ctx *c, __u32 gen, __u32 target)
{
	struct dsm_peer peer = {};
	struct ip6_addrs a;
	__u32 netns;
	int err;

	/* saddr and daddr: bytes 8..39 of the fixed header */
	if (bpf_probe_read_kernel(&a, sizeof(a), skb->head + skb->network_header + 8))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	netns = sock_netns(sk);
	if (!same_node_peer(cfg, skb, &peer)) {
		peer.node = DSM_NODE_ANY;
		peer.label = unlabeled6(pm, gen, a.saddr, skb->skb_iif, netns);
	}
	if (c && (c->flags & DSM_SOCK_F_PEER_BOUND))
		return bound_segment(c, &peer, target, AF_INET6, a.saddr);
	if (sk->sk_protocol == IPPROTO_TCP) {
		__u8 state = sk->__sk_common.skc_state;

		if (state == TCP_LISTEN || state == TCP_SYN_SENT)
			return tcp_handshake(pm, sk, skb, c, gen, netns, &peer, target, AF_INET6,
					     a.saddr);
		return peer_check(pm, c, gen, &peer, target, AF_INET6, a.saddr);
	}
	err = peer_check(pm, c, gen, &peer, target, AF_INET6, a.saddr);
	if (!err && c) {
		c->peer_label = peer.label;
		c->peer_node = peer.node;
	}
	return err;
}

/*
 * The check of an IP packet (@v6: native IPv6, else IPv4) to an AF_INET or
 * AF_INET6 socket. Inlined once for each value of @v6, so that the IPv4
 * path carries nothing of the IPv6 one.
 */
static __always_inline int rcv_ip(struct sock *sk, struct sk_buff *skb, bool v6)
{
	struct dsm_peer peer = {};
	struct dsm_net_cfg *cfg;
	struct dsm_sock_ctx *c;
	bool known = false;
	__u32 target, gen, netns, zero = 0;
	struct ip4 h;
	dsm_pm_t pm;
	int err;

	gen = policy_gen();
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
	cfg = bpf_map_lookup_elem(&dsm_net_config, &zero);
	if (c && (c->flags & DSM_SOCK_F_PEER_UNKNOWN)) {
		__be32 none[4] = {};
		struct dsm_req r = peer_req(DSM_LABEL_INVALID, DSM_NODE_ANY, c->label, AF_INET,
					    none);

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
	if (c && c->label) {
		target = c->label;
	} else {
		/* permissive: reported, and decided on as any other socket */
		if (mptcp_subflow(sk)) {
			err = deny_subflow(pm, skb, v6 ? AF_INET6 : AF_INET);
			if (err)
				return err;
		}
		target = dsm_initial_label(pm);
	}
	if (v6)
		return rcv_ipv6(pm, cfg, sk, skb, c, gen, target);
	netns = sock_netns(sk);
	if (bpf_probe_read_kernel(&h, sizeof(h), skb->head + skb->network_header))
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	if (c && (c->flags & DSM_SOCK_F_PEER_BOUND) && cfg && token_wanted(sk, c, skb)) {
		err = token_check(skb, cfg, c, &h);
		return err == TOKEN_OK ? 0 : token_deny(err, c, target, h.saddr);
	}
	err = packet_peer(pm, cfg, skb, &h, target, c, gen, netns, &peer, &known);
	if (err)
		return err;
	if (c && (c->flags & DSM_SOCK_F_PEER_BOUND))
		return bound_segment(c, &peer, target, AF_INET, &h.saddr);
	if (sk->sk_protocol == IPPROTO_TCP) {
		__u8 state = sk->__sk_common.skc_state;

		if (state == TCP_LISTEN || state == TCP_SYN_SENT)
			return tcp_handshake(pm, sk, skb, c, gen, netns, &peer, target, AF_INET,
					     &h.saddr);
		return peer_check(pm, c, gen, &peer, target, AF_INET, &h.saddr);
	}
	err = known ? 0 : peer_check(pm, c, gen, &peer, target, AF_INET, &h.saddr);
	if (!err && c) {
		c->peer_label = peer.label;
		c->peer_node = peer.node;
	}
	return err;
}

SEC("lsm/socket_sock_rcv_skb")
int BPF_PROG(hook_sock_rcv_skb, struct sock *sk, struct sk_buff *skb, int ret)
{
	__u16 family;
	__be16 proto;

	if (ret)
		return ret;
	family = sk->__sk_common.skc_family;
	proto = skb->protocol;
	if (__builtin_expect(family == AF_INET, 1)) {
		if (__builtin_expect(proto == ETH_P_IP_BE, 1))
			goto ipv4;
	} else if (family == AF_INET6) {
		if (proto == ETH_P_IP_BE)
			goto ipv4;
		if (proto == ETH_P_IPV6_BE)
			return rcv_ip(sk, skb, true);
	} else if (family == AF_UNIX || family == AF_NETLINK || family == AF_PACKET) {
		return 0;
	}
	return deny_family(family, proto);
ipv4:
	return rcv_ip(sk, skb, false);
}

/*
 * The accepted socket: its listener's context (cloned), and the peer the
 * listener checked at the SYN. The pending entry is found by the request's
 * family (its ops': an IPv4 connection to a dual-stack listener is an
 * AF_INET request on an AF_INET6 socket) and addresses, as the SYN check
 * stored it. No entry (lost to the LRU, or a connection the SYN of which
 * this hook never saw): the socket is marked, and every segment it
 * receives is denied.
 */
SEC("lsm/inet_csk_clone")
int BPF_PROG(hook_inet_csk_clone, struct sock *newsk, const struct request_sock *req)
{
	struct dsm_conn_key ck = {
		.netns = sock_netns(newsk),
		.rport = req->__req_common.skc_dport,
		.lport = bpf_htons(req->__req_common.skc_num),
	};
	__u16 family = newsk->__sk_common.skc_family;
	struct dsm_sock_ctx *c;
	struct dsm_peer *peer;

	if (family != AF_INET && family != AF_INET6)
		return 0;
	ck.family = req->rsk_ops->family;
	if (ck.family == AF_INET) {
		ck.raddr[0] = req->__req_common.skc_daddr;
		ck.laddr[0] = req->__req_common.skc_rcv_saddr;
	} else if (ck.family == AF_INET6) {
		for (int i = 0; i < 4; i++) {
			ck.raddr[i] = req->__req_common.skc_v6_daddr.in6_u.u6_addr32[i];
			ck.laddr[i] = req->__req_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
		}
	}
	c = bpf_sk_storage_get(&dsm_sockets, newsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	peer = ck.family == AF_INET || ck.family == AF_INET6 ?
		       bpf_map_lookup_elem(&dsm_conn_peers, &ck) : NULL;
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
