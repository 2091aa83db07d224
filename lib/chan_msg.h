/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Security Communication Channel's messages (docs/channel.md): the
 * frames dsmd and the Security Server exchange inside mutual TLS. A frame
 * is a fixed 16-byte header (body length, protocol version, type, flags,
 * request id) and a body of typed fields in a fixed order; each message
 * has exactly one encoding. Nothing in a message says which node sent it:
 * that comes from the TLS certificate alone. Node ids in bodies always
 * name *other* nodes (the peer of a pair key) or are assigned by the
 * server (ENROL_OK).
 *
 * Every function returning int returns 0 (or a count) on success and a
 * negative errno on failure: -EBADMSG malformed, -EMSGSIZE a frame (or,
 * when encoding, a string, list or byte field) over its limit,
 * -EPROTONOSUPPORT a protocol version this code does not speak, -ENOTSUP
 * an unknown message type, -EPROTO a known type from the wrong side (the
 * reader only), -EINVAL a value the format does not allow (encoding),
 * -ENOMEM. The encoder refuses exactly what the decoder would refuse.
 *
 * Memory: a decoded message owns every pointer in it (copies, strings
 * NUL-terminated, never a view into the input) until dsm_msg_free(). A
 * message built by a caller for encoding points wherever the caller likes
 * and is never passed to dsm_msg_free().
 */
#ifndef DSM_CHAN_MSG_H
#define DSM_CHAN_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------- */

#define DSM_MSG_VERSION_MIN 1 /* protocol versions this code speaks */
#define DSM_MSG_VERSION_MAX 2 /* 2: version 1 and FRESH */
#define DSM_MSG_HDR_LEN     16
#define DSM_MSG_FLAGS_KNOWN 0u /* versions 1 and 2 define no flag */

#define DSM_MSG_MAX_BODY    (128u << 10) /* every type but POLICY */
#define DSM_MSG_MAX_POLICY  (64u << 20)  /* a signed policy bundle */

#define DSM_MSG_SOFTWARE_MAX  64   /* HELLO software version, printable ASCII */
#define DSM_MSG_REASON_MAX    200  /* POLICY_ACK reason, ERROR text: UTF-8 */
#define DSM_MSG_NAME_MAX      63   /* a node name, as in the policy language */
#define DSM_MSG_KEYS_MAX      4096 /* pair keys in one KEYS */
#define DSM_MSG_SIPKEY_LEN    16
#define DSM_MSG_ALARMS_MAX    256  /* alarms in one ALARMS */
#define DSM_MSG_ALARM_MAX     4096 /* one alarm's JSON text */
#define DSM_MSG_ALARMS_TEXT_MAX (64u << 10) /* all alarms of one ALARMS */
#define DSM_MSG_TOKEN_MIN     16   /* ENROL one-time token bytes */
#define DSM_MSG_TOKEN_MAX     64
#define DSM_MSG_CSR_MAX       8192  /* PKCS#10 request, DER */
#define DSM_MSG_CERT_MAX      16384 /* X.509 certificate, DER */
#define DSM_MSG_PUBKEY_LEN    32    /* Ed25519 public key */
#define DSM_MSG_HEARTBEAT_MIN_MS 100
#define DSM_MSG_HEARTBEAT_MAX_MS 60000
#define DSM_MSG_NODE_ID_MAX   0xfffffffeu /* node ids are 1 .. this */
#define DSM_MSG_FRESH_MAX     16582 /* a freshness statement (DSM_FRESH_MAX_SIZE) */

/* ---- types -------------------------------------------------------------- */

/* A reply's type is its request's plus one. */
enum dsm_msg_type {
	DSM_MSG_HELLO = 1,
	DSM_MSG_HELLO_OK,
	DSM_MSG_PING,
	DSM_MSG_PONG,
	DSM_MSG_POLICY,
	DSM_MSG_POLICY_ACK,
	DSM_MSG_KEYS,
	DSM_MSG_KEYS_ACK,
	DSM_MSG_ALARMS,
	DSM_MSG_ALARMS_ACK,
	DSM_MSG_ENROL,
	DSM_MSG_ENROL_OK,
	DSM_MSG_RENEW,
	DSM_MSG_RENEW_OK,
	DSM_MSG_ERROR,
	DSM_MSG_FRESH,  /* version 2 on */
	DSM_MSG_TYPE_MAX = DSM_MSG_FRESH,
};

