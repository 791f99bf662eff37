#!/usr/bin/env bash
# t-faults-body: a body that breaks off mid-chunk never makes that chunk present. The front cuts
# GET bodies after B bytes, by a connection reset (TCP RST) or by closing the connection early
# although Content-Length announced the whole range (a truncated body). Once: the read (sha256sum
# under the shim, modelshim cat) is right, one retry is counted, and the retry resumes at the
# broken chunk (the store sends the discarded partial chunk again, nothing more). On every
# attempt: the warm-up fails after `retries` GETs, chunks completed before the break are present
# and exactly those (status --json cached_bytes), a read of what never arrived fails with EIO
# (cat may write the bytes that came before the break first, never another byte), no byte of a
# broken chunk stays in the cache file, and once the store heals only the missing chunks are
# fetched.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

MiB=1048576
retries=3
ms_start_s3
mkdir -p "$T/src"
head -c $((6 * MiB + 777)) /dev/urandom >"$T/src/cut1.bin" # 7 chunks of 1 MiB
head -c $((6 * MiB + 777)) /dev/urandom >"$T/src/cut2.bin"
head -c $((3 * MiB + 5)) /dev/urandom >"$T/src/ex.bin"    # 4 chunks
head -c $((8 * MiB)) /dev/urandom >"$T/src/tr.bin"        # 8 chunks
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = $retries" "timeout = 10s"
ms_daemon_detach
log=$MS_CACHE_DIR/daemon.log
tree=$MS_TREE

# counters: "RETRIES ERRORS CACHED_BYTES PARTIAL" from `modelshim status --json` (daemon retries,
# errors of mount models, and what the maps on disk of mount models mark present).
counters() { ms_status_fields daemon.retries mount.errors mount.cached_bytes mount.partial; }
size() { stat -c %s "$T/src/$1"; }

# --- Once: the read is right and resumes at the broken chunk -------------------------------------
# once MODE KEY READER: the next body over LIMIT bytes is cut by MODE (reset_after or truncate).
once() {
	local mode=$1 key=$2 reader=$3 rc=0 got r0 e0 c0 p0 r1 e1 c1 p1 sent extra first
	local limit=$((2 * MiB + MiB / 2 + 123)) # mid-chunk: 2 chunks arrive, then half of the third
	ms_front_reset
	read -r r0 e0 c0 p0 < <(counters)
	ms_front_config "{\"$mode\": $limit, \"fail\": 1}"
	if [[ $reader == sha256sum ]]; then
		ms_shim sha256sum "/models/$key" >"$T/$key.sum" 2>"$T/err" || rc=$?
		got=$(cut -d' ' -f1 "$T/$key.sum" 2>/dev/null || true)
	else
		"$MS_BIN" cat --config "$MS_CONFIG" "/models/$key" >"$T/$key.out" 2>"$T/err" || rc=$?
		got=$(ms_sha "$T/$key.out")
	fi
	if ((rc != 0)) || [[ $got != "$(ms_sha "$T/src/$key")" ]]; then
		ms_bad "$mode once, $reader $key: exit $rc, sha256 $got is not the source's; $(head -c 300 "$T/err")"
		return 0
	fi
	ms_ok "$mode once at byte $limit: $reader /models/$key exit 0, sha256 matches the source"
	[[ $(ms_stat injected) == 1 ]] || ms_bad "$mode: the front cut $(ms_stat injected) bodies, want 1"
	read -r r1 e1 c1 p1 < <(counters)
	((r1 - r0 == 1)) || ms_bad "$mode once: daemon.retries +$((r1 - r0)), want +1"
	((e1 == e0)) || ms_bad "$mode once: mount errors +$((e1 - e0)) although the read succeeded"
	((c1 - c0 == $(size "$key"))) || ms_bad "$mode once: cached bytes +$((c1 - c0)), want $(size "$key")"
	# The cut body carried 2 whole chunks and LIMIT % 1 MiB bytes of the third: only those bytes
	# may come twice (a reset may also drop bytes in flight: then whole chunks come again).
	sent=$(ms_key_stat "$key" bytes)
	extra=$((sent - $(size "$key")))
	if [[ $mode == truncate ]] && ((extra != limit % MiB)); then
		ms_bad "truncate once: the store sent $sent bytes of $key, $extra more than its size; want exactly the $((limit % MiB)) bytes of the broken chunk again (a partial chunk kept, or whole chunks fetched twice)"
	elif ((extra < limit % MiB || extra > limit)); then
		ms_bad "$mode once: the store sent $sent bytes of $key, $extra more than its size; want $((limit % MiB))..$limit"
	else
		ms_ok "$mode once: $extra bytes of $key sent twice (the broken chunk's $((limit % MiB)) received before the break)"
	fi
	# The retry starts at the broken chunk: past the job's first for a truncated body (a reset
	# may have dropped whole chunks in flight, so any chunk there).
	first='[0-9]+'
	[[ $mode == reset_after ]] || first='[1-9][0-9]*'
	if grep -Eq "fetching $key \[chunks $first-[0-9]+\]: .*$4.*retrying \(attempt 2\)" "$log"; then
		ms_ok "$mode once: daemon.log: $(grep -m1 "fetching $key" "$log")"
	else
		ms_bad "$mode once: no clear retry line in daemon.log (want '$4' and a retry from the broken chunk): $(grep "fetching $key" "$log" | tail -n 2)"
	fi
}
once reset_after cut1.bin sha256sum "reset by peer"
once truncate cut2.bin cat "closed the connection after [0-9]+ of [0-9]+ body bytes"

