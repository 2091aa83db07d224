// SPDX-License-Identifier: GPL-2.0
/*
 * What the control socket serves (docs/dsmctl.md, "Control protocol"), and
 * the class dsm permission each request needs (authz.c decides it before
 * the handler runs):
 *
 *   status             query      node, mode, policy, counters, alarm counts
 *   stats              query      every metric, as JSON and Prometheus text
 *   ps                 query      every process and its label
 *   alarms [follow]    query      the alarm log as JSON lines (a stream)
 *   peerlabel          peerlabel  the peer of the socket passed with it
 *   exec-label LABEL   admin      the caller's label at its next exec
 *   reload             admin      the policy and keys, as on SIGHUP
 *   unload             admin      remove dsm from the kernel, then exit
 *
 * A request for an exec label applies to the requesting process only
 * (SO_PEERCRED), and the kernel still checks process:transition at that
 * exec, so the socket grants nothing the policy does not.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control.h"
#include "dsmd.h"
#include "dsm/wire.h"

/* Answer an error and leave the handler. */
#define refuse(c, ...) do { dsmd_client_error(c, __VA_ARGS__); return; } while (0)

static json_object *ok_obj(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* ---- status -------------------------------------------------------------- */

static void add_alarm(const struct dsmd_alarm_count *c, void *ctx)
{
	json_object *arr = ctx, *a = json_object_new_object();
	const char *s;

	add_int(a, "subject_id", c->subject);
	add_int(a, "target_id", c->target);
	if ((s = dsm_class_name(c->class)))
		json_object_object_add(a, "class", json_object_new_string(s));
	if ((s = dsm_perm_name(c->class, c->perm)))
		json_object_object_add(a, "perm", json_object_new_string(s));
	json_object_object_add(a, "verdict", json_object_new_string(
		c->verdict == DSM_VERDICT_PERMISSIVE ? "permissive" : "deny"));
	add_int(a, "count", (int64_t)c->count);
	json_object_array_add(arr, a);
}

static void name_alarms(const struct dsmd *d, json_object *arr)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *a = json_object_array_get_idx(arr, i), *v;
		const char *n;

		if (json_object_object_get_ex(a, "subject_id", &v) &&
		    (n = dsm_policy_label_name(d->policy, (uint32_t)json_object_get_int64(v))))
			json_object_object_add(a, "subject", json_object_new_string(n));
		if (json_object_object_get_ex(a, "target_id", &v) &&
		    (n = dsm_policy_label_name(d->policy, (uint32_t)json_object_get_int64(v))))
			json_object_object_add(a, "target", json_object_new_string(n));
	}
}

/* Every counter (enum dsm_counter) by status group and name. */
static const struct {
	const char *group, *name;
} counter_names[DSM_CNT_MAX] = {
	[DSM_CNT_DENIED]             = { "counters", "denied" },
	[DSM_CNT_PERMISSIVE]         = { "counters", "permissive" },
	[DSM_CNT_EVENTS_DROPPED]     = { "counters", "events_dropped" },
	[DSM_CNT_ERRORS]             = { "counters", "errors" },
	[DSM_CNT_CONN_LOST]          = { "counters", "connections_lost" },
	[DSM_CNT_PKT_LABELED]        = { "packets", "labeled" },
	[DSM_CNT_PKT_NOT_LABELED]    = { "packets", "not_labeled" },
	[DSM_CNT_PKT_LOCAL]          = { "packets", "local" },
	[DSM_CNT_PKT_DROP_NOROOM]    = { "packets", "dropped_noroom" },
	[DSM_CNT_PKT_DROP_FOREIGN]   = { "packets", "dropped_foreign" },
	[DSM_CNT_PKT_VERIFIED]       = { "packets", "verified" },
	[DSM_CNT_PKT_UNLABELED_IN]   = { "packets", "unlabeled_in" },
	[DSM_CNT_PKT_DROP_MALFORMED] = { "packets", "dropped_malformed" },
	[DSM_CNT_PKT_DROP_BADMAC]    = { "packets", "dropped_badmac" },
	[DSM_CNT_PKT_DROP_STALE]     = { "packets", "dropped_stale" },
	[DSM_CNT_PKT_RELAYED]        = { "packets", "relayed" },
	[DSM_CNT_TOKEN_NOROOM]       = { "packets", "token_noroom" },
	[DSM_CNT_TOKEN_BARE_ACK]     = { "packets", "token_bare_ack" },
};

