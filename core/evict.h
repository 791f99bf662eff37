/*
 * evict.h: choosing which cached objects to evict, whole objects only. A policy is a struct of
 * function pointers chosen by name (lru, 2-random); the plan it makes is an order of victims.
 * Pure functions over an array of candidates: no I/O, randomness injected for tests.
 */
#ifndef MS_EVICT_H
#define MS_EVICT_H

#include <stddef.h>
#include <stdint.h>

struct ms_evict_cand {
	unsigned mount;
	char *key;
	int64_t atime;  /* last access, seconds (0: never recorded: the oldest) */
	uint64_t bytes; /* cached bytes that evicting it frees */
	unsigned rank;  /* lower ranks go first (other tenants before the one making room) */
};

/* A uniformly random number below BOUND (BOUND >= 1). */
typedef uint32_t (*ms_rand_fn)(void *arg, uint32_t bound);

struct ms_evict_policy {
	const char *name;
	/* Index of the next victim among C[0..N) (N >= 1, all of the lowest rank present). */
	size_t (*pick)(const struct ms_evict_cand *c, size_t n, ms_rand_fn rnd, void *arg);
};

extern const struct ms_evict_policy ms_evict_lru;
extern const struct ms_evict_policy ms_evict_2random;

/* The policy called NAME, or NULL. */
const struct ms_evict_policy *ms_evict_policy_by_name(const char *name);

/*
 * Orders victims from C[0..N) until their bytes add up to at least NEED, lowest rank first.
 * Reorders C: the victims end up in C[0..k), in eviction order. Returns k (all N if even they
 * do not free NEED bytes).
 */
size_t ms_evict_plan(const struct ms_evict_policy *p, struct ms_evict_cand *c, size_t n,
    uint64_t need, ms_rand_fn rnd, void *arg);

#endif
