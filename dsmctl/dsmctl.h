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

#endif /* DSMCTL_H */
