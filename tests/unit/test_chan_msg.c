// SPDX-License-Identifier: GPL-2.0
/*
 * Channel messages: every type round-trips with typical and boundary
 * values to the same bytes; the decoder rejects every truncation, trailing
 * bytes, unknown types, flags and versions, and lengths past the limit
 * before allocating; the streaming reader gives the same messages fed a
 * byte at a time as fed whole; the encoder refuses what the decoder would.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chan_msg.h"

#define NTYPES DSM_MSG_TYPE_MAX

static uint8_t csr_der[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
static uint8_t cert_der[] = { 0x30, 0x04, 0x01, 0x02, 0x03, 0x04 };
static uint8_t token[DSM_MSG_TOKEN_MIN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static uint8_t bundle[] = { 'D', 'S', 'M', 'B', 'N', 'D', 'L', '\n', 0, 0xff };
static const struct dsm_msg_pair_key pair_keys[] = {
	{ .peer = 2, .addr = { 10, 0, 0, 2 }, .key = { 0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xaf } },
	{ .peer = 9, .addr = { 0 }, .key = { 0 } },
};
static const char *const alarm_lines[] = { "{\"kind\":\"deny\",\"label\":\"web\"}", "{\"k\":\"é\"}" };

/* A typical message of each type. */
static struct dsm_msg sample(unsigned int type)
{
	struct dsm_msg m = { .type = (uint8_t)type, .id = 0x1122334455667788ull };

	switch (type) {
	case DSM_MSG_HELLO:
		m.hello = (struct dsm_msg_hello){ .version_min = 1, .version_max = 1,
			.policy_version = 42, .key_generation = 3, .alarm_seq = 1000,
			.software = "dsm 0.9 (x86_64)" };
		break;
	case DSM_MSG_HELLO_OK:
		m.hello_ok = (struct dsm_msg_hello_ok){ .version = 1, .heartbeat_ms = 1000,
			.server_time_ms = 1700000000123ull };
		break;
	case DSM_MSG_PING: case DSM_MSG_PONG:
		m.ping.nonce = 0xdeadbeefcafef00dull;
		break;
	case DSM_MSG_POLICY:
		m.policy.bundle = (struct dsm_msg_bytes){ bundle, sizeof(bundle) };
		break;
	case DSM_MSG_POLICY_ACK:
		m.policy_ack = (struct dsm_msg_policy_ack){ .version = 42,
			.result = DSM_POLICY_BAD_SIGNATURE, .reason = "signature: no key" };
		break;
	case DSM_MSG_KEYS:
		m.keys = (struct dsm_msg_keys){ .generation = 4, .phase = DSM_KEYS_INSTALL,
			.keys = { 2, pair_keys } };
		break;
	case DSM_MSG_KEYS_ACK:
		m.keys_ack = (struct dsm_msg_keys_ack){ .generation = 4, .phase = DSM_KEYS_SWITCH };
		break;
	case DSM_MSG_ALARMS:
		m.alarms = (struct dsm_msg_alarms){ .first_seq = 17, .dropped = 2,
			.alarms = { 2, alarm_lines } };
		break;
	case DSM_MSG_ALARMS_ACK:
		m.alarms_ack.seq = 18;
		break;
	case DSM_MSG_ENROL:
		m.enrol = (struct dsm_msg_enrol){ { token, sizeof(token) }, { csr_der, sizeof(csr_der) } };
		break;
	case DSM_MSG_ENROL_OK:
		m.enrol_ok = (struct dsm_msg_enrol_ok){ .node_id = 5, .name = "n5.rack-2",
			.cert = { cert_der, sizeof(cert_der) }, .ca = { cert_der, sizeof(cert_der) },
			.policy_key = { 0x11, [31] = 0x22 } };
		break;
	case DSM_MSG_RENEW:
		m.renew.csr = (struct dsm_msg_bytes){ csr_der, sizeof(csr_der) };
		break;
	case DSM_MSG_RENEW_OK:
		m.renew_ok.cert = (struct dsm_msg_bytes){ cert_der, sizeof(cert_der) };
		break;
	case DSM_MSG_ERROR:
		m.error = (struct dsm_msg_error){ .code = DSM_ERR_DENIED, .text = "" };
		m.id = 0;
		break;
	case DSM_MSG_FRESH:
		m.version = 2;
		m.fresh.statement = (struct dsm_msg_bytes){ bundle, sizeof(bundle) };
		break;
	}
	return m;
}

static struct dsm_msg_buf encode(const struct dsm_msg *m)
{
	struct dsm_msg_buf b = { 0 };

	assert_int_equal(dsm_msg_encode(m, &b), 0);
	return b;
}

/* m encodes; its bytes decode; the result encodes to the same bytes. */
static void assert_round_trip(const struct dsm_msg *m)
{
	struct dsm_msg_buf a = encode(m), b;
	struct dsm_msg d;

	assert_int_equal(dsm_msg_decode(a.data, a.len, &d), 0);
	assert_int_equal(d.type, m->type);
	assert_int_equal(d.version, m->version ? m->version : 1);
	assert_true(d.id == m->id);
	b = encode(&d);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.data, a.data, a.len);
	dsm_msg_free(&d);
	dsm_msg_buf_release(&a);
	dsm_msg_buf_release(&b);
}

