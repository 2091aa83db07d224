// SPDX-License-Identifier: GPL-2.0
/*
 * dsm's packet path (docs/wire.md): tc programs that carry a socket's label
 * to the receiving node in an authenticated IPv4 option.
 *
 *   dsm_egress        inserts the dsm option into IPv4 packets of labeled
 *                     sockets; a packet that should carry it and cannot is
 *                     dropped, never sent unlabeled. On loopback it only
 *                     records the label in the skb (dsm/wire.h)
 *   dsm_ingress       checks the option of arriving packets: malformed,
 *                     unknown key, wrong MAC or stale epoch is dropped; a
 *                     good option stays in place for the receive-side check
 *   dsm_sockops       writes the connection token into every TCP segment of
 *                     a bound connection with DSM_NET_F_TCP_ALL (token.bpf.h;
 *                     dsmd attaches it to the root cgroup)
 *   dsm_mac_selftest  known-answer test of the MAC code as loaded, run by
 *                     BPF_PROG_TEST_RUN in the unit tests (dsmd does not
 *                     load it); not meant to be attached (and harmless if
 *                     it is)
 *
 * Helpers and headers:
 *   siphash.h     SipHash-2-4, fixed 28-byte message and bounded generic
 *   ipopt.h       the IPv4 option walker
 *   net_verify.h  the MAC message, the MAC check, the epoch window
 *   net_tcp.h     the connection token among a segment's TCP options
 *   maps.bpf.h    the maps shared with the LSM object (pinned by name)
 *
 * Where the IPv4 header starts: dsm_egress (Ethernet, loopback) reads the
 * ethertype behind up to DSM_VLAN_MAX VLAN tags (frame_of), dsm_egress_l3
 * (devices without a link header) takes byte 0; dsm_ingress ETH_HLEN in.
 */
#include "report.bpf.h"
#include "siphash.h"
#include "ipopt.h"
#include "net_tcp.h"
#include "net_verify.h"
#include "token.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* MACs made last on this CPU (net_verify.h); this object's own. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsm_mac_memo);
} dsm_mac_memos SEC(".maps");

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

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK    0
#define TC_ACT_SHOT  2
#define ETH_HLEN_    14     /* Ethernet header (and loopback's) */
#define ETH_P_IPV4   0x0800
#define IP_HLEN      20     /* IPv4 header without options */
#define IP_CHECK_OFF 10     /* its checksum */
#define IP_OFFMASK   0x1fff
#define TCP_F_SYN    0x02
#define TCP_F_ACK    0x10

/* The first word of the IPv4 header: what growing the header changes. */
struct ip4_word0 {
	__u8   vihl;
	__u8   tos;
	__be16 tot_len;
};

static __always_inline struct dsm_net_cfg *net_cfg(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&dsm_net_config, &k);
}

static __always_inline struct dsm_mac_key *net_key(__u32 slot)
{
	return bpf_map_lookup_elem(&dsm_keys, &slot);
}

static __always_inline struct dsm_mac_memo *mac_memo(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dsm_mac_memos, &zero);
}

/* One event per dropped packet; a full ring buffer costs the event, never
 * the packet's verdict. */
static __always_inline void report_drop(struct __sk_buff *skb, __u8 dir, __u8 reason,
					__u8 detail, const struct ip4 *h,
					const struct dsm_ipopt *claim, __u32 local_epoch)
{
	union dsm_event_body b = {};

	b.p.direction = dir;
	b.p.reason = reason;
	b.p.detail = detail;
	b.p.protocol = h->protocol;
	b.p.ifindex = skb->ifindex;
	b.p.saddr = h->saddr;
	b.p.daddr = h->daddr;
	b.p.local_epoch = local_epoch;
	if (claim) {
		b.p.key_id = claim->key_id;
		b.p.flags = DSM_NEV_F_CLAIM;
		b.p.label = bpf_ntohl(claim->label);
		b.p.node = bpf_ntohl(claim->node);
		b.p.epoch = bpf_ntohl(claim->epoch);
	}
	report(&b, DSM_EV_PACKET, DSM_VERDICT_DENY, 0);
}

/* ---- egress ------------------------------------------------------------- */

/*
 * The label of the socket that sent the packet, 0 if none. A SYN-ACK is
 * sent by a request socket, or with no socket at all when answering with a
 * SYN cookie: it carries the listener's label, found as the SYN it answers
 * found it (tuple: the SYN's addresses and ports, filled in by the caller
 * for a SYN-ACK; tuple_len 0 otherwise).
 */
