// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket dsmctl talks to (docs/dsmctl.md): one request line,
 * one JSON answer, then the connection closes. A request for an exec label
 * applies to the requesting process only (SO_PEERCRED), and the kernel
 * still checks process:transition at that exec, so the socket grants
 * nothing the policy does not.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include "dsmd.h"
#include "dsm/wire.h"

int dsmd_control_open(struct dsmd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n, fd, err;

	n = snprintf(d->ctl_path, sizeof(d->ctl_path), "%s/dsmd.sock", d->o.state_dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, d->ctl_path, (size_t)n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	unlink(d->ctl_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(d->ctl_path, 0600) ||
	    listen(fd, 16))
		goto fail;
	d->ctl_fd = fd;
	return 0;
fail:
	err = -errno;
	log_error("control: %s: %s", d->ctl_path, strerror(-err));
	if (fd >= 0)
		close(fd);
	return err;
}

static json_object *error_obj(const char *fmt, const char *arg)
{
	json_object *o = json_object_new_object();
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static void add_alarm(const struct dsmd_alarm_count *c, void *ctx)
{
	json_object *arr = ctx, *a = json_object_new_object();
	const char *s;

	json_object_object_add(a, "subject_id", json_object_new_int64(c->subject));
	json_object_object_add(a, "target_id", json_object_new_int64(c->target));
	if ((s = dsm_class_name(c->class)))
		json_object_object_add(a, "class", json_object_new_string(s));
	if ((s = dsm_perm_name(c->class, c->perm)))
		json_object_object_add(a, "perm", json_object_new_string(s));
	json_object_object_add(a, "verdict", json_object_new_string(
		c->verdict == DSM_VERDICT_PERMISSIVE ? "permissive" : "deny"));
	json_object_object_add(a, "count", json_object_new_int64((int64_t)c->count));
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
};

/* o.counters and o.packets: every counter by name; empty if unreadable. */
static void add_counters(const struct dsmd *d, json_object *o)
{
	json_object *groups[2] = { json_object_new_object(), json_object_new_object() };
	uint64_t v[DSM_CNT_MAX];

	if (dsmd_bpf_counters(dsmd_map_fd(d, DSMD_MAP_COUNTERS), DSM_CNT_MAX, v) == 0)
		for (uint32_t i = 0; i < DSM_CNT_MAX; i++)
			json_object_object_add(groups[strcmp(counter_names[i].group, "counters") != 0],
					       counter_names[i].name,
					       json_object_new_int64((int64_t)v[i]));
	json_object_object_add(o, "counters", groups[0]);
	json_object_object_add(o, "packets", groups[1]);
}

static json_object *do_status(struct dsmd *d)
{
	json_object *o = json_object_new_object(), *node, *pol, *alarms;
	size_t nlabels, nent, nres;

	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	node = json_object_new_object();
	json_object_object_add(node, "id", json_object_new_int64(d->node_id));
	json_object_object_add(node, "name", json_object_new_string(d->node_name));
	json_object_object_add(o, "node", node);
	json_object_object_add(o, "mode", json_object_new_string(
		dsm_policy_mode(d->policy) == DSM_MODE_PERMISSIVE ? "permissive" : "enforcing"));
	json_object_object_add(o, "takeover", json_object_new_boolean(d->takeover));
	pol = json_object_new_object();
	dsm_policy_labels(d->policy, &nlabels);
	dsm_policy_entries(d->policy, &nent);
	dsm_policy_resolved_entries(d->policy, &nres);
	json_object_object_add(pol, "name", json_object_new_string(dsm_policy_name(d->policy)));
	json_object_object_add(pol, "version",
			       json_object_new_int64((int64_t)dsm_policy_version(d->policy)));
	json_object_object_add(pol, "labels", json_object_new_int64((int64_t)nlabels));
	json_object_object_add(pol, "entries", json_object_new_int64((int64_t)(nent + nres + 1)));
	json_object_object_add(pol, "source", json_object_new_string(d->o.policy_path));
	json_object_object_add(o, "policy", pol);
	add_counters(d, o);
	alarms = json_object_new_array();
	dsmd_alarm_walk(d, add_alarm, alarms);
	name_alarms(d, alarms);
	json_object_object_add(o, "alarms", alarms);
	return o;
}

static json_object *do_ps(struct dsmd *d)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct dirent *de;
	DIR *proc = opendir("/proc");

	while (proc && (de = readdir(proc))) {
		char path[64], comm[64] = "";
		uint32_t label;
		const char *name;
		json_object *e;
		FILE *f;
		int pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (dsmd_task_label(d, d->policy, pid, &label))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if ((f = fopen(path, "re"))) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		e = json_object_new_object();
		json_object_object_add(e, "pid", json_object_new_int(pid));
		name = dsm_policy_label_name(d->policy, label);
		if (name)
			json_object_object_add(e, "label", json_object_new_string(name));
		json_object_object_add(e, "label_id", json_object_new_int64(label));
		json_object_object_add(e, "comm", json_object_new_string(comm));
		json_object_array_add(arr, e);
	}
	if (proc)
		closedir(proc);
	json_object_object_add(o, "processes", arr);
	return o;
}

static json_object *do_exec_label(struct dsmd *d, int cfd, const char *label)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	json_object *o;
	uint32_t id;
	int err;

	if (!label || !*label)
		return error_obj("exec-label: no label given%s", "");
	if (dsm_policy_label_id(d->policy, label, &id))
		return error_obj("exec-label: no label '%s' in the policy", label);
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid <= 0)
		return error_obj("exec-label: cannot identify the caller%s", "");
	err = dsmd_request_exec_label(d, cred.pid, id);
	if (err)
		return error_obj("exec-label: %s", strerror(-err));
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "label", json_object_new_string(label));
	json_object_object_add(o, "label_id", json_object_new_int64(id));
	return o;
}

