// SPDX-License-Identifier: GPL-2.0
/*
 * dsmd's alarm log (dsmd/alarm.c) without a kernel: events come in through
 * dsmd_alarm_raise(), as the control socket's own alarms do, and take the
 * path the ring buffer's take.
 *
 *  - the rate limit: a burst of one kind writes ALARM_KIND_BURST lines,
 *    the rest are counted, and one line later says how many were held
 *    back; many kinds at once are held to the overall burst;
 *  - the counts stay exact whatever the log shows, and at most
 *    ALARM_KINDS_MAX kinds are counted one by one;
 *  - rotation at the size given, one old file kept; a reader goes through
 *    the old file and the current one in order, across a rotation that
 *    happens while it reads, and counts a file lost to two;
 *  - followers get exactly the lines written;
 *  - every record is numbered ("seq" first), one more than the one before,
 *    across rotations and across a close and reopen (from the current file,
 *    or the rotated one when the current is empty), never below the floor
 *    given, and a torn last line neither loses its number nor swallows the
 *    next record.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmd/alarm.c"
#include "../../dsmd/alarm_sink.c"

static unsigned warnings;

void log_msg(int level, const char *fmt, ...)
{
	if (level == LOG_WARNING)
		warnings++;
	(void)fmt;
}

int log_errno(int level, int err, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
	return err;
}

void log_stderr(const char *msg)
{
	(void)msg;
}

bool log_stderr_is_journal(void)
{
	return false;
}

int dsmd_map_fd(const struct dsmd *d, enum dsmd_map m)
{
	(void)d;
	(void)m;
	return -1;
}

int dsmd_protect_all(struct dsmd *d)
{
	(void)d;
	return 0;
}

static struct dsm_ev_placeholder last_request;
static unsigned requests;

void dsmd_placeholder_request(struct dsmd *d, const struct dsm_ev_placeholder *r)
{
	(void)d;
	last_request = *r;
	requests++;
}

struct fixture {
	struct dsmd d;
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/dsmd-alarm-XXXXXX");
	if (!f || !mkdtemp(f->dir))
		return -1;
	f->d.o.state_dir = f->dir;
	f->d.o.alarm_log_max = DSMD_ALARM_LOG_MAX;
	snprintf(f->d.node_name, sizeof(f->d.node_name), "node1");
	warnings = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	dsmd_alarm_close(&f->d);
	snprintf(path, sizeof(path), "%s/alarms.jsonl", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/alarms.jsonl.1", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void raise_one(struct fixture *f, uint32_t subject, uint32_t perm)
{
	struct dsm_event e = { .version = DSM_ABI_VERSION, .kind = DSM_EV_DECISION,
			       .verdict = DSM_VERDICT_DENY, .err = -13, .pid = 42, .tid = 42,
			       .comm = "tester" };

	e.d.class = DSM_CLASS_PROCESS;
	e.d.perm = perm;
	e.d.subject = subject;
	e.d.target = 7;
	dsmd_alarm_raise(&f->d, &e);
}

/* Lines in a file, and how many of them contain what. */
static unsigned lines(const char *path, const char *what, unsigned *matching)
{
	char buf[4096];
	unsigned n = 0, m = 0;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return 0;
	while (fgets(buf, sizeof(buf), fp)) {
		n++;
		m += what && strstr(buf, what) != NULL;
	}
	fclose(fp);
	if (matching)
		*matching = m;
	return n;
}

/* A placeholder request from the ring goes to placeholder.c and is no
 * alarm: not counted, not logged. */
static void test_placeholder_request_is_no_alarm(void **state)
{
	struct fixture *f = *state;
	struct dsm_event e = { .version = DSM_ABI_VERSION, .kind = DSM_EV_PLACEHOLDER };
	struct dsmd_alarm_stats st;

	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	e.ph.cookie = 0x1122334455667788ull;
	e.ph.owner_tgid = 4242;
	e.ph.label = 10;
	requests = 0;
	dsmd_alarm_raise(&f->d, &e);
	assert_int_equal(requests, 1);
	assert_int_equal(last_request.cookie, 0x1122334455667788ull);
	assert_int_equal(last_request.owner_tgid, 4242);
	assert_int_equal(last_request.label, 10);
	dsmd_alarm_stats(&f->d, &st);
	assert_int_equal(st.received, 0);
	assert_int_equal(st.written, 0);
	assert_int_equal(lines(dsmd_alarm_path(&f->d), NULL, NULL), 0);
}

