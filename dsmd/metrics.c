// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd's metrics (docs/metrics.md): every counter dsmd keeps or reads, in
 * the Prometheus text format (lib/prom.h), for `dsmctl stats` (the stats
 * request) and, with --metrics-file PATH, as a file for node_exporter's
 * textfile collector.
 *
 * What is exposed is one table, rows[]: a metric's name, type, help, its
 * labels and the field of a snapshot it is read from; consecutive rows of
 * one name are the samples of one family. A new counter is a new row (and,
 * when it comes from somewhere new, a line in take_snapshot()). The alarm
 * counts by class, permission and verdict are added after the table: their
 * labels come from the alarms seen.
 *
 * The file is written by a thread of its own, so a slow or hung file
 * system never holds up dsmd's loop (the control socket, the alarm ring,
 * the heartbeat): the loop renders the text every DSMD_METRICS_EVERY_MS and
 * hands it over, replacing a text not yet written. The thread writes
 * PATH.tmp in the same directory (mode 0644), then renames it over PATH, so
 * a reader sees the old file or the new one, never part of one. A failure
 * is logged when its errno differs from the last attempt's (and a success
 * after failures once), not at every write. At a clean exit the last file
 * says dsm_up 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control.h"
#include "dsmd.h"
#include "pairkeys.h"
#include "prom.h"
#include "uplink.h"

#define DSMD_METRICS_EVERY_MS 5000
#define CLOSE_WAIT_MS         2000 /* at exit, for the last file */

/* Everything a row can read, taken at once. */
struct snap {
	uint64_t bpf[DSM_CNT_MAX];
	struct dsmd_alarm_stats alarm;
	struct dsmd_control_stats ctl;
	uint64_t up, enforcing, policy_version, policy_generation, policy_labels;
	uint64_t key_generation, key_sending;
	uint64_t uplink_connected, policy_stale;
	uint64_t file_writes, file_failures;
};

/* Rows read only when their source is there. */
enum need { ALWAYS, BPF, JOINED, FILE_ON };

struct row {
	const char *name;
	enum prom_type type;
	const char *help;            /* the family's first row only */
	struct prom_label l[3];      /* up to the first without a name */
	enum need need;
	size_t off, size;            /* in struct snap */
};

#define V(f) offsetof(struct snap, f), sizeof(((struct snap *)0)->f)
#define B(cnt) BPF, V(bpf[cnt])
#define C PROM_COUNTER
#define G PROM_GAUGE
#define L1(a, b) { { a, b } }
#define PKT(dir, out, act) { { "direction", dir }, { "outcome", out }, { "action", act } }

