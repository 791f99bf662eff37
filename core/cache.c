/*
 * cache.c: path construction for the cache dir layout (see cache.h) and the read-only opening
 * of a cached object. Every path is built with snprintf into a caller's buffer and checked for
 * truncation; nothing here writes object data or maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "io.h"

static int
fmt_ok(int n, size_t outlen)
{
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int
ms_cache_area(const struct ms_config *cfg, const struct ms_mount *m, enum ms_cache_area a,
    char *out, size_t outlen)
{
	return fmt_ok(snprintf(out, outlen, "%s/tenants/%s/%s/%s", cfg->cache_dir, m->tenant,
	    m->name, a == MS_AREA_TREE ? "tree" : "state"), outlen);
}

int
ms_cache_object_path(const struct ms_config *cfg, const struct ms_mount *m, enum ms_cache_area a,
    const char *key, char *out, size_t outlen)
{
	return fmt_ok(snprintf(out, outlen, "%s/tenants/%s/%s/%s/%s", cfg->cache_dir, m->tenant,
	    m->name, a == MS_AREA_TREE ? "tree" : "state", key), outlen);
}

int
ms_cache_import_lock_path(const struct ms_config *cfg, const struct ms_mount *m, char *out,
    size_t outlen)
{
	return fmt_ok(snprintf(out, outlen, "%s/tenants/%s/%s/import.lock", cfg->cache_dir,
	    m->tenant, m->name), outlen);
}

int
ms_cache_file_path(const struct ms_config *cfg, const char *name, char *out, size_t outlen)
{
	return fmt_ok(snprintf(out, outlen, "%s/%s", cfg->cache_dir, name), outlen);
}

int
ms_cache_socket_path(const struct ms_config *cfg, char *out, size_t outlen)
{
	/* sun_path holds 108 bytes: refuse a longer path here rather than truncate it later. */
	size_t cap = outlen < 108 ? outlen : 108;

	return fmt_ok(snprintf(out, cap, "%s/daemon.sock", cfg->cache_dir), cap);
}

int
ms_cache_tmp_path(const struct ms_config *cfg, char *out, size_t outlen)
{
	return fmt_ok(snprintf(out, outlen, "%s/tmp/%d.%08x%08x", cfg->cache_dir, (int)getpid(),
	    arc4random(), arc4random()), outlen);
}

/* PATH is a directory of ours with MODE and GID ((gid_t)-1: any); fixed if it is not. */
static int
own_dir(const char *path, mode_t mode, gid_t gid)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (gid != (gid_t)-1 && st.st_gid != gid && chown(path, (uid_t)-1, gid) < 0)
		return -errno;
	if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		return -errno;
	return 0;
}

int
ms_cache_create_data(const char *path, uint64_t size, int64_t mtime, uint64_t *ino)
{
	struct timespec times[2] = { { (time_t)mtime, 0 }, { (time_t)mtime, 0 } };
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || futimens(fd, times) < 0 || fstat(fd, &st) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		unlink(path);
	else
		*ino = (uint64_t)st.st_ino;
	return rc;
}

int
ms_cache_init(const struct ms_config *cfg)
{
	char path[MS_PATH_MAX + 2 * MS_NAME_MAX + 32];
	/* Owner-only, or traversable (not listable) by the tenants' groups when shared. */
	mode_t top = ms_config_shared(cfg) ? 0711 : 0700;
	const struct ms_tenant *t;
	unsigned i;
	int rc;

	rc = ms_mkdirs(cfg->cache_dir, 0700, 0);
	if (rc == 0)
		rc = own_dir(cfg->cache_dir, top, (gid_t)-1);
	if (rc == 0)
		rc = ms_cache_file_path(cfg, "tmp", path, sizeof path);
	if (rc == 0)
		rc = own_dir(path, 0700, (gid_t)-1);
	if (rc == 0)
		rc = ms_cache_file_path(cfg, "tenants", path, sizeof path);
	if (rc == 0)
		rc = own_dir(path, top, (gid_t)-1);
	/* A tenant's tree: the daemon user's (no tenant can replace a file in it), group-readable. */
	for (i = 0; rc == 0 && i < cfg->nmounts; i++) {
		t = ms_config_tenant(cfg, cfg->mounts[i].tenant);
		rc = fmt_ok(snprintf(path, sizeof path, "%s/tenants/%s", cfg->cache_dir,
		    cfg->mounts[i].tenant), sizeof path);
		if (rc == 0)
			rc = own_dir(path, t != NULL && t->gid ? 0750 : 0700,
			    t != NULL && t->gid ? (gid_t)t->gid : (gid_t)-1);
		/* Below it, readable: the tenant's dir is the gate. */
		if (rc == 0)
			rc = fmt_ok(snprintf(path, sizeof path, "%s/tenants/%s/%s", cfg->cache_dir,
			    cfg->mounts[i].tenant, cfg->mounts[i].name), sizeof path);
		if (rc == 0)
			rc = own_dir(path, 0755, (gid_t)-1);
	}
	return rc;
}

