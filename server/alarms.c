// SPDX-License-Identifier: GPL-2.0
/*
 * alarms.jsonl: every node's alarms, one JSON object a line, each with the
 * "node" it came from (its certificate's name) and its "seq". A node
 * numbers its alarms and resends what was not acknowledged, so a sequence
 * at or below the node's alarm_seq (its record) is already stored and not
 * written again. A batch is synced before it is acknowledged: the node
 * deletes what the ack covers. At SRV_ALARMS_ROTATE bytes the file becomes
 * alarms.jsonl.1 (one old file kept) and a new one is started.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "server.h"

#define ALARMS_FILE "alarms.jsonl"
#define ALARMS_OLD  "alarms.jsonl.1"

int srv_alarms_open(struct srv *s)
{
	char path[PATH_MAX];
	struct stat st;

	srv_path(s, ALARMS_FILE, path);
	s->alarms.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->alarms.fd < 0 || fstat(s->alarms.fd, &st)) {
		srv_err("alarms: %s: %s", path, strerror(errno));
		return -errno;
	}
	s->alarms.size = (uint64_t)st.st_size;
	if (!s->alarms.rotate_at)
		s->alarms.rotate_at = SRV_ALARMS_ROTATE;
	return 0;
}

void srv_alarms_close(struct srv *s)
{
	if (s->alarms.fd > 0)
		close(s->alarms.fd);
	s->alarms.fd = -1;
}

static int rotate(struct srv *s)
{
	char cur[PATH_MAX], old[PATH_MAX];

	srv_path(s, ALARMS_FILE, cur);
	srv_path(s, ALARMS_OLD, old);
	if (rename(cur, old))
		return -errno;
	srv_alarms_close(s);
	srv_info("alarms: %s rotated to %s", cur, old);
	return srv_alarms_open(s);
}

/* One record: the node's object (or its text, if it is not one) with
 * "node" and "seq" set by the server. */
static json_object *record(const char *node, uint64_t seq, const char *text)
{
	json_object *o = srv_json_parse(text, strlen(text));

	if (!o) {
		o = json_object_new_object();
		if (!o)
			return NULL;
		json_object_object_add(o, "invalid", json_object_new_string(text));
	}
	json_object_object_add(o, "node", json_object_new_string(node));
	json_object_object_add(o, "seq", json_object_new_uint64(seq));
	return o;
}

static int append(struct dsm_msg_buf *b, json_object *o)
{
	const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	const size_t n = text ? strlen(text) : 0;
	uint8_t *p = text ? dsm_msg_buf_room(b, n + 1) : NULL;

	if (p) {
		memcpy(p, text, n);
		p[n] = '\n';
	}
	json_object_put(o);
	return p ? 0 : -ENOMEM;
}

static int write_all(struct srv *s, const struct dsm_msg_buf *b)
{
	int err = 0;

	if (!b->len)
		return 0;
	if (s->alarms.size >= s->alarms.rotate_at && (err = rotate(s)))
		return err;
	for (size_t off = 0; off < b->len;) {
		const ssize_t n = write(s->alarms.fd, b->data + off, b->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
		s->alarms.size += (uint64_t)n;
	}
	return fdatasync(s->alarms.fd) ? -errno : 0;
}

/* What the node said it lost, as an alarm record of the server's own:
 * "time" and "verdict" like every record, so that readers take it as one. */
static json_object *dropped_record(const char *node, uint64_t dropped)
{
	json_object *o = json_object_new_object();
	char when[32];
	const time_t now = srv_wall();
	struct tm tm;

	if (o) {
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_object_add(o, "time", json_object_new_string(when));
		json_object_object_add(o, "node", json_object_new_string(node));
		json_object_object_add(o, "verdict", json_object_new_string("lost"));
		json_object_object_add(o, "dropped", json_object_new_uint64(dropped));
	}
	return o;
}

/* The lines of the alarms not yet stored; *last is the highest now. */
static int new_lines(const struct srv_node *n, const struct dsm_msg_alarms *a,
		     struct dsm_msg_buf *b, uint64_t *last, uint64_t *dropped, uint64_t *gap)
{
	int err = 0;

	if (a->dropped && a->first_seq > *last) {
		err = append(b, dropped_record(n->name, a->dropped));
		*dropped += a->dropped;
	}
	for (uint32_t i = 0; i < a->alarms.count && !err; i++) {
		const uint64_t seq = a->first_seq + i;

		if (seq <= *last)
			continue;
		if (seq > *last + 1) {
			srv_warn("alarms: node %s: alarms %llu to %llu never arrived", n->name,
				 (unsigned long long)*last + 1, (unsigned long long)seq - 1);
			*gap += seq - *last - 1;
		}
		err = append(b, record(n->name, seq, a->alarms.line[i]));
		if (!err)
			*last = seq;
	}
	return err;
}

int srv_alarms_store(struct srv *s, struct srv_node *n, const struct dsm_msg_alarms *a,
		     uint64_t *acked)
{
	struct dsm_msg_buf b = { 0 };
	uint64_t last = n->alarm_seq, dropped = 0, gap = 0;
	int err = new_lines(n, a, &b, &last, &dropped, &gap);

	s->stats.alarms_received += a->alarms.count;
	if (!err)
		err = write_all(s, &b);
	dsm_msg_buf_release(&b);
	if (err)
		return err;
	/* the records written: one per number taken, gaps aside */
	s->stats.alarms_written += last - n->alarm_seq - gap;
	s->stats.alarms_dropped += dropped;
	s->stats.alarms_gap += gap;
	if (last != n->alarm_seq) {
		n->alarm_seq = last;
		err = srv_node_put(s, n);
		if (err)
			return err;
	}
	*acked = last;
	return 0;
}

int srv_alarms_raise(struct srv *s, json_object *o)
{
	struct dsm_msg_buf b = { 0 };
	int err = o ? 0 : -ENOMEM;
	char when[32];
	struct tm tm;
	const time_t now = srv_wall();

	if (!err) {
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_object_add(o, "time", json_object_new_string(when));
		err = append(&b, o);
	}
	if (!err)
		err = write_all(s, &b);
	dsm_msg_buf_release(&b);
	return err;
}

int srv_alarms_read(struct srv *s, uint64_t offset, unsigned int max, json_object *arr,
		    uint64_t *next)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	struct stat st;
	ssize_t n;
	FILE *f;

	srv_path(s, ALARMS_FILE, path);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || (uint64_t)st.st_size < offset)
		offset = 0; /* rotated since: start the new file */
	if (fseeko(f, (off_t)offset, SEEK_SET)) {
		fclose(f);
		return -errno;
	}
	*next = offset;
	while (max && (n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		json_object *o = srv_json_parse(line, (size_t)n - 1);

		*next += (uint64_t)n;
		if (!o)
			continue;
		json_object_array_add(arr, o);
		max--;
	}
	free(line);
	fclose(f);
	return 0;
}
