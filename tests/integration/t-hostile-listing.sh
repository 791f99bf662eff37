#!/usr/bin/env bash
# t-hostile-listing: a listing is untrusted input (invariant 8). The front adds hostile keys to the
# store's real ListObjectsV2 answer, URL-encoded as AWS sends them: '..', '.', empty and absolute
# components, NUL and control bytes, a 4 KiB key, a 300-byte name, a key that is both a file and a
# directory prefix. Each is rejected (or, for the conflict, the directory wins), reported with its
# bytes escaped, and nothing is written outside the cache dir; the real objects, odd characters
# included, import and read right.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
ms_random "$T/src/good.bin" 100000
ms_random "$T/src/odd name+%&.bin" 5000
ms_random "$T/src/sub/inner.bin" 3000
ms_put "$T/src"
ms_write_config "$T/ms.ini"

long=$(printf 'k%.0s' $(seq 1 4096))
longname=$(printf 'n%.0s' $(seq 1 300))
extra=$(python3 -c '
import json, sys
print(json.dumps(["../escape1.bin", "a/../../escape2.bin", "./dot.bin", "d/./x.bin", "d/../x.bin",
    "a//b.bin", "/abs.bin", "nul\u0000/../../escape3.bin", "ctl\u0001.bin", "del\u007f.bin",
    "tab\tname.bin", "nl\nname.bin", sys.argv[1], sys.argv[2] + "/x.bin", "good.bin/inner",
    "folder/", "..", "."]))' "$long" "$longname")
ms_front_config "{\"list_extra\": $extra}"

"$MS_BIN" import --config "$MS_CONFIG" >"$T/import.out" 2>"$T/import.err" ||
	ms_fail "import failed on a hostile listing: $(cat "$T/import.err")"
cat "$T/import.out" "$T/import.err"
# 16 rejected by their key; good.bin loses to the directory good.bin/ (which is in the namespace).
# Each check reports on its own (ms_bad), so a key that slips through shows where it landed too.
grep -Eq "\b17 rejected" "$T/import.out" "$T/import.err" || ms_bad "not 17 rejected: $(grep -Eo '[0-9]+ rejected' "$T/import.out" "$T/import.err")"
for why in "'..' component" "starts with '/'" "empty path component" "NUL or control" "over 1024 bytes" "over 255" "both an object and a directory"; do
	grep -qi -- "$why" "$T/import.err" || ms_bad "no rejection saying $why"
done
grep -q 'nul\\x00/\.\./\.\./escape3\.bin' "$T/import.err" || ms_bad "the NUL key is not reported escaped"
grep -q 'ctl\\x01\.bin' "$T/import.err" || ms_bad "the control byte is not reported escaped"
ms_ok "hostile keys rejected and reported: $(grep -c . "$T/import.err") lines"

# Nothing outside the cache dir, and inside it only what the listing may name.
# An escaped key lands relative to the tree dir, 5 levels below $T, or at / (an absolute key):
# all of $T is searched, and / two levels deep.
for f in escape1.bin escape2.bin escape3.bin abs.bin dot.bin; do
	[[ -z $(find "$T" -name "$f" 2>/dev/null | head -n1) ]] || ms_bad "$f was written under $T: $(find "$T" -name "$f" | head -n1)"
	[[ -z $(find / -xdev -maxdepth 2 -name "$f" 2>/dev/null | head -n1) ]] || ms_bad "$f was written near /"
done
tree=$MS_TREE
got=$(cd "$tree" && find . -type f | sort | tr '\n' ' ')
want="./good.bin/inner ./odd name+%&.bin ./sub/inner.bin "
[[ $got == "$want" ]] || ms_bad "tree holds [$got], want [$want]"
ms_done
ms_ok "nothing written outside the cache dir; the tree holds exactly: $got"

# The real objects with odd characters read right, their keys decoded from the URL encoding.
"$MS_BIN" cat --config "$MS_CONFIG" "/models/odd name+%&.bin" | cmp -s - "$T/src/odd name+%&.bin" ||
	ms_fail "odd name+%&.bin read wrong"
"$MS_BIN" cat --config "$MS_CONFIG" /models/sub/inner.bin | cmp -s - "$T/src/sub/inner.bin" ||
	ms_fail "sub/inner.bin read wrong"
ms_ok "real objects read right (odd characters through encoding-type=url)"

# The listing heals: a re-import without the hostile keys keeps the good ones, restores good.bin.
ms_front_config '{"list_extra": []}'
"$MS_BIN" import -q --config "$MS_CONFIG" 2>"$T/import2.err" || ms_fail "re-import failed: $(cat "$T/import2.err")"
[[ ! -s $T/import2.err ]] || ms_fail "re-import complained: $(cat "$T/import2.err")"
"$MS_BIN" cat --config "$MS_CONFIG" /models/good.bin | cmp -s - "$T/src/good.bin" || ms_fail "good.bin read wrong"
ms_ok "re-import of a clean listing: good.bin back and right"
