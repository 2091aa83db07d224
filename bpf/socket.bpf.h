/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Socket hooks. A socket carries its creator's label (sk_storage, cloned to
 * accepted TCP sockets). Checks are (task label -> socket label) qualified
 * by the socket's family and type, so a policy can allow inet stream and
 * dgram and thereby deny raw and packet sockets.
 *
 * Every way data or a connection goes through a socket is one of these
 * permissions, whatever the system call:
 *   connect  connect(), and sendmsg with MSG_FASTOPEN (TCP Fast Open
 *            connects inside sendmsg, without security_socket_connect)
 *   send     sendmsg (send, sendto, sendmsg, write, io_uring SEND, SENDMSG,
 *            SEND_ZC, WRITE), and every write of a socket's file: sendfile
 *            and splice into a socket go to sendpage without sendmsg
 *   recv     recvmsg (recv, read, io_uring RECV, READ ...), every read of
 *            a socket's file (splice and sendfile out of a socket go to
 *            splice_read without recvmsg), getsockopt(TCP_ZEROCOPY_RECEIVE)
 *            and mmap of a socket (TCP zero-copy receive, packet rings)
 */
#ifndef DSM_BPF_SOCKET_BPF_H
#define DSM_BPF_SOCKET_BPF_H

#include "policy.bpf.h"

#define SOCK_TYPE_MASK 0xf
#define SOCK_STREAM    1
#define MSG_FASTOPEN   0x20000000
#define IPPROTO_SMC    256 /* AF_INET/AF_INET6 SMC sockets (kernels from 6.11) */
#define IPPROTO_MPTCP  262
#define SOL_TCP        6
#define TCP_ZEROCOPY_RECEIVE 35
#define S_IFMT         00170000
#define S_IFSOCK       0140000
#define MAY_WRITE      0x2
#define MAY_READ       0x4

/*
 * The process the current task belongs to, as the owner fields of a socket
 * name it. Every thread of a process carries one label (exec, the only
 * change in the kernel, leaves one thread), so the thread-group leader
 * stands for all of them; exec counts up its self_exec_id.
 */
static __always_inline void owner_get(__u32 *tgid, __u64 *start, __u64 *exec)
{
	struct task_struct *leader = bpf_get_current_task_btf()->group_leader;

	*tgid = leader->tgid;
	*start = leader->start_time;
	*exec = leader->self_exec_id;
}

/*
 * IP protocols whose data the kernel moves through sockets it makes itself
 * (sock_create_kern, no dsm label): an MPTCP socket's subflows are TCP
 * sockets of their own, and so is the TCP socket that carries an SMC
 * connection. Their packets would leave unlabeled and be judged at the
 * receiver by the subflow's label, not the application's; a BPF LSM
 * program cannot map a subflow to its MPTCP socket on 6.1
 * (bpf_skc_to_mptcp_sock() does not verify there). So no label may create
 * one, and applications fall back to TCP. (AF_SMC itself is a family no
 * rule without a family covers: dsm_qual_any_covers().)
 */
static __always_inline bool proto_unlabeled_subflows(int family, int protocol)
{
	return (family == AF_INET || family == AF_INET6) &&
	       (protocol == IPPROTO_MPTCP || protocol == IPPROTO_SMC);
}

SEC("lsm/socket_create")
int BPF_PROG(hook_socket_create, int family, int type, int protocol, int kern, int ret)
{
	__u16 qual = dsm_qual(family, type & SOCK_TYPE_MASK);
	dsm_pm_t pm;
	__u32 label;

	if (ret || kern)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_SOCKET, DSM_PERM_CREATE, DSM_DENY);
	label = current_label(pm);
	if (proto_unlabeled_subflows(family, protocol)) {
		/* No rule can allow it; the alarm's aux carries the protocol. */
		struct dsm_req r = { .subject = label, .node = DSM_NODE_ANY, .target = label,
				     .perm = DSM_PERM_CREATE, .aux = (__u32)protocol << 16 | qual,
				     .qual = qual, .class = DSM_CLASS_SOCKET };

		return deny_unless_permissive(pm, &r);
	}
	return check(pm, DSM_CLASS_SOCKET, qual, label, DSM_NODE_ANY, label, DSM_PERM_CREATE, qual);
}

