/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The dsm option's MAC and its checks, independent of the program type: the
 * caller looks up the key slots and the configuration and passes plain
 * values, so a receive-side LSM hook can verify an option the same way the
 * tc ingress program does.
 */
#ifndef DSM_BPF_NET_VERIFY_H
#define DSM_BPF_NET_VERIFY_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif
#include "dsm/wire.h"
#include "siphash.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

enum dsm_verify {
	DSM_VERIFY_OK = 0,
	DSM_VERIFY_NOKEY,  /* no valid slot holds the option's key id */
	DSM_VERIFY_BADMAC, /* a slot holds the key id, the MAC does not match */
	DSM_VERIFY_STALE,  /* MAC good, epoch outside the window */
};

static __always_inline __u32 dsm_be32_host(__be32 v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (__u32)v;
#else
	return __builtin_bswap32((__u32)v);
#endif
}

/*
 * The MACs this CPU made last, by message and key: a version 2 MAC is the
 * same for every packet of a flow within an epoch, so a flow pays for
 * SipHash once per epoch, not once per packet. Each program object keeps
 * its own (a per-CPU array of one struct dsm_mac_memo).
 *
 * A slot holds a MAC this node computed for exactly that key and message,
 * never one read from a packet, so a hit is the MAC itself: a receiver
 * compares the packet's with it as it would with a fresh one. The key is
 * compared whole, not by id: a slot rewritten with another key under the
 * same id misses. An empty slot matches no message (every message has
 * DSM_OPT_TYPE in its second word).
 *
 * busy: a program that finds it set (another one runs on this CPU and was
 * interrupted while using the memo) computes without the memo, so no
 * program reads a slot half written. A plain flag is enough because the
 * programs that use a memo run with bottom halves off (tc egress under
 * rcu_read_lock_bh, the receive hook and tc ingress in softirq), so no
 * task switch comes between the test and the set: only an interrupting
 * program could, and it sees the flag.
 */
#define DSM_MAC_MEMO_BITS  6
#define DSM_MAC_MEMO_SLOTS (1 << DSM_MAC_MEMO_BITS)

struct dsm_mac_memo_slot {
	__u64 k0, k1;
	__u64 msg[4];
	__u64 len; /* DSM_MAC_MSG_LEN or DSM_MAC_MSG3_LEN: the same 32 bytes are
		    * another message at another length */
	__u64 mac;
};

struct dsm_mac_memo {
	__u32 busy;
	__u32 pad;
	struct dsm_mac_memo_slot slot[DSM_MAC_MEMO_SLOTS];
};

static __always_inline __u64 dsm_mac_of(const struct dsm_mac_key *key,
					const union dsm_mac_msg *m, __u64 len)
{
	return len == DSM_MAC_MSG3_LEN ? dsm_siphash_32(key->k0, key->k1, m)
				       : dsm_siphash_28(key->k0, key->k1, m);
}

#ifdef __bpf__
/*
 * dsm_mac_of() as a global function: SipHash is some 400 instructions,
 * and on its own the verifier checks them once rather than once for every
 * path that reaches a MAC (most of the egress program's verification).
 * Only a memo miss calls it. The verifier has the pointers checked: -1
 * when one is missing, which no caller passes (each then fails closed),
 * else 0 and the MAC in *mac.
 */
__noinline int dsm_mac_global(const struct dsm_mac_key *key, const union dsm_mac_msg *m,
			      __u64 len, __u64 *mac)
{
	if (!key || !m || !mac)
		return -1;
	*mac = dsm_mac_of(key, m, len);
	return 0;
}
#endif

static __always_inline int dsm_mac_compute(const struct dsm_mac_key *key,
					   const union dsm_mac_msg *m, __u64 len, __u64 *mac)
{
#ifdef __bpf__
	return dsm_mac_global(key, m, len, mac);
#else
	*mac = dsm_mac_of(key, m, len);
	return 0;
#endif
}

/* The MAC of message m (len bytes) under key, through the memo (may be
 * NULL), into *mac: 0, or < 0 when there is none. */
