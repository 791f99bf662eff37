#!/usr/bin/env bash
# t-isolation: two tenants sharing one cache dir and one daemon, each with its own group (a pod's
# fsGroup). A process of tenant alpha reads alpha's models through the shim; it can neither read
# beta's cache files nor make the daemon fill or open beta's objects (the daemon checks the
# kernel's credentials of the socket peer, not anything the client says); it cannot write its own
# tree, read the credentials or the daemon's log. Without tenant groups everything is owner-only.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ -n ${MS_PRELOAD:-} ]] || ms_skip "MS_PRELOAD is not set (run under ctest)"
((EUID == 0)) || ms_skip "needs root to run clients as other users"
command -v setpriv >/dev/null || ms_skip "setpriv (util-linux) is missing"
[[ -x /usr/bin/python3 ]] || ms_skip "no /usr/bin/python3 for the other users"
[[ ! -e /ta && ! -e /tb ]] || ms_skip "/ta or /tb exists on this host"

ALPHA_GID=40001 BETA_GID=40002 USER_UID=40010
chmod 0755 "$T" # other users reach the config and the binaries' data through it, nothing more
# The other users may not reach the build dir (a checkout under a 0700 directory, as mktemp -d
# makes): they preload a copy of the shim in $T.
cp "$MS_SHIM" "$T/libmodelshim.so"
chmod 0755 "$T/libmodelshim.so"
preload=${MS_PRELOAD/"$MS_SHIM"/"$T/libmodelshim.so"}

# as UID GROUPS CMD...: CMD as user UID with primary group and supplementary GROUPS (comma list).
as() {
	local uid=$1 groups=$2
	shift 2
	setpriv --reuid "$uid" --regid "${groups%%,*}" --groups "$groups" -- "$@"
}
shim_env() {
	local -a env=(LD_PRELOAD="$preload" MODELSHIM_CONFIG="$MS_CONFIG")
	[[ ${MS_SANITIZED:-0} != 1 ]] || env+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
	echo "${env[@]}"
}
mode_of() { stat -c '%a %U:%g' "$1"; }

ms_start_s3
mkdir -p "$T/src/a" "$T/src/b"
head -c $((3 * 1048576 + 17)) /dev/urandom >"$T/src/a/a1.bin"
head -c $((2 * 1048576 + 5)) /dev/urandom >"$T/src/b/b1.bin"
ms_put "$T/src"

# Owner-only without tenant groups.
ms_write_two_tenants "$T/ms.ini" ""
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
ms_daemon_start
[[ $(mode_of "$MS_CACHE_DIR") == "700 root:0" ]] || ms_fail "cache dir is $(mode_of "$MS_CACHE_DIR"), not 700"
[[ $(stat -c %a "$MS_CACHE_DIR/daemon.sock") == 600 ]] || ms_fail "socket is $(stat -c %a "$MS_CACHE_DIR/daemon.sock")"
[[ $(stat -c %a "$(ms_cache_path /ta tenant)") == 700 ]] || ms_fail "alpha's dir is not 700"
ms_ok "no tenant groups: cache dir, socket and tenant dirs owner-only"
ms_daemon_stop

# Tenant groups: alpha 40001, beta 40002.
ms_write_two_tenants "$T/ms.ini" "" \
	"[tenant \"alpha\"]\ngid = $ALPHA_GID\n\n[tenant \"beta\"]\ngid = $BETA_GID\n"
chmod 0644 "$T/ms.ini"
"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import with tenant groups failed"
ms_daemon_start
[[ $(mode_of "$MS_CACHE_DIR") == "711 root:0" ]] || ms_fail "shared cache dir is $(mode_of "$MS_CACHE_DIR")"
[[ $(mode_of "$(ms_cache_path /ta tenants)") == "711 root:0" ]] || ms_fail "tenants/ is $(mode_of "$(ms_cache_path /ta tenants)")"
[[ $(mode_of "$(ms_cache_path /ta tenant)") == "750 root:$ALPHA_GID" ]] || ms_fail "alpha is $(mode_of "$(ms_cache_path /ta tenant)")"
[[ $(mode_of "$(ms_cache_path /tb tenant)") == "750 root:$BETA_GID" ]] || ms_fail "beta is $(mode_of "$(ms_cache_path /tb tenant)")"
[[ $(stat -c %a "$MS_CACHE_DIR/tmp") == 700 ]] || ms_fail "tmp/ is $(stat -c %a "$MS_CACHE_DIR/tmp")"
[[ $(stat -c %a "$MS_CACHE_DIR/daemon.sock") == 666 ]] || ms_fail "shared socket is $(stat -c %a "$MS_CACHE_DIR/daemon.sock")"
ms_ok "tenant groups: dir 711, tenants 711, alpha 750 root:$ALPHA_GID, beta 750 root:$BETA_GID, tmp 700, socket 666"

