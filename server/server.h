/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsm-server, the Security Server: its state and the calls between its
 * parts. main.c parses flags and runs the loop; state.c opens the state
 * directory; listen.c admits connections; conn.c drives TLS, frames and
 * the output queue; session.c answers messages; enrol.c, nodes.c,
 * policy.c, alarms.c keep their part of the state; control.c serves
 * dsmctl over the unix socket.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "chan_msg.h"
#include "evloop.h"
#include "pki.h"
#include "policy_sign.h"
#include "store.h"

#define SRV_CONNS_MAX        4096        /* connections at once */
#define SRV_ADMIT_RATE       200         /* handshakes admitted per second */
#define SRV_HEARTBEAT_MS     2000        /* HELLO_OK: the node PINGs this often */
#define SRV_HANDSHAKE_MS     10000       /* TLS and the first message, or close */
#define SRV_TICK_MS          100         /* deadlines and admission refill */
#define SRV_ANNOUNCE_MS      SRV_TICK_MS /* a new node's key to its peers, at most */
#define SRV_OUT_MAX          (DSM_MSG_MAX_POLICY + DSM_MSG_HDR_LEN + (1u << 20))
#define SRV_ALARMS_ROTATE    (64ull << 20) /* alarms.jsonl is rotated at this size */
#define SRV_TOKEN_TTL_S      3600
#define SRV_TOKEN_TTL_MAX_S  86400
#define SRV_TOKEN_LEN        32          /* random bytes; 64 hex characters */
#define SRV_CONTROL_PATH     "/run/dsm-server/control.sock"
#define SRV_MASTER_LEN       32          /* a generation's master secret M_g */
#define SRV_STORE_KEY_LEN    32          /* AES-256-GCM key of DIR/store.key */
#define SRV_KEY_INTERVAL_MS  (24ull * 3600 * 1000) /* periodic rotation (main.c) */
#define SRV_KEY_GRACE_MS     60000       /* epoch window (30 s) + flight time */
#define SRV_EPOCH_WINDOW_MS  30000       /* dsmd's default: 3 epochs of 10 s */
#define SRV_KEY_ACK_MS       300000      /* a node this late with KEYS_ACK is reported */
#define SRV_FRESH_EXPIRY_MS  (3600u * 1000) /* a freshness statement's validity */
#define SRV_FRESH_EXPIRY_MIN_MS 1000
#define SRV_FRESH_EXPIRY_MAX_MS (7u * 86400 * 1000)
#define SRV_BATCH_MS         10          /* a group commit of acks stays open this long at most */
#define SRV_METRICS_REQ_MAX  4096        /* GET /metrics: the request head's bytes */
#define SRV_METRICS_CLIENTS  16          /* metrics connections at once */
#ifndef SRV_METRICS_DEADLINE_MS
#define SRV_METRICS_DEADLINE_MS 5000     /* from accept to the answer taken */
#endif

struct srv_conn;

struct srv_config {
	const char *state_dir;
	const char *listen;       /* ADDR:PORT */
	const char *control;      /* unix socket path */
	unsigned int admit_rate;  /* handshakes per second */
	/* key rotation (docs/keys.md), in milliseconds; 0 takes the default
	 * (SRV_KEY_*), except interval: 0 is no periodic rotation */
	uint64_t key_interval_ms;
	uint64_t key_grace_ms;    /* after the last switch ack, before DROP_OLD */
	uint64_t key_grace_now_ms; /* the same for keys-rotate now: the epoch window */
	uint64_t key_ack_ms;      /* a member that has not acked after this is reported */
	uint32_t fresh_expiry_ms; /* 0: SRV_FRESH_EXPIRY_MS */
	uint32_t fresh_interval_ms; /* below the expiry; 0: a third of it */
	const char *metrics;      /* ADDR:PORT for GET /metrics; NULL: none */
};

/* A set of node ids (KEYS_ACKs of one phase). */
struct srv_idset {
	uint32_t *id;
	size_t n, cap;
};

/* The phases of a rotation as the server runs them: GRACE is the wait
 * between the last SWITCH ack and DROP_OLD, sent to nobody. */
