#!/usr/bin/env bash
# t-cluster: a cluster in network namespaces (tests/cluster/bed.py): 4 nodes, each with its own
# daemon and cache dir, reading through a tier of 2 nginx nodes from an origin behind a WAN link
# shaped by tc tbf (200 Mbit/s; 50 for cases 2 and 3; 10 ms per request at the front). Cases, each reported on its own:
# 1 all nodes read a 64 MiB model at once: the origin sends it about once (<= 1.05x), every
#   node's sha256 is right;
# 2 a tier node killed (kill -9) mid-run, 3 a tier node's link cut mid-run (the timeout path):
#   every node still finishes with the right bytes;
# 4 an object replaced between runs: before the re-import a node reads the old version whole or
#   fails, never a mix; after it every node reads the new bytes;
# 5 warm-up into the tier (warmup --tier from one node), then all nodes cold: origin bytes ~0;
# 6 a daemon with wrong credentials gets no byte through the tier (and sends it no request).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$MS_TOP/tests/cluster/bed.sh"
ms_need_shim
MS_SHIM_TIMEOUT=120

bed_up --nodes 4 --tiers 2 --rate 200mbit --delay-ms 10 --block 4M --chunk 1M --cache-set "timeout = 8s"
ms_ok "bed up: 4 nodes, 2 tier nodes, origin behind a 200 Mbit/s tbf WAN link ($BED_PREFIX-*)"

mib=1048576
mkdir -p "$T/src"
ms_random "$T/src/model.bin" $((64 * mib))
ms_random "$T/src/kill.bin" $((16 * mib + 12345))
ms_random "$T/src/cut.bin" $((16 * mib + 777))
mkdir -p "$T/src/late" "$T/src/late2"
for k in $(seq 10); do
	ms_random "$T/src/late/s$k.bin" $((256 * 1024 + k))
	ms_random "$T/src/late2/s$k.bin" $((256 * 1024 + 20 + k))
done
ms_random "$T/src/swap.bin" $((16 * mib))
bed put "$BED" "$T/src" || ms_fail "upload to the origin failed"
bed import "$BED" || ms_fail "import on the nodes failed"
bed daemons "$BED" start || ms_fail "the nodes' daemons did not start"

# tier_lines KEY [ADDR]: access-log lines of KEY over both tier nodes (from ADDR only).
tier_lines() {
	cat "$BED_TDIR_1/access.log" "$BED_TDIR_2/access.log" 2>/dev/null |
		grep -c "^${2:-[0-9.]*} \"GET /models/$1 " || true
}

# --- 1: all nodes at once, the origin sends the model about once
size=$(stat -c %s "$T/src/model.bin")
bed front "$BED" reset
for i in 1 2 3 4; do bed_read_start $i model.bin; done
bed_read_wait
bed_check_sums model.bin "$T/src/model.bin" "case 1 (4 nodes at once)" 1 2 3 4
origin=$(bed origin-bytes "$BED" model.bin)
if ((origin < size)); then
	ms_bad "case 1: the origin sent $origin bytes of model.bin, less than its $size: counters broken?"
elif ((origin * 100 > size * 105)); then
	ms_bad "case 1: the origin sent $origin bytes for a $size-byte model: $((origin * 100 / size))% (> 105%)"
else
	ms_ok "case 1: the origin sent $origin bytes for the $size-byte model ($((origin * 1000 / size)) per mille); $(tier_lines model.bin) tier requests"
fi

