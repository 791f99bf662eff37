#!/usr/bin/env bash
# t-kill-fill: the daemon is SIGKILLed in the middle of a slow fill (invariant 9). The reader
# gets an error, never zeros; after a restart every object reads correctly, and the chunks that
# were marked present before the kill are not fetched again.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src"
size=$((24 * 1024 * 1024))
head -c "$size" /dev/urandom >"$T/src/slow.bin"
head -c 100000 /dev/urandom >"$T/src/small.bin"
ms_import_src
ms_daemon_start
ms_front_config '{"rate": 4194304}'

"$MS_BIN" cat --config "$T/ms.ini" /models/slow.bin >"$T/out" 2>"$T/cat.err" &
cat_pid=$!
ms_track_pid "$cat_pid"
# Wait (bounded) until some chunks are present and the fill is still going.
state=$(ms_cache_path slow.bin state)
for ((i = 0; i < 100; i++)); do
	"$MS_BIN" status --config "$T/ms.ini" | grep -Eq '^models +default +/models +2 +0 +1 ' && break
	sleep 0.1
done
((i < 100)) || ms_fail "the fill never became partial"
kill -KILL "$MS_DAEMON_PID"
ms_wait_gone "$MS_DAEMON_PID" 50 || ms_fail "daemon survived SIGKILL"
ms_untrack_pid "$MS_DAEMON_PID"
if wait "$cat_pid"; then
	ms_fail "the reader succeeded although the daemon died mid-fill"
fi
ms_ok "reader failed when the daemon died: $(head -c 200 "$T/cat.err")"
got=$(stat -c %s "$T/out")
((got < size)) || ms_fail "the reader wrote the whole file"
cmp -n "$got" "$T/out" "$T/src/slow.bin" || ms_fail "the reader wrote wrong bytes before failing"
ms_ok "the $got bytes written before the failure are correct"

[[ -s $state ]] || ms_fail "map missing"
ms_front_config '{"rate": 0}'
ms_front_reset
ms_daemon_start
"$MS_BIN" cat --config "$T/ms.ini" /models/slow.bin | cmp - "$T/src/slow.bin" || ms_fail "slow.bin wrong after restart"
"$MS_BIN" cat --config "$T/ms.ini" /models/small.bin | cmp - "$T/src/small.bin" || ms_fail "small.bin wrong after restart"
refetched=$(ms_key_stat slow.bin bytes)
((refetched < size)) || ms_fail "after restart all $size bytes were fetched again: nothing survived the kill"
ms_ok "after restart both objects read correctly; $((size - refetched)) bytes were kept from before the kill"