static void test_round_trip_typical(void **state)
{
	struct dsm_msg_buf b;
	struct dsm_msg d;

	(void)state;
	for (unsigned int t = 1; t <= NTYPES; t++) {
		const struct dsm_msg m = sample(t);

		assert_round_trip(&m);
	}
	/* a few fields by value */
	struct dsm_msg m = sample(DSM_MSG_KEYS);

	b = encode(&m);
	assert_int_equal(dsm_msg_decode(b.data, b.len, &d), 0);
	assert_int_equal(d.keys.keys.count, 2);
	assert_int_equal(d.keys.keys.key[1].peer, 9);
	assert_memory_equal(d.keys.keys.key[0].key, pair_keys[0].key, 16);
	assert_memory_equal(d.keys.keys.key[0].addr, pair_keys[0].addr, 4);
	dsm_msg_free(&d);
	dsm_msg_buf_release(&b);

	m = sample(DSM_MSG_ALARMS);
	b = encode(&m);
	assert_int_equal(dsm_msg_decode(b.data, b.len, &d), 0);
	assert_string_equal(d.alarms.alarms.line[1], alarm_lines[1]);
	assert_true(d.alarms.first_seq == 17 && d.alarms.dropped == 2);
	dsm_msg_free(&d);
	dsm_msg_buf_release(&b);

	m = sample(DSM_MSG_HELLO);
	b = encode(&m);
	assert_int_equal(b.len, DSM_MSG_HDR_LEN + 2 + 2 + 8 + 8 + 8 + 1 + strlen(m.hello.software));
	assert_int_equal(b.data[0], b.len - DSM_MSG_HDR_LEN); /* little-endian length */
	assert_int_equal(b.data[4], 1);                       /* version */
	assert_int_equal(b.data[5], DSM_MSG_HELLO);
	assert_int_equal(dsm_msg_decode(b.data, b.len, &d), 0);
	assert_string_equal(d.hello.software, m.hello.software);
	dsm_msg_free(&d);
	dsm_msg_buf_release(&b);
}

/* A DER SEQUENCE of exactly n bytes (n >= 2; not 130 or 259, which no
 * minimal length encoding makes). */
static uint8_t *der_of(size_t n)
{
	uint8_t *p = calloc(1, n);
	size_t hdr = n - 2 < 0x80 ? 2 : n - 3 < 0x100 ? 3 : 4, body = n - hdr;

	assert_non_null(p);
	p[0] = 0x30;
	if (hdr == 2)
		p[1] = (uint8_t)body;
	else if (hdr == 3)
		p[1] = 0x81, p[2] = (uint8_t)body;
	else
		p[1] = 0x82, p[2] = (uint8_t)(body >> 8), p[3] = (uint8_t)body;
	assert_true(dsm_msg_der_ok(p, n));
	return p;
}

