/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* SipHash-2-4 on the host, by OpenSSL (the BPF side has its own, bpf/siphash.h). */
#ifndef DSM_SIPMAC_H
#define DSM_SIPMAC_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of len bytes at msg under a 16-byte key, as the 64-bit value
 * whose little-endian bytes are the reference output. 0 or -EIO. */
int dsm_siphash24(const uint8_t key[16], const void *msg, size_t len, uint64_t *out);

#endif /* DSM_SIPMAC_H */
