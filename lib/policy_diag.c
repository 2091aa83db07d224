// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Diagnostics of the policy compiler: collected, bounded, formatted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

void dsm_diags_init(struct dsm_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void dsm_diags_free(struct dsm_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	dsm_diags_init(d);
}

int dsm_diag_format(const struct dsm_diag *dg, char *buf, size_t len)
{
	const char *sev = dg->severity == DSM_SEV_ERROR ? "error" : "warning";

	if (dg->line == 0)
		return snprintf(buf, len, "%s: %s: %s", dg->file, sev, dg->msg);
	return snprintf(buf, len, "%s:%u:%u: %s: %s", dg->file, dg->line,
			dg->col, sev, dg->msg);
}

bool policy_diag_full(const struct policy_diag_ctx *c)
{
	return c->d->errors >= DSM_DIAG_MAX_ERRORS;
}

/* Append one message (msg is taken over). */
static void diag_store(struct policy_diag_ctx *c, enum dsm_severity sev,
		       struct policy_loc loc, char *msg)
{
	struct dsm_diags *d = c->d;
	char *file = strdup(c->file ? c->file : "<policy>");

	if (!file)
		goto oom;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct dsm_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			goto oom;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = (struct dsm_diag){ .severity = sev, .file = file,
					  .line = loc.line, .col = loc.col,
					  .msg = msg };
	return;
oom:
	c->oom = true;
	free(file);
	free(msg);
}

void policy_vdiag(struct policy_diag_ctx *c, enum dsm_severity sev,
		  struct policy_loc loc, const char *fmt, va_list ap)
{
	struct dsm_diags *d = c->d;
	char *msg = NULL;

	if (sev == DSM_SEV_ERROR) {
		/* Once full, further errors are consequences of the first ones. */
		if (d->errors >= DSM_DIAG_MAX_ERRORS)
			return;
		d->errors++;
	} else if (++d->warnings > DSM_DIAG_MAX_WARNINGS) {
		return;
	}

	if (vasprintf(&msg, fmt, ap) < 0) {
		c->oom = true;
		return;
	}
	diag_store(c, sev, loc, msg);

	if (sev == DSM_SEV_ERROR && d->errors == DSM_DIAG_MAX_ERRORS) {
		msg = strdup("too many errors, stopping");
		if (!msg)
			c->oom = true;
		else
			diag_store(c, DSM_SEV_ERROR, loc, msg);
	}
}

void policy_diag(struct policy_diag_ctx *c, enum dsm_severity sev,
		 struct policy_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	policy_vdiag(c, sev, loc, fmt, ap);
	va_end(ap);
}