static char *text_of(size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_round_trip_boundaries(void **state)
{
	struct dsm_msg_pair_key *keys = calloc(DSM_MSG_KEYS_MAX, sizeof(*keys));
	const char **lines = calloc(DSM_MSG_ALARMS_MAX, sizeof(*lines));
	char *sw = text_of(DSM_MSG_SOFTWARE_MAX, '~'), *name = text_of(DSM_MSG_NAME_MAX, 'z');
	char *reason = text_of(DSM_MSG_REASON_MAX, 'x'), *line256 = text_of(256, 'a');
	char *line_max = text_of(DSM_MSG_ALARM_MAX, 'b');
	uint8_t *csr = der_of(DSM_MSG_CSR_MAX), *cert = der_of(DSM_MSG_CERT_MAX);
	uint8_t *big = calloc(1, 1u << 20), one = 0;
	struct dsm_msg m;

	(void)state;
	assert_non_null(keys);
	assert_non_null(lines);
	assert_non_null(big);
	memcpy(reason + DSM_MSG_REASON_MAX - 4, "\xf0\x9d\x84\x9e", 4); /* U+1D11E ends it */
	for (uint32_t i = 0; i < DSM_MSG_KEYS_MAX; i++)
		keys[i] = (struct dsm_msg_pair_key){ .peer = DSM_MSG_NODE_ID_MAX - DSM_MSG_KEYS_MAX + 1 + i,
						     .addr = { 10, 1, (uint8_t)(i >> 8), (uint8_t)i }, .key = { [15] = (uint8_t)i } };
	for (uint32_t i = 0; i < DSM_MSG_ALARMS_MAX; i++)
		lines[i] = line256; /* 256 x 256 = the total limit exactly */

	m = (struct dsm_msg){ .type = DSM_MSG_HELLO, .id = UINT64_MAX, .hello = {
		.version_min = UINT16_MAX, .version_max = UINT16_MAX, .policy_version = UINT64_MAX,
		.key_generation = UINT64_MAX, .alarm_seq = UINT64_MAX, .software = sw } };
	assert_round_trip(&m);
	m.hello = (struct dsm_msg_hello){ .version_min = 1, .version_max = 1, .software = " " };
	assert_round_trip(&m);
	m = (struct dsm_msg){ .type = DSM_MSG_HELLO_OK, .id = 1, .hello_ok = {
		.version = DSM_MSG_VERSION_MAX, .heartbeat_ms = DSM_MSG_HEARTBEAT_MAX_MS,
		.server_time_ms = UINT64_MAX } };
	assert_round_trip(&m);
	m.hello_ok.heartbeat_ms = DSM_MSG_HEARTBEAT_MIN_MS;
	assert_round_trip(&m);
	m = (struct dsm_msg){ .type = DSM_MSG_POLICY, .id = 1, .policy.bundle = { &one, 1 } };
	assert_round_trip(&m);
	m.policy.bundle = (struct dsm_msg_bytes){ big, 1u << 20 };
	assert_round_trip(&m);
	m = (struct dsm_msg){ .type = DSM_MSG_POLICY_ACK, .id = 1, .policy_ack = {
		.version = UINT64_MAX, .result = DSM_POLICY_RESULT_MAX, .reason = reason } };
	assert_round_trip(&m);
	m = (struct dsm_msg){ .type = DSM_MSG_KEYS, .id = 1, .keys = { .generation = UINT64_MAX,
		.phase = DSM_KEYS_INSTALL, .keys = { DSM_MSG_KEYS_MAX, keys } } };
	assert_round_trip(&m);
	m.keys = (struct dsm_msg_keys){ .generation = 1, .phase = DSM_KEYS_INSTALL };
	assert_round_trip(&m); /* no keys: a cluster of one */
	m.keys.phase = DSM_KEYS_DROP_OLD;
	assert_round_trip(&m);
	m = (struct dsm_msg){ .type = DSM_MSG_ALARMS, .id = 1, .alarms = { .first_seq = 1,
		.dropped = UINT64_MAX, .alarms = { DSM_MSG_ALARMS_MAX, lines } } };
	assert_round_trip(&m);
	m.alarms = (struct dsm_msg_alarms){ .first_seq = UINT64_MAX, .alarms = { 1, lines } };
	assert_round_trip(&m); /* the last sequence number there is */
	lines[0] = line_max;
	assert_round_trip(&m);
	m.alarms = (struct dsm_msg_alarms){ .first_seq = 5, .dropped = 1 };
	assert_round_trip(&m); /* drops alone */
	m = (struct dsm_msg){ .type = DSM_MSG_ENROL, .id = 1, .enrol = {
		.token = { big, DSM_MSG_TOKEN_MAX }, .csr = { csr, DSM_MSG_CSR_MAX } } };
	assert_round_trip(&m);
	m = (struct dsm_msg){ .type = DSM_MSG_ENROL_OK, .id = 1, .enrol_ok = {
		.node_id = DSM_MSG_NODE_ID_MAX, .name = name, .cert = { cert, DSM_MSG_CERT_MAX },
		.ca = { cert, DSM_MSG_CERT_MAX } } };
	assert_round_trip(&m);
	m.enrol_ok.node_id = 1;
	m.enrol_ok.name = "a";
	m.enrol_ok.ca = (struct dsm_msg_bytes){ (const uint8_t *)"\x30\x00", 2 };
	assert_round_trip(&m);
	m = (struct dsm_msg){ .type = DSM_MSG_ERROR, .id = UINT64_MAX, .error = {
		.code = DSM_ERR_CODE_MAX, .text = reason } };
	assert_round_trip(&m);

	free(keys);
	free(lines);
	free(sw);
	free(name);
	free(reason);
	free(line256);
	free(line_max);
	free(csr);
	free(cert);
	free(big);
}

static void test_limits(void **state)
{
	(void)state;
	assert_int_equal(dsm_msg_max_body(0), 0);
	assert_int_equal(dsm_msg_max_body(NTYPES + 1), 0);
	assert_int_equal(dsm_msg_max_body(DSM_MSG_POLICY), DSM_MSG_MAX_POLICY);
	assert_int_equal(dsm_msg_max_body(DSM_MSG_PING), 8);
	for (unsigned int t = 1; t <= NTYPES; t++)
		if (t != DSM_MSG_POLICY)
			assert_true(dsm_msg_max_body(t) <= DSM_MSG_MAX_BODY);
}

/* The frame's body length set to what it now holds. */
static void set_body_len(uint8_t *frame, size_t len)
{
	const uint32_t n = (uint32_t)(len - DSM_MSG_HDR_LEN);

	for (int i = 0; i < 4; i++)
		frame[i] = (uint8_t)(n >> (8 * i));
}

static void test_truncations(void **state)
{
	struct dsm_msg d;

	(void)state;
	for (unsigned int t = 1; t <= NTYPES; t++) {
		const struct dsm_msg m = sample(t);
		struct dsm_msg_buf b = encode(&m);
		uint8_t *cut = malloc(b.len);

		assert_non_null(cut);
		for (size_t n = 0; n < b.len; n++) {
			memcpy(cut, b.data, n);
			assert_int_equal(dsm_msg_decode(cut, n, &d), -EBADMSG);
			if (n < DSM_MSG_HDR_LEN)
				continue;
			/* the header agreeing: the body decoder sees the cut
			 * (a POLICY's bundle is the whole body: a shorter one
			 * is another bundle, for the signature check to refuse) */
			set_body_len(cut, n);
			if ((t == DSM_MSG_POLICY || t == DSM_MSG_FRESH) && n > DSM_MSG_HDR_LEN) {
				assert_int_equal(dsm_msg_decode(cut, n, &d), 0);
				assert_int_equal(t == DSM_MSG_FRESH ? d.fresh.statement.len
								    : d.policy.bundle.len,
						 n - DSM_MSG_HDR_LEN);
				dsm_msg_free(&d);
				continue;
			}
			assert_int_equal(dsm_msg_decode(cut, n, &d), -EBADMSG);
			assert_int_equal(d.type, 0);
		}
		free(cut);
		dsm_msg_buf_release(&b);
	}
}

static void test_trailing_bytes(void **state)
{
	struct dsm_msg d;

	(void)state;
	for (unsigned int t = 1; t <= NTYPES; t++) {
		const struct dsm_msg m = sample(t);
		struct dsm_msg_buf b = encode(&m);

		assert_non_null(dsm_msg_buf_room(&b, 1));
		b.data[b.len - 1] = 0;
		assert_int_equal(dsm_msg_decode(b.data, b.len, &d), -EBADMSG);
		set_body_len(b.data, b.len);
		/* past a fixed-size type's limit on the header alone; POLICY's
		 * body is the rest of the frame: one byte more is its own */
		assert_int_equal(dsm_msg_decode(b.data, b.len, &d),
				 t == DSM_MSG_POLICY || t == DSM_MSG_FRESH ? 0 :
				 b.len - DSM_MSG_HDR_LEN > dsm_msg_max_body(t) ? -EMSGSIZE : -EBADMSG);
		dsm_msg_free(&d);
		dsm_msg_buf_release(&b);
	}
}

static void hdr_bytes(uint8_t h[DSM_MSG_HDR_LEN], uint32_t body_len, uint8_t version, uint8_t type,
		      uint16_t flags, uint64_t id)
{
	for (int i = 0; i < 4; i++)
		h[i] = (uint8_t)(body_len >> (8 * i));
	h[4] = version;
	h[5] = type;
	h[6] = (uint8_t)flags;
	h[7] = (uint8_t)(flags >> 8);
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t)(id >> (8 * i));
}

