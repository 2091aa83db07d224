/* SPDX-License-Identifier: GPL-2.0 */
/* dsmd, the per-node Security Manager: shared state and subsystems. */
#ifndef DSMD_H
#define DSMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include "dsm/abi.h"
#include "policy.h"

#define DSMD_PIN_DIR   "/sys/fs/bpf/dsm"
#define DSMD_STATE_DIR "/run/dsm"
#define DSMD_MAX_NETNS 8

struct dsmd_opts {
	const char *policy_path;
	const char *pin_dir;
	const char *state_dir;
	const char *node;    /* name or number; default: the hostname */
	bool unload;         /* remove dsm's pins (detaches everything) */
	bool verbose;
	const char *key_file; /* cluster keys; none: local checks only */
	bool label_egress;    /* with keys: label what labeled sockets send */
	bool tcp_all;         /* label every TCP segment, not only the handshake */
	unsigned wire_version; /* option version to send: DSM_OPT_VERSION or _1 */
	const char *netns[DSMD_MAX_NETNS]; /* more network namespaces to label in */
	unsigned n_netns;
	unsigned epoch_seconds;
	unsigned epoch_window;
};

/* One alarm counter: (subject, target, class, perm, verdict). */
struct dsmd_alarm_count {
	uint32_t subject, target, perm, verdict;
	uint16_t class;
	uint64_t count;
};

struct dsm_lsm_bpf;
struct dsm_net_bpf;
struct ring_buffer;

struct dsmd {
	struct dsmd_opts o;
	struct dsm_lsm_bpf *skel;     /* NULL when we took over pinned objects */
	bool takeover;
	int policy_fd, tasks_fd, socks_fd, events_fd, counters_fd, protected_fd;
	int keys_fd, netcfg_fd, conn_fd, gen_fd, net_counters_fd, net_events_fd;
	struct dsm_net_bpf *net;      /* NULL when we took over */
	struct dsm_policy *policy;
	struct dsm_lsm_bpf *btf_skel; /* opened only for its BTF */
	int btf_fd;
	uint32_t btf_key_id, btf_val_id;
	uint32_t node_id;
	char node_name[64];
	struct ring_buffer *rb;
	FILE *alarm_log;
	char alarm_path[512];
	void *alarm_tree;             /* tsearch tree of struct dsmd_alarm_count */
	size_t alarm_kinds;
	int ctl_fd;
	char ctl_path[512];
};

/* Logging: "dsmd: <subsystem>: message" on stderr and to syslog. */
void dsmd_log(int prio, const char *sys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define log_err(sys, ...)  dsmd_log(LOG_ERR, sys, __VA_ARGS__)
#define log_warn(sys, ...) dsmd_log(LOG_WARNING, sys, __VA_ARGS__)
#define log_info(sys, ...) dsmd_log(LOG_INFO, sys, __VA_ARGS__)

/* bpf.c: objects in the kernel. */
int dsmd_bpf_pinned(const struct dsmd *d);          /* 1 if pins exist */
int dsmd_bpf_load(struct dsmd *d);                  /* open + load, no attach */
int dsmd_bpf_attach_and_pin(struct dsmd *d);
int dsmd_bpf_takeover(struct dsmd *d);              /* open pinned maps */
int dsmd_bpf_unpin(const char *pin_dir);
/* BTF fd and type ids for the policy maps dsmd creates (they must carry
 * BTF like the template libbpf created, or the kernel refuses the swap). */
int dsmd_bpf_policy_btf(struct dsmd *d);
void dsmd_bpf_close(struct dsmd *d);
int dsmd_bpf_counters(int fd, uint32_t n, uint64_t *out);

/* policy.c: compile, resolve, install. */
int dsmd_policy_load(struct dsmd *d);
void dsmd_new_generation(const struct dsmd *d, const char *why);
/* Add path's inode (or, whole_fs, its file system) to the protected set. */
int dsmd_protect_path(struct dsmd *d, const char *path, bool whole_fs);

/* label.c: labels of tasks. */
/* The label a task running exe_path gets when dsm starts: the policy's
 * transition from the initial label on the executable's label, else the
 * initial label. */
uint32_t dsmd_label_for_exe(const struct dsm_policy *p, const char *exe_path);
int dsmd_label_tasks(struct dsmd *d, bool only_unlabeled);
int dsmd_task_label(const struct dsmd *d, int pid, uint32_t *label);
int dsmd_request_exec_label(const struct dsmd *d, int pid, uint32_t label);

/* net.c: the packet path. */
int dsmd_net_load(struct dsmd *d);
int dsmd_net_attach(struct dsmd *d);
int dsmd_net_detach_all(const struct dsmd_opts *o);
int dsmd_net_configure(struct dsmd *d);
void dsmd_net_tick(struct dsmd *d);
void dsmd_net_close(struct dsmd *d);

/* link.c: routes and links labeling needs (rtnetlink). */
int dsmd_link_routes(int ifindex, bool undo); /* routes changed, or -errno */
int dsmd_link_gso_segs(int ifindex, unsigned segs);
bool dsmd_link_is_loopback(const char *name); /* false also when it cannot tell */

/* alarm.c: events from the ring buffer. */
int dsmd_alarm_open(struct dsmd *d);
int dsmd_alarm_poll(struct dsmd *d, int timeout_ms);
void dsmd_alarm_close(struct dsmd *d);
/* Call fn on each alarm counter. */
void dsmd_alarm_walk(const struct dsmd *d, void (*fn)(const struct dsmd_alarm_count *, void *),
		     void *ctx);

/* control.c: the unix socket dsmctl talks to. */
int dsmd_control_open(struct dsmd *d);
void dsmd_control_serve(struct dsmd *d);
void dsmd_control_close(struct dsmd *d);

#endif
