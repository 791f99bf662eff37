/*
 * crash.h: named crash points for the crash tests (crash.c). A point is a step after which the
 * state on disk must stay recoverable: eviction (evict.*), import (import.*), a chunk's fill
 * (fill.submitted, fill.written, fill.marked).
 */
#ifndef MS_CRASH_H
#define MS_CRASH_H

/* Arms MODELSHIM_CRASH_AT=NAME:N from the environment (the modelshim binary's main() alone). */
void ms_crash_init(void);
/* SIGKILLs this process at the Nth pass of the armed point NAME; otherwise nothing. */
void ms_crash_point(const char *name);

#endif
