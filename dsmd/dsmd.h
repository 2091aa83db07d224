/* SPDX-License-Identifier: GPL-2.0 */
/* dsmd, the per-node Security Manager: shared state and subsystems. */
#ifndef DSMD_H
#define DSMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

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
	struct dsm_lsm_bpf *lsm;      /* loaded LSM object (maps pinned by name) */
	struct dsm_net_bpf *net;      /* loaded packet object */
	bool takeover;                /* found pins: the programs were attached already */
	struct dsm_policy *policy;
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

/* The maps dsmd reads and writes, by role. */
enum dsmd_map {
	DSMD_MAP_POLICY,
	DSMD_MAP_GEN,
	DSMD_MAP_TASKS,
	DSMD_MAP_SOCKETS,
	DSMD_MAP_EVENTS,
	DSMD_MAP_COUNTERS,
	DSMD_MAP_PROTECTED,
	DSMD_MAP_KEYS,
	DSMD_MAP_NETCFG,
	DSMD_MAP_TAGS,
};

/* bpf.c: objects in the kernel. */
int dsmd_bpf_pinned(const struct dsmd *d);          /* 1 if pins exist */
int dsmd_bpf_load(struct dsmd *d);                  /* open + load (takeover: reuse pins) */
int dsmd_bpf_attach_and_pin(struct dsmd *d);
int dsmd_bpf_unpin(const char *pin_dir);
int dsmd_bpf_policy_btf(const struct dsmd *d, int *btf_fd, uint32_t *key_id, uint32_t *val_id);
void dsmd_bpf_close(struct dsmd *d);
int dsmd_map_fd(const struct dsmd *d, enum dsmd_map m);
int dsmd_bpf_counters(int fd, uint32_t n, uint64_t *out);

/* policy.c: compile, resolve, install. */
int dsmd_policy_load(struct dsmd *d);
void dsmd_new_generation(const struct dsmd *d, const char *why);
/* Add path's inode (or, whole_fs, its file system) to the protected set. */
int dsmd_protect_path(struct dsmd *d, const char *path, bool whole_fs);

/* label.c: labels of tasks. */
/* The file label of the executable pid runs (as the kernel would find it). */
uint32_t dsmd_exe_label(const struct dsm_policy *p, int pid);
int dsmd_label_tasks(struct dsmd *d, bool only_unlabeled);
/* pid's label as the kernel sees it (no storage: p's initial label). */
int dsmd_task_label(const struct dsmd *d, const struct dsm_policy *p, int pid, uint32_t *label);
int dsmd_request_exec_label(const struct dsmd *d, int pid, uint32_t label);

/* net.c: the packet path. */
int dsmd_net_attach(struct dsmd *d);
int dsmd_net_detach_all(const struct dsmd_opts *o);
int dsmd_net_configure(struct dsmd *d);
/* Same-node tags for every label of the installed policy (dsm/wire.h). */
int dsmd_net_tags(struct dsmd *d);
void dsmd_net_tick(struct dsmd *d);
/* The node's local entries v (n) plus the interface rules resolved in
 * every --netns namespace: a new array (free it). */
int dsmd_net_local_entries(struct dsmd *d, struct dsm_policy *p, const struct dsm_entry *v,
			   size_t n, struct dsm_entry **out, size_t *nout);

/* link.c: routes and links labeling needs (rtnetlink). */
struct dsmd_link {
	int ifindex;
	unsigned type;       /* ARPHRD_* */
	unsigned flags;      /* IFF_* */
	int master;          /* IFLA_MASTER, 0 for none */
	char name[16];       /* IFNAMSIZ */
	char kind[16];       /* IFLA_INFO_KIND: "veth", "bridge", "vlan", ...; "" for none */
	bool builds_header;  /* a GRE device that builds its own link header */
};
/* Every link of the current network namespace: a new array (free it). */
int dsmd_link_list(struct dsmd_link **out, size_t *n);
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
