// SPDX-License-Identifier: GPL-2.0
/*
 * dsm's BPF LSM object: labels on tasks and sockets, and every local
 * permission check. One object so that all hooks share one set of maps;
 * one header per concern:
 *   maps.h    the maps (pinned by dsmd)
 *   decide.h  labels, dsm_check(), reporting, fail-closed paths
 *   task.h    fork, exec, signals, ptrace
 *   socket.h  create, bind, listen, connect, accept, send, recv
 *   system.h  self-protection: bpf(), kernel code, dsm's own files
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dsm/abi.h"

char LICENSE[] SEC("license") = "GPL";

#include "maps.h"
#include "decide.h"
#include "task.h"
#include "socket.h"
#include "system.h"
