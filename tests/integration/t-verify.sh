#!/usr/bin/env bash
# t-verify: a cache file corrupted on disk behind the daemon's back (bytes flipped in a chunk
# marked present) is found by `modelshim verify` by checksum and repaired by refetching just that
# chunk; `verify = open` catches it before a program reads it; without it the corruption is what
# a hit serves (the control: proves the flip really lands in the bytes served).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

export MS_CHUNK=256K
ms_shim_setup
big=$MS_TREE/big.bin
sum_src=$(sha256sum <"$MS_SRC/big.bin" | cut -d' ' -f1)
sum_nested=$(sha256sum <"$MS_SRC/dir/sub/nested.bin" | cut -d' ' -f1)
chunk=$((256 * 1024))

# flip OFFSET: one byte of big.bin's cache file inverted in place (same inode, same size).
flip() {
	python3 - "$big" "$1" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
off = int(sys.argv[2])
b = os.pread(fd, 1, off)
os.pwrite(fd, bytes([b[0] ^ 0xFF]), off)
os.close(fd)
EOF
}

# Everything cached, and clean.
"$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin >/dev/null || ms_fail "warming big.bin failed"
"$MS_BIN" cat --config "$MS_CONFIG" /models/dir/sub/nested.bin >/dev/null || ms_fail "warming nested.bin failed"
out=$("$MS_BIN" verify --config "$MS_CONFIG") || ms_fail "verify of a clean cache failed: $out"
grep -q "0 bad, 0 repaired" <<<"$out" || ms_fail "clean cache reported bad chunks: $out"
ms_ok "clean cache: $out"

# Two flips in chunk 3, one in chunk 17: verify --check-only names them and exits 1.
flip $((3 * chunk + 100))
flip $((3 * chunk + 200000))
flip $((17 * chunk + 5))
if out=$("$MS_BIN" verify --config "$MS_CONFIG" --check-only); then
	ms_fail "verify --check-only exited 0 on a corrupted cache: $out"
fi
grep -q "big.bin: 2 chunks failed the checksum (chunk 3 17)" <<<"$out" || ms_fail "corruption not reported: $out"
grep -q "2 bad, 0 repaired" <<<"$out" || ms_fail "summary wrong: $out"
ms_ok "check-only finds both bad chunks: $(head -n1 <<<"$out")"

# The control: a plain hit serves what is on disk.
got=$(ms_shim sha256sum /models/big.bin | cut -d' ' -f1)
[[ $got != "$sum_src" ]] || ms_fail "the flipped bytes did not reach a plain hit: the test proves nothing"
ms_ok "control: without verify a hit serves the corrupted bytes"

# verify = open: the same read is correct, and only the two bad chunks were refetched.
ms_write_config "$T/ms-verify.ini" "verify = open"
ms_front_reset
got=$(LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$T/ms-verify.ini" timeout -k 5 30 \
	sha256sum /models/big.bin 2>"$T/err" | cut -d' ' -f1)
[[ $got == "$sum_src" ]] || ms_fail "verify-on-open served wrong bytes ($(cat "$T/err"))"
fetched=$(ms_key_stat big.bin bytes)
((fetched == 2 * chunk)) || ms_fail "verify-on-open refetched $fetched bytes, not the 2 bad chunks ($((2 * chunk)))"
grep -q "failed their checksum" "$MS_CACHE_DIR/daemon.log" || ms_fail "the daemon did not log the drop"
ms_ok "verify = open: correct bytes, $fetched bytes refetched (2 chunks)"

# verify repairs: flip again, repair, then a plain hit is correct and the cache is clean.
flip $((19 * chunk + 1))
ms_front_reset
out=$("$MS_BIN" verify --config "$MS_CONFIG") || ms_fail "verify did not repair: $out"
grep -q "big.bin: 1 chunk failed the checksum (chunk 19): repaired" <<<"$out" || ms_fail "repair not reported: $out"
fetched=$(ms_key_stat big.bin bytes)
((fetched == chunk)) || ms_fail "repair refetched $fetched bytes, not one chunk ($chunk)"
got=$(ms_shim sha256sum /models/big.bin | cut -d' ' -f1)
[[ $got == "$sum_src" ]] || ms_fail "after repair a hit serves wrong bytes"
got=$(ms_shim sha256sum /models/dir/sub/nested.bin | cut -d' ' -f1)
[[ $got == "$sum_nested" ]] || ms_fail "nested.bin damaged by the repair of another object"
out=$("$MS_BIN" verify --config "$MS_CONFIG" --check-only) || ms_fail "cache not clean after repair: $out"
ms_ok "verify repaired chunk 19 by refetching $fetched bytes; cache clean again"

# Bad input: an unknown mount is a clear error, exit 2.
rc=0
"$MS_BIN" verify --config "$MS_CONFIG" nosuch 2>"$T/err" || rc=$?
((rc == 2)) && grep -q "no mount named 'nosuch'" "$T/err" || ms_fail "unknown mount: rc $rc, $(cat "$T/err")"
ms_ok "unknown mount refused"
