#!/usr/bin/env bash
# t-warmup: `modelshim warmup` of a prefix makes later reads fetch nothing; a second run skips
# what is present; a failing file is named and the exit status is non-zero; a program reading
# during a big warm-up is not starved (its read ends while the warm-up still runs): with two
# connections the warm-up may hold one, the other stays free for demand, so a demand read queued
# behind the warm-up's GETs (warm-up given demand priority) ends only after most of it crossed.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
mkdir -p "$T/src/loras" "$T/src/big"
for i in $(seq 1 8); do head -c $((1500000 + i)) /dev/urandom >"$T/src/loras/l$i.bin"; done
head -c 100000 /dev/urandom >"$T/src/small.bin"
head -c 1500000 /dev/urandom >"$T/src/demand.bin" # read cold during the big warm-up
head -c $((40 * 1048576)) /dev/urandom >"$T/src/big/huge.bin"
ms_put "$T/src"
ms_write_config "$T/ms.ini" "connections = 2"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"

# No daemon yet: warmup starts one.
"$MS_BIN" warmup --config "$T/ms.ini" --prefix /models/loras >"$T/w1.out" || ms_fail "warmup failed: $(cat "$T/w1.out")"
grep -q "8 files warmed" "$T/w1.out" || ms_fail "unexpected summary: $(cat "$T/w1.out")"
ms_ok "warmup of a prefix: $(cat "$T/w1.out")"
ms_front_reset
for i in $(seq 1 8); do
	"$MS_BIN" cat --config "$T/ms.ini" "/models/loras/l$i.bin" | cmp - "$T/src/loras/l$i.bin" || ms_fail "l$i.bin wrong"
done
[[ $(ms_stat methods.GET) -eq 0 ]] || ms_fail "reads after warmup made $(ms_stat methods.GET) GETs"
ms_ok "reads after the warm-up fetched nothing"

"$MS_BIN" warmup --config "$T/ms.ini" /models/loras /models/small.bin >"$T/w2.out" || ms_fail "second warmup failed"
grep -q "1 files warmed" "$T/w2.out" && grep -q "8 already present" "$T/w2.out" ||
	ms_fail "a second run did not skip what is present: $(cat "$T/w2.out")"
ms_ok "resumable: $(cat "$T/w2.out")"

# A list file, with a byte range, and a missing path.
printf '/models/big/huge.bin 0 1048576\n' >"$T/list"
"$MS_BIN" warmup --config "$T/ms.ini" --from "$T/list" >"$T/w3.out" || ms_fail "warmup --from failed"
"$MS_BIN" status --config "$T/ms.ini" --json >"$T/st.json"
grep -q '"partial":1' "$T/st.json" || ms_fail "a range warm-up did not leave huge.bin partial: $(cat "$T/st.json")"
ms_ok "warmup --from with a byte range"
if "$MS_BIN" warmup --config "$T/ms.ini" /models/nope 2>"$T/w4.err"; then ms_fail "warmup of a missing path succeeded"; fi
grep -q "/models/nope" "$T/w4.err" || ms_fail "missing path not named: $(cat "$T/w4.err")"

# A failing fill: named, non-zero exit.
ms_front_config '{"fail": 1000, "status": 403}'
if "$MS_BIN" warmup --config "$T/ms.ini" /models/big/huge.bin >"$T/w5.out" 2>"$T/w5.err"; then
	ms_fail "warmup with a failing server succeeded"
fi
grep -q "huge.bin" "$T/w5.err" || ms_fail "the failed file is not named: $(cat "$T/w5.err")"
ms_ok "failure named: $(head -c 200 "$T/w5.err")"
ms_front_config '{"fail": 0}'

# Priority: a big warm-up through a slow origin, and a program reading meanwhile.
ms_front_config '{"rate": 2097152}' # 20 s for huge.bin: a loaded machine's cat takes seconds
"$MS_BIN" warmup --config "$T/ms.ini" /models/big/huge.bin >"$T/w6.out" 2>&1 &
wpid=$!
ms_track_pid "$wpid"
# The demand read starts once the warm-up's GETs are seen under way (its bytes reach the front),
# not after a guessed pause.
for ((k = 0; k < 200; k++)); do
	(($(ms_key_stat big/huge.bin bytes) > 0)) && break
	ms_alive "$wpid" || break
	sleep 0.1
done
(($(ms_key_stat big/huge.bin bytes) > 0)) || ms_fail "the warm-up of huge.bin fetched nothing within 20 s: $(cat "$T/w6.out")"
warmed0=$(ms_key_stat big/huge.bin bytes)
"$MS_BIN" cat --config "$T/ms.ini" /models/demand.bin | cmp - "$T/src/demand.bin" || ms_fail "demand.bin wrong"
[[ $(ms_key_stat demand.bin bytes) == 1500000 ]] || ms_fail "demand.bin was not fetched cold: $(ms_key_stat demand.bin bytes) bytes"
# Not starved, in bytes rather than seconds: the origin is throttled for everyone, so a demand
# read queued behind the warm-up would end only once all of huge.bin had crossed; one served
# first ends before most of what was left of it (the margin: a slow process start under load).
warmed=$(ms_key_stat big/huge.bin bytes)
huge=$(stat -c %s "$T/src/big/huge.bin")
((warmed - warmed0 < (huge - warmed0) * 3 / 4)) || ms_fail "the demand read ended only after $warmed of huge.bin's $huge bytes had been fetched (it started at $warmed0): starved"
ms_alive "$wpid" || ms_fail "the warm-up ended before the demand read: the check proves nothing"
ms_ok "a demand read finished while a 40 MiB warm-up still ran, $warmed of its $huge bytes fetched by then ($warmed0 when it started)"
ms_front_config '{"rate": 0}'
wait "$wpid" || ms_fail "the big warm-up failed: $(cat "$T/w6.out")"
"$MS_BIN" cat --config "$T/ms.ini" /models/big/huge.bin | cmp - "$T/src/big/huge.bin" || ms_fail "huge.bin wrong"
ms_ok "the big warm-up completed and reads back right"
[[ $(ms_stat rejected) -eq 0 ]] || ms_fail "the SigV4 front rejected requests"
