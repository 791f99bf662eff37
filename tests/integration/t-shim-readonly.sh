#!/usr/bin/env bash
# t-shim-readonly: under the shim every mutating call on a virtual path gets EROFS (C program with ~55 calls, and writers: sh >, cp, touch, rm, mv, mkdir, rmdir, truncate, chmod, ln, dd of=, python) and the cache is unchanged; virtual stays virtual (realpath, getcwd, readlink of /proc/self/fd/N, pwd, readlink -f); the cache path itself is treated like the virtual path; nothing exists at /models without the shim.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

ms_shim_setup "retries = 2" "timeout = 5s"
src=$MS_SRC

# Without the shim the virtual prefix does not exist: a program the shim cannot see fails loudly.
if cat /models/small.txt >/dev/null 2>"$T/err"; then
	ms_bad "/models/small.txt is readable without the shim"
elif grep -q "No such file" "$T/err"; then
	ms_ok "without the shim /models does not exist: $(cat "$T/err")"
else
	ms_bad "without the shim: $(cat "$T/err"), want ENOENT"
fi

# writers STATE: shell-level writers all fail with "Read-only file system".
writers() {
	local state=$1 cmd rc
	local -a cmds=(
		"echo x > /models/small.txt"
		"echo x >> /models/big.bin"
		"echo x > /models/dir/new.txt"
		"cp $src/small.txt /models/dir/copy.txt"
		"cp $src/small.txt /models/small.txt"
		"touch /models/big.bin"
		"touch /models/dir/new.txt"
		"rm -f /models/big.bin"
		"rm -rf /models/dir/sub/deeper"
		"mv /models/big.bin /models/moved.bin"
		"mkdir /models/dir/newdir"
		"rmdir /models/dir/sub/deeper"
		"truncate -s 0 /models/big.bin"
		"chmod 777 /models/big.bin"
		"ln /models/big.bin /models/dir/hard"
		"ln -s big.bin /models/dir/sym"
		"dd if=/dev/zero of=/models/big.bin bs=1 count=1 conv=notrunc status=none"
		"/usr/bin/python3 -c 'open(\"/models/big.bin\", \"r+b\").write(b\"x\")'"
	)
	for cmd in "${cmds[@]}"; do
		rc=0
		ms_shim bash -c "$cmd" >/dev/null 2>"$T/err" || rc=$?
		if ((rc == 0)); then
			ms_bad "writer $state: '$cmd' succeeded"
		elif grep -q "Read-only file system" "$T/err"; then
			ms_ok "writer $state: '$cmd' -> $(grep -m1 'Read-only file system' "$T/err" | head -c 120)"
		else
			ms_bad "writer $state: '$cmd' failed without EROFS: $(head -c 200 "$T/err")"
		fi
	done
}

for state in cold warm; do
	if [[ $state == cold ]]; then
		ms_fresh
		ms_assert_cold big.bin small.txt
	else
		ms_warm big.bin small.txt dir/sub/nested.bin
	fi
	before=$(ms_cache_fingerprint)
	counts=$(ms_status_counts)
	rc=0
	ms_shim "$MS_SHIMTESTS/shim_erofs" /models/big.bin /models/dir >"$T/erofs.out" 2>&1 || rc=$?
	if ((rc == 0)); then
		ms_ok "shim_erofs $state: $(grep -c ' ok$' "$T/erofs.out") mutating calls failed with EROFS"
	else
		ms_bad "shim_erofs $state, exit $rc: $(grep FAIL "$T/erofs.out" | tr '\n' ';' | head -c 1500)"
	fi
	writers $state
	after=$(ms_cache_fingerprint)
	if [[ $before == "$after" && $counts == "$(ms_status_counts)" ]]; then
		ms_ok "cache $state: unchanged by the writers (tree, modes, mtimes, xattrs, bytes, maps)"
	else
		ms_bad "cache $state: changed by the writers; status before '$counts' after '$(ms_status_counts)'"
	fi
	if [[ $state == warm ]]; then
		for k in big.bin small.txt; do
			cmp -s "$MS_TREE/$k" "$src/$k" || ms_bad "the cached bytes of $k differ from the source after the writers"
		done
		ms_ok "cached bytes of big.bin and small.txt still equal the source"
	fi

	# Virtual stays virtual.
	if [[ $state == cold ]]; then
		ms_fresh
		ms_assert_cold dir/sub/nested.bin
	fi
	rc=0
	ms_shim "$MS_SHIMTESTS/shim_virtual" /models/dir/sub/nested.bin /models/dir/sub >"$T/virt.out" 2>&1 || rc=$?
	if ((rc == 0)); then
		ms_ok "shim_virtual $state: $(grep -c ' ok$' "$T/virt.out") paths shown are virtual"
	else
		ms_bad "shim_virtual $state, exit $rc: $(grep FAIL "$T/virt.out" | tr '\n' ';' | head -c 1500)"
	fi
	rc=0
	ms_shim bash -c 'realpath /models/dir/../big.bin; readlink -f /models/dir/sub/; readlink -f /models/dir/./sub/../a.txt
		cd /models/dir/sub && pwd && /bin/pwd && pwd -P && readlink /proc/self/cwd
		exec 3</models/big.bin; readlink /proc/self/fd/3; realpath /dev/fd/3; ls -l /proc/self/fd/3 | sed "s/.* -> //"' \
		>"$T/paths.out" 2>"$T/err" || rc=$?
	printf '%s\n' /models/big.bin /models/dir/sub /models/dir/a.txt /models/dir/sub /models/dir/sub /models/dir/sub \
		/models/dir/sub /models/big.bin /models/big.bin /models/big.bin >"$T/paths.want"
	if ((rc == 0)) && cmp -s "$T/paths.out" "$T/paths.want"; then
		ms_ok "realpath, readlink -f, pwd, /bin/pwd, pwd -P, /proc/self/cwd and /proc/self/fd/3 (across exec) $state: virtual"
	else
		ms_bad "paths $state (exit $rc): got [$(tr '\n' ' ' <"$T/paths.out")] want [$(tr '\n' ' ' <"$T/paths.want")]; $(head -c 200 "$T/err")"
	fi
done

# The cache path itself, under the shim, is treated like the virtual path: reads are filled (no
# zeros from a cold sparse file) and writes get EROFS.
ms_fresh
ms_assert_cold big.bin
rc=0
ms_shim cat "$MS_TREE/big.bin" >"$T/cachepath.out" 2>"$T/err" || rc=$?
if ((rc == 0)) && cmp -s "$T/cachepath.out" "$src/big.bin"; then
	ms_ok "cat of the cache path (cold) under the shim: the source bytes"
else
	ms_bad "cat of the cache path $MS_TREE/big.bin (cold) under the shim: exit $rc, $(ms_why_differs "$T/cachepath.out" "$src/big.bin")"
fi
before=$(ms_cache_fingerprint)
rc=0
ms_shim bash -c "echo x >> '$MS_TREE/small.txt'" 2>"$T/err" || rc=$?
if ((rc != 0)) && grep -q "Read-only file system" "$T/err" && [[ $before == "$(ms_cache_fingerprint)" ]]; then
	ms_ok "writing the cache path under the shim: EROFS, cache unchanged"
else
	ms_bad "writing the cache path $MS_TREE/small.txt under the shim: exit $rc, $(head -c 200 "$T/err")"
fi
ms_done