# warm_broken FAULT LIMIT KEY: `modelshim warmup` of KEY while the front breaks every body after
# LIMIT bytes by FAULT (reset_after or truncate); sets rc, and the counters before (r0 e0 c0 p0)
# and after (r1 e1 c1 p1).
warm_broken() {
	ms_front_reset
	read -r r0 e0 c0 p0 < <(counters)
	ms_front_config "{\"$1\": $2}"
	rc=0
	"$MS_BIN" warmup --config "$MS_CONFIG" "/models/$3" >"$T/w.out" 2>"$T/w.err" || rc=$?
	read -r r1 e1 c1 p1 < <(counters)
}

# --- Every attempt reset before a chunk completes: nothing present, reads fail with EIO ----------
limit=$((MiB / 2 + 99))
warm_broken reset_after "$limit" ex.bin
if ((rc == 0)); then
	ms_bad "warmup of ex.bin succeeded although every body is reset after $limit bytes"
elif ! grep -q "ex.bin.*reset by peer.*$retries attempts" "$T/w.err"; then
	ms_bad "warmup's message does not name ex.bin, the reset and the $retries attempts: $(head -c 300 "$T/w.err")"
else
	ms_ok "reset every attempt: warmup exit $rc: $(grep -m1 ex.bin "$T/w.err")"
fi
ms_check_gave_up ex.bin "$retries" $((r1 - r0)) $((e1 - e0))

# reads_fail WHAT CMD...: CMD under the shim fails with EIO; what it wrote before (bytes that
# arrived before a break are given to a reader that asked for them) is ex.bin's own.
reads_fail() {
	local what=$1 rc=0
	shift
	ms_shim "$@" >"$T/rf.out" 2>"$T/rf.err" || rc=$?
	if ((rc == 0)); then
		ms_bad "$what succeeded although ex.bin cannot arrive"
	elif ((rc == 124)); then
		ms_bad "$what hung (killed after ${MS_SHIM_TIMEOUT:-20} s)"
	elif ! grep -q "Input/output error" "$T/rf.err"; then
		ms_bad "$what: exit $rc without EIO: $(head -c 300 "$T/rf.err")"
	elif [[ -s $T/rf.out && $1 != cat ]]; then
		ms_bad "$what wrote $(stat -c %s "$T/rf.out") bytes although its sum cannot be known: $(head -c 200 "$T/rf.out")"
	elif [[ -s $T/rf.out ]] && ! cmp -s -n "$(stat -c %s "$T/rf.out")" "$T/rf.out" "$T/src/ex.bin"; then
		ms_bad "$what wrote wrong bytes before failing: $(ms_why_differs "$T/rf.out" "$T/src/ex.bin")"
	else
		ms_ok "$what fails with EIO after $(stat -c %s "$T/rf.out") right bytes: $(grep -v "Input/output error" "$T/rf.err" | head -n 1 | head -c 200)"
	fi
}
reads_fail "cat under the shim" cat /models/ex.bin
reads_fail "sha256sum under the shim" sha256sum /models/ex.bin
read -r _ _ c2 _ < <(counters)
((c2 == c0)) || ms_bad "cached bytes went $c0 -> $c2 although no chunk of ex.bin ever arrived whole"
# The broken chunk's pieces are punched out once their writes end (soon after the failure).
for ((i = 0; i < 50; i++)); do
	b=$(stat -c %b "$tree/ex.bin")
	((b != 0)) || break
	sleep 0.1
