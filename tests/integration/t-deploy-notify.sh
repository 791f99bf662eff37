#!/usr/bin/env bash
# t-deploy-notify: `modelshim daemon` under systemd's Type=notify, with a NOTIFY_SOCKET of the
# test's own (tests/deploy/notify_listener.py: a unix datagram socket, as PID 1's): READY=1 comes
# from the daemon's PID after its socket listens and its pid file is written (strace order), and
# the socket accepts at that moment; STOPPING=1 at SIGTERM; WATCHDOG=1 only when WATCHDOG_USEC is
# set for this PID, and a listener that stops reading (a busy PID 1) stalls the watchdog thread,
# never the loop: status still answers. A daemon started with --detach (by a client) says nothing.
# No object store is needed: nothing is fetched.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
readelf -d "$MS_BIN" | grep -q 'libsystemd\.so' || ms_skip "$MS_BIN is built without libsystemd (-DMS_SYSTEMD=OFF)"
command -v strace >/dev/null || ms_skip "strace is not installed (scripts/setup installs it)"

FRONT_ENDPOINT=http://127.0.0.1:9 # never contacted: no fill in this test
ms_write_config "$T/ms.ini"
sock=$MS_CACHE_DIR/daemon.sock
mkdir -p "$MS_CACHE_DIR"

# listener NAME: starts a listener on $T/NAME.sock logging to $T/NAME.log (pause file
# $T/NAME.pause); LISTENER_PID.
listener() {
	"$MS_PY" "$MS_TOP/tests/deploy/notify_listener.py" "$T/$1.sock" "$T/$1.log" "$sock" \
		"$T/$1.pause" 60 &
	LISTENER_PID=$!
	ms_track_pid "$LISTENER_PID"
	touch "$T/$1.log"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S $T/$1.sock ]] && return 0
		ms_alive "$LISTENER_PID" || break
		sleep 0.1
	done
	ms_fail "the notify listener did not bind $T/$1.sock"
}

# wait_lines LOG PATTERN N PID: until LOG has N lines matching PATTERN (within 10 s, while PID
# lives).
wait_lines() {
	local i
	for ((i = 0; i < 100; i++)); do
		(($(grep -c -- "$2" "$1" || true) >= $3)) && return 0
		ms_alive "$4" || ms_fail "the daemon (pid $4) exited: $(tail -n 5 "$T/daemon.log")"
		sleep 0.1
	done
	ms_fail "$1: fewer than $3 lines with '$2' after 10 s: $(tr '\n' ' ' <"$1")"
}

stop_daemon() {
	ms_life daemon-stop "$MS_RUN" "$MS_CACHE_DIR" --timeout 10 >/dev/null ||
		ms_fail "the daemon did not stop within 10 s of SIGTERM"
}

# 1. READY=1 after the socket listens and the pid file is written; STOPPING=1; no watchdog.
listener one
# (LeakSanitizer cannot run under strace: off for this run of a sanitized build.)
env -u WATCHDOG_USEC -u WATCHDOG_PID NOTIFY_SOCKET="$T/one.sock" \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -yy -e trace=listen,pwrite64,write,sendmsg -o "$T/strace" \
	"$MS_BIN" daemon --config "$MS_CONFIG" >>"$T/daemon.log" 2>&1 &
tracer=$!
ms_track_pid "$tracer"
wait_lines "$T/one.log" "READY=1" 1 "$tracer"
dpid=$(ms_daemon_pid)
[[ -n $dpid ]] || ms_fail "READY=1 arrived but no daemon serves $MS_CACHE_DIR"
ready=$(grep -m1 -- "READY=1" "$T/one.log")
[[ $ready == "pid=$dpid "* ]] || ms_fail "READY=1 not sent by the daemon (pid $dpid): $ready"
[[ $ready == *" connect=ok" ]] || ms_fail "at READY=1 the daemon's socket did not accept: $ready"
ms_ok "READY=1 from the daemon's own PID, and its socket accepted right then ($ready)"

