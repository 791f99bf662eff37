/*
 * snapshot.h: writes a namespace snapshot: one mount's accepted listing as a single, whole
 * ListObjectsV2 answer (keys URL-encoded, prefix included), which `modelshim import --publish`
 * puts at the mount's namespace_snapshot key and other nodes' imports walk (ms_s3_snapshot_walk)
 * instead of listing the bucket. Pure: builds a buffer, never does I/O.
 */
#ifndef MS_SNAPSHOT_H
#define MS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct ms_snapshot {
	char *p;    /* the XML so far (NUL-terminated), the caller frees it */
	size_t len;
	size_t cap;
	int rc;     /* the first error: -ENOMEM, or -EINVAL (an ETag no XML can hold) */
};

/* Starts SN for mount M (its bucket and prefix in the header). */
void ms_snapshot_begin(struct ms_snapshot *sn, const struct ms_mount *m);

/* Adds object KEY (relative to M's prefix) of SIZE, MTIME (epoch seconds) and ETAG. */
void ms_snapshot_add(struct ms_snapshot *sn, const struct ms_mount *m, const char *key,
    uint64_t size, int64_t mtime, const char *etag);

/* Closes the document. Returns 0, or the first error (SN's buffer is then freed). */
int ms_snapshot_end(struct ms_snapshot *sn) __attribute__((warn_unused_result));

#endif
