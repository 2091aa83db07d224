// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Channel message bodies (docs/channel.md, "Messages"). Each type is a
 * table of its fields in wire order; one walker each encodes, decodes,
 * checks and frees by that table, so the four cannot disagree. The checks
 * run before encoding and after decoding alike: the encoder refuses what
 * the decoder would, and a decoded message re-encodes to its own bytes.
 * Integers are little-endian; strings and byte fields are a length prefix
 * and that many bytes, no terminator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "chan_msg.h"

enum field_kind {
	F_END,
	F_U8,
	F_U16,
	F_U32,
	F_U64,
	F_TEXT,  /* const char *: length prefix, bytes */
	F_BYTES, /* struct dsm_msg_bytes: length prefix, bytes */
	F_REST,  /* struct dsm_msg_bytes: every byte left in the body */
	F_FIXED, /* uint8_t[max], no prefix */
	F_KEYS,  /* struct dsm_msg_key_list: u16 count, PAIR_KEY_WIRE each */
	F_LINES, /* struct dsm_msg_line_list: u16 count, u16-prefixed texts */
};

enum charset {
	CS_ASCII = 1, /* 0x20..0x7e */
	CS_NAME,      /* a policy NAME: [A-Za-z0-9_.-], no "->", not self/any */
	CS_TEXT,      /* UTF-8 without control characters */
};

struct field {
	uint8_t kind;
	uint8_t prefix;  /* F_TEXT, F_BYTES: bytes of the length, 1 or 2 */
	uint8_t charset; /* F_TEXT */
	bool der;        /* F_BYTES: exactly one DER SEQUENCE */
	uint16_t offset; /* of the member in struct dsm_msg */
	uint64_t min, max; /* integers: the value; else the length in bytes */
};

#define PAIR_KEY_WIRE 24 /* u32 peer, 4 bytes IPv4 address, 16 bytes key */
_Static_assert(PAIR_KEY_WIRE == 4 + 4 + DSM_MSG_SIPKEY_LEN, "pair key layout");
_Static_assert(2 + DSM_MSG_KEYS_MAX * PAIR_KEY_WIRE + 8 + 1 <= DSM_MSG_MAX_BODY,
	       "a full KEYS fits a frame");
_Static_assert(2 + DSM_MSG_ALARMS_MAX * 2 + DSM_MSG_ALARMS_TEXT_MAX + 16 <= DSM_MSG_MAX_BODY,
	       "a full ALARMS fits a frame");
_Static_assert(DSM_MSG_CERT_MAX <= UINT16_MAX && DSM_MSG_CSR_MAX <= UINT16_MAX &&
	       DSM_MSG_ALARM_MAX <= UINT16_MAX && DSM_MSG_REASON_MAX <= UINT8_MAX &&
	       DSM_MSG_SOFTWARE_MAX <= UINT8_MAX && DSM_MSG_NAME_MAX <= UINT8_MAX &&
	       DSM_MSG_TOKEN_MAX <= UINT8_MAX, "lengths fit their prefixes");

/* The member's offset; does not compile unless the member has that size. */
#define OFF(member, size)                                                      \
	(offsetof(struct dsm_msg, member) +                                    \
	 0 * sizeof(char[sizeof(((struct dsm_msg *)0)->member) == (size) ? 1 : -1]))

#define INT(k, w, m, lo, hi) { .kind = k, .offset = OFF(m, w), .min = lo, .max = hi }
#define U8(m, lo, hi)  INT(F_U8, 1, m, lo, hi)
#define U16(m, lo, hi) INT(F_U16, 2, m, lo, hi)
#define U32(m, lo, hi) INT(F_U32, 4, m, lo, hi)
#define U64(m, lo, hi) INT(F_U64, 8, m, lo, hi)
#define TEXT(m, pfx, cs, lo, hi)                                               \
	{ .kind = F_TEXT, .prefix = pfx, .charset = cs,                        \
	  .offset = OFF(m, sizeof(const char *)), .min = lo, .max = hi }
#define BYTES(m, pfx, lo, hi)                                                  \
	{ .kind = F_BYTES, .prefix = pfx,                                      \
	  .offset = OFF(m, sizeof(struct dsm_msg_bytes)), .min = lo, .max = hi }
#define DER(m, hi)                                                             \
	{ .kind = F_BYTES, .prefix = 2, .der = true,                           \
	  .offset = OFF(m, sizeof(struct dsm_msg_bytes)), .min = 2, .max = hi }
