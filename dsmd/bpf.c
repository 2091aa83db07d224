// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side's lifetime. A fresh start opens and loads the LSM object,
 * lets the caller install a policy and label tasks, then attaches every
 * program and pins links and maps under the pin directory, so enforcement
 * survives dsmd. A restarted dsmd takes over by opening the pinned maps;
 * the pinned links keep the programs attached throughout.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "dsmd.h"
#include "dsm_lsm.skel.h"
#include "dsm_net.skel.h"

/* Maps of the LSM object, then of the packet object (pinned after it loads). */
static const char *const map_names[] = {
	"dsm_policy", "dsm_tasks", "dsm_sockets", "dsm_events", "dsm_counters", "dsm_protected",
	"dsm_keys", "dsm_net_config", "dsm_conn_peers", "dsm_policy_gen",
	"dsm_net_counters", "dsm_net_events",
};
#define NLSM_MAPS 10
#define NMAPS (sizeof(map_names) / sizeof(map_names[0]))

static int *map_fd_slot(struct dsmd *d, size_t i)
{
	int *slots[NMAPS] = { &d->policy_fd, &d->tasks_fd, &d->socks_fd,
			      &d->events_fd, &d->counters_fd, &d->protected_fd,
			      &d->keys_fd, &d->netcfg_fd, &d->conn_fd, &d->gen_fd,
			      &d->net_counters_fd, &d->net_events_fd };
	return slots[i];
}

