#!/usr/bin/env bash
# t-gc-lock: the cluster GC lock ([gc] lock = etcd) on an etcd of the test's own (127.0.0.1, own
# ports and data dir, stopped by PID). Eight `modelshim gc` on two nodes (four each, every pass
# held 300 ms) never overlap: their monotonic start/end times, sorted, never interleave. A holder
# killed with -9 frees the lock within its TTL (3 s): the next gc runs within a bounded wait.
# With etcd down, gc under the lock refuses with one clear line and runs nothing; a node without
# [gc] lock runs gc as before.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
	ms_fail "etcd or etcdctl is not installed (scripts/setup installs etcd-server and etcd-client)"

cport=$(ms_free_port)
pport=$(ms_free_port)
ep=http://127.0.0.1:$cport
etcd --name gc-test --data-dir "$T/etcd" --listen-client-urls "$ep" --advertise-client-urls "$ep" \
	--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
	--initial-cluster "gc-test=http://127.0.0.1:$pport" >"$T/etcd.log" 2>&1 </dev/null &
etcd_pid=$!
ms_track_pid "$etcd_pid"
for ((i = 0; i < 100; i++)); do
	etcdctl --endpoints="$ep" --dial-timeout=1s endpoint health >/dev/null 2>&1 && break
	sleep 0.1
done
((i < 100)) || ms_fail "etcd did not start: $(tail -n 3 "$T/etcd.log")"

# node NAME [GC-SECTION]: $T/NAME.ini, its own cache dir (quota 64M), a daemon started and tracked.
FRONT_ENDPOINT=http://127.0.0.1:9 # gc never reaches the store
node() {
	ms_write_config "$T/$1.ini" "size = 64M"
	sed -i "s|^dir = .*|dir = $T/cache-$1|" "$T/$1.ini"
	MS_CACHE_DIR=$T/cache-$1
	[[ -z ${2:-} ]] || printf '\n[gc]\n%b' "$2" >>"$T/$1.ini"
	ms_daemon_start
}
lock="lock = etcd\netcd_endpoints = $ep\nlock_ttl = 3s\n"
node a "$lock"
node b "$lock"

# Eight gcs at once on two nodes: none may overlap another.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	n=$([[ $((i % 2)) == 0 ]] && echo a || echo b)
	MODELSHIM_GC_HOLD_MS=300 MODELSHIM_GC_TRACE=$T/trace "$MS_BIN" gc --config "$T/$n.ini" >"$T/gc$i.out" 2>&1 &
	pids+=($!)
	ms_track_pid "$!"
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || ms_fail "gc $((i + 1)) under the lock failed: $(cat "$T/gc$((i + 1)).out")"
done
"$MS_PY" - "$T/trace" <<'PY' || ms_fail "gcs under the cluster lock overlapped (trace above)"
import sys
runs = sorted(tuple(map(int, l.split()[:2])) for l in open(sys.argv[1]))
assert len(runs) == 8, f"{len(runs)} passes traced, want 8"
for (s0, e0), (s1, e1) in zip(runs, runs[1:]):
    if s1 < e0:
        sys.exit(f"a pass started at {s1} before the one started at {s0} ended at {e0}")
PY
ms_ok "8 gcs on 2 nodes under [gc] lock = etcd ran one at a time (monotonic start/end, in order)"

# A holder killed with -9 (etcdctl, whose lease then lapses): the next gc runs within the TTL.
MODELSHIM_GC_HOLD_MS=30000 "$MS_BIN" gc --config "$T/a.ini" >"$T/holder.out" 2>&1 &
holder=$!
ms_track_pid "$holder"
for ((i = 0; i < 100; i++)); do
	[[ -n $(etcdctl --endpoints="$ep" get --prefix --keys-only modelshim-gc 2>/dev/null) ]] && break
	sleep 0.1
done
((i < 100)) || ms_fail "the holder did not take the lock: $(cat "$T/holder.out")"
inner=$(pgrep -P "$holder") || ms_fail "the holder runs no gc under the lock"
kill -KILL "$holder" "$inner"
ms_wait_gone "$holder" 50 || ms_fail "the holder survived SIGKILL"
ms_wait_gone "$inner" 50 || ms_fail "the holder's gc survived SIGKILL"
"$MS_BIN" gc --config "$T/b.ini" >"$T/next.out" 2>&1 &
next=$!
ms_track_pid "$next"
ms_wait_gone "$next" 150 || ms_fail "the lock of a killed holder was not freed within 15 s (lock_ttl 3s)"
wait "$next" || ms_fail "the gc after a killed holder failed: $(cat "$T/next.out")"
ms_ok "a holder killed with -9 freed the lock within its TTL: the next gc ran"

# No lock configured: gc as before, with or without etcd.
kill -TERM "$etcd_pid"
ms_wait_gone "$etcd_pid" 100 || ms_fail "etcd did not stop"
node c
"$MS_BIN" gc --config "$T/c.ini" >"$T/c.out" 2>&1 || ms_fail "gc without a lock failed: $(cat "$T/c.out")"
grep -q "^gc: evicted" "$T/c.out" || ms_fail "gc without a lock: $(cat "$T/c.out")"
ms_ok "a node without [gc] lock runs gc as before: $(head -n 1 "$T/c.out")"

# etcd down, lock configured: one clear line, no gc.
lines=$(wc -l <"$T/trace")
rc=0
MODELSHIM_GC_TRACE=$T/trace "$MS_BIN" gc --config "$T/a.ini" >"$T/down.out" 2>"$T/down.err" || rc=$?
((rc == 1)) || ms_fail "gc with etcd down exited $rc, want 1"
(($(wc -l <"$T/down.err") == 1)) || ms_fail "gc with etcd down said more than one line: $(cat "$T/down.err")"
grep -q "does not answer.*gc not run" "$T/down.err" || ms_fail "gc with etcd down: $(cat "$T/down.err")"
(($(wc -l <"$T/trace") == lines)) || ms_fail "gc ran with etcd down"
ms_ok "with etcd down, gc under the lock refuses in one line: $(cat "$T/down.err")"
