/*
 * daemon_evict.c: keeping the cache within its quota and the disk's free-space floor. Fills are
 * admitted only if their bytes fit under the quota: past the high watermark, objects are
 * evicted (whole, coldest first by the configured policy) down to the low one. Also serves
 * `modelshim gc` passes. Victims are picked from the index of cached objects (evict_index.h),
 * built by one scan of the cache dir at start and kept current by fills, accesses and evictions:
 * a pass never rescans the cache dir. An object being filled, or not complete and open by a
 * process (the shim holds a shared flock on it), is never evicted.
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

/*
 * Parked entries (pinned or busy when last picked) a pass gives back to the policy's order, those
 * parked longest first: all of them in practice (a pin is an incomplete file a program has
 * open), and a bound on what a cache whose objects are all pinned costs a pass (one open and
 * flock each, for those picked).
 */
#define UNPARK_PER_PASS 256

/* The start-up scan of one mount's maps. */
struct scan {
	struct daemon *d;
	unsigned mount;
	size_t unindexed; /* objects counted but left out of the index (out of memory) */
	char root[MS_AREA_PATH_MAX];
};

static uint32_t
rand_below(void *arg, uint32_t bound)
{
	(void)arg;
	return arc4random_uniform(bound);
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

/* True if MAP names KEY's tree file (its inode and size); its inode in *INO. */
static bool
map_names_tree(struct daemon *d, unsigned mount_idx, const char *key, const struct ms_map *map,
    uint64_t *ino)
{
	char tree[MS_OBJECT_PATH_MAX];
	struct stat st;

	if (ms_cache_object_path(&d->cfg, &d->cfg.mounts[mount_idx], MS_AREA_TREE, key, tree,
	    sizeof tree) < 0 || lstat(tree, &st) < 0)
		return false;
	*ino = (uint64_t)st.st_ino;
	return S_ISREG(st.st_mode) && ms_map_names(map, (uint64_t)st.st_ino, (uint64_t)st.st_size);
}

/*
 * The map at PATH does not name KEY's tree file: a crash between evict_object's two renames left
 * the fresh empty data file with the old map (ETag, size, mtime still the object's). The object
 * gets a fresh map for that file with nothing present. Under the mount's import lock, and only
 * if still so under it: an import replacing the object meanwhile is not undone.
 */
static void
repair_map(struct daemon *d, unsigned mount_idx, const char *path, const char *key)
{
	const struct ms_mount *m = &d->cfg.mounts[mount_idx];
	char lock[MS_DIR_FILE_PATH_MAX], tree[MS_OBJECT_PATH_MAX], tmp[MS_DIR_FILE_PATH_MAX];
	struct ms_map map;
	struct stat st;
	int lfd, rc;

	if (ms_cache_import_lock_path(&d->cfg, m, lock, sizeof lock) < 0 ||
	    ms_cache_object_path(&d->cfg, m, MS_AREA_TREE, key, tree, sizeof tree) < 0)
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
	rc = ms_cache_tmp_path(&d->cfg, tmp, sizeof tmp);
	if (rc == 0)
		rc = ms_map_create(tmp, map.hdr.size, d->cfg.chunk_size, (uint64_t)st.st_ino,
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

/* One map found by the start-up scan: its bytes counted, the object indexed if it has any. */
static void
scan_map(struct scan *s, const char *path, const char *key)
{
	struct ms_map map;
	uint64_t bytes, ino;
	int64_t atime;

	if (ms_map_open(&map, path, false) < 0)
		return;
	if (!map_names_tree(s->d, s->mount, key, &map, &ino)) {
		/* Its bits vouch for no file there: nothing cached, and a fresh map is due. */
		ms_map_close(&map);
		repair_map(s->d, s->mount, path, key);
		return;
	}
	bytes = ms_map_cached_bytes(&map);
	atime = map.hdr.atime;
	ms_map_close(&map);
	if (bytes == 0)
		return;
	account_cached(s->d, s->mount, (int64_t)bytes);
	if (ms_evict_index_add(&s->d->evict, s->mount, key, ino, bytes, atime, NULL) < 0)
		s->unindexed++;
}

/* For ms_walk_maps: one map of the mount being scanned. */
static int
scan_walked(void *arg, const char *path, const char *key)
{
	scan_map(arg, path, key);
	return 0;
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
	uint64_t start = ms_now_ms();
	struct scan s;

	sweep_tmp(d);
	ms_evict_index_init(&d->evict);
	memset(&s, 0, sizeof s);
	s.d = d;
	for (s.mount = 0; s.mount < d->cfg.nmounts; s.mount++) {
		if (ms_cache_area(&d->cfg, &d->cfg.mounts[s.mount], MS_AREA_STATE, s.root,
		    sizeof s.root) == 0)
			(void)ms_walk_maps(s.root, scan_walked, &s);
	}
	if (s.unindexed > 0)
		ms_warn("%zu cached objects left out of the eviction index (out of memory): they may "
		    "be evicted once accessed again", s.unindexed);
	ms_info("indexed %zu cached objects (%llu bytes) in %llu ms", d->evict.n,
	    (unsigned long long)d->cached, (unsigned long long)(ms_now_ms() - start));
	d->policy = ms_evict_policy_by_name(d->cfg.eviction);
	if (d->policy == NULL)
		d->policy = &ms_evict_lru;
}

void
evict_fini(struct daemon *d)
{
	ms_evict_index_fini(&d->evict);
}

/*
 * O's entry, made to describe O's data file, whose present bytes (TRUTH) the totals count
 * already. NULL if O has no bytes and no entry (or no memory for one).
 */
static struct ms_evict_entry *
entry_sync(struct daemon *d, struct obj *o, uint64_t truth)
{
	struct ms_evict_entry *e = ms_evict_index_find(&d->evict, o->mount_idx, o->key);

	if (e == NULL) {
		/* Counted by the start-up scan, or by the fill just done: indexed from now on. */
		if (truth == 0 || ms_evict_index_add(&d->evict, o->mount_idx, o->key, o->ino, truth,
		    o->map.hdr.atime, &e) < 0)
			return NULL;
		return e;
	}
	if (e->ino != o->ino) {
		/* Re-imported: the old data file's bytes went with it. */
		account_cached(d, o->mount_idx, -(int64_t)e->bytes);
		e->ino = o->ino;
	}
	/* Chunks a verification dropped were uncounted then: only the entry learns it here. */
	e->bytes = truth;
	return e;
}

void
evict_touch(struct daemon *d, struct obj *o)
{
	struct ms_evict_entry *e;

	if (o->detached)
		return; /* re-imported: its file is no longer the cache's */
	e = entry_sync(d, o, ms_map_cached_bytes(&o->map));
	if (e != NULL)
		ms_evict_index_touch(&d->evict, e, o->map.hdr.atime);
}

void
evict_filled(struct daemon *d, struct obj *o, uint64_t bytes)
{
	if (o->detached)
		return; /* re-imported while filled: those bytes are in a file no longer the cache's */
	account_cached(d, o->mount_idx, (int64_t)bytes);
	(void)entry_sync(d, o, ms_map_cached_bytes(&o->map));
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
 * The header of the map at STATE and the bytes it holds present, if it names the data file HELD
 * (the one about to be evicted): -ESTALE if it names another, -errno if it cannot be read.
 */
static int
held_map(const char *state, const struct stat *held, struct ms_map_header *hdr, uint64_t *bytes)
{
	struct ms_map map;
	int rc;

	rc = ms_map_open(&map, state, false);
	if (rc < 0)
		return rc;
	rc = ms_map_names(&map, (uint64_t)held->st_ino, (uint64_t)held->st_size) ? 0 : -ESTALE;
	*hdr = map.hdr;
	*bytes = ms_map_cached_bytes(&map);
	ms_map_close(&map);
	return rc;
}

/*
 * Gives KEY (whose map's header is HDR) a fresh empty data file and map; whoever has the old file
 * open or mapped keeps its bytes. Crash-safe order: the data file is staged in DIR/tmp and renamed
 * in, then its map. A crash in between leaves the old map (with the object's ETag) naming the old
 * inode, which repair_map mends at the next start; a crash while staging leaves only a file in
 * DIR/tmp, which sweep_tmp removes. (Unlinking the map first would lose the ETag to a crash, and
 * the object would stay unreadable until the next import.) The new map is written once the old
 * data is gone: on a full disk it needs a page that only the eviction frees; so *HOLD (an fd of
 * the old file, or -1) is closed as soon as the new data file is in place. *GONE: the old data
 * file was replaced (its bytes are no longer cached, even if a later step failed).
 */
static int
evict_object(struct daemon *d, const struct ms_mount *m, const char *key,
    const struct ms_map_header *hdr, int *hold, bool *gone)
{
	char tree[MS_OBJECT_PATH_MAX], state[MS_OBJECT_PATH_MAX];
	char tdata[MS_DIR_FILE_PATH_MAX], tmap[MS_DIR_FILE_PATH_MAX];
	uint64_t ino;
	int rc;

	*gone = false;
	rc = ms_cache_object_path(&d->cfg, m, MS_AREA_TREE, key, tree, sizeof tree);
	if (rc == 0)
		rc = ms_cache_object_path(&d->cfg, m, MS_AREA_STATE, key, state, sizeof state);
	if (rc == 0)
		rc = ms_cache_tmp_path(&d->cfg, tdata, sizeof tdata);
	if (rc == 0)
		rc = ms_cache_tmp_path(&d->cfg, tmap, sizeof tmap);
	if (rc == 0)
		rc = ms_cache_create_data(tdata, hdr->size, hdr->mtime, &ino);
	if (rc < 0)
		return rc;
	ms_crash_point("evict.staged");
	if (rename(tdata, tree) < 0)
		rc = -errno;
	ms_crash_point("evict.data_renamed");
	if (rc == 0) {
		*gone = true;
		if (*hold >= 0) {
			close(*hold);
			*hold = -1;
		}
		rc = ms_map_create(tmap, hdr->size, d->cfg.chunk_size, ino, hdr->mtime, hdr->etag);
	}
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
 * if it may not be evicted now (pinned by a reader, or being filled), -2 if there is no file to
 * hold. The check and the eviction happen under one lock: a reader cannot pin the old file in
 * between (the shim re-checks the path once it holds its pin, and reopens).
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

enum victim { VICTIM_EVICTED, VICTIM_PARKED, VICTIM_DROPPED };

/* Takes E out of the index; COUNTED of its bytes leave the totals. */
static void
drop_entry(struct daemon *d, struct ms_evict_entry *e, uint64_t counted)
{
	account_cached(d, e->mount, -(int64_t)counted);
	ms_evict_index_remove(&d->evict, e);
}

/*
 * Evicts the object of E if it may go now (*FREED: its bytes). PARKED: pinned by a reader, being
 * filled, or its eviction failed before its data went. DROPPED: its files no longer hold what E
 * says (an import replaced or removed them meanwhile, or nothing is present any more): E is
 * forgotten with the bytes it was counted with. The object is checked here, when picked: the
 * index may be behind what other processes did to the cache dir.
 */
static enum victim
evict_entry(struct daemon *d, struct ms_evict_entry *e, uint64_t *freed)
{
	const struct ms_mount *m = &d->cfg.mounts[e->mount];
	char state[MS_OBJECT_PATH_MAX];
	struct ms_map_header hdr;
	uint64_t bytes = 0;
	struct stat st;
	bool gone;
	int hold, rc;

	hold = hold_for_eviction(d, e->mount, e->key);
	if (hold == -1) {
		ms_evict_index_park(&d->evict, e);
		return VICTIM_PARKED;
	}
	rc = ms_cache_object_path(&d->cfg, m, MS_AREA_STATE, e->key, state, sizeof state);
	if (rc == 0 && hold < 0)
		rc = -ENOENT; /* no data file: an import removed it */
	else if (rc == 0 && (fstat(hold, &st) < 0 || (uint64_t)st.st_ino != e->ino))
		rc = -ESTALE; /* another data file: an import replaced it */
	if (rc == 0)
		rc = held_map(state, &st, &hdr, &bytes);
	if (rc < 0 && rc != -ENOENT && rc != -ESTALE && rc != -EBADMSG) {
		/* Could not look (out of fds, say): maybe next time. */
		if (hold >= 0)
			close(hold);
		ms_warn("evicting %s/%s: %s", m->path, e->key, strerror(-rc));
		ms_evict_index_park(&d->evict, e);
		return VICTIM_PARKED;
	}
	if (rc < 0 || bytes == 0) {
		if (hold >= 0)
			close(hold);
		if (rc == -ESTALE)
			repair_map(d, e->mount, state, e->key);
		/* Replaced or removed: its counted bytes went with it. Same file: none are left. */
		drop_entry(d, e, rc < 0 ? e->bytes : 0);
		return VICTIM_DROPPED;
	}
	obj_forget(d, e->mount, e->key);
	rc = evict_object(d, m, e->key, &hdr, &hold, &gone);
	if (hold >= 0)
		close(hold);
	if (rc < 0)
		ms_warn("evicting %s/%s: %s", m->path, e->key, strerror(-rc));
	if (!gone) {
		ms_evict_index_park(&d->evict, e);
		return VICTIM_PARKED;
	}
	drop_entry(d, e, bytes);
	*freed = bytes;
	return VICTIM_EVICTED;
}

/* The mounts of TENANT (none for NULL or ""), as a set of MS_EVICT_MOUNT_BIT. */
static uint64_t
tenant_mounts(const struct daemon *d, const char *tenant)
{
	uint64_t set = 0;
	unsigned i;

	for (i = 0; i < d->cfg.nmounts; i++)
		if (tenant != NULL && tenant[0] != '\0' && strcmp(d->cfg.mounts[i].tenant, tenant) == 0)
			set |= MS_EVICT_MOUNT_BIT(i);
	return set;
}

/*
 * Where a pass of MODE picks its victims, in order: SCOPES[0] first, then SCOPES[1]. Making room
 * before TENANT's job, other tenants' objects go first, however recently used.
 */
static void
pass_scopes(const struct daemon *d, enum ms_gc_mode mode, const char *tenant, uint64_t scopes[2])
{
	uint64_t all = d->cfg.nmounts >= 64 ? UINT64_MAX : MS_EVICT_MOUNT_BIT(d->cfg.nmounts) - 1;
	uint64_t own = tenant_mounts(d, tenant);

	scopes[1] = 0;
	if (mode == MS_GC_TENANT) {
		scopes[0] = own;
	} else if (mode == MS_GC_BEFORE_START) {
		scopes[0] = all & ~own;
		scopes[1] = own;
	} else {
		scopes[0] = all;
	}
}

int
evict_pass(struct daemon *d, enum ms_gc_mode mode, const char *tenant, uint64_t target,
    uint64_t need, struct ms_msg_gc_done *out)
{
	const char *scope = mode == MS_GC_TENANT ? tenant : NULL;
	uint64_t want, freed = 0, bytes, scopes[2];
	struct ms_evict_entry *e;
	unsigned r;

	sweep_tmp(d);
	pass_scopes(d, mode, tenant, scopes);
	/* Pinned or busy when last picked: they may have been let go since. */
	ms_evict_index_unpark(&d->evict, scopes[0] | scopes[1], UNPARK_PER_PASS);
	want = bytes_to_free(d, scope, target, need);
	for (r = 0; r < 2 && freed < want; r++) {
		while (freed < want) {
			e = d->policy->pick(&d->evict, scopes[r], rand_below, NULL);
			if (e == NULL)
				break;
			switch (evict_entry(d, e, &bytes)) {
			case VICTIM_EVICTED:
				freed += bytes;
				d->stats.evictions++;
				d->stats.evicted_bytes += bytes;
				out->evicted_objects++;
				break;
			case VICTIM_DROPPED:
				/* The totals were behind the cache dir: what is left to free, now. */
				want = freed + bytes_to_free(d, scope, target, need);
				break;
			case VICTIM_PARKED:
				break;
			}
		}
	}
	out->evicted_bytes += freed;
	out->cached_bytes = d->cached;
	out->quota = d->cfg.cache_size;
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
