#!/usr/bin/env bash
# t-endpoint: a mount with no endpoint and no region key takes them from the environment as the
# AWS SDKs do: AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL, AWS_REGION over AWS_DEFAULT_REGION (the
# front demands region eu-test-1 in signatures); the config's keys win over both; a malformed
# variable that is used stops import and the daemon with a message naming it. The daemon reads
# right through the environment's endpoint.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

region=eu-test-1
ms_start_s3_opts --region "$region"
ms_random "$T/src/m.bin" $((3 * 1048576 + 77))
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = 2" "timeout = 5s"
cp "$MS_CONFIG" "$T/keys.ini" # endpoint = the front, region = us-east-1: wrong for the front
sed -i '/^endpoint = /d; /^region = /d' "$MS_CONFIG"
grep -q '^endpoint\|^region' "$MS_CONFIG" && ms_fail "the config still names an endpoint or a region"
# A port where nothing listens: a variable that must lose sends the requests there.
dead=http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The environment of ctest may hold some of these: every case sets its own.
unset_aws=(-u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 -u AWS_REGION -u AWS_DEFAULT_REGION)
clean=(env "${unset_aws[@]}")

# imports WHAT CONFIG VAR=VALUE...: import with exactly these variables succeeds.
imports() {
	local what=$1 cfg=$2
	shift 2
	if "${clean[@]}" "$@" "$MS_BIN" import -q --config "$cfg" >"$T/imp.out" 2>&1; then
		ms_ok "$what"
	else
		ms_bad "$what: import failed: $(head -c 300 "$T/imp.out")"
	fi
}

# refused WHAT RE CONFIG VAR=VALUE...: import with these variables fails, saying RE.
refused() {
	local what=$1 re=$2 cfg=$3 rc=0
	shift 3
	timeout 60 "${clean[@]}" "$@" "$MS_BIN" import -q --config "$cfg" >"$T/imp.out" 2>&1 || rc=$?
	if ((rc == 0)); then
		ms_bad "$what: import succeeded"
	elif ! grep -Eq "$re" "$T/imp.out"; then
		ms_bad "$what: exit $rc without /$re/: $(head -c 300 "$T/imp.out")"
	else
		ms_ok "$what: $(head -n 1 "$T/imp.out" | head -c 200)"
	fi
}

imports "AWS_ENDPOINT_URL and AWS_REGION" "$MS_CONFIG" AWS_ENDPOINT_URL="$FRONT_ENDPOINT" AWS_REGION=$region
imports "AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL, AWS_REGION over AWS_DEFAULT_REGION" "$MS_CONFIG" \
	AWS_ENDPOINT_URL_S3="$FRONT_ENDPOINT" AWS_ENDPOINT_URL="$dead" AWS_REGION=$region AWS_DEFAULT_REGION=us-east-1
imports "AWS_DEFAULT_REGION without AWS_REGION" "$MS_CONFIG" AWS_ENDPOINT_URL="$FRONT_ENDPOINT" AWS_DEFAULT_REGION=$region
refused "AWS_REGION (wrong) over AWS_DEFAULT_REGION (right)" "region 'us-east-1' is wrong" "$MS_CONFIG" \
	AWS_ENDPOINT_URL="$FRONT_ENDPOINT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=$region
refused "no region anywhere: us-east-1, which the front refuses" "region 'us-east-1' is wrong" "$MS_CONFIG" \
	AWS_ENDPOINT_URL="$FRONT_ENDPOINT"
refused "AWS_ENDPOINT_URL_S3 (dead) over AWS_ENDPOINT_URL (the front)" "${dead#http://}|onnect" "$MS_CONFIG" \
	AWS_ENDPOINT_URL_S3="$dead" AWS_ENDPOINT_URL="$FRONT_ENDPOINT" AWS_REGION=$region
refused "a malformed AWS_ENDPOINT_URL_S3" "^modelshim import: AWS_ENDPOINT_URL_S3: 'ftp://h' must start with http" \
	"$MS_CONFIG" AWS_ENDPOINT_URL_S3=ftp://h AWS_REGION=$region
refused "a malformed AWS_REGION" "^modelshim import: AWS_REGION: 'eu test' is not" "$MS_CONFIG" \
	AWS_ENDPOINT_URL="$FRONT_ENDPOINT" AWS_REGION='eu test'

# The config's keys win over the environment (region us-east-1 in the file: refused by the front).
sed -i "s/^region = .*/region = $region/" "$T/keys.ini"
imports "endpoint and region keys over the variables" "$T/keys.ini" AWS_ENDPOINT_URL_S3="$dead" \
	AWS_ENDPOINT_URL="$dead" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

# The daemon: from the environment's endpoint and region, a cold read right under the shim.
imports "import for the daemon" "$MS_CONFIG" AWS_ENDPOINT_URL_S3="$FRONT_ENDPOINT" AWS_REGION=$region
ms_assert_cold m.bin
ms_daemon_start_env "${unset_aws[@]}" AWS_ENDPOINT_URL_S3="$FRONT_ENDPOINT" AWS_REGION=$region
ms_shim_sha_check m.bin "daemon with AWS_ENDPOINT_URL_S3 and AWS_REGION"
ms_daemon_stop

# A daemon given a malformed variable does not start, and says why.
rc=0
"${clean[@]}" AWS_ENDPOINT_URL=http://h/path timeout 20 "$MS_BIN" daemon --config "$MS_CONFIG" >"$T/bad.log" 2>&1 || rc=$?
if ((rc != 0)) && grep -q "AWS_ENDPOINT_URL: 'http://h/path' must be http\[s\]://HOST\[:PORT\], with no path" "$T/bad.log"; then
	ms_ok "daemon refuses a malformed AWS_ENDPOINT_URL: $(head -n 1 "$T/bad.log")"
else
	ms_bad "daemon with AWS_ENDPOINT_URL=http://h/path: exit $rc: $(head -c 300 "$T/bad.log")"
fi
ms_done
