#!/usr/bin/env bash
# bench/namespace-snapshot.sh [BUILD_DIR] [OBJECTS]: node start (`modelshim import`) of a mount of
# OBJECTS small objects (default 5000) on the loopback S3 pair with 30 ms per request at the front
# (the WAN's round trip), side by side in one run: each node listing the bucket itself, against
# nodes taking the namespace snapshot one node published (`import --publish`), from the origin
# and through a one-node nginx tier (a cache hit after the first node). Prints the wall time of
# each (median of 3 fresh nodes), of one node's import again (the namespace unchanged: mostly
# the cost of getting the listing) and the requests each start sent the origin.
# Uses tests/lib.sh for the S3 pair, configs and nginx (all under a temp dir, stopped by PID).
set -euo pipefail
build=$(cd "${1:-$(dirname "$0")/../build}" && pwd)
objects=${2:-5000}
export MS_BIN=$build/modelshim MS_PRELOAD=$build/libmodelshim.so
export MS_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$MS_TOP/tests/lib.sh"
command -v nginx >/dev/null || ms_fail "nginx is not installed (scripts/setup installs it)"
ms_start_s3
python3 - "$T/src" "$objects" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "loras", "team%02d" % (i % 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "adapter-%05d.safetensors" % i), "w") as f:
        f.write("x" * (i % 97))
PY
ms_put "$T/src"
port=$(ms_free_port)
cfg() { # cfg NAME [tier]: a node's config with the snapshot key, and the tier when asked
	ms_tier_node_config "$1" t1 16M "$port"
	[[ -n ${2:-} ]] || sed -i '/^tier = t1$/d' "$MS_CONFIG"
	sed -i '/^\[mount "models"\]/a namespace_snapshot = .modelshim/namespace.xml' "$MS_CONFIG"
}
cfg pub tier
ms_tier_start "$T/pub.ini" t1 "$port"
ms_front_config '{"delay_ms":30}'
"$MS_BIN" import -q --publish --config "$T/pub.ini" || ms_fail "import --publish failed"
# start WHAT ARG...: three fresh nodes, the median wall time and the origin's requests per node;
# then the last node again (its namespace unchanged: the cost of getting the listing, mostly).
start() {
	local what=$1 i t list=() reqs
	shift
	ms_front_reset
	for i in 1 2 3; do
		"$@" "$what$i"
		t=$( { /usr/bin/time -f %e "$MS_BIN" import -q --config "$MS_CONFIG" 2>&1 >/dev/null; } | tail -n 1)
		list+=("$t")
	done
	reqs=$(( $(ms_stat requests) / 3 ))
	again=$( { /usr/bin/time -f %e "$MS_BIN" import -q --config "$MS_CONFIG" 2>&1 >/dev/null; } | tail -n 1)
	printf '%-34s %6.2f s (again: %5.2f s)  %4d origin requests a node\n' "$what" \
		"$(printf '%s\n' "${list[@]}" | sort -n | sed -n 2p)" "$again" "$reqs"
}
echo "node start, $objects objects, 30 ms a request at the origin (median of 3 nodes):"
list_cfg() { cfg "$1"; sed -i '/^namespace_snapshot = /d' "$MS_CONFIG"; }
start "listing the bucket" list_cfg
start "the snapshot from the origin" cfg
tier_cfg() { cfg "$1" tier; }
start "the snapshot through the tier" tier_cfg
