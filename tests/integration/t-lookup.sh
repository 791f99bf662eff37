#!/usr/bin/env bash
# t-lookup: a name missing from the imported namespace is asked of the store once (a HEAD by the
# daemon): an object uploaded after the import reads by name (stat, cat, sha256sum under the
# shim) with the right bytes, without a re-import; a missing name is ENOENT with one HEAD for
# repeated lookups within [cache] lookup_ttl (across processes: the daemon remembers it) and
# another HEAD after it; names no listing could hold (control bytes, an overlong component) are
# never asked; with lookup = off nothing is asked.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim

ms_start_s3
ms_random "$T/src/base.bin" 3000
ms_import_src "lookup_ttl = 60s"
ms_daemon_start
heads() { ms_stat methods.HEAD; }

# Uploaded after the import: readable by name, right bytes, one HEAD.
ms_random "$T/late/lora/new.bin" $((2 * 1048576 + 17))
ms_put "$T/late"
ms_front_reset
ms_shim stat -c %s /models/lora/new.bin >"$T/size" 2>"$T/err" || ms_fail "stat of an object uploaded after the import: $(cat "$T/err")"
[[ $(cat "$T/size") == $((2 * 1048576 + 17)) ]] || ms_fail "stat says $(cat "$T/size") bytes"
ms_shim sha256sum /models/lora/new.bin >"$T/sum" 2>"$T/err" || ms_fail "sha256sum: $(cat "$T/err")"
[[ $(cut -d' ' -f1 "$T/sum") == "$(ms_sha "$T/late/lora/new.bin")" ]] || ms_fail "wrong bytes for lora/new.bin"
(($(heads) == 1)) || ms_fail "$(heads) HEADs for one new object, want 1"
ms_ok "an object uploaded after the import: stat and sha256sum under the shim read it right, after 1 HEAD"
# cat through the shim of another late object: open finds it too.
ms_random "$T/late2/other.txt" 5000
ms_put "$T/late2"
ms_shim cat /models/other.txt >"$T/out" 2>"$T/err" || ms_fail "cat of a late object: $(cat "$T/err")"
cmp -s "$T/out" "$T/late2/other.txt" || ms_fail "cat: $(ms_why_differs "$T/out" "$T/late2/other.txt")"
ms_ok "cat (open) of another object uploaded after the import reads it right"

# A missing name: ENOENT, one HEAD within the TTL however many processes ask, another after it.
ms_front_reset
for i in 1 2 3; do
	if ms_shim stat /models/lora/absent.bin >/dev/null 2>"$T/err"; then ms_fail "stat of a missing name succeeded"; fi
	grep -q "No such file or directory" "$T/err" || ms_fail "stat of a missing name: $(cat "$T/err")"
done
ms_shim python3 -c '
import os, sys
for _ in range(100):
    assert not os.path.exists("/models/lora/absent.bin")
try:
    open("/models/lora/absent.bin", "rb")
    sys.exit("opened a missing name")
except FileNotFoundError:
    pass' || ms_fail "python saw a missing name"
(($(heads) == 1)) || ms_fail "$(heads) HEADs for a missing name asked 3 + 101 times within the TTL, want 1"
ms_ok "a missing name: ENOENT, 1 HEAD for 104 lookups by 4 processes within lookup_ttl"

# Names no listing could hold: never asked.
ms_front_reset
ms_shim stat "$(printf '/models/bad\001name')" >/dev/null 2>&1 && ms_fail "a name with a control byte exists"
long=$(printf 'x%.0s' {1..300})
ms_shim stat "/models/$long" >/dev/null 2>"$T/err" && ms_fail "an overlong name exists"
grep -q "name too long" "$T/err" || ms_fail "an overlong name: $(cat "$T/err")"
ms_shim stat /models/a/../../etc/passwd >/dev/null 2>&1 || true
(($(heads) == 0)) || ms_fail "$(heads) HEADs for names no listing could hold"
ms_ok "names with control bytes or overlong components are refused without a HEAD"

# Past lookup_ttl the store is asked again (a sleep longer than the TTL: no race to lose).
ms_daemon_stop
sed -i 's/^lookup_ttl = .*/lookup_ttl = 1s/' "$MS_CONFIG"
ms_daemon_start
ms_front_reset
ms_shim stat /models/lora/absent.bin >/dev/null 2>&1 && ms_fail "stat of a missing name succeeded"
sleep 1.5
ms_shim stat /models/lora/absent.bin >/dev/null 2>&1 && ms_fail "stat of a missing name succeeded"
(($(heads) == 2)) || ms_fail "$(heads) HEADs for two lookups 1.5 s apart with lookup_ttl = 1s, want 2"
ms_ok "past lookup_ttl a missing name is asked of the store again"

# lookup = off: nothing asked, a late object stays invisible until an import.
ms_daemon_stop
sed -i '/^lookup_ttl = /a lookup = off' "$MS_CONFIG"
ms_random "$T/late3/off.bin" 100
ms_put "$T/late3"
ms_daemon_start
ms_front_reset
ms_shim stat /models/off.bin >/dev/null 2>&1 && ms_fail "with lookup = off a late object was found"
(($(heads) == 0)) || ms_fail "with lookup = off, $(heads) HEADs"
ms_ok "with lookup = off no HEAD is sent and a late object waits for the next import"
