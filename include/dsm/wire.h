/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dsm wire format: the IPv4 option that carries a sender's label and node
 * across the cluster, and the kernel/user ABI of the packet programs.
 * docs/wire.md is the normative description; this header and it must agree.
 *
 * Option (24 bytes, a multiple of 4 so no padding option is needed):
 *
 *   0      1      2      3      4             8             12            16                     24
 *   +------+------+------+------+-------------+-------------+-------------+----------------------+
 *   | type | len  | ver  | kid  | label (BE)  | node (BE)   | epoch (BE)  | MAC (8 bytes)        |
 *   | 0x9e | 24   | 2    |      |   ScID      |   SnID      |             | SipHash-2-4          |
 *   +------+------+------+------+-------------+-------------+-------------+----------------------+
 *
 * type 0x9e = copied (0x80) | class 0 | number 30: RFC 4727's experimental
 * option 158, copied into every fragment.
 *
 * MAC = SipHash-2-4(key[kid], msg) with msg (28 bytes) =
 *   saddr(4) daddr(4) protocol(1) zero(1) id(2) option bytes 0..15 (16)
 * all in network byte order as they are on the wire; option bytes 0..15 are
 * everything before the MAC (type, len, ver, kid, label, node, epoch). id
 * is zero in a version 2 option and the packet's IP ID in a version 1
 * option, which receivers still accept. It binds the label to the
 * addresses and protocol of the packet; it does not cover the payload (see
 * docs/wire.md for what that means).
 */
#ifndef DSM_WIRE_H
#define DSM_WIRE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define DSM_OPT_TYPE     0x9e
#define DSM_OPT_LEN      24
#define DSM_OPT_VERSION  2 /* what senders write */
#define DSM_OPT_VERSION_1 1 /* accepted: its MAC also covers the IP ID */
#define DSM_OPT_MAC_OFF  16
#define DSM_MAC_MSG_LEN  28

struct dsm_ipopt {
	__u8  type;    /* DSM_OPT_TYPE */
	__u8  len;     /* DSM_OPT_LEN */
	__u8  version; /* DSM_OPT_VERSION, or DSM_OPT_VERSION_1 */
	__u8  key_id;
	__be32 label;
	__be32 node;
	__be32 epoch;
	__u8  mac[8];
};

/* Cluster keys. A receiver accepts the key id of either valid slot; a
 * sender uses slot 0, or slot 1 with DSM_NET_F_SEND_SLOT1, so that a
 * rotation (next key into the other slot on every node, then flip the flag)
 * never leaves a key in flight unaccepted. A slot with valid == 0 matches
 * nothing. docs/wire.md gives the rotation procedure. */
#define DSM_KEY_SLOTS 2

struct dsm_mac_key {
	__u8  valid;
	__u8  key_id;
	__u16 pad0;
	__u32 pad1;
	__u64 k0; /* SipHash key, little-endian halves as in the reference */
	__u64 k1;
};

/* Packet-path configuration (array map, one slot), written by dsmd. */
struct dsm_net_cfg {
	__u32 node_id;      /* this node's SnID */
	__u32 epoch;        /* current epoch, advanced by dsmd */
	__u32 epoch_window; /* accept epochs in [epoch - window, epoch + window] */
	__u32 flags;        /* DSM_NET_F_* */
	__u32 local_tag;    /* same-node packets: see below; 0 = none */
	__u32 reserved;     /* 0 */
};

/*
 * Same-node packets never leave the kernel, so they need no option and no
 * MAC. On a loopback device the egress program leaves the packet as it is,
 * records the sending socket's label in skb->priority and sets skb->hash
 * to local_tag (32 random non-zero bits dsmd draws once) to say that it
 * did. The receive check takes a loopback packet's sender from there, as
 * label@this node, only while DSM_NET_F_LABEL_EGRESS is set. No socket can
 * choose skb->hash, and a packet that skips the egress program (a packet
 * socket with PACKET_QDISC_BYPASS) gets a keyed flow hash, not the tag:
 * it is unlabeled. docs/wire.md has the argument in full.
 */
#define DSM_LOOPBACK_IFINDEX 1 /* every network namespace's lo */

#define DSM_NET_F_LABEL_EGRESS (1u << 0) /* insert options (off: local checks only) */
#define DSM_NET_F_VERIFY       (1u << 1) /* verify options on ingress */
#define DSM_NET_F_TCP_ALL      (1u << 2) /* label every TCP segment, not only SYN and
					    * SYN-ACK; clamps the MSS of both by
					    * DSM_OPT_LEN. Needs one segment per skb
					    * (gso_max_segs 1): GSO packets are dropped. */
#define DSM_NET_F_SEND_SLOT1   (1u << 3) /* send with key slot 1 instead of 0 */
#define DSM_NET_F_SEND_V1      (1u << 4) /* send version 1 options (for receivers
					    * that know no other; docs/wire.md) */

