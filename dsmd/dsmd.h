/* SPDX-License-Identifier: GPL-2.0 */
/* dsmd, the per-node Security Manager: shared state and subsystems. */
#ifndef DSMD_H
#define DSMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <syslog.h>

#include "alarm_sink.h"
#include "log.h"

#include "dsm/abi.h"
#include "policy.h"

#define DSMD_PIN_DIR   "/sys/fs/bpf/dsm"
#define DSMD_STATE_DIR "/run/dsm"
#define DSMD_MAX_NETNS 8

/* dsmd's exit status when the feature probe fails (probe.c): the kernel
 * cannot enforce, and starting again will not change that. */
#define DSMD_EXIT_PROBE 3

/* probe.c: 0 when this kernel can enforce dsm; else each failed check is
 * logged and -ENOTSUP returned. */
int dsmd_probe(void);

/* notify.c: the service manager's readiness protocol (READY=1 once
 * enforcement is on; reloads, watchdog, stopping). */
struct dsmd;
void dsmd_notify_ready(const struct dsmd *d);
void dsmd_notify_reloading(void);
void dsmd_notify_reloaded(const struct dsmd *d);
void dsmd_notify_tick(void);
void dsmd_notify_stopping(void);

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
	bool no_placeholder;  /* never give a UDP socket a placeholder (placeholder.c) */
	unsigned wire_version; /* option version to send: DSM_OPT_VERSION or _1 */
	const char *netns[DSMD_MAX_NETNS]; /* more network namespaces to label in */
	unsigned n_netns;
	unsigned epoch_seconds;
	unsigned epoch_window;
	uint64_t alarm_log_max; /* bytes; the alarm log is rotated beyond */
	enum dsmd_alarm_sink_mode alarm_sink; /* where alarms go besides the log */
	const char *join;       /* HOST:PORT to enrol at, once (uplink.h) */
	const char *join_token; /* hex, from `dsmctl node add` */
	const char *join_ca;    /* the cluster CA certificate the server must chain to */
	const char *ca_pin;     /* its SHA-256 (hex), checked when given */
	const char *servers[8]; /* the Security Servers, --join's first */
	unsigned n_servers;
	const char *server_state; /* the uplink's directory */
	const char *metrics_file; /* --metrics-file: Prometheus text, rewritten (metrics.c) */
};

#define DSMD_ALARM_LOG_MAX (8u << 20)

/* One alarm counter: (subject, target, class, perm, verdict). */
struct dsmd_alarm_count {
	uint32_t subject, target, perm, verdict;
	uint16_t class;
	uint64_t count;
};

struct dsm_lsm_bpf;
struct dsm_net_bpf;
struct dsmd_alarms;
struct dsmd_control;
struct dsm_loop;
struct dsmd_files;
struct dsmd_prot;
struct dsmd_pins;
struct dsmd_uplink;
struct dsmd_pairkeys;

struct dsmd {
	struct dsmd_opts o;
	struct dsm_lsm_bpf *lsm;      /* loaded LSM object (maps pinned by name) */
	struct dsm_net_bpf *net;      /* loaded packet object */
	bool takeover;                /* found pins: the programs were attached already */
	struct dsm_policy *policy;    /* the policy in force */
	char policy_source[600];      /* where it came from: the file or the server's bundle */
	uint32_t node_id;
	char node_name[64];
	struct dsm_loop *loop;       /* serve.c */
	struct dsmd_alarms *alarms;   /* alarm.c */
	struct dsmd_control *ctl;     /* control.c */
	bool unloaded;                /* an unload request removed dsm: exit */
	int heartbeat_fd;             /* STATE_DIR/heartbeat, touched every tick */
	int64_t heartbeat_ms;         /* wall clock of the last tick */
	struct dsmd_files *files;     /* files.c: policy and key file, by directory fd */
	struct dsmd_prot *prot;       /* protect.c: the protected set, by role */
	struct dsmd_pins *pins;       /* bpf.c: every pin, the links' fds */
	struct dsmd_uplink *uplink;   /* uplink*.c: NULL unless joined */
	struct dsmd_pairkeys *pairkeys; /* pairkeys.c: NULL until a generation is held */
	struct {                      /* placeholder.c: what became of the requests */
		uint64_t set, own_options, gone, refused, failed;
	} placeholders;
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
	DSMD_MAP_NAMES,
	DSMD_MAP_PROT_BITS,
	DSMD_MAP_PAIRKEYS,
	DSMD_MAP_PAIRADDRS,
};

