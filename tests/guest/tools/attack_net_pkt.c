// SPDX-License-Identifier: GPL-2.0
/*
 * attack_net_pkt: see and make packets the way a network attacker does, to
 * test what dsm's packet path lets through.
 *
 *   attack_net_pkt sniff IFACE PORT SECONDS [MAX]
 *        print every IPv4 packet on IFACE (or "any") to or from PORT (0:
 *        every port), in and out, one line each:
 *          pkt out|in IF SRC:SPORT > DST:DPORT proto P ihl N len L \
 *              flags F [tcpopt mptcp|smc] dsm LABEL@NODE epoch E | dsm none
 *        (flags: TCP flags in hex; tcpopt: the SYN carries MPTCP's option
 *        or SMC's experimental one); on a device without an Ethernet
 *        header the first 48 bytes follow as "hex ..."
 *   attack_net_pkt capture IFACE DPORT SECONDS FILE
 *        wait for an outgoing IPv4 UDP datagram to DPORT that carries a
 *        dsm option, save its frame to FILE: "captured LABEL@NODE epoch E"
 *   attack_net_pkt replay FILE METHOD DPORT [COUNT]
 *        send COUNT (1) UDP datagrams "replayed\n" to DPORT that carry the
 *        captured frame's Ethernet and IPv4 headers, the dsm option
 *        included (only length, IP ID and checksum change). METHOD:
 *          packet-ip       packet socket, sll_protocol ETH_P_IP
 *          packet-other    packet socket, sll_protocol 0x88b5 (local
 *                          experimental): skb->protocol is not IPv4
 *          vlan0           packet socket, the frame with an 802.1Q tag of
 *                          VLAN 0 (priority tag), protocol from the frame
 *          bypass          packet socket with PACKET_QDISC_BYPASS
 *          rawip           raw IPv4 socket with IP_HDRINCL
 *        prints "replay METHOD OK" (sent; whether it arrived is the
 *        receiver's to say)
 *   attack_net_pkt synflood SADDR DADDR DPORT COUNT
 *        COUNT TCP SYNs to DADDR:DPORT through a raw socket (IP_HDRINCL),
 *        each from another (source address, port): ports 1024..65535,
 *        then the next address after SADDR: "synflood N"
 *   attack_net_pkt tun NAME SECONDS
 *        attach to the tun device NAME (IFF_TUN, no packet information) and
 *        print each packet the kernel sends on it: "tun LEN hex ..."
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DSM_OPT_TYPE 0x9e
#define DSM_OPT_LEN  24

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	default: return strerror(e);
	}
}

static int step(const char *what, int ok)
{
	int e = ok ? 0 : errno;

	printf("%s %s\n", what, errname(e));
	fflush(stdout);
	return e;
}

static int usage(void)
{
	fprintf(stderr, "attack_net_pkt: bad arguments (see the comment at the top)\n");
	return 2;
}

static void hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i ? " " : "", p[i]);
}

/* The dsm option in an IPv4 header at ip (hlen bytes), or NULL. */
static const unsigned char *dsm_opt(const unsigned char *ip, size_t hlen)
{
	size_t off = 20;

	while (off < hlen) {
		unsigned t = ip[off], l;

		if (t == 0)
			break;
		if (t == 1) {
			off++;
			continue;
		}
		if (off + 1 >= hlen)
			break;
		l = ip[off + 1];
		if (l < 2 || off + l > hlen)
			break;
		if (t == DSM_OPT_TYPE && l == DSM_OPT_LEN)
			return ip + off;
		off += l;
	}
	return NULL;
}

/* "mptcp" or "smc" when the TCP header at t (n bytes available) carries
 * MPTCP's option (kind 30) or SMC's experimental option (kind 254, magic
 * 0xe2d4c3d9), else NULL. */
static const char *tcp_opt_kind(const unsigned char *t, size_t n)
{
	size_t doff = (t[12] >> 4) * 4u, off = 20;

	if (doff > n)
		doff = n;
	while (off < doff) {
		unsigned k = t[off], l;

		if (k == 0)
			break;
		if (k == 1) {
			off++;
			continue;
		}
		if (off + 1 >= doff)
			break;
		l = t[off + 1];
		if (l < 2 || off + l > doff)
			break;
		if (k == 30)
			return "mptcp";
		if (k == 254 && l >= 6 && t[off + 2] == 0xe2 && t[off + 3] == 0xd4 &&
		    t[off + 4] == 0xc3 && t[off + 5] == 0xd9)
			return "smc";
		off += l;
	}
	return NULL;
}

