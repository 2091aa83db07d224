// SPDX-License-Identifier: GPL-2.0
/*
 * dsm's protected files (bpf/system.bpf.h reads them): dsmd keeps the set
 * in dsm_protected (inodes) and dsm_protected_names (reserved names), by
 * role. Each role is recomputed from what it names (a path, a descriptor,
 * the policy's file rules) and the maps are brought to the union of every
 * role, flags or-ed, by a difference with what dsmd last wrote: additions
 * and changes first, then removals, so that an inode still wanted is never
 * unprotected on the way, and nothing stale stays (an inode a reload or a
 * legitimate replacement left behind, the entries of an earlier dsmd on a
 * takeover). dsm_protected_bits follows the inode records (dsm/abi.h).
 *
 *   role        what                                  flags
 *   pins        pin dir, maps/, links/                READ WRITE (covers every pin)
 *   state       the state directory                   READ WRITE (covers its files:
 *                                                     the alarm log, its rotated
 *                                                     copy, the heartbeat)
 *   policy      the policy file                       READ WRITE
 *   key file    the key file                          READ WRITE
 *   config dirs their directories: dsm's own (named   READ WRITE
 *               "dsm") covers its entries; any other  WRITE_SELF
 *               only itself; and every ancestor       WRITE_SELF
 *   binary      dsmd's executable, every file it      WRITE_SELF (and ancestors)
 *               maps (libraries, the loader)
 *   executables the inodes the policy's file rules    WRITE_SELF (and ancestors,
 *               name (the entry points of labels)     symlinks on the way included)
 *   loader      /etc/ld.so.preload, /etc/ld.so.cache  WRITE_SELF; /etc reserves both
 *                                                     names (NAMES)
 *
 * The cheap roles (pins, state, policy, key file, loader) are
 * recomputed on every tick, so a file replaced legitimately (a label with
 * dsm_files renames a new version over it) is protected again within a
 * second; the others at start and on every reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dsmd.h"

enum prot_role {
	ROLE_PINS,
	ROLE_STATE,
	ROLE_POLICY,
	ROLE_KEY,
	ROLE_CONFIG_DIRS,
	ROLE_BINARY,
	ROLE_EXECS,
	ROLE_LOADER,
	ROLE_MAX,
};

static const char *const role_name[ROLE_MAX] = {
	"pins", "state directory", "policy", "key file", "configuration directories",
	"dsmd's binary", "labeled executables", "dynamic loader files",
};

enum { KIND_INODE, KIND_NAME, KIND_MAX };
static const size_t key_size[KIND_MAX] = { sizeof(struct dsm_inode_key),
					   sizeof(struct dsm_name_key) };

struct pent {
	union {
		struct dsm_inode_key inode;
		struct dsm_name_key name;
		uint8_t raw[sizeof(struct dsm_name_key)];
	} k;
	uint32_t flags;
};

struct pset {
	struct pent *v;
	size_t n, cap;
};

struct dsmd_prot {
	struct pset role[ROLE_MAX][KIND_MAX];
	struct pset shadow[KIND_MAX]; /* what the maps hold, as far as dsmd knows */
	bool synced;                  /* shadow read from the maps once */
	uint64_t bits[2 * DSM_PROT_WORDS]; /* dsm_protected_bits, as written */
};

static int pcmp_kind;

static int pent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct pent *)a)->k.raw, ((const struct pent *)b)->k.raw,
		      key_size[pcmp_kind]);
}

/* Every byte of a key is compared: start from zeroes. */
static struct pent pent_new(uint32_t flags)
{
	struct pent e;

	memset(&e, 0, sizeof(e));
	e.flags = flags;
	return e;
}

static int pset_add(struct pset *s, const struct pent *e)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct pent *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = *e;
	return 0;
}

/* Sort by key and or together the flags of equal keys. */
static void pset_norm(struct pset *s, int kind)
{
	size_t o = 0;

	pcmp_kind = kind;
	qsort(s->v, s->n, sizeof(*s->v), pent_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (o && !memcmp(s->v[o - 1].k.raw, s->v[i].k.raw, key_size[kind]))
			s->v[o - 1].flags |= s->v[i].flags;
		else
			s->v[o++] = s->v[i];
	}
	s->n = o;
}

static const struct pent *pset_find(const struct pset *s, int kind, const struct pent *e)
{
	pcmp_kind = kind;
	return s->n ? bsearch(e, s->v, s->n, sizeof(*s->v), pent_cmp) : NULL;
}

