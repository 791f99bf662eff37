#!/usr/bin/env bash
# t-tenant-quota: a [tenant "NAME"] size caps that tenant's share of the cache: a tenant reading
# past its quota evicts its own cold objects, never another tenant's, and every byte read is right.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src/a" "$T/src/b"
for i in 1 2 3 4; do head -c $((2 * 1048576)) /dev/urandom >"$T/src/a/a$i.bin"; done
for i in 1 2; do head -c $((2 * 1048576)) /dev/urandom >"$T/src/b/b$i.bin"; done
ms_put "$T/src"
ms_write_two_tenants "$T/ms.ini" "" '[tenant "alpha"]\nsize = 5M\n'
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
mount_cached() { "$MS_BIN" status --config "$T/ms.ini" --json | python3 -c '
import json, sys
print(next(m["cached_bytes"] for m in json.load(sys.stdin)["mounts"] if m["name"] == sys.argv[1]))' "$1"; }

for i in 1 2; do "$MS_BIN" cat --config "$T/ms.ini" "/tb/b$i.bin" | cmp - "$T/src/b/b$i.bin" || ms_fail "b$i wrong"; done
for i in 1 2 3 4; do
	"$MS_BIN" cat --config "$T/ms.ini" "/ta/a$i.bin" | cmp - "$T/src/a/a$i.bin" || ms_fail "a$i wrong"
	(($(mount_cached a) <= 5 * 1048576)) || ms_fail "alpha holds $(mount_cached a) bytes, over its 5 MiB quota"
done
ms_ok "alpha read 8 MiB within its 5 MiB quota, every byte right ($(mount_cached a) bytes cached)"
[[ $(mount_cached b) -eq $((4 * 1048576)) ]] || ms_fail "beta lost data to alpha's quota: $(mount_cached b)"
ms_ok "beta's 4 MiB untouched"

# A bad tenant section names file, line and tenant.
sed 's/^\[tenant "alpha"\]/[tenant "gamma"]/' "$T/ms.ini" >"$T/bad.ini"
if "$MS_BIN" status --config "$T/bad.ini" 2>"$T/bad.err"; then ms_fail "a tenant no mount uses was accepted"; fi
grep -q 'bad.ini:6: \[tenant "gamma"\]' "$T/bad.err" || ms_fail "unclear error: $(cat "$T/bad.err")"
ms_ok "unknown tenant refused: $(cat "$T/bad.err")"

# status --json: per tenant quota and bytes, per mount what was fetched and how much of what the
# daemon was asked for was there already (hits on complete files never reach it: not counted).
"$MS_BIN" status --config "$T/ms.ini" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
t = {x["name"]: x for x in s["tenants"]}
m = {x["name"]: x for x in s["mounts"]}
assert t["alpha"]["quota"] == 5 << 20, t
assert t["beta"]["quota"] == 0 and t["beta"]["cached_bytes"] == 4 << 20, t
assert m["a"]["bytes_fetched"] >= 8 << 20, m["a"]
assert m["b"]["bytes_fetched"] == 4 << 20, m["b"]
for x in m.values():
    assert 0 <= x["chunks_from_cache"] <= x["chunks_requested"] and 0 <= x["hit_ratio"] <= 1, x
    assert x["requests"] > 0 and x["fills"] > 0 and x["errors"] == 0, x
assert s["daemon"]["evictions"] >= 1
' || ms_fail "status --json per tenant and mount is wrong: $("$MS_BIN" status --config "$T/ms.ini" --json)"
ms_ok "status --json reports quota, cache, fetches and hit ratio per tenant and mount"
