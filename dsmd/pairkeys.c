// SPDX-License-Identifier: GPL-2.0
/*
 * The node's pair keys (pairkeys.h): the phases of a rotation, the file
 * they persist in, and the store in dsmd.
 *
 * The file (server-state directory, `keys`, 0600), text:
 *
 *   dsm-pair-keys 1
 *   send G                      the generation sent with, 0 for none
 *   gen G                       a generation held, then its keys:
 *   key PEER A.B.C.D HEX32      peer node id, its address (0.0.0.0: none),
 *                               the 16-byte key
 *
 * at most two generations of different parity, peers ascending in each.
 * It is written whole (temporary file, sync, rename) after every phase
 * and before the phase is applied or acknowledged.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dsmd.h"
#include "pairkeys.h"
#include "uplink.h"

uint64_t dsmd_pairkeys_newest(const struct dsmd_pairkeys *pk)
{
	return pk->slot[0].gen > pk->slot[1].gen ? pk->slot[0].gen : pk->slot[1].gen;
}

static int refuse(int err, char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(int err, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

/* The key of peer in a generation, NULL if it has none (binary search:
 * peers are ascending). */
static struct dsm_msg_pair_key *find_peer(struct dsmd_pair_gen *g, uint32_t peer)
{
	uint32_t lo = 0, hi = g->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (g->key[mid].peer == peer)
			return &g->key[mid];
		if (g->key[mid].peer < peer)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int check_keys(uint32_t self, const struct dsm_msg_key_list *keys, char *why, size_t len)
{
	if (keys->count > DSM_PAIR_NODES_MAX)
		return refuse(-EINVAL, why, len, "%u pair keys, at most %u", keys->count,
			      DSM_PAIR_NODES_MAX);
	for (uint32_t i = 0; i < keys->count; i++) {
		uint32_t p = keys->key[i].peer;

		if (!p || p > DSM_MSG_NODE_ID_MAX || p == self)
			return refuse(-EINVAL, why, len, "a pair key for node %u%s", p,
				      p == self ? ", this node" : "");
		if (i && p <= keys->key[i - 1].peer)
			return refuse(-EINVAL, why, len, "pair keys not in ascending peer order");
	}
	return 0;
}

/* Merge keys into generation g (the same generation sent again, or split
 * over several messages): a peer's key never changes within a generation;
 * its address may become known. Checked whole before anything changes. */
static int merge(struct dsmd_pair_gen *g, const struct dsm_msg_key_list *keys, char *why,
		 size_t len)
{
	uint32_t added = 0, i, j, k;

	for (i = 0; i < keys->count; i++) {
		struct dsm_msg_pair_key *have = find_peer(g, keys->key[i].peer);

		if (!have)
			added++;
		else if (memcmp(have->key, keys->key[i].key, DSM_MSG_SIPKEY_LEN))
			return refuse(-EEXIST, why, len,
				      "generation %llu already holds another key for node %u",
				      (unsigned long long)g->gen, keys->key[i].peer);
	}
	if (g->n + added > DSM_PAIR_NODES_MAX)
		return refuse(-EINVAL, why, len, "more than %u peers in generation %llu",
			      DSM_PAIR_NODES_MAX, (unsigned long long)g->gen);
	/* Both ascending: merge from the back, in place. */
	i = g->n;
	j = keys->count;
	k = g->n + added;
	while (j > 0) {
		const struct dsm_msg_pair_key *in = &keys->key[j - 1];

		if (i > 0 && g->key[i - 1].peer > in->peer) {
			g->key[--k] = g->key[--i];
		} else if (i > 0 && g->key[i - 1].peer == in->peer) {
			g->key[--k] = *in; /* the same key, the address as sent now */
			i--;
			j--;
		} else {
			g->key[--k] = *in;
			j--;
		}
	}
	g->n += added;
	return 0;
}

int dsmd_pairkeys_install(struct dsmd_pairkeys *pk, uint32_t self, uint64_t g,
			  const struct dsm_msg_key_list *keys, char *why, size_t len)
{
	struct dsmd_pair_gen *s = &pk->slot[g & 1];
	uint64_t newest = dsmd_pairkeys_newest(pk);
	int err;

	if (!g)
		return refuse(-EINVAL, why, len, "INSTALL of generation 0");
	err = check_keys(self, keys, why, len);
	if (err)
		return err;
	if (s->gen == g)
		return merge(s, keys, why, len);
	if (g < newest)
		return refuse(-ESTALE, why, len, "INSTALL of generation %llu, older than %llu "
			      "held", (unsigned long long)g, (unsigned long long)newest);
	if (s->gen && s->gen == pk->send)
		return refuse(-EBUSY, why, len, "INSTALL of generation %llu would replace %llu, "
			      "which this node sends with", (unsigned long long)g,
			      (unsigned long long)s->gen);
	OPENSSL_cleanse(s->key, sizeof(s->key[0]) * s->n);
	s->gen = g;
	s->n = 0;
	return merge(s, keys, why, len);
}

int dsmd_pairkeys_switch(struct dsmd_pairkeys *pk, uint64_t g, char *why, size_t len)
{
	if (!g || pk->slot[g & 1].gen != g)
		return refuse(-ENOKEY, why, len, "SWITCH to generation %llu, which is not "
			      "installed", (unsigned long long)g);
	if (g < pk->send)
		return refuse(-ESTALE, why, len, "SWITCH back to generation %llu from %llu",
			      (unsigned long long)g, (unsigned long long)pk->send);
	pk->send = g;
	return 0;
}

int dsmd_pairkeys_drop_old(struct dsmd_pairkeys *pk, uint64_t g, char *why, size_t len)
{
	if (!g || !pk->send || g > pk->send)
		return refuse(-ENOKEY, why, len, "DROP_OLD below generation %llu, but this node "
			      "sends with %llu", (unsigned long long)g,
			      (unsigned long long)pk->send);
	for (int i = 0; i < 2; i++) {
		struct dsmd_pair_gen *s = &pk->slot[i];

		if (s->gen && s->gen < g) {
			OPENSSL_cleanse(s->key, sizeof(s->key[0]) * s->n);
			s->gen = 0;
			s->n = 0;
		}
	}
	return 0;
}

int dsmd_pairkeys_phase(struct dsmd_pairkeys *pk, uint32_t self, const struct dsm_msg_keys *k,
			char *why, size_t len)
{
	if (k->phase != DSM_KEYS_INSTALL && k->keys.count)
		return refuse(-EINVAL, why, len, "keys in a phase other than INSTALL");
	switch (k->phase) {
	case DSM_KEYS_INSTALL:
		return dsmd_pairkeys_install(pk, self, k->generation, &k->keys, why, len);
	case DSM_KEYS_SWITCH:
		return dsmd_pairkeys_switch(pk, k->generation, why, len);
	case DSM_KEYS_DROP_OLD:
		return dsmd_pairkeys_drop_old(pk, k->generation, why, len);
	default:
		return refuse(-EINVAL, why, len, "unknown phase %u", k->phase);
	}
}

/* ---- the file ----------------------------------------------------------- */

int dsmd_pairkeys_format(const struct dsmd_pairkeys *pk, char **buf, size_t *len)
{
	size_t cap = 64 + 2 * (32 + (size_t)DSM_PAIR_NODES_MAX * 72), n = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	n += (size_t)snprintf(b + n, cap - n, "dsm-pair-keys 1\nsend %llu\n",
			      (unsigned long long)pk->send);
	for (int i = 0; i < 2; i++) {
		const struct dsmd_pair_gen *s = &pk->slot[i];

		if (!s->gen)
			continue;
		n += (size_t)snprintf(b + n, cap - n, "gen %llu\n", (unsigned long long)s->gen);
		for (uint32_t j = 0; j < s->n; j++) {
			char addr[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, s->key[j].addr, addr, sizeof(addr));
			n += (size_t)snprintf(b + n, cap - n, "key %u %s ", s->key[j].peer, addr);
			for (int k = 0; k < DSM_MSG_SIPKEY_LEN; k++)
				n += (size_t)snprintf(b + n, cap - n, "%02x", s->key[j].key[k]);
			b[n++] = '\n';
		}
	}
	*buf = b;
	*len = n;
	return 0;
}

static int hex_key(const char *hex, uint8_t key[DSM_MSG_SIPKEY_LEN])
{
	if (strlen(hex) != 2 * DSM_MSG_SIPKEY_LEN)
		return -1;
	for (int i = 0; i < DSM_MSG_SIPKEY_LEN; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdef", hex[2 * i]) ||
		    !strchr("0123456789abcdef", hex[2 * i + 1]))
			return -1;
		key[i] = (uint8_t)v;
	}
	return 0;
}

