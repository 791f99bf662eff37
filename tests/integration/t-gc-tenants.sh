#!/usr/bin/env bash
# t-gc-tenants: `modelshim gc --before-start T --need SIZE` makes room for tenant T by evicting
# other tenants' data first, even when T's own data is colder; `--tenant T` evicts only T's.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src/a" "$T/src/b"
for i in 1 2 3; do head -c $((2 * 1048576)) /dev/urandom >"$T/src/a/a$i.bin"; done
for i in 1 2; do head -c $((2 * 1048576)) /dev/urandom >"$T/src/b/b$i.bin"; done
ms_put "$T/src"
ms_write_two_tenants "$T/ms.ini" "size = 8M"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"

mount_cached() { "$MS_BIN" status --config "$T/ms.ini" --json | python3 -c '
import json, sys
print(next(m["cached_bytes"] for m in json.load(sys.stdin)["mounts"] if m["name"] == sys.argv[1]))' "$1"; }

# atime_of TENANT MOUNT KEY: the last access the daemon recorded in KEY's map (int64 at offset
# 192 of the 208-byte header, core/map.h), in seconds; fails if the map is not there.
atime_of() { python3 - "$(ms_cache_path "$3" state "$2")" <<'PY' || ms_fail "no map for $1/$2/$3"
import struct, sys
print(struct.unpack_from("<q", open(sys.argv[1], "rb").read(208), 192)[0])
PY
}

# beta's b1 is the coldest object; then alpha fills the cache. Access times are whole seconds:
# alpha's reads start once the clock has passed the second b1's access was recorded in (seen in
# its map, bounded to 3 s), and the order is then read back from the maps, not assumed.
"$MS_BIN" cat --config "$T/ms.ini" /tb/b1.bin | cmp - "$T/src/b/b1.bin" || ms_fail "b1 wrong"
tb=$(atime_of beta b b1.bin)
((tb > 0)) || ms_fail "b1's map records no access after it was read"
for ((k = 0; k < 30; k++)); do
	(($(date +%s) > tb)) && break
	sleep 0.1
done
(($(date +%s) > tb)) || ms_fail "b1's recorded access ($tb) is still not in the past 3 s later (now $(date +%s))"
for i in 1 2; do "$MS_BIN" cat --config "$T/ms.ini" "/ta/a$i.bin" | cmp - "$T/src/a/a$i.bin" || ms_fail "a$i wrong"; done
ta1=$(atime_of alpha a a1.bin) ta2=$(atime_of alpha a a2.bin)
((tb < ta1 && tb < ta2)) || ms_fail "b1 is not the coldest: accesses b1 $tb, a1 $ta1, a2 $ta2"
[[ $(mount_cached a) -eq $((4 * 1048576)) && $(mount_cached b) -eq $((2 * 1048576)) ]] ||
	ms_fail "unexpected cache: alpha $(mount_cached a), beta $(mount_cached b)"

"$MS_BIN" gc --config "$T/ms.ini" --before-start beta --need 4M >"$T/gc.out" || ms_fail "gc failed: $(cat "$T/gc.out")"
[[ $(mount_cached b) -eq $((2 * 1048576)) ]] || ms_fail "beta's own (colder) data was evicted first: $(cat "$T/gc.out")"
(($(mount_cached a) < 4 * 1048576)) || ms_fail "alpha's data was not evicted: $(cat "$T/gc.out")"
ms_ok "before-start beta: alpha's data went, beta's colder data stayed ($(cat "$T/gc.out"))"

"$MS_BIN" gc --config "$T/ms.ini" --tenant beta --target 0 >"$T/gc2.out" || ms_fail "gc --tenant failed"
[[ $(mount_cached b) -eq 0 ]] || ms_fail "gc --tenant beta left beta's data"
ms_ok "gc --tenant beta: only beta's data evicted ($(cat "$T/gc2.out"))"
for i in 1 2 3; do "$MS_BIN" cat --config "$T/ms.ini" "/ta/a$i.bin" | cmp - "$T/src/a/a$i.bin" || ms_fail "a$i wrong after gc"; done
ms_ok "every object still reads right after the passes"