done
((b == 0)) || ms_bad "ex.bin's cache file has $b blocks 5 s after the failure: bytes of a broken body stayed"
ms_ok "after $(ms_key_stat ex.bin count) reset GETs: cached bytes unchanged ($c2), ex.bin's cache file has no block"

ms_front_config '{"reset_after": 0}'
ms_front_reset
rc=0
"$MS_BIN" cat --config "$MS_CONFIG" /models/ex.bin >"$T/ex.out" 2>"$T/err" || rc=$?
if ((rc == 0)) && cmp -s "$T/ex.out" "$T/src/ex.bin"; then
	ms_ok "store healed: ex.bin reads right"
else
	ms_bad "store healed: exit $rc, $(ms_why_differs "$T/ex.out" "$T/src/ex.bin"); $(head -c 200 "$T/err")"
fi
[[ $(ms_key_stat ex.bin bytes) == "$(size ex.bin)" ]] ||
	ms_bad "healed read fetched $(ms_key_stat ex.bin bytes) bytes of ex.bin, want all $(size ex.bin): nothing was present"

# --- Every attempt truncated mid-chunk: progress is kept, the broken chunk never ----------------
# Attempt k (a GET from chunk k-1) brings chunk k-1 whole and half of chunk k: after `retries`
# attempts chunks 0..retries-1 are present and chunk `retries` is not.
limit=$((MiB + MiB / 2))
warm_broken truncate "$limit" tr.bin
((rc != 0)) || ms_bad "warmup of tr.bin succeeded although every body is truncated"
grep -q "tr.bin.*closed the connection after" "$T/w.err" ||
	ms_bad "warmup's message does not say the connection closed early: $(head -c 300 "$T/w.err")"
if ((c1 - c0 != retries * MiB)); then
	ms_bad "truncated $retries times: cached bytes +$((c1 - c0)), want exactly $retries chunks ($((retries * MiB)))"
else
	ms_ok "truncated $retries times at byte $limit: exactly $retries whole chunks present (+$((c1 - c0)) bytes), partial objects $p0 -> $p1"
fi
((p1 == p0 + 1)) || ms_bad "status shows $p1 partial objects, want $((p0 + 1))"
for ((k = 1; k < retries; k++)); do
	grep -q "fetching tr.bin \[chunks $k-7\]: .*retrying (attempt $((k + 1)))" "$log" ||
		ms_bad "daemon.log has no retry from chunk $k (attempt $((k + 1))): $(grep "fetching tr.bin" "$log" | tr '\n' ';')"
done
grep -q "fetching tr.bin \[chunks $retries-7\]: .*$retries attempts" "$log" ||
	ms_bad "daemon.log has no final error from chunk $retries: $(grep "fetching tr.bin" "$log" | tail -n 1)"

ms_front_config '{"truncate": 0}'
ms_front_reset
ms_shim_sha_check tr.bin "store healed"
want=$(($(size tr.bin) - retries * MiB))
if [[ $(ms_key_stat tr.bin bytes) == "$want" ]]; then
	ms_ok "healed read fetched only chunks $retries-7 ($want bytes): the partial chunk was not present, the whole ones were"
else
	ms_bad "healed read fetched $(ms_key_stat tr.bin bytes) bytes of tr.bin, want $want (chunks $retries-7)"
fi
ms_done
