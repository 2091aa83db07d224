/* SPDX-License-Identifier: GPL-2.0 */
/* dsmctl alarms --suggest (cmd_suggest.c): collect alarm records, then
 * print the allow statements that would allow exactly their denials. */
#ifndef DSMCTL_SUGGEST_H
#define DSMCTL_SUGGEST_H

#include <stdbool.h>
#include <stdio.h>

struct json_object;
struct dsm_policy;
struct dsmctl_suggest;

struct dsmctl_suggest *dsmctl_suggest_new(void);
/* Keep a reference to one alarm record. -ENOMEM. */
int dsmctl_suggest_add(struct dsmctl_suggest *s, struct json_object *alarm);
/* The suggestions against policy p, as text (policy language and
 * comments) or JSON. 0, or -ENOMEM / -1 (output not written). */
int dsmctl_suggest_print(const struct dsmctl_suggest *s, const struct dsm_policy *p, bool json,
			 FILE *f);
void dsmctl_suggest_free(struct dsmctl_suggest *s);

#endif /* DSMCTL_SUGGEST_H */
