#!/usr/bin/env bash
# t-namespace-snapshot: the namespace once per cluster. One node lists the bucket and publishes
# the listing (`import --publish`, a PUT of namespace_snapshot); other nodes import from it with
# no listing at all, through a two-node nginx tier (the second node's copy is a tier hit), and get
# the same namespace and the right bytes. The snapshot is never a file of the mount. A snapshot
# older than namespace_snapshot_max_age, missing, or that does not parse is said on stderr and
# the bucket is listed instead (the namespace comes out right); an object replaced after the
# snapshot never gives old or mixed bytes, and a new publish brings it back; credentials that may
# not read the bucket get nothing, from the tier or the origin; --publish without a snapshot key
# is refused with a clear error; the snapshot's path is no file of the mount, by import or lookup.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ms_need_shim
command -v nginx >/dev/null || ms_fail "nginx is not installed (scripts/setup installs it)"

snap=.modelshim/namespace.xml
ms_start_s3
for d in 1 2 3 4 5 6; do
	for f in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		printf 'lora %s/%s\n' "$d" "$f" >"$(mkdir -p "$T/src/lora$d" && echo "$T/src/lora$d/a$f.txt")"
	done
done
ms_random "$T/src/model.bin" $((3 * 1048576 + 99))
ms_put "$T/src"
ms_front_config '{"list_page":25}' # 121 objects: 5 pages a listing
p1=$(ms_free_port)
p2=$(ms_free_port)
node_cfg() { # node NAME: its config (own cache dir, the tier, the snapshot key)
	ms_tier_node_config "$1" t1 1M "$p1" "$p2"
	mount_set namespace_snapshot "$snap"
}
mount_set() { # mount_set KEY VALUE: in [mount "models"], which ms_tier_node_config put before [tier]
	sed -i "/^$1 = /d; /^\[mount \"models\"\]/a $1 = $2" "$MS_CONFIG"
}
node_cfg pub
ms_tier_start "$T/pub.ini" t1 "$p1" "$p2"

# --publish without a snapshot key: refused, nothing put.
ms_write_config "$T/plain.ini"
ms_front_reset
"$MS_BIN" import --publish --config "$T/plain.ini" >"$T/out" 2>"$T/err" && ms_fail "--publish without namespace_snapshot succeeded"
grep -q "needs namespace_snapshot" "$T/err" || ms_fail "--publish without a key: $(cat "$T/err")"
(($(ms_stat methods.PUT) == 0)) || ms_fail "--publish without a key put something"
ms_ok "--publish without namespace_snapshot: a clear error, nothing put"

# The publisher lists and puts the snapshot.
node_cfg pub
ms_front_reset
"$MS_BIN" import --publish --config "$T/pub.ini" >"$T/out" 2>"$T/err" || ms_fail "import --publish: $(cat "$T/err")"
grep -q "121 objects .*published as the snapshot $snap" "$T/out" || ms_fail "import --publish said: $(cat "$T/out")"
(($(ms_stat methods.PUT) == 1)) || ms_fail "$(ms_stat methods.PUT) PUTs for one publish"
(($(ms_stat listings) >= 5)) || ms_fail "the publisher listed $(ms_stat listings) pages, want 5"
ms_tree_list >"$T/tree.pub"
grep -q "modelshim" "$T/tree.pub" && ms_fail "the snapshot became a file of the mount"
ms_ok "import --publish: 121 objects listed (5 pages), the snapshot put once, not a file of the mount"

# Node b imports from it: no listing, the same namespace, the right bytes.
node_cfg b
ms_front_reset
"$MS_BIN" import --config "$T/b.ini" >"$T/out" 2>"$T/err" || ms_fail "import from the snapshot: $(cat "$T/err")"
grep -q "121 objects .*from the snapshot $snap" "$T/out" || ms_fail "node b's import said: $(cat "$T/out") $(cat "$T/err")"
(($(ms_stat listings) == 0)) || ms_fail "node b listed $(ms_stat listings) pages although a snapshot was there"
ms_tree_list >"$T/tree.b"
cmp -s "$T/tree.pub" "$T/tree.b" || ms_fail "node b's namespace differs: $(diff "$T/tree.pub" "$T/tree.b" | head -5)"
ms_daemon_start
ms_shim sha256sum /models/model.bin /models/lora3/a7.txt >"$T/sums" 2>"$T/err" || ms_fail "reads on node b: $(cat "$T/err")"
[[ $(sed -n 1p "$T/sums" | cut -d' ' -f1) == "$(ms_sha "$T/src/model.bin")" ]] || ms_fail "node b: wrong bytes for model.bin"
[[ $(sed -n 2p "$T/sums" | cut -d' ' -f1) == "$(ms_sha "$T/src/lora3/a7.txt")" ]] || ms_fail "node b: wrong bytes for lora3/a7.txt"
ms_daemon_stop
ms_ok "node b: the namespace from the snapshot (0 listings), identical to the publisher's, right bytes"

# Node c: the snapshot's block comes from the tier's cache, not the origin.
node_cfg c
ms_front_reset
"$MS_BIN" import --config "$T/c.ini" >"$T/out" 2>"$T/err" || ms_fail "node c's import: $(cat "$T/err")"
grep -q "from the snapshot .* 1 tier hits" "$T/out" || ms_fail "node c's import said: $(cat "$T/out")"
(($(ms_key_stat "$snap" count) == 0)) || ms_fail "node c fetched the snapshot from the origin ($(ms_key_stat "$snap" count) GETs)"
(($(ms_stat listings) == 0)) || ms_fail "node c listed"
ms_ok "node c: the snapshot from the tier's cache: 0 GETs and 0 listings at the origin (one HEAD)"

