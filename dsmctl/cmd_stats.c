// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl stats [--json | --prometheus]: every metric dsmd keeps
 * (docs/metrics.md), from its stats request: one line per sample
 * (NAME{LABELS} VALUE), the families as JSON, or the Prometheus text
 * exposition format exactly as dsmd writes it to --metrics-file.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"

static bool is_metrics(struct json_object *fams)
{
	return fams && json_object_is_type(fams, json_type_array);
}

/* One sample: NAME{k="v",...} VALUE, names and values made safe. */
static int print_sample(FILE *out, const char *name, struct json_object *s)
{
	struct json_object *labels, *v;
	bool first = true;

	if (!json_object_object_get_ex(s, "value", &v) || !json_object_is_type(v, json_type_int))
		return -1;
	dsmctl_put_safe(out, name);
	if (json_object_object_get_ex(s, "labels", &labels) &&
	    json_object_is_type(labels, json_type_object) && json_object_object_length(labels)) {
		fputc('{', out);
		json_object_object_foreach(labels, k, lv) {
			fputs(first ? "" : ",", out);
			dsmctl_put_safe(out, k);
			fputs("=\"", out);
			dsmctl_put_safe(out, json_object_get_string(lv));
			fputc('"', out);
			first = false;
		}
		fputc('}', out);
	}
	if (json_object_get_int64(v) < 0)
		fprintf(out, " %" PRId64 "\n", json_object_get_int64(v));
	else
		fprintf(out, " %" PRIu64 "\n", json_object_get_uint64(v));
	return 0;
}

static int print_lines(FILE *out, struct json_object *fams)
{
	for (size_t i = 0; i < json_object_array_length(fams); i++) {
		struct json_object *f = json_object_array_get_idx(fams, i), *name, *samples;

		if (!json_object_object_get_ex(f, "name", &name) ||
		    !json_object_object_get_ex(f, "samples", &samples) ||
		    !json_object_is_type(samples, json_type_array))
			return -1;
		for (size_t k = 0; k < json_object_array_length(samples); k++)
			if (print_sample(out, json_object_get_string(name),
					 json_object_array_get_idx(samples, k)))
				return -1;
	}
	return 0;
}

int dsmctl_cmd_stats(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false, prom = false;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = "--prometheus", .flag = &prom },
		{ .name = NULL },
	};
	struct json_object *st, *fams = NULL, *text = NULL;
	int i, ret = DSMCTL_EXIT_OK;

	i = dsmctl_parse_opts("stats", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	if (json && prom)
		return dsmctl_usage_error("stats: --json or --prometheus, not both");
	st = dsmctl_query(g, "stats", &ret);
	if (!st)
		return ret;
	json_object_object_get_ex(st, "metrics", &fams);
	json_object_object_get_ex(st, "prometheus", &text);
	if (!is_metrics(fams) || !text || !json_object_is_type(text, json_type_string)) {
		dsmctl_error("stats: unexpected answer from dsmd (no \"metrics\" list)");
		ret = DSMCTL_EXIT_FAIL;
	} else if (prom) {
		fwrite(json_object_get_string(text), 1, (size_t)json_object_get_string_len(text),
		       stdout); /* write errors are reported at exit */
	} else if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "metrics", json_object_get(fams));
		dsmctl_print_json(stdout, o);
		json_object_put(o);
	} else if (print_lines(stdout, fams)) {
		dsmctl_error("stats: unexpected answer from dsmd (a malformed metric)");
		ret = DSMCTL_EXIT_FAIL;
	}
	json_object_put(st);
	return ret;
}
