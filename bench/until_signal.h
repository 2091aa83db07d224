/* SPDX-License-Identifier: GPL-2.0 */
/*
 * until_signal.h: for the bench tools that attach programs and stay until
 * told to go. until_signal_prepare() blocks SIGTERM and SIGINT (so neither
 * can land between the check and the wait) and installs their handler;
 * until_signal() then sleeps until one of them came.
 */
#ifndef DSM_BENCH_UNTIL_SIGNAL_H
#define DSM_BENCH_UNTIL_SIGNAL_H

#include <signal.h>

static volatile sig_atomic_t until_signal_stop;

static void until_signal_on(int sig)
{
	(void)sig;
	until_signal_stop = 1;
}

/* OLD receives the mask to wait with. */
static inline void until_signal_prepare(sigset_t *old)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, old);
	signal(SIGTERM, until_signal_on);
	signal(SIGINT, until_signal_on);
}

static inline void until_signal(const sigset_t *old)
{
	while (!until_signal_stop)
		sigsuspend(old);
}

#endif
