// SPDX-License-Identifier: GPL-2.0
/*
 * Alarms: every denial and every permissive would-be denial arrives as a
 * struct dsm_event on the ring buffer (or, for the control socket's own
 * decisions, from authz.c in the same form). Each is counted per
 * (subject, target, class, permission, verdict) and becomes one JSON line
 * in the alarm log, which `dsmctl alarms` reads through the control
 * socket, and one entry in the journal or one syslog line (alarm_sink.c:
 * the same record, and its human line). The kernel side never waits for
 * us: a full ring buffer drops events and counts the drops.
 *
 * Nothing an attacker can raise grows without bound here:
 *  - lines are rate limited per kind (a token bucket of ALARM_KIND_BURST,
 *    refilled at ALARM_KIND_RATE a second) and overall (ALARM_TOTAL_*);
 *    what is held back is counted, and a line saying how many alarms of
 *    that kind were not logged follows once the kind may log again;
 *  - the log is rotated at --alarm-log-max bytes (one old file kept,
 *    alarms.jsonl.1);
 *  - at most ALARM_KINDS_MAX kinds are counted one by one (a forged packet
 *    names any label it likes); events of further kinds are counted
 *    together;
 *  - one drain handles at most ALARM_DRAIN_BUDGET events, so a flood of
 *    events cannot keep the loop from its other sources.
 * Every number is in status (dsmd_alarm_stats).
 *
 * Every record is numbered: its first member is "seq", one more than the
 * record before, across rotations and restarts. The number is taken before
 * the write, so a write that fails leaves a gap (counted in write_errors;
 * the uplink reports it as dropped) and never a number used twice in the
 * log. At start-up the numbering goes on from the highest "seq" at the end
 * of alarms.jsonl, or of alarms.jsonl.1 when the current file holds none,
 * and never below the floor the uplink sets (the server's last
 * acknowledgement, kept where a reboot does not clear it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "dsmd.h"
#include "dsm/wire.h"

#define ALARM_KIND_BURST   10
#define ALARM_KIND_RATE    1    /* lines a second, per kind, after the burst */
#define ALARM_TOTAL_BURST  200
#define ALARM_TOTAL_RATE   50   /* lines a second, all kinds */
#define ALARM_KINDS_MAX    4096
#define ALARM_DRAIN_BUDGET 1024
#define PACKET_REASONS     32
#define DRAIN_STOP         (-EINTR) /* the callback's "enough for now" */
#define SEQ_PREFIX         "{\"seq\":"
#define SEQ_SCAN_BYTES     (64u << 10) /* the tail searched for the last seq */

/* A token bucket, in thousandths of a line. */
struct bucket {
	uint64_t milli;
	uint64_t at_ms;
};

struct alarm_kind {
	struct dsmd_alarm_count c;
	struct bucket b;
	uint64_t held;  /* lines not written since the last one of this kind */
};

struct dsmd_alarms {
	struct ring_buffer *rb;
	int log_fd;                 /* -1: not open (retried at each tick) */
	char path[512], old_path[520];
	uint64_t log_size;
	int64_t seq;                /* rotations: the current file's number */
	uint64_t last_seq;          /* the highest record number given */
	bool torn;                  /* the file ends inside a line: end it first */
	void *tree;                 /* tsearch tree of struct alarm_kind */
	struct bucket total;
	uint64_t packet_held[PACKET_REASONS];
	struct bucket packet[PACKET_REASONS];
	uint64_t other_held;        /* held events of kinds not counted one by one */
	unsigned budget;            /* events left in this drain */
	struct dsmd_alarm_follower *followers;
	const char *reason;         /* of the alarm being raised by dsmd, or NULL */
	struct dsmd_alarm_sink *sink; /* the journal or syslog */
	struct dsmd_alarm_stats st;
};

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void bucket_fill(struct bucket *b, unsigned burst)
{
	*b = (struct bucket){ .milli = burst * 1000ull, .at_ms = mono_ms() };
}

/* Take one line's token if there is one. */
static bool bucket_take(struct bucket *b, unsigned burst, unsigned rate, uint64_t now)
{
	b->milli += (now - b->at_ms) * rate;
	if (b->milli > burst * 1000ull)
		b->milli = burst * 1000ull;
	b->at_ms = now;
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}

