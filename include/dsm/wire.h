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
 *
 * Version 3 (keys per node pair, docs/keys.md): the same 24 bytes; kid is
 * the pair key's generation modulo 256 and the key is K(sender, receiver)
 * of that generation. Its MAC message (32 bytes) binds the ports too:
 *   saddr(4) daddr(4) protocol(1) zero(1) zero(2) sport(2) dport(2)
 *   option bytes 0..15 (16)
 * sport and dport are the transport header's first four bytes for TCP,
 * UDP, UDP-Lite and SCTP in a packet that is not a fragment after the
 * first (fragment offset 0); zero otherwise.
 */
#ifndef DSM_WIRE_H
#define DSM_WIRE_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#define DSM_OPT_TYPE     0x9e
#define DSM_OPT_LEN      24
#define DSM_OPT_VERSION  2 /* what senders write */
#define DSM_OPT_VERSION_1 1 /* accepted: its MAC also covers the IP ID */
#define DSM_OPT_VERSION_3 3 /* pair keys, ports in the MAC (sent in pair mode) */
/* Never on the wire: a socket's IP_OPTIONS of exactly one dsm option of
 * this version, the rest zero, has the kernel leave room for the option
 * in every header it builds, which the node's egress fills in place (or
 * takes out). A receiver finds it malformed. */
#define DSM_OPT_VERSION_PLACEHOLDER 0
#define DSM_OPT_MAC_OFF  16
#define DSM_MAC_MSG_LEN  28 /* versions 1 and 2 */
#define DSM_MAC_MSG3_LEN 32 /* version 3 */

struct dsm_ipopt {
	__u8  type;    /* DSM_OPT_TYPE */
	__u8  len;     /* DSM_OPT_LEN */
	__u8  version; /* DSM_OPT_VERSION, DSM_OPT_VERSION_1 or DSM_OPT_VERSION_3 */
	__u8  key_id;  /* versions 1, 2: the cluster key's id; 3: generation % 256 */
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

/* Cluster keys live in slots 0 and 1 of dsm_keys; slot DSM_KEY_SLOT_LOCAL
 * holds this node's same-node key (below). The map carries no BTF, so its
 * pin prints nothing when read, and opening any of dsm's pins is a system
 * dsm_read permission. */
#define DSM_KEY_SLOT_LOCAL 2
#define DSM_KEY_MAP_SLOTS  3

/*
 * Keys per node pair (version 3, docs/keys.md). dsm_pair_keys maps
 * {peer node, generation & 1} to a struct dsm_mac_key whose key_id is the
 * generation modulo 256: K(this node, peer) of that generation, used to
 * verify what the peer sends and to sign what this node sends to it. Two
 * generations live side by side during a rotation, in the two slots.
 * dsm_pair_addrs maps a peer's IPv4 address (/32, network byte order) to
 * its node id, for the sender to find the key of a destination. Neither
 * carries BTF; their pins are protected as dsm_keys' (system dsm_read).
 */
#define DSM_PAIR_NODES_MAX 4096 /* peers a node holds keys for */

struct dsm_pair_slot {
	__u32 node; /* the peer's SnID */
	__u32 slot; /* generation & 1 */
};

/* Packet-path configuration (array map, one slot), written by dsmd. The
 * epoch is computed by the programs from the clock (dsm_epoch()), so it
 * advances whether dsmd runs or not. */
struct dsm_net_cfg {
	__u32 node_id;       /* this node's SnID */
	__u32 epoch_window;  /* accept epochs in [epoch - window, epoch + window] */
	__u32 epoch_seconds; /* length of an epoch; 0: no epoch, nothing verifies */
	__u32 flags;         /* DSM_NET_F_* */
	__s64 clock_offset_ns; /* CLOCK_REALTIME - CLOCK_TAI, kept by dsmd: epochs
				* count wall-clock time on every node */
	__u32 epoch_base;    /* added to the count (0 on a node; epochs are serial
			      * numbers modulo 2^32, and a test may start anywhere) */
	__u8  send_generation; /* with DSM_NET_F_PAIR: the pair keys' generation
				* % 256 this node sends with (slot: its low bit) */
	__u8  pad0;          /* 0 */
	__u16 pad1;          /* 0 */
};

/* The epoch at CLOCK_TAI time tai_ns: epoch_base plus the wall-clock
 * nanoseconds (tai_ns + clock_offset_ns) divided by the epoch length,
 * modulo 2^32; 0 without an epoch length. */
static inline __u32 dsm_epoch(__u64 tai_ns, const struct dsm_net_cfg *cfg)
{
	__u64 len = (__u64)cfg->epoch_seconds * 1000000000ull;
	__u64 now = tai_ns + (__u64)cfg->clock_offset_ns;

	return len ? cfg->epoch_base + (__u32)(now / len) : 0;
}

/*
 * Same-node packets never leave the kernel, so they need no option and no
 * MAC. On a loopback device the egress program leaves the packet as it is,
 * records the sending socket's label in skb->priority and sets skb->hash to
 * that label's tag: dsm_local_tags maps each label of the policy to the
 * first 32 bits of SipHash-2-4(local key, label), made by dsmd with the key
 * of slot DSM_KEY_SLOT_LOCAL (drawn once per node, kept in the pinned map
 * across restarts). The receive check takes a loopback packet's sender
 * from there, as label@this node, only when the hash is the tag of the
 * priority and DSM_NET_F_LABEL_EGRESS is set. Something that rewrites the
 * priority after the egress program (a qdisc action) cannot make it name
 * another label: the hash would no longer match, and nothing but a BPF
 * program sets skb->hash. A packet that skips the egress program
 * (PACKET_QDISC_BYPASS) carries a flow hash, which matches a tag by chance
 * only (one in 2^32). docs/wire.md has the argument in full.
 */
#define DSM_LOOPBACK_IFINDEX 1 /* every network namespace's lo */

#define DSM_NET_F_LABEL_EGRESS (1u << 0) /* insert options (off: local checks only) */
#define DSM_NET_F_VERIFY       (1u << 1) /* verify options on ingress */
#define DSM_NET_F_TCP_ALL      (1u << 2) /* every TCP segment after the handshake
					    * carries the connection token (below),
					    * and a bound connection takes no segment
					    * without it but a bare ACK */
#define DSM_NET_F_SEND_SLOT1   (1u << 3) /* send with key slot 1 instead of 0 */
#define DSM_NET_F_SEND_V1      (1u << 4) /* send version 1 options (for receivers
					    * that know no other; docs/wire.md) */
