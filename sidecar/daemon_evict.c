/*
 * daemon_evict.c: keeping the cache within its quota and the disk's free-space floor. Fills are
 * admitted only if their bytes fit under the quota: past the high watermark, objects are
 * evicted (whole, coldest first by the configured policy) down to the low one. Also serves
 * `modelshim gc` passes. An object being filled, or not complete and open by a process (the
 * shim holds a shared flock on it), is never evicted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache.h"
#include "crash.h"
#include "daemon.h"
#include "evict.h"
#include "log.h"
#include "namespace.h"
#include "walk.h"


struct scan {
	struct daemon *d;
	struct ms_evict_cand *c;
	size_t n, cap;
	uint64_t cached;
	uint64_t mcached[MS_MAX_MOUNTS];
	unsigned mount;
	char root[MS_AREA_PATH_MAX];
};

static uint32_t
rand_below(void *arg, uint32_t bound)
{
	(void)arg;
	return arc4random_uniform(bound);
}

/*
 * True if the object may not be evicted now: being filled, or pinned by a reader that opened it
 * while it was incomplete (a shared flock: such a reader may still ask for fills of this inode,
 * even once it is complete, from a stale view of its map).
 */
static bool
pinned(struct scan *s, const char *key)
{
	char tree[MS_OBJECT_PATH_MAX];
	int fd, busy;

	if (obj_busy(s->d, s->mount, key))
		return true;
	if (ms_cache_object_path(&s->d->cfg, &s->d->cfg.mounts[s->mount], MS_AREA_TREE, key, tree,
	    sizeof tree) < 0)
		return true;
	fd = open(tree, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* True if MAP names KEY's tree file (its inode and size). */
static bool
map_names_tree(struct scan *s, const char *key, const struct ms_map *map)
{
	char tree[MS_OBJECT_PATH_MAX];
	struct stat st;

	if (ms_cache_object_path(&s->d->cfg, &s->d->cfg.mounts[s->mount], MS_AREA_TREE, key, tree,
	    sizeof tree) < 0 || lstat(tree, &st) < 0)
		return false;
	return S_ISREG(st.st_mode) && ms_map_names(map, (uint64_t)st.st_ino, (uint64_t)st.st_size);
}

/*
 * The map at PATH does not name KEY's tree file: a crash between evict_object's two renames left
 * the fresh empty data file with the old map (ETag, size, mtime still the object's). The object
 * gets a fresh map for that file with nothing present. Under the mount's import lock, and only
 * if still so under it: an import replacing the object meanwhile is not undone.
 */
static void
repair_map(struct scan *s, const char *path, const char *key)
{
	const struct ms_mount *m = &s->d->cfg.mounts[s->mount];
	char lock[MS_DIR_FILE_PATH_MAX], tree[MS_OBJECT_PATH_MAX], tmp[MS_DIR_FILE_PATH_MAX];
	struct ms_map map;
	struct stat st;
	int lfd, rc;

	if (ms_cache_import_lock_path(&s->d->cfg, m, lock, sizeof lock) < 0 ||
	    ms_cache_object_path(&s->d->cfg, m, MS_AREA_TREE, key, tree, sizeof tree) < 0)
		return;
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return;
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0 || ms_map_open(&map, path, false) < 0) {
		close(lfd);
		return;
	}
	ms_map_close(&map); /* its header stays */
	/* No such file, or not of the map's size: not ours to mend (an import is due). */
	if (lstat(tree, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != map.hdr.size ||
	    ms_map_names(&map, (uint64_t)st.st_ino, (uint64_t)st.st_size))
		goto out;
	rc = ms_cache_tmp_path(&s->d->cfg, tmp, sizeof tmp);
	if (rc == 0)
		rc = ms_map_create(tmp, map.hdr.size, s->d->cfg.chunk_size, (uint64_t)st.st_ino,
		    map.hdr.mtime, map.hdr.etag);
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
	}
	if (rc < 0)
		ms_warn("%s/%s: its map names another data file; left as is (%s): run 'modelshim "
		    "import %s'", m->path, key, strerror(-rc), m->name);
	else
		ms_warn("%s/%s: its map named another data file (a crash during its eviction): "
		    "given a fresh map, nothing cached", m->path, key);
out:
	close(lfd);
}

static void
scan_map(struct scan *s, const char *path, const char *key)
{
	struct ms_evict_cand *c;
	struct ms_map map;
	uint64_t bytes;
	int64_t atime;

	if (ms_map_open(&map, path, false) < 0)
		return;
	if (!map_names_tree(s, key, &map)) {
		/* Its bits vouch for no file there: nothing cached, and a fresh map is due. */
		ms_map_close(&map);
		repair_map(s, path, key);
		return;
	}
	bytes = ms_map_cached_bytes(&map);
	atime = map.hdr.atime;
	ms_map_close(&map);
	s->cached += bytes;
	s->mcached[s->mount] += bytes;
	if (bytes == 0 || pinned(s, key))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 256 : s->cap * 2;
		struct ms_evict_cand *nc = reallocarray(s->c, cap, sizeof *nc);

		if (nc == NULL)
			return;
		s->c = nc;
		s->cap = cap;
	}
	c = &s->c[s->n];
	memset(c, 0, sizeof *c);
	c->key = strdup(key);
	if (c->key == NULL)
		return;
	c->mount = s->mount;
	c->atime = atime;
	c->bytes = bytes;
	s->n++;
}