static __always_inline __u32 sock_label(struct __sk_buff *skb, struct bpf_sock_tuple *tuple,
					__u32 tuple_len)
{
	struct bpf_sock *sk = skb->sk, *fsk;
	struct dsm_sock_ctx *c;
	__u32 label = 0;

	if (sk) {
		fsk = bpf_sk_fullsock(sk);
		if (!fsk)
			fsk = bpf_get_listener_sock(sk);
		if (!fsk)
			return 0;
		c = bpf_sk_storage_get(&dsm_sockets, fsk, 0, 0);
		return c ? c->label : 0;
	}
	if (!tuple_len)
		return 0;
	sk = bpf_sk_lookup_tcp(skb, tuple, tuple_len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
	if (c)
		label = c->label;
	bpf_sk_release(sk);
	return label;
}

static __always_inline __u32 *label_tag(__u32 label)
{
	return bpf_map_lookup_elem(&dsm_local_tags, &label);
}

static __always_inline int out_drop(struct __sk_buff *skb, __u8 reason, __u8 detail,
				    const struct ip4 *h, const struct dsm_ipopt *opt,
				    __u32 local_epoch)
{
	count(DSM_CNT_PKT_DROP_NOROOM);
	report_drop(skb, DSM_NEV_DIR_EGRESS, reason, detail, h, opt, local_epoch);
	return TC_ACT_SHOT;
}

/* Two copies of one IPv4 header? */
static __always_inline bool same_ip4(const struct ip4 *a, const struct ip4 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* The most bytes of its own options a packet may have and still take the
 * dsm option (the header grows by exactly DSM_OPT_LEN). */
#define OWN_MAX (DSM_IPOPT_SPACE - DSM_OPT_LEN)

/* What label_packet returns for a packet it lets go without option
 * (no key for it and no cluster key configured): not a tc verdict. */
#define SENT_UNLABELED 0x100

/*
 * The option for label to daddr, all but its MAC (dsm_mac_put), and the
 * key to make it with, NULL if there is none:
 *   - in pair mode (DSM_NET_F_PAIR), to an address of a node that has a
 *     valid pair key of the sending generation: version 3 under it;
 *   - else, unless no cluster key is configured (DSM_NET_F_NO_CLUSTER),
 *     version 2 (or 1) under the key of the sending slot;
 *   - else none; *peer_node says whether daddr is an address of a node
 *     (which label_packet refuses to send to without option).
 */
static __always_inline struct dsm_mac_key *option_of(const struct dsm_net_cfg *cfg, __u32 label,
						      __u32 epoch, __be32 daddr,
						      struct dsm_ipopt *opt, int *peer_node)
{
	struct dsm_pair_slot ps = {};
	struct dsm_mac_key *key;
	__u32 *node = NULL;

	opt->type = DSM_OPT_TYPE;
	opt->len = DSM_OPT_LEN;
	opt->version = cfg->flags & DSM_NET_F_SEND_V1 ? DSM_OPT_VERSION_1 : DSM_OPT_VERSION;
	opt->label = bpf_htonl(label);
	opt->node = bpf_htonl(cfg->node_id);
	opt->epoch = bpf_htonl(epoch);
	if (cfg->flags & (DSM_NET_F_PAIR | DSM_NET_F_NO_CLUSTER))
		node = bpf_map_lookup_elem(&dsm_pair_addrs, &daddr);
	*peer_node = node != NULL;
	if (node && (cfg->flags & DSM_NET_F_PAIR)) {
		ps.node = *node;
		ps.slot = cfg->send_generation & 1;
		key = bpf_map_lookup_elem(&dsm_pair_keys, &ps);
		if (key && key->valid && key->key_id == cfg->send_generation) {
			opt->version = DSM_OPT_VERSION_3;
			opt->key_id = cfg->send_generation;
			return key;
		}
	}
	if (cfg->flags & DSM_NET_F_NO_CLUSTER)
		return NULL;
	key = net_key(cfg->flags & DSM_NET_F_SEND_SLOT1 ? 1 : 0);
	if (key)
		opt->key_id = key->key_id;
	return key;
}

/* The ports a version 3 MAC binds (dsm/wire.h): the transport header's
 * first four bytes, at tp_off, of a TCP, UDP, UDP-Lite or SCTP packet that
 * is not a fragment after the first; 0 otherwise. < 0: the header should
 * be there and cannot be read. */
static __always_inline int ports_of(struct __sk_buff *skb, const struct ip4 *h, __u32 tp_off,
				    __be32 *ports)
{
	*ports = 0;
	if (!dsm_proto_has_ports(h->protocol) || (bpf_ntohs(h->frag_off) & IP_OFFMASK))
		return 0;
	return bpf_skb_load_bytes(skb, tp_off, ports, sizeof(*ports)) < 0 ? -1 : 0;
}

/*
 * Every check that can fail before the packet is touched: the header's
 * own options (opts, as loaded: their length into *oldlen) leave room for
 * the option, no GSO, a valid key, the MTU with the option, and the
 * kernel's network header is the header found in the frame (at_net: its
 * copy). 0 when the option fits, else the drop's verdict (out_drop; opt
 * and epoch go into its report).
 */
static __always_inline int room_for_option(struct __sk_buff *skb, const struct ip4 *h,
					   const struct dsm_ipopt_buf *opts,
					   const struct dsm_mac_key *key,
					   const struct dsm_ipopt *opt, __u32 epoch,
					   struct ip4 *at_net, __u64 *oldlen_out)
{
	/* 64-bit lengths: no zero extension between a bounds test and the
	 * helper call that relies on it */
	__u64 ihl, oldlen;
	__u32 mtu_len = 0;

	ihl = h->vihl & 0xf;
	if (ihl < IP_HLEN / 4)
		return out_drop(skb, DSM_NR_EGRESS_OPTIONS, DSM_IPOPT_E_HEADER, h, opt, epoch);
	oldlen = (ihl - IP_HLEN / 4) * 4;
	/* the tests below are for the verifier: keep them as written */
	dsm_opaque(oldlen);
	if (oldlen > OWN_MAX)
		return out_drop(skb, DSM_NR_NOROOM_OPTSPACE, 0, h, opt, epoch);
	if (oldlen && opts->len != oldlen)
		return out_drop(skb, DSM_NR_EGRESS_OPTIONS, DSM_IPOPT_E_HEADER, h, opt, epoch);
	if (skb->gso_size)
		return out_drop(skb, DSM_NR_NOROOM_GSO, 0, h, opt, epoch);
	if (!key || !key->valid)
		return out_drop(skb, DSM_NR_NOROOM_NOKEY, 0, h, opt, epoch);
	if (bpf_check_mtu(skb, 0, &mtu_len, DSM_OPT_LEN, 0))
		return out_drop(skb, DSM_NR_NOROOM_MTU, 0, h, opt, epoch);
	/* The kernel opens the gap after its own network header: it must be
	 * the header found in the frame, or the option would land inside it
	 * (a packet socket may name one protocol and send another). */
	if (skb->protocol != bpf_htons(ETH_P_IPV4) ||
	    bpf_skb_load_bytes_relative(skb, 0, at_net, sizeof(*at_net), BPF_HDR_START_NET) < 0 ||
	    !same_ip4(at_net, h))
		return out_drop(skb, DSM_NR_NOROOM_L2, 0, h, opt, epoch);
	*oldlen_out = oldlen;
	return 0;
}

/*
 * The packet's own options (opts, oldlen bytes, 4 or more) into own, with
 * everything from end-of-options (scan->end) on made a NOP (the scan has
 * checked that it is all zero) so that the list runs on to the dsm
 * option, and into *sum what that does to the header checksum. Without
 * branches: one per byte would multiply the paths the verifier walks.
 * < 0 on failure.
 */
static __always_inline int own_options(const struct dsm_ipopt_buf *opts,
				       const struct dsm_ipopt_scan *scan, __u64 oldlen,
				       __u8 own[OWN_MAX], __u64 *sum)
{
	__u64 end = scan->end, past, i;
	__s64 diff;

	for (i = 0; i < OWN_MAX; i++) {
		past = end - i - 1; /* wraps, top bit set, when i >= end */
		dsm_opaque(past);
		own[i] = opts->b[i] | (__u8)(past >> 63);
	}
	diff = bpf_csum_diff((__be32 *)opts->b, oldlen, (__be32 *)own, oldlen, 0);
	if (diff < 0)
		return -1;
	*sum = (__u32)diff;
	return 0;
}

/* The kernel opens a DSM_OPT_LEN gap right after the fixed header, and
 * the packet's own options (own, oldlen bytes) go back at its start: the
 * option comes after them. < 0 on failure (the packet may be changed). */
static __always_inline int open_gap(struct __sk_buff *skb, const __u8 own[OWN_MAX],
				    __u64 oldlen, const __u32 l2)
{
	if (bpf_skb_adjust_room(skb, DSM_OPT_LEN, BPF_ADJ_ROOM_NET, 0) < 0)
		return -1;
	if (oldlen >= 4) {
		/* the length afresh, bounded where the call is (a verifier that
		 * lost the test in room_for_option must not see a zero-sized
		 * store) */
		__u64 n = oldlen;

		dsm_resync(n);
		if (n < 4 || n > OWN_MAX || bpf_skb_store_bytes(skb, l2 + IP_HLEN, own, n, 0) < 0)
			return -1;
	}
	return 0;
}

/* The header checksum after the first word went from w_old to w_new and
 * the option came in (sum: what changed in the packet's own options).
 * RFC 1624: HC' = ~(~HC + ~m + m') over the changed 16-bit words; the new
 * option's words are all new. Native-order loads and stores of the same
 * words keep the one's complement sum byte-order free. */
static __always_inline __u16 ip4_check(__u16 check, const struct ip4_word0 *w_old,
				       const struct ip4_word0 *w_new,
				       const struct dsm_ipopt *opt, __u64 sum)
{
	__u64 i;

	sum += (__u16)~check;
	sum += (__u16)~((const __u16 *)w_old)[0] + (__u16)~((const __u16 *)w_old)[1];
	sum += ((const __u16 *)w_new)[0] + ((const __u16 *)w_new)[1];
	for (i = 0; i < DSM_OPT_LEN / 2; i++)
		sum += ((const __u16 *)opt)[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * The rest by direct writes into the (linear) header the kernel just
 * opened (open_gap), l2 bytes in: the option after the packet's own
 * options (oldlen bytes), the first word of h grown by the option, the
 * checksum (ip4_check). < 0 if the header is not there.
 */
static __always_inline int write_option(struct __sk_buff *skb, const struct ip4 *h,
					const struct dsm_ipopt *opt, __u64 oldlen, __u64 sum,
					const __u32 l2)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ip4_word0 w_old, w_new;
	struct ip4 *ip = data + l2;
	struct dsm_ipopt *dst;

	__builtin_memcpy(&w_old, h, sizeof(w_old));
	w_new = w_old;
	w_new.vihl = h->vihl + DSM_OPT_LEN / 4;
	w_new.tot_len = bpf_htons(bpf_ntohs(w_old.tot_len) + DSM_OPT_LEN);
	if ((void *)(ip + 1) > data_end)
		return -1;
	dst = (void *)(ip + 1) + (oldlen & 0x1f); /* the mask: a bound the verifier sees */
	if ((void *)(dst + 1) > data_end)
		return -1;
	*dst = *opt;
	*(struct ip4_word0 *)ip = w_new;
	ip->check = ip4_check(ip->check, &w_old, &w_new, opt, sum);
	return 0;
}

/*
 * Insert the dsm option after the packet's own options (opts, as loaded
 * and scanned by the caller: sound, no dsm option). The IPv4 header starts
 * l2 bytes in (a constant of each program: 14 on Ethernet, 0 on L3
 * devices), where the kernel's network header is too (checked: the option
 * goes where the kernel opens the gap). The option area is written whole:
 * the packet's own options, with an end-of-options and the zero padding
 * after it turned into NOPs so that the list runs on, then the dsm option.
 * There is room when the packet's own options take at most OWN_MAX bytes.
 * Every check that can fail runs before the packet is touched
 * (room_for_option); a failure after that drops it.
 */
static __always_inline int label_packet(struct __sk_buff *skb, const struct dsm_net_cfg *cfg,
					struct ip4 *h, __u32 label, struct dsm_ipopt_buf *opts,
					const struct dsm_ipopt_scan *scan, struct ip4 *at_net,
					const __u32 l2)
{
	__u8 own[OWN_MAX] = {}; /* all the own options there is room for */
	struct dsm_ipopt opt = {};
	struct dsm_mac_key *key;
	__u64 oldlen = 0, sum = 0, mac;
	__u32 epoch = dsm_epoch(bpf_ktime_get_tai_ns(), cfg);
	__be32 ports = 0;
	int ret, peer_node = 0;

	key = option_of(cfg, label, epoch, h->daddr, &opt, &peer_node);
	/* No key for it and no cluster key at all: to an address of no node,
	 * the packet goes without option (a label means nothing to a host
	 * that holds no key, and this is what a node without keys sends);
	 * to a node's address it is dropped (NOKEY, in room_for_option):
	 * that node would take it as unlabeled, by its address. */
	if (!key && (cfg->flags & DSM_NET_F_NO_CLUSTER) && !peer_node)
		return SENT_UNLABELED;
	ret = room_for_option(skb, h, opts, key, &opt, epoch, at_net, &oldlen);
	if (ret)
		return ret;
	if (opt.version == DSM_OPT_VERSION_3 &&
	    ports_of(skb, h, l2 + ((__u32)(h->vihl & 0xf) << 2), &ports) < 0)
		return out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, h, &opt, epoch);
	if (oldlen >= 4 && own_options(opts, scan, oldlen, own, &sum) < 0)
		return out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, h, &opt, epoch);

	/* no MAC only without a key (room_for_option has checked there is one) */
	if (dsm_mac(mac_memo(), key, h->saddr, h->daddr, h->protocol, h->id, ports, &opt, &mac) < 0)
		return out_drop(skb, DSM_NR_NOROOM_NOKEY, 0, h, &opt, epoch);
	dsm_mac_put(&opt, mac);

	if (open_gap(skb, own, oldlen, l2) < 0 || write_option(skb, h, &opt, oldlen, sum, l2) < 0)
		return out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, h, &opt, epoch);
	count(DSM_CNT_PKT_LABELED);
	return TC_ACT_OK;
}

