// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel side's lifetime. Both objects pin their maps by name under
 * PIN_DIR/maps (LIBBPF_PIN_BY_NAME): a fresh start creates them there, the
 * second object and every later dsmd find and reuse them, so there is no
 * table of map names or descriptors to keep in step. A fresh start then
 * attaches every LSM program and pins its link under PIN_DIR/links, so
 * enforcement survives dsmd; a dsmd that finds the pins takes over: it
 * checks their ABI stamp, loads the objects (reusing the pinned maps) and
 * leaves the attached programs as they are.
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

static int pin_path(char *buf, size_t len, const char *dir, const char *kind, const char *name)
{
	int n = snprintf(buf, len, "%s/%s%s%s", dir, kind, name ? "/" : "", name ? name : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static struct dsm_abi_stamp abi_stamp(void)
{
	return (struct dsm_abi_stamp){
		.version = DSM_ABI_VERSION,
		.key_size = sizeof(struct dsm_pkey),
		.event_size = sizeof(struct dsm_event),
		.sock_ctx_size = sizeof(struct dsm_sock_ctx),
	};
}

int dsmd_bpf_pinned(const struct dsmd *d)
{
	char path[PATH_MAX];
	struct stat st;

	if (pin_path(path, sizeof(path), d->o.pin_dir, "maps", "dsm_policy"))
		return 0;
	return stat(path, &st) == 0;
}

/* The pinned objects must be of this dsmd's ABI: a map reused with another
 * layout would be read wrongly by every program and by dsmd. */
static int check_abi(const struct dsmd *d)
{
	const struct dsm_abi_stamp want = abi_stamp();
	struct dsm_abi_stamp got = { 0 };
	char path[PATH_MAX];
	uint32_t zero = 0;
	int fd, err = 0;

	if (pin_path(path, sizeof(path), d->o.pin_dir, "maps", "dsm_abi"))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		return log_errno(LOG_ERR, err, "pinned dsm objects in %s carry no ABI stamp (%s): "
				 "they are from an older dsm; remove them with that version's "
				 "`dsmd --unload`", d->o.pin_dir, path);
	}
	if (bpf_map_lookup_elem(fd, &zero, &got))
		err = log_errno(LOG_ERR, -errno, "read %s", path);
	else if (memcmp(&got, &want, sizeof(got)))
		err = log_errno(LOG_ERR, -EPROTO, "pinned dsm objects are ABI %u (key %u, event %u, "
				"socket %u bytes), this dsmd is ABI %u (%u, %u, %u): remove them "
				"with the dsmd that made them (`dsmd --unload`), then start this one",
				got.version, got.key_size, got.event_size, got.sock_ctx_size,
				want.version, want.key_size, want.event_size, want.sock_ctx_size);
	close(fd);
	return err;
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
 * Open and load the LSM object; on a takeover without its LSM programs
 * (the pinned links keep the running ones attached), and with the start-up
 * labeling iterators (dsmd/label.c) only if @iters. -EAGAIN: it failed
 * with the iterators (try without).
 */
static int load_lsm(struct dsmd *d, const struct bpf_object_open_opts *opts, bool iters)
{
	struct bpf_program *prog;
	int err;

	d->lsm = dsm_lsm_bpf__open_opts(opts);
	if (!d->lsm)
		return log_errno(LOG_ERR, -errno, "open LSM object");
	bpf_object__for_each_program(prog, d->lsm->obj) {
		if (dsmd_label_iter_prog(prog))
			bpf_program__set_autoload(prog, iters);
		else if (d->takeover)
			bpf_program__set_autoload(prog, false);
	}
	err = dsm_lsm_bpf__load(d->lsm);
	if (err && iters) {
		dsm_lsm_bpf__destroy(d->lsm);
		d->lsm = NULL;
		return -EAGAIN;
	}
	return err;
}

/*
 * Open and load both objects. Fresh: maps are created and pinned, the ABI
 * stamp written; programs load but are not attached yet. Takeover: the
 * pinned maps are reused and no LSM program is loaded (the pinned links
 * keep the running ones attached); the labeling iterators load either way.
 */
int dsmd_bpf_load(struct dsmd *d)
{
	char root[PATH_MAX];
	int err;

	if (pin_path(root, sizeof(root), d->o.pin_dir, "maps", NULL))
		return -ENAMETOOLONG;
	if (d->takeover) {
		err = check_abi(d);
		if (err)
			return err;
	} else {
		err = mkdir_p(d->o.pin_dir, NULL);
		if (err)
			return log_errno(LOG_ERR, err, "create %s", d->o.pin_dir);
	}
	{
		LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = root);

		err = load_lsm(d, &opts, true);
		if (err == -EAGAIN) {
			/* Enforcing matters more than how labels are found at
			 * start-up (dsmd/label.c says what the fallback lacks). */
			log_warning("load LSM object: its labeling iterators do not load; "
				    "loading it without them");
			err = load_lsm(d, &opts, false);
		}
		if (err)
			return log_errno(LOG_ERR, err, "load LSM object (is BPF LSM active? "
					 "cat /sys/kernel/security/lsm)");

		d->net = dsm_net_bpf__open_opts(&opts);
		if (!d->net)
			return log_errno(LOG_ERR, -errno, "open packet object");
		/* The receive check is the LSM hook; the self-test runs on hosts
		 * (tests/unit), and its verifier needs are newer than 6.1. */
		bpf_program__set_autoload(d->net->progs.dsm_ingress, false);
		bpf_program__set_autoload(d->net->progs.dsm_mac_selftest, false);
		err = dsm_net_bpf__load(d->net);
		if (err)
			return log_errno(LOG_ERR, err, "load packet programs");
	}
	if (!d->takeover) {
		struct dsm_abi_stamp s = abi_stamp();
		uint32_t zero = 0;

		if (bpf_map_update_elem(bpf_map__fd(d->lsm->maps.dsm_abi), &zero, &s, BPF_ANY))
			return log_errno(LOG_ERR, -errno, "write the ABI stamp");
	}
	return 0;
}

/* Attach every LSM program, pinning each link as it goes. The maps were
 * pinned when the object loaded, so a half-done start can always be found
 * and undone by `dsmd --unload`. */
int dsmd_bpf_attach_and_pin(struct dsmd *d)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	int err;

	err = mkdir_p(d->o.pin_dir, "links");
	if (err)
		return log_errno(LOG_ERR, err, "create %s/links", d->o.pin_dir);
	bpf_object__for_each_program(prog, d->lsm->obj) {
		struct bpf_link *link;

		if (bpf_program__type(prog) != BPF_PROG_TYPE_LSM)
			continue;
		link = bpf_program__attach(prog);
		if (!link)
			return log_errno(LOG_ERR, -errno, "attach %s", bpf_program__name(prog));
		if (pin_path(path, sizeof(path), d->o.pin_dir, "links", bpf_program__name(prog)))
			err = -ENAMETOOLONG;
		else
			err = bpf_link__pin(link, path);
		/* The pin holds the link now; our reference goes either way. */
		bpf_link__disconnect(link);
		bpf_link__destroy(link);
		if (err)
			return log_errno(LOG_ERR, err, "pin %s", path);
	}
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
			if (pin_path(path, sizeof(path), dir, de->d_name, NULL) || unlink(path))
				ret = log_errno(LOG_ERR, -errno, "unpin %s/%s", dir, de->d_name);
		}
		closedir(dh);
		if (rmdir(dir) && errno != ENOENT)
			ret = -errno;
	}
	if (rmdir(pin_dir) && errno != ENOENT)
		ret = -errno;
	return ret;
}

