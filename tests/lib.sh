# shellcheck shell=bash
# tests/lib.sh: sourced by integration tests. Owns the per-test temp dir $T, the loopback S3 pair
# (scripts/s3-server), the test's modelshim config and daemon, and cleanup of all of them at exit.
# It must never kill a process it was not given (ms_track_pid) or started, never touch anything
# outside $T, and never wait without a bound. Works under `set -euo pipefail`.

MS_TOP=${MS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export MS_TOP
MS_BIN=${MS_BIN:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/ms-test.XXXXXX")
export T
MS_PIDS=()
MS_S3_DIR=
MS_DAEMON_PID=
export MS_DAEMON_RC= # exit status of the daemon after ms_daemon_stop

ms_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ms_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# ms_ok MSG: one line per passed check.
ms_ok() {
	echo "ok: $*"
}

# ms_proc_start PID: when PID started (field 22 of /proc/PID/stat), or nothing. PIDs wrap
# quickly here (pid_max 32768): a PID is only ever signalled if it is still the process we saw.
ms_proc_start() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $st
	echo "${20}"
}

# ms_track_pid PID: PID (with its start time) is stopped at exit if it still runs.
ms_track_pid() {
	MS_PIDS+=("$1:$(ms_proc_start "$1")")
}

ms_untrack_pid() {
	local -a keep=()
	local p
	for p in "${MS_PIDS[@]}"; do
		[[ ${p%%:*} == "$1" ]] || keep+=("$p")
	done
	MS_PIDS=("${keep[@]}")
}

# ms_alive PID: running and not a zombie (an orphan's zombie lingers until init reaps it).
ms_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[[ ${st:0:1} != Z ]]
}

# ms_wait_gone PID TENTHS: true once PID has exited, checking for at most TENTHS/10 s.
ms_wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		ms_alive "$1" || return 0
		sleep 0.1
	done
	! ms_alive "$1"
}

