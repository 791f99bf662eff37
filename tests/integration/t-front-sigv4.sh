#!/usr/bin/env bash
# t-front-sigv4: the loopback S3 pair behaves as the other tests assume: the front verifies SigV4
# (AWS vectors, good and bad requests), put.js round-trips odd keys, s3rver's Range and If-Match
# fixes hold, the throttle, fault and delay controls work, and ListObjectsV2 paginates. It is as
# strict as S3: another region or service in the scope, an unsigned x-amz-* header or host, a
# skewed clock, a missing, wrong or unexpected session token are refused; virtual-hosted
# addressing works; the GET answer faults (etag, whole, content_range, ignore_if_match) and the
# listing faults (list_page, list_fail, list_truncate, list_reset_after, list_stall) do what
# tests/s3/front.js says.
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

# 9. As strict as S3 (issue 17): the credential scope names the rig's region and s3, every
# x-amz-* header sent is signed, host too, the clock is within 15 minutes, and temporary
# credentials carry their session token, signed. Curl signs every header it sends; node.js crafts
# the requests curl cannot (an x-amz-* header or host left out of SignedHeaders, an old date).
# fstat FIELD: a top-level counter of the front (ms_stat without node: this test asks often).
fstat() {
	curl -sf "$FRONT_ENDPOINT/__front/stats" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}