/* o.counters and o.packets: every counter by name; empty if unreadable. */
static void add_counters(const struct dsmd *d, json_object *o)
{
	json_object *groups[2] = { json_object_new_object(), json_object_new_object() };
	uint64_t v[DSM_CNT_MAX];

	if (dsmd_bpf_counters(dsmd_map_fd(d, DSMD_MAP_COUNTERS), DSM_CNT_MAX, v) == 0)
		for (uint32_t i = 0; i < DSM_CNT_MAX; i++)
			add_int(groups[strcmp(counter_names[i].group, "counters") != 0],
				counter_names[i].name, (int64_t)v[i]);
	json_object_object_add(o, "counters", groups[0]);
	json_object_object_add(o, "packets", groups[1]);
}

static json_object *policy_obj(const struct dsmd *d)
{
	json_object *pol = json_object_new_object();
	size_t nlabels, nent, nres;

	dsm_policy_labels(d->policy, &nlabels);
	dsm_policy_entries(d->policy, &nent);
	dsm_policy_resolved_entries(d->policy, &nres);
	json_object_object_add(pol, "name", json_object_new_string(dsm_policy_name(d->policy)));
	add_int(pol, "version", (int64_t)dsm_policy_version(d->policy));
	add_int(pol, "labels", (int64_t)nlabels);
	add_int(pol, "entries", (int64_t)(nent + nres + 1));
	json_object_object_add(pol, "source", json_object_new_string(d->policy_source));
	return pol;
}

/* The bounds of dsmd's own bookkeeping and what they cost (drops). */
static void add_bookkeeping(const struct dsmd *d, json_object *o)
{
	json_object *log = json_object_new_object(), *ctl = json_object_new_object(), *ph;
	struct dsmd_control_stats cs;
	struct dsmd_alarm_stats as;
	struct timespec now;

	dsmd_alarm_stats(d, &as);
	json_object_object_add(log, "path", json_object_new_string(dsmd_alarm_path(d)));
	add_int(log, "bytes", (int64_t)as.log_size);
	add_int(log, "max_bytes", (int64_t)d->o.alarm_log_max);
	add_int(log, "rotations", (int64_t)as.rotations);
	add_int(log, "received", (int64_t)as.received);
	add_int(log, "written", (int64_t)as.written);
	add_int(log, "suppressed", (int64_t)as.suppressed);
	add_int(log, "write_errors", (int64_t)as.write_errors);
	add_int(log, "kinds", (int64_t)as.kinds);
	add_int(log, "kinds_not_counted", (int64_t)as.kinds_full);
	json_object_object_add(o, "alarm_log", log);

	dsmd_control_stats(d, &cs);
	add_int(ctl, "clients", (int64_t)cs.clients);
	add_int(ctl, "max_clients", DSMD_CTL_CLIENTS_MAX);
	add_int(ctl, "served", (int64_t)cs.served);
	add_int(ctl, "denied", (int64_t)cs.denied);
	add_int(ctl, "turned_away", (int64_t)cs.rejected_busy);
	add_int(ctl, "timed_out", (int64_t)cs.timed_out);
	add_int(ctl, "closed_early", (int64_t)cs.closed_early);
	add_int(ctl, "bad_requests", (int64_t)cs.bad_requests);
	json_object_object_add(o, "control", ctl);

	/* placeholder.c: the egress program's requests, by outcome */
	ph = json_object_new_object();
	add_int(ph, "set", (int64_t)d->placeholders.set);
	add_int(ph, "own_options", (int64_t)d->placeholders.own_options);
	add_int(ph, "gone", (int64_t)d->placeholders.gone);
	add_int(ph, "refused", (int64_t)d->placeholders.refused);
	add_int(ph, "failed", (int64_t)d->placeholders.failed);
	json_object_object_add(o, "placeholders", ph);

	clock_gettime(CLOCK_REALTIME, &now);
	add_int(o, "heartbeat_age_ms",
		(int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - d->heartbeat_ms);
}

static void do_status(struct dsmd *d, struct dsmd_call *call)
{
	json_object *o = json_object_new_object(), *node, *alarms;

	add_int(o, "pid", getpid());
	node = json_object_new_object();
	add_int(node, "id", d->node_id);
	json_object_object_add(node, "name", json_object_new_string(d->node_name));
	json_object_object_add(o, "node", node);
	json_object_object_add(o, "mode", json_object_new_string(
		dsm_policy_mode(d->policy) == DSM_MODE_PERMISSIVE ? "permissive" : "enforcing"));
	json_object_object_add(o, "takeover", json_object_new_boolean(d->takeover));
	json_object_object_add(o, "policy", policy_obj(d));
	add_counters(d, o);
	add_bookkeeping(d, o);
	alarms = json_object_new_array();
	dsmd_alarm_walk(d, add_alarm, alarms);
	name_alarms(d, alarms);
	json_object_object_add(o, "alarms", alarms);
	dsmd_client_answer(call->client, o);
}

/* ---- ps ------------------------------------------------------------------ */

static json_object *process_obj(const struct dsmd *d, int pid)
{
	char path[64], comm[64] = "";
	json_object *e;
	const char *name;
	uint32_t label;
	FILE *f;

	if (dsmd_task_label(d, d->policy, pid, &label))
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	e = json_object_new_object();
	add_int(e, "pid", pid);
	name = dsm_policy_label_name(d->policy, label);
	if (name)
		json_object_object_add(e, "label", json_object_new_string(name));
	add_int(e, "label_id", label);
	json_object_object_add(e, "comm", json_object_new_string(comm));
	return e;
}

static void do_ps(struct dsmd *d, struct dsmd_call *call)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array(), *e;
	struct dirent *de;
	DIR *proc = opendir("/proc");

	while (proc && (de = readdir(proc)))
		if (isdigit((unsigned char)de->d_name[0]) && (e = process_obj(d, atoi(de->d_name))))
			json_object_array_add(arr, e);
	if (proc)
		closedir(proc);
	json_object_object_add(o, "processes", arr);
	dsmd_client_answer(call->client, o);
}