enum srv_rot_phase {
	SRV_ROT_NONE = 0,
	SRV_ROT_INSTALL,
	SRV_ROT_SWITCH,
	SRV_ROT_GRACE,
	SRV_ROT_DROP,
};

/* keys/rotation: the one rotation running, as stored. */
struct srv_rotation {
	uint64_t generation;       /* 0: none running */
	uint64_t prev;             /* the generation it replaces; 0 for the first */
	enum srv_rot_phase phase;
	int64_t started_ms, phase_ms; /* wall clock */
	uint64_t grace_ms;
	char reason[DSM_PKI_NAME_MAX + 16];
	struct srv_idset acked[3]; /* KEYS_ACKs of install, switch, drop */
	struct srv_idset alarmed;  /* members reported overdue in this phase */
};

/* The key state: cached from the store (the server is its one writer),
 * every change written through in one transaction. */
struct srv_keys {
	uint8_t store_key[SRV_STORE_KEY_LEN];
	EVP_KDF *kdf;
	uint64_t current;          /* keys/current: the generation nodes send with */
	int64_t current_ms;        /* since when */
	int64_t current_rev;
	struct srv_rotation rot;
	int64_t rot_rev;
	bool queued, queued_now;   /* keys/queued: one more rotation after this one */
	char queued_reason[DSM_PKI_NAME_MAX + 16];
	int64_t queued_rev;
	uint64_t interval_ms, grace_ms, grace_now_ms, ack_ms;
	bool kick;                 /* something changed: look at the phase now */
	uint64_t next_look_ms;     /* monotonic: the next look without a kick */
	/* Nodes new or moved since their peers were last told (ids): told in
	 * one INSTALL each per announcement, at most announce_ms late. */
	uint32_t *announce;
	size_t nannounce, capannounce;
	uint64_t announce_since_ms; /* monotonic: the oldest one waiting */
	uint32_t announce_ms;       /* SRV_ANNOUNCE_MS */
};

struct srv_policy {
	uint64_t version;
	uint8_t *buf;             /* the signed envelope, as pushed */
	size_t len;
};

struct srv_fresh {
	uint8_t *buf;             /* the newest freshness statement; NULL none */
	size_t len;
	uint64_t version;         /* the policy version it is about */
	uint64_t issued_ms, expires_ms; /* wall clock */
	uint64_t next_ms;         /* monotonic: issue the next one then */
	uint32_t expiry_ms, interval_ms;
};

/* The group commit of node acks (docs/server.md, "What is durable when"). */
struct srv_batch {
	bool open;
	uint64_t since_ms;         /* monotonic: opened then */
	uint64_t seq;              /* the number of the open one (or the last) */
	unsigned int writers;      /* messages that joined it */
	uint64_t commits;          /* batches committed so far */
};

/* Counters for the metrics (metrics.c). */
enum srv_http { SRV_HTTP_200, SRV_HTTP_400, SRV_HTTP_404, SRV_HTTP_405, SRV_HTTP_431,
		SRV_HTTP_503, SRV_HTTP_MAX };
struct srv_stats {
	uint64_t alarms_received;  /* records in ALARMS, repeats included */
	uint64_t alarms_written;   /* new records appended to alarms.jsonl */
	uint64_t alarms_dropped;   /* the nodes' own drop counts, as recorded */
	uint64_t alarms_gap;       /* numbers skipped (never arrived) */
	uint64_t refused[DSM_ERR_CODE_MAX + 1]; /* srv_conn_refuse by code; [0] other */
	uint64_t http[SRV_HTTP_MAX], http_timed_out, http_turned_away;
};

struct srv_alarm_log {
	int fd;
	uint64_t size;
	uint64_t rotate_at;
};