/* bpf.c: objects in the kernel. */
int dsmd_bpf_pinned(const struct dsmd *d);          /* 1 if pins exist */
int dsmd_bpf_load(struct dsmd *d);                  /* open + load (takeover: reuse pins) */
int dsmd_bpf_attach_and_pin(struct dsmd *d);
int dsmd_bpf_unpin(const char *pin_dir);
struct bpf_program;
int dsmd_bpf_attach_cgroup(struct dsmd *d, struct bpf_program *prog, const char *cgroup);
int dsmd_bpf_policy_btf(const struct dsmd *d, int *btf_fd, uint32_t *key_id, uint32_t *val_id);
void dsmd_bpf_close(struct dsmd *d);
int dsmd_map_fd(const struct dsmd *d, enum dsmd_map m);
/* percpu.c: per-CPU arrays, sized by the kernel (not by /sys). */
int dsmd_cpu_slots(void);
int dsmd_bpf_counters(int fd, uint32_t n, uint64_t *out);
/* Are the pins still there, the same objects? 0 yes, 1 they were put
 * back (on a fresh bpffs: see bpf.c; the caller protects them),
 * -ESHUTDOWN removed from where they were (dsmd --unload): dsmd lets go
 * of the links and stops; other -errno. */
int dsmd_bpf_check_pins(struct dsmd *d);
/* Let go of the links dsmd holds, once they are unpinned (an unload):
 * the programs detach now, not as dsmd exits. */
void dsmd_bpf_release_links(struct dsmd *d);

/* policy.c: compile, resolve, install. */
/* Compile and resolve the policy file for this node, with its node-local
 * entries, into *out; nothing is installed. On failure why says what
 * stopped it (for "not installed because ..."). */
int dsmd_policy_prepare(struct dsmd *d, struct dsm_policy **out, char *why, size_t len);
/* Swap p in (it becomes d->policy; the previous one is freed). On failure
 * nothing changed and p is still the caller's. */
int dsmd_policy_install(struct dsmd *d, struct dsm_policy *p, char *why, size_t len);

/* generation.c: decisions cached in sockets stop counting. */
void dsmd_new_generation(const struct dsmd *d, const char *why);
/* The generation now (metrics): 0 or -errno. */
int dsmd_generation_read(const struct dsmd *d, uint32_t *gen);

/* reload.c: the one path from the policy and key files into the kernel. */
enum dsmd_reload_outcome {
	DSMD_RELOAD_DONE,          /* policy, keys, tags, protection: all in place */
	DSMD_RELOAD_NOT_INSTALLED, /* nothing changed */
	DSMD_RELOAD_INSTALLED_BUT, /* the new policy is in force; a later step failed */
};
struct dsmd_reload_result {
	enum dsmd_reload_outcome outcome;
	int err;
	uint64_t version;          /* of the policy in force afterwards */
	char what[384];            /* one line: what happened */
};
/* Read and install the policy, then the keys, the same-node tags and the
 * protection of the policy file; log the result. */
void dsmd_reload(struct dsmd *d, const char *why, struct dsmd_reload_result *r);

/* files.c: the policy and the key file, read through the directory each
 * was found in at start-up (no symlinks, no mount crossing). */
enum dsmd_file { DSMD_FILE_POLICY, DSMD_FILE_KEY, DSMD_FILE_MAX };
struct stat;
int dsmd_files_open(struct dsmd *d);  /* resolve the configured paths once */
void dsmd_files_close(struct dsmd *d);
int dsmd_file_open(const struct dsmd *d, enum dsmd_file f);  /* O_RDONLY fd or -errno */
int dsmd_file_read(const struct dsmd *d, enum dsmd_file f, char **buf, size_t *len, size_t max);
int dsmd_file_stat(const struct dsmd *d, enum dsmd_file f, struct stat *st);
int dsmd_file_dir(const struct dsmd *d, enum dsmd_file f, struct stat *st, const char **dir);
const char *dsmd_file_path(const struct dsmd *d, enum dsmd_file f); /* NULL: not configured */

