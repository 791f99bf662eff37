/*
 * evict.c: eviction policies. lru takes the least recently accessed object; 2-random takes two
 * at random and evicts the one accessed longer ago (the policy of the JuiceFS client), which
 * costs O(1) per pick but is less predictable. Never touches the cache itself.
 */
#include <string.h>

#include "evict.h"

static size_t
lru_pick(const struct ms_evict_cand *c, size_t n, ms_rand_fn rnd, void *arg)
{
	size_t i, best = 0;

	(void)rnd;
	(void)arg;
	for (i = 1; i < n; i++)
		if (c[i].atime < c[best].atime)
			best = i;
	return best;
}

static size_t
two_random_pick(const struct ms_evict_cand *c, size_t n, ms_rand_fn rnd, void *arg)
{
	size_t a, b;

	if (n == 1)
		return 0;
	a = rnd(arg, (uint32_t)n);
	b = rnd(arg, (uint32_t)n - 1);
	if (b >= a)
		b++; /* two distinct candidates */
	return c[b].atime < c[a].atime ? b : a;
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

static void
swap(struct ms_evict_cand *a, struct ms_evict_cand *b)
{
	struct ms_evict_cand t = *a;

	*a = *b;
	*b = t;
}

size_t
ms_evict_plan(const struct ms_evict_policy *p, struct ms_evict_cand *c, size_t n,
    uint64_t need, ms_rand_fn rnd, void *arg)
{
	uint64_t freed = 0;
	size_t k = 0, i, m, pick;
	unsigned rank;

	while (k < n && freed < need) {
		/* The remaining candidates of the lowest rank go first: gather them after k. */
		rank = c[k].rank;
		for (i = k + 1; i < n; i++)
			if (c[i].rank < rank)
				rank = c[i].rank;
		m = k;
		for (i = k; i < n; i++)
			if (c[i].rank == rank)
				swap(&c[m++], &c[i]);
		pick = k + p->pick(c + k, m - k, rnd, arg);
		swap(&c[k], &c[pick]);
		freed += c[k].bytes;
		k++;
	}
	return k;
}