/* ---- a socket's placeholder --------------------------------------------- */

/* The packet's whole option area is one placeholder (include/dsm/wire.h):
 * the kernel built it from the socket's IP_OPTIONS. Only its first three
 * bytes are read: all 24 are written over or taken out. */
static __always_inline bool is_placeholder(const struct dsm_ipopt_buf *opts)
{
	return opts->len == DSM_OPT_LEN && opts->b[0] == DSM_OPT_TYPE &&
	       opts->b[1] == DSM_OPT_LEN && opts->b[2] == DSM_OPT_VERSION_PLACEHOLDER;
}

/* The kernel's network header is the one found in the frame, l2 bytes in
 * (at_net: its copy): what bpf_skb_adjust_room and the writes below rely
 * on. */
static __always_inline bool net_header_is(struct __sk_buff *skb, const struct ip4 *h,
					  struct ip4 *at_net)
{
	return skb->protocol == bpf_htons(ETH_P_IPV4) &&
	       bpf_skb_load_bytes_relative(skb, 0, at_net, sizeof(*at_net), BPF_HDR_START_NET) == 0 &&
	       same_ip4(at_net, h);
}

/* Take a placeholder out of a packet that goes without the option: the
 * header shrinks back to 20 bytes (no reallocation), its checksum
 * computed afresh. < 0 on failure (the packet may be changed). */
