// SPDX-License-Identifier: GPL-2.0
/*
 * Where an alarm goes besides the JSON lines (dsmd/alarm_sink.c):
 *
 *  - the journal entry has every field the record carries, with the right
 *    name and value, PRIORITY, SYSLOG_IDENTIFIER, MESSAGE_ID and DSM_SEQ;
 *    a label without a name is its number;
 *  - the syslog line is the human line with the same fields as key=value,
 *    quoted where a value has a space;
 *  - control bytes (and bytes beyond ASCII) in comm, labels and the line
 *    become '?' in the journal, syslog and on stderr;
 *  - --alarm-sink takes auto, journal, syslog and none, nothing else;
 *  - no journal socket: syslog; journal counts that as an error and says
 *    so once, auto does neither; a failed send is an error under both;
 *  - after a fallback the journal is not tried again for 10 s (a clock of
 *    the test's own), then is, and its return is said;
 *  - stderr is left out when the entry went to the journal and stderr is
 *    the journal;
 *  - with the real libsystemd, in a mount namespace of its own: an entry
 *    reaches a socket at /run/systemd/journal/socket with its fields, and
 *    with no socket there (where sd_journal_sendv() says 0 and drops the
 *    entry) the alarm goes to syslog. Where no mount namespace can be made
 *    that test skips as SKIP(host).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../dsmd/alarm_sink.c"
#include "host_cap.h"

/* ---- what dsmd's log would have said ------------------------------------- */

static unsigned warnings, infos;

void log_msg(int level, const char *fmt, ...)
{
	(void)fmt;
	if (level == LOG_WARNING)
		warnings++;
	else if (level == LOG_INFO)
		infos++;
}

int log_errno(int level, int err, const char *fmt, ...)
{
	(void)fmt;
	if (level == LOG_WARNING)
		warnings++;
	return err;
}

void log_stderr(const char *msg)
{
	(void)msg;
	fail_msg("the test's own stderr_line is used");
}

bool log_stderr_is_journal(void)
{
	return false;
}

/* ---- the fake outputs ------------------------------------------------------- */

#define MAX_FIELDS 32

static struct {
	char fields[MAX_FIELDS][512]; /* of the last entry */
	int nfields;
	unsigned journal_calls;
	int journal_err;              /* what journal_send returns */
	unsigned syslog_calls;
	int syslog_priority;
	char syslog[2048];
	unsigned stderr_calls;
	char stderr_line[2048];
	uint64_t now;
} out;

static int fake_journal(const struct iovec *iov, int n)
{
	out.journal_calls++;
	out.nfields = n;
	for (int i = 0; i < n && i < MAX_FIELDS; i++)
		snprintf(out.fields[i], sizeof(out.fields[i]), "%.*s", (int)iov[i].iov_len,
			 (const char *)iov[i].iov_base);
	return out.journal_err;
}

static void fake_syslog(int priority, const char *line)
{
	out.syslog_calls++;
	out.syslog_priority = priority;
	snprintf(out.syslog, sizeof(out.syslog), "%s", line);
}

static void fake_stderr(const char *line)
{
	out.stderr_calls++;
	snprintf(out.stderr_line, sizeof(out.stderr_line), "%s", line);
}

static uint64_t fake_now(void)
{
	return out.now;
}

/* ---- the fixture: a directory where the journal's socket may be ---------- */

struct fixture {
	char dir[64];
	char sock[128];
	int fd;                       /* bound at sock, or -1 */
	struct dsmd_alarm_sink_io io;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dsmd-sink-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/socket", f->dir);
	f->fd = -1;
	f->io = (struct dsmd_alarm_sink_io){
		.journal_send = fake_journal, .syslog_line = fake_syslog,
		.stderr_line = fake_stderr, .now_ms = fake_now, .journal_socket = f->sock,
	};
	memset(&out, 0, sizeof(out));
	out.now = 1000000;
	warnings = infos = 0;
	*state = f;
	return 0;
}

