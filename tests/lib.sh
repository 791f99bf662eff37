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

ms_track_pid() {
	MS_PIDS+=("$1")
}

ms_untrack_pid() {
	local -a keep=()
	local p
	for p in "${MS_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
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
	# A daemon that a client started on its own is known by its pid file.
	if [[ -n ${MS_CACHE_DIR:-} && -s $MS_CACHE_DIR/daemon.pid ]]; then
		MS_PIDS+=("$(cat "$MS_CACHE_DIR/daemon.pid")")
	fi
	for p in "${MS_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${MS_PIDS[@]}"; do
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

# ms_front_config JSON: {"rate":B/s}, {"fail":N,"status":S}, {"delay_ms":D}, in any combination.
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