order=$(awk -v s="$sock" -v p="$MS_CACHE_DIR/daemon.pid" '
	/listen\(/ && index($0, s) && !l { l = NR }
	/(pwrite64|write)\(/ && index($0, p) && !w { w = NR }
	/sendmsg\(/ && /READY=1/ && !r { r = NR }
	END { print l + 0, w + 0, r + 0 }' "$T/strace")
read -r l w r <<<"$order"
((l > 0 && w > 0 && r > 0)) || ms_fail "strace lacks listen ($l), the pid file write ($w) or READY=1 ($r): $(head -c 600 "$T/strace")"
((l < w && w < r)) || ms_fail "order in strace: listen line $l, pid file line $w, READY=1 line $r (want listen < pid file < READY)"
ms_ok "strace order: listen($sock), then the pid file, then READY=1"

ms_status_fields daemon.requests >/dev/null
ms_ok "status answers after READY=1"
stop_daemon
ms_wait_gone "$tracer" 100 || ms_fail "strace did not exit after its daemon"
ms_untrack_pid "$tracer"
tail -n 1 "$T/one.log" | grep -q "^pid=$dpid STOPPING=1$" || ms_fail "no STOPPING=1 last from pid $dpid: $(tr '\n' ' ' <"$T/one.log")"
! grep -q WATCHDOG "$T/one.log" || ms_fail "WATCHDOG=1 without WATCHDOG_USEC: $(tr '\n' ' ' <"$T/one.log")"
! grep -q "watchdog:" "$T/daemon.log" || ms_fail "the daemon started a watchdog without WATCHDOG_USEC"
ms_ok "SIGTERM: STOPPING=1 is its last message; no WATCHDOG=1 without WATCHDOG_USEC"
ms_life stop "$MS_RUN" "$LISTENER_PID" --timeout 5 >/dev/null

# 2. WATCHDOG_USEC=200000 for this PID: WATCHDOG=1 every 100 ms from the daemon; a listener that
# stops reading blocks the watchdog thread in sendmsg, and the loop still serves.
listener two
: >"$T/daemon.log"
(
	export WATCHDOG_PID=$BASHPID
	exec env NOTIFY_SOCKET="$T/two.sock" WATCHDOG_USEC=200000 "$MS_BIN" daemon --config "$MS_CONFIG" \
		>>"$T/daemon.log" 2>&1
) &
dpid=$!
ms_track_pid "$dpid"
wait_lines "$T/two.log" "^pid=$dpid WATCHDOG=1$" 3 "$dpid"
grep -q "watchdog: WATCHDOG=1 every 100 ms" "$T/daemon.log" || ms_fail "no watchdog line in the daemon's log: $(cat "$T/daemon.log")"
! grep -v -e "^pid=$dpid " "$T/two.log" | grep -q . || ms_fail "messages from another PID: $(tr '\n' ' ' <"$T/two.log")"
ms_ok "WATCHDOG_USEC=200000: WATCHDOG=1 from the daemon (pid $dpid) every 100 ms (log: 'watchdog: WATCHDOG=1 every 100 ms')"

touch "$T/two.pause"
qlen=$(cat /proc/sys/net/unix/max_dgram_qlen)
blocked=
for ((i = 0; i < 100 + 2 * qlen && i < 600; i++)); do
	for task in /proc/"$dpid"/task/*; do
		# 46: sendmsg on x86-64; the thread sits in it once the listener's queue is full.
		[[ $(cut -d' ' -f1 "$task/syscall" 2>/dev/null) == 46 ]] && blocked=${task##*/}
	done
	[[ -n $blocked ]] && break
	ms_alive "$dpid" || ms_fail "the daemon exited: $(tail -n 5 "$T/daemon.log")"
	sleep 0.1
done
[[ -n $blocked ]] || ms_fail "no thread of the daemon blocked in sendmsg after the listener stopped reading (max_dgram_qlen $qlen)"
[[ $blocked != "$dpid" ]] || ms_fail "the daemon's main thread (the loop) is blocked in sendmsg"
ms_status_fields daemon.requests >/dev/null
[[ $(cut -d' ' -f1 "/proc/$dpid/task/$blocked/syscall") == 46 ]] || ms_fail "thread $blocked left sendmsg while the listener was paused"
ms_ok "listener not reading: thread $blocked of the daemon waits in sendmsg, the loop still answers status"
n=$(grep -c WATCHDOG "$T/two.log")
rm "$T/two.pause"
wait_lines "$T/two.log" "WATCHDOG=1" $((n + qlen + 2)) "$dpid"
ms_ok "listener reading again: WATCHDOG=1 flows again ($n before the pause, $(grep -c WATCHDOG "$T/two.log") now)"
stop_daemon
ms_untrack_pid "$dpid"

# 3. WATCHDOG_PID names another process (the variables were meant for a parent): no watchdog.
: >"$T/daemon.log"
env NOTIFY_SOCKET="$T/two.sock" WATCHDOG_USEC=200000 WATCHDOG_PID=1 "$MS_BIN" daemon --config "$MS_CONFIG" \
	>>"$T/daemon.log" 2>&1 &
dpid=$!
ms_track_pid "$dpid"
wait_lines "$T/two.log" "^pid=$dpid READY=1" 1 "$dpid"
! grep -q "watchdog:" "$T/daemon.log" || ms_fail "watchdog started though WATCHDOG_PID names pid 1"
ms_ok "WATCHDOG_PID of another process: READY=1 but no watchdog"
stop_daemon
ms_untrack_pid "$dpid"
ms_life stop "$MS_RUN" "$LISTENER_PID" --timeout 5 >/dev/null

# 4. --detach (how clients start it): silent, whatever NOTIFY_SOCKET says. READY=1 would be sent
# before --detach returns, so an empty log right after is proof.
listener three
NOTIFY_SOCKET="$T/three.sock" WATCHDOG_USEC=200000 "$MS_BIN" daemon --detach --config "$MS_CONFIG" \
	>>"$T/daemon.log" 2>&1 || ms_fail "daemon --detach failed: $(tail -n 5 "$T/daemon.log")"
[[ -n $(ms_daemon_pid) ]] || ms_fail "daemon --detach returned 0 but no daemon serves"
stop_daemon
[[ ! -s $T/three.log ]] || ms_fail "a detached daemon sent: $(tr '\n' ' ' <"$T/three.log")"
ms_ok "daemon --detach with NOTIFY_SOCKET set: no message at all (start to stop)"
ms_done
