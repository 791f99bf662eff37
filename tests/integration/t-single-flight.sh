#!/usr/bin/env bash
# t-single-flight: 8 concurrent readers of one cold object get identical, correct bytes, and the
# object is fetched from the server once (the front counts bytes served per key). The server is
# throttled and the other 7 readers start once the first one's fill is seen partial, so they
# overlap it; that they did is checked, not hoped for.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src/ckpt"
head -c $((48 * 1024 * 1024 + 12345)) /dev/urandom >"$T/src/ckpt/model.safetensors"
size=$(stat -c %s "$T/src/ckpt/model.safetensors")
want=$(sha256sum <"$T/src/ckpt/model.safetensors")
ms_import_src
ms_daemon_start
ms_front_reset
ms_front_config '{"rate": 4194304}' # 48 MiB in about 12 s: room to start 7 readers under load

pids=()
start_reader() {
	"$MS_BIN" cat --config "$T/ms.ini" /models/ckpt/model.safetensors >"$T/out.$1" &
	pids+=($!)
	ms_track_pid "$!"
}
start_reader 1
for ((k = 0; k < 100; k++)); do
	[[ $(ms_status_counts) == "1 0 1" ]] && break
	sleep 0.1
done
[[ $(ms_status_counts) == "1 0 1" ]] || ms_fail "the first reader's fill never showed partial: $(ms_status_counts)"
for i in $(seq 2 8); do
	start_reader "$i"
done
# All 8 are in flight while the object is still partial: they overlap the first one's fill.
[[ $(ms_status_counts) == "1 0 1" ]] || ms_fail "the object completed before the other readers started (no overlap): $(ms_status_counts)"
ms_alive "${pids[0]}" || ms_fail "the first reader ended before the others started"
for p in "${pids[@]}"; do
	wait "$p" || ms_fail "a concurrent reader failed"
done
for i in $(seq 1 8); do
	[[ $(sha256sum <"$T/out.$i") == "$want" ]] || ms_fail "reader $i got wrong bytes"
done
ms_front_config '{"rate": 0}'
ms_ok "8 overlapping readers got the right bytes"

fetched=$(ms_key_stat ckpt/model.safetensors bytes)
[[ $fetched -eq $size ]] || ms_fail "fetched $fetched bytes from the server for a $size-byte object"
ms_ok "the object was fetched once ($fetched bytes, $(ms_key_stat ckpt/model.safetensors count) GETs)"
[[ $(ms_stat rejected) -eq 0 ]] || ms_fail "the SigV4 front rejected requests"