# Too old: listed instead, said on stderr.
mount_set namespace_snapshot_max_age 1s
sleep 2.2
ms_front_reset
"$MS_BIN" import --config "$T/c.ini" >"$T/out" 2>"$T/err" || ms_fail "import past max age: $(cat "$T/err")"
grep -q "no snapshot to take: .* is older .*listing the bucket instead" "$T/err" || ms_fail "past max age stderr: $(cat "$T/err")"
(($(ms_stat listings) >= 5)) || ms_fail "past max age, $(ms_stat listings) listings"
mount_set namespace_snapshot_max_age 15m
ms_ok "a snapshot older than namespace_snapshot_max_age: said, and the bucket listed"

# An object replaced after the snapshot: node d (from the old snapshot) never reads old or mixed
# bytes; after a new publish it reads the new ones.
ms_random "$T/v2/model.bin" $((3 * 1048576 + 99))
ms_put "$T/v2"
node_cfg d
"$MS_BIN" import -q --config "$T/d.ini" 2>"$T/err" || ms_fail "node d's import: $(cat "$T/err")"
ms_daemon_start
if ms_shim cat /models/model.bin >"$T/got" 2>"$T/err"; then
	ms_fail "node d read model.bin, replaced after the snapshot, without an error"
fi
ms_is_prefix "$T/got" "$T/v2/model.bin" || ms_is_prefix "$T/got" "$T/src/model.bin" ||
	ms_fail "node d: the bytes read before the error are neither version's"
ms_daemon_stop
"$MS_BIN" import -q --publish --config "$T/pub.ini" 2>"$T/err" || ms_fail "republish: $(cat "$T/err")"
"$MS_BIN" import --config "$T/d.ini" >"$T/out" 2>"$T/err" || ms_fail "node d's import: $(cat "$T/err")"
grep -q "from the snapshot" "$T/out" || ms_fail "node d after the republish: $(cat "$T/out")"
ms_daemon_start
ms_shim sha256sum /models/model.bin >"$T/sums" 2>"$T/err" || ms_fail "node d after the republish: $(cat "$T/err")"
[[ $(cut -d' ' -f1 "$T/sums") == "$(ms_sha "$T/v2/model.bin")" ]] || ms_fail "node d: wrong bytes after the republish"
ms_daemon_stop
ms_ok "an object replaced after the snapshot: an error, never old or mixed bytes; right after a republish"

# A snapshot that does not parse: said, the bucket listed, the namespace right.
mkdir -p "$T/bad/.modelshim"
printf '<ListBucketResult><Contents><Key>x</Key><Size>12' >"$T/bad/$snap"
ms_put "$T/bad"
node_cfg e
ms_front_reset
"$MS_BIN" import --config "$T/e.ini" >"$T/out" 2>"$T/err" || ms_fail "import with a bad snapshot: $(cat "$T/err")"
grep -q "snapshot $snap of s3://models/: .*listing the bucket instead" "$T/err" || ms_fail "a bad snapshot: $(cat "$T/err")"
(($(ms_stat listings) >= 5)) || ms_fail "with a bad snapshot, $(ms_stat listings) listings"
ms_tree_list >"$T/tree.e"
grep -q "lora3/a7.txt" "$T/tree.e" && grep -q "model.bin" "$T/tree.e" || ms_fail "node e's namespace is incomplete"
grep -q "modelshim" "$T/tree.e" && ms_fail "the snapshot key became a file of the mount"
ms_ok "a snapshot that does not parse: said on stderr, the bucket listed, the namespace right"

# Credentials that may not read the bucket: no bytes, from the tier or anywhere.
"$MS_BIN" import -q --publish --config "$T/pub.ini" 2>"$T/err" || ms_fail "republish: $(cat "$T/err")"
node_cfg f
"$MS_BIN" import -q --config "$T/f.ini" 2>"$T/err" || ms_fail "node f's import: $(cat "$T/err")"
ms_tree_list >"$T/tree.f.before"
ms_cred_set aws_secret_access_key wrong-secret
hits_before=$(cat "$T"/tier-*/access.log | wc -l)
"$MS_BIN" import --config "$T/f.ini" >"$T/out" 2>"$T/err" && ms_fail "an import with a wrong secret succeeded"
grep -q "access denied" "$T/err" || ms_fail "a wrong secret: $(cat "$T/err")"
(($(cat "$T"/tier-*/access.log | wc -l) == hits_before)) || ms_fail "an import with a wrong secret asked the tier"
ms_tree_list >"$T/tree.f.after"
cmp -s "$T/tree.f.before" "$T/tree.f.after" || ms_fail "a refused import changed the namespace"
ms_ok "a wrong secret: access denied, nothing asked of the tier, the namespace untouched"

# The snapshot is not a file by lookup either (a name missing from the namespace is asked of the
# store, but never the snapshot's).
ms_cred_set aws_secret_access_key S3RVER
"$MS_BIN" import -q --config "$T/pub.ini" 2>"$T/err" || ms_fail "import on the publisher: $(cat "$T/err")"
MS_CONFIG=$T/pub.ini MS_CACHE_DIR=$T/cache-pub ms_daemon_start
ms_front_reset
ms_shim stat "/models/$snap" >/dev/null 2>"$T/err" && ms_fail "the snapshot is visible as /models/$snap"
grep -q "No such file" "$T/err" || ms_fail "stat of the snapshot's path: $(cat "$T/err")"
(($(ms_stat methods.HEAD) == 0)) || ms_fail "a lookup of the snapshot's path asked the store"
ms_daemon_stop
ms_ok "the snapshot's own path is no file, and a lookup of it asks nothing"