static int pin_path(char *buf, size_t len, const char *dir, const char *kind, const char *name)
{
	int n = snprintf(buf, len, "%s/%s%s%s", dir, kind, name ? "/" : "", name ? name : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int dsmd_bpf_pinned(const struct dsmd *d)
{
	char path[PATH_MAX];
	struct stat st;

	if (pin_path(path, sizeof(path), d->o.pin_dir, "maps", map_names[0]))
		return 0;
	return stat(path, &st) == 0;
}

int dsmd_bpf_load(struct dsmd *d)
{
	int err;

	d->skel = dsm_lsm_bpf__open();
	if (!d->skel) {
		err = -errno;
		log_err("bpf", "open LSM object: %s", strerror(-err));
		return err;
	}
	err = dsm_lsm_bpf__load(d->skel);
	if (err) {
		log_err("bpf", "load LSM object: %s (is BPF LSM active? cat /sys/kernel/security/lsm)",
			strerror(-err));
		return err;
	}
	d->policy_fd = bpf_map__fd(d->skel->maps.dsm_policy);
	d->tasks_fd = bpf_map__fd(d->skel->maps.dsm_tasks);
	d->socks_fd = bpf_map__fd(d->skel->maps.dsm_sockets);
	d->events_fd = bpf_map__fd(d->skel->maps.dsm_events);
	d->counters_fd = bpf_map__fd(d->skel->maps.dsm_counters);
	d->protected_fd = bpf_map__fd(d->skel->maps.dsm_protected);
	d->keys_fd = bpf_map__fd(d->skel->maps.dsm_keys);
	d->netcfg_fd = bpf_map__fd(d->skel->maps.dsm_net_config);
	d->conn_fd = bpf_map__fd(d->skel->maps.dsm_conn_peers);
	d->gen_fd = bpf_map__fd(d->skel->maps.dsm_policy_gen);
	return 0;
}

static int mkdir_p(const char *dir, const char *sub)
{
	char path[PATH_MAX];

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (!sub)
		return 0;
	if (pin_path(path, sizeof(path), dir, sub, NULL))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Attach every program, pinning each link as it goes. Maps are pinned
 * first so that a half-done start can always be found and undone by
 * `dsmd --unload`.
 */
int dsmd_bpf_attach_and_pin(struct dsmd *d)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	size_t i;
	int err;

	err = mkdir_p(d->o.pin_dir, "maps");
	if (!err)
		err = mkdir_p(d->o.pin_dir, "links");
	if (err) {
		log_err("bpf", "create %s: %s", d->o.pin_dir, strerror(-err));
		return err;
	}
	for (i = 0; i < NMAPS; i++) {
		struct bpf_object *obj = i < NLSM_MAPS ? d->skel->obj : d->net->obj;
		struct bpf_map *map = bpf_object__find_map_by_name(obj, map_names[i]);

		if (!map || pin_path(path, sizeof(path), d->o.pin_dir, "maps", map_names[i]))
			return -EINVAL;
		err = bpf_map__pin(map, path);
		if (err) {
			log_err("bpf", "pin %s: %s", path, strerror(-err));
			return err;
		}
	}
	bpf_object__for_each_program(prog, d->skel->obj) {
		struct bpf_link *link = bpf_program__attach(prog);

		if (!link) {
			err = -errno;
			log_err("bpf", "attach %s: %s", bpf_program__name(prog), strerror(-err));
			return err;
		}
		if (pin_path(path, sizeof(path), d->o.pin_dir, "links", bpf_program__name(prog)))
			err = -ENAMETOOLONG;
		else
			err = bpf_link__pin(link, path);
		/* The pin holds the link now; our reference goes either way. */
		bpf_link__disconnect(link);
		bpf_link__destroy(link);
		if (err) {
			log_err("bpf", "pin %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

int dsmd_bpf_takeover(struct dsmd *d)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < NMAPS; i++) {
		int fd;

		if (pin_path(path, sizeof(path), d->o.pin_dir, "maps", map_names[i]))
			return -ENAMETOOLONG;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			int err = -errno;

			log_err("bpf", "take over %s: %s", path, strerror(-err));
			return err;
		}
		*map_fd_slot(d, i) = fd;
	}
	d->takeover = true;
	return 0;
}

/* Remove every pin: links first (that detaches the programs), then maps. */
int dsmd_bpf_unpin(const char *pin_dir)
{
	static const char *const kinds[] = { "links", "maps" };
	char dir[PATH_MAX], path[PATH_MAX];
	int ret = 0;

	for (size_t k = 0; k < 2; k++) {
		struct dirent *de;
		DIR *dh;

		if (pin_path(dir, sizeof(dir), pin_dir, kinds[k], NULL))
			return -ENAMETOOLONG;
		dh = opendir(dir);
		if (!dh) {
			if (errno != ENOENT)
				ret = -errno;
			continue;
		}
		while ((de = readdir(dh))) {
			if (de->d_name[0] == '.')
				continue;
			if (pin_path(path, sizeof(path), dir, de->d_name, NULL) || unlink(path)) {
				ret = -errno;
				log_err("bpf", "unpin %s/%s: %s", dir, de->d_name, strerror(errno));
			}
		}
		closedir(dh);
		if (rmdir(dir) && errno != ENOENT)
			ret = -errno;
	}
	if (rmdir(pin_dir) && errno != ENOENT)
		ret = -errno;
	return ret;
}

int dsmd_bpf_policy_btf(struct dsmd *d)
{
	struct btf *btf;
	int id, err;

	if (d->btf_fd >= 0)
		return 0;
	d->btf_skel = dsm_lsm_bpf__open();
	if (!d->btf_skel)
		return -errno;
	btf = bpf_object__btf(d->btf_skel->obj);
	if (!btf)
		return -ENOENT;
	err = btf__load_into_kernel(btf);
	if (err) {
		log_err("bpf", "load BTF: %s", strerror(-err));
		return err;
	}
	id = btf__find_by_name_kind(btf, "dsm_pkey", BTF_KIND_STRUCT);
	if (id <= 0)
		return -ENOENT;
	d->btf_key_id = (uint32_t)id;
	id = btf__find_by_name_kind(btf, "dsm_pval", BTF_KIND_STRUCT);
	if (id <= 0)
		return -ENOENT;
	d->btf_val_id = (uint32_t)id;
	d->btf_fd = btf__fd(btf);
	return 0;
}

void dsmd_bpf_close(struct dsmd *d)
{
	if (d->btf_skel)
		dsm_lsm_bpf__destroy(d->btf_skel);
	d->btf_skel = NULL;
	d->btf_fd = -1;
	if (d->skel) {
		/* Pinned links stay attached; unpinned programs go away here. */
		dsmd_net_close(d);
		dsm_lsm_bpf__destroy(d->skel);
		d->skel = NULL;
	} else {
		for (size_t i = 0; i < NMAPS; i++) {
			int *fd = map_fd_slot(d, i);

			if (*fd >= 0)
				close(*fd);
		}
	}
	for (size_t i = 0; i < NMAPS; i++)
		*map_fd_slot(d, i) = -1;
}

/* Sum the first n slots of a per-CPU array of counters into out. */
int dsmd_bpf_counters(int fd, uint32_t n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (fd < 0)
		return -EBADF;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			int err = -errno;

			free(vals);
			return err;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}
