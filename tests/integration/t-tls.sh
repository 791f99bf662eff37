#!/usr/bin/env bash
# t-tls: the front served over HTTPS with a certificate of a private CA made here by openssl.
# Without the CA, import and the daemon's fills are refused with one clear message naming the
# endpoint (its certificate not trusted; set ca_bundle or AWS_CA_BUNDLE), a program's read fails
# with EIO and the cache holds no byte; with the ca_bundle key, and separately with AWS_CA_BUNDLE,
# reads are right (sha256); the key wins over the variable; a CA file of another CA is refused
# naming that file; a missing one stops import and the daemon at once.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

ms_tls_ca "$T/pki"
ms_tls_ca "$T/other" # another private CA: it signed nothing the front shows
ms_start_s3_opts --tls "$T/pki/server.pem" "$T/pki/server.key"
[[ $FRONT_ENDPOINT == https://127.0.0.1:* ]] || ms_fail "the front is not served over https: $FRONT_ENDPOINT"
export MS_CHUNK=256K
ms_random "$T/src/m.bin" $((2 * 1048576 + 333)) # 9 chunks: opened without a fill, filled by reads
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = 2" "timeout = 5s"
# Nothing of the caller's environment decides what is trusted or where requests go.
unset_tls=(-u AWS_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR -u CURL_CA_BUNDLE -u HTTPS_PROXY -u https_proxy
	-u ALL_PROXY -u all_proxy)
clean=(env "${unset_tls[@]}")
untrusted="the TLS certificate of $FRONT_ENDPOINT was not trusted.*: name the CA that signed it with ca_bundle = FILE in \[mount \"models\"\] or AWS_CA_BUNDLE"

# import_as WHAT WANT RE VAR=VALUE...: import with these variables exits WANT (0 or 1); on 1 its
# stderr is one line matching RE.
import_as() {
	local what=$1 want=$2 re=$3 rc=0
	shift 3
	timeout 60 "${clean[@]}" "$@" "$MS_BIN" import -q --config "$MS_CONFIG" >"$T/imp.out" 2>&1 || rc=$?
	if ((rc != want)); then
		ms_bad "$what: import exit $rc, want $want: $(head -c 400 "$T/imp.out")"
	elif ((rc != 0)) && ! grep -Eq "$re" "$T/imp.out"; then
		ms_bad "$what: import failed without /$re/: $(head -c 400 "$T/imp.out")"
	elif ((rc != 0)) && (($(wc -l <"$T/imp.out") != 1)); then
		ms_bad "$what: $(wc -l <"$T/imp.out") lines of error, want one: $(head -c 400 "$T/imp.out")"
	else
		ms_ok "$what$( ((rc == 0)) || echo ": $(head -n 1 "$T/imp.out" | head -c 300)")"
	fi
}

# read_eio: a program's read of /models/m.bin fails with EIO and gets no byte; the cache holds none.
read_eio() {
	local out
	out=$(ms_shim python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    b = os.read(fd, 65536)
    print("read %d bytes" % len(b))
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
' /models/m.bin 2>"$T/app.err") || true
	if [[ $out == EIO ]]; then
		ms_ok "without the CA the program's read fails with EIO: $(head -n 1 "$T/app.err" | head -c 200)"
	else
		ms_bad "without the CA the program's read gave '$out', want EIO: $(head -c 300 "$T/app.err")"
	fi
	ms_assert_cold m.bin
}

# --- no CA anywhere: import refused; a daemon (given a namespace) refuses every fill, says why.
import_as "import without the CA" 1 "^modelshim import: models: list s3://models/: $untrusted"
import_as "import with AWS_CA_BUNDLE" 0 "" AWS_CA_BUNDLE="$T/pki/ca.pem"
ms_assert_cold m.bin
ms_daemon_start_env "${unset_tls[@]}"
read_eio
n=$(grep -Ec "fetching m.bin .*: $untrusted" "$T/daemon.log" || true)
((n >= 1)) || ms_bad "the daemon's log does not say the certificate was not trusted: $(tail -n 3 "$T/daemon.log")"
grep -q 'retrying' "$T/daemon.log" && ms_bad "an untrusted certificate was retried: $(grep -m1 retrying "$T/daemon.log")"
ms_ok "the daemon says why ($n fill(s) refused, none retried): $(grep -m1 -o 'the TLS certificate.*' "$T/daemon.log")"
ms_daemon_stop

# --- ca_bundle in the mount: reads right.
ms_mount_set ca_bundle "$T/pki/ca.pem"
ms_daemon_start_env "${unset_tls[@]}"
ms_shim_sha_check m.bin "ca_bundle = the private CA"
ms_daemon_stop

# --- AWS_CA_BUNDLE alone: from a cold cache, reads right.
sed -i '/^ca_bundle = /d' "$MS_CONFIG"
rm -rf "$(ms_cache_path "" tenants)"
import_as "import with AWS_CA_BUNDLE (cold cache)" 0 "" AWS_CA_BUNDLE="$T/pki/ca.pem"
ms_assert_cold m.bin
ms_daemon_start_env "${unset_tls[@]}" AWS_CA_BUNDLE="$T/pki/ca.pem"
ms_shim_sha_check m.bin "AWS_CA_BUNDLE = the private CA"
ms_daemon_stop

# --- the key over the variable; another CA's file named; a missing file refused at once.
ms_mount_set ca_bundle "$T/other/ca.pem"
import_as "ca_bundle (another CA) over AWS_CA_BUNDLE (the right one)" 1 \
	"the TLS certificate of $FRONT_ENDPOINT was not trusted with the CA file $T/other/ca.pem" \
	AWS_CA_BUNDLE="$T/pki/ca.pem"
ms_mount_set ca_bundle "$T/none.pem"
import_as "a missing ca_bundle" 1 "^modelshim import: \[mount \"models\"\] ca_bundle: $T/none.pem: No such file or directory$"
rc=0
timeout 20 "${clean[@]}" "$MS_BIN" daemon --config "$MS_CONFIG" >"$T/bad.log" 2>&1 || rc=$?
if ((rc != 0 && rc != 124)) && grep -q "ca_bundle: $T/none.pem: No such file or directory" "$T/bad.log"; then
	ms_ok "the daemon refuses a missing ca_bundle at start: $(head -n 1 "$T/bad.log")"
else
	ms_bad "daemon with a missing ca_bundle: exit $rc: $(head -c 300 "$T/bad.log")"
fi
ms_done
