# shellcheck shell=bash
# tests/lib.sh: sourced by integration tests. Owns the per-test temp dir $T and the test's view of
# its loopback S3 pair, modelshim config and daemon. The lifecycle itself is scripts/mslife.py's,
# the library bench/run uses too (issue 12): stopping what was tracked (the cleanup at exit), the
# S3 pair, writing configs, finding, waiting for and stopping daemons, the daemon's counters (only
# through `modelshim status --json`) and the cache layout (ms_cache_path) go through its CLI.
# Stays bash where a Python start per call would be silly: ms_alive (polled in loops) and the
# list of tracked PIDs (ms_track_pid); the daemon is started by this shell (see
# ms_daemon_start). It must never kill a process it was not given
# (ms_track_pid) or started, never touch anything outside $T, and never wait without a bound.
# Works under `set -euo pipefail`.

MS_TOP=${MS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export MS_TOP
MS_BIN=${MS_BIN:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/ms-test.XXXXXX")
export T
MS_RUN=$T/run # mslife's run dir: its registry holds the S3 pair and the cache dir
MS_PIDS=()     # "PID:START" of every PID tracked (ms_track_pid), handed to mslife to stop
MS_S3_DIR=
MS_DAEMON_PID=
export MS_DAEMON_RC= # exit status of the daemon after ms_daemon_stop
# The interpreter itself, not a version manager's wrapper script (pyenv's shim costs ~100 ms a
# call), run with -S: mslife.py needs the standard library only. About 50 ms a call.
MS_PY=$(python3 -c 'import sys; print(sys.executable)') || {
	rmdir "$T"
	echo "FAIL: no python3" >&2
	exit 1
}
# And every `python3` of a test (and of the programs it starts) is that interpreter too: its
# directory first in PATH. Under load pyenv's shim took ~1.7 s a call against ~0.4 s.
PATH=$(dirname "$MS_PY"):$PATH
export PATH

# ms_life COMMAND ARG...: scripts/mslife.py COMMAND (`python3 scripts/mslife.py help`).
ms_life() {
	"$MS_PY" -S "$MS_TOP/scripts/mslife.py" "$@"
}

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
# The same read as mslife.start_time, kept in bash for ms_track_pid (below).
ms_proc_start() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $st
	echo "${20}"
}

# ms_track_pid PID: PID (with its start time) is stopped at exit if it still runs. Recorded in
# bash (MS_PIDS), not with `mslife track`: tests call it for every process they start, up to 64
# in a row (t-load's readers, meant to start at once), and a Python start per call (50-150 ms)
# spread them over seconds. The stopping is mslife's: ms_stop_tracked and ms_daemon_stop hand
# it the PIDs with their start times.
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
# The same check as mslife.alive, kept in bash: tests call it in polling loops, where a Python
# start per call (~50 ms) would slow the loop and stretch its bound.
ms_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[[ ${st:0:1} != Z ]]
}

# ms_wait_gone PID TENTHS: true once PID has exited, checking for at most TENTHS/10 s (mslife
# wait-gone: one call that polls).
ms_wait_gone() {
	ms_life wait-gone "$1" "$(($2 / 10)).$(($2 % 10))"
}

