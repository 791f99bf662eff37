#!/usr/bin/env bash
# t-signals: reads of cold virtual files blocked on fills are interrupted by SIGALRM every 20 ms, with SA_RESTART, without it (EINTR, retried), and with a handler that itself reads another cold virtual file (invariant 5): every byte right, never a hang (each run is bounded), and the signals are counted so that the interruption is checked.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_shim_setup "retries = 2" "timeout = 10s"
src=$MS_SRC
MS_SHIM_TIMEOUT=60
for mode in restart intr handler; do
	ms_fresh
	ms_assert_cold big.bin dir/sub/nested.bin
	ms_daemon_start
	# 1.5 MiB/s: the 5 MiB read takes about 3 s, long enough for ~150 signals during fills.
	ms_front_config '{"rate": 1572864}'
	rc=0
	ms_shim "$MS_SHIMTESTS/shim_signals" /models/big.bin "$src/big.bin" /models/dir/sub/nested.bin \
		"$src/dir/sub/nested.bin" "$mode" >"$T/sig.out" 2>&1 || rc=$?
	ms_front_config '{"rate": 0}'
	if ((rc == 0)); then
		ms_ok "SIGALRM $mode: $(tail -n 1 "$T/sig.out")"
	else
		ms_bad "SIGALRM $mode: exit $rc$( ((rc != 124)) || echo " (hung: killed after $MS_SHIM_TIMEOUT s)"): $(grep -m 2 FAIL "$T/sig.out" || tail -n 3 "$T/sig.out")"
	fi
	ms_daemon_stop
done
ms_done
