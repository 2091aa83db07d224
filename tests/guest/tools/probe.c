// SPDX-License-Identifier: GPL-2.0
/*
 * probe: perform one operation dsm checks and print exactly how it went,
 * so a guest test can compare the transcript with what the policy says.
 * Each step prints "STEP OK" or "STEP ERRNAME"; the first failure ends the
 * run with exit 1. Exit 2 is a usage error.
 *
 *   probe fork                      fork + exit + wait
 *   probe exec PATH [ARG...]        execv (prints only on failure)
 *   probe kill PID SIG
 *   probe ptrace PID                PTRACE_ATTACH, then detach
 *   probe traceme                   a child asks to be traced by us
 *   probe socket FAMILY TYPE        FAMILY: inet unix packet; TYPE: stream dgram raw
 *   probe tcp PORT                  listener bind, listen; client connect;
 *                                   accept; send; recv (loopback)
 *   probe udp PORT                  bind; client send; recv (loopback)
 *   probe connect ADDR PORT         TCP connect to ADDR, send "x\n"
 *   probe bpf                       bpf(BPF_PROG_GET_NEXT_ID)
 *   probe module PATH               finit_module(PATH)
 *   probe write PATH                open(PATH, O_WRONLY | O_APPEND)
 *   probe unlink PATH
 *   probe rmdir PATH
 *   probe udp-recv PORT SECONDS [N] count datagrams for SECONDS (or until N
 *                                   have arrived): "received N"
 *   probe udp-send ADDR PORT N [SIZE [SPORT]]  send N datagrams of SIZE bytes
 *                                   (from source port SPORT): "sent N"
 *   probe udp-opts ADDR PORT N      one socket: N datagrams, then (within 5 s)
 *                                   the socket's IP options as dsmd left them,
 *                                   then N more: "options LEN HEX3 sent 2N"
 *   probe udp-step ADDR PORT        one socket; a datagram per line of stdin,
 *                                   "send OK" or "send ERRNAME" for each
 *   probe fd-send FD                send "x" on the socket FD we were given
 *                                   (inherited across exec): "send OK" or
 *                                   "send ERRNAME"
 *   probe tcp-accept PORT SECONDS   accept one connection, read a line:
 *                                   "accepted DATA" or "accept timeout"
 *   probe connect-late ADDR PORT LPORT SECONDS
 *                                   connect from local port LPORT, wait
 *                                   SECONDS, then send "x\n": "send OK"
 *   probe tcp-inject ADDR PORT LPORT [data|bare|token]
 *                                   one TCP segment (ACK, 4 bytes) from
 *                                   our LPORT to ADDR:PORT through a raw
 *                                   socket (IP_HDRINCL), outside any
 *                                   connection of ours: "inject OK".
 *                                   bare: no data; token: with a
 *                                   connection token whose MAC is made up
 *   probe rawsend ADDR PORT LABEL NODE EPOCH KEYID KEYFILE good|good1|badmac|badver
 *                                   one UDP datagram with a hand-made dsm
 *                                   option (IP_HDRINCL), MAC computed with
 *                                   the key KEYID of KEYFILE (or spoiled);
 *                                   version 2 (good1: version 1, whose MAC
 *                                   covers the IP ID; badver: version 4);
 *                                   EPOCH "now" is the current 10 s epoch
 *   probe forge3 FILE DSTMAC SRCMAC SADDR DADDR PORT LABEL NODE EPOCH GEN KEYHEX
 *                                   write FILE, an Ethernet and IPv4 header
 *                                   (as attack_net_pkt capture saves one)
 *                                   with a version 3 dsm option claiming
 *                                   LABEL@NODE, generation GEN, its MAC made
 *                                   with the 16-byte KEYHEX over UDP source
 *                                   port 40000 (attack_net_pkt replay's) and
 *                                   destination PORT: "forge3 OK"
 *   probe mkstate DIR CLUSTER ID NAME
 *                                   a server-state directory of an enrolled
 *                                   node ID NAME of CLUSTER (its own CA and
 *                                   operator key: for tests that run without
 *                                   a server): "mkstate OK"
 *   probe lo-inject SADDR DADDR PORT PRIORITY
 *                                   one UDP datagram put on lo by a packet
 *                                   socket that skips the tc egress
 *                                   (PACKET_QDISC_BYPASS), with SO_PRIORITY
 *                                   PRIORITY: "inject OK". lo's input drops
 *                                   127.x and local sources as martians:
 *                                   SADDR is another address, DADDR local
 *   probe forkloop N                N fork attempts; print "forkloop OK x EACCES y"
 *   probe pause                     print our pid, then sleep until killed
 *   probe loop SECONDS PORT         fork+wait and TCP connect+accept in a
 *                                   loop; print "loop N ok M failed"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include "peerlabel.h"
#include "pki.h"
#include "policy_sign.h"
#include <sys/stat.h>
#include <netinet/ip.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ESRCH: return "ESRCH";
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINPROGRESS: return "EINPROGRESS";
	default: return strerror(e);
	}
}

/* Print a step's outcome; return non-zero if it failed. */
static int step(const char *what, int ok)
{
	int e = ok ? 0 : errno;

	printf("%s %s\n", what, errname(e));
	fflush(stdout);
	return e;
}