struct srv {
	char dir[PATH_MAX];
	char cluster[DSM_PKI_NAME_MAX + 1];
	char name[DSM_PKI_NAME_MAX + 1];       /* the server's own, from its certificate */
	struct dsm_pki_ca ca;                  /* with its key: the server issues */
	X509 *cert;
	EVP_PKEY *key;
	struct dsm_sign_pubkey *operator_pub;
	uint8_t operator_raw[DSM_SIGN_PUBKEY_LEN];
	struct dsm_pki_denylist *deny;
	SSL_CTX *tls;
	struct dsm_store *store;
	struct srv_policy policy;
	struct srv_fresh fresh;
	struct srv_alarm_log alarms;
	struct srv_keys keys;
	struct srv_batch batch;
	struct srv_stats stats;
	struct srv_metrics *metrics;           /* metrics.c; NULL without --metrics */

	struct dsm_loop *loop;
	struct dsm_source listener, control, tick;
	char control_path[PATH_MAX];
	struct srv_conn *conns;                /* every connection, newest first */
	unsigned int nconns;
	unsigned int ndead;                    /* marked dead since the last reap */
	struct srv_ctl_client *ctl_clients;
	unsigned int nctl;
	double admit_tokens;
	unsigned int admit_rate;
	uint64_t admit_at_ms;
	bool stop;
};

/* ---- util.c: time, hex, paths, files --------------------------------- */

uint64_t srv_now_ms(void);        /* monotonic */
time_t srv_wall(void);            /* seconds since the epoch */
/* n bytes as lower-case hex into out (2n + 1 bytes). */
void srv_hex(const uint8_t *b, size_t n, char *out);
/* Exactly 2n hex digits into n bytes; -EINVAL otherwise. */
int srv_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n);
/* Wall-clock milliseconds since the epoch. */
int64_t srv_wall_ms(void);
/* SHA-256 of b as 64 hex digits. */
int srv_sha256_hex(const uint8_t *b, size_t n, char out[65]);
/* One JSON object, exactly len bytes of text (no NUL needed); NULL for
 * anything else. */
struct json_object *srv_json_parse(const void *text, size_t len);
/* DIR/rel into out. */
int srv_path(const struct srv *s, const char *rel, char out[PATH_MAX]);

/* ---- state.c: the state directory ------------------------------------ */

/* Check and load DIR (every file dsmctl cluster init makes, key modes, the
 * server certificate's identity), open the store, load the deny list and
 * the current policy. On error a readable line is logged. */
int srv_state_open(struct srv *s, const char *dir);
void srv_state_close(struct srv *s);

/* ---- server.c: the whole daemon -------------------------------------- */

int srv_open(struct srv *s, const struct srv_config *cfg);
void srv_close(struct srv *s);
/* One event or a timeout: 1, 0, or -errno. With a batch open it does not
 * wait: when no event is ready, or the batch is SRV_BATCH_MS old, it
 * commits the batch. */
int srv_run_once(struct srv *s, int timeout_ms);
/* A node's ack (c's) is about to be written: into the open batch, or a new
 * one. Its writes are durable at the next srv_batch_flush(). */
void srv_batch_join(struct srv *s, struct srv_conn *c);
/* Commit the open batch, if any: before anything that acts on what it
 * holds (a control request, the tick, a message that is answered with
 * something stored). If the commit fails its writes are lost: the key
 * state is read back and the sessions that wrote into it are closed, so
 * that they say it again at their next HELLO. 0 or -errno. */
int srv_batch_flush(struct srv *s);

/* ---- nodes.c: the node registry and the deny list, over the store ----- */

struct srv_node {
	char name[DSM_PKI_NAME_MAX + 1];
	uint32_t id;
	bool enrolled;                         /* "state": "enrolled", else "pending" */
	int64_t added;
	char cert_serial[DSM_PKI_SERIAL_HEX];
	int64_t cert_expires;
	char address[64];
	uint64_t policy_version;
	char policy_result[24];                /* "ok", "bad-signature", ...; "" none yet */
	uint64_t alarm_seq;                    /* highest contiguous alarm stored */
	int64_t last_seen;
	uint64_t key_generation;               /* the newest the node holds (HELLO, acks) */
	char key_addr[16];                     /* IPv4 sent to its peers; "" not yet */
	int64_t mod_rev;                       /* of node/NAME, for the next write */
};

