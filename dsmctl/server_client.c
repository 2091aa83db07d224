// SPDX-License-Identifier: GPL-2.0
/*
 * The client of dsm-server's control socket: the same exchange as with
 * dsmd (client.c: one line, one JSON object, every step bounded), to
 * another socket, with a file descriptor handed over when the verb takes
 * one (policy-push: the signed envelope). Messages name dsm-server and
 * the socket, so an operator sees which daemon did not answer.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <json-c/json.h>

#include "server_client.h"

const char *dsmctl_server_socket(const struct dsmctl_global *g)
{
	return g && g->server_socket ? g->server_socket : DSMCTL_SERVER_SOCKET_DEFAULT;
}

enum dsmctl_call_status dsmctl_server_call(const char *path, const char *request, int pass_fd,
					   struct json_object **answer,
					   char *err, size_t errlen)
{
	enum dsmctl_call_status st;
	int fd;

	*answer = NULL;
	fd = dsmctl_connect_to(path, DSMCTL_SERVER_PEER, DSMCTL_TIMEOUT_MS, err, errlen);
	if (fd < 0)
		return dsmctl_connect_status(errno);
	st = dsmctl_roundtrip_to(fd, DSMCTL_SERVER_PEER, request, pass_fd, DSMCTL_TIMEOUT_MS,
				 DSMCTL_ANSWER_MAX, answer, err, errlen);
	close(fd);
	return st;
}

struct json_object *dsmctl_server_query(const struct dsmctl_global *g, const char *request,
					int pass_fd, int *exit_status)
{
	struct json_object *answer;
	char err[DSMCTL_ERR_MAX];
	const enum dsmctl_call_status st = dsmctl_server_call(dsmctl_server_socket(g), request,
							      pass_fd, &answer, err, sizeof(err));

	if (st != DSMCTL_CALL_OK) {
		dsmctl_error("%s", err);
		*exit_status = dsmctl_exit_status(st);
		return NULL;
	}
	return answer;
}

const char *dsmctl_json_str(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool dsmctl_json_int(const struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}