/* ---- exec-label, reload, unload ----------------------------------------- */

static void do_exec_label(struct dsmd *d, struct dsmd_call *call)
{
	const char *label = call->arg;
	json_object *o;
	uint32_t id;
	int err;

	if (!label)
		refuse(call->client, "exec-label: no label given");
	if (dsm_policy_label_id(d->policy, label, &id))
		refuse(call->client, "exec-label: no label '%.255s' in the policy",
					 label);
	if (call->caller->pid <= 0)
		refuse(call->client, "exec-label: cannot identify the caller");
	err = dsmd_request_exec_label(d, call->caller->pid, id);
	if (err)
		refuse(call->client, "exec-label: %s", strerror(-err));
	o = ok_obj();
	json_object_object_add(o, "label", json_object_new_string(label));
	add_int(o, "label_id", id);
	dsmd_client_answer(call->client, o);
}

static void do_reload(struct dsmd *d, struct dsmd_call *call)
{
	struct dsmd_reload_result r;
	json_object *o;

	dsmd_reload(d, "control request", &r);
	if (r.outcome == DSMD_RELOAD_DONE) {
		o = ok_obj();
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(r.what));
	}
	json_object_object_add(o, "installed",
			       json_object_new_boolean(r.outcome != DSMD_RELOAD_NOT_INSTALLED));
	add_int(o, "version", (int64_t)r.version);
	json_object_object_add(o, "result", json_object_new_string(r.what));
	dsmd_client_answer(call->client, o);
}

static void do_unload(struct dsmd *d, struct dsmd_call *call)
{
	json_object *o;
	int err = dsmd_unload_now(&d->o);

	if (err) {
		log_error("control: unload incomplete: %s; dsmd keeps running", strerror(-err));
		refuse(call->client, "unload incomplete: %s", strerror(-err));
	}
	/* The pins are gone; dsmd's own references are the last: detach
	 * now, so that the answer means the programs are off. */
	dsmd_bpf_release_links(d);
	log_info("control: unloaded: dsm no longer enforces on this node; exiting");
	d->unloaded = true;
	o = ok_obj();
	add_int(o, "pid", getpid());
	dsmd_client_answer(call->client, o);
}

/* ---- peerlabel ------------------------------------------------------------ */

/* The peer of a socket the client handed over (SCM_RIGHTS). */
static void do_peerlabel(struct dsmd *d, struct dsmd_call *call)
{
	struct dsm_sock_ctx c;
	json_object *o;
	const char *n;
	uint32_t node;
	int err;

	if (call->passed_fd < 0)
		refuse(call->client, "peerlabel: no socket passed");
	err = dsmd_socket_ctx(d, call->passed_fd, &c);
	if (err)
		refuse(call->client, "peerlabel: the socket carries no dsm label "
					 "(%s)", strerror(-err));
	if (c.peer_label == DSM_LABEL_INVALID)
		refuse(call->client, "peerlabel: no peer checked on this socket "
					 "yet");
	o = json_object_new_object();
	add_int(o, "label_id", c.peer_label);
	if ((n = dsm_policy_label_name(d->policy, c.peer_label)))
		json_object_object_add(o, "label", json_object_new_string(n));
	/* A unix peer is on this node (DSM_NODE_LOCAL): name the node. */
	node = c.peer_node == DSM_NODE_LOCAL ? d->node_id : c.peer_node;
	add_int(o, "node_id", node);
	n = node == DSM_NODE_ANY ? "any" : node == d->node_id ? d->node_name :
	    dsm_policy_node_name(d->policy, node);
	if (n)
		json_object_object_add(o, "node", json_object_new_string(n));
	json_object_object_add(o, "bound", json_object_new_boolean(c.flags & DSM_SOCK_F_PEER_BOUND));
	dsmd_client_answer(call->client, o);
}