static int usage(void)
{
	fprintf(stderr, "probe: bad arguments (see the comment at the top of probe.c)\n");
	return 2;
}

static int do_fd_send(int fd)
{
	return step("send", send(fd, "x", 1, 0) == 1);
}

static int do_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (step("fork", pid >= 0))
		return 1;
	waitpid(pid, &status, 0);
	return 0;
}

static int parse_family(const char *s)
{
	if (!strcmp(s, "inet")) return AF_INET;
	if (!strcmp(s, "unix")) return AF_UNIX;
	if (!strcmp(s, "packet")) return AF_PACKET;
	if (!strcmp(s, "inet6")) return AF_INET6;
	return -1;
}

static int parse_type(const char *s)
{
	if (!strcmp(s, "stream")) return SOCK_STREAM;
	if (!strcmp(s, "dgram")) return SOCK_DGRAM;
	if (!strcmp(s, "raw")) return SOCK_RAW;
	return -1;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int do_tcp(int port)
{
	struct sockaddr_in sa = loopback(port);
	int one = 1, l, c, a;
	char buf[8];

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (step("create", l >= 0))
		return 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (step("bind", bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0) ||
	    step("listen", listen(l, 4) == 0))
		return 1;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		return step("create-client", 0), 1;
	if (step("connect", connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0))
		return 1;
	a = accept(l, NULL, NULL);
	if (step("accept", a >= 0))
		return 1;
	if (step("send", send(c, "hi", 2, 0) == 2))
		return 1;
	if (step("recv", recv(a, buf, sizeof(buf), 0) == 2))
		return 1;
	return 0;
}

static int do_udp(int port)
{
	struct sockaddr_in sa = loopback(port);
	char buf[8];
	int s, c;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (step("create", s >= 0) || step("bind", bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0))
		return 1;
	c = socket(AF_INET, SOCK_DGRAM, 0);
	if (c < 0)
		return step("create-client", 0), 1;
	if (step("send", sendto(c, "hi", 2, 0, (struct sockaddr *)&sa, sizeof(sa)) == 2))
		return 1;
	if (step("recv", recv(s, buf, sizeof(buf), 0) == 2))
		return 1;
	return 0;
}

static int do_connect(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int c;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return usage();
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c >= 0) {
		struct timeval tv = { .tv_sec = 5 };

		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (step("create", c >= 0) ||
	    step("connect", connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0) ||
	    step("send", send(c, "x\n", 2, 0) == 2))
		return 1;
	return 0;
}

/* The source address the kernel picks for packets to *to, as a connected
 * UDP socket learns it. 0, or -1 with errno set. */
static int route_saddr(const struct sockaddr_in *to, uint32_t *saddr)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	int u = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (u < 0)
		return -1;
	if (connect(u, (const struct sockaddr *)to, sizeof(*to)) ||
	    getsockname(u, (struct sockaddr *)&me, &len))
		err = -1;
	else
		*saddr = me.sin_addr.s_addr;
	close(u);
	return err;
}