static void socket_down(struct fixture *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	unlink(f->sock);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	socket_down(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A datagram socket bound at path: the journal's, as far as stat can tell. */
static int bind_dgram(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void socket_up(struct fixture *f)
{
	f->fd = bind_dgram(f->sock);
	assert_true(f->fd >= 0);
}

/* ---- records ------------------------------------------------------------------ */

static json_object *full_record(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "time", json_object_new_string("2024-01-01T00:00:00.000000Z"));
	json_object_object_add(o, "node", json_object_new_string("node1"));
	json_object_object_add(o, "node_id", json_object_new_int64(1));
	json_object_object_add(o, "pid", json_object_new_int64(4242));
	json_object_object_add(o, "tid", json_object_new_int64(4243));
	json_object_object_add(o, "comm", json_object_new_string("curl"));
	json_object_object_add(o, "subject", json_object_new_string("web"));
	json_object_object_add(o, "subject_id", json_object_new_int64(3));
	json_object_object_add(o, "subject_node", json_object_new_string("node2"));
	json_object_object_add(o, "target", json_object_new_string("db"));
	json_object_object_add(o, "target_id", json_object_new_int64(4));
	json_object_object_add(o, "class", json_object_new_string("peer"));
	json_object_object_add(o, "perm", json_object_new_string("recv"));
	json_object_object_add(o, "verdict", json_object_new_string("deny"));
	json_object_object_add(o, "errno", json_object_new_int(13));
	json_object_object_add(o, "saddr", json_object_new_string("10.0.0.2"));
	json_object_object_add(o, "reason", json_object_new_string("wrong MAC"));
	json_object_object_add(o, "daddr", json_object_new_string("10.0.0.1"));
	json_object_object_add(o, "suppressed", json_object_new_int64(17));
	return o;
}

#define LINE "alarm: deny web@node2 -> db peer recv from 10.0.0.2 (forged)"

static void send_full(struct dsmd_alarm_sink *s, int priority, uint64_t seq)
{
	json_object *o = full_record();

	dsmd_alarm_sink_send(s, priority, LINE, seq, o);
	json_object_put(o);
}

/* ---- field formatting -------------------------------------------------------- */

static void test_journal_fields(void **state)
{
	struct fixture *f = *state;
	static const char *const want[] = {
		"MESSAGE=" LINE,
		"PRIORITY=4",
		"SYSLOG_FACILITY=10",
		"SYSLOG_IDENTIFIER=dsmd",
		"MESSAGE_ID=d5e0b26d5a0c44d980c2e4a6b9343921",
		"DSM_SEQ=77",
		"DSM_VERDICT=deny",
		"DSM_SUBJECT=web",
		"DSM_SUBJECT_NODE=node2",
		"DSM_TARGET=db",
		"DSM_CLASS=peer",
		"DSM_PERMISSION=recv",
		"DSM_NODE=node1",
		"DSM_PID=4242",
		"DSM_COMM=curl",
		"DSM_ERRNO=13",
		"DSM_REASON=wrong MAC",
		"DSM_SADDR=10.0.0.2",
		"DSM_DADDR=10.0.0.1",
		"DSM_SUPPRESSED=17",
	};
	struct dsmd_alarm_sink *s;

	socket_up(f);
	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_JOURNAL, &f->io);
	assert_non_null(s);
	send_full(s, LOG_WARNING, 77);
	assert_int_equal(out.journal_calls, 1);
	assert_int_equal(out.nfields, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(out.fields[i], want[i]);
	assert_int_equal(out.syslog_calls, 0);
	assert_int_equal(out.stderr_calls, 1);
	assert_string_equal(out.stderr_line, LINE);
	assert_int_equal(dsmd_alarm_sink_journal_errors(s), 0);
	dsmd_alarm_sink_free(s);
}

/* A permissive alarm's priority; labels known only by number; no seq. */
static void test_journal_numbers(void **state)
{
	struct fixture *f = *state;
	json_object *o = json_object_new_object();
	struct dsmd_alarm_sink *s;
	bool subject = false, target = false, seq = false, comm = false;

	json_object_object_add(o, "subject_id", json_object_new_int64(9));
	json_object_object_add(o, "target_id", json_object_new_int64(12));
	json_object_object_add(o, "verdict", json_object_new_string("permissive"));
	socket_up(f);
	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_AUTO, &f->io);
	dsmd_alarm_sink_send(s, LOG_NOTICE, "alarm: permissive 9@n -> 12 file read", 0, o);
	json_object_put(o);
	assert_int_equal(out.journal_calls, 1);
	for (int i = 0; i < out.nfields; i++) {
		subject |= !strcmp(out.fields[i], "DSM_SUBJECT=9");
		target |= !strcmp(out.fields[i], "DSM_TARGET=12");
		seq |= !strncmp(out.fields[i], "DSM_SEQ=", 8);
		comm |= !strncmp(out.fields[i], "DSM_COMM=", 9);
	}
	assert_true(subject);
	assert_true(target);
	assert_false(seq);
	assert_false(comm);
	assert_string_equal(out.fields[1], "PRIORITY=5");
	dsmd_alarm_sink_free(s);
}

static void test_syslog_line(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_sink *s;

	socket_up(f); /* a journal there changes nothing under syslog */
	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_SYSLOG, &f->io);
	send_full(s, LOG_WARNING, 5);
	assert_int_equal(out.journal_calls, 0);
	assert_int_equal(out.syslog_calls, 1);
	assert_int_equal(out.syslog_priority, LOG_WARNING);
	assert_string_equal(out.syslog, LINE "; seq=5 verdict=deny subject=web subject_node=node2 "
			    "target=db class=peer permission=recv node=node1 pid=4242 comm=curl "
			    "errno=13 reason=\"wrong MAC\" saddr=10.0.0.2 daddr=10.0.0.1 "
			    "suppressed=17");
	assert_int_equal(out.stderr_calls, 1);
	dsmd_alarm_sink_free(s);
}

