// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd's metrics (dsmd/metrics.c): every counter of enum dsm_counter has
 * exactly one row, the text dsmd renders (families, labels, the alarm
 * counts summed by class, permission and verdict, what is left out when
 * the counters cannot be read), and the --metrics-file writer: the file
 * replaced whole with mode 0644, no temporary file left, a failing write
 * said once per errno, and dsm_up 0 in the last file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmd/metrics.c"

/* ---- what metrics.c reads, faked --------------------------------------- */

static bool counters_ok = true;
static unsigned warnings, infos;

void log_msg(int level, const char *fmt, ...)
{
	if (level == LOG_WARNING)
		__atomic_add_fetch(&warnings, 1, __ATOMIC_SEQ_CST);
	if (level == LOG_INFO)
		__atomic_add_fetch(&infos, 1, __ATOMIC_SEQ_CST);
	(void)fmt;
}

int log_errno(int level, int err, const char *fmt, ...)
{
	if (level == LOG_WARNING)
		__atomic_add_fetch(&warnings, 1, __ATOMIC_SEQ_CST);
	(void)fmt;
	return err;
}

int dsmd_map_fd(const struct dsmd *d, enum dsmd_map map)
{
	(void)d;
	return (int)map;
}

int dsmd_bpf_counters(int fd, uint32_t n, uint64_t *out)
{
	assert_int_equal(fd, DSMD_MAP_COUNTERS);
	if (!counters_ok)
		return -EPERM;
	for (uint32_t i = 0; i < n; i++)
		out[i] = 1000 + i;
	return 0;
}

int dsmd_generation_read(const struct dsmd *d, uint32_t *gen)
{
	(void)d;
	*gen = 7;
	return counters_ok ? 0 : -EPERM;
}

void dsmd_alarm_stats(const struct dsmd *d, struct dsmd_alarm_stats *out)
{
	(void)d;
	*out = (struct dsmd_alarm_stats){ .received = 11, .written = 9, .suppressed = 2,
					  .write_errors = 1, .rotations = 3, .kinds_full = 4,
					  .log_size = 4096, .kinds = 3 };
}

void dsmd_control_stats(const struct dsmd *d, struct dsmd_control_stats *out)
{
	(void)d;
	*out = (struct dsmd_control_stats){ .served = 5, .denied = 1, .clients = 2 };
}

void dsmd_alarm_walk(const struct dsmd *d, void (*fn)(const struct dsmd_alarm_count *, void *),
		     void *ctx)
{
	/* Two kinds of one (class, perm, verdict) from other subjects, one
	 * more; walked out of order. */
	const struct dsmd_alarm_count c[] = {
		{ .subject = 3, .target = 4, .class = DSM_CLASS_SOCKET, .perm = DSM_PERM_CONNECT,
		  .verdict = DSM_VERDICT_DENY, .count = 5 },
		{ .subject = 1, .target = 2, .class = DSM_CLASS_FILE, .perm = DSM_PERM_EXEC,
		  .verdict = DSM_VERDICT_PERMISSIVE, .count = 2 },
		{ .subject = 5, .target = 4, .class = DSM_CLASS_SOCKET, .perm = DSM_PERM_CONNECT,
		  .verdict = DSM_VERDICT_DENY, .count = 6 },
	};

	(void)d;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		fn(&c[i], ctx);
}

uint64_t dsmd_pairkeys_newest(const struct dsmd_pairkeys *pk)
{
	(void)pk;
	return 0;
}

static json_object *answered;

void dsmd_client_answer(struct dsmd_client *c, json_object *o)
{
	(void)c;
	answered = o;
}

void dsmd_client_error(struct dsmd_client *c, const char *fmt, ...)
{
	(void)c;
	(void)fmt;
	fail_msg("the stats request failed");
}

/* ---- helpers -------------------------------------------------------------- */

static const char policy_src[] =
	"policy t version 42;\n"
	"label op = 1; label lax = 2;\n"
	"initial op;\n"
	"permissive lax;\n";

static void make_dsmd(struct dsmd *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->node_name, sizeof(d->node_name), "node1");
	d->node_id = 3;
	snprintf(d->policy_source, sizeof(d->policy_source), "/etc/dsm/a\"b\\c.policy");
	assert_int_equal(dsm_policy_compile("t", policy_src, strlen(policy_src), &d->policy,
					    NULL), 0);
}

