#!/usr/bin/env bash
# t-no-silent-zeros: reads glibc or the kernel do on their own, each on a cold big.bin, must give the source's bytes (or an error), never zeros: stdin via stdio (sha256sum <, fread/fgets/getline after dup2 or close(0)+open), stdio children (system, popen, posix_spawn file actions, fork+execve, /dev/fd/N), POSIX AIO, syscall(2), Python stdin, Node fs with and without io_uring.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_shim_setup "retries = 2" "timeout = 5s"
src=$MS_SRC
py=/usr/bin/python3
size=$(stat -c %s "$src/big.bin")
want=$(sha256sum <"$src/big.bin" | cut -d' ' -f1)
zeros=$(head -c "$size" /dev/zero | sha256sum | cut -d' ' -f1)

# cold KEY: nothing of KEY is cached and no daemon runs.
cold() {
	ms_fresh
	ms_assert_cold "$1"
}

# hung RC: a note when ms_shim's timeout killed the command.
hung() {
	(($1 != 124)) || echo " (hung: killed after ${MS_SHIM_TIMEOUT:-20} s)"
}

# cold_hash WHAT CMD...: CMD under the shim, big.bin cold, must print big.bin's sha256 first.
cold_hash() {
	local what=$1 rc=0 got
	shift
	cold big.bin
	ms_shim "$@" >"$T/hash.out" 2>"$T/hash.err" || rc=$?
	got=$(head -c 64 "$T/hash.out")
	if ((rc == 0)) && [[ $got == "$want" ]]; then
		ms_ok "$what (cold): the source's sha256"
	else
		ms_bad "$what (cold): exit $rc$(hung $rc), printed '$got', want $want$(
			[[ $got != "$zeros" ]] || echo " (the sha256 of $size zero bytes: unfilled cache bytes)"
		); stderr: $(head -c 300 "$T/hash.err")"
	fi
}

# cold_prog LABEL PROG ARG...: $MS_SHIMTESTS/PROG ARG... under the shim, big.bin cold; one ok:
# line, or ms_bad with the program's FAIL lines (or the tail of its output).
cold_prog() {
	local label=$1 prog=$2 rc=0 out why
	shift 2
	if [[ ! -x $MS_SHIMTESTS/$prog ]]; then
		ms_bad "$prog is not built in $MS_SHIMTESTS"
		return 0
	fi
	cold big.bin
	out=$T/$prog.out
	ms_shim "$MS_SHIMTESTS/$prog" "$@" >"$out" 2>&1 || rc=$?
	if ((rc == 0)); then
		ms_ok "$label (cold): $(tail -n 1 "$out")"
	else
		why=$(grep -m 3 'FAIL' "$out" || tail -n 2 "$out")
		ms_bad "$label (cold), exit $rc$(hung $rc): ${why//$'\n'/ / }"
		sed 's/^/    | /' "$out" | tail -n 20 >&2
	fi
}

# 1. Shells and interpreters with the file on stdin.
# shellcheck disable=SC2016 # $1 is expanded by the bash run under the shim
cold_hash "bash: sha256sum < /models/big.bin" bash -c 'sha256sum < "$1"' _ /models/big.bin
# shellcheck disable=SC2016
cold_hash "bash: python3 sys.stdin.buffer.read() < /models/big.bin" bash -c \
	'"$2" -c "import sys, hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())" < "$1"' \
	_ /models/big.bin "$py"

# 2. stdin's stdio after open+dup2 onto 0, and after close(0)+open; one cold run per method.
for m in fread fgets getline open0; do
	cold_prog "shim_stdin_dup $m" shim_stdin_dup /models/big.bin "$src/big.bin" "$m"
done

# 3. Children reading a file their parent opened, through stdio.
for m in system popen spawn execve fdarg; do
	cold_prog "shim_stdio_child $m" shim_stdio_child /models/big.bin "$want" "$m" "$zeros"
done

# 4. POSIX AIO.
cold_prog shim_aio shim_aio /models/big.bin "$src/big.bin"

# 5. syscall(2): raw openat/read/pread64/statx/newfstatat/faccessat/getdents64, io_uring refused.
cold_prog shim_syscall shim_syscall /models/big.bin /models "$src/big.bin" big.bin small.txt dir

# 5b. [cache] io_uring = allow lets io_uring_setup through syscall(2) (refused above by default).
ring_probe='import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 8, params)
print(fd if fd >= 0 else "errno %d" % ctypes.get_errno())'
rc=0
got=$(ms_shim "$py" -c "$ring_probe" 2>"$T/ring.err") || rc=$?
if [[ $rc == 0 && $got == "errno 38" ]]; then
	ms_ok "io_uring_setup through syscall(2) refused with ENOSYS by default"
else
	ms_bad "io_uring_setup through syscall(2) by default: exit $rc, got '$got', want 'errno 38' (ENOSYS)"
fi
sed 's/^\[cache\]$/[cache]\nio_uring = allow/' "$MS_CONFIG" >"$T/ring.ini"
rc=0
got=$(MS_CONFIG=$T/ring.ini ms_shim "$py" -c "$ring_probe" 2>"$T/ring.err") || rc=$?
if [[ $rc == 0 && $got =~ ^[0-9]+$ ]]; then
	ms_ok "io_uring = allow: io_uring_setup through syscall(2) gave fd $got"
else
	ms_bad "io_uring = allow: exit $rc, got '$got' (want an fd); $(head -c 200 "$T/ring.err")"
fi

# 6. Node's fs, libuv with and without io_uring.
node=/usr/bin/node
if [[ -x $node ]]; then
	for ring in 1 0; do
		cold big.bin
		rc=0
		if ((ring)); then
			ms_shim env UV_USE_IO_URING=1 "$node" "$MS_TOP/tests/shim/node_read.js" /models/big.bin \
				"$src/big.bin" >"$T/node.out" 2>"$T/node.err" || rc=$?
			what="node fs with UV_USE_IO_URING=1"
		else
			ms_shim env -u UV_USE_IO_URING "$node" "$MS_TOP/tests/shim/node_read.js" /models/big.bin \
				"$src/big.bin" >"$T/node.out" 2>"$T/node.err" || rc=$?
			what="node fs without io_uring"
		fi
		if ((rc == 0)); then
			ms_ok "$what (cold): $(tail -n 1 "$T/node.out")"
		else
			ms_bad "$what (cold), exit $rc$(hung $rc): $(grep -c FAIL "$T/node.err") failed check(s), first: $(grep -m 1 FAIL "$T/node.err" || tail -n 2 "$T/node.err")"
			sed 's/^/    | /' "$T/node.out" "$T/node.err" | tail -n 20 >&2
		fi
	done
else
	echo "skip: node fs: $node is not installed"
fi
ms_done
