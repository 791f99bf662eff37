#!/usr/bin/env bash
# t-quota-concurrent: six readers at once through a cache a third the size of what they read:
# the cache never holds more than its quota (fills are admitted against it before they start,
# and wait for room rather than overshoot), and every reader gets the right bytes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_quota_setup
quota=$((8 * 1048576))
ms_front_config '{"rate": 8388608}' # slow enough for the sampler to see fills in flight (~18 s)

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
# The sampler: one python process asks `status --json` back to back (a few ms a sample, ~40 a
# second; a shell loop of ms_status_fields managed 4 in a whole run and never saw an overshoot
# that lasts a fraction of a second) until the readers are done, bounded to 60 s. It fails when
# status has no daemon cached_bytes. The daemon keeps no peak of its own, so this samples: an
# admission that forgets the fills in flight overshot to 12 MiB and was caught in 3 of 3 runs.
python3 - "$MS_BIN" "$MS_CONFIG" "$T/readers.done" >"$T/samples" 2>"$T/sampler.err" <<'PY' &
import json, os, subprocess, sys, time
exe, cfg, done = sys.argv[1:]
mx = n = 0
t0 = time.monotonic()
while time.monotonic() - t0 < 60:
    out = subprocess.run([exe, "status", "--config", cfg, "--json"], capture_output=True, timeout=5).stdout
    d = json.loads(out)["daemon"]
    if d is None or not isinstance(d.get("cached_bytes"), int):
        sys.exit("status --json gave no daemon cached_bytes: %r" % d)
    mx = max(mx, d["cached_bytes"])
    n += 1
    if os.path.exists(done):
        break
print(mx, n)
PY
spid=$!
ms_track_pid "$spid"
for p in "${pids[@]}"; do
	wait "$p" || ms_fail "a reader got wrong bytes or failed: $(cat "$T"/err.* 2>/dev/null | head -c 600)"
done
ms_ok "6 concurrent readers x 12 objects of 2 MiB, all bytes right"
: >"$T/readers.done"
wait "$spid" || ms_fail "the sampler of status --json failed: $(head -c 300 "$T/sampler.err")"
ms_untrack_pid "$spid"
read -r max samples <"$T/samples" || ms_fail "the sampler printed no result"
((samples >= 10)) || ms_fail "only $samples samples of status during the readers: the check saw too little"
((max <= quota)) || ms_fail "the cache held $max bytes, over its $quota-byte quota"
ms_ok "never over quota: at most $max of $quota bytes in $samples samples"
ev=$(ms_status_fields daemon.evictions)
((ev > 0)) || ms_fail "no evictions happened (status: '$ev')"
