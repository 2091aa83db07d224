/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dsm policy: compile the text language (docs/policy.md) into the entries of
 * the policy map (include/dsm/abi.h), keep the name tables needed to print
 * events, resolve node-local objects (file paths, interface names) at load,
 * and serialize the result as a versioned, digest-checked bundle.
 *
 * All functions returning int return 0 (or a count) on success and a
 * negative errno on failure. Nothing here keeps global state; a policy
 * object is immutable after compilation except for its resolved entries.
 */
#ifndef DSM_POLICY_H
#define DSM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsm/abi.h"

/* ---- diagnostics -------------------------------------------------------- */

enum dsm_severity {
	DSM_SEV_ERROR   = 1,
	DSM_SEV_WARNING = 2,
};

struct dsm_diag {
	enum dsm_severity severity;
	char *file;    /* source name given to the compiler */
	uint32_t line; /* 1-based */
	uint32_t col;  /* 1-based, in bytes */
	char *msg;     /* no location, no severity, no trailing newline */
};

/* Compilation stops after this many errors (a last "too many errors,
 * stopping" entry is added, not counted); warnings beyond
 * DSM_DIAG_MAX_WARNINGS are counted but not stored. */
#define DSM_DIAG_MAX_ERRORS   20
#define DSM_DIAG_MAX_WARNINGS 100

struct dsm_diags {
	struct dsm_diag *v; /* in the order they were found */
	size_t n, cap;
	unsigned errors;    /* counted, including any not stored */
	unsigned warnings;
};

/* Initialize an empty list (a zeroed struct is also valid). */
void dsm_diags_init(struct dsm_diags *d);

/* Free every message; the list is empty and reusable afterwards. */
void dsm_diags_free(struct dsm_diags *d);

/* Format one diagnostic as "file:line:col: error: message" (or
 * "file: error: message" when it has no line, e.g. a read error) into buf,
 * NUL-terminated when len > 0. Returns snprintf's result. */
int dsm_diag_format(const struct dsm_diag *dg, char *buf, size_t len);

/* ---- compiled policy ---------------------------------------------------- */

struct dsm_policy; /* opaque */

/* One map entry. */
struct dsm_entry {
	struct dsm_pkey key;
	struct dsm_pval val;
};

struct dsm_label {
	uint32_t id;
	uint32_t flags; /* DSM_LABEL_F_* */
	const char *name;
};

struct dsm_node {
	uint32_t id;
	const char *name;
};

/* `file PATH : LABEL;` kept by path; resolved to (dev, ino) at load. */
struct dsm_file_rule {
	const char *path;
	uint32_t label;
};

#define DSM_IFNAME_MAX 16 /* IFNAMSIZ, including the NUL */

/* `unlabeled PREFIX [dev IFNAME] -> LABEL;` for an IPv4 or an IPv6
 * prefix. Rules without a device are already map entries (NET or NET6,
 * ifindex 0); rules with one become entries when the loader resolves the
 * name on its node. */
struct dsm_net_rule {
	uint8_t family;     /* AF_INET or AF_INET6 */
	uint8_t plen;       /* 0..32 (AF_INET), 0..128 (AF_INET6) */
	uint8_t pad[2];     /* zero */
	union {
		uint32_t prefix_be;  /* AF_INET: the prefix, network byte order */
		uint8_t prefix[16];  /* network byte order, host bits zero; AF_INET
				      * in the first 4 bytes, the others zero */
	};
	char ifname[DSM_IFNAME_MAX]; /* "" = any interface */
	uint32_t label;
};

/* "10.77.0.0/24", "fd00:77::/64": a rule's prefix as the language writes
 * it. Returns snprintf's result. */
int dsm_net_rule_prefix_format(const struct dsm_net_rule *r, char *buf, size_t len);

/* Compile policy text. `name` is the source name used in diagnostics.
 * On success *out is a new policy and 0 is returned; on any error *out is
 * NULL, the diagnostics say why and -EINVAL is returned (-ENOMEM, -EFBIG
 * for other failures). Warnings never fail compilation. diags may be NULL.
 * text need not be NUL-terminated. */
int dsm_policy_compile(const char *name, const char *text, size_t len,
		       struct dsm_policy **out, struct dsm_diags *diags);