static const struct row rows[] = {
	{ "dsm_up", G, "1 while dsmd runs; 0 in the file it writes as it exits.", {}, ALWAYS, V(up) },
	{ "dsm_enforcing", G, "1 when the policy in force enforces, 0 when it is permissive.",
	  {}, ALWAYS, V(enforcing) },
	{ "dsm_policy_version", G, "The version of the policy in force.", {}, ALWAYS,
	  V(policy_version) },
	{ "dsm_policy_generation", G, "Policy generation: advanced at every change that makes "
	  "decisions cached in sockets stale.", {}, BPF, V(policy_generation) },
	{ "dsm_policy_labels", G, "Labels the policy in force defines.", {}, ALWAYS,
	  V(policy_labels) },
	{ "dsm_denials_total", C, "Requests the policy denied, by verdict: deny (refused) or "
	  "permissive (allowed: the subject's label or the node is permissive).",
	  L1("verdict", "deny"), B(DSM_CNT_DENIED) },
	{ "dsm_denials_total", C, NULL, L1("verdict", "permissive"), B(DSM_CNT_PERMISSIVE) },
	{ "dsm_errors_total", C, "Internal errors in dsm's programs (each failed closed).", {},
	  B(DSM_CNT_ERRORS) },
	{ "dsm_events_dropped_total", C, "Alarm events lost because the ring buffer to dsmd was "
	  "full.", {}, B(DSM_CNT_EVENTS_DROPPED) },
	{ "dsm_connections_lost_total", C, "TCP connections accepted with no pending peer label "
	  "(denied).", {}, B(DSM_CNT_CONN_LOST) },
	{ "dsm_packets_total", C, "Packets dsm's network programs handled, by direction, "
	  "outcome and action (pass or drop).",
	  PKT("egress", "labeled", "pass"), B(DSM_CNT_PKT_LABELED) },
	{ "dsm_packets_total", C, NULL, PKT("egress", "unlabeled", "pass"),
	  B(DSM_CNT_PKT_NOT_LABELED) },
	{ "dsm_packets_total", C, NULL, PKT("egress", "local", "pass"), B(DSM_CNT_PKT_LOCAL) },
	{ "dsm_packets_total", C, NULL, PKT("egress", "relayed", "pass"), B(DSM_CNT_PKT_RELAYED) },
	{ "dsm_packets_total", C, NULL, PKT("egress", "no_room", "drop"),
	  B(DSM_CNT_PKT_DROP_NOROOM) },
	{ "dsm_packets_total", C, NULL, PKT("egress", "foreign", "drop"),
	  B(DSM_CNT_PKT_DROP_FOREIGN) },
	{ "dsm_packets_total", C, NULL, PKT("ingress", "verified", "pass"),
	  B(DSM_CNT_PKT_VERIFIED) },
	{ "dsm_packets_total", C, NULL, PKT("ingress", "unlabeled", "pass"),
	  B(DSM_CNT_PKT_UNLABELED_IN) },
	{ "dsm_packets_total", C, NULL, PKT("ingress", "malformed", "drop"),
	  B(DSM_CNT_PKT_DROP_MALFORMED) },
	{ "dsm_packets_total", C, NULL, PKT("ingress", "forged", "drop"),
	  B(DSM_CNT_PKT_DROP_BADMAC) },
	{ "dsm_packets_total", C, NULL, PKT("ingress", "stale", "drop"),
	  B(DSM_CNT_PKT_DROP_STALE) },
	{ "dsm_packets_total", C, NULL, PKT("egress", "token_noroom", "pass"),
	  B(DSM_CNT_TOKEN_NOROOM) },
	{ "dsm_packets_total", C, NULL, PKT("ingress", "token_bare_ack", "pass"),
	  B(DSM_CNT_TOKEN_BARE_ACK) },
	{ "dsm_alarm_events_total", C, "Alarm events dsmd received (from the ring and its own).",
	  {}, ALWAYS, V(alarm.received) },
	{ "dsm_alarm_records_written_total", C, "Records written to the alarm log.", {}, ALWAYS,
	  V(alarm.written) },
	{ "dsm_alarm_records_suppressed_total", C, "Alarm records held back by the rate limit "
	  "(counted, not written).", {}, ALWAYS, V(alarm.suppressed) },
	{ "dsm_alarm_log_write_errors_total", C, "Alarm records that could not be written.", {},
	  ALWAYS, V(alarm.write_errors) },
	{ "dsm_alarm_journal_errors_total", C, "Alarms that could not be sent to the journal "
	  "(each went to syslog, and so do those of the next 10 s).", {}, ALWAYS,
	  V(alarm.journal_errors) },
	{ "dsm_alarm_log_rotations_total", C, "Rotations of the alarm log.", {}, ALWAYS,
	  V(alarm.rotations) },
	{ "dsm_alarm_log_bytes", G, "Size of the alarm log.", {}, ALWAYS, V(alarm.log_size) },
	{ "dsm_alarm_kinds", G, "Alarm kinds (subject, target, class, permission, verdict) "
	  "counted one by one.", {}, ALWAYS, V(alarm.kinds) },
	{ "dsm_alarm_kinds_overflow_total", C, "Alarms of kinds beyond those counted one by one.",
	  {}, ALWAYS, V(alarm.kinds_full) },
	{ "dsm_control_clients", G, "Control socket connections being served.", {}, ALWAYS,
	  V(ctl.clients) },
	{ "dsm_control_served_total", C, "Control requests answered in full.", {}, ALWAYS,
	  V(ctl.served) },
	{ "dsm_control_denied_total", C, "Control requests the policy denied.", {}, ALWAYS,
	  V(ctl.denied) },
	{ "dsm_control_turned_away_total", C, "Control connections turned away (too many at "
	  "once).", {}, ALWAYS, V(ctl.rejected_busy) },
	{ "dsm_control_timed_out_total", C, "Control connections ended at their deadline.", {},
	  ALWAYS, V(ctl.timed_out) },
	{ "dsm_control_closed_early_total", C, "Control clients that went away before their "
	  "answer.", {}, ALWAYS, V(ctl.closed_early) },
	{ "dsm_control_bad_requests_total", C, "Control requests that did not parse.", {},
	  ALWAYS, V(ctl.bad_requests) },
	{ "dsm_key_generation", G, "The newest pair-key generation held (0: none).", {}, JOINED,
	  V(key_generation) },
	{ "dsm_key_generation_sending", G, "The pair-key generation packets are sent with (0: "
	  "none yet).", {}, JOINED, V(key_sending) },
	{ "dsm_uplink_connected", G, "1 while a session with a Security Server is up.", {},
	  JOINED, V(uplink_connected) },
	{ "dsm_policy_stale", G, "1 when the newest freshness statement held has expired.", {},
	  JOINED, V(policy_stale) },
	{ "dsm_metrics_file_writes_total", C, "Metrics files written.", {}, FILE_ON,
	  V(file_writes) },
	{ "dsm_metrics_file_failures_total", C, "Metrics files that could not be written.", {},
	  FILE_ON, V(file_failures) },
};

