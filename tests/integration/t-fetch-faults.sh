#!/usr/bin/env bash
# t-fetch-faults: a GET answer that does not match what was asked is never cached: a 2xx whose
# ETag is not the object's, a 200 with the whole object for a Range, a 206 whose Content-Range
# names another range, another size or nothing. On every GET: a cold read (dd of chunks 2-3 under
# the shim, modelshim cat of the whole object) fails with EIO or gives the right bytes, never
# wrong bytes or zeros, nothing wrong is cached, and once the store heals the bytes are right.
# On one GET: a range mismatch costs one retry and the read is right; an ETag or size mismatch
# is final (the object looks changed) and the next read is right. An answer without ETag (its
# If-Match held) may be taken or refused, never be wrong.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

export MS_CHUNK=256K
CH=262144
retries=3
ms_start_s3
# mode name, front fault, class: proto (a range mismatch: retried), stale (the object looks
# changed: final), either (no ETag, but If-Match held: the bytes are right; a client may take
# them or refuse them as it would a wrong ETag).
modes=(etag whole cr-bad cr-total cr-missing etag-missing)
declare -A fault=([etag]='"etag": true' [whole]='"whole": true' [cr-bad]='"content_range": "bad"'
	[cr-total]='"content_range": "total"' [cr-missing]='"content_range": "missing"' [etag-missing]='"etag": "missing"')
declare -A class=([etag]=stale [whole]=proto [cr-bad]=proto [cr-total]=stale [cr-missing]=proto [etag-missing]=either)
declare -A says=([stale]="changed in the store" [proto]="range that was not asked for")
mkdir -p "$T/src" "$T/exp"
for m in "${modes[@]}"; do
	for p in p o; do
		head -c $((5 * CH + 4321)) /dev/urandom >"$T/src/$p-$m.bin" # 6 chunks
		dd if="$T/src/$p-$m.bin" of="$T/exp/$p-$m.mid" bs=$CH skip=2 count=2 status=none
	done
done
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = $retries" "timeout = 10s"
ms_daemon_detach
log=$MS_CACHE_DIR/daemon.log

# counters: "RETRIES ERRORS" (daemon retries, errors of mount models), as ms_status_fields gives
# them but parsed by node, which starts faster than python here (asked 4 times per mode).
counters() {
	timeout -k 2 5 "$MS_BIN" status --config "$MS_CONFIG" --json | node -e '
		let s = ""; process.stdin.on("data", d => (s += d)).on("end", () => {
			const j = JSON.parse(s);
			if (j.daemon === null) process.exit(1);
			console.log(j.daemon.retries, j.mounts[0].errors);
		});' || ms_fail "status --json did not answer within 5 s, or has no daemon counters"
}

# mid WHAT KEY WANT: chunks 2-3 of KEY by dd under the shim. WANT "eio": fails with EIO and
# writes no byte; "right": exit 0 and the right bytes; "either": one of both. Never wrong bytes
# or zeros.
mid() {
	local what=$1 key=$2 want=$3 rc=0 out=$T/mid.out
	rm -f "$out"
	ms_shim dd if="/models/$key" of="$out" bs=$CH skip=2 count=2 status=none 2>"$T/mid.err" || rc=$?
	[[ -e $out ]] || : >"$out"
	if ((rc == 0)) && cmp -s "$out" "$T/exp/${key%.bin}.mid"; then
		if [[ $want != eio ]]; then
			ms_ok "$what: dd of chunks 2-3 under the shim: the right bytes"
		else
			ms_bad "$what: dd of chunks 2-3 succeeded with the right bytes, want EIO"
		fi
	elif ((rc == 0)); then
		ms_bad "$what: dd of chunks 2-3 exit 0 with WRONG BYTES: $(ms_why_differs "$out" "$T/exp/${key%.bin}.mid")"
	elif ! ms_is_prefix "$out" "$T/exp/${key%.bin}.mid"; then
		ms_bad "$what: dd exit $rc after writing WRONG BYTES: $(ms_why_differs "$out" "$T/exp/${key%.bin}.mid")"
	elif ((rc == 124)); then
		ms_bad "$what: dd hung (killed after ${MS_SHIM_TIMEOUT:-20} s)"
	elif ! grep -q "Input/output error" "$T/mid.err"; then
		ms_bad "$what: dd exit $rc without EIO: $(head -c 300 "$T/mid.err")"
	elif [[ $want != right && ! -s $out ]]; then
		ms_ok "$what: dd of chunks 2-3 under the shim fails with EIO, no byte written"
	else
		ms_bad "$what: dd exit $rc (EIO) after $(stat -c %s "$out") right bytes, want $want"
	fi
}

