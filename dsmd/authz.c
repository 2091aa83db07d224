// SPDX-License-Identifier: GPL-2.0
/*
 * Who may ask dsmd what: class dsm, from the caller's label to dsmd's own
 * (DSM_CFG_DSMD_LABEL), decided by the shared library (dsm/decide.h) on
 * the policy in force, exactly as a kernel hook decides: the rules with
 * their fallbacks, then a permissive label or mode turns a denial into a
 * reported allow. Every denial, and every permissive pass, is raised as
 * an alarm like the kernel's, so an operator sees a confined root asking
 * for a reload where they see its other denials.
 *
 *   query      status, ps, alarms
 *   peerlabel  getpeerlabel of a socket of one's own
 *   admin      reload, exec-label, unload
 *
 * A connection whose peer the kernel did not name (no context on the
 * accepted socket) is denied whatever it asks: fail closed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "dsmd.h"
#include "dsm/decide.h"

/* The command name of pid for the alarm, as the kernel records it. */
static void comm_of(int pid, char comm[DSM_COMM_LEN])
{
	char path[64], buf[DSM_COMM_LEN + 2] = "";
	FILE *f;

	memset(comm, 0, DSM_COMM_LEN);
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		size_t n = strcspn(buf, "\n");

		memcpy(comm, buf, n < DSM_COMM_LEN - 1 ? n : DSM_COMM_LEN - 1);
	}
	fclose(f);
}

/* The alarm of a denied (or permissive) request, as a kernel event. */
static void raise_alarm(struct dsmd *d, const struct dsmd_caller *who, uint32_t target,
			uint32_t perm, uint8_t verdict, int err)
{
	struct dsm_event e = { .version = DSM_ABI_VERSION, .kind = DSM_EV_DECISION,
			       .verdict = verdict, .err = err };
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	e.time_ns = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
	e.pid = e.tid = who->pid > 0 ? (uint32_t)who->pid : 0;
	comm_of(who->pid, e.comm);
	e.d.class = DSM_CLASS_DSM;
	e.d.perm = perm;
	e.d.subject = who->known ? who->label : DSM_LABEL_INVALID;
	e.d.subject_node = DSM_NODE_LOCAL;
	e.d.target = target;
	dsmd_alarm_raise(d, &e);
}

int dsmd_authorize(struct dsmd *d, const struct dsmd_caller *who, uint32_t perm)
{
	const struct dsm_policy *p = d->policy;
	uint32_t self;

	if (!p || !who->known) {
		raise_alarm(d, who, 0, perm, DSM_VERDICT_DENY, -EACCES);
		return -EACCES;
	}
	self = dsm_config(p, DSM_CFG_DSMD_LABEL, DSM_LABEL_INVALID);
	if (self != DSM_LABEL_INVALID &&
	    (dsm_perms(p, DSM_CLASS_DSM, DSM_QUAL_ANY, who->label, DSM_NODE_ANY, self) & perm))
		return 0;
	if (self != DSM_LABEL_INVALID && dsm_permissive(p, who->label)) {
		raise_alarm(d, who, self, perm, DSM_VERDICT_PERMISSIVE, 0);
		return 0;
	}
	raise_alarm(d, who, self, perm, DSM_VERDICT_DENY, -EACCES);
	return -EACCES;
}
