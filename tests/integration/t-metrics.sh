#!/usr/bin/env bash
# t-metrics: the daemon's Prometheus endpoint ([cache] metrics = HOST:PORT). Off by default (no
# listening TCP socket); on: /healthz and /readyz answer 200, a scrape taken while a throttled
# cold fill runs passes `promtool check metrics`, the counters move by what the reads did (bytes
# fetched = the object's size, chunks filled = its chunks, requests and fill latencies counted)
# and agree with `status --json`; a bad value and a port in use stop the start with a clear
# message. No timing assertions: every wait is a bounded poll.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
command -v promtool >/dev/null || ms_fail "promtool is missing (Debian's prometheus package: scripts/setup installs it)"

# free_port: a TCP port of 127.0.0.1 nobody listens on now.
free_port() {
	"$MS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# listening PID: the TCP ports PID listens on, "ADDR:PORT" per line (from its socket inodes and
# /proc/net/tcp{,6}), nothing if none.
listening() {
	"$MS_PY" - "$1" <<'PY'
import os, socket, struct, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        t = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
for name, fam in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
    for line in open(f"/proc/net/{name}").readlines()[1:]:
        f = line.split()
        if f[3] != "0A" or f[9] not in inodes:  # 0A: LISTEN
            continue
        addr, port = f[1].split(":")
        raw = bytes.fromhex(addr)
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
        print(f"{socket.inet_ntop(fam, raw)}:{int(port, 16)}")
PY
}

# scrape FILE: GET /metrics into FILE (fails the test on anything but 200).
scrape() {
	local code
	code=$(curl -s -m 10 -o "$1" -w '%{http_code}' "http://127.0.0.1:$port/metrics") || code="no answer"
	[[ $code == 200 ]] || ms_fail "GET /metrics: $code"
}

# metric FILE NAME [LABELS]: the value of the sample NAME{LABELS} (NAME alone when no LABELS) in
# FILE; fails the test when there is no such sample.
metric() {
	local sel=$2 v
	[[ -z ${3:-} ]] || sel="$2{$3}"
	v=$(awk -v s="$sel" '$1 == s { print $2; n++ } END { exit n != 1 }' "$1") ||
		ms_fail "no single sample $sel in the scrape $1"
	echo "$v"
}

ML='mount="models",tenant="default"'

ms_start_s3
mkdir -p "$T/src"
big=$((24 * 1048576 + 4321)) # 25 chunks of 1 MiB
head -c "$big" /dev/urandom >"$T/src/big.bin"
head -c $((3 * 1048576 + 5)) /dev/urandom >"$T/src/small.bin"
ms_put "$T/src"

# Off by default: the daemon listens on no TCP port.
ms_write_config "$T/ms.ini"
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
ms_daemon_start
socks=$(listening "$MS_DAEMON_PID")
[[ -z $socks ]] || ms_fail "without [cache] metrics the daemon listens on TCP: $socks"
ms_ok "metrics off by default: the daemon listens on no TCP port"
ms_daemon_stop

# A bad value: the daemon does not start, and says what is wrong with which line.
rc=0
ms_write_config "$T/bad.ini" "metrics = localhost:9464"
timeout -k 5 20 "$MS_BIN" daemon --config "$T/bad.ini" >"$T/bad.out" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || ms_fail "a daemon with 'metrics = localhost:9464' did not fail at start (exit $rc)"
grep -q "bad.ini:[0-9]*: \[cache\] metrics: 'localhost:9464': 'localhost' is not a numeric" "$T/bad.out" ||
	ms_fail "no clear message for 'metrics = localhost:9464': $(head -c 400 "$T/bad.out")"
ms_ok "metrics = localhost:9464 refused: $(head -n 1 "$T/bad.out")"

# The port in use: the start fails, naming the address and why.
port=$(free_port)
"$MS_PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("listening", flush=True); time.sleep(120)' "$port" >"$T/holder.out" 2>&1 &
holder=$!
ms_track_pid "$holder"
for ((k = 0; k < 100; k++)); do
	grep -q listening "$T/holder.out" && break
	sleep 0.1
done
grep -q listening "$T/holder.out" || ms_fail "the port holder did not listen on $port"
ms_write_config "$T/busy.ini" "metrics = 127.0.0.1:$port"
rc=0
timeout -k 5 20 "$MS_BIN" daemon --config "$T/busy.ini" >"$T/busy.out" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || ms_fail "a daemon whose metrics port is taken did not fail at start (exit $rc)"
grep -q "cannot listen on 127.0.0.1:$port: Address already in use" "$T/busy.out" ||
	ms_fail "no clear message for a metrics port in use: $(head -c 400 "$T/busy.out")"
[[ ! -S $MS_CACHE_DIR/daemon.sock ]] || ms_fail "the failed daemon left its socket behind"
ms_ok "metrics port in use refused: $(grep -m 1 'cannot listen' "$T/busy.out")"
kill "$holder"
ms_wait_gone "$holder" 50 || ms_fail "the port holder (pid $holder) did not exit"
ms_untrack_pid "$holder"

# On, at a free port of 127.0.0.1.
port=$(free_port)
ms_write_config "$T/ms.ini" "metrics = 127.0.0.1:$port"
ms_daemon_start
socks=$(listening "$MS_DAEMON_PID")
[[ $socks == "127.0.0.1:$port" ]] || ms_fail "the daemon listens on '$socks', not only on 127.0.0.1:$port"
for path in healthz readyz; do
	out=$(curl -s -m 10 -w ' %{http_code}' "http://127.0.0.1:$port/$path" | tr -d '\n') || ms_fail "GET /$path: no answer"
	[[ $out == *" 200" ]] || ms_fail "GET /$path: $out"
	ms_ok "/$path: $out"
done
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing") || true
[[ $code == 404 ]] || ms_fail "GET /nothing: $code, not 404"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics") || true
[[ $code == 405 ]] || ms_fail "POST /metrics: $code, not 405"
scrape "$T/m0.txt"
promtool check metrics <"$T/m0.txt" >"$T/promtool0.out" 2>&1 ||
	ms_fail "promtool check metrics on an idle daemon's scrape: $(cat "$T/promtool0.out")"
ms_ok "an idle scrape passes promtool check metrics ($(grep -c '^modelshim_' "$T/m0.txt") samples)"

# A cold fill of big.bin at 4 MiB/s; a scrape while chunks are in flight passes promtool.
ms_front_config '{"rate": 4194304}'
timeout -k 5 120 "$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin >"$T/big.out" 2>"$T/cat.err" &
reader=$!
ms_track_pid "$reader"
during=
for ((k = 0; k < 300; k++)); do
	scrape "$T/m1.txt"
	inflight=$(metric "$T/m1.txt" modelshim_chunks_in_flight)
	fetched=$(metric "$T/m1.txt" modelshim_fetched_bytes_total "$ML")
	if ((inflight > 0 && fetched > 0 && fetched < big)); then
		during=1
		break
	fi
	ms_alive "$reader" || break
	sleep 0.05
done
[[ -n $during ]] || ms_fail "no scrape saw the cold fill of big.bin in flight (last: $inflight chunks in flight, $fetched bytes)"
promtool check metrics <"$T/m1.txt" >"$T/promtool1.out" 2>&1 ||
	ms_fail "promtool check metrics on a scrape during a cold fill: $(cat "$T/promtool1.out")"
ms_ok "a scrape during the cold fill ($inflight chunks in flight, $fetched of $big bytes) passes promtool check metrics"
ms_front_config '{"rate": 0}'
rc=0
wait "$reader" || rc=$?
ms_untrack_pid "$reader"
((rc == 0)) || ms_fail "modelshim cat /models/big.bin failed (exit $rc): $(head -c 300 "$T/cat.err")"
cmp -s "$T/big.out" "$T/src/big.bin" || ms_fail "big.bin read wrong: $(ms_why_differs "$T/big.out" "$T/src/big.bin")"

# The counters moved by what the read did.
scrape "$T/m2.txt"
promtool check metrics <"$T/m2.txt" >"$T/promtool2.out" 2>&1 ||
	ms_fail "promtool check metrics after the fill: $(cat "$T/promtool2.out")"
d() { # d NAME [LABELS]: NAME's change from m0 to m2
	echo $(($(metric "$T/m2.txt" "$@") - $(metric "$T/m0.txt" "$@")))
}
v=$(d modelshim_fetched_bytes_total "$ML")
((v == big)) || ms_fail "fetched bytes moved by $v, not by big.bin's $big"
v=$(d modelshim_chunks_filled_total "$ML")
((v == 25)) || ms_fail "chunks filled moved by $v, not by big.bin's 25 chunks"
v=$(metric "$T/m2.txt" modelshim_cache_bytes)
((v == big)) || ms_fail "cache bytes: $v, not big.bin's $big"
v=$(metric "$T/m2.txt" modelshim_mount_cached_objects "$ML")
((v == 1)) || ms_fail "cached objects of mount models: $v, not 1"
for m in modelshim_requests_total "modelshim_fill_requests_total|$ML" \
	"modelshim_chunk_requests_total|$ML,result=\"miss\"" 'modelshim_store_requests_total|op="GET"' \
	modelshim_fill_duration_seconds_count 'modelshim_fill_duration_seconds_bucket|le="+Inf"'; do
	if [[ $m == *"|"* ]]; then
		v=$(d "${m%%|*}" "${m#*|}")
	else
		v=$(d "$m")
	fi
	((v >= 1)) || ms_fail "${m/|/ } did not move with a cold read (by $v)"
done
v=$(metric "$T/m2.txt" modelshim_chunks_in_flight)
((v == 0)) || ms_fail "$v chunks in flight after the read ended"
ms_ok "after the cold read: fetched bytes +$big, chunks filled +25, cache bytes $big; requests +$(d modelshim_requests_total), GETs +$(d modelshim_store_requests_total 'op="GET"'), fill latencies +$(d modelshim_fill_duration_seconds_count)"

# The same numbers as status --json.
read -r s_req s_fills s_bytes s_gets s_cached < <(ms_status_fields daemon.requests daemon.fills \
	daemon.bytes_fetched daemon.gets daemon.cached_bytes)
scrape "$T/m3.txt"
[[ "$(metric "$T/m3.txt" modelshim_requests_total) $(metric "$T/m3.txt" modelshim_chunks_filled_total "$ML") $(metric "$T/m3.txt" modelshim_fetched_bytes_total "$ML") $(metric "$T/m3.txt" modelshim_store_requests_total 'op="GET"') $(metric "$T/m3.txt" modelshim_cache_bytes)" == "$s_req $s_fills $s_bytes $s_gets $s_cached" ]] ||
	ms_fail "metrics and status --json disagree: status says requests fills bytes gets cached = $s_req $s_fills $s_bytes $s_gets $s_cached"
ms_ok "metrics agree with status --json (requests $s_req, fills $s_fills, bytes $s_bytes, GETs $s_gets, cached $s_cached)"

# A read of the complete file fetches nothing; a cold small.bin moves the counters by its size.
"$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin | cmp -s - "$T/src/big.bin" || ms_fail "warm read of big.bin wrong"
"$MS_BIN" warmup -q --config "$MS_CONFIG" /models/small.bin >"$T/warmup.out" 2>&1 ||
	ms_fail "warmup of small.bin failed: $(head -c 300 "$T/warmup.out")"
scrape "$T/m4.txt"
v=$(($(metric "$T/m4.txt" modelshim_fetched_bytes_total "$ML") - $(metric "$T/m3.txt" modelshim_fetched_bytes_total "$ML")))
((v == 3 * 1048576 + 5)) || ms_fail "a warm read of big.bin and a warm-up of small.bin fetched $v bytes, not small.bin's $((3 * 1048576 + 5))"
v=$(($(metric "$T/m4.txt" modelshim_chunks_filled_total "$ML") - $(metric "$T/m3.txt" modelshim_chunks_filled_total "$ML")))
((v == 4)) || ms_fail "chunks filled moved by $v, not by small.bin's 4"
ms_ok "a warm read fetched nothing; a warm-up of small.bin: +$((3 * 1048576 + 5)) bytes, +4 chunks"

# Stopped cleanly, and the port is closed with it.
ms_daemon_stop
((MS_DAEMON_RC == 0)) || ms_fail "the daemon exited $MS_DAEMON_RC on SIGTERM"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz") || true
[[ $code == 000 ]] || ms_fail "GET /healthz answered $code after the daemon stopped"
ms_ok "stopped (exit 0); the metrics port is closed"

# Two mounts of two tenants: one series per mount, labelled with its mount and tenant; a
# tenant's quota when it has one. Still lint-clean.
port=$(free_port)
ms_write_two_tenants "$T/two.ini" "size = 256M\nmetrics = 127.0.0.1:$port" '[tenant "alpha"]\nsize = 64M\n'
ms_daemon_start
scrape "$T/m5.txt"
promtool check metrics <"$T/m5.txt" >"$T/promtool5.out" 2>&1 ||
	ms_fail "promtool check metrics with two tenants: $(cat "$T/promtool5.out")"
for s in 'modelshim_fetched_bytes_total|mount="a",tenant="alpha"' 'modelshim_fetched_bytes_total|mount="b",tenant="beta"' \
	'modelshim_chunk_requests_total|mount="b",tenant="beta",result="hit"' \
	'modelshim_mount_cache_bytes|mount="a",tenant="alpha"'; do
	metric "$T/m5.txt" "${s%%|*}" "${s#*|}" >/dev/null # fails the test if the series is absent
done
[[ $(metric "$T/m5.txt" modelshim_tenant_quota_bytes 'tenant="alpha"') == $((64 * 1048576)) ]] ||
	ms_fail "tenant alpha's quota is not 64M in the scrape"
[[ $(metric "$T/m5.txt" modelshim_cache_quota_bytes) == $((256 * 1048576)) ]] ||
	ms_fail "the cache quota is not 256M in the scrape"
! grep -q 'tenant="beta"}' <(grep '^modelshim_tenant_quota_bytes' "$T/m5.txt") ||
	ms_fail "tenant beta, which has no quota, has a quota series"
ms_ok "two tenants: a series per mount labelled mount and tenant, alpha's quota 64M, the cache's 256M; promtool check metrics passes"
ms_daemon_stop
