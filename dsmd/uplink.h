/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmd's side of the Security Communication Channel (docs/channel.md),
 * "the uplink": enrolment at a Security Server, the session with it
 * driven by dsmd's loop, signed policies it pushes, alarms forwarded.
 * Persistent state lives in the server-state directory (--server-state,
 * docs/design.md "Joining a cluster"):
 *
 *   node.key (0600), node.pem   this node's key and certificate
 *   ca.pem                      the cluster CA, the only trust anchor
 *   operator.pub                the operator's policy key, pinned at enrolment
 *   cluster, node-id            one line each
 *   policy.signed               the last good signed bundle
 *   policy.fresh                the newest freshness statement accepted
 *   alarm-acked                 the last alarm seq the server acknowledged;
 *                               alarm numbers never go below it
 *   keys (0600)                 the pair keys (pairkeys.h), after every
 *                               KEYS phase
 *
 * Every file is written to a temporary file in the directory, synced and
 * renamed into place; node.pem is written last at enrolment, so a node
 * is enrolled exactly when node.pem is there.
 */
#ifndef DSMD_UPLINK_H
#define DSMD_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "chan_msg.h"
#include "dsmd.h"
#include "policy.h"
#include "policy_fresh.h"
#include "policy_sign.h"
#include "tls.h"
#include "evloop.h"

struct dsmd;

#define DSMD_UPLINK_STATE_DIR   "/var/lib/dsm"
#define DSMD_UPLINK_MAX_SERVERS 8
#define DSMD_UPLINK_BACKOFF_MIN_MS 1000
#define DSMD_UPLINK_BACKOFF_MAX_MS 30000

/* An alarm of class dsm about what the server sent (uplink_refusal.c):
 * err the refusal, aux a number it concerns (a version, a generation). */
void dsmd_uplink_alarm(struct dsmd *d, int err, uint64_t aux, const char *reason);

/* ---- addresses (uplink_conn.c) ------------------------------------------ */

/* Is s HOST:PORT ("[v6]:port" for IPv6 literals, port 1..65535)? */
bool dsmd_uplink_addr_valid(const char *s);

/* Start a non-blocking TCP connect to HOST:PORT: the fd (connecting or
 * connected), or -errno. The name is resolved here (numeric addresses
 * never wait). */
int dsmd_uplink_connect(const char *hostport);
/* Has the connect finished? 0 connected, 1 not yet, -errno it failed. */
int dsmd_uplink_connected(int fd);

/* ---- a framed TLS connection (uplink_conn.c) ---------------------------- */

struct dsmd_uplink_conn {
	int fd;
	struct dsm_tls_conn *tls;
	bool handshaken;
	struct dsm_msg_reader rd;
	struct dsm_msg_buf out;   /* encoded frames not yet written */
	size_t out_off;
	uint8_t in[16384];        /* read, not yet fed to the reader */
	size_t in_off, in_len;
	uint64_t next_id;         /* our requests' ids, from 1 */
	unsigned version;         /* the session's protocol version (HELLO_OK) */
	int want;                 /* DSM_TLS_WANT_READ or _WRITE of the last step */
};

/* Wrap a connected (or connecting) fd; the conn owns it from now on. */
int dsmd_uplink_conn_open(struct dsmd_uplink_conn *c, SSL_CTX *ctx, int fd);
void dsmd_uplink_conn_close(struct dsmd_uplink_conn *c);
/* The handshake: 0 done, 1 wants the fd (c->want), -errno. */
int dsmd_uplink_conn_handshake(struct dsmd_uplink_conn *c);
/* Queue m as a request (a fresh id is given) or, with id != 0, a reply. */
int dsmd_uplink_conn_send(struct dsmd_uplink_conn *c, struct dsm_msg *m, uint64_t id);
/* Write what is queued: 0 all out, 1 more wants the fd, -errno. */
int dsmd_uplink_conn_flush(struct dsmd_uplink_conn *c);
/* Read one message: 1 with *m (free it), 0 wants the fd, -errno (-ENOTCONN:
 * the server closed). */
int dsmd_uplink_conn_recv(struct dsmd_uplink_conn *c, struct dsm_msg *m);
/* Blocking helpers for enrolment: wait for the fd up to deadline_ms
 * (CLOCK_MONOTONIC). */
int dsmd_uplink_conn_wait(const struct dsmd_uplink_conn *c, int64_t deadline_ms);
int64_t dsmd_uplink_mono_ms(void);