static void test_length_past_limit(void **state)
{
	uint8_t h[DSM_MSG_HDR_LEN];
	struct dsm_msg_reader r;
	struct dsm_msg_hdr hd;
	struct dsm_msg d;
	size_t used;

	(void)state;
	for (unsigned int t = 1; t <= NTYPES; t++) {
		const uint32_t max = (uint32_t)dsm_msg_max_body(t);

		hdr_bytes(h, max, (uint8_t)dsm_msg_type_since(t), (uint8_t)t, 0, 1);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), 0);
		hdr_bytes(h, max + 1, (uint8_t)dsm_msg_type_since(t), (uint8_t)t, 0, 1);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), -EMSGSIZE);
		/* the reader refuses on the header alone, nothing allocated */
		dsm_msg_reader_init(&r, DSM_MSG_FROM_EITHER);
		assert_int_equal(dsm_msg_reader_feed(&r, h, sizeof(h), &used, &d), -EMSGSIZE);
		assert_null(r.frame);
		dsm_msg_reader_release(&r);
		hdr_bytes(h, UINT32_MAX, (uint8_t)dsm_msg_type_since(t), (uint8_t)t, 0, 1);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), -EMSGSIZE);
	}
}

static void test_unknown_type_flags_version(void **state)
{
	static const uint8_t bad_types[] = { 0, NTYPES + 1, 0x80, 0xff };
	static const uint8_t bad_versions[] = { 0, DSM_MSG_VERSION_MAX + 1, 0xff };
	static const uint16_t bad_flags[] = { 1, 0x100, 0x8000, 0xffff };
	uint8_t h[DSM_MSG_HDR_LEN];
	struct dsm_msg_hdr hd;
	struct dsm_msg m = sample(DSM_MSG_PING), d;
	struct dsm_msg_buf b = { 0 };
	uint8_t frame[DSM_MSG_HDR_LEN + 8] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		hdr_bytes(h, 0, 1, bad_types[i], 0, 1);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), -ENOTSUP);
		m.type = bad_types[i];
		assert_int_equal(dsm_msg_encode(&m, &b), -ENOTSUP);
	}
	for (size_t i = 0; i < sizeof(bad_versions); i++) {
		hdr_bytes(h, 8, bad_versions[i], DSM_MSG_PING, 0, 1);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), -EPROTONOSUPPORT);
		memcpy(frame, h, sizeof(h));
		assert_int_equal(dsm_msg_decode(frame, sizeof(frame), &d), -EPROTONOSUPPORT);
		/* a version this code does not speak is reported before the type */
		hdr_bytes(h, 8, bad_versions[i], 0xff, 0xffff, 0);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), -EPROTONOSUPPORT);
	}
	m = sample(DSM_MSG_PING);
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		hdr_bytes(h, 8, 1, DSM_MSG_PING, bad_flags[i], 1);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), -EBADMSG);
		m.flags = bad_flags[i];
		assert_int_equal(dsm_msg_encode(&m, &b), -EINVAL);
	}
	/* id 0: only an ERROR may be about no request */
	for (unsigned int t = 1; t <= NTYPES; t++) {
		hdr_bytes(h, 0, (uint8_t)dsm_msg_type_since(t), (uint8_t)t, 0, 0);
		assert_int_equal(dsm_msg_hdr_decode(h, &hd), t == DSM_MSG_ERROR ? 0 : -EBADMSG);
		m = sample(t);
		m.id = 0;
		assert_int_equal(dsm_msg_encode(&m, &b), t == DSM_MSG_ERROR ? 0 : -EINVAL);
	}
	dsm_msg_buf_release(&b);
}

/* m's encoding with the byte at off (from the body's start) set to v. */
static int decode_patched(const struct dsm_msg *m, size_t off, uint8_t v)
{
	struct dsm_msg_buf b = encode(m);
	struct dsm_msg d;
	int err;

	assert_true(DSM_MSG_HDR_LEN + off < b.len);
	b.data[DSM_MSG_HDR_LEN + off] = v;
	err = dsm_msg_decode(b.data, b.len, &d);
	dsm_msg_free(&d);
	dsm_msg_buf_release(&b);
	return err;
}

static int encode_err(const struct dsm_msg *m)
{
	struct dsm_msg_buf b = { 0 };
	int err = dsm_msg_encode(m, &b);

	assert_int_equal(b.len, 0);
	dsm_msg_buf_release(&b);
	return err;
}

