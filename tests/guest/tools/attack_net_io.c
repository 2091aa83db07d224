// SPDX-License-Identifier: GPL-2.0
/*
 * attack_net_io: move data through a socket by the kernel paths that do not
 * (or do) pass the socket send/recv/connect hooks, and print exactly how it
 * went, so a guest test can compare with what the policy says. Every step
 * prints "STEP OK" or "STEP ERRNAME"; a failed step ends the run, exit 1.
 *
 *   attack_net_io tfo ADDR PORT [uring]
 *        TCP Fast Open: sendto(MSG_FASTOPEN) of "x\n" on a fresh socket
 *        (uring: an io_uring SENDMSG with MSG_FASTOPEN and the address,
 *        IOSQE_ASYNC: in an io_uring worker, which sends on sockets without
 *        blocking, so the SYN goes out without data), no connect() call;
 *        waits for the handshake: "tfo OK" when the connection stands;
 *        data the SYN did not carry goes after it with send()
 *   attack_net_io send MODE tcp|udp ADDR PORT
 *        connect() (a UDP socket too), then deliver "x\n" with MODE:
 *          send write                     the ordinary calls (checked)
 *          sendfile splice vmsplice       file -> socket, pipe -> socket,
 *                                         user memory -> pipe -> socket
 *          uring-send uring-sendzc uring-sendmsg uring-write uring-splice
 *                                         the same through io_uring
 *   attack_net_io recv MODE tcp|udp PORT SECONDS
 *        bind (TCP: listen, accept one), wait for data, take it with MODE:
 *          recv read                      the ordinary calls (checked)
 *          splice sendfile zerocopy       socket -> pipe (splice, sendfile),
 *                                         getsockopt(TCP_ZEROCOPY_RECEIVE)
 *                                         (copy buffer and an mmap of the
 *                                         socket)
 *          zerocopy-copy                  the same getsockopt with the copy
 *                                         buffer alone, no mmap (small
 *                                         data is copied before the kernel
 *                                         looks for a mapping)
 *          uring-recv uring-recvmsg uring-read uring-splice
 *        prints "MODE OK DATA" or "MODE ERRNAME"; "accept timeout" or
 *        "wait timeout" when nothing came
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#ifndef TCP_ZEROCOPY_RECEIVE
#define TCP_ZEROCOPY_RECEIVE 35
#endif

/* struct tcp_zerocopy_receive as the 6.1 kernel has it (glibc's
 * netinet/tcp.h carries an older, shorter one). */
struct zc_receive {
	uint64_t address;
	uint32_t length;
	uint32_t recv_skip_hint;
	uint32_t inq;
	int32_t err;
	uint64_t copybuf_address;
	int32_t copybuf_len;
	uint32_t flags;
	uint64_t msg_control;
	uint64_t msg_controllen;
	uint32_t msg_flags;
	uint32_t reserved;
};

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINPROGRESS: return "EINPROGRESS";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOTCONN: return "ENOTCONN";
	case ENOSYS: return "ENOSYS";
	case EBADF: return "EBADF";
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
	fprintf(stderr, "attack_net_io: bad arguments (see the comment at the top)\n");
	return 2;
}

/* ---- io_uring, one request at a time, without liburing ---------------- */

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_open(struct ring *r)
{
	struct io_uring_params p;
	size_t sq_len, cq_len;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -1;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if ((p.features & IORING_FEAT_SINGLE_MMAP) && cq_len > sq_len)
		sq_len = cq_len;
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -1;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			  IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return -1;
	}
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit *sqe and return the result of its first completion that is not a
 * zero-copy notification (errno set when negative). */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	int res;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	for (;;) {
		if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0 &&
		    errno != EINTR)
			return -1;
		head = *r->cq_head;
		while (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
			struct io_uring_cqe *c = &r->cqes[head & *r->cq_mask];
			unsigned flags = c->flags;

			res = c->res;
			head++;
			__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
			if (flags & IORING_CQE_F_NOTIF)
				continue;
			if (res < 0) {
				errno = -res;
				return -1;
			}
			return res;
		}
	}
}

/* One io_uring request; SENDMSG and RECVMSG carry a msghdr of one iovec
 * (with the destination @to for SENDMSG, if given: then the request goes
 * to a worker, IOSQE_ASYNC, and may block there) and @msg_flags. */
