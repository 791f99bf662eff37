#!/usr/bin/env bash
# t-import-faults: a listing that fails never half-applies an import. The front answers
# ListObjectsV2 in pages of 2 keys; with `retries = 3` and `timeout = 2s`: a 5xx burst shorter
# than the retries, a reset once and page 2 cut once are retried and the import gives the store's
# namespace; 5xx on every attempt, a stalled listing (no answer; headers and no body), a reset on
# every attempt and a page 2 cut on every attempt (connection closed early; half an XML document)
# fail the import with a clear error, in bounded time, and leave the previous namespace, its
# cache state and its cached bytes exactly as they were.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

timeout_s=2
retries=3
ms_start_s3
mkdir -p "$T/src"
for i in 1 2 3 4 5 6 7; do head -c $((1000 + i)) /dev/urandom >"$T/src/a$i.bin"; done
head -c $((2 * 1048576 + 1)) /dev/urandom >"$T/src/w.bin" # 3 chunks, read whole before the faults
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = $retries" "timeout = ${timeout_s}s"
ms_front_config '{"list_page": 2}'

# files: the namespace's files as "NAME SIZE" lines; want: the store's, from $T/src.
files() { (cd "$MS_TREE" && find . -type f -printf '%P %s\n' | LC_ALL=C sort); }
want() { (cd "$T/src" && find . -type f -printf '%P %s\n' | LC_ALL=C sort); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

l0=$(ms_stat listings)
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
[[ $(files) == "$(want)" ]] || ms_fail "first import: namespace differs from the store: $(diff <(files) <(want) | head -n 5)"
n=$(($(ms_stat listings) - l0))
((n == 4)) || ms_fail "first import: $n ListObjectsV2 requests, want 4 (8 keys in pages of 2)"
"$MS_BIN" cat --config "$MS_CONFIG" /models/w.bin | cmp -s - "$T/src/w.bin" || ms_fail "reading w.bin failed"
ms_ok "import of 8 objects in 4 listing pages; w.bin read whole (cached)"

# The store changes (a new key, a deleted one): an import that applied anything would show.
head -c 4321 /dev/urandom >"$T/src/a8.bin"
ms_put "$T/src"
ms_delete a1.bin
rm "$T/src/a1.bin"
ms_stop_daemon_any # nothing may touch the cache but the import
w0=$(ms_key_stat w.bin count)
fp0=$(ms_cache_fingerprint)
ms_tree_list >"$T/tree0"
files >"$T/files0"

# unchanged WHAT: the namespace, its state and every cached byte are as before the failed import.
unchanged() {
	if [[ $(ms_cache_fingerprint) == "$fp0" ]]; then
		ms_ok "$1: namespace, cache state and cached bytes unchanged"
	else
		ms_bad "$1: the cache changed: $(diff "$T/tree0" <(ms_tree_list) | head -n 6 | tr '\n' ' ')"
	fi
}

# fails WHAT GREP MIN_MS: the import fails, not before MIN_MS ms (each attempt waited out its
# timeout: load only lengthens that), its error names the listing and matches GREP (case-
# insensitive), and nothing changed. How long it may take is no verdict: a 60 s safety timeout
# fails with "not bounded".
fails() {
	local what=$1 re=$2 min=$3 rc=0 t0 ms
	t0=$(now_ms)
	timeout -k 5 60 "$MS_BIN" import --config "$MS_CONFIG" >"$T/imp.out" 2>"$T/imp.err" || rc=$?
	ms=$(($(now_ms) - t0))
	if ((rc == 0)); then
		ms_bad "$what: the import succeeded: $(cat "$T/imp.out")"
	elif ((rc == 124 || rc == 137)); then
		ms_bad "$what: the import still ran after 60 s (killed by the safety timeout): a failing listing is not bounded"
	elif ! grep -q "list s3://models/" "$T/imp.err" || ! grep -Eqi "$re" "$T/imp.err"; then
		ms_bad "$what: exit $rc without a clear error (want the listing and /$re/): $(head -c 400 "$T/imp.err")"
	elif ((ms < min)); then
		ms_bad "$what: failed after $ms ms, before its attempts could time out ($min ms): $(head -c 200 "$T/imp.err")"
	else
		ms_ok "$what: import exit $rc after $ms ms: $(head -n 1 "$T/imp.err" | head -c 250)"
	fi
	unchanged "$what"
}

attempts="after $retries attempts"
ms_front_config '{"list_fail": 1000, "list_status": 503}'
fails "503 on every listing" "HTTP 503 SlowDown.*$attempts" 0
ms_front_config '{"list_fail": 0}'

# A stall waits out the timeout on every attempt: at least retries x timeout (less slack).
min=$((retries * timeout_s * 1000 - 1000))
ms_front_config '{"list_stall": true, "list_fail": 0}'
fails "listing never answered" "time.*out|too slow" "$min"
ms_front_config '{"list_stall": "headers"}'
fails "listing headers, then no body" "time.*out|too slow" "$min"
ms_front_config '{"list_stall": false}'

ms_front_config '{"list_reset_after": 150, "list_fail": 0}'
fails "every listing reset after 150 bytes" "reset|recv|receiv.*fail|$attempts" 0
ms_front_config '{"list_reset_after": 0}'

ms_front_config '{"list_truncate": 2, "list_truncate_how": "close", "list_fail": 0}'
fails "page 2 cut short on every attempt (connection closed)" "partial|$attempts" 0
ms_front_config '{"list_truncate": 2, "list_truncate_how": "xml", "list_fail": 0}'
fails "page 2 half an XML document" "page 2" 0
ms_front_config '{"list_truncate": 0, "list_truncate_how": "close"}'
"$MS_BIN" cat --config "$MS_CONFIG" /models/w.bin | cmp -s - "$T/src/w.bin" || ms_bad "w.bin does not read right after the failed imports"
[[ $(ms_key_stat w.bin count) == "$w0" ]] || ms_bad "w.bin was fetched again after the failed imports: its cached bytes were lost"
ms_ok "after the failed imports w.bin reads right from the cache (no GET)"
ms_stop_daemon_any

# succeeds WHAT: the import succeeds, the namespace is the store's (a8 in, a1 out).
succeeds() {
	local what=$1 l
	l=$(ms_stat listings)
	if ! "$MS_BIN" import --config "$MS_CONFIG" >"$T/imp.out" 2>"$T/imp.err"; then
		ms_bad "$what: the import failed: $(head -c 300 "$T/imp.err")"
	elif [[ $(files) != "$(want)" ]]; then
		ms_bad "$what: namespace differs from the store: $(diff <(files) <(want) | tr '\n' ' ' | head -c 300)"
	else
		ms_ok "$what: import succeeded after $(($(ms_stat listings) - l)) listing requests: $(head -c 200 "$T/imp.out")"
	fi
}
inj=$(ms_stat injected)
ms_front_config '{"list_fail": 2, "list_status": 503}'
succeeds "a burst of two 503s"
[[ $(ms_stat injected) == $((inj + 2)) ]] || ms_bad "the 503 burst: the front injected $(($(ms_stat injected) - inj)), want 2"
"$MS_BIN" cat --config "$MS_CONFIG" /models/a8.bin | cmp -s - "$T/src/a8.bin" || ms_bad "a8.bin (new) does not read right"
[[ ! -e $MS_TREE/a1.bin ]] || ms_bad "a1.bin (deleted in the store) is still in the namespace"
ms_stop_daemon_any

# More changes, then a reset once and page 2 cut once.
head -c 999 /dev/urandom >"$T/src/a9.bin"
ms_put "$T/src"
ms_delete a2.bin
rm "$T/src/a2.bin"
ms_front_config '{"list_reset_after": 150, "list_fail": 1}'
succeeds "one listing reset after 150 bytes"
head -c 777 /dev/urandom >"$T/src/a10.bin"
ms_put "$T/src"
ms_front_config '{"list_truncate": 2, "list_fail": 1}'
succeeds "page 2 cut short once (connection closed)"
[[ $(ms_stat config.list_truncate) == 0 && $(ms_stat config.list_reset_after) == 0 ]] ||
	ms_bad "the one-off listing faults were not spent: $(ms_stats)"
ms_done
