/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmctl's cluster commands: talking to dsm-server's control socket (one
 * request line, optionally with a file descriptor, one JSON answer; the
 * verbs are in docs/server.md, "Control socket") and showing what it
 * says. Exit statuses as for dsmd (client.h): 1 an error answer, 2 usage,
 * 3 dsm-server is not running, 4 it does not answer in time.
 */
#ifndef DSMCTL_SERVER_CLIENT_H
#define DSMCTL_SERVER_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "client.h"

struct json_object;

#define DSMCTL_SERVER_SOCKET_DEFAULT "/run/dsm-server/control.sock" /* env DSM_SERVER_SOCKET */
#define DSMCTL_SERVER_PEER           "dsm-server" /* in messages */

#define DSMCTL_TOKEN_HEX     64    /* a join token: 32 random bytes in hex */
#define DSMCTL_TOKEN_TTL_MAX 86400 /* seconds; the server's default is 3600 */

/* ---- server_client.c ----------------------------------------------------- */

/* The server's control socket: --server-socket, else $DSM_SERVER_SOCKET
 * (main.c puts either into g), else the default. */
const char *dsmctl_server_socket(const struct dsmctl_global *g);

/* One request to dsm-server at path, handing it pass_fd (if >= 0) with the
 * request line; like dsmctl_call() otherwise. */
enum dsmctl_call_status dsmctl_server_call(const char *path, const char *request, int pass_fd,
					   struct json_object **answer,
					   char *err, size_t errlen);

/* Send request (and pass_fd, if >= 0) and return the answer object, or
 * print the error ("dsmctl: MESSAGE"), set *exit_status and return NULL. */
struct json_object *dsmctl_server_query(const struct dsmctl_global *g, const char *request,
					int pass_fd, int *exit_status);

/* A member of an answer: a string (NULL if absent or not one), an integer
 * (false if absent or not one). */
const char *dsmctl_json_str(const struct json_object *o, const char *key);
bool dsmctl_json_int(const struct json_object *o, const char *key, int64_t *out);

/* ---- format.c: the server's answers as text ----------------------------- */

enum {
	DSMCTL_NODES_CERT   = 1u << 0, /* a CERT-EXPIRES column (node list) */
	DSMCTL_NODES_KEYGEN = 1u << 1, /* a KEYGEN column if any node has "keygen" */
};

/* The "nodes" array of node-list or status as a table, by id:
 *   NAME ID STATE ADDRESS POLICY [KEYGEN] [CERT-EXPIRES] LAST-SEEN ALARMS CONNECTED
 * POLICY is "V (RESULT)"; LAST-SEEN an age before now ("12s ago"), or
 * "never". "no nodes" for an empty array. Returns 0, or -1 if nodes is not
 * an array or out of memory. */
int dsmctl_format_nodes(FILE *out, const struct json_object *nodes, unsigned flags, time_t now);

/* The status answer: a few lines on the cluster, then its nodes. */
int dsmctl_format_cluster_status(FILE *out, const struct json_object *st, time_t now);

/* The policy-status answer: the version in force, then NAME VERSION
 * RESULT STATE with STATE "current" or "behind". */
int dsmctl_format_policy_status(FILE *out, const struct json_object *ps);

/* A time as "2026-11-27T06:30:00Z" (or "@N" if it cannot be shown). */
void dsmctl_utc(uint64_t t, char out[32]);

/* ---- the commands ------------------------------------------------------- */

/* cluster init | status (argv[0] is "cluster"). */
int dsmctl_cmd_cluster(const struct dsmctl_global *g, int argc, char **argv);

/* node add | list | remove (argv[0] is "node"). */
int dsmctl_cmd_node(const struct dsmctl_global *g, int argc, char **argv);

/* keys status | rotate (argv[0] is "keys"). */
int dsmctl_cmd_keys(const struct dsmctl_global *g, int argc, char **argv);

/* policy push | status (argv[0] is "policy", argv[1] the subcommand). */
int dsmctl_policy_push(const struct dsmctl_global *g, int argc, char **argv);
int dsmctl_policy_status(const struct dsmctl_global *g, int argc, char **argv);

/* alarms --cluster (cmd_alarms.c): every alarm the server holds, from
 * offset 0; with follow, then polled every second until SIGINT/SIGTERM. */
int dsmctl_cluster_alarms(const struct dsmctl_global *g, bool follow, bool json);

#endif /* DSMCTL_SERVER_CLIENT_H */
