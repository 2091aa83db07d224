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
 *
 * dsmd also holds a descriptor of every link, deliberately (the ones it
 * attached, or on a takeover the pinned ones it opens): while dsmd runs,
 * no mount operation can detach a program, not even an unmount the
 * policy allows (a label with `system mount` doing `umount -l /sys` takes
 * the bpffs and its pins out of every path, and the last reference to it
 * drops them). Once a second dsmd checks that its pins are still there
 * and the same objects (by map and link id). Gone from the bpffs they
 * were pinned on: someone with dsm_files removed them (dsmd --unload), so
 * dsmd lets go and stops. Gone because that bpffs is no longer where they
 * were (unmounted, mounted over): dsmd pins every map and link again at
 * the pin directory, on a fresh bpffs if there is none, and removes the
 * old pins through the directory descriptor it kept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

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

/* ---- the pins dsmd holds -------------------------------------------------- */

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

struct dsmd_pin {
	const char *kind;       /* "maps" or "links" */
	char name[64];
	int fd;                 /* maps: the object's; links: the held link's */
	struct bpf_link *link;  /* links: dsmd's reference, kept until exit */
	uint32_t id;
};

struct dsmd_pins {
	struct dsmd_pin *v;
	size_t n, cap;
	dev_t dev;  /* the bpffs the pins are on */
	int dirfd;  /* O_PATH descriptor of the pin directory on it */
};

static uint32_t obj_id(int fd, bool link)
{
	struct bpf_link_info li;
	struct bpf_map_info mi;
	__u32 len;

	if (link) {
		memset(&li, 0, sizeof(li));
		len = sizeof(li);
		return bpf_obj_get_info_by_fd(fd, &li, &len) ? 0 : li.id;
	}
	memset(&mi, 0, sizeof(mi));
	len = sizeof(mi);
	return bpf_obj_get_info_by_fd(fd, &mi, &len) ? 0 : mi.id;
}

static struct dsmd_pins *pins(struct dsmd *d)
{
	if (!d->pins) {
		d->pins = calloc(1, sizeof(*d->pins));
		if (d->pins)
			d->pins->dirfd = -1;
	}
	return d->pins;
}

static int pins_add(struct dsmd *d, const char *kind, const char *name, int fd,
		    struct bpf_link *link)
{
	struct dsmd_pins *p = pins(d);
	struct dsmd_pin *e;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].kind == kind && !strcmp(p->v[i].name, name))
			return 0; /* both objects share the map */
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		struct dsmd_pin *nv = realloc(p->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = ncap;
	}
	e = &p->v[p->n];
	*e = (struct dsmd_pin){ .kind = kind, .fd = fd, .link = link };
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->id = obj_id(fd, link != NULL);
	if (!e->id)
		return log_errno(LOG_ERR, -errno, "pins: id of %s/%s", kind, name);
	p->n++;
	return 0;
}

static int pins_add_maps(struct dsmd *d, struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		if (!bpf_map__pin_path(map))
			continue;
		err = pins_add(d, "maps", bpf_map__name(map), bpf_map__fd(map), NULL);
		if (err)
			return err;
	}
	return 0;
}

/* Where the pins are now: their file system, and a descriptor of the pin
 * directory (to clean the old place up after a re-pin). */
static int pins_locate(struct dsmd *d)
{
	struct dsmd_pins *p = pins(d);
	struct stat st;
	int fd;

	if (!p)
		return -ENOMEM;
	fd = open(d->o.pin_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return log_errno(LOG_ERR, err, "pins: %s", d->o.pin_dir);
	}
	if (p->dirfd >= 0)
		close(p->dirfd);
	p->dirfd = fd;
	p->dev = st.st_dev;
	return 0;
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

/* A takeover: hold a descriptor of every pinned link, as the dsmd that
 * attached them did. */
static int hold_pinned_links(struct dsmd *d)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *dh;
	int err = 0;

	if (pin_path(dir, sizeof(dir), d->o.pin_dir, "links", NULL))
		return -ENAMETOOLONG;
	dh = opendir(dir);
	if (!dh)
		return log_errno(LOG_ERR, -errno, "pins: %s", dir);
	while (!err && (de = readdir(dh))) {
		struct bpf_link *link;

		if (de->d_name[0] == '.')
			continue;
		if (pin_path(path, sizeof(path), dir, de->d_name, NULL)) {
			err = -ENAMETOOLONG;
			break;
		}
		link = bpf_link__open(path);
		if (!link) {
			err = log_errno(LOG_ERR, -errno, "pins: open link %s", path);
			break;
		}
		err = pins_add(d, "links", de->d_name, bpf_link__fd(link), link);
		if (err)
			bpf_link__destroy(link);
	}
	closedir(dh);
	return err ? err : pins_locate(d);
}

