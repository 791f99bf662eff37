#!/usr/bin/env bash
# t-crash-evict: crash safety of eviction (issue 7, part A). (1) The daemon is SIGKILLed in the
# middle of `modelshim gc` passes (an adaptive random delay aims each kill inside the pass) and
# of warm-ups past the quota (admission evicts): after each restart every map names its data
# file and every chunk marked present holds the source's bytes, DIR/tmp holds no leftovers, the
# daemon's cached bytes are the sum of the present chunks, and in the end every object reads back
# right. (2) Shim readers that hold incomplete objects open (pins) are SIGKILLed, one of them
# while its fill is in flight: the pins held while they lived, and one GC pass afterwards evicts
# everything down to the target with the disk blocks released.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ -n ${MS_PRELOAD:-} ]] || ms_skip "MS_PRELOAD is not set (run under ctest)"
[[ ! -e /models ]] || ms_skip "/models exists on this host: the virtual prefix must not exist on disk"

export MS_CHUNK=64K
chunk=65536
ms_start_s3
# 200 small objects (1 to 3 chunks, most with a short last chunk), two of 8 chunks and a bit,
# two of 64 chunks.
nsmall=200
mkdir -p "$T/src/d1" "$T/src/d2"
for ((i = 1; i <= nsmall; i++)); do
	head -c $(((i % 3 + 1) * chunk - i * 7)) /dev/urandom >"$T/src/d$((i % 2 + 1))/o$i.bin"
done
head -c $((8 * chunk + 100)) /dev/urandom >"$T/src/mid1.bin"
head -c $((8 * chunk + 100)) /dev/urandom >"$T/src/mid2.bin"
head -c $((64 * chunk)) /dev/urandom >"$T/src/big1.bin"
head -c $((64 * chunk)) /dev/urandom >"$T/src/big2.bin"
nobj=$((nsmall + 4))
pinkeys="mid1.bin mid2.bin big1.bin big2.bin"
ms_put "$T/src"
ms_write_config "$T/ms.ini" "size = 1G" "min_free = 0"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
ms_daemon_start
tree=$MS_CACHE_DIR/tenants/default/models/tree

# check: "OBJECTS COMPLETE PARTIAL PRESENT_BYTES ALLOCATED_BYTES EXCESS BAD" (tests/cache-audit.py).
check() { python3 "$MS_TOP/tests/cache-audit.py" "$MS_CACHE_DIR" "$T/src" "$T/check.bad" || ms_fail "cache-audit.py failed"; }
daemon_cached() { ms_status_fields daemon.cached_bytes; }
# verify WHEN: the invariants that must hold whenever a daemon serves (after a restart, a pass).
verify() {
	local c nb out
	out=$(check) || exit 1
	read -r c_objs c_complete c_partial c_present c_alloc _ nb <<<"$out"
	((nb == 0)) || {
		head -n 20 "$T/check.bad" >&2
		ms_fail "$1: $nb objects with a bad map or wrong present bytes"
	}
	((c_objs == nobj)) || ms_fail "$1: $c_objs objects in the tree, not $nobj"
	c=$(daemon_cached)
	((c == c_present)) || ms_fail "$1: the daemon accounts $c cached bytes, the maps hold $c_present"
	[[ -z $(ls -A "$MS_CACHE_DIR/tmp") ]] || ms_fail "$1: leftovers in DIR/tmp: $(ls -A "$MS_CACHE_DIR/tmp" | head -5)"
}
# after_kill: the killed daemon is gone; a daemon a client started meanwhile is stopped; a new one.
after_kill() {
	local p
	ms_wait_gone "$MS_DAEMON_PID" 50 || ms_fail "the daemon survived SIGKILL"
	ms_untrack_pid "$MS_DAEMON_PID"
	MS_DAEMON_PID=
	ms_wait_gone "$1" 200 || ms_fail "the client $1 did not end within 20 s of the daemon's death"
	p=$(ms_daemon_pid)
	[[ -z $p ]] || ms_track_pid "$p"
	ms_stop_daemon_any
	ms_daemon_start
}
warm_all() { "$MS_BIN" warmup -q --config "$T/ms.ini" /models >/dev/null || ms_fail "warm-up of /models failed"; }

# (1a) kills in the middle of `gc --target 0` passes. The delay adapts: a kill before the pass
# evicted anything waits longer next time, one after it evicted everything shorter, and one in
# the middle a little longer (the next kill lands further into the pass).
warm_all
verify "after the first warm-up"
full=$c_present
delay=8 mid=0 early=0 late=0 kills=0
for ((r = 1; r <= 12 && mid < 4; r++)); do
	((r == 1)) || warm_all
	d=$((delay + RANDOM % 6))
	timeout -k 2 20 "$MS_BIN" gc --config "$T/ms.ini" --target 0 >"$T/gc.out" 2>&1 &
	gpid=$!
	ms_track_pid "$gpid"
	sleep "$(printf '0.%03d' "$d")"
	kill -KILL "$MS_DAEMON_PID"
	kills=$((kills + 1))
	after_kill "$gpid"
	ms_untrack_pid "$gpid"
	verify "gc round $r (killed after $d ms)"
	if ((c_complete == nobj)); then
		early=$((early + 1)) delay=$((delay + 4))
	elif ((c_present == 0)); then
		late=$((late + 1)) delay=$((delay > 4 ? delay - 3 : 1))
	else
		mid=$((mid + 1)) delay=$((delay + 2))
	fi
	echo "   gc round $r: killed after $d ms: $c_complete of $nobj objects still complete, $c_partial partial, $c_present of $full bytes"
