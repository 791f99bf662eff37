#!/usr/bin/env bash
# t-single-flight: 8 concurrent readers of one cold object get identical, correct bytes, and the
# object is fetched from the server once (the front counts bytes served per key).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src/ckpt"
head -c $((48 * 1024 * 1024 + 12345)) /dev/urandom >"$T/src/ckpt/model.safetensors"
size=$(stat -c %s "$T/src/ckpt/model.safetensors")
want=$(sha256sum <"$T/src/ckpt/model.safetensors")
ms_put "$T/src"
ms_write_config "$T/ms.ini"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
ms_daemon_start
ms_front_reset

pids=()
for i in $(seq 1 8); do
	"$MS_BIN" cat --config "$T/ms.ini" /models/ckpt/model.safetensors >"$T/out.$i" &
	pids+=($!)
	ms_track_pid "$!"
done
for p in "${pids[@]}"; do
	wait "$p" || ms_fail "a concurrent reader failed"
done
for i in $(seq 1 8); do
	[[ $(sha256sum <"$T/out.$i") == "$want" ]] || ms_fail "reader $i got wrong bytes"
done
ms_ok "8 concurrent readers got the right bytes"

fetched=$(ms_key_stat ckpt/model.safetensors bytes)
[[ $fetched -eq $size ]] || ms_fail "fetched $fetched bytes from the server for a $size-byte object"
ms_ok "the object was fetched once ($fetched bytes, $(ms_key_stat ckpt/model.safetensors count) GETs)"
[[ $(ms_stat rejected) -eq 0 ]] || ms_fail "the SigV4 front rejected requests"