/* The fixed part of a hand-made IPv4 header to *to: source as the route
 * gives it (the MAC and the TCP checksum need it), total length len. The
 * kernel fills in the header checksum. 0, or -1 with errno set. */
static int raw_ip_header(struct iphdr *ip, const struct sockaddr_in *to, uint8_t protocol,
			 unsigned ihl, size_t len)
{
	if (route_saddr(to, &ip->saddr))
		return -1;
	ip->version = 4;
	ip->ihl = ihl;
	ip->ttl = 64;
	ip->protocol = protocol;
	ip->tot_len = htons((uint16_t)len);
	ip->daddr = to->sin_addr.s_addr;
	return 0;
}

/* A connection that stays quiet for a while after the handshake. */
static int do_connect_late(const char *addr, int port, int lport, int seconds)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)lport) };
	int c, one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return usage();
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (step("create", c >= 0))
		return 1;
	setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (step("bind", bind(c, (struct sockaddr *)&me, sizeof(me)) == 0) ||
	    step("connect", connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0))
		return 1;
	printf("connected\n");
	fflush(stdout);
	sleep((unsigned)seconds);
	if (step("send", send(c, "x\n", 2, 0) == 2))
		return 1;
	sleep(1);
	close(c);
	return 0;
}

/* The one's complement sum of len bytes, folded, not inverted. */
static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static int do_tcp_inject(const char *addr, int port, int lport, const char *kind)
{
	struct {
		struct iphdr ip;
		uint8_t tcp[20 + 16]; /* the token's room, used by "token" only */
		uint8_t data[4];
	} pkt;
	static const uint8_t token[16] = { 253, 16, 0x9e, 0x54, 2, 1, 0, 0,
					   0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef };
	size_t tcp_len = !strcmp(kind, "token") ? 36 : 20, len;
	size_t data_len = !strcmp(kind, "bare") ? 0 : 4;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	uint16_t sport = htons((uint16_t)lport), dport = sa.sin_port, check;
	uint32_t seq = htonl(0x5eed0001), sum;
	uint8_t pseudo[12];
	int one = 1, s;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    (strcmp(kind, "data") && strcmp(kind, "bare") && strcmp(kind, "token")))
		return usage();
	memset(&pkt, 0, sizeof(pkt));
	len = sizeof(pkt.ip) + tcp_len + data_len;
	if (raw_ip_header(&pkt.ip, &sa, IPPROTO_TCP, 5, len))
		return step("route", 0), 1;
	memcpy(pkt.tcp, &sport, 2);
	memcpy(pkt.tcp + 2, &dport, 2);
	memcpy(pkt.tcp + 4, &seq, 4);
	memcpy(pkt.tcp + 8, &seq, 4);
	pkt.tcp[12] = (uint8_t)(tcp_len / 4 << 4);
	pkt.tcp[13] = 0x10; /* ACK */
	pkt.tcp[14] = 0xff;
	if (tcp_len > 20)
		memcpy(pkt.tcp + 20, token, sizeof(token));
	memcpy(pkt.tcp + tcp_len, "zzzz", data_len); /* the data follows the options */
	_Static_assert(sizeof(pkt) == 20 + 36 + 4, "tcp-inject: no padding");
	memcpy(pseudo, &pkt.ip.saddr, 4);
	memcpy(pseudo + 4, &pkt.ip.daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = 0;
	pseudo[11] = (uint8_t)(tcp_len + data_len);
	sum = csum_add(0, pseudo, sizeof(pseudo));
	sum = csum_add(sum, pkt.tcp, tcp_len + data_len);
	check = htons((uint16_t)~sum);
	memcpy(pkt.tcp + 16, &check, 2);
	s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (step("create", s >= 0) ||
	    step("hdrincl", setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) == 0) ||
	    step("inject", sendto(s, &pkt, len, 0, (struct sockaddr *)&sa, sizeof(sa)) ==
				   (ssize_t)len))
		return 1;
	return 0;
}