/* protect.c: dsm's files in dsm_protected, by role; stale entries go. */
int dsmd_protect_all(struct dsmd *d);   /* every role: start, reload, re-pin */
int dsmd_protect_tick(struct dsmd *d);  /* the cheap roles again (replaced files) */
void dsmd_protect_free(struct dsmd *d);
/* Once a second from the main loop: pins, then protection; -ESHUTDOWN
 * when dsm was unloaded under dsmd. */
int dsmd_self_tick(struct dsmd *d);

/* label.c: labels of tasks. */
/* The file label of the executable pid runs (as the kernel would find it). */
uint32_t dsmd_exe_label(const struct dsm_policy *p, int pid);
int dsmd_pidfd_open(int pid); /* a pidfd, or -1 with errno */
/* The two start-up passes: before the hooks attach (every task), and
 * after (only what has no label yet: tasks forked in between). */
enum dsmd_label_pass { DSMD_LABEL_BEFORE_HOOKS, DSMD_LABEL_AFTER_HOOKS };
int dsmd_label_tasks(struct dsmd *d, enum dsmd_label_pass pass);
/* pid's label as the kernel sees it (no storage: p's initial label). */
int dsmd_task_label(const struct dsmd *d, const struct dsm_policy *p, int pid, uint32_t *label);
int dsmd_request_exec_label(const struct dsmd *d, int pid, uint32_t label);

/* net.c: the packet path. */
int dsmd_net_attach(struct dsmd *d);
int dsmd_net_detach_all(const struct dsmd_opts *o);
int dsmd_net_configure(struct dsmd *d);
/* The pair keys of d->pairkeys into the maps and the configuration. */
int dsmd_net_pairkeys(struct dsmd *d);
/* Same-node tags for every label of the installed policy (dsm/wire.h). */
int dsmd_net_tags(struct dsmd *d);
/* Once a second: the clock offset, the link watch. True when links
 * appeared, went or were renamed: interface rules want a reload. */
bool dsmd_net_tick(struct dsmd *d);
/* The node's local entries v (n) plus the interface rules resolved in
 * every --netns namespace: a new array (free it). */
