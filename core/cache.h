/*
 * cache.h: the layout of a cache dir, and opening one cached object for reading.
 *
 *   DIR/daemon.sock  DIR/daemon.pid  DIR/daemon.log  DIR/tmp/ (staging for atomic renames)
 *   DIR/tenants/TENANT/MOUNT/tree/KEY   sparse data file: the object's size and mtime
 *   DIR/tenants/TENANT/MOUNT/state/KEY  its presence map (map.h)
 *   DIR/tenants/TENANT/MOUNT/import.lock                 held by an import or a map repair
 *
 * Never writes object bytes; never trusts a map that does not describe the tree file beside it.
 */
#ifndef MS_CACHE_H
#define MS_CACHE_H

#include <stddef.h>

#include "config.h"
#include "map.h"

/* Buffer sizes for the paths of a cache dir (each leaves room for the longest names allowed). */
#define MS_AREA_PATH_MAX (MS_PATH_MAX + 128)       /* DIR/tenants/TENANT/MOUNT/{tree,state} */
#define MS_OBJECT_PATH_MAX (MS_PATH_MAX * 2 + 64)  /* ... /{tree,state}/KEY */
#define MS_DIR_FILE_PATH_MAX (MS_PATH_MAX + 256)   /* DIR/NAME, DIR/tmp/..., .../import.lock */

enum ms_cache_area { MS_AREA_TREE, MS_AREA_STATE };

/* DIR/tenants/TENANT/MOUNT/{tree,state} */
int ms_cache_area(const struct ms_config *cfg, const struct ms_mount *m, enum ms_cache_area a,
    char *out, size_t outlen) __attribute__((warn_unused_result));

/* DIR/tenants/TENANT/MOUNT/{tree,state}/KEY */
int ms_cache_object_path(const struct ms_config *cfg, const struct ms_mount *m,
    enum ms_cache_area a, const char *key, char *out, size_t outlen) __attribute__((warn_unused_result));

/* DIR/tenants/TENANT/MOUNT/import.lock: flock'ed (exclusive) by an import and a map repair. */
int ms_cache_import_lock_path(const struct ms_config *cfg, const struct ms_mount *m, char *out,
    size_t outlen) __attribute__((warn_unused_result));

int ms_cache_socket_path(const struct ms_config *cfg, char *out, size_t outlen)
	__attribute__((warn_unused_result));
int ms_cache_file_path(const struct ms_config *cfg, const char *name, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/* A fresh unique name in DIR/tmp for staging a file before rename(2). */
int ms_cache_tmp_path(const struct ms_config *cfg, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * Creates PATH (a fresh name from ms_cache_tmp_path) as the empty data file of an object: SIZE
 * bytes of holes, modified at MTIME; *INO is its inode. 0 or -errno; on failure PATH is gone.
 */
int ms_cache_create_data(const char *path, uint64_t size, int64_t mtime, uint64_t *ino)
	__attribute__((warn_unused_result));

/*
 * Creates DIR, DIR/tmp, DIR/tenants and each mount's DIR/tenants/TENANT/MOUNT if missing, and
 * gives them their modes: all 0700 (owner-only) but MOUNT 0755, or, when a tenant names a gid,
 * DIR and DIR/tenants 0711 and that tenant's dir 0750 with group gid.
 */
int ms_cache_init(const struct ms_config *cfg) __attribute__((warn_unused_result));

/* One object opened for reading: its data file and its map, checked against each other. */
struct ms_cached {
	int data_fd;
	struct ms_map map;
	unsigned long long ino;
};

/*
 * Opens KEY of mount M: -ENOENT if not imported, -ESTALE if the map does not describe the data
 * file (an import was interrupted: re-import). The data file holds a shared flock while open,
 * which pins it against eviction (released by ms_cached_close or the process's death). A map from before a reboot is loaded with no chunk
 * present, so that every range goes through the daemon, which verifies checksums.
 */
int ms_cached_open(struct ms_cached *c, const struct ms_config *cfg, const struct ms_mount *m,
    const char *key) __attribute__((warn_unused_result));
void ms_cached_close(struct ms_cached *c);

#endif
