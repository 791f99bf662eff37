#!/usr/bin/env bash
# t-mmap-lazy-piece: a fault in a lazy MAP_SHARED mapping goes on as soon as the 2 MiB piece it
# lies in is written, before its 4 MiB chunk is complete (the daemon answers the piece's range,
# MS_FILL_RANGE), and never with a byte that did not arrive. The front sends bodies at 1 MiB/s
# and resets every one after 3 MiB, so chunk 0 can never complete: a process that maps the cold
# file and reads 4 KiB at 100 and at 1.5 MiB gets the source's bytes (piece 0 arrives after
# 2 s); one that reads at 3.5 MiB (never arrived) dies of SIGBUS; nothing is marked present.
# Once the store heals, the whole mapping reads right.
# No timing is asserted: the chunk cannot complete while the cut is on, whatever the load.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim
ms_have_uffd || ms_skip "no userfaultfd here (no CAP_SYS_PTRACE, vm.unprivileged_userfaultfd = 0): mmap is never lazy"

MiB=1048576
ms_range_setup

# map_read OUT OFF...: python3 under the shim maps /models/r.bin (MAP_SHARED, read-only, lazy:
# the file is cold) and writes the 4 KiB at each OFF of the mapping into OUT.
map_read() {
	local out=$1
	shift
	ms_shim python3 -c '
import mmap, os, sys
fd = os.open("/models/r.bin", os.O_RDONLY)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
data = b"".join(m[int(off):int(off) + 4096] for off in sys.argv[2:])
with open(sys.argv[1], "wb") as out:
    out.write(data)
' "$out" "$@"
}

ms_front_config '{"rate": 1048576, "reset_after": 3145728}'
rc=0
map_read "$T/early.out" 100 $((3 * MiB / 2)) 2>"$T/early.err" || rc=$?
ms_src_pages "$T/src/r.bin" 100 $((3 * MiB / 2)) >"$T/early.want"
if ((rc == 0)) && cmp -s "$T/early.out" "$T/early.want"; then
	ms_ok "cut after 3 MiB: the mapping's bytes at 100 and 1.5 MiB are the source's (their piece was mapped before its chunk could complete)"
else
	ms_bad "cut after 3 MiB: reading the mapping at 100 and 1.5 MiB: exit $rc, $(ms_why_differs "$T/early.out" "$T/early.want"); $(head -c 300 "$T/early.err")"
fi
read -r cached < <(ms_status_fields mount.cached_bytes)
((cached == 0)) || ms_bad "cut after 3 MiB: $cached bytes marked present, yet no chunk can arrive whole"

rc=0
# Under the ASan build the shim brings ASan's SIGBUS handler: the process must die of the signal.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:handle_sigbus=0" map_read "$T/late.out" $((7 * MiB / 2)) 2>"$T/late.err" || rc=$?
if ((rc == 0)); then
	ms_bad "reading the mapping at 3.5 MiB succeeded although no byte past 3 MiB of chunk 0 ever arrived: $(ms_why_differs "$T/late.out" <(ms_src_pages "$T/src/r.bin" $((7 * MiB / 2))))"
elif ((rc != 128 + 7)) || [[ -s $T/late.out ]]; then
	ms_bad "reading the mapping at 3.5 MiB: exit $rc, $(stat -c %s "$T/late.out") bytes, want SIGBUS (exit 135) and none: $(head -c 300 "$T/late.err")"
else
	ms_ok "reading the mapping at 3.5 MiB (never arrived) raises SIGBUS: $(grep -m1 modelshim "$T/late.err" | head -c 200)"
fi
read -r cached < <(ms_status_fields mount.cached_bytes)
((cached == 0)) || ms_bad "after the SIGBUS: $cached bytes marked present"

ms_front_config '{"rate": 0, "reset_after": 0}'
rc=0
ms_shim python3 -c '
import hashlib, mmap, os
fd = os.open("/models/r.bin", os.O_RDONLY)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
print(hashlib.sha256(m).hexdigest())
' >"$T/sum" 2>"$T/err" || rc=$?
if ((rc == 0)) && [[ $(cat "$T/sum") == $(ms_sha "$T/src/r.bin") ]]; then
	ms_ok "store healed: the whole mapping reads r.bin right"
else
	ms_bad "store healed: exit $rc, $(cat "$T/sum") $(head -c 200 "$T/err")"
fi

# A walk through a cold mapping keeps its readahead although each chunk now faults twice (its
# piece mapped ahead, then the rest): a fault in the chunk of the last one continues the run.
# Each fault in a chunk not asked for yet asks for the chunk and its piece, so with the run
# reset at every chunk's second fault each of the 24 chunks is asked twice (48 requests); kept,
# the window reaches one chunk after ten and the later chunks are asked for ahead, once (38
# requests here).
head -c $((24 * 4 * MiB)) /dev/urandom >"$T/src/walk.bin"
ms_put "$T/src"
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
read -r before < <(ms_status_fields daemon.requests)
rc=0
ms_shim python3 -c '
import mmap, os
fd = os.open("/models/walk.bin", os.O_RDONLY)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
print(sum(m[i] for i in range(0, len(m), 4096)))
' >"$T/walk.sum" 2>"$T/walk.err" || rc=$?
read -r after < <(ms_status_fields daemon.requests)
want=$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(sum(d[i] for i in range(0, len(d), 4096)))' "$T/src/walk.bin")
if ((rc != 0)) || [[ $(cat "$T/walk.sum") != "$want" ]]; then
	ms_bad "walking the cold mapping of walk.bin: exit $rc, sum $(cat "$T/walk.sum") want $want: $(head -c 200 "$T/walk.err")"
elif ((after - before > 44)); then
	ms_bad "walking the cold mapping of walk.bin (24 chunks) asked the daemon $((after - before)) times: the readahead run was lost at each chunk's second fault"
else
	ms_ok "walking the cold mapping of walk.bin (24 chunks): right bytes, $((after - before)) requests to the daemon"
fi
ms_done