#define REST(m, lo, hi)                                                        \
	{ .kind = F_REST, .offset = OFF(m, sizeof(struct dsm_msg_bytes)), .min = lo, .max = hi }
#define FIXED(m, n) { .kind = F_FIXED, .offset = OFF(m, n), .min = n, .max = n }
#define KEYS(m) { .kind = F_KEYS, .offset = OFF(m, sizeof(struct dsm_msg_key_list)) }
#define LINES(m) { .kind = F_LINES, .offset = OFF(m, sizeof(struct dsm_msg_line_list)) }
#define END { .kind = F_END }

static const struct field hello_fields[] = {
	U16(hello.version_min, 1, UINT16_MAX),
	U16(hello.version_max, 1, UINT16_MAX),
	U64(hello.policy_version, 0, UINT64_MAX),
	U64(hello.key_generation, 0, UINT64_MAX),
	U64(hello.alarm_seq, 0, UINT64_MAX),
	TEXT(hello.software, 1, CS_ASCII, 1, DSM_MSG_SOFTWARE_MAX),
	END,
};

static const struct field hello_ok_fields[] = {
	U16(hello_ok.version, 1, UINT16_MAX),
	U32(hello_ok.heartbeat_ms, DSM_MSG_HEARTBEAT_MIN_MS, DSM_MSG_HEARTBEAT_MAX_MS),
	U64(hello_ok.server_time_ms, 0, UINT64_MAX),
	END,
};

static const struct field ping_fields[] = {
	U64(ping.nonce, 0, UINT64_MAX),
	END,
};

static const struct field policy_fields[] = {
	REST(policy.bundle, 1, DSM_MSG_MAX_POLICY),
	END,
};

static const struct field policy_ack_fields[] = {
	U64(policy_ack.version, 0, UINT64_MAX),
	U32(policy_ack.result, 0, DSM_POLICY_RESULT_MAX),
	TEXT(policy_ack.reason, 1, CS_TEXT, 0, DSM_MSG_REASON_MAX),
	END,
};

static const struct field keys_fields[] = {
	U64(keys.generation, 1, UINT64_MAX),
	U8(keys.phase, DSM_KEYS_INSTALL, DSM_KEYS_DROP_OLD),
	KEYS(keys.keys),
	END,
};

static const struct field keys_ack_fields[] = {
	U64(keys_ack.generation, 1, UINT64_MAX),
	U8(keys_ack.phase, DSM_KEYS_INSTALL, DSM_KEYS_DROP_OLD),
	END,
};

static const struct field alarms_fields[] = {
	U64(alarms.first_seq, 1, UINT64_MAX),
	U64(alarms.dropped, 0, UINT64_MAX),
	LINES(alarms.alarms),
	END,
};

static const struct field alarms_ack_fields[] = {
	U64(alarms_ack.seq, 0, UINT64_MAX),
	END,
};

static const struct field enrol_fields[] = {
	BYTES(enrol.token, 1, DSM_MSG_TOKEN_MIN, DSM_MSG_TOKEN_MAX),
	DER(enrol.csr, DSM_MSG_CSR_MAX),
	END,
};

static const struct field enrol_ok_fields[] = {
	U32(enrol_ok.node_id, 1, DSM_MSG_NODE_ID_MAX),
	TEXT(enrol_ok.name, 1, CS_NAME, 1, DSM_MSG_NAME_MAX),
	DER(enrol_ok.cert, DSM_MSG_CERT_MAX),
	DER(enrol_ok.ca, DSM_MSG_CERT_MAX),
	FIXED(enrol_ok.policy_key, DSM_MSG_PUBKEY_LEN),
	END,
};

static const struct field renew_fields[] = {
	DER(renew.csr, DSM_MSG_CSR_MAX),
	END,
};

static const struct field renew_ok_fields[] = {
	DER(renew_ok.cert, DSM_MSG_CERT_MAX),
	END,
};

static const struct field fresh_fields[] = {
	REST(fresh.statement, 1, DSM_MSG_FRESH_MAX),
	END,
};

static const struct field error_fields[] = {
	U32(error.code, 1, DSM_ERR_CODE_MAX),
	TEXT(error.text, 1, CS_TEXT, 0, DSM_MSG_REASON_MAX),
	END,
};

/* ---- what one field alone cannot say ------------------------------------ */

static int check_hello(const struct dsm_msg *m)
{
	return m->hello.version_min <= m->hello.version_max ? 0 : -EINVAL;
}