static json_object *do_reload(struct dsmd *d)
{
	json_object *o;

	if (dsmd_policy_load(d))
		return error_obj("reload failed: the previous policy stays in force%s", "");
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "version",
			       json_object_new_int64((int64_t)dsm_policy_version(d->policy)));
	return o;
}

/* The peer of a socket the client handed over (SCM_RIGHTS). */
static json_object *do_peerlabel(struct dsmd *d, int sfd)
{
	struct dsm_sock_ctx c;
	json_object *o;
	const char *n;

	if (sfd < 0)
		return error_obj("peerlabel: no socket passed%s", "");
	if (bpf_map_lookup_elem(dsmd_map_fd(d, DSMD_MAP_SOCKETS), &sfd, &c))
		return error_obj("peerlabel: the socket carries no dsm label (%s)", strerror(errno));
	if (c.peer_label == DSM_LABEL_INVALID)
		return error_obj("peerlabel: no peer checked on this socket yet%s", "");
	o = json_object_new_object();
	json_object_object_add(o, "label_id", json_object_new_int64(c.peer_label));
	if ((n = dsm_policy_label_name(d->policy, c.peer_label)))
		json_object_object_add(o, "label", json_object_new_string(n));
	json_object_object_add(o, "node_id", json_object_new_int64(c.peer_node));
	n = c.peer_node == DSM_NODE_ANY ? "any" : dsm_policy_node_name(d->policy, c.peer_node);
	if (n)
		json_object_object_add(o, "node", json_object_new_string(n));
	json_object_object_add(o, "bound", json_object_new_boolean(c.flags & DSM_SOCK_F_PEER_BOUND));
	return o;
}

/* Read one request line, and a file descriptor if one came with it. */
static size_t read_request(int cfd, char *line, size_t len, int *passed)
{
	size_t got = 0;

	*passed = -1;
	while (got < len - 1) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = line + got, .iov_len = len - 1 - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		ssize_t n = recvmsg(cfd, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
			    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
				if (*passed >= 0)
					close(*passed);
				memcpy(passed, CMSG_DATA(cm), sizeof(int));
			}
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	return got;
}

static void serve_one(struct dsmd *d, int cfd)
{
	struct timeval tv = { .tv_sec = 2 };
	char line[512];
	size_t got;
	json_object *ans;
	const char *out;
	char *arg;
	int passed;

	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	got = read_request(cfd, line, sizeof(line), &passed);
	line[got] = '\0';
	if (!memchr(line, '\n', got)) {
		ans = error_obj("request must be one line of at most %s bytes", "510");
		goto reply;
	}
	line[strcspn(line, "\r\n")] = '\0';
	arg = strchr(line, ' ');
	if (arg)
		*arg++ = '\0';
	if (!strcmp(line, "status"))
		ans = do_status(d);
	else if (!strcmp(line, "ps"))
		ans = do_ps(d);
	else if (!strcmp(line, "exec-label"))
		ans = do_exec_label(d, cfd, arg);
	else if (!strcmp(line, "reload"))
		ans = do_reload(d);
	else if (!strcmp(line, "peerlabel"))
		ans = do_peerlabel(d, passed);
	else
		ans = error_obj("unknown request '%.64s'", line);
reply:
	out = json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PLAIN);
	for (size_t off = 0, len = strlen(out); off < len;) {
		ssize_t n = write(cfd, out + off, len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	json_object_put(ans);
	if (passed >= 0)
		close(passed);
}

void dsmd_control_serve(struct dsmd *d)
{
	int cfd;

	while ((cfd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		serve_one(d, cfd);
		close(cfd);
	}
}

void dsmd_control_close(struct dsmd *d)
{
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->ctl_path);
	}
	d->ctl_fd = -1;
}
