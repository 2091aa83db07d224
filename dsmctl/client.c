// SPDX-License-Identifier: GPL-2.0
/*
 * The control-socket client: connect to a daemon's unix socket (dsmd's,
 * or dsm-server's), send one request line (with a file descriptor if there
 * is one to hand over), read the one JSON object it answers with until it
 * closes the connection. Every step is bounded (one deadline for the whole
 * exchange, a maximum answer size) so a stuck or misbehaving daemon gives
 * an error message, never a hang. Nothing here prints: failures come back
 * as one line of text for the caller to report.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"

#define CONNECT_RETRY_MS 20 /* between attempts while the backlog is full */
#define READ_CHUNK       4096

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copy a message that came from the daemon, without control characters. */
static void set_err_safe(char *err, size_t errlen, const char *msg)
{
	size_t i;

	if (!err || !errlen)
		return;
	for (i = 0; msg[i] && i + 1 < errlen; i++) {
		unsigned char c = (unsigned char)msg[i];

		err[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	err[i] = '\0';
}

static struct timespec deadline_after(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Milliseconds left until the deadline, rounded up; 0 once it passed. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 +
	     (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return (int)((ns + 999999) / 1000000);
}

/* "10 s" or "250 ms", for messages. */
static const char *duration(int ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%d s", ms / 1000);
	else
		snprintf(buf, len, "%d ms", ms);
	return buf;
}

/* Wait until fd is ready for events or the deadline passes: 1 ready,
 * 0 timed out, -1 error (errno). */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int left = ms_left(deadline), n;

		if (!left)
			return 0;
		n = poll(&p, 1, left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int dsmctl_connect_to(const char *path, const char *peer, int timeout_ms,
		      char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const struct timespec deadline = deadline_after(timeout_ms);
	size_t n = strlen(path);
	char dur[32];
	int fd, e;

	if (n == 0) {
		set_err(err, errlen, "cannot connect to %s: empty socket path", peer);
		errno = EINVAL;
		return -1;
	}
	if (n >= sizeof(sa.sun_path)) {
		set_err(err, errlen, "cannot connect to %s at %s: socket path longer than %zu bytes",
			peer, path, sizeof(sa.sun_path) - 1);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		set_err(err, errlen, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		e = errno;
		if (e == EINTR)
			continue;
		if (e == EAGAIN && ms_left(&deadline)) {
			/* The daemon's accept backlog is full: try again. */
			int left = ms_left(&deadline);

			poll(NULL, 0, left < CONNECT_RETRY_MS ? left : CONNECT_RETRY_MS);
			continue;
		}
		if (e == EINPROGRESS || e == EALREADY) {
			socklen_t sl = sizeof(e);
			int r = wait_fd(fd, POLLOUT, &deadline);

			if (r == 0) {
				e = EAGAIN;
			} else if (r < 0) {
				e = errno;
			} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl)) {
				e = errno;
			} else if (e == 0) {
				return fd;
			}
		}
		break;
	}
	close(fd);
	errno = e;
	if (e == EAGAIN)
		set_err(err, errlen, "cannot connect to %s at %s: no answer within %s (%s busy?)",
			peer, path, duration(timeout_ms, dur, sizeof(dur)), peer);
	else if (e == ENOENT || e == ECONNREFUSED)
		set_err(err, errlen, "cannot connect to %s at %s: %s (is %s running?)",
			peer, path, strerror(e), peer);
	else
		set_err(err, errlen, "cannot connect to %s at %s: %s", peer, path,
			strerror(e));
	errno = e;
	return -1;
}

int dsmctl_connect(const char *path, int timeout_ms, char *err, size_t errlen)
{
	return dsmctl_connect_to(path, "dsmd", timeout_ms, err, errlen);
}

enum dsmctl_call_status dsmctl_connect_status(int err)
{
	if (err == ENOENT || err == ECONNREFUSED)
		return DSMCTL_CALL_NOT_RUNNING;
	return err == EAGAIN ? DSMCTL_CALL_TIMEOUT : DSMCTL_CALL_UNREACHABLE;
}

int dsmctl_exit_status(enum dsmctl_call_status st)
{
	switch (st) {
	case DSMCTL_CALL_OK:          return DSMCTL_EXIT_OK;
	case DSMCTL_CALL_NOT_RUNNING: return DSMCTL_EXIT_NOT_RUNNING;
	case DSMCTL_CALL_TIMEOUT:     return DSMCTL_EXIT_STALLED;
	default:                      return DSMCTL_EXIT_FAIL;
	}
}

/* One sendmsg of buf with pass_fd attached (SCM_RIGHTS): what send()
 * returns. */
static ssize_t send_with_fd(int fd, const char *buf, size_t len, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* Send the whole buffer (pass_fd, if >= 0, with its first byte). 0 sent,
 * 1 the peer closed its end (it may still have answered), -1 error with
 * err set, -2 timed out with err set. */
static int send_all(int fd, const char *peer, const char *buf, size_t len, int pass_fd,
		    const struct timespec *deadline, int timeout_ms,
		    char *err, size_t errlen)
{
	char dur[32];
	size_t off = 0;

	while (off < len) {
		/* The descriptor rides with the first byte that is sent. */
		ssize_t n = off == 0 && pass_fd >= 0 ? send_with_fd(fd, buf, len, pass_fd)
						     : send(fd, buf + off, len - off, MSG_NOSIGNAL);
		int r;

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return 1;
		if (errno != EAGAIN) {
			set_err(err, errlen, "cannot send the request to %s: %s", peer,
				strerror(errno));
			return -1;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			if (r == 0)
				set_err(err, errlen, "%s did not take the request within %s", peer,
					duration(timeout_ms, dur, sizeof(dur)));
			else
				set_err(err, errlen, "cannot send the request to %s: %s",
					peer, strerror(errno));
			return r == 0 ? -2 : -1;
		}
	}
	return 0;
}

/* "16 MiB" or "1000 bytes", for messages. */
static const char *size_text(size_t n, char *buf, size_t len)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else
		snprintf(buf, len, "%zu bytes", n);
	return buf;
}

/* Read until the peer closes. Returns 0 with *out (NUL-terminated,
 * malloc()ed) and *outlen, or a failure status with err set. */
static enum dsmctl_call_status read_all(int fd, const char *peer,
					const struct timespec *deadline,
					int timeout_ms, size_t max,
					char **out, size_t *outlen,
					char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, txt[32];

	for (;;) {
		ssize_t n;
		int r;

		if (cap - len < 2) {
			/* Room for one byte over the limit, to notice it, and a NUL. */
			size_t ncap = cap ? cap * 2 : READ_CHUNK;
			char *nbuf;

			if (ncap > max + 2)
				ncap = max + 2;
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				set_err(err, errlen, "out of memory reading the answer from %s",
					peer);
				free(buf);
				return DSMCTL_CALL_IO;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n > 0) {
			len += (size_t)n;
			if (len > max) {
				set_err(err, errlen, "answer from %s is larger than %s", peer,
					size_text(max, txt, sizeof(txt)));
				free(buf);
				return DSMCTL_CALL_PROTOCOL;
			}
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			break;
		if (errno != EAGAIN) {
			set_err(err, errlen, "cannot read the answer from %s: %s", peer,
				strerror(errno));
			free(buf);
			return DSMCTL_CALL_IO;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			if (r == 0)
				set_err(err, errlen, "no complete answer from %s within %s", peer,
					duration(timeout_ms, txt, sizeof(txt)));
			else
				set_err(err, errlen, "cannot read the answer from %s: %s",
					peer, strerror(errno));
			free(buf);
			return r == 0 ? DSMCTL_CALL_TIMEOUT : DSMCTL_CALL_IO;
		}
	}
	if (len == 0) {
		set_err(err, errlen, "%s closed the connection without answering",
			peer);
		free(buf);
		return DSMCTL_CALL_IO;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return DSMCTL_CALL_OK;
}

static bool only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

/* Parse buf[0..len) (buf[len] is a NUL) as exactly one JSON object. */
static enum dsmctl_call_status parse_answer(const char *peer, const char *buf, size_t len,
					    struct json_object **answer,
					    char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	struct json_object *o, *msg;
	size_t end;

	if (!tok) {
		set_err(err, errlen, "out of memory parsing the answer from %s", peer);
		return DSMCTL_CALL_IO;
	}
	/* The terminating NUL is passed too: it ends a bare top-level value. */
	o = json_tokener_parse_ex(tok, buf, (int)(len + 1));
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		set_err(err, errlen, "answer from %s is not valid JSON: %s", peer,
			json_tokener_error_desc(jerr == json_tokener_success ?
						json_tokener_error_parse_eof : jerr));
		json_object_put(o);
		return DSMCTL_CALL_PROTOCOL;
	}
	if (end < len && !only_space(buf + end, len - end)) {
		set_err(err, errlen, "answer from %s has data after the JSON object",
			peer);
		json_object_put(o);
		return DSMCTL_CALL_PROTOCOL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		set_err(err, errlen, "answer from %s is not a JSON object", peer);
		json_object_put(o);
		return DSMCTL_CALL_PROTOCOL;
	}
	if (json_object_object_get_ex(o, "error", &msg)) {
		const char *s = json_object_is_type(msg, json_type_string) ?
			json_object_get_string(msg) :
			json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);

		if (s && *s)
			set_err_safe(err, errlen, s);
		else
			set_err(err, errlen, "%s reported an error without a message", peer);
		json_object_put(o);
		return DSMCTL_CALL_REMOTE;
	}
	*answer = o;
	return DSMCTL_CALL_OK;
}

enum dsmctl_call_status dsmctl_roundtrip_to(int fd, const char *peer, const char *request,
					    int pass_fd, int timeout_ms, size_t max_answer,
					    struct json_object **answer,
					    char *err, size_t errlen)
{
	const struct timespec deadline = deadline_after(timeout_ms);
	size_t rlen = strlen(request), len;
	enum dsmctl_call_status st;
	char line[DSMCTL_REQUEST_MAX + 1], *buf;
	int flags;

	*answer = NULL;
	if (max_answer > INT_MAX - 2)
		max_answer = INT_MAX - 2; /* the JSON parser takes an int length */
	if (rlen == 0 || rlen > DSMCTL_REQUEST_MAX || memchr(request, '\n', rlen)) {
		set_err(err, errlen, "invalid request: it must be one line of 1 to %d bytes",
			DSMCTL_REQUEST_MAX);
		return DSMCTL_CALL_PROTOCOL;
	}
	/* Never block past the deadline, whatever socket we were given. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK))) {
		set_err(err, errlen, "cannot use the control socket: %s", strerror(errno));
		return DSMCTL_CALL_IO;
	}
	memcpy(line, request, rlen);
	line[rlen] = '\n';
	switch (send_all(fd, peer, line, rlen + 1, pass_fd, &deadline, timeout_ms, err, errlen)) {
	case -1:
		return DSMCTL_CALL_IO;
	case -2:
		return DSMCTL_CALL_TIMEOUT;
	}
	st = read_all(fd, peer, &deadline, timeout_ms, max_answer, &buf, &len, err, errlen);
	if (st != DSMCTL_CALL_OK)
		return st;
	st = parse_answer(peer, buf, len, answer, err, errlen);
	free(buf);
	return st;
}

enum dsmctl_call_status dsmctl_roundtrip(int fd, const char *request,
					 int timeout_ms, size_t max_answer,
					 struct json_object **answer,
					 char *err, size_t errlen)
{
	return dsmctl_roundtrip_to(fd, "dsmd", request, -1, timeout_ms, max_answer, answer,
				   err, errlen);
}

enum dsmctl_call_status dsmctl_call(const char *path, const char *request,
				    struct json_object **answer,
				    char *err, size_t errlen)
{
	enum dsmctl_call_status st;
	int fd;

	*answer = NULL;
	fd = dsmctl_connect(path, DSMCTL_TIMEOUT_MS, err, errlen);
	if (fd < 0)
		return dsmctl_connect_status(errno);
	st = dsmctl_roundtrip(fd, request, DSMCTL_TIMEOUT_MS, DSMCTL_ANSWER_MAX,
			      answer, err, errlen);
	close(fd);
	return st;
}
