/* test_evict_index.c: the index of cached objects: add, touch, remove, park, scopes, many objects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "evict_index.h"

static struct ms_evict_entry *
add(struct ms_evict_index *ix, unsigned mount, const char *key, int64_t atime)
{
	struct ms_evict_entry *e = NULL;

	cr_assert_eq(ms_evict_index_add(ix, mount, key, 42, 1000, atime, &e), 0, "adding %s", key);
	return e;
}

/* Takes the oldest pickable entry of MOUNTS out and returns its atime, -1 if none. */
static int64_t
take_oldest(struct ms_evict_index *ix, uint64_t mounts)
{
	struct ms_evict_entry *e = ms_evict_index_oldest(ix, mounts);
	int64_t t;

	if (e == NULL)
		return -1;
	t = e->atime;
	ms_evict_index_remove(ix, e);
	return t;
}

Test(evict_index, add_find_and_refuse_duplicates)
{
	struct ms_evict_index ix;
	struct ms_evict_entry *e;

	ms_evict_index_init(&ix);
	e = add(&ix, 2, "a/b.bin", 5);
	cr_expect_eq(ms_evict_index_find(&ix, 2, "a/b.bin"), e);
	cr_expect_str_eq(e->key, "a/b.bin");
	cr_expect_eq(e->mount, 2);
	cr_expect_eq(e->ino, 42);
	cr_expect_eq(e->bytes, 1000);
	cr_expect_null(ms_evict_index_find(&ix, 3, "a/b.bin"), "another mount's key is another object");
	cr_expect_null(ms_evict_index_find(&ix, 2, "a/b"));
	cr_expect_eq(ms_evict_index_add(&ix, 2, "a/b.bin", 1, 1, 1, NULL), -EEXIST);
	cr_expect_eq(ms_evict_index_add(&ix, MS_MAX_MOUNTS, "x", 1, 1, 1, NULL), -EINVAL);
	cr_expect_eq(ix.n, 1);
	cr_expect_eq(ms_evict_index_count(&ix, MS_EVICT_MOUNT_BIT(2)), 1);
	ms_evict_index_fini(&ix);
	cr_expect_eq(ix.n, 0);
	cr_expect_null(ms_evict_index_find(&ix, 2, "a/b.bin"));
}

Test(evict_index, touch_moves_an_entry_behind_the_others)
{
	struct ms_evict_index ix;
	struct ms_evict_entry *a, *b;

	ms_evict_index_init(&ix);
	a = add(&ix, 0, "a", 10);
	b = add(&ix, 0, "b", 20);
	add(&ix, 0, "c", 30);
	cr_expect_eq(ms_evict_index_oldest(&ix, 1), a);
	ms_evict_index_touch(&ix, a, 40);
	cr_expect_eq(a->atime, 40);
	cr_expect_eq(ms_evict_index_oldest(&ix, 1), b);
	/* A fill changes what evicting it frees, not its place. */
	b->bytes += 4096;
	cr_expect_eq(ms_evict_index_oldest(&ix, 1), b);
	cr_expect_eq(take_oldest(&ix, 1), 20);
	cr_expect_eq(take_oldest(&ix, 1), 30);
	cr_expect_eq(take_oldest(&ix, 1), 40);
	cr_expect_eq(take_oldest(&ix, 1), -1);
	ms_evict_index_fini(&ix);
}

Test(evict_index, remove_takes_an_entry_out_wherever_it_is)
{
	struct ms_evict_index ix;
	struct ms_evict_entry *mid, *parked;

	ms_evict_index_init(&ix);
	add(&ix, 0, "a", 1);
	mid = add(&ix, 0, "b", 2);
	add(&ix, 0, "c", 3);
	parked = add(&ix, 0, "d", 0);
	ms_evict_index_park(&ix, parked);
	ms_evict_index_remove(&ix, mid);
	ms_evict_index_remove(&ix, parked);
	cr_expect_eq(ix.n, 2);
	cr_expect_null(ms_evict_index_find(&ix, 0, "b"));
	cr_expect_null(ms_evict_index_find(&ix, 0, "d"));
	cr_expect_eq(ms_evict_index_unpark(&ix, 1, 10), 0, "a removed entry stays parked");
	cr_expect_eq(take_oldest(&ix, 1), 1);
	cr_expect_eq(take_oldest(&ix, 1), 3);
	ms_evict_index_fini(&ix);
}

Test(evict_index, parked_entries_are_not_picked_until_unparked_longest_parked_first)
{
	struct ms_evict_index ix;
	struct ms_evict_entry *e[4];
	char key[8];

	ms_evict_index_init(&ix);
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof key, "k%d", i);
		e[i] = add(&ix, 0, key, i);
	}
	ms_evict_index_park(&ix, e[2]);
	ms_evict_index_park(&ix, e[0]);
	ms_evict_index_park(&ix, e[0]); /* parking twice changes nothing */
	cr_expect_eq(ms_evict_index_count(&ix, 1), 2);
	cr_expect_eq(ms_evict_index_oldest(&ix, 1), e[1]);
	cr_expect_eq(e[0]->slot, MS_EVICT_PARKED);
	/* A parked entry may still be accessed: it keeps its new place once back. */
	ms_evict_index_touch(&ix, e[2], 100);
	cr_expect_eq(ms_evict_index_unpark(&ix, 1, 1), 1);
	cr_expect_eq(ms_evict_index_count(&ix, 1), 3);
	cr_expect_neq(e[2]->slot, MS_EVICT_PARKED, "parked first, back first");
	cr_expect_eq(e[0]->slot, MS_EVICT_PARKED);
	cr_expect_eq(ms_evict_index_unpark(&ix, 1, 10), 1);
	cr_expect_eq(take_oldest(&ix, 1), 0);
	cr_expect_eq(take_oldest(&ix, 1), 1);
	cr_expect_eq(take_oldest(&ix, 1), 3);
	cr_expect_eq(take_oldest(&ix, 1), 100);
	ms_evict_index_fini(&ix);
}