SEC("lsm/socket_post_create")
int BPF_PROG(hook_socket_post_create, struct socket *sock, int family, int type, int protocol,
	     int kern, int ret)
{
	struct dsm_sock_ctx *c;
	struct sock *sk;
	dsm_pm_t pm;

	if (ret || kern)
		return ret;
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_SOCKET, DSM_PERM_CREATE, DSM_DENY);
	/* 6.12's verifier types sock->sk as a pointer that may be NULL and
	 * wants it checked before the helper (6.1 took it as is) */
	sk = sock->sk;
	c = sk ? bpf_sk_storage_get(&dsm_sockets, sk, 0, BPF_SK_STORAGE_GET_F_CREATE) : NULL;
	if (!c)
		return fail_closed(DSM_CLASS_SOCKET, DSM_PERM_CREATE, -ENOMEM);
	c->label = current_label(pm);
	owner_get(&c->owner_tgid, &c->owner_start, &c->owner_exec);
	return 0;
}

/* Is the current task of the process that created the socket? */
static __always_inline bool owner_is_current(const struct dsm_sock_ctx *c)
{
	__u64 start, exec;
	__u32 tgid;

	owner_get(&tgid, &start, &exec);
	return c->owner_tgid && c->owner_tgid == tgid && c->owner_start == start &&
	       c->owner_exec == exec;
}

/* Does the operation cache allow perm under generation gen (never 0)? One
 * read of the whole word. */
static __always_inline bool op_cached(const struct dsm_sock_ctx *c, __u32 gen, __u32 perm)
{
	__u64 cached = c->op_cache;

	return (__u32)(cached >> 32) == gen && ((__u32)cached & perm);
}

/*
 * (current task -> socket) for one operation. A socket created without
 * the hooks (kernel-made, the server end of a unix stream connection)
 * carries the label of the task that uses it. When the task carries the
 * socket's own label, the permissions are cached in the socket for the
 * policy generation: a send or receive then costs no policy lookup.
 *
 * The process that created the socket uses the cache without reading its
 * own label: within one generation it still carries the socket's label.
 * Its label changes only at exec, which the owner check sees, or when
 * dsmd labels running processes at start-up, after which dsmd starts a
 * new generation.
 */
static __always_inline int sock_check(struct socket *sock, __u32 perm)
{
	struct sock *sk = sock->sk;
	struct dsm_sock_ctx *c = NULL;
	__u32 label, target, gen, perms;
	__u16 qual;
	dsm_pm_t pm;

	gen = policy_gen();
	if (sk) {
		c = bpf_sk_storage_get(&dsm_sockets, sk, 0, 0);
		if (c && gen && owner_is_current(c) && op_cached(c, gen, perm))
			return 0;
	}
	pm = policy_map();
	if (!pm)
		return fail_closed(DSM_CLASS_SOCKET, perm, DSM_DENY);
	label = current_label(pm);
	if (!sk)
		return check(pm, DSM_CLASS_SOCKET, DSM_QUAL_ANY, label, DSM_NODE_ANY, label, perm, 0);
	target = c && c->label ? c->label : label; /* 0: made without the hooks */
	qual = dsm_qual(sk->__sk_common.skc_family, sk->sk_type);
	if (c && c->label == label && gen) {
		if (op_cached(c, gen, perm))
			return 0;
		perms = dsm_perms(pm, DSM_CLASS_SOCKET, qual, label, DSM_NODE_ANY, target);
		c->op_cache = (__u64)gen << 32 | perms;
		if (perms & perm)
			return 0;
	}
	return check(pm, DSM_CLASS_SOCKET, qual, label, DSM_NODE_ANY, target, perm, qual);
}

SEC("lsm/socket_bind")
int BPF_PROG(hook_socket_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	return ret ?: sock_check(sock, DSM_PERM_BIND);
}