static __always_inline int strip_placeholder(struct __sk_buff *skb, const struct ip4 *h,
					     struct ip4 *at_net, const __u32 l2)
{
	struct ip4 n = *h;
	__s64 sum;

	if (!net_header_is(skb, h, at_net) ||
	    bpf_skb_adjust_room(skb, -(__s32)DSM_OPT_LEN, BPF_ADJ_ROOM_NET, 0) < 0)
		return -1;
	n.vihl = (h->vihl & 0xf0) | (IP_HLEN / 4);
	n.tot_len = bpf_htons(bpf_ntohs(h->tot_len) - DSM_OPT_LEN);
	n.check = 0;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&n, sizeof(n), 0);
	if (sum < 0)
		return -1;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	n.check = (__u16)~sum;
	return bpf_skb_store_bytes(skb, l2, &n, sizeof(n), 0);
}

/*
 * label_packet for a packet whose header holds a placeholder (old: its
 * bytes): the same option, key and MAC, written where the placeholder is,
 * and the header checksum moved by the difference. The kernel counted
 * the 24 bytes in the MTU and the MSS; there is nothing to reallocate.
 */
static __always_inline int fill_placeholder(struct __sk_buff *skb, const struct dsm_net_cfg *cfg,
					    const struct ip4 *h, __u32 label,
					    const struct dsm_ipopt_buf *old, struct ip4 *at_net,
					    const __u32 l2)
{
	struct dsm_ipopt opt = {};
	struct dsm_mac_key *key;
	__u32 epoch = dsm_epoch(bpf_ktime_get_tai_ns(), cfg);
	__be32 ports = 0;
	int peer_node = 0;
	__s64 diff;
	__u64 mac;

	key = option_of(cfg, label, epoch, h->daddr, &opt, &peer_node);
	if (!key && (cfg->flags & DSM_NET_F_NO_CLUSTER) && !peer_node)
		return strip_placeholder(skb, h, at_net, l2) < 0
			       ? out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, h, &opt, epoch)
			       : SENT_UNLABELED;
	if (skb->gso_size)
		return out_drop(skb, DSM_NR_NOROOM_GSO, 0, h, &opt, epoch);
	if (!key || !key->valid)
		return out_drop(skb, DSM_NR_NOROOM_NOKEY, 0, h, &opt, epoch);
	if (!net_header_is(skb, h, at_net))
		return out_drop(skb, DSM_NR_NOROOM_L2, 0, h, &opt, epoch);
	if (opt.version == DSM_OPT_VERSION_3 &&
	    ports_of(skb, h, l2 + IP_HLEN + DSM_OPT_LEN, &ports) < 0)
		return out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, h, &opt, epoch);
	if (dsm_mac(mac_memo(), key, h->saddr, h->daddr, h->protocol, h->id, ports, &opt, &mac) < 0)
		return out_drop(skb, DSM_NR_NOROOM_NOKEY, 0, h, &opt, epoch);
	dsm_mac_put(&opt, mac);
	diff = bpf_csum_diff((__be32 *)old->b, DSM_OPT_LEN, (__be32 *)&opt, DSM_OPT_LEN, 0);
	if (diff < 0 || bpf_skb_store_bytes(skb, l2 + IP_HLEN, &opt, sizeof(opt), 0) < 0 ||
	    bpf_l3_csum_replace(skb, l2 + IP_CHECK_OFF, 0, diff, 0) < 0)
		return out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, h, &opt, epoch);
	count(DSM_CNT_PKT_LABELED);
	return TC_ACT_OK;
}

/*
 * A labeled UDP socket whose header label_packet has grown: at the
 * DSM_PLACEHOLDER_AFTER-th datagram, ask dsmd, once, for a placeholder
 * (DSM_NET_F_PLACEHOLDER), so that the kernel leaves the room from then
 * on. A lost request (ring full, counted) leaves the socket on this path.
 */
static __always_inline void ask_placeholder(struct __sk_buff *skb, const struct dsm_net_cfg *cfg,
					    __u32 label)
{
	union dsm_event_body b = {};
	struct bpf_sock *sk = skb->sk;
	struct dsm_sock_ctx *c;

	if (!(cfg->flags & DSM_NET_F_PLACEHOLDER) || !sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_UDP)
		return;
	c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
	if (!c || !c->owner_tgid || (c->flags & DSM_SOCK_F_PLACEHOLDER))
		return;
	/* Plain writes (no 32-bit atomics before BPF v3): two CPUs sending
	 * at once may both ask; dsmd finds the placeholder set the second
	 * time. Only UDP sockets' flags are written here. */
	if (++c->grown < DSM_PLACEHOLDER_AFTER)
		return;
	c->flags |= DSM_SOCK_F_PLACEHOLDER;
	b.ph.cookie = bpf_get_socket_cookie(skb);
	b.ph.owner_start = c->owner_start;
	b.ph.owner_tgid = c->owner_tgid;
	b.ph.label = label;
	report(&b, DSM_EV_PLACEHOLDER, 0, 0);
}

