// SPDX-License-Identifier: GPL-2.0
/*
 * The channel protocol on the server's side (docs/channel.md): what each
 * state of a connection accepts and how each message is answered. An
 * enrolment session accepts one ENROL and closes; a node session is named
 * by its certificate alone, must be a known enrolled node, and starts with
 * HELLO. Anything out of order is answered with ERROR UNEXPECTED and the
 * connection closed.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "server.h"
#include "tls.h"

static void unexpected(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	char text[DSM_MSG_REASON_MAX];

	snprintf(text, sizeof(text), "%s not expected here", dsm_msg_type_name(m->type));
	srv_conn_refuse(s, c, DSM_ERR_UNEXPECTED, m->id, text);
}

static int node_session(struct srv *s, struct srv_conn *c)
{
	struct srv_node n;
	struct srv_conn *old;
	int err = dsm_tls_peer_identity(c->tls, &c->id);

	if (err || c->id.role != DSM_ROLE_NODE)
		return -EACCES;
	err = srv_node_get(s, c->id.name, &n);
	if (err || !n.enrolled) {
		srv_conn_refuse(s, c, DSM_ERR_DENIED, 0, "unknown node");
		return 0;
	}
	old = srv_conn_find(s, c->id.name);
	if (old) {
		srv_info("session: node %s connected again; the older session is closed", n.name);
		srv_conn_kill(old);
	}
	c->state = SRV_CONN_HELLO;
	return 0;
}

int srv_session_opened(struct srv *s, struct srv_conn *c)
{
	if (dsm_tls_enrol_only(c->tls)) {
		srv_debug("enrol: %s: a session without a certificate", c->addr);
		c->state = SRV_CONN_ENROL;
		return 0;
	}
	return node_session(s, c);
}

static int send_enrol_ok(struct srv *s, struct srv_conn *c, uint64_t id, const struct srv_node *n,
			 X509 *cert)
{
	uint8_t *cder = NULL, *ader = NULL;
	size_t clen = 0, alen = 0;
	struct dsm_msg m = { .type = DSM_MSG_ENROL_OK, .id = id };
	int err = dsm_pki_cert_der(cert, &cder, &clen);

	if (!err)
		err = dsm_pki_cert_der(s->ca.cert, &ader, &alen);
	if (!err) {
		m.enrol_ok = (struct dsm_msg_enrol_ok){ .node_id = n->id, .name = n->name,
			.cert = { cder, clen }, .ca = { ader, alen } };
		memcpy(m.enrol_ok.policy_key, s->operator_raw, DSM_MSG_PUBKEY_LEN);
		err = srv_conn_send(s, c, &m);
	}
	OPENSSL_free(cder);
	OPENSSL_free(ader);
	return err;
}

static void on_enrol(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	struct srv_node n;
	X509 *cert = NULL;
	uint32_t why = DSM_ERR_INTERNAL;
	int err = srv_enrol_redeem(s, &m->enrol, c->addr, &n, &cert, &why);

	if (err) {
		srv_conn_refuse(s, c, why, m->id,
				why == DSM_ERR_BAD_TOKEN ? "token unknown, used or expired" :
				why == DSM_ERR_BAD_CSR ? "certificate request refused" :
				why == DSM_ERR_DENIED ? "node removed" : "enrolment failed");
		return;
	}
	err = send_enrol_ok(s, c, m->id, &n, cert);
	if (err)
		srv_warn("enrol: node %s: ENROL_OK could not be sent: %s", n.name, strerror(-err));
	else
		srv_info("enrol: node %s (id %u) enrolled from %s", n.name, n.id, c->addr);
	X509_free(cert);
	srv_conn_finish(s, c);
}

/* The node's record at connect. A node that enforces a newer version
 * than recorded accepted it (a POLICY_ACK the server lost, in a batch
 * that did not commit before a crash): recorded now. */
