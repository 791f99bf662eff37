/*
 * start.h: how bench/evict's programs (gen.c, probe.c) begin: their arguments counted and the
 * modelshim config they name first loaded. Benchmark helpers only; prints its errors itself.
 */
#ifndef BENCH_EVICT_START_H
#define BENCH_EVICT_START_H

#include <stdio.h>

#include "config.h"

/*
 * PROG's call with ARGC - 1 == WANT arguments (USAGE says which), the first one CONFIG, loaded
 * into CFG: 0, else the exit status (2: a bad call, 1: a bad config), said on stderr.
 */
static inline int
bench_start(int argc, char **argv, int want, const char *prog, const char *usage,
    struct ms_config *cfg)
{
	char err[512];

	if (argc != want + 1) {
		fprintf(stderr, "usage: %s %s\n", prog, usage);
		return 2;
	}
	if (ms_config_load(cfg, argv[1], err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	return 0;
}

#endif
