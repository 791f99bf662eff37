#!/usr/bin/env bash
# bench/lookup-miss.sh [BUILD_DIR]: the cost of a stat of a virtual name missing from the
# namespace ([cache] lookup = on), on the loopback S3 pair: a first miss (the daemon's HEAD to the
# store), the same name again in one process (the shim remembers it), a missing local path for
# comparison, and names the daemon remembers asked by a new process. Prints one line each.
# Uses tests/lib.sh for the S3 pair, config and daemon (all under a temp dir, stopped by PID).
set -euo pipefail
build=$(cd "${1:-$(dirname "$0")/../build}" && pwd)
export MS_BIN=$build/modelshim MS_PRELOAD=$build/libmodelshim.so
export MS_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$MS_TOP/tests/lib.sh"
ms_start_s3
ms_random "$T/src/base.bin" 3000
ms_import_src "lookup_ttl = 60s"
ms_daemon_start
ms_shim python3 -c '
import os, time
def per_call_us(f, n):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        f()
    return (time.perf_counter_ns() - t0) / n / 1000
def miss(name):
    try:
        os.stat(name)
    except FileNotFoundError:
        pass
first = sorted(per_call_us(lambda i=i: miss(f"/models/absent-{i}.bin"), 1) for i in range(200))
again = per_call_us(lambda: miss("/models/absent-0.bin"), 10000)
local = per_call_us(lambda: miss("/tmp/absent-local.bin"), 10000)
print(f"first miss (one HEAD to the store): p50 {first[100]:.0f} us, p99 {first[198]:.0f} us")
print(f"the same name again in this process: {again:.2f} us (a missing local path: {local:.2f} us)")'
ms_shim python3 -c '
import os, time
t0 = time.perf_counter_ns()
for i in range(200):
    try:
        os.stat(f"/models/absent-{i}.bin")
    except FileNotFoundError:
        pass
print(f"a new process, names the daemon remembers as missing: {(time.perf_counter_ns() - t0) / 200 / 1000:.0f} us per name")'