static void test_none(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_sink *s;

	socket_up(f);
	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_NONE, &f->io);
	send_full(s, LOG_WARNING, 5);
	assert_int_equal(out.journal_calls, 0);
	assert_int_equal(out.syslog_calls, 0);
	assert_int_equal(out.stderr_calls, 1);
	assert_string_equal(out.stderr_line, LINE);
	dsmd_alarm_sink_free(s);
}

/* ---- control bytes ------------------------------------------------------------ */

#define DIRTY "a\tb\x1b[31m\x7f\xc3\xa9\r\n"
#define CLEAN "a?b?[31m?????"

static const char *field(const char *name)
{
	const size_t n = strlen(name);

	for (int i = 0; i < out.nfields; i++)
		if (!strncmp(out.fields[i], name, n) && out.fields[i][n] == '=')
			return out.fields[i] + n + 1;
	return NULL;
}

static void test_control_bytes(void **state)
{
	struct fixture *f = *state;
	json_object *o = json_object_new_object();
	struct dsmd_alarm_sink *s;

	json_object_object_add(o, "comm", json_object_new_string(DIRTY));
	json_object_object_add(o, "subject", json_object_new_string("we\nb"));
	json_object_object_add(o, "target", json_object_new_string("say \"hi\\"));
	socket_up(f);
	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_JOURNAL, &f->io);
	dsmd_alarm_sink_send(s, LOG_WARNING, "alarm: comm=" DIRTY, 3, o);
	assert_non_null(field("DSM_COMM"));
	assert_string_equal(field("DSM_COMM"), CLEAN);
	assert_string_equal(field("DSM_SUBJECT"), "we?b");
	assert_string_equal(field("DSM_TARGET"), "say \"hi\\");
	assert_string_equal(field("MESSAGE"), "alarm: comm=" CLEAN);
	assert_string_equal(out.stderr_line, "alarm: comm=" CLEAN);
	dsmd_alarm_sink_free(s);

	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_SYSLOG, &f->io);
	dsmd_alarm_sink_send(s, LOG_WARNING, "alarm: comm=" DIRTY, 3, o);
	json_object_put(o);
	assert_string_equal(out.syslog, "alarm: comm=" CLEAN "; seq=3 subject=we?b "
			    "target=\"say \\\"hi\\\\\" comm=" CLEAN);
	for (const char *p = out.syslog; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	dsmd_alarm_sink_free(s);
}

/* ---- the flag ----------------------------------------------------------------- */

static void test_parse(void **state)
{
	static const char *const bad[] = { "", "Journal", "sys", "auto ", "journald", "0", "-" };
	enum dsmd_alarm_sink_mode m = DSMD_ALARM_SINK_SYSLOG;

	(void)state;
	assert_int_equal(dsmd_alarm_sink_parse("auto", &m), 0);
	assert_int_equal(m, DSMD_ALARM_SINK_AUTO);
	assert_int_equal(dsmd_alarm_sink_parse("journal", &m), 0);
	assert_int_equal(m, DSMD_ALARM_SINK_JOURNAL);
	assert_int_equal(dsmd_alarm_sink_parse("syslog", &m), 0);
	assert_int_equal(m, DSMD_ALARM_SINK_SYSLOG);
	assert_int_equal(dsmd_alarm_sink_parse("none", &m), 0);
	assert_int_equal(m, DSMD_ALARM_SINK_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = DSMD_ALARM_SINK_JOURNAL;
		assert_int_equal(dsmd_alarm_sink_parse(bad[i], &m), -EINVAL);
		assert_int_equal(m, DSMD_ALARM_SINK_JOURNAL);
	}
}