static int map_fd(const struct dsmd *d, int kind)
{
	return dsmd_map_fd(d, kind == KIND_INODE ? DSMD_MAP_PROTECTED : DSMD_MAP_NAMES);
}

/* ---- building roles ------------------------------------------------------ */

static int inode_key(const struct stat *st, struct dsm_inode_key *k)
{
	struct dsm_pkey fk;
	int err = dsm_file_key(st->st_dev, st->st_ino, &fk);

	if (err)
		return err;
	memset(k, 0, sizeof(*k));
	k->dev = fk.file.dev;
	k->ino = dsm_key_file_ino(&fk);
	return 0;
}

static int add_stat(struct pset *s, const struct stat *st, uint32_t flags)
{
	struct pent e = pent_new(flags);
	int err = inode_key(st, &e.k.inode);

	return err ? err : pset_add(s, &e);
}

/* Add @path's inode (lstat: a symlink is itself); a missing path is not an
 * error (-ENOENT is returned, nothing added). */
static int add_lpath(struct pset *s, const char *path, uint32_t flags)
{
	struct stat st;

	if (lstat(path, &st))
		return -errno;
	return add_stat(s, &st, flags);
}

/* Every proper ancestor of the absolute @path ("/" included), by lstat of
 * each prefix. */
static int add_ancestors(struct pset *s, const char *path, uint32_t flags)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	int err;

	if (path[0] != '/' || len >= sizeof(buf))
		return 0;
	err = add_lpath(s, "/", flags);
	for (size_t i = 1; !err && i < len; i++) {
		if (path[i] != '/')
			continue;
		memcpy(buf, path, i);
		buf[i] = '\0';
		err = add_lpath(s, buf, flags);
	}
	return err == -ENOENT ? 0 : err;
}

/* A path as it is written and as it resolves: every inode on the way. */
static int add_path_and_ancestors(struct pset *s, const char *path, uint32_t flags)
{
	char real[PATH_MAX];
	struct stat st;
	int err;

	err = add_ancestors(s, path, DSM_PROT_WRITE_SELF);
	if (!err)
		err = add_lpath(s, path, flags);
	if (err == -ENOENT)
		return 0;
	if (!err && realpath(path, real) && strcmp(real, path)) {
		err = add_ancestors(s, real, DSM_PROT_WRITE_SELF);
		if (!err && stat(real, &st) == 0)
			err = add_stat(s, &st, flags);
	}
	return err;
}

static int build_pins(const struct dsmd *d, struct pset *s)
{
	static const char *const subdirs[] = { "", "/maps", "/links" };
	char path[PATH_MAX];
	int err;

	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", d->o.pin_dir, subdirs[i]);
		err = add_lpath(s, path, DSM_PROT_READ | DSM_PROT_WRITE);
		if (err && err != -ENOENT)
			return log_errno(LOG_ERR, err, "protect: %s", path);
	}
	return 0;
}

/* The state directory and, joined, the server-state directory (the node
 * key, the pinned CA and operator key, the last good bundle). */
static int build_state(const struct dsmd *d, struct pset *s)
{
	int err = add_lpath(s, d->o.state_dir, DSM_PROT_READ | DSM_PROT_WRITE);

	if (err)
		return log_errno(LOG_ERR, err, "protect: %s", d->o.state_dir);
	if (!d->uplink)
		return 0;
	err = add_lpath(s, d->o.server_state, DSM_PROT_READ | DSM_PROT_WRITE);
	return err ? log_errno(LOG_ERR, err, "protect: %s", d->o.server_state) : 0;
}

static int build_file(const struct dsmd *d, enum dsmd_file f, struct pset *s)
{
	struct stat st;
	int err = dsmd_file_stat(d, f, &st);

	if (err == -ENOENT && !dsmd_file_path(d, f))
		return 0; /* not configured */
	if (err)
		return log_errno(LOG_ERR, err, "protect: %s", dsmd_file_path(d, f));
	return add_stat(s, &st, DSM_PROT_READ | DSM_PROT_WRITE);
}

/* Is @dir dsm's own directory (its last component is "dsm")? */
static bool own_dir(const char *dir)
{
	const char *b = strrchr(dir, '/');

	return b && !strcmp(b + 1, "dsm");
}

