#!/usr/bin/env bash
# t-shim-errors: no silent zeros under failure. A partially cached file whose missing chunks fail to fill (the server fails on purpose) gives EIO to cat, cp, sha256sum, python and a C program (pread, read, sendfile, mmap, fread), with only correct bytes before the error; after the server heals it reads right. Without any daemon possible (credentials 0644: the daemon refuses to start) complete files still read, stat/ls work, and a miss fails with EIO and one clear stderr line.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_shim_setup "retries = 1" "timeout = 2s"
src=$MS_SRC
size=$(stat -c %s "$src/big.bin")

# --- Partially cached, server failing --------------------------------------------------------
ms_fresh
# Cache only the last 64 KiB chunk (random access at the end: no readahead past EOF).
ms_shim dd if=/models/big.bin of=/dev/null bs=65536 skip=80 status=none || ms_fail "reading the last chunk failed"
counts=$(ms_status_counts)
[[ $counts == "5 0 1" ]] || ms_fail "big.bin should be the one partial object now; status: $counts"
ms_ok "big.bin is partially cached (status: objects complete partial = $counts)"
ms_front_config '{"fail": 100000, "status": 500}'
ms_front_reset

# prefix_ok WHAT OUT: OUT (possibly empty) must be a correct prefix of big.bin, never the whole.
prefix_ok() {
	local n
	n=$(stat -c %s "$2" 2>/dev/null || echo 0)
	if ((n >= size)); then
		ms_bad "$1: wrote all $n bytes although fills fail"
	elif ((n > 0)) && ! cmp -s -n "$n" "$2" "$src/big.bin"; then
		ms_bad "$1: the $n bytes written before the error are wrong: $(ms_why_differs "$2" "$src/big.bin")"
	else
		return 0
	fi
	return 1
}

# fails WHAT OUT CMD...: CMD under the shim must fail with an I/O error, OUT a correct prefix.
fails() {
	local what=$1 out=$2 rc=0
	shift 2
	ms_shim "$@" >"$out" 2>"$T/err" || rc=$?
	if ((rc == 0)); then
		ms_bad "$what: succeeded although the server fails every fill"
	elif ! grep -qi "Input/output error\|EIO\|Errno 5" "$T/err"; then
		ms_bad "$what: exit $rc without an I/O error: $(head -c 300 "$T/err")"
	elif prefix_ok "$what" "$out"; then
		ms_ok "$what: exit $rc, $(stat -c %s "$out") correct bytes, then: $(grep -i -m1 'Input/output error\|EIO\|Errno 5' "$T/err" | head -c 150)"
	fi
}

fails "cat of a partial file" "$T/cat.out" cat /models/big.bin
fails "sha256sum of a partial file" "$T/sha.out" sha256sum /models/big.bin
rm -f "$T/cp.out"
fails "cp of a partial file" "$T/cp.stdout" cp /models/big.bin "$T/cp.out"
[[ ! -e $T/cp.out ]] || prefix_ok "cp output file" "$T/cp.out" || true
fails "python read of a partial file" "$T/py.out" /usr/bin/python3 -c \
	'import sys; sys.stdout.buffer.write(open("/models/big.bin", "rb").read())'
rc=0
ms_shim "$MS_SHIMTESTS/shim_eio" /models/big.bin "$src/big.bin" >"$T/eio.out" 2>&1 || rc=$?
if ((rc == 0)); then
	ms_ok "shim_eio on a partial file: $(grep -c 'ok$' "$T/eio.out") calls failed cleanly: $(grep -v '^modelshim' "$T/eio.out" | cut -d: -f2 | tr '\n' ';')"
else
	ms_bad "shim_eio on a partial file, exit $rc: $(grep FAIL "$T/eio.out" | tr '\n' ';' | head -c 1000)"
fi
(($(ms_key_stat big.bin count) > 0)) || ms_bad "the daemon never asked the server for big.bin"
ms_ok "the server refused $(ms_key_stat big.bin count) GETs of big.bin"
[[ $(ms_status_counts) == "5 0 1" ]] || ms_bad "status changed while fills failed: $(ms_status_counts)"

# The server heals: the same file now reads right (nothing poisoned in the cache).
ms_front_config '{"fail": 0}'
rc=0
ms_shim cat /models/big.bin >"$T/cat2.out" 2>"$T/err" || rc=$?
if ((rc == 0)) && cmp -s "$T/cat2.out" "$src/big.bin"; then
	ms_ok "after the server heals, cat reads the whole file right"
