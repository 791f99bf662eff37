#!/usr/bin/env bash
# t-creds-rotate: temporary credentials from web identity (STS double, keys living 3 s) are
# renewed while a daemon reads a 64 MiB object through a rate-limited front: at least three key
# pairs sign its requests, no read fails and every byte is right. The token file replaced
# mid-run is the one sent from then on. Keys the store calls expired (ExpiredToken) cause exactly
# one renewal however many requests were refused. A source that fails at renewal makes the read
# fail (EIO) with the daemon's log naming the source.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

ms_start_s3
ms_random "$T/src/big.bin" $((64 << 20))
ms_random "$T/src/cold.bin" $((8 << 20))
ms_random "$T/src/late.bin" $((2 << 20))
ms_random "$T/src/k900.bin" $((1 << 20))
ms_random "$T/src/last.bin" $((2 << 20))
ms_put "$T/src"
# Small readahead, few connections: the read's GETs spread over its whole length.
ms_write_config "$T/ms.ini" "readahead = 4M" "connections = 4"
sed -i '/^credentials = /d' "$MS_CONFIG"

creds_config() {
	curl -sf -X POST --data-binary "$1" "$FRONT_ENDPOINT/__creds/config" >/dev/null ||
		ms_fail "creds config $1 refused"
}
# creds_stat FIELD: one number of the doubles' counters (web_tokens.TOKEN too).
creds_stat() {
	curl -sf "$FRONT_ENDPOINT/__creds/stats" | node -e '
		let s = ""; process.stdin.on("data", d => (s += d)).on("end", () => {
			let v = JSON.parse(s);
			for (const p of process.argv[1].split(".")) v = v == null ? undefined : v[p];
			console.log(typeof v === "number" ? v : 0);
		});' "$1"
}

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export HOME=$T AWS_EC2_METADATA_DISABLED=true AWS_ROLE_ARN=arn:aws:iam::123456789012:role/models \
	AWS_WEB_IDENTITY_TOKEN_FILE=$T/wi.token AWS_ENDPOINT_URL_STS=$FRONT_ENDPOINT/__sts
printf 'token-one\n' >"$T/wi.token"
creds_config '{"lifetime_s":3,"web_tokens":["token-one","token-two"]}'
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import with web identity failed"
ms_daemon_start

# (1) 64 MiB at 8 MiB/s: ~8 s, keys renewed every ~1.5 s; the token file replaced meanwhile.
ms_front_config '{"rate":8388608}'
"$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin >"$T/big.out" 2>"$T/big.err" &
reader=$!
ms_track_pid "$reader"
for ((i = 0; i < 100; i++)); do
	(($(stat -c %s "$T/big.out") >= 24 << 20)) && break
	ms_alive "$reader" || break
	sleep 0.1
done
printf 'token-two\n' >"$T/wi.token.new" && mv "$T/wi.token.new" "$T/wi.token"
creds_config '{"web_tokens":["token-two"]}' # the old token is refused from now on
wait "$reader" || ms_fail "the read of big.bin failed: $(cat "$T/big.err"; tail -n 5 "$T/daemon.log")"
[[ $(ms_sha "$T/big.out") == "$(ms_sha "$T/src/big.bin")" ]] || ms_fail "big.bin read wrong: $(ms_why_differs "$T/big.out" "$T/src/big.bin")"
used=$(creds_stat keys_used)
((used >= 3)) || ms_fail "only $used key pairs signed the reads of big.bin: fewer than three rotations"
ms_ok "64 MiB read right through rotations: $used key pairs signed its requests"
ms_front_config '{"rate":0}'
# Renewals after the swap send the new token (the old one is refused: a renewal with it fails).
sleep 2 # the keys in use are due for renewal: the next request renews
"$MS_BIN" cat --config "$MS_CONFIG" /models/late.bin | cmp -s - "$T/src/late.bin" ||
	ms_fail "a read after the token file was replaced failed: $(tail -n 5 "$T/daemon.log")"
two=$(creds_stat web_tokens.token-two)
((two > 0)) || ms_fail "STS never got the replaced token file's token"
ms_ok "token file replaced mid-run: STS got the new token $two time(s), reads go on"

# (2) Long-lived keys, then the store calls them all expired: one renewal for many refusals.
creds_config '{"lifetime_s":900}'
sleep 2 # the 3 s keys are due for renewal: the next request takes 900 s ones
"$MS_BIN" cat --config "$MS_CONFIG" /models/k900.bin | cmp -s - "$T/src/k900.bin" || ms_fail "k900.bin read wrong"
[[ $(ms_life counters "$MS_CONFIG" mount.credentials --bin "$MS_BIN") == *"'expires_in_s': "[1-9][0-9][0-9]* ]] ||
	ms_fail "the daemon never took keys of 900 s: $(ms_life counters "$MS_CONFIG" mount.credentials --bin "$MS_BIN")"
before=$(creds_stat sts) expired_before=$(creds_stat expired_answers)
curl -sf -X POST "$FRONT_ENDPOINT/__creds/expire" >/dev/null || ms_fail "expire refused"
"$MS_BIN" cat --config "$MS_CONFIG" /models/cold.bin >"$T/cold.out" 2>"$T/cold.err" ||
	ms_fail "the read after the keys expired failed: $(cat "$T/cold.err")"
cmp -s "$T/cold.out" "$T/src/cold.bin" || ms_fail "cold.bin read wrong"
renewals=$(($(creds_stat sts) - before)) refused=$(($(creds_stat expired_answers) - expired_before))
((refused >= 1)) || ms_fail "no request was answered ExpiredToken: the check proves nothing"
((renewals == 1)) || ms_fail "$refused ExpiredToken answers caused $renewals renewals, want 1"
ms_ok "$refused ExpiredToken answer(s), exactly one renewal, the read right"

# (3) The source fails at renewal: the read fails (EIO), the log names the source.
creds_config '{"sts_status":403}'
curl -sf -X POST "$FRONT_ENDPOINT/__creds/expire" >/dev/null || ms_fail "expire refused"
if "$MS_BIN" cat --config "$MS_CONFIG" /models/last.bin >/dev/null 2>"$T/fail.err"; then
	ms_fail "a read with expired keys and a failing source succeeded"
fi
grep -q "web identity: STS AssumeRoleWithWebIdentity answered HTTP 403" "$T/daemon.log" ||
	ms_fail "the daemon's log does not name the failing source: $(tail -n 5 "$T/daemon.log")"
ms_ok "STS refusing at renewal: the read failed ($(head -c 160 "$T/fail.err")), the log names web identity"
