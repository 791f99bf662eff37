#!/usr/bin/env bash
# t-diskfull: the cache's file system fills up before the quota does (issue 7, part B). The cache
# dir is on a 48 MiB tmpfs, the quota 1G, the data set 72 MiB. (1, min_free = 0) reading it all
# evicts to make room instead of failing; when the disk fills under a fill in flight (another
# file takes the space) the program gets EIO with a clear message, never zeros, and the chunks
# whose writes failed are neither marked present nor left allocated. (2, min_free = 20%) with
# everything pinned by an open reader a new read fails with EIO and "cache full"; once that
# reader dies the same read succeeds. Throughout: the daemon keeps running (same PID), every
# present chunk holds the source's bytes, the daemon's cached bytes are the maps' sum, and in the
# end everything reads back with the source's sha256.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

small=$T/small
mounted=0
# Processes holding files on the tmpfs are stopped before it is unmounted; then lib.sh cleans up.
df_cleanup() {
	local rc=$? p
	set +e
	if ((mounted)); then
		p=$(ms_daemon_pid)
		[[ -z $p ]] || ms_track_pid "$p"
		for p in "${MS_PIDS[@]}"; do
			[[ $(ms_proc_start "${p%%:*}") == "${p#*:}" ]] || continue
			kill -TERM "${p%%:*}" 2>/dev/null
			ms_wait_gone "${p%%:*}" 50 || kill -KILL "${p%%:*}" 2>/dev/null
			ms_wait_gone "${p%%:*}" 20
		done
		umount "$small" 2>/dev/null || umount -l "$small"
	fi
	(exit "$rc")
	ms_cleanup
}
trap df_cleanup EXIT
mkdir -p "$small"
mount -t tmpfs -o size=48m,mode=0700 tmpfs "$small" 2>/dev/null || ms_skip "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)"
mounted=1
fs_bytes=$((48 * 1048576))

ms_start_s3
mkdir -p "$T/src"
for i in 1 2 3 4 5 6; do head -c $((12 * 1048576 + i * 1000)) /dev/urandom >"$T/src/o$i.bin"; done
ms_put "$T/src"
keys=(o1.bin o2.bin o3.bin o4.bin o5.bin o6.bin)

# config MIN_FREE: quota 1G (over the file system's 48M), chunk 1M, the cache dir on the tmpfs.
config() {
	ms_write_config "$T/ms.ini" "size = 1G" "min_free = $1"
	MS_CACHE_DIR=$small/cache
	sed -i "s|^dir = .*|dir = $MS_CACHE_DIR|" "$T/ms.ini"
}
config 0
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"

# reader.py SRC OUT: copies SRC to OUT in 1 MiB reads; on an error, exits 10 + errno (15: EIO).
cat >"$T/reader.py" <<'PY'
import sys
with open(sys.argv[1], "rb", buffering=0) as f, open(sys.argv[2], "wb") as out:
    while True:
        try:
            b = f.read(1 << 20)
        except OSError as e:
            print(f"reader: {sys.argv[1]}: {e}", file=sys.stderr)
            sys.exit(10 + e.errno)
        if not b:
            break
        out.write(b)
