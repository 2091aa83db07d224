/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting and reporting, for every program of both objects: one counter
 * map, one event ring, one report(). A full ring buffer costs the event
 * (counted as DSM_CNT_EVENTS_DROPPED), never the verdict and never time.
 */
#ifndef DSM_BPF_REPORT_BPF_H
#define DSM_BPF_REPORT_BPF_H

#include "maps.bpf.h"

static __always_inline void count(enum dsm_counter which)
{
	__u32 k = which;
	__u64 *c = bpf_map_lookup_elem(&dsm_counters, &k);

	if (c)
		*c += 1; /* per-CPU slot: no atomic needed */
}

/* The body of an event, by kind. */
union dsm_event_body {
	struct dsm_ev_decision d;
	struct dsm_ev_packet p;
	struct dsm_ev_placeholder ph;
};

/* One event of @kind with @body, the verdict and the errno the caller got;
 * with @task, also the current task (programs that run in one: not tc). */
static __always_inline void report_event(const union dsm_event_body *body, __u32 kind,
					 __u32 verdict, __s32 err, bool task)
{
	struct dsm_event *e = bpf_ringbuf_reserve(&dsm_events, sizeof(*e), 0);

	if (!e) {
		count(DSM_CNT_EVENTS_DROPPED);
		return;
	}
	e->version = DSM_ABI_VERSION;
	e->kind = (__u8)kind;
	e->verdict = (__u8)verdict;
	e->err = err;
	e->time_ns = bpf_ktime_get_boot_ns();
	if (task) {
		__u64 id = bpf_get_current_pid_tgid();

		e->pid = id >> 32;
		e->tid = (__u32)id;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		e->tid = 0;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	}
	__builtin_memcpy(&e->d, body, sizeof(e->d));
	bpf_ringbuf_submit(e, 0);
}

/* An event from a program with no task context (tc). */
static __noinline __attribute__((unused)) void report(const union dsm_event_body *body, __u32 kind, __u32 verdict,
			      __s32 err)
{
	report_event(body, kind, verdict, err, false);
}

/* An event from an LSM hook: also the task that was running. */
static __noinline __attribute__((unused)) void report_task(const union dsm_event_body *body, __u32 kind, __u32 verdict,
				   __s32 err)
{
	report_event(body, kind, verdict, err, true);
}

#endif /* DSM_BPF_REPORT_BPF_H */