Test(evict_index, unpark_after_the_heap_filled_up_again)
{
	struct ms_evict_index ix;
	struct ms_evict_entry *e;
	char key[16];
	int i;

	ms_evict_index_init(&ix);
	/* Parks one, then adds more than the heap's first allocation: the parked one needs room back. */
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof key, "k%03d", i);
		e = add(&ix, 0, key, 1000 - i);
		if (i == 0)
			ms_evict_index_park(&ix, e);
	}
	cr_expect_eq(ms_evict_index_count(&ix, 1), 199);
	cr_expect_eq(ms_evict_index_unpark(&ix, 1, 5), 1);
	cr_expect_eq(ms_evict_index_count(&ix, 1), 200);
	for (i = 199; i >= 0; i--)
		cr_expect_eq(take_oldest(&ix, 1), 1000 - i);
	cr_expect_null(ms_evict_index_find(&ix, 0, "k000"));
	ms_evict_index_fini(&ix);
}

Test(evict_index, scopes_are_sets_of_mounts)
{
	struct ms_evict_index ix;
	uint64_t alpha = MS_EVICT_MOUNT_BIT(0) | MS_EVICT_MOUNT_BIT(2), beta = MS_EVICT_MOUNT_BIT(1);
	struct ms_evict_entry *e;

	ms_evict_index_init(&ix);
	add(&ix, 0, "a0", 30);
	add(&ix, 2, "a2", 10);
	add(&ix, 1, "b1", 5);
	add(&ix, 63, "last", 1);
	cr_expect_eq(ms_evict_index_count(&ix, alpha), 2);
	cr_expect_eq(ms_evict_index_count(&ix, beta), 1);
	cr_expect_eq(ms_evict_index_count(&ix, UINT64_MAX), 4);
	cr_expect_eq(ms_evict_index_oldest(&ix, alpha)->atime, 10);
	cr_expect_eq(ms_evict_index_oldest(&ix, UINT64_MAX)->mount, 63);
	cr_expect_null(ms_evict_index_oldest(&ix, 0));
	/* nth walks the scope's mounts: each pickable entry once, no other mount's. */
	for (size_t i = 0; i < 2; i++) {
		e = ms_evict_index_nth(&ix, alpha, i);
		cr_assert_not_null(e);
		cr_expect(e->mount == 0 || e->mount == 2);
	}
	cr_expect_neq(ms_evict_index_nth(&ix, alpha, 0), ms_evict_index_nth(&ix, alpha, 1));
	cr_expect_null(ms_evict_index_nth(&ix, alpha, 2));
	/* Unparking one scope leaves the other's parked. */
	ms_evict_index_park(&ix, ms_evict_index_find(&ix, 0, "a0"));
	ms_evict_index_park(&ix, ms_evict_index_find(&ix, 1, "b1"));
	cr_expect_eq(ms_evict_index_unpark(&ix, beta, 10), 1);
	cr_expect_eq(ms_evict_index_count(&ix, alpha), 1);
	cr_expect_eq(ms_evict_index_count(&ix, beta), 1);
	ms_evict_index_fini(&ix);
}

/* xorshift, seeded: deterministic across runs. */
static uint32_t
next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

Test(evict_index, many_objects_come_out_oldest_first)
{
	enum { N = 100000 };
	struct ms_evict_index ix;
	struct ms_evict_entry *e, last = { 0 };
	uint32_t seed = 2026;
	size_t i, k, parked, n = 0;
	char key[32];

	ms_evict_index_init(&ix);
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof key, "dir%zu/obj%zu.bin", i % 97, i);
		cr_assert_eq(ms_evict_index_add(&ix, (unsigned)(i % 3), key, i, 4096,
		    (int64_t)(next_rand(&seed) % 5000), NULL), 0);
	}
	/* Touch, remove and park some at random, then take everything in policy order. */
	for (i = 0; i < N / 10; i++) {
		k = next_rand(&seed) % N;

		snprintf(key, sizeof key, "dir%zu/obj%zu.bin", k % 97, k);
		e = ms_evict_index_find(&ix, (unsigned)(k % 3), key);
		if (e == NULL)
			continue;
		switch (next_rand(&seed) % 3) {
		case 0:
			ms_evict_index_touch(&ix, e, (int64_t)(next_rand(&seed) % 5000));
			break;
		case 1:
			ms_evict_index_remove(&ix, e);
			break;
		default:
			ms_evict_index_park(&ix, e);
			break;
		}
	}
	parked = ix.n - ms_evict_index_count(&ix, UINT64_MAX);
	cr_assert_gt(parked, 0);
	cr_assert_eq(ms_evict_index_unpark(&ix, UINT64_MAX, N), parked);
	cr_assert_eq(ms_evict_index_count(&ix, UINT64_MAX), ix.n);
	while ((e = ms_evict_index_oldest(&ix, UINT64_MAX)) != NULL) {
		if (n > 0)
			cr_assert(!ms_evict_entry_older(e, &last), "out of order after %zu picks", n);
		last.atime = e->atime; /* E is freed below: what the order needs */
		last.seq = e->seq;
		ms_evict_index_remove(&ix, e);
		n++;
	}
	cr_expect_eq(ix.n, 0);
	cr_expect_gt(n, N - N / 10);
	ms_evict_index_fini(&ix);
}
