/*
 * evict_index.h: the daemon's in-memory index of cached objects, the candidates for eviction:
 * per object (mount, key), the inode of the data file its bytes are in, those bytes, and its
 * last access. Built by one scan of the cache at start, then kept current by fills, accesses and
 * evictions, so that choosing a victim never rescans the cache dir. Pure data structure: no I/O,
 * no clock (times are given), never decides what to evict (evict.h's policies do).
 *
 * Structure, chosen for cheap picks: entries are found by (mount, key) in a red-black tree
 * (sys/tree.h); each mount keeps its pickable entries in a binary min-heap on (last access, order
 * of access) held in a dense array. The heap's root is lru's victim (O(1) per mount, O(log n) to
 * take it out or to move an accessed entry back), and the dense array lets 2-random draw
 * uniformly in O(1); one array serves both, unlike a tree of entries plus a separate array. An
 * entry found pinned or busy when picked is parked (on a per-mount FIFO, out of the heap) so that
 * later picks skip it at no cost; ms_evict_index_unpark gives parked entries back a bounded number
 * at a time, those parked longest first.
 */
#ifndef MS_EVICT_INDEX_H
#define MS_EVICT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include "config.h"

struct ms_evict_entry {
	RB_ENTRY(ms_evict_entry) by_key;
	TAILQ_ENTRY(ms_evict_entry) parked_link;
	char *key;
	unsigned mount;
	uint64_t ino;   /* the data file its bytes are in (an import replaces it with another) */
	uint64_t bytes; /* its cached bytes, as counted in the daemon's totals */
	int64_t atime;  /* last access, seconds (0: never recorded: the oldest) */
	uint64_t seq;   /* order of the last access among the index's entries */
	size_t slot;    /* its place in its mount's heap; MS_EVICT_PARKED while parked */
};

#define MS_EVICT_PARKED SIZE_MAX

RB_HEAD(ms_evict_keys, ms_evict_entry);

struct ms_evict_mount {
	struct ms_evict_entry **heap; /* pickable entries, a min-heap on (atime, seq) */
	size_t n, cap;
	TAILQ_HEAD(, ms_evict_entry) parked;
	size_t nparked;
};

struct ms_evict_index {
	struct ms_evict_keys keys;
	struct ms_evict_mount mounts[MS_MAX_MOUNTS];
	size_t n;     /* entries, parked ones included */
	uint64_t seq; /* the last access's order */
};

/* A set of mounts: bit I for mount I. */
#define MS_EVICT_MOUNT_BIT(i) ((uint64_t)1 << (i))

void ms_evict_index_init(struct ms_evict_index *ix);
/* Frees every entry. */
void ms_evict_index_fini(struct ms_evict_index *ix);

/*
 * Adds KEY of MOUNT, accessed after every entry already there with the same ATIME (*OUT: the
 * entry, may be NULL). -EEXIST if it is there already, -EINVAL for a mount out of range, -ENOMEM.
 */
int ms_evict_index_add(struct ms_evict_index *ix, unsigned mount, const char *key, uint64_t ino,
    uint64_t bytes, int64_t atime, struct ms_evict_entry **out) __attribute__((warn_unused_result));

/* The entry of KEY of MOUNT, or NULL. */
struct ms_evict_entry *ms_evict_index_find(struct ms_evict_index *ix, unsigned mount,
    const char *key);

/* An access at ATIME: E goes after every entry accessed before (parked or not). */
void ms_evict_index_touch(struct ms_evict_index *ix, struct ms_evict_entry *e, int64_t atime);

/* Takes E out of the index and frees it. */
void ms_evict_index_remove(struct ms_evict_index *ix, struct ms_evict_entry *e);

/* Takes a pickable E out of the picks, to the end of its mount's parked FIFO. */
void ms_evict_index_park(struct ms_evict_index *ix, struct ms_evict_entry *e);

/* Makes up to MAX parked entries of MOUNTS pickable again, longest parked first; how many. */
size_t ms_evict_index_unpark(struct ms_evict_index *ix, uint64_t mounts, size_t max);

/* Pickable entries of MOUNTS. */
size_t ms_evict_index_count(const struct ms_evict_index *ix, uint64_t mounts);

/* The pickable entry of MOUNTS accessed longest ago, or NULL. */
struct ms_evict_entry *ms_evict_index_oldest(const struct ms_evict_index *ix, uint64_t mounts);

/* Pickable entry I (< ms_evict_index_count) of MOUNTS, in no particular order: for random draws. */
struct ms_evict_entry *ms_evict_index_nth(const struct ms_evict_index *ix, uint64_t mounts,
    size_t i);

/* True if A was accessed before B (by atime, then by order of access). */
bool ms_evict_entry_older(const struct ms_evict_entry *a, const struct ms_evict_entry *b);

#endif