/* node/NAME: 0, -ENOENT, -EIO for a record that does not parse. */
int srv_node_get(struct srv *s, const char *name, struct srv_node *n);
/* Write n if node/NAME is still at n->mod_rev (DSM_STORE_ABSENT: new);
 * n->mod_rev is the new revision. -ECANCELED if someone wrote in between. */
int srv_node_put(struct srv *s, struct srv_node *n);
int srv_node_delete(struct srv *s, const char *name);
typedef int srv_node_fn(const struct srv_node *n, void *ctx);
int srv_node_each(struct srv *s, srv_node_fn *fn, void *ctx);
/* The next node id, from meta/next_node_id by CAS. */
int srv_node_next_id(struct srv *s, uint32_t *id);
/* Persist and apply: deny the node's name and its certificate's serial. */
int srv_deny_node(struct srv *s, const struct srv_node *n);
/* Admit a removed name again (node-add): the deny list and deny/name/NAME. */
int srv_allow_name(struct srv *s, const char *name);
/* Load deny/... into s->deny. */
int srv_deny_load(struct srv *s);

/* ---- conn.c: one TLS connection, its frames and its output queue ------ */

enum srv_conn_state {
	SRV_CONN_HANDSHAKE = 1, /* TLS not done */
	SRV_CONN_ENROL,         /* no certificate: one ENROL, nothing else */
	SRV_CONN_HELLO,         /* a node: HELLO first */
	SRV_CONN_READY,         /* a node in session */
	SRV_CONN_CLOSING,       /* the last frames go out, then close */
};

struct srv_conn {
	struct dsm_source src;
	struct srv *srv;
	struct srv_conn *next, **pprev;
	struct dsm_tls_conn *tls;
	enum srv_conn_state state;
	char addr[64];                 /* the peer's address, no port */
	struct dsm_identity id;        /* a node session's, from its certificate */
	struct dsm_msg_reader rd;
	struct dsm_msg_buf out;        /* encoded frames not yet written ... */
	size_t out_off;                /* ... from here */
	bool tls_wants_write;          /* the last TLS step asked for POLLOUT */
	bool dead;                     /* to be freed after the current event */
	bool in_session;               /* HELLO answered */
	uint64_t deadline_ms;          /* handshake, first message, closing */
	uint64_t last_read_ms;
	uint64_t next_id;              /* the server's request ids */
	unsigned int version;          /* the session's protocol version (HELLO_OK) */
	uint64_t policy_sent;          /* the version of the POLICY in flight; 0 none */
	uint64_t batch_seq;            /* the last batch its acks went into */
	uint64_t keys_gen[2];          /* KEYS sent on this session: two generations, */
	uint8_t keys_sent[2];          /* ... the phases of each (1 << phase) */
};

/* Take an accepted socket (non-blocking) into a connection. */
int srv_conn_accept(struct srv *s, int fd, const char *addr);
/* Queue one frame; a queue over SRV_OUT_MAX ends the connection (a slow
 * reader). 0 or -errno (the connection is then marked dead). */
int srv_conn_send(struct srv *s, struct srv_conn *c, const struct dsm_msg *m);
/* ERROR (code, reply to id, text), then close once it is written. */
void srv_conn_refuse(struct srv *s, struct srv_conn *c, uint32_t code, uint64_t id,
		     const char *text);
/* Close once the queue is written. */
void srv_conn_finish(struct srv *s, struct srv_conn *c);
/* Close now (after the current event). */
void srv_conn_kill(struct srv_conn *c);
/* Has the peer closed its end (its bytes so far may still be unread)? A
 * node never half-closes: this is a node that gave up waiting. */
bool srv_conn_peer_gone(const struct srv_conn *c);
/* The node session of name (HELLO or READY), or NULL. */
struct srv_conn *srv_conn_find(struct srv *s, const char *name);
/* Free every dead connection (no walk when none was marked since the
 * last call: it runs after every event). */
void srv_conns_reap(struct srv *s);
/* Deadlines: handshakes, silent nodes, closings. */
void srv_conns_tick(struct srv *s);
void srv_conns_close_all(struct srv *s);

