/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Channel frames over a blocking TLS connection, for the fake servers of
 * dsmd's unit tests. One TLS read may end inside a frame or hold several
 * (a node that writes its next frame before the server reads coalesces
 * them): what follows a decoded frame is kept for the next call, never
 * taken for an error.
 */
#ifndef DSM_TESTS_FAKE_FRAMES_H
#define DSM_TESTS_FAKE_FRAMES_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "chan_msg.h"
#include "tls.h"

struct frames_in {
	struct dsm_msg_reader rd;
	uint8_t buf[4096];
	size_t off, got; /* buf[off..got) not fed yet */
};

static inline void frames_in_init(struct frames_in *in, enum dsm_msg_sender from)
{
	dsm_msg_reader_init(&in->rd, from);
	in->off = in->got = 0;
}

static inline void frames_in_release(struct frames_in *in)
{
	dsm_msg_reader_release(&in->rd);
}

/* The next message into *m: 0, -EIO when the connection ends or fails,
 * or the reader's error. */
static inline int frames_recv(struct dsm_tls_conn *t, struct frames_in *in, struct dsm_msg *m)
{
	for (;;) {
		while (in->off < in->got) {
			size_t used = 0;
			const int r = dsm_msg_reader_feed(&in->rd, in->buf + in->off,
							  in->got - in->off, &used, m);

			in->off += used;
			if (r)
				return r == 1 ? 0 : r;
		}
		in->off = in->got = 0;
		if (dsm_tls_read(t, in->buf, sizeof(in->buf), &in->got))
			return -EIO;
	}
}

/* Encode and write m whole: 0 or the encoder's or the connection's error. */
static inline int frames_send(struct dsm_tls_conn *t, struct dsm_msg *m)
{
	struct dsm_msg_buf b = { 0 };
	size_t off = 0;
	int err = dsm_msg_encode(m, &b);

	while (!err && off < b.len) {
		size_t put = 0;

		err = dsm_tls_write(t, b.data + off, b.len - off, &put);
		off += put;
	}
	dsm_msg_buf_release(&b);
	return err;
}

#endif