# Alpha's process reads alpha's model through the shim.
# shellcheck disable=SC2046 # the env words are split on purpose
as $USER_UID $ALPHA_GID env $(shim_env) timeout -k 5 30 cat /ta/a1.bin >"$T/a1.out" 2>"$T/a1.err" ||
	ms_fail "alpha could not read its own model: $(cat "$T/a1.err")"
cmp -s "$T/a1.out" "$T/src/a/a1.bin" || ms_fail "alpha read wrong bytes"
ms_ok "alpha's process reads /ta/a1.bin through the shim, bytes right"

# Not beta's: through the shim (the file system says no) ...
# shellcheck disable=SC2046
if as $USER_UID $ALPHA_GID env $(shim_env) timeout -k 5 30 cat /tb/b1.bin >"$T/b1.out" 2>"$T/b1.err"; then
	ms_fail "alpha's process read beta's model"
fi
[[ ! -s $T/b1.out ]] || ms_fail "bytes of beta's model reached alpha"
grep -qi "permission denied" "$T/b1.err" || ms_fail "unclear error for beta's model: $(cat "$T/b1.err")"
# ... nor by asking the daemon directly: a hostile client of alpha's group sends the daemon a
# well-formed FILL for beta's object (the protocol version core/proto.h says); the daemon refuses
# and fetches nothing.
cat >"$T/fill.py" <<'EOF'
import socket, struct, sys
mount, key = sys.argv[2].encode(), sys.argv[3].encode()
body = struct.pack("=QQQHHI", 0, 0, 0, len(mount), len(key), 0) + mount + key
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(struct.pack("=HHIQ", @VERSION@, 100, 16 + len(body), 7) + body)
r = s.recv(4096)
ver, typ, ln, rid = struct.unpack_from("=HHIQ", r)
status, mlen = struct.unpack_from("=iI", r, 16)
print(typ, rid, status, r[24:24 + mlen].decode())
EOF
version=$(sed -n 's/^#define MODELSHIM_PROTOCOL_VERSION \([0-9]*\).*/\1/p' "$MS_TOP/core/proto.h")
sed -i "s/@VERSION@/$version/" "$T/fill.py"
as $USER_UID $ALPHA_GID /usr/bin/python3 "$T/fill.py" "$MS_CACHE_DIR/daemon.sock" b b1.bin >"$T/b1.out" 2>&1 ||
	ms_fail "the hostile client failed: $(cat "$T/b1.out")"
grep -q "^200 7 -13 mount b (tenant beta) is not open to uid $USER_UID" "$T/b1.out" ||
	ms_fail "the daemon did not refuse with EACCES: $(cat "$T/b1.out")"
(($(ms_key_stat b/b1.bin count) == 0)) || ms_fail "the daemon fetched beta's object for alpha"
grep -q "refused uid $USER_UID" "$T/daemon.log" || ms_fail "the refusal is not in the daemon log"
ms_ok "alpha cannot read beta's cache nor make the daemon fetch it: $(head -c 160 "$T/b1.out")"

# A user in no tenant's group gets nothing; one in both groups gets both.
as $((USER_UID + 1)) 40099 /usr/bin/python3 "$T/fill.py" "$MS_CACHE_DIR/daemon.sock" a a1.bin >"$T/x.out" 2>&1 ||
	ms_fail "the client of no tenant failed: $(cat "$T/x.out")"
grep -q "^200 7 -13 mount a (tenant alpha) is not open to uid $((USER_UID + 1))" "$T/x.out" ||
	ms_fail "a user of no tenant was not refused: $(cat "$T/x.out")"
# shellcheck disable=SC2046
as $((USER_UID + 2)) 40099,$BETA_GID env $(shim_env) timeout -k 5 30 cat /tb/b1.bin >"$T/b1.out" 2>"$T/b1.err" ||
	ms_fail "a member of beta's group (supplementary) could not read beta's model: $(cat "$T/b1.err")"
cmp -s "$T/b1.out" "$T/src/b/b1.bin" || ms_fail "beta read wrong bytes"
ms_ok "no group: refused; beta as a supplementary group: served, bytes right"