/* What the protocol layer does with a connection (set by server.c, so
 * that conn.c calls no protocol code by name): after the handshake, for
 * every frame, at the end. A negative return ends the connection. */
struct srv_conn_hooks {
	int (*opened)(struct srv *s, struct srv_conn *c);
	int (*message)(struct srv *s, struct srv_conn *c, const struct dsm_msg *m);
	void (*closed)(struct srv *s, struct srv_conn *c);
};
extern struct srv_conn_hooks srv_hooks;

/* ---- session.c: the channel protocol ---------------------------------- */

int srv_session_opened(struct srv *s, struct srv_conn *c);
int srv_session_message(struct srv *s, struct srv_conn *c, const struct dsm_msg *m);
void srv_session_closed(struct srv *s, struct srv_conn *c);

/* ---- enrol.c: join tokens and certificates ---------------------------- */

/* node-add: a pending node record (or the existing pending one) and a new
 * token for it; the token in hex into token_hex. */
int srv_enrol_add(struct srv *s, const char *name, int64_t ttl_s, struct srv_node *n,
		  char token_hex[2 * SRV_TOKEN_LEN + 1], int64_t *expires, const char **why);
/* ENROL: the token (raw bytes or their hex) consumed, the request issued
 * under the token's name. On success *cert is the node's certificate. */
int srv_enrol_redeem(struct srv *s, const struct dsm_msg_enrol *e, const char *addr,
		     struct srv_node *n, X509 **cert, uint32_t *why);
/* RENEW: a new certificate for an enrolled node. */
int srv_enrol_renew(struct srv *s, const char *name, const struct dsm_msg_renew *r,
		    X509 **cert);

/* ---- policy.c: the current policy, pushes, acks ----------------------- */

/* Read policy/current and its file at start. */
int srv_policy_load(struct srv *s);
/* policy-push: verify, store DIR/policies/V.signed, CAS policy/current,
 * send POLICY to every node session. why: a readable line on error. */
int srv_policy_push(struct srv *s, const uint8_t *buf, size_t len, uint64_t *version,
		    unsigned int *sent_to, char *why, size_t whylen);
/* Send the current policy to c if c's node is behind. */
int srv_policy_offer(struct srv *s, struct srv_conn *c, uint64_t node_version);
/* POLICY_ACK from c's node. */
int srv_policy_ack(struct srv *s, struct srv_conn *c, const struct dsm_msg_policy_ack *a);
const char *srv_policy_result_name(uint32_t result);

/* ---- fresh.c: freshness statements ----------------------------------- */

/* Sign a new statement about the policy in force (none without one) and
 * send it to every node session of protocol 2 or later: at a push and
 * when the interval is up. The number of sessions it went to, or -errno. */
int srv_fresh_issue(struct srv *s);
/* Issue when the interval is up (the tick). */
void srv_fresh_tick(struct srv *s);
/* The newest statement to c, after HELLO (and POLICY, if any). */
int srv_fresh_offer(struct srv *s, struct srv_conn *c);
void srv_fresh_free(struct srv *s);

/* ---- alarms.c: alarms.jsonl ------------------------------------------- */

int srv_alarms_open(struct srv *s);
void srv_alarms_close(struct srv *s);
/* ALARMS from node n (its record is updated): *acked is the highest
 * contiguous sequence now stored. */
int srv_alarms_store(struct srv *s, struct srv_node *n, const struct dsm_msg_alarms *a,
		     uint64_t *acked);
/* Up to max records from byte offset; *next: where to go on. json is an
 * array (struct json_object *) the records are added to. */
int srv_alarms_read(struct srv *s, uint64_t offset, unsigned int max, struct json_object *arr,
		    uint64_t *next);

/* Append one record the server itself raises (it carries "time" and
 * "verdict" like a node's alarm, "node" naming the node it is about) and
 * sync it. o is consumed. */
int srv_alarms_raise(struct srv *s, struct json_object *o);

/* ---- keys.c: master secrets at rest and pair keys ----------------------- */

/* DIR/store.key (made 0600 if absent, refused if open to group or other)
 * and the HKDF implementation. */
