#!/usr/bin/env bash
# t-quota-concurrent: six readers at once through a cache a third the size of what they read:
# the cache never holds more than its quota (fills are admitted against it before they start,
# and wait for room rather than overshoot), and every reader gets the right bytes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src"
for i in $(seq -w 1 12); do head -c $((2 * 1048576)) /dev/urandom >"$T/src/o$i.bin"; done
ms_put "$T/src"
quota=$((8 * 1048576))
ms_write_config "$T/ms.ini" "size = 8M" "min_free = 0"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
ms_daemon_start
ms_front_config '{"rate": 16777216}' # slow enough for the sampler to see fills in flight

pids=()
for r in 1 2 3 4 5 6; do
	(
		for i in $(seq -w 1 12); do
			n=$(((10#$i + r) % 12 + 1))
			f=$(printf 'o%02d.bin' "$n")
			"$MS_BIN" cat --config "$T/ms.ini" "/models/$f" 2>>"$T/err.$r" | cmp -s - "$T/src/$f" ||
				{ echo "reader $r: $f differs" >>"$T/err.$r"; exit 1; }
		done
	) &
	pids+=($!)
	ms_track_pid "$!"
done
max=0 samples=0
for ((k = 0; k < 600; k++)); do
	c=$(ms_status_fields daemon.cached_bytes)
	[[ $c =~ ^[0-9]+$ ]] || ms_fail "status --json gave no daemon cached_bytes ('$c')"
	((c > max)) && max=$c
	samples=$((samples + 1))
	running=0
	for p in "${pids[@]}"; do ms_alive "$p" && running=1; done
	((running)) || break
	sleep 0.05
done
for p in "${pids[@]}"; do
	wait "$p" || ms_fail "a reader got wrong bytes or failed: $(cat "$T"/err.* 2>/dev/null | head -c 600)"
done
ms_ok "6 concurrent readers x 12 objects of 2 MiB, all bytes right"
((max <= quota)) || ms_fail "the cache held $max bytes, over its $quota-byte quota"
ms_ok "never over quota: at most $max of $quota bytes in $samples samples"
ev=$(ms_status_fields daemon.evictions)
((ev > 0)) || ms_fail "no evictions happened (status: '$ev')"