static int do_ptrace(pid_t pid)
{
	int status;

	if (step("ptrace", ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0))
		return 1;
	waitpid(pid, &status, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}

static int do_traceme(void)
{
	int fds[2], status;
	char r = 1;
	pid_t pid;

	if (pipe(fds))
		return step("pipe", 0), 1;
	pid = fork();
	if (pid == 0) {
		char ok = ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : (char)errno;

		(void)!write(fds[1], &ok, 1);
		_exit(0);
	}
	if (pid < 0)
		return step("fork", 0), 1;
	if (read(fds[0], &r, 1) != 1)
		r = EIO;
	waitpid(pid, &status, 0);
	errno = r;
	return step("traceme", r == 0) ? 1 : 0;
}

static int do_udp_recv(int port, int seconds, unsigned long stop)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	time_t end = time(NULL) + seconds;
	unsigned long n = 0;
	char buf[65536];
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		return step("bind", 0), 1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end && (!stop || n < stop))
		if (recv(s, buf, sizeof(buf), 0) >= 0)
			n++;
	printf("received %lu\n", n);
	return 0;
}

static int do_udp_send(const char *addr, int port, unsigned long n, size_t size, int sport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sport) };
	static char buf[65000];
	unsigned long sent = 0;
	int s = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	if (s < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || size > sizeof(buf))
		return step("create", 0), 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sport && step("bind", bind(s, (struct sockaddr *)&me, sizeof(me)) == 0))
		return 1;
	memset(buf, 'd', size);
	for (unsigned long i = 0; i < n; i++) {
		if (sendto(s, buf, size, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)size)
			sent++;
		usleep(20000);
	}
	printf("sent %lu\n", sent);
	return sent == n ? 0 : 1;
}

/* N datagrams on one socket, what IP_OPTIONS it carries then (dsmd sets
 * a placeholder asynchronously: wait up to 5 s for one), N more. */
static int do_udp_opts(const char *addr, int port, unsigned long n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned char opts[40];
	socklen_t len = 0;
	unsigned long sent = 0;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return step("create", 0), 1;
	for (unsigned long i = 0; i < 2 * n; i++) {
		if (i == n) {
			for (int t = 0; t < 250; t++) {
				len = sizeof(opts);
				if (getsockopt(s, IPPROTO_IP, IP_OPTIONS, opts, &len))
					return step("getsockopt", 0), 1;
				if (len)
					break;
				usleep(20000);
			}
		}
		if (sendto(s, "o", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1)
			sent++;
		usleep(20000);
	}
	printf("options %u %02x%02x%02x sent %lu\n", (unsigned)len, len > 0 ? opts[0] : 0,
	       len > 1 ? opts[1] : 0, len > 2 ? opts[2] : 0, sent);
	return 0;
}

/* One socket for the whole run: a datagram for every line on stdin, so a
 * test can send, reload the policy, and send again on the same socket. */
static int do_udp_step(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char line[64];
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return step("create", 0), 1;
	step("create", 1);
	while (fgets(line, sizeof(line), stdin))
		step("send", sendto(s, "s", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1);
	return 0;
}

static int do_tcp_accept(int port, int seconds)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = seconds };
	char buf[256];
	int one = 1, l, a;
	ssize_t n;

	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 8))
		return step("listen", 0), 1;
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("ready\n");
	fflush(stdout);
	a = accept(l, NULL, NULL);
	if (a < 0) {
		printf("accept timeout\n");
		return 1;
	}
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(a, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	{
		struct dsm_peerlabel pl;

		if (dsm_getpeerlabel(a, NULL, &pl) == 0)
			printf("peer %s@%s%s\n", pl.label_name, pl.node_name,
			       pl.bound ? " bound" : "");
		else
			printf("peer unknown\n");
	}
	printf("accepted %s\n", buf);
	return 0;
}