else
	ms_bad "after the server heals: exit $rc, $(ms_why_differs "$T/cat2.out" "$src/big.bin"); $(head -c 200 "$T/err")"
fi

# --- No daemon possible ----------------------------------------------------------------------
ms_fresh
ms_warm small.txt dir/sub/nested.bin
ms_stop_daemon_any
chmod 0644 "$T/credentials"
rc=0
timeout 20 "$MS_BIN" daemon --config "$MS_CONFIG" >"$T/d.out" 2>&1 || rc=$?
if ((rc == 0 || rc == 124)); then
	ms_stop_daemon_any
	ms_fail "setup: the daemon started with world-readable credentials (exit $rc)"
fi
ms_ok "the daemon cannot start: $(head -n 1 "$T/d.out" | head -c 200)"
ms_assert_cold big.bin

rc=0
ms_shim sha256sum /models/small.txt /models/dir/sub/nested.bin >"$T/sha.out" 2>"$T/err" || rc=$?
(cd "$src" && sha256sum small.txt dir/sub/nested.bin) | sed 's|  |  /models/|' >"$T/sha.want"
if ((rc == 0)) && cmp -s "$T/sha.out" "$T/sha.want"; then
	ms_ok "no daemon: sha256sum of complete files is right"
else
	ms_bad "no daemon: sha256sum of complete files: exit $rc, [$(tr '\n' ';' <"$T/sha.out")]; $(head -c 300 "$T/err")"
fi
rc=0
ms_shim "$MS_SHIMTESTS/shim_mmap" /models/dir/sub/nested.bin "$src/dir/sub/nested.bin" >"$T/mmap.out" 2>&1 || rc=$?
if ((rc == 0)); then
	ms_ok "no daemon: shim_mmap of a complete file: $(tail -n 1 "$T/mmap.out")"
else
	ms_bad "no daemon: shim_mmap of a complete file, exit $rc: $(grep -m1 FAIL "$T/mmap.out" || tail -n 2 "$T/mmap.out")"
fi
rc=0
ms_shim bash -c 'ls -lR /models >/dev/null && stat -c %s /models/big.bin' >"$T/ls.out" 2>"$T/err" || rc=$?
if ((rc == 0)) && [[ $(cat "$T/ls.out") == "$size" ]]; then
	ms_ok "no daemon: ls -lR and stat work"
else
	ms_bad "no daemon: ls -lR/stat: exit $rc, $(head -c 200 "$T/ls.out" "$T/err")"
fi

# A miss: cat fails with EIO and the shim says so in exactly one line (besides cat's own). It runs
# under strace (outside the shim), to see what the shim does once it knows the start failed.
rc=0
if command -v strace >/dev/null; then
	# cat's PID is written first: strace may print a child's line before cat's first one.
	timeout -k 5 20 strace -f -qq -e trace=clone,clone3,wait4,connect,nanosleep,clock_nanosleep,write \
		-o "$T/miss.strace" sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$T/miss.pid" \
		env LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$MS_CONFIG" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		cat /models/big.bin >"$T/miss.out" 2>"$T/miss.err" || rc=$?
else
	ms_bad "strace is not installed (scripts/setup installs it): the miss is run without it"
	ms_shim cat /models/big.bin >"$T/miss.out" 2>"$T/miss.err" || rc=$?
fi
grep -v '^cat: ' "$T/miss.err" >"$T/miss.shim" || true
if ((rc == 0)); then
	ms_bad "no daemon: cat of an uncached file succeeded"
elif ! grep -q "Input/output error" "$T/miss.err"; then
	ms_bad "no daemon: cat of an uncached file failed without EIO: $(head -c 300 "$T/miss.err")"
elif [[ -s $T/miss.out ]]; then
	ms_bad "no daemon: cat of an uncached file wrote $(stat -c %s "$T/miss.out") bytes"
elif [[ $(wc -l <"$T/miss.shim") != 1 ]]; then
	ms_bad "no daemon: want one stderr line from the shim, got $(wc -l <"$T/miss.shim"): $(head -c 500 "$T/miss.shim")"
else
	ms_ok "no daemon: a miss fails with EIO; the shim's line: $(cat "$T/miss.shim")"