/* Read a file (at most DSM_POLICY_MAX_SOURCE bytes) and compile it with its
 * path as source name. A read failure is returned as -errno and reported
 * as one diagnostic at line 0. */
#define DSM_POLICY_MAX_SOURCE (64u << 20)
int dsm_policy_compile_file(const char *path, struct dsm_policy **out,
			    struct dsm_diags *diags);

/* Free a policy (NULL is fine). */
void dsm_policy_free(struct dsm_policy *p);

/* Header data. */
const char *dsm_policy_name(const struct dsm_policy *p);
uint64_t dsm_policy_version(const struct dsm_policy *p);
enum dsm_mode dsm_policy_mode(const struct dsm_policy *p);
uint32_t dsm_policy_initial_label(const struct dsm_policy *p);
/* Label of executables no file rule names (`file default : L;`), 0 if the
 * policy leaves it to the BPF default (the initial label). */
uint32_t dsm_policy_file_label(const struct dsm_policy *p);
/* The service manager's label (`service_manager L;`), 0 if the policy
 * names none: then the loader adds DSM_CFG_SERVICE_MANAGER itself (PID 1's
 * label at its start). */
uint32_t dsm_policy_service_manager(const struct dsm_policy *p);
/* Number of `allow` statements the policy was compiled from. */
size_t dsm_policy_nrules(const struct dsm_policy *p);

/* Name tables: labels and nodes sorted by id; files in source order; net
 * rules sorted by (family, prefix, plen, ifname), IPv4 first. Pointers
 * stay valid until free. */
const struct dsm_label *dsm_policy_labels(const struct dsm_policy *p, size_t *n);
const struct dsm_node *dsm_policy_nodes(const struct dsm_policy *p, size_t *n);
const struct dsm_file_rule *dsm_policy_files(const struct dsm_policy *p, size_t *n);
const struct dsm_net_rule *dsm_policy_nets(const struct dsm_policy *p, size_t *n);

/* Compiled entries (everything that does not depend on the node: RULE,
 * TRANS, LABEL, CONFIG except the loader's, NET and NET6 without a device),
 * sorted by key, keys unique. */
const struct dsm_entry *dsm_policy_entries(const struct dsm_policy *p, size_t *n);

/* Node-local entries from the last dsm_policy_resolve(): FILE entries and
 * NET and NET6 entries with an ifindex, sorted, keys unique. Empty before. */
const struct dsm_entry *dsm_policy_resolved_entries(const struct dsm_policy *p,
						    size_t *n);

/* Call fn on every compiled entry, then every resolved one, in order;
 * stops and returns fn's value when it is non-zero. The loader adds the
 * DSM_CFG_NODE_ID entry itself. */
typedef int (*dsm_entry_fn)(const struct dsm_pkey *key,
			    const struct dsm_pval *val, void *ctx);
int dsm_policy_foreach_entry(const struct dsm_policy *p, dsm_entry_fn fn,
			     void *ctx);

/* The loader's node-local entries (DSM_CFG_NODE_ID and the like): they
 * replace the previous set, are visited by dsm_policy_foreach_entry()
 * after the resolved ones and found by dsm_policy_lookup(), so the host
 * decides (dsm/decide.h) on exactly what the kernel map holds. -EEXIST if a
 * key is already a compiled or resolved entry or given twice. */
int dsm_policy_set_local(struct dsm_policy *p, const struct dsm_entry *v, size_t n);

/* The DSM_CFG_NET_PLENS entries (at most 8) for the compiled and resolved
 * unlabeled rules, into out; returns how many. */
size_t dsm_policy_plens_entries(const struct dsm_policy *p, struct dsm_entry out[8]);

/* Look up an entry by key in the compiled, resolved and local entries
 * (binary search). Returns NULL if absent. */
const struct dsm_pval *dsm_policy_lookup(const struct dsm_policy *p,
					 const struct dsm_pkey *key);

/* ---- load-time resolution ----------------------------------------------- */

/* One message per object that could not be resolved, e.g.
 * "file /usr/sbin/nginx (label web_exec): No such file or directory". */
typedef void (*dsm_resolve_warn_fn)(void *ctx, const char *msg);