/* Who may send a type; a reader is told which side it reads from. */
enum dsm_msg_sender {
	DSM_MSG_FROM_NODE   = 1,
	DSM_MSG_FROM_SERVER = 2,
	DSM_MSG_FROM_EITHER = 3,
};

enum dsm_msg_keys_phase {
	DSM_KEYS_INSTALL  = 1, /* accept these keys (besides the current ones) */
	DSM_KEYS_SWITCH   = 2, /* send with this generation's keys */
	DSM_KEYS_DROP_OLD = 3, /* forget every older generation */
};

enum dsm_msg_policy_result {
	DSM_POLICY_OK            = 0,
	DSM_POLICY_BAD_SIGNATURE = 1,
	DSM_POLICY_BAD_BUNDLE    = 2,
	DSM_POLICY_STALE         = 3, /* not newer than the one enforced */
	DSM_POLICY_LOAD_FAILED   = 4,
	DSM_POLICY_RESULT_MAX    = DSM_POLICY_LOAD_FAILED,
};

enum dsm_msg_error_code {
	DSM_ERR_MALFORMED    = 1, /* a frame did not decode: the sender closes */
	DSM_ERR_VERSION      = 2, /* no protocol version in common */
	DSM_ERR_UNEXPECTED   = 3, /* a valid message out of order or from the wrong side */
	DSM_ERR_DENIED       = 4, /* the certificate may not do this */
	DSM_ERR_BAD_TOKEN    = 5, /* ENROL token unknown, used or expired */
	DSM_ERR_BAD_CSR      = 6,
	DSM_ERR_BUSY         = 7, /* try again later */
	DSM_ERR_INTERNAL     = 8,
	DSM_ERR_CODE_MAX     = DSM_ERR_INTERNAL,
};

/* ---- messages ----------------------------------------------------------- */

struct dsm_msg_bytes {
	const uint8_t *data;
	size_t len;
};

struct dsm_msg_hello { /* node -> server, first after TLS */
	uint16_t version_min, version_max; /* protocol versions it speaks */
	uint64_t policy_version;           /* enforced; 0 = none */
	uint64_t key_generation;           /* newest it holds; 0 = none */
	uint64_t alarm_seq;                /* highest spooled; 0 = none */
	const char *software;              /* 1..DSM_MSG_SOFTWARE_MAX, 0x20..0x7e */
};

struct dsm_msg_hello_ok { /* server -> node */
	uint16_t version;        /* chosen; DSM_MSG_VERSION_MIN..MAX */
	uint32_t heartbeat_ms;   /* DSM_MSG_HEARTBEAT_MIN_MS..MAX_MS */
	uint64_t server_time_ms; /* Unix time */
};

struct dsm_msg_ping { /* PING and PONG, either side; PONG echoes */
	uint64_t nonce;
};

struct dsm_msg_policy { /* server -> node: a signed bundle, 1..DSM_MSG_MAX_POLICY bytes */
	struct dsm_msg_bytes bundle;
};

struct dsm_msg_fresh { /* server -> node, version 2: a freshness statement, no reply */
	struct dsm_msg_bytes statement; /* 1..DSM_MSG_FRESH_MAX bytes */
};

struct dsm_msg_policy_ack { /* node -> server */
	uint64_t version;   /* enforced now */
	uint32_t result;    /* enum dsm_msg_policy_result */
	const char *reason; /* 0..DSM_MSG_REASON_MAX bytes of text */
};

struct dsm_msg_pair_key {
	uint32_t peer; /* the other node of the pair, 1..DSM_MSG_NODE_ID_MAX */
	uint8_t addr[4]; /* the peer's IPv4 address as on the wire; 0.0.0.0 when the
			  * server knows none (the key then only verifies) */
	uint8_t key[DSM_MSG_SIPKEY_LEN];
};

struct dsm_msg_key_list {
	uint32_t count;                     /* 0..DSM_MSG_KEYS_MAX */
	const struct dsm_msg_pair_key *key; /* strictly ascending peer */
};