#define DSM_NET_F_PAIR         (1u << 5) /* pair mode: to a peer with a pair key of
					    * send_generation, send version 3 */
#define DSM_NET_F_NO_CLUSTER   (1u << 6) /* no cluster key is configured: a packet
					    * with no pair key goes without option (not
					    * labeled) when its destination is no node
					    * of dsm_pair_addrs, and is dropped
					    * (NOROOM_NOKEY) when it is one. Without
					    * the flag it goes as version 2 (or 1) */
#define DSM_NET_F_PLACEHOLDER  (1u << 7) /* a labeled UDP socket whose header the
					    * egress grew DSM_PLACEHOLDER_AFTER times
					    * asks dsmd for a placeholder, once */
#define DSM_PLACEHOLDER_AFTER  4

/*
 * The connection token (DSM_NET_F_TCP_ALL, docs/wire.md "The connection
 * token"). After the handshake, which carries the IPv4 option as always,
 * every segment of a labeled connection between two nodes carries a TCP
 * option (RFC 6994's experimental kind, 16 bytes, written by the sockops
 * program in TCP's own header room, so TSO copies it and GRO merges):
 *
 *   0      1      2             4      5      6             8                      16
 *   +------+------+-------------+------+------+-------------+----------------------+
 *   | 253  | 16   | ExID 0x9e54 | ver  | kid  | epoch (low) | MAC (8 bytes)        |
 *   +------+------+-------------+------+------+-------------+----------------------+
 *
 * ver: DSM_OPT_VERSION (kid is the cluster key's id) or DSM_OPT_VERSION_3
 * (kid is the pair key's generation modulo 256); epoch: its low 16 bits
 * (BE), the receiver takes the epoch nearest its own with those bits.
 * MAC = SipHash-2-4(key, the version 3 message) with protocol 6, the
 * sender's ports and option bytes {DSM_OPT_TYPE, DSM_OPT_LEN,
 * DSM_TOKEN_MSG_VERSION, kid, the sender's label, node and epoch}: the
 * label is the one the handshake bound, so the receiver rebuilds the
 * message from the connection it holds. Version 4 is no option's, so a
 * token is never the MAC of an IPv4 option or the reverse.
 */
