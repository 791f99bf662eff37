#!/usr/bin/env bash
# t-load: the load test of issue 7. 40 generated objects (0.5..12 MiB, ~256 MiB) behind a cache
# quota smaller than they are (75% by default: constant eviction); 64 load_reader processes
# (tests/shim/load_reader.c) read them through the shim at random for 40 s (30 s in the ASan
# build), each byte checked against the content's formula. Passes only with zero wrong bytes,
# zero EIO, every reader done, the same daemon alive throughout and exiting cleanly, evictions
# during the load, and the daemon's fds and RSS not grown (before: idle after a warm phase;
# after: idle after the load). Owns only what lives in $T and the processes it starts (all
# tracked, all bounded by timeout); it must never wait without a bound, talk to anything but
# 127.0.0.1, or touch another cache.
#
# Why 75% and not less: objects a reader opened while incomplete are pinned until it closes
# them (README, "Quota and eviction"), and 64 readers holding two files each pin nearly all 40;
# at 40% most fills then fail with the documented "cache full" (MS_LOAD_QUOTA_PCT=40 shows it).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ -n ${MS_PRELOAD:-} && -n ${MS_SHIMTESTS:-} ]] || ms_skip "MS_PRELOAD/MS_SHIMTESTS not set (run under ctest)"
[[ ! -e /models ]] || ms_skip "/models exists on this host: the virtual prefix must not exist on disk"
reader=$MS_SHIMTESTS/load_reader
[[ -x $reader ]] || ms_fail "$reader is not built"

nfiles=40
procs=${MS_LOAD_PROCS:-64}
secs=${MS_LOAD_SECONDS:-40}
quota_pct=${MS_LOAD_QUOTA_PCT:-75}
connections=16 # the daemon's default: at most this many connections to the store
warm_secs=8 # as many readers as the load: the baseline has seen its buffers and connections
sanitized=0
if [[ ${MS_SANITIZED:-0} == 1 ]]; then
	sanitized=1
	secs=${MS_LOAD_SECONDS:-30} # two cores for 64 instrumented readers: under ~75 s in all
	warm_secs=6
fi
export MS_CHUNK=1M
chunk=$((1 << 20))

ms_start_s3
mkdir -p "$T/src"
paths=() vpaths=() total=0
for ((i = 1; i <= nfiles; i++)); do
	# 1..12 MiB, every fifth one chunk-aligned, the others up to half a MiB short of it.
	size=$(((1 + i * 5 % 12) * chunk))
	((i % 5 == 0)) || size=$((size - 1 - i * 104729 % (chunk / 2)))
	name=$(printf 'f%02d-%d.bin' "$i" "$size")
	paths+=("$T/src/$name")
	vpaths+=("/models/$name")
	total=$((total + size))
done
"$reader" gen "${paths[@]}" || ms_fail "load_reader gen failed"
ms_put "$T/src"
quota_mib=$((total * quota_pct / 100 / chunk))
ms_write_config "$T/ms.ini" "size = ${quota_mib}M" "high_watermark = 95%" "low_watermark = 85%" \
	"min_free = 0"
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
ms_ok "$nfiles objects, $((total / chunk)) MiB, behind a quota of $quota_mib MiB ($quota_pct%), chunks of 1 MiB"

if ((sanitized)); then
	# ASan's quarantine holds freed memory back (256 MiB by default): capped, so that the
	# daemon's RSS still says something.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" ms_daemon_start
else
	ms_daemon_start
fi
dpid=$MS_DAEMON_PID

# status_field NAME: one number of the daemon's totals in status --json (empty: no daemon).
status_field() {
	ms_status_fields "daemon.$1"
}

rss_kib() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$dpid/status" 2>/dev/null || echo 0
}

# fd_census: "TOTAL OBJECT_FILES DELETED TCP OTHER" of the daemon's open fds: OBJECT_FILES are
# data and map files of the objects it serves (two each at most), DELETED files of the cache
# dir's tenant trees that are gone (an evicted object it still holds), TCP its connections to the
# store, OTHER the rest: std streams, pid file, listening socket, signalfd, ring, eventfds,
# clients (none once the readers are gone), and what it inherited (ctest's LastTest.log, which
# shows as deleted once another ctest run in the same build dir replaced it).
fd_census() {
	local tcp
	tcp=$(awk 'FNR > 1 { printf "%s ", $10 }' "/proc/$dpid/net/tcp" "/proc/$dpid/net/tcp6" 2>/dev/null || true)
	{ find "/proc/$dpid/fd" -mindepth 1 -printf '%l\n' 2>/dev/null || true; } |
		awk -v cache="$(ms_cache_path "" tenants)/" -v tcp="$tcp" '
		BEGIN { n = split(tcp, a, " "); for (i = 1; i <= n; i++) net["socket:[" a[i] "]"] = 1 }
		{ t++ }
		index($0, cache) == 1 && / \(deleted\)$/ { d++; next }
		index($0, cache) == 1 { o++; next }
		$0 in net { c++; next }
		{ x++ }
		END { printf "%d %d %d %d %d\n", t, o, d, c, x }'
}

