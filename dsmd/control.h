/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control socket (control.c): connections, their bounds and
 * deadlines, and the authorization of each request by the caller's label.
 * What a request does is the request table's business (requests.c, or a
 * test's): control.c only calls it through the table it was opened with.
 */
#ifndef DSMD_CONTROL_H
#define DSMD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dsmd;
struct json_object;
struct dsmd_client;

#define DSMD_CTL_LINE_MAX      510          /* request bytes before the '\n' */
/* Bounds (a unit test may define smaller ones before including this). */
#ifndef DSMD_CTL_CLIENTS_MAX
#define DSMD_CTL_CLIENTS_MAX   64           /* connections served at once */
#endif
#ifndef DSMD_CTL_LABEL_MAX
#define DSMD_CTL_LABEL_MAX     16           /* ... of which from one label */
#endif
#ifndef DSMD_CTL_REQUEST_MS
#define DSMD_CTL_REQUEST_MS    5000         /* from accept to the whole request */
#endif
#ifndef DSMD_CTL_ANSWER_MS
#define DSMD_CTL_ANSWER_MS     10000        /* to take an answer, or to take
					     * any of a stream's pending output */
#endif
#define DSMD_CTL_ANSWER_MAX    (16u << 20)  /* one answer (dsmctl's limit) */
#ifndef DSMD_CTL_STREAM_MAX
#define DSMD_CTL_STREAM_MAX    (256u << 10) /* a stream's pending output */
#endif

/* Who asked, as the kernel named it when the client connected. */
struct dsmd_caller {
	uint32_t label; /* the connecting task's label */
	bool known;     /* false: the connection carries no label (fail closed) */
	int pid;        /* SO_PEERCRED, for alarms and exec-label; 0 unknown */
};

/* One request, as its handler sees it. */
struct dsmd_call {
	struct dsmd_client *client;
	const struct dsmd_caller *caller;
	const char *arg;  /* the rest of the line after the verb; NULL if none */
	int passed_fd;    /* a descriptor sent with the request, or -1; a
			   * handler that keeps it sets this to -1 */
};

typedef void dsmd_request_fn(struct dsmd *d, struct dsmd_call *call);

/* A request: its verb, the class dsm permission it needs, its handler.
 * The handler answers (dsmd_client_answer, _error) or starts a stream. */
struct dsmd_request {
	const char *verb;
	uint32_t perm;
	dsmd_request_fn *run;
};

/* Counters for status. */
struct dsmd_control_stats {
	uint64_t served, denied, rejected_busy, timed_out, closed_early, bad_requests;
	size_t clients;
};

/* Listen on STATE_DIR/dsmd.sock (mode 0666: access is decided by label)
 * and serve the requests of table[0..n). */
int dsmd_control_open(struct dsmd *d, const struct dsmd_request *table, size_t n);
/* Periodic: end clients past their deadline, resume accepting. */
void dsmd_control_tick(struct dsmd *d);
void dsmd_control_stats(const struct dsmd *d, struct dsmd_control_stats *out);
/* Clients still being served. */
size_t dsmd_control_busy(const struct dsmd *d);
void dsmd_control_close(struct dsmd *d);

/* ---- for request handlers ----------------------------------------------- */

/* The whole answer (takes o; NULL: out of memory), then the connection ends. */
void dsmd_client_answer(struct dsmd_client *c, struct json_object *o);
/* {"error": MESSAGE} as the answer. */
void dsmd_client_error(struct dsmd_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A stream: JSON lines until dsmd_client_finish() or the client goes.
 * fill() is called whenever nothing is pending for the client: it writes
 * the next part (dsmd_client_write) and returns 1, or returns 0 when it
 * has nothing now (later parts are pushed with dsmd_client_write), or
 * finishes. end() runs once when the connection ends, whatever the
 * reason (release ctx there).
 */
typedef int dsmd_fill_fn(struct dsmd *d, struct dsmd_client *c, void *ctx);
typedef void dsmd_end_fn(struct dsmd *d, void *ctx);
void dsmd_client_stream(struct dsmd_client *c, dsmd_fill_fn *fill, dsmd_end_fn *end, void *ctx);
/* Queue len bytes for the client: 0, or -ENOBUFS (nothing queued) when
 * the pending output would pass DSMD_CTL_STREAM_MAX. */
int dsmd_client_write(struct dsmd_client *c, const char *data, size_t len);
/* Bytes the client may still queue before DSMD_CTL_STREAM_MAX. */
size_t dsmd_client_room(const struct dsmd_client *c);
/* End the connection once what is queued has been sent. */
void dsmd_client_finish(struct dsmd_client *c);

/* requests.c: what dsmd's control socket serves. */
extern const struct dsmd_request dsmd_requests[];
extern const size_t dsmd_nrequests;

#endif /* DSMD_CONTROL_H */