static uint32_t walk_total_subject;

static void sum_counts(const struct dsmd_alarm_count *c, void *ctx)
{
	if (c->subject == walk_total_subject)
		*(int64_t *)ctx += (int64_t)c->count;
}

static void test_rate_limit_per_kind(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_stats st;
	unsigned held;
	int64_t total = 0;

	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	for (int i = 0; i < 100; i++)
		raise_one(f, 10, DSM_PERM_FORK);
	dsmd_alarm_stats(&f->d, &st);
	assert_int_equal(st.received, 100);
	assert_true(st.written >= ALARM_KIND_BURST && st.written <= ALARM_KIND_BURST + 1);
	assert_int_equal(st.written + st.suppressed, 100);
	assert_int_equal(lines(dsmd_alarm_path(&f->d), NULL, NULL), st.written);
	/* The count is exact, whatever the log shows. */
	walk_total_subject = 10;
	dsmd_alarm_walk(&f->d, sum_counts, &total);
	assert_int_equal(total, 100);
	/* Once the kind may log again, a line says how many were held back. */
	sleep(1);
	usleep(100000);
	dsmd_alarm_tick(&f->d);
	assert_int_equal(lines(dsmd_alarm_path(&f->d), "\"suppressed\":", &held), st.written + 1);
	assert_int_equal(held, 1);
	assert_int_equal(lines(dsmd_alarm_path(&f->d), "\"suppressed\":90", &held),
			 st.written + 1);
	assert_true(held == 1 || st.written == ALARM_KIND_BURST + 1);
}

static void test_rate_limit_total(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_stats st;
	uint64_t start, refill;

	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	/* Many kinds at once: each under its own limit, all over the total.
	 * The bucket refills while the loop runs (slowly, on a loaded machine
	 * under ASan): what it may have let through is the burst plus the rate
	 * times the time taken, and no more. */
	start = mono_ms();
	for (uint32_t s = 1; s <= 1000; s++)
		raise_one(f, s, DSM_PERM_SIGNAL);
	refill = (mono_ms() - start + 1) * ALARM_TOTAL_RATE / 1000 + 1;
	dsmd_alarm_stats(&f->d, &st);
	assert_true(refill < 500); /* else the loop was too slow to say anything */
	assert_true(st.written >= ALARM_TOTAL_BURST && st.written <= ALARM_TOTAL_BURST + refill);
	assert_int_equal(st.written + st.suppressed, 1000);
	assert_int_equal(st.kinds, 1000);
}

static void test_kinds_bounded(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_stats st;

	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	/* A forged packet names any label: the counts must not grow for ever. */
	for (uint32_t s = 1; s <= ALARM_KINDS_MAX + 500; s++)
		raise_one(f, s, DSM_PERM_PTRACE);
	dsmd_alarm_stats(&f->d, &st);
	assert_int_equal(st.kinds, ALARM_KINDS_MAX);
	assert_int_equal(st.kinds_full, 500);
	assert_int_equal(st.received, ALARM_KINDS_MAX + 500);
}

struct seen {
	struct dsmd_alarm_follower f;
	unsigned lines;
	size_t bytes;
};

static void count_line(struct dsmd *d, struct dsmd_alarm_follower *f, const char *line,
		       size_t len)
{
	struct seen *s = (struct seen *)f;

	(void)d;
	assert_int_equal(line[len - 1], '\n');
	s->lines++;
	s->bytes += len;
}

/* Everything a reader gives, until it is at the end. */
static size_t read_all(struct fixture *f, struct dsmd_alarm_reader *r, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len && (n = dsmd_alarm_reader_read(&f->d, r, buf + got, len - got)) > 0)
		got += (size_t)n;
	return got;
}

