// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Channel message framing (docs/channel.md, "Framing"): the 16-byte
 * header, whole frames in and out, and the streaming reader that assembles
 * frames from partial reads. The header is validated before a byte of the
 * body is allocated, against the limit of the frame's own type, so a peer
 * cannot make the other side reserve more than one message of that type
 * may need. Also the value rules of string and DER fields, which callers
 * may use on their own values. The bodies are chan_msg_body.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "chan_msg.h"

/* header: u32 body length, u8 version, u8 type, u16 flags, u64 id */
#define HDR_BODY_LEN 0
#define HDR_VERSION  4
#define HDR_TYPE     5
#define HDR_FLAGS    6
#define HDR_ID       8
_Static_assert(HDR_ID + 8 == DSM_MSG_HDR_LEN, "header layout");
_Static_assert(DSM_MSG_MAX_POLICY <= UINT32_MAX - DSM_MSG_HDR_LEN, "frame length fits");

_Static_assert(DSM_MSG_VERSION_MIN == 1, "HELLO, HELLO_OK and ERROR frames are version 1");

/* ---- buffers ------------------------------------------------------------ */

void dsm_msg_buf_release(struct dsm_msg_buf *b)
{
	free(b->data);
	*b = (struct dsm_msg_buf){ 0 };
}

uint8_t *dsm_msg_buf_room(struct dsm_msg_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *grown;

	if (n > SIZE_MAX / 2 - b->len)
		return NULL;
	if (b->len + n > b->cap) {
		while (cap < b->len + n)
			cap *= 2;
		if (!(grown = realloc(b->data, cap)))
			return NULL;
		b->data = grown;
		b->cap = cap;
	}
	b->len += n;
	return b->data + b->len - n;
}

/* ---- values -------------------------------------------------------------- */

/* The code point at s (n > 0 bytes left) and its length; 0 when the bytes
 * are not well-formed UTF-8 (overlong, surrogate, past U+10FFFF, cut). */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
	static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t c = s[0];
	size_t len;

	if (c < 0x80)
		len = 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < least[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool dsm_msg_text_ok(const char *text, size_t n)
{
	const uint8_t *s = (const uint8_t *)text;
	uint32_t cp;

	for (size_t i = 0, step; i < n; i += step) {
		step = utf8_next(s + i, n - i, &cp);
		if (!step || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
	}
	return true;
}

bool dsm_msg_ascii_ok(const char *text, size_t n)
{
	const uint8_t *s = (const uint8_t *)text;

	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool dsm_msg_name_ok(const char *text, size_t n)
{
	const uint8_t *s = (const uint8_t *)text;

	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]) || (s[i] == '-' && i + 1 < n && s[i + 1] == '>'))
			return false;
	return !(n == 4 && !memcmp(s, "self", 4)) && !(n == 3 && !memcmp(s, "any", 3));
}

/* Exactly one DER SEQUENCE (tag 0x30, minimal definite length) spans all
 * n bytes. Only the outer frame: the contents are parsed where used. */
bool dsm_msg_der_ok(const uint8_t *p, size_t n)
{
	size_t hdr, body;

	if (n < 2 || p[0] != 0x30)
		return false;
	if (p[1] < 0x80) {
		hdr = 2;
		body = p[1];
	} else if (p[1] == 0x81) {
		hdr = 3;
		body = n >= 3 ? p[2] : 0;
		if (body < 0x80)
			return false;
	} else if (p[1] == 0x82) {
		hdr = 4;
		body = n >= 4 ? (size_t)p[2] << 8 | p[3] : 0;
		if (body < 0x100)
			return false;
	} else {
		return false; /* indefinite, or longer than any field allows */
	}
	return n >= hdr && body == n - hdr;
}

/* ---- the header --------------------------------------------------------- */

unsigned int dsm_msg_frame_version(unsigned int type, unsigned int session)
{
	return type == DSM_MSG_HELLO || type == DSM_MSG_HELLO_OK || type == DSM_MSG_ERROR
		       ? 1 : session;
}

/* What the header says alone, in the order the errors are reported. Only
 * ERROR may have id 0 (an error about no request in particular). */
static int check_hdr(const struct dsm_msg_hdr *h)
{
	if (h->version < DSM_MSG_VERSION_MIN || h->version > DSM_MSG_VERSION_MAX)
		return -EPROTONOSUPPORT;
	if (!dsm_msg_sender(h->type) || dsm_msg_type_since(h->type) > h->version)
		return -ENOTSUP; /* unknown, or not in this version */
	if (h->flags & ~DSM_MSG_FLAGS_KNOWN)
		return -EBADMSG;
	if (!h->id && h->type != DSM_MSG_ERROR)
		return -EBADMSG;
	if (h->version != dsm_msg_frame_version(h->type, h->version))
		return -EBADMSG; /* HELLO, HELLO_OK, ERROR in a frame of another version */
	return h->body_len <= dsm_msg_max_body(h->type) ? 0 : -EMSGSIZE;
}

int dsm_msg_hdr_decode(const uint8_t p[DSM_MSG_HDR_LEN], struct dsm_msg_hdr *h)
{
	*h = (struct dsm_msg_hdr){
		.body_len = (uint32_t)dsm_get_le(p + HDR_BODY_LEN, 4),
		.version = p[HDR_VERSION],
		.type = p[HDR_TYPE],
		.flags = (uint16_t)dsm_get_le(p + HDR_FLAGS, 2),
		.id = dsm_get_le(p + HDR_ID, 8),
	};
	return check_hdr(h);
}

