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
 *   peer.h    the receive check: peer label@node -> socket label
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "dsm/abi.h"
#include "dsm/wire.h"

char LICENSE[] SEC("license") = "GPL";

#include "siphash.h"
#include "ipopt.h"
#include "net_verify.h"
#include "maps.h"
#define DSM_NET_KEYS_ONLY
#include "net_maps.h"
#include "decide.h"
#include "task.h"
#include "socket.h"
#include "system.h"
#include "peer.h"