# mid_run KEY WHAT J WHAT: the 4 nodes read KEY at once; once the WAN has carried 40% of it,
# tier node J is hit (kill: kill -9; cut: its link down); every node must still finish with
# the right bytes.
mid_run() {
	local key=$1 how=$2 j=$3 what=$4 ksize running=0 p base t0 t1
	ksize=$(stat -c %s "$T/src/$key")
	base=$(bed wan-bytes "$BED")
	t0=$(date +%s%N)
	for i in 1 2 3 4; do bed_read_start $i "$key"; done
	if bed strike "$BED" $((base + ksize * 4 / 10)) "$how" "$j" --timeout 60; then
		t1=$(date +%s%N)
		for p in "${MS_BED_READERS[@]}"; do ! ms_alive "$p" || running=$((running + 1)); done
	else
		ms_bad "$what: the WAN never carried 40% of $key ($(($(bed wan-bytes "$BED") - base)) bytes)"
	fi
	bed_read_wait
	bed_check_sums "$key" "$T/src/$key" "$what" 1 2 3 4
	echo "  ($what: struck $(((t1 - t0) / 1000000)) ms after the readers' start, $running of 4 still" \
		"running then, all done after $((($(date +%s%N) - t0) / 1000000)) ms; the origin sent" \
		"$(bed origin-bytes "$BED" "$key") bytes of $ksize)"
}

# --- 2: tier node 1 killed mid-run (at 50 Mbit/s: the origin's part lasts about 3 s)
bed rate "$BED" 50mbit || ms_fail "cannot change the WAN's rate"
# surely_struck J DIR WHAT: when no daemon saw tier node J fail (on a fast machine J's part of the
# run was done before the strike), 10 small cold objects of DIR (one block each; all 10 on the
# other node has odds of 1 in 1024) are read with J still down, so J's blocks take the failure
# path whatever the timing.
surely_struck() {
	local j=$1 dir=$2 what=$3 k
	(($(bed tier-sum "$BED" failures "$j") == 0)) || return 0
	for k in $(seq 10); do bed_read_start 1 "$dir/s$k.bin"; done
	bed_read_wait
	for k in $(seq 10); do bed_check_sums "$dir/s$k.bin" "$T/src/$dir/s$k.bin" "$what" 1; done
}

mid_run kill.bin kill 1 "case 2 (tier node 1 killed with -9 at 40%)"
surely_struck 1 late2 "case 2 (node 1 still dead)"
(($(bed tier-sum "$BED" failures 1) > 0)) ||
	ms_bad "case 2: no daemon saw tier node 1 fail: the kill tested nothing"

# --- 3: tier node 2's link cut mid-run (node 1 back, the daemons' down marks forgotten)
bed tier "$BED" 1 start || ms_fail "tier node 1 did not restart"
bed daemons "$BED" restart || ms_fail "the daemons did not restart"
mid_run cut.bin cut 2 "case 3 (tier node 2's link cut at 40%)"
surely_struck 2 late "case 3 (link still cut)"
(($(bed tier-sum "$BED" failures 2) > 0)) ||
	ms_bad "case 3: no daemon saw tier node 2 fail: the cut tested nothing"
bed tier "$BED" 2 mend || ms_fail "tier node 2's link did not come back"
bed rate "$BED" 200mbit || ms_fail "cannot change the WAN's rate"
# Every daemon forgets that node 2 was down (30 s): until then a daemon sends node 2's blocks to
# node 1, and warmup --tier (case 5) would warm node 1 with blocks the others ask of node 2.
bed daemons "$BED" restart || ms_fail "the daemons did not restart"

# --- 4: an object replaced between runs
cp "$T/src/swap.bin" "$T/swap-v1.bin"
bed_read_start 1 swap.bin head -c $((6 * mib)) # node 1 holds part of v1
bed_read_start 2 swap.bin                           # node 2 reads v1 whole: the tier holds it
bed_read_wait
((MS_BED_FAILED == 0)) || ms_fail "case 4: reading v1 of swap.bin failed: $(cat "$T"/read-[12]-swap.bin.err)"
ms_random "$T/src/swap.bin" $((16 * mib))
mkdir -p "$T/src-v2"
cp "$T/src/swap.bin" "$T/src-v2/swap.bin"
bed put "$BED" "$T/src-v2" || ms_fail "case 4: replacing swap.bin failed"
# Not re-imported yet: node 1 (part of v1 cached) and node 3 (nothing cached) read v1 whole, or
# fail having read a prefix of v1; never a byte of v2.
for i in 1 3; do bed_read_start $i swap.bin cat; done
bed_read_wait
for i in 1 3; do
	out=$T/read-$i-swap.bin.out
	if cmp -s "$out" "$T/swap-v1.bin"; then
		ms_ok "case 4: before the re-import node $i read the imported version (v1) whole"
	elif ms_is_prefix "$out" "$T/swap-v1.bin" && [[ -s $T/read-$i-swap.bin.err ]]; then
		ms_ok "case 4: before the re-import node $i failed after $(stat -c %s "$out") bytes of v1: $(head -c 150 "$T/read-$i-swap.bin.err")"
	else
		ms_bad "case 4: before the re-import node $i read a mix: $(ms_why_differs "$out" "$T/swap-v1.bin")"
	fi
