/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Prometheus text exposition format (version 0.0.4), as node_exporter's
 * textfile collector and a Prometheus scrape read it (docs/metrics.md):
 *
 *   # HELP dsm_denials_total Requests the policy denied.
 *   # TYPE dsm_denials_total counter
 *   dsm_denials_total{verdict="deny"} 3
 *
 * A family is started once (its HELP and TYPE lines) and its samples
 * follow it. Names are checked: every family is dsm_*, of [a-zA-Z0-9_:],
 * a counter's name ends in _total and a gauge's does not, and no family
 * is started twice; label names are [a-zA-Z_][a-zA-Z0-9_]* and not
 * reserved (__*). HELP text escapes \ and newline; label values escape \,
 * " and newline. A mistake is a programming error: the first one is kept
 * in err (-EINVAL, -ENOMEM) and everything after it is ignored, so a
 * caller checks once, at the end.
 *
 * The same families can be kept as JSON (an array of {name, type, help,
 * samples: [{labels: {...}, value}]}), for `dsmctl stats --json`.
 */
#ifndef DSM_PROM_H
#define DSM_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum prom_type { PROM_COUNTER, PROM_GAUGE };

struct prom_label {
	const char *name, *value;
};

#define PROM_NAME_MAX     96
#define PROM_FAMILIES_MAX 128

struct prom_buf {
	char *data;               /* the text, NUL-terminated (len bytes) */
	size_t len, cap;
	int err;                  /* the first error; 0 none */
	struct json_object *json; /* NULL, or the families as JSON (prom_init_json) */
	struct json_object *cur;  /* the current family's samples (JSON) */
	enum prom_type type;      /* of the current family */
	char family[PROM_NAME_MAX + 1]; /* "" before the first family */
	char *names[PROM_FAMILIES_MAX]; /* every family started, for duplicates */
	size_t nnames;
};

void prom_init(struct prom_buf *b);
/* The same, keeping the families as JSON too (b->json). */
void prom_init_json(struct prom_buf *b);
void prom_free(struct prom_buf *b);

/* Is name a valid family name of type t (the rules above)? */
bool prom_name_valid(const char *name, enum prom_type t);
bool prom_label_name_valid(const char *name);

/* Start a family: its HELP and TYPE lines. */
int prom_family(struct prom_buf *b, const char *name, enum prom_type t, const char *help);
/* A sample of the current family, with n labels (n may be 0). */
int prom_sample(struct prom_buf *b, const struct prom_label *l, size_t n, uint64_t v);
/* A gauge's sample that may be negative (-EINVAL on a counter). */
int prom_sample_signed(struct prom_buf *b, const struct prom_label *l, size_t n, int64_t v);
/* A family of one sample without labels. */
int prom_one(struct prom_buf *b, const char *name, enum prom_type t, const char *help,
	     uint64_t v);

/* b->json taken by the caller (NULL if there was an error or none). */
struct json_object *prom_take_json(struct prom_buf *b);

#endif /* DSM_PROM_H */