/*
 * Where the network header of a frame starts, and what it is, read from
 * the frame itself and never from skb->protocol (a packet socket chooses
 * that freely; receivers go by the frame). On Ethernet (and loopback) the
 * ethertype after up to DSM_VLAN_MAX in-band 802.1Q/802.1ad tags; on a
 * device without a link header (tun, ipip, WireGuard) the IP version of
 * the first byte, as those drivers and their readers do.
 */
#define DSM_VLAN_MAX 4
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_P_IPV6_  0x86DD

enum frame_kind { FRAME_OTHER = 0, FRAME_IPV4, FRAME_IPV6, FRAME_DEEP };

struct frame {
	__u32 l2;   /* bytes before the network header */
	__u32 tags; /* in-band VLAN tags among them */
	__u32 kind; /* enum frame_kind; FRAME_DEEP: more tags than walked */
};

static __always_inline int is_vlan(__be16 p)
{
	return p == bpf_htons(ETH_P_8021Q) || p == bpf_htons(ETH_P_8021AD);
}

static __always_inline struct frame frame_of(struct __sk_buff *skb, const bool l3)
{
	struct frame f = { .kind = FRAME_OTHER };
	__be16 p;
	__u8 v;

	if (l3) {
		if (bpf_skb_load_bytes(skb, 0, &v, 1) < 0)
			return f;
		f.kind = v >> 4 == 4 ? FRAME_IPV4 : v >> 4 == 6 ? FRAME_IPV6 : FRAME_OTHER;
		return f;
	}
	if (bpf_skb_load_bytes(skb, 12, &p, sizeof(p)) < 0)
		return f;
	f.l2 = ETH_HLEN_;
#pragma unroll
	for (int i = 0; i < DSM_VLAN_MAX; i++) {
		if (!is_vlan(p))
			break;
		if (bpf_skb_load_bytes(skb, f.l2 + 2, &p, sizeof(p)) < 0)
			return (struct frame){ .kind = FRAME_OTHER };
		f.l2 += 4;
		f.tags++;
	}
	if (is_vlan(p))
		f.kind = FRAME_DEEP;
	else if (p == bpf_htons(ETH_P_IPV4))
		f.kind = FRAME_IPV4;
	else if (p == bpf_htons(ETH_P_IPV6_))
		f.kind = FRAME_IPV6;
	return f;
}

/* A packet that carries a dsm option this node did not write. */
static __always_inline int out_foreign(struct __sk_buff *skb, __u8 detail, const struct ip4 *h,
				       const struct dsm_ipopt *claim, const struct dsm_net_cfg *cfg)
{
	count(DSM_CNT_PKT_DROP_FOREIGN);
	report_drop(skb, DSM_NEV_DIR_EGRESS, DSM_NR_FOREIGN, detail, h, claim,
		    dsm_epoch(bpf_ktime_get_tai_ns(), cfg));
	return TC_ACT_SHOT;
}

/*
 * A packet whose options hold a dsm option (scan->dsm_off set) before this
 * program labeled anything. It passes as it is (TC_ACT_OK, counted as
 * relayed) when
 *   - the option claims this node and the packet carries that label's
 *     tag in skb->hash: this node's egress wrote it, in another network
 *     namespace it labels (the hash survives the veth and forwarding) or
 *     on a device stacked on this one; nothing but a BPF program, which
 *     is the bpf permission, or a generic netlink request, which is the
 *     net permission, sets skb->hash to a chosen value;
 *   - or the option claims another node and no socket of this node sent
 *     the packet: it is forwarded (a node that routes labeled traffic to
 *     containers or between networks), and what another node labeled is
 *     that node's to answer for: a copy of it is what anyone who can send
 *     to the cluster network can make (the replay window, docs/wire.md).
 * Anything else was not written here and is dropped: a copy sent by a
 * local socket (packet, raw, IP_OPTIONS), one that claims this node
 * without the mark, a malformed or duplicated one.
 */
static __always_inline int option_seen(struct __sk_buff *skb, const struct dsm_net_cfg *cfg,
				       const struct ip4 *h, const struct dsm_ipopt_scan *scan,
				       __u32 l2, __u32 optlen)
{
	struct dsm_ipopt opt = {};
	__u32 *tag;

	if ((__u32)scan->dsm_off + DSM_OPT_LEN > optlen ||
	    bpf_skb_load_bytes(skb, l2 + IP_HLEN + scan->dsm_off, &opt, sizeof(opt)) < 0)
		return out_foreign(skb, scan->status == DSM_IPOPT_MALFORMED ? scan->error
									    : DSM_IPOPT_E_OVERRUN,
				   h, NULL, cfg);
	if (scan->status != DSM_IPOPT_PRESENT)
		return out_foreign(skb, scan->error, h, &opt, cfg);
	if (bpf_ntohl(opt.node) == cfg->node_id) {
		tag = label_tag(bpf_ntohl(opt.label));
		if (tag && skb->hash == *tag) {
			count(DSM_CNT_PKT_RELAYED);
			return TC_ACT_OK;
		}
		return out_foreign(skb, 0, h, &opt, cfg);
	}
	if (!skb->sk) {
		count(DSM_CNT_PKT_RELAYED);
		return TC_ACT_OK;
	}
	return out_foreign(skb, 0, h, &opt, cfg);
}

/* The fixed IPv6 header. */
struct ip6 {
	__be32 vtc_flow;
	__be16 payload_len;
	__u8   nexthdr;
	__u8   hop_limit;
	__be32 saddr[4];
	__be32 daddr[4];
};

/*
 * IPv6 on loopback: the same-node label as for IPv4 (priority and the
 * label's tag in the hash; the receive check reads them for AF_INET6
 * sockets), for the same packets: UDP and the rest always, TCP at the
 * handshake (every segment under DSM_NET_F_TCP_ALL). IPv6 elsewhere, and
 * a label without a tag, pass untouched: no option carries an IPv6 label.
 */