static int check_hello_ok(const struct dsm_msg *m)
{
	const uint16_t v = m->hello_ok.version;

	return v >= DSM_MSG_VERSION_MIN && v <= DSM_MSG_VERSION_MAX ? 0 : -EPROTONOSUPPORT;
}

static int check_keys(const struct dsm_msg *m)
{
	return m->keys.phase == DSM_KEYS_INSTALL || m->keys.keys.count == 0 ? 0 : -EINVAL;
}

static int check_alarms(const struct dsm_msg *m)
{
	const struct dsm_msg_alarms *a = &m->alarms;

	if (a->alarms.count == 0)
		return a->dropped ? 0 : -EINVAL; /* an empty batch reports drops */
	return a->first_seq <= UINT64_MAX - (a->alarms.count - 1) ? 0 : -EINVAL;
}

struct body_type {
	const char *name;
	uint8_t since;  /* the protocol version that defined it */
	uint8_t sender; /* enum dsm_msg_sender */
	bool reply;
	const struct field *fields;
	int (*check)(const struct dsm_msg *m);
};

#define TYPE_SINCE(v, t, nm, from, rep, chk) \
	[DSM_MSG_##t] = { .name = #t, .since = v, .sender = DSM_MSG_FROM_##from, .reply = rep, \
			  .fields = nm##_fields, .check = chk }
#define TYPE(t, nm, from, rep, chk) TYPE_SINCE(1, t, nm, from, rep, chk)

static const struct body_type types[DSM_MSG_TYPE_MAX + 1] = {
	TYPE(HELLO, hello, NODE, false, check_hello),
	TYPE(HELLO_OK, hello_ok, SERVER, true, check_hello_ok),
	TYPE(PING, ping, EITHER, false, NULL),
	TYPE(PONG, ping, EITHER, true, NULL),
	TYPE(POLICY, policy, SERVER, false, NULL),
	TYPE(POLICY_ACK, policy_ack, NODE, true, NULL),
	TYPE(KEYS, keys, SERVER, false, check_keys),
	TYPE(KEYS_ACK, keys_ack, NODE, true, NULL),
	TYPE(ALARMS, alarms, NODE, false, check_alarms),
	TYPE(ALARMS_ACK, alarms_ack, SERVER, true, NULL),
	TYPE(ENROL, enrol, NODE, false, NULL),
	TYPE(ENROL_OK, enrol_ok, SERVER, true, NULL),
	TYPE(RENEW, renew, NODE, false, NULL),
	TYPE(RENEW_OK, renew_ok, SERVER, true, NULL),
	TYPE(ERROR, error, EITHER, false, NULL),
	TYPE_SINCE(2, FRESH, fresh, SERVER, false, NULL),
};
_Static_assert(DSM_MSG_VERSION_MAX == 2, "every type's version is within what this code speaks");

static const struct body_type *type_of(unsigned int type)
{
	return type >= 1 && type <= DSM_MSG_TYPE_MAX ? &types[type] : NULL;
}

const char *dsm_msg_type_name(unsigned int type)
{
	const struct body_type *t = type_of(type);

	return t ? t->name : "unknown";
}

enum dsm_msg_sender dsm_msg_sender(unsigned int type)
{
	const struct body_type *t = type_of(type);

	return t ? (enum dsm_msg_sender)t->sender : 0;
}

unsigned int dsm_msg_type_since(unsigned int type)
{
	const struct body_type *t = type_of(type);

	return t ? t->since : 0;
}

bool dsm_msg_is_reply(unsigned int type)
{
	const struct body_type *t = type_of(type);

	return t && t->reply;
}

static size_t int_width(uint8_t kind)
{
	return (size_t)1 << (kind - F_U8); /* F_U8..F_U64: 1, 2, 4, 8 */
}

static size_t field_max_wire(const struct field *f)
{
	switch (f->kind) {
	case F_U8: case F_U16: case F_U32: case F_U64:
		return int_width(f->kind);
	case F_TEXT: case F_BYTES:
		return f->prefix + f->max;
	case F_REST: case F_FIXED:
		return f->max;
	case F_KEYS:
		return 2 + (size_t)DSM_MSG_KEYS_MAX * PAIR_KEY_WIRE;
	case F_LINES:
		return 2 + (size_t)DSM_MSG_ALARMS_MAX * 2 + DSM_MSG_ALARMS_TEXT_MAX;
	}
	return 0;
}

size_t dsm_msg_max_body(unsigned int type)
{
	const struct body_type *t = type_of(type);
	size_t sum = 0;

	for (const struct field *f = t ? t->fields : NULL; f && f->kind != F_END; f++)
		sum += field_max_wire(f);
	return sum;
}

/* ---- checking ----------------------------------------------------------- */

static bool charset_ok(uint8_t cs, const char *s, size_t n)
{
	switch (cs) {
	case CS_ASCII:
		return dsm_msg_ascii_ok(s, n);
	case CS_NAME:
		return dsm_msg_name_ok(s, n);
	case CS_TEXT:
		return dsm_msg_text_ok(s, n);
	}
	return false;
}

static uint64_t int_get(uint8_t kind, const void *at)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (kind) {
	case F_U8:
		memcpy(&v8, at, 1);
		return v8;
	case F_U16:
		memcpy(&v16, at, 2);
		return v16;
	case F_U32:
		memcpy(&v32, at, 4);
		return v32;
	default:
		memcpy(&v64, at, 8);
		return v64;
	}
}

