/* SPDX-License-Identifier: GPL-2.0 */
/* dsmctl's policy commands: offline, without dsmd, but for push and status,
 * which ask dsm-server (cmd_push.c). */
#ifndef DSMCTL_H
#define DSMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dsmctl_global;

/*
 * dsmctl policy check FILE | compile FILE -o OUT | dump FILE | keygen PRIV
 * PUB | sign FILE ... -o OUT | verify SIGNED ... | push FILE ... | status:
 * argv[0] is "policy"; g is used by push and status only.
 * Returns the exit status: 0 ok, 1 the policy has errors, a signed bundle
 * does not verify or a file could not be read or written, 2 usage error.
 */
int dsmctl_policy(const struct dsmctl_global *g, int argc, char **argv);

/* A duration: N seconds, or N with s, m, h, d or w; 1 s to 3650 d. */
bool dsmctl_parse_duration(const char *s, uint64_t *out);

/* The bundle in file: a bundle as it is, or a source compiled (its
 * diagnostics printed). Failures are reported as "policy SUB: ...".
 * *buf is malloc()ed. */
int dsmctl_policy_load_bundle(const char *sub, const char *file, uint8_t **buf, size_t *len);

/* dsmctl policy explain (cmd_explain.c): argv[0] "policy", argv[1]
 * "explain". 0 allowed, 1 denied or failure, 2 usage. */
int dsmctl_policy_explain(const struct dsmctl_global *g, int argc, char **argv);

/* The policy to explain or suggest against: file (a source or a bundle),
 * else the one dsmd reports enforcing in its status (with *node_id, if not
 * NULL, dsmd's node). NULL after reporting; *exit_status says how to end. */
struct dsm_policy;
struct dsm_policy *dsmctl_load_policy(const struct dsmctl_global *g, const char *cmd,
				      const char *file, uint32_t *node_id, int *exit_status);

#endif /* DSMCTL_H */