struct dsm_msg_keys { /* server -> node */
	uint64_t generation; /* >= 1 */
	uint8_t phase;       /* enum dsm_msg_keys_phase */
	struct dsm_msg_key_list keys; /* INSTALL only; empty otherwise */
};

struct dsm_msg_keys_ack { /* node -> server: the phase is done */
	uint64_t generation;
	uint8_t phase;
};

struct dsm_msg_line_list {
	uint32_t count;         /* 0..DSM_MSG_ALARMS_MAX */
	const char *const *line; /* each 1..DSM_MSG_ALARM_MAX bytes of text */
};

struct dsm_msg_alarms { /* node -> server: sequences first_seq .. +count-1 */
	uint64_t first_seq; /* >= 1 */
	uint64_t dropped;   /* alarms lost since the last ALARMS */
	struct dsm_msg_line_list alarms; /* empty only when dropped > 0 */
};

struct dsm_msg_alarms_ack { /* server -> node */
	uint64_t seq; /* highest contiguous sequence stored */
};

struct dsm_msg_enrol { /* node -> server, its certificate not yet issued */
	struct dsm_msg_bytes token; /* DSM_MSG_TOKEN_MIN..MAX bytes */
	struct dsm_msg_bytes csr;   /* one DER SEQUENCE, ..DSM_MSG_CSR_MAX */
};

struct dsm_msg_enrol_ok { /* server -> node */
	uint32_t node_id;          /* assigned, 1..DSM_MSG_NODE_ID_MAX */
	const char *name;          /* assigned, a policy NAME */
	struct dsm_msg_bytes cert; /* the node's, DER */
	struct dsm_msg_bytes ca;   /* the cluster CA's, DER */
	uint8_t policy_key[DSM_MSG_PUBKEY_LEN]; /* verifies POLICY bundles */
};

struct dsm_msg_renew { /* node -> server */
	struct dsm_msg_bytes csr;
};

struct dsm_msg_renew_ok { /* server -> node */
	struct dsm_msg_bytes cert;
};

struct dsm_msg_error { /* either side */
	uint32_t code;    /* enum dsm_msg_error_code */
	const char *text; /* 0..DSM_MSG_REASON_MAX bytes of text */
};

struct dsm_msg {
	uint8_t version; /* of the frame: decoded, the header's; encoding, 0 means
			  * DSM_MSG_VERSION_MIN (dsm_msg_frame_version()) */
	uint8_t type;   /* enum dsm_msg_type: says which member is valid */
	uint16_t flags; /* DSM_MSG_FLAGS_KNOWN only */
	uint64_t id;    /* requests: != 0, chosen by the sender; replies:
			 * the request's; ERROR: the request's, or 0 */
	union {
		struct dsm_msg_hello hello;
		struct dsm_msg_hello_ok hello_ok;
		struct dsm_msg_ping ping; /* PING and PONG */
		struct dsm_msg_policy policy;
		struct dsm_msg_policy_ack policy_ack;
		struct dsm_msg_keys keys;
		struct dsm_msg_keys_ack keys_ack;
		struct dsm_msg_alarms alarms;
		struct dsm_msg_alarms_ack alarms_ack;
		struct dsm_msg_enrol enrol;
		struct dsm_msg_enrol_ok enrol_ok;
		struct dsm_msg_renew renew;
		struct dsm_msg_renew_ok renew_ok;
		struct dsm_msg_error error;
		struct dsm_msg_fresh fresh;
	};
};

/* "HELLO", ... for logs; "unknown" for anything else. Never NULL. */
const char *dsm_msg_type_name(unsigned int type);

/* Who may send type; 0 when type is unknown. */
enum dsm_msg_sender dsm_msg_sender(unsigned int type);

/* The protocol version a type was defined in (0: unknown type). */
unsigned int dsm_msg_type_since(unsigned int type);

/* The version of the frame that carries type in a session of version
 * session: HELLO, HELLO_OK and ERROR are always version 1 (so that any
 * two versions can negotiate), every other type the session's. */
unsigned int dsm_msg_frame_version(unsigned int type, unsigned int session);

/* Whether type answers a request (its id is the request's). */
bool dsm_msg_is_reply(unsigned int type);

