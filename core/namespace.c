/*
 * namespace.c: import of a bucket listing into a mount's tenant tree (namespace.h). The listing
 * is read whole, validated and sorted; then files that are no longer listed are removed, and
 * new or changed objects get a fresh sparse file and map, staged in DIR/tmp and renamed into
 * place so that no reader ever sees a half-made file. Never writes outside the cache dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "cache.h"
#include "crash.h"
#include "io.h"
#include "keys.h"
#include "map.h"
#include "namespace.h"
#include "walk.h"

#define LIST_MAX_OBJECTS (64u << 20) /* a hard cap on one listing held in memory */

struct entry {
	char *key;
	uint64_t size;
	int64_t mtime;
	char etag[MS_ETAG_MAX];
	int rejected;
};

struct import {
	const struct ms_config *cfg;
	const struct ms_mount *m;
	const struct ms_import_hooks *hooks;
	struct ms_import_report *rep;
	struct entry *v;
	size_t n, cap;
	char tree[MS_AREA_PATH_MAX];
	char state[MS_AREA_PATH_MAX];
	bool pruning_tree; /* prune: the tree dir (counts deletions), not the state dir */
};

static void
reject(struct import *im, const char *key, size_t len, const char *why)
{
	im->rep->rejected++;
	if (im->hooks != NULL && im->hooks->reject != NULL)
		im->hooks->reject(im->hooks->arg, key, len, why);
}

static void
progress(struct import *im, const char *phase)
{
	if (im->hooks != NULL && im->hooks->progress != NULL)
		im->hooks->progress(im->hooks->arg, phase, im->rep);
}