/* ---- the server-state directory (uplink_state.c) ------------------------ */

struct dsmd_uplink_state {
	int dirfd;                         /* the directory, opened once */
	char dir[512];
	char cluster[DSM_PKI_NAME_MAX + 1];
	char name[DSM_PKI_NAME_MAX + 1];   /* this node's, from its certificate */
	uint32_t node_id;
	X509 *ca, *cert;
	EVP_PKEY *key;
	struct dsm_sign_pubkey *operator;  /* verifies every policy */
	uint64_t alarm_acked;
};

/* Atomically replace name in dirfd with buf (temporary file, sync,
 * rename, sync the directory); the file gets mode. */
int dsmd_uplink_write_at(int dirfd, const char *name, const void *buf, size_t len,
			 unsigned mode);
/* Read name in dirfd whole (at most max bytes): a malloc()ed buffer. */
int dsmd_uplink_read_at(int dirfd, const char *name, uint8_t **buf, size_t *len, size_t max);
/* Open (creating, 0700) the directory; -errno. */
int dsmd_uplink_state_dir(struct dsmd_uplink_state *s, const char *dir, bool create);
/* Is the node enrolled (node.pem present)? */
bool dsmd_uplink_enrolled(const struct dsmd_uplink_state *s);
/* Load every file of an enrolled node and check they belong together. */
int dsmd_uplink_state_load(struct dsmd_uplink_state *s);
void dsmd_uplink_state_free(struct dsmd_uplink_state *s);
/* The alarm sequence the server acknowledged last, persisted. */
int dsmd_uplink_save_acked(struct dsmd_uplink_state *s, uint64_t seq);
/* PEM of a private key, a certificate, a raw Ed25519 public key. */
int dsmd_uplink_pem_key(EVP_PKEY *key, char **pem, size_t *len);
int dsmd_uplink_pem_cert(X509 *cert, char **pem, size_t *len);
int dsmd_uplink_pem_pubkey(const uint8_t raw[DSM_MSG_PUBKEY_LEN], char **pem, size_t *len);

/* Verify the persisted bundle (DIR/policy.signed) for the reload path:
 * -ENOENT when there is none yet. An expired bundle stays in force (it
 * was before): the result says so with *expired. */
int dsmd_uplink_state_policy(const struct dsmd_uplink_state *s, uint64_t now,
			     struct dsm_policy **out, bool *expired, char *why, size_t len);

/* Is dsmd configured to run joined (--join or --server)? */
bool dsmd_uplink_configured(const struct dsmd *d);
/* The policy for the reload path when joined: the last good bundle
 * (verified again), -ENOENT when there is none yet. */
int dsmd_uplink_policy(struct dsmd *d, struct dsm_policy **out, char *why, size_t len);

/* ---- enrolment (uplink_enrol.c) ----------------------------------------- */

struct dsmd_uplink_enrol_req {
	const char *server;    /* HOST:PORT */
	const char *token_hex; /* from `dsmctl node add` */
	const char *ca_path;   /* the cluster CA certificate, copied from the server */
	const char *ca_pin;    /* SHA-256 of its DER in hex, or NULL */
	int timeout_ms;
};

/* Enrol: key, request, ENROL over TLS that verifies the server against
 * the CA, check the answer, write the files into s's directory. Nothing
 * is written unless every check passed. 0, -EACCES (the token was
 * refused), other -errno; why says it in one line. */
int dsmd_uplink_enrol(struct dsmd_uplink_state *s, const struct dsmd_uplink_enrol_req *req,
		      char *why, size_t len);

/* ---- alarms forwarded (uplink_alarms.c) -------------------------------- */

#define DSMD_UPLINK_ALARM_BATCHES_PER_S 20
#define DSMD_UPLINK_SPOOL_BUF 8192 /* one line at most this long is read whole */

/* The alarm log is the spool: read from the first record above the
 * acknowledged one, in batches within the channel's limits, one in
 * flight. */
