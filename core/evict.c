/*
 * evict.c: eviction policies. lru takes the entry accessed longest ago (the root of the index's
 * heaps); 2-random takes two entries at random and evicts the one accessed longer ago (the policy
 * of the JuiceFS client): O(1) per pick, less predictable. Never touches the cache or the index.
 */
#include <string.h>

#include "evict.h"

static struct ms_evict_entry *
lru_pick(const struct ms_evict_index *ix, uint64_t mounts, ms_rand_fn rnd, void *arg)
{
	(void)rnd;
	(void)arg;
	return ms_evict_index_oldest(ix, mounts);
}

static struct ms_evict_entry *
two_random_pick(const struct ms_evict_index *ix, uint64_t mounts, ms_rand_fn rnd, void *arg)
{
	size_t n = ms_evict_index_count(ix, mounts);
	struct ms_evict_entry *a, *b;
	uint32_t i, j;

	if (n <= 1)
		return ms_evict_index_nth(ix, mounts, 0);
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	i = rnd(arg, (uint32_t)n);
	j = rnd(arg, (uint32_t)n - 1);
	if (j >= i)
		j++; /* two distinct entries */
	a = ms_evict_index_nth(ix, mounts, i);
	b = ms_evict_index_nth(ix, mounts, j);
	return ms_evict_entry_older(b, a) ? b : a;
}

const struct ms_evict_policy ms_evict_lru = { "lru", lru_pick };
const struct ms_evict_policy ms_evict_2random = { "2-random", two_random_pick };

const struct ms_evict_policy *
ms_evict_policy_by_name(const char *name)
{
	if (strcmp(name, ms_evict_lru.name) == 0)
		return &ms_evict_lru;
	if (strcmp(name, ms_evict_2random.name) == 0)
		return &ms_evict_2random;
	return NULL;
}