/* The largest body a frame of type may have (0: unknown type). */
size_t dsm_msg_max_body(unsigned int type);

/* The value rules of string and DER fields, for callers that build
 * messages from values of their own (n bytes at s, no terminator needed):
 * text: UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
 * without control characters (C0, DEL, C1); ascii: 0x20..0x7e; name: a
 * policy NAME ([A-Za-z0-9_.-], no "->", not "self" or "any"; length not
 * checked); der: exactly one DER SEQUENCE (tag 0x30, minimal definite
 * length of at most two bytes) spans the n bytes. */
bool dsm_msg_text_ok(const char *s, size_t n);
bool dsm_msg_ascii_ok(const char *s, size_t n);
bool dsm_msg_name_ok(const char *s, size_t n);
bool dsm_msg_der_ok(const uint8_t *p, size_t n);

/* Free what a decoded message owns and zero it; m may be all zeros. */
void dsm_msg_free(struct dsm_msg *m);

/* ---- encoding ----------------------------------------------------------- */

/* A growable output buffer; start from all zeros. */
struct dsm_msg_buf {
	uint8_t *data;
	size_t len, cap;
};

void dsm_msg_buf_release(struct dsm_msg_buf *b);

/* n more bytes at the end of b (b->len grows by n), or NULL (ENOMEM). */
uint8_t *dsm_msg_buf_room(struct dsm_msg_buf *b, size_t n);

/* Append m as one frame to out. On error out->len is unchanged. */
int dsm_msg_encode(const struct dsm_msg *m, struct dsm_msg_buf *out);

/* Append only the body of m (its type's fields) to out. */
int dsm_msg_body_encode(const struct dsm_msg *m, struct dsm_msg_buf *out);

/* ---- decoding ----------------------------------------------------------- */

struct dsm_msg_hdr {
	uint32_t body_len;
	uint8_t version, type;
	uint16_t flags;
	uint64_t id;
};

/* The 16 header bytes at p: the version first (-EPROTONOSUPPORT), then the
 * type (-ENOTSUP), flags and id (-EBADMSG), the body length against the
 * type's limit (-EMSGSIZE). Enough to decide before allocating the body. */
int dsm_msg_hdr_decode(const uint8_t p[DSM_MSG_HDR_LEN], struct dsm_msg_hdr *h);

/* Exactly one frame of len bytes; no byte more or less. *out is zeroed
 * first and left zeroed on error. */
int dsm_msg_decode(const void *frame, size_t len, struct dsm_msg *out);

/* The body of a message whose header fields out->type, flags, id are set:
 * exactly len bytes. On error the body members are freed and zeroed. */
int dsm_msg_body_decode(const uint8_t *body, size_t len, struct dsm_msg *out);

/* ---- streaming ---------------------------------------------------------- */

/* Frames from a byte stream fed in pieces of any size (non-blocking reads). */
struct dsm_msg_reader {
	enum dsm_msg_sender from; /* types another side sends are refused */
	uint8_t hdr[DSM_MSG_HDR_LEN];
	size_t hdr_have;
	uint8_t *frame; /* header and body, allocated once the header is valid */
	size_t frame_len, frame_have;
	int err; /* sticky: the stream cannot be resynchronized */
};

/* from: the side this reader reads from (DSM_MSG_FROM_EITHER: any type). */
void dsm_msg_reader_init(struct dsm_msg_reader *r, enum dsm_msg_sender from);
void dsm_msg_reader_release(struct dsm_msg_reader *r);

/* Between frames: nothing buffered (an end of stream now is clean). */
bool dsm_msg_reader_idle(const struct dsm_msg_reader *r);

/* Feed len bytes. Consumes up to the end of at most one frame and sets
 * *used. Returns 1 with a decoded message in *out (the caller frees it;
 * bytes after *used are the next frame's, to be fed again), 0 when every
 * byte was consumed and the frame is incomplete, or a negative errno, then
 * and on every later call: the connection must be closed. */
int dsm_msg_reader_feed(struct dsm_msg_reader *r, const void *data, size_t len,
			size_t *used, struct dsm_msg *out);

#endif /* DSM_CHAN_MSG_H */