static void hdr_encode(uint8_t p[DSM_MSG_HDR_LEN], const struct dsm_msg_hdr *h)
{
	dsm_put_le(p + HDR_BODY_LEN, h->body_len, 4);
	p[HDR_VERSION] = h->version;
	p[HDR_TYPE] = h->type;
	dsm_put_le(p + HDR_FLAGS, h->flags, 2);
	dsm_put_le(p + HDR_ID, h->id, 8);
}

/* ---- whole frames ------------------------------------------------------- */

static int errno_for_encoder(int err)
{
	return err == -EBADMSG ? -EINVAL : err; /* the caller's value, not input */
}

int dsm_msg_encode(const struct dsm_msg *m, struct dsm_msg_buf *out)
{
	struct dsm_msg_hdr h = { .version = m->version ? m->version : DSM_MSG_VERSION_MIN,
				 .type = m->type,
				 .flags = m->flags, .id = m->id };
	const size_t start = out->len;
	int err;

	err = errno_for_encoder(check_hdr(&h));
	if (err)
		return err;
	if (!dsm_msg_buf_room(out, DSM_MSG_HDR_LEN))
		return -ENOMEM;
	err = dsm_msg_body_encode(m, out);
	if (!err) {
		h.body_len = (uint32_t)(out->len - start - DSM_MSG_HDR_LEN);
		err = errno_for_encoder(check_hdr(&h)); /* the body within its limit */
	}
	if (err) {
		out->len = start;
		return err;
	}
	hdr_encode(out->data + start, &h);
	return 0;
}

int dsm_msg_decode(const void *frame, size_t len, struct dsm_msg *out)
{
	const uint8_t *p = frame;
	struct dsm_msg_hdr h;
	int err;

	memset(out, 0, sizeof(*out));
	if (len < DSM_MSG_HDR_LEN)
		return -EBADMSG;
	err = dsm_msg_hdr_decode(p, &h);
	if (err)
		return err;
	if (h.body_len != len - DSM_MSG_HDR_LEN)
		return -EBADMSG; /* cut short, or bytes after the frame */
	out->version = h.version;
	out->type = h.type;
	out->flags = h.flags;
	out->id = h.id;
	err = dsm_msg_body_decode(p + DSM_MSG_HDR_LEN, h.body_len, out);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

/* ---- the streaming reader ----------------------------------------------- */

void dsm_msg_reader_init(struct dsm_msg_reader *r, enum dsm_msg_sender from)
{
	*r = (struct dsm_msg_reader){ .from = from };
}

void dsm_msg_reader_release(struct dsm_msg_reader *r)
{
	free(r->frame);
	dsm_msg_reader_init(r, r->from);
}

bool dsm_msg_reader_idle(const struct dsm_msg_reader *r)
{
	return !r->err && !r->hdr_have && !r->frame;
}

static size_t copy_some(uint8_t *to, size_t want, const uint8_t *from, size_t have)
{
	const size_t n = want < have ? want : have;

	if (n)
		memcpy(to, from, n);
	return n;
}

/* The header is complete: check it and its sender, then make room. */
static int start_frame(struct dsm_msg_reader *r)
{
	struct dsm_msg_hdr h;
	enum dsm_msg_sender sender;
	int err = dsm_msg_hdr_decode(r->hdr, &h);

	if (err)
		return err;
	sender = dsm_msg_sender(h.type);
	if (r->from != DSM_MSG_FROM_EITHER && sender != DSM_MSG_FROM_EITHER && sender != r->from)
		return -EPROTO;
	r->frame_len = DSM_MSG_HDR_LEN + (size_t)h.body_len;
	if (!(r->frame = malloc(r->frame_len)))
		return -ENOMEM;
	memcpy(r->frame, r->hdr, DSM_MSG_HDR_LEN);
	r->frame_have = DSM_MSG_HDR_LEN;
	return 0;
}

/* The frame is complete: decode it and get ready for the next one. */
static int finish_frame(struct dsm_msg_reader *r, struct dsm_msg *out)
{
	const int err = dsm_msg_decode(r->frame, r->frame_len, out);

	free(r->frame);
	r->frame = NULL;
	r->hdr_have = 0;
	r->frame_len = r->frame_have = 0;
	return err ? err : 1;
}

int dsm_msg_reader_feed(struct dsm_msg_reader *r, const void *data, size_t len,
			size_t *used, struct dsm_msg *out)
{
	const uint8_t *p = data;
	size_t n;
	int err;

	*used = 0;
	memset(out, 0, sizeof(*out));
	if (r->err)
		return r->err;
	if (!r->frame) {
		n = copy_some(r->hdr + r->hdr_have, DSM_MSG_HDR_LEN - r->hdr_have, p, len);
		r->hdr_have += n;
		*used += n;
		if (r->hdr_have < DSM_MSG_HDR_LEN)
			return 0;
		err = start_frame(r);
		if (err)
			return r->err = err;
	}
	n = copy_some(r->frame + r->frame_have, r->frame_len - r->frame_have, p + *used,
		      len - *used);
	r->frame_have += n;
	*used += n;
	if (r->frame_have < r->frame_len)
		return 0;
	err = finish_frame(r, out);
	if (err < 0)
		r->err = err;
	return err;
}