static void test_encoder_refuses(void **state)
{
	static const struct dsm_msg_pair_key unsorted[] = { { .peer = 3 }, { .peer = 2 } };
	static const struct dsm_msg_pair_key twice[] = { { .peer = 3 }, { .peer = 3 } };
	static const struct dsm_msg_pair_key node0[] = { { .peer = 0 } };
	static const struct dsm_msg_pair_key any[] = { { .peer = UINT32_MAX } };
	char *sw = text_of(DSM_MSG_SOFTWARE_MAX + 1, 'v'), *reason = text_of(DSM_MSG_REASON_MAX + 1, 'r');
	char *line = text_of(DSM_MSG_ALARM_MAX + 1, 'l'), *line257 = text_of(257, 'l');
	char *name = text_of(DSM_MSG_NAME_MAX + 1, 'n');
	const char *lines[DSM_MSG_ALARMS_MAX + 1];
	struct dsm_msg_pair_key *keys = calloc(DSM_MSG_KEYS_MAX + 1, sizeof(*keys));
	struct dsm_msg m;

	(void)state;
	assert_non_null(keys);
	for (size_t i = 0; i <= DSM_MSG_ALARMS_MAX; i++)
		lines[i] = "{}";
	for (uint32_t i = 0; i <= DSM_MSG_KEYS_MAX; i++)
		keys[i].peer = i + 1;

	m = sample(DSM_MSG_HELLO);
	m.hello.software = sw;
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	m.hello.software = "";
	assert_int_equal(encode_err(&m), -EINVAL);
	m.hello.software = NULL;
	assert_int_equal(encode_err(&m), -EINVAL);
	m.hello.software = "caf\xc3\xa9"; /* ASCII only */
	assert_int_equal(encode_err(&m), -EINVAL);
	m = sample(DSM_MSG_HELLO);
	m.hello.version_min = 2;
	assert_int_equal(encode_err(&m), -EINVAL);
	m.hello.version_min = m.hello.version_max = 0;
	assert_int_equal(encode_err(&m), -EINVAL);

	m = sample(DSM_MSG_HELLO_OK);
	m.hello_ok.version = DSM_MSG_VERSION_MAX + 1;
	assert_int_equal(encode_err(&m), -EPROTONOSUPPORT);
	m = sample(DSM_MSG_HELLO_OK);
	m.hello_ok.heartbeat_ms = DSM_MSG_HEARTBEAT_MIN_MS - 1;
	assert_int_equal(encode_err(&m), -EINVAL);
	m.hello_ok.heartbeat_ms = DSM_MSG_HEARTBEAT_MAX_MS + 1;
	assert_int_equal(encode_err(&m), -EINVAL);

	m = sample(DSM_MSG_POLICY);
	m.policy.bundle.len = 0;
	assert_int_equal(encode_err(&m), -EINVAL);
	m.policy.bundle.len = DSM_MSG_MAX_POLICY + 1;
	assert_int_equal(encode_err(&m), -EMSGSIZE);

	m = sample(DSM_MSG_POLICY_ACK);
	m.policy_ack.reason = reason;
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	m.policy_ack.reason = "tab\there";
	assert_int_equal(encode_err(&m), -EINVAL);
	m.policy_ack.reason = "\xc0\x80"; /* overlong NUL */
	assert_int_equal(encode_err(&m), -EINVAL);
	m.policy_ack.reason = "ok";
	m.policy_ack.result = DSM_POLICY_RESULT_MAX + 1;
	assert_int_equal(encode_err(&m), -EINVAL);

	m = sample(DSM_MSG_KEYS);
	m.keys.keys = (struct dsm_msg_key_list){ DSM_MSG_KEYS_MAX + 1, keys };
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	m.keys.keys = (struct dsm_msg_key_list){ 2, unsorted };
	assert_int_equal(encode_err(&m), -EINVAL);
	m.keys.keys = (struct dsm_msg_key_list){ 2, twice };
	assert_int_equal(encode_err(&m), -EINVAL);
	m.keys.keys = (struct dsm_msg_key_list){ 1, node0 };
	assert_int_equal(encode_err(&m), -EINVAL);
	m.keys.keys = (struct dsm_msg_key_list){ 1, any };
	assert_int_equal(encode_err(&m), -EINVAL);
	m = sample(DSM_MSG_KEYS);
	m.keys.phase = DSM_KEYS_SWITCH; /* keys travel with INSTALL only */
	assert_int_equal(encode_err(&m), -EINVAL);
	m.keys.phase = DSM_KEYS_DROP_OLD + 1;
	assert_int_equal(encode_err(&m), -EINVAL);
	m = sample(DSM_MSG_KEYS);
	m.keys.generation = 0;
	assert_int_equal(encode_err(&m), -EINVAL);

	m = sample(DSM_MSG_ALARMS);
	m.alarms.alarms = (struct dsm_msg_line_list){ DSM_MSG_ALARMS_MAX + 1, lines };
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	for (size_t i = 0; i < DSM_MSG_ALARMS_MAX; i++)
		lines[i] = line257; /* 256 lines, 256 bytes over the total */
	m.alarms.alarms = (struct dsm_msg_line_list){ DSM_MSG_ALARMS_MAX, lines };
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	lines[0] = line;
	m.alarms.alarms = (struct dsm_msg_line_list){ 1, lines };
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	lines[0] = "";
	assert_int_equal(encode_err(&m), -EINVAL);
	lines[0] = "two\nlines";
	assert_int_equal(encode_err(&m), -EINVAL);
	m.alarms = (struct dsm_msg_alarms){ .first_seq = 1 }; /* nothing to say */
	assert_int_equal(encode_err(&m), -EINVAL);
	lines[0] = lines[1] = "{}";
	m.alarms = (struct dsm_msg_alarms){ .first_seq = UINT64_MAX, .alarms = { 2, lines } };
	assert_int_equal(encode_err(&m), -EINVAL); /* past the last sequence number */
	m.alarms.first_seq = 0;
	assert_int_equal(encode_err(&m), -EINVAL);

	m = sample(DSM_MSG_ENROL);
	m.enrol.token.len = DSM_MSG_TOKEN_MIN - 1;
	assert_int_equal(encode_err(&m), -EINVAL);
	m.enrol.token.len = DSM_MSG_TOKEN_MAX + 1;
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	m = sample(DSM_MSG_ENROL);
	m.enrol.csr.len--; /* no longer what its DER length says */
	assert_int_equal(encode_err(&m), -EINVAL);
	m.enrol.csr.len = DSM_MSG_CSR_MAX + 1;
	assert_int_equal(encode_err(&m), -EMSGSIZE);

	m = sample(DSM_MSG_ENROL_OK);
	m.enrol_ok.name = name;
	assert_int_equal(encode_err(&m), -EMSGSIZE);
	m.enrol_ok.name = "self";
	assert_int_equal(encode_err(&m), -EINVAL);
	m.enrol_ok.name = "a->b";
	assert_int_equal(encode_err(&m), -EINVAL);
	m.enrol_ok.name = "n1";
	m.enrol_ok.node_id = 0;
	assert_int_equal(encode_err(&m), -EINVAL);
	m.enrol_ok.node_id = UINT32_MAX;
	assert_int_equal(encode_err(&m), -EINVAL);

	m = sample(DSM_MSG_ERROR);
	m.error.code = 0;
	assert_int_equal(encode_err(&m), -EINVAL);
	m.error.code = DSM_ERR_CODE_MAX + 1;
	assert_int_equal(encode_err(&m), -EINVAL);

	free(sw);
	free(reason);
	free(line);
	free(line257);
	free(name);
	free(keys);
}

