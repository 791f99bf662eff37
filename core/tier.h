/*
 * tier.h: where a block of an object lives in a cluster tier ([tier "NAME"], config.h): the
 * rendezvous weight of each node for (node, origin, bucket, key, ETag, block), the same on every
 * daemon and CLI, so a block is fetched from the origin once for the whole cluster. Pure: no
 * I/O, no state (a node marked down is the caller's business).
 */
#ifndef MS_TIER_H
#define MS_TIER_H

#include <stdint.h>

#include "config.h"

/*
 * A tier node that does not accept a connection within this long is passed over (the next node,
 * then the origin): a node is on the cluster's own network. Its answer may take much longer: the
 * tier's `timeout`, as its proxy_cache_lock holds waiters until the origin's answer is in.
 */
#define MS_TIER_CONNECT_MS 2000L

/* Node NODE's weight for the block at OFF of KEY (relative to M's prefix) at ETAG. */
uint64_t ms_tier_weight(const struct ms_mount *m, const struct ms_tier *t, unsigned node,
    const char *key, const char *etag, uint64_t off);

/*
 * T's nodes for that block, highest weight first, into ORDER (room for t->nnodes): the order in
 * which a request tries them before the origin. Returns t->nnodes.
 */
unsigned ms_tier_order(const struct ms_mount *m, const struct ms_tier *t, const char *key,
    const char *etag, uint64_t off, unsigned *order);

#endif