static int uring_op_to(int op, int fd, void *buf, size_t len, int splice_in,
		       const struct sockaddr_in *to, unsigned msg_flags)
{
	struct io_uring_sqe sqe;
	struct ring r;
	struct msghdr msg;
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	if (ring_open(&r))
		return -1;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = (unsigned char)op;
	sqe.fd = fd;
	sqe.addr = (uintptr_t)buf;
	sqe.len = (unsigned)len;
	sqe.msg_flags = msg_flags;
	if (op == IORING_OP_SENDMSG || op == IORING_OP_RECVMSG) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (to) {
			msg.msg_name = (void *)to;
			msg.msg_namelen = sizeof(*to);
			sqe.flags |= IOSQE_ASYNC;
		}
		sqe.addr = (uintptr_t)&msg;
		sqe.len = 1;
	}
	if (op == IORING_OP_READ || op == IORING_OP_WRITE)
		sqe.off = (uint64_t)-1; /* the file position: a socket has none */
	if (op == IORING_OP_SPLICE) {
		/* splice_off_in shares its place with addr: no offsets */
		sqe.splice_fd_in = splice_in;
		sqe.splice_off_in = (uint64_t)-1;
		sqe.off = (uint64_t)-1;
	}
	return ring_run(&r, &sqe);
}

static int uring_op(int op, int fd, void *buf, size_t len, int splice_in)
{
	return uring_op_to(op, fd, buf, len, splice_in, NULL, 0);
}

/* ---- sending ------------------------------------------------------------ */

static int parse_addr(const char *addr, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -1;
}

static int do_tfo(const char *addr, int port, int uring)
{
	static char data[] = "x\n";
	struct sockaddr_in sa;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int s, err = 0, sent = 2;

	if (parse_addr(addr, port, &sa))
		return usage();
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (step("create", s >= 0))
		return 1;
	if (uring) {
		sent = uring_op_to(IORING_OP_SENDMSG, s, data, 2, -1, &sa, MSG_FASTOPEN);
		if (step("uring-sendmsg-fastopen", sent >= 0 || errno == EINPROGRESS))
			return 1;
	} else if (step("sendto-fastopen", sendto(s, data, 2, MSG_FASTOPEN, (struct sockaddr *)&sa,
						  sizeof(sa)) >= 0 || errno == EINPROGRESS)) {
		return 1;
	}
	pfd.fd = s;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 5000) != 1) {
		printf("tfo ETIMEDOUT\n");
		return 1;
	}
	getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
	errno = err;
	if (step("tfo", err == 0))
		return 1;
	if (sent < 2 && step("send", send(s, data, 2, 0) == 2))
		return 1;
	sleep(1);
	close(s);
	return 0;
}

static int send_mode(const char *mode, int s)
{
	static char data[] = "x\n";
	size_t n = 2;
	int p[2], ok;

	if (!strcmp(mode, "send"))
		return step(mode, send(s, data, n, 0) == (ssize_t)n);
	if (!strcmp(mode, "write"))
		return step(mode, write(s, data, n) == (ssize_t)n);
	if (!strcmp(mode, "sendfile")) {
		char path[] = "/tmp/attack_net_io.XXXXXX";
		int f = mkstemp(path);

		if (f < 0 || write(f, data, n) != (ssize_t)n || lseek(f, 0, SEEK_SET))
			return step("tmpfile", 0);
		unlink(path);
		return step(mode, sendfile(s, f, NULL, n) == (ssize_t)n);
	}
	if (!strcmp(mode, "splice") || !strcmp(mode, "vmsplice")) {
		struct iovec iov = { .iov_base = data, .iov_len = n };

		if (pipe(p))
			return step("pipe", 0);
		if (!strcmp(mode, "splice"))
			ok = write(p[1], data, n) == (ssize_t)n;
		else
			ok = vmsplice(p[1], &iov, 1, 0) == (ssize_t)n;
		if (step(!strcmp(mode, "splice") ? "pipe-write" : "vmsplice-to-pipe", ok))
			return 1;
		return step(mode, splice(p[0], NULL, s, NULL, n, 0) == (ssize_t)n);
	}
	if (!strcmp(mode, "uring-send"))
		return step(mode, uring_op(IORING_OP_SEND, s, data, n, -1) == (int)n);
	if (!strcmp(mode, "uring-sendzc"))
		return step(mode, uring_op(IORING_OP_SEND_ZC, s, data, n, -1) == (int)n);
	if (!strcmp(mode, "uring-sendmsg"))
		return step(mode, uring_op(IORING_OP_SENDMSG, s, data, n, -1) == (int)n);
	if (!strcmp(mode, "uring-write"))
		return step(mode, uring_op(IORING_OP_WRITE, s, data, n, -1) == (int)n);
	if (!strcmp(mode, "uring-splice")) {
		if (pipe(p) || write(p[1], data, n) != (ssize_t)n)
			return step("pipe", 0);
		return step(mode, uring_op(IORING_OP_SPLICE, s, NULL, n, p[0]) == (int)n);
	}
	return usage();
}