/*
 * Opens KEY's data file and, while it is incomplete, pins it with a shared flock so that the
 * daemon does not evict it under us; an eviction that slipped in between open and flock is seen
 * by the path no longer naming our inode, and the open is redone.
 */
static int
open_pinned(const char *path, struct stat *st)
{
	struct stat now;
	int fd, tries;

	for (tries = 0; tries < 4; tries++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fstat(fd, st) < 0 || flock(fd, LOCK_SH) < 0) {
			int rc = -errno;

			close(fd);
			return rc;
		}
		if (stat(path, &now) == 0 && now.st_ino == st->st_ino && now.st_dev == st->st_dev)
			return fd;
		close(fd);
	}
	return -ESTALE;
}

static int
cached_open_once(struct ms_cached *c, const struct ms_config *cfg, const struct ms_mount *m,
    const char *key)
{
	char path[MS_OBJECT_PATH_MAX];
	struct stat st;
	int rc;

	memset(c, 0, sizeof *c);
	c->data_fd = -1;
	c->map.fd = -1;
	rc = ms_cache_object_path(cfg, m, MS_AREA_TREE, key, path, sizeof path);
	if (rc < 0)
		return rc;
	c->data_fd = open_pinned(path, &st);
	if (c->data_fd < 0)
		return c->data_fd;
	rc = -EISDIR;
	if (!S_ISREG(st.st_mode))
		goto fail;
	c->ino = (unsigned long long)st.st_ino;
	rc = ms_cache_object_path(cfg, m, MS_AREA_STATE, key, path, sizeof path);
	if (rc < 0)
		goto fail;
	rc = ms_map_open(&c->map, path, false);
	if (rc == -ENOENT || rc == -EBADMSG)
		rc = -ESTALE;
	if (rc < 0)
		goto fail;
	if (!ms_map_names(&c->map, (uint64_t)st.st_ino, (uint64_t)st.st_size)) {
		rc = -ESTALE;
		goto fail;
	}
	if (!ms_map_same_boot(&c->map)) {
		memset(c->map.bits, 0, ((size_t)c->map.hdr.nchunks + 7) / 8);
		c->map.present = 0;
	}
	return 0;
fail:
	ms_cached_close(c);
	return rc;
}

int
ms_cached_open(struct ms_cached *c, const struct ms_config *cfg, const struct ms_mount *m,
    const char *key)
{
	struct timespec ms = { 0, 1000 * 1000 };
	int rc, tries;

	/*
	 * An eviction renames the new data file in before its map: for an instant the map still
	 * names the old file. A mismatch is looked at again a few times before it is believed.
	 */
	for (tries = 0; tries < 8; tries++) {
		rc = cached_open_once(c, cfg, m, key);
		if (rc != -ESTALE)
			break;
		nanosleep(&ms, NULL);
	}
	return rc;
}

void
ms_cached_close(struct ms_cached *c)
{
	if (c->data_fd >= 0)
		close(c->data_fd);
	c->data_fd = -1;
	if (c->map.fd >= 0 || c->map.bits != NULL)
		ms_map_close(&c->map);
}
