/*
 * gc_lock.h: the cluster-wide lock around `modelshim gc` (gc_lock.c).
 */
#ifndef MS_GC_LOCK_H
#define MS_GC_LOCK_H

#include <stdint.h>

#include "config.h"

/*
 * With [gc] lock = etcd (and not inside the lock already): checks that etcd answers, then runs
 * `modelshim gc --config FILE ARGV[1..]` again under `etcdctl lock` and does not return. Returns
 * 0 when the caller goes on as it is (no lock configured, or this is the locked run), -1 after
 * printing why the lock cannot be taken (gc is then not run).
 */
int gc_lock_take(const struct ms_config *cfg, int argc, char **argv);

/*
 * For tests only (as MODELSHIM_CRASH_AT): with MODELSHIM_GC_HOLD_MS=N a pass keeps its locks N ms
 * longer; with MODELSHIM_GC_TRACE=FILE it appends "START_NS END_NS PID" (CLOCK_MONOTONIC, from
 * START_NS, taken once the locks were held) to FILE. Unset, nothing happens.
 */
void gc_lock_test_hooks(uint64_t start_ns);

#endif