# Alpha's process cannot change its own cache, nor read the daemon's secrets or log.
tree_a=$(ms_cache_path /ta/a1.bin)
if as $USER_UID $ALPHA_GID sh -c "echo x >>'$tree_a'" 2>/dev/null; then ms_fail "alpha wrote its cache file"; fi
if as $USER_UID $ALPHA_GID sh -c "mv '$tree_a' '$tree_a.x'" 2>/dev/null; then ms_fail "alpha renamed its cache file"; fi
if as $USER_UID $ALPHA_GID touch "$(ms_cache_path /ta tenant)/new" 2>/dev/null; then ms_fail "alpha created a file in its tree"; fi
if as $USER_UID $ALPHA_GID cat "$T/credentials" >/dev/null 2>&1; then ms_fail "alpha read the credentials"; fi
if as $USER_UID $ALPHA_GID cat "$MS_CACHE_DIR/daemon.log" >/dev/null 2>&1; then ms_fail "alpha read the daemon log"; fi
if as $USER_UID $ALPHA_GID ls "$MS_CACHE_DIR/tmp" >/dev/null 2>&1; then ms_fail "alpha listed tmp/"; fi
ms_ok "alpha cannot write, rename or create in its tree, nor read the credentials, log or tmp/"

# Eviction of other tenants is the daemon user's: alpha's gc of the node is refused, by the CLI
# (no access to the node's GC lock) and by the daemon (a raw GC message for the whole node).
cached() { ms_status_fields daemon.cached_bytes; }
cached_before=$(cached)
if as $USER_UID $ALPHA_GID "$MS_BIN" gc --config "$T/ms.ini" --target 0 >/dev/null 2>"$T/gc.err"; then
	ms_fail "alpha evicted the node's cache"
fi
grep -q "modelshim gc: .*Permission denied" "$T/gc.err" || ms_fail "unclear gc refusal: $(cat "$T/gc.err")"
cat >"$T/gc.py" <<'EOF'
import socket, struct, sys
tenant = sys.argv[3].encode()
body = struct.pack("=QQIHH", 0, 0, int(sys.argv[2]), len(tenant), 0) + tenant
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(struct.pack("=HHIQ", @VERSION@, 104, 16 + len(body), 9) + body)
r = s.recv(4096)
typ, = struct.unpack_from("=H", r, 2)
status, mlen = struct.unpack_from("=iI", r, 16)
print(typ, status, r[56:56 + mlen].decode())
EOF
sed -i "s/@VERSION@/$version/" "$T/gc.py"
for mode in "0 alpha" "1 beta" "2 alpha"; do
	# shellcheck disable=SC2086 # mode and tenant as two words
	as $USER_UID $ALPHA_GID /usr/bin/python3 "$T/gc.py" "$MS_CACHE_DIR/daemon.sock" $mode >"$T/gc.out" 2>&1 ||
		ms_fail "the raw gc client failed: $(cat "$T/gc.out")"
	grep -q "^202 -13 gc of .* is not open to uid $USER_UID" "$T/gc.out" || ms_fail "gc $mode not refused: $(cat "$T/gc.out")"
done
cached_after=$(cached)
((cached_after == cached_before && cached_before > 0)) || ms_fail "cache went from $cached_before to $cached_after bytes"
ms_ok "alpha's gc of the node, of beta and before its own start refused: $(cat "$T/gc.out"); $cached_after bytes still cached"
# Its own share it may trim.
as $USER_UID $ALPHA_GID /usr/bin/python3 "$T/gc.py" "$MS_CACHE_DIR/daemon.sock" 1 alpha >"$T/gc.out" 2>&1 ||
	ms_fail "the raw gc client failed: $(cat "$T/gc.out")"
grep -q "^202 0 " "$T/gc.out" || ms_fail "alpha could not trim its own share: $(cat "$T/gc.out")"
cmp -s <("$MS_BIN" cat --config "$T/ms.ini" /tb/b1.bin) "$T/src/b/b1.bin" || ms_fail "beta's model damaged"
ms_ok "alpha may trim its own share; beta's model intact"

# Bad input: a group id that is not a number gives file:line and key.
sed "s/^gid = $BETA_GID/gid = staff/" "$T/ms.ini" >"$T/bad.ini"
if "$MS_BIN" status --config "$T/bad.ini" 2>"$T/bad.err"; then ms_fail "gid = staff accepted"; fi
grep -q 'bad.ini:[0-9]*: \[tenant "beta"\] gid: .staff. is not a numeric group id' "$T/bad.err" ||
	ms_fail "unclear error: $(cat "$T/bad.err")"
ms_ok "non-numeric gid refused: $(cat "$T/bad.err")"
