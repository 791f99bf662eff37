#!/usr/bin/env bash
# t-shim-coreutils: real programs under the shim (cat, tail -c, cp, cp -r, dd with odd block sizes and skip, sha256sum, tar -cf - dir, ls -lR, find, stat, test), each cold (fresh import) and warm (after a full read); outputs equal the source bytes and metadata, and no cache path shows.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_shim_setup "retries = 2" "timeout = 5s"
src=$MS_SRC
keys=(big.bin small.txt dir/a.txt dir/sub/nested.bin dir/sub/deeper/x.txt)

# prepare STATE KEY...: cold = fresh import with KEYs uncached; warm = every object read in full.
prepare() {
	local state=$1
	shift
	if [[ $state == cold ]]; then
		ms_fresh
		ms_assert_cold "$@"
	else
		ms_warm "${keys[@]}"
	fi
}

# same TOOL STATE OUT SRC: an ok line if OUT equals SRC, else ms_bad with the difference.
same() {
	if cmp -s "$3" "$4"; then
		ms_ok "$1 $2: output equals the source ($(stat -c %s "$4") bytes)"
	else
		ms_bad "$1 $2: $(ms_why_differs "$3" "$4"); stderr: $(head -c 300 "$T/err")"
	fi
}

# run OUT CMD...: CMD under the shim, stdout to OUT, stderr to $T/err; ms_bad if it fails, or
# if warm (every object complete) it made the daemon do anything: hits cost nothing.
run() {
	local out=$1 rc=0 req
	shift
	req=$(ms_daemon_requests)
	ms_shim "$@" >"$out" 2>"$T/err" || rc=$?
	((rc == 0)) || ms_bad "$* exited $rc$( ((rc != 124)) || echo " (hung: killed after ${MS_SHIM_TIMEOUT:-20} s)"): $(head -c 300 "$T/err")"
	if [[ $state == warm && $req != "$(ms_daemon_requests)" ]]; then
		ms_bad "$* (warm): the daemon's requests went from $req to $(ms_daemon_requests)"
	fi
	return 0
}

# no_cache_path TOOL STATE FILE: the output never names the cache dir.
no_cache_path() {
	if grep -qF "$MS_CACHE_DIR" "$3"; then ms_bad "$1 $2: output shows a cache path: $(grep -m1 -F "$MS_CACHE_DIR" "$3")"; fi
	return 0
}

