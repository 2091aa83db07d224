/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmctl, the operator CLI: declarations shared by its commands (status,
 * ps, exec, alarms), the control-socket client and the text formatters.
 * The policy commands are declared in dsmctl.h.
 *
 * Exit statuses: 0 success, 1 failure (error answer, I/O error), 2 usage
 * error, 3 dsmd is not running (no socket, nobody listening), 4 dsmd does
 * not answer in time (stalled, or busy); exec adds 126 (could not run the
 * command, e.g. the label transition was denied) and 127 (command not
 * found or other exec failure), like env(1). See docs/dsmctl.md.
 */
#ifndef DSMCTL_CLIENT_H
#define DSMCTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct json_object;

#define DSMCTL_SOCKET_DEFAULT "/run/dsm/dsmd.sock" /* env DSM_SOCKET */
#define DSMCTL_PIN_DIR        "/sys/fs/bpf/dsm"    /* env DSM_PIN_DIR */
#define DSMCTL_HEARTBEAT      "heartbeat"          /* next to the socket */

#define DSMCTL_ANSWER_MAX  (16u << 20) /* bytes of one answer */
#define DSMCTL_TIMEOUT_MS  10000       /* to connect; then for request + answer */
#define DSMCTL_REQUEST_MAX 510         /* bytes of one request, without '\n' */
#define DSMCTL_ERR_MAX     512         /* room for one error message */

enum {
	DSMCTL_EXIT_OK        = 0,
	DSMCTL_EXIT_FAIL      = 1,
	DSMCTL_EXIT_USAGE     = 2,
	DSMCTL_EXIT_NOT_RUNNING = 3,
	DSMCTL_EXIT_STALLED   = 4,
	DSMCTL_EXIT_CANNOT_RUN = 126,
	DSMCTL_EXIT_NOT_FOUND = 127,
};

/* Options given before the command. */
struct dsmctl_global {
	const char *socket;        /* dsmd's control socket path, never NULL */
	const char *server_socket; /* dsm-server's (server_client.h); NULL: default */
};

/* ---- client.c: one request, one answer ---------------------------------- */

enum dsmctl_call_status {
	DSMCTL_CALL_OK = 0,
	DSMCTL_CALL_NOT_RUNNING, /* no socket at that path, or nobody listening */
	DSMCTL_CALL_UNREACHABLE, /* connecting failed otherwise */
	DSMCTL_CALL_TIMEOUT,     /* connected or not, no answer in time */
	DSMCTL_CALL_IO,          /* send/receive failed, no answer */
	DSMCTL_CALL_PROTOCOL,    /* answer too large, not JSON, not an object */
	DSMCTL_CALL_REMOTE,      /* the daemon answered {"error": "..."} */
};

/*
 * Connect to the control socket at path, waiting at most timeout_ms for a
 * busy daemon to accept. Returns a non-blocking, close-on-exec socket,
 * or -1 with a message in err ("cannot connect to dsmd at PATH: ...") and
 * errno the cause: ENOENT or ECONNREFUSED (no dsmd), EAGAIN (timed out).
 */
int dsmctl_connect(const char *path, int timeout_ms, char *err, size_t errlen);

/* The same for a daemon called peer in the messages ("dsm-server"). */
int dsmctl_connect_to(const char *path, const char *peer, int timeout_ms,
		      char *err, size_t errlen);

/* The call status of a failed dsmctl_connect(), from errno. */
enum dsmctl_call_status dsmctl_connect_status(int err);

/* The exit status for a call that failed with st. */
int dsmctl_exit_status(enum dsmctl_call_status st);

/*
 * On a connected stream socket fd: send request (one line, '\n' added),
 * read the whole answer until the peer closes (at most max_answer bytes,
 * within timeout_ms in total) and parse it as one JSON object. On
 * DSMCTL_CALL_OK *answer is the object (release with json_object_put);
 * otherwise *answer is NULL and err holds one line without "dsmctl: " or
 * newline (for DSMCTL_CALL_REMOTE: the daemon's message). Makes fd
 * non-blocking; does not close it.
 */
