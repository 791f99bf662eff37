#!/usr/bin/env bash
# t-faults-status: bursts of HTTP 500, 503 and 429 from the store (the front fails the next N
# GETs) are retried. Reads through the daemon (modelshim cat; sha256sum and cp under the shim)
# give the right bytes; `modelshim status --json` counts every retry (daemon.retries goes up by
# exactly N, daemon.gets by every GET the front saw) and no error; daemon.log names the object,
# the status and the attempt. A burst as long as `retries` fails the read with EIO and a message
# naming the status after exactly `retries` GETs, marks nothing present, and once the store heals
# the next read is right.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

retries=5
ms_start_s3
mkdir -p "$T/src"
for s in 500 503 429; do
	head -c $((5 * 1048576 + 4321)) /dev/urandom >"$T/src/s$s.bin" # 6 chunks of 1 MiB
done
head -c 300000 /dev/urandom >"$T/src/one.bin" # one chunk: one job, every GET on it
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = $retries" "timeout = 10s"
ms_daemon_detach # as clients start it
log=$MS_CACHE_DIR/daemon.log
dpid=$(ms_daemon_pid)

# counters: "RETRIES GETS ERRORS CACHED_BYTES" of `modelshim status --json` (daemon totals; the
# bytes of mount models that the maps on disk mark present).
counters() { ms_status_fields daemon.retries daemon.gets daemon.errors mount.cached_bytes; }

# burst STATUS N KEY READER: the front fails the next N GETs with STATUS while READER reads KEY
# into $T/KEY.out; the bytes must be right and the retries counted.
burst() {
	local status=$1 n=$2 key=$3 reader=$4 rc=0 r0 g0 e0 c0 r1 g1 e1 c1 l0 l1 got want
	ms_front_reset
	read -r r0 g0 e0 c0 < <(counters)
	l0=$(grep -c "fetching $key \[chunks [0-9-]*\]: HTTP $status.*retrying (attempt" "$log" || true)
	ms_front_config "{\"fail\": $n, \"status\": $status}"
	case $reader in
	cat) "$MS_BIN" cat --config "$MS_CONFIG" "/models/$key" >"$T/$key.out" 2>"$T/err" || rc=$? ;;
	sha256sum) ms_shim sha256sum "/models/$key" >"$T/$key.sum" 2>"$T/err" || rc=$? ;;
	cp) ms_shim cp "/models/$key" "$T/$key.out" 2>"$T/err" || rc=$? ;;
	esac
	want=$(ms_sha "$T/src/$key")
	if [[ $reader == sha256sum ]]; then
		got=$(cut -d' ' -f1 "$T/$key.sum" 2>/dev/null || true)
	else
		got=$(ms_sha "$T/$key.out")
	fi
	if ((rc != 0)) || [[ $got != "$want" ]]; then
		ms_bad "HTTP $status x$n, $reader $key: exit $rc, sha256 $got, want $want; $(head -c 300 "$T/err")"
		return 0
	fi
	ms_ok "HTTP $status x$n: $reader /models/$key exit 0, sha256 matches the source"
	[[ $(ms_stat injected) == "$n" ]] || ms_bad "HTTP $status: the front injected $(ms_stat injected) failures, want all $n spent"
	read -r r1 g1 e1 c1 < <(counters)
	if ((r1 - r0 != n)); then
		ms_bad "HTTP $status x$n: status --json daemon.retries went $r0 -> $r1, want +$n"
	else
		ms_ok "HTTP $status x$n: daemon.retries $r0 -> $r1 (+$n)"
	fi
	(( g1 - g0 == $(ms_key_stat "$key" count) )) ||
		ms_bad "HTTP $status: daemon.gets +$((g1 - g0)), but the front saw $(ms_key_stat "$key" count) GETs of $key"
	((e1 == e0)) || ms_bad "HTTP $status x$n: daemon.errors went $e0 -> $e1 although every read succeeded"
	(( c1 - c0 == $(stat -c %s "$T/src/$key") )) ||
		ms_bad "HTTP $status: cached bytes +$((c1 - c0)), want the whole $key ($(stat -c %s "$T/src/$key"))"
	l1=$(grep -c "fetching $key \[chunks [0-9-]*\]: HTTP $status.*retrying (attempt" "$log" || true)
	if ((l1 - l0 != n)); then
		ms_bad "HTTP $status x$n: daemon.log has $((l1 - l0)) retry lines for $key, want $n: $(grep "$key" "$log" | tail -n 3)"
	else
		ms_ok "HTTP $status: daemon.log: $(grep -m1 "fetching $key .*HTTP $status" "$log")"
	fi
}

# Bursts shorter than `retries`: all spent on the first GETs, whichever job they hit, and no job
# can see more than retries - 1 of them.
burst 500 3 s500.bin cat
burst 503 4 s503.bin sha256sum
burst 429 2 s429.bin cp

# --- A burst as long as `retries`: the read fails, nothing is marked present -------------------
ms_front_reset
read -r r0 g0 e0 c0 < <(counters)
ms_front_config "{\"fail\": $retries, \"status\": 503}"
rc=0
"$MS_BIN" cat --config "$MS_CONFIG" /models/one.bin >"$T/one.out" 2>"$T/one.err" || rc=$?
read -r r1 g1 e1 c1 < <(counters)
if ((rc == 0)); then
	ms_bad "one.bin read although all $retries attempts got HTTP 503"
elif [[ -s $T/one.out ]]; then
	ms_bad "the failed read of one.bin wrote $(stat -c %s "$T/one.out") bytes"
elif ! grep -q "one.bin.*HTTP 503.*after $retries attempts" "$T/one.err"; then
	ms_bad "the failed read's message does not name the object, HTTP 503 and the $retries attempts: $(head -c 300 "$T/one.err")"
else
	ms_ok "$retries x HTTP 503: the read fails: $(head -c 200 "$T/one.err")"
fi
ms_check_gave_up one.bin "$retries" $((r1 - r0)) $((e1 - e0))
((c1 == c0)) || ms_bad "cached bytes went $c0 -> $c1 although one.bin never arrived"
b=$(stat -c %b "$(ms_cache_path one.bin)")
((b == 0)) || ms_bad "one.bin's cache file has $b blocks allocated although no GET of it succeeded"
grep -q "fetching one.bin \[chunks 0-0\]: HTTP 503" "$log" || ms_bad "daemon.log does not name the final failure of one.bin"
ms_ok "after $retries failed attempts: $(ms_key_stat one.bin count) GETs, retries +$((r1 - r0)), errors +$((e1 - e0)), nothing cached; log: $(grep "fetching one.bin" "$log" | tail -n 1)"

# The store heals: the same object reads right with one more GET.
ms_front_reset
ms_shim_sha_check one.bin "after the burst"
[[ $(ms_key_stat one.bin count) == 1 ]] || ms_bad "healed read of one.bin took $(ms_key_stat one.bin count) GETs, want 1"
[[ $(ms_daemon_pid) == "$dpid" ]] || ms_bad "the daemon changed: pid $dpid, now '$(ms_daemon_pid)'"
ms_done
