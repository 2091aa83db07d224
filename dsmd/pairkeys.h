/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node's pair keys (docs/keys.md): at most two generations, one per
 * slot (generation & 1), each a list of {peer node, peer address, key},
 * and the generation this node sends with (0: not switched yet). The
 * Security Server moves them through the phases of a rotation with KEYS
 * (INSTALL g, SWITCH g, DROP_OLD g); every change is persisted in the
 * server-state directory (file `keys`, 0600) before it is applied to the
 * maps and acknowledged, and the file is loaded at start-up, so a node
 * that boots without its server still verifies and labels.
 *
 * The phase functions are pure (no files, no maps): they check a phase
 * against the state and change it, or refuse with a reason. A refusal
 * never changes the state.
 */
#ifndef DSMD_PAIRKEYS_H
#define DSMD_PAIRKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "chan_msg.h"
#include "dsm/wire.h"

#define DSMD_PAIRKEYS_FILE     "keys"
#define DSMD_PAIRKEYS_FILE_MAX (1u << 20)

struct dsmd;

struct dsmd_pair_gen {
	uint64_t gen; /* 0: the slot is empty */
	uint32_t n;
	struct dsm_msg_pair_key key[DSM_PAIR_NODES_MAX]; /* ascending peer */
};

struct dsmd_pairkeys {
	struct dsmd_pair_gen slot[2]; /* slot[g & 1] holds generation g */
	uint64_t send;                /* the generation sent with; 0: none */
};

/* The newest generation held (HELLO's key_generation); 0 = none. */
uint64_t dsmd_pairkeys_newest(const struct dsmd_pairkeys *pk);

/*
 * The phases, for node self. 0 done (a repeat of a phase already done is
 * done too: nothing changes), else -errno with why (one line):
 *   -EINVAL   malformed: generation 0, a peer that is this node or 0, too
 *             many peers;
 *   -ESTALE   out of order: older than a generation held or sent with
 *             (never regress);
 *   -EEXIST   INSTALL of a generation held, with another key for a peer;
 *   -EBUSY    INSTALL into the slot of the generation sent with;
 *   -ENOKEY   SWITCH to a generation not installed; DROP_OLD of one newer
 *             than the one sent with.
 */
int dsmd_pairkeys_install(struct dsmd_pairkeys *pk, uint32_t self, uint64_t g,
			  const struct dsm_msg_key_list *keys, char *why, size_t len);
int dsmd_pairkeys_switch(struct dsmd_pairkeys *pk, uint64_t g, char *why, size_t len);
int dsmd_pairkeys_drop_old(struct dsmd_pairkeys *pk, uint64_t g, char *why, size_t len);
/* One KEYS message: the phase it names. */
int dsmd_pairkeys_phase(struct dsmd_pairkeys *pk, uint32_t self, const struct dsm_msg_keys *k,
			char *why, size_t len);

/* The file: text, one item a line (docs/keys.md, "On the node"). */
int dsmd_pairkeys_format(const struct dsmd_pairkeys *pk, char **buf, size_t *len);
int dsmd_pairkeys_parse(const char *buf, size_t len, uint32_t self, struct dsmd_pairkeys *pk,
			char *why, size_t why_len);

/*
 * dsmd's store (d->pairkeys), for node self (its id from enrolment):
 * load the file from the server-state directory dirfd at start-up (none:
 * no pair keys); apply a KEYS phase:
 * checked, persisted, applied to the maps (dsmd_net_pairkeys), and only
 * then in force in d->pairkeys. 0 or -errno with why.
 */
int dsmd_pairkeys_load(struct dsmd *d, int dirfd, uint32_t self);
int dsmd_pairkeys_apply(struct dsmd *d, int dirfd, uint32_t self, const struct dsm_msg_keys *k,
			char *why, size_t len);
void dsmd_pairkeys_free(struct dsmd *d);

#endif /* DSMD_PAIRKEYS_H */