/* Per-CPU packet counters. */
enum dsm_net_counter {
	DSM_NC_LABELED = 0,    /* options inserted */
	DSM_NC_NOT_LABELED,    /* egress packets left alone: no labeled socket */
	DSM_NC_DROP_NOROOM,    /* could not be labeled (MTU, headroom, GSO, options full): dropped */
	DSM_NC_VERIFIED,       /* ingress: MAC and epoch good */
	DSM_NC_UNLABELED_IN,   /* ingress: no dsm option */
	DSM_NC_DROP_MALFORMED, /* ingress: option present but malformed */
	DSM_NC_DROP_BADMAC,    /* ingress: unknown key or wrong MAC */
	DSM_NC_DROP_STALE,     /* ingress: epoch outside the window */
	DSM_NC_EVENTS_DROPPED, /* drop events lost: dsm_net_events full */
	DSM_NC_LOCAL,          /* egress on loopback: label recorded, packet untouched */
	DSM_NC_MAX,
};

/* Why a packet was dropped (struct dsm_net_event.reason). The counter each
 * reason bumps is given in brackets. */
enum dsm_net_reason {
	DSM_NR_NOROOM_OPTSPACE = 1, /* egress: options present + 24 > 40 bytes [NOROOM] */
	DSM_NR_NOROOM_MTU,          /* egress: labeled packet would exceed the MTU [NOROOM] */
	DSM_NR_NOROOM_GSO,          /* egress: GSO packet, segments cannot share a MAC [NOROOM] */
	DSM_NR_NOROOM_ADJUST,       /* egress: the kernel could not grow the header [NOROOM] */
	DSM_NR_NOROOM_NOKEY,        /* egress: the sending key slot not valid [NOROOM] */
	DSM_NR_EGRESS_OPTIONS,      /* egress: the packet's own options are malformed or
				     * already carry a dsm option [NOROOM] */
	DSM_NR_MALFORMED,           /* ingress: malformed header or options; detail says
				     * which (enum dsm_ipopt_error) [MALFORMED] */
	DSM_NR_NOKEY,               /* ingress: key id matches no valid slot [BADMAC] */
	DSM_NR_BADMAC,              /* ingress: MAC mismatch [BADMAC] */
	DSM_NR_STALE,               /* ingress: epoch outside the window [STALE] */
};

/* enum dsm_net_reason DSM_NR_MALFORMED details (also the option walker's verdicts). */
enum dsm_ipopt_error {
	DSM_IPOPT_OK = 0,
	DSM_IPOPT_E_HEADER,  /* not IPv4, ihl < 5, header truncated, tot_len < ihl * 4 */
	DSM_IPOPT_E_TRUNC,   /* a multi-byte option's length byte is past the header end */
	DSM_IPOPT_E_LEN,     /* an option length of 0 or 1 */
	DSM_IPOPT_E_OVERRUN, /* an option runs past the header end */
	DSM_IPOPT_E_DSM_LEN, /* dsm option with len != DSM_OPT_LEN */
	DSM_IPOPT_E_DSM_VER, /* dsm option of a version this node does not know */
	DSM_IPOPT_E_DUP,     /* more than one dsm option */
	DSM_IPOPT_E_PAD,     /* a non-zero byte after end-of-options */
};

#define DSM_NET_EVENT_VERSION 1
#define DSM_NEV_DIR_INGRESS   0
#define DSM_NEV_DIR_EGRESS    1
#define DSM_NEV_F_CLAIM       (1u << 0) /* label, node, epoch, key_id are set */

/* One record on the dsm_net_events ring buffer per dropped packet. On
 * ingress label/node/epoch/key_id are what the packet claimed (when
 * DSM_NEV_F_CLAIM); on egress they are what it would have carried. */
struct dsm_net_event {
	__u64 time_ns;   /* CLOCK_BOOTTIME */
	__u16 version;   /* DSM_NET_EVENT_VERSION */
	__u8  reason;    /* enum dsm_net_reason */
	__u8  detail;    /* DSM_NR_MALFORMED: enum dsm_ipopt_error, else 0 */
	__u32 ifindex;
	__be32 saddr;    /* network byte order */
	__be32 daddr;
	__u8  protocol;
	__u8  direction; /* DSM_NEV_DIR_* */
	__u8  key_id;
	__u8  flags;     /* DSM_NEV_F_* */
	__u32 label;     /* host byte order from here on */
	__u32 node;
	__u32 epoch;
	__u32 local_epoch; /* this node's epoch at the time */
	__u32 pad;       /* zero */
};

/* What the ingress verifier found, for the receive-side permission check. */
struct dsm_peer {
	__u32 label;
	__u32 node;
};

_Static_assert(sizeof(struct dsm_ipopt) == DSM_OPT_LEN, "dsm_ipopt: 24 bytes");
_Static_assert(sizeof(struct dsm_mac_key) == 24, "dsm_mac_key: 24 bytes");
_Static_assert(sizeof(struct dsm_net_cfg) == 24, "dsm_net_cfg: 24 bytes");
_Static_assert(sizeof(struct dsm_net_event) == 48, "dsm_net_event: 48 bytes");

#endif /* DSM_WIRE_H */
