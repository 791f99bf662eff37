#!/usr/bin/env bash
# t-shim-process: process life under the shim, cold and warm: fork-then-read, 16 threads of random preads, close_range/closefrom/dup2 over fds, fds inherited across exec (bash redirections, /dev/fd/N), /proc/self/fd/N reopened, Python subprocess(close_fds) and posix_spawn while holding a virtual fd, and `modelshim run [--config F] -- CMD` (starts the daemon, keeps an existing LD_PRELOAD, passes the exit status).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_shim_setup "retries = 2" "timeout = 5s"
src=$MS_SRC
py=/usr/bin/python3

ms_prog_cold_warm shim_fork big.bin /models/big.bin "$src/big.bin"
ms_prog_cold_warm shim_threads big.bin /models/big.bin "$src/big.bin"
ms_prog_cold_warm shim_fdreuse big.bin /models/big.bin "$src/big.bin" "$src/small.txt"

# shell STATE WHAT WANT_FILE KEY CMD: CMD run by bash under the shim must print WANT_FILE.
shell() {
	local state=$1 what=$2 want=$3 key=$4 rc=0 req
	ms_prepare "$state" "$key"
	req=$(ms_daemon_requests)
	ms_shim bash -c "$5" >"$T/sh.out" 2>"$T/err" || rc=$?
	if [[ $state == warm && $req != "$(ms_daemon_requests)" ]]; then
		ms_bad "$what warm: the daemon's requests went from $req to $(ms_daemon_requests) although $key is complete"
	elif ((rc == 0)) && cmp -s "$T/sh.out" "$want"; then
		ms_ok "$what $state: output equals the source"
	else
		ms_bad "$what $state: exit $rc, $(ms_why_differs "$T/sh.out" "$want"); stderr: $(head -c 300 "$T/err")"
	fi
}

# With ASan preloaded, dd's aligned_alloc(4096, odd size) trips ASan's C11 check.
ddbs=777
[[ ${MS_SANITIZED:-0} == 1 ]] && ddbs=4096
dd if="$src/dir/sub/nested.bin" bs=$ddbs skip=5 status=none >"$T/dd.want"
"$py" - "$src/big.bin" "$src/dir/sub/nested.bin" >"$T/py.want" <<'PY'
import sys
big, nested = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
sys.stdout.buffer.write(big[:1000] + nested + big[1000:] + nested)
PY
for state in cold warm; do
	# fds opened by bash, inherited by the programs it execs (no table entry in the child).
	shell $state "bash: cat < /models/big.bin" "$src/big.bin" big.bin 'cat < /models/big.bin'
	shell $state "bash: exec cat < /models/big.bin" "$src/big.bin" big.bin 'exec cat < /models/big.bin'
	shell $state "bash: dd bs=$ddbs skip=5 < /models/dir/sub/nested.bin" "$T/dd.want" dir/sub/nested.bin \
		"dd bs=$ddbs skip=5 status=none < /models/dir/sub/nested.bin"
	shell $state "bash: cat /dev/fd/3 3< /models/big.bin" "$src/big.bin" big.bin 'cat /dev/fd/3 3< /models/big.bin'
	shell $state "bash: cat /proc/self/fd/0 < /models/big.bin" "$src/big.bin" big.bin 'cat /proc/self/fd/0 < /models/big.bin'

	# One process reopens its own fd through /proc/self/fd/N; a subprocess (vfork + close_range)
	# and a posix_spawn'd cat read while the parent holds a virtual fd and keeps reading after.
	if [[ $state == cold ]]; then
		ms_fresh
		ms_assert_cold big.bin dir/sub/nested.bin
	else
		ms_warm big.bin dir/sub/nested.bin
	fi
	rc=0
	ms_shim "$py" - "$src/big.bin" >"$T/py.out" 2>"$T/err" <<'PY' || rc=$?