for state in cold warm; do
	# cat
	prepare $state big.bin
	run "$T/cat.out" cat /models/big.bin
	same cat $state "$T/cat.out" "$src/big.bin"

	# tail -c (SEEK_END) and head -c
	prepare $state big.bin
	run "$T/tail.out" tail -c 100001 /models/big.bin
	tail -c 100001 "$src/big.bin" >"$T/tail.want"
	same "tail -c" $state "$T/tail.out" "$T/tail.want"
	run "$T/head.out" head -c 200003 /models/big.bin
	head -c 200003 "$src/big.bin" >"$T/head.want"
	same "head -c" $state "$T/head.out" "$T/head.want"

	# cp (copy_file_range, SEEK_DATA/SEEK_HOLE, st_blocks): no holes in the copy.
	prepare $state big.bin dir/sub/nested.bin
	rm -rf "$T/cp.out" "$T/cpdir"
	run "$T/cp.stdout" cp /models/big.bin "$T/cp.out"
	same cp $state "$T/cp.out" "$src/big.bin"
	if [[ -e $T/cp.out ]] && (($(stat -c %b "$T/cp.out") * 512 < $(stat -c %s "$T/cp.out"))); then
		ms_bad "cp $state: the copy is sparse ($(stat -c %b "$T/cp.out") blocks for $(stat -c %s "$T/cp.out") bytes)"
	fi
	run "$T/cp.stdout" cp -r /models/dir "$T/cpdir"
	if diff -r "$T/cpdir" "$src/dir" >"$T/diff.out" 2>&1; then
		ms_ok "cp -r $state: the copied tree equals the source"
	else
		ms_bad "cp -r $state: $(head -c 300 "$T/diff.out")"
	fi

	# dd: odd block sizes, skip by blocks and by bytes, separate ibs/obs. With ASan preloaded,
	# dd's own aligned_alloc(4096, odd size) trips ASan's C11 check: odd sizes run in release only.
	prepare $state big.bin
	odd1=4097 odd3=1000003
	[[ ${MS_SANITIZED:-0} == 1 ]] && odd1=8192 odd3=1048576
	run "$T/dd1.out" dd if=/models/big.bin bs=$odd1 skip=3 count=300 status=none
	dd if="$src/big.bin" bs=$odd1 skip=3 count=300 status=none >"$T/dd1.want"
	same "dd bs=$odd1 skip=3 count=300" $state "$T/dd1.out" "$T/dd1.want"
	prepare $state big.bin # each dd starts cold: dd1 filled part of the file
	run "$T/dd2.out" dd if=/models/big.bin iflag=skip_bytes,count_bytes bs=65536 skip=1300001 count=777777 status=none
	dd if="$src/big.bin" iflag=skip_bytes,count_bytes bs=65536 skip=1300001 count=777777 status=none >"$T/dd2.want"
	same "dd skip_bytes=1300001 count_bytes=777777" $state "$T/dd2.out" "$T/dd2.want"
	prepare $state big.bin
	run "$T/dd3.out" dd if=/models/big.bin ibs=$odd3 obs=65536 skip=3 status=none
	dd if="$src/big.bin" ibs=$odd3 obs=65536 skip=3 status=none >"$T/dd3.want"
	same "dd ibs=$odd3 skip=3 (to EOF)" $state "$T/dd3.out" "$T/dd3.want"

	# sha256sum (fopen + fread) of several files.
	prepare $state big.bin small.txt dir/sub/nested.bin
	run "$T/sha.out" sha256sum /models/big.bin /models/small.txt /models/dir/sub/nested.bin
	(cd "$src" && sha256sum big.bin small.txt dir/sub/nested.bin) | sed 's|  |  /models/|' >"$T/sha.want"
	if cmp -s "$T/sha.out" "$T/sha.want"; then
		ms_ok "sha256sum $state: 3 files match their sources"
	else
		ms_bad "sha256sum $state: got [$(tr '\n' ';' <"$T/sha.out")] want [$(tr '\n' ';' <"$T/sha.want")]"
	fi

	# tar -cf - dir (openat on dirfds, fstatat; exit 1 if a file "changed as we read it").
	prepare $state dir/sub/nested.bin
	rm -rf "$T/untar" && mkdir "$T/untar"
	run "$T/dir.tar" tar -C /models -cf - dir
	if tar -xf "$T/dir.tar" -C "$T/untar" 2>"$T/untar.err" && diff -r "$T/untar/dir" "$src/dir" >"$T/diff.out" 2>&1; then
		ms_ok "tar -cf - dir $state: the archive holds the source tree"
	else
		ms_bad "tar -cf - dir $state: $(head -c 300 "$T/untar.err" "$T/diff.out")"
	fi

	# ls -lR: names, types and sizes of the source tree, mtimes of the import.
	prepare $state big.bin
	run "$T/lsR.out" ls -R /models
	# shellcheck disable=SC2012 # ls -R of the source is the expected output of ls -R
	ls -R "$src" | sed "s|^$src|/models|" >"$T/lsR.want"
	if cmp -s "$T/lsR.out" "$T/lsR.want"; then
		ms_ok "ls -R $state: the same names as the source tree"
	else
		ms_bad "ls -R $state: $(diff "$T/lsR.out" "$T/lsR.want" | head -c 300)"
	fi
	run "$T/lslR.out" ls -lRn --time-style=+%s /models
	awk '/^-/ { print $5, $7 } /^d/ { print "dir", $7 }' "$T/lslR.out" | sort >"$T/lslR.got"
	(cd "$src" && find . -mindepth 1 \( -type f -printf '%s %f\n' \) -o \( -type d -printf 'dir %f\n' \)) | sort >"$T/lslR.want"
	if cmp -s "$T/lslR.got" "$T/lslR.want"; then
		ms_ok "ls -lR $state: types and sizes equal the source's"
	else
		ms_bad "ls -lR $state: $(diff "$T/lslR.got" "$T/lslR.want" | head -c 300)"
	fi
	mt=$(awk '$7 == "big.bin" { print $6 }' "$T/lslR.out")
	[[ $mt == "$(stat -c %Y "$MS_TREE/big.bin")" ]] || ms_bad "ls -l $state: big.bin mtime $mt, want the imported $(stat -c %Y "$MS_TREE/big.bin")"
	no_cache_path "ls -lR" $state "$T/lslR.out"

	# find: the whole tree, a size filter, and -exec sha256sum (children under the shim).
	prepare $state big.bin dir/sub/nested.bin small.txt
	run "$T/find.out" find /models
	(cd "$src" && find .) | sed 's|^\.|/models|' | sort >"$T/find.want"
	if sort "$T/find.out" | cmp -s - "$T/find.want"; then
		ms_ok "find $state: the same paths as the source tree"
	else
		ms_bad "find $state: $(sort "$T/find.out" | diff - "$T/find.want" | head -c 300)"
	fi
	run "$T/find2.out" find /models -type f -size +1M
	[[ $(sort "$T/find2.out" | tr '\n' ' ') == "/models/big.bin /models/dir/sub/nested.bin " ]] ||
		ms_bad "find -type f -size +1M $state: got $(tr '\n' ' ' <"$T/find2.out")"
	run "$T/find3.out" find /models -type f -exec sha256sum {} +
	(cd "$src" && find . -type f -exec sha256sum {} +) | sed 's|  \./|  /models/|' | sort >"$T/find3.want"
	if sort "$T/find3.out" | cmp -s - "$T/find3.want"; then
		ms_ok "find -exec sha256sum $state: every file matches its source"
	else
		ms_bad "find -exec sha256sum $state: $(sort "$T/find3.out" | diff - "$T/find3.want" | head -c 400)"
	fi
	no_cache_path find $state "$T/find.out"

	# stat (statx), test -f/-d/-r/-e.
	prepare $state big.bin
	run "$T/stat.out" stat -c '%n|%s|%F|%Y' /models/big.bin /models/small.txt /models/dir/sub/nested.bin
	for k in big.bin small.txt dir/sub/nested.bin; do
		echo "/models/$k|$(stat -c %s "$src/$k")|regular file|$(stat -c %Y "$MS_TREE/$k")"
	done >"$T/stat.want"
	run "$T/stat.dir" stat -c '%n|%F' /models/dir /models/dir/sub/deeper
	printf '%s\n' "/models/dir|directory" "/models/dir/sub/deeper|directory" >>"$T/stat.want"
	cat "$T/stat.dir" >>"$T/stat.out"
	if cmp -s "$T/stat.out" "$T/stat.want"; then
		ms_ok "stat $state: $(head -n 1 "$T/stat.out")"
	else
		ms_bad "stat $state: got [$(tr '\n' ';' <"$T/stat.out")] want [$(tr '\n' ';' <"$T/stat.want")]"
	fi
	no_cache_path stat $state "$T/stat.out"
	# st_blocks answers as for a dense file, cold or warm (cp and du never see holes).
	run "$T/stat2.out" stat -c '%b %B' /models/big.bin
	dense=$((($(stat -c %s "$src/big.bin") + 511) / 512))
	if [[ $(cat "$T/stat2.out") == "$dense 512" ]]; then
		ms_ok "stat -c %b $state: $dense blocks of 512, as for a dense file"
	else
		ms_bad "stat -c '%b %B' /models/big.bin $state: got '$(cat "$T/stat2.out")', want '$dense 512'"
	fi
	if ms_shim bash -c 'test -f /models/big.bin && test -d /models/dir/sub && test -r /models/small.txt &&
		test -s /models/big.bin && ! test -e /models/nope && ! test -e /models/dir/nope/x' 2>"$T/err"; then
		ms_ok "test -f/-d/-r/-s/-e $state"
	else
		ms_bad "test -f/-d/-r/-s/-e $state: $(head -c 300 "$T/err")"
	fi
done
ms_done