/* ---- the file and its writer thread ------------------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake, done;
	char *pending;               /* the newest text not yet taken */
	size_t pending_len;
	bool started, stop, exited;
	pthread_t thread;
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int last_err;                /* of the last attempt, the thread's own */
	uint64_t writes, failures;   /* under lock */
	uint64_t next_ms;            /* the loop's: render then */
} m = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER };

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* PATH.tmp written whole, then renamed over PATH: 0 or -errno. */
static int write_file(const char *text, size_t len)
{
	size_t off = 0;
	int fd, err = 0;

	fd = open(m.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644)) /* whatever the umask */
		err = -errno;
	while (!err && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(m.tmp, m.path))
		err = -errno;
	if (err)
		unlink(m.tmp);
	return err;
}

static void *writer_run(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m.lock);
	for (;;) {
		while (!m.pending && !m.stop)
			pthread_cond_wait(&m.wake, &m.lock);
		if (!m.pending)
			break;
		char *text = m.pending;
		size_t len = m.pending_len;
		int err;

		m.pending = NULL;
		pthread_mutex_unlock(&m.lock);
		err = write_file(text, len);
		free(text);
		if (err && err != m.last_err)
			log_errno(LOG_WARNING, err, "metrics: cannot write %s (said again only "
				  "when the error changes)", m.path);
		else if (!err && m.last_err)
			log_info("metrics: %s written again", m.path);
		m.last_err = err;
		pthread_mutex_lock(&m.lock);
		if (err)
			m.failures++;
		else
			m.writes++;
	}
	m.exited = true;
	pthread_cond_broadcast(&m.done);
	pthread_mutex_unlock(&m.lock);
	return NULL;
}

/* ---- collecting ----------------------------------------------------------- */

static void take_snapshot(const struct dsmd *d, struct snap *s, bool up, bool *bpf_ok)
{
	uint32_t gen = 0;
	size_t nlabels = 0;

	memset(s, 0, sizeof(*s));
	s->up = up;
	*bpf_ok = dsmd_bpf_counters(dsmd_map_fd(d, DSMD_MAP_COUNTERS), DSM_CNT_MAX, s->bpf) == 0 &&
		  dsmd_generation_read(d, &gen) == 0;
	s->policy_generation = gen;
	dsmd_alarm_stats(d, &s->alarm);
	dsmd_control_stats(d, &s->ctl);
	if (d->policy) {
		s->enforcing = dsm_policy_mode(d->policy) != DSM_MODE_PERMISSIVE;
		s->policy_version = dsm_policy_version(d->policy);
		dsm_policy_labels(d->policy, &nlabels);
		s->policy_labels = nlabels;
	}
	if (d->pairkeys) {
		s->key_generation = dsmd_pairkeys_newest(d->pairkeys);
		s->key_sending = d->pairkeys->send;
	}
	if (d->uplink) {
		s->uplink_connected = d->uplink->phase == UPLINK_READY;
		s->policy_stale = d->uplink->fresh.stale;
	}
	pthread_mutex_lock(&m.lock);
	s->file_writes = m.writes;
	s->file_failures = m.failures;
	pthread_mutex_unlock(&m.lock);
}

