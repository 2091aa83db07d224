/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network administration, system permission net. dsm's packet path is a
 * tc egress program on each labeled interface: whatever can detach it,
 * rewrite what it wrote, or send past it switches labeling off, and
 * whatever can make a new interface or give an old interface's number to
 * another one changes what the interface rules mean. Each of these asks
 * for net (dsmd's label holds it: it attaches the programs):
 *
 *   - traffic control: rtnetlink requests that add, change or delete
 *     qdiscs, classes, filters, actions and chains (dsm's own filter and
 *     its clsact qdisc among them; a qdisc or filter action that runs
 *     after the egress program and rewrites the packet);
 *   - packet filtering: every nfnetlink request (nftables, conntrack,
 *     queue verdicts, logging; reading the rule set too: one number per
 *     subsystem says nothing about which messages only read), and the
 *     legacy replace calls of iptables, ip6tables, arptables and ebtables
 *     (setsockopt);
 *   - network interfaces: rtnetlink requests that create, change or
 *     delete a link or its alternative names, tun/tap devices (creating
 *     one, or attaching to one that exists: what a process writes there
 *     arrives as unlabeled traffic from the network), and the legacy
 *     ioctls that rename interfaces or create and delete bridges, VLANs
 *     and tunnels;
 *   - generic netlink, except its controller (family lookup): family
 *     numbers are allocated at run time, so a family cannot be told
 *     from another by its number, and one of them (Open vSwitch's packet
 *     execution) injects packets with a chosen skb->hash, the mark of
 *     dsm's egress;
 *   - sending past tc egress: PACKET_QDISC_BYPASS on a packet socket, and
 *     AF_XDP sockets (their transmit path is the driver's).
 *
 * Reading (dumps of links, routes, qdiscs, filters) asks nothing.
 * Alarm aux: netlink: protocol << 16 | message type; setsockopt: level
 * << 16 | option; ioctl: the command; socket: the family; tun: 0.
 */
#ifndef DSM_BPF_NETLINK_BPF_H
#define DSM_BPF_NETLINK_BPF_H

#include "policy.bpf.h"

#define NETLINK_ROUTE     0
#define NETLINK_NETFILTER 12
#define NETLINK_GENERIC   16
#define NLMSG_HDRLEN_     16
#define NLMSG_MIN_TYPE_   16 /* below: NOOP, ERROR, DONE, OVERRUN */
#define GENL_ID_CTRL_     16

#define RTM_NEWLINK_      16
#define RTM_DELLINK_      17
#define RTM_SETLINK_      19
#define RTM_NEWQDISC_     36
#define RTM_DELQDISC_     37
#define RTM_NEWTCLASS_    40
#define RTM_DELTCLASS_    41
#define RTM_NEWTFILTER_   44
#define RTM_DELTFILTER_   45
#define RTM_NEWACTION_    48
#define RTM_DELACTION_    49
#define RTM_NEWCHAIN_     100
#define RTM_DELCHAIN_     101
#define RTM_NEWLINKPROP_  108
#define RTM_DELLINKPROP_  109

#define SOL_IP_           0
#define SOL_IPV6_         41
#define SOL_PACKET_       263
#define PACKET_QDISC_BYPASS_ 20
#define AF_XDP_           44
#define S_IFMT_           00170000
#define S_IFSOCK_         0140000

/* Netlink messages one request may carry (the kernel processes them all):
 * more than this asks for net whatever they are. */
#define DSM_NLMSG_MAX     (1u << 16)

static __always_inline int net_check(__u32 aux)
{
	return check_self(DSM_CLASS_SYSTEM, DSM_PERM_NET, aux);
}

/* Does an rtnetlink message of this type change traffic control or
 * links? */
static __always_inline bool rtnl_changes(__u16 type)
{
	switch (type) {
	case RTM_NEWLINK_: case RTM_DELLINK_: case RTM_SETLINK_:
	case RTM_NEWQDISC_: case RTM_DELQDISC_:
	case RTM_NEWTCLASS_: case RTM_DELTCLASS_:
	case RTM_NEWTFILTER_: case RTM_DELTFILTER_:
	case RTM_NEWACTION_: case RTM_DELACTION_:
	case RTM_NEWCHAIN_: case RTM_DELCHAIN_:
	case RTM_NEWLINKPROP_: case RTM_DELLINKPROP_:
		return true;
	}
	return false;
}

struct nl_walk {
	const unsigned char *data;
	__u32 len;
	__u32 off;
	__u16 proto;
	__u16 type; /* the first message that asks for net */
	bool need;
	bool done;
};

/* One message of the request, walked as netlink_rcv_skb() does: a header
 * shorter than its own size or longer than what is left ends the walk
 * there (the kernel stops too). */
static long nl_step(__u32 i, void *ctx)
{
	struct nl_walk *w = ctx;
	struct nlmsghdr h;

	(void)i;
	if (w->off + NLMSG_HDRLEN_ > w->len ||
	    bpf_probe_read_kernel(&h, sizeof(h), w->data + w->off)) {
		w->done = true;
		return 1;
	}
	if (h.nlmsg_len < NLMSG_HDRLEN_ || h.nlmsg_len > w->len - w->off) {
		w->done = true;
		return 1;
	}
	if (h.nlmsg_type >= NLMSG_MIN_TYPE_ &&
	    (w->proto == NETLINK_ROUTE ? rtnl_changes(h.nlmsg_type)
				       : h.nlmsg_type != GENL_ID_CTRL_)) {
		w->need = true;
		w->type = h.nlmsg_type;
		return 1;
	}
	w->off += (h.nlmsg_len + 3) & ~3u;
	return 0;
}

SEC("lsm/netlink_send")
int BPF_PROG(hook_netlink_send, struct sock *sk, struct sk_buff *skb, int ret)
{
	struct nl_walk w = {};
	__u16 proto;

	if (ret)
		return ret;
	proto = sk->sk_protocol;
	if (proto == NETLINK_NETFILTER)
		return net_check((__u32)proto << 16);
	if (proto != NETLINK_ROUTE && proto != NETLINK_GENERIC)
		return 0;
	w.data = skb->data;
	w.len = skb->len;
	w.proto = proto;
	bpf_loop(DSM_NLMSG_MAX, nl_step, &w, 0);
	if (!w.need && w.done)
		return 0;
	return net_check((__u32)proto << 16 | w.type); /* type 0: too many messages */
}

/* The legacy firewall tables (replace, add counters: ip_tables.h and its
 * siblings) and sending past tc egress. */
static __always_inline bool sockopt_changes(int level, int optname)
{
	if (level == SOL_PACKET_)
		return optname == PACKET_QDISC_BYPASS_;
	if (level == SOL_IP_)
		return optname == 64 || optname == 65 || /* IPT_SO_SET_REPLACE, _ADD_COUNTERS */
		       optname == 96 || optname == 97 || /* ARPT_SO_SET_REPLACE, _ADD_COUNTERS */
		       optname == 128 || optname == 129; /* EBT_SO_SET_ENTRIES, _COUNTERS */
	if (level == SOL_IPV6_)
		return optname == 64 || optname == 65; /* IP6T_SO_SET_REPLACE, _ADD_COUNTERS */
	return false;
}

SEC("lsm/socket_setsockopt")
int BPF_PROG(hook_net_setsockopt, struct socket *sock, int level, int optname, int ret)
{
	if (ret)
		return ret;
	if (!sockopt_changes(level, optname))
		return 0;
	return net_check((__u32)level << 16 | (__u32)optname);
}

SEC("lsm/socket_create")
int BPF_PROG(hook_net_socket_create, int family, int type, int protocol, int kern, int ret)
{
	if (ret || kern || family != AF_XDP_)
		return ret;
	return net_check(family);
}

/* The interface ioctls that make, remove or rename interfaces. */
static __always_inline bool ioctl_changes(unsigned int cmd)
{
	switch (cmd) {
	case 0x8923: /* SIOCSIFNAME */
	case 0x8983: /* SIOCSIFVLAN */
	case 0x89a0: /* SIOCBRADDBR */
	case 0x89a1: /* SIOCBRDELBR */
	case 0x89f1: /* SIOCADDTUNNEL */
	case 0x89f2: /* SIOCDELTUNNEL */
	case 0x89f3: /* SIOCCHGTUNNEL */
		return true;
	}
	return false;
}

static __always_inline int ioctl_check(struct file *file, unsigned int cmd)
{
	if (!ioctl_changes(cmd) || (file->f_inode->i_mode & S_IFMT_) != S_IFSOCK_)
		return 0;
	return net_check(cmd);
}

SEC("lsm/file_ioctl")
int BPF_PROG(hook_net_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ?: ioctl_check(file, cmd);
}

/* 32-bit callers take their own path into the same ioctls. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(hook_net_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	return ret ?: ioctl_check(file, cmd);
}

SEC("lsm/tun_dev_create")
int BPF_PROG(hook_tun_dev_create, int ret)
{
	return ret ?: net_check(0);
}

SEC("lsm/tun_dev_open")
int BPF_PROG(hook_tun_dev_open, void *security, int ret)
{
	return ret ?: net_check(0);
}

SEC("lsm/tun_dev_attach_queue")
int BPF_PROG(hook_tun_dev_attach_queue, void *security, int ret)
{
	return ret ?: net_check(0);
}

#endif /* DSM_BPF_NETLINK_BPF_H */
