/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The socket labels, declared once for both BPF objects: the LSM object
 * fills them, the packet object reads them, and dsmd hands the packet
 * object the LSM's map with bpf_map__reuse_fd, which needs the two
 * declarations to be identical. BPF_F_CLONE: an accepted TCP socket
 * inherits its listener's context.
 */
#ifndef DSM_BPF_SOCKS_MAP_H
#define DSM_BPF_SOCKS_MAP_H

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct dsm_sock_ctx);
} dsm_sockets SEC(".maps");

#endif
