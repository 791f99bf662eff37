#!/usr/bin/env bash
# t-tier: a cluster cache tier of two nginx nodes on loopback, configured by `modelshim
# tier-config` from the daemons' own config, in front of the SigV4-checking S3 front. Three
# nodes (three daemons, three cache dirs) cold-read one model: the origin sends it about once
# (every daemon asks each aligned block of the same tier node), every node gets the right bytes;
# a node whose credentials may not read the model gets nothing from the tier; a node waiting on a
# block another node is filling from a slow origin waits for the hit (the tier's timeout, not the
# cache's); with one tier node killed, another node still reads right (the next node, then the
# origin);
# the generated config refuses requests without If-Match, with several ranges or for another
# origin, and nginx -t accepts it.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
command -v nginx >/dev/null || ms_fail "nginx is not installed (scripts/setup installs it)"

export MS_CHUNK=1M
size=$((24 * 1048576 + 4321)) # 7 blocks of 4 MiB, the last one short
ms_start_s3
mkdir -p "$T/src"
head -c $size /dev/urandom >"$T/src/model.bin"
ms_put "$T/src"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
p1=$(free_port)
p2=$(free_port)

# node_config NAME [CACHE-LINE]: the config of node NAME (its own cache dir, CACHE-LINE added to
# [cache]), with tier t1 on mount "models".
node_config() {
	ms_write_config "$T/$1.ini"
	sed -i "s|^dir = .*|dir = $T/cache-$1|" "$T/$1.ini"
	[[ -z ${2:-} ]] || sed -i "/^dir = /a $2" "$T/$1.ini"
	printf 'tier = t1\n\n[tier "t1"]\nnodes = 127.0.0.1:%s 127.0.0.1:%s\nblock = 4M\nallow = 127.0.0.0/8\n' \
		"$p1" "$p2" >>"$T/$1.ini"
}
node_config a

# The tier's nodes: nginx in the foreground, tracked by PID.
declare -A tier_pid
for n in 1 2; do
	port=p$n
	mkdir -p "$T/tier$n/tmp"
	"$MS_BIN" tier-config --config "$T/a.ini" t1 --listen "127.0.0.1:${!port}" --dir "$T/tier$n" \
		--user root >"$T/tier$n.conf" || ms_fail "tier-config failed"
	nginx -t -q -p "$T/tier$n" -c "$T/tier$n.conf" 2>"$T/nginx-t.err" || ms_fail "nginx -t refuses the generated config: $(cat "$T/nginx-t.err")"
	# Its output goes to a file: a process left holding the test's stdout would hold ctest too.
	nginx -p "$T/tier$n" -c "$T/tier$n.conf" >>"$T/nginx.log" 2>&1 </dev/null &
	tier_pid[$n]=$!
	ms_track_pid "${tier_pid[$n]}"
done
for ((i = 0; i < 100; i++)); do
	curl -s -o /dev/null "http://127.0.0.1:$p1/" && curl -s -o /dev/null "http://127.0.0.1:$p2/" && break
	sleep 0.1
done
((i < 100)) || ms_fail "the tier's nginx did not start: $(tail -n 5 "$T/nginx.log")"
# nginx's workers are ours too: tracked by PID, so that they are stopped even if a master is not.
for n in 1 2; do
	for w in $(pgrep -P "${tier_pid[$n]}"); do ms_track_pid "$w"; done
done
ms_ok "nginx -t accepts the config tier-config wrote; two tier nodes serve"

