/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unix sockets: who is on the other end, and whether it may talk to us.
 *
 * A unix stream (or seqpacket) connect and every unix datagram send are a
 * peer check, as a packet from the network is: `peer recv` from the
 * sending task's label, on this node, to the label of the listening or
 * receiving socket. The sender is the current task (it connects, it
 * sends), so the label is the task's own, not its socket's.
 *
 * A connect that passes gives the server end of the new connection (the
 * socket accept() will return, created by the kernel without the socket
 * hooks) a context of its own: its listener's label and owner, as an
 * accepted TCP socket inherits its listener's (BPF_F_CLONE), and as peer
 * the connecting task's label on this node, bound (DSM_SOCK_F_PEER_BOUND).
 * The kernel writes it inside connect(), before the connection exists, so
 * a server reading it from its accepted socket (dsmd authorizing a
 * control request, getpeerlabel on a unix connection) learns the label of
 * the task that connected, with no window in which another process could
 * stand in for it (no pid to look up, no pid to reuse).
 *
 * Allowed decisions are cached in the receiving socket for the policy
 * generation (the receive cache of struct dsm_sock_ctx, as peer.bpf.h
 * does for the network): a datagram server that hears the same sender
 * again costs no policy lookup. A unix socket is never checked by the
 * network receive path, so the two never share a cache.
 */
#ifndef DSM_BPF_UNIX_BPF_H
#define DSM_BPF_UNIX_BPF_H

#include "policy.bpf.h"

/*
 * The label a receiving unix socket is judged as: its own, else (made
 * before dsm started, or by the kernel) the initial label, as for any
 * receiving socket (peer.bpf.h).
 */
static __always_inline __u32 unix_target(dsm_pm_t pm, const struct dsm_sock_ctx *c)
{
	return c && c->label ? c->label : dsm_initial_label(pm);
}

/* Has the receiving socket allowed this sender under this generation? A
 * local sender is cached with DSM_NODE_LOCAL: its node is always this one. */
static __always_inline bool unix_cached(struct dsm_sock_ctx *c, __u32 gen, __u32 sender)
{
	bool hit;

	bpf_spin_lock(&c->lock);
	hit = c->rcv_gen == gen && c->rcv_label == sender && c->rcv_node == DSM_NODE_LOCAL;
	bpf_spin_unlock(&c->lock);
	return hit;
}

static __always_inline void unix_cache(struct dsm_sock_ctx *c, __u32 gen, __u32 sender)
{
	bpf_spin_lock(&c->lock);
	c->rcv_gen = gen;
	c->rcv_label = sender;
	c->rcv_node = DSM_NODE_LOCAL;
	bpf_spin_unlock(&c->lock);
}

/*
 * May the current task (label @sender) reach the unix socket whose
 * context is @c (may be NULL)? `peer recv` from sender@this node (the
 * node id the policy carries, DSM_CFG_NODE_ID; rules name it or `any`) to
 * the socket's label. @type is the socket type, for the alarm.
 */
static __always_inline int unix_peer_check(dsm_pm_t pm, __u32 gen, struct dsm_sock_ctx *c,
					   __u32 sender, __u16 type)
{
	__u32 node, target;
	struct dsm_req r;

	if (c && gen && unix_cached(c, gen, sender))
		return 0;
	node = dsm_config(pm, DSM_CFG_NODE_ID, DSM_NODE_LOCAL);
	target = unix_target(pm, c);
	if (dsm_perms(pm, DSM_CLASS_PEER, DSM_QUAL_ANY, sender, node, target) & DSM_PERM_PEER_RECV) {
		if (c && gen)
			unix_cache(c, gen, sender);
		return 0;
	}
	r = (struct dsm_req){ .class = DSM_CLASS_PEER, .perm = DSM_PERM_PEER_RECV,
			      .subject = sender, .node = node, .target = target,
			      .qual = DSM_QUAL_ANY, .family = AF_UNIX,
			      .aux = dsm_qual(AF_UNIX, type) };
	return deny_unless_permissive(pm, &r);
}

/*
 * A unix stream or seqpacket connect from @sock to the listener @other;
 * @newsk is the server end the listener will accept. Checked, then
 * stamped with the connecting task's label as its peer. A server end that
 * cannot be given its context fails the connect: a connection whose peer
 * dsm cannot name would be one nobody can authorize.
 */
SEC("lsm/unix_stream_connect")
int BPF_PROG(hook_unix_stream_connect, struct sock *sock, struct sock *other, struct sock *newsk,
	     int ret)
{
	struct dsm_sock_ctx *lc, *nc;
	__u32 gen, sender;
	dsm_pm_t pm;
	int err;

	if (ret)
		return ret;
	gen = policy_gen();
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	sender = current_label(pm);
	lc = bpf_sk_storage_get(&dsm_sockets, other, 0, 0);
	err = unix_peer_check(pm, gen, lc, sender, sock->sk_type);
	if (err)
		return err;
	nc = bpf_sk_storage_get(&dsm_sockets, newsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!nc)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, -ENOMEM);
	if (lc) {
		nc->label = lc->label;
		nc->owner_tgid = lc->owner_tgid;
		nc->owner_start = lc->owner_start;
		nc->owner_exec = lc->owner_exec;
	}
	nc->peer_label = sender;
	nc->peer_node = DSM_NODE_LOCAL;
	nc->flags = DSM_SOCK_F_PEER_BOUND;
	return 0;
}

/*
 * A unix datagram connect, and every datagram send (connected or not):
 * the current task sends to @other.
 */
SEC("lsm/unix_may_send")
int BPF_PROG(hook_unix_may_send, struct socket *sock, struct socket *other, int ret)
{
	struct dsm_sock_ctx *c = NULL;
	struct sock *sk;
	__u32 gen;
	dsm_pm_t pm;

	if (ret)
		return ret;
	gen = policy_gen();
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_PEER, DSM_PERM_PEER_RECV, DSM_DENY);
	sk = other->sk;
	if (sk)
		c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
	return unix_peer_check(pm, gen, c, current_label(pm), sock->type);
}

#endif /* DSM_BPF_UNIX_BPF_H */
