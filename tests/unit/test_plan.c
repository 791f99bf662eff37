/* test_plan.c: coalescing absent chunks into GET runs, and the sequential readahead window. */
#include <criterion/criterion.h>

#include "plan.h"

#define A MS_CHUNK_ABSENT
#define F MS_CHUNK_INFLIGHT
#define P MS_CHUNK_PRESENT

/* Plans [FIRST, END) of ST with MAX_RUN and room for CAP runs: exactly the runs WANT[0..N). */
static void
expect_runs(const uint8_t *st, uint32_t first, uint32_t end, uint32_t max_run, unsigned cap,
    const struct ms_run *want, unsigned n)
{
	struct ms_run r[16];

	cr_assert_leq(cap, 16);
	cr_assert_eq(ms_plan_runs(st, first, end, max_run, r, cap), n);
	for (unsigned i = 0; i < n; i++)
		cr_expect(r[i].first == want[i].first && r[i].end == want[i].end,
		    "run %u is [%u, %u), want [%u, %u)", i, r[i].first, r[i].end, want[i].first,
		    want[i].end);
}

Test(plan, all_absent_split_by_max_run)
{
	uint8_t st[10] = { A, A, A, A, A, A, A, A, A, A };

	expect_runs(st, 0, 10, 4, 8, (struct ms_run[]){ { 0, 4 }, { 4, 8 }, { 8, 10 } }, 3);
}

Test(plan, skips_present_and_inflight)
{
	uint8_t st[10] = { P, A, A, F, A, P, P, A, A, A };

	expect_runs(st, 0, 10, 16, 8, (struct ms_run[]){ { 1, 3 }, { 4, 5 }, { 7, 10 } }, 3);
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

	expect_runs(st, 0, 8, 16, 2, (struct ms_run[]){ { 0, 1 }, { 2, 3 } }, 2);
}

Test(plan, zero_max_run_means_one)
{
	uint8_t st[3] = { A, A, A };
	struct ms_run r[4];

	cr_expect_eq(ms_plan_runs(st, 0, 3, 0, r, 4), 3);
}

Test(readahead, doubles_on_sequential_and_resets_on_seek)
{
	struct ms_readahead ra = { 0, 0, 0 };

	cr_expect_eq(ms_readahead_update(&ra, 0, 1, 2, 16), 2);
	cr_expect_eq(ms_readahead_update(&ra, 1, 2, 2, 16), 4);
	cr_expect_eq(ms_readahead_update(&ra, 2, 3, 2, 16), 8);
	cr_expect_eq(ms_readahead_update(&ra, 3, 4, 2, 16), 16);
	cr_expect_eq(ms_readahead_update(&ra, 4, 5, 2, 16), 16);
	cr_expect_eq(ms_readahead_update(&ra, 40, 41, 2, 16), 0);
	cr_expect_eq(ms_readahead_update(&ra, 41, 43, 2, 16), 2);
	cr_expect_eq(ra.next, 43);
}

Test(readahead, the_same_chunks_asked_again_keep_the_window)
{
	struct ms_readahead ra = { 0, 0, 0 };

	cr_expect_eq(ms_readahead_update(&ra, 0, 1, 2, 16), 2);
	/* Answered from chunk 0's first bytes, the reader asks for the rest of it: no reset. */
	cr_expect_eq(ms_readahead_update(&ra, 0, 1, 2, 16), 0);
	cr_expect_eq(ms_readahead_update(&ra, 0, 1, 2, 16), 0);
	cr_expect_eq(ms_readahead_update(&ra, 1, 2, 2, 16), 4, "the window was lost");
	cr_expect_eq(ms_readahead_update(&ra, 1, 2, 2, 16), 0);
	cr_expect_eq(ms_readahead_update(&ra, 2, 3, 2, 16), 8);
	cr_expect_eq(ms_readahead_update(&ra, 0, 1, 2, 16), 0, "a jump back is no sequential read");
	cr_expect_eq(ms_readahead_update(&ra, 1, 2, 2, 16), 2);
}

Test(readahead, reads_that_end_inside_a_chunk_are_sequential_too)
{
	struct ms_readahead ra = { 0, 0, 0 };

	/* Tensors read whole, in file order, none ending on a chunk boundary. */
	cr_expect_eq(ms_readahead_update(&ra, 0, 2, 2, 16), 2);
	cr_expect_eq(ms_readahead_update(&ra, 1, 3, 2, 16), 4, "the window was lost");
	cr_expect_eq(ms_readahead_update(&ra, 2, 5, 2, 16), 8);
	cr_expect_eq(ms_readahead_update(&ra, 4, 6, 2, 16), 16);
	cr_expect_eq(ms_readahead_update(&ra, 5, 8, 2, 16), 16, "from inside the last read, on");
	cr_expect_eq(ms_readahead_update(&ra, 4, 9, 2, 16), 0, "from before the last read's start");
}

Test(readahead, a_sliding_window_is_topped_up_in_batches)
{
	/* Window of 8 after chunk 2, chunks 3..10: a top-up only once at most half is on its way. */
	uint8_t st[12] = { P, P, P, F, F, F, F, F, A, A, A, A };

	cr_expect_not(ms_readahead_due(st, 3, 11, 8), "5 of 8 on their way: nothing asked yet");
	st[7] = A;
	cr_expect(ms_readahead_due(st, 3, 11, 8), "4 of 8 on their way: the rest is asked at once");
	cr_expect(ms_readahead_due(st, 7, 8, 1), "a window of 1 with nothing on its way");
	st[3] = P;
	st[4] = F;
	st[5] = P;
	st[6] = F;
	st[7] = F;
	st[8] = P;
	st[9] = P;
	st[10] = F;
	cr_expect_not(ms_readahead_due(st, 3, 11, 8), "nothing absent in the window");
	cr_expect_not(ms_readahead_due(st, 3, 12, 9), "8 of 9 on their way, the last absent");
	cr_expect_not(ms_readahead_due(st, 11, 11, 8), "an empty window");
}