static void note_connected(struct srv *s, struct srv_conn *c, uint64_t policy_version)
{
	struct srv_node n;

	if (srv_node_get(s, c->id.name, &n))
		return;
	snprintf(n.address, sizeof(n.address), "%s", c->addr);
	n.last_seen = srv_wall();
	if (policy_version > n.policy_version) {
		n.policy_version = policy_version;
		snprintf(n.policy_result, sizeof(n.policy_result), "%s",
			 srv_policy_result_name(DSM_POLICY_OK));
	}
	if (srv_node_put(s, &n))
		srv_warn("session: node %s: its record could not be updated", n.name);
}

/* HELLO's alarm_seq is the highest the node has spooled: what it will send
 * is above what is stored. Below it, the node lost its numbering (its log
 * and its alarm-acked): what it sends up to the stored seq is taken as
 * stored already, and that is said here, not silently. */
static void note_alarm_seq(struct srv *s, const struct srv_conn *c, uint64_t node_seq)
{
	struct srv_node n;

	if (srv_node_get(s, c->id.name, &n))
		return;
	if (node_seq < n.alarm_seq)
		srv_warn("alarms: node %s numbers its alarms up to %llu, below the %llu stored: "
			 "those up to %llu are taken as stored already", n.name,
			 (unsigned long long)node_seq, (unsigned long long)n.alarm_seq,
			 (unsigned long long)n.alarm_seq);
	else if (node_seq > n.alarm_seq)
		srv_debug("alarms: node %s: alarms %llu to %llu to come", n.name,
			  (unsigned long long)n.alarm_seq + 1, (unsigned long long)node_seq);
}

static int on_hello(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	const struct dsm_msg_hello *h = &m->hello;
	struct dsm_msg ok = { .type = DSM_MSG_HELLO_OK, .id = m->id };
	int err;

	/* A node whose setup limit ran out while its HELLO waited here has
	 * closed and will come again: answering it (its keys, a policy) would
	 * be work for nobody, and on a server that is behind, that work is
	 * what makes the next nodes give up too. */
	if (srv_conn_peer_gone(c)) {
		srv_info("session: node %s closed before its HELLO was answered", c->id.name);
		srv_conn_kill(c);
		return 0;
	}
	if (h->version_max < DSM_MSG_VERSION_MIN || h->version_min > DSM_MSG_VERSION_MAX) {
		srv_conn_refuse(s, c, DSM_ERR_VERSION, m->id, "no protocol version in common");
		return 0;
	}
	ok.hello_ok = (struct dsm_msg_hello_ok){
		.version = h->version_max < DSM_MSG_VERSION_MAX ? h->version_max : DSM_MSG_VERSION_MAX,
		.heartbeat_ms = SRV_HEARTBEAT_MS,
		.server_time_ms = (uint64_t)srv_wall() * 1000,
	};
	err = srv_conn_send(s, c, &ok);
	if (err)
		return err;
	c->version = ok.hello_ok.version;
	c->state = SRV_CONN_READY;
	c->in_session = true;
	c->deadline_ms = 0;
	srv_info("session: node %s connected from %s (%s, policy %llu)", c->id.name, c->addr,
		 h->software, (unsigned long long)h->policy_version);
	note_connected(s, c, h->policy_version);
	note_alarm_seq(s, c, h->alarm_seq);
	err = srv_rotation_hello(s, c, h->key_generation);
	if (err)
		return err;
	err = srv_policy_offer(s, c, h->policy_version);
	return err ? err : srv_fresh_offer(s, c);
}

static int on_alarms(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	struct dsm_msg ack = { .type = DSM_MSG_ALARMS_ACK, .id = m->id };
	struct srv_node n;
	int err = srv_node_get(s, c->id.name, &n);

	if (!err)
		err = srv_alarms_store(s, &n, &m->alarms, &ack.alarms_ack.seq);
	if (err) {
		srv_err("alarms: node %s: not stored: %s", c->id.name, strerror(-err));
		srv_conn_refuse(s, c, DSM_ERR_INTERNAL, m->id, "alarms not stored");
		return 0;
	}
	return srv_conn_send(s, c, &ack);
}

