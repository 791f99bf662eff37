#!/usr/bin/env bash
# t-bandwidth: max_bandwidth caps the node's fill rate: a 200 MiB warm-up at 40 MiB/s must not
# run more than 10% faster than that (a limiter cannot be sped up by a noisy machine: load only
# makes it slower), and the bytes are right. There is no lower bound on the rate as a verdict
# (ctest -j2 on 2 cores decides how fast anything runs): a limiter stuck far below its rate is
# caught by the warm-up's safety timeout, 50 s (4 MiB/s), which fails with that message.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src"
size=$((200 * 1048576))
head -c "$size" /dev/urandom >"$T/src/ckpt.bin"
ms_put "$T/src"
rate=$((40 * 1048576))
MS_CHUNK=4M ms_write_config "$T/ms.ini" "max_bandwidth = 40M"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
ms_daemon_start
bound=$((size * 10 / rate)) # seconds at a tenth of the rate
t0=$(date +%s%N)
rc=0
timeout -k 5 "$bound" "$MS_BIN" warmup -q --config "$T/ms.ini" /models/ckpt.bin >"$T/warmup.out" 2>&1 || rc=$?
t1=$(date +%s%N)
((rc != 124 && rc != 137)) ||
	ms_fail "the 200 MiB warm-up was not done after $bound s (under a tenth of max_bandwidth = 40M): the limiter throttles far below its rate ($(ms_status_fields daemon.bytes_fetched) bytes fetched)"
((rc == 0)) || ms_fail "warmup failed (exit $rc): $(head -c 300 "$T/warmup.out")"
got=$((size * 1000 / ((t1 - t0) / 1000000)))
echo "note: 200 MiB filled at $((got / 1048576)) MiB/s with max_bandwidth = 40M"
((got <= rate * 11 / 10)) || ms_fail "filled at $got B/s, over the 40 MiB/s limit by more than 10%"
ms_ok "fill rate $((got / 1048576)) MiB/s within the 40 MiB/s limit"
"$MS_BIN" cat --config "$T/ms.ini" /models/ckpt.bin | cmp - "$T/src/ckpt.bin" || ms_fail "bytes wrong"
ms_ok "bytes right"