# ms_stop_tracked: stops everything tracked (mslife stop-all: the PIDs of MS_PIDS that are still the
# processes recorded, the S3 pair, and the daemon of $MS_CACHE_DIR, also one a client started on
# its own, known by its pid file if it is a daemon): TERM, one wait of ~5 s, KILL.
ms_stop_tracked() {
	local -a args=()
	local p
	for p in "${MS_PIDS[@]}"; do
		[[ -z ${p#*:} ]] || args+=(--pid "$p")
	done
	ms_life stop-all "$MS_RUN" --timeout 5 ${MS_CACHE_DIR:+--cache "$MS_CACHE_DIR"} "${args[@]}"
	MS_PIDS=()
}

ms_cleanup() {
	local rc=$?
	set +e
	ms_stop_tracked || echo "ms_cleanup: mslife stop-all failed (see above)" >&2
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
# (S3_PORT FRONT_PORT S3_PID FRONT_PID S3_ENDPOINT FRONT_ENDPOINT). Both PIDs are tracked.
ms_start_s3() {
	local -a args=()
	local b
	(($#)) || set -- models
	for b in "$@"; do
		args+=(--bucket "$b")
	done
	ms_s3_start_with "${args[@]}" || ms_fail "s3-server start failed"
}

# ms_s3_start_with MSLIFE-S3-START-OPTION...: mslife s3-start into $T/s3, then exports its s3.env.
ms_s3_start_with() {
	local env
	MS_S3_DIR=$T/s3
	env=$(ms_life s3-start "$MS_RUN" --dir "$MS_S3_DIR" "$@") || return 1
	set -a
	# shellcheck disable=SC1090
	. "$env"
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
# Also sets MS_TREE (the mount's cache tree, from ms_cache_path). Written by mslife credentials
# and config: [cache] dir, chunk_size = MS_CHUNK (1M), the LINEs; [mount "models"] path /models,
# source s3://models/, the front's endpoint, region us-east-1, tenant default, $T/credentials.
ms_write_config() {
	local file=$1 line
	local -a sets=("--cache-set=chunk_size = ${MS_CHUNK:-1M}")
	shift
	for line in "$@"; do
		sets+=("--cache-set=$line")
	done
	MS_CACHE_DIR=$T/cache
	export MS_CONFIG=$file MS_CACHE_DIR
	ms_life credentials "$T/credentials" >/dev/null || ms_fail "ms_write_config: cannot write $T/credentials"
	ms_life config "$file" --cache-dir "$MS_CACHE_DIR" --endpoint "$FRONT_ENDPOINT" \
		--credentials "$T/credentials" "${sets[@]}" >/dev/null || ms_fail "ms_write_config: cannot write $file"
	MS_TREE=$(ms_cache_path) || exit 1
}

# ms_cache_path [WHAT] [AREA] [MOUNT]: where WHAT lives in the cache dir of $MS_CONFIG (mslife
# cache-path, the one rule of the layout in the tests). WHAT: a key of MOUNT (default: the
# config's first mount) such as "lora/b.bin", a virtual path ("/ta/a1.bin": its mount found by
# prefix), or "" for the AREA dir itself. AREA: tree (default: data files), state (presence maps),
# mount (DIR/tenants/TENANT/MOUNT), tenant (DIR/tenants/TENANT) or tenants (DIR/tenants). Fails
# the test if the config names no such mount.
ms_cache_path() {
	[[ -n ${MS_CONFIG:-} ]] || ms_fail "ms_cache_path: call ms_write_config first"
	ms_life cache-path "$MS_CONFIG" ${1:+"$1"} --area "${2:-tree}" ${3:+--mount "$3"} ||
		ms_fail "ms_cache_path ${1:-''} ${2:-tree} ${3:-}: no such path"
}

# ms_daemon_start: "$MS_BIN" daemon --config "$MS_CONFIG" in the background (output appended to
# $T/daemon.log), tracked; returns once that daemon serves (mslife daemon-wait: it writes its pid
# file after its socket listens; a socket's inode is no sign: a new one may reuse the old
# number). Within ~10 s. Started here with `&`, not by `mslife daemon-start`: the daemon must be
# this shell's child, so that `wait` gives its exit status (ms_daemon_stop's MS_DAEMON_RC, and
# tests that wait for a daemon armed to crash).
ms_daemon_start() {
	[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
	[[ -n ${MS_CONFIG:-} ]] || ms_fail "ms_daemon_start: call ms_write_config first"
	local err
	"$MS_BIN" daemon --config "$MS_CONFIG" >>"$T/daemon.log" 2>&1 &
	MS_DAEMON_PID=$!
	ms_track_pid "$MS_DAEMON_PID"
	err=$(ms_life daemon-wait "$MS_CONFIG" "$MS_DAEMON_PID" --timeout 10 --log "$T/daemon.log" 2>&1) ||
		ms_fail "${err#mslife: }"
}

# ms_random FILE SIZE: SIZE random bytes in FILE, its directory made if missing.
ms_random() {
	mkdir -p "$(dirname "$1")"
	head -c "$2" /dev/urandom >"$1"
}

# ms_import_src [LINE...]: uploads $T/src (ms_put), writes $T/ms.ini with LINEs (ms_write_config)
# and imports its namespace.
ms_import_src() {
	ms_put "$T/src"
	ms_write_config "$T/ms.ini" "$@"
	"$MS_BIN" import -q --config "$T/ms.ini" || ms_fail "import failed"
}

# ms_range_setup: chunks of 4 MiB and $T/src/r.bin of 6 of them (20 MiB + 123 bytes: past the
# shim's small objects, filled whole at open), uploaded, imported with retries = 2, the daemon
# detached: the object the tests of answers before a chunk is complete cut and read.
ms_range_setup() {
	export MS_CHUNK=4M
	ms_start_s3
	mkdir -p "$T/src"
	head -c $((20 * 1048576 + 123)) /dev/urandom >"$T/src/r.bin"
	ms_put "$T/src"
	ms_write_config "$T/ms.ini" "retries = 2"
	ms_daemon_detach
}

# ms_src_pages FILE OFF...: the 4 KiB of FILE at each byte offset OFF, on stdout.
ms_src_pages() {
	local f=$1 off
	shift
	for off in "$@"; do
		dd if="$f" bs=4096 skip="$off" count=1 iflag=skip_bytes status=none
	done
}

# ms_quota_setup: the quota tests' cache: twelve objects of 2 MiB ($T/src/o01.bin..o12.bin) behind
# an 8 MiB quota (3x less than they hold), imported, the daemon started.
ms_quota_setup() {
	ms_start_s3
	mkdir -p "$T/src"
	for i in $(seq -w 1 12); do head -c $((2 * 1048576)) /dev/urandom >"$T/src/o$i.bin"; done
	ms_import_src "size = 8M" "min_free = 0"
	ms_daemon_start
}

# ms_deploy_setup PLANNER WHAT: for a pod of deploy/kubernetes: the manifests as JSON
# ($T/manifests.json), tests/deploy/PLANNER's plan of them in $T/plan (the test fails if WHAT do
# not fit together), and the modelshim image in $T/image, `cmake --install --prefix /usr` as
# deploy/container/Dockerfile makes it; $T gets o+x (0711) for the pod's user to reach it.
ms_deploy_setup() {
	local vdir=$MS_TOP/tests/deploy f
	[[ -f $vdir/node_modules/yaml/package.json ]] || ms_fail "tests/deploy/node_modules missing: scripts/setup (npm ci)"
	for f in "$MS_TOP"/deploy/kubernetes/*.yaml; do
		(cd "$vdir" && node tojson.js "$f") || ms_fail "cannot read $f"
	done | "$MS_PY" -c 'import json, sys; print(json.dumps([d for l in sys.stdin for d in json.loads(l)]))' >"$T/manifests.json"
	"$MS_PY" "$vdir/$1" "$T/manifests.json" "$T/plan" || ms_fail "$2 do not fit together (above)"
	chmod 0711 "$T"
	DESTDIR=$T/image cmake --install "$(dirname "$MS_BIN")" --prefix /usr >"$T/install.log" 2>&1 ||
		ms_fail "cmake --install: $(tail -n 5 "$T/install.log")"
}

# ms_need_cmds CMD...: skips the test unless every CMD is installed.
ms_need_cmds() {
	local c
	for c; do
		command -v "$c" >/dev/null || ms_skip "$c is missing"
	done
}

# ms_need_shim: skips the test unless it runs under ctest with the binary and the shim given and
# the virtual prefix /models free on this host.
ms_need_shim() {
	[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
	[[ -n ${MS_PRELOAD:-} ]] || ms_skip "MS_PRELOAD is not set (run under ctest)"
	[[ ! -e /models ]] || ms_skip "/models exists on this host: the virtual prefix must not exist on disk"
}

# ms_have_uffd: true if this process may use userfaultfd(2) as the shim does (full, not
# user-mode only): CAP_SYS_PTRACE in its effective set, or vm.unprivileged_userfaultfd = 1.
# Without it the shim never makes an mmap lazy.
ms_have_uffd() {
	local cap
	cap=$(awk '/^CapEff/ { print $2 }' /proc/self/status)
	(((0x$cap >> 19) & 1)) || [[ $(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null) == 1 ]]
}

# ms_daemon_detach: imports $MS_CONFIG's namespace, then starts the daemon as clients do
# (`daemon --detach`, its output appended to the cache dir's daemon.log); fails the test unless
# a daemon serves $MS_CACHE_DIR afterwards.
ms_daemon_detach() {
	local log=$MS_CACHE_DIR/daemon.log
	"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
	"$MS_BIN" daemon --config "$MS_CONFIG" --detach >>"$log" 2>&1 || ms_fail "the daemon did not start: $(tail -n 3 "$log")"
	[[ -n $(ms_daemon_pid) ]] || ms_fail "no daemon runs after daemon --detach"
}

# ms_shim_sha_check KEY WHAT: sha256sum of /models/KEY under the shim must exit 0 and print the
# sum of $T/src/KEY: an ok line "WHAT: ...", else ms_bad with its exit status and output.
ms_shim_sha_check() {
	local key=$1 what=$2 rc=0
	ms_shim sha256sum "/models/$key" >"$T/$key.sum" 2>"$T/err" || rc=$?
	if ((rc == 0)) && [[ $(cut -d' ' -f1 "$T/$key.sum") == "$(ms_sha "$T/src/$key")" ]]; then
		ms_ok "$what: sha256sum under the shim reads $key right"
	else
		ms_bad "$what: sha256sum exit $rc: $(cat "$T/$key.sum"); $(head -c 200 "$T/err")"
	fi
}

# ms_check_gave_up KEY RETRIES DRETRIES DERRORS: checks (ms_bad) one job on KEY that failed all
# its RETRIES attempts: the front saw RETRIES GETs of KEY, the daemon's retries counter rose by
# RETRIES - 1 (DRETRIES is what it rose by) and its errors by one (DERRORS).
ms_check_gave_up() {
	local key=$1 retries=$2 dr=$3 de=$4
	[[ $(ms_key_stat "$key" count) == "$retries" ]] ||
		ms_bad "the daemon sent $(ms_key_stat "$key" count) GETs of $key, want $retries (retries = $retries)"
	((dr == retries - 1)) || ms_bad "daemon.retries +$dr for one job of $retries attempts, want +$((retries - 1))"
	((de == 1)) || ms_bad "errors +$de after one failed job of $key, want +1"
}

# ms_sha FILE: FILE's sha256, the hex digits only.
ms_sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

# ms_daemon_stop: SIGTERM to the daemon, waits ~10 s for it (then SIGKILL, and the test fails:
# mslife stop --strict, with the start time ms_track_pid recorded); its exit status lands in
# MS_DAEMON_RC.
ms_daemon_stop() {
	[[ -n $MS_DAEMON_PID ]] || return 0
	local pid=$MS_DAEMON_PID p start=
	for p in "${MS_PIDS[@]}"; do
		[[ ${p%%:*} != "$pid" ]] || start=${p#*:}
	done
	# Untracked by the test meanwhile: the daemon is still this shell's child, as before.
	[[ -n $start ]] || start=$(ms_proc_start "$pid")
	if [[ -n $start ]]; then
		ms_life stop "$MS_RUN" "$pid" --start "$start" --timeout 10 --strict >/dev/null 2>&1 ||
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
MS_TREE= # the cache tree of mount "models" (ms_cache_path), set by ms_write_config
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
	"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
}

# ms_daemon_pid: pid of the live daemon serving $MS_CACHE_DIR (whoever started it), or nothing.
# Only a process whose executable is a modelshim binary counts (a stale pid file is ignored).
ms_daemon_pid() {
	ms_life daemon-pid "$MS_CACHE_DIR" || ms_fail "ms_daemon_pid: mslife daemon-pid failed"
}

# ms_stop_daemon_any: stops the daemon of $MS_CACHE_DIR, also one a client started on its own
# (mslife daemon-stop; ours through ms_daemon_stop, for its exit status).
ms_stop_daemon_any() {
	local pid
	pid=$(ms_daemon_pid)
	[[ -n $pid ]] || return 0
	if [[ $pid == "$MS_DAEMON_PID" ]]; then
		ms_daemon_stop
		return 0
	fi
	ms_life daemon-stop "$MS_RUN" "$MS_CACHE_DIR" --timeout 10 >/dev/null 2>&1 ||
		ms_fail "daemon (pid $pid) did not exit within 10 s of SIGTERM"
}

# ms_fresh: a cold cache: stops the daemon, deletes every cached object and imports again.
# Afterwards no byte of any object is cached and status shows nothing complete or partial.
ms_fresh() {
	local tenants
	ms_stop_daemon_any
	tenants=$(ms_cache_path "" tenants) || exit 1
	rm -rf "$tenants"
	"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
	[[ $(ms_status_counts) == *" 0 0" ]] || ms_fail "after a fresh import status shows $(ms_status_counts)"
}

# ms_status_counts: "OBJECTS COMPLETE PARTIAL" of mount models, from `modelshim status --json`
# (mslife counters; no daemon needed). Fails the test if status has no such numbers.
ms_status_counts() {
	ms_life counters "$MS_CONFIG" mounts.models.objects mounts.models.complete mounts.models.partial \
		--bin "$MS_BIN" || ms_fail "ms_status_counts: status --json has no counts of mount models"
}

# ms_status_fields FIELD...: the daemon's counters from `modelshim status --json` (mslife
# counters), one line, space-separated: FIELD is daemon.NAME or mount.NAME (of the config's first
# mount; also mounts.NAME.F, tenants.NAME.F: see mslife.field). Fails the test if status does not
# answer within 5 s, no daemon runs, or a FIELD is absent (never 0 for a missing counter).
ms_status_fields() {
	ms_life counters "$MS_CONFIG" "$@" --bin "$MS_BIN" --need-daemon ||
		ms_fail "status --json did not answer within 5 s, has no daemon counters, or lacks one of $*"
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
	local state
	state=$(ms_cache_path "" state) || exit 1
	/usr/bin/python3 - "$MS_TREE" "$state" <<'PY'
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
# count), or "none" when no daemon runs (mslife counters daemon.requests: exit 3). Fails the
# test if status does not answer or has no such counter.
ms_daemon_requests() {
	local rc=0
	ms_life counters "$MS_CONFIG" daemon.requests --bin "$MS_BIN" 2>"$T/requests.err" || rc=$?
	((rc != 3)) || echo none
	((rc == 0 || rc == 3)) || ms_fail "ms_daemon_requests: $(cat "$T/requests.err")"
}

# ms_prepare STATE KEY: cold: a fresh import, KEY checked uncached (ms_fresh, ms_assert_cold);
# warm: KEY read in full through the daemon first (ms_warm).
ms_prepare() {
	if [[ $1 == cold ]]; then
		ms_fresh
		ms_assert_cold "$2"
	else
		ms_warm "$2"
	fi
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
		ms_prepare "$state" "$key"
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
# Written by mslife credentials and config --mount-spec (no region line: modelshim's default);
# MS_TREE is emptied (there is no mount "models": ms_cache_path /ta/KEY finds mount a's files).
ms_write_two_tenants() {
	local line
	local -a sets=("--cache-set=min_free = 0" "--cache-set=chunk_size = 1M")
	while IFS= read -r line; do
		sets+=("--cache-set=$line")
	done < <(printf '%b\n' "$2")
	MS_CACHE_DIR=$T/cache
	export MS_CONFIG=$1 MS_CACHE_DIR
	MS_TREE=
	ms_life credentials "$T/credentials" >/dev/null || ms_fail "ms_write_two_tenants: cannot write $T/credentials"
	ms_life config "$1" --cache-dir "$MS_CACHE_DIR" --credentials "$T/credentials" "${sets[@]}" \
		--extra "$(printf '%b' "${3:-}")" \
		--mount-spec "a,/ta,s3://models/a/,alpha,$FRONT_ENDPOINT" \
		--mount-spec "b,/tb,s3://models/b/,beta,$FRONT_ENDPOINT" >/dev/null ||
		ms_fail "ms_write_two_tenants: cannot write $1"
}

# ---------------------------------------------------------------------------------------------
# Helpers for the strict-rig and fault tests (issue #17); the functions above are unchanged.

# ms_start_s3_opts [S3-SERVER-OPTION...]: ms_start_s3 for bucket models, with options for
# scripts/s3-server start (--region R, --session-token T, more --bucket NAME).
ms_start_s3_opts() {
	ms_s3_start_with --bucket models "$@" || ms_fail "s3-server start $* failed"
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
	local tree=${MS_TREE:-}
	[[ -n $tree ]] || tree=$(ms_cache_path) || exit 1
	(cd "$tree" && find . -printf '%p %y %s\n' | LC_ALL=C sort)
}

# ms_is_prefix OUT SRC: true when OUT holds the first bytes of SRC and nothing else (empty too).
ms_is_prefix() {
	local n
	n=$(stat -c %s "$1")
	((n <= $(stat -c %s "$2"))) && cmp -s -n "$n" "$1" "$2"
}

# ---------------------------------------------------------------------------------------------
# Helpers for the cluster tier tests on loopback (issue 13); the functions above are unchanged.

# ms_free_port: a TCP port free on 127.0.0.1 now.
ms_free_port() {
	"$MS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ms_tier_start CONFIG TIER PORT...: one nginx tier node of TIER per PORT on 127.0.0.1, its
# nginx.conf written by `modelshim tier-config` from CONFIG, its cache and logs in $T/tier-PORT
# (access log $T/tier-PORT/access.log); output to $T/nginx.log. Masters and workers tracked by
# PID; MS_TIER_PIDS[PORT] is the master. Returns once every node answers (~10 s at most).
declare -A MS_TIER_PIDS=()
ms_tier_start() {
	local cfg=$1 tier=$2 port i w dir
	shift 2
	command -v nginx >/dev/null || ms_fail "nginx is not installed (scripts/setup installs it)"
	for port; do
		dir=$T/tier-$port
		mkdir -p "$dir/tmp"
		"$MS_BIN" tier-config --config "$cfg" "$tier" --listen "127.0.0.1:$port" --dir "$dir" \
			--user "$(id -un)" >"$dir.conf" || ms_fail "tier-config $tier failed"
		# Its output goes to a file: a process left holding the test's stdout would hold ctest too.
		nginx -p "$dir" -c "$dir.conf" >>"$T/nginx.log" 2>&1 </dev/null &
		MS_TIER_PIDS[$port]=$!
		ms_track_pid "$!"
	done
	for port; do
		for ((i = 0; i < 100; i++)); do
			curl -s -o /dev/null "http://127.0.0.1:$port/" && break
			sleep 0.1
		done
		((i < 100)) || ms_fail "tier node 127.0.0.1:$port did not start: $(tail -n 5 "$T/nginx.log")"
		for w in $(pgrep -P "${MS_TIER_PIDS[$port]}"); do ms_track_pid "$w"; done
	done
}

# ms_tier_kill PORT: SIGKILL to tier node PORT's master, then to its workers, each awaited.
ms_tier_kill() {
	local master=${MS_TIER_PIDS[$1]} workers w
	workers=$(pgrep -P "$master") || true
	kill -KILL "$master"
	ms_wait_gone "$master" 50 || ms_fail "nginx (pid $master) survived SIGKILL"
	ms_untrack_pid "$master"
	for w in $workers; do
		kill -KILL "$w" 2>/dev/null || true
		ms_wait_gone "$w" 50 || ms_fail "an nginx worker (pid $w) survived SIGKILL"
	done
}

# ms_tier_node_config NAME TIER BLOCK PORT...: $T/NAME.ini for node NAME (ms_write_config, its own
# cache dir $T/cache-NAME) with mount "models" on tier TIER: nodes 127.0.0.1:PORT..., block BLOCK.
# Exports MS_CONFIG and MS_CACHE_DIR for that node.
ms_tier_node_config() {
	local name=$1 tier=$2 block=$3 nodes="" port
	shift 3
	for port; do nodes+=" 127.0.0.1:$port"; done
	ms_write_config "$T/$name.ini"
	sed -i "s|^dir = .*|dir = $T/cache-$name|" "$T/$name.ini"
	MS_CACHE_DIR=$T/cache-$name
	printf 'tier = %s\n\n[tier "%s"]\nnodes =%s\nblock = %s\nallow = 127.0.0.0/8\n' \
		"$tier" "$tier" "$nodes" "$block" >>"$T/$name.ini"
	MS_TREE=$(ms_cache_path) || exit 1
}

# ---------------------------------------------------------------------------------------------
# Helpers for the TLS and proxy tests (issue 16); the functions above are unchanged.

# ms_daemon_start_env ARG...: ms_daemon_start through `env ARG...` (VAR=VALUE to set, -u VAR to
# unset): a daemon with its own environment (AWS_ENDPOINT_URL, AWS_CA_BUNDLE, HTTPS_PROXY...).
ms_daemon_start_env() {
	[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
	[[ -n ${MS_CONFIG:-} ]] || ms_fail "ms_daemon_start_env: call ms_write_config first"
	local err
	env "$@" "$MS_BIN" daemon --config "$MS_CONFIG" >>"$T/daemon.log" 2>&1 &
	MS_DAEMON_PID=$!
	ms_track_pid "$MS_DAEMON_PID"
	err=$(ms_life daemon-wait "$MS_CONFIG" "$MS_DAEMON_PID" --timeout 10 --log "$T/daemon.log" 2>&1) ||
		ms_fail "${err#mslife: }"
}

# ms_tls_ca DIR: a private CA made by openssl in DIR (ca.pem, ca.key) and a certificate it signed
# for the front (server.pem, server.key: subjectAltName IP 127.0.0.1 and DNS localhost), valid two
# days. EC keys (P-256): quick to make. Skips the test without openssl.
ms_tls_ca() {
	local d=$1
	ms_need_cmds openssl
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=modelshim test CA $RANDOM" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		>"$d/openssl.log" 2>&1 &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/server.key" -out "$d/server.csr" -subj /CN=127.0.0.1 >>"$d/openssl.log" 2>&1 &&
		printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' >"$d/server.ext" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -extfile "$d/server.ext" -out "$d/server.pem" >>"$d/openssl.log" 2>&1 ||
		ms_fail "ms_tls_ca: openssl failed: $(tail -n 3 "$d/openssl.log")"
}
