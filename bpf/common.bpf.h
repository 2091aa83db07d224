/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every dsm BPF program includes: kernel types, libbpf's helpers, the
 * ABI and wire headers, and the few kernel constants vmlinux.h lacks
 * (macros are not in BTF).
 */
#ifndef DSM_BPF_COMMON_BPF_H
#define DSM_BPF_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "dsm/abi.h"
#include "dsm/wire.h"

#define EPERM        1
#define ENOMEM       12
#define EACCES       13
#define EBADMSG      74
#define ESTALE       116
#define EKEYREJECTED 129

/* The errno of every dsm denial. */
#define DSM_DENY (-EACCES)

#define AF_UNIX      1
#define AF_INET      2
#define AF_INET6     10
#define AF_NETLINK   16
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IPPROTO_TCP  6

#endif /* DSM_BPF_COMMON_BPF_H */