static int build_config_dirs(const struct dsmd *d, struct pset *s)
{
	for (int f = 0; f < DSMD_FILE_MAX; f++) {
		const char *dir;
		struct stat st;
		int err;

		if (dsmd_file_dir(d, f, &st, &dir))
			continue;
		err = add_stat(s, &st, own_dir(dir) ? DSM_PROT_READ | DSM_PROT_WRITE
						     : DSM_PROT_WRITE_SELF);
		if (!err)
			err = add_ancestors(s, dir, DSM_PROT_WRITE_SELF);
		if (err)
			return log_errno(LOG_ERR, err, "protect: %s", dir);
	}
	return 0;
}

/* dsmd's executable and every file it has mapped: its libraries and the
 * dynamic loader (the dev:inode of /proc/self/maps are the kernel's). */
static int build_binary(struct pset *s)
{
	char exe[PATH_MAX], line[PATH_MAX + 128];
	struct stat st;
	ssize_t n;
	FILE *f;
	int err;

	if (stat("/proc/self/exe", &st))
		return log_errno(LOG_ERR, -errno, "protect: /proc/self/exe");
	err = add_stat(s, &st, DSM_PROT_WRITE_SELF);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (!err && n > 0) {
		exe[n] = '\0';
		err = add_ancestors(s, exe, DSM_PROT_WRITE_SELF);
	}
	if (err)
		return log_errno(LOG_ERR, err, "protect: dsmd's executable");
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return log_errno(LOG_ERR, -errno, "protect: /proc/self/maps");
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long ino;
		char path[PATH_MAX];
		struct dsm_pkey fk;
		struct pent e = pent_new(DSM_PROT_WRITE_SELF);

		path[0] = '\0';
		if (sscanf(line, "%*s %*s %*s %x:%x %llu %4095s", &maj, &min, &ino, path) < 3 ||
		    !ino || path[0] != '/')
			continue;
		/* Files only, the ones their path still names (not shared
		 * anonymous memory, not a deleted file). */
		if (stat(path, &st) || !S_ISREG(st.st_mode) || st.st_ino != ino ||
		    st.st_dev != makedev(maj, min) || strstr(line, " (deleted)"))
			continue;
		if (dsm_file_key(makedev(maj, min), ino, &fk))
			continue;
		e.k.inode.dev = fk.file.dev;
		e.k.inode.ino = dsm_key_file_ino(&fk);
		err = pset_add(s, &e);
		if (!err)
			err = add_ancestors(s, path, DSM_PROT_WRITE_SELF);
	}
	fclose(f);
	return err ? log_errno(LOG_ERR, err, "protect: dsmd's libraries") : 0;
}

/* The entry points of labels: what the policy's file rules name. */
static int build_execs(const struct dsmd *d, struct pset *s)
{
	const struct dsm_file_rule *fr;
	size_t n = 0;

	if (!d->policy)
		return 0;
	fr = dsm_policy_files(d->policy, &n);
	for (size_t i = 0; i < n; i++) {
		int err = add_path_and_ancestors(s, fr[i].path, DSM_PROT_WRITE_SELF);

		if (err)
			return log_errno(LOG_ERR, err, "protect: %s", fr[i].path);
	}
	return 0;
}

/* What the dynamic loader reads for every program, whatever its label: a
 * preload list (which need not exist: /etc reserves its name) and the
 * library cache. */
static int build_loader(struct pset *s, struct pset *names)
{
	static const char *const files[] = { "ld.so.preload", "ld.so.cache" };
	struct pent e = pent_new(DSM_PROT_WRITE);
	struct stat st;
	char path[64];
	int err;

	if (lstat("/etc", &st))
		return 0;
	err = add_stat(s, &st, DSM_PROT_NAMES | DSM_PROT_WRITE_SELF);
	if (!err)
		err = inode_key(&st, &e.k.name.dir);
	for (size_t i = 0; !err && i < sizeof(files) / sizeof(files[0]); i++) {
		memset(e.k.name.name, 0, sizeof(e.k.name.name));
		snprintf(e.k.name.name, sizeof(e.k.name.name), "%s", files[i]);
		err = pset_add(names, &e);
		snprintf(path, sizeof(path), "/etc/%s", files[i]);
		if (!err) {
			err = add_lpath(s, path, DSM_PROT_WRITE_SELF);
			if (err == -ENOENT)
				err = 0;
		}
	}
	return err ? log_errno(LOG_ERR, err, "protect: /etc's loader files") : 0;
}

