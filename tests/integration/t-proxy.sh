#!/usr/bin/env bash
# t-proxy: libcurl's own proxy variables reach import and the daemon. The front serves HTTPS (a
# private CA, ca_bundle); tinyproxy from Debian runs here on 127.0.0.1 with its own config and
# log. With HTTPS_PROXY (and with https_proxy) its log shows import's and the daemon's CONNECTs
# to the front, and a cold read is right (sha256); with NO_PROXY naming 127.0.0.1 it shows none
# and the read is right too.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim
ms_need_cmds tinyproxy

ms_tls_ca "$T/pki"
ms_start_s3_opts --tls "$T/pki/server.pem" "$T/pki/server.key"
export MS_CHUNK=256K
ms_random "$T/src/m.bin" $((2 * 1048576 + 333))
ms_put "$T/src"
ms_write_config "$T/ms.ini" "retries = 2" "timeout = 5s"
ms_mount_set ca_bundle "$T/pki/ca.pem"
# Only what each case sets decides the route.
unset_proxy=(-u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy -u NO_PROXY
	-u no_proxy -u AWS_CA_BUNDLE)

# tinyproxy on a free loopback port, in the foreground (-d), logging CONNECTs to a file; it
# tunnels to the front's port only.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/tinyproxy.conf" <<EOF
Listen 127.0.0.1
Port $port
Timeout 30
LogFile "$T/tinyproxy.log"
LogLevel Connect
MaxClients 32
Allow 127.0.0.1
ConnectPort $FRONT_PORT
DisableViaHeader Yes
EOF
tinyproxy -d -c "$T/tinyproxy.conf" >"$T/tinyproxy.out" 2>&1 &
proxy_pid=$!
ms_track_pid "$proxy_pid"
for ((i = 0; i < 100; i++)); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	ms_alive "$proxy_pid" || ms_fail "tinyproxy exited: $(tail -n 3 "$T/tinyproxy.out")"
	sleep 0.1
done
((i < 100)) || ms_fail "tinyproxy does not listen on 127.0.0.1:$port after 10 s"
proxy=http://127.0.0.1:$port

# connects: how many CONNECTs to the front tinyproxy has logged so far.
connects() {
	grep -c "Request (file descriptor [0-9]*): CONNECT 127.0.0.1:$FRONT_PORT " "$T/tinyproxy.log" || true
}

# cold_read WHAT VAR=VALUE...: a cold cache (import without a proxy), a daemon with these
# variables, a right read of m.bin under the shim; sets N to how many CONNECTs it caused.
cold_read() {
	local what=$1 before
	shift
	ms_stop_daemon_any
	rm -rf "$(ms_cache_path "" tenants)"
	env "${unset_proxy[@]}" "$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
	ms_assert_cold m.bin
	before=$(connects)
	ms_daemon_start_env "${unset_proxy[@]}" "$@"
	ms_shim_sha_check m.bin "$what"
	ms_daemon_stop
	n=$(($(connects) - before))
}

# Import through the proxy, upper and lower case.
for var in HTTPS_PROXY https_proxy; do
	before=$(connects)
	env "${unset_proxy[@]}" "$var=$proxy" "$MS_BIN" import -q --config "$MS_CONFIG" >"$T/imp.out" 2>&1 ||
		ms_bad "import with $var: $(head -c 300 "$T/imp.out")"
	n=$(($(connects) - before))
	((n >= 1)) && ms_ok "import with $var=$proxy: $n CONNECT(s) in tinyproxy's log" ||
		ms_bad "import with $var: no CONNECT in tinyproxy's log"
done

cold_read "daemon with HTTPS_PROXY" HTTPS_PROXY="$proxy"
((n >= 1)) && ms_ok "the daemon's fills went through the proxy: $n CONNECT(s) to 127.0.0.1:$FRONT_PORT" ||
	ms_bad "daemon with HTTPS_PROXY: no CONNECT in tinyproxy's log"
cold_read "daemon with HTTPS_PROXY and NO_PROXY=127.0.0.1" HTTPS_PROXY="$proxy" NO_PROXY=127.0.0.1
((n == 0)) && ms_ok "NO_PROXY=127.0.0.1: no CONNECT, the daemon went straight to the front" ||
	ms_bad "daemon with NO_PROXY=127.0.0.1: $n CONNECT(s) in tinyproxy's log"
ms_done