PY
daemon_json() { ms_status_fields "daemon.$1"; }
settle() { # bounded wait (20 s) until no fill is in flight
	local i
	for ((i = 0; i < 200; i++)); do
		"$MS_BIN" status --config "$T/ms.ini" | grep -q ' 0 chunks in flight' && return 0
		sleep 0.1
	done
	ms_fail "fills still in flight after 20 s"
}
verify() { # verify WHEN: maps, allocation and accounting
	local present excess nb c out
	settle
	# Maps, present bytes and pages allocated beyond them (tests/cache-audit.py).
	out=$(python3 "$MS_TOP/tests/cache-audit.py" "$MS_CONFIG" "$T/src" "$T/check.bad" --alloc) ||
		ms_fail "$1: cache-audit.py failed"
	read -r _ _ _ present _ excess nb <<<"$out"
	((nb == 0)) || {
		cat "$T/check.bad" >&2
		ms_fail "$1: $nb objects with wrong present bytes, a bad map, or blocks allocated for chunks not present ($excess bytes)"
	}
	c=$(daemon_cached)
	((c == present)) || ms_fail "$1: the daemon accounts $c cached bytes, the maps hold $present"
	((present <= fs_bytes)) || ms_fail "$1: $present bytes present on a $fs_bytes-byte file system?"
	v_present=$present
}
daemon_cached() { daemon_json cached_bytes; }
# read_ok KEY: KEY through the shim, right bytes.
read_ok() {
	local rc=0
	ms_shim python3 "$T/reader.py" "/models/$1" "$T/out" 2>"$T/reader.err" || rc=$?
	((rc == 0)) || ms_fail "reading /models/$1 failed (exit $rc): $(cat "$T/reader.err")"
	cmp -s "$T/out" "$T/src/$1" || ms_fail "/models/$1 read wrong: $(ms_why_differs "$T/out" "$T/src/$1")"
}
# read_eio KEY WHAT: KEY through the shim fails with EIO, a message matching WHAT on stderr, and
# what it read before is a correct prefix.
read_eio() {
	local rc=0 got
	ms_shim python3 "$T/reader.py" "/models/$1" "$T/out" 2>"$T/reader.err" || rc=$?
	((rc == 15)) || ms_fail "reading /models/$1: exit $rc, not 15 (EIO): $(cat "$T/reader.err")"
	grep -Eq "$2" "$T/reader.err" || ms_fail "reading /models/$1: no '$2' on stderr: $(cat "$T/reader.err")"
	got=$(stat -c %s "$T/out")
	((got < $(stat -c %s "$T/src/$1"))) || ms_fail "reading /models/$1 failed but wrote it all"
	cmp -s -n "$got" "$T/out" "$T/src/$1" || ms_fail "the $got bytes read before EIO are wrong: $(ms_why_differs "$T/out" "$T/src/$1")"
	eio_got=$got
}
shim_bg() { # shim_bg CMD...: CMD under the shim in the background, its PID in $bgpid (tracked)
	env LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$T/ms.ini" ASAN_OPTIONS=detect_leaks=0 "$@" &
	bgpid=$!
	ms_track_pid "$bgpid"
}
present_chunks() { # present_chunks KEY: chunks marked present in KEY's map
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 40)[0]
print(sum(bin(b).count("1") for b in d[208:208 + (n + 7) // 8]))' "$(ms_cache_path "$1" state)"
}

# (1a) min_free = 0, quota 1G: 72 MiB through a 48 MiB file system. Fills evict to make room.
ms_daemon_start
pid=$MS_DAEMON_PID
for k in "${keys[@]}"; do read_ok "$k"; done
verify "after reading 72 MiB"
ev=$(daemon_json evictions)
((ev >= 2)) || ms_fail "72 MiB read through a 48 MiB file system with only $ev evictions"
! grep -q 'cache write failed' "$T/daemon.log" || ms_fail "writes failed although fills could evict: $(grep -m1 'cache write failed' "$T/daemon.log")"
ms_ok "min_free 0: 72 MiB read right through a 48 MiB file system (quota 1G): $ev evictions, no failed write, $v_present bytes cached"

# (1b) The disk fills under a fill in flight: another file takes the free space while the store
# sends o1 slowly. The reader gets EIO, never zeros; nothing half-written stays.
"$MS_BIN" gc --config "$T/ms.ini" --target 0 >/dev/null || ms_fail "gc --target 0 failed"
ms_front_config '{"rate": 2097152}'
shim_bg python3 "$T/reader.py" /models/o1.bin "$T/out1"
rpid=$bgpid
for ((i = 0; i < 100; i++)); do
	(($(present_chunks o1.bin) >= 2)) && break
	sleep 0.1
done
((i < 100)) || ms_fail "o1.bin got no 2 chunks within 10 s"
# All but 300 KiB: the next chunk's write is short, the ones after it fail with ENOSPC. The fill
# goes on meanwhile and may take those 300 KiB first: then the filler itself meets ENOSPC, which
# is as good (what counts is that the disk is full under the fill, checked just below).
avail=$(df --output=avail -B1 "$small" | tail -n 1 | tr -d ' ')
head -c $((avail - 300 * 1024)) /dev/zero 2>/dev/null >"$small/filler" || true
avail=$(df --output=avail -B1 "$small" | tail -n 1 | tr -d ' ')
((avail < 1048576)) || ms_fail "the filler left $avail bytes free"
ms_front_config '{"rate": 0}'
ms_wait_gone "$rpid" 300 || ms_fail "the reader did not end within 30 s of the disk filling"
rc=0
wait "$rpid" || rc=$?
ms_untrack_pid "$rpid"
((rc == 15)) || ms_fail "the reader of o1.bin on a full disk: exit $rc, not 15 (EIO)"
got=$(stat -c %s "$T/out1")
cmp -s -n "$got" "$T/out1" "$T/src/o1.bin" || ms_fail "the $got bytes read before EIO are wrong: $(ms_why_differs "$T/out1" "$T/src/o1.bin")"
grep -Eq 'cache write failed for o1.bin: (No space left on device|only [0-9]+ bytes of a piece written)' "$T/daemon.log" ||
	ms_fail "no failed write of o1.bin in the daemon log: $(tail -n 5 "$T/daemon.log")"
verify "after writes failed on a full disk"
ms_ok "disk filled under a fill: EIO after $got right bytes, '$(grep -m1 -o 'cache write failed for o1.bin: .*' "$T/daemon.log")' in the daemon log; no failed chunk marked present or left allocated"
# Not a page left: eviction must still free o1's chunks (its new map is written once they are gone).
head -c "$fs_bytes" /dev/zero >"$small/filler2" 2>/dev/null || true
((avail = $(df --output=avail -B1 "$small" | tail -n 1 | tr -d ' '), avail < 4096)) || ms_fail "filler2 left $avail bytes free"
"$MS_BIN" gc --config "$T/ms.ini" --target 0 >"$T/gc.full" 2>&1 || ms_fail "gc on a full disk failed: $(cat "$T/gc.full")"
freed=$(df --output=avail -B1 "$small" | tail -n 1 | tr -d ' ')
# o1 holds at least 2 chunks; its new map takes back a page.
if ! grep -q 'evicted 1 objects' "$T/gc.full" || ((freed < 1048576)); then
	ms_fail "gc on a full disk freed only $freed bytes: $(cat "$T/gc.full")"
fi
verify "after gc on a full disk"
ms_ok "on a 100% full disk gc still evicts: $freed bytes free after it ($(cat "$T/gc.full"))"
rm -f "$small/filler" "$small/filler2"
read_ok o1.bin
verify "after the disk had room again"
[[ $(ms_daemon_pid) == "$pid" ]] || ms_fail "the daemon $pid did not survive the full disk (now: '$(ms_daemon_pid)')"
ms_ok "with room again o1.bin reads right; the daemon (pid $pid) survived"

# (2) min_free = 20%, nothing evictable: a reader pins o1, o2 and o3 (36 MiB, read whole while
# open); 48 MiB less 20% leaves no room for o4. This daemon is started by a client (gc), as in
# production: it logs to DIR/daemon.log.
ms_daemon_stop
config 20%
"$MS_BIN" gc --config "$T/ms.ini" --target 0 >/dev/null || ms_fail "gc --target 0 failed"
pid=$(ms_daemon_pid)
[[ -n $pid ]] || ms_fail "gc started no daemon"
ms_track_pid "$pid"
shim_bg python3 -c '
import sys, time
fs = [open("/models/o%d.bin" % i, "rb", buffering=0) for i in (1, 2, 3)]
for f in fs:
    while f.read(1 << 20):
        pass
open(sys.argv[1], "w").close()
time.sleep(30)' "$T/pin.ready"
ppid=$bgpid
for ((i = 0; i < 200; i++)); do [[ -e $T/pin.ready ]] && break; ms_alive "$ppid" || break; sleep 0.1; done
[[ -e $T/pin.ready ]] || ms_fail "the pinning reader did not read o1-o3 within 20 s"
read_eio o4.bin 'cache full'
grep -q 'cache full: .*nothing left that may be evicted' "$MS_CACHE_DIR/daemon.log" || ms_fail "no 'cache full' in DIR/daemon.log"
verify "after the refused read"
ms_ok "all pinned: reading o4 fails with EIO after $eio_got right bytes; stderr: $(grep -m1 -o 'cache full.*' "$T/reader.err")"
kill -KILL "$ppid"
ms_wait_gone "$ppid" 50 || ms_fail "the pinning reader survived SIGKILL"
ms_untrack_pid "$ppid"
read_ok o4.bin
ms_ok "once the pinning reader died, o4 reads right (the daemon evicted to make room)"

# In the end every object reads right, the daemon is the same, and nothing is left over.
for k in "${keys[@]}"; do
	ms_shim sha256sum "/models/$k" | cut -d' ' -f1 >"$T/got.sha" || ms_fail "sha256sum /models/$k through the shim failed"
	[[ $(cat "$T/got.sha") == "$(sha256sum <"$T/src/$k" | cut -d' ' -f1)" ]] || ms_fail "/models/$k: wrong sha256"
done
verify "at the end"
[[ $(ms_daemon_pid) == "$pid" ]] || ms_fail "the daemon $pid did not survive (now: '$(ms_daemon_pid)')"
[[ -z $(ls -A "$MS_CACHE_DIR/tmp") ]] || ms_fail "leftovers in DIR/tmp"
ms_ok "all 6 objects read with the source's sha256; daemon $pid alive; $(daemon_json evictions) evictions, $v_present bytes cached"
