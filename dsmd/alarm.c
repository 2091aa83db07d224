// SPDX-License-Identifier: GPL-2.0
/*
 * Alarms: every denial and every permissive would-be denial arrives as a
 * struct dsm_event on the ring buffer. Each becomes one syslog line, one
 * JSON line in the alarm log (what `dsmctl alarms` reads) and one count per
 * (subject, target, class, permission, verdict). The kernel side never
 * waits for us: a full ring buffer drops events and counts the drops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "dsmd.h"
#include "dsm/wire.h"

/* A new alarm record: when, and on which node it was raised. */
static json_object *alarm_object(const struct dsmd *d, const char *when)
{
	json_object *o = json_object_new_object();

	if (o) {
		json_object_object_add(o, "time", json_object_new_string(when));
		json_object_object_add(o, "node", json_object_new_string(d->node_name));
		json_object_object_add(o, "node_id", json_object_new_int64(d->node_id));
	}
	return o;
}

/* One JSON line in the alarm log, then the object is released. */
static void write_alarm(struct dsmd *d, json_object *o)
{
	if (d->alarm_log) {
		fprintf(d->alarm_log, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		fflush(d->alarm_log);
	}
	json_object_put(o);
}

static int cmp_count(const void *a, const void *b)
{
	const struct dsmd_alarm_count *x = a, *y = b;

#define CMP(f) if (x->f != y->f) return x->f < y->f ? -1 : 1
	CMP(subject);
	CMP(target);
	CMP(class);
	CMP(perm);
	CMP(verdict);
#undef CMP
	return 0;
}

static int bump(struct dsmd *d, const struct dsm_event *e)
{
	struct dsmd_alarm_count key = {
		.subject = e->subject, .target = e->target, .class = e->class,
		.perm = e->perm, .verdict = e->verdict,
	};
	struct dsmd_alarm_count **slot, *c;

	slot = tfind(&key, &d->alarm_tree, cmp_count);
	if (slot) {
		(*slot)->count++;
		return 0;
	}
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = key;
	c->count = 1;
	if (!tsearch(c, &d->alarm_tree, cmp_count)) {
		free(c);
		return -ENOMEM;
	}
	d->alarm_kinds++;
	return 0;
}

static void format_time(uint64_t boot_ns, char *buf, size_t len)
{
	struct timespec rt, bt;
	int64_t wall_ns;
	time_t sec;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	wall_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec -
		  ((int64_t)bt.tv_sec * 1000000000 + bt.tv_nsec - (int64_t)boot_ns);
	sec = (time_t)(wall_ns / 1000000000);
	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06uZ", (unsigned)(wall_ns % 1000000000 / 1000) % 1000000u);
}

static void add_label(json_object *o, const char *key, const char *idkey,
		      const struct dsm_policy *p, uint32_t id)
{
	const char *name = p ? dsm_policy_label_name(p, id) : NULL;

	if (name)
		json_object_object_add(o, key, json_object_new_string(name));
	json_object_object_add(o, idkey, json_object_new_int64(id));
}

static const char *node_name(const struct dsmd *d, uint32_t node)
{
	const char *n;

	if (node == DSM_NODE_LOCAL)
		return d->node_name;
	if (node == DSM_NODE_ANY)
		return "any";
	n = d->policy ? dsm_policy_node_name(d->policy, node) : NULL;
	return n ? n : "?";
}

/* Why a peer was refused, from the errno the hook returned. */
static const char *peer_reason(int err)
{
	switch (-err) {
	case 74:  return "malformed";  /* EBADMSG */
	case 129: return "forged";     /* EKEYREJECTED: unknown key or wrong MAC */
	case 116: return "stale";      /* ESTALE: epoch outside the window */
	default:  return "policy";
	}
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct dsmd *d = ctx;
	const struct dsm_event *e = data;
	const char *cls, *perm, *verdict, *sname, *tname;
	char when[40], comm[DSM_COMM_LEN + 1], sbuf[16], tbuf[16], peer_addr[INET_ADDRSTRLEN] = "";
	json_object *o;

	if (size < sizeof(*e) || e->version != DSM_ABI_VERSION) {
		log_warn("alarm", "event of %zu bytes, version %u: ignored", size,
			 size >= 2 ? e->version : 0);
		return 0;
	}
	memcpy(comm, e->comm, DSM_COMM_LEN);
	comm[DSM_COMM_LEN] = '\0';
	format_time(e->time_ns, when, sizeof(when));
	cls = dsm_class_name(e->class);
	perm = dsm_perm_name(e->class, e->perm);
	verdict = e->verdict == DSM_VERDICT_PERMISSIVE ? "permissive" : "deny";
	sname = d->policy ? dsm_policy_label_name(d->policy, e->subject) : NULL;
	tname = d->policy ? dsm_policy_label_name(d->policy, e->target) : NULL;
	snprintf(sbuf, sizeof(sbuf), "%u", e->subject);
	snprintf(tbuf, sizeof(tbuf), "%u", e->target);

	if (e->class == DSM_CLASS_PEER) {
		struct in_addr a = { .s_addr = e->aux };

		inet_ntop(AF_INET, &a, peer_addr, sizeof(peer_addr));
		dsmd_log(LOG_WARNING, "alarm", "%s %s@%s -> %s peer recv from %s (%s)", verdict,
			 sname ? sname : sbuf, node_name(d, e->subject_node),
			 tname ? tname : tbuf, peer_addr, peer_reason(e->err));
	} else {
		dsmd_log(LOG_WARNING, "alarm", "%s %s@%s -> %s %s %s pid=%u comm=%s%s", verdict,
			 sname ? sname : sbuf, node_name(d, e->subject_node),
			 tname ? tname : tbuf, cls ? cls : "?", perm ? perm : "?", e->pid, comm,
			 e->subject == DSM_LABEL_INVALID ? " (internal error: failed closed)" : "");
	}
	if (bump(d, e))
		log_err("alarm", "out of memory counting alarms");

	o = alarm_object(d, when);
	if (!o)
		return 0;
	json_object_object_add(o, "pid", json_object_new_int64(e->pid));
	json_object_object_add(o, "tid", json_object_new_int64(e->tid));
	json_object_object_add(o, "comm", json_object_new_string(comm));
	add_label(o, "subject", "subject_id", d->policy, e->subject);
	json_object_object_add(o, "subject_node",
			       json_object_new_string(node_name(d, e->subject_node)));
	add_label(o, "target", "target_id", d->policy, e->target);
	if (cls)
		json_object_object_add(o, "class", json_object_new_string(cls));
	if (perm)
		json_object_object_add(o, "perm", json_object_new_string(perm));
	json_object_object_add(o, "verdict", json_object_new_string(verdict));
	json_object_object_add(o, "errno", json_object_new_int(-e->err));
	if (e->class == DSM_CLASS_PEER) {
		json_object_object_add(o, "saddr", json_object_new_string(peer_addr));
		json_object_object_add(o, "subject_node_id", json_object_new_int64(e->subject_node));
		json_object_object_add(o, "reason", json_object_new_string(peer_reason(e->err)));
	}
	json_object_object_add(o, "aux", json_object_new_int64(e->aux));
	write_alarm(d, o);
	return 0;
}

static const char *net_reason(unsigned r)
{
	static const char *const names[] = {
		[DSM_NR_NOROOM_OPTSPACE] = "no option space",
		[DSM_NR_NOROOM_MTU] = "would exceed the MTU",
		[DSM_NR_NOROOM_GSO] = "GSO packet",
		[DSM_NR_NOROOM_ADJUST] = "header could not grow",
		[DSM_NR_NOROOM_NOKEY] = "no valid sending key",
		[DSM_NR_EGRESS_OPTIONS] = "own options malformed",
		[DSM_NR_MALFORMED] = "malformed",
		[DSM_NR_NOKEY] = "unknown key",
		[DSM_NR_BADMAC] = "wrong MAC",
		[DSM_NR_STALE] = "stale epoch",
	};

	return r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?";
}

/* A packet the packet programs dropped (egress: could not be labeled). */
static int handle_net_event(void *ctx, void *data, size_t size)
{
	struct dsmd *d = ctx;
	const struct dsm_net_event *e = data;
	char when[40], src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	struct in_addr a;
	json_object *o;

	if (size < sizeof(*e) || e->version != DSM_NET_EVENT_VERSION)
		return 0;
	format_time(e->time_ns, when, sizeof(when));
	a.s_addr = e->saddr;
	inet_ntop(AF_INET, &a, src, sizeof(src));
	a.s_addr = e->daddr;
	inet_ntop(AF_INET, &a, dst, sizeof(dst));
	dsmd_log(LOG_WARNING, "alarm", "drop %s packet %s -> %s proto %u: %s",
		 e->direction == DSM_NEV_DIR_EGRESS ? "outgoing" : "incoming", src, dst, e->protocol,
		 net_reason(e->reason));
	o = alarm_object(d, when);
	if (!o)
		return 0;
	json_object_object_add(o, "class", json_object_new_string("packet"));
	json_object_object_add(o, "verdict", json_object_new_string("drop"));
	json_object_object_add(o, "direction", json_object_new_string(
		e->direction == DSM_NEV_DIR_EGRESS ? "egress" : "ingress"));
	json_object_object_add(o, "reason", json_object_new_string(net_reason(e->reason)));
	json_object_object_add(o, "saddr", json_object_new_string(src));
	json_object_object_add(o, "daddr", json_object_new_string(dst));
	json_object_object_add(o, "protocol", json_object_new_int(e->protocol));
	json_object_object_add(o, "ifindex", json_object_new_int64(e->ifindex));
	write_alarm(d, o);
	return 0;
}

int dsmd_alarm_open(struct dsmd *d)
{
	int n = snprintf(d->alarm_path, sizeof(d->alarm_path), "%s/alarms.jsonl", d->o.state_dir);

	if (n < 0 || (size_t)n >= sizeof(d->alarm_path))
		return -ENAMETOOLONG;
	d->alarm_log = fopen(d->alarm_path, "ae");
	if (!d->alarm_log) {
		int err = -errno;

		log_err("alarm", "open %s: %s", d->alarm_path, strerror(-err));
		return err;
	}
	d->rb = ring_buffer__new(d->events_fd, handle_event, d, NULL);
	if (!d->rb) {
		int err = -errno;

		log_err("alarm", "ring buffer: %s", strerror(-err));
		return err;
	}
	if (d->net_events_fd >= 0) {
		int err = ring_buffer__add(d->rb, d->net_events_fd, handle_net_event, d);

		if (err) {
			log_err("alarm", "packet ring buffer: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

int dsmd_alarm_poll(struct dsmd *d, int timeout_ms)
{
	int n = ring_buffer__poll(d->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

static void (*walk_fn)(const struct dsmd_alarm_count *, void *);
static void *walk_ctx;

static void walk_action(const void *node, VISIT which, int depth)
{
	(void)depth;
	if (which == postorder || which == leaf)
		walk_fn(*(const struct dsmd_alarm_count *const *)node, walk_ctx);
}

void dsmd_alarm_walk(const struct dsmd *d, void (*fn)(const struct dsmd_alarm_count *, void *),
		     void *ctx)
{
	walk_fn = fn;
	walk_ctx = ctx;
	twalk(d->alarm_tree, walk_action);
}

void dsmd_alarm_close(struct dsmd *d)
{
	ring_buffer__free(d->rb);
	d->rb = NULL;
	tdestroy(d->alarm_tree, free);
	d->alarm_tree = NULL;
	if (d->alarm_log)
		fclose(d->alarm_log);
	d->alarm_log = NULL;
}