/* SipHash-2-4 with OpenSSL: the reference a forger with the key would use. */
static int siphash24(const unsigned char key[16], const unsigned char *msg, size_t len,
		     unsigned char out[8])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t size = 8, outl = 0;
	OSSL_PARAM p[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
			   OSSL_PARAM_construct_end() };
	int ok = ctx && EVP_MAC_init(ctx, key, 16, p) && EVP_MAC_update(ctx, msg, len) &&
		 EVP_MAC_final(ctx, out, &outl, 8) && outl == 8;

	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

static int read_key(const char *path, unsigned kid, unsigned char key[16])
{
	char line[256], hex[64];
	unsigned id;
	FILE *f = fopen(path, "r");
	int found = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "key %u %63s", &id, hex) == 2 && id == kid && strlen(hex) == 32) {
			for (int i = 0; i < 16; i++)
				sscanf(hex + 2 * i, "%2hhx", &key[i]);
			found = 0;
		}
	if (f)
		fclose(f);
	return found;
}

static int do_rawsend(char **a)
{
	struct { struct iphdr ip; unsigned char opt[24]; unsigned char udp[8]; char data[8]; } pkt;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(a[1])) };
	unsigned char key[16], msg[28], mac[8];
	uint32_t label = htonl((uint32_t)strtoul(a[2], NULL, 0));
	uint32_t node = htonl((uint32_t)strtoul(a[3], NULL, 0));
	uint32_t epoch = htonl(!strcmp(a[4], "now") ? (uint32_t)(time(NULL) / 10)
						    : (uint32_t)strtoul(a[4], NULL, 0));
	unsigned kid = (unsigned)atoi(a[5]);
	int one = 1, s, v1 = !strcmp(a[7], "good1");

	if (inet_pton(AF_INET, a[0], &sa.sin_addr) != 1 || read_key(a[6], kid, key))
		return usage();
	memset(&pkt, 0, sizeof(pkt));
	s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (step("create", s >= 0) ||
	    setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)))
		return 1;
	if (raw_ip_header(&pkt.ip, &sa, IPPROTO_UDP, 11, sizeof(pkt)))
		return step("route", 0), 1;
	pkt.ip.id = htons((uint16_t)getpid());
	pkt.opt[0] = 0x9e;
	pkt.opt[1] = 24;
	pkt.opt[2] = v1 ? 1 : 2;
	pkt.opt[3] = (unsigned char)kid;
	memcpy(pkt.opt + 4, &label, 4);
	memcpy(pkt.opt + 8, &node, 4);
	memcpy(pkt.opt + 12, &epoch, 4);
	memcpy(msg, &pkt.ip.saddr, 4);
	memcpy(msg + 4, &pkt.ip.daddr, 4);
	msg[8] = IPPROTO_UDP;
	msg[9] = 0;
	if (v1)
		memcpy(msg + 10, &pkt.ip.id, 2);
	else
		memset(msg + 10, 0, 2); /* version 2: the MAC leaves the IP ID out */
	memcpy(msg + 12, pkt.opt, 16);
	if (siphash24(key, msg, sizeof(msg), mac))
		return step("siphash", 0), 1;
	if (!strcmp(a[7], "badmac"))
		mac[0] ^= 1;
	/* A dsm option of another version: sound IP options (the kernel
	 * keeps the packet), malformed for dsm. A broken option length would
	 * make the kernel drop the packet itself, before any socket. */
	if (!strcmp(a[7], "badver"))
		pkt.opt[2] = 4;
	memcpy(pkt.opt + 16, mac, 8);
	{
		uint16_t sport = htons(40000), dport = sa.sin_port, ulen = htons(16);

		memcpy(pkt.udp, &sport, 2);
		memcpy(pkt.udp + 2, &dport, 2);
		memcpy(pkt.udp + 4, &ulen, 2); /* checksum 0: none */
	}
	memcpy(pkt.data, "forged!\n", 8);
	return step("rawsend", sendto(s, &pkt, sizeof(pkt), 0, (struct sockaddr *)&sa,
				      sizeof(sa)) == sizeof(pkt)) ? 1 : 0;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6 ? 0 : -1;
}

