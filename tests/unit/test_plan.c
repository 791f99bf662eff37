/* test_plan.c: coalescing absent chunks into GET runs, and the sequential readahead window. */
#include <criterion/criterion.h>

#include "plan.h"

#define A MS_CHUNK_ABSENT
#define F MS_CHUNK_INFLIGHT
#define P MS_CHUNK_PRESENT

Test(plan, all_absent_split_by_max_run)
{
	uint8_t st[10] = { A, A, A, A, A, A, A, A, A, A };
	struct ms_run r[8];
	unsigned n = ms_plan_runs(st, 0, 10, 4, r, 8);

	cr_assert_eq(n, 3);
	cr_expect(r[0].first == 0 && r[0].end == 4);
	cr_expect(r[1].first == 4 && r[1].end == 8);
	cr_expect(r[2].first == 8 && r[2].end == 10);
}

Test(plan, skips_present_and_inflight)
{
	uint8_t st[10] = { P, A, A, F, A, P, P, A, A, A };
	struct ms_run r[8];
	unsigned n = ms_plan_runs(st, 0, 10, 16, r, 8);

	cr_assert_eq(n, 3);
	cr_expect(r[0].first == 1 && r[0].end == 3);
	cr_expect(r[1].first == 4 && r[1].end == 5);
	cr_expect(r[2].first == 7 && r[2].end == 10);
}

Test(plan, sub_range_and_nothing_to_do)
{
	uint8_t st[6] = { A, A, A, A, A, A };
	uint8_t done[4] = { P, F, P, P };
	struct ms_run r[4];

	cr_assert_eq(ms_plan_runs(st, 2, 4, 16, r, 4), 1);
	cr_expect(r[0].first == 2 && r[0].end == 4);
	cr_expect_eq(ms_plan_runs(done, 0, 4, 16, r, 4), 0);
	cr_expect_eq(ms_plan_runs(st, 3, 3, 16, r, 4), 0);
}

Test(plan, capacity_limits_runs)
{
	uint8_t st[8] = { A, P, A, P, A, P, A, P };
	struct ms_run r[2];

	cr_expect_eq(ms_plan_runs(st, 0, 8, 16, r, 2), 2);
	cr_expect(r[1].first == 2 && r[1].end == 3);
}

Test(plan, zero_max_run_means_one)
{
	uint8_t st[3] = { A, A, A };
	struct ms_run r[4];

	cr_expect_eq(ms_plan_runs(st, 0, 3, 0, r, 4), 3);
}

Test(readahead, doubles_on_sequential_and_resets_on_seek)
{
	struct ms_readahead ra = { 0, 0 };

	cr_expect_eq(ms_readahead_update(&ra, 0, 1, 2, 16), 2);
	cr_expect_eq(ms_readahead_update(&ra, 1, 2, 2, 16), 4);
	cr_expect_eq(ms_readahead_update(&ra, 2, 3, 2, 16), 8);
	cr_expect_eq(ms_readahead_update(&ra, 3, 4, 2, 16), 16);
	cr_expect_eq(ms_readahead_update(&ra, 4, 5, 2, 16), 16);
	cr_expect_eq(ms_readahead_update(&ra, 40, 41, 2, 16), 0);
	cr_expect_eq(ms_readahead_update(&ra, 41, 43, 2, 16), 2);
	cr_expect_eq(ra.next, 43);
}
