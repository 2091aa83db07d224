// SPDX-License-Identifier: GPL-2.0
/*
 * dsmctl doctor [--json] [--policy FILE] [--config-dir DIR]
 *               [--server-state DIR]: can dsm run here, and is it set up
 * safely? One line per check, "ok" or "FAIL" and why:
 *   btf, lsm, kernel   the feature probe dsmd runs at start (lib/probe.h):
 *                      a failure here is what keeps dsmd from starting;
 *   config             the configuration directory (/etc/dsm) is root's and
 *                      closed to group and others;
 *   keys, pki          the cluster key file (CONFIG/keys) and the PKI
 *                      directory (CONFIG/pki), if present, likewise;
 *   server-state       a joined node's state (/var/lib/dsm), if present,
 *                      likewise;
 *   policy             the policy file (CONFIG/dsm.policy) compiles;
 *   dsmd               dsmd answers on its control socket.
 * Exit 0 when every check passed, 1 when one failed, 2 on a usage error.
 * The kernel check asks the kernel, which needs root.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "policy.h"
#include "probe.h"

#define DOCTOR_CONFIG_DIR   "/etc/dsm"
#define DOCTOR_SERVER_STATE "/var/lib/dsm"
#define DOCTOR_POLICY       "dsm.policy"
#define DOCTOR_MAX          12

struct doctor {
	struct dsm_probe_result r[DOCTOR_MAX];
	size_t n;
};

static struct dsm_probe_result *next(struct doctor *d)
{
	return &d->r[d->n++];
}

/* r's message (cut at its size: paths are the caller's). */
__attribute__((format(printf, 2, 3)))
static void say(struct dsm_probe_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static void check_policy(struct doctor *d, const char *path)
{
	struct dsm_probe_result *r = next(d);
	struct dsm_policy *p = NULL;
	struct dsm_diags diags;
	char first[DSM_PROBE_MSG_MAX / 2] = "";

	dsm_diags_init(&diags);
	r->check = "policy";
	if (dsm_policy_compile_file(path, &p, &diags) == 0) {
		r->ok = true;
		say(r, "%s: policy '%s' version %llu, %s, %u warning%s",
			 path, dsm_policy_name(p), (unsigned long long)dsm_policy_version(p),
			 dsm_policy_mode(p) == DSM_MODE_PERMISSIVE ? "permissive" : "enforcing",
			 diags.warnings, diags.warnings == 1 ? "" : "s");
	} else {
		for (size_t i = 0; i < diags.n; i++)
			if (diags.v[i].severity == DSM_SEV_ERROR) {
				dsm_diag_format(&diags.v[i], first, sizeof(first));
				break;
			}
		r->ok = false;
		say(r, "%s does not compile (%u error%s): %s; "
			 "`dsmctl policy check %s` lists them", path, diags.errors,
			 diags.errors == 1 ? "" : "s", first[0] ? first : "?", path);
	}
	dsm_policy_free(p);
	dsm_diags_free(&diags);
}

static void check_dsmd(struct doctor *d, const struct dsmctl_global *g)
{
	struct dsm_probe_result *r = next(d);
	struct json_object *ans = NULL, *pol, *name, *ver;
	char err[DSMCTL_ERR_MAX];
	enum dsmctl_call_status st = dsmctl_call(g->socket, "status", &ans, err, sizeof(err));

	r->check = "dsmd";
	r->ok = st == DSMCTL_CALL_OK || st == DSMCTL_CALL_REMOTE;
	if (st == DSMCTL_CALL_OK && json_object_object_get_ex(ans, "policy", &pol) &&
	    json_object_object_get_ex(pol, "name", &name) &&
	    json_object_object_get_ex(pol, "version", &ver))
		say(r, "dsmd answers on %s: policy '%s' version %lld", g->socket,
		    json_object_get_string(name), (long long)json_object_get_int64(ver));
	else if (st == DSMCTL_CALL_OK)
		say(r, "dsmd answers on %s", g->socket);
	else if (st == DSMCTL_CALL_REMOTE)
		say(r, "dsmd answers on %s (and refused status: %s)",
			 g->socket, err);
	else if (st == DSMCTL_CALL_NOT_RUNNING)
		say(r, "%s; start it (systemctl start dsmd)", err);
	else
		say(r, "%s", err);
	json_object_put(ans);
}

static int print(const struct doctor *d, bool json)
{
	unsigned failed = 0;

	for (size_t i = 0; i < d->n; i++)
		failed += !d->r[i].ok;
	if (json) {
		struct json_object *o = json_object_new_object(), *a = json_object_new_array();

		for (size_t i = 0; i < d->n; i++) {
			struct json_object *c = json_object_new_object();

			json_object_object_add(c, "check", json_object_new_string(d->r[i].check));
			json_object_object_add(c, "ok", json_object_new_boolean(d->r[i].ok));
			json_object_object_add(c, "message", json_object_new_string(d->r[i].msg));
			json_object_array_add(a, c);
		}
		json_object_object_add(o, "ok", json_object_new_boolean(!failed));
		json_object_object_add(o, "checks", a);
		dsmctl_print_json(stdout, o);
		json_object_put(o);
	} else {
		for (size_t i = 0; i < d->n; i++) {
			printf("%-4s  %-12s ", d->r[i].ok ? "ok" : "FAIL", d->r[i].check);
			dsmctl_put_safe(stdout, d->r[i].msg);
			fputc('\n', stdout);
		}
	}
	if (failed)
		dsmctl_error("doctor: %u of %zu checks failed", failed, d->n);
	return failed ? DSMCTL_EXIT_FAIL : DSMCTL_EXIT_OK;
}

int dsmctl_cmd_doctor(const struct dsmctl_global *g, int argc, char **argv)
{
	bool json = false;
	const char *policy = NULL, *config = DOCTOR_CONFIG_DIR, *state = DOCTOR_SERVER_STATE;
	const struct dsmctl_opt opts[] = {
		{ .name = "--json", .flag = &json },
		{ .name = "--policy", .value = &policy },
		{ .name = "--config-dir", .value = &config },
		{ .name = "--server-state", .value = &state },
		{ .name = NULL },
	};
	char keys[PATH_MAX], pki[PATH_MAX], pol[PATH_MAX];
	struct doctor d = { .n = 0 };
	unsigned failed;
	int i;

	i = dsmctl_parse_opts("doctor", argc, argv, opts, false);
	if (i == DSMCTL_OPTS_HELP) {
		dsmctl_usage(stdout);
		return DSMCTL_EXIT_OK;
	}
	if (i < 0)
		return DSMCTL_EXIT_USAGE;
	if (snprintf(keys, sizeof(keys), "%s/keys", config) >= (int)sizeof(keys) ||
	    snprintf(pki, sizeof(pki), "%s/pki", config) >= (int)sizeof(pki) ||
	    snprintf(pol, sizeof(pol), "%s/" DOCTOR_POLICY, config) >= (int)sizeof(pol))
		return dsmctl_usage_error("doctor: --config-dir is too long");

	d.n = dsm_probe_all(NULL, d.r, 3, &failed);
	dsm_probe_private("config", config, 0, false, next(&d));
	dsm_probe_private("keys", keys, 0, true, next(&d));
	dsm_probe_private("pki", pki, 0, true, next(&d));
	dsm_probe_private("server-state", state, 0, true, next(&d));
	check_policy(&d, policy ? policy : pol);
	check_dsmd(&d, g);
	return print(&d, json);
}