done
((mid >= 1)) || ms_fail "no kill landed inside a gc pass in $kills rounds ($early before, $late after)"
repaired=$(grep -c 'named another data file' "$T/daemon.log" || true)
swept=$(grep -c 'files left in .* by processes that are gone' "$T/daemon.log" || true)
ms_ok "$kills kills during gc passes ($mid mid-pass, $early before, $late after): maps and accounting right after each restart, DIR/tmp clean; $repaired half-evicted objects' maps mended and $swept DIR/tmp sweeps at restart"

# (1b) kills during warm-ups of the small objects (25 MiB) past a 2 MiB quota: each fill's
# admission evicts.
ms_daemon_stop
ms_write_config "$T/ms.ini" "size = 2M" "min_free = 0"
ms_daemon_start
for r in 1 2 3; do
	"$MS_BIN" gc --config "$T/ms.ini" --target 0 >/dev/null || ms_fail "gc before warm-up round $r failed"
	d=$((100 + RANDOM % 300))
	timeout -k 2 20 "$MS_BIN" warmup -q --config "$T/ms.ini" /models/d1 /models/d2 >"$T/warm.out" 2>&1 &
	wpid=$!
	ms_track_pid "$wpid"
	sleep "$(printf '0.%03d' "$d")"
	ev=$(ms_status_fields daemon.evictions)
	kill -KILL "$MS_DAEMON_PID"
	kills=$((kills + 1))
	after_kill "$wpid"
	ms_untrack_pid "$wpid"
	verify "warm-up round $r (killed after $d ms)"
	((c_present <= 2 * 1048576)) || ms_fail "warm-up round $r: $c_present bytes present, over the 2 MiB quota"
	echo "   warm-up round $r: killed after $d ms, $ev evictions by then; $c_present bytes present"
done
ms_ok "3 kills during warm-ups past the quota: never over it, maps and accounting right"

