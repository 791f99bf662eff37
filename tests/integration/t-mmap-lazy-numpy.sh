#!/usr/bin/env bash
# t-mmap-lazy-numpy: numpy loads cold virtual files through lazy mmap: np.load(mmap_mode='r') of a 64 MiB .npy touching 5% as contiguous runs ("experts") reads the source's values and fetches the touched chunks (plus the header's read), and np.memmap of a whole file hashes to the source's sha256.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_need_shim
ms_have_uffd || ms_skip "no userfaultfd here (no CAP_SYS_PTRACE, vm.unprivileged_userfaultfd = 0): mmap is never lazy"
py=/usr/bin/python3
"$py" -c 'import numpy' 2>/dev/null || ms_skip "python3-numpy is not installed for $py"
chunk=$((1024 * 1024))
export MS_CHUNK=1M
ms_start_s3
MS_SRC=$T/src
mkdir -p "$MS_SRC"
# 16 Mi float32 values (64 MiB + the .npy header), and 24 MiB + 1234 raw bytes.
"$py" - "$MS_SRC" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(14)
np.save(f"{sys.argv[1]}/weights.npy", rng.random(16 << 20, dtype=np.float32))
open(f"{sys.argv[1]}/raw.dat", "wb").write(rng.bytes((24 << 20) + 1234))
PY
# readahead = 1M: the daemon's sequential readahead after the header's read is one chunk.
ms_import_src "readahead = 1M" "timeout = 5s"
ms_daemon_start
ms_assert_cold weights.npy raw.dat

# The loader: np.load with mmap_mode='r', then runs of 1/80 of the array each (4 of them: 5%)
# inside single chunks far from the header; each compared with the source's values. Prints the
# file bytes each run covers, for the fetch bound below.
ms_shim "$py" - /models/weights.npy "$MS_SRC/weights.npy" "$chunk" >"$T/npy.out" 2>&1 <<'PY' || ms_bad "np.load(mmap_mode='r'): $(tail -n 3 "$T/npy.out")"
import sys, numpy as np
virt, src, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = np.load(virt, mmap_mode="r")
want = np.load(src, mmap_mode="r")
assert a.shape == want.shape and a.dtype == want.dtype, (a.shape, a.dtype)
run = a.size // 80
for k in range(4):
    # A run starting at a chunk boundary 3/16, 7/16, 11/16, 15/16 of the way through.
    first = (a.offset + (4 * k + 3) * a.size * 4 // 16) // chunk * chunk
    lo = (first - a.offset) // 4
    if not np.array_equal(a[lo:lo + run], want[lo:lo + run]):
        print(f"FAIL: run {k} at element {lo} differs from the source")
        sys.exit(1)
    print(f"run {first} {first + run * 4}")
print(f"np.load(mmap_mode='r'): 4 runs of {run} float32 values (5% of {a.size}) equal the source's (numpy {np.__version__})")
PY
if grep -q '^np.load' "$T/npy.out"; then
	ms_ok "$(tail -n 1 "$T/npy.out")"
	touched=$(awk -v c="$chunk" '/^run/ { n += int(($3 - 1) / c) - int($2 / c) + 1 } END { print n * c }' "$T/npy.out")
	got=$(ms_key_stat weights.npy bytes)
	size=$(stat -c %s "$MS_SRC/weights.npy")
	# The header read by np.load (chunk 0) and the daemon's one-chunk readahead after it.
	head=$((2 * chunk))
	if ((got <= touched * 11 / 10 + head)); then
		ms_ok "5% touch through numpy: fetched $got of $size bytes (touched chunks $touched + header $head)"
	else
		ms_bad "5% touch through numpy: fetched $got bytes, want at most $((touched * 11 / 10 + head)) (touched chunks $touched + header $head) of $size"
	fi
fi

# np.memmap of a whole file (walked forward: readahead), hashed.
want=$(ms_sha "$MS_SRC/raw.dat")
got=$(ms_shim "$py" -c '
import hashlib, sys, numpy as np
m = np.memmap(sys.argv[1], dtype=np.uint8, mode="r")
print(hashlib.sha256(m).hexdigest())' /models/raw.dat 2>"$T/memmap.err") || true
if [[ $got == "$want" ]]; then
	ms_ok "np.memmap of the whole cold raw.dat hashes to the source's sha256"
else
	ms_bad "np.memmap of raw.dat: sha256 '$got', want $want; $(head -c 300 "$T/memmap.err")"
fi
ms_done