/* One line of the file into pk (cur: the generation being read, or NULL). */
static int parse_line(char *line, unsigned lineno, uint32_t self, struct dsmd_pairkeys *pk,
		      struct dsmd_pair_gen **cur, bool *send_seen, char *why, size_t len)
{
	char word[16], a[32], hex[40] = "", extra[2];
	unsigned long long v;
	unsigned peer;
	struct dsm_msg_pair_key k;

	if (sscanf(line, "%15s", word) != 1)
		return refuse(-EBADMSG, why, len, "line %u is empty", lineno);
	/* the word at the start, one space, then digits (sscanf would take
	 * blanks and a sign) */
	if (strncmp(line, word, strlen(word)) || line[strlen(word)] != ' ' ||
	    !isdigit((unsigned char)line[strlen(word) + 1]))
		goto bad;
	if (!strcmp(word, "send") && !*send_seen &&
	    sscanf(line, "send %llu %1s", &v, extra) == 1) {
		pk->send = v;
		*send_seen = true;
		return 0;
	}
	if (!strcmp(word, "gen") && sscanf(line, "gen %llu %1s", &v, extra) == 1 && v &&
	    !pk->slot[v & 1].gen) {
		*cur = &pk->slot[v & 1];
		(*cur)->gen = v;
		(*cur)->n = 0;
		return 0;
	}
	if (!strcmp(word, "key") && *cur &&
	    sscanf(line, "key %u %31s %39s %1s", &peer, a, hex, extra) == 3 && peer &&
	    peer <= DSM_MSG_NODE_ID_MAX && peer != self && (!(*cur)->n || peer > (*cur)->key[(*cur)->n - 1].peer) &&
	    (*cur)->n < DSM_PAIR_NODES_MAX && inet_pton(AF_INET, a, k.addr) == 1 &&
	    !hex_key(hex, k.key)) {
		k.peer = peer;
		(*cur)->key[(*cur)->n++] = k;
		OPENSSL_cleanse(&k, sizeof(k));
		OPENSSL_cleanse(hex, sizeof(hex));
		return 0;
	}
bad:
	OPENSSL_cleanse(hex, sizeof(hex));
	return refuse(-EBADMSG, why, len, "line %u: expected 'send G', 'gen G' (at most one of "
		      "each parity) or 'key PEER ADDRESS HEX32' (peers ascending, not this "
		      "node)", lineno);
}

