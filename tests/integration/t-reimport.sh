#!/usr/bin/env bash
# t-reimport: re-running import syncs the namespace: a changed object gets its new bytes, a
# deleted one disappears, an added one appears, unchanged ones keep their cached bytes; a key
# that is both a file and a directory prefix is rejected and reported, folder markers skipped.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src/lora"
for n in a b c; do head -c 300000 /dev/urandom >"$T/src/lora/$n.bin"; done
ms_import_src
ms_daemon_start
for n in a b c; do
	"$MS_BIN" cat --config "$T/ms.ini" "/models/lora/$n.bin" | cmp - "$T/src/lora/$n.bin" ||
		ms_fail "first read of $n differs"
done
ms_ok "first import and reads"

# Change b, delete c, add d.
head -c 400000 /dev/urandom >"$T/src/lora/b.bin"
ms_put "$T/src"
ms_delete lora/c.bin
rm "$T/src/lora/c.bin"
mkdir -p "$T/add/lora"
head -c 1000 /dev/urandom >"$T/add/lora/d.bin"
ms_put "$T/add"
cp "$T/add/lora/d.bin" "$T/src/lora/d.bin"

old_size=300000

"$MS_BIN" import --config "$T/ms.ini" >"$T/import.out" || ms_fail "re-import failed"
grep -q "1 added, 1 changed, 1 unchanged, 1 deleted" "$T/import.out" ||
	ms_fail "re-import reported: $(cat "$T/import.out")"
ms_ok "re-import: $(cat "$T/import.out")"

ms_front_reset
"$MS_BIN" cat --config "$T/ms.ini" /models/lora/a.bin | cmp - "$T/src/lora/a.bin" || ms_fail "a changed"
[[ $(ms_key_stat lora/a.bin count) -eq 0 ]] || ms_fail "unchanged a.bin was fetched again"
ms_ok "unchanged object kept its cached bytes"
"$MS_BIN" cat --config "$T/ms.ini" /models/lora/b.bin | cmp - "$T/src/lora/b.bin" || ms_fail "b has old bytes"
[[ $(stat -c %s "$(ms_cache_path lora/b.bin)") -ne $old_size ]] || ms_fail "b kept its old size"
ms_ok "changed object serves its new bytes"
"$MS_BIN" cat --config "$T/ms.ini" /models/lora/d.bin | cmp - "$T/src/lora/d.bin" || ms_fail "d wrong"
ms_ok "added object reads"
if "$MS_BIN" cat --config "$T/ms.ini" /models/lora/c.bin >/dev/null 2>&1; then ms_fail "deleted c still reads"; fi
[[ ! -e $(ms_cache_path lora/c.bin) ]] || ms_fail "c still in the tree"
[[ ! -e $(ms_cache_path lora/c.bin state) ]] || ms_fail "c's map still there"
ms_ok "deleted object is gone"

# "x" is both an object and a directory prefix ("x/y"); "dir/" is a folder marker.
mkdir -p "$T/conf/x"
echo file >"$T/conf/x/y"
ms_put "$T/conf"
mkdir -p "$T/one"
printf 'plain' >"$T/one/x"
ms_put "$T/one"
"$MS_BIN" import --config "$T/ms.ini" >"$T/import2.out" 2>"$T/import2.err" || ms_fail "import with a conflict failed"
if grep -q "rejected key \"x\"" "$T/import2.err"; then
	grep -q "directory prefix" "$T/import2.err" || ms_fail "conflict reported without a reason"
	[[ -f $(ms_cache_path x/y) ]] || ms_fail "x/y missing after conflict"
	"$MS_BIN" cat --config "$T/ms.ini" /models/x/y | grep -q file || ms_fail "x/y unreadable"
	ms_ok "file/directory conflict rejected and reported, the directory kept"
else
	ms_fail "the x vs x/y conflict was not reported: $(cat "$T/import2.err")"
fi
[[ $(ms_stat rejected) -eq 0 ]] || ms_fail "the SigV4 front rejected requests"