# What the generated config refuses (plain curl: no signature needed to be refused).
origin_host=${FRONT_ENDPOINT#http://}
code() { curl -s -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$p1/models/model.bin"; }
[[ $(code -H "Host: $origin_host" -H 'Range: bytes=0-9') == 428 ]] || ms_fail "a request without If-Match was not refused (428)"
[[ $(code -H "Host: $origin_host" -H 'If-Match: "x"' -H 'Range: bytes=0-9,20-29') == 416 ]] || ms_fail "a request for two ranges was not refused (416)"
[[ $(code -H "Host: 203.0.113.9:80" -H 'If-Match: "x"' -H 'Range: bytes=0-9') == 421 ]] || ms_fail "a request for another origin was not refused (421)"
ms_ok "the tier refuses requests without If-Match (428), with several ranges (416), for another origin (421)"

# read_on NAME [CACHE-LINE]: a fresh node: its daemon, its cache, the model read in full and checked.
read_on() {
	node_config "$1" "${2:-}"
	"$MS_BIN" import -q --config "$T/$1.ini" || ms_fail "import on $1 failed"
	MS_CONFIG=$T/$1.ini MS_CACHE_DIR=$T/cache-$1 ms_daemon_start
	"$MS_BIN" cat --config "$T/$1.ini" /models/model.bin >"$T/out-$1" 2>"$T/cat-$1.err" ||
		ms_fail "node $1: reading the model failed: $(head -c 300 "$T/cat-$1.err")"
	cmp -s "$T/out-$1" "$T/src/model.bin" || ms_fail "node $1: $(ms_why_differs "$T/out-$1" "$T/src/model.bin")"
	rm -f "$T/out-$1"
}
ms_front_reset
for n in a b c; do read_on $n; done
origin=$(ms_key_stat model.bin bytes)
((origin >= size)) || ms_fail "the origin sent $origin bytes, less than the model ($size): counters broken?"
((origin * 100 <= size * 105)) || ms_fail "three nodes made the origin send $origin bytes for a $size-byte model (more than 1.05x)"
hits=$(cat "$T"/tier[12]/access.log | grep -c ' HIT ' || true)
((hits > 0)) || ms_fail "no tier hit in the access logs"
ms_ok "three nodes read the model right; the origin sent $origin bytes for $size ($hits tier hits)"
# tier NAME FIELD [NODE]: FIELD of node NAME's daemon's view of the tier (status --json), summed
# over the tier's nodes, or of tier node NODE (0 or 1) alone.
tier() {
	"$MS_BIN" status --json --config "$T/$1.ini" | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["daemon"]["tier_nodes"]
assert len(nodes) == 2, nodes
pick = nodes if len(sys.argv) < 3 else [nodes[int(sys.argv[2])]]
print(sum(int(n[sys.argv[1]]) for n in pick))' "${@:2}"
}
blocks=$(((size + 4194303) / 4194304))
(($(tier a misses) == blocks && $(tier a hits) == 0)) || ms_fail "node a (first): $(tier a misses) misses, $(tier a hits) hits, not $blocks and 0"
(($(tier c hits) == blocks && $(tier c misses) == 0)) || ms_fail "node c (last): $(tier c hits) hits, $(tier c misses) misses, not $blocks and 0"
(($(tier c bytes) >= size)) || ms_fail "node c counted $(tier c bytes) tier bytes for a $size-byte model"
ms_ok "status --json: node a missed all $blocks blocks in the tier, node c hit all $blocks"

# A slow origin: a node waiting on a block another node's request is filling (nginx's
# proxy_cache_lock holds it, no byte comes) waits past its [cache] timeout (2 s here) up to the
# tier's timeout (2m), then takes the hit: no second node, no second origin fetch.
mkdir -p "$T/slow"
head -c $((4 * 1048576)) /dev/urandom >"$T/slow/slow.bin"
ms_put "$T/slow"
for n in g1 g2; do
	node_config $n "timeout = 2s"
	"$MS_BIN" import -q --config "$T/$n.ini" || ms_fail "import on $n failed"
	MS_CONFIG=$T/$n.ini MS_CACHE_DIR=$T/cache-$n ms_daemon_start
done
ms_front_reset
ms_front_config '{"rate": 524288}' # 8 s for the block
"$MS_BIN" cat --config "$T/g1.ini" /models/slow.bin >"$T/out-g1" 2>"$T/cat-g1.err" &
g1=$!
ms_track_pid "$g1"
for ((i = 0; i < 100; i++)); do (($(ms_key_stat slow.bin bytes) > 65536)) && break; sleep 0.1; done
ms_alive "$g1" || ms_fail "node g1's read of slow.bin ended before node g2's began: the wait tested nothing"
"$MS_BIN" cat --config "$T/g2.ini" /models/slow.bin >"$T/out-g2" 2>"$T/cat-g2.err" ||
	ms_fail "node g2: reading slow.bin failed: $(head -c 300 "$T/cat-g2.err")"
wait "$g1" || ms_fail "node g1: reading slow.bin failed: $(head -c 300 "$T/cat-g1.err")"
ms_untrack_pid "$g1"
ms_front_config '{"rate": 0}'
for n in g1 g2; do cmp -s "$T/out-$n" "$T/slow/slow.bin" || ms_fail "node $n: $(ms_why_differs "$T/out-$n" "$T/slow/slow.bin")"; done
(($(tier g2 failures) == 0 && $(tier g2 hits) == 1)) || ms_fail "node g2 waiting on the lock: $(tier g2 failures) tier failures, $(tier g2 hits) hits, want 0 and 1"
origin=$(ms_key_stat slow.bin bytes)
((origin < 4 * 1048576 + 64)) || ms_fail "the origin sent $origin bytes of the 4 MiB slow.bin: more than once (plus the 1-byte proofs)"
ms_ok "a node waiting 8 s on a block another node fills (its [cache] timeout 2 s) takes the tier's hit: the origin sent it once ($origin bytes)"

# A tier hit checks no signature: a node whose credentials may not read the object must get
# nothing from the tier (it asks the origin first, with its own signature, and is refused).
node_config e
"$MS_BIN" import -q --config "$T/e.ini" || ms_fail "import on e failed"
(
	umask 077
	printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = NOT-THE-SECRET\n' >"$T/bad-credentials"
)
sed -i "s|^credentials = .*|credentials = $T/bad-credentials|" "$T/e.ini"
asked=$(cat "$T"/tier[12]/access.log | wc -l)
MS_CONFIG=$T/e.ini MS_CACHE_DIR=$T/cache-e ms_daemon_start
if "$MS_BIN" cat --config "$T/e.ini" /models/model.bin >"$T/out-e" 2>"$T/cat-e.err"; then
	ms_fail "a node with a wrong secret read the model"
fi
[[ ! -s $T/out-e ]] || ms_fail "a node with a wrong secret got $(stat -c %s "$T/out-e") bytes"
grep -q "may not read it" "$T/cat-e.err" || ms_fail "the refusal does not say why: $(head -c 300 "$T/cat-e.err")"
(($(cat "$T"/tier[12]/access.log | wc -l) == asked)) || ms_fail "a node with a wrong secret sent requests to the tier"
ms_ok "a node whose credentials may not read the object gets nothing from the tier: $(head -c 200 "$T/cat-e.err")"

# One tier node dies: its blocks go to the other node or the origin, never a wrong byte.
# The master first (else it starts new workers), then the workers it had, by PID.
workers=$(pgrep -P "${tier_pid[1]}") || ms_fail "tier node 1 has no worker to kill"
kill -KILL "${tier_pid[1]}"
ms_wait_gone "${tier_pid[1]}" 50 || ms_fail "nginx survived SIGKILL"
ms_untrack_pid "${tier_pid[1]}"
for w in $workers; do
	kill -KILL "$w" 2>/dev/null || true
	ms_wait_gone "$w" 50 || ms_fail "an nginx worker survived SIGKILL"
done
pm=$(free_port)
read_on d "metrics = 127.0.0.1:$pm"
(($(tier d failures 0) >= 1 && $(tier d down 0) == 1)) ||
	ms_fail "node d's status does not show tier node 1 failed and down: $(tier d failures 0) failures, down $(tier d down 0)"
ms_ok "with tier node 1 killed, a fourth node still reads the model right; its status shows the node down"
curl -sf "http://127.0.0.1:$pm/metrics" >"$T/scrape" || ms_fail "no metrics from node d"
grep -qx "modelshim_tier_node_up{tier=\"t1\",node=\"127.0.0.1:$p1\"} 0" "$T/scrape" ||
	ms_fail "the metrics do not show tier node 1 down: $(grep tier_node_up "$T/scrape")"
grep -qx "modelshim_tier_node_up{tier=\"t1\",node=\"127.0.0.1:$p2\"} 1" "$T/scrape" ||
	ms_fail "the metrics do not show tier node 2 up: $(grep tier_node_up "$T/scrape")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/scrape" >"$T/promtool.out" 2>&1 || ms_fail "promtool: $(head -c 300 "$T/promtool.out")"
fi
ms_ok "node d's metrics show tier node 1 down, node 2 up$(command -v promtool >/dev/null && echo '; promtool check metrics passes')"
ms_done
