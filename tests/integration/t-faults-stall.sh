#!/usr/bin/env bash
# t-faults-stall: a stalled store cannot hang a reader. With `[cache] timeout = 2s` and
# `retries = 2`, a server that takes the request and never answers, or sends the headers and
# never a body byte, fails a demand read (modelshim cat; sha256sum under the shim) with EIO after
# both attempts timed out: the daemon says so for each attempt (daemon.log, client stderr) and the
# store saw both GETs; not at once (>= 2 x 2 s less slack: load can only make that longer). How
# long it may take at most is no verdict: each reader runs under a 60 s safety timeout that fails
# with "the stall is not bounded". While the GETs hang (the store has taken one), the daemon
# answers status and shows them in flight; it marks nothing present, and the same daemon serves
# the right bytes once the server is back; a single stalled GET costs one retry, the read is right.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

MiB=1048576
timeout_s=2
retries=2
min_ms=$((retries * timeout_s * 1000 - 500)) # every attempt waits out the timeout
ms_start_s3
mkdir -p "$T/src"
for k in st1 st2 st3; do
	head -c $((2 * MiB + MiB / 2)) /dev/urandom >"$T/src/$k.bin" # 3 chunks
done
ms_put "$T/src"
ms_write_config "$T/ms.ini" "timeout = ${timeout_s}s" "retries = $retries"
ms_daemon_detach
log=$MS_CACHE_DIR/daemon.log
dpid=$(ms_daemon_pid)
tree=$MS_TREE