static char *collect(struct dsmd *d, bool up)
{
	struct prom_buf b;
	char *text;

	prom_init(&b);
	assert_int_equal(dsmd_metrics_collect(d, &b, up), 0);
	text = b.data;
	b.data = NULL;
	prom_free(&b);
	return text;
}

static unsigned count_lines(const char *text, const char *prefix)
{
	unsigned n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

/* ---- the table ------------------------------------------------------------ */

static void test_every_counter_once(void **state)
{
	unsigned seen[DSM_CNT_MAX] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		assert_true(prom_name_valid(r->name, r->type));
		/* a family's rows are together, its first one has the help */
		if (!i || strcmp(rows[i - 1].name, r->name)) {
			assert_non_null(r->help);
			for (size_t k = 0; k < i; k++)
				assert_string_not_equal(rows[k].name, r->name);
		} else {
			assert_null(r->help);
			assert_int_equal(rows[i - 1].type, r->type);
		}
		assert_true(r->off + r->size <= sizeof(struct snap));
		size_t first = offsetof(struct snap, bpf), at = r->off - first; /* bpf is first */

		if (r->need == BPF && r->off < first + sizeof(((struct snap *)0)->bpf))
			seen[at / sizeof(uint64_t)]++;
	}
	for (unsigned c = 0; c < DSM_CNT_MAX; c++) {
		if (seen[c] != 1)
			fail_msg("counter %u has %u rows in metrics.c", c, seen[c]);
	}
}

static void test_text(void **state)
{
	struct dsmd d;
	char *t;

	(void)state;
	make_dsmd(&d);
	t = collect(&d, true);
	assert_non_null(strstr(t, "# HELP dsm_up 1 while dsmd runs; 0 in the file it writes as "
				  "it exits.\n# TYPE dsm_up gauge\ndsm_up 1\n"));
	assert_non_null(strstr(t, "\ndsm_node_info{node=\"node1\",id=\"3\"} 1\n"));
	/* the policy's source carries a quote and a backslash: escaped */
	assert_non_null(strstr(t, "\ndsm_policy_info{name=\"t\",source=\"/etc/dsm/a\\\"b\\\\c.policy\"} 1\n"));
	assert_non_null(strstr(t, "\ndsm_policy_version 42\n"));
	assert_non_null(strstr(t, "\ndsm_policy_generation 7\n"));
	assert_non_null(strstr(t, "\ndsm_enforcing 1\n"));
	assert_non_null(strstr(t, "# TYPE dsm_denials_total counter\n"
				  "dsm_denials_total{verdict=\"deny\"} 1000\n"
				  "dsm_denials_total{verdict=\"permissive\"} 1001\n"));
	assert_non_null(strstr(t, "\ndsm_events_dropped_total 1002\n"));
	assert_non_null(strstr(t, "\ndsm_packets_total{direction=\"ingress\",outcome=\"forged\","
				  "action=\"drop\"} 1012\n"));
	assert_non_null(strstr(t, "\ndsm_packets_total{direction=\"ingress\",outcome=\"stale\","
				  "action=\"drop\"} 1013\n"));
	assert_non_null(strstr(t, "\ndsm_packets_total{direction=\"egress\",outcome=\"token_noroom\","
				  "action=\"pass\"} 1016\n"));
	assert_non_null(strstr(t, "\ndsm_packets_total{direction=\"ingress\","
				  "outcome=\"token_bare_ack\",action=\"pass\"} 1017\n"));
	assert_int_equal(count_lines(t, "dsm_packets_total{"), 13);
	assert_int_equal(count_lines(t, "# TYPE dsm_packets_total counter"), 1);
	assert_non_null(strstr(t, "\ndsm_alarm_records_written_total 9\n"));
	assert_non_null(strstr(t, "\ndsm_alarm_kinds_overflow_total 4\n"));
	assert_non_null(strstr(t, "\ndsm_control_clients 2\n"));
	/* summed by (class, perm, verdict), sorted by class */
	assert_non_null(strstr(t, "# TYPE dsm_alarms_total counter\n"
				  "dsm_alarms_total{class=\"file\",perm=\"exec\",verdict=\"permissive\"} 2\n"
				  "dsm_alarms_total{class=\"socket\",perm=\"connect\",verdict=\"deny\"} 11\n"));
	/* not joined, no file: no uplink, key or file metrics */
	assert_null(strstr(t, "dsm_uplink_connected"));
	assert_null(strstr(t, "dsm_key_generation"));
	assert_null(strstr(t, "dsm_metrics_file"));
	assert_int_equal(t[strlen(t) - 1], '\n');
	free(t);

	counters_ok = false;
	t = collect(&d, false);
	counters_ok = true;
	assert_non_null(strstr(t, "\ndsm_up 0\n"));
	assert_null(strstr(t, "dsm_packets_total"));
	assert_null(strstr(t, "dsm_denials_total"));
	assert_null(strstr(t, "dsm_policy_generation"));
	assert_non_null(strstr(t, "\ndsm_alarm_events_total 11\n"));
	free(t);
	dsm_policy_free(d.policy);
}