/* A version 3 option as a forger with the pair key KEYHEX would write it
 * (docs/wire.md: the MAC message binds the ports), in a frame header file
 * for attack_net_pkt replay, which sends it from UDP port 40000. */
static int do_forge3(char **a)
{
	unsigned char f[14 + 20 + 24] = { 0 }, key[16], msg[32], mac[8], *ip = f + 14, *o = ip + 20;
	uint32_t label = htonl((uint32_t)strtoul(a[6], NULL, 0));
	uint32_t node = htonl((uint32_t)strtoul(a[7], NULL, 0));
	uint32_t epoch = htonl(!strcmp(a[8], "now") ? (uint32_t)(time(NULL) / 10)
						    : (uint32_t)strtoul(a[8], NULL, 0));
	uint16_t sport = htons(40000), dport = htons((uint16_t)atoi(a[5]));
	FILE *out;

	if (parse_mac(a[1], f) || parse_mac(a[2], f + 6) || inet_pton(AF_INET, a[3], ip + 12) != 1 ||
	    inet_pton(AF_INET, a[4], ip + 16) != 1 || strlen(a[10]) != 32)
		return usage();
	for (int i = 0; i < 16; i++)
		if (sscanf(a[10] + 2 * i, "%2hhx", &key[i]) != 1)
			return usage();
	f[12] = 0x08;
	ip[0] = 0x40 | (20 + 24) / 4;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	o[0] = 0x9e;
	o[1] = 24;
	o[2] = 3;
	o[3] = (unsigned char)strtoul(a[9], NULL, 0);
	memcpy(o + 4, &label, 4);
	memcpy(o + 8, &node, 4);
	memcpy(o + 12, &epoch, 4);
	memcpy(msg, ip + 12, 8);
	msg[8] = IPPROTO_UDP;
	memset(msg + 9, 0, 3);
	memcpy(msg + 12, &sport, 2);
	memcpy(msg + 14, &dport, 2);
	memcpy(msg + 16, o, 16);
	if (siphash24(key, msg, sizeof(msg), mac))
		return step("siphash", 0), 1;
	memcpy(o + 16, mac, 8);
	out = fopen(a[0], "w");
	if (!out || fwrite(f, 1, sizeof(f), out) != sizeof(f) || fclose(out)) {
		printf("forge3 failed\n");
		return 1;
	}
	printf("forge3 OK\n");
	return 0;
}

/* The files enrolment writes (dsmd/uplink.h), made here: a CA of our
 * own, the node's key and certificate, an operator key, cluster and
 * node-id. dsmd runs joined on them; no server needs to answer. */
static int write_line(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		return -1;
	return chmod(path, 0644);
}

static int do_mkstate(const char *dir, const char *cluster, const char *id, const char *name)
{
	const struct dsm_pki_issue req = { .role = DSM_ROLE_NODE, .name = name, .now = time(NULL),
					   .lifetime_s = 86400 * 30 };
	struct dsm_pki_ca ca = { 0 };
	struct dsm_sign_key *op = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char path[512], line[64];
	int ok;

	mkdir(dir, 0700);
	snprintf(line, sizeof(line), "%s\n", id);
	ok = !dsm_pki_ca_create(cluster, time(NULL), 86400 * 60, &ca) && !dsm_pki_key_new(&key) &&
	     !dsm_pki_issue(&ca, &req, key, &cert) && !dsm_sign_key_generate(&op);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	ok = ok && !dsm_pki_cert_save(path, ca.cert);
	snprintf(path, sizeof(path), "%s/operator.pub", dir);
	ok = ok && !dsm_sign_pubkey_write_file(op, path);
	snprintf(path, sizeof(path), "%s/node.key", dir);
	ok = ok && !dsm_pki_key_save(path, key);
	ok = ok && !write_line(dir, "node-id", line);
	snprintf(line, sizeof(line), "%s\n", cluster);
	ok = ok && !write_line(dir, "cluster", line);
	snprintf(path, sizeof(path), "%s/node.pem", dir);
	ok = ok && !dsm_pki_cert_save(path, cert); /* last: enrolled from now on */
	dsm_pki_ca_free(&ca);
	dsm_sign_key_free(op);
	EVP_PKEY_free(key);
	X509_free(cert);
	printf("mkstate %s\n", ok ? "OK" : "failed");
	return ok ? 0 : 1;
}