static void int_set(uint8_t kind, void *at, uint64_t v)
{
	const uint8_t v8 = (uint8_t)v;
	const uint16_t v16 = (uint16_t)v;
	const uint32_t v32 = (uint32_t)v;

	switch (kind) {
	case F_U8:
		memcpy(at, &v8, 1);
		break;
	case F_U16:
		memcpy(at, &v16, 2);
		break;
	case F_U32:
		memcpy(at, &v32, 4);
		break;
	default:
		memcpy(at, &v, 8);
	}
}

static int check_text(const char *s, uint8_t cs, uint64_t min, uint64_t max, size_t *len)
{
	size_t n;

	if (!s)
		return -EINVAL;
	n = strnlen(s, max + 1);
	if (n > max)
		return -EMSGSIZE;
	if (n < min || !charset_ok(cs, s, n))
		return -EINVAL;
	if (len)
		*len = n;
	return 0;
}

static int check_bytes(const struct field *f, const struct dsm_msg_bytes *b)
{
	if (b->len > f->max)
		return -EMSGSIZE;
	if (b->len < f->min || (b->len && !b->data))
		return -EINVAL;
	return !f->der || dsm_msg_der_ok(b->data, b->len) ? 0 : -EINVAL;
}

static int check_keys_list(const struct dsm_msg_key_list *l)
{
	if (l->count > DSM_MSG_KEYS_MAX)
		return -EMSGSIZE;
	if (l->count && !l->key)
		return -EINVAL;
	for (uint32_t i = 0; i < l->count; i++) {
		const uint32_t peer = l->key[i].peer;

		if (peer < 1 || peer > DSM_MSG_NODE_ID_MAX || (i && peer <= l->key[i - 1].peer))
			return -EINVAL; /* one key per peer, in ascending order */
	}
	return 0;
}

static int check_lines(const struct dsm_msg_line_list *l)
{
	size_t total = 0, n;
	int err;

	if (l->count > DSM_MSG_ALARMS_MAX)
		return -EMSGSIZE;
	if (l->count && !l->line)
		return -EINVAL;
	for (uint32_t i = 0; i < l->count; i++) {
		err = check_text(l->line[i], CS_TEXT, 1, DSM_MSG_ALARM_MAX, &n);
		if (err)
			return err;
		total += n;
	}
	return total <= DSM_MSG_ALARMS_TEXT_MAX ? 0 : -EMSGSIZE;
}

static int check_field(const struct field *f, const void *at)
{
	uint64_t v;

	switch (f->kind) {
	case F_U8: case F_U16: case F_U32: case F_U64:
		v = int_get(f->kind, at);
		return v >= f->min && v <= f->max ? 0 : -EINVAL;
	case F_TEXT:
		return check_text(*(const char *const *)at, f->charset, f->min, f->max, NULL);
	case F_BYTES: case F_REST:
		return check_bytes(f, at);
	case F_KEYS:
		return check_keys_list(at);
	case F_LINES:
		return check_lines(at);
	}
	return 0; /* F_FIXED: any bytes */
}

/* Every rule of the message's type; the header's are the framing's. */
static int check_body(const struct dsm_msg *m, const struct body_type *t)
{
	int err;

	for (const struct field *f = t->fields; f->kind != F_END; f++) {
		err = check_field(f, (const uint8_t *)m + f->offset);
		if (err)
			return err;
	}
	return t->check ? t->check(m) : 0;
}

/* ---- encoding ----------------------------------------------------------- */