# Every object reads back right, and a GC pass leaves nothing in DIR/tmp.
ms_daemon_stop
ms_write_config "$T/ms.ini" "size = 1G" "min_free = 0"
ms_daemon_start
mapfile -t keys < <(cd "$T/src" && find . -type f | sed 's|^\./||' | sort)
((${#keys[@]} == nobj)) || ms_fail "${#keys[@]} source files, not $nobj"
# All objects in one cat (one sha256 of the concatenation); object by object only to name a culprit.
got=$("$MS_BIN" cat --config "$T/ms.ini" "${keys[@]/#//models/}" | sha256sum | cut -d' ' -f1)
if [[ $got != "$(cd "$T/src" && cat "${keys[@]}" | sha256sum | cut -d' ' -f1)" ]]; then
	for k in "${keys[@]}"; do
		"$MS_BIN" cat --config "$T/ms.ini" "/models/$k" | cmp -s - "$T/src/$k" || ms_bad "/models/$k reads wrong after the kills"
	done
	ms_done
	ms_fail "reading all objects in one cat gave wrong bytes"
fi
# The two states a kill during eviction leaves, made on purpose (the kills above may miss their
# windows): a fresh empty data file under the old map (killed between the data file's rename and
# the map's), and a staged file in DIR/tmp of a process that is gone (killed while staging).
ms_daemon_stop
size=$(stat -c %s "$tree/big1.bin")
truncate -s "$size" "$tree/.new" && mv "$tree/.new" "$tree/big1.bin"
dead=$(sh -c 'echo $$')
ms_wait_gone "$dead" 50 || ms_fail "process $dead still runs"
: >"$MS_CACHE_DIR/tmp/$dead.0123456789abcdef"
ms_daemon_start
grep -q '/models/big1.bin: its map named another data file' "$T/daemon.log" || ms_fail "the daemon did not mend big1.bin's map at start"
verify "after a restart on a half-evicted object and a stale staged file"
"$MS_BIN" cat --config "$T/ms.ini" /models/big1.bin | cmp -s - "$T/src/big1.bin" || ms_fail "big1.bin reads wrong after its map was mended"
ms_ok "a restart mends a map left naming the old data file (big1.bin reads right) and sweeps DIR/tmp"
"$MS_BIN" gc --config "$T/ms.ini" --target 4M >"$T/gc.out" || ms_fail "gc failed: $(cat "$T/gc.out")"
verify "after the final gc pass"
((c_present <= 4 * 1048576)) || ms_fail "the gc pass left $c_present bytes, over its 4 MiB target"
ms_ok "all $nobj objects read back with the source's sha256; a gc pass then: $(cat "$T/gc.out")"

# (2) Readers killed while they hold pins.
"$MS_BIN" gc --config "$T/ms.ini" --target 0 >/dev/null || ms_fail "gc --target 0 failed"
shim_bg() { # shim_bg CMD...: CMD under the shim in the background, its PID in $bgpid (tracked)
	env LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$T/ms.ini" ASAN_OPTIONS=detect_leaks=0 "$@" &
	bgpid=$!
	ms_track_pid "$bgpid"
}
wait_file() { # wait_file PATH WHAT: bounded wait (10 s) for PATH
	local i
	for ((i = 0; i < 100; i++)); do [[ -e $1 ]] && return 0; sleep 0.1; done
	ms_fail "$2 did not get ready within 10 s"
}
# A shell opens two partly cached objects on fds (pinned: objects of more than 4 chunks are not
# filled at open), then execs sleep, which inherits the fds and so the pins.
printf '/models/mid1.bin 0 %d\n/models/mid2.bin %d %d\n' $((2 * chunk)) $((3 * chunk)) $((3 * chunk)) |
	"$MS_BIN" warmup -q --config "$T/ms.ini" --from - >/dev/null || ms_fail "warming parts of mid1, mid2 failed"
shim_bg bash -c 'exec 3</models/mid1.bin 4</models/mid2.bin && : >"$1" && exec sleep 30' sh "$T/r1.ready"
r1=$bgpid
# python reads the first chunk of big1.bin and keeps it open (incomplete, pinned).
shim_bg python3 -c '
import sys, time
f = open("/models/big1.bin", "rb", buffering=0)
assert len(f.read(65536)) == 65536
open(sys.argv[1], "w").close()
time.sleep(30)' "$T/r2.ready"
r2=$bgpid
wait_file "$T/r1.ready" "the shell holding fds"
wait_file "$T/r2.ready" "the python reader"
# A slow reader: big2.bin through a throttled store, killed while its fill is in flight.
ms_front_config '{"rate": 1048576}'
shim_bg python3 -c '
import sys
with open("/models/big2.bin", "rb", buffering=0) as f:
    while f.read(65536):
        open(sys.argv[1], "w").close()' "$T/r3.ready"
r3=$bgpid
wait_file "$T/r3.ready" "the slow reader"
sleep 0.3
rc=0
"$MS_BIN" gc --config "$T/ms.ini" --target 0 >"$T/gc.pinned" 2>&1 || rc=$?
if ((rc != 1)) || ! grep -q 'in use' "$T/gc.pinned"; then
	ms_fail "gc --target 0 while readers pin objects: exit $rc, not 1 with 'in use': $(cat "$T/gc.pinned")"
fi
out=$(check) || exit 1
read -r _ _ _ pinned_bytes _ _ _ <<<"$out"
for k in $pinkeys; do
	[[ $(stat -c %b "$tree/$k") -gt 0 ]] || ms_fail "$k was evicted although a live reader holds it open"
done
ms_ok "while the readers live, gc --target 0 keeps their 4 objects ($pinned_bytes bytes): $(cat "$T/gc.pinned")"
kill -KILL "$r1" "$r2" "$r3"
for p in "$r1" "$r2" "$r3"; do
	ms_wait_gone "$p" 50 || ms_fail "reader $p survived SIGKILL"
	ms_untrack_pid "$p"
done
ms_front_config '{"rate": 0}'
# The fill the slow reader started ends on its own (nobody waits for it any more).
for ((i = 0; i < 200; i++)); do
	"$MS_BIN" status --config "$T/ms.ini" | grep -q ' 0 chunks in flight' && break
	sleep 0.1
done
((i < 200)) || ms_fail "fills still in flight 20 s after the readers died"
"$MS_BIN" gc --config "$T/ms.ini" --target 0 >"$T/gc.after" || ms_fail "gc after the kills failed: $(cat "$T/gc.after")"
verify "after the readers were killed and one gc pass"
((c_present == 0)) || ms_fail "one gc --target 0 after the readers died left $c_present bytes: $(cat "$T/gc.after")"
((c_alloc == 0)) || ms_fail "cached bytes are 0 but the tree files still allocate $c_alloc bytes on disk"
ms_ok "after SIGKILL of the readers one gc pass evicts everything: 0 bytes cached, 0 allocated ($(cat "$T/gc.after"))"

# The killed readers' objects read right through the shim.
for k in $pinkeys; do
	got=$(ms_shim python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "/models/$k") ||
		ms_fail "reading /models/$k through the shim failed"
	[[ $got == "$(sha256sum <"$T/src/$k" | cut -d' ' -f1)" ]] || ms_fail "/models/$k reads wrong through the shim"
done
ms_ok "the killed readers' objects read back right through the shim"
