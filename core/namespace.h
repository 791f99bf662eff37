/*
 * namespace.h: `modelshim import`: makes a mount's local namespace (the tenant tree of sparse
 * files and their maps, cache.h) match a listing of its bucket prefix. Unchanged objects keep
 * their cached bytes; changed ones get fresh files (readers of the old file keep the old inode);
 * deleted ones disappear. Unsafe keys are reported and never become paths (invariant 8). The
 * listing may come from a snapshot another node published (snapshot.h), checked like a listing.
 */
#ifndef MS_NAMESPACE_H
#define MS_NAMESPACE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "s3.h"
#include "snapshot.h"

struct ms_import_report {
	uint64_t listed;    /* objects in the listing */
	uint64_t added, changed, unchanged, deleted;
	uint64_t rejected;  /* unsafe keys and file/directory conflicts */
	uint64_t folders;   /* "dir/" folder markers, skipped */
	uint64_t bytes;     /* total size of the accepted objects */
};

struct ms_import_hooks {
	void *arg;
	/* An object that will not be imported, and why. KEY is not NUL-safe: use KEYLEN. */
	void (*reject)(void *arg, const char *key, size_t keylen, const char *why);
	/* Called now and then while listing and applying. */
	void (*progress)(void *arg, const char *phase, const struct ms_import_report *r);
};

/*
 * Where an import takes its listing from, and what else it makes of it. With FROM (FROM_LEN
 * bytes) it walks that namespace snapshot instead of listing the bucket; a snapshot that does
 * not parse changes nothing and fails the import (-EBADMSG). With PUBLISH it also writes the
 * accepted objects as a snapshot there (ms_snapshot_end already called; the caller frees
 * publish->p). The mount's own namespace_snapshot key is never imported.
 */
struct ms_import_source {
	const char *from;
	size_t from_len;
	struct ms_snapshot *publish;
};

/*
 * Imports mount M of CFG using the client S3 and SRC (NULL: list the bucket). One import per
 * mount at a time (a lock file); returns 0 or -errno with a message in ERR. Rejected keys do
 * not make it fail.
 */
int ms_import(const struct ms_config *cfg, const struct ms_mount *m, struct ms_s3 *s3,
    const struct ms_import_source *src, const struct ms_import_hooks *hooks,
    struct ms_import_report *rep, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Makes KEY of mount M a fresh, empty cached object of SIZE, MTIME and ETAG, as an import does
 * for a new or changed object (its data file and map, in the crash-safe order; readers of an
 * older file keep its inode). Takes no import lock: for a caller that owns the mount's cache
 * (tests, tools). 0 or -errno.
 */
int ms_import_object(const struct ms_config *cfg, const struct ms_mount *m, const char *key,
    uint64_t size, int64_t mtime, const char *etag) __attribute__((warn_unused_result));

#endif
