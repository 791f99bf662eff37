#!/usr/bin/env bash
# t-front-sigv4: the loopback S3 pair behaves as the other tests assume: the front verifies SigV4
# (AWS vectors, good and bad requests), put.js round-trips odd keys, s3rver's Range and If-Match
# fixes hold, the throttle, fault and delay controls work, and ListObjectsV2 paginates.
# It owns nothing outside its $T; it must never reach beyond 127.0.0.1.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "${MS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/lib.sh"

command -v curl >/dev/null || ms_skip "curl not installed"
[[ -d $MS_TOP/tests/s3/node_modules/s3rver ]] || ms_skip "s3rver not installed (npm ci in tests/s3)"

S3JS=$MS_TOP/tests/s3
SIGN=(--aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')

# enc KEY: the key as a canonical URL path (every byte outside A-Za-z0-9-_.~/ percent-encoded).
enc() {
	node -e 'console.log(require(process.argv[1]).uriEncode(process.argv[2], true))' "$S3JS/sigv4.js" "$1"
}

# get URL [curl args...]: signed GET through the front; prints the HTTP status.
get() {
	local url=$1
	shift
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -m 30 "${SIGN[@]}" "$@" "$url"
}

header() {
	sed -n "s/^$1: *//Ip" "$T/headers" | tr -d '\r'
}

# 1. SigV4 module against AWS's published S3 examples.
out=$(node "$S3JS/sigv4.js" --self-test) || ms_fail "sigv4 self-test: $out"
ms_ok "$out"

ms_start_s3
ms_ok "s3rver on $S3_ENDPOINT, front on $FRONT_ENDPOINT"

# 2. put.js through the front (its signatures verified) with awkward names; byte-exact round trip.
src=$T/src
mkdir -p "$src/dir with space/ünïcødé" "$src/-lead"
names=("plain.txt" "a b+c=d.bin" "pct%41~tilde.bin" "paren(1)!'*.bin" "dir with space/ünïcødé/中文.bin"
	"-lead/-dash" "dir with space/x")
i=0
for n in "${names[@]}"; do
	head -c $((1000 + i * 777)) /dev/urandom >"$src/$n"
	i=$((i + 1))
done
node "$S3JS/put.js" "$FRONT_ENDPOINT" models "$src" odd/ >>"$T/put.log" || ms_fail "put.js through the front failed"
[[ $(ms_stat rejected) == 0 ]] || ms_fail "put.js requests were rejected by the front"
for n in "${names[@]}"; do
	code=$(get "$FRONT_ENDPOINT/models/$(enc "odd/$n")")
	[[ $code == 200 ]] || ms_fail "GET odd/$n: HTTP $code"
	cmp -s "$T/body" "$src/$n" || ms_fail "GET odd/$n: bytes differ"
done
ms_ok "put.js: ${#names[@]} odd keys round-trip byte-exact through the front"
[[ $(ms_key_stat "odd/plain.txt" count) == 1 && $(ms_key_stat "odd/plain.txt" bytes) == 1000 ]] ||
	ms_fail "per-key stats for odd/plain.txt: $(ms_stats)"
ms_ok "per-key GET counters"

# 3. Signed request passes; wrong secret, no signature, non-canonical URL are rejected and counted.
url=$FRONT_ENDPOINT/models/odd/plain.txt
code=$(get "$url")
[[ $code == 200 ]] || ms_fail "correctly signed GET: HTTP $code"
ms_ok "correctly signed GET: 200"
before=$(ms_stat rejected)
code=$(curl -s -o "$T/body" -w '%{http_code}' -m 10 --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:wrong \
	-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$url")
[[ $code == 403 ]] || ms_fail "wrong secret: HTTP $code, want 403"
grep -q '<Code>SignatureDoesNotMatch</Code>' "$T/body" || ms_fail "wrong secret: body $(cat "$T/body")"
[[ $(ms_stat rejected) == $((before + 1)) ]] || ms_fail "wrong secret not counted as rejected"
ms_ok "wrong secret: 403 SignatureDoesNotMatch, counted as rejected"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$url")
[[ $code == 403 ]] || ms_fail "unsigned GET: HTTP $code, want 403"
ms_ok "unsigned GET: 403"
# curl signs the URL exactly as given; '+' and '=' left raw are not the canonical form.
code=$(get "$FRONT_ENDPOINT/models/odd/a%20b+c=d.bin")
[[ $code == 403 ]] || ms_fail "non-canonical path (raw '+', '='): HTTP $code, want 403"
ms_ok "non-canonical path (raw '+', '='): 403"
code=$(get "$FRONT_ENDPOINT/models?prefix=odd/&list-type=2")
[[ $code == 403 ]] || ms_fail "non-canonical query (unsorted, raw '/'): HTTP $code, want 403"
code=$(get "$FRONT_ENDPOINT/models?list-type=2&prefix=odd%2F")
[[ $code == 200 ]] || ms_fail "canonical query: HTTP $code, want 200"
ms_ok "query: non-canonical 403, canonical 200"

# 4. s3rver fixes: Range bytes=0-0, suffix ranges, If-Match.
size=$(stat -c %s "$src/plain.txt")
code=$(get "$url" -H 'Range: bytes=0-0')
[[ $code == 206 && $(stat -c %s "$T/body") == 1 ]] || ms_fail "Range bytes=0-0: HTTP $code, $(stat -c %s "$T/body") bytes"
cmp -s "$T/body" <(head -c 1 "$src/plain.txt") || ms_fail "Range bytes=0-0: wrong byte"
[[ $(header content-range) == "bytes 0-0/$size" ]] || ms_fail "Range bytes=0-0: Content-Range $(header content-range)"
ms_ok "Range bytes=0-0: 206, 1 byte"
code=$(get "$url" -H 'Range: bytes=-3')
[[ $code == 206 ]] || ms_fail "Range bytes=-3: HTTP $code"
cmp -s "$T/body" <(tail -c 3 "$src/plain.txt") || ms_fail "Range bytes=-3: wrong bytes"
[[ $(header content-range) == "bytes $((size - 3))-$((size - 1))/$size" ]] ||
	ms_fail "Range bytes=-3: Content-Range $(header content-range)"
ms_ok "Range bytes=-3: 206, last 3 bytes"
etag=$(header etag)
[[ -n $etag ]] || ms_fail "no ETag"
code=$(get "$url" -H 'If-Match: "0123456789abcdef0123456789abcdef"')
[[ $code == 412 ]] || ms_fail "If-Match wrong ETag: HTTP $code, want 412"
grep -q '<Code>PreconditionFailed</Code>' "$T/body" || ms_fail "If-Match wrong ETag: body $(cat "$T/body")"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -I "${SIGN[@]}" -H 'If-Match: "nope"' "$url")
[[ $code == 412 ]] || ms_fail "HEAD If-Match wrong ETag: HTTP $code, want 412"
code=$(get "$url" -H "If-Match: $etag")
[[ $code == 200 ]] || ms_fail "If-Match right ETag: HTTP $code, want 200"
ms_ok "If-Match: wrong ETag 412 (GET and HEAD), right ETag 200"

# 5. Throttle: 4 MiB at 2 MiB/s takes more than a second.
big=$T/big
mkdir -p "$big"
head -c $((4 << 20)) /dev/urandom >"$big/four"
ms_put "$big" big/
ms_front_config '{"rate": 2097152}'
t0=$(date +%s%N)
code=$(get "$FRONT_ENDPOINT/models/big/four")
ms=$((($(date +%s%N) - t0) / 1000000))
ms_front_config '{"rate": 0}'
{ [[ $code == 200 ]] && cmp -s "$T/body" "$big/four"; } || ms_fail "throttled GET: HTTP $code or bytes differ"
((ms > 1000)) || ms_fail "throttled 4 MiB GET took $ms ms at 2 MiB/s, want > 1000"
ms_ok "throttle: 4 MiB at 2 MiB/s took $ms ms"

# 6. Fault injection and delay.
ms_front_config '{"fail": 1, "status": 503}'
code=$(get "$url")
{ [[ $code == 503 ]] && grep -q '<Code>SlowDown</Code>' "$T/body"; } || ms_fail "injected failure: HTTP $code"
code=$(get "$url")
[[ $code == 200 ]] || ms_fail "after injected failure: HTTP $code"
[[ $(ms_stat injected) == 1 ]] || ms_fail "injected counter: $(ms_stats)"
ms_front_config '{"delay_ms": 300}'
t0=$(date +%s%N)
code=$(get "$url")
ms=$((($(date +%s%N) - t0) / 1000000))
ms_front_config '{"delay_ms": 0}'
{ [[ $code == 200 ]] && ((ms >= 300)); } || ms_fail "delay_ms 300: HTTP $code after $ms ms"
ms_ok "fault injection (one 503 SlowDown, then 200) and delay_ms"

# 7. ListObjectsV2 pagination over 5 objects, 2 per page, through the front.
pages=$T/pages
mkdir -p "$pages"
for k in 1 2 3 4 5; do echo "$k" >"$pages/obj$k"; done
ms_put "$pages" page/
keys=() token='' npages=0
while :; do
	q="list-type=2&max-keys=2&prefix=page%2F"
	[[ -z $token ]] || q="continuation-token=$(node -e 'console.log(require(process.argv[1]).uriEncode(process.argv[2], false))' "$S3JS/sigv4.js" "$token")&$q"
	code=$(get "$FRONT_ENDPOINT/models?$q")
	[[ $code == 200 ]] || ms_fail "list page $((npages + 1)): HTTP $code: $(head -c 300 "$T/body")"
	npages=$((npages + 1))
	while read -r k; do keys+=("$k"); done < <(grep -o '<Key>[^<]*</Key>' "$T/body" | sed 's/<[^>]*>//g')
	grep -q '<IsTruncated>true</IsTruncated>' "$T/body" || break
	token=$(grep -o '<NextContinuationToken>[^<]*</NextContinuationToken>' "$T/body" | sed 's/<[^>]*>//g')
	[[ -n $token ]] || ms_fail "truncated page without NextContinuationToken"
	((npages < 10)) || ms_fail "listing does not terminate"
done
[[ $npages == 3 && ${keys[*]} == "page/obj1 page/obj2 page/obj3 page/obj4 page/obj5" ]] ||
	ms_fail "listing: $npages pages, keys ${keys[*]}"
ms_ok "ListObjectsV2: 5 keys in 3 pages via continuation tokens"

# 8. ms_delete removes a key.
ms_delete page/obj5
code=$(get "$FRONT_ENDPOINT/models/page/obj5")
[[ $code == 404 ]] || ms_fail "deleted key: HTTP $code, want 404"
ms_ok "ms_delete: deleted key answers 404"
