/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Little-endian integers of 1 to 8 bytes, as dsm's byte formats store them
 * (policy bundles, signed envelopes, the channel's frames).
 */
#ifndef DSM_LE_H
#define DSM_LE_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t dsm_get_le(const uint8_t *p, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void dsm_put_le(uint8_t *p, uint64_t v, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif /* DSM_LE_H */
