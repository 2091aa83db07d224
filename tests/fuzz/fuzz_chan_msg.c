// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Channel messages on arbitrary bytes, decoded in one piece and through
 * the streaming reader with the input split at a point the first byte
 * chooses. Whatever decodes must encode back to exactly its own bytes (a
 * message has one encoding); the two ways of decoding must agree.
 *
 * Seeds: with DSM_FUZZ_CHAN_MSG_SEEDS=DIR set, the binary writes one valid
 * frame of every type into DIR and exits (tests/fuzz/seeds runs it), so
 * the seeds always follow the format as it is built.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void reencode_or_abort(const struct dsm_msg *m, const uint8_t *frame, size_t len)
{
	struct dsm_msg_buf again = { 0 };

	if (dsm_msg_encode(m, &again) || again.len != len || memcmp(again.data, frame, len))
		abort();
	dsm_msg_buf_release(&again);
}

/* One frame exactly: decode, and re-encode what decodes. Returns its result. */
static int decode_whole(const uint8_t *data, size_t len)
{
	struct dsm_msg m;
	int err = dsm_msg_decode(data, len, &m);

	if (!err)
		reencode_or_abort(&m, data, len);
	dsm_msg_free(&m);
	return err;
}

/* The same bytes as a stream in two pieces; every message it yields must
 * re-encode to the bytes it came from, and the first frame spans the whole
 * input exactly when the one-shot decoder accepted it. */
static void decode_stream(const uint8_t *data, size_t len, size_t split, bool whole_ok)
{
	size_t at = 0, frame_start = 0, first_end = 0, used;
	struct dsm_msg_reader r;
	struct dsm_msg m;
	int ret;

	dsm_msg_reader_init(&r, DSM_MSG_FROM_EITHER);
	while (at < len) {
		const size_t end = at < split ? split : len;

		ret = dsm_msg_reader_feed(&r, data + at, end - at, &used, &m);
		at += used;
		if (ret < 0)
			break;
		if (ret == 1) {
			reencode_or_abort(&m, data + frame_start, at - frame_start);
			dsm_msg_free(&m);
			if (!first_end)
				first_end = at;
			frame_start = at;
		}
	}
	if (whole_ok != (first_end == len && len))
		abort();
	dsm_msg_reader_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const bool whole_ok = decode_whole(data, len) == 0;

	decode_stream(data, len, len ? data[0] % (len + 1) : 0, whole_ok);
	return 0;
}

/* ---- seeds -------------------------------------------------------------- */

static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const uint8_t token[DSM_MSG_TOKEN_MIN] = { 0x5a };
static const uint8_t bundle[] = { 'D', 'S', 'M', 'B', 'N', 'D', 'L', '\n' };
static const uint8_t fresh[] = { 'D', 'S', 'M', 'F', 'R', 'S', 'H', '\n', 1, 0, 0, 0 };
static const struct dsm_msg_pair_key keys[] = { { .peer = 2, .addr = { 10, 0, 0, 2 }, .key = { 9 } },
						{ .peer = 3, .addr = { 10, 0, 0, 3 }, .key = { 8 } } };
static const char *const lines[] = { "{\"kind\":\"deny\"}", "{\"kind\":\"drop\"}" };

static struct dsm_msg seed(unsigned int type)
{
	struct dsm_msg m = { .type = (uint8_t)type, .id = type };

	switch (type) {
	case DSM_MSG_HELLO:
		m.hello = (struct dsm_msg_hello){ 1, 1, 7, 2, 30, "dsm 1" };
		break;
	case DSM_MSG_HELLO_OK:
		m.hello_ok = (struct dsm_msg_hello_ok){ 1, 1000, 1700000000000ull };
		break;
	case DSM_MSG_PING: case DSM_MSG_PONG:
		m.ping.nonce = 0x0123456789abcdefull;
		break;
	case DSM_MSG_POLICY:
		m.policy.bundle = (struct dsm_msg_bytes){ bundle, sizeof(bundle) };
		break;
	case DSM_MSG_POLICY_ACK:
		m.policy_ack = (struct dsm_msg_policy_ack){ 7, DSM_POLICY_OK, "loaded" };
		break;
	case DSM_MSG_KEYS:
		m.keys = (struct dsm_msg_keys){ 2, DSM_KEYS_INSTALL, { 2, keys } };
		break;
	case DSM_MSG_KEYS_ACK:
		m.keys_ack = (struct dsm_msg_keys_ack){ 2, DSM_KEYS_INSTALL };
		break;
	case DSM_MSG_ALARMS:
		m.alarms = (struct dsm_msg_alarms){ 31, 1, { 2, lines } };
		break;
	case DSM_MSG_ALARMS_ACK:
		m.alarms_ack.seq = 32;
		break;
	case DSM_MSG_ENROL:
		m.enrol = (struct dsm_msg_enrol){ { token, sizeof(token) }, { der, sizeof(der) } };
		break;
	case DSM_MSG_ENROL_OK:
		m.enrol_ok = (struct dsm_msg_enrol_ok){ 4, "n4", { der, sizeof(der) },
							{ der, sizeof(der) }, { 1 } };
		break;
	case DSM_MSG_RENEW:
		m.renew.csr = (struct dsm_msg_bytes){ der, sizeof(der) };
		break;
	case DSM_MSG_RENEW_OK:
		m.renew_ok.cert = (struct dsm_msg_bytes){ der, sizeof(der) };
		break;
	case DSM_MSG_ERROR:
		m.error = (struct dsm_msg_error){ DSM_ERR_UNEXPECTED, "not now" };
		break;
	case DSM_MSG_FRESH:
		m.version = 2;
		m.fresh.statement = (struct dsm_msg_bytes){ fresh, sizeof(fresh) };
		break;
	}
	return m;
}

static int write_seed(const char *dir, const char *name, const struct dsm_msg_buf *b)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")))
		return -1;
	ok = fwrite(b->data, 1, b->len, f) == b->len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* One file per type, and one with every frame in a row for the reader. */
static int write_seeds(const char *dir)
{
	struct dsm_msg_buf one = { 0 }, all = { 0 };
	int err = 0;

	for (unsigned int t = 1; !err && t <= DSM_MSG_TYPE_MAX; t++) {
		const struct dsm_msg m = seed(t);

		one.len = 0;
		err = dsm_msg_encode(&m, &one) || dsm_msg_encode(&m, &all) ||
		      write_seed(dir, dsm_msg_type_name(t), &one);
	}
	if (!err)
		err = write_seed(dir, "stream", &all);
	dsm_msg_buf_release(&one);
	dsm_msg_buf_release(&all);
	return err;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("DSM_FUZZ_CHAN_MSG_SEEDS");

	(void)argc;
	(void)argv;
	if (dir) {
		if (write_seeds(dir)) {
			fprintf(stderr, "fuzz_chan_msg: cannot write seeds into %s\n", dir);
			exit(1);
		}
		exit(0);
	}
	return 0;
}