/* ---- fallback and retry --------------------------------------------------- */

static void test_no_socket_journal(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_sink *s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_JOURNAL, &f->io);

	send_full(s, LOG_WARNING, 1);
	assert_int_equal(out.journal_calls, 0);
	assert_int_equal(out.syslog_calls, 1);
	assert_non_null(strstr(out.syslog, "; seq=1 verdict=deny subject=web"));
	assert_int_equal(dsmd_alarm_sink_journal_errors(s), 1);
	assert_int_equal(warnings, 1);
	/* every 10 s another failed try, counted, not said again */
	for (int i = 1; i <= 3; i++) {
		out.now += DSMD_ALARM_JOURNAL_RETRY_MS;
		send_full(s, LOG_WARNING, 1 + (uint64_t)i);
	}
	assert_int_equal(out.syslog_calls, 4);
	assert_int_equal(dsmd_alarm_sink_journal_errors(s), 4);
	assert_int_equal(warnings, 1);
	dsmd_alarm_sink_free(s);
}

static void test_no_socket_auto(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_sink *s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_AUTO, &f->io);

	/* not a socket: a file of the same name is no journal either */
	int fd = open(f->sock, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
	send_full(s, LOG_WARNING, 1);
	unlink(f->sock);
	out.now += DSMD_ALARM_JOURNAL_RETRY_MS;
	send_full(s, LOG_WARNING, 2);
	assert_int_equal(out.journal_calls, 0);
	assert_int_equal(out.syslog_calls, 2);
	assert_int_equal(dsmd_alarm_sink_journal_errors(s), 0);
	assert_int_equal(warnings, 0);
	dsmd_alarm_sink_free(s);
}

static void test_retry_after_missing(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_sink *s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_AUTO, &f->io);
	const uint64_t t0 = out.now;

	send_full(s, LOG_WARNING, 1);          /* no socket: syslog, down until t0 + 10 s */
	assert_int_equal(out.syslog_calls, 1);
	socket_up(f);                          /* the journal starts */
	out.now = t0 + 1;
	send_full(s, LOG_WARNING, 2);
	out.now = t0 + DSMD_ALARM_JOURNAL_RETRY_MS - 1;
	send_full(s, LOG_WARNING, 3);
	assert_int_equal(out.journal_calls, 0); /* not tried before its time */
	assert_int_equal(out.syslog_calls, 3);
	out.now = t0 + DSMD_ALARM_JOURNAL_RETRY_MS;
	send_full(s, LOG_WARNING, 4);
	assert_int_equal(out.journal_calls, 1);
	assert_int_equal(out.syslog_calls, 3);
	assert_string_equal(field("DSM_SEQ"), "4");
	out.now += 1;                          /* up: every alarm to the journal */
	send_full(s, LOG_WARNING, 5);
	assert_int_equal(out.journal_calls, 2);
	assert_int_equal(out.syslog_calls, 3);
	dsmd_alarm_sink_free(s);
}

static void test_retry_after_send_error(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_sink *s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_AUTO, &f->io);
	uint64_t t0;

	socket_up(f);
	send_full(s, LOG_WARNING, 1);
	assert_int_equal(out.journal_calls, 1);
	out.journal_err = -EAGAIN;             /* the journal is stuck */
	t0 = ++out.now;
	send_full(s, LOG_WARNING, 2);
	assert_int_equal(out.journal_calls, 2);
	assert_int_equal(out.syslog_calls, 1); /* the failed one went to syslog */
	assert_non_null(strstr(out.syslog, "seq=2 "));
	assert_int_equal(dsmd_alarm_sink_journal_errors(s), 1);
	assert_int_equal(warnings, 1);
	out.journal_err = 0;
	out.now = t0 + DSMD_ALARM_JOURNAL_RETRY_MS / 2;
	send_full(s, LOG_WARNING, 3);
	assert_int_equal(out.journal_calls, 2);
	assert_int_equal(out.syslog_calls, 2);
	out.now = t0 + DSMD_ALARM_JOURNAL_RETRY_MS;
	send_full(s, LOG_WARNING, 4);
	assert_int_equal(out.journal_calls, 3);
	assert_int_equal(out.syslog_calls, 2);
	assert_int_equal(infos, 1);            /* "the journal takes alarms again" */
	assert_int_equal(dsmd_alarm_sink_journal_errors(s), 1);
	dsmd_alarm_sink_free(s);
}

