# shellcheck shell=bash
# tests/cluster/bed.sh: sourced after tests/lib.sh by the cluster tests (t-cluster*.sh). Owns the
# test's view of its bed (tests/cluster/bed.py, whose CLI does the work): bringing it up in $T/bed
# (or skipping, exit 77, with bed.py's one line), taking it down at exit before lib.sh's cleanup,
# and the readers: programs run through the shim inside a node's namespace, one per node at once.
# Never leaves a namespace or a process behind (bed.py down runs on every exit), never waits
# without a bound (each reader runs under timeout).

BED=$T/bed
MS_BED_READERS=() # PIDs of the readers started by bed_read_start

# bed CMD ARG...: tests/cluster/bed.py CMD ARG... (`bed.py -h`).
bed() {
	"$MS_PY" -S "$MS_TOP/tests/cluster/bed.py" "$@"
}

bed_cleanup() {
	local rc=$?
	set +e
	bed down "$BED" || echo "bed_cleanup: bed.py down failed (see above)" >&2
	(exit "$rc")
	ms_cleanup
}

# bed_up BED.PY-UP-OPTION...: the bed (see bed.py up -h), taken down at exit; skips the test
# (exit 77) where a kernel feature, root or a program is missing.
bed_up() {
	local rc=0
	[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
	trap bed_cleanup EXIT
	bed up "$BED" --owner $$ "$@" 2>"$T/bed-up.err" || rc=$?
	if ((rc == 77)); then
		ms_skip "$(sed 's/^SKIP: //' "$T/bed-up.err")"
	fi
	((rc == 0)) || ms_fail "the bed did not come up: $(tail -n 5 "$T/bed-up.err")"
	bed env "$BED" >"$T/bed.env" || ms_fail "bed env failed"
	# shellcheck disable=SC1091
	. "$T/bed.env"
}

# bed_var NAME I: the value of BED_NAME_I (bed.py env: NS, INI, ADDR, CACHE of node I; TNS, TDIR of
# tier node I).
bed_var() {
	local v=BED_$1_$2
	[[ -n ${!v:-} ]] || ms_fail "the bed has no $v"
	echo "${!v}"
}

# bed_get WHAT: a value of the bed (node.I.ns, node.I.addr, tier.J.dir...).
bed_get() {
	bed get "$BED" "$1" || ms_fail "bed get $1 failed"
}

# bed_read_start I KEY [CMD...]: starts, in the background, CMD (default sha256sum) of
# /models/KEY through the shim inside node I's namespace, output in $T/read-I-KEY.out and .err;
# bounded by MS_SHIM_TIMEOUT (120 s here). Its PID goes to MS_BED_READERS.
bed_read_start() {
	local i=$1 key=$2 ns ini
	shift 2
	(($#)) || set -- sha256sum
	ns=$(bed_var NS "$i")
	ini=$(bed_var INI "$i")
	local -a env=(LD_PRELOAD="$MS_PRELOAD" MODELSHIM_CONFIG="$ini")
	[[ ${MS_SANITIZED:-0} != 1 ]] || env+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
	ip netns exec "$ns" timeout -k 5 "${MS_SHIM_TIMEOUT:-120}" env "${env[@]}" "$@" "/models/$key" \
		>"$T/read-$i-${key//\//_}.out" 2>"$T/read-$i-${key//\//_}.err" &
	MS_BED_READERS+=($!)
	ms_track_pid $!
}

# bed_read_wait: waits for every reader started (each bounded by its timeout); MS_BED_FAILED is
# the number that exited non-zero.
MS_BED_FAILED=0
bed_read_wait() {
	local p
	MS_BED_FAILED=0
	for p in "${MS_BED_READERS[@]}"; do
		wait "$p" || MS_BED_FAILED=$((MS_BED_FAILED + 1))
		ms_untrack_pid "$p"
	done
	MS_BED_READERS=()
}

# bed_check_sums KEY SRC WHAT NODE...: each NODE's sha256sum of /models/KEY (bed_read_start) is
# SRC's: one ok line, else ms_bad per node with its output and error.
bed_check_sums() {
	local key=$1 src=$2 what=$3 i want got bad=0
	shift 3
	want=$(ms_sha "$src")
	for i; do
		got=$(cut -d' ' -f1 "$T/read-$i-${key//\//_}.out" 2>/dev/null || true)
		if [[ $got != "$want" ]]; then
			ms_bad "$what: node $i read ${got:-nothing} for $key, want $want: $(head -c 300 "$T/read-$i-${key//\//_}.err")"
			bad=1
		fi
	done
	((bad)) || ms_ok "$what: every node ($*) read $key right (sha256 $want)"
}
