// SPDX-License-Identifier: GPL-2.0
/*
 * vuln_server: a DELIBERATELY VULNERABLE network service, built for the
 * exploit test (tests/guest/cases/lsm_exploit.sh) and for nothing else.
 * Never install or run it anywhere but a throw-away test machine.
 *
 *   vuln_server PORT [ADDR]     (ADDR defaults to 127.0.0.1)
 *
 * It serves exactly one TCP connection, inetd-style: the connection
 * becomes fds 0, 1 and 2, the service asks for a name and greets it.
 *
 * The bug: read_name() copies the request line into a fixed-size stack
 * buffer with no bound (a hand-rolled gets()), so a long line overwrites
 * greet()'s saved frame pointer and return address. The binary also still
 * contains maint_shell(), a leftover maintenance routine that nothing
 * calls; returning into it (ret2win) gives the peer a shell on the
 * connection. The build turns off what would stop that: no stack
 * protector, no PIE (code addresses are fixed and readable from the
 * symbol table), no CET. The stack stays non-executable: the exploit runs
 * code that is already in the binary.
 *
 * Before accepting, it prints "vuln_server: listening on ADDR:PORT" on
 * stderr; it never prints an address of its own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Leftover maintenance entry point: unreachable from any code path, but
 * linked in (used) and kept a function of its own (noinline). It is
 * entered by a hijacked "ret", with the stack 8 bytes off the alignment a
 * call would leave; force_align_arg_pointer realigns it in the prologue so
 * that libc's aligned vector stores cannot fault.
 */
static void __attribute__((used, noinline, force_align_arg_pointer, noreturn))
maint_shell(void)
{
	execl("/bin/sh", "sh", (char *)NULL);
	perror("maint: /bin/sh");
	_exit(127);
}

/*
 * TEST-ONLY BUG: no bound on the copy. Reads one byte at a time so that
 * nothing past the newline is consumed (whatever follows stays in the
 * socket for the next reader).
 */
static void __attribute__((noinline)) read_name(char *dst)
{
	char c;

	while (read(0, &c, 1) == 1 && c != '\n')
		*dst++ = c;
	*dst = '\0';
}

/* The only local is the buffer, so the overflow runs straight into the
 * saved frame pointer and the return address. */
static void __attribute__((noinline)) greet(void)
{
	char name[64];

	read_name(name);
	printf("hello, %s\n", name);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *addr = argc > 2 ? argv[2] : "127.0.0.1";
	int one = 1, lfd, cfd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: vuln_server PORT [ADDR]\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "vuln_server: bad address %s\n", addr);
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0) {
		perror("vuln_server: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("vuln_server: bind");
		return 1;
	}
	if (listen(lfd, 1) < 0) {
		perror("vuln_server: listen");
		return 1;
	}
	fprintf(stderr, "vuln_server: listening on %s:%s\n", addr, argv[1]);
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0) {
		perror("vuln_server: accept");
		return 1;
	}
	close(lfd);
	if (dup2(cfd, 0) < 0 || dup2(cfd, 1) < 0 || dup2(cfd, 2) < 0)
		return 1;
	if (cfd > 2)
		close(cfd);
	setvbuf(stdout, NULL, _IONBF, 0);

	printf("name? ");
	greet();
	return 0;
}
