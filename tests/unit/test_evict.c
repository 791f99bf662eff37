/* test_evict.c: eviction policies: lru order, 2-random with a seeded random source, ranks. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "evict.h"

/* A scripted "random" source: returns the next value of a list, modulo the bound. */
struct script {
	const uint32_t *v;
	size_t n, i;
};

static uint32_t
scripted(void *arg, uint32_t bound)
{
	struct script *s = arg;

	return s->v[s->i++ % s->n] % bound;
}

/* xorshift, seeded: deterministic across runs. */
static uint32_t
xorshift(void *arg, uint32_t bound)
{
	uint32_t *x = arg;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x % bound;
}

static void
fill(struct ms_evict_cand *c, const int64_t *atimes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&c[i], 0, sizeof c[i]);
		c[i].atime = atimes[i];
		c[i].bytes = 100;
		c[i].mount = (unsigned)i; /* remembers who it was */
	}
}

Test(evict, by_name)
{
	cr_expect_eq(ms_evict_policy_by_name("lru"), &ms_evict_lru);
	cr_expect_eq(ms_evict_policy_by_name("2-random"), &ms_evict_2random);
	cr_expect_null(ms_evict_policy_by_name("fifo"));
}

Test(evict, lru_takes_oldest_until_enough)
{
	const int64_t at[] = { 50, 10, 40, 0, 30 };
	struct ms_evict_cand c[5];
	size_t k;

	fill(c, at, 5);
	k = ms_evict_plan(&ms_evict_lru, c, 5, 250, NULL, NULL);
	cr_assert_eq(k, 3);
	cr_expect_eq(c[0].mount, 3); /* atime 0: never accessed */
	cr_expect_eq(c[1].mount, 1);
	cr_expect_eq(c[2].mount, 4);
}

Test(evict, need_zero_evicts_nothing_and_all_is_the_limit)
{
	const int64_t at[] = { 5, 6 };
	struct ms_evict_cand c[2];

	fill(c, at, 2);
	cr_expect_eq(ms_evict_plan(&ms_evict_lru, c, 2, 0, NULL, NULL), 0);
	cr_expect_eq(ms_evict_plan(&ms_evict_lru, c, 2, 10000, NULL, NULL), 2);
}

Test(evict, two_random_keeps_the_older_of_two)
{
	const int64_t at[] = { 10, 20, 30, 40 };
	/*
	 * First pick among [0 1 2 3]: a = 3, b = 0: the older is id 0. Then among [1 2 3]: a = 0
	 * (id 1), b = 1, shifted past a to 2 (id 3): the older is id 1.
	 */
	const uint32_t script_v[] = { 3, 0, 0, 1 };
	struct script s = { script_v, 4, 0 };
	struct ms_evict_cand c[4];
	size_t k;

	fill(c, at, 4);
	k = ms_evict_plan(&ms_evict_2random, c, 4, 200, scripted, &s);
	cr_assert_eq(k, 2);
	cr_expect_eq(c[0].mount, 0);
	cr_expect_eq(c[1].mount, 1);
}

Test(evict, two_random_seeded_is_repeatable_and_never_takes_the_newest_first)
{
	int64_t at[64];
	struct ms_evict_cand a[64], b[64];
	uint32_t s1 = 12345, s2 = 12345;

	for (int i = 0; i < 64; i++)
		at[i] = 1000 + i;
	fill(a, at, 64);
	fill(b, at, 64);
	cr_assert_eq(ms_evict_plan(&ms_evict_2random, a, 64, 3200, xorshift, &s1), 32);
	cr_assert_eq(ms_evict_plan(&ms_evict_2random, b, 64, 3200, xorshift, &s2), 32);
	for (int i = 0; i < 32; i++)
		cr_expect_eq(a[i].mount, b[i].mount, "pick %d differs with the same seed", i);
	/* The newest object can only lose to a pair drawn from it alone: never while others remain. */
	for (int i = 0; i < 32; i++)
		cr_expect_neq(a[i].mount, 63);
}

Test(evict, lower_rank_goes_first_whatever_its_age)
{
	const int64_t at[] = { 1, 2, 900, 901 };
	struct ms_evict_cand c[4];
	size_t k;

	fill(c, at, 4);
	c[2].rank = 0; /* another tenant's, recently used */
	c[3].rank = 0;
	c[0].rank = 1; /* the tenant making room: its own, old */
	c[1].rank = 1;
	k = ms_evict_plan(&ms_evict_lru, c, 4, 300, NULL, NULL);
	cr_assert_eq(k, 3);
	cr_expect_eq(c[0].mount, 2);
	cr_expect_eq(c[1].mount, 3);
	cr_expect_eq(c[2].mount, 0);
}