/* (Re)compute the node-local entries: stat() every file path (following
 * symlinks) into a FILE entry keyed by the kernel's dev encoding
 * (major << 20 | minor) and inode, and if_nametoindex() every interface of
 * a net rule (a NET or NET6 entry for the caller's network namespace,
 * dsm_netns_self()). Anything unresolvable is skipped *and* reported through warn
 * (may be NULL); when two paths are the same inode the first one in the
 * source wins and the other is reported. Returns the number of problems
 * reported (0 = everything resolved) or a negative errno. Call again on
 * reload: the previous resolved entries are replaced. */
int dsm_policy_resolve(struct dsm_policy *p, dsm_resolve_warn_fn warn, void *ctx);

/* The inode number of the caller's network namespace (what interface
 * entries carry as netns), 0 if unknown. */
uint32_t dsm_netns_self(void);

/* The FILE key for st_dev/st_ino as the kernel sees them; -ERANGE if the
 * device number does not fit the kernel's 12:20 encoding. */
int dsm_file_key(uint64_t st_dev, uint64_t st_ino, struct dsm_pkey *key);

/* ---- names -------------------------------------------------------------- */

/* Label/node name by id, NULL if the policy does not define it. */
const char *dsm_policy_label_name(const struct dsm_policy *p, uint32_t id);
const char *dsm_policy_node_name(const struct dsm_policy *p, uint32_t id);
/* Label/node id by name: 0 and *id set, or -ENOENT. */
int dsm_policy_label_id(const struct dsm_policy *p, const char *name, uint32_t *id);
int dsm_policy_node_id(const struct dsm_policy *p, const char *name, uint32_t *id);

/* "process", "file", "socket", "peer", "system"; NULL if unknown. */
const char *dsm_class_name(unsigned int class);
/* Class by name: the class, or -ENOENT. */
int dsm_class_by_name(const char *name);
/* Name of one permission bit of a class ("connect"); NULL if unknown. */
const char *dsm_perm_name(unsigned int class, uint32_t bit);
/* Bit of a permission by name, or 0 if the class has no such permission. */
uint32_t dsm_perm_by_name(unsigned int class, const char *name);
/* Every permission bit a class defines (what `*` means). */
uint32_t dsm_class_all_perms(unsigned int class);
/* Socket family/type names of the language ("inet", "stream"); NULL if
 * the language has no name for the value. */
const char *dsm_family_name(unsigned int family);
const char *dsm_socktype_name(unsigned int type);
/* Write "{ create connect }" (or "connect" for one bit, "{ }" for none)
 * for perms of a class; unknown bits as "0x..". Returns snprintf-style. */
int dsm_perms_format(unsigned int class, uint32_t perms, char *buf, size_t len);
/* Write an entry as one policy-like line, e.g.
 * "allow web@any db : socket inet stream { connect }" using p's names
 * (numbers where a name is unknown; p may be NULL). */
int dsm_entry_format(const struct dsm_policy *p, const struct dsm_pkey *key,
		     const struct dsm_pval *val, char *buf, size_t len);

/* ---- bundles ------------------------------------------------------------ */

#define DSM_BUNDLE_FORMAT  3
#define DSM_BUNDLE_DIGEST_LEN 32 /* SHA-256 */
#define DSM_BUNDLE_MAX_SIZE (256u << 20)

/* Serialize a policy (compiled entries and tables, never resolved
 * entries) into a new malloc()ed buffer. Deterministic: the same policy
 * gives the same bytes. */
int dsm_bundle_write(const struct dsm_policy *p, uint8_t **buf, size_t *len);

/* Parse and fully validate a bundle into a new policy. Truncated, trailing,
 * corrupt (digest mismatch) or inconsistent input gives -EBADMSG, another
 * format or ABI version -EPROTONOSUPPORT. */
int dsm_bundle_read(const uint8_t *buf, size_t len, struct dsm_policy **out);

/* The SHA-256 stored at the end of a bundle (of every byte before it), as
 * the identity of a policy version. -EBADMSG if buf is too short. Does not
 * verify it; dsm_bundle_read() does. */
int dsm_bundle_digest(const uint8_t *buf, size_t len,
		      uint8_t digest[DSM_BUNDLE_DIGEST_LEN]);

/* File helpers: write atomically (temporary file + rename), read whole. */
int dsm_bundle_write_file(const struct dsm_policy *p, const char *path);
int dsm_bundle_read_file(const char *path, struct dsm_policy **out);

#endif /* DSM_POLICY_H */