# counters: "RETRIES ERRORS CACHED_BYTES INFLIGHT" from `modelshim status --json`, bounded: a
# daemon that does not answer within 5 s fails the test.
counters() { ms_status_fields daemon.retries mount.errors mount.cached_bytes daemon.inflight; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# quiesce: waits (at most 15 s) until no GET is in flight, so one case's leftovers (a readahead
# GET still timing out) do not meet the next case's fault.
quiesce() {
	local i f
	for ((i = 0; i < 75; i++)); do
		read -r _ _ _ f < <(counters)
		((f == 0)) && return 0
		sleep 0.2
	done
	ms_fail "chunks still in flight 15 s after the read ended: a GET is not bounded by the timeout"
}

# stalled WHAT KEY MSG CMD...: CMD reads KEY while every GET stalls; it must fail (a program
# under the shim with EIO) with an error naming KEY and matching MSG, not before min_ms,
# writing no byte; nothing becomes present.
stalled() {
	local what=$1 key=$2 msg=$3 rc=0 t0 ms r0 e0 c0 r1 e1 c1 f1 pid i seen=0
	shift 3
	read -r r0 e0 c0 _ < <(counters)
	t0=$(now_ms)
	"$@" >"$T/st.out" 2>"$T/st.err" &
	pid=$!
	ms_track_pid "$pid"
	# While the GETs hang, the daemon still answers (status comes from its loop) and shows them:
	# looked at once the store has taken the first GET of KEY (which it never answers: the job
	# stays in flight, or waits for its retry, until the last attempt has timed out).
	for ((i = 0; i < 100; i++)); do
		(($(ms_key_stat "$key" count) > 0)) && break
		ms_alive "$pid" || break
		sleep 0.1
	done
	# The reader still waiting after status answered means its fill was live when status was
	# asked (the daemon answers it only after the last attempt).
	read -r r1 e1 c1 f1 < <(counters)
	if (($(ms_key_stat "$key" count) == 0)); then
		ms_bad "$what: the store never saw a GET of $key (10 s)"
	elif ! ms_alive "$pid"; then
		ms_bad "$what: the reader ended before status could be asked about its stalled fill: nothing shown"
	else
		((f1 > 0)) && seen=1
		((seen)) || ms_bad "$what: status shows no chunk in flight while the store holds a GET of $key"
		((seen == 0)) || ms_ok "$what: while the store holds the GET, status answers: $f1 chunks in flight"
	fi
	wait "$pid" || rc=$?
	ms_untrack_pid "$pid"
	ms=$(($(now_ms) - t0))
	if ((rc == 0)); then
		ms_bad "$what: succeeded although every GET stalls"
	elif ((rc == 124 || rc == 137)); then
		ms_bad "$what: still waiting after $((ms / 1000)) s (killed by the 60 s safety timeout): the stall is not bounded"
	elif [[ $1 == ms_shim ]] && ! grep -q "Input/output error" "$T/st.err"; then
		ms_bad "$what: exit $rc without an I/O error: $(head -c 300 "$T/st.err")"
	elif ((ms < min_ms)); then
		ms_bad "$what: failed after $ms ms, before $retries attempts of ${timeout_s} s could time out"
	else
		ms_ok "$what: exit $rc after $ms ms (at least $min_ms)"
	fi
	[[ ! -s $T/st.out ]] || ms_bad "$what wrote $(stat -c %s "$T/st.out") bytes although no body byte arrived"
	if grep -Eq "$key.*$msg.*gave up after $retries attempts" "$T/st.err"; then
		ms_ok "$what: stderr: $(grep -E -m1 "$msg" "$T/st.err" | head -c 250)"
	else
		ms_bad "$what: the message does not name $key, '$msg' and the $retries attempts: $(head -c 300 "$T/st.err")"
	fi
	grep -Eq "fetching $key \[chunks [0-9-]+\]: $msg.*gave up after $retries attempts" "$log" ||
		ms_bad "$what: daemon.log has no clear final error for $key: $(grep "fetching $key" "$log" | tail -n 2)"
	grep -Eq "fetching $key \[chunks [0-9-]+\]: $msg.*retrying \(attempt 2\)" "$log" ||
		ms_bad "$what: daemon.log has no retry after the first timeout: $(grep "fetching $key" "$log" | head -n 2)"
	quiesce
	read -r r1 e1 c1 f1 < <(counters)
	((r1 > r0)) || ms_bad "$what: daemon.retries did not move ($r0) although every attempt timed out"
	((e1 > e0)) || ms_bad "$what: mount errors did not move ($e0) although the read failed"
	((c1 == c0)) || ms_bad "$what: cached bytes went $c0 -> $c1 although no body byte arrived"
	(($(stat -c %b "$tree/$key") == 0)) || ms_bad "$what: $key's cache file has blocks although no byte arrived"
	(($(ms_key_stat "$key" count) >= retries)) ||
		ms_bad "$what: the store saw $(ms_key_stat "$key" count) GETs of $key, want >= $retries"
	ms_ok "$what: retries +$((r1 - r0)), errors +$((e1 - e0)), nothing cached, $(ms_key_stat "$key" count) GETs of $key stalled"
}

# --- The server takes the request and never answers ------------------------------------------
ms_front_reset
ms_front_config '{"stall": true}'
stalled "cat, no response" st1.bin "timed out: no response from the server for $timeout_s s" \
	timeout -k 5 60 "$MS_BIN" cat --config "$MS_CONFIG" /models/st1.bin

# --- The server sends the headers, then never a body byte ---------------------------------------
ms_front_reset
ms_front_config '{"stall": "headers"}'
MS_SHIM_TIMEOUT=60 stalled "sha256sum under the shim, no body" st2.bin \
	"timed out: the body stalled after 0 of [0-9]+ bytes, under 1 KiB/s for $timeout_s s" \
	ms_shim sha256sum /models/st2.bin

# --- The server is back: the same daemon serves the right bytes --------------------------------
ms_front_config '{"stall": false}'
ms_front_reset
rc=0
ms_shim sha256sum /models/st1.bin /models/st2.bin >"$T/sum" 2>"$T/err" || rc=$?
(cd "$T/src" && sha256sum st1.bin st2.bin) | sed 's|  |  /models/|' >"$T/sum.want"
if ((rc == 0)) && cmp -s "$T/sum" "$T/sum.want"; then
	ms_ok "server back: sha256sum under the shim reads st1.bin and st2.bin right"
else
	ms_bad "server back: sha256sum exit $rc: $(tr '\n' ';' <"$T/sum"); $(head -c 200 "$T/err")"
fi
if [[ $(ms_daemon_pid) == "$dpid" ]]; then
	ms_ok "server back: the same daemon (pid $dpid) served it"
else
	ms_bad "the daemon changed across the stall: pid $dpid before, '$(ms_daemon_pid)' now"
fi

# --- A trickle: a body at 300 B/s would take an hour a chunk; it is a stall too -------------------
ms_front_config '{"rate": 300}'
t0=$(now_ms)
rc=0
timeout -k 5 60 "$MS_BIN" cat --config "$MS_CONFIG" /models/st3.bin >"$T/st3.out" 2>"$T/err" || rc=$?
ms=$(($(now_ms) - t0))
ms_front_config '{"rate": 0}'
quiesce # the trickle's readahead GETs fail after cat did: their errors are not the next case's
if ((rc == 124 || rc == 137)); then
	ms_bad "trickle at 300 B/s: cat still reading after $ms ms (killed by the 60 s safety timeout): a trickle is not treated as a stall"
elif ((rc != 0 && ms >= min_ms)) && grep -q "under 1 KiB/s for $timeout_s s" "$T/err"; then
	ms_ok "trickle at 300 B/s: cat fails after $ms ms: $(head -c 160 "$T/err")"
else
	ms_bad "trickle at 300 B/s: exit $rc after $ms ms (at least $min_ms), want a failure saying 'under 1 KiB/s for $timeout_s s': $(head -c 200 "$T/err")"
fi
[[ $(ms_daemon_pid) == "$dpid" ]] || ms_bad "the daemon changed: pid $dpid, now '$(ms_daemon_pid)'"

# --- One stalled GET: one retry after the timeout, and the read is right -----------------------
ms_front_reset
read -r r0 e0 _ _ < <(counters)
ms_front_config '{"stall": true, "fail": 1}'
t0=$(now_ms)
rc=0
timeout -k 5 60 "$MS_BIN" cat --config "$MS_CONFIG" /models/st3.bin >"$T/st3.out" 2>"$T/err" || rc=$?
ms=$(($(now_ms) - t0))
if ((rc == 0)) && cmp -s "$T/st3.out" "$T/src/st3.bin"; then
	ms_ok "one stalled GET: cat reads st3.bin right after $ms ms"
else
	ms_bad "one stalled GET: exit $rc after $ms ms, $(ms_why_differs "$T/st3.out" "$T/src/st3.bin"); $(head -c 200 "$T/err")"
fi
((ms >= timeout_s * 1000 - 500)) || ms_bad "one stalled GET: the read took $ms ms, less than the ${timeout_s} s timeout it had to wait out"
[[ $(ms_stat injected) == 1 ]] || ms_bad "one stalled GET: the front stalled $(ms_stat injected) GETs, want 1"
read -r r1 e1 c1 f1 < <(counters)
((r1 - r0 == 1)) || ms_bad "one stalled GET: daemon.retries +$((r1 - r0)), want +1"
((e1 == e0)) || ms_bad "one stalled GET: mount errors +$((e1 - e0)) although the read succeeded"
[[ $(ms_daemon_pid) == "$dpid" ]] || ms_bad "the daemon changed: pid $dpid, now '$(ms_daemon_pid)'"
ms_done
