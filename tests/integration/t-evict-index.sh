#!/usr/bin/env bash
# t-evict-index: the daemon picks victims from its index of cached objects, not from a scan, so
# what an import does behind its back must not fool it: objects changed in the store or deleted,
# re-imported while the daemon runs, are met by the next eviction pass, which forgets them with
# the bytes they were counted with (the daemon's cached bytes agree with the maps again), evicts
# only what still holds bytes, in lru order, and every object then reads its current bytes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src"
for i in 1 2 3 4 5 6; do head -c 1048576 /dev/urandom >"$T/src/o$i.bin"; done
ms_import_src "size = 64M" "min_free = 0"
ms_daemon_start

agree() { # agree WHEN BYTES: the daemon's cached bytes are the maps' (status reads them), BYTES
	local d m
	read -r d m <<<"$(ms_status_fields daemon.cached_bytes mount.cached_bytes)"
	((d == m)) || ms_fail "$1: the daemon counts $d cached bytes, the maps hold $m"
	((m == $2)) || ms_fail "$1: $m bytes cached, not $2"
}
for i in 1 2 3 4 5 6; do
	"$MS_BIN" cat --config "$T/ms.ini" "/models/o$i.bin" | cmp - "$T/src/o$i.bin" || ms_fail "o$i.bin read wrong"
done
agree "after reading 6 MiB" $((6 * 1048576))

# Behind the daemon's back: o1 and o2 change in the store, o3 is deleted, and an import syncs.
for i in 1 2; do head -c 1048576 /dev/urandom >"$T/src/o$i.bin"; done
ms_put "$T/src"
ms_delete o3.bin
rm "$T/src/o3.bin"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "re-import failed"
[[ $(ms_status_fields mount.cached_bytes) -eq $((3 * 1048576)) ]] || ms_fail "the re-import kept the bytes of changed or deleted objects"

# The oldest three are stale in the index: forgotten, then o4 (the coldest left) is evicted.
"$MS_BIN" gc --config "$T/ms.ini" --target 2M >"$T/gc.out" || ms_fail "gc failed: $(cat "$T/gc.out")"
grep -q "evicted 1 objects" "$T/gc.out" || ms_fail "gc evicted other than o4 alone: $(cat "$T/gc.out")"
agree "after gc --target 2M" $((2 * 1048576))
[[ $(ms_status_fields mount.complete) -eq 2 ]] || ms_fail "o5 and o6 are not both still complete"
ms_ok "a gc pass after a re-import forgot the changed and deleted objects and evicted o4 alone ($(cat "$T/gc.out"))"

for i in 1 2 4 5 6; do
	"$MS_BIN" cat --config "$T/ms.ini" "/models/o$i.bin" | cmp - "$T/src/o$i.bin" || ms_fail "o$i.bin read wrong after the re-import"
done
agree "after reading everything again" $((5 * 1048576))
ms_ok "every object reads its current bytes; the daemon's cached bytes are the maps'"
