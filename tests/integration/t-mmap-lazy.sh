#!/usr/bin/env bash
# t-mmap-lazy: mmap of a cold file returns at once and each touched chunk is filled on its first fault (userfaultfd): a 5% touch of a 64 MiB object fetches about 5%, contiguous runs ("experts") fetch at most 10% past what they touch; shared, private, copy-on-write, threads, fork, munmap/madvise/mprotect/mremap and MAP_POPULATE read the source's bytes; past the VMA budget and without userfaultfd (no CAP_SYS_PTRACE) the whole range is filled as before; a daemon that dies while a fault waits gives SIGBUS, never zeros, unless the next one serves it.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_need_shim
ms_have_uffd || ms_skip "no userfaultfd here (no CAP_SYS_PTRACE, vm.unprivileged_userfaultfd = 0): mmap is never lazy"
[[ -x $MS_SHIMTESTS/shim_mmap_lazy ]] || ms_fail "shim_mmap_lazy is not built in $MS_SHIMTESTS"
chunk=$((256 * 1024))
export MS_CHUNK=256K
ms_start_s3
MS_SRC=$T/src
# One cold object per case: big.dat for the 5% touch, a copy of a 3 MiB file for each other.
modes=(shared private cow fork vmops threads populate fallback sigbus restart)
ms_random "$MS_SRC/big.dat" $((64 * 1048576))
ms_random "$T/mid.dat" $((3 * 1048576 + 4321))
for m in "${modes[@]}"; do
	cp "$T/mid.dat" "$MS_SRC/m-$m.dat"
done
ms_random "$MS_SRC/m-pair.dat" $((32 * chunk))
ms_random "$MS_SRC/m-experts.dat" $((128 * chunk))
ms_random "$MS_SRC/m-budget.dat" $((128 * chunk))
cp "$MS_SRC/m-budget.dat" "$MS_SRC/m-budget2.dat"
ms_import_src "retries = 1" "timeout = 3s"
ms_daemon_start
prog=$MS_SHIMTESTS/shim_mmap_lazy

# run KEY MODE [ARG...]: shim_mmap_lazy on KEY (cold), under $wrap if set; true when it passed
# (an ok line), else ms_bad.
wrap=()
run() {
	local key=$1 mode=$2 rc=0 out=$T/lazy.$1.out
	shift 2
	ms_assert_cold "$key"
	ms_shim "${wrap[@]}" "$prog" "/models/$key" "$MS_SRC/$key" "$chunk" "$mode" "$@" >"$out" 2>&1 || rc=$?
	if ((rc == 0)); then
		ms_ok "$mode ($key): $(tail -n 1 "$out")"
		return 0
	fi
	ms_bad "$mode ($key), exit $rc: $(grep -m 2 FAIL "$out" | tr '\n' ' ' || tail -n 2 "$out")"
	sed 's/^/    | /' "$out" | tail -n 20 >&2
	return 1
}