static uint32_t be32_at(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the IPv4 header in a frame of hatype, or -1 if not IPv4. */
static int ip_offset(const unsigned char *f, size_t n, unsigned short hatype)
{
	if (hatype == ARPHRD_ETHER || hatype == ARPHRD_LOOPBACK) {
		size_t off = 12;

		while (off + 2 <= n && f[off] == 0x81 && f[off + 1] == 0x00)
			off += 4; /* 802.1Q tags */
		if (off + 2 > n || f[off] != 0x08 || f[off + 1] != 0x00)
			return -1;
		return (int)off + 2;
	}
	return n >= 1 && (f[0] >> 4) == 4 ? 0 : -1;
}

static int open_packet(const char *iface, int proto)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons((uint16_t)proto) };
	int s = socket(AF_PACKET, SOCK_RAW, htons((uint16_t)proto));

	if (s < 0)
		return -1;
	if (strcmp(iface, "any")) {
		ll.sll_ifindex = (int)if_nametoindex(iface);
		if (!ll.sll_ifindex || bind(s, (struct sockaddr *)&ll, sizeof(ll))) {
			close(s);
			return -1;
		}
	}
	return s;
}

static int do_sniff(const char *iface, int port, int seconds, int max)
{
	time_t end = time(NULL) + seconds;
	unsigned char f[2048];
	int s = open_packet(iface, ETH_P_ALL), seen = 0;

	if (step("sniff", s >= 0))
		return 1;
	while (time(NULL) < end && (!max || seen < max)) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		const unsigned char *ip, *o;
		char ifn[IF_NAMESIZE] = "?", sa[16], da[16];
		unsigned hlen, sport = 0, dport = 0, tflags = 0;
		ssize_t n;
		int off;

		if (poll(&pfd, 1, 200) != 1)
			continue;
		n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		off = ip_offset(f, (size_t)n, from.sll_hatype);
		if (off < 0 || (size_t)off + 20 > (size_t)n)
			continue;
		ip = f + off;
		hlen = (ip[0] & 0xf) * 4u;
		if ((ip[0] >> 4) != 4 || hlen < 20 || off + hlen + 4 > (size_t)n)
			continue;
		if (ip[9] == IPPROTO_TCP || ip[9] == IPPROTO_UDP) {
			sport = (unsigned)ip[hlen] << 8 | ip[hlen + 1];
			dport = (unsigned)ip[hlen + 2] << 8 | ip[hlen + 3];
			if (ip[9] == IPPROTO_TCP && off + hlen + 14 <= (size_t)n)
				tflags = ip[hlen + 13];
		}
		if (port && sport != (unsigned)port && dport != (unsigned)port)
			continue;
		if_indextoname((unsigned)from.sll_ifindex, ifn);
		inet_ntop(AF_INET, ip + 12, sa, sizeof(sa));
		inet_ntop(AF_INET, ip + 16, da, sizeof(da));
		printf("pkt %s %s %s:%u > %s:%u proto %u ihl %u len %u flags %02x",
		       from.sll_pkttype == PACKET_OUTGOING ? "out" : "in", ifn, sa, sport, da, dport,
		       ip[9], hlen / 4, (unsigned)ip[2] << 8 | ip[3], tflags);
		if (ip[9] == IPPROTO_TCP && off + hlen + 20 <= (size_t)n) {
			const char *t = tcp_opt_kind(ip + hlen, (size_t)n - off - hlen);

			if (t)
				printf(" tcpopt %s", t);
		}
		o = dsm_opt(ip, hlen);
		if (o)
			printf(" dsm %u@%u epoch %u", be32_at(o + 4), be32_at(o + 8), be32_at(o + 12));
		else
			printf(" dsm none");
		if (off == 0) {
			printf(" hex ");
			hex(f, (size_t)n < 48 ? (size_t)n : 48);
		}
		printf("\n");
		fflush(stdout);
		seen++;
	}
	printf("sniffed %d\n", seen);
	return 0;
}