static void test_rotation_and_reader(void **state)
{
	struct fixture *f = *state;
	static char buf[1 << 20];
	struct dsmd_alarm_reader r;
	struct dsmd_alarm_stats st;
	struct seen seen = { .f.record = count_line };
	unsigned n1, n0;
	char old[600];
	size_t got;
	int i;

	f->d.o.alarm_log_max = 4096;
	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	dsmd_alarm_follow(&f->d, &seen.f);
	/* Distinct kinds: none held back by the per-kind limit. */
	for (i = 0; i < 25; i++)
		raise_one(f, 100 + (uint32_t)i, DSM_PERM_TRANSITION);
	dsmd_alarm_stats(&f->d, &st);
	assert_int_equal(st.written, 25);
	assert_int_equal(seen.lines, 25);
	assert_true(st.rotations >= 1);
	snprintf(old, sizeof(old), "%s.1", dsmd_alarm_path(&f->d));
	n1 = lines(old, NULL, NULL);
	n0 = lines(dsmd_alarm_path(&f->d), NULL, NULL);
	assert_true(n1 > 0 && n0 > 0);
	assert_true(st.log_size <= 4096);
	/* A reader starts at the oldest kept record. */
	assert_int_equal(dsmd_alarm_reader_open(&f->d, &r), 0);
	got = read_all(f, &r, buf, 512); /* part of the old file */
	/* A rotation while it reads: it finishes the old files, then the new. */
	for (; i < 40; i++)
		raise_one(f, 100 + (uint32_t)i, DSM_PERM_TRANSITION);
	got += read_all(f, &r, buf + got, sizeof(buf) - got);
	buf[got] = '\0';
	dsmd_alarm_stats(&f->d, &st);
	assert_int_equal(seen.lines, 40);
	if (r.lost == 0) {
		/* Every line once, in order, from the first kept one to the last. */
		unsigned count = 0;
		int prev = -1;

		for (char *p = strstr(buf, "\"subject_id\":"); p;
		     p = strstr(p + 1, "\"subject_id\":")) {
			int id = atoi(p + 13);

			assert_true(id > prev);
			prev = id;
			count++;
		}
		assert_int_equal(prev, 139);
		assert_true(count >= n0);
	}
	assert_int_equal(dsmd_alarm_reader_read(&f->d, &r, buf, 16), 0);
	dsmd_alarm_reader_close(&r);
	dsmd_alarm_unfollow(&f->d, &seen.f);
	raise_one(f, 500, DSM_PERM_TRANSITION);
	assert_int_equal(seen.lines, 40);
}

static void test_reader_loses_a_file(void **state)
{
	struct fixture *f = *state;
	static char buf[1 << 16];
	struct dsmd_alarm_reader r;
	struct dsmd_alarm_stats st;

	f->d.o.alarm_log_max = 4096;
	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	raise_one(f, 1, DSM_PERM_FORK);
	assert_int_equal(dsmd_alarm_reader_open(&f->d, &r), 0);
	/* Three rotations before the reader reads a byte. */
	for (uint32_t s = 2; s < 80; s++)
		raise_one(f, s, DSM_PERM_FORK);
	dsmd_alarm_stats(&f->d, &st);
	assert_true(st.rotations >= 3);
	read_all(f, &r, buf, sizeof(buf));
	assert_true(r.lost >= 1);
	dsmd_alarm_reader_close(&r);
}

/* The "seq" of every line of path, in order, appended to out; how many. */
static unsigned seqs_of(const char *path, uint64_t *out, unsigned max)
{
	char buf[4096];
	unsigned n = 0;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return 0;
	while (n < max && fgets(buf, sizeof(buf), fp)) {
		assert_true(dsmd_alarm_line_seq(buf, strlen(buf), &out[n]));
		n++;
	}
	fclose(fp);
	return n;
}

/* The log's numbers, rotated file first: consecutive, ending at want_last. */
static void assert_consecutive(struct fixture *f, uint64_t want_last)
{
	uint64_t seq[512];
	char old[600];
	unsigned n;

	snprintf(old, sizeof(old), "%s.1", dsmd_alarm_path(&f->d));
	n = seqs_of(old, seq, 512);
	n += seqs_of(dsmd_alarm_path(&f->d), seq + n, 512 - n);
	assert_true(n > 0);
	for (unsigned i = 1; i < n; i++)
		assert_int_equal(seq[i], seq[i - 1] + 1);
	assert_int_equal(seq[n - 1], want_last);
	assert_int_equal(dsmd_alarm_last_seq(&f->d), want_last);
}