static int build(struct dsmd *d, enum prot_role r, struct pset *s, struct pset *names)
{
	switch (r) {
	case ROLE_PINS:        return build_pins(d, s);
	case ROLE_STATE:       return build_state(d, s);
	case ROLE_POLICY:      return build_file(d, DSMD_FILE_POLICY, s);
	case ROLE_KEY:         return build_file(d, DSMD_FILE_KEY, s);
	case ROLE_CONFIG_DIRS: return build_config_dirs(d, s);
	case ROLE_BINARY:      return build_binary(s);
	case ROLE_EXECS:       return build_execs(d, s);
	case ROLE_LOADER:      return build_loader(s, names);
	case ROLE_MAX:         break;
	}
	return -EINVAL;
}

/* ---- bringing the maps to the union ---------------------------------------- */

/* The filters for the records of @want (dsm/abi.h, dsm_protected_bits). */
static void want_bits(const struct pset *want, uint64_t *bits)
{
	memset(bits, 0, sizeof(uint64_t) * 2 * DSM_PROT_WORDS);
	for (size_t i = 0; i < want->n; i++) {
		const struct pent *e = &want->v[i];
		uint32_t b = dsm_prot_bit(e->k.inode.ino, e->k.inode.dev);

		if (!e->flags)
			continue; /* not in the map */
		bits[DSM_PROT_FILTER_OWN * DSM_PROT_WORDS + b / 64] |= 1ull << (b % 64);
		if (e->flags & (DSM_PROT_READ | DSM_PROT_WRITE))
			bits[DSM_PROT_FILTER_COVER * DSM_PROT_WORDS + b / 64] |= 1ull << (b % 64);
	}
}

/* Write the words of @to that differ from what was written. */
static int write_bits(struct dsmd *d, const uint64_t *to)
{
	int fd = dsmd_map_fd(d, DSMD_MAP_PROT_BITS), ret = 0;

	for (uint32_t w = 0; w < 2 * DSM_PROT_WORDS; w++) {
		if (d->prot->bits[w] == to[w])
			continue;
		if (bpf_map_update_elem(fd, &w, &to[w], BPF_ANY)) {
			ret = log_errno(LOG_ERR, -errno, "protect: write dsm_protected_bits");
			continue;
		}
		d->prot->bits[w] = to[w];
	}
	return ret;
}

/* The keys the maps hold now (a takeover finds an earlier dsmd's). */
static int read_maps(const struct dsmd *d, struct pset shadow[KIND_MAX])
{
	int bfd = dsmd_map_fd(d, DSMD_MAP_PROT_BITS);

	for (uint32_t w = 0; w < 2 * DSM_PROT_WORDS; w++)
		if (bpf_map_lookup_elem(bfd, &w, &d->prot->bits[w]))
			return -errno;
	for (int kind = 0; kind < KIND_MAX; kind++) {
		struct pent cur = pent_new(0), next = pent_new(0);
		int fd = map_fd(d, kind);
		void *prev = NULL;

		while (bpf_map_get_next_key(fd, prev, next.k.raw) == 0) {
			next.flags = 0; /* unknown: rewritten if still wanted */
			if (pset_add(&shadow[kind], &next))
				return -ENOMEM;
			cur = next;
			prev = cur.k.raw;
		}
		pset_norm(&shadow[kind], kind);
	}
	return 0;
}