/* The same values as bytes: the decoder refuses them too. */
static void test_decoder_refuses_what_encoder_would(void **state)
{
	struct dsm_msg m;

	(void)state;
	m = sample(DSM_MSG_HELLO_OK); /* version: body bytes 0..1 */
	assert_int_equal(decode_patched(&m, 0, DSM_MSG_VERSION_MAX + 1), -EPROTONOSUPPORT);
	m = sample(DSM_MSG_HELLO); /* software: length at 28, text from 29 */
	assert_int_equal(decode_patched(&m, 29, 0), -EBADMSG);    /* NUL inside */
	assert_int_equal(decode_patched(&m, 29, 0x7f), -EBADMSG); /* DEL */
	assert_int_equal(decode_patched(&m, 28, DSM_MSG_SOFTWARE_MAX + 1), -EBADMSG);
	assert_int_equal(decode_patched(&m, 0, 2), -EBADMSG); /* version_min > max */
	m = sample(DSM_MSG_KEYS); /* generation 0..7, phase 8, count 9..10, keys 11.. */
	assert_int_equal(decode_patched(&m, 8, DSM_KEYS_DROP_OLD + 1), -EBADMSG);
	assert_int_equal(decode_patched(&m, 8, DSM_KEYS_SWITCH), -EBADMSG);
	assert_int_equal(decode_patched(&m, 11 + 24, 1), -EBADMSG); /* peers 2, 1 */
	assert_int_equal(decode_patched(&m, 11 + 24, 2), -EBADMSG); /* peers 2, 2 */
	assert_int_equal(decode_patched(&m, 10, 0x10), -EBADMSG);   /* count 4098 */
	m = sample(DSM_MSG_ENROL); /* token: 0, 1..16; csr length 17..18, DER 19.. */
	assert_int_equal(decode_patched(&m, 19, 0x31), -EBADMSG);
	assert_int_equal(decode_patched(&m, 20, 0x04), -EBADMSG);
	m = sample(DSM_MSG_ERROR);
	assert_int_equal(decode_patched(&m, 0, 0), -EBADMSG);
}

