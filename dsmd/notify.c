// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd and its service manager (lib/notify.h; docs/install.md): READY=1
 * once enforcement is on (every program attached, the policy installed,
 * the control socket open: serve.c, when the loop starts), RELOADING=1
 * and READY=1 around each reload after that (reload.c), WATCHDOG=1 from
 * the loop's tick when the unit asked for a watchdog (a stalled loop stops
 * it, and the service manager restarts dsmd, which takes the pinned
 * programs over), STOPPING=1 on the way out. Outside a service manager
 * nothing is sent.
 */
#include <stdio.h>

#include "dsmd.h"
#include "notify.h"

static struct {
	bool ready;
	bool warned;
	uint64_t watchdog_usec;
} n;

static void send_state(const char *state)
{
	int err = dsm_notify(state);

	if (err < 0 && !n.warned) {
		n.warned = true;
		log_errno(LOG_WARNING, err, "main: cannot notify the service manager "
			  "($NOTIFY_SOCKET)");
	}
}

void dsmd_notify_ready(const struct dsmd *d)
{
	char state[256];

	n.watchdog_usec = dsm_notify_watchdog_usec();
	snprintf(state, sizeof(state), "READY=1\nSTATUS=enforcing policy '%s' version %llu "
		 "on node %s", dsm_policy_name(d->policy),
		 (unsigned long long)dsm_policy_version(d->policy), d->node_name);
	send_state(state);
	n.ready = true;
	if (n.watchdog_usec)
		log_info("main: watchdog every %llu ms", (unsigned long long)n.watchdog_usec / 1000);
}

void dsmd_notify_reloading(void)
{
	if (n.ready)
		send_state("RELOADING=1\nSTATUS=reloading");
}

void dsmd_notify_reloaded(const struct dsmd *d)
{
	char state[256];

	if (!n.ready || !d->policy)
		return;
	snprintf(state, sizeof(state), "READY=1\nSTATUS=enforcing policy '%s' version %llu "
		 "on node %s", dsm_policy_name(d->policy),
		 (unsigned long long)dsm_policy_version(d->policy), d->node_name);
	send_state(state);
}

void dsmd_notify_tick(void)
{
	if (n.ready && n.watchdog_usec)
		send_state("WATCHDOG=1");
}

void dsmd_notify_stopping(void)
{
	if (n.ready)
		send_state("STOPPING=1");
}