static int
on_listed(void *arg, const struct ms_s3_object *o)
{
	struct import *im = arg;
	size_t len = o->key_len;
	enum ms_key_verdict v;
	struct entry *e;
	int rc;

	im->rep->listed++;
	if (im->rep->listed % 1000 == 0)
		progress(im, "listing");
	/* Only the first MS_KEY_MAX bytes of a longer key are at hand: it is refused as it is. */
	if (len == strlen(im->m->snapshot) && memcmp(o->key, im->m->snapshot, len) == 0)
		return 0; /* the namespace snapshot itself: not a file of the mount */
	v = len > MS_KEY_MAX ? MS_KEY_TOO_LONG : ms_key_check(o->key, len);
	if (v == MS_KEY_DIR_MARKER) {
		im->rep->folders++;
		return 0;
	}
	if (v != MS_KEY_OK) {
		reject(im, o->key, len > MS_KEY_MAX ? MS_KEY_MAX : len, ms_key_verdict_str(v));
		return 0;
	}
	rc = ms_array_room(&im->v, im->n, &im->cap, sizeof *im->v, 1024, LIST_MAX_OBJECTS);
	if (rc < 0)
		return rc;
	e = &im->v[im->n];
	memset(e, 0, sizeof *e);
	e->key = strdup(o->key);
	if (e->key == NULL)
		return -ENOMEM;
	e->size = o->size;
	e->mtime = o->mtime;
	strlcpy(e->etag, o->etag, sizeof e->etag);
	im->n++;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static struct entry *
find(struct import *im, const char *key)
{
	struct entry k = { .key = (char *)key };

	return bsearch(&k, im->v, im->n, sizeof *im->v, entry_cmp);
}

/* A key that is also a directory prefix of another ("a" and "a/b"): the directory wins. */
static void
reject_conflicts(struct import *im)
{
	char prefix[MS_KEY_PATH_MAX + 1];
	struct entry *e;
	size_t i, j;

	for (i = 0; i < im->n; i++) {
		const char *k = im->v[i].key;

		for (j = 0; k[j] != '\0'; j++) {
			if (k[j] != '/')
				continue;
			memcpy(prefix, k, j);
			prefix[j] = '\0';
			e = find(im, prefix);
			if (e != NULL && !e->rejected) {
				e->rejected = 1;
				reject(im, e->key, strlen(e->key),
				    "is both an object and a directory prefix of other objects");
			}
		}
	}
}

static int
tree_rel_listed(struct import *im, const char *rel)
{
	struct entry *e = find(im, rel);

	return e != NULL && !e->rejected;
}

static int
remove_object(struct import *im, const char *rel)
{
	char path[MS_OBJECT_PATH_MAX];
	int rc;

	rc = ms_cache_object_path(im->cfg, im->m, MS_AREA_STATE, rel, path, sizeof path);
	if (rc == 0 && unlink(path) < 0 && errno != ENOENT && errno != EISDIR)
		rc = -errno;
	if (rc == 0)
		rc = ms_cache_object_path(im->cfg, im->m, MS_AREA_TREE, rel, path, sizeof path);
	if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

/* A file or link of a tree or state dir: removed unless the listing has its key. */
static int
prune_file(void *arg, const char *path, const char *key)
{
	struct import *im = arg;

	(void)path;
	if (tree_rel_listed(im, key))
		return 0;
	if (im->pruning_tree)
		im->rep->deleted++;
	return remove_object(im, key);
}

/* A directory, once its entries are done: removed if that left it empty. */
static int
prune_dir(void *arg, const char *path, const char *key)
{
	(void)arg;
	(void)key;
	return rmdir(path) < 0 && errno != ENOTEMPTY && errno != EEXIST ? -errno : 0;
}

/* Removes the files of AREA whose keys are not in the listing, and directories left empty. */
static int
prune(struct import *im, const char *area, bool is_tree)
{
	const struct ms_walk_ops ops = { .file = prune_file, .dir_done = prune_dir,
		.other = prune_file };

	im->pruning_tree = is_tree;
	return ms_walk(area, "", &ops, im);
}

/* Moves the finished file TMP to DST (its directories made first); TMP is gone either way. */
static int
put_in_place(const char *tmp, const char *dst)
{
	int rc = ms_mkdirs(dst, 0755, 0);

	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Creates an empty sparse file of E's size and mtime in tmp/ and renames it to TREE/KEY. */
static int
make_data_file(const struct ms_config *cfg, const struct entry *e, const char *dst, uint64_t *ino)
{
	char tmp[MS_DIR_FILE_PATH_MAX];
	int rc;

	rc = ms_cache_tmp_path(cfg, tmp, sizeof tmp);
	if (rc == 0)
		rc = ms_cache_create_data(tmp, e->size, e->mtime, ino);
	if (rc < 0)
		return rc;
	return put_in_place(tmp, dst);
}

static int
make_map(const struct ms_config *cfg, const struct entry *e, const char *dst, uint64_t ino)
{
	char tmp[MS_DIR_FILE_PATH_MAX];
	int rc;

	rc = ms_cache_tmp_path(cfg, tmp, sizeof tmp);
	if (rc == 0)
		rc = ms_map_create(tmp, e->size, cfg->chunk_size, ino, e->mtime, e->etag);
	return rc < 0 ? rc : put_in_place(tmp, dst);
}

/*
 * Gives E a fresh empty data file and map at TREE and STATE. The map goes first: a data file
 * without its map is never trusted (ESTALE). Readers of the old file keep its inode.
 */
static int
replace_object(const struct ms_config *cfg, const struct entry *e, const char *tree,
    const char *state)
{
	uint64_t ino = 0;
	int rc;

	if (unlink(state) < 0 && errno != ENOENT)
		return -errno;
	ms_crash_point("import.map_removed");
	rc = make_data_file(cfg, e, tree, &ino);
	ms_crash_point("import.data_renamed");
	if (rc == 0)
		rc = make_map(cfg, e, state, ino);
	ms_crash_point("import.object_done");
	return rc;
}

/* True if TREE/KEY and its map still describe E: its cached bytes stay. */
static int
is_unchanged(const struct entry *e, const char *tree, const char *state)
{
	struct ms_map map;
	struct stat st;
	int same;

	if (stat(tree, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (ms_map_open(&map, state, false) < 0)
		return 0;
	same = ms_map_names(&map, (uint64_t)st.st_ino, (uint64_t)st.st_size) &&
	    (uint64_t)st.st_size == e->size && strcmp(map.hdr.etag, e->etag) == 0;
	ms_map_close(&map);
	if (same && st.st_mtim.tv_sec != e->mtime) {
		struct timespec times[2] = { { e->mtime, 0 }, { e->mtime, 0 } };
		utimensat(AT_FDCWD, tree, times, 0);
	}
	return same;
}

static int
apply_entry(struct import *im, const struct entry *e)
{
	char tree[MS_OBJECT_PATH_MAX], state[MS_OBJECT_PATH_MAX];
	struct stat st;
	int rc, existed;

	rc = ms_cache_object_path(im->cfg, im->m, MS_AREA_TREE, e->key, tree, sizeof tree);
	if (rc == 0)
		rc = ms_cache_object_path(im->cfg, im->m, MS_AREA_STATE, e->key, state, sizeof state);
	if (rc < 0)
		return rc;
	if (is_unchanged(e, tree, state)) {
		im->rep->unchanged++;
		return 0;
	}
	existed = lstat(tree, &st) == 0;
	rc = replace_object(im->cfg, e, tree, state);
	if (rc == 0) {
		if (existed)
			im->rep->changed++;
		else
			im->rep->added++;
	}
	return rc;
}

int
ms_import_object(const struct ms_config *cfg, const struct ms_mount *m, const char *key,
    uint64_t size, int64_t mtime, const char *etag)
{
	char tree[MS_OBJECT_PATH_MAX], state[MS_OBJECT_PATH_MAX];
	struct entry e = { .key = (char *)key, .size = size, .mtime = mtime };
	int rc;

	if (strlcpy(e.etag, etag, sizeof e.etag) >= sizeof e.etag)
		return -ENAMETOOLONG;
	rc = ms_cache_object_path(cfg, m, MS_AREA_TREE, key, tree, sizeof tree);
	if (rc == 0)
		rc = ms_cache_object_path(cfg, m, MS_AREA_STATE, key, state, sizeof state);
	return rc < 0 ? rc : replace_object(cfg, &e, tree, state);
}

static int
lock_mount(struct import *im, int *lockfd)
{
	char path[MS_DIR_FILE_PATH_MAX];

	int rc = ms_cache_import_lock_path(im->cfg, im->m, path, sizeof path);

	if (rc < 0)
		return rc;
	rc = ms_mkdirs(path, 0700, 0);
	if (rc < 0)
		return rc;
	*lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lockfd < 0)
		return -errno;
	if (flock(*lockfd, LOCK_EX) < 0)
		return -errno;
	return 0;
}

int
ms_import(const struct ms_config *cfg, const struct ms_mount *m, struct ms_s3 *s3,
    const struct ms_import_source *src, const struct ms_import_hooks *hooks,
    struct ms_import_report *rep, char *err, size_t errlen)
{
	struct import im;
	int rc, lockfd = -1;
	size_t i;

	memset(&im, 0, sizeof im);
	memset(rep, 0, sizeof *rep);
	im.cfg = cfg;
	im.m = m;
	im.hooks = hooks;
	im.rep = rep;
	rc = ms_cache_init(cfg);
	if (rc == 0)
		rc = lock_mount(&im, &lockfd);
	if (rc < 0) {
		snprintf(err, errlen, "cache dir %s: %s", cfg->cache_dir, strerror(-rc));
		goto out;
	}
	if (src != NULL && src->from != NULL) {
		char perr[MS_KEY_MAX + 256];

		rc = ms_s3_snapshot_walk(s3, src->from, src->from_len, on_listed, &im, perr,
		    sizeof perr);
		if (rc != 0) { /* before anything changed: the namespace stays as it was */
			if (rc != -EFBIG)
				snprintf(err, errlen, "snapshot %s of s3://%s/%s: %s", m->snapshot,
				    m->bucket, m->prefix, perr);
			rc = rc > 0 ? -EBADMSG : rc;
		}
	} else {
		rc = ms_s3_list(s3, on_listed, &im, err, errlen);
	}
	if (rc < 0) {
		if (rc == -EFBIG)
			snprintf(err, errlen, "listing of s3://%s/%s has more than %u objects", m->bucket,
			    m->prefix, LIST_MAX_OBJECTS);
		goto out;
	}
	qsort(im.v, im.n, sizeof *im.v, entry_cmp);
	reject_conflicts(&im);
	progress(&im, "pruning");
	if ((rc = ms_cache_area(cfg, m, MS_AREA_TREE, im.tree, sizeof im.tree)) < 0 ||
	    (rc = ms_cache_area(cfg, m, MS_AREA_STATE, im.state, sizeof im.state)) < 0 ||
	    (rc = ms_mkdirs(im.tree, 0755, 1)) < 0 || (rc = ms_mkdirs(im.state, 0755, 1)) < 0 ||
	    (rc = prune(&im, im.tree, true)) < 0 || (rc = prune(&im, im.state, false)) < 0) {
		snprintf(err, errlen, "pruning %s: %s", im.tree, strerror(-rc));
		goto out;
	}
	ms_crash_point("import.pruned");
	for (i = 0; i < im.n; i++) {
		if (im.v[i].rejected)
			continue;
		rc = apply_entry(&im, &im.v[i]);
		if (rc < 0) {
			snprintf(err, errlen, "importing %s/%s: %s", m->path, im.v[i].key, strerror(-rc));
			goto out;
		}
		rep->bytes += im.v[i].size;
		if (i % 1000 == 999)
			progress(&im, "importing");
	}
	progress(&im, "done");
	if (src != NULL && src->publish != NULL) {
		ms_snapshot_begin(src->publish, m);
		for (i = 0; i < im.n; i++)
			if (!im.v[i].rejected)
				ms_snapshot_add(src->publish, m, im.v[i].key, im.v[i].size,
				    im.v[i].mtime, im.v[i].etag);
		rc = ms_snapshot_end(src->publish);
		if (rc < 0)
			snprintf(err, errlen, "writing the namespace snapshot: %s", strerror(-rc));
	}
out:
	for (i = 0; i < im.n; i++)
		free(im.v[i].key);
	free(im.v);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