static void reopen(struct fixture *f)
{
	dsmd_alarm_close(&f->d);
	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
}

static void test_seq_across_rotation_and_restart(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_stats st;
	char cur[512], old[600];
	uint32_t s = 100;

	f->d.o.alarm_log_max = 4096;
	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	assert_int_equal(dsmd_alarm_last_seq(&f->d), 0);
	for (; s < 125; s++)
		raise_one(f, s, DSM_PERM_TRANSITION);
	dsmd_alarm_stats(&f->d, &st);
	assert_true(st.rotations >= 1);
	assert_consecutive(f, 25);
	/* A restart goes on from the end of the current file. */
	reopen(f);
	assert_int_equal(dsmd_alarm_last_seq(&f->d), 25);
	raise_one(f, s++, DSM_PERM_TRANSITION);
	assert_consecutive(f, 26);
	/* A rotation and then a crash before the next write: from the old file. */
	snprintf(cur, sizeof(cur), "%s", dsmd_alarm_path(&f->d));
	snprintf(old, sizeof(old), "%s.1", cur);
	dsmd_alarm_close(&f->d);
	assert_int_equal(rename(cur, old), 0);
	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	assert_int_equal(dsmd_alarm_last_seq(&f->d), 26);
	raise_one(f, s++, DSM_PERM_TRANSITION);
	assert_consecutive(f, 27);
	/* The floor (the server's acknowledgement) wins over a shorter log. */
	dsmd_alarm_seq_floor(&f->d, 20);
	assert_int_equal(dsmd_alarm_last_seq(&f->d), 27);
	dsmd_alarm_seq_floor(&f->d, 40);
	raise_one(f, s++, DSM_PERM_TRANSITION);
	assert_int_equal(dsmd_alarm_last_seq(&f->d), 41);
}

static void test_seq_after_a_torn_line(void **state)
{
	struct fixture *f = *state;
	uint64_t seq[8] = { 0 };
	char buf[4096], path[600];
	FILE *fp;

	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	raise_one(f, 1, DSM_PERM_FORK);
	snprintf(path, sizeof(path), "%s", dsmd_alarm_path(&f->d));
	dsmd_alarm_close(&f->d);
	/* A crash in the middle of the next write: its number was taken. */
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("{\"seq\":2,\"time\":\"20", fp);
	fclose(fp);
	assert_int_equal(dsmd_alarm_open_log(&f->d), 0);
	assert_int_equal(dsmd_alarm_last_seq(&f->d), 2);
	raise_one(f, 2, DSM_PERM_FORK);
	/* The new record is a line of its own, numbered 3. */
	fp = fopen(dsmd_alarm_path(&f->d), "r");
	assert_non_null(fp);
	for (unsigned n = 0; n < 8 && fgets(buf, sizeof(buf), fp); n++)
		assert_true(dsmd_alarm_line_seq(buf, strlen(buf), &seq[n]));
	fclose(fp);
	assert_int_equal(seq[0], 1);
	assert_int_equal(seq[1], 2);
	assert_int_equal(seq[2], 3);
	assert_non_null(strstr(buf, "\"subject_id\":2,"));
}

static void test_line_seq(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(dsmd_alarm_line_seq("{\"seq\":7,\"x\":1}", 15, &v));
	assert_int_equal(v, 7);
	assert_true(dsmd_alarm_line_seq("{\"seq\":18446744073709551615}", 29, &v));
	assert_int_equal(v, UINT64_MAX);
	assert_false(dsmd_alarm_line_seq("{\"seq\":18446744073709551616}", 29, &v));
	assert_false(dsmd_alarm_line_seq("{\"seq\":,", 9, &v));
	assert_false(dsmd_alarm_line_seq("{\"seq\":12", 10, &v));
	assert_false(dsmd_alarm_line_seq("{\"time\":\"x\"}", 12, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rate_limit_per_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_placeholder_request_is_no_alarm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_total, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kinds_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_and_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_loses_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_across_rotation_and_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_seq_after_a_torn_line, setup, teardown),
		cmocka_unit_test(test_line_seq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
