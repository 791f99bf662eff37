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

# beta's b1 is the coldest object; then alpha fills the cache.
"$MS_BIN" cat --config "$T/ms.ini" /tb/b1.bin | cmp - "$T/src/b/b1.bin" || ms_fail "b1 wrong"
sleep 1.1
for i in 1 2; do "$MS_BIN" cat --config "$T/ms.ini" "/ta/a$i.bin" | cmp - "$T/src/a/a$i.bin" || ms_fail "a$i wrong"; done
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