# 1. A 5% touch: 13 chunks of 256 spread out (never adjacent: no readahead) fetch 13 chunks.
touch=(7 27 47 67 87 107 127 147 167 187 207 227 247)
if run big.dat sparse "${touch[@]}"; then
	got=$(ms_key_stat big.dat bytes)
	want=$((${#touch[@]} * chunk))
	if ((got >= want && got * 10 <= want * 11)); then
		ms_ok "5% touch: fetched $got bytes for ${#touch[@]} touched chunks ($want bytes) of 64 MiB"
	else
		ms_bad "5% touch: fetched $got bytes, want $want to $((want * 11 / 10)) (${#touch[@]} chunks of $chunk)"
	fi
fi

# settled: waits (up to 10 s) until the daemon has no fill in flight (a readahead chunk asked
# before the program exited is still fetched and counted).
settled() {
	for ((i = 0; i < 100; i++)); do
		[[ $(ms_status_fields daemon.inflight) != 0 ]] || break
		sleep 0.1
	done
}

# 1b. Two adjacent faults (one expert's short run) fetch those two chunks: the daemon adds no
# sequential readahead to a fault's fill (MS_FILL_FAULT; the handler reads ahead itself, a
# window of a tenth of a run's length). Counted once the daemon has nothing in flight.
if run m-pair.dat sparse 4 5; then
	settled
	got=$(ms_key_stat m-pair.dat bytes)
	if ((got == 2 * chunk)); then
		ms_ok "two adjacent faults fetched their two chunks ($got bytes), no readahead"
	else
		ms_bad "two adjacent faults fetched $got bytes, want $((2 * chunk)) (the daemon read ahead?)"
	fi
fi

# 1c. Experts: four contiguous runs of 6, 12, 30 and 5 chunks, each walked forward one page a
# chunk. The readahead window grows with a run (a tenth of its length so far), so the chunks
# fetched past the runs' ends are at most a tenth of those touched (here at most 4 of 53),
# whatever the timing: each run's own chunks at least, 110% of them at most.
experts=()
for r in 3:6 20:12 50:30 100:5; do
	for ((c = ${r%:*}; c < ${r%:*} + ${r#*:}; c++)); do
		experts+=("$c")
	done
done
if run m-experts.dat sparse "${experts[@]}"; then
	settled
	got=$(ms_key_stat m-experts.dat bytes)
	want=$((${#experts[@]} * chunk))
	if ((got >= want && got * 10 <= want * 11)); then
		ms_ok "experts: 4 runs of ${#experts[@]} chunks in all fetched $((got / chunk)) chunks ($got bytes, at most 110%)"
	else
		ms_bad "experts: 4 runs fetched $got bytes, want $want to $((want * 11 / 10)) (${#experts[@]} chunks of $chunk)"
	fi
fi

# 2. Every mapping mode reads the source's bytes.
for mode in shared private cow fork vmops; do
	run "m-$mode.dat" "$mode" || true
done
run m-threads.dat threads 8 || true
if run m-populate.dat populate; then
	[[ $(ms_key_stat m-populate.dat bytes) == "$(stat -c %s "$T/mid.dat")" ]] ||
		ms_bad "MAP_POPULATE fetched $(ms_key_stat m-populate.dat bytes) bytes, want the whole file"
fi

# 3. The VMA budget: each lazy mapping of a 128-chunk file reserves 130 VMAs out of half of
# vm.max_map_count; the mapping that would pass it fills the whole file instead.
per=$((128 + 2))
many=$(($(cat /proc/sys/vm/max_map_count) / 2 / per + 1))
if ((many >= 256)); then
	echo "skip: VMA budget case: vm.max_map_count allows $many mappings, past the 256 lazy regions"
elif run m-budget.dat many $((many - 1)) && [[ $(ms_key_stat m-budget.dat bytes) == $((2 * chunk)) ]] &&
	run m-budget2.dat many "$many"; then
	got=$(ms_key_stat m-budget2.dat bytes)
	[[ $got == $((128 * chunk)) ]] && ms_ok "VMA budget: $((many - 1)) mappings stay lazy, mapping $many fills the whole file" ||
		ms_bad "VMA budget: $many mappings fetched $got bytes, want the whole file ($((128 * chunk)))"
else
	ms_bad "VMA budget: $((many - 1)) lazy mappings fetched $(ms_key_stat m-budget.dat bytes) bytes, want the 2 chunks touched"
fi

# 4. No userfaultfd for this process (vm.unprivileged_userfaultfd = 0, CAP_SYS_PTRACE dropped):
# the whole mapped range is filled at mmap, as before.
if [[ $(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null || echo 1) != 0 ]]; then
	echo "skip: fallback case: vm.unprivileged_userfaultfd is not 0"
elif ! command -v setpriv >/dev/null || [[ $(id -u) != 0 ]]; then
	echo "skip: fallback case: needs root and setpriv to drop CAP_SYS_PTRACE"
else
	wrap=(setpriv --bounding-set=-sys_ptrace --inh-caps=-sys_ptrace)
	if run m-fallback.dat sparse 2 9; then
		got=$(ms_key_stat m-fallback.dat bytes)
		[[ $got == "$(stat -c %s "$T/mid.dat")" ]] && ms_ok "no userfaultfd: the whole file was filled at mmap" ||
			ms_bad "no userfaultfd: fetched $got bytes, want the whole file ($(stat -c %s "$T/mid.dat"))"
	fi
	wrap=()
fi

# fault_then_kill KEY OUT MODE [ARG...]: shim_mmap_lazy MODE on KEY in the background (its pid
# in $pid) while the store stalls every GET; once its fault's GET has reached the store, our
# daemon is killed with SIGKILL.
fault_then_kill() {
	local key=$1 out=$2
	shift 2
	ms_front_config '{"stall": true}'
	ms_shim "$prog" "/models/$key" "$MS_SRC/$key" "$chunk" "$@" >"$out" 2>&1 &
	pid=$!
	ms_track_pid "$pid"
	for _ in $(seq 100); do
		(($(ms_key_stat "$key" count) == 0)) || break
		sleep 0.1
	done
	(($(ms_key_stat "$key" count) > 0)) || ms_bad "$key: the fault never reached the store"
	# Cleared before the kill: the stalled GET stays unanswered, and a next daemon's GET of the
	# chunk (case 6) cannot race the clearing and stall too.
	ms_front_config '{"stall": false}'
	kill -9 "$MS_DAEMON_PID"
	wait "$MS_DAEMON_PID" 2>/dev/null || true
	ms_untrack_pid "$MS_DAEMON_PID"
	MS_DAEMON_PID=
}

# 5. The daemon dies while a fault waits, and none can start again: SIGBUS, never zeros.
chmod 0644 "$T/credentials" # the daemon refuses to start with world-readable credentials
fault_then_kill m-sigbus.dat "$T/sigbus.out" sigbus 5
rc=0
wait "$pid" || rc=$?
chmod 0600 "$T/credentials"
if ((rc == 0)) && grep -q 'SIGBUS, twice: ok' "$T/sigbus.out"; then
	ms_ok "daemon killed during a fault, none can start: $(grep -m1 'modelshim:' "$T/sigbus.out" | head -c 200)"
else
	ms_bad "daemon killed during a fault, none can start: exit $rc: $(tr '\n' ' ' <"$T/sigbus.out" | head -c 600)"
fi

# 6. The daemon dies while a fault waits and the handler starts the next one: the fault is
# asked again there and the access reads the source's bytes.
ms_daemon_start
fault_then_kill m-restart.dat "$T/restart.out" sparse 9
rc=0
wait "$pid" || rc=$?
if ((rc == 0)) && [[ -n $(ms_daemon_pid) ]]; then
	ms_ok "daemon killed during a fault, a new one started: $(tail -n 1 "$T/restart.out")"
else
	ms_bad "daemon killed during a fault, a new one should serve: exit $rc: $(tr '\n' ' ' <"$T/restart.out" | head -c 600)"
fi
ms_done
