#!/usr/bin/env bash
# t-secrets: invariant 6, secrets stay in the daemon: a program reading virtual files through the
# shim (which starts the daemon) has no credential in its environment, its open files or anywhere
# in its readable memory. A process that did read the credentials file is the scanner's control.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ -n ${MS_SHIM:-} && -e $MS_SHIM ]] || ms_skip "the shim is not built"
[[ $(id -u) -eq 0 ]] || ms_skip "reading another process's memory needs root"

ms_start_s3
ms_random "$T/src/w.bin" 3000000
ms_import_src
secret=S3RVER

# holder FILE: reads FILE (or /models/w.bin through the shim), then waits for $T/go.
holder='
import os, sys, time
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "w").close()
for _ in range(400):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)
'
# scan PID: exit 0 if SECRET is found in the readable memory of PID.
scan='
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
found = False
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        if not m:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > 256 << 20:
            continue  # sanitizer shadow and other reservations: terabytes of zero pages
        try:
            mem.seek(lo)
            if needle in mem.read(hi - lo):
                found = True
                break
        except (OSError, ValueError, OverflowError):
            pass
sys.exit(0 if found else 1)
'
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY LD_PRELOAD="${MS_PRELOAD:-$MS_SHIM}" \
	MODELSHIM_CONFIG="$T/ms.ini" ASAN_OPTIONS=detect_leaks=0 \
	/usr/bin/python3 -c "$holder" /models/w.bin "$T/ready1" "$T/go" &
app=$!
ms_track_pid "$app"
/usr/bin/python3 -c "$holder" "$T/credentials" "$T/ready2" "$T/go" &
control=$!
ms_track_pid "$control"
for ((i = 0; i < 200; i++)); do [[ -e $T/ready1 && -e $T/ready2 ]] && break; sleep 0.05; done
[[ -e $T/ready1 && -e $T/ready2 ]] || ms_fail "the reading processes did not start"
[[ -n $(ms_daemon_pid) ]] || ms_fail "the shim started no daemon"

/usr/bin/python3 -c "$scan" "$control" "$secret" || ms_fail "the scanner does not find the secret in a process that read it: the check proves nothing"
ms_ok "control: the scanner finds the secret in a process that read the credentials file"
if tr '\0' '\n' <"/proc/$app/environ" | grep -E "$secret|^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)=" >/dev/null; then
	ms_fail "the application's environment holds a credential"
fi
ms_ok "no credential in the application's environment"
if ls -l "/proc/$app/fd" | grep -q credentials; then ms_fail "the application holds the credentials file open"; fi
if /usr/bin/python3 -c "$scan" "$app" "$secret"; then
	ms_fail "the secret is in the memory of the application that read through the shim"
fi
ms_ok "no credential anywhere in the application's readable memory"
touch "$T/go"
wait "$app" || ms_fail "the application failed to read /models/w.bin"
ms_ok "the application read its file through the shim and a daemon it started"
