/*
 * import_snapshot.h: the namespace snapshot of a mount for `modelshim import` (a listing one
 * node published, so N nodes cost one listing): found and judged by a HEAD at the origin signed
 * with the mount's own credentials, then fetched block by block through the mount's cluster
 * tier, conditional on that ETag, and checked like any fill.
 */
#ifndef MS_IMPORT_SNAPSHOT_H
#define MS_IMPORT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "s3.h"

#define IMPORT_SNAPSHOT_MAX (1ull << 30) /* a cap on the snapshot held in memory */

struct import_snapshot {
	char *xml;   /* the whole snapshot; the caller frees it */
	size_t len;
	char etag[MS_ETAG_MAX];
	int64_t age_s;           /* now - its Last-Modified */
	unsigned blocks;         /* requests it took */
	unsigned tier_blocks;    /* of them answered by tier nodes */
	unsigned tier_hits;      /* of those, from a node's cache */
};

/*
 * Fetches M's snapshot (m->snapshot must be set) with S3 (M's client). Returns 0 with it in OUT;
 * 1 when there is none to take (no such object, or older than namespace_snapshot_max_age), the
 * reason in ERR; or -errno with a message in ERR (refused, unreachable, changed while fetched,
 * over IMPORT_SNAPSHOT_MAX).
 */
int import_snapshot_fetch(const struct ms_config *cfg, const struct ms_mount *m, struct ms_s3 *s3,
    struct import_snapshot *out, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