# quiesce: waits (at most 15 s) until the daemon has no fill in flight and has seen its readers'
# connections close: status counts one client, the status request itself (looked at, not a
# guessed second); a daemon that keeps dead clients fails here.
quiesce() {
	local i
	for ((i = 0; i < 150; i++)); do
		[[ $(status_field inflight) == 0 && $(status_field clients) == 1 ]] && return 0
		sleep 0.1
	done
	ms_fail "15 s after the readers ended the daemon still has $(status_field inflight) chunks in flight and $(status_field clients) clients (want 0 and 1: the status request)"
}

# run_readers TAG COUNT SECONDS SEED: COUNT readers at once, each for SECONDS (bounded by
# timeout at SECONDS + 60), sampling the daemon every second; sets R_READS R_BYTES R_WRONG
# R_EIO R_ERRORS (summed over the readers), R_BAD (readers that failed), R_PEAK_RSS, R_PEAK_FDS.
run_readers() {
	local tag=$1 count=$2 s=$3 seed=$4 k p rc deadline running shown=0
	local -a env=(LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$MS_CONFIG") pids=()
	# LeakSanitizer stays on in the ASan build: the reader frees what it allocates, and a leak
	# of the shim under load is ours to see.
	for ((k = 0; k < count; k++)); do
		timeout -k 5 $((s + 60)) env "${env[@]}" "$reader" run "$s" $((seed + k)) "$chunk" \
			"${vpaths[@]}" >"$T/$tag.$k.out" 2>"$T/$tag.$k.err" &
		pids+=($!)
		ms_track_pid "$!"
	done
	R_PEAK_RSS=0 R_PEAK_FDS=0
	deadline=$((SECONDS + s + 75))
	while :; do
		ms_alive "$dpid" || ms_fail "the daemon (pid $dpid) died during the $tag phase: $(tail -n 5 "$T/daemon.log")"
		read -r k _ <<<"$(fd_census)"
		((k > R_PEAK_FDS)) && R_PEAK_FDS=$k
		k=$(rss_kib)
		((k > R_PEAK_RSS)) && R_PEAK_RSS=$k
		running=0
		for p in "${pids[@]}"; do
			if ms_alive "$p"; then
				running=1
				break
			fi
		done
		((running)) || break
		((SECONDS < deadline)) || ms_fail "$tag: readers still running $((s + 75)) s after they started"
		sleep 1
	done
	R_BAD=0
	for k in "${!pids[@]}"; do
		rc=0
		wait "${pids[$k]}" || rc=$?
		ms_untrack_pid "${pids[$k]}"
		((rc != 0)) || grep -q '^load_reader: reads=' "$T/$tag.$k.out" || rc=-1
		((rc != 0)) || continue
		R_BAD=$((R_BAD + 1))
		((shown++ < 4)) || continue
		echo "$tag reader $k (seed $((seed + k))): exit $rc$( ((rc != 124)) || echo " (killed by its timeout)")" >&2
		sed 's/^/    | /' "$T/$tag.$k.out" "$T/$tag.$k.err" | head -n 12 >&2
	done
	read -r R_READS R_BYTES R_WRONG R_EIO R_ERRORS < <(awk '
		/^load_reader: reads=/ {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] }
		}
		END { printf "%.0f %.0f %.0f %.0f %.0f\n", s["reads"], s["bytes"], s["wrong"], s["eio"], s["errors"] }' \
		"$T/$tag".*.out)
}

# eio_causes TAG: what the shim said on the readers' stderr (one line per file per process: the
# first failure of each), by kind.
eio_causes() {
	cat "$T/$1".*.err | sed -n 's#^modelshim: /models/[^:]*: ##p' |
		sed -E 's#/models/[^:]*: ##; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 5 >&2
}