/* For ms_walk_maps: one map of the mount being scanned. */
static int
scan_walked(void *arg, const char *path, const char *key)
{
	scan_map(arg, path, key);
	return 0;
}

/* Scans every mount's maps: candidates in S (caller frees), the cache's total in S->cached. */
static void
scan_all(struct daemon *d, struct scan *s)
{
	memset(s, 0, sizeof *s);
	s->d = d;
	for (s->mount = 0; s->mount < d->cfg.nmounts; s->mount++)
		if (ms_cache_area(&d->cfg, &d->cfg.mounts[s->mount], MS_AREA_STATE, s->root,
		    sizeof s->root) == 0)
			(void)ms_walk_maps(s->root, scan_walked, s);
}

static void
scan_free(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->c[i].key);
	free(s->c);
}

static void
adopt_scan(struct daemon *d, const struct scan *s)
{
	d->cached = s->cached;
	memcpy(d->mcached, s->mcached, sizeof d->mcached);
}

static uint64_t
clamp_add(uint64_t v, int64_t delta)
{
	return delta < 0 && (uint64_t)-delta > v ? 0 : v + (uint64_t)delta;
}

void
account_cached(struct daemon *d, unsigned mount_idx, int64_t bytes)
{
	d->cached = clamp_add(d->cached, bytes);
	d->mcached[mount_idx] = clamp_add(d->mcached[mount_idx], bytes);
}

void
account_reserved(struct daemon *d, unsigned mount_idx, int64_t bytes)
{
	d->reserved = clamp_add(d->reserved, bytes);
	d->mreserved[mount_idx] = clamp_add(d->mreserved[mount_idx], bytes);
}

/* Cached and reserved bytes of TENANT's mounts (of all, when TENANT is NULL). */
static void
scope_bytes(const struct daemon *d, const char *tenant, uint64_t *cached, uint64_t *reserved)
{
	unsigned i;

	if (tenant == NULL) {
		*cached = d->cached;
		*reserved = d->reserved;
		return;
	}
	*cached = *reserved = 0;
	for (i = 0; i < d->cfg.nmounts; i++) {
		if (strcmp(d->cfg.mounts[i].tenant, tenant) != 0)
			continue;
		*cached += d->mcached[i];
		*reserved += d->mreserved[i];
	}
}

/*
 * Removes what a crashed process left in DIR/tmp: files named PID.RANDOM (ms_cache_tmp_path)
 * of a process that is gone, or our own (the daemon stages nothing between two loop turns).
 */
static void
sweep_tmp(struct daemon *d)
{
	char dir[MS_DIR_FILE_PATH_MAX];
	struct dirent *de;
	unsigned n = 0;
	char *end;
	long pid;
	DIR *dh;

	if (ms_cache_file_path(&d->cfg, "tmp", dir, sizeof dir) < 0 || (dh = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dh)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (end == de->d_name || *end != '.' || pid <= 0 || pid > INT32_MAX)
			continue;
		if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		if (unlinkat(dirfd(dh), de->d_name, 0) == 0)
			n++;
	}
	closedir(dh);
	if (n > 0)
		ms_info("removed %u files left in %s by processes that are gone", n, dir);
}

void
evict_init(struct daemon *d)
{
	struct scan s;

	sweep_tmp(d);
	scan_all(d, &s);
	adopt_scan(d, &s);
	scan_free(&s);
	d->policy = ms_evict_policy_by_name(d->cfg.eviction);
	if (d->policy == NULL)
		d->policy = &ms_evict_lru;
}

