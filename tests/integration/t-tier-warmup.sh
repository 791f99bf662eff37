#!/usr/bin/env bash
# t-tier-warmup: `modelshim warmup --tier` from one node fills a cluster cache tier (two nginx
# nodes on loopback) with every block of a directory's files without caching a byte locally;
# a cold node then reads them with ~0 origin bytes (only its 1-byte proofs of access), every
# block a tier hit. A mount without a tier is refused by name, and with every tier node down a
# warm-up fails naming why and never reads the model from the origin instead.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

export MS_CHUNK=1M
block=$((4 * 1048576))
size=$((3 * block + 4321)) # 4 blocks, the last one short
ms_start_s3
ms_random "$T/src/m/model.bin" $size
ms_random "$T/src/m/small.bin" 100000
ms_random "$T/src/other.bin" 5000
ms_put "$T/src"
p1=$(ms_free_port)
p2=$(ms_free_port)
ms_tier_node_config a t1 4M "$p1" "$p2"
ms_tier_start "$T/a.ini" t1 "$p1" "$p2"
"$MS_BIN" import -q --config "$T/a.ini" || ms_fail "import on a failed"
ms_daemon_start

ms_front_reset
"$MS_BIN" warmup --tier --config "$T/a.ini" /models/m >"$T/warm.out" 2>"$T/warm.err" ||
	ms_fail "warmup --tier failed: $(head -c 400 "$T/warm.err")"
grep -q "warmup --tier: 5 blocks .* of 2 files now in the tier, 0 failed" "$T/warm.out" ||
	ms_fail "warmup --tier's summary: $(cat "$T/warm.out")"
grep -q "warmup --tier: 5/5 blocks" "$T/warm.err" || ms_fail "no progress lines: $(cat "$T/warm.err")"
for k in m/model.bin m/small.bin; do
	b=$(stat -c %b "$MS_TREE/$k")
	((b == 0)) || ms_fail "warmup --tier cached $b blocks of $k on node a"
done
origin=$(ms_key_stat m/model.bin bytes)
((origin >= size)) || ms_fail "the tier fetched only $origin bytes of model.bin from the origin"
ms_ok "warmup --tier: 5 blocks of 2 files through the tier ($origin origin bytes for model.bin), nothing cached on node a"

# A cold node: every block from the tier; the origin sends only the 1-byte proofs of access (one
# per object, or per block asked at once before the first proof came back: at most 5 bytes).
ms_front_reset
ms_tier_node_config b t1 4M "$p1" "$p2"
"$MS_BIN" import -q --config "$T/b.ini" || ms_fail "import on b failed"
ms_daemon_start
for k in m/model.bin m/small.bin; do
	"$MS_BIN" cat --config "$T/b.ini" "/models/$k" >"$T/out" 2>"$T/cat.err" || ms_fail "node b: cat $k: $(head -c 300 "$T/cat.err")"
	[[ $(ms_sha "$T/out") == "$(ms_sha "$T/src/$k")" ]] || ms_fail "node b: $k: $(ms_why_differs "$T/out" "$T/src/$k")"
done
origin=$(ms_stat get_bytes)
((origin <= 5)) || ms_fail "node b's cold read made the origin send $origin bytes after warmup --tier"
read -r hits misses < <("$MS_BIN" status --json --config "$T/b.ini" | "$MS_PY" -c '
import json, sys
nodes = json.load(sys.stdin)["daemon"]["tier_nodes"]
print(sum(n["hits"] for n in nodes), sum(n["misses"] for n in nodes))')
((hits == 5 && misses == 0)) || ms_fail "node b: $hits tier hits and $misses misses, not 5 and 0"
ms_ok "a cold node read both files right with $origin origin bytes: 5 tier hits, 0 misses"

# A mount without a tier, and a path not imported: refused by name, nothing sent.
ms_write_config "$T/plain.ini"
sed -i "s|^dir = .*|dir = $T/cache-plain|" "$T/plain.ini"
MS_CACHE_DIR=$T/cache-plain # a daemon a command starts there is stopped at exit
"$MS_BIN" import -q --config "$T/plain.ini" || ms_fail "import without a tier failed"
if "$MS_BIN" warmup --tier --config "$T/plain.ini" /models/other.bin 2>"$T/err"; then
	ms_fail "warmup --tier of a mount without a tier succeeded"
fi
grep -q "mount models has no cluster tier" "$T/err" || ms_fail "no clear refusal: $(cat "$T/err")"
if "$MS_BIN" warmup --tier --config "$T/a.ini" /models/nothing.bin 2>"$T/err"; then
	ms_fail "warmup --tier of a path not imported succeeded"
fi
grep -q "not in the imported namespace" "$T/err" || ms_fail "no clear refusal: $(cat "$T/err")"
ms_ok "warmup --tier refuses a mount without a tier and a path not imported, naming them"

# Every tier node down: the warm-up fails, naming why, and never reads the blocks from the origin.
ms_tier_kill "$p1"
ms_tier_kill "$p2"
ms_front_reset
MS_CONFIG=$T/a.ini
if "$MS_BIN" warmup --tier --config "$T/a.ini" /models/other.bin >"$T/warm.out" 2>"$T/err"; then
	ms_fail "warmup --tier with every tier node down succeeded"
fi
grep -q "no tier node left" "$T/err" || ms_fail "the failure does not say why: $(cat "$T/err")"
grep -q "/models/other.bin" "$T/err" || ms_fail "the failure does not name the file: $(cat "$T/err")"
origin=$(ms_key_stat other.bin bytes)
((origin <= 1)) || ms_fail "with the tier down, warmup --tier read $origin bytes of other.bin from the origin"
ms_ok "with every tier node down, warmup --tier fails naming the file and why, and reads nothing from the origin: $(head -n 1 "$T/err")"