enum dsmctl_call_status dsmctl_roundtrip(int fd, const char *request,
					 int timeout_ms, size_t max_answer,
					 struct json_object **answer,
					 char *err, size_t errlen);

/* The same to a daemon called peer in the messages, handing it pass_fd
 * (when >= 0) by SCM_RIGHTS with the request; pass_fd is not closed. */
enum dsmctl_call_status dsmctl_roundtrip_to(int fd, const char *peer, const char *request,
					    int pass_fd, int timeout_ms, size_t max_answer,
					    struct json_object **answer,
					    char *err, size_t errlen);

/* dsmctl_connect + dsmctl_roundtrip + close with the default bounds. */
enum dsmctl_call_status dsmctl_call(const char *path, const char *request,
				    struct json_object **answer,
				    char *err, size_t errlen);

/* ---- format.c: JSON answers and alarm records as text ------------------- */

/* Pretty-print a JSON value and a newline (not const: json-c caches the
 * text in the object). Returns 0 or -1 (write error). */
int dsmctl_print_json(FILE *out, struct json_object *o);

/* The `status` answer as an aligned report. Fields the daemon did not send
 * print as "?". Returns 0, or -1 if st is not an object. */
int dsmctl_format_status(FILE *out, const struct json_object *st);

/* The `ps` answer as PID LABEL COMM columns, sorted by pid. Returns 0, or
 * -1 if there is no "processes" array. */
int dsmctl_format_ps(FILE *out, const struct json_object *ps);

/* Whether ev is an alarm record: an object with string "time" and
 * "verdict" members (everything else may be missing). */
bool dsmctl_alarm_ok(const struct json_object *ev);

/* One alarm log record as one line:
 *   TIME NODE VERDICT SUBJECT[@NODE] -> TARGET CLASS PERM pid=N comm=C
 * Returns 0, or -1 (nothing written) if !dsmctl_alarm_ok(ev). */
int dsmctl_format_alarm(FILE *out, const struct json_object *ev);

/* Copy s to out, replacing control characters with '?' (names and comm
 * come from processes and must not drive the terminal). */
void dsmctl_put_safe(FILE *out, const char *s);

/* ---- common.c: helpers for the commands --------------------------------- */

/* "dsmctl: MESSAGE" on stderr. */
void dsmctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "dsmctl: MESSAGE (see dsmctl --help)" on stderr; returns
 * DSMCTL_EXIT_USAGE. */
int dsmctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One option of a command: a flag (value == NULL) or one with a value
 * ("--file PATH" or "--file=PATH"). */
struct dsmctl_opt {
	const char *name;   /* "--json" */
	bool *flag;         /* set to true when present (flags) */
	const char **value; /* receives the value (options with a value) */
};

#define DSMCTL_OPTS_HELP (-2)

/*
 * Parse argv[1..argc) (argv[0] is the command or program name) against
 * opts, which ends with an entry whose name is NULL. cmd prefixes error
 * messages ("status: unknown option '--x'"); NULL for the global options.
 * Parsing stops after "--" or, when stop_at_arg, at the first argument that
 * is not an option; otherwise any such argument is an error. Returns the
 * index of the first argument left, DSMCTL_OPTS_HELP for -h/--help, or -1
 * after reporting a usage error.
 */
int dsmctl_parse_opts(const char *cmd, int argc, char **argv,
		      const struct dsmctl_opt *opts, bool stop_at_arg);

/* Send request to the daemon and return its answer object, or print the
 * error, set *exit_status (dsmctl_exit_status) and return NULL. */
struct json_object *dsmctl_query(const struct dsmctl_global *g, const char *request,
				 int *exit_status);

/* ---- main.c and the commands -------------------------------------------- */

void dsmctl_usage(FILE *out);

int dsmctl_cmd_status(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_cmd_ps(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_cmd_exec(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_cmd_alarms(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_cmd_peer(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_cmd_reload(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_cmd_stats(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_cmd_doctor(const struct dsmctl_global *g, int argc, char **argv);

#endif /* DSMCTL_CLIENT_H */