/*
 * A datagram that reaches lo's receive path without passing the tc egress
 * program, carrying the priority a forger would choose (a label id). dsm
 * must take it for what it is: an unlabeled packet from SADDR.
 */
static int do_lo_inject(char **a)
{
	unsigned char f[ETH_HLEN + sizeof(struct iphdr) + 8 + 8] = { 0 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = 1,
				  .sll_protocol = htons(ETH_P_IP), .sll_halen = ETH_ALEN };
	uint16_t sport = htons(40001), dport = htons((uint16_t)atoi(a[2])), ulen = htons(16);
	int one = 1, prio = atoi(a[3]), s;
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
			    .tot_len = htons(sizeof(f) - ETH_HLEN) };
	uint16_t w[sizeof(ip) / 2];
	uint32_t sum = 0;
	unsigned char *udp = f + ETH_HLEN + sizeof(ip);

	if (inet_pton(AF_INET, a[0], &ip.saddr) != 1 || inet_pton(AF_INET, a[1], &ip.daddr) != 1)
		return usage();
	memcpy(w, &ip, sizeof(ip));
	for (size_t i = 0; i < sizeof(w) / 2; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	ip.check = (uint16_t)~((sum & 0xffff) + (sum >> 16));
	f[12] = 0x08;
	memcpy(f + ETH_HLEN, &ip, sizeof(ip));
	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &dport, 2);
	memcpy(udp + 4, &ulen, 2); /* checksum 0: none */
	memcpy(udp + 8, "injectd\n", 8);
	s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	if (step("create", s >= 0) ||
	    step("bypass", !setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) ||
	    step("priority", !setsockopt(s, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio))))
		return 1;
	return step("inject", sendto(s, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) ==
				      (ssize_t)sizeof(f)) ? 1 : 0;
}

