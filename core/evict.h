/*
 * evict.h: choosing which cached object to evict next, whole objects only. A policy is a struct
 * of function pointers chosen by name (lru, 2-random) that picks one victim among the pickable
 * entries of an index of cached objects (evict_index.h). Pure functions: no I/O, randomness
 * injected for tests; never changes the index.
 */
#ifndef MS_EVICT_H
#define MS_EVICT_H

#include <stdint.h>

#include "evict_index.h"

/* A uniformly random number below BOUND (BOUND >= 1). */
typedef uint32_t (*ms_rand_fn)(void *arg, uint32_t bound);

struct ms_evict_policy {
	const char *name;
	/* The next victim among IX's pickable entries of MOUNTS (a set of MS_EVICT_MOUNT_BIT), or NULL. */
	struct ms_evict_entry *(*pick)(const struct ms_evict_index *ix, uint64_t mounts,
	    ms_rand_fn rnd, void *arg);
};

extern const struct ms_evict_policy ms_evict_lru;
extern const struct ms_evict_policy ms_evict_2random;

/* The policy called NAME, or NULL. */
const struct ms_evict_policy *ms_evict_policy_by_name(const char *name);

#endif
