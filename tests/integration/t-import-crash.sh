#!/usr/bin/env bash
# t-import-crash: a re-import SIGKILLed at each of its steps (crash points import.pruned, import.map_removed, import.data_renamed, import.object_done; invariants 7 and 9): afterwards every object reads its old bytes, its new bytes, or fails cleanly (never zeros, never a mix), unchanged objects keep their cached bytes (no GET), and the next complete import gives exactly the new namespace.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

export MS_CHUNK=1M
size=$((2 * 1048576 + 4321))
ms_start_s3
mkdir -p "$T/src" "$T/prev"
for k in keep1 keep2 chg1 chg2 gone0; do head -c $size /dev/urandom >"$T/src/$k.bin"; done
ms_import_src
ms_daemon_start

# warm_all: every object of the namespace read in full (cached) and right.
warm_all() {
	local f
	for f in "$T"/src/*.bin; do
		"$MS_BIN" cat --config "$T/ms.ini" "/models/${f##*/}" | cmp -s - "$f" ||
			ms_fail "warming /models/${f##*/} failed"
	done
}
# one_of OUT RC A B: OUT (exit RC) is A or B whole, or, failed, a prefix of A or of B.
one_of() {
	local n
	n=$(stat -c %s "$1")
	if (($2 == 0)); then
		cmp -s "$1" "$3" || cmp -s "$1" "$4"
	else
		((n == 0)) || cmp -s -n "$n" "$1" "$3" || cmp -s -n "$n" "$1" "$4"
	fi
}

warm_all
round=0
for at in import.pruned:1 import.map_removed:1 import.data_renamed:1 import.data_renamed:2 import.object_done:1; do
	round=$((round + 1))
	# Pending changes: chg1 and chg2 get new bytes of the same size, gone$((round - 1)) is
	# deleted, new$round and gone$round (next round's deletion) are added. The previous
	# versions are kept in $T/prev.
	cp "$T"/src/*.bin "$T/prev/"
	rm -rf "$T/add"
	mkdir -p "$T/add"
	for k in chg1 chg2 "new$round" "gone$round"; do
		head -c $size /dev/urandom >"$T/add/$k.bin"
	done
	cp "$T"/add/*.bin "$T/src/"
	ms_put "$T/add"
	ms_delete "gone$((round - 1)).bin"
	rm "$T/src/gone$((round - 1)).bin"

	rc=0
	MODELSHIM_CRASH_AT=$at "$MS_BIN" import -q --config "$T/ms.ini" >"$T/imp.out" 2>&1 || rc=$?
	((rc == 137)) || ms_fail "import armed to crash at $at: exit $rc, not SIGKILL (137): $(head -c 300 "$T/imp.out")"
	ms_front_reset
	bad=0
	for k in keep1 keep2; do
		"$MS_BIN" cat --config "$T/ms.ini" "/models/$k.bin" 2>"$T/cat.err" | cmp -s - "$T/src/$k.bin" ||
			{ ms_bad "crash at $at: unchanged $k.bin reads wrong: $(head -c 200 "$T/cat.err")"; bad=1; }
		(($(ms_key_stat "$k.bin" count) == 0)) || { ms_bad "crash at $at: unchanged $k.bin was fetched again"; bad=1; }
	done
	for k in chg1 chg2 "gone$((round - 1))" "new$round"; do
		rc=0
		"$MS_BIN" cat --config "$T/ms.ini" "/models/$k.bin" >"$T/out" 2>"$T/cat.err" || rc=$?
		want=$T/src/$k.bin
		[[ -e $want ]] || want=/dev/null # deleted: absent, or the old bytes
		prev=$T/prev/$k.bin
		[[ -e $prev ]] || prev=/dev/null # added: absent, or the new bytes
		if ! one_of "$T/out" $rc "$prev" "$want"; then
			ms_bad "crash at $at: $k.bin (exit $rc) is neither its old nor its new bytes: $(ms_why_differs "$T/out" "$want"); $(head -c 200 "$T/cat.err")"
			bad=1
		fi
	done
	((bad)) || ms_ok "crash at $at: unchanged objects read from the cache, changed, deleted and added ones read old, new or fail cleanly"

	"$MS_BIN" import -q --config "$T/ms.ini" >"$T/imp.out" 2>&1 || ms_fail "the import after the crash at $at failed: $(cat "$T/imp.out")"
	got=$(cd "$MS_TREE" && find . -type f | sort | tr '\n' ' ')
	want=$(cd "$T/src" && find . -type f | sort | tr '\n' ' ')
	[[ $got == "$want" ]] || ms_fail "after the crash at $at and a full import the tree holds [$got], want [$want]"
	warm_all
	ms_ok "after the crash at $at, a full import gives exactly the new namespace and every object reads right"
done
ms_done
