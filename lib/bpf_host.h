/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * For programs other than dsmd that load dsm's BPF objects on a host of
 * their own (unit tests, benchmarks): keep the maps private, and set the
 * packet configuration to a fixed epoch.
 */
#ifndef DSM_BPF_HOST_H
#define DSM_BPF_HOST_H

#include <stdint.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "dsm/wire.h"

/* dsm's maps are pinned by name under dsmd's pin directory; a test or a
 * benchmark must neither reuse a running dsm's maps nor leave pins behind.
 * Call between open and load. */
static inline void dsm_obj_unpinned(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
}

/* Epochs of an hour, counted from @epoch: the programs compute @epoch now
 * and for the next half hour (dsm_epoch()). */
static inline void dsm_cfg_at_epoch(struct dsm_net_cfg *cfg, uint32_t epoch)
{
	const int64_t len = 3600ll * 1000000000ll;
	struct timespec tai;

	clock_gettime(CLOCK_TAI, &tai);
	cfg->epoch_seconds = 3600;
	cfg->epoch_base = epoch;
	cfg->clock_offset_ns = len / 4 - ((int64_t)tai.tv_sec * 1000000000ll + tai.tv_nsec);
}

#endif /* DSM_BPF_HOST_H */