fi
# The daemon exits at once; the miss must fail as soon as the shim learns it, not wait out a
# start-up or reconnect timeout: in cat's own thread, after the wait4 that reaps the go-between
# (its exit status: daemon --detach's, 1) and before the shim's stderr line, no pause (nanosleep)
# and no second start (clone), at most one last connect; and one start in all. Judged from the
# calls made, not from how long they took.
if [[ -s $T/miss.strace ]]; then
	verdict=$(python3 - "$T/miss.strace" "$(cat "$T/miss.pid")" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
main = sys.argv[2]
# strace splits calls that other threads interrupt: "<unfinished ...>" and "<... NAME resumed>".
calls, pending = [], {}
for l in lines:
    # strace pads the PID to five columns: "812   clone(..." on a machine with short PIDs.
    pid, rest = l.split(None, 1)
    if pid != main:
        continue
    m = re.match(r"<\.\.\. (\w+) resumed>(.*)", rest)
    if m:
        calls.append((m.group(1), pending.pop(m.group(1), "") + m.group(2)))
    elif rest.endswith("<unfinished ...>"):
        m = re.match(r"(\w+)\(", rest)
        if m:
            pending[m.group(1)] = rest
    elif re.match(r"\w+\(", rest):
        calls.append((re.match(r"(\w+)\(", rest).group(1), rest))
starts = [c for c in calls if c[0] in ("clone", "clone3") and "SIGCHLD" not in c[1] and "CLONE_THREAD" not in c[1]]
reap = [i for i, c in enumerate(calls) if c[0] == "wait4" and "WEXITSTATUS(s) == 1" in c[1] and "__WCLONE" in c[1]]
line = [i for i, c in enumerate(calls) if c[0] == "write" and '"modelshim: ' in c[1]]
seen = {}
for c in calls:
    seen[c[0]] = seen.get(c[0], 0) + 1
if len(starts) != 1:
    conn = sorted(set(c[1].split(" = ", 1)[-1] for c in calls if c[0] == "connect"))
    print(f"bad: {len(starts)} daemon starts (go-between clones) for one miss, want 1 (cat's calls: {seen}; connects gave {conn})")
elif not reap or not line or line[0] < reap[0]:
    print(f"bad: no wait4 reaping the go-between with exit status 1 before the shim's line (reaps {len(reap)}, lines {len(line)})")
else:
    after = calls[reap[0] + 1:line[0]]
    naps = sum(c[0] in ("nanosleep", "clock_nanosleep") for c in after)
    conns = sum(c[0] == "connect" for c in after)
    if naps or conns > 1 or any(c[0] in ("clone", "clone3") for c in after):
        print(f"bad: after the go-between's failure the shim still made {naps} pauses and {conns} connects before failing")
    else:
        print(f"ok: one start; after the go-between's failure: {conns} connect, no pause, then the error")
PY
	) || verdict="bad: could not read the strace output ($T/miss.strace: $(head -c 300 "$T/miss.strace"))"
	if [[ $verdict == ok:* ]]; then
		ms_ok "no daemon: the miss fails as soon as the start has failed (${verdict#ok: })"
	else
		ms_bad "no daemon: ${verdict#bad: } (daemon.log: $(tail -n 1 "$MS_CACHE_DIR/daemon.log"))"
	fi
fi
# Five misses in one program; bounded to 30 s so the test stays short if each miss is slow.
rc=0
start=$SECONDS
MS_SHIM_TIMEOUT=30 ms_shim "$MS_SHIMTESTS/shim_eio" /models/big.bin "$src/big.bin" >"$T/eio.out" 2>"$T/eio.err" || rc=$?
grep -v '^shim_eio: ' "$T/eio.err" >"$T/eio.shim" || true
if ((rc == 124 || rc == 137)); then
	ms_bad "no daemon: shim_eio did not finish within 30 s (misses are slow): $(tr '\n' ';' <"$T/eio.out")"
elif ((rc == 0)); then
	ms_ok "no daemon: shim_eio: pread, read, sendfile, mmap, fopen/fread fail cleanly in $((SECONDS - start))s; shim stderr lines: $(wc -l <"$T/eio.shim")"
else
	ms_bad "no daemon: shim_eio, exit $rc: $(grep FAIL "$T/eio.out" "$T/eio.err" | tr '\n' ';' | head -c 1000)"
fi
[[ -z $(ms_daemon_pid) ]] || ms_bad "a daemon runs although its credentials are world-readable"
chmod 0600 "$T/credentials"
ms_done