static int put(struct dsm_msg_buf *b, const void *p, size_t n)
{
	uint8_t *at = dsm_msg_buf_room(b, n);

	if (!at)
		return -ENOMEM;
	if (n)
		memcpy(at, p, n);
	return 0;
}

static int put_le(struct dsm_msg_buf *b, uint64_t v, size_t n)
{
	uint8_t le[8];

	dsm_put_le(le, v, n);
	return put(b, le, n);
}

static int put_prefixed(struct dsm_msg_buf *b, size_t prefix, const void *p, size_t n)
{
	return put_le(b, n, prefix) ?: put(b, p, n);
}

static int encode_keys(struct dsm_msg_buf *b, const struct dsm_msg_key_list *l)
{
	int err = put_le(b, l->count, 2);

	for (uint32_t i = 0; !err && i < l->count; i++)
		err = put_le(b, l->key[i].peer, 4) ?: put(b, l->key[i].addr, 4) ?:
		      put(b, l->key[i].key, DSM_MSG_SIPKEY_LEN);
	return err;
}

static int encode_lines(struct dsm_msg_buf *b, const struct dsm_msg_line_list *l)
{
	int err = put_le(b, l->count, 2);

	for (uint32_t i = 0; !err && i < l->count; i++)
		err = put_prefixed(b, 2, l->line[i], strlen(l->line[i]));
	return err;
}

static int encode_field(struct dsm_msg_buf *b, const struct field *f, const void *at)
{
	const struct dsm_msg_bytes *bytes = at;
	const char *s;

	switch (f->kind) {
	case F_U8: case F_U16: case F_U32: case F_U64:
		return put_le(b, int_get(f->kind, at), int_width(f->kind));
	case F_TEXT:
		s = *(const char *const *)at;
		return put_prefixed(b, f->prefix, s, strlen(s));
	case F_BYTES:
		return put_prefixed(b, f->prefix, bytes->data, bytes->len);
	case F_REST:
		return put(b, bytes->data, bytes->len);
	case F_FIXED:
		return put(b, at, f->max);
	case F_KEYS:
		return encode_keys(b, at);
	case F_LINES:
		return encode_lines(b, at);
	}
	return -EINVAL;
}

int dsm_msg_body_encode(const struct dsm_msg *m, struct dsm_msg_buf *out)
{
	const struct body_type *t = type_of(m->type);
	const size_t start = out->len;
	int err;

	if (!t)
		return -ENOTSUP;
	err = check_body(m, t);
	for (const struct field *f = t->fields; !err && f->kind != F_END; f++)
		err = encode_field(out, f, (const uint8_t *)m + f->offset);
	if (err)
		out->len = start;
	return err;
}

/* ---- decoding ----------------------------------------------------------- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *at = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return at;
}

static uint64_t le_at(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int take_le(struct cursor *c, size_t n, uint64_t *v)
{
	const uint8_t *p = take(c, n);

	if (!p)
		return -EBADMSG;
	*v = le_at(p, n);
	return 0;
}

static int take_copy(struct cursor *c, size_t n, uint64_t max, struct dsm_msg_bytes *out)
{
	const uint8_t *p = n <= max ? take(c, n) : NULL;
	uint8_t *copy;

	if (!p)
		return -EBADMSG;
	if (!n)
		return 0;
	if (!(copy = malloc(n)))
		return -ENOMEM;
	memcpy(copy, p, n);
	*out = (struct dsm_msg_bytes){ .data = copy, .len = n };
	return 0;
}

/* A length-prefixed string as a NUL-terminated copy; NUL inside refused. */
static int take_text(struct cursor *c, size_t prefix, uint64_t max, const char **out)
{
	const uint8_t *p;
	uint64_t n;
	char *s;

	if (take_le(c, prefix, &n) || n > max || !(p = take(c, n)) || memchr(p, 0, n))
		return -EBADMSG;
	if (!(s = malloc(n + 1)))
		return -ENOMEM;
	memcpy(s, p, n);
	s[n] = '\0';
	*out = s;
	return 0;
}

static int take_bytes(struct cursor *c, size_t prefix, uint64_t max, struct dsm_msg_bytes *out)
{
	uint64_t n;

	return take_le(c, prefix, &n) ?: take_copy(c, n, max, out);
}