static __always_inline int local6(struct __sk_buff *skb, const struct dsm_net_cfg *cfg, __u32 l2)
{
	struct bpf_sock_tuple tuple = {};
	struct dsm_tcp_hdr t = {};
	struct ip6 h = {};
	__u32 label, tuple_len = 0, *tag;

	if (!(cfg->flags & DSM_NET_F_LABEL_EGRESS) ||
	    bpf_skb_load_bytes(skb, l2, &h, sizeof(h)) < 0 || (h.vtc_flow & 0xf0) != 0x60)
		return TC_ACT_OK;
	if (h.nexthdr == IPPROTO_TCP && bpf_skb_load_bytes(skb, l2 + sizeof(h), &t, sizeof(t)) == 0) {
		if (!(t.flags & TCP_F_SYN) && !(cfg->flags & DSM_NET_F_TCP_ALL))
			return TC_ACT_OK;
		if ((t.flags & (TCP_F_SYN | TCP_F_ACK)) == (TCP_F_SYN | TCP_F_ACK)) {
			__builtin_memcpy(tuple.ipv6.saddr, h.daddr, sizeof(h.daddr));
			__builtin_memcpy(tuple.ipv6.daddr, h.saddr, sizeof(h.saddr));
			tuple.ipv6.sport = t.dest;
			tuple.ipv6.dport = t.source;
			tuple_len = sizeof(tuple.ipv6);
		}
	}
	label = sock_label(skb, &tuple, tuple_len);
	if (label == DSM_LABEL_INVALID)
		return TC_ACT_OK;
	tag = label_tag(label);
	if (!tag)
		return TC_ACT_OK;
	skb->priority = label;
	bpf_set_hash(skb, *tag);
	count(DSM_CNT_PKT_LOCAL);
	return TC_ACT_OK;
}

/* What the egress reads of an IPv4 packet, all of it on the stack once:
 * the stack is small. */
struct egress_pkt {
	union { /* one after the other */
		struct bpf_sock_tuple tuple; /* the SYN a SYN-ACK answers (sock_label) */
		struct ip4 at_net;           /* the kernel's network header (room_for_option) */
	} sc;
	struct dsm_ipopt_scan scan;
	struct dsm_ipopt_buf opts;
	struct dsm_tcp_hdr t;
	struct ip4 h;
	bool placeholder; /* the options are a socket's placeholder, not scanned */
};

/*
 * The IPv4 header l2 bytes into the frame (frame_of), into p->h, and its
 * options, if any (IHL > 5), into p->opts, walked into p->scan. 1 when the
 * header is sound: version 4, an IHL of 5 or more, the options loaded. A
 * header shorter than its IHL is dropped by every receiver; it only
 * matters if the packet is to be labeled.
 */
static __always_inline int ip4_of(struct __sk_buff *skb, __u32 l2, struct egress_pkt *p)
{
	int hdr_ok = bpf_skb_load_bytes(skb, l2, &p->h, sizeof(p->h)) == 0 &&
		     (p->h.vihl >> 4) == 4 && (p->h.vihl & 0xf) >= 5;
	__u64 optlen;

	if (!hdr_ok || (p->h.vihl & 0xf) <= 5)
		return hdr_ok;
	optlen = ((__u64)(p->h.vihl & 0xf) - 5) * 4;
	dsm_opaque(optlen);
	if (optlen > DSM_IPOPT_SPACE ||
	    bpf_skb_load_bytes(skb, l2 + IP_HLEN, p->opts.b, optlen) != 0)
		return 0;
	p->opts.len = optlen;
	p->placeholder = is_placeholder(&p->opts);
	if (p->placeholder)
		return 1;
	dsm_ipopt_unpack(dsm_ipopt_scan_global(&p->opts), &p->scan);
	return 1;
}

/*
 * The label an IPv4 packet is to carry, DSM_LABEL_INVALID for none: its
 * socket's (sock_label), except for TCP past the handshake, for which no
 * socket is looked up: between nodes its segments carry the connection
 * token (DSM_NET_F_TCP_ALL, the sockops program) or nothing, and only on
 * loopback does DSM_NET_F_TCP_ALL tag every one. A TCP segment's header
 * (not a fragment's) goes into p->t.
 */
static __always_inline __u32 packet_label(struct __sk_buff *skb, const struct dsm_net_cfg *cfg,
					  struct egress_pkt *p, int hdr_ok, __u32 l2, int on_lo)
{
	const struct ip4 *h = &p->h;
	__u32 tuple_len = 0;
	int syn = 0;

	if (hdr_ok && h->protocol == IPPROTO_TCP && !(bpf_ntohs(h->frag_off) & IP_OFFMASK) &&
	    bpf_skb_load_bytes(skb, l2 + ((__u32)(h->vihl & 0xf) << 2), &p->t, sizeof(p->t)) == 0)
		syn = !!(p->t.flags & TCP_F_SYN);
	if (hdr_ok && h->protocol == IPPROTO_TCP && !syn &&
	    !(on_lo && (cfg->flags & DSM_NET_F_TCP_ALL)))
		return DSM_LABEL_INVALID;
	if (syn && (p->t.flags & TCP_F_ACK)) {
		p->sc.tuple.ipv4.saddr = h->daddr;
		p->sc.tuple.ipv4.daddr = h->saddr;
		p->sc.tuple.ipv4.sport = p->t.dest;
		p->sc.tuple.ipv4.dport = p->t.source;
		tuple_len = sizeof(p->sc.tuple.ipv4);
	}
	return sock_label(skb, &p->sc.tuple, tuple_len);
}

/*
 * Give an IPv4 packet its label. On loopback, a label with a tag rides in
 * the skb and the packet is untouched; everywhere else, and for a label
 * without a tag (not in the policy), the packet gets the option
 * (label_packet) or, when it cannot, is dropped. tags: in-band VLAN tags
 * before the header (frame_of); l2: where the header is when there are
 * none, a constant of each program.
 */