static uint64_t field(const struct snap *s, const struct row *r)
{
	const char *p = (const char *)s + r->off;
	uint32_t v32;
	uint64_t v64;

	if (r->size == sizeof(v32)) {
		memcpy(&v32, p, sizeof(v32));
		return v32;
	}
	memcpy(&v64, p, sizeof(v64));
	return v64;
}

/* Alarm counts summed by (class, perm, verdict). */
struct agg {
	uint16_t class;
	uint32_t perm, verdict;
	uint64_t count;
};
struct aggs {
	struct agg *v;
	size_t n, cap;
	bool oom;
};

static void agg_add(const struct dsmd_alarm_count *c, void *ctx)
{
	struct aggs *a = ctx;
	struct agg *p;

	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].class == c->class && a->v[i].perm == c->perm &&
		    a->v[i].verdict == c->verdict) {
			a->v[i].count += c->count;
			return;
		}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;

		p = realloc(a->v, cap * sizeof(*p));
		if (!p) {
			a->oom = true;
			return;
		}
		a->v = p;
		a->cap = cap;
	}
	a->v[a->n++] = (struct agg){ c->class, c->perm, c->verdict, c->count };
}

static int agg_cmp(const void *x, const void *y)
{
	const struct agg *a = x, *b = y;

	if (a->class != b->class)
		return a->class < b->class ? -1 : 1;
	if (a->perm != b->perm)
		return a->perm < b->perm ? -1 : 1;
	return a->verdict < b->verdict ? -1 : a->verdict > b->verdict;
}

static void add_alarms(const struct dsmd *d, struct prom_buf *b)
{
	struct aggs a = { 0 };

	dsmd_alarm_walk(d, agg_add, &a);
	if (a.oom) {
		free(a.v);
		b->err = b->err ? b->err : -ENOMEM;
		return;
	}
	qsort(a.v, a.n, sizeof(*a.v), agg_cmp);
	prom_family(b, "dsm_alarms_total", PROM_COUNTER,
		    "Alarms by class, permission and verdict (deny or permissive), of the kinds "
		    "counted one by one.");
	for (size_t i = 0; i < a.n; i++) {
		char cnum[16], pnum[16];
		const char *cn = dsm_class_name(a.v[i].class);
		const char *pn = dsm_perm_name(a.v[i].class, a.v[i].perm);
		struct prom_label l[3] = {
			{ "class", cn }, { "perm", pn },
			{ "verdict", a.v[i].verdict == DSM_VERDICT_PERMISSIVE ? "permissive" : "deny" },
		};

		if (!cn) {
			snprintf(cnum, sizeof(cnum), "%u", a.v[i].class);
			l[0].value = cnum;
		}
		if (!pn) {
			snprintf(pnum, sizeof(pnum), "%u", a.v[i].perm);
			l[1].value = pnum;
		}
		prom_sample(b, l, 3, a.v[i].count);
	}
	free(a.v);
}

int dsmd_metrics_collect(const struct dsmd *d, struct prom_buf *b, bool up)
{
	const char *last = NULL;
	struct snap s;
	bool bpf_ok;
	char id[16];

	take_snapshot(d, &s, up, &bpf_ok);
	snprintf(id, sizeof(id), "%u", d->node_id);
	prom_family(b, "dsm_node_info", PROM_GAUGE, "This node's name and id (value 1).");
	prom_sample(b, (const struct prom_label[]){ { "node", d->node_name }, { "id", id } }, 2, 1);
	if (d->policy) {
		prom_family(b, "dsm_policy_info", PROM_GAUGE,
			    "The policy in force: its name and source (value 1).");
		prom_sample(b, (const struct prom_label[]){
				{ "name", dsm_policy_name(d->policy) },
				{ "source", d->policy_source } }, 2, 1);
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t n = 0;

		if ((r->need == BPF && !bpf_ok) || (r->need == JOINED && !d->uplink) ||
		    (r->need == FILE_ON && !m.started))
			continue;
		if (!last || strcmp(last, r->name)) {
			/* a family's first row carries its help: a row without
			 * one whose family's first row was skipped is skipped */
			if (!r->help)
				continue;
			prom_family(b, r->name, r->type, r->help);
			last = r->name;
		}
		while (n < 3 && r->l[n].name)
			n++;
		prom_sample(b, r->l, n, field(&s, r));
	}
	add_alarms(d, b);
	return b->err;
}