/* The BTF of the policy map's key and value, for the maps dsmd creates:
 * the kernel compares their layout with the template's when swapping. */
int dsmd_bpf_policy_btf(const struct dsmd *d, int *btf_fd, uint32_t *key_id, uint32_t *val_id)
{
	struct btf *btf = bpf_object__btf(d->lsm->obj);
	int id;

	if (!btf)
		return -ENOENT;
	*btf_fd = bpf_object__btf_fd(d->lsm->obj);
	if (*btf_fd < 0)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, "dsm_pkey", BTF_KIND_STRUCT);
	if (id <= 0)
		return -ENOENT;
	*key_id = (uint32_t)id;
	id = btf__find_by_name_kind(btf, "dsm_pval", BTF_KIND_STRUCT);
	if (id <= 0)
		return -ENOENT;
	*val_id = (uint32_t)id;
	return 0;
}

/* Closing the objects detaches nothing that is pinned: links stay, and the
 * tc filters hold their program. */
void dsmd_bpf_close(struct dsmd *d)
{
	if (d->net)
		dsm_net_bpf__destroy(d->net);
	d->net = NULL;
	if (d->lsm)
		dsm_lsm_bpf__destroy(d->lsm);
	d->lsm = NULL;
}

int dsmd_map_fd(const struct dsmd *d, enum dsmd_map m)
{
	switch (m) {
	case DSMD_MAP_POLICY:    return bpf_map__fd(d->lsm->maps.dsm_policy);
	case DSMD_MAP_GEN:       return bpf_map__fd(d->lsm->maps.dsm_policy_gen);
	case DSMD_MAP_TASKS:     return bpf_map__fd(d->lsm->maps.dsm_tasks);
	case DSMD_MAP_SOCKETS:   return bpf_map__fd(d->lsm->maps.dsm_sockets);
	case DSMD_MAP_EVENTS:    return bpf_map__fd(d->lsm->maps.dsm_events);
	case DSMD_MAP_COUNTERS:  return bpf_map__fd(d->lsm->maps.dsm_counters);
	case DSMD_MAP_PROTECTED: return bpf_map__fd(d->lsm->maps.dsm_protected);
	case DSMD_MAP_KEYS:      return bpf_map__fd(d->lsm->maps.dsm_keys);
	case DSMD_MAP_NETCFG:    return bpf_map__fd(d->lsm->maps.dsm_net_config);
	case DSMD_MAP_TAGS:      return bpf_map__fd(d->lsm->maps.dsm_local_tags);
	}
	return -EBADF;
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
