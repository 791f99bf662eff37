#!/usr/bin/env bash
# t-crash-fill: the daemon SIGKILLs itself at each step of a chunk's fill (crash points
# fill.submitted: a write in flight; fill.written: bytes in the file, the map not marked;
# fill.marked: marked, the reader not told; invariant 9). No kill is timed: the point is the
# step. Each time the reader gets the right bytes or an error, never zeros; afterwards a fresh
# daemon serves the whole object right, `modelshim verify` finds no chunk marked present whose
# bytes are wrong (tests/cache-audit.py), and what was marked before the crash is not fetched
# again.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

export MS_CHUNK=1M
size=$((6 * 1048576 + 777))
ms_start_s3
mkdir -p "$T/src"
for k in a b c; do head -c $size /dev/urandom >"$T/src/$k.bin"; done
ms_import_src

round=0
# The chunks marked when each point is hit (marks happen one per completed write, in the loop):
# fill.submitted:3 any of the first two; fill.written:3 exactly two; fill.marked:3 exactly three.
declare -A marked_min=([fill.submitted:3]=0 [fill.written:3]=2 [fill.marked:3]=3)
declare -A marked_max=([fill.submitted:3]=2 [fill.written:3]=2 [fill.marked:3]=3)
for at in fill.submitted:3 fill.written:3 fill.marked:3; do
	k=$(printf 'abc' | cut -c $((round + 1)))
	round=$((round + 1))
	MODELSHIM_CRASH_AT=$at ms_daemon_start
	crashed=$MS_DAEMON_PID
	rc=0
	# The reader (not armed) connects once: it fails when the daemon it asked is gone.
	env -u MODELSHIM_CRASH_AT "$MS_BIN" cat --config "$T/ms.ini" \
		"/models/$k.bin" >"$T/out" 2>"$T/cat.err" || rc=$?
	drc=0
	wait "$crashed" || drc=$?
	ms_untrack_pid "$crashed"
	((drc == 137)) || ms_fail "daemon armed to crash at $at: exit $drc, not SIGKILL (137)"
	got=$(stat -c %s "$T/out")
	if ((rc == 0)); then
		cmp -s "$T/out" "$T/src/$k.bin" || ms_fail "crash at $at: the reader succeeded with wrong bytes: $(ms_why_differs "$T/out" "$T/src/$k.bin")"
	else
		((got == 0)) || cmp -s -n "$got" "$T/out" "$T/src/$k.bin" ||
			ms_fail "crash at $at: the reader failed after writing wrong bytes: $(ms_why_differs "$T/out" "$T/src/$k.bin")"
	fi
	ms_ok "crash at $at: the reader got $got right bytes (exit $rc): $(head -c 160 "$T/cat.err")"

	ms_front_reset
	# Every chunk a map marks present holds the source's bytes (tests/cache-audit.py).
	read -r _ _ _ before _ _ bad < <(python3 "$MS_TOP/tests/cache-audit.py" "$MS_CONFIG" "$T/src" "$T/audit.bad")
	((bad == 0)) || ms_fail "crash at $at: $(head -n 3 "$T/audit.bad")"
	before=$((before - (round - 1) * size)) # the objects of earlier rounds are cached whole
	((before >= ${marked_min[$at]} * 1048576 && before <= ${marked_max[$at]} * 1048576)) ||
		ms_fail "crash at $at: $before bytes marked, not ${marked_min[$at]}-${marked_max[$at]} chunks"
	ms_daemon_start
	"$MS_BIN" cat --config "$T/ms.ini" "/models/$k.bin" | cmp -s - "$T/src/$k.bin" ||
		ms_fail "crash at $at: $k.bin reads wrong after the restart"
	refetched=$(ms_key_stat "$k.bin" bytes)
	((refetched <= size - before)) ||
		ms_fail "crash at $at: $before bytes were marked before the crash, yet $refetched of $size were fetched again"
	ms_daemon_stop
	ms_ok "crash at $at: after the restart $k.bin reads right; the $before bytes marked before the crash were kept"
done
ms_done
