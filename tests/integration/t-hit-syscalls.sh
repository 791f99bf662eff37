#!/usr/bin/env bash
# t-hit-syscalls: hits cost nothing (invariant 3), counted rather than timed: strace of 3 rounds of open + pread to EOF + close of a complete virtual file against the same of a local copy. The reads are the same calls on the data fd; a hit never waits on the daemon (no recv, no poll), takes no pin (no flock), makes its daemon connection at most once (not per open), and an open costs a bounded number of calls more than a local open.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
command -v strace >/dev/null || ms_skip "strace is not installed (scripts/setup installs it)"

ms_shim_setup
src=$MS_SRC
rounds=5
# Calls an open of a complete virtual file may add to a local open: today 10 (fstat of the data
# file; open, fstat, 2 preads and close of its map; getpid and fstat of the daemon connection and
# the touch for the eviction policy; getpid in close), plus the one-time connection and boot id
# spread over the rounds, and a sanitizer's own calls. A regression past this fails.
per_open_max=12
ms_daemon_start
ms_warm big.bin
prog=$MS_SHIMTESTS/shim_hitcount
# trace PATH OUT: the calls between the markers, one per line.
trace() {
	ms_shim strace -qq -o "$T/strace.raw" "$prog" "$1" $rounds >"$T/hit.out" ||
		ms_fail "shim_hitcount $1 failed: $(cat "$T/hit.out")"
	[[ $(cat "$T/hit.out") == $((rounds * $(stat -c %s "$src/big.bin"))) ]] ||
		ms_fail "shim_hitcount $1 read $(cat "$T/hit.out") bytes, want $rounds x the file"
	sed -n '/^write(-1, "BEGIN"/,/^write(-1, "END"/p' "$T/strace.raw" | sed '1d;$d' >"$2"
	[[ -s $2 ]] || ms_fail "no calls between the markers for $1 (strace output: $(head -c 300 "$T/strace.raw"))"
}
trace /models/big.bin "$T/virtual"
trace "$src/big.bin" "$T/local"
names() { sed 's/(.*//' "$1" | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'; }

# reads TRACE: its pread64 calls on the data fd (the first file opened), buffers left out.
reads() {
	local fd
	fd=$(grep -m 1 -E '^openat\(.*big\.bin", O_RDONLY\) = [0-9]+$' "$1" | sed 's/.*= //')
	[[ -n $fd ]] || ms_fail "no open of big.bin in $1"
	grep "^pread64($fd," "$1" | sed 's/^pread64([0-9]*, "[^"]*"\.*,/pread64(DATA,/' || true
}
# The reads: the same pread64 calls with the same results on the data fd.
reads "$T/virtual" >"$T/virtual.reads"
reads "$T/local" >"$T/local.reads"
if cmp -s "$T/virtual.reads" "$T/local.reads" && [[ -s $T/local.reads ]]; then
	ms_ok "reads: the same $(wc -l <"$T/local.reads") pread64 calls on the data fd as a local file"
else
	ms_bad "reads differ from a local file's: $(diff "$T/local.reads" "$T/virtual.reads" | head -n 6 | tr '\n' ' ')"
fi
if grep -Eq '^(recv|recvfrom|recvmsg|poll|ppoll|select|pselect6|epoll_wait|flock)\(' "$T/virtual"; then
	ms_bad "a hit waited on the daemon or took a pin: $(grep -E '^(recv|recvfrom|recvmsg|poll|ppoll|select|pselect6|epoll_wait|flock)\(' "$T/virtual" | head -n 3 | tr '\n' ' ')"
else
	ms_ok "no recv, poll or flock: a hit never waits on the daemon and takes no pin"
fi
sockets=$(grep -Ec '^(socket|connect)\(' "$T/virtual" || true)
if ((sockets <= 2)); then
	ms_ok "the daemon connection is made at most once in $rounds opens ($sockets socket/connect calls)"
else
	ms_bad "$sockets socket/connect calls in $rounds opens: a connection per open"
fi
extra=$((($(wc -l <"$T/virtual") - $(wc -l <"$T/local")) / rounds))
if ((extra <= per_open_max)); then
	ms_ok "an open of a complete virtual file costs $extra calls more than a local one (bound $per_open_max): $(names "$T/virtual")"
else
	ms_bad "an open of a complete virtual file costs $extra calls more than a local one, over $per_open_max: virtual $(names "$T/virtual"), local $(names "$T/local")"
fi
ms_done