static void test_request(void **state)
{
	struct dsmd d;
	struct dsmd_call call = { 0 };
	json_object *fams, *text;

	(void)state;
	make_dsmd(&d);
	answered = NULL;
	dsmd_metrics_request(&d, &call);
	assert_non_null(answered);
	assert_true(json_object_object_get_ex(answered, "metrics", &fams));
	assert_true(json_object_object_get_ex(answered, "prometheus", &text));
	assert_true(json_object_is_type(fams, json_type_array));
	assert_int_equal(json_object_array_length(fams),
			 count_lines(json_object_get_string(text), "# TYPE "));
	assert_non_null(strstr(json_object_get_string(text), "\ndsm_policy_version 42\n"));
	json_object_put(answered);
	dsm_policy_free(d.policy);
}

/* ---- the file --------------------------------------------------------------- */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	if (!f) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Wait for the writer to have written n files and failed f times. */
static void wait_writes(uint64_t n, uint64_t f)
{
	for (int i = 0; i < 400; i++) {
		pthread_mutex_lock(&m.lock);
		bool done = m.writes >= n && m.failures >= f && !m.pending;
		pthread_mutex_unlock(&m.lock);
		if (done)
			return;
		usleep(5000);
	}
	fail_msg("the writer did not write %llu files (%llu failures)", (unsigned long long)n,
		 (unsigned long long)f);
}

static void test_file(void **state)
{
	char dir[] = "/tmp/dsmd-metrics-XXXXXX", sub[64], path[96], tmp[104];
	struct dsmd d;
	struct stat st;
	char *t;
	mode_t old = umask(077);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/textfile", dir);
	snprintf(path, sizeof(path), "%s/dsm.prom", sub);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	make_dsmd(&d);
	d.o.metrics_file = path;
	warnings = infos = 0;
	assert_int_equal(dsmd_metrics_open(&d), 0);
	assert_int_equal(warnings, 0); /* it ends in .prom */

	/* The directory is missing: each try fails, said once. */
	dsmd_metrics_tick(&d);
	wait_writes(0, 1);
	m.next_ms = 0;
	dsmd_metrics_tick(&d);
	wait_writes(0, 2);
	assert_int_equal(warnings, 1);

	/* It appears: written, said once, replaced whole at every tick. */
	assert_int_equal(mkdir(sub, 0755), 0);
	m.next_ms = 0;
	infos = 0;
	dsmd_metrics_tick(&d);
	wait_writes(1, 2);
	assert_int_equal(infos, 1);
	m.next_ms = 0;
	dsmd_metrics_tick(&d);
	wait_writes(2, 2);
	assert_int_equal(infos, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(access(tmp, F_OK), -1);
	t = read_all(path);
	assert_non_null(t);
	assert_non_null(strstr(t, "dsm_up 1\n"));
	assert_non_null(strstr(t, "\ndsm_metrics_file_failures_total 2\n"));
	free(t);

	/* Not due yet: nothing new. */
	dsmd_metrics_tick(&d);
	usleep(20000);
	pthread_mutex_lock(&m.lock);
	assert_int_equal(m.writes, 2);
	pthread_mutex_unlock(&m.lock);

	/* The last one says dsmd is gone. */
	dsmd_metrics_close(&d);
	t = read_all(path);
	assert_non_null(t);
	assert_non_null(strstr(t, "dsm_up 0\n"));
	free(t);
	assert_int_equal(access(tmp, F_OK), -1);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	umask(old);
	dsm_policy_free(d.policy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_counter_once),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
