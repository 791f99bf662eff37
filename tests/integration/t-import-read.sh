#!/usr/bin/env bash
# t-import-read: import of a bucket with >1000 objects (pagination), nested dirs, odd keys and
# chunk-boundary sizes; every object read through the daemon is byte-identical to its source,
# and the SigV4-verifying front rejected no request.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

export MS_CHUNK=64K
ms_start_s3
src=$T/src
mkdir -p "$src"

# 1200 small objects over nested directories: more than one ListObjectsV2 page.
for d in $(seq 0 11); do
	mkdir -p "$src/many/d$d/sub"
	for f in $(seq 0 49); do
		printf 'object %s/%s\n' "$d" "$f" >"$src/many/d$d/f$f.txt"
		printf 'nested %s/%s %s\n' "$d" "$f" "$RANDOM" >"$src/many/d$d/sub/g$f.txt"
	done
done
# Odd keys and sizes around the 64 KiB chunk size.
mkdir -p "$src/odd/中文" "$src/sizes"
head -c 3000 /dev/urandom >"$src/odd/with space.bin"
head -c 3001 /dev/urandom >"$src/odd/plus+sign.bin"
head -c 3002 /dev/urandom >"$src/odd/eq=sign.bin"
head -c 3003 /dev/urandom >"$src/odd/pct%41.bin"
head -c 3004 /dev/urandom >"$src/odd/tilde~.bin"
head -c 3005 /dev/urandom >"$src/odd/中文/é.bin"
head -c 3006 /dev/urandom >"$src/odd/-leading-dash"
head -c 3007 /dev/urandom >"$src/odd/paren(1)!*'.bin"
for n in 0 1 65535 65536 65537 655363; do
	head -c "$n" /dev/urandom >"$src/sizes/s$n.bin"
done
ms_put "$src"
nobj=$(find "$src" -type f | wc -l)

ms_write_config "$T/ms.ini"
"$MS_BIN" import --config "$T/ms.ini" >"$T/import.out" || ms_fail "import failed"
grep -q "$nobj objects" "$T/import.out" || ms_fail "import reported $(cat "$T/import.out"), want $nobj objects"
grep -q "0 rejected" "$T/import.out" || ms_fail "import rejected keys: $(cat "$T/import.out")"
ms_ok "import of $nobj objects"
(($(ms_stat methods.GET) >= 2)) || ms_fail "listing was not paginated ($(ms_stat methods.GET) GETs)"
ms_ok "listing took $(ms_stat methods.GET) pages"

tree=$MS_TREE
n=$(find "$tree" -type f | wc -l)
[[ $n -eq $nobj ]] || ms_fail "tree has $n files, want $nobj"
# Sizes and mtimes are there before any byte is fetched; the files are sparse.
[[ $(stat -c %s "$tree/sizes/s655363.bin") -eq 655363 ]] || ms_fail "sparse file has the wrong size"
[[ $(stat -c %b "$tree/sizes/s655363.bin") -eq 0 ]] || ms_fail "import wrote data blocks"
(($(stat -c %Y "$tree/sizes/s655363.bin") > 1000000000)) || ms_fail "mtime not set from Last-Modified"
ms_ok "tree: $n sparse files with sizes and mtimes"

ms_daemon_start
while IFS= read -r -d '' f; do
	rel=${f#"$src"/}
	got=$("$MS_BIN" cat --config "$T/ms.ini" "/models/$rel" | sha256sum)
	want=$(sha256sum <"$f")
	[[ $got == "$want" ]] || ms_fail "/models/$rel differs from its source"
done < <(find "$src/odd" "$src/sizes" -type f -print0)
ms_ok "odd keys and chunk-boundary sizes read byte-identical"

# All 1200 small objects in one cat: the concatenation must match.
mapfile -t rels < <(cd "$src" && find many -type f | sort)
got=$("$MS_BIN" cat --config "$T/ms.ini" "${rels[@]/#//models/}" | sha256sum)
want=$(cd "$src" && cat "${rels[@]}" | sha256sum)
[[ $got == "$want" ]] || ms_fail "the 1200 small objects differ from their sources"
ms_ok "${#rels[@]} nested objects read byte-identical"

# A second read is served from the cache: no new GET.
before=$(ms_stat methods.GET)
"$MS_BIN" cat --config "$T/ms.ini" /models/sizes/s655363.bin >/dev/null
[[ $(ms_stat methods.GET) -eq $before ]] || ms_fail "a cached object was fetched again"
ms_ok "warm read made no request"

"$MS_BIN" status --config "$T/ms.ini" >"$T/status.out"
grep -q "fills=" "$T/status.out" || ms_fail "status shows no daemon counters"
[[ $(ms_stat rejected) -eq 0 ]] || ms_fail "the SigV4 front rejected $(ms_stat rejected) requests"
ms_ok "no request rejected by the SigV4 front"

# Paths that are not objects fail cleanly.
if "$MS_BIN" cat --config "$T/ms.ini" /models/nope 2>"$T/err"; then ms_fail "cat of a missing object succeeded"; fi
grep -q "No such file" "$T/err" || ms_fail "unclear error for a missing object: $(cat "$T/err")"
if "$MS_BIN" cat --config "$T/ms.ini" /models/many 2>"$T/err"; then ms_fail "cat of a directory succeeded"; fi
if "$MS_BIN" cat --config "$T/ms.ini" /elsewhere/x 2>"$T/err"; then ms_fail "cat outside mounts succeeded"; fi
grep -q "not under any mount" "$T/err" || ms_fail "unclear error outside mounts: $(cat "$T/err")"
ms_ok "missing object, directory and foreign path give clear errors"
ms_daemon_stop
[[ $MS_DAEMON_RC -eq 0 ]] || ms_fail "daemon exited with $MS_DAEMON_RC after SIGTERM"
[[ ! -S $MS_CACHE_DIR/daemon.sock ]] || ms_fail "daemon left its socket behind"
ms_ok "daemon stopped cleanly"