static __always_inline int dsm_mac_memo(struct dsm_mac_memo *memo, const struct dsm_mac_key *key,
					const union dsm_mac_msg *m, __u64 len, __u64 *mac)
{
	struct dsm_mac_memo_slot *s;
	__u64 h;
	int err = 0;

	if (!memo || memo->busy)
		return dsm_mac_compute(key, m, len, mac);
	memo->busy = 1;
	/* Multiplicative hashing, the slot from the top bits: a fold by
	 * XOR would put both directions of a flow (the two addresses
	 * swapped) into one slot, and a ping-pong would miss every time. */
	h = (m->w[0] ^ m->w[1] ^ m->w[2] ^ m->w[3]) * 0x9e3779b97f4a7c15ULL;
	s = &memo->slot[(h >> (64 - DSM_MAC_MEMO_BITS)) & (DSM_MAC_MEMO_SLOTS - 1)];
	if (s->k0 == key->k0 && s->k1 == key->k1 && s->len == len && s->msg[0] == m->w[0] &&
	    s->msg[1] == m->w[1] && s->msg[2] == m->w[2] && s->msg[3] == m->w[3]) {
		*mac = s->mac;
	} else {
		err = dsm_mac_compute(key, m, len, mac);
		if (!err) {
			s->len = len;
			s->k0 = key->k0;
			s->k1 = key->k1;
			s->msg[0] = m->w[0];
			s->msg[1] = m->w[1];
			s->msg[2] = m->w[2];
			s->msg[3] = m->w[3];
			s->mac = *mac;
		}
	}
	memo->busy = 0;
	return err;
}

/* Does a protocol's header start with a source and a destination port
 * (the ports a version 3 MAC binds)? TCP, UDP, SCTP, UDP-Lite. */
static __always_inline int dsm_proto_has_ports(__u8 protocol)
{
	return protocol == 6 || protocol == 17 || protocol == 132 || protocol == 136;
}

/* The MAC of an option (its bytes 0..15; the MAC field is not read) in a
 * packet with these addresses, protocol, IP ID and ports (network byte
 * order; ports: the transport header's first four bytes, or 0 where a
 * version 3 MAC binds none, dsm/wire.h), into *mac. The IP ID counts for a
 * version 1 option only, the ports for a version 3 option and a
 * connection token's claim only. memo may be NULL. 0, or < 0 when there
 * is no MAC (the caller fails closed). */
static __always_inline int dsm_mac(struct dsm_mac_memo *memo, const struct dsm_mac_key *key,
				   __be32 saddr, __be32 daddr, __u8 protocol, __be16 id,
				   __be32 ports, const struct dsm_ipopt *opt, __u64 *mac)
{
	union dsm_mac_msg m;

	if (opt->version == DSM_OPT_VERSION_3 || opt->version == DSM_TOKEN_MSG_VERSION) {
		m.f3.saddr = saddr;
		m.f3.daddr = daddr;
		m.f3.protocol = protocol;
		m.f3.zero = 0;
		m.f3.zero2 = 0;
		m.f3.ports = ports;
		__builtin_memcpy(m.f3.opt, opt, DSM_OPT_MAC_OFF);
		return dsm_mac_memo(memo, key, &m, DSM_MAC_MSG3_LEN, mac);
	}
	m.w[3] = 0;
	m.f.saddr = saddr;
	m.f.daddr = daddr;
	m.f.protocol = protocol;
	m.f.zero = 0;
	m.f.id = opt->version == DSM_OPT_VERSION_1 ? id : 0;
	__builtin_memcpy(m.f.opt, opt, DSM_OPT_MAC_OFF);
	return dsm_mac_memo(memo, key, &m, DSM_MAC_MSG_LEN, mac);
}

/* The MAC as it goes on the wire: the little-endian bytes of the hash. */
static __always_inline void dsm_mac_put(struct dsm_ipopt *opt, __u64 mac)
{
	mac = dsm_le64(mac);
	__builtin_memcpy(opt->mac, &mac, sizeof(opt->mac));
}

static __always_inline int dsm_mac_equal(const struct dsm_ipopt *opt, __u64 mac)
{
	__u64 got;

	__builtin_memcpy(&got, opt->mac, sizeof(got));
	return got == dsm_le64(mac);
}

/* Does the option carry the MAC key gives it? No when there is no MAC. */
static __always_inline int dsm_mac_good(struct dsm_mac_memo *memo, const struct dsm_mac_key *key,
					__be32 saddr, __be32 daddr, __u8 protocol, __be16 id,
					__be32 ports, const struct dsm_ipopt *opt)
{
	__u64 mac;

	return dsm_mac(memo, key, saddr, daddr, protocol, id, ports, opt, &mac) == 0 &&
	       dsm_mac_equal(opt, mac);
}

/*
 * Epochs are serial numbers modulo 2^32 (RFC 1982): accepted when at most
 * window away from ours in either direction, so the window may straddle
 * zero (our epoch 2, window 5 accepts 0xfffffffd..7). Shifting by window
 * maps the accepted interval onto [0, 2 * window] without any overflow
 * test; a window of 2^31 or more accepts every epoch.
 */
static __always_inline int dsm_epoch_ok(__u32 claimed, __u32 local, __u32 window)
{
	__u32 shifted = claimed - local + window;

	return (__u64)shifted <= 2 * (__u64)window;
}

static __always_inline int dsm_key_matches(const struct dsm_mac_key *k, __u8 key_id)
{
	return k && k->valid && k->key_id == key_id;
}

