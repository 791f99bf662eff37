/*
 * daemon_warm_tier.c: warm-ups into a mount's cluster cache tier (`modelshim warmup --tier`).
 * A request names one aligned tier block of an imported object; the block goes to its tier node
 * as every daemon would send it (so the node that caches it is the one the others ask), its
 * answer is checked as any other (ETag, Content-Range, length) and its bytes are discarded.
 * Never writes to the cache, and never sends the block's bytes to be fetched from the origin
 * (only the mount's proof of read access goes there).
 */
#include <errno.h>
#include <stdio.h>

#include "daemon.h"

void
warm_tier_request(struct daemon *d, struct obj *o, struct client *cl, uint64_t id, uint64_t off,
    uint64_t len)
{
	const struct ms_mount *m = &d->cfg.mounts[o->mount_idx];
	uint64_t block = obj_tier_block(d, o), size = o->map.hdr.size, want;
	char msg[256];

	if (block == 0) {
		snprintf(msg, sizeof msg, "mount %s has no cluster tier (tier = NAME, with a block that "
		    "is a multiple of chunk_size)", m->name);
		client_reply_done(d, cl, id, -EINVAL, msg);
		return;
	}
	want = off < size && size - off < block ? size - off : block;
	if (off >= size || off % block != 0 || (len != 0 && len != want)) {
		snprintf(msg, sizeof msg, "%s/%s: bytes %llu+%llu are not one tier block (%llu bytes "
		    "from a multiple of %llu, the last cut at the object's end)", m->path, o->key,
		    (unsigned long long)off, (unsigned long long)len, (unsigned long long)want,
		    (unsigned long long)block);
		client_reply_done(d, cl, id, -EINVAL, msg);
		return;
	}
	fetch_enqueue_tier_warm(d, o, (uint32_t)(off / o->map.hdr.chunk_size), cl, id);
}