SEC("lsm/socket_listen")
int BPF_PROG(hook_socket_listen, struct socket *sock, int backlog, int ret)
{
	return ret ?: sock_check(sock, DSM_PERM_LISTEN);
}

SEC("lsm/socket_connect")
int BPF_PROG(hook_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	return ret ?: sock_check(sock, DSM_PERM_CONNECT);
}

SEC("lsm/socket_accept")
int BPF_PROG(hook_socket_accept, struct socket *sock, struct socket *newsock, int ret)
{
	return ret ?: sock_check(sock, DSM_PERM_ACCEPT);
}

/*
 * Does a sendmsg with MSG_FASTOPEN connect this socket? On a TCP socket it
 * always tries (tcp_sendmsg_fastopen -> __inet_stream_connect), whatever
 * the socket's state; an SMC socket hands it to its TCP socket. A unix
 * stream socket ignores the flag.
 */
static __always_inline bool fastopen_connects(const struct socket *sock)
{
	const struct sock *sk = sock->sk;

	return sock->type == SOCK_STREAM && !(sk && sk->__sk_common.skc_family == AF_UNIX);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(hook_socket_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	if (ret)
		return ret;
	if ((msg->msg_flags & MSG_FASTOPEN) && fastopen_connects(sock)) {
		int err = sock_check(sock, DSM_PERM_CONNECT);

		if (err)
			return err;
	}
	return sock_check(sock, DSM_PERM_SEND);
}

SEC("lsm/socket_recvmsg")
int BPF_PROG(hook_socket_recvmsg, struct socket *sock, struct msghdr *msg, int size, int flags,
	     int ret)
{
	return ret ?: sock_check(sock, DSM_PERM_RECV);
}

/* The socket of a socket's file; NULL for every other file, decided by
 * the inode's type first (two loads: this runs on every read and write of
 * every file). */
static __always_inline struct socket *file_socket(struct file *file)
{
	if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	return bpf_sock_from_file(file);
}

/*
 * Reads and writes of a socket's file (rw_verify_area: read, write, readv,
 * writev, io_uring READ and WRITE, splice, sendfile, AIO). splice and
 * sendfile reach the protocol's sendpage or splice_read and never pass
 * socket_sendmsg or socket_recvmsg; this is their check. The others pass
 * socket_recvmsg or socket_sendmsg as well and are checked twice, both
 * times from the socket's decision cache: this hook cannot tell which
 * path follows it, and dropping either check would open the other path.
 */
SEC("lsm/file_permission")
int BPF_PROG(hook_file_permission, struct file *file, int mask, int ret)
{
	struct socket *sock;
	int err = 0;

	if (ret)
		return ret;
	sock = file_socket(file);
	if (!sock)
		return 0;
	if (mask & MAY_WRITE)
		err = sock_check(sock, DSM_PERM_SEND);
	if (!err && (mask & MAY_READ))
		err = sock_check(sock, DSM_PERM_RECV);
	return err;
}

/* getsockopt(TCP_ZEROCOPY_RECEIVE) takes received data (mapped pages, or
 * a copy through tcp_recvmsg_locked) without recvmsg. */
SEC("lsm/socket_getsockopt")
int BPF_PROG(hook_socket_getsockopt, struct socket *sock, int level, int optname, int ret)
{
	if (ret)
		return ret;
	if (level == SOL_TCP && optname == TCP_ZEROCOPY_RECEIVE)
		return sock_check(sock, DSM_PERM_RECV);
	return 0;
}

/* A mapping of a socket shows what it receives: TCP's zero-copy receive
 * area, a packet socket's rings (a packet socket's send ring too needs
 * recv). Other sockets refuse mmap. */
SEC("lsm/mmap_file")
int BPF_PROG(hook_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct socket *sock;

	if (ret || !file)
		return ret;
	sock = file_socket(file);
	return sock ? sock_check(sock, DSM_PERM_RECV) : 0;
}

#endif /* DSM_BPF_SOCKET_BPF_H */