int dsmd_pairkeys_parse(const char *buf, size_t len, uint32_t self, struct dsmd_pairkeys *pk,
			char *why, size_t why_len)
{
	struct dsmd_pair_gen *cur = NULL;
	bool send_seen = false;
	unsigned lineno = 0;
	size_t off = 0;
	char line[160];
	int err = 0;

	memset(pk, 0, sizeof(*pk));
	while (!err && off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;

		lineno++;
		if (!nl || n >= sizeof(line) || memchr(buf + off, 0, n)) {
			err = refuse(-EBADMSG, why, why_len, "line %u is too long, has a NUL byte "
				     "or no newline", lineno);
			break;
		}
		memcpy(line, buf + off, n);
		line[n] = 0;
		off += n + 1;
		if (lineno == 1)
			err = strcmp(line, "dsm-pair-keys 1") ?
				      refuse(-EBADMSG, why, why_len, "not a pair key file of "
					     "format 1") : 0;
		else
			err = parse_line(line, lineno, self, pk, &cur, &send_seen, why, why_len);
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (!err && !send_seen)
		err = refuse(-EBADMSG, why, why_len, "no 'send' line");
	if (!err && pk->send && pk->slot[pk->send & 1].gen != pk->send)
		err = refuse(-EBADMSG, why, why_len, "sends with generation %llu, which it does "
			     "not hold", (unsigned long long)pk->send);
	if (err)
		OPENSSL_cleanse(pk, sizeof(*pk));
	return err;
}

/* ---- the store in dsmd -------------------------------------------------- */

static int persist(int dirfd, const struct dsmd_pairkeys *pk)
{
	char *buf;
	size_t len;
	int err = dsmd_pairkeys_format(pk, &buf, &len);

	if (err)
		return err;
	err = dsmd_uplink_write_at(dirfd, DSMD_PAIRKEYS_FILE, buf, len, 0600);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return err;
}

int dsmd_pairkeys_load(struct dsmd *d, int dirfd, uint32_t self)
{
	struct dsmd_pairkeys *pk;
	char why[200] = "";
	uint8_t *buf;
	size_t len;
	int err;

	err = dsmd_uplink_read_at(dirfd, DSMD_PAIRKEYS_FILE, &buf, &len, DSMD_PAIRKEYS_FILE_MAX);
	if (err == -ENOENT)
		return 0;
	if (err)
		return log_errno(LOG_ERR, err, "pair keys: %s", DSMD_PAIRKEYS_FILE);
	pk = calloc(1, sizeof(*pk));
	if (!pk) {
		free(buf);
		return -ENOMEM;
	}
	err = dsmd_pairkeys_parse((const char *)buf, len, self, pk, why, sizeof(why));
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (err) {
		free(pk);
		log_error("pair keys: %s: %s", DSMD_PAIRKEYS_FILE, why);
		return err;
	}
	dsmd_pairkeys_free(d);
	d->pairkeys = pk;
	log_info("pair keys: generations %llu and %llu held, sending with %llu",
		 (unsigned long long)pk->slot[0].gen, (unsigned long long)pk->slot[1].gen,
		 (unsigned long long)pk->send);
	return 0;
}

int dsmd_pairkeys_apply(struct dsmd *d, int dirfd, uint32_t self, const struct dsm_msg_keys *k,
			char *why, size_t len)
{
	struct dsmd_pairkeys *next = malloc(sizeof(*next)), *old = d->pairkeys;
	int err;

	if (!next)
		return refuse(-ENOMEM, why, len, "no memory");
	if (old)
		memcpy(next, old, sizeof(*next));
	else
		memset(next, 0, sizeof(*next));
	err = dsmd_pairkeys_phase(next, self, k, why, len);
	if (!err && (!old || memcmp(next, old, sizeof(*next)))) {
		/* Persisted first: a phase acknowledged survives a restart. */
		err = persist(dirfd, next);
		if (err)
			refuse(err, why, len, "%s cannot be written: %s", DSMD_PAIRKEYS_FILE,
			       strerror(-err));
	}
	if (!err) {
		d->pairkeys = next;
		err = dsmd_net_pairkeys(d);
		if (err) {
			/* The file says what the server asked for; the maps will
			 * follow at the next start or phase. Not acknowledged. */
			refuse(err, why, len, "the pair key maps cannot be written: %s",
			       strerror(-err));
		}
		next = old;
	}
	if (next) {
		OPENSSL_cleanse(next, sizeof(*next));
		free(next);
	}
	return err;
}

void dsmd_pairkeys_free(struct dsmd *d)
{
	if (!d->pairkeys)
		return;
	OPENSSL_cleanse(d->pairkeys, sizeof(*d->pairkeys));
	free(d->pairkeys);
	d->pairkeys = NULL;
}
