// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Prometheus text exposition format (prom.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "prom.h"

void prom_init(struct prom_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void prom_init_json(struct prom_buf *b)
{
	prom_init(b);
	b->json = json_object_new_array();
	if (!b->json)
		b->err = -ENOMEM;
}

void prom_free(struct prom_buf *b)
{
	free(b->data);
	json_object_put(b->json);
	for (size_t i = 0; i < b->nnames; i++)
		free(b->names[i]);
	memset(b, 0, sizeof(*b));
}

struct json_object *prom_take_json(struct prom_buf *b)
{
	struct json_object *j = b->err ? NULL : b->json;

	if (j)
		b->json = NULL;
	return j;
}

static int fail(struct prom_buf *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

static int reserve(struct prom_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->cap - b->len > more)
		return 0;
	cap = b->cap ? b->cap : 1024;
	while (cap - b->len <= more) {
		if (cap > SIZE_MAX / 2)
			return fail(b, -ENOMEM);
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return fail(b, -ENOMEM);
	b->data = p;
	b->cap = cap;
	return 0;
}

static void put(struct prom_buf *b, const char *s, size_t n)
{
	if (b->err || reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void puts_(struct prom_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* s with \ and newline escaped, and " too when quote. */
static void put_escaped(struct prom_buf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else if (*s == '"' && quote)
			put(b, "\\\"", 2);
		else
			put(b, s, 1);
	}
}

static bool name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool prom_name_valid(const char *name, enum prom_type t)
{
	size_t n = name ? strlen(name) : 0;
	bool total = n >= 6 && !strcmp(name + n - 6, "_total");

	if (n <= 4 || n > PROM_NAME_MAX || strncmp(name, "dsm_", 4))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(name[i], i == 0, true))
			return false;
	return t == PROM_COUNTER ? total && n > 10 : !total;
}

bool prom_label_name_valid(const char *name)
{
	if (!name || !*name || !strncmp(name, "__", 2))
		return false;
	for (size_t i = 0; name[i]; i++)
		if (!name_char(name[i], i == 0, false))
			return false;
	return true;
}

int prom_family(struct prom_buf *b, const char *name, enum prom_type t, const char *help)
{
	struct json_object *f;
	char *copy;

	if (b->err)
		return b->err;
	if (!prom_name_valid(name, t) || (t != PROM_COUNTER && t != PROM_GAUGE) || !help ||
	    !*help)
		return fail(b, -EINVAL);
	for (size_t i = 0; i < b->nnames; i++)
		if (!strcmp(b->names[i], name))
			return fail(b, -EINVAL);
	if (b->nnames == PROM_FAMILIES_MAX)
		return fail(b, -E2BIG);
	if (!(copy = strdup(name)))
		return fail(b, -ENOMEM);
	b->names[b->nnames++] = copy;
	snprintf(b->family, sizeof(b->family), "%s", name);
	b->type = t;

	puts_(b, "# HELP ");
	puts_(b, name);
	puts_(b, " ");
	put_escaped(b, help, false);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	puts_(b, t == PROM_COUNTER ? " counter\n" : " gauge\n");

	if (b->json && !b->err) {
		f = json_object_new_object();
		b->cur = json_object_new_array();
		if (!f || !b->cur) {
			json_object_put(f);
			json_object_put(b->cur);
			b->cur = NULL;
			return fail(b, -ENOMEM);
		}
		json_object_object_add(f, "name", json_object_new_string(name));
		json_object_object_add(f, "type", json_object_new_string(
			t == PROM_COUNTER ? "counter" : "gauge"));
		json_object_object_add(f, "help", json_object_new_string(help));
		json_object_object_add(f, "samples", b->cur);
		json_object_array_add(b->json, f);
	}
	return b->err;
}

static int sample(struct prom_buf *b, const struct prom_label *l, size_t n, const char *text,
		  struct json_object *jv)
{
	struct json_object *s = NULL, *labels = NULL;

	if (b->err || !b->family[0]) {
		json_object_put(jv);
		return fail(b, -EINVAL);
	}
	for (size_t i = 0; i < n; i++) {
		if (!prom_label_name_valid(l[i].name) || !l[i].value)
			goto inval;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(l[k].name, l[i].name))
				goto inval;
	}
	puts_(b, b->family);
	if (n) {
		puts_(b, "{");
		for (size_t i = 0; i < n; i++) {
			if (i)
				puts_(b, ",");
			puts_(b, l[i].name);
			puts_(b, "=\"");
			put_escaped(b, l[i].value, true);
			puts_(b, "\"");
		}
		puts_(b, "}");
	}
	puts_(b, " ");
	puts_(b, text);
	puts_(b, "\n");

	if (b->json && b->cur && !b->err) {
		s = json_object_new_object();
		labels = json_object_new_object();
		if (!s || !labels || !jv)
			goto nomem;
		for (size_t i = 0; i < n; i++)
			json_object_object_add(labels, l[i].name,
					       json_object_new_string(l[i].value));
		json_object_object_add(s, "labels", labels);
		json_object_object_add(s, "value", jv);
		json_object_array_add(b->cur, s);
		return b->err;
	}
	json_object_put(jv);
	return b->err;
nomem:
	json_object_put(s);
	json_object_put(labels);
	json_object_put(jv);
	return fail(b, -ENOMEM);
inval:
	json_object_put(jv);
	return fail(b, -EINVAL);
}

int prom_sample(struct prom_buf *b, const struct prom_label *l, size_t n, uint64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	return sample(b, l, n, text, b->json ? json_object_new_uint64(v) : NULL);
}

int prom_sample_signed(struct prom_buf *b, const struct prom_label *l, size_t n, int64_t v)
{
	char text[24];

	if (b->type != PROM_GAUGE && b->family[0])
		return fail(b, -EINVAL);
	snprintf(text, sizeof(text), "%" PRId64, v);
	return sample(b, l, n, text, b->json ? json_object_new_int64(v) : NULL);
}

int prom_one(struct prom_buf *b, const char *name, enum prom_type t, const char *help,
	     uint64_t v)
{
	prom_family(b, name, t, help);
	return prom_sample(b, NULL, 0, v);
}