/* ---- the stats request ---------------------------------------------------- */

void dsmd_metrics_request(struct dsmd *d, struct dsmd_call *call)
{
	struct prom_buf b;
	json_object *o, *fams;

	prom_init_json(&b);
	if (dsmd_metrics_collect(d, &b, true)) {
		dsmd_client_error(call->client, "stats: cannot collect the metrics: %s",
				  strerror(-b.err));
		prom_free(&b);
		return;
	}
	fams = prom_take_json(&b);
	o = json_object_new_object();
	if (o && fams) {
		json_object_object_add(o, "metrics", fams);
		json_object_object_add(o, "prometheus", json_object_new_string(b.data));
	} else {
		json_object_put(fams);
		json_object_put(o);
		o = NULL;
	}
	prom_free(&b);
	dsmd_client_answer(call->client, o); /* NULL: says out of memory */
}

/* ---- the file --------------------------------------------------------------- */

/* Hand the current text to the writer thread. */
static void publish(struct dsmd *d, bool up)
{
	struct prom_buf b;

	prom_init(&b);
	if (dsmd_metrics_collect(d, &b, up)) {
		log_errno(LOG_DEBUG, b.err, "metrics: cannot collect");
		prom_free(&b);
		return;
	}
	pthread_mutex_lock(&m.lock);
	free(m.pending);
	m.pending = b.data; /* taken from b */
	m.pending_len = b.len;
	pthread_cond_signal(&m.wake);
	pthread_mutex_unlock(&m.lock);
	b.data = NULL;
	prom_free(&b);
}

int dsmd_metrics_open(struct dsmd *d)
{
	const char *p = d->o.metrics_file;
	size_t n = p ? strlen(p) : 0;
	int err;

	if (!p)
		return 0;
	if (!n || n >= sizeof(m.path) || p[n - 1] == '/')
		return log_errno(LOG_ERR, -EINVAL, "metrics: --metrics-file wants a file name");
	snprintf(m.path, sizeof(m.path), "%s", p);
	snprintf(m.tmp, sizeof(m.tmp), "%s.tmp", p);
	if (n < 5 || strcmp(p + n - 5, ".prom"))
		log_warning("metrics: %s does not end in .prom: node_exporter's textfile "
			    "collector reads only *.prom files", p);
	err = -pthread_create(&m.thread, NULL, writer_run, NULL);
	if (err)
		return log_errno(LOG_ERR, err, "metrics: writer thread");
	m.started = true;
	m.next_ms = 0; /* the first file at the first tick */
	log_info("metrics: writing %s every %d s", p, DSMD_METRICS_EVERY_MS / 1000);
	return 0;
}

void dsmd_metrics_tick(struct dsmd *d)
{
	uint64_t now = mono_ms();

	if (!m.started || now < m.next_ms)
		return;
	m.next_ms = now + DSMD_METRICS_EVERY_MS;
	publish(d, true);
}

void dsmd_metrics_close(struct dsmd *d)
{
	struct timespec until;
	bool exited;

	if (!m.started)
		return;
	publish(d, false);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CLOSE_WAIT_MS / 1000;
	pthread_mutex_lock(&m.lock);
	m.stop = true;
	pthread_cond_signal(&m.wake);
	while (!m.exited)
		if (pthread_cond_timedwait(&m.done, &m.lock, &until) == ETIMEDOUT)
			break;
	exited = m.exited;
	pthread_mutex_unlock(&m.lock);
	if (exited)
		pthread_join(m.thread, NULL);
	else /* a hung file system: leave it, the process is exiting */
		log_warning("metrics: the last %s was not written within %d s", m.path,
			    CLOSE_WAIT_MS / 1000);
	m.started = false;
}
