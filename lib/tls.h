/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Mutual TLS 1.3 between the Security Server and the nodes (docs/pki.md,
 * "TLS"): the cluster CA is the only trust anchor, both ends present a
 * certificate, and a handshake completes only when the peer's certificate
 * carries the dsm identity this end expects: a node accepts only a server
 * of its cluster, a server only nodes. A server context built for
 * enrolment also admits clients without a certificate; such a session is
 * unauthenticated and good for one enrolment request only.
 *
 * The connection API drives a connected, usually non-blocking, socket: each
 * step returns DSM_TLS_WANT_READ or DSM_TLS_WANT_WRITE when the socket
 * must become readable or writable first (for an epoll loop), or a negative
 * errno, after which the connection is dead. The fd stays the caller's; it
 * must ignore SIGPIPE (writes to a closed peer), as a daemon does.
 */
#ifndef DSM_TLS_H
#define DSM_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "pki.h"

struct dsm_tls_config {
	const char *cluster;                 /* the cluster's name */
	X509 *ca;                            /* the cluster CA: the only trust anchor */
	X509 *cert;                          /* this end's certificate (a node may have none while enrolling) */
	EVP_PKEY *key;                       /* and its key */
	const struct dsm_pki_denylist *deny; /* server: revoked serials and names; borrowed, may be NULL */
	bool enrol;                          /* server: admit clients without a certificate, unauthenticated */
};

/* A context for the Security Server: cert must be a server certificate of
 * cluster. NULL on any error (nothing half-configured is returned). */
SSL_CTX *dsm_tls_server_ctx(const struct dsm_tls_config *cfg);

/* A context for a node: cert, if given, must be a node certificate of
 * cluster; without one the node can only enrol. */
SSL_CTX *dsm_tls_node_ctx(const struct dsm_tls_config *cfg);

enum dsm_tls_status {
	DSM_TLS_DONE       = 0, /* the step completed */
	DSM_TLS_WANT_READ  = 1, /* call again when the fd is readable */
	DSM_TLS_WANT_WRITE = 2, /* call again when the fd is writable */
	DSM_TLS_CLOSED     = 3, /* read: the peer closed the session cleanly */
};

struct dsm_tls_conn;

/* A connection over fd (connected; accepted when ctx is a server's). The
 * context must outlive it. 0 or a negative errno. */
int dsm_tls_conn_new(SSL_CTX *ctx, int fd, struct dsm_tls_conn **out);

/* Free the connection; the fd is not closed. */
void dsm_tls_conn_free(struct dsm_tls_conn *c);

/* Drive the handshake: DONE once it completed and the peer was accepted,
 * WANT_*, or a negative errno (-EACCES: the peer was refused; -EPROTO: the
 * handshake failed; -ECONNRESET: the peer went away). */
int dsm_tls_handshake(struct dsm_tls_conn *c);

/* Read up to len bytes: DONE with *got > 0, WANT_*, CLOSED, or a negative
 * errno (-ECONNRESET when the peer closed without close_notify). */
int dsm_tls_read(struct dsm_tls_conn *c, void *buf, size_t len, size_t *got);

/* Write up to len bytes (at least one record): DONE with *put > 0 bytes
 * taken, WANT_* (call again with the same data), or a negative errno. */
int dsm_tls_write(struct dsm_tls_conn *c, const void *buf, size_t len, size_t *put);

/* Send close_notify: DONE, WANT_*, or a negative errno. */
int dsm_tls_shutdown(struct dsm_tls_conn *c);

/* The peer's identity, from its verified certificate only: 0 after a
 * completed handshake with an authenticated peer; -EACCES for an
 * unauthenticated (enrolment) session; -EAGAIN before the handshake
 * completed; -EPIPE after a failure. */
int dsm_tls_peer_identity(const struct dsm_tls_conn *c, struct dsm_identity *out);

/* Is this a completed session whose client presented no certificate (a
 * server context built with enrol)? Such a peer may only enrol. */
bool dsm_tls_enrol_only(const struct dsm_tls_conn *c);

/* Why the last step failed, for a log line ("" if it did not). */
const char *dsm_tls_error(const struct dsm_tls_conn *c);

#endif /* DSM_TLS_H */
