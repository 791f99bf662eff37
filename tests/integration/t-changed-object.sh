#!/usr/bin/env bash
# t-changed-object: an object that changed in the store after import (new ETag) is never served
# as a mix of versions (invariant 7): fills are conditional (If-Match) and fail with a message
# that says to re-import; after import the new bytes are served.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/v1" "$T/v2"
head -c 3000000 /dev/urandom >"$T/v1/w.bin"
head -c 3000000 /dev/urandom >"$T/v2/w.bin"
ms_put "$T/v1"
ms_write_config "$T/ms.ini"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
ms_daemon_start
ms_put "$T/v2"

if "$MS_BIN" cat --config "$T/ms.ini" /models/w.bin >"$T/out" 2>"$T/err"; then
	ms_fail "a changed object was served"
fi
[[ ! -s $T/out ]] || ms_fail "bytes of a changed object reached the reader"
grep -q "changed in the store" "$T/err" || ms_fail "unclear message: $(cat "$T/err")"
grep -q "modelshim import" "$T/err" || ms_fail "message does not say to re-import: $(cat "$T/err")"
ms_ok "changed object refused: $(head -c 200 "$T/err")"
# The 412 is final: no retry storm.
(($(ms_key_stat w.bin count) <= 2)) || ms_fail "a 412 was retried $(ms_key_stat w.bin count) times"

"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "re-import failed"
"$MS_BIN" cat --config "$T/ms.ini" /models/w.bin | cmp - "$T/v2/w.bin" || ms_fail "new bytes not served"
ms_ok "after re-import the new version is served"
