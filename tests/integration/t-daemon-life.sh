#!/usr/bin/env bash
# t-daemon-life: one daemon per cache dir (a second one refuses to start), a client starts the
# daemon when none runs, SIGTERM stops it cleanly, bad configs fail with file:line, and a
# hostile client on the socket does not bring the daemon down.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
ms_random "$T/src/f.bin" 200000
ms_import_src

# No daemon: cat starts one.
"$MS_BIN" cat --config "$T/ms.ini" /models/f.bin | cmp - "$T/src/f.bin" || ms_fail "auto-started read wrong"
pid=$(cat "$MS_CACHE_DIR/daemon.pid")
ms_alive "$pid" || ms_fail "no daemon after an auto-start"
ms_ok "cat started the daemon (pid $pid)"

# A second daemon for the same cache dir refuses.
if "$MS_BIN" daemon --config "$T/ms.ini" 2>"$T/second.err"; then ms_fail "a second daemon started"; fi
grep -q "already serves" "$T/second.err" || ms_fail "unclear message: $(cat "$T/second.err")"
ms_ok "second daemon refused: $(cat "$T/second.err")"

# Garbage on the socket: the daemon drops that client and keeps serving.
python3 - "$MS_CACHE_DIR/daemon.sock" <<'PY'
import os, socket, sys
for payload in [b"", b"\x00" * 3, os.urandom(64), b"\x01\x00\x64\x00" + b"\xff" * 60, b"A" * 5000]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    try:
        s.send(payload)
        s.settimeout(2)
        s.recv(100)
    except OSError:
        pass
    s.close()
PY
ms_alive "$pid" || ms_fail "the daemon died from garbage on its socket"
"$MS_BIN" cat --config "$T/ms.ini" /models/f.bin | cmp - "$T/src/f.bin" || ms_fail "read after garbage wrong"
ms_ok "garbage on the socket did not hurt the daemon"

kill -TERM "$pid"
ms_wait_gone "$pid" 100 || ms_fail "daemon ignored SIGTERM"
[[ ! -e $MS_CACHE_DIR/daemon.sock ]] || ms_fail "socket left behind"
ms_ok "SIGTERM stopped the daemon and removed its socket"

# A cached object still reads without a daemon (no fill needed), through the shim, and reading
# it starts none (a hit never starts a daemon).
"$MS_BIN" status --config "$T/ms.ini" | grep -q "daemon: not running" || ms_fail "status wrong without daemon"
if [[ -n ${MS_PRELOAD:-} ]]; then
	ms_shim cat /models/f.bin | cmp - "$T/src/f.bin" || ms_fail "the cached object did not read right without a daemon"
	[[ -z $(ms_daemon_pid) ]] || ms_fail "reading a complete object started a daemon (pid $(ms_daemon_pid))"
	ms_ok "without a daemon, a cached object reads right through the shim and starts none"
fi

# Bad config: file, line and key in the message; nothing created.
printf '[cache]\ndir = %s/other\nchunk_size = 3M\n[mount "m"]\npath = /m\nsource = s3://models/\nendpoint = %s\n' \
	"$T" "$FRONT_ENDPOINT" >"$T/bad.ini"
if "$MS_BIN" daemon --config "$T/bad.ini" 2>"$T/bad.err"; then ms_fail "bad config accepted"; fi
grep -q "bad.ini:3" "$T/bad.err" || ms_fail "no file:line in: $(cat "$T/bad.err")"
grep -q "chunk_size" "$T/bad.err" || ms_fail "no key in: $(cat "$T/bad.err")"
[[ ! -e $T/other ]] || ms_fail "a bad config created the cache dir"
ms_ok "bad config: $(cat "$T/bad.err")"

# Wrong credentials: a clear 403 message, no retry loop.
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = WRONG\n' >"$T/credentials"
rm -rf "$(ms_cache_path "" tenants)"
if "$MS_BIN" import --config "$T/ms.ini" 2>"$T/denied.err"; then ms_fail "import with a wrong secret succeeded"; fi
grep -qi "denied\|403" "$T/denied.err" || ms_fail "unclear message: $(cat "$T/denied.err")"
ms_ok "wrong secret: $(head -c 200 "$T/denied.err")"
chmod 0644 "$T/credentials"
if "$MS_BIN" import --config "$T/ms.ini" 2>"$T/perm.err"; then ms_fail "world-readable credentials accepted"; fi
grep -q "chmod 600" "$T/perm.err" || ms_fail "unclear message: $(cat "$T/perm.err")"
ms_ok "world-readable credentials refused"