/* ---- alarms: a stream of the log, and with follow of what comes --------- */

#define ALARM_CHUNK (64u << 10)

struct alarm_stream {
	struct dsmd_alarm_follower f; /* first: the follower is the stream */
	struct dsmd_client *c;
	struct dsmd_alarm_reader r;
	bool follow, live;
	uint64_t dropped;             /* records a slow follower missed */
};

static void write_obj(struct dsmd_client *c, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char line[256];
	int n = snprintf(line, sizeof(line), "%s\n", s);

	if (n > 0 && (size_t)n < sizeof(line))
		dsmd_client_write(c, line, (size_t)n);
	json_object_put(o);
}

/* A live record; one a slow client has no room for is counted, and said
 * missing as soon as there is room again. */
static void alarm_record(struct dsmd *d, struct dsmd_alarm_follower *f, const char *line,
			 size_t len)
{
	struct alarm_stream *s = (struct alarm_stream *)f;
	json_object *note;

	(void)d;
	if (s->dropped && dsmd_client_room(s->c) >= len + 64) {
		note = json_object_new_object();
		add_int(note, "dropped", (int64_t)s->dropped);
		write_obj(s->c, note);
		s->dropped = 0;
	}
	if (dsmd_client_write(s->c, line, len))
		s->dropped++;
}

/* History first, from the file; then (follow) live records. */
static int alarm_fill(struct dsmd *d, struct dsmd_client *c, void *ctx)
{
	struct alarm_stream *s = ctx;
	static char buf[ALARM_CHUNK];
	size_t room = dsmd_client_room(c);
	json_object *end;
	ssize_t n;

	if (s->live)
		return 0;
	n = dsmd_alarm_reader_read(d, &s->r, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n > 0) {
		dsmd_client_write(c, buf, (size_t)n);
		return 1;
	}
	end = json_object_new_object();
	if (n < 0) {
		json_object_object_add(end, "error", json_object_new_string(strerror((int)-n)));
	} else if (s->follow) {
		json_object_put(end);
		dsmd_alarm_reader_close(&s->r);
		s->live = true;
		dsmd_alarm_follow(d, &s->f);
		return 0;
	} else {
		json_object_object_add(end, "end", json_object_new_string("alarms"));
		add_int(end, "lost_files", (int64_t)s->r.lost);
	}
	write_obj(c, end);
	dsmd_client_finish(c);
	return 0;
}

static void alarm_end(struct dsmd *d, void *ctx)
{
	struct alarm_stream *s = ctx;

	if (s->live)
		dsmd_alarm_unfollow(d, &s->f);
	dsmd_alarm_reader_close(&s->r);
	free(s);
}

static void do_alarms(struct dsmd *d, struct dsmd_call *call)
{
	struct alarm_stream *s;
	json_object *head;
	int err;

	if (call->arg && strcmp(call->arg, "follow"))
		refuse(call->client, "alarms: unknown argument '%.64s' (only "
					 "'follow')", call->arg);
	s = calloc(1, sizeof(*s));
	if (!s)
		refuse(call->client, "alarms: out of memory");
	s->f.record = alarm_record;
	s->c = call->client;
	s->follow = call->arg != NULL;
	err = dsmd_alarm_reader_open(d, &s->r);
	if (err) {
		free(s);
		refuse(call->client, "alarms: %s: %s", dsmd_alarm_path(d),
					 strerror(-err));
	}
	dsmd_client_stream(call->client, alarm_fill, alarm_end, s);
	head = json_object_new_object();
	json_object_object_add(head, "stream", json_object_new_string("alarms"));
	json_object_object_add(head, "follow", json_object_new_boolean(s->follow));
	write_obj(call->client, head);
}

const struct dsmd_request dsmd_requests[] = {
	{ "status",     DSM_PERM_QUERY,     do_status },
	{ "stats",      DSM_PERM_QUERY,     dsmd_metrics_request },
	{ "ps",         DSM_PERM_QUERY,     do_ps },
	{ "alarms",     DSM_PERM_QUERY,     do_alarms },
	{ "peerlabel",  DSM_PERM_PEERLABEL, do_peerlabel },
	{ "exec-label", DSM_PERM_ADMIN,     do_exec_label },
	{ "reload",     DSM_PERM_ADMIN,     do_reload },
	{ "unload",     DSM_PERM_ADMIN,     do_unload },
};
const size_t dsmd_nrequests = sizeof(dsmd_requests) / sizeof(dsmd_requests[0]);
