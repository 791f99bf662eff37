#!/usr/bin/env bash
# t-quota: a cache filled with 3x its quota stays within it (never a wrong byte meanwhile),
# keeps the most recently used objects (lru), a process that mmapped an object keeps reading
# its bytes while it is evicted (invariant 2), the cache and access times survive a daemon
# restart, and `modelshim gc` runs one pass at a time (a second one waits, or says busy).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_quota_setup
quota=$((8 * 1048576))

# The mount's cached bytes from status --json; the test fails if status has no such number.
cached() {
	local c
	c=$(ms_status_fields mount.cached_bytes)
	[[ $c =~ ^[0-9]+$ ]] || ms_fail "status --json gave no cached_bytes for the mount ('$c')"
	echo "$c"
}
complete_of() { python3 - "$(ms_cache_path "$1" state)" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", d, 40)[0]
bits = d[208:208 + (n + 7) // 8]  # after the 208-byte header (core/map.h)
print(sum(bin(b).count("1") for b in bits) == n)
PY
}

# A reader maps o01 and holds it while the cache churns through 3x its quota.
# (exec: the PID that $! names is the program itself, not a subshell around it, so the cleanup's
# SIGTERM reaches it when the test fails early)
ms_prog() { exec env LD_PRELOAD="${MS_PRELOAD:-$MS_SHIM}" MODELSHIM_CONFIG="$T/ms.ini" ASAN_OPTIONS=detect_leaks=0 "$@"; }
"$MS_BIN" cat --config "$T/ms.ini" /models/o01.bin >/dev/null
have_shim=0
if [[ -n ${MS_SHIM:-} && -e ${MS_SHIM} ]]; then
	have_shim=1
	ms_prog /usr/bin/python3 - "$T" "$T/src/o01.bin" <<'PY' &
import mmap, os, sys, time
t, ref = sys.argv[1], open(sys.argv[2], "rb").read()
with open("/models/o01.bin", "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
open(t + "/mapped", "w").close()
for _ in range(600):
    if os.path.exists(t + "/go"):
        break
    time.sleep(0.05)
sys.exit(0 if m[:] == ref else 3)
PY
	ppid=$!
	ms_track_pid "$ppid"
	for ((i = 0; i < 200; i++)); do [[ -e $T/mapped ]] && break; sleep 0.05; done
	[[ -e $T/mapped ]] || ms_fail "the mapping reader did not start"
fi

for i in $(seq -w 1 12); do
	"$MS_BIN" cat --config "$T/ms.ini" "/models/o$i.bin" | cmp - "$T/src/o$i.bin" || ms_fail "o$i.bin read wrong"
	c=$(cached)
	((c <= quota)) || ms_fail "after o$i: $c cached bytes, over the $quota-byte quota"
done
ms_ok "read 24 MiB through an 8 MiB cache: every byte right, never over quota (last: $(cached) bytes)"
[[ $(complete_of o12.bin) == True ]] || ms_fail "the most recent object was evicted"
[[ $(complete_of o01.bin) == False ]] || ms_fail "the oldest object was kept (lru)"
ms_ok "lru kept the most recent objects"
if ((have_shim)); then
	touch "$T/go"
	wait "$ppid" || ms_fail "the process that mapped o01.bin read wrong bytes after its eviction (rc $?)"
	ms_untrack_pid "$ppid"
	ms_ok "a mapped object read intact bytes after it was evicted"
fi
grep -q '"evictions":[1-9]' <("$MS_BIN" status --config "$T/ms.ini" --json) || ms_fail "status shows no evictions"

# Restart: what is cached stays a hit.
before=$(cached)
ms_daemon_stop
ms_daemon_start
[[ $(cached) -eq $before ]] || ms_fail "cached bytes changed over a restart"
ms_front_reset
"$MS_BIN" cat --config "$T/ms.ini" /models/o12.bin | cmp - "$T/src/o12.bin" || ms_fail "o12 wrong after restart"
[[ $(ms_stat methods.GET) -eq 0 ]] || ms_fail "a cached object was fetched again after a restart"
ms_ok "after a daemon restart the cache is still a hit"

# gc: one at a time. While the lock is held, --no-wait says busy; a waiting gc runs after.
exec {lk}>"$MS_CACHE_DIR/gc.lock"
flock "$lk"
rc=0
"$MS_BIN" gc --config "$T/ms.ini" --target 0 --no-wait >"$T/gc1.out" {lk}>&- || rc=$?
[[ $rc -eq 75 ]] && grep -q busy "$T/gc1.out" || ms_fail "gc --no-wait under a held lock: rc $rc, $(cat "$T/gc1.out")"
"$MS_BIN" gc --config "$T/ms.ini" --target 0 >"$T/gc2.out" {lk}>&- &
gpid=$!
ms_track_pid "$gpid"
# It waits in flock on gc.lock: the kernel lists it as a blocked waiter ("->") in /proc/locks
# (looked for, bounded to 10 s, instead of guessing that a second is long enough).
lkino=$(stat -c %i "$MS_CACHE_DIR/gc.lock")
c0=$(cached)
for ((i = 0; i < 100; i++)); do
	grep -Eq "^[0-9]+: -> FLOCK +ADVISORY +WRITE +$gpid +[0-9a-f]+:[0-9a-f]+:$lkino " /proc/locks && break
	ms_alive "$gpid" || break
	sleep 0.1
done
ms_alive "$gpid" || ms_fail "a second gc did not wait for the first: it ended at once: $(cat "$T/gc2.out")"
((i < 100)) || ms_fail "the second gc (pid $gpid) is not blocked on gc.lock (inode $lkino) after 10 s: $(grep -- "$gpid" /proc/locks)"
[[ ! -s $T/gc2.out && $(cached) == "$c0" ]] || ms_fail "the waiting gc ran its pass while the lock was held: $(cat "$T/gc2.out"), cached $c0 -> $(cached)"
exec {lk}>&-
wait "$gpid" || ms_fail "the waiting gc failed: $(cat "$T/gc2.out")"
grep -q "cache holds 0 bytes" "$T/gc2.out" || ms_fail "gc --target 0 left data: $(cat "$T/gc2.out")"
ms_ok "gc: busy without waiting, serialized when waiting; $(cat "$T/gc2.out")"
