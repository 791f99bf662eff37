/* test_evict.c: eviction policies over the index: lru order, 2-random seeded, scopes. */
#include <stdio.h>
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

/* Adds objects "o0".."o<n-1>" of MOUNT with ATIMES, 100 bytes each. */
static void
fill(struct ms_evict_index *ix, unsigned mount, const int64_t *atimes, size_t n)
{
	char key[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof key, "o%zu", i);
		cr_assert_eq(ms_evict_index_add(ix, mount, key, i + 1, 100, atimes[i], NULL), 0);
	}
}

/* Picks and removes a victim; returns its key's number, -1 if there was none. */
static int
take(struct ms_evict_index *ix, const struct ms_evict_policy *p, uint64_t mounts, ms_rand_fn rnd,
    void *arg)
{
	struct ms_evict_entry *e = p->pick(ix, mounts, rnd, arg);
	int k;

	if (e == NULL)
		return -1;
	k = atoi(e->key + 1);
	ms_evict_index_remove(ix, e);
	return k;
}

Test(evict, by_name)
{
	cr_expect_eq(ms_evict_policy_by_name("lru"), &ms_evict_lru);
	cr_expect_eq(ms_evict_policy_by_name("2-random"), &ms_evict_2random);
	cr_expect_null(ms_evict_policy_by_name("fifo"));
}

Test(evict, lru_takes_oldest_first)
{
	const int64_t at[] = { 50, 10, 40, 0, 30 };
	const int want[] = { 3, 1, 4, 2, 0 }; /* atime 0: never accessed, the oldest */
	struct ms_evict_index ix;

	ms_evict_index_init(&ix);
	fill(&ix, 0, at, 5);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(take(&ix, &ms_evict_lru, 1, NULL, NULL), want[i], "victim %d", i);
	cr_expect_eq(take(&ix, &ms_evict_lru, 1, NULL, NULL), -1);
	ms_evict_index_fini(&ix);
}

Test(evict, lru_breaks_ties_by_order_of_access)
{
	const int64_t at[] = { 7, 7, 7 };
	struct ms_evict_index ix;

	ms_evict_index_init(&ix);
	fill(&ix, 0, at, 3);
	/* o0 accessed again in the same second: now the most recent of the three. */
	ms_evict_index_touch(&ix, ms_evict_index_find(&ix, 0, "o0"), 7);
	cr_expect_eq(take(&ix, &ms_evict_lru, 1, NULL, NULL), 1);
	cr_expect_eq(take(&ix, &ms_evict_lru, 1, NULL, NULL), 2);
	cr_expect_eq(take(&ix, &ms_evict_lru, 1, NULL, NULL), 0);
	ms_evict_index_fini(&ix);
}

Test(evict, lru_picks_only_in_the_mounts_asked)
{
	const int64_t old[] = { 1, 2 }, recent[] = { 900, 901 };
	struct ms_evict_index ix;
	struct ms_evict_entry *e;

	ms_evict_index_init(&ix);
	fill(&ix, 0, old, 2);
	fill(&ix, 5, recent, 2);
	e = ms_evict_lru.pick(&ix, MS_EVICT_MOUNT_BIT(5), NULL, NULL);
	cr_assert_not_null(e);
	cr_expect_eq(e->mount, 5);
	cr_expect_eq(e->atime, 900);
	e = ms_evict_lru.pick(&ix, MS_EVICT_MOUNT_BIT(0) | MS_EVICT_MOUNT_BIT(5), NULL, NULL);
	cr_expect_eq(e->atime, 1);
	cr_expect_null(ms_evict_lru.pick(&ix, MS_EVICT_MOUNT_BIT(3), NULL, NULL));
	ms_evict_index_fini(&ix);
}

Test(evict, two_random_keeps_the_older_of_two)
{
	const int64_t at[] = { 10, 20, 30, 40 };
	const uint32_t script_v[] = { 3, 0, 1, 1 };
	struct script s = { script_v, 4, 0 };
	struct ms_evict_entry *a, *b, *e;
	struct ms_evict_index ix;

	ms_evict_index_init(&ix);
	fill(&ix, 0, at, 4);
	/* Draws 3 and 0: the two entries there, whichever is older wins. */
	a = ms_evict_index_nth(&ix, 1, 3);
	b = ms_evict_index_nth(&ix, 1, 0);
	e = ms_evict_2random.pick(&ix, 1, scripted, &s);
	cr_expect_eq(e, ms_evict_entry_older(a, b) ? a : b);
	/* Draws 1 and 1, shifted past the first to 2: two distinct entries. */
	a = ms_evict_index_nth(&ix, 1, 1);
	b = ms_evict_index_nth(&ix, 1, 2);
	e = ms_evict_2random.pick(&ix, 1, scripted, &s);
	cr_expect_eq(e, ms_evict_entry_older(a, b) ? a : b);
	ms_evict_index_fini(&ix);
}

Test(evict, two_random_of_none_or_one)
{
	const int64_t at[] = { 10 };
	uint32_t seed = 1;
	struct ms_evict_index ix;

	ms_evict_index_init(&ix);
	cr_expect_null(ms_evict_2random.pick(&ix, 1, xorshift, &seed));
	fill(&ix, 0, at, 1);
	cr_expect_eq(take(&ix, &ms_evict_2random, 1, xorshift, &seed), 0);
	ms_evict_index_fini(&ix);
}

Test(evict, two_random_seeded_is_repeatable_and_never_takes_the_newest_first)
{
	struct ms_evict_index a, b;
	uint32_t s1 = 12345, s2 = 12345;
	int64_t at[64];
	int va, vb;

	for (int i = 0; i < 64; i++)
		at[i] = 1000 + i;
	ms_evict_index_init(&a);
	ms_evict_index_init(&b);
	fill(&a, 0, at, 64);
	fill(&b, 0, at, 64);
	for (int i = 0; i < 63; i++) {
		va = take(&a, &ms_evict_2random, 1, xorshift, &s1);
		vb = take(&b, &ms_evict_2random, 1, xorshift, &s2);
		cr_expect_eq(va, vb, "pick %d differs with the same seed", i);
		/* The newest object loses every draw it is in while another remains. */
		cr_expect_neq(va, 63, "the newest went at pick %d", i);
	}
	cr_expect_eq(take(&a, &ms_evict_2random, 1, xorshift, &s1), 63);
	ms_evict_index_fini(&a);
	ms_evict_index_fini(&b);
}
