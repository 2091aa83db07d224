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

static int bump(struct dsmd *d, const struct dsm_ev_decision *e, uint32_t verdict)
{
	struct dsmd_alarm_count key = {
		.subject = e->subject, .target = e->target, .class = e->class,
		.perm = e->perm, .verdict = verdict,
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

/* The sender's address of a peer decision, as text. */
static void peer_address(const struct dsm_ev_decision *e, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!inet_ntop(e->family == AF_INET6 ? AF_INET6 : AF_INET, e->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* A denial or a permissive would-be denial. */
static void handle_decision(struct dsmd *d, const struct dsm_event *ev, const char *when,
			    const char *comm)
{
	const struct dsm_ev_decision *e = &ev->d;
	const char *cls, *perm, *verdict, *sname, *tname;
	char sbuf[16], tbuf[16], peer_addr[INET6_ADDRSTRLEN] = "";
	json_object *o;

	cls = dsm_class_name(e->class);
	perm = dsm_perm_name(e->class, e->perm);
	verdict = ev->verdict == DSM_VERDICT_PERMISSIVE ? "permissive" : "deny";
	sname = d->policy ? dsm_policy_label_name(d->policy, e->subject) : NULL;
	tname = d->policy ? dsm_policy_label_name(d->policy, e->target) : NULL;
	snprintf(sbuf, sizeof(sbuf), "%u", e->subject);
	snprintf(tbuf, sizeof(tbuf), "%u", e->target);

	if (e->class == DSM_CLASS_PEER) {
		peer_address(e, peer_addr, sizeof(peer_addr));
		log_warning("alarm: %s %s@%s -> %s peer recv from %s (%s)", verdict,
			    sname ? sname : sbuf, node_name(d, e->subject_node),
			    tname ? tname : tbuf, peer_addr, peer_reason(ev->err));
	} else {
		log_warning("alarm: %s %s@%s -> %s %s %s pid=%u comm=%s%s", verdict,
			    sname ? sname : sbuf, node_name(d, e->subject_node),
			    tname ? tname : tbuf, cls ? cls : "?", perm ? perm : "?", ev->pid, comm,
			    e->subject == DSM_LABEL_INVALID ? " (internal error: failed closed)" : "");
	}
	if (bump(d, e, ev->verdict))
		log_error("alarm: out of memory counting alarms");

	o = alarm_object(d, when);
	if (!o)
		return;
	json_object_object_add(o, "pid", json_object_new_int64(ev->pid));
	json_object_object_add(o, "tid", json_object_new_int64(ev->tid));
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
	json_object_object_add(o, "errno", json_object_new_int(-ev->err));
	if (e->class == DSM_CLASS_PEER) {
		json_object_object_add(o, "saddr", json_object_new_string(peer_addr));
		json_object_object_add(o, "subject_node_id", json_object_new_int64(e->subject_node));
		json_object_object_add(o, "reason", json_object_new_string(peer_reason(ev->err)));
	}
	json_object_object_add(o, "aux", json_object_new_int64(e->aux));
	write_alarm(d, o);
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
		[DSM_NR_FOREIGN] = "carried a dsm option this node did not write",
		[DSM_NR_NOROOM_L2] = "link header hides the IPv4 header",
	};

	return r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?";
}

/* A packet the packet programs dropped (egress: could not be labeled). */
static void handle_packet(struct dsmd *d, const struct dsm_event *ev, const char *when)
{
	const struct dsm_ev_packet *e = &ev->p;
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	struct in_addr a;
	json_object *o;

	a.s_addr = e->saddr;
	inet_ntop(AF_INET, &a, src, sizeof(src));
	a.s_addr = e->daddr;
	inet_ntop(AF_INET, &a, dst, sizeof(dst));
	log_warning("alarm: drop %s packet %s -> %s proto %u: %s",
		    e->direction == DSM_NEV_DIR_EGRESS ? "outgoing" : "incoming", src, dst,
		    e->protocol, net_reason(e->reason));
	o = alarm_object(d, when);
	if (!o)
		return;
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
}

/* One event from the ring buffer, of either kind. */
static int handle_event(void *ctx, void *data, size_t size)
{
	struct dsmd *d = ctx;
	const struct dsm_event *e = data;
	char when[40], comm[DSM_COMM_LEN + 1];

	if (size < sizeof(*e) || e->version != DSM_ABI_VERSION) {
		log_warning("alarm: event of %zu bytes, version %u: ignored", size,
			    size >= 2 ? e->version : 0);
		return 0;
	}
	memcpy(comm, e->comm, DSM_COMM_LEN);
	comm[DSM_COMM_LEN] = '\0';
	format_time(e->time_ns, when, sizeof(when));
	switch (e->kind) {
	case DSM_EV_DECISION:
		handle_decision(d, e, when, comm);
		break;
	case DSM_EV_PACKET:
		handle_packet(d, e, when);
		break;
	default:
		log_warning("alarm: event of kind %u: ignored", e->kind);
		break;
	}
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

		log_error("alarm: open %s: %s", d->alarm_path, strerror(-err));
		return err;
	}
	d->rb = ring_buffer__new(dsmd_map_fd(d, DSMD_MAP_EVENTS), handle_event, d, NULL);
	if (!d->rb)
		return log_errno(LOG_ERR, -errno, "alarm: ring buffer");
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