# whole WHAT KEY WANT [GREP]: KEY in full by modelshim cat. WANT "right": exit 0, right bytes;
# "fail": non-zero, what it wrote is the start of the object (the right bytes before the chunk
# that failed: modelshim cat writes only present chunks), GREP on stderr; "either": one of both.
whole() {
	local what=$1 key=$2 want=$3 rc=0 out=$T/cat.out
	"$MS_BIN" cat --config "$MS_CONFIG" "/models/$key" >"$out" 2>"$T/cat.err" || rc=$?
	if ((rc == 0)) && cmp -s "$out" "$T/src/$key"; then
		if [[ $want != fail ]]; then
			ms_ok "$what: modelshim cat: the right bytes"
		else
			ms_bad "$what: modelshim cat succeeded with the right bytes although every GET is faulty"
		fi
	elif ((rc == 0)); then
		ms_bad "$what: modelshim cat exit 0 with WRONG BYTES: $(ms_why_differs "$out" "$T/src/$key")"
	elif ! ms_is_prefix "$out" "$T/src/$key"; then
		ms_bad "$what: modelshim cat exit $rc after writing WRONG BYTES: $(ms_why_differs "$out" "$T/src/$key")"
	elif [[ $want == right ]]; then
		ms_bad "$what: modelshim cat exit $rc: $(head -c 300 "$T/cat.err")"
	elif [[ $want == either ]]; then
		ms_ok "$what: modelshim cat exit $rc after $(stat -c %s "$out") right bytes (refused): $(head -n 1 "$T/cat.err" | head -c 200)"
	elif [[ -n ${4:-} ]] && ! grep -q "$4" "$T/cat.err"; then
		ms_bad "$what: modelshim cat exit $rc without saying '$4': $(head -c 300 "$T/cat.err")"
	else
		ms_ok "$what: modelshim cat exit $rc after $(stat -c %s "$out") right bytes: $(head -n 1 "$T/cat.err" | head -c 200)"
	fi
}

# audit KEY: every chunk the cache holds as present for KEY has the source's bytes.
audit() {
	local d h ext
	ext=$(ms_life extents "$MS_TREE/$1") || { ms_bad "$1: no extents of its cache file"; return 0; }
	while read -r d h; do
		[[ -n $d ]] || continue # no extent at all
		cmp -s -n $((h - d)) -i "$d:$d" "$MS_TREE/$1" "$T/src/$1" || {
			ms_bad "$1: the cache file holds bytes that are not the source's where it is allocated"
			return 0
		}
	done <<<"$ext"
}

for m in "${modes[@]}"; do
	c=${class[$m]}
	# --- The fault on every GET, until cleared ----------------------------------------------
	key=p-$m.bin
	ms_front_reset
	read -r r0 e0 < <(counters)
	ms_front_config "{${fault[$m]}, \"fail\": 0}"
	if [[ $c == either ]]; then
		mid "$m on every GET" "$key" either
		whole "$m on every GET" "$key" either
	else
		mid "$m on every GET" "$key" eio
		whole "$m on every GET" "$key" fail "${says[$c]}"
	fi
	read -r r1 e1 < <(counters)
	inj=$(ms_stat injected)
	case $c in
	proto)
		((r1 - r0 >= retries - 1 && e1 > e0)) ||
			ms_bad "$m on every GET: daemon.retries +$((r1 - r0)), errors +$((e1 - e0)); want >= $((retries - 1)) retries (a range mismatch is retried) and errors"
		grep -q "fetching $key .*${says[$c]}.*gave up after $retries attempts" "$log" ||
			ms_bad "$m: daemon.log has no error saying '${says[$c]}' after $retries attempts: $(grep "fetching $key" "$log" | tail -n 1)"
		;;
	stale)
		((r1 == r0 && e1 > e0)) ||
			ms_bad "$m on every GET: daemon.retries +$((r1 - r0)), errors +$((e1 - e0)); want no retry (final) and errors"
		;;
	esac
	((inj > 0)) || ms_bad "$m: the front injected nothing: the check proves nothing"
	audit "$key"
	ms_front_config "{${fault[$m]%%:*}: false}"
	ms_front_reset
	mid "$m cleared" "$key" right
	whole "$m cleared" "$key" right
	[[ $(ms_stat injected) == 0 ]] || ms_bad "$m: the fault was not cleared"

	# --- The fault on one GET ------------------------------------------------------------------
	key=o-$m.bin
	ms_front_reset
	read -r r0 e0 < <(counters)
	ms_front_config "{${fault[$m]}, \"fail\": 1}"
	case $c in
	proto)
		mid "$m once" "$key" right
		read -r r1 e1 < <(counters)
		((r1 - r0 == 1 && e1 == e0)) || ms_bad "$m once: daemon.retries +$((r1 - r0)), errors +$((e1 - e0)), want +1 and +0"
		;;
	stale)
		mid "$m once" "$key" eio
		read -r r1 e1 < <(counters)
		((r1 == r0 && e1 - e0 == 1)) || ms_bad "$m once: daemon.retries +$((r1 - r0)), errors +$((e1 - e0)), want +0 and +1"
		mid "$m once, next read" "$key" right
		;;
	either)
		mid "$m once" "$key" either
		mid "$m once, next read" "$key" right
		;;
	esac
	[[ $(ms_stat injected) == 1 ]] || ms_bad "$m once: the front injected $(ms_stat injected) faults, want 1"
	whole "$m once, then the whole object" "$key" right
	audit "$key"
done
ms_done