/* Is prog one of the start-up labeling iterators (bpf/label_iter.bpf.h)? */
static bool label_iter_prog(const struct bpf_program *prog)
{
	return !strncmp(bpf_program__section_name(prog), "iter/", 5);
}

/*
 * Open and load the LSM object; on a takeover without its LSM programs
 * (the pinned links keep the running ones attached), and with the start-up
 * labeling iterators (dsmd/label.c) only if @iters. -EAGAIN: it failed
 * with the iterators (try without).
 */
/* How many arguments the running kernel's LSM hook NAME takes (its
 * bpf_lsm_NAME in the kernel's BTF), or a negative errno. */
static int hook_args(const struct btf *btf, const char *name)
{
	char fn[128];
	const struct btf_type *t;
	int id;

	snprintf(fn, sizeof(fn), "bpf_lsm_%s", name);
	id = btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_func_proto(t))
		return -EINVAL;
	return btf_vlen(t);
}

/* The DSM_HOOK_* bits of the running kernel (include/dsm/abi.h): the LSM
 * hooks whose arguments changed after 6.1, read from the kernel's BTF.
 * A hook not found or of an unknown shape is an error: a program reading
 * its arguments in the wrong places would check the wrong things. */
static int hook_abi(uint32_t *abi)
{
	static const struct {
		const char *hook;
		int old_args, new_args;
		uint32_t bit;
	} hooks[] = {
		{ "inode_setattr", 2, 3, DSM_HOOK_SETATTR_IDMAP },
		{ "perf_event_open", 2, 1, DSM_HOOK_PERF_NO_ATTR },
	};
	struct btf *btf = btf__load_vmlinux_btf();
	int err = 0, n;

	*abi = 0;
	if (!btf)
		return log_errno(LOG_ERR, -errno, "read the kernel's BTF (/sys/kernel/btf/vmlinux)");
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		n = hook_args(btf, hooks[i].hook);
		if (n == hooks[i].new_args) {
			*abi |= hooks[i].bit;
		} else if (n != hooks[i].old_args) {
			err = log_errno(LOG_ERR, n < 0 ? n : -EPROTO,
					"LSM hook %s: the kernel's BTF gives %d arguments, dsm knows %d "
					"or %d", hooks[i].hook, n, hooks[i].old_args, hooks[i].new_args);
			break;
		}
	}
	btf__free(btf);
	return err;
}

static int load_lsm(struct dsmd *d, const struct bpf_object_open_opts *opts, bool iters)
{
	struct bpf_program *prog;
	uint32_t abi;
	int err;

	err = hook_abi(&abi);
	if (err)
		return err;
	d->lsm = dsm_lsm_bpf__open_opts(opts);
	if (!d->lsm)
		return log_errno(LOG_ERR, -errno, "open LSM object");
	d->lsm->rodata->dsm_hook_abi = abi;
	bpf_object__for_each_program(prog, d->lsm->obj) {
		if (label_iter_prog(prog))
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
			return log_errno(LOG_ERR, err, "load LSM object");

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
	err = pins_add_maps(d, d->lsm->obj);
	if (!err)
		err = pins_add_maps(d, d->net->obj);
	if (!err && d->takeover)
		err = hold_pinned_links(d);
	return err;
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
		/* dsmd keeps its reference (see the top of the file); on a
		 * failure it goes, which detaches the program. */
		if (!err)
			err = pins_add(d, "links", bpf_program__name(prog), bpf_link__fd(link), link);
		if (err) {
			bpf_link__destroy(link);
			return log_errno(LOG_ERR, err, "pin %s", path);
		}
	}
	return pins_locate(d);
}