/* A workload that must never see a wrong decision while policies swap. */
static int do_loop(int seconds, int port)
{
	struct sockaddr_in sa = loopback(port);
	unsigned long ok = 0, failed = 0;
	time_t end = time(NULL) + seconds;
	int one = 1, l;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return step("create", 0), 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 64))
		return step("listen", 0), 1;
	while (time(NULL) < end) {
		int status, c, a;
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			fprintf(stderr, "loop: fork: %s\n", errname(errno));
			failed++;
		} else {
			waitpid(pid, &status, 0);
			ok++;
		}
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa))) {
			fprintf(stderr, "loop: connect: %s\n", errname(errno));
			failed++;
		} else if ((a = accept(l, NULL, NULL)) < 0) {
			fprintf(stderr, "loop: accept: %s\n", errname(errno));
			failed++;
		} else {
			close(a);
			ok++;
		}
		if (c >= 0)
			close(c);
	}
	printf("loop %lu ok %lu failed\n", ok, failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (!strcmp(op, "fork") && argc == 2)
		return do_fork();
	if (!strcmp(op, "exec") && argc >= 3) {
		execv(argv[2], argv + 2);
		step("exec", 0);
		return 1;
	}
	if (!strcmp(op, "kill") && argc == 4)
		return step("kill", kill(atoi(argv[2]), atoi(argv[3])) == 0) ? 1 : 0;
	if (!strcmp(op, "ptrace") && argc == 3)
		return do_ptrace(atoi(argv[2]));
	if (!strcmp(op, "traceme") && argc == 2)
		return do_traceme();
	if (!strcmp(op, "socket") && argc == 4) {
		int f = parse_family(argv[2]), t = parse_type(argv[3]);

		if (f < 0 || t < 0)
			return usage();
		return step("create", socket(f, t, f == AF_PACKET ? htons(3) : 0) >= 0) ? 1 : 0;
	}
	if (!strcmp(op, "tcp") && argc == 3)
		return do_tcp(atoi(argv[2]));
	if (!strcmp(op, "udp") && argc == 3)
		return do_udp(atoi(argv[2]));
	if (!strcmp(op, "connect") && argc == 4)
		return do_connect(argv[2], atoi(argv[3]));
	if (!strcmp(op, "connect-late") && argc == 6)
		return do_connect_late(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(op, "tcp-inject") && (argc == 5 || argc == 6))
		return do_tcp_inject(argv[2], atoi(argv[3]), atoi(argv[4]),
				     argc == 6 ? argv[5] : "data");
	if (!strcmp(op, "bpf") && argc == 2) {
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		if (syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr)) < 0 && errno == ENOENT)
			errno = 0; /* no program at all: the call itself was allowed */
		return step("bpf", errno == 0) ? 1 : 0;
	}
	if (!strcmp(op, "module") && argc == 3) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return step("open", 0), 1;
		return step("module", syscall(SYS_finit_module, fd, "", 0) == 0) ? 1 : 0;
	}
	if (!strcmp(op, "write") && argc == 3) {
		int fd = open(argv[2], O_WRONLY | O_APPEND | O_CLOEXEC);

		if (step("write", fd >= 0))
			return 1;
		close(fd);
		return 0;
	}
	if (!strcmp(op, "unlink") && argc == 3)
		return step("unlink", unlink(argv[2]) == 0) ? 1 : 0;
	if (!strcmp(op, "rmdir") && argc == 3)
		return step("rmdir", rmdir(argv[2]) == 0) ? 1 : 0;
	if (!strcmp(op, "udp-recv") && (argc == 4 || argc == 5))
		return do_udp_recv(atoi(argv[2]), atoi(argv[3]),
				   argc == 5 ? strtoul(argv[4], NULL, 0) : 0);
	if (!strcmp(op, "udp-send") && argc >= 5 && argc <= 7)
		return do_udp_send(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 0),
				   argc >= 6 ? strtoul(argv[5], NULL, 0) : 64,
				   argc == 7 ? atoi(argv[6]) : 0);
	if (!strcmp(op, "forge3") && argc == 13)
		return do_forge3(argv + 2);
	if (!strcmp(op, "mkstate") && argc == 6)
		return do_mkstate(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(op, "udp-opts") && argc == 5)
		return do_udp_opts(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 0));
	if (!strcmp(op, "udp-step") && argc == 4)
		return do_udp_step(argv[2], atoi(argv[3]));
	if (!strcmp(op, "fd-send") && argc == 3)
		return do_fd_send(atoi(argv[2])) ? 1 : 0;
	if (!strcmp(op, "tcp-accept") && argc == 4)
		return do_tcp_accept(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(op, "rawsend") && argc == 10)
		return do_rawsend(argv + 2);
	if (!strcmp(op, "lo-inject") && argc == 6)
		return do_lo_inject(argv + 2);
	if (!strcmp(op, "forkloop") && argc == 3) {
		unsigned long ok = 0, denied = 0, n = strtoul(argv[2], NULL, 0);

		for (unsigned long i = 0; i < n; i++) {
			int status;
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid > 0) {
				waitpid(pid, &status, 0);
				ok++;
			} else if (errno == EACCES) {
				denied++;
			} else {
				return step("fork", 0), 1;
			}
		}
		printf("forkloop OK %lu EACCES %lu\n", ok, denied);
		return 0;
	}
	if (!strcmp(op, "loop") && argc == 4)
		return do_loop(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(op, "pause") && argc == 2) {
		printf("%d\n", getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	return usage();
}