int srv_keys_open(struct srv *s);
void srv_keys_close(struct srv *s);
/* K_g(a, b) = HKDF-SHA256(M_g, "dsm pair key v1", cluster || u32be(min) ||
 * u32be(max) || u32be(g))[0..16] (docs/keys.md); -EINVAL for a == b or a
 * generation past 2^32 - 1. */
int srv_pair_key(EVP_KDF *kdf, const uint8_t m[SRV_MASTER_LEN], const char *cluster,
		 uint32_t a, uint32_t b, uint64_t g, uint8_t out[DSM_MSG_SIPKEY_LEN]);
/* keys/gen/G, the store key of generation g's sealed master secret. */
void srv_master_key(uint64_t g, char key[DSM_STORE_KEY_MAX + 1]);
/* A new random M_g sealed (AES-256-GCM under store.key, AAD u64be(g)) as
 * the JSON value of keys/gen/G: *text is malloc'd. */
int srv_master_new(struct srv *s, uint64_t g, char **text);
/* keys/gen/G opened: -ENOENT absent, -EBADMSG does not open (another
 * store.key, a changed record). */
int srv_master_get(struct srv *s, uint64_t g, uint8_t m[SRV_MASTER_LEN]);

/* ---- rotation.c: generations, phases, KEYS to the nodes ---------------- */

/* Read keys/current, keys/rotation, keys/queued and check that the
 * master secrets they need open; set the timers from cfg. */
int srv_rotation_open(struct srv *s, const struct srv_config *cfg);
void srv_rotation_close(struct srv *s);
/* The tick: the first generation, periodic rotation, phase steps, alarms. */
void srv_rotation_tick(struct srv *s);
/* HELLO from c's node (its key_generation): what it has to catch up on,
 * and its address to its peers if it changed. */
int srv_rotation_hello(struct srv *s, struct srv_conn *c, uint64_t key_generation);
/* KEYS_ACK from c's node; -EPROTO for an ack of nothing sent. */
int srv_rotation_ack(struct srv *s, struct srv_conn *c, const struct dsm_msg_keys_ack *a);
/* Read the key state back from the store (a lost batch). */
int srv_rotation_reload(struct srv *s);
/* A node was removed: a rotation without it (now, or after the running one). */
int srv_rotation_node_removed(struct srv *s, const char *name);
/* keys-rotate: start one, or queue one behind the running one (*queued);
 * now: the short grace. *generation: the running one's. */
int srv_rotation_request(struct srv *s, bool now, const char *reason, uint64_t *generation,
			 bool *queued);
/* keys-status as JSON (struct json_object *), or NULL. */
struct json_object *srv_rotation_status(struct srv *s);

/* ---- listen.c: the TCP listener and admission ------------------------- */

int srv_listen_open(struct srv *s, const char *addr_port);
/* "10.0.0.1:7443" or "[fd00::1]:7443" (numeric only): 0 or -EINVAL. */
struct sockaddr_storage;
int srv_parse_addr(const char *addr_port, struct sockaddr_storage *ss, socklen_t *len);
void srv_listen_close(struct srv *s);
/* Refill the admission bucket; resume accepting if it was paused. */
void srv_listen_tick(struct srv *s);

/* ---- control.c: the unix control socket ------------------------------- */

struct srv_ctl_client;
int srv_control_open(struct srv *s, const char *path);
void srv_control_close(struct srv *s);
void srv_control_tick(struct srv *s);

/* ---- metrics.c: GET /metrics over HTTP ------------------------------- */

struct prom_buf;
struct srv_metrics;
int srv_metrics_open(struct srv *s, const char *addr_port);
void srv_metrics_close(struct srv *s);
/* Deadlines of the metrics connections. */
void srv_metrics_tick(struct srv *s);
/* Every server metric into b (docs/metrics.md): b->err, 0 on success. */
int srv_metrics_collect(struct srv *s, struct prom_buf *b);
/* The port the listener is bound to (tests bind port 0), or -1. */
int srv_metrics_port(const struct srv *s);

#endif /* SRV_SERVER_H */