/*
 * Bytes that must go so that NEED more fit under TARGET (counting TENANT's bytes, or all when
 * NULL) and above the disk's free floor.
 */
static uint64_t
bytes_to_free(struct daemon *d, const char *tenant, uint64_t target, uint64_t need)
{
	uint64_t want = 0, floor, avail, cached, reserved;
	struct statvfs sv;

	scope_bytes(d, tenant, &cached, &reserved);
	if (target != UINT64_MAX && cached + reserved + need > target)
		want = cached + reserved + need - target;
	/*
	 * The disk's floor is the whole cache's business, not one tenant's. With min_free = 0 the
	 * floor is the disk's end: a fill evicts rather than fails to write once the disk is full.
	 * Bytes of fills in flight (reserved until their writes are done) are not on the disk yet,
	 * but will be: they count as taken.
	 */
	if (tenant == NULL && statvfs(d->cfg.cache_dir, &sv) == 0) {
		floor = (uint64_t)sv.f_blocks * sv.f_frsize / 100 * d->cfg.min_free_pct;
		avail = (uint64_t)sv.f_bavail * sv.f_frsize;
		need += d->reserved;
		if (avail < floor + need && floor + need - avail > want)
			want = floor + need - avail;
	}
	return want;
}

/*
 * Gives KEY a fresh empty data file and map; whoever has the old file open or mapped keeps its
 * bytes. Crash-safe order: the data file is staged in DIR/tmp and renamed in, then its map. A
 * crash in between leaves the old map (with the object's ETag) naming the old inode, which
 * repair_map mends at the next scan; a crash while staging leaves only a file in DIR/tmp, which
 * sweep_tmp removes. (Unlinking the map first would lose the ETag to a crash, and the object
 * would stay unreadable until the next import.) The new map is written once the old data
 * is gone: on a full disk it needs a page that only the eviction frees; so *HOLD (an fd of the
 * old file, or -1) is closed as soon as the new data file is in place.
 */
static int
evict_object(struct daemon *d, const struct ms_mount *m, const char *key, int *hold)
{
	char tree[MS_OBJECT_PATH_MAX], state[MS_OBJECT_PATH_MAX];
	char tdata[MS_DIR_FILE_PATH_MAX], tmap[MS_DIR_FILE_PATH_MAX];
	struct timespec times[2];
	struct ms_map map;
	struct stat st;
	int fd, rc;

	rc = ms_cache_object_path(&d->cfg, m, MS_AREA_TREE, key, tree, sizeof tree);
	if (rc == 0)
		rc = ms_cache_object_path(&d->cfg, m, MS_AREA_STATE, key, state, sizeof state);
	if (rc == 0)
		rc = ms_cache_tmp_path(&d->cfg, tdata, sizeof tdata);
	if (rc == 0)
		rc = ms_cache_tmp_path(&d->cfg, tmap, sizeof tmap);
	if (rc == 0)
		rc = ms_map_open(&map, state, false);
	if (rc < 0)
		return rc;
	ms_map_close(&map); /* its header stays */
	fd = open(tdata, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	times[0].tv_sec = times[1].tv_sec = map.hdr.mtime;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	if (ftruncate(fd, (off_t)map.hdr.size) < 0 || futimens(fd, times) < 0 || fstat(fd, &st) < 0)
		rc = -errno;
	close(fd);
	ms_crash_point("evict.staged");
	if (rc == 0 && rename(tdata, tree) < 0)
		rc = -errno;
	ms_crash_point("evict.data_renamed");
	if (rc == 0 && *hold >= 0) {
		close(*hold);
		*hold = -1;
	}
	if (rc == 0)
		rc = ms_map_create(tmap, map.hdr.size, d->cfg.chunk_size, (uint64_t)st.st_ino,
		    map.hdr.mtime, map.hdr.etag);
	ms_crash_point("evict.map_staged");
	if (rc == 0 && rename(tmap, state) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tdata);
		unlink(tmap);
	}
	ms_crash_point("evict.done");
	return rc;
}

/*
 * KEY's tree file held with an exclusive flock (the fd: closed once the object is evicted), -1
 * if it may not be evicted now (pinned by a reader since the scan, or being filled), -2 if there
 * is no file to hold. The check and the eviction happen under one lock: a reader cannot pin the
 * old file in between (the shim re-checks the path once it holds its pin, and reopens).
 */
