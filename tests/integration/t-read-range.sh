#!/usr/bin/env bash
# t-read-range: a read under the shim is answered once its own bytes are in the cache file, or, for
# a small read, with the bytes themselves once they are in the daemon's receive buffer (before
# their 2 MiB piece is written), before their chunk is complete (MS_FILL_RANGE, MS_FILL_BYTES),
# and never with a byte that did not arrive. The front sends bodies at 1 MiB/s and resets every
# one after 3 MiB, so chunk 0 (4 MiB) can never complete: a pread of 4 KiB at offset 100 and one
# at 700000 under the shim return the source's bytes, handed over by the daemon (its counter of
# such answers says 2: the first 2 MiB piece takes 2 s to arrive), while nothing is marked
# present; a pread at 3.5 MiB (never arrived) fails with EIO and returns nothing. Once the store
# heals the whole object reads right.
# No timing is asserted: the chunk cannot complete while the cut is on, whatever the load.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

MiB=1048576
size=$((20 * MiB + 123))
ms_range_setup

# pread_at OUT OFF...: python3 under the shim preads 4 KiB at each OFF of /models/r.bin into OUT.
pread_at() {
	local out=$1
	shift
	ms_shim python3 -c '
import os, sys
fd = os.open("/models/r.bin", os.O_RDONLY)
with open(sys.argv[1], "wb") as out:
    for off in sys.argv[2:]:
        out.write(os.pread(fd, 4096, int(off)))
' "$out" "$@"
}

ms_front_config '{"rate": 1048576, "reset_after": 3145728}'
rc=0
pread_at "$T/early.out" 100 700000 2>"$T/early.err" || rc=$?
ms_src_pages "$T/src/r.bin" 100 700000 >"$T/early.want"
if ((rc == 0)) && cmp -s "$T/early.out" "$T/early.want"; then
	ms_ok "cut after 3 MiB: preads at 100 and 700000 return the source's bytes"
else
	ms_bad "cut after 3 MiB: preads at 100 and 700000: exit $rc, $(ms_why_differs "$T/early.out" "$T/early.want"); $(head -c 300 "$T/early.err")"
fi
read -r cached partial answers < <(ms_status_fields mount.cached_bytes mount.partial daemon.bytes_answers)
((cached == 0)) || ms_bad "cut after 3 MiB: $cached bytes marked present, yet no chunk can arrive whole"
if ((answers == 2)); then
	ms_ok "both preads were answered with their bytes from the receive buffer"
else
	ms_bad "$answers preads answered with their bytes, want 2 (their piece takes 2 s to arrive)"
fi

rc=0
pread_at "$T/late.out" $((7 * MiB / 2)) 2>"$T/late.err" || rc=$?
if ((rc == 0)); then
	ms_bad "a pread at 3.5 MiB succeeded although no byte past 3 MiB of chunk 0 ever arrived: $(ms_why_differs "$T/late.out" <(ms_src_pages "$T/src/r.bin" $((7 * MiB / 2))))"
elif [[ -s $T/late.out ]] || ! grep -q "Input/output error" "$T/late.err"; then
	ms_bad "a pread at 3.5 MiB: exit $rc, $(stat -c %s "$T/late.out") bytes, want EIO and none: $(head -c 300 "$T/late.err")"
else
	ms_ok "a pread at 3.5 MiB (never arrived) fails with EIO: $(grep -m1 -v Traceback "$T/late.err" | head -c 200)"
fi
read -r cached partial < <(ms_status_fields mount.cached_bytes mount.partial)
((cached == 0)) || ms_bad "after the failed pread: $cached bytes marked present"

ms_front_config '{"rate": 0, "reset_after": 0}'
rc=0
ms_shim sha256sum /models/r.bin >"$T/sum" 2>"$T/err" || rc=$?
if ((rc == 0)) && [[ $(cut -d' ' -f1 "$T/sum") == $(ms_sha "$T/src/r.bin") ]]; then
	ms_ok "store healed: sha256sum under the shim reads r.bin right"
else
	ms_bad "store healed: sha256sum exit $rc: $(cat "$T/sum") $(head -c 200 "$T/err")"
fi
read -r cached partial < <(ms_status_fields mount.cached_bytes mount.partial)
((cached == size)) || ms_bad "store healed: $cached bytes present, want $size"
ms_done