cat >"$T/req.js" <<'JS'
// node req.js URL JSON: one GET signed by sigv4.js, sent to 127.0.0.1 with the URL's Host; prints
// the status, then the body. JSON: region, service, token (sent as x-amz-security-token),
// signToken (false: sent unsigned), extra {header: value} (sent unsigned), unsignedHost,
// signHost (the Host the signature is computed for), skewMs (x-amz-date this far off now).
const http = require('http');
const sigv4 = require(process.env.SIGV4);
const u = new URL(process.argv[2]);
const o = JSON.parse(process.argv[3] || '{}');
const amzDate = new Date(Date.now() + (o.skewMs || 0)).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const headers = { host: o.signHost || u.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
if (o.token !== undefined && o.signToken !== false) headers['x-amz-security-token'] = o.token;
const signed = Object.keys(headers).filter(n => !(o.unsignedHost && n === 'host'));
const s = sigv4.sign({ method: 'GET', url: u.pathname + u.search, headers, accessKey: 'S3RVER', secret: 'S3RVER',
  region: o.region || 'us-east-1', service: o.service || 's3', signedHeaders: signed });
const out = { ...s.headers, ...(o.extra || {}), host: u.host };
if (o.token !== undefined && o.signToken === false) out['x-amz-security-token'] = o.token;
http.get({ host: '127.0.0.1', port: u.port, path: u.pathname + u.search, headers: out }, res => {
  let body = '';
  res.setEncoding('latin1');
  res.on('data', d => (body += d)).on('end', () => console.log(`${res.statusCode}\n${body}`));
}).on('error', e => console.log(`000\n${e.message}`));
JS
export SIGV4=$S3JS/sigv4.js

# req URL JSON: a crafted request (req.js); prints the status, leaves the body in $T/body.
req() {
	node "$T/req.js" "$1" "${2:-{\}}" >"$T/req.out" || ms_fail "req.js failed"
	tail -n +2 "$T/req.out" >"$T/body"
	head -n 1 "$T/req.out"
}

# refused WHAT CODE S3CODE [GREP]: the last answer was HTTP CODE with <Code>S3CODE</Code> (and
# GREP in its body), and the front counted one more rejection.
rej=$(fstat rejected)
refused() {
	local got=$1 what=$2 code=$3 s3code=$4
	if [[ $got != "$code" ]] || ! grep -q "<Code>$s3code</Code>" "$T/body"; then
		ms_fail "$what: HTTP $got, want $code $s3code: $(head -c 300 "$T/body")"
	fi
	[[ -z ${5:-} ]] || grep -q -- "$5" "$T/body" || ms_fail "$what: the message does not say '$5': $(head -c 300 "$T/body")"
	rej=$((rej + 1))
	[[ $(fstat rejected) == "$rej" ]] || ms_fail "$what: not counted as rejected ($(fstat rejected), want $rej)"
	ms_ok "$what: $code $s3code"
}
signed_as() { # signed_as REGION SERVICE URL [curl args]: curl signing for another scope
	local region=$1 service=$2 url=$3
	shift 3
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -m 30 --aws-sigv4 "aws:amz:$region:$service" \
		--user S3RVER:S3RVER -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$url"
}

refused "$(signed_as eu-west-1 s3 "$url")" "scope region eu-west-1 at a us-east-1 rig" 400 AuthorizationHeaderMalformed \
	"the region &apos;eu-west-1&apos; is wrong; expecting &apos;us-east-1&apos;"
refused "$(signed_as us-east-1 iam "$url")" "scope service iam" 400 AuthorizationHeaderMalformed "incorrect service"
ms_front_config '{"region": "eu-west-1"}'
code=$(signed_as eu-west-1 s3 "$url")
{ [[ $code == 200 ]] && cmp -s "$T/body" "$src/plain.txt"; } || ms_fail "signed for eu-west-1 at an eu-west-1 rig: HTTP $code"
refused "$(get "$url")" "scope region us-east-1 at an eu-west-1 rig" 400 AuthorizationHeaderMalformed "expecting &apos;eu-west-1&apos;"
ms_front_config '{"region": "us-east-1"}'
ms_ok "region configurable: eu-west-1 served when the rig is in eu-west-1"

code=$(req "$url")
[[ $code == 200 ]] || ms_fail "req.js, correctly signed: HTTP $code: $(head -c 300 "$T/body")"
refused "$(req "$url" '{"extra": {"x-amz-meta-note": "1"}}')" "x-amz-meta-note sent unsigned" 403 AccessDenied \
	"not signed: x-amz-meta-note"
code=$(get "$url" -H 'x-amz-meta-note: 1')
[[ $code == 200 ]] || ms_fail "x-amz-meta-note signed (curl): HTTP $code, want 200"
refused "$(req "$url" '{"unsignedHost": true}')" "host not in SignedHeaders" 403 SignatureDoesNotMatch "host"
refused "$(req "$url" '{"skewMs": -1200000}')" "x-amz-date 20 min old" 403 RequestTimeTooSkewed
code=$(req "$url" '{"skewMs": -300000}')
[[ $code == 200 ]] || ms_fail "x-amz-date 5 min old: HTTP $code, want 200"
ms_ok "x-amz-* header signed, and a 5 min old x-amz-date: 200"

# Temporary credentials: the token (an STS-like one: long, with / + =) must come, signed.
tok="FwoGZXIvYXdzEJr//////////wEaDFAKE+TOKEN/for=the+rig$(printf 'x%.0s' $(seq 1 600))=="
ms_front_config "{\"session_token\": \"$tok\"}"
refused "$(get "$url")" "session token required, none sent" 403 AccessDenied "x-amz-security-token"
code=$(get "$url" -H "x-amz-security-token: $tok")
{ [[ $code == 200 ]] && cmp -s "$T/body" "$src/plain.txt"; } || ms_fail "the right token, signed: HTTP $code"
ms_ok "the right session token, signed: 200"
refused "$(get "$url" -H "x-amz-security-token: ${tok}x")" "a wrong session token" 400 InvalidToken
refused "$(req "$url" "{\"token\": \"$tok\", \"signToken\": false}")" "the right session token, unsigned" 403 AccessDenied \
	"not signed: x-amz-security-token"
ms_front_config '{"session_token": ""}'
refused "$(get "$url" -H "x-amz-security-token: $tok")" "a session token sent to a rig of long-term keys" 400 InvalidToken

# Virtual-hosted addressing: Host models.localhost:PORT, path /KEY. libcurl resolves *.localhost
# to loopback itself (glibc here does not: the check is skipped where curl cannot either).
vurl=http://models.localhost:$FRONT_PORT
if [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' "$vurl/__front/stats" || true) != 200 ]]; then
	ms_ok "SKIPPED virtual-hosted checks: curl does not resolve models.localhost here"
else
	v0=$(fstat virtual_hosted)
	code=$(get "$vurl/odd/plain.txt")
	{ [[ $code == 200 ]] && cmp -s "$T/body" "$src/plain.txt"; } || ms_fail "virtual-hosted GET: HTTP $code: $(head -c 300 "$T/body")"
	code=$(get "$vurl/$(enc "odd/a b+c=d.bin")" -H 'Range: bytes=10-19')
	{ [[ $code == 206 ]] && cmp -s "$T/body" <(tail -c +11 "$src/a b+c=d.bin" | head -c 10); } ||
		ms_fail "virtual-hosted ranged GET of an odd key: HTTP $code"
	code=$(get "$vurl/?list-type=2&prefix=odd%2F")
	{ [[ $code == 200 ]] && grep -q '<Key>odd/plain.txt</Key>' "$T/body"; } ||
		ms_fail "virtual-hosted ListObjectsV2: HTTP $code: $(head -c 300 "$T/body")"
	[[ $(fstat virtual_hosted) == $((v0 + 3)) ]] || ms_fail "virtual_hosted counter $(fstat virtual_hosted), want $((v0 + 3))"
	refused "$(req "$vurl/odd/plain.txt" "{\"signHost\": \"127.0.0.1:$FRONT_PORT\"}")" \
		"virtual-hosted request signed for another Host" 403 SignatureDoesNotMatch
	ms_ok "virtual-hosted addressing: GET, ranged GET of an odd key and ListObjectsV2 through models.localhost"
fi

# 10. GET answers a client must refuse: a wrong ETag, a 200 for a Range, a wrong or missing
# Content-Range, an ignored If-Match; with "fail": N only the next N, with 0 until cleared.
etag=$(curl -s -o /dev/null -D - -m 10 -I "${SIGN[@]}" "$url" | sed -n 's/^etag: *//Ip' | tr -d '\r')
[[ -n $etag ]] || ms_fail "HEAD gives no ETag"
inj=$(fstat injected)
spent() { # spent N WHAT: the front counted N more injected faults
	inj=$((inj + $1))
	[[ $(fstat injected) == "$inj" ]] || ms_fail "$2: injected $(fstat injected), want $inj"
}
ms_front_config '{"etag": true, "fail": 1}'
code=$(get "$url" -H 'Range: bytes=0-9')
[[ $code == 206 && -n $(header etag) && $(header etag) != "$etag" ]] || ms_fail "etag fault: HTTP $code, ETag $(header etag) (object's $etag)"
spent 1 "etag fault"
code=$(get "$url" -H 'Range: bytes=0-9')
[[ $code == 206 && $(header etag) == "$etag" ]] || ms_fail "after the etag fault (fail 1): ETag $(header etag)"
ms_front_config '{"etag": "missing", "fail": 0}'
for i in 1 2; do
	code=$(get "$url")
	[[ $code == 200 && -z $(header etag) ]] || ms_fail "etag missing, GET $i: HTTP $code, ETag '$(header etag)'"
done
ms_front_config '{"etag": false}'
code=$(get "$url")
[[ $(header etag) == "$etag" ]] || ms_fail "etag fault cleared: ETag $(header etag)"
spent 2 "etag missing"
ms_ok "etag fault: once another ETag, then the object's; 'missing' on every GET until cleared"

ms_front_config '{"whole": true, "fail": 1}'
code=$(get "$url" -H 'Range: bytes=100-199')
{ [[ $code == 200 && -z $(header content-range) ]] && cmp -s "$T/body" "$src/plain.txt"; } ||
	ms_fail "whole fault: HTTP $code, $(stat -c %s "$T/body") bytes, Content-Range '$(header content-range)'"
spent 1 "whole fault"
code=$(get "$url" -H 'Range: bytes=100-199')
[[ $code == 206 && $(stat -c %s "$T/body") == 100 ]] || ms_fail "after the whole fault: HTTP $code"
ms_ok "whole fault: a ranged GET answered 200 with all $(stat -c %s "$src/plain.txt") bytes, once"

for mode in bad total missing; do
	case $mode in
	bad) want="bytes 101-200/$size" ;;
	total) want="bytes 100-199/$((size + 1))" ;;
	missing) want="" ;;
	esac
	ms_front_config "{\"content_range\": \"$mode\", \"fail\": 1}"
	code=$(get "$url") # a 200 carries no Content-Range: the fault waits for a 206
	[[ $code == 200 ]] || ms_fail "content_range $mode, plain GET: HTTP $code"
	spent 0 "content_range $mode on a 200"
	code=$(get "$url" -H 'Range: bytes=100-199')
	{ [[ $code == 206 && $(header content-range) == "$want" ]] && cmp -s "$T/body" <(tail -c +101 "$src/plain.txt" | head -c 100); } ||
		ms_fail "content_range $mode: HTTP $code, Content-Range '$(header content-range)', want '$want'"
	spent 1 "content_range $mode"
	get "$url" -H 'Range: bytes=100-199' >/dev/null
	[[ $(header content-range) == "bytes 100-199/$size" ]] || ms_fail "after content_range $mode: $(header content-range)"
