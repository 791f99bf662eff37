#!/usr/bin/env bash
# t-creds-sources: each source of the credential chain (environment, web identity through STS,
# profile of the shared files, credential_process, container endpoint, IMDSv2, anonymous) lets
# `import` list and the daemon read a file right, against the front's doubles of those
# endpoints; status names the source; each source's misconfiguration (missing token file, STS
# 403, bad JSON from credential_process and the container endpoint, IMDS down) fails with one
# message naming the source.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
ms_random "$T/src/w.bin" 2500000
ms_put "$T/src"
ms_write_config "$T/ms.ini"
sed -i '/^credentials = /d' "$MS_CONFIG" # no credentials file: the chain decides
want=$(ms_sha "$T/src/w.bin")
mkdir -p "$T/home"

# creds_config JSON: the credential doubles' settings (tests/s3/creds_double.js).
creds_config() {
	curl -sf -X POST --data-binary "$1" "$FRONT_ENDPOINT/__creds/config" >/dev/null ||
		ms_fail "creds config $1 refused"
}

# clean VAR=VALUE... CMD...: CMD with only PATH, HOME (empty), IMDS off unless given, and VARs.
clean() {
	env -i PATH="$PATH" HOME="$T/home" AWS_EC2_METADATA_DISABLED=true "$@"
}

# source_reads NAME KIND VAR=VALUE...: with VARs, import lists the bucket, a daemon started by
# `modelshim cat` reads w.bin right, and status --json says the mount's credentials are KIND.
source_reads() {
	local name=$1 kind=$2 got st
	shift 2
	clean "$@" "$MS_BIN" import -q --config "$MS_CONFIG" 2>"$T/err" ||
		{ ms_bad "$name: import failed: $(cat "$T/err")"; return 0; }
	got=$(clean "$@" "$MS_BIN" cat --config "$MS_CONFIG" /models/w.bin 2>"$T/err" | sha256sum | cut -d' ' -f1)
	if [[ $got != "$want" ]]; then
		ms_bad "$name: the daemon did not read w.bin right: $(cat "$T/err"; tail -n 3 "$MS_CACHE_DIR/daemon.log")"
	else
		st=$(ms_life counters "$MS_CONFIG" mount.credentials --bin "$MS_BIN" 2>&1) || st="?"
		line=$("$MS_BIN" status --config "$MS_CONFIG" | grep "mount models: credentials from " || true)
		if [[ -z $line ]]; then
			ms_bad "$name: status prints no credentials line"
		elif [[ $st == *"'source': '$kind'"* ]]; then
			ms_ok "$name: import and a read through the daemon; status: ${line#daemon: }"
		else
			ms_bad "$name: status --json mount credentials: $st, want source $kind"
		fi
	fi
	ms_stop_daemon_any
	rm -rf "$MS_CACHE_DIR/tenants"
}

# source_fails NAME WORD VAR=VALUE...: import fails with one line on stderr naming WORD.
source_fails() {
	local name=$1 word=$2
	shift 2
	if clean "$@" timeout 20 "$MS_BIN" import -q --config "$MS_CONFIG" 2>"$T/err"; then
		ms_bad "$name: import succeeded"
	elif [[ $(wc -l <"$T/err") -ne 1 || $(cat "$T/err") != *"$word"* ]]; then
		ms_bad "$name: want one line naming '$word', got: $(cat "$T/err")"
	elif grep -q -e S3RVER -e 'ASIA' "$T/err"; then
		ms_bad "$name: the message holds a key: $(cat "$T/err")"
	else
		ms_ok "$name: $(cat "$T/err")"
	fi
}

sts=(AWS_ROLE_ARN=arn:aws:iam::123456789012:role/models AWS_WEB_IDENTITY_TOKEN_FILE="$T/wi.token"
	AWS_ENDPOINT_URL_STS="$FRONT_ENDPOINT/__sts")
printf 'eyJ.web-identity-1.sig\n' >"$T/wi.token"
creds_config '{"web_tokens":["eyJ.web-identity-1.sig"],"container_token":"Bearer ecs-secret"}'

source_reads "environment" env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
source_reads "web identity" web-identity "${sts[@]}"

(umask 077 && printf '[dev]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$T/shared")
source_reads "profile" profile AWS_SHARED_CREDENTIALS_FILE="$T/shared" AWS_PROFILE=dev

cat >"$T/proc.sh" <<'EOF'
#!/bin/sh
printf '{"Version": 1, "AccessKeyId": "S3RVER", "SecretAccessKey": "S3RVER"}\n'
EOF
chmod +x "$T/proc.sh"
printf '[profile tool]\ncredential_process = %s\n' "$T/proc.sh" >"$T/config"
source_reads "credential_process" process AWS_CONFIG_FILE="$T/config" AWS_PROFILE=tool

printf 'Bearer ecs-secret\n' >"$T/ecs.token"
source_reads "container" container AWS_CONTAINER_CREDENTIALS_FULL_URI="$FRONT_ENDPOINT/__ecs/v2/credentials" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ecs.token"
source_reads "IMDSv2" imds AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$FRONT_ENDPOINT/__imds"

ms_front_config '{"anonymous":true}'
ms_mount_set credential_source anonymous
source_reads "anonymous" anonymous
ms_front_config '{"anonymous":false}'
source_fails "anonymous, the bucket private" "access denied"
ms_mount_set credential_source chain

# Misconfigurations, each one message naming the source.
source_fails "web identity, no token file" "web identity" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/models \
	AWS_WEB_IDENTITY_TOKEN_FILE="$T/missing.token" AWS_ENDPOINT_URL_STS="$FRONT_ENDPOINT/__sts"
creds_config '{"sts_status":403}'
source_fails "web identity, STS 403" "STS AssumeRoleWithWebIdentity answered HTTP 403" "${sts[@]}"
creds_config '{"sts_status":0}'
printf '[profile tool]\ncredential_process = /bin/echo {"Version": 1, "AccessKeyId"\n' >"$T/config"
source_fails "credential_process, bad JSON" "credential_process printed bad JSON" AWS_CONFIG_FILE="$T/config" AWS_PROFILE=tool
creds_config '{"container_bad_json":true}'
source_fails "container, bad JSON" "credentials from container" \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$FRONT_ENDPOINT/__ecs/v2/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ecs.token"
creds_config '{"container_bad_json":false}'
printf 'Bearer wrong\n' >"$T/ecs.token"
source_fails "container, wrong authorization token" "check the authorization token" \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$FRONT_ENDPOINT/__ecs/v2/credentials" AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ecs.token"
# A port nobody listens on: the one the front had before it (s3rver's next port is taken by no one).
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
source_fails "IMDS down" "IMDS" AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$closed"
source_fails "nothing set" "no credentials found"
ms_done