int dsmd_net_local_entries(const struct dsmd *d, struct dsm_policy *p, const struct dsm_entry *v,
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
/* Give the routes through ifindex that have no MTU of their own the link's
 * MTU minus DSM_OPT_LEN; restore takes back exactly that MTU. Each returns
 * the number of routes changed, or -errno. */
int dsmd_link_routes_make_room(int ifindex);
int dsmd_link_routes_restore(int ifindex);
bool dsmd_link_is_loopback(const char *name); /* false also when it cannot tell */

/* alarm.c: events from the ring buffer, the alarm log. */
struct dsmd_alarm_stats {
	uint64_t received, written, suppressed, write_errors, rotations, kinds_full;
	uint64_t log_size;
	uint64_t journal_errors;   /* alarm_sink.c */
	size_t kinds;
};
int dsmd_alarm_open(struct dsmd *d);
/* The log alone, without the ring buffer (what the ring would feed is
 * dsmd_alarm_raise()'s then): for tests. */
int dsmd_alarm_open_log(struct dsmd *d);
const char *dsmd_alarm_path(const struct dsmd *d);
/* The descriptor that is readable when events wait (for the loop). */
int dsmd_alarm_fd(const struct dsmd *d);
/* Handle waiting events, a bounded number: 0 all done, 1 more wait, -errno. */
int dsmd_alarm_drain(struct dsmd *d);
/* An alarm dsmd raises itself (the control socket's decisions), handled
 * as one from the kernel. */
void dsmd_alarm_raise(struct dsmd *d, const struct dsm_event *e);
/* The same with a reason of dsmd's own in the record ("reason"). */
void dsmd_alarm_raise_reason(struct dsmd *d, const struct dsm_event *e, const char *reason);
/* Periodic: what the rate limit held back, a log that could not be opened. */
void dsmd_alarm_tick(struct dsmd *d);
void dsmd_alarm_stats(const struct dsmd *d, struct dsmd_alarm_stats *out);
void dsmd_alarm_close(struct dsmd *d);
/* Records are numbered ("seq", their first member) from 1, across
 * rotations and restarts: the highest number given so far; and a floor
 * the numbering continues above (the server's acknowledgement, which
 * survives what the log does not). */
uint64_t dsmd_alarm_last_seq(const struct dsmd *d);
void dsmd_alarm_seq_floor(struct dsmd *d, uint64_t seq);
/* The number of a log line ({"seq":N,...}); false for a line without. */
bool dsmd_alarm_line_seq(const char *line, size_t len, uint64_t *seq);
/* Call fn on each alarm counter. */
void dsmd_alarm_walk(const struct dsmd *d, void (*fn)(const struct dsmd_alarm_count *, void *),
		     void *ctx);
/* Every line written to the log from now on, as written ('\n' included). */
struct dsmd_alarm_follower {
	void (*record)(struct dsmd *d, struct dsmd_alarm_follower *f, const char *line,
		       size_t len);
	struct dsmd_alarm_follower *next;
};
void dsmd_alarm_follow(struct dsmd *d, struct dsmd_alarm_follower *f);
void dsmd_alarm_unfollow(struct dsmd *d, struct dsmd_alarm_follower *f);
/* The log from its oldest kept record (the rotated file, then the current
 * one), across rotations; read() returns 0 at the end of what is written. */
struct dsmd_alarm_reader {
	int fd;
	int64_t seq;
	uint64_t lost;             /* files rotated away before they were read */
};
int dsmd_alarm_reader_open(struct dsmd *d, struct dsmd_alarm_reader *r);
ssize_t dsmd_alarm_reader_read(struct dsmd *d, struct dsmd_alarm_reader *r, char *buf,
			       size_t len);
void dsmd_alarm_reader_close(struct dsmd_alarm_reader *r);

/* sockets.c: the dsm context of a socket dsmd holds. 0 or -errno. */
int dsmd_socket_ctx(const struct dsmd *d, int fd, struct dsm_sock_ctx *out);

/* placeholder.c: a request of the egress program (DSM_EV_PLACEHOLDER). */
void dsmd_placeholder_request(struct dsmd *d, const struct dsm_ev_placeholder *r);

/* authz.c: may the caller do perm (class dsm) to dsmd? 0, or -EACCES after
 * raising the alarm. */
struct dsmd_caller;
int dsmd_authorize(struct dsmd *d, const struct dsmd_caller *who, uint32_t perm);

/* unload.c: removing dsm from the kernel. */
/* Detach the packet programs, restore routes, remove every pin. */
int dsmd_unload_now(const struct dsmd_opts *o);
/* `dsmd --unload`: through the running dsmd if there is one, else
 * directly; says which. Returns the exit status. */
int dsmd_unload_command(const struct dsmd_opts *o);

/* metrics.c: every counter in the Prometheus text format (docs/metrics.md). */
struct prom_buf;
struct dsmd_call;
/* Add every family to b; up is dsm_up's value. b->err, 0 on success. */
int dsmd_metrics_collect(const struct dsmd *d, struct prom_buf *b, bool up);
/* The stats request: {"metrics": [families], "prometheus": TEXT}. */
void dsmd_metrics_request(struct dsmd *d, struct dsmd_call *call);
/* --metrics-file: start the writer thread (nothing without the option). */
int dsmd_metrics_open(struct dsmd *d);
/* Once a second: a new file every few seconds. */
void dsmd_metrics_tick(struct dsmd *d);
/* The last file (dsm_up 0), waited for a bounded time. */
void dsmd_metrics_close(struct dsmd *d);

/* serve.c: the event loop until SIGTERM, SIGINT or an unload. */
int dsmd_serve(struct dsmd *d);

#endif
