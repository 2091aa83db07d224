// SPDX-License-Identifier: GPL-2.0
/*
 * The group commit of acks: the store writes of the node messages handled
 * in one round of the loop (HELLO, POLICY_ACK, KEYS_ACK) go into one
 * transaction, committed when the round ends (srv_run_once), before the
 * tick, before a control request and before an answer that says something
 * is stored (docs/server.md, "What is durable when"). A batch that cannot
 * be committed closes the sessions that wrote into it, which send again.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "server.h"

void srv_batch_join(struct srv *s, struct srv_conn *c)
{
	struct srv_batch *b = &s->batch;
	int err;

	if (!b->open) {
		err = dsm_store_begin(s->store);
		if (err) {
			/* its writes go to the store one by one, each durable */
			srv_warn("store: no batch: %s", strerror(-err));
			return;
		}
		b->open = true;
		b->since_ms = srv_now_ms();
		b->seq++;
		b->writers = 0;
	}
	b->writers++;
	if (c)
		c->batch_seq = b->seq;
}

int srv_batch_flush(struct srv *s)
{
	struct srv_batch *b = &s->batch;
	int err;

	if (!b->open)
		return 0;
	b->open = false;
	err = dsm_store_commit(s->store);
	if (!err) {
		b->commits++;
		return 0;
	}
	srv_err("store: the acks of %u messages could not be committed (%s): their sessions "
		"are closed, to send them again", b->writers, strerror(-err));
	for (struct srv_conn *c = s->conns; c; c = c->next)
		if (c->batch_seq == b->seq)
			srv_conn_kill(c);
	srv_rotation_reload(s);
	return err;
}