/*
 * Check an option that dsm_ipopt_scan() found well-formed. Both slots are
 * tried when both carry the key id (the same key in two slots during a
 * rotation): a slot being rewritten at that moment cannot make a good
 * packet fail as long as the other holds the key. For a version 3 option
 * the caller passes the one pair key of the claimed node and generation
 * bit (dsm_pair_keys) as slot0 and NULL as slot1: its key_id, the stored
 * generation byte, must be the option's.
 */
static __always_inline enum dsm_verify dsm_verify(struct dsm_mac_memo *memo,
						   const struct dsm_ipopt *opt, __be32 saddr,
						   __be32 daddr, __u8 protocol, __be16 id,
						   __be32 ports,
						   const struct dsm_mac_key *slot0,
						   const struct dsm_mac_key *slot1,
						   __u32 local_epoch, __u32 window)
{
	int matched = 0, good = 0;

	if (dsm_key_matches(slot0, opt->key_id)) {
		matched = 1;
		good = dsm_mac_good(memo, slot0, saddr, daddr, protocol, id, ports, opt);
	}
	if (!good && dsm_key_matches(slot1, opt->key_id)) {
		matched = 1;
		good = dsm_mac_good(memo, slot1, saddr, daddr, protocol, id, ports, opt);
	}
	if (!matched)
		return DSM_VERIFY_NOKEY;
	if (!good)
		return DSM_VERIFY_BADMAC;
	if (!dsm_epoch_ok(dsm_be32_host(opt->epoch), local_epoch, window))
		return DSM_VERIFY_STALE;
	return DSM_VERIFY_OK;
}

/* ---- the connection token (dsm/wire.h) ----------------------------------- */

static __always_inline __be32 dsm_host_be32(__u32 v)
{
	return (__be32)dsm_be32_host((__be32)v);
}

static __always_inline __u16 dsm_be16_host(__be16 v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (__u16)v;
#else
	return __builtin_bswap16((__u16)v);
#endif
}

/* The option a token's MAC is made over: what label@node would put in an
 * IPv4 option in this epoch with this key, at message version 4 (the
 * version 3 message: addresses, protocol, ports). */
static __always_inline void dsm_token_claim(struct dsm_ipopt *o, __u8 key_id, __u32 label,
					    __u32 node, __u32 epoch)
{
	o->type = DSM_OPT_TYPE;
	o->len = DSM_OPT_LEN;
	o->version = DSM_TOKEN_MSG_VERSION;
	o->key_id = key_id;
	o->label = dsm_host_be32(label);
	o->node = dsm_host_be32(node);
	o->epoch = dsm_host_be32(epoch);
}

/* The epoch nearest @local whose low 16 bits are @lo: a token carries no
 * more, and clocks within the window are far closer than 2^15 epochs. */
static __always_inline __u32 dsm_token_epoch(__u16 lo, __u32 local)
{
	return local + (__u32)(__s32)(__s16)(__u16)(lo - (__u16)local);
}

/* The token label@node sends on a segment from saddr to daddr (ports: its
 * source port, then destination port, as in the TCP header) with key
 * (kid: the key's id or generation byte), into *mac. memo may be NULL. 0,
 * or < 0 when there is none (the caller sends no token). */
static __always_inline int dsm_token_mac(struct dsm_mac_memo *memo, const struct dsm_mac_key *key,
					 __be32 saddr, __be32 daddr, __be32 ports, __u32 label,
					 __u32 node, __u32 epoch, __u64 *mac)
{
	struct dsm_ipopt o;

	dsm_token_claim(&o, key->key_id, label, node, epoch);
	return dsm_mac(memo, key, saddr, daddr, 6, 0, ports, &o, mac);
}

/* Is token t, on a segment from saddr to daddr with these ports, label@
 * node's? The keys as for dsm_verify(): the pair key of its generation
 * bit as slot0 (slot1 NULL) for a version 3 token, both cluster slots
 * for a version 2 one. */
static __always_inline enum dsm_verify dsm_token_verify(struct dsm_mac_memo *memo,
							 const struct dsm_token_opt *t,
							 __be32 saddr, __be32 daddr, __be32 ports,
							 __u32 label, __u32 node,
							 const struct dsm_mac_key *slot0,
							 const struct dsm_mac_key *slot1,
							 __u32 local_epoch, __u32 window)
{
	struct dsm_ipopt o;

	dsm_token_claim(&o, t->key_id, label, node,
			dsm_token_epoch(dsm_be16_host(t->epoch_lo), local_epoch));
	__builtin_memcpy(o.mac, t->mac, sizeof(o.mac));
	return dsm_verify(memo, &o, saddr, daddr, 6, 0, ports, slot0, slot1, local_epoch, window);
}

#endif /* DSM_BPF_NET_VERIFY_H */
