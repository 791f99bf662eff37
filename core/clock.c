/*
 * clock.c: CLOCK_MONOTONIC read in one place. Never fails (the clock exists on every Linux
 * modelshim runs on), never logs.
 */
#include <time.h>

#include "clock.h"

uint64_t
ms_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
ms_now_ms(void)
{
	return ms_now_ns() / 1000000;
}