/* ---- the log file ---------------------------------------------------------- */

/* Does the file end inside a line (a write cut short, a crash)? */
static bool ends_torn(const char *path, uint64_t size)
{
	const int fd = size ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	char last = '\n';

	if (fd < 0)
		return false;
	if (pread(fd, &last, 1, (off_t)size - 1) != 1)
		last = '\n';
	close(fd);
	return last != '\n';
}

static int open_log(struct dsmd_alarms *a)
{
	struct stat st;

	a->log_fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->log_fd < 0)
		return -errno;
	a->log_size = fstat(a->log_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	a->torn = ends_torn(a->path, a->log_size);
	return 0;
}

bool dsmd_alarm_line_seq(const char *line, size_t len, uint64_t *seq)
{
	const size_t plen = sizeof(SEQ_PREFIX) - 1;
	uint64_t v = 0;
	size_t i = plen;

	if (len <= plen || memcmp(line, SEQ_PREFIX, plen))
		return false;
	for (; i < len && line[i] >= '0' && line[i] <= '9' && i < plen + 20; i++) {
		const uint64_t digit = (uint64_t)(line[i] - '0');

		if (v > (UINT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	if (i == plen || i == len || (line[i] != ',' && line[i] != '}'))
		return false;
	*seq = v;
	return true;
}

/* The highest record number at the start of a line in the last
 * SEQ_SCAN_BYTES of path: 0 when there is none (or no file). */
static uint64_t last_seq_in(const char *path)
{
	static char buf[SEQ_SCAN_BYTES];
	const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	uint64_t best = 0, v;
	off_t from;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = fstat(fd, &st) ? -1 : 0;
	from = !n && st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
	if (!n)
		n = pread(fd, buf, sizeof(buf), from);
	close(fd);
	for (ssize_t i = 0; i < n; i++) {
		const bool line_start = i ? buf[i - 1] == '\n' : from == 0;

		if (line_start && dsmd_alarm_line_seq(buf + i, (size_t)(n - i), &v) && v > best)
			best = v;
	}
	return best;
}

/* alarms.jsonl becomes alarms.jsonl.1 (the one before goes), a new one
 * starts. Readers that have the old file open read it to its end. */
static void rotate(struct dsmd_alarms *a)
{
	int err;

	if (rename(a->path, a->old_path)) {
		a->st.write_errors++;
		log_errno(LOG_ERR, -errno, "alarm: rotate %s", a->path);
		return;
	}
	close(a->log_fd);
	a->seq++;
	a->st.rotations++;
	err = open_log(a);
	if (err) {
		a->st.write_errors++;
		log_errno(LOG_ERR, err, "alarm: open %s after rotating it", a->path);
		return;
	}
}

/* The record's text as a line, "seq" its first member: {"seq":N,...}\n,
 * with a '\n' before it when the file ends inside a line. */
static char *numbered_line(const char *json, uint64_t seq, bool torn, size_t *len)
{
	const bool empty = json[0] != '{' || json[1] == '}';
	const size_t room = strlen(json) + 40;
	char *line = malloc(room);
	int n;

	if (!line)
		return NULL;
	n = snprintf(line, room, "%s" SEQ_PREFIX "%llu%s%s\n", torn ? "\n" : "",
		     (unsigned long long)seq, empty ? "}" : ",", empty ? "" : json + 1);
	*len = (size_t)n;
	return line;
}

static void append_line(struct dsmd *d, const char *line, size_t len)
{
	struct dsmd_alarms *a = d->alarms;
	ssize_t n;

	if (a->log_fd >= 0 && a->log_size && a->log_size + len > d->o.alarm_log_max)
		rotate(a); /* a '\n' first stays: readers go on from the old file */
	n = a->log_fd >= 0 ? write(a->log_fd, line, len) : -1;
	if (n > 0)
		a->log_size += (uint64_t)n;
	a->torn = n > 0 ? (size_t)n < len : a->torn;
	if (n == (ssize_t)len)
		a->st.written++;
	else
		a->st.write_errors++;
}

/* One record into the log, to every follower and, with its human line
 * (text, of syslog's priority), to the sink; releases o. Its number is
 * taken first: a write that fails leaves a gap, never a reuse. Without a
 * record (no memory) the line goes to the sink alone. */
static void write_line(struct dsmd *d, json_object *o, int priority, const char *text)
{
	struct dsmd_alarms *a = d->alarms;
	const uint64_t seq = o ? ++a->last_seq : 0;
	const bool torn = a->torn;
	const char *json = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	size_t len = 0;
	char *line = json ? numbered_line(json, seq, torn, &len) : NULL;

	dsmd_alarm_sink_send(a->sink, priority, text, seq, o);
	if (!o)
		return;
	json_object_put(o);
	if (!line) {
		a->st.write_errors++;
		return;
	}
	append_line(d, line, len);
	for (struct dsmd_alarm_follower *f = a->followers; f; f = f->next)
		f->record(d, f, line + torn, len - torn);
	free(line);
}

/* ---- counting ------------------------------------------------------------- */

static int cmp_kind(const void *x, const void *y)
{
	const struct dsmd_alarm_count *a = x, *b = y;

#define CMP(f) if (a->f != b->f) return a->f < b->f ? -1 : 1
	CMP(subject);
	CMP(target);
	CMP(class);
	CMP(perm);
	CMP(verdict);
#undef CMP
	return 0;
}

/* The kind of an event, counted; NULL when ALARM_KINDS_MAX kinds are
 * known already (or memory ran out). */
static struct alarm_kind *count_kind(struct dsmd_alarms *a, const struct dsm_ev_decision *e,
				     uint32_t verdict)
{
	struct alarm_kind key = { .c = { .subject = e->subject, .target = e->target,
					 .class = e->class, .perm = e->perm, .verdict = verdict } };
	struct alarm_kind **slot, *k;

	slot = tfind(&key, &a->tree, cmp_kind);
	if (slot) {
		(*slot)->c.count++;
		return *slot;
	}
	if (a->st.kinds >= ALARM_KINDS_MAX)
		return NULL;
	k = malloc(sizeof(*k));
	if (!k)
		return NULL;
	*k = key;
	k->c.count = 1;
	bucket_fill(&k->b, ALARM_KIND_BURST);
	if (!tsearch(k, &a->tree, cmp_kind)) {
		free(k);
		return NULL;
	}
	a->st.kinds++;
	return k;
}

/* ---- formatting ------------------------------------------------------------- */

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

static uint64_t boot_ns_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A new alarm record: when, and on which node it was raised. */
static json_object *alarm_object(const struct dsmd *d, uint64_t boot_ns)
{
	json_object *o = json_object_new_object();
	char when[40];

	format_time(boot_ns, when, sizeof(when));
	if (o) {
		json_object_object_add(o, "time", json_object_new_string(when));
		json_object_object_add(o, "node", json_object_new_string(d->node_name));
		json_object_object_add(o, "node_id", json_object_new_int64(d->node_id));
	}
	return o;
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

	if (node == DSM_NODE_LOCAL || node == d->node_id)
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

static const char *verdict_name(uint32_t v)
{
	return v == DSM_VERDICT_PERMISSIVE ? "permissive" : "deny";
}

/* syslog's priority of an alarm: a refusal warns, a permissive one notes. */
static int verdict_priority(uint32_t v)
{
	return v == DSM_VERDICT_PERMISSIVE ? LOG_NOTICE : LOG_WARNING;
}

/* The kind's members of a record: subject, target, class, permission, verdict. */
static void add_kind(const struct dsmd *d, json_object *o, const struct dsmd_alarm_count *c,
		     uint32_t subject_node)
{
	const char *cls = dsm_class_name(c->class), *perm = dsm_perm_name(c->class, c->perm);

	add_label(o, "subject", "subject_id", d->policy, c->subject);
	json_object_object_add(o, "subject_node",
			       json_object_new_string(node_name(d, subject_node)));
	add_label(o, "target", "target_id", d->policy, c->target);
	if (cls)
		json_object_object_add(o, "class", json_object_new_string(cls));
	if (perm)
		json_object_object_add(o, "perm", json_object_new_string(perm));
	json_object_object_add(o, "verdict", json_object_new_string(verdict_name(c->verdict)));
}

static void kind_text(const struct dsmd *d, const struct dsmd_alarm_count *c,
		      uint32_t subject_node, char *buf, size_t len)
{
	const char *s = d->policy ? dsm_policy_label_name(d->policy, c->subject) : NULL;
	const char *t = d->policy ? dsm_policy_label_name(d->policy, c->target) : NULL;
	const char *cls = dsm_class_name(c->class), *perm = dsm_perm_name(c->class, c->perm);
	char sb[16], tb[16];

	snprintf(sb, sizeof(sb), "%u", c->subject);
	snprintf(tb, sizeof(tb), "%u", c->target);
	snprintf(buf, len, "%s %s@%s -> %s %s %s", verdict_name(c->verdict), s ? s : sb,
		 node_name(d, subject_node), t ? t : tb, cls ? cls : "?", perm ? perm : "?");
}

/* "N more like this were not logged": a record, and its line. */
static void write_held(struct dsmd *d, const struct alarm_kind *k)
{
	json_object *o = alarm_object(d, boot_ns_now());
	char what[256], text[320];

	kind_text(d, &k->c, DSM_NODE_LOCAL, what, sizeof(what));
	snprintf(text, sizeof(text), "alarm: %s: %llu more not logged (rate limit)", what,
		 (unsigned long long)k->held);
	if (o) {
		add_kind(d, o, &k->c, DSM_NODE_LOCAL);
		json_object_object_add(o, "suppressed", json_object_new_int64((int64_t)k->held));
	}
	write_line(d, o, verdict_priority(k->c.verdict), text);
}

/* ---- events -------------------------------------------------------------- */

/* The sender's address of a network peer decision, as text. */
static void peer_address(const struct dsm_ev_decision *e, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!inet_ntop(e->family == AF_INET6 ? AF_INET6 : AF_INET, e->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* A network peer (not a unix one: there the current task is the sender). */
static bool from_network(const struct dsm_ev_decision *e)
{
	return e->class == DSM_CLASS_PEER && e->family != AF_UNIX;
}

/* The decision's human line. */
static void decision_text(const struct dsmd *d, const struct dsm_event *ev, const char *comm,
			  char *buf, size_t len)
{
	const struct dsm_ev_decision *e = &ev->d;
	const struct dsmd_alarm_count c = { .subject = e->subject, .target = e->target,
					    .class = e->class, .perm = e->perm,
					    .verdict = ev->verdict };
	char what[256], addr[INET6_ADDRSTRLEN];

	kind_text(d, &c, e->subject_node, what, sizeof(what));
	if (from_network(e)) {
		peer_address(e, addr, sizeof(addr));
		snprintf(buf, len, "alarm: %s from %s (%s)", what, addr, peer_reason(ev->err));
	} else if (d->alarms->reason) {
		snprintf(buf, len, "alarm: %s: %s", what, d->alarms->reason);
	} else {
		snprintf(buf, len, "alarm: %s%s pid=%u comm=%s%s", what,
			 e->class == DSM_CLASS_PEER ? " over unix" : "", ev->pid, comm,
			 e->subject == DSM_LABEL_INVALID ? " (internal error: failed closed)" : "");
	}
}

/* The decision's record, or NULL. */
static json_object *decision_record(const struct dsmd *d, const struct dsm_event *ev,
				    const char *comm)
{
	const struct dsm_ev_decision *e = &ev->d;
	const struct dsmd_alarm_count c = { .subject = e->subject, .target = e->target,
					    .class = e->class, .perm = e->perm,
					    .verdict = ev->verdict };
	json_object *o = alarm_object(d, ev->time_ns);
	char addr[INET6_ADDRSTRLEN];

	if (!o)
		return NULL;
	json_object_object_add(o, "pid", json_object_new_int64(ev->pid));
	json_object_object_add(o, "tid", json_object_new_int64(ev->tid));
	json_object_object_add(o, "comm", json_object_new_string(comm));
	add_kind(d, o, &c, e->subject_node);
	json_object_object_add(o, "errno", json_object_new_int(-ev->err));
	if (e->class == DSM_CLASS_PEER) {
		if (from_network(e)) {
			peer_address(e, addr, sizeof(addr));
			json_object_object_add(o, "saddr", json_object_new_string(addr));
		} else {
			json_object_object_add(o, "family", json_object_new_string("unix"));
		}
		json_object_object_add(o, "subject_node_id", json_object_new_int64(e->subject_node));
		json_object_object_add(o, "reason", json_object_new_string(peer_reason(ev->err)));
	} else if (d->alarms->reason) {
		json_object_object_add(o, "reason", json_object_new_string(d->alarms->reason));
	}
	json_object_object_add(o, "aux", json_object_new_int64(e->aux));
	return o;
}

/* May a line of this kind be written now? Counts what is held back. */
static bool may_log(struct dsmd_alarms *a, struct bucket *kb, uint64_t *held)
{
	uint64_t now = mono_ms();

	if (bucket_take(kb, ALARM_KIND_BURST, ALARM_KIND_RATE, now) &&
	    bucket_take(&a->total, ALARM_TOTAL_BURST, ALARM_TOTAL_RATE, now))
		return true;
	(*held)++;
	a->st.suppressed++;
	return false;
}

/* A denial or a permissive would-be denial. */
static void handle_decision(struct dsmd *d, const struct dsm_event *ev, const char *comm)
{
	struct dsmd_alarms *a = d->alarms;
	struct alarm_kind *k = count_kind(a, &ev->d, ev->verdict);
	char text[512];

	if (!k) {
		a->st.kinds_full++;
		if (!bucket_take(&a->total, ALARM_TOTAL_BURST, ALARM_TOTAL_RATE, mono_ms())) {
			a->other_held++;
			a->st.suppressed++;
			return;
		}
	} else if (!may_log(a, &k->b, &k->held)) {
		return;
	} else if (k->held) {
		write_held(d, k);
		k->held = 0;
	}
	decision_text(d, ev, comm, text, sizeof(text));
	write_line(d, decision_record(d, ev, comm), verdict_priority(ev->verdict), text);
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
static void handle_packet(struct dsmd *d, const struct dsm_event *ev)
{
	struct dsmd_alarms *a = d->alarms;
	const struct dsm_ev_packet *e = &ev->p;
	unsigned r = e->reason % PACKET_REASONS;
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], text[320];
	struct in_addr in;
	json_object *o;

	if (!may_log(a, &a->packet[r], &a->packet_held[r]))
		return;
	in.s_addr = e->saddr;
	inet_ntop(AF_INET, &in, src, sizeof(src));
	in.s_addr = e->daddr;
	inet_ntop(AF_INET, &in, dst, sizeof(dst));
	snprintf(text, sizeof(text), "alarm: drop %s packet %s -> %s proto %u: %s%s",
		 e->direction == DSM_NEV_DIR_EGRESS ? "outgoing" : "incoming", src, dst,
		 e->protocol, net_reason(e->reason), a->packet_held[r] ? " (and more not logged: "
		 "rate limit)" : "");
	o = alarm_object(d, ev->time_ns);
	if (!o) {
		write_line(d, NULL, LOG_WARNING, text);
		return;
	}
	json_object_object_add(o, "class", json_object_new_string("packet"));
	json_object_object_add(o, "verdict", json_object_new_string("drop"));
	json_object_object_add(o, "direction", json_object_new_string(
		e->direction == DSM_NEV_DIR_EGRESS ? "egress" : "ingress"));
	json_object_object_add(o, "reason", json_object_new_string(net_reason(e->reason)));
	json_object_object_add(o, "saddr", json_object_new_string(src));
	json_object_object_add(o, "daddr", json_object_new_string(dst));
	json_object_object_add(o, "protocol", json_object_new_int(e->protocol));
	json_object_object_add(o, "ifindex", json_object_new_int64(e->ifindex));
	if (a->packet_held[r])
		json_object_object_add(o, "suppressed",
				       json_object_new_int64((int64_t)a->packet_held[r]));
	a->packet_held[r] = 0;
	write_line(d, o, LOG_WARNING, text);
}

static void handle_event(struct dsmd *d, const struct dsm_event *e, size_t size)
{
	char comm[DSM_COMM_LEN + 1];

	if (size >= sizeof(*e) && e->version == DSM_ABI_VERSION && e->kind == DSM_EV_PLACEHOLDER) {
		dsmd_placeholder_request(d, &e->ph); /* a request, not an alarm */
		return;
	}
	d->alarms->st.received++;
	if (size < sizeof(*e) || e->version != DSM_ABI_VERSION) {
		log_warning("alarm: event of %zu bytes, version %u: ignored", size,
			    size >= 2 ? e->version : 0);
		return;
	}
	memcpy(comm, e->comm, DSM_COMM_LEN);
	comm[DSM_COMM_LEN] = '\0';
	switch (e->kind) {
	case DSM_EV_DECISION:
		handle_decision(d, e, comm);
		break;
	case DSM_EV_PACKET:
		handle_packet(d, e);
		break;
	default:
		log_warning("alarm: event of kind %u: ignored", e->kind);
		break;
	}
}

static int ring_event(void *ctx, void *data, size_t size)
{
	struct dsmd *d = ctx;

	handle_event(d, data, size);
	/* Consumed either way; stop once this drain's budget is spent. */
	return --d->alarms->budget ? 0 : DRAIN_STOP;
}

/* ---- the interface ----------------------------------------------------- */

int dsmd_alarm_open_log(struct dsmd *d)
{
	struct dsmd_alarms *a = calloc(1, sizeof(*a));
	int n, err;

	if (!a)
		return -ENOMEM;
	d->alarms = a;
	a->log_fd = -1;
	a->sink = dsmd_alarm_sink_new(d->o.alarm_sink, NULL);
	if (!a->sink)
		return -ENOMEM;
	a->seq = 1; /* the rotated file left by an earlier dsmd counts as 0 */
	bucket_fill(&a->total, ALARM_TOTAL_BURST);
	for (unsigned r = 0; r < PACKET_REASONS; r++)
		bucket_fill(&a->packet[r], ALARM_KIND_BURST);
	n = snprintf(a->path, sizeof(a->path), "%s/alarms.jsonl", d->o.state_dir);
	if (n < 0 || (size_t)n >= sizeof(a->path))
		return -ENAMETOOLONG;
	snprintf(a->old_path, sizeof(a->old_path), "%s.1", a->path);
	err = open_log(a);
	if (err)
		return log_errno(LOG_ERR, err, "alarm: open %s", a->path);
	a->last_seq = last_seq_in(a->path);
	if (!a->last_seq)
		a->last_seq = last_seq_in(a->old_path);
	return 0;
}

uint64_t dsmd_alarm_last_seq(const struct dsmd *d)
{
	return d->alarms ? d->alarms->last_seq : 0;
}

void dsmd_alarm_seq_floor(struct dsmd *d, uint64_t seq)
{
	if (d->alarms && d->alarms->last_seq < seq)
		d->alarms->last_seq = seq;
}

int dsmd_alarm_open(struct dsmd *d)
{
	int err = dsmd_alarm_open_log(d);

	if (err)
		return err;
	d->alarms->rb = ring_buffer__new(dsmd_map_fd(d, DSMD_MAP_EVENTS), ring_event, d, NULL);
	if (!d->alarms->rb)
		return log_errno(LOG_ERR, -errno, "alarm: ring buffer");
	return 0;
}

const char *dsmd_alarm_path(const struct dsmd *d)
{
	return d->alarms ? d->alarms->path : "";
}

int dsmd_alarm_fd(const struct dsmd *d)
{
	return ring_buffer__epoll_fd(d->alarms->rb);
}

int dsmd_alarm_drain(struct dsmd *d)
{
	int n;

	d->alarms->budget = ALARM_DRAIN_BUDGET;
	n = ring_buffer__consume(d->alarms->rb);
	if (n == DRAIN_STOP)
		return 1;
	return n < 0 ? n : 0;
}

void dsmd_alarm_raise(struct dsmd *d, const struct dsm_event *e)
{
	if (d->alarms)
		handle_event(d, e, sizeof(*e));
}

void dsmd_alarm_raise_reason(struct dsmd *d, const struct dsm_event *e, const char *reason)
{
	if (!d->alarms)
		return;
	d->alarms->reason = reason;
	handle_event(d, e, sizeof(*e));
	d->alarms->reason = NULL;
}

static void (*walk_fn)(const struct dsmd_alarm_count *, void *);
static void *walk_ctx;
static struct dsmd *walk_d;

static void walk_action(const void *node, VISIT which, int depth)
{
	(void)depth;
	if (which == postorder || which == leaf)
		walk_fn(&(*(struct alarm_kind *const *)node)->c, walk_ctx);
}

void dsmd_alarm_walk(const struct dsmd *d, void (*fn)(const struct dsmd_alarm_count *, void *),
		     void *ctx)
{
	walk_fn = fn;
	walk_ctx = ctx;
	twalk(d->alarms->tree, walk_action);
}

/* The tick's part: say how much was held back once a kind may log again. */
static void held_action(const void *node, VISIT which, int depth)
{
	struct alarm_kind *k = *(struct alarm_kind *const *)node;
	uint64_t now = mono_ms();

	(void)depth;
	if ((which != postorder && which != leaf) || !k->held)
		return;
	if (!bucket_take(&k->b, ALARM_KIND_BURST, ALARM_KIND_RATE, now) ||
	    !bucket_take(&walk_d->alarms->total, ALARM_TOTAL_BURST, ALARM_TOTAL_RATE, now))
		return;
	write_held(walk_d, k);
	k->held = 0;
}

void dsmd_alarm_tick(struct dsmd *d)
{
	struct dsmd_alarms *a = d->alarms;

	if (!a)
		return;
	if (a->log_fd < 0 && open_log(a) == 0)
		log_info("alarm: %s open again", a->path);
	walk_d = d;
	twalk(a->tree, held_action);
	if (a->other_held) {
		log_warning("alarm: %llu alarms of kinds beyond the first %d not logged "
			    "(rate limit)", (unsigned long long)a->other_held, ALARM_KINDS_MAX);
		a->other_held = 0;
	}
}

void dsmd_alarm_stats(const struct dsmd *d, struct dsmd_alarm_stats *out)
{
	const struct dsmd_alarms *a = d->alarms;

	*out = a ? a->st : (struct dsmd_alarm_stats){ 0 };
	if (a) {
		out->log_size = a->log_size;
		out->journal_errors = dsmd_alarm_sink_journal_errors(a->sink);
	}
}

void dsmd_alarm_follow(struct dsmd *d, struct dsmd_alarm_follower *f)
{
	f->next = d->alarms->followers;
	d->alarms->followers = f;
}

void dsmd_alarm_unfollow(struct dsmd *d, struct dsmd_alarm_follower *f)
{
	for (struct dsmd_alarm_follower **p = &d->alarms->followers; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			return;
		}
}

/* ---- reading the log back ----------------------------------------------- */

static int reader_open_file(struct dsmd_alarms *a, struct dsmd_alarm_reader *r, int64_t seq)
{
	const char *path = seq == a->seq ? a->path : a->old_path;

	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0 && errno != ENOENT)
		return -errno;
	r->seq = seq;
	return 0;
}

int dsmd_alarm_reader_open(struct dsmd *d, struct dsmd_alarm_reader *r)
{
	struct dsmd_alarms *a = d->alarms;
	int err;

	*r = (struct dsmd_alarm_reader){ .fd = -1 };
	err = reader_open_file(a, r, a->seq - 1);
	if (!err && r->fd < 0)
		err = reader_open_file(a, r, a->seq);
	return err;
}

ssize_t dsmd_alarm_reader_read(struct dsmd *d, struct dsmd_alarm_reader *r, char *buf,
			       size_t len)
{
	struct dsmd_alarms *a = d->alarms;

	for (;;) {
		ssize_t n = r->fd >= 0 ? read(r->fd, buf, len) : 0;
		int err;

		if (n != 0)
			return n < 0 ? -errno : n;
		if (r->seq >= a->seq)
			return 0; /* everything written so far */
		/* The end of a file that was rotated away: the next one. */
		if (r->seq + 1 < a->seq - 1)
			r->lost++; /* rotated twice while the reader was behind */
		if (r->fd >= 0)
			close(r->fd);
		err = reader_open_file(a, r, r->seq + 1 < a->seq - 1 ? a->seq - 1 : r->seq + 1);
		if (err)
			return err;
	}
}

void dsmd_alarm_reader_close(struct dsmd_alarm_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

void dsmd_alarm_close(struct dsmd *d)
{
	struct dsmd_alarms *a = d->alarms;

	if (!a)
		return;
	ring_buffer__free(a->rb);
	tdestroy(a->tree, free);
	if (a->log_fd >= 0)
		close(a->log_fd);
	dsmd_alarm_sink_free(a->sink);
	free(a);
	d->alarms = NULL;
}
