// SPDX-License-Identifier: GPL-2.0
/*
 * dsm's BPF LSM object: labels on tasks and sockets, and every local
 * permission check. One object so that all hooks share one set of maps;
 * one header per concern, each standing alone:
 *   lsm_maps.bpf.h  the maps (pinned by name)
 *   policy.bpf.h    labels, check(), reporting, fail-closed paths
 *   task.bpf.h      fork, exec, transitions, ptrace
 *   signal.bpf.h    signals, by every path
 *   socket.bpf.h    create, bind, listen, connect, accept, send, recv
 *   system.bpf.h    the node as a whole: bpf(), kernel code, dsm's files
 *   peer.bpf.h      the receive check: peer label@node -> socket label
 *   unix.bpf.h      unix connects and datagrams: peer checks, the peer of
 *                   an accepted unix connection
 *   label_iter.bpf.h  start-up labeling: iterators over tasks and files
 *   netlink.bpf.h   network administration: tc, packet filters, interfaces
 */
#include "task.bpf.h"
#include "signal.bpf.h"
#include "socket.bpf.h"
#include "system.bpf.h"
#include "peer.bpf.h"
#include "unix.bpf.h"
#include "label_iter.bpf.h"
#include "netlink.bpf.h"

char LICENSE[] SEC("license") = "GPL";