# A warm phase, so that objects, connections and buffers exist; then the baseline.
run_readers warm "$procs" "$warm_secs" 1000
if ((R_BAD > 0 || R_WRONG > 0 || R_EIO > 0 || R_ERRORS > 0)); then
	((R_EIO == 0)) || eio_causes warm
	ms_fail "warm phase: $R_BAD readers failed ($R_WRONG wrong bytes, $R_EIO EIO, $R_ERRORS errors)"
fi
ms_ok "warm phase: $procs readers x $warm_secs s, $R_READS reads, $R_BYTES bytes checked, all right"
quiesce
rss0=$(rss_kib)
read -r fd0 obj0 del0 tcp0 oth0 <<<"$(fd_census)"
ev0=$(status_field evictions)

((sanitized == 0)) || echo "ASan build: the load runs $secs s (not 60) with $procs readers, to stay under ~90 s"
t0=$SECONDS
run_readers load "$procs" "$secs" 5000
elapsed=$((SECONDS - t0))
((R_WRONG == 0)) || ms_bad "$R_WRONG wrong bytes (see the WRONG BYTES lines above)"
if ((R_EIO > 0)); then
	ms_bad "$R_EIO of $R_READS reads failed with EIO, with a healthy daemon and store; the shim said:"
	eio_causes load
fi
((R_ERRORS == 0)) || ms_bad "$R_ERRORS reads failed otherwise (see the ERROR lines above)"
((R_BAD == 0)) || ms_bad "$R_BAD of $procs readers failed or did not finish"
((R_READS > 0)) || ms_bad "no reads at all"

quiesce
[[ $(ms_daemon_pid) == "$dpid" ]] || ms_bad "the daemon is not pid $dpid any more (now: '$(ms_daemon_pid)')"
rss1=$(rss_kib)
read -r fd1 obj1 del1 tcp1 oth1 <<<"$(fd_census)"
ev1=$(status_field evictions)
derr=$(status_field errors)
evictions=$((ev1 - ev0))
# RSS: at most 16 MiB or 2x over the baseline, whichever is more.
rss_bound=$((rss0 + 16384 > 2 * rss0 ? rss0 + 16384 : 2 * rss0))
((evictions > 0)) || ms_bad "no evictions during the load (status: $ev0 before, $ev1 after)"
[[ $derr =~ ^[0-9]+$ ]] || ms_bad "status gave no daemon error count ('$derr')"
((derr == 0)) || ms_bad "the daemon counted $derr failed fills under a load with no fault injected"
((del1 == 0)) || ms_bad "the idle daemon holds $del1 files that are gone from the cache (leaked objects): $({ find "/proc/$dpid/fd" -mindepth 1 -printf '%l\n' 2>/dev/null || true; } | grep ' (deleted)$' | head -n 3 | tr '\n' ' ')"
((obj1 <= 2 * nfiles)) || ms_bad "the daemon holds $obj1 data and map files for $nfiles objects"
((tcp1 <= connections)) || ms_bad "the daemon holds $tcp1 connections to the store, over its $connections"
((oth1 <= oth0 + 2)) || ms_bad "the daemon's other fds (clients, ring, ...) went from $oth0 to $oth1"
((rss1 <= rss_bound)) || ms_bad "the daemon's RSS went from $rss0 to $rss1 KiB (bound $rss_bound KiB)"
ms_ok "daemon fds $fd0 -> $fd1: object files $obj0 -> $obj1 (<= $((2 * nfiles))), deleted $del0 -> $del1, store connections $tcp0 -> $tcp1 (<= $connections), other $oth0 -> $oth1; peak $R_PEAK_FDS during the load"
ms_ok "daemon RSS $rss0 -> $rss1 KiB (bound $rss_bound KiB; peak $R_PEAK_RSS KiB during the load); $evictions evictions, daemon errors $derr"
if ((MS_SOFT_FAILS > 0)); then
	grep -iE 'error|warn' "$T/daemon.log" | sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 10 >&2 || true
fi

ms_daemon_stop
[[ $MS_DAEMON_RC == 0 ]] || ms_bad "the daemon exited with $MS_DAEMON_RC after SIGTERM (sanitizer or leak reports: see $T/daemon.log)"
echo "load: $procs procs, $elapsed s, $R_READS reads, $R_BYTES bytes checked, $R_WRONG wrong, $evictions evictions, daemon RSS $rss0->$rss1 KiB, fds $fd0->$fd1"
ms_done
