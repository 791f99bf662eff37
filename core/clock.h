/*
 * clock.h: the one monotonic clock of daemon, CLI, shim and benchmarks. For intervals and
 * deadlines only: never a wall-clock time, never compared across processes or boots.
 */
#ifndef MS_CLOCK_H
#define MS_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds and in whole milliseconds. */
uint64_t ms_now_ns(void);
uint64_t ms_now_ms(void);

#endif