import os, subprocess, sys
out = sys.stdout.buffer
fd = os.open("/models/big.bin", os.O_RDONLY)
want = open(sys.argv[1], "rb").read()
again = open(f"/proc/self/fd/{fd}", "rb").read(len(want) // 2 + 3)
if again != want[:len(again)]:
    sys.exit(f"FAIL: reopening /proc/self/fd/{fd}: wrong bytes (zeros: {again[-100:] == bytes(100)})")
out.write(os.read(fd, 1000)); out.flush()
r = subprocess.run(["cat", "/models/dir/sub/nested.bin"], close_fds=True, stdout=subprocess.PIPE)
if r.returncode:
    sys.exit(f"FAIL: subprocess cat exited {r.returncode}")
out.write(r.stdout)
rest = b""
for _ in range(100000):
    b = os.read(fd, 65536)
    if not b:
        break
    rest += b
out.write(rest); out.flush()
pid = os.posix_spawn("/bin/cat", ["cat", "/models/dir/sub/nested.bin"], os.environ)
_, st = os.waitpid(pid, 0)
if st:
    sys.exit(f"FAIL: posix_spawn cat: status {st}")
PY
	if ((rc == 0)) && cmp -s "$T/py.out" "$T/py.want"; then
		ms_ok "python /proc/self/fd reopen, subprocess(close_fds), posix_spawn $state: all bytes right"
	else
		ms_bad "python /proc/self/fd, subprocess, posix_spawn $state: exit $rc, $(ms_why_differs "$T/py.out" "$T/py.want"); $(head -c 300 "$T/err")"
	fi
done

# modelshim run: no daemon, no LD_PRELOAD, no MODELSHIM_CONFIG in the environment. A sanitized
# build's shim needs the sanitizer runtimes preloaded before it: they stand in for "no LD_PRELOAD".
if [[ ${MS_SANITIZED:-0} == 1 ]]; then
	bare=(LD_PRELOAD="${MS_PRELOAD%:*}" ASAN_OPTIONS=detect_leaks=0)
else
	bare=(-u LD_PRELOAD)
fi
ms_fresh
[[ -z $(ms_daemon_pid) ]] || ms_fail "a daemon runs after ms_fresh"
rc=0
env -u MODELSHIM_CONFIG "${bare[@]}" timeout -k 5 20 "$MS_BIN" run --config "$MS_CONFIG" -- sha256sum /models/big.bin \
	>"$T/run.out" 2>"$T/err" || rc=$?
want=$(sha256sum <"$src/big.bin" | cut -d' ' -f1)
if ((rc == 0)) && [[ $(cut -d' ' -f1 "$T/run.out") == "$want" ]]; then
	ms_ok "modelshim run --config F -- sha256sum (cold, no daemon): right hash"
else
	ms_bad "modelshim run --config F -- sha256sum: exit $rc, got '$(head -c 100 "$T/run.out")' want $want; stderr: $(head -c 300 "$T/err")"
fi
if [[ -n $(ms_daemon_pid) ]]; then
	ms_ok "modelshim run started the daemon (pid $(ms_daemon_pid))"
else
	ms_bad "no daemon runs after modelshim run"
fi

# Without --config: MODELSHIM_CONFIG; the daemon stopped first again.
ms_stop_daemon_any
rc=0
env "${bare[@]}" MODELSHIM_CONFIG="$MS_CONFIG" timeout -k 5 20 "$MS_BIN" run -- cat /models/small.txt >"$T/run2.out" 2>"$T/err" || rc=$?
if ((rc == 0)) && cmp -s "$T/run2.out" "$src/small.txt"; then
	ms_ok "MODELSHIM_CONFIG=F modelshim run -- cat: right bytes"
else
	ms_bad "MODELSHIM_CONFIG=F modelshim run -- cat: exit $rc, $(ms_why_differs "$T/run2.out" "$src/small.txt"); $(head -c 300 "$T/err")"
fi

# An existing LD_PRELOAD is kept: both libraries are loaded in the command.
if [[ ${MS_SANITIZED:-0} == 1 ]]; then
	other=${MS_PRELOAD%:*} # the sanitizer runtimes must stay first
	extra=(ASAN_OPTIONS=detect_leaks=0)
else
	# awk reads all of ldconfig's output: an early exit would kill ldconfig by SIGPIPE (pipefail).
	other=$(ldconfig -p | awk '$1 == "libz.so.1" && /x86-64|64bit/ && !n++ { print $NF }')
	[[ -n $other ]] || other=$(ldconfig -p | awk '$1 == "libz.so.1" && !n++ { print $NF }')
	extra=()
fi
if [[ -n $other ]]; then
	rc=0
	# shellcheck disable=SC2016 # $LD_PRELOAD is expanded by the command run under the shim
	env "${extra[@]}" LD_PRELOAD="$other" timeout -k 5 20 "$MS_BIN" run --config "$MS_CONFIG" -- \
		sh -c 'printf "%s\n" "$LD_PRELOAD"; cat /proc/self/maps; cat /models/dir/a.txt' >"$T/run3.out" 2>"$T/err" || rc=$?
	lp=$(head -n 1 "$T/run3.out")
	first=${other%%:*}
	if ((rc == 0)) && [[ $lp == *"$other"* && $lp == *libmodelshim* ]] &&
		grep -qF "$(readlink -f "$first")" "$T/run3.out" && grep -q 'libmodelshim' "$T/run3.out" &&
		[[ $(tail -n 1 "$T/run3.out") == "file a" ]]; then
		ms_ok "modelshim run kept LD_PRELOAD=$other and added the shim: LD_PRELOAD=$lp"
	else
		ms_bad "modelshim run with LD_PRELOAD=$other: exit $rc, LD_PRELOAD in the command '$lp', last line '$(tail -n 1 "$T/run3.out")'; stderr: $(head -c 300 "$T/err")"
	fi
else
	echo "skip: no libz.so.1 to preload beside the shim"
fi

# The command's exit status is run's.
rc=0
env "${bare[@]}" timeout -k 5 20 "$MS_BIN" run --config "$MS_CONFIG" -- sh -c 'exit 7' 2>"$T/err" || rc=$?
if ((rc == 7)); then
	ms_ok "modelshim run passes the command's exit status (7)"
else
	ms_bad "modelshim run -- sh -c 'exit 7' exited $rc; stderr: $(head -c 300 "$T/err")"
fi
ms_done