static int decode_keys(struct cursor *c, struct dsm_msg_key_list *l)
{
	struct dsm_msg_pair_key *k;
	const uint8_t *p;
	uint64_t count;

	if (take_le(c, 2, &count) || count > DSM_MSG_KEYS_MAX ||
	    !(p = take(c, count * PAIR_KEY_WIRE)))
		return -EBADMSG; /* before allocating */
	if (!count)
		return 0;
	if (!(k = calloc(count, sizeof(*k))))
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++, p += PAIR_KEY_WIRE) {
		k[i].peer = (uint32_t)le_at(p, 4);
		memcpy(k[i].addr, p + 4, 4);
		memcpy(k[i].key, p + 8, DSM_MSG_SIPKEY_LEN);
	}
	l->key = k;
	l->count = (uint32_t)count;
	return 0;
}

static int decode_lines(struct cursor *c, struct dsm_msg_line_list *l)
{
	const char **line;
	uint64_t count;
	int err = 0;

	/* each line takes at least its prefix and one byte */
	if (take_le(c, 2, &count) || count > DSM_MSG_ALARMS_MAX || count * 3 > c->left)
		return -EBADMSG;
	if (!count)
		return 0;
	if (!(line = calloc(count, sizeof(*line))))
		return -ENOMEM;
	l->line = line;
	l->count = (uint32_t)count; /* dsm_msg_free frees what is set */
	for (uint64_t i = 0; !err && i < count; i++)
		err = take_text(c, 2, DSM_MSG_ALARM_MAX, &line[i]);
	return err;
}

static int decode_field(struct cursor *c, const struct field *f, void *at)
{
	uint64_t v;
	int err;

	switch (f->kind) {
	case F_U8: case F_U16: case F_U32: case F_U64:
		err = take_le(c, int_width(f->kind), &v);
		if (!err)
			int_set(f->kind, at, v);
		return err;
	case F_TEXT:
		return take_text(c, f->prefix, f->max, at);
	case F_BYTES:
		return take_bytes(c, f->prefix, f->max, at);
	case F_REST:
		return take_copy(c, c->left, f->max, at);
	case F_FIXED: {
		const uint8_t *p = take(c, f->max);

		if (!p)
			return -EBADMSG;
		memcpy(at, p, f->max);
		return 0;
	}
	case F_KEYS:
		return decode_keys(c, at);
	case F_LINES:
		return decode_lines(c, at);
	}
	return -EBADMSG;
}

static int decode_fields(struct cursor *c, const struct body_type *t, struct dsm_msg *m)
{
	int err;

	for (const struct field *f = t->fields; f->kind != F_END; f++) {
		err = decode_field(c, f, (uint8_t *)m + f->offset);
		if (err)
			return err;
	}
	return c->left ? -EBADMSG : 0; /* trailing bytes */
}

int dsm_msg_body_decode(const uint8_t *body, size_t len, struct dsm_msg *out)
{
	const struct body_type *t = type_of(out->type);
	struct cursor c = { .p = body, .left = len };
	int err;

	if (!t)
		return -ENOTSUP;
	memset(&out->hello, 0, sizeof(*out) - offsetof(struct dsm_msg, hello));
	err = decode_fields(&c, t, out) ?: check_body(out, t);
	if (err == -EINVAL || err == -EMSGSIZE)
		err = -EBADMSG; /* what the encoder calls invalid is malformed here */
	if (err) {
		const struct dsm_msg keep = { .version = out->version, .type = out->type,
					      .flags = out->flags, .id = out->id };

		dsm_msg_free(out);
		*out = keep;
	}
	return err;
}

/* ---- freeing ------------------------------------------------------------ */

/* Decoded messages own their pointers; the members are const for callers. */
static void release(const void *p)
{
	free((void *)p);
}

static void free_field(const struct field *f, void *at)
{
	struct dsm_msg_line_list *lines = at;

	switch (f->kind) {
	case F_TEXT:
		release(*(const char **)at);
		break;
	case F_BYTES: case F_REST:
		release(((struct dsm_msg_bytes *)at)->data);
		break;
	case F_KEYS:
		release(((struct dsm_msg_key_list *)at)->key);
		break;
	case F_LINES:
		for (uint32_t i = 0; i < lines->count; i++)
			release(lines->line[i]);
		release(lines->line);
		break;
	}
}

void dsm_msg_free(struct dsm_msg *m)
{
	const struct body_type *t = m ? type_of(m->type) : NULL;

	if (!m)
		return;
	for (const struct field *f = t ? t->fields : NULL; f && f->kind != F_END; f++)
		free_field(f, (uint8_t *)m + f->offset);
	memset(m, 0, sizeof(*m));
}