/* Attach a cgroup program of the packet object to the cgroup v2 hierarchy
 * at @cgroup (its root: every socket of the node is in it or below) and
 * pin the link with the LSM programs' ones, so that it outlives dsmd and
 * goes with `dsmd --unload`. A takeover that holds it pinned already
 * leaves it. */
int dsmd_bpf_attach_cgroup(struct dsmd *d, struct bpf_program *prog, const char *cgroup)
{
	const char *name = bpf_program__name(prog);
	struct dsmd_pins *p = pins(d);
	struct bpf_link *link;
	char path[PATH_MAX];
	struct statfs sf;
	int fd, err;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].link && !strcmp(p->v[i].name, name))
			return 0;
	fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(LOG_ERR, -errno, "open %s", cgroup);
	if (fstatfs(fd, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		return log_errno(LOG_ERR, -ENOTSUP, "%s is not a cgroup v2 hierarchy", cgroup);
	}
	link = bpf_program__attach_cgroup(prog, fd);
	err = link ? 0 : -errno;
	close(fd);
	if (err)
		return log_errno(LOG_ERR, err, "attach %s to %s", name, cgroup);
	err = mkdir_p(d->o.pin_dir, "links");
	if (!err)
		err = pin_path(path, sizeof(path), d->o.pin_dir, "links", name);
	if (!err)
		err = bpf_link__pin(link, path);
	if (!err)
		err = pins_add(d, "links", name, bpf_link__fd(link), link);
	if (err) {
		bpf_link__destroy(link);
		return log_errno(LOG_ERR, err, "pin %s", name);
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

/* ---- checking and re-pinning ---------------------------------------------- */

static bool pin_present(const struct dsmd *d, const struct dsmd_pin *e)
{
	char path[PATH_MAX];
	uint32_t id;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", d->o.pin_dir, e->kind, e->name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	id = obj_id(fd, e->link != NULL);
	close(fd);
	return id == e->id;
}

/* Is the pin directory's path still on the bpffs the pins were put on? The
 * deepest part of it that exists tells (the pin directory itself, or, once
 * `dsmd --unload` removed it, its parent). */
static bool on_pinned_fs(const struct dsmd *d)
{
	char path[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(path, sizeof(path), "%s", d->o.pin_dir);
	for (;;) {
		if (stat(path, &st) == 0)
			return st.st_dev == d->pins->dev;
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			return false;
		*slash = '\0';
	}
}

/* mkdir every missing directory of @path (mode 0700). */
static int mkdir_all(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

/* A bpffs at the pin directory: the one that is there, else a fresh one
 * mounted on the deepest part of the path that exists. */
static int ensure_bpffs(const struct dsmd *d, char *where, size_t len, bool *mounted)
{
	struct statfs sfs;
	struct stat st;
	char *slash;
	int err;

	*mounted = false;
	snprintf(where, len, "%s", d->o.pin_dir);
	while (stat(where, &st)) {
		slash = strrchr(where, '/');
		if (!slash || slash == where)
			return -ENOENT;
		*slash = '\0';
	}
	if (statfs(where, &sfs))
		return -errno;
	if ((unsigned long)sfs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", where, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700"))
			return log_errno(LOG_ERR, -errno, "pins: mount a bpffs on %s", where);
		*mounted = true;
	}
	err = mkdir_all(d->o.pin_dir);
	if (!err)
		err = mkdir_p(d->o.pin_dir, "maps");
	if (!err)
		err = mkdir_p(d->o.pin_dir, "links");
	return err ? log_errno(LOG_ERR, err, "pins: create %s", d->o.pin_dir) : 0;
}

static int repin(struct dsmd *d, size_t missing)
{
	struct dsmd_pins *p = d->pins;
	char where[PATH_MAX], path[PATH_MAX];
	size_t nmaps = 0, nlinks = 0;
	int old = p->dirfd, err, ret = 0;
	bool mounted;

	log_warning("pins: %zu of %zu pins are not in %s, which is not on the bpffs dsm pinned "
		    "them on any more (unmounted or mounted over): the links are held, pinning "
		    "again", missing, p->n, d->o.pin_dir);
	err = ensure_bpffs(d, where, sizeof(where), &mounted);
	if (err)
		return err;
	for (size_t i = 0; i < p->n; i++) {
		struct dsmd_pin *e = &p->v[i];

		snprintf(path, sizeof(path), "%s/%s/%s", d->o.pin_dir, e->kind, e->name);
		if (bpf_obj_pin(e->fd, path) && !(errno == EEXIST && pin_present(d, e))) {
			ret = log_errno(LOG_ERR, -errno, "pins: pin %s", path);
			continue;
		}
		if (e->link)
			nlinks++;
		else
			nmaps++;
	}
	/* The old pins, wherever their bpffs is now: one place holds them. */
	p->dirfd = -1;
	if (pins_locate(d)) {
		p->dirfd = old;
		return -EIO;
	}
	if (old >= 0) {
		for (size_t i = 0; i < p->n; i++) {
			snprintf(path, sizeof(path), "%s/%s", p->v[i].kind, p->v[i].name);
			unlinkat(old, path, 0);
		}
		unlinkat(old, "maps", AT_REMOVEDIR);
		unlinkat(old, "links", AT_REMOVEDIR);
		close(old);
	}
	log_warning("pins: re-pinned %zu maps and %zu links in %s%s%s", nmaps, nlinks,
		    d->o.pin_dir, mounted ? " on a fresh bpffs mounted at " : "",
		    mounted ? where : "");
	return ret ? ret : 1; /* the caller protects the new pins */
}

int dsmd_bpf_check_pins(struct dsmd *d)
{
	struct dsmd_pins *p = d->pins;
	size_t missing = 0;

	if (!p || p->dirfd < 0)
		return 0;
	for (size_t i = 0; i < p->n; i++)
		missing += !pin_present(d, &p->v[i]);
	if (!missing)
		return 0;
	if (on_pinned_fs(d)) {
		log_warning("pins: %zu of %zu pins were removed from %s (dsmd --unload): letting "
			    "go of the links and stopping", missing, p->n, d->o.pin_dir);
		return -ESHUTDOWN;
	}
	return repin(d, missing);
}

static void pins_free(struct dsmd *d)
{
	struct dsmd_pins *p = d->pins;
	size_t missing = 0, links = 0;

	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->v[i].link)
			continue;
		links++;
		missing += p->dirfd >= 0 && !pin_present(d, &p->v[i]);
	}
	if (missing && !on_pinned_fs(d))
		log_error("pins: %zu of %zu links are pinned nowhere dsmd can see: they detach "
			  "as dsmd exits", missing, links);
	for (size_t i = 0; i < p->n; i++)
		bpf_link__destroy(p->v[i].link); /* closes dsmd's fd; a pin keeps the link */
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->v);
	free(p);
	d->pins = NULL;
}

/* Closing the objects detaches nothing that is pinned: links stay, and the
 * tc filters hold their program. */
void dsmd_bpf_release_links(struct dsmd *d)
{
	struct dsmd_pins *p = d->pins;

	for (size_t i = 0; p && i < p->n; i++) {
		if (!p->v[i].link)
			continue;
		bpf_link__destroy(p->v[i].link);
		p->v[i].link = NULL;
		p->v[i].fd = -1;
	}
}

void dsmd_bpf_close(struct dsmd *d)
{
	pins_free(d);
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
	case DSMD_MAP_NAMES:     return bpf_map__fd(d->lsm->maps.dsm_protected_names);
	case DSMD_MAP_PROT_BITS: return bpf_map__fd(d->lsm->maps.dsm_protected_bits);
	case DSMD_MAP_PAIRKEYS:  return bpf_map__fd(d->lsm->maps.dsm_pair_keys);
	case DSMD_MAP_PAIRADDRS: return bpf_map__fd(d->lsm->maps.dsm_pair_addrs);
	}
	return -EBADF;
}