struct dsmd_uplink_spool {
	struct dsmd_alarm_reader r;
	bool reading;                  /* r is open */
	bool skipping;                 /* inside a line too long: to its end */
	char buf[DSMD_UPLINK_SPOOL_BUF]; /* read from the log, not taken yet */
	size_t off, len;
	uint64_t next;                 /* the seq expected next */
	uint64_t dropped;              /* lost before next, in no batch yet */
	uint64_t unnumbered;           /* lines without a seq, skipped */
	/* the batch in flight (id 0: none) */
	uint64_t batch_id;
	struct dsm_msg_alarms batch;
	const char *line[DSM_MSG_ALARMS_MAX];
	char text[DSM_MSG_ALARMS_TEXT_MAX + DSM_MSG_ALARMS_MAX];
	size_t text_bytes, text_used;
	/* the rate limit: when each of the last batches went */
	int64_t sent_at[DSMD_UPLINK_ALARM_BATCHES_PER_S];
	unsigned sent_next;
	/* what was spooled when the session came up, and how much of it went */
	uint64_t backlog_until, backlog_sent;
};

/* The session is up: forward from the acknowledged seq on. */
void dsmd_uplink_alarms_session(struct dsmd *d);
/* Send the next batch if none is in flight and the rate allows. */
void dsmd_uplink_alarms_send(struct dsmd *d, int64_t now_ms);
/* ALARMS_ACK: 0, or -EPROTO when no batch with that id is in flight. */
int dsmd_uplink_alarms_ack(struct dsmd *d, const struct dsm_msg *m);
/* The session ended: nothing in flight; the next one reads again. */
void dsmd_uplink_alarms_stop(struct dsmd_uplink_spool *sp);

/* ---- freshness (uplink_fresh.c) ---------------------------------------- */

struct dsmd_uplink_fresh {
	uint8_t *buf;                  /* the newest statement accepted; NULL none */
	size_t len;
	struct dsm_fresh_info info;    /* what it says */
	bool stale;                    /* policy_stale reported, not fresh since */
	int64_t alarm_ms;              /* monotonic: the last policy_stale alarm */
	int64_t start_ms;              /* monotonic: when the uplink opened */
	uint64_t behind_version;       /* policy_behind reported for this version */
};

/* At open, after the bundle: the persisted statement (policy.fresh). */
void dsmd_uplink_fresh_load(struct dsmd *d);
/* FRESH from the server: verified, then held and persisted, or refused
 * with an alarm. */
void dsmd_uplink_fresh_on(struct dsmd *d, const struct dsm_msg *m);
/* A bundle from the server is in force now. */
void dsmd_uplink_fresh_installed(struct dsmd *d);
/* Once a second: policy_stale when the newest statement held expired. */
void dsmd_uplink_fresh_tick(struct dsmd *d);
void dsmd_uplink_fresh_free(struct dsmd_uplink_fresh *f);

/* ---- the session (uplink.c) --------------------------------------------- */

enum dsmd_uplink_phase {
	UPLINK_WAITING,    /* for the backoff to end */
	UPLINK_CONNECTING, /* TCP */
	UPLINK_HANDSHAKE,  /* TLS */
	UPLINK_HELLO,      /* HELLO sent, HELLO_OK awaited */
	UPLINK_READY,
};

struct dsmd_uplink {
	struct dsmd_uplink_state st;
	SSL_CTX *ctx;                  /* node context with the node's certificate */
	enum dsmd_uplink_phase phase;
	struct dsmd_uplink_conn conn;
	struct dsm_source src;        /* the connection's fd in dsmd's loop */
	bool registered;
	unsigned server;               /* index into the server list */
	unsigned attempt;              /* failed connects in a row */
	int64_t next_at_ms;            /* WAITING: connect then */
	int64_t deadline_ms;           /* CONNECTING .. HELLO: give up then */
	int64_t last_read_ms, last_ping_ms;
	uint64_t ping_nonce;
	uint8_t *bundle;               /* the last good bundle, as on disk */
	size_t bundle_len;
	struct dsmd_uplink_spool spool; /* alarms forwarded */
	struct dsmd_uplink_fresh fresh; /* freshness statements */
	bool renewing;
	EVP_PKEY *renew_key;           /* the key of the RENEW in flight */
};

/* Full-jitter exponential backoff: a delay in [0, min(MAX, MIN * 2^attempt)]
 * from the random number rnd. */
uint32_t dsmd_uplink_backoff_ms(unsigned attempt, uint64_t rnd);

/* At start-up: enrol if --join and not enrolled, then load the state. */
int dsmd_uplink_open(struct dsmd *d);
/* Register with dsmd's loop and start connecting. */
int dsmd_uplink_start(struct dsmd *d);
/* Once a second: connect when the backoff ended, heartbeat, deadlines. */
void dsmd_uplink_tick(struct dsmd *d);
void dsmd_uplink_close(struct dsmd *d);


#endif /* DSMD_UPLINK_H */
