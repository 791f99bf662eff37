#!/usr/bin/env bash
# t-daemon-restart: a daemon the shim starts is no child of the host (no SIGCHLD, nothing for wait()); 8 cold readers under the shim (1 MiB preads and sha256sum) all finish with the right bytes when the daemon is SIGKILLed in the middle of their fills; and when no daemon can start again, a reader fails with EIO after [cache] timeout.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_need_shim
py=/usr/bin/python3
[[ -x $py ]] || ms_skip "$py is not installed"

# big.bin: 6 MiB + 321 (7 chunks: not filled whole at open); r0..r3: 16 MiB each, random.
export MS_CHUNK=1M
ms_start_s3
MS_SRC=$T/src
mkdir -p "$MS_SRC"
head -c $((6 * 1048576 + 321)) /dev/urandom >"$MS_SRC/big.bin"
nobj=4
for ((i = 0; i < nobj; i++)); do
	head -c $((16 * 1048576)) /dev/urandom >"$MS_SRC/r$i.bin"
done
ms_put "$MS_SRC"
ms_write_config "$T/ms.ini"
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"

# (a) The shim starts the daemon from inside a Python program that counts SIGCHLD and asks
# wait() for children: there must be none, and no signal.
ms_fresh
ms_assert_cold big.bin
[[ -z $(ms_daemon_pid) ]] || ms_fail "a daemon runs after ms_fresh"
rc=0
ms_shim "$py" - /models/big.bin "$MS_SRC/big.bin" >"$T/a.out" 2>"$T/a.err" <<'PY' || rc=$?
import os, signal, sys

got_sigchld = 0

def on_sigchld(sig, frame):
    global got_sigchld
    got_sigchld += 1

signal.signal(signal.SIGCHLD, on_sigchld)
vpath, ref = sys.argv[1], sys.argv[2]
want = open(ref, "rb").read()
with open(vpath, "rb", buffering=0) as f:
    got = f.read()
problems = []
if got != want:
    i = next((j for j in range(min(len(got), len(want))) if got[j] != want[j]), min(len(got), len(want)))
    zeros = i < len(got) and got[i:i + 64] == bytes(len(got[i:i + 64]))
    problems.append(f"{vpath}: {len(got)} bytes vs {len(want)}, first difference at {i}"
                    + (" (zeros: unfilled cache bytes)" if zeros else ""))
try:
    r = os.waitpid(-1, os.WNOHANG)
    problems.append(f"waitpid(-1, WNOHANG) returned {r}: this process has a child")
    live_child = r == (0, 0)
except ChildProcessError:
    live_child = False
if not live_child:
    # Bounded: a child that exists but never exits would block wait() forever.
    def on_alarm(sig, frame):
        raise TimeoutError()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(5)
    try:
        r = os.wait()
        problems.append(f"wait() returned {r}: this process had a child")
    except ChildProcessError:
        pass
    except TimeoutError:
        problems.append("wait() blocked for 5 s: this process has a live child")
    signal.alarm(0)
if got_sigchld:
    problems.append(f"{got_sigchld} SIGCHLD(s) were delivered to the program")
print(f"read {len(got)} bytes; SIGCHLDs {got_sigchld}; waitpid/wait: "
      + ("no children" if not any("wait" in p for p in problems) else "see FAIL"))
if problems:
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    sys.exit(1)
PY
if ((rc == 0)); then
	ms_ok "python under the shim started the daemon unseen: $(cat "$T/a.out")"
else
	ms_bad "python reading cold big.bin with no daemon, exit $rc: $(grep FAIL "$T/a.err" | tr '\n' ' ' || true) [stdout: $(head -c 200 "$T/a.out")] $(grep -v FAIL "$T/a.err" | tail -n 3)"
fi
if [[ -n $(ms_daemon_pid) ]]; then
	ms_ok "a daemon runs after the program exited (pid $(ms_daemon_pid), parent $(awk '{ print $4 }' "/proc/$(ms_daemon_pid)/stat"))"
else
	ms_bad "no daemon runs after the shim should have started one"
fi