static int do_send(const char *mode, const char *proto, const char *addr, int port)
{
	struct sockaddr_in sa;
	int s, tcp = !strcmp(proto, "tcp"), rc;

	if (parse_addr(addr, port, &sa) || (!tcp && strcmp(proto, "udp")))
		return usage();
	s = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (step("create", s >= 0) ||
	    step("connect", connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0))
		return 1;
	rc = send_mode(mode, s);
	sleep(1);
	close(s);
	return rc ? 1 : 0;
}

/* ---- receiving ---------------------------------------------------------- */

static int recv_mode(const char *mode, int s, char *out, size_t cap)
{
	ssize_t n = -1;
	int p[2];

	if (!strcmp(mode, "recv"))
		n = recv(s, out, cap, 0);
	else if (!strcmp(mode, "read"))
		n = read(s, out, cap);
	else if (!strcmp(mode, "splice")) {
		if (pipe(p))
			return -1;
		n = splice(s, NULL, p[1], NULL, cap, 0);
		if (n > 0)
			n = read(p[0], out, (size_t)n);
	} else if (!strcmp(mode, "sendfile")) {
		/* Into a pipe: sendfile to anything else wants a seekable
		 * input, which a socket is not. */
		if (pipe(p))
			return -1;
		n = sendfile(p[1], s, NULL, cap);
		if (n > 0)
			n = read(p[0], out, (size_t)n);
	} else if (!strcmp(mode, "zerocopy") || !strcmp(mode, "zerocopy-copy")) {
		struct zc_receive zc;
		socklen_t zl = sizeof(zc);
		size_t maplen = 16 * 4096;
		void *map = NULL;

		if (!strcmp(mode, "zerocopy")) {
			map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, s, 0);
			if (map == MAP_FAILED) {
				int e = errno;

				step("mmap-socket", 0);
				errno = e;
				return -1;
			}
			step("mmap-socket", 1);
		} else {
			maplen = 0;
		}
		memset(&zc, 0, sizeof(zc));
		zc.address = (uintptr_t)map;
		zc.length = (uint32_t)maplen;
		zc.copybuf_address = (uintptr_t)out;
		zc.copybuf_len = (int)cap;
		if (getsockopt(s, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &zl))
			return -1;
		if (zc.length) /* mapped whole pages: take them from the mapping */
			memcpy(out, map, zc.length < cap ? zc.length : cap);
		n = zc.length ? (ssize_t)zc.length : zc.copybuf_len;
		printf("zerocopy mapped %u copied %d\n", zc.length, zc.copybuf_len);
	} else if (!strcmp(mode, "uring-recv"))
		n = uring_op(IORING_OP_RECV, s, out, cap, -1);
	else if (!strcmp(mode, "uring-recvmsg"))
		n = uring_op(IORING_OP_RECVMSG, s, out, cap, -1);
	else if (!strcmp(mode, "uring-read"))
		n = uring_op(IORING_OP_READ, s, out, cap, -1);
	else if (!strcmp(mode, "uring-splice")) {
		if (pipe(p))
			return -1;
		n = uring_op(IORING_OP_SPLICE, p[1], NULL, cap, s);
		if (n > 0)
			n = read(p[0], out, (size_t)n);
	} else {
		errno = EINVAL;
		return -1;
	}
	return (int)n;
}

static int do_recv(const char *mode, const char *proto, int port, int seconds)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int tcp = !strcmp(proto, "tcp"), one = 1, l, s, n;
	struct pollfd pfd;
	char buf[256];

	if (!tcp && strcmp(proto, "udp"))
		return usage();
	l = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (l < 0)
		return step("create", 0), 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || (tcp && listen(l, 8)))
		return step("listen", 0), 1;
	printf("ready\n");
	fflush(stdout);
	pfd.fd = l;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, seconds * 1000) != 1) {
		printf(tcp ? "accept timeout\n" : "wait timeout\n");
		return 1;
	}
	s = l;
	if (tcp) {
		s = accept(l, NULL, NULL);
		if (step("accept", s >= 0))
			return 1;
		pfd.fd = s;
		if (poll(&pfd, 1, seconds * 1000) != 1) {
			printf("wait timeout\n");
			return 1;
		}
	}
	memset(buf, 0, sizeof(buf));
	n = recv_mode(mode, s, buf, sizeof(buf) - 1);
	if (n < 0) {
		printf("%s %s\n", mode, errname(errno));
		return 1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s OK %s\n", mode, buf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (!strcmp(op, "tfo") && (argc == 4 || (argc == 5 && !strcmp(argv[4], "uring"))))
		return do_tfo(argv[2], atoi(argv[3]), argc == 5);
	if (!strcmp(op, "send") && argc == 6)
		return do_send(argv[2], argv[3], argv[4], atoi(argv[5]));
	if (!strcmp(op, "recv") && argc == 6)
		return do_recv(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	return usage();
}