ms_cleanup() {
	local rc=$? p
	set +e
	# A daemon that a client started on its own is known by its pid file (if it is a daemon).
	if [[ -n ${MS_CACHE_DIR:-} ]]; then
		p=$(ms_daemon_pid)
		[[ -z $p ]] || ms_track_pid "$p"
	fi
	local -a live=()
	for p in "${MS_PIDS[@]}"; do
		[[ $(ms_proc_start "${p%%:*}") == "${p#*:}" ]] || continue
		live+=("${p%%:*}")
		kill -TERM "${p%%:*}" 2>/dev/null
	done
	for p in "${live[@]}"; do
		ms_wait_gone "$p" 50 || kill -KILL "$p" 2>/dev/null
	done
	if [[ -n $MS_S3_DIR ]]; then
		"$MS_TOP/scripts/s3-server" stop "$MS_S3_DIR"
	fi
	if [[ -n ${MS_KEEP:-} ]]; then
		echo "kept test dir $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap ms_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ms_start_s3 [BUCKET...]: starts s3rver + front under $T/s3 and exports s3.env
# (S3_PORT FRONT_PORT S3_PID FRONT_PID S3_ENDPOINT FRONT_ENDPOINT).
ms_start_s3() {
	local -a args=()
	local b
	(($#)) || set -- models
	for b in "$@"; do
		args+=(--bucket "$b")
	done
	MS_S3_DIR=$T/s3
	"$MS_TOP/scripts/s3-server" start "$MS_S3_DIR" "${args[@]}" || ms_fail "s3-server start failed"
	set -a
	# shellcheck disable=SC1091
	. "$MS_S3_DIR/s3.env"
	set +a
}

# ms_put SRC_DIR [PREFIX]: uploads a tree into bucket models, straight to s3rver.
ms_put() {
	node "$MS_TOP/tests/s3/put.js" "$S3_ENDPOINT" models "$1" "${2:-}" >>"$T/put.log" ||
		ms_fail "ms_put $1 ${2:-}: upload failed"
}

# ms_delete KEY...: deletes keys from bucket models, straight to s3rver.
ms_delete() {
	node "$MS_TOP/tests/s3/put.js" --delete "$S3_ENDPOINT" models "$@" >>"$T/put.log" ||
		ms_fail "ms_delete $*: failed"
}

# ms_stats: the front's counters as JSON:
# {"requests","methods":{METHOD:n},"rejected","get_bytes","injected","keys":{KEY:{"count","bytes"}},"config"}
# (and, since issue 17, "listings": ListObjectsV2 requests, "virtual_hosted": requests addressed
# as BUCKET.localhost)
ms_stats() {
	curl -sf "$FRONT_ENDPOINT/__front/stats" || ms_fail "front stats unavailable"
}

# ms_stat FIELD: one number from the stats, FIELD a dotted path (rejected, get_bytes, methods.GET);
# 0 when absent.
ms_stat() {
	ms_stats | node -e '
		let s = ""; process.stdin.on("data", d => (s += d)).on("end", () => {
			let v = JSON.parse(s);
			for (const p of process.argv[1].split(".")) v = v == null ? undefined : v[p];
			console.log(typeof v === "number" ? v : 0);
		});' "$1"
}

# ms_key_stat KEY count|bytes: GETs of KEY through the front (count includes injected failures;
# bytes counts 2xx bodies only); 0 when never fetched.
ms_key_stat() {
	ms_stats | node -e '
		let s = ""; process.stdin.on("data", d => (s += d)).on("end", () => {
			const k = JSON.parse(s).keys[process.argv[1]];
			console.log(k ? k[process.argv[2]] : 0);
		});' "$1" "$2"
}

# ms_front_config JSON: {"rate":B/s}, {"fail":N,"status":S}, {"delay_ms":D}, and body faults
# {"reset_after":B}, {"truncate":B}, {"stall":true|"headers"} (with "fail":N only the next N
# GETs), in any combination (tests/s3/front.js).
# Answers a client must not take bytes from, same "fail":N convention (0: every GET until
# cleared): {"etag":true} a 2xx whose ETag is not the object's ("missing": none at all),
# {"whole":true} a ranged GET answered 200 with the whole object, {"content_range":"bad"|"total"|
# "missing"} a 206 naming another range, another object size, or none; {"ignore_if_match":true}
# the store ignores If-Match (the current object is sent whatever the client asked for). One at a
# time: set together, each spends "fail". Clear with false.
# Listing faults (ListObjectsV2 only; GET faults never touch listings and these never GETs):
# {"list_page":N} pages of at most N keys; {"list_fail":N,"list_status":S} the next N listing
# requests answer S (503); {"list_stall":true|"headers"}, {"list_reset_after":B} and
# {"list_truncate":P,"list_truncate_how":"close"|"xml"} (page P cut in half: the connection closed
# early, or a complete answer of half the XML), with "list_fail":N only the next N (0: every one
# until cleared). {"region":R} and {"session_token":T} ("" : none) change what the front demands
# of the next requests' signatures (see also ms_start_s3_opts).
ms_front_config() {
	curl -sf -X POST -H 'content-type: application/json' --data-binary "$1" \
		"$FRONT_ENDPOINT/__front/config" >/dev/null || ms_fail "front config $1 refused"
}

# ms_front_reset: zeroes the front's counters (its config is kept).
ms_front_reset() {
	curl -sf -X POST "$FRONT_ENDPOINT/__front/reset" >/dev/null || ms_fail "front reset failed"
}

# ms_write_config FILE [LINE...]: a modelshim INI for mount "models" through the front; LINEs are
# extra [cache] settings ("size = 64M"). Exports MS_CONFIG=FILE and MS_CACHE_DIR.
ms_write_config() {
	local file=$1 line
	shift
	MS_CACHE_DIR=$T/cache
	export MS_CONFIG=$file MS_CACHE_DIR
	(
		umask 077
		printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$T/credentials"
	)
	chmod 0600 "$T/credentials"
	{
		echo "[cache]"
		echo "dir = $MS_CACHE_DIR"
		echo "chunk_size = ${MS_CHUNK:-1M}"
		for line in "$@"; do
			echo "$line"
		done
		echo
		echo '[mount "models"]'
		echo "path = /models"
		echo "source = s3://models/"
		echo "endpoint = $FRONT_ENDPOINT"
		echo "region = us-east-1"
		echo "tenant = default"
		echo "credentials = $T/credentials"
	} >"$file"
}

# ms_daemon_start: "$MS_BIN" daemon --config "$MS_CONFIG" in the background (output appended to
# $T/daemon.log), tracked; returns once that daemon serves: it writes its pid file after its
# socket listens (a socket's inode is no sign: a new one may reuse the old number). Within ~10 s.
ms_daemon_start() {
	[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
	[[ -n ${MS_CONFIG:-} ]] || ms_fail "ms_daemon_start: call ms_write_config first"
	local dir=${MS_CACHE_DIR:-$T/cache} i
	"$MS_BIN" daemon --config "$MS_CONFIG" >>"$T/daemon.log" 2>&1 &
	MS_DAEMON_PID=$!
	ms_track_pid "$MS_DAEMON_PID"
	for ((i = 0; i < 100; i++)); do
		if [[ -S $dir/daemon.sock && $(cat "$dir/daemon.pid" 2>/dev/null || true) == "$MS_DAEMON_PID" ]]; then
			return 0
		fi
		if ! ms_alive "$MS_DAEMON_PID"; then
			tail -n 20 "$T/daemon.log" >&2
			ms_fail "daemon exited during start-up"
		fi
		sleep 0.1
	done
	tail -n 20 "$T/daemon.log" >&2
	ms_fail "daemon $MS_DAEMON_PID did not start serving $dir within 10 s"
}

# ms_daemon_stop: SIGTERM to the daemon, waits ~10 s for it; its exit status lands in MS_DAEMON_RC.
ms_daemon_stop() {
	[[ -n $MS_DAEMON_PID ]] || return 0
	local pid=$MS_DAEMON_PID
	kill -TERM "$pid" 2>/dev/null || true
	if ! ms_wait_gone "$pid" 100; then
		kill -KILL "$pid" 2>/dev/null || true
		ms_fail "daemon (pid $pid) did not exit within 10 s of SIGTERM"
	fi
	MS_DAEMON_RC=0
	wait "$pid" 2>/dev/null || MS_DAEMON_RC=$?
	ms_untrack_pid "$pid"
	MS_DAEMON_PID=
}

# ---------------------------------------------------------------------------------------------
# Helpers for the shim tests (tests/integration/t-shim-*.sh). Added for issue #4; the functions
# above are unchanged.

MS_SOFT_FAILS=0
MS_TREE= # the cache tree of mount "models": $MS_CACHE_DIR/tenants/default/models/tree
MS_SRC=  # the source tree uploaded by ms_shim_setup

# ms_shim CMD...: runs CMD with the shim preloaded and this test's config, bounded by
# MS_SHIM_TIMEOUT seconds (20). The timeout runs outside the preload.
ms_shim() {
	[[ -n ${MS_PRELOAD:-} ]] || ms_skip "MS_PRELOAD is not set (run under ctest)"
	local -a env=(LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$MS_CONFIG")
	# Host programs (cat, python3) leak at exit; their reports are not ours.
	if [[ ${MS_SANITIZED:-0} == 1 ]]; then
		env+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
	fi
	timeout -k 5 "${MS_SHIM_TIMEOUT:-20}" env "${env[@]}" "$@"
}

# ms_bad MSG: a failed check that does not end the test ("FAIL: MSG" on stderr); ms_done at the
# end of the test then exits 1. Lets one run report every failing check.
ms_bad() {
	echo "FAIL: $*" >&2
	MS_SOFT_FAILS=$((MS_SOFT_FAILS + 1))
}

# ms_done: ends a test that used ms_bad: exit 1 if any check failed.
ms_done() {
	((MS_SOFT_FAILS == 0)) || ms_fail "$MS_SOFT_FAILS check(s) failed (see FAIL lines above)"
}

# ms_shim_setup [LINE...]: the shim tests' data set in $MS_SRC, uploaded to bucket models and
# imported with chunk size MS_CHUNK (64K): big.bin (5 MiB + 12345, random: 81 chunks),
# small.txt (text), dir/a.txt, dir/sub/nested.bin (1.5 MiB + 77, random), dir/sub/deeper/x.txt.
# LINEs are extra [cache] settings for ms_write_config. Nothing is read: every object is cold.
ms_shim_setup() {
	[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
	[[ -n ${MS_PRELOAD:-} && -n ${MS_SHIMTESTS:-} ]] || ms_skip "MS_PRELOAD/MS_SHIMTESTS not set (run under ctest)"
	[[ -e ${MS_SHIM:-${MS_PRELOAD##*:}} ]] || ms_fail "the shim ${MS_SHIM:-${MS_PRELOAD##*:}} is not built"
	[[ ! -e /models ]] || ms_skip "/models exists on this host: the virtual prefix must not exist on disk"
	export MS_CHUNK=${MS_CHUNK:-64K}
	ms_start_s3
	MS_SRC=$T/src
	mkdir -p "$MS_SRC/dir/sub/deeper"
	head -c $((5 * 1048576 + 12345)) /dev/urandom >"$MS_SRC/big.bin"
	head -c $((1536 * 1024 + 77)) /dev/urandom >"$MS_SRC/dir/sub/nested.bin"
	seq -f 'line %g of small.txt, a text file read through the shim' 1 150 >"$MS_SRC/small.txt"
	printf 'file a\n' >"$MS_SRC/dir/a.txt"
	printf 'deeper x\n' >"$MS_SRC/dir/sub/deeper/x.txt"
	ms_put "$MS_SRC"
	ms_write_config "$T/ms.ini" "$@"
	MS_TREE=$MS_CACHE_DIR/tenants/default/models/tree
	"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
}

# ms_daemon_pid: pid of the live daemon serving $MS_CACHE_DIR (whoever started it), or nothing.
# Only a process whose executable is a modelshim binary counts (a stale pid file is ignored).
ms_daemon_pid() {
	local pid exe
	[[ -s $MS_CACHE_DIR/daemon.pid ]] || return 0
	pid=$(cat "$MS_CACHE_DIR/daemon.pid")
	[[ $pid =~ ^[0-9]+$ ]] && ms_alive "$pid" || return 0
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
	[[ ${exe##*/} == modelshim* ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qw daemon || return 0
	echo "$pid"
}

# ms_stop_daemon_any: stops the daemon of $MS_CACHE_DIR, also one a client started on its own.
ms_stop_daemon_any() {
	local pid
	pid=$(ms_daemon_pid)
	[[ -n $pid ]] || return 0
	if [[ $pid == "$MS_DAEMON_PID" ]]; then
		ms_daemon_stop
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	if ! ms_wait_gone "$pid" 100; then
		kill -KILL "$pid" 2>/dev/null || true
		ms_fail "daemon (pid $pid) did not exit within 10 s of SIGTERM"
	fi
}

# ms_fresh: a cold cache: stops the daemon, deletes every cached object and imports again.
# Afterwards no byte of any object is cached and status shows nothing complete or partial.
ms_fresh() {
	ms_stop_daemon_any
	rm -rf "$MS_CACHE_DIR/tenants"
	"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
	[[ $(ms_status_counts) == *" 0 0" ]] || ms_fail "after a fresh import status shows $(ms_status_counts)"
}

# ms_status_counts: "OBJECTS COMPLETE PARTIAL" of mount models, from `modelshim status`.
ms_status_counts() {
	"$MS_BIN" status --config "$MS_CONFIG" | awk '$1 == "models" && $3 == "/models" { print $4, $5, $6 }'
}

# ms_status_fields FIELD...: the daemon's counters from `modelshim status --json`, one line,
# space-separated: FIELD is daemon.NAME or mount.NAME (of the config's first mount). Fails the
# test if status does not answer within 5 s or no daemon runs.
ms_status_fields() {
	timeout -k 2 5 "$MS_BIN" status --config "$MS_CONFIG" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
if j["daemon"] is None:
    sys.exit("status --json: no daemon")
scope = {"daemon": j["daemon"], "mount": j["mounts"][0]}
print(*(scope[f.split(".")[0]][f.split(".")[1]] for f in sys.argv[1:]))' "$@" ||
		ms_fail "status --json did not answer within 5 s, or has no daemon counters"
}

# ms_assert_cold KEY...: fails unless nothing of each KEY is cached (its cache file has no blocks).
ms_assert_cold() {
	local k b
	for k; do
		b=$(stat -c %b "$MS_TREE/$k") || ms_fail "no cache file for $k"
		[[ $b == 0 ]] || ms_fail "$k is not cold: $b blocks of its cache file are allocated"
	done
}

# ms_warm KEY...: reads each KEY in full through the daemon (not the shim), so it is complete.
ms_warm() {
	local k
	for k; do
		"$MS_BIN" cat --config "$MS_CONFIG" "/models/$k" | cmp -s - "$MS_SRC/$k" ||
			ms_fail "warming /models/$k through modelshim cat failed"
	done
}

# ms_cache_fingerprint: one hash over the cache tree of mount models (every entry's path, type,
# size, mode, mtime, xattrs, and each file's bytes) and the names in its state dir.
ms_cache_fingerprint() {
	/usr/bin/python3 - "$MS_TREE" "$MS_CACHE_DIR/tenants/default/models/state" <<'PY'
import hashlib, os, sys
h = hashlib.sha256()
tree, state = sys.argv[1], sys.argv[2]
for top, dirs, files in os.walk(tree):
    dirs.sort()
    for name in [""] + sorted(files) + dirs:
        p = os.path.join(top, name) if name else top
        st = os.lstat(p)
        h.update(f"{os.path.relpath(p, tree)} {st.st_mode:o} {st.st_size} {st.st_mtime_ns}\n".encode())
        for x in sorted(os.listxattr(p, follow_symlinks=False)):
            h.update(x.encode() + b"=" + os.getxattr(p, x, follow_symlinks=False) + b"\n")
        if name in files:
            with open(p, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
for top, dirs, files in os.walk(state):
    dirs.sort()
    h.update(("\n".join(sorted(os.path.relpath(os.path.join(top, f), state) for f in files)) + "\n").encode())
print(h.hexdigest())
PY
}

# ms_why_differs OUT SRC: why OUT is not SRC, in words: cmp's first difference, and whether OUT
# holds zeros there (unfilled cache bytes) or ends early.
ms_why_differs() {
	local c n z
	[[ -e $1 ]] || {
		echo "no output file $1"
		return 0
	}
	c=$(cmp "$1" "$2" 2>&1) || true
	[[ -n $c ]] || c="identical"
	if [[ $c =~ differ:\ (byte|char)\ ([0-9]+) ]]; then
		n=${BASH_REMATCH[2]}
		z=$( (tail -c +"$n" "$1" || true) | head -c 64 | tr -d '\0' | wc -c)
		((z != 0)) || c+=" (the output has zeros there: unfilled cache bytes)"
	fi
	echo "$c; sizes $(stat -c %s "$1") vs $(stat -c %s "$2")"
}

# ms_daemon_requests: the daemon's request counter (fills and hints; status queries do not
# count), or "none" when no daemon runs.
ms_daemon_requests() {
	local n
	n=$("$MS_BIN" status --config "$MS_CONFIG" | sed -n 's/^daemon-counters: requests=\([0-9]*\).*/\1/p')
	echo "${n:-none}"
}

# ms_prog_cold_warm PROG KEY ARG...: runs $MS_SHIMTESTS/PROG ARG... under the shim twice: cold
# (ms_fresh: nothing cached, KEY checked cold) and warm (after KEY was read in full through the
# daemon; a warm run must not ask the daemon for anything: hits cost nothing). One ok: line per
# run, or ms_bad with the program's FAIL line and its output.
ms_prog_cold_warm() {
	local prog=$1 key=$2 state out rc req
	shift 2
	if [[ ! -x $MS_SHIMTESTS/$prog ]]; then
		ms_bad "$prog is not built in $MS_SHIMTESTS"
		return 0
	fi
	for state in cold warm; do
		if [[ $state == cold ]]; then
			ms_fresh
			ms_assert_cold "$key"
		else
			ms_warm "$key"
		fi
		out=$T/$prog.$state.out
		rc=0
		req=$(ms_daemon_requests)
		ms_shim "$MS_SHIMTESTS/$prog" "$@" >"$out" 2>&1 || rc=$?
		if ((rc == 0)) && [[ $state == warm && $req != "$(ms_daemon_requests)" ]]; then
			ms_bad "$prog warm ($key): the daemon's requests went from $req to $(ms_daemon_requests) although $key is complete"
		elif ((rc == 0)); then
			ms_ok "$prog $state ($key): $(tail -n 1 "$out")"
		else
			ms_bad "$prog $state ($key), exit $rc$( ((rc != 124)) || echo " (hung: killed after ${MS_SHIM_TIMEOUT:-20} s)"): $(grep -m 1 'FAIL' "$out" || tail -n 2 "$out")"
			sed 's/^/    | /' "$out" | tail -n 40 >&2
		fi
	done
}

# ms_write_two_tenants FILE CACHE_LINES [EXTRA]: a config with mounts "a" (/ta, prefix a/, tenant
# alpha) and "b" (/tb, prefix b/, tenant beta) through the front; CACHE_LINES (printf %b) go into
# [cache] after dir, min_free = 0 and chunk_size = 1M; EXTRA (sections) after [cache].
ms_write_two_tenants() {
	ms_write_config "$T/unused.ini" # writes the credentials file
	MS_CACHE_DIR=$T/cache
	export MS_CONFIG=$1 MS_CACHE_DIR
	{
		printf '[cache]\ndir = %s\nmin_free = 0\nchunk_size = 1M\n%b\n' "$MS_CACHE_DIR" "$2"
		printf '%b\n' "${3:-}"
		for m in a b; do
			printf '[mount "%s"]\npath = /t%s\nsource = s3://models/%s/\nendpoint = %s\n' \
				"$m" "$m" "$m" "$FRONT_ENDPOINT"
			printf 'tenant = %s\ncredentials = %s\n\n' "$([[ $m == a ]] && echo alpha || echo beta)" \
				"$T/credentials"
		done
	} >"$1"
}

# ---------------------------------------------------------------------------------------------
# Helpers for the strict-rig and fault tests (issue #17); the functions above are unchanged.

# ms_start_s3_opts [S3-SERVER-OPTION...]: ms_start_s3 for bucket models, with options for
# scripts/s3-server start (--region R, --session-token T, more --bucket NAME).
ms_start_s3_opts() {
	MS_S3_DIR=$T/s3
	"$MS_TOP/scripts/s3-server" start "$MS_S3_DIR" --bucket models "$@" || ms_fail "s3-server start $* failed"
	set -a
	# shellcheck disable=SC1091
	. "$MS_S3_DIR/s3.env"
	set +a
}

# ms_mount_set KEY VALUE: sets KEY = VALUE in the [mount "models"] section of $MS_CONFIG (as
# ms_write_config wrote it: that section is the last), replacing a KEY line there or adding one.
ms_mount_set() {
	python3 - "$MS_CONFIG" "$1" "$2" <<'PY' || ms_fail "ms_mount_set $1: cannot edit $MS_CONFIG"
import re, sys
path, key, value = sys.argv[1:]
lines = open(path).read().split("\n")
start = max(i for i, l in enumerate(lines) if l.strip() == '[mount "models"]')
for i in range(start + 1, len(lines)):
    if re.match(r"\s*" + re.escape(key) + r"\s*=", lines[i]):
        lines[i] = f"{key} = {value}"
        break
else:
    while lines and lines[-1] == "":
        lines.pop()
    lines += [f"{key} = {value}", ""]
open(path, "w").write("\n".join(lines))
PY
}

# ms_cred_set KEY VALUE: sets KEY (aws_session_token...) in the [default] profile of $T/credentials
# (ms_write_config's); VALUE "" removes the line.
ms_cred_set() {
	local f=$T/credentials
	[[ -f $f ]] || ms_fail "ms_cred_set: call ms_write_config first"
	(
		umask 077
		grep -v "^$1 *=" "$f" >"$f.new" || true
		[[ -z $2 ]] || printf '%s = %s\n' "$1" "$2" >>"$f.new"
	)
	mv "$f.new" "$f"
}

# ms_tree_list: the cache tree of mount models, one line per entry: path, type, size (no times):
# what a listing shows, for before/after comparisons of the namespace.
ms_tree_list() {
	(cd "${MS_TREE:-$MS_CACHE_DIR/tenants/default/models/tree}" && find . -printf '%p %y %s\n' | LC_ALL=C sort)
}

# ms_is_prefix OUT SRC: true when OUT holds the first bytes of SRC and nothing else (empty too).
ms_is_prefix() {
	local n
	n=$(stat -c %s "$1")
	((n <= $(stat -c %s "$2"))) && cmp -s -n "$n" "$1" "$2"
}
