// SPDX-License-Identifier: GPL-2.0
/*
 * The one reload path: the first load at start-up, SIGHUP and the control
 * socket's `reload` all run dsmd_reload(), and all report what happened
 * the same way, in one of three forms:
 *
 *   installed policy 'P' version N; keys reloaded
 *   not installed because REASON; policy 'P' version M stays in force,
 *       and the keys are unchanged
 *   installed policy 'P' version N; then STEP failed: ERROR (CONSEQUENCE)
 *
 * "Not installed" means nothing changed: the policy is prepared (compiled,
 * resolved, checked) and swapped in as one step that either happens or
 * does not, and the keys are not touched either. Once the swap happened
 * the new policy is in force whatever follows, so a later failure (a new
 * generation, the same-node tags, the cluster keys, the protection of
 * dsm's files) is reported as that, never as the previous policy staying.
 * Every later step runs even when one before it failed: each is
 * independent, and each not done is named.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dsmd.h"

static void add_failure(struct dsmd_reload_result *r, size_t *at, const char *step, int err,
			const char *meaning)
{
	int n;

	if (*at >= sizeof(r->what))
		return;
	n = snprintf(r->what + *at, sizeof(r->what) - *at, "%s %s failed: %s (%s)",
		     r->outcome == DSMD_RELOAD_INSTALLED_BUT ? ";" : "; then", step,
		     strerror(-err), meaning);
	*at += n > 0 ? (size_t)n : 0;
	r->outcome = DSMD_RELOAD_INSTALLED_BUT;
	if (!r->err)
		r->err = err;
}

/* The steps after the swap; each failure is added to r. */
static void after_install(struct dsmd *d, struct dsmd_reload_result *r, size_t *at)
{
	int err;

	dsmd_new_generation(d, "policy");
	err = dsmd_net_tags(d);
	if (err)
		add_failure(r, at, "the same-node tags", err,
			    "same-node packets of labels new to this policy are not recognized");
	err = dsmd_net_configure(d);
	if (err)
		add_failure(r, at, "the cluster keys", err, "the previous keys stay in force");
	err = dsmd_protect_all(d); /* the new file rules' executables too */
	if (err)
		add_failure(r, at, "protecting dsm's files", err,
			    "some may be changed or read without system dsm_files or dsm_read");
}

void dsmd_reload(struct dsmd *d, const char *why, struct dsmd_reload_result *r)
{
	struct dsm_policy *p = NULL;
	char reason[256] = "";
	size_t at;
	int err, n;

	*r = (struct dsmd_reload_result){ .outcome = DSMD_RELOAD_DONE };
	dsmd_notify_reloading(); /* not at start: READY=1 comes once enforcing */
	/* joined, the source is the server's bundle if there is one: the
	 * policy line that follows names what was read */
	if (d->uplink)
		log_info("reload (%s)", why);
	else
		log_info("reload (%s): %s", why, d->o.policy_path);
	err = dsmd_policy_prepare(d, &p, reason, sizeof(reason));
	if (!err) {
		err = dsmd_policy_install(d, p, reason, sizeof(reason));
		if (err)
			dsm_policy_free(p);
	}
	if (err) {
		r->outcome = DSMD_RELOAD_NOT_INSTALLED;
		r->err = err;
		if (d->policy) {
			r->version = dsm_policy_version(d->policy);
			snprintf(r->what, sizeof(r->what), "not installed because %s; policy '%s' "
				 "version %llu stays in force, and the keys are unchanged", reason,
				 dsm_policy_name(d->policy), (unsigned long long)r->version);
		} else {
			snprintf(r->what, sizeof(r->what), "not installed because %s", reason);
		}
		log_error("reload (%s): %s", why, r->what);
		dsmd_notify_reloaded(d);
		return;
	}
	r->version = dsm_policy_version(d->policy);
	n = snprintf(r->what, sizeof(r->what), "installed policy '%s' version %llu",
		     dsm_policy_name(d->policy), (unsigned long long)r->version);
	at = n > 0 ? (size_t)n : 0;
	after_install(d, r, &at);
	if (r->outcome == DSMD_RELOAD_DONE) {
		snprintf(r->what + at, sizeof(r->what) - at, "; %s",
			 d->o.key_file ? "keys reloaded" : "no key file");
		log_info("reload (%s): %s", why, r->what);
	} else {
		log_error("reload (%s): %s", why, r->what);
	}
	dsmd_notify_reloaded(d);
}