static int
hold_for_eviction(struct daemon *d, unsigned mount_idx, const char *key)
{
	char tree[MS_OBJECT_PATH_MAX];
	int fd;

	if (obj_busy(d, mount_idx, key) || ms_cache_object_path(&d->cfg, &d->cfg.mounts[mount_idx],
	    MS_AREA_TREE, key, tree, sizeof tree) < 0)
		return -1;
	fd = open(tree, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -2;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
evict_pass(struct daemon *d, enum ms_gc_mode mode, const char *tenant, uint64_t target,
    uint64_t need, struct ms_msg_gc_done *out)
{
	uint64_t want, freed = 0;
	struct scan s;
	size_t i, k, n = 0;

	sweep_tmp(d);
	scan_all(d, &s);
	adopt_scan(d, &s);
	for (i = 0; i < s.n; i++) {
		bool own = tenant != NULL && tenant[0] != '\0' &&
		    strcmp(d->cfg.mounts[s.c[i].mount].tenant, tenant) == 0;

		if (mode == MS_GC_TENANT && !own) {
			free(s.c[i].key);
			continue;
		}
		s.c[i].rank = mode == MS_GC_BEFORE_START && own ? 1 : 0;
		s.c[n++] = s.c[i];
	}
	s.n = n;
	want = bytes_to_free(d, mode == MS_GC_TENANT ? tenant : NULL, target, need);
	k = ms_evict_plan(d->policy, s.c, s.n, want, rand_below, NULL);
	for (i = 0; i < k; i++) {
		const struct ms_mount *m = &d->cfg.mounts[s.c[i].mount];
		int rc, hold;

		hold = hold_for_eviction(d, s.c[i].mount, s.c[i].key);
		if (hold == -1)
			continue; /* pinned by a reader since the scan */
		obj_forget(d, s.c[i].mount, s.c[i].key);
		rc = evict_object(d, m, s.c[i].key, &hold);
		if (hold >= 0)
			close(hold);
		if (rc < 0) {
			ms_warn("evicting %s/%s: %s", m->path, s.c[i].key, strerror(-rc));
			continue;
		}
		freed += s.c[i].bytes;
		account_cached(d, s.c[i].mount, -(int64_t)s.c[i].bytes);
		d->stats.evictions++;
		d->stats.evicted_bytes += s.c[i].bytes;
		out->evicted_objects++;
	}
	out->evicted_bytes += freed;
	out->cached_bytes = d->cached;
	out->quota = d->cfg.cache_size;
	scan_free(&s);
	if (freed > 0)
		ms_info("evicted %llu objects, %llu bytes (%s); cache now %llu bytes",
		    (unsigned long long)out->evicted_objects, (unsigned long long)freed, d->policy->name,
		    (unsigned long long)d->cached);
	return freed >= want ? 0 : -ENOSPC;
}

/* QUOTA's watermarks for BYTES more of TENANT (NULL: the whole cache dir). */
static int
admit_scope(struct daemon *d, const char *tenant, uint64_t quota, uint64_t bytes)
{
	struct ms_msg_gc_done out;
	uint64_t high, low, cached, reserved;

	if (quota == 0 && tenant != NULL)
		return 0;
	high = quota == 0 ? UINT64_MAX : quota / 100 * d->cfg.high_pct;
	low = quota == 0 ? UINT64_MAX : quota / 100 * d->cfg.low_pct;
	scope_bytes(d, tenant, &cached, &reserved);
	if ((high == UINT64_MAX || cached + reserved + bytes <= high) &&
	    (tenant != NULL || bytes_to_free(d, NULL, UINT64_MAX, bytes) == 0))
		return 0;
	memset(&out, 0, sizeof out);
	evict_pass(d, tenant != NULL ? MS_GC_TENANT : MS_GC_ALL, tenant, low, bytes, &out);
	/* Under the quota itself (not the low mark) is enough to go on. */
	if (bytes_to_free(d, tenant, quota == 0 ? UINT64_MAX : quota, bytes) > 0)
		return -ENOSPC;
	return 0;
}

int
evict_admit(struct daemon *d, unsigned mount_idx, uint64_t bytes)
{
	const char *tenant = d->cfg.mounts[mount_idx].tenant;
	const struct ms_tenant *t = ms_config_tenant(&d->cfg, tenant);
	int rc;

	/* The tenant's own quota first: a tenant over it evicts its own data, not others'. */
	if (t != NULL && t->size > 0 && (rc = admit_scope(d, tenant, t->size, bytes)) < 0)
		return rc;
	return admit_scope(d, NULL, d->cfg.cache_size, bytes);
}
