/*
 * plan.c: coalescing of absent chunks into GET-sized runs, the readahead window, and the backoff
 * before a retry. No I/O.
 */
#include <stdlib.h> /* arc4random_uniform, through libbsd's overlay */

#include "plan.h"

unsigned
ms_plan_runs(const uint8_t *state, uint32_t first, uint32_t end, uint32_t max_run,
    struct ms_run *runs, unsigned cap)
{
	unsigned n = 0;
	uint32_t i = first;

	if (max_run == 0)
		max_run = 1;
	while (i < end && n < cap) {
		uint32_t start;

		while (i < end && state[i] != MS_CHUNK_ABSENT)
			i++;
		if (i >= end)
			break;
		start = i;
		while (i < end && state[i] == MS_CHUNK_ABSENT && i - start < max_run)
			i++;
		runs[n].first = start;
		runs[n].end = i;
		n++;
	}
	return n;
}

uint32_t
ms_readahead_update(struct ms_readahead *ra, uint32_t first, uint32_t end, uint32_t initial,
    uint32_t max)
{
	if (ra->next > 0 && first >= ra->last && end <= ra->next)
		return 0; /* the same chunks again: still sequential, nothing new to read ahead */
	/*
	 * Forward from where the last read ended, or from inside its chunks on past them: reads
	 * that do not end on a chunk boundary (a tensor's pread) start in the chunk the last ended
	 * in, and are as sequential as the rest.
	 */
	if (first == ra->next || (ra->next > 0 && first >= ra->last && first < ra->next &&
	    end > ra->next)) {
		uint32_t w = ra->window == 0 ? initial : ra->window * 2;
		ra->window = w > max ? max : w;
	} else {
		ra->window = 0;
	}
	ra->last = first;
	ra->next = end;
	return ra->window;
}

bool
ms_readahead_due(const uint8_t *state, uint32_t end, uint32_t stop, uint32_t window)
{
	uint32_t i = end;

	while (i < stop && state[i] != MS_CHUNK_ABSENT)
		i++;
	return i < stop && i - end <= window / 2;
}

unsigned
ms_backoff_ms(unsigned attempt)
{
	unsigned cap = 10000;

	if (attempt == 0)
		attempt = 1;
	if (attempt <= 7) /* 100 << 7 = 12800 is past the cap already */
		cap = 100u << (attempt - 1);
	if (cap > 10000)
		cap = 10000;
	return arc4random_uniform(cap + 1);
}