static void test_value_rules(void **state)
{
	static const char *const good_text[] = { "", "plain", "caf\xc3\xa9", "\xe6\x97\xa5",
		"\xf0\x9d\x84\x9e", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf" };
	static const char *const bad_text[] = { "\x01", "\x7f", "\xc2\x80", "\xc2\x9f",
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xf8\x88\x80\x80\x80", "\xc3", "\xe6\x97", "\x80", "a\tb", "a\nb" };
	static const uint8_t der_long[] = { 0x30, 0x81, 0x7f };
	static const uint8_t der_indef[] = { 0x30, 0x80, 0, 0 };
	static const uint8_t der_int[] = { 0x02, 0x01, 0 };
	uint8_t *der300 = der_of(300), *der131 = der_of(131);

	(void)state;
	for (size_t i = 0; i < sizeof(good_text) / sizeof(good_text[0]); i++)
		assert_true(dsm_msg_text_ok(good_text[i], strlen(good_text[i])));
	for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++)
		assert_false(dsm_msg_text_ok(bad_text[i], strlen(bad_text[i])));
	assert_false(dsm_msg_text_ok("a\0b", 3));
	assert_true(dsm_msg_ascii_ok(" ~", 2));
	assert_false(dsm_msg_ascii_ok("\x7f", 1));
	assert_true(dsm_msg_name_ok("web-1.a_b", 9));
	assert_true(dsm_msg_name_ok("self2", 5));
	assert_false(dsm_msg_name_ok("any", 3));
	assert_false(dsm_msg_name_ok("a b", 3));
	assert_false(dsm_msg_name_ok("a->", 3));
	assert_true(dsm_msg_der_ok(der300, 300));
	assert_true(dsm_msg_der_ok(der131, 131));
	assert_false(dsm_msg_der_ok(der300, 299));
	assert_false(dsm_msg_der_ok(der_long, sizeof(der_long))); /* short form was due */
	assert_false(dsm_msg_der_ok(der_indef, sizeof(der_indef)));
	assert_false(dsm_msg_der_ok(der_int, sizeof(der_int)));
	assert_false(dsm_msg_der_ok(der_int, 1));
	free(der300);
	free(der131);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(dsm_msg_type_name(DSM_MSG_HELLO), "HELLO");
	assert_string_equal(dsm_msg_type_name(DSM_MSG_ALARMS_ACK), "ALARMS_ACK");
	assert_string_equal(dsm_msg_type_name(DSM_MSG_ERROR), "ERROR");
	assert_string_equal(dsm_msg_type_name(0), "unknown");
	assert_string_equal(dsm_msg_type_name(NTYPES + 1), "unknown");
	assert_int_equal(dsm_msg_sender(DSM_MSG_HELLO), DSM_MSG_FROM_NODE);
	assert_int_equal(dsm_msg_sender(DSM_MSG_POLICY), DSM_MSG_FROM_SERVER);
	assert_int_equal(dsm_msg_sender(DSM_MSG_PING), DSM_MSG_FROM_EITHER);
	assert_int_equal(dsm_msg_sender(0), 0);
	for (unsigned int t = DSM_MSG_HELLO; t < DSM_MSG_ERROR; t += 2) {
		assert_false(dsm_msg_is_reply(t));
		assert_true(dsm_msg_is_reply(t + 1));
	}
	assert_false(dsm_msg_is_reply(DSM_MSG_ERROR));
	assert_false(dsm_msg_is_reply(DSM_MSG_FRESH));
	assert_string_equal(dsm_msg_type_name(DSM_MSG_FRESH), "FRESH");
	assert_int_equal(dsm_msg_sender(DSM_MSG_FRESH), DSM_MSG_FROM_SERVER);
}

/* Version 2 is version 1 and FRESH; HELLO, HELLO_OK and ERROR are always
 * in version 1 frames. */
static void test_versions(void **state)
{
	struct dsm_msg_buf b = { 0 };
	struct dsm_msg m, d;
	uint8_t h[DSM_MSG_HDR_LEN];
	struct dsm_msg_hdr hd;

	(void)state;
	assert_int_equal(dsm_msg_type_since(DSM_MSG_PING), 1);
	assert_int_equal(dsm_msg_type_since(DSM_MSG_FRESH), 2);
	assert_int_equal(dsm_msg_type_since(NTYPES + 1), 0);
	assert_int_equal(dsm_msg_frame_version(DSM_MSG_HELLO, 2), 1);
	assert_int_equal(dsm_msg_frame_version(DSM_MSG_HELLO_OK, 2), 1);
	assert_int_equal(dsm_msg_frame_version(DSM_MSG_ERROR, 2), 1);
	assert_int_equal(dsm_msg_frame_version(DSM_MSG_POLICY, 2), 2);
	assert_int_equal(dsm_msg_frame_version(DSM_MSG_FRESH, 2), 2);
	/* FRESH does not exist in version 1: neither way */
	m = sample(DSM_MSG_FRESH);
	m.version = 1;
	assert_int_equal(dsm_msg_encode(&m, &b), -ENOTSUP);
	m.version = 0; /* the lowest version */
	assert_int_equal(dsm_msg_encode(&m, &b), -ENOTSUP);
	hdr_bytes(h, 4, 1, DSM_MSG_FRESH, 0, 1);
	assert_int_equal(dsm_msg_hdr_decode(h, &hd), -ENOTSUP);
	assert_int_equal(b.len, 0);
	/* every version 1 type in a version 2 frame round-trips, with its
	 * version; HELLO, HELLO_OK, ERROR only in version 1 frames */
	for (unsigned int t = 1; t <= NTYPES; t++) {
		const bool v1_only = t == DSM_MSG_HELLO || t == DSM_MSG_HELLO_OK ||
				     t == DSM_MSG_ERROR;

		m = sample(t);
		m.version = 2;
		hdr_bytes(h, 0, 2, (uint8_t)t, 0, t == DSM_MSG_ERROR ? 0 : 1);
		if (v1_only) {
			assert_int_equal(dsm_msg_encode(&m, &b), -EINVAL);
			assert_int_equal(dsm_msg_hdr_decode(h, &hd), -EBADMSG);
			continue;
		}
		b.len = 0;
		assert_int_equal(dsm_msg_encode(&m, &b), 0);
		assert_int_equal(b.data[4], 2);
		assert_int_equal(dsm_msg_decode(b.data, b.len, &d), 0);
		assert_int_equal(d.version, 2);
		dsm_msg_free(&d);
	}
	dsm_msg_buf_release(&b);
}

/* Every sample, one after the other, as one stream. */
static struct dsm_msg_buf stream_of_samples(void)
{
	struct dsm_msg_buf b = { 0 };

	for (unsigned int t = 1; t <= NTYPES; t++) {
		const struct dsm_msg m = sample(t);

		assert_int_equal(dsm_msg_encode(&m, &b), 0);
	}
	return b;
}

/* Feed the stream in pieces of step bytes; each message must re-encode
 * to the sample's bytes, in order. */
static void read_stream(const struct dsm_msg_buf *s, size_t step)
{
	struct dsm_msg_buf want = { 0 }, got = { 0 };
	struct dsm_msg_reader r;
	unsigned int t = 1;
	struct dsm_msg d;
	size_t at = 0, used;
	int ret;

	dsm_msg_reader_init(&r, DSM_MSG_FROM_EITHER);
	while (at < s->len) {
		size_t n = s->len - at < step ? s->len - at : step;

		while (n) {
			ret = dsm_msg_reader_feed(&r, s->data + at, n, &used, &d);
			assert_true(ret == 0 || ret == 1);
			assert_true(used <= n);
			at += used;
			n -= used;
			if (ret == 0) {
				assert_int_equal(n, 0);
				continue;
			}
			const struct dsm_msg m = sample(t++);

			want.len = got.len = 0;
			assert_int_equal(dsm_msg_encode(&m, &want), 0);
			assert_int_equal(dsm_msg_encode(&d, &got), 0);
			assert_int_equal(got.len, want.len);
			assert_memory_equal(got.data, want.data, want.len);
			dsm_msg_free(&d);
			assert_true(dsm_msg_reader_idle(&r));
		}
	}
	assert_int_equal(t, NTYPES + 1);
	assert_true(dsm_msg_reader_idle(&r));
	dsm_msg_reader_release(&r);
	dsm_msg_buf_release(&want);
	dsm_msg_buf_release(&got);
}

static void test_reader(void **state)
{
	struct dsm_msg_buf s = stream_of_samples();

	(void)state;
	read_stream(&s, 1);
	read_stream(&s, 7);
	read_stream(&s, DSM_MSG_HDR_LEN);
	read_stream(&s, s.len); /* every frame in one feed */
	dsm_msg_buf_release(&s);
}

static void test_reader_errors(void **state)
{
	const struct dsm_msg policy = sample(DSM_MSG_POLICY), hello = sample(DSM_MSG_HELLO);
	struct dsm_msg_buf b = encode(&policy), h = encode(&hello);
	struct dsm_msg_reader r;
	struct dsm_msg d;
	size_t used;

	(void)state;
	/* the server's reader refuses a POLICY on its header */
	dsm_msg_reader_init(&r, DSM_MSG_FROM_NODE);
	assert_int_equal(dsm_msg_reader_feed(&r, b.data, b.len, &used, &d), -EPROTO);
	assert_int_equal(used, DSM_MSG_HDR_LEN);
	assert_null(r.frame);
	/* and stays refused: a stream does not resynchronize */
	assert_int_equal(dsm_msg_reader_feed(&r, h.data, h.len, &used, &d), -EPROTO);
	assert_int_equal(used, 0);
	assert_false(dsm_msg_reader_idle(&r));
	dsm_msg_reader_release(&r);

	/* the node's reader refuses a HELLO */
	dsm_msg_reader_init(&r, DSM_MSG_FROM_SERVER);
	assert_int_equal(dsm_msg_reader_feed(&r, h.data, h.len, &used, &d), -EPROTO);
	dsm_msg_reader_release(&r);

	/* a malformed body is reported when the frame is complete */
	dsm_msg_reader_init(&r, DSM_MSG_FROM_NODE);
	h.data[DSM_MSG_HDR_LEN + 29] = 0;
	assert_int_equal(dsm_msg_reader_feed(&r, h.data, h.len - 1, &used, &d), 0);
	assert_false(dsm_msg_reader_idle(&r)); /* an end of stream now: truncated */
	assert_int_equal(dsm_msg_reader_feed(&r, h.data + h.len - 1, 1, &used, &d), -EBADMSG);
	assert_null(r.frame);
	dsm_msg_reader_release(&r);
	dsm_msg_buf_release(&b);
	dsm_msg_buf_release(&h);
}

/* Whatever decodes after a byte is flipped encodes back to those bytes. */
static void test_byte_flips_reencode(void **state)
{
	struct dsm_msg_buf again = { 0 };
	struct dsm_msg d;

	(void)state;
	for (unsigned int t = 1; t <= NTYPES; t++) {
		const struct dsm_msg m = sample(t);
		struct dsm_msg_buf b = encode(&m);

		for (size_t i = 0; i < b.len; i++) {
			for (unsigned int x = 1; x < 256; x <<= 1) {
				b.data[i] ^= (uint8_t)x;
				if (dsm_msg_decode(b.data, b.len, &d) == 0) {
					again.len = 0;
					assert_int_equal(dsm_msg_encode(&d, &again), 0);
					assert_int_equal(again.len, b.len);
					assert_memory_equal(again.data, b.data, b.len);
					dsm_msg_free(&d);
				}
				b.data[i] ^= (uint8_t)x;
			}
		}
		dsm_msg_buf_release(&b);
	}
	dsm_msg_buf_release(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_typical),
		cmocka_unit_test(test_round_trip_boundaries),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_length_past_limit),
		cmocka_unit_test(test_unknown_type_flags_version),
		cmocka_unit_test(test_encoder_refuses),
		cmocka_unit_test(test_decoder_refuses_what_encoder_would),
		cmocka_unit_test(test_value_rules),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_errors),
		cmocka_unit_test(test_byte_flips_reencode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