static int on_renew(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	struct dsm_msg ok = { .type = DSM_MSG_RENEW_OK, .id = m->id };
	X509 *cert = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	int err = srv_enrol_renew(s, c->id.name, &m->renew, &cert);

	if (err) {
		srv_conn_refuse(s, c, DSM_ERR_BAD_CSR, m->id, "certificate request refused");
		return 0;
	}
	err = dsm_pki_cert_der(cert, &der, &len);
	X509_free(cert);
	if (err)
		return err;
	ok.renew_ok.cert = (struct dsm_msg_bytes){ der, len };
	err = srv_conn_send(s, c, &ok);
	OPENSSL_free(der);
	if (!err)
		srv_info("renew: node %s has a new certificate", c->id.name);
	return err;
}

static int on_ready(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	struct dsm_msg pong = { .type = DSM_MSG_PONG, .id = m->id };

	switch (m->type) {
	case DSM_MSG_PING:
		pong.ping.nonce = m->ping.nonce;
		return srv_conn_send(s, c, &pong);
	case DSM_MSG_POLICY_ACK:
		return srv_policy_ack(s, c, &m->policy_ack);
	case DSM_MSG_ALARMS:
		return on_alarms(s, c, m);
	case DSM_MSG_KEYS_ACK:
		if (srv_rotation_ack(s, c, &m->keys_ack) == -EPROTO) {
			unexpected(s, c, m); /* an ack of nothing sent */
			return 0;
		}
		return 0;
	case DSM_MSG_RENEW:
		return on_renew(s, c, m);
	case DSM_MSG_ERROR:
		srv_info("session: node %s sent ERROR %u: %s", c->id.name, m->error.code,
			 m->error.text);
		return -ECONNABORTED;
	default:
		unexpected(s, c, m);
		return 0;
	}
}

/* Acks (and HELLO's record of the node) go into the loop round's batch:
 * nobody is answered on them, and what acts on them flushes it first.
 * Anything else whose answer says something is stored (ALARMS_ACK,
 * ENROL_OK, RENEW_OK) is written and committed on its own, so the batch
 * is committed before it; a PING changes nothing stored. */
static void batch_for(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	switch (m->type) {
	case DSM_MSG_HELLO:
	case DSM_MSG_POLICY_ACK:
	case DSM_MSG_KEYS_ACK:
		srv_batch_join(s, c);
		return;
	case DSM_MSG_PING:
		return;
	default:
		srv_batch_flush(s);
		return;
	}
}

int srv_session_message(struct srv *s, struct srv_conn *c, const struct dsm_msg *m)
{
	srv_debug("session: %s: %s", c->id.name[0] ? c->id.name : c->addr,
		  dsm_msg_type_name(m->type));
	batch_for(s, c, m);
	if (m->version != dsm_msg_frame_version(m->type, c->version)) {
		unexpected(s, c, m); /* a frame of another version than the session's */
		return 0;
	}
	switch (c->state) {
	case SRV_CONN_ENROL:
		if (m->type != DSM_MSG_ENROL)
			break;
		on_enrol(s, c, m);
		return 0;
	case SRV_CONN_HELLO:
		if (m->type != DSM_MSG_HELLO)
			break;
		return on_hello(s, c, m);
	case SRV_CONN_READY:
		return on_ready(s, c, m);
	default:
		return 0;
	}
	unexpected(s, c, m);
	return 0;
}

void srv_session_closed(struct srv *s, struct srv_conn *c)
{
	struct srv_node n;

	if (!c->in_session)
		return;
	srv_info("session: node %s disconnected", c->id.name);
	if (srv_node_get(s, c->id.name, &n))
		return;
	n.last_seen = srv_wall();
	srv_node_put(s, &n);
}