# (b) 8 cold readers (a 1 MiB pread loop and sha256sum on each of r0..r3) while the front is
# throttled; the daemon is SIGKILLed once objects are partial, then the throttle is lifted.
ms_fresh
ms_daemon_start
ms_front_config '{"rate": 4194304}'
cat >"$T/pread.py" <<'PY'
import os, sys
vpath, ref = sys.argv[1], sys.argv[2]
want = open(ref, "rb").read()
fd = os.open(vpath, os.O_RDONLY)
off = 0
for _ in range(len(want) // 1048576 + 2):
    try:
        b = os.pread(fd, 1048576, off)
    except OSError as e:
        sys.exit(f"FAIL: pread of 1 MiB at {off}: {e}")
    if not b:
        break
    if b != want[off:off + len(b)]:
        i = next(j for j in range(len(b)) if b[j] != want[off + j])
        z = b[i:i + 64] == bytes(len(b[i:i + 64]))
        sys.exit(f"FAIL: pread at {off}: byte {off + i} differs" + (" (zeros: unfilled cache bytes)" if z else ""))
    off += len(b)
if off != len(want):
    sys.exit(f"FAIL: EOF at {off}, want {len(want)}")
print(f"{off} bytes in 1 MiB preads ok")
PY
shim_env=(LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$MS_CONFIG")
[[ ${MS_SANITIZED:-0} != 1 ]] || shim_env+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
declare -a rpid rwhat
zero16=$(head -c $((16 * 1048576)) /dev/zero | sha256sum | cut -d' ' -f1)
n=0
for ((i = 0; i < nobj; i++)); do
	# Started directly (not through a shell function) so that $! is the process to stop.
	timeout -k 5 120 env "${shim_env[@]}" "$py" "$T/pread.py" "/models/r$i.bin" "$MS_SRC/r$i.bin" \
		>"$T/reader$n.out" 2>"$T/reader$n.err" &
	rpid[n]=$!
	rwhat[n]="python 1 MiB preads of r$i.bin"
	ms_track_pid "${rpid[n]}"
	n=$((n + 1))
	timeout -k 5 120 env "${shim_env[@]}" sha256sum "/models/r$i.bin" >"$T/reader$n.out" 2>"$T/reader$n.err" &
	rpid[n]=$!
	rwhat[n]="sha256sum /models/r$i.bin"
	ms_track_pid "${rpid[n]}"
	n=$((n + 1))
done
# Wait (bounded) until every object is partial, or at least one after ~10 s.
partial=0
for ((k = 0; k < 150; k++)); do
	counts=$(ms_status_counts)
	partial=${counts##* }
	((partial < nobj)) || break
	((k < 100 || partial == 0)) || break
	sleep 0.1
done
((partial > 0)) || ms_fail "no object became partial within 15 s (status: $counts)"
dpid=$(ms_daemon_pid)
[[ -n $dpid ]] || ms_fail "no daemon runs while the readers fill"
if [[ $dpid == "$MS_DAEMON_PID" ]]; then
	disown "$dpid" 2>/dev/null || true # no "Killed" job report from bash
	MS_DAEMON_PID=
fi
kill -KILL "$dpid"
ms_wait_gone "$dpid" 50 || ms_fail "the daemon survived SIGKILL"
ms_untrack_pid "$dpid"
ms_ok "SIGKILLed the daemon (pid $dpid) with $partial of $nobj objects partial (status: $counts)"
ms_front_config '{"rate": 0}'

for ((k = 0; k < n; k++)); do
	rc=0
	wait "${rpid[k]}" || rc=$?
	ms_untrack_pid "${rpid[k]}"
	i=$((k / 2))
	good=0
	if ((k % 2 == 0)); then
		got=$(cat "$T/reader$k.out")
		((rc != 0)) || [[ $got != *"bytes in 1 MiB preads ok" ]] || good=1
	else
		got=$(head -c 64 "$T/reader$k.out")
		((rc != 0)) || [[ $got != "$(sha256sum <"$MS_SRC/r$i.bin" | cut -d' ' -f1)" ]] || good=1
		[[ $got != "$zero16" ]] || got+=" (the sha256 of zeros: unfilled cache bytes)"
	fi
	if ((good)); then
		ms_ok "${rwhat[k]} across the daemon's SIGKILL: right bytes"
	else
		ms_bad "${rwhat[k]} across the daemon's SIGKILL: exit $rc$( ((rc != 124)) || echo " (hung: killed after 120 s)"), output '$got'; stderr: $(head -c 300 "$T/reader$k.err")"
	fi
done
if [[ -n $(ms_daemon_pid) ]]; then
	ms_ok "a daemon runs again after the kill (pid $(ms_daemon_pid))"
else
	echo "note: no daemon runs after the readers finished"
fi

# (c) The daemon is SIGKILLed mid-fill and none can start again (its credentials file turned
# group-readable: the daemon refuses it): the reader fails with EIO once [cache] timeout has
# passed, with a line that says so, and never prints the hash of zeros.
ms_stop_daemon_any
ms_write_config "$T/ms.ini" "timeout = 3s"
ms_fresh
ms_daemon_start
ms_front_config '{"rate": 2097152}'
timeout -k 5 60 env "${shim_env[@]}" sha256sum /models/r0.bin >"$T/c.out" 2>"$T/c.err" &
cpid=$!
ms_track_pid "$cpid"
for ((k = 0; k < 100; k++)); do
	[[ $(ms_status_counts) == *" 1" ]] && break
	sleep 0.1
done
[[ $(ms_status_counts) == *" 1" ]] || ms_fail "r0.bin never became partial: $(ms_status_counts)"
chmod 0644 "$T/credentials"
dpid=$MS_DAEMON_PID
disown "$dpid" 2>/dev/null || true
MS_DAEMON_PID=
kill -KILL "$dpid"
ms_wait_gone "$dpid" 50 || ms_fail "the daemon survived SIGKILL"
ms_untrack_pid "$dpid"
rc=0
wait "$cpid" || rc=$?
ms_untrack_pid "$cpid"
if ((rc != 0 && rc != 124)) && grep -q 'no new one served within 3000 ms' "$T/c.err" &&
	[[ $(head -c 64 "$T/c.out") != "$zero16" ]]; then
	ms_ok "no daemon can start after the kill: the reader failed (exit $rc): $(grep -m 1 'modelshim' "$T/c.err")"
else
	ms_bad "no daemon can start after the kill: exit $rc, output '$(head -c 64 "$T/c.out")', stderr: $(head -c 400 "$T/c.err")"
fi
[[ -z $(ms_daemon_pid) ]] || ms_bad "a daemon runs although its credentials are refused (pid $(ms_daemon_pid))"
chmod 0600 "$T/credentials"
ms_front_config '{"rate": 0}'
ms_done
