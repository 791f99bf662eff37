#!/usr/bin/env bash
# t-secrets: invariant 6, secrets stay in the daemon: a program reading virtual files through the
# shim (which starts the daemon) has no credential in its environment, its open files or anywhere
# in its readable memory. A process that did read the credentials file is the scanner's control.
# The same for the chain's temporary credentials (web identity through STS, the container
# endpoint, IMDSv2) and credential_process: the issued secret key, session token, web identity
# token and container authorization token stay in the daemon.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ -n ${MS_SHIM:-} && -e $MS_SHIM ]] || ms_skip "the shim is not built"
[[ $(id -u) -eq 0 ]] || ms_skip "reading another process's memory needs root"

ms_start_s3
ms_random "$T/src/w.bin" 3000000
ms_random "$T/src/wi.bin" 3000000
ms_random "$T/src/ecs.bin" 3000000
ms_random "$T/src/imds.bin" 3000000
ms_random "$T/src/proc.bin" 3000000
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
# scan PID SECRET...: exit 0 if any SECRET is found in the readable memory of PID.
scan='
import re, sys
pid, needles = sys.argv[1], [n.encode() for n in sys.argv[2:]]
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
            chunk = mem.read(hi - lo)
            if any(n in chunk for n in needles):
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

# The chain's sources: a daemon started with web identity (then the container endpoint) in its
# environment, a program reading through the shim without any of it.
ms_stop_daemon_any
sed -i '/^credentials = /d' "$MS_CONFIG"
printf 'eyJ.secret-web-identity-token.sig\n' >"$T/wi.token"
printf 'Bearer secret-container-auth\n' >"$T/ecs.token"
curl -sf -X POST --data-binary '{"container_token":"Bearer secret-container-auth"}' \
	"$FRONT_ENDPOINT/__creds/config" >/dev/null || ms_fail "creds config refused"
cat >"$T/proc.sh" <<'EOF'
#!/bin/sh
printf '{"Version": 1, "AccessKeyId": "S3RVER", "SecretAccessKey": "S3RVER"}\n'
EOF
chmod +x "$T/proc.sh"
printf '[profile tool]\ncredential_process = %s\n' "$T/proc.sh" >"$T/aws-config"
for src in web-identity container imds process; do
	case $src in
	web-identity)
		vars=(AWS_ROLE_ARN=arn:aws:iam::123456789012:role/models AWS_WEB_IDENTITY_TOKEN_FILE="$T/wi.token"
			AWS_ENDPOINT_URL_STS="$FRONT_ENDPOINT/__sts")
		key=wi.bin ;;
	container)
		vars=(AWS_CONTAINER_CREDENTIALS_FULL_URI="$FRONT_ENDPOINT/__ecs/creds"
			AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ecs.token")
		key=ecs.bin ;;
	imds)
		vars=(AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$FRONT_ENDPOINT/__imds")
		key=imds.bin ;;
	process)
		vars=(AWS_CONFIG_FILE="$T/aws-config" AWS_PROFILE=tool)
		key=proc.bin ;;
	esac
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$T" AWS_EC2_METADATA_DISABLED=true "${vars[@]}" \
		"$MS_BIN" daemon --config "$MS_CONFIG" >>"$T/daemon.log" 2>&1 &
	MS_DAEMON_PID=$!
	ms_track_pid "$MS_DAEMON_PID"
	ms_life daemon-wait "$MS_CONFIG" "$MS_DAEMON_PID" --timeout 10 --log "$T/daemon.log" >/dev/null ||
		ms_fail "the daemon with $src credentials did not start"
	rm -f "$T/ready1" "$T/go"
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY LD_PRELOAD="${MS_PRELOAD:-$MS_SHIM}" \
		MODELSHIM_CONFIG="$T/ms.ini" ASAN_OPTIONS=detect_leaks=0 \
		/usr/bin/python3 -c "$holder" "/models/$key" "$T/ready1" "$T/go" &
	app=$!
	ms_track_pid "$app"
	for ((i = 0; i < 200; i++)); do [[ -e $T/ready1 ]] && break; sleep 0.05; done
	[[ -e $T/ready1 ]] || ms_fail "$src: the reading process did not start"
	if [[ $src == process ]]; then # it prints the static keys: no session token
		secret=S3RVER token=S3RVER
	else
		last=$(curl -sf "$FRONT_ENDPOINT/__creds/last") || ms_fail "$src: the double issued no key"
		secret=$(node -e 'console.log(JSON.parse(process.argv[1]).secret)' "$last")
		token=$(node -e 'console.log(JSON.parse(process.argv[1]).token)' "$last")
	fi
	[[ $(ms_life counters "$MS_CONFIG" mount.credentials --bin "$MS_BIN") == *"'source': '$src'"* ]] ||
		ms_fail "$src: the daemon does not use $src credentials"
	needles=("$secret" "$token" secret-web-identity-token secret-container-auth)
	for needle in "${needles[@]}"; do
		if tr '\0' '\n' <"/proc/$app/environ" | grep -qF -- "$needle"; then
			ms_fail "$src: the application's environment holds a secret"
		fi
	done
	if /usr/bin/python3 -c "$scan" "$app" "${needles[@]}"; then
		ms_fail "$src: a secret (key, session token or source token) is in the memory of the application"
	fi
	if ls -l "/proc/$app/fd" | grep -q -e wi.token -e ecs.token; then ms_fail "$src: the application holds a token file open"; fi
	# The control, once: the scanner finds the session token in the daemon, which holds it.
	if [[ $src == web-identity ]] && ! /usr/bin/python3 -c "$scan" "$MS_DAEMON_PID" "$token"; then
		ms_fail "the scanner does not find the session token in the daemon that holds it: the check proves nothing"
	fi
	touch "$T/go"
	wait "$app" || ms_fail "$src: the application failed to read /models/$key"
	ms_ok "$src: the issued secret, session token and source tokens are in the daemon only; the application read its file"
	ms_daemon_stop
done
