/*
 * plan.h: turns a chunk range into GET requests: runs of chunks that are absent (neither present
 * nor being fetched), each at most MAX_RUN chunks long, the sequential-readahead window, and
 * the delay before a retry. Pure functions over arrays; the daemon owns the state they read.
 */
#ifndef MS_PLAN_H
#define MS_PLAN_H

#include <stdbool.h>
#include <stdint.h>

enum ms_chunk_state { MS_CHUNK_ABSENT = 0, MS_CHUNK_INFLIGHT = 1, MS_CHUNK_PRESENT = 2 };

struct ms_run {
	uint32_t first, end; /* chunks [first, end) */
};

/*
 * Fills RUNS (capacity CAP) with the absent runs in [first, end) of STATE, each at most MAX_RUN
 * long (MAX_RUN >= 1). Returns how many were written; stops early when RUNS is full.
 */
unsigned ms_plan_runs(const uint8_t *state, uint32_t first, uint32_t end, uint32_t max_run,
    struct ms_run *runs, unsigned cap);

/* Sequential readahead of one object: a window that doubles while reads follow each other. */
struct ms_readahead {
	uint32_t next;   /* chunk the next sequential read would start at */
	uint32_t window; /* current window in chunks, 0 = not sequential */
	uint32_t last;   /* first chunk of the last read */
};

/*
 * Records a demand read of chunks [first, end) and returns the window to prefetch after END
 * (0 for none): INITIAL chunks when the read starts where the last ended (or at chunk 0 of a
 * fresh object), doubling on each further sequential read up to MAX; a read from inside the
 * last read's chunks on past their end is sequential too (reads that end mid-chunk). A read
 * within the last read's chunks (a reader answered from a chunk's first bytes asks again for
 * the next ones) changes nothing and returns 0.
 */
uint32_t ms_readahead_update(struct ms_readahead *ra, uint32_t first, uint32_t end,
    uint32_t initial, uint32_t max);

/*
 * Whether the readahead of a window of WINDOW chunks after END (up to STOP) is due: true when
 * the chunks right after END that are present or being fetched cover at most half the window.
 * Topped up only then, the window is asked for in batches (GETs as long as the planner makes
 * them) instead of one chunk per read as it slides.
 */
bool ms_readahead_due(const uint8_t *state, uint32_t end, uint32_t stop, uint32_t window);

/* Delay before attempt ATTEMPT (1-based): exponential from 100 ms, capped at 10 s, full jitter. */
unsigned ms_backoff_ms(unsigned attempt);

#endif