static int do_capture(const char *iface, int dport, int seconds, const char *file)
{
	time_t end = time(NULL) + seconds;
	unsigned char f[2048];
	int s = open_packet(iface, ETH_P_ALL);

	if (step("open", s >= 0))
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		const unsigned char *ip, *o;
		unsigned hlen;
		ssize_t n;
		int off;
		FILE *out;

		if (poll(&pfd, 1, 200) != 1)
			continue;
		n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0 || from.sll_pkttype != PACKET_OUTGOING || from.sll_hatype != ARPHRD_ETHER)
			continue;
		off = ip_offset(f, (size_t)n, from.sll_hatype);
		if (off != ETH_HLEN)
			continue;
		ip = f + off;
		hlen = (ip[0] & 0xf) * 4u;
		if (ip[9] != IPPROTO_UDP || off + hlen + 8 > (size_t)n ||
		    ((unsigned)ip[hlen + 2] << 8 | ip[hlen + 3]) != (unsigned)dport)
			continue;
		o = dsm_opt(ip, hlen);
		if (!o)
			continue;
		out = fopen(file, "w");
		if (!out || fwrite(f, 1, off + hlen, out) != off + hlen || fclose(out))
			return step("save", 0), 1;
		printf("captured %u@%u epoch %u\n", be32_at(o + 4), be32_at(o + 8), be32_at(o + 12));
		return 0;
	}
	printf("capture timeout\n");
	return 1;
}

static uint16_t ip_csum(const unsigned char *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int do_replay(const char *file, const char *method, int dport, int count)
{
	static const char payload[] = "replayed\n";
	unsigned char hdr[ETH_HLEN + 60], f[ETH_HLEN + 4 + 60 + 8 + sizeof(payload)];
	size_t hl, iphl, plen = sizeof(payload) - 1, len, l2 = ETH_HLEN;
	unsigned char *ip, *udp;
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	int s, one = 1, vlan = !strcmp(method, "vlan0"), proto = ETH_P_IP;
	unsigned short tot;
	FILE *in = fopen(file, "r");

	if (!in)
		return step("open", 0), 1;
	hl = fread(hdr, 1, sizeof(hdr), in);
	fclose(in);
	if (hl < ETH_HLEN + 20)
		return usage();
	iphl = (hdr[ETH_HLEN] & 0xf) * 4u;
	if (hl != ETH_HLEN + iphl)
		return usage();
	memset(f, 0, sizeof(f));
	memcpy(f, hdr, 12); /* destination and source MAC */
	if (vlan) {
		f[12] = 0x81; /* 802.1Q, PCP 0, VLAN 0: a priority tag */
		f[13] = 0x00;
		l2 += 4;
	}
	f[l2 - 2] = 0x08;
	f[l2 - 1] = 0x00;
	ip = f + l2;
	memcpy(ip, hdr + ETH_HLEN, iphl);
	tot = (unsigned short)(iphl + 8 + plen);
	ip[2] = (unsigned char)(tot >> 8);
	ip[3] = (unsigned char)tot;
	ip[4] ^= 0x5a; /* another IP ID: the MAC of a version 2 option leaves it out */
	ip[10] = ip[11] = 0;
	{
		uint16_t c = ip_csum(ip, iphl);

		ip[10] = (unsigned char)(c >> 8);
		ip[11] = (unsigned char)c;
	}
	udp = ip + iphl;
	udp[0] = 0x9c; /* source port 40000 */
	udp[1] = 0x40;
	udp[2] = (unsigned char)(dport >> 8);
	udp[3] = (unsigned char)dport;
	udp[4] = 0;
	udp[5] = (unsigned char)(8 + plen);
	memcpy(udp + 8, payload, plen); /* checksum 0: none */
	len = l2 + tot;

	if (!strcmp(method, "rawip")) {
		struct sockaddr_in dst = { .sin_family = AF_INET };

		memcpy(&dst.sin_addr, ip + 16, 4);
		s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (step("create", s >= 0) ||
		    step("hdrincl", !setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))))
			return 1;
		for (int i = 0; i < count; i++)
			if (sendto(s, ip, tot, 0, (struct sockaddr *)&dst, sizeof(dst)) != tot)
				return step("replay rawip", 0), 1;
		printf("replay rawip OK\n");
		return 0;
	}
	if (!strcmp(method, "packet-other"))
		proto = 0x88b5;
	else if (vlan)
		proto = 0; /* the kernel takes it from the frame: 802.1Q */
	else if (strcmp(method, "packet-ip") && strcmp(method, "bypass"))
		return usage();
	/* The interface the captured frame left by: the one whose address is
	 * the IPv4 source (the tests have one Ethernet device, eth0). */
	to.sll_ifindex = (int)if_nametoindex("eth0");
	to.sll_protocol = htons((uint16_t)proto);
	memcpy(to.sll_addr, f, ETH_ALEN);
	s = socket(AF_PACKET, SOCK_RAW, 0);
	if (step("create", s >= 0))
		return 1;
	if (!strcmp(method, "bypass") &&
	    step("bypass", !setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))))
		return 1;
	for (int i = 0; i < count; i++)
		if (sendto(s, f, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len) {
			printf("replay %s %s\n", method, errname(errno));
			return 1;
		}
	printf("replay %s OK\n", method);
	return 0;
}