/* ---- stderr when it is the journal -------------------------------------------- */

static void test_stderr_is_journal(void **state)
{
	struct fixture *f = *state;
	struct dsmd_alarm_sink *s;

	f->io.stderr_is_journal = true;
	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_JOURNAL, &f->io);
	send_full(s, LOG_WARNING, 1);          /* no journal: syslog and stderr */
	assert_int_equal(out.syslog_calls, 1);
	assert_int_equal(out.stderr_calls, 1);
	socket_up(f);
	out.now += DSMD_ALARM_JOURNAL_RETRY_MS;
	send_full(s, LOG_WARNING, 2);          /* the journal: there once, not twice */
	assert_int_equal(out.journal_calls, 1);
	assert_int_equal(out.stderr_calls, 1);
	dsmd_alarm_sink_free(s);
}

/* ---- the real libsystemd, in a mount namespace -------------------------------- */

#define NS_SKIP 77

/* In the child: a tmpfs over the journal's directory (or the nearest
 * parent there is), so the socket is ours or missing. */
static int private_journal_dir(void)
{
	static const char *const at[] = { "/run/systemd/journal", "/run/systemd", "/run" };

	if (unshare(CLONE_NEWNS))
		return host_capability_error(errno) ? NS_SKIP : 1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return host_capability_error(errno) ? NS_SKIP : 1;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		if (!mount("tmpfs", at[i], "tmpfs", 0, "mode=0755"))
			return mkdir("/run/systemd", 0755) && errno != EEXIST ? 1 :
			       mkdir("/run/systemd/journal", 0755) && errno != EEXIST ? 1 : 0;
		if (errno != ENOENT)
			return host_capability_error(errno) ? NS_SKIP : 1;
	}
	return 1;
}

#define CHILD_CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #cond); _exit(1); } } while (0)

static void real_journal_child(void)
{
	struct dsmd_alarm_sink_io io = {
		.journal_send = journal_sendv, .syslog_line = fake_syslog,
		.stderr_line = fake_stderr, .now_ms = fake_now,
		.journal_socket = DSMD_JOURNAL_SOCKET,
	};
	struct dsmd_alarm_sink *s;
	char buf[8192];
	ssize_t n;
	int rc = private_journal_dir(), fd;

	if (rc)
		_exit(rc);
	/* a journal: the entry arrives whole, as the native protocol has it */
	fd = bind_dgram(DSMD_JOURNAL_SOCKET);
	CHILD_CHECK(fd >= 0);
	s = dsmd_alarm_sink_new(DSMD_ALARM_SINK_AUTO, &io);
	CHILD_CHECK(s);
	send_full(s, LOG_WARNING, 9);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHILD_CHECK(n > 0);
	buf[n] = '\0';
	CHILD_CHECK(strstr(buf, "MESSAGE=" LINE "\n") == buf);
	CHILD_CHECK(strstr(buf, "\nPRIORITY=4\n"));
	CHILD_CHECK(strstr(buf, "\nSYSLOG_IDENTIFIER=dsmd\n"));
	CHILD_CHECK(strstr(buf, "\nMESSAGE_ID=" DSMD_ALARM_MESSAGE_ID "\n"));
	CHILD_CHECK(strstr(buf, "\nDSM_SEQ=9\n"));
	CHILD_CHECK(strstr(buf, "\nDSM_COMM=curl\n"));
	CHILD_CHECK(strstr(buf, "\nDSM_SUBJECT=web\n"));
	CHILD_CHECK(out.syslog_calls == 0);
	/* the journal goes: sd_journal_sendv() would say 0, the sink looks */
	close(fd);
	CHILD_CHECK(unlink(DSMD_JOURNAL_SOCKET) == 0);
	out.now += 1;
	send_full(s, LOG_WARNING, 10);
	CHILD_CHECK(out.syslog_calls == 1);
	CHILD_CHECK(strstr(out.syslog, "; seq=10 verdict=deny"));
	dsmd_alarm_sink_free(s);
	_exit(0);
}

static void test_real_journal(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		real_journal_child();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == NS_SKIP)
		skip_host("no mount namespace of the test's own (unshare or mount refused)");
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_bytes, setup, teardown),
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_no_socket_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_socket_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_send_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stderr_is_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_journal, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
