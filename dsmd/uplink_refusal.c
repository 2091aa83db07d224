// SPDX-License-Identifier: GPL-2.0
/*
 * The alarm dsmd raises when it refuses something the Security Server
 * sent (a policy, pair keys, a freshness statement): class dsm, admin,
 * denied, the server as the one that asked. Its own file so that the
 * uplink's parts (uplink.c, uplink_fresh.c) all call it without calling
 * each other.
 */
#include <stdint.h>
#include <time.h>

#include "dsmd.h"
#include "dsm/decide.h"
#include "uplink.h"

/* An alarm of class dsm about what the server sent: err the refusal, aux
 * a number it concerns (a version, a generation: the low 32 bits). */
void dsmd_uplink_alarm(struct dsmd *d, int err, uint64_t aux, const char *reason)
{
	struct dsm_event e = { .version = DSM_ABI_VERSION, .kind = DSM_EV_DECISION,
			       .verdict = DSM_VERDICT_DENY, .err = err, .comm = "dsm-server" };
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	e.time_ns = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
	e.d.class = DSM_CLASS_DSM;
	e.d.perm = DSM_PERM_ADMIN;
	e.d.subject = DSM_LABEL_INVALID;
	e.d.subject_node = DSM_NODE_LOCAL;
	e.d.target = d->policy ? dsm_config(d->policy, DSM_CFG_DSMD_LABEL, 0) : 0;
	e.d.aux = (uint32_t)aux;
	dsmd_alarm_raise_reason(d, &e, reason);
}