done
bed import "$BED" || ms_fail "case 4: re-import failed"
for i in 1 2 3 4; do bed_read_start $i swap.bin; done
bed_read_wait
bed_check_sums swap.bin "$T/src/swap.bin" "case 4 (after the re-import: the new version)" 1 2 3 4

# --- 5: warm-up into the tier (warmup --tier from node 1), then all nodes cold: origin bytes ~0
mkdir -p "$T/src-5"
ms_random "$T/src-5/warm.bin" $((24 * mib + 99))
bed put "$BED" "$T/src-5" || ms_fail "case 5: upload failed"
bed import "$BED" || ms_fail "case 5: import failed"
ip netns exec "$BED_NS_1" "$MS_BIN" warmup --tier --config "$BED_INI_1" /models/warm.bin >"$T/warm.out" 2>&1 ||
	ms_fail "case 5: warmup --tier failed: $(tail -n 3 "$T/warm.out")"
warmed=$(bed origin-bytes "$BED" warm.bin)
for i in 1 2 3 4; do bed_read_start $i warm.bin; done
bed_read_wait
bed_check_sums warm.bin "$T/src-5/warm.bin" "case 5 (after warmup --tier)" 1 2 3 4
cold=$(($(bed origin-bytes "$BED" warm.bin) - warmed))
if ((cold <= 64)); then
	ms_ok "case 5: after warmup --tier (origin $warmed bytes for $(stat -c %s "$T/src-5/warm.bin")) the 4 nodes' cold load cost the origin $cold bytes (their 1-byte proofs)"
else
	ms_bad "case 5: after warmup --tier the 4 nodes' cold load made the origin send $cold bytes (want ~0: <= 64)"
fi

# --- 6: a daemon with wrong credentials gets nothing through the tier, which holds the object
mkdir -p "$T/src-6"
ms_random "$T/src-6/secret.bin" $((8 * mib))
bed put "$BED" "$T/src-6" || ms_fail "case 6: upload failed"
bed import "$BED" || ms_fail "case 6: import failed"
bed_read_start 1 secret.bin
bed_read_wait
bed_check_sums secret.bin "$T/src-6/secret.bin" "case 6 (node 1 with the right secret, the tier filled)" 1
(
	umask 077
	printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = NOT-THE-SECRET\n' >"$T/bad-credentials"
)
bed node-config "$BED" 4 --credentials "$T/bad-credentials" || ms_fail "case 6: node 4's config"
bed daemons "$BED" restart --node 4 || ms_fail "case 6: node 4's daemon did not restart"
addr4=$BED_ADDR_4
before=$(tier_lines secret.bin "$addr4")
bed_read_start 4 secret.bin cat
bed_read_wait
if ((MS_BED_FAILED == 0)) || [[ -s $T/read-4-secret.bin.out ]]; then
	ms_bad "case 6: a daemon with a wrong secret read $(stat -c %s "$T/read-4-secret.bin.out") bytes of secret.bin"
elif (($(tier_lines secret.bin "$addr4") != before)); then
	ms_bad "case 6: a daemon with a wrong secret sent $(($(tier_lines secret.bin "$addr4") - before)) requests to the tier"
else
	ms_ok "case 6: a daemon with a wrong secret got no byte and sent no request to the tier: $(head -c 150 "$T/read-4-secret.bin.err")"
fi
ms_done