static __always_inline int label_ip4(struct __sk_buff *skb, const struct dsm_net_cfg *cfg,
				     struct egress_pkt *p, __u32 label, int on_lo, int hdr_ok,
				     __u32 tags, const __u32 l2)
{
	__u32 *tag = label_tag(label);
	int ret;

	if (on_lo && tag) {
		if (p->placeholder && strip_placeholder(skb, &p->h, &p->sc.at_net, l2) < 0)
			return out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, &p->h, NULL,
					dsm_epoch(bpf_ktime_get_tai_ns(), cfg));
		skb->priority = label;
		bpf_set_hash(skb, *tag);
		count(DSM_CNT_PKT_LOCAL);
		return TC_ACT_OK;
	}
	if (!hdr_ok)
		return out_drop(skb, DSM_NR_EGRESS_OPTIONS, DSM_IPOPT_E_HEADER, &p->h, NULL,
				dsm_epoch(bpf_ktime_get_tai_ns(), cfg));
	if (p->scan.status == DSM_IPOPT_MALFORMED)
		return out_drop(skb, DSM_NR_EGRESS_OPTIONS, p->scan.error, &p->h, NULL,
				dsm_epoch(bpf_ktime_get_tai_ns(), cfg));
	/* The IPv4 header behind in-band VLAN tags: the kernel's network
	 * header and protocol do not say where it is (labeling it would need
	 * the tags popped and pushed again). A VLAN device with reorder_hdr
	 * on, the default, hands its lower device an untagged frame. */
	if (tags)
		return out_drop(skb, DSM_NR_NOROOM_L2, 0, &p->h, NULL,
				dsm_epoch(bpf_ktime_get_tai_ns(), cfg));
	if (p->placeholder)
		ret = fill_placeholder(skb, cfg, &p->h, label, &p->opts, &p->sc.at_net, l2);
	else
		ret = label_packet(skb, cfg, &p->h, label, &p->opts, &p->scan, &p->sc.at_net,
				   l2);
	if (ret == SENT_UNLABELED) {
		count(DSM_CNT_PKT_NOT_LABELED);
		return TC_ACT_OK;
	}
	/* The mark of this node's egress: the packet may cross into another
	 * namespace of this node, or a device stacked under this one, and
	 * pass their egress as this node's own (option_seen). */
	if (ret == TC_ACT_OK && tag)
		bpf_set_hash(skb, *tag);
	if (ret == TC_ACT_OK && !p->placeholder)
		ask_placeholder(skb, cfg, label);
	return ret;
}

/* A packet that goes as it is, but for a placeholder, which comes out. */
static __always_inline int unlabeled(struct __sk_buff *skb, const struct dsm_net_cfg *cfg,
				     struct egress_pkt *p, const __u32 l2)
{
	if (p->placeholder && strip_placeholder(skb, &p->h, &p->sc.at_net, l2) < 0)
		return out_drop(skb, DSM_NR_NOROOM_ADJUST, 0, &p->h, NULL,
				dsm_epoch(bpf_ktime_get_tai_ns(), cfg));
	count(DSM_CNT_PKT_NOT_LABELED);
	return TC_ACT_OK;
}

/*
 * Every egress packet, on a device with an Ethernet header (l3 false:
 * Ethernet, loopback) or without one (l3 true: tun, ipip, WireGuard).
 * What it costs beyond the old protocol test, per packet: one 2-byte load
 * of the ethertype (and one more per VLAN tag); for IPv4 with IHL 5 the
 * header load the program always made; the option walk only for a header
 * with options (IHL > 5).
 */
static __always_inline int egress(struct __sk_buff *skb, const bool l3)
{
	struct egress_pkt p = { .scan = { .status = DSM_IPOPT_ABSENT, .dsm_off = DSM_IPOPT_NONE } };
	struct dsm_net_cfg *cfg;
	struct frame f;
	int hdr_ok, on_lo;
	__u32 label, *tag;

	cfg = net_cfg();
	if (!cfg)
		return TC_ACT_OK;
	/* A hash that happens to be the tag of the priority's label says
	 * nothing: clear it (a labeled packet gets its tag in label_ip4). */
	on_lo = !l3 && skb->ifindex == DSM_LOOPBACK_IFINDEX;
	if (on_lo) {
		tag = label_tag(skb->priority);
		if (tag && skb->hash == *tag)
			bpf_set_hash_invalid(skb);
	}
	f = frame_of(skb, l3);
	if (f.kind == FRAME_DEEP)
		return out_foreign(skb, DSM_IPOPT_E_HEADER, &p.h, NULL, cfg);
	if (f.kind == FRAME_IPV6)
		return on_lo ? local6(skb, cfg, f.l2) : TC_ACT_OK;
	if (f.kind != FRAME_IPV4)
		return TC_ACT_OK;
	hdr_ok = ip4_of(skb, f.l2, &p);
	/* Options: whatever sent them, a dsm option among them must be this
	 * node's (option_seen). */
	if (p.scan.dsm_off != DSM_IPOPT_NONE)
		return option_seen(skb, cfg, &p.h, &p.scan, f.l2, p.opts.len);
	/* A placeholder is a local socket's, never a forwarded packet's. */
	if (p.placeholder && !skb->sk)
		return out_foreign(skb, 0, &p.h, NULL, cfg);
	label = DSM_LABEL_INVALID;
	if (cfg->flags & DSM_NET_F_LABEL_EGRESS)
		label = packet_label(skb, cfg, &p, hdr_ok, f.l2, on_lo);
	if (label == DSM_LABEL_INVALID)
		return unlabeled(skb, cfg, &p, l3 ? 0 : ETH_HLEN_);
	return label_ip4(skb, cfg, &p, label, on_lo, hdr_ok, f.tags, l3 ? 0 : ETH_HLEN_);
}

/* Devices with an Ethernet header, and loopback. */
SEC("tc")
int dsm_egress(struct __sk_buff *skb)
{
	return egress(skb, false);
}

/* Devices without a link header (ARPHRD_NONE, tunnels, PPP, raw IP): the
 * IPv4 header is the first byte. */
SEC("tc")
int dsm_egress_l3(struct __sk_buff *skb)
{
	return egress(skb, true);
}

/* ---- ingress ------------------------------------------------------------ */

static __always_inline int in_drop(struct __sk_buff *skb, enum dsm_counter counter, __u8 reason,
				   __u8 detail, const struct ip4 *h,
				   const struct dsm_ipopt *claim, __u32 local_epoch)
{
	count(counter);
	report_drop(skb, DSM_NEV_DIR_INGRESS, reason, detail, h, claim, local_epoch);
	return TC_ACT_SHOT;
}

