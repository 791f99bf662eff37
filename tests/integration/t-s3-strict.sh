#!/usr/bin/env bash
# t-s3-strict: modelshim works against a rig as strict as S3: the core cases (import, a cold
# multi-chunk read through `modelshim cat`, a warm-up that leaves nothing to fetch) pass (a) in
# region eu-west-1, (b) with temporary credentials (a session token the rig requires, signed),
# (c) with virtual-hosted addressing (BUCKET.localhost); and a wrong region, a missing or wrong
# token fail with a clear error, never with zeros or bytes of nothing.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"

region=eu-west-1
# An STS-like token: long, with / + = (the credentials file and the header carry it verbatim).
token="IQoJb3JpZ2luX2VjEFAKE//////////+TEST/token=$(printf 'Zm9v%.0s' $(seq 1 200))=="
ms_start_s3_opts --region "$region" --session-token "$token"
cfg=$(curl -sf "$FRONT_ENDPOINT/__front/config") || ms_fail "front config unavailable"
[[ $cfg == *"\"region\":\"$region\""* && $cfg == *"\"session_token\":\"$token\""* ]] ||
	ms_fail "s3-server --region/--session-token did not reach the front: $cfg"
MiB=1048576
mkdir -p "$T/src/dir"
head -c $((5 * MiB + 4321)) /dev/urandom >"$T/src/big.bin" # 6 chunks of 1 MiB
head -c $((3 * MiB + 7)) /dev/urandom >"$T/src/dir/w1.bin"
head -c $((MiB + 99)) /dev/urandom >"$T/src/dir/w2.bin"
seq 1 5000 >"$T/src/small.txt"
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = 3" "timeout = 10s"

# fresh: no daemon, no cache: the next import and reads start from nothing.
fresh() {
	ms_stop_daemon_any
	rm -rf "$MS_CACHE_DIR"
}

# fails WHAT GREP CMD...: CMD exits non-zero, writes nothing to stdout, and says GREP on stderr.
fails() {
	local what=$1 re=$2 rc=0
	shift 2
	"$@" >"$T/f.out" 2>"$T/f.err" || rc=$?
	if ((rc == 0)); then
		ms_bad "$what: succeeded"
	elif [[ -s $T/f.out ]]; then
		ms_bad "$what: exit $rc but $(stat -c %s "$T/f.out") bytes written: $(ms_why_differs "$T/f.out" "$T/src/big.bin")"
	elif ! grep -Eq "$re" "$T/f.err"; then
		ms_bad "$what: exit $rc without a clear error (want /$re/): $(head -c 400 "$T/f.err")"
	else
		ms_ok "$what: exit $rc: $(head -n 1 "$T/f.err" | head -c 250)"
	fi
}

# core WHAT: import, a cold read of big.bin through modelshim cat, a warm-up of dir/ after which
# reading dir/ fetches nothing; no request is refused by the rig. Resets the front's counters
# first: afterwards they count what core did.
core() {
	local what=$1 g k ok=1
	ms_front_reset
	if ! "$MS_BIN" import --config "$MS_CONFIG" >"$T/imp.out" 2>&1; then
		ms_bad "$what: import failed: $(head -c 400 "$T/imp.out")"
		return 0
	fi
	grep -q "4 objects" "$T/imp.out" || ms_bad "$what: import did not list 4 objects: $(cat "$T/imp.out")"
	ms_assert_cold big.bin
	if "$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin >"$T/big.out" 2>"$T/cat.err" && cmp -s "$T/big.out" "$T/src/big.bin"; then
		ms_ok "$what: cold read of big.bin (6 chunks) through modelshim cat is byte-exact"
	else
		ms_bad "$what: cold read of big.bin: $(ms_why_differs "$T/big.out" "$T/src/big.bin"); $(head -c 300 "$T/cat.err")"
	fi
	[[ $(ms_key_stat big.bin bytes) -ge $(stat -c %s "$T/src/big.bin") ]] ||
		ms_bad "$what: big.bin was not fetched from the store ($(ms_key_stat big.bin bytes) bytes): the read proves nothing"
	if "$MS_BIN" warmup --config "$MS_CONFIG" --prefix /models/dir >"$T/w.out" 2>&1 && grep -q "2 files warmed" "$T/w.out"; then
		g=$(ms_stat methods.GET)
		for k in dir/w1.bin dir/w2.bin; do
			"$MS_BIN" cat --config "$MS_CONFIG" "/models/$k" | cmp -s - "$T/src/$k" || ok=0
		done
		if ((ok)) && [[ $(ms_stat methods.GET) == "$g" ]]; then
			ms_ok "$what: warm-up of /models/dir: $(tail -n 1 "$T/w.out"); reads after it fetch nothing"
		else
			ms_bad "$what: after the warm-up: bytes right: $ok, GETs $g -> $(ms_stat methods.GET) (want none)"
		fi
	else
		ms_bad "$what: warmup failed: $(head -c 300 "$T/w.out")"
	fi
	[[ $(ms_stat rejected) == 0 ]] || ms_bad "$what: the rig refused $(ms_stat rejected) requests"
}

# --- (a) Region eu-west-1 in both -------------------------------------------------------------
# Long-term keys for (a): the rig wants no token until (b).
ms_front_config '{"session_token": ""}'
ms_mount_set region "$region"
core "region $region"