static uint32_t sum16(uint32_t sum, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	return sum;
}

static int do_synflood(const char *saddr, const char *daddr, int dport, long count)
{
	unsigned char pkt[40];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct in_addr src;
	uint32_t host_src;
	int one = 1, s, sport = 1024;
	long sent = 0;

	if (inet_pton(AF_INET, saddr, &src) != 1 || inet_pton(AF_INET, daddr, &to.sin_addr) != 1)
		return usage();
	host_src = ntohl(src.s_addr);
	s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (step("create", s >= 0) ||
	    step("hdrincl", !setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))))
		return 1;
	for (long i = 0; i < count; i++) {
		uint32_t a = htonl(host_src), sum;
		uint16_t c;

		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x45;
		pkt[3] = sizeof(pkt);
		pkt[8] = 64;
		pkt[9] = IPPROTO_TCP;
		memcpy(pkt + 12, &a, 4);
		memcpy(pkt + 16, &to.sin_addr, 4);
		pkt[20] = (unsigned char)(sport >> 8);
		pkt[21] = (unsigned char)sport;
		pkt[22] = (unsigned char)(dport >> 8);
		pkt[23] = (unsigned char)dport;
		pkt[24] = (unsigned char)(i >> 24); /* sequence number */
		pkt[25] = (unsigned char)(i >> 16);
		pkt[32] = 5 << 4;
		pkt[33] = 0x02; /* SYN */
		pkt[34] = 0xff; /* window */
		sum = sum16(0, pkt + 12, 8) + IPPROTO_TCP + 20;
		sum = sum16(sum, pkt + 20, 20);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		c = (uint16_t)~sum;
		pkt[36] = (unsigned char)(c >> 8);
		pkt[37] = (unsigned char)c;
		if (sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) ==
		    (ssize_t)sizeof(pkt))
			sent++;
		if (++sport > 65535) {
			sport = 1024;
			host_src++;
		}
	}
	printf("synflood %ld\n", sent);
	return 0;
}

static int do_tun(const char *name, int seconds)
{
	struct ifreq ifr;
	time_t end = time(NULL) + seconds;
	unsigned char p[2048];
	int fd = open("/dev/net/tun", O_RDWR);

	if (step("open", fd >= 0))
		return 1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (step("attach", ioctl(fd, TUNSETIFF, &ifr) == 0))
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 200) != 1)
			continue;
		n = read(fd, p, sizeof(p));
		if (n <= 0)
			continue;
		if ((p[0] >> 4) == 6)
			continue; /* the kernel's own IPv6 chatter */
		printf("tun %zd hex ", n);
		hex(p, (size_t)n < 64 ? (size_t)n : 64);
		printf("\n");
		fflush(stdout);
	}
	printf("tun done\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (!strcmp(op, "sniff") && (argc == 5 || argc == 6))
		return do_sniff(argv[2], atoi(argv[3]), atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 0);
	if (!strcmp(op, "capture") && argc == 6)
		return do_capture(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
	if (!strcmp(op, "replay") && (argc == 5 || argc == 6))
		return do_replay(argv[2], argv[3], atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 1);
	if (!strcmp(op, "synflood") && argc == 6)
		return do_synflood(argv[2], argv[3], atoi(argv[4]), atol(argv[5]));
	if (!strcmp(op, "tun") && argc == 4)
		return do_tun(argv[2], atoi(argv[3]));
	return usage();
}