SEC("tc")
int dsm_ingress(struct __sk_buff *skb)
{
	struct dsm_ipopt_buf opts = {};
	struct dsm_mac_key *slot0, *slot1;
	struct dsm_ipopt_scan scan = {};
	struct dsm_ipopt opt = {};
	struct dsm_net_cfg *cfg;
	struct ip4 h = {};
	__u64 hlen, optlen;
	__be32 ports = 0;
	__u32 epoch;

	if (skb->protocol != bpf_htons(ETH_P_IPV4))
		return TC_ACT_OK;
	cfg = net_cfg();
	if (!cfg || !(cfg->flags & DSM_NET_F_VERIFY))
		return TC_ACT_OK;
	epoch = dsm_epoch(bpf_ktime_get_tai_ns(), cfg);

	if (bpf_skb_load_bytes(skb, ETH_HLEN_, &h, sizeof(h)) < 0)
		return in_drop(skb, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER,
			       &h, NULL, epoch);
	hlen = (__u64)(h.vihl & 0xf) << 2;
	if ((h.vihl >> 4) != 4 || hlen < IP_HLEN || bpf_ntohs(h.tot_len) < hlen)
		return in_drop(skb, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER,
			       &h, NULL, epoch);
	if (hlen == IP_HLEN) {
		count(DSM_CNT_PKT_UNLABELED_IN);
		return TC_ACT_OK;
	}
	optlen = hlen - IP_HLEN;
	/* bounded where the call is: a verifier that cannot tell "not 20"
	 * from a range would see a zero-sized load */
	dsm_opaque(optlen);
	if (optlen < 4 || optlen > DSM_IPOPT_SPACE ||
	    bpf_skb_load_bytes(skb, ETH_HLEN_ + IP_HLEN, opts.b, optlen) < 0)
		return in_drop(skb, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, DSM_IPOPT_E_HEADER,
			       &h, NULL, epoch);
	opts.len = optlen;
	dsm_ipopt_unpack(dsm_ipopt_scan_global(&opts), &scan);
	if (scan.status == DSM_IPOPT_ABSENT) {
		count(DSM_CNT_PKT_UNLABELED_IN);
		return TC_ACT_OK;
	}
	/* What the option claims, when its 24 bytes are in the header. */
	if (scan.dsm_off == DSM_IPOPT_NONE ||
	    (__u32)scan.dsm_off + DSM_OPT_LEN > optlen ||
	    bpf_skb_load_bytes(skb, ETH_HLEN_ + IP_HLEN + scan.dsm_off, &opt, sizeof(opt)) < 0) {
		if (scan.status == DSM_IPOPT_PRESENT) /* cannot happen: present means 24 bytes fit */
			scan.error = DSM_IPOPT_E_OVERRUN;
		return in_drop(skb, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, scan.error, &h, NULL,
			       epoch);
	}
	if (scan.status == DSM_IPOPT_MALFORMED)
		return in_drop(skb, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED, scan.error, &h, &opt,
			       epoch);

	if (opt.version == DSM_OPT_VERSION_3) {
		struct dsm_pair_slot ps = { .node = bpf_ntohl(opt.node), .slot = opt.key_id & 1 };

		/* Each fragment on its own: the first (offset 0) holds the
		 * ports its MAC binds, a later one has none and its MAC binds
		 * zero (the sender's egress saw the fragments as these). */
		if (ports_of(skb, &h, ETH_HLEN_ + hlen, &ports) < 0)
			return in_drop(skb, DSM_CNT_PKT_DROP_MALFORMED, DSM_NR_MALFORMED,
				       DSM_IPOPT_E_HEADER, &h, &opt, epoch);
		slot0 = bpf_map_lookup_elem(&dsm_pair_keys, &ps);
		slot1 = NULL;
	} else {
		slot0 = net_key(0);
		slot1 = net_key(1);
	}
	switch (dsm_verify(mac_memo(), &opt, h.saddr, h.daddr, h.protocol, h.id, ports, slot0,
			   slot1, epoch, cfg->epoch_window)) {
	case DSM_VERIFY_OK:
		count(DSM_CNT_PKT_VERIFIED);
		return TC_ACT_OK;
	case DSM_VERIFY_NOKEY:
		return in_drop(skb, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_NOKEY, 0, &h, &opt, epoch);
	case DSM_VERIFY_BADMAC:
		return in_drop(skb, DSM_CNT_PKT_DROP_BADMAC, DSM_NR_BADMAC, 0, &h, &opt, epoch);
	default:
		return in_drop(skb, DSM_CNT_PKT_DROP_STALE, DSM_NR_STALE, 0, &h, &opt, epoch);
	}
}

/* ---- self-test ---------------------------------------------------------- */

/*
 * Known-answer test of the MAC code as the kernel runs it, for dsmd to run
 * at start with BPF_PROG_TEST_RUN. Input, the packet: a 16-byte key, then
 * a message of at most DSM_SIPHASH_MAX_LEN bytes. Output, in slot 0 of
 * dsm_net_selftest: the SipHash-2-4 of the message (dsm_siphash) and, for
 * a 28-byte message, that of dsm_siphash_28 (else 0), both as the 8 bytes
 * the reference writes. Returns TC_ACT_OK, or TC_ACT_UNSPEC for an input
 * of another size. It never changes or drops a packet, so attaching it by
 * mistake costs time and nothing else.
 */
SEC("tc")
int dsm_mac_selftest(struct __sk_buff *skb)
{
	__u64 key[2] = {}, buf[DSM_SIPHASH_MAX_LEN / 8] = {}, len = skb->len;
	struct dsm_net_selftest *out;
	__u32 zero = 0;

	out = bpf_map_lookup_elem(&dsm_net_selftest, &zero);
	if (!out)
		return TC_ACT_UNSPEC;
	if (len < sizeof(key) || len > sizeof(key) + DSM_SIPHASH_MAX_LEN)
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes(skb, 0, key, sizeof(key)) < 0)
		return TC_ACT_UNSPEC;
	len -= sizeof(key);
	dsm_opaque(len); /* keep the test as written: the verifier needs it */
	if (len >= 1 && bpf_skb_load_bytes(skb, sizeof(key), buf, len) < 0)
		return TC_ACT_UNSPEC;

	out->mac = dsm_le64(dsm_siphash(dsm_le64(key[0]), dsm_le64(key[1]), buf, len));
	out->mac28 = 0;
	if (len == DSM_MAC_MSG_LEN)
		out->mac28 = dsm_le64(dsm_siphash_28(dsm_le64(key[0]), dsm_le64(key[1]),
						     (const union dsm_mac_msg *)buf));
	return TC_ACT_OK;
}