#define DSM_TCPOPT_EXP        253
#define DSM_TOKEN_LEN         16
#define DSM_TOKEN_EXID        0x9e54
#define DSM_TOKEN_MSG_VERSION 4

struct dsm_token_opt {
	__u8   kind;     /* DSM_TCPOPT_EXP */
	__u8   len;      /* DSM_TOKEN_LEN */
	__be16 exid;     /* DSM_TOKEN_EXID */
	__u8   version;  /* DSM_OPT_VERSION or DSM_OPT_VERSION_3: which key */
	__u8   key_id;
	__be16 epoch_lo; /* the epoch's low 16 bits */
	__u8   mac[8];
};

/* The token a socket sends, kept in its socket storage (dsm_tcp_tokens)
 * for one key and epoch: the sockops program computes it once per epoch,
 * not per segment. k0, k1: the key it was made with (a key replaced under
 * the same id misses). */
struct dsm_token_tx {
	__u64 k0, k1;
	__u64 mac;
	__u32 epoch;
	__u8  version;
	__u8  key_id;
	__u8  valid;
	__u8  pad;
};

/* Why a packet was dropped (struct dsm_ev_packet.reason). The counter each
 * reason bumps (DSM_CNT_PKT_DROP_*, dsm/abi.h) is given in brackets. */
enum dsm_net_reason {
	DSM_NR_NOROOM_OPTSPACE = 1, /* egress: options present + 24 > 40 bytes [NOROOM] */
	DSM_NR_NOROOM_MTU,          /* egress: labeled packet would exceed the MTU [NOROOM] */
	DSM_NR_NOROOM_GSO,          /* egress: GSO packet, segments cannot share a MAC [NOROOM] */
	DSM_NR_NOROOM_ADJUST,       /* egress: the kernel could not grow the header [NOROOM] */
	DSM_NR_NOROOM_NOKEY,        /* egress: the sending key slot not valid, or (pair
				     * mode, no cluster key) a peer node of the
				     * address map without a key of the sending
				     * generation [NOROOM] */
	DSM_NR_EGRESS_OPTIONS,      /* egress: the packet's own options are malformed or
				     * already carry a dsm option [NOROOM] */
	DSM_NR_MALFORMED,           /* ingress: malformed header or options; detail says
				     * which (enum dsm_ipopt_error) [MALFORMED] */
	DSM_NR_NOKEY,               /* ingress: key id matches no valid slot; version 3:
				     * no pair key of the claimed node and generation
				     * [BADMAC] */
	DSM_NR_BADMAC,              /* ingress: MAC mismatch [BADMAC] */
	DSM_NR_STALE,               /* ingress: epoch outside the window [STALE] */
	DSM_NR_FOREIGN,             /* egress: the packet already carried a dsm option this
				     * node did not write: sent by a local socket, or
				     * claiming this node without the mark of its egress
				     * (a replay); detail: the walker's verdict, or
				     * DSM_IPOPT_E_HEADER for a frame whose link header
				     * could not be walked [FOREIGN] */
	DSM_NR_NOROOM_L2,           /* egress: the packet of a labeled socket sits behind a
				     * link header the kernel does not take for IPv4
				     * (in-band VLAN tags, a misleading protocol): the
				     * option cannot be inserted [NOROOM] */
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

#define DSM_NEV_DIR_INGRESS   0
#define DSM_NEV_DIR_EGRESS    1
#define DSM_NEV_F_CLAIM       (1u << 0) /* label, node, epoch, key_id are set */

/* What the ingress verifier found, for the receive-side permission check. */
struct dsm_peer {
	__u32 label;
	__u32 node;
};

_Static_assert(sizeof(struct dsm_ipopt) == DSM_OPT_LEN, "dsm_ipopt: 24 bytes");
_Static_assert(sizeof(struct dsm_token_opt) == DSM_TOKEN_LEN, "dsm_token_opt: 16 bytes");
_Static_assert(sizeof(struct dsm_token_tx) == 32, "dsm_token_tx: 32 bytes");
_Static_assert(sizeof(struct dsm_mac_key) == 24, "dsm_mac_key: 24 bytes");
_Static_assert(sizeof(struct dsm_net_cfg) == 32, "dsm_net_cfg: 32 bytes");
_Static_assert(sizeof(struct dsm_pair_slot) == 8, "dsm_pair_slot: 8 bytes");

#endif /* DSM_WIRE_H */