done
ms_ok "content_range faults: bad, total and missing on the next 206 only, body untouched"

code=$(get "$url" -H 'If-Match: "0123456789abcdef0123456789abcdef"')
[[ $code == 412 ]] || ms_fail "If-Match wrong ETag before ignore_if_match: HTTP $code"
ms_front_config '{"ignore_if_match": true, "fail": 1}'
code=$(get "$url" -H 'If-Match: "0123456789abcdef0123456789abcdef"')
[[ $code == 200 && $(header etag) == "$etag" ]] || ms_fail "ignore_if_match: HTTP $code, want 200"
spent 1 "ignore_if_match"
code=$(get "$url" -H 'If-Match: "0123456789abcdef0123456789abcdef"')
[[ $code == 412 ]] || ms_fail "after ignore_if_match (fail 1): HTTP $code, want 412"
ms_ok "ignore_if_match: one GET with a wrong If-Match answered 200, the next 412 again"

# 11. Listing faults: pages, 5xx, stall, reset, page 2 cut; GET faults never touch listings.
# qenc STRING: STRING (ASCII) encoded as a canonical query value, in bash (node starts slowly).
qenc() {
	local LC_ALL=C s=$1 out='' c h i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) printf -v h '%%%02X' "'$c" && out+=$h ;;
		esac
	done
	echo "$out"
}
# list_all PREFIX MAXKEYS: every page of a listing; sets npages and keys; fails on HTTP errors.
list_all() {
	local q token=''
	keys=() npages=0
	while :; do
		q="list-type=2&max-keys=$2&prefix=$(qenc "$1")"
		[[ -z $token ]] || q="continuation-token=$(qenc "$token")&$q"
		code=$(get "$FRONT_ENDPOINT/models?$q")
		[[ $code == 200 ]] || return 1
		npages=$((npages + 1))
		while read -r k; do keys+=("$k"); done < <(grep -o '<Key>[^<]*</Key>' "$T/body" | sed 's/<[^>]*>//g')
		grep -q '<IsTruncated>true</IsTruncated>' "$T/body" || return 0
		token=$(grep -o '<NextContinuationToken>[^<]*</NextContinuationToken>' "$T/body" | sed 's/<[^>]*>//g')
		((npages < 20)) || ms_fail "listing does not terminate"
	done
}
l0=$(fstat listings)
list_all odd/ 1000 || ms_fail "listing odd/: HTTP $code"
[[ $npages == 1 && ${#keys[@]} == "${#names[@]}" ]] || ms_fail "odd/ without list_page: $npages pages, ${#keys[@]} keys"
ms_front_config '{"list_page": 2}'
list_all odd/ 1000 || ms_fail "listing odd/ with list_page 2: HTTP $code"
[[ $npages == 4 && ${#keys[@]} == "${#names[@]}" ]] || ms_fail "list_page 2: $npages pages, ${#keys[@]} keys, want 4 and ${#names[@]}"
[[ $(fstat listings) == $((l0 + 5)) ]] || ms_fail "listings counter $(fstat listings), want $((l0 + 5))"
ms_ok "list_page 2: ${#names[@]} keys asked with max-keys=1000 come in 4 pages"

ms_front_config '{"list_fail": 1, "list_status": 500}'
code=$(get "$url")
[[ $code == 200 ]] || ms_fail "an object GET during list_fail: HTTP $code"
list_all odd/ 1000 && ms_fail "list_fail 1: the listing passed"
{ [[ $code == 500 ]] && grep -q '<Code>InternalError</Code>' "$T/body"; } || ms_fail "list_fail 1: HTTP $code"
list_all odd/ 1000 || ms_fail "after list_fail 1: HTTP $code"
ms_front_config '{"fail": 1, "status": 503}'
list_all odd/ 1000 || ms_fail "a listing during a GET fault: HTTP $code"
code=$(get "$url")
[[ $code == 503 ]] || ms_fail "the GET fault was not kept for the GET: HTTP $code"
spent 2 "list_fail and fail"
ms_ok "list_fail: one listing 500 InternalError, object GETs untouched; GET faults leave listings alone"

# list_curl WHAT QUERY: one listing page by curl; prints "HTTP_CODE CURL_EXIT".
list_curl() {
	local rc=0 code
	code=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -m 2 "${SIGN[@]}" "$FRONT_ENDPOINT/models?$1") || rc=$?
	echo "$code $rc"
}
ms_front_config '{"list_truncate": 2, "list_fail": 1}'
q1="list-type=2&max-keys=1000&prefix=odd%2F"
[[ $(list_curl "$q1") == "200 0" ]] || ms_fail "list_truncate 2: page 1 was not whole"
tok1=$(grep -o '<NextContinuationToken>[^<]*</NextContinuationToken>' "$T/body" | sed 's/<[^>]*>//g')
q2="continuation-token=$(qenc "$tok1")&$q1"
got=$(list_curl "$q2")
[[ $got == "200 18" ]] || ms_fail "list_truncate 2 (close): page 2 gave '$got', want HTTP 200 and curl exit 18 (partial file)"
spent 1 "list_truncate close"
[[ $(list_curl "$q2") == "200 0" ]] || ms_fail "after list_truncate 2 (fail 1): page 2 not whole"
grep -q '</ListBucketResult>' "$T/body" || ms_fail "page 2 after the fault is not a whole document"
ms_front_config '{"list_truncate": 2, "list_truncate_how": "xml", "list_fail": 1}'
got=$(list_curl "$q2")
{ [[ $got == "200 0" ]] && ! grep -q '</ListBucketResult>' "$T/body" && grep -q '<ListBucketResult' "$T/body"; } ||
	ms_fail "list_truncate 2 (xml): '$got', body ends $(tail -c 80 "$T/body")"
spent 1 "list_truncate xml"
ms_front_config '{"list_truncate_how": "close"}'
ms_ok "list_truncate 2: page 2 cut in half (connection closed early; or half an XML document), page 1 whole"

ms_front_config '{"list_reset_after": 100, "list_fail": 1}'
got=$(list_curl "$q1")
[[ $got == "200 56" ]] || ms_fail "list_reset_after 100: '$got', want HTTP 200 and curl exit 56 (connection reset)"
spent 1 "list_reset_after"
[[ $(list_curl "$q1") == "200 0" ]] || ms_fail "after list_reset_after (fail 1): listing not whole"
ms_front_config '{"list_stall": true, "list_fail": 1}'
got=$(list_curl "$q1")
[[ $got == "000 28" ]] || ms_fail "list_stall: '$got', want no answer and curl exit 28 (timeout)"
ms_front_config '{"list_stall": "headers", "list_fail": 1}'
got=$(list_curl "$q1")
[[ $got == "200 28" ]] || ms_fail "list_stall headers: '$got', want HTTP 200, then curl exit 28 (no body)"
[[ $(list_curl "$q1") == "200 0" ]] || ms_fail "after list_stall (fail 1): listing not whole"
code=$(get "$url")
[[ $code == 200 ]] || ms_fail "an object GET after the listing faults: HTTP $code"
spent 2 "list_stall true and headers"
ms_front_config '{"list_page": 0}'
ms_ok "list_reset_after (curl: reset), list_stall true (no answer) and headers (no body), each once"
[[ $(fstat rejected) == "$rej" ]] || ms_fail "unexpected rejections: $(fstat rejected), want $rej"