static int sync_maps(struct dsmd *d)
{
	static uint64_t final[2 * DSM_PROT_WORDS], both[2 * DSM_PROT_WORDS];
	struct dsmd_prot *pr = d->prot;
	int ret = 0, err;

	if (!pr->synced) {
		ret = read_maps(d, pr->shadow);
		if (ret)
			return log_errno(LOG_ERR, ret, "protect: read the protected set");
		pr->synced = true;
	}
	for (int kind = 0; kind < KIND_MAX; kind++) {
		struct pset want = { 0 }, *old = &pr->shadow[kind];
		size_t added = 0, removed = 0;
		int fd = map_fd(d, kind);

		for (int r = 0; r < ROLE_MAX; r++)
			for (size_t i = 0; i < pr->role[r][kind].n; i++)
				if (pset_add(&want, &pr->role[r][kind].v[i])) {
					free(want.v);
					return -ENOMEM;
				}
		pset_norm(&want, kind);
		for (size_t i = 0; i < want.n; i++) {
			const struct pent *o = pset_find(old, kind, &want.v[i]);

			if (o && o->flags == want.v[i].flags)
				continue;
			if (bpf_map_update_elem(fd, want.v[i].k.raw, &want.v[i].flags, BPF_ANY)) {
				ret = log_errno(LOG_ERR, -errno, "protect: add an entry to %s (%zu "
						"wanted)", kind == KIND_INODE ? "dsm_protected" :
						"dsm_protected_names", want.n);
				want.v[i].flags = 0; /* not in the map: retried next time */
				continue;
			}
			added++;
		}
		if (kind == KIND_INODE) {
			/* New records' bits before anything relies on them ... */
			want_bits(&want, final);
			for (uint32_t w = 0; w < 2 * DSM_PROT_WORDS; w++)
				both[w] = final[w] | pr->bits[w];
			err = write_bits(d, both);
			ret = ret ? ret : err;
		}
		for (size_t i = 0; i < old->n; i++) {
			if (pset_find(&want, kind, &old->v[i]))
				continue;
			if (bpf_map_delete_elem(fd, old->v[i].k.raw) && errno != ENOENT) {
				ret = log_errno(LOG_ERR, -errno, "protect: remove a stale entry");
				if (pset_add(&want, &old->v[i]) == 0)
					pset_norm(&want, kind); /* still there: try again */
				continue;
			}
			removed++;
		}
		if (kind == KIND_INODE) {
			/* ... and stale ones cleared once their records are gone. */
			want_bits(&want, final);
			err = write_bits(d, final);
			ret = ret ? ret : err;
		}
		if (added || removed)
			log_debug("protect: %s: %zu entries (%zu new or changed, %zu removed)",
				  kind == KIND_INODE ? "inodes" : "names", want.n, added, removed);
		free(old->v);
		*old = want;
	}
	return ret;
}

static int refresh(struct dsmd *d, const bool which[ROLE_MAX])
{
	struct dsmd_prot *pr = d->prot;
	int ret = 0, err;

	for (int r = 0; r < ROLE_MAX; r++) {
		struct pset s = { 0 }, names = { 0 };

		if (!which[r])
			continue;
		err = build(d, r, &s, &names);
		if (err) {
			/* Keep what the role protected before: never less on an error. */
			ret = err;
			free(s.v);
			free(names.v);
			continue;
		}
		pset_norm(&s, KIND_INODE);
		pset_norm(&names, KIND_NAME);
		if (pr->role[r][KIND_INODE].n && (r == ROLE_POLICY || r == ROLE_KEY) &&
		    (s.n != pr->role[r][KIND_INODE].n ||
		     memcmp(s.v, pr->role[r][KIND_INODE].v, s.n * sizeof(*s.v))))
			log_info("protect: the %s was replaced: protecting the new file", role_name[r]);
		free(pr->role[r][KIND_INODE].v);
		free(pr->role[r][KIND_NAME].v);
		pr->role[r][KIND_INODE] = s;
		pr->role[r][KIND_NAME] = names;
	}
	err = sync_maps(d);
	return ret ? ret : err;
}

static struct dsmd_prot *prot(struct dsmd *d)
{
	if (!d->prot)
		d->prot = calloc(1, sizeof(*d->prot));
	return d->prot;
}

int dsmd_protect_all(struct dsmd *d)
{
	bool all[ROLE_MAX];

	if (!prot(d))
		return -ENOMEM;
	for (int r = 0; r < ROLE_MAX; r++)
		all[r] = true;
	return refresh(d, all);
}

int dsmd_protect_tick(struct dsmd *d)
{
	bool cheap[ROLE_MAX] = {
		[ROLE_PINS] = true, [ROLE_STATE] = true,
		[ROLE_POLICY] = true, [ROLE_KEY] = true, [ROLE_LOADER] = true,
	};

	if (!d->prot)
		return 0; /* not protecting yet */
	return refresh(d, cheap);
}

void dsmd_protect_free(struct dsmd *d)
{
	if (!d->prot)
		return;
	for (int r = 0; r < ROLE_MAX; r++)
		for (int k = 0; k < KIND_MAX; k++)
			free(d->prot->role[r][k].v);
	for (int k = 0; k < KIND_MAX; k++)
		free(d->prot->shadow[k].v);
	free(d->prot);
	d->prot = NULL;
}

/* ---- the tick ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dsmd_self_tick(struct dsmd *d)
{
	static int64_t last;
	int64_t t = now_ms();
	int err;

	if (last && t - last < 1000)
		return 0;
	last = t;
	err = dsmd_bpf_check_pins(d);
	if (err == -ESHUTDOWN)
		return err;
	if (err == 1) /* pinned again: new inodes, protect them all */
		dsmd_protect_all(d);
	else
		dsmd_protect_tick(d);
	return 0;
}