# A wrong region in the config: the listing fails, saying which region the store wants.
fresh
ms_mount_set region us-east-1
fails "import with region us-east-1 against an $region store" "AuthorizationHeaderMalformed.*expecting '$region'" \
	"$MS_BIN" import --config "$MS_CONFIG"
[[ ! -e $MS_TREE/big.bin ]] || ms_bad "a failed import created big.bin in the namespace"
# ... and reads: imported right, then the daemon runs with the wrong region.
ms_mount_set region "$region"
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
ms_mount_set region us-east-1
rej=$(ms_stat rejected)
fails "cold read with region us-east-1 against an $region store" "AuthorizationHeaderMalformed" \
	"$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin
n=$(($(ms_stat rejected) - rej))
((n >= 1 && n <= 3)) || ms_bad "the wrong-region read sent $n refused GETs: want 1..3 (a 400 is final: no retry storm)"
ms_assert_cold big.bin
ms_ok "wrong region: $n GETs refused, nothing of big.bin cached"
fails "modelshim cat of a small file, wrong region" "AuthorizationHeaderMalformed" \
	"$MS_BIN" cat --config "$MS_CONFIG" /models/small.txt
ms_mount_set region "$region"

# --- (b) Temporary credentials: the rig requires the token ------------------------------------
fresh
ms_front_config "{\"session_token\": \"$token\"}"
fails "import without the session token" "AccessDenied.*x-amz-security-token" "$MS_BIN" import --config "$MS_CONFIG"
ms_cred_set aws_session_token "${token%==}AA=="
fails "import with a wrong session token" "InvalidToken" "$MS_BIN" import --config "$MS_CONFIG"
ms_cred_set aws_session_token "$token"
core "session token"
# The daemon (started by the reads above) keeps its credentials; a new one with a wrong token
# fails reads with the store's answer.
fresh
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
ms_cred_set aws_session_token "${token%==}AA=="
fails "cold read with a wrong session token" "InvalidToken" "$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin
ms_assert_cold big.bin
ms_cred_set aws_session_token "$token"

# --- (c) Virtual-hosted addressing: Host models.localhost:PORT ---------------------------------
# libcurl resolves *.localhost to loopback itself (RFC 6761); glibc here does not, so a libcurl
# that asks the resolver cannot do it without a DNS change: skip (c) then.
vurl=http://models.localhost:$FRONT_PORT
if [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' "$vurl/__front/stats" || true) != 200 ]]; then
	echo "skip: (c) virtual-hosted: libcurl does not resolve models.localhost on this host"
else
	fresh
	ms_mount_set endpoint "http://localhost:$FRONT_PORT"
	ms_mount_set addressing virtual
	core "virtual-hosted, $region, session token"
	# Every request of core (import, reads, warm-up) came as models.localhost.
	v=$(ms_stat virtual_hosted)
	r=$(ms_stat requests)
	if ((v > 0 && v == r)); then
		ms_ok "virtual-hosted: all $r requests (listing, GETs) addressed as models.localhost"
	else
		ms_bad "virtual-hosted: $v of $r requests addressed as models.localhost"
	fi
	ms_mount_set addressing path
	ms_mount_set endpoint "$FRONT_ENDPOINT"
fi

# --- Invariant 6: the secret and the session token appear in no log and no stderr --------------
# Also with credentials from the environment (no credentials key): an import, then a cold read
# through a daemon that modelshim cat starts with that environment.
fresh
sed -i '/^credentials = /d' "$MS_CONFIG"
secret_env=(AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_SESSION_TOKEN="$token")
env "${secret_env[@]}" "$MS_BIN" import --config "$MS_CONFIG" >"$T/env-imp.out" 2>"$T/env-imp.err" ||
	ms_fail "import with credentials from the environment failed: $(head -c 300 "$T/env-imp.err")"
env "${secret_env[@]}" "$MS_BIN" cat --config "$MS_CONFIG" /models/big.bin 2>"$T/env-cat.err" |
	cmp -s - "$T/src/big.bin" || ms_bad "a cold read with credentials from the environment: wrong bytes"
# A failing request too: a wrong token in a fresh daemon's environment.
ms_stop_daemon_any
env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_SESSION_TOKEN="${token%==}AA==" \
	"$MS_BIN" cat --config "$MS_CONFIG" /models/dir/w2.bin >/dev/null 2>"$T/env-bad.err" || true
# The token's distinctive middle (the secret of this rig is also its access key id, which may
# be named): found nowhere the daemon, import or cat wrote.
needle=${token:10:40}
mapfile -t written < <(find "$T" -path "$T/s3" -prune -o -type f \( -name '*.log' -o -name '*.err' -o -name '*.out' \) -print)
((${#written[@]} > 3)) || ms_fail "only ${#written[@]} logs and outputs to search: ${written[*]}"
leaks=$(grep -lF -- "$needle" "${written[@]}" 2>/dev/null || true)
if [[ -z $leaks ]]; then
	ms_ok "invariant 6: the session token is in none of ${#written[@]} logs, stderr and outputs (the daemon's included; credentials from a file and from the environment)"
else
	ms_bad "the session token leaked into: $leaks"
fi
ms_done
