#!/usr/bin/env bash
# t-minimal-root: libmodelshim.so copied into the smallest Debian images (debootstrap minbase of
# bookworm, glibc 2.36, and bullseye, glibc 2.31: no libbsd, inih or xxhash in them; made by
# scripts/minimal-roots) loads there, and real programs of those images read virtual files
# right through it: a complete one from the cache, a cold one filled by the daemon outside the
# root through the cache dir's socket (what a pod sees of a node's daemon). Each root is entered
# in a mount namespace of its own (the cache dir bind-mounted, the .so on a tmpfs), so nothing is
# left in it.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ ${MS_SANITIZED:-0} == 1 ]] && ms_skip "a sanitized .so needs its runtimes, which no minimal image has"
(($(id -u) == 0)) || ms_skip "needs root (chroot, mount namespaces)"
roots=$MS_TOP/build-roots
for suite in bookworm bullseye; do
	[[ -e $roots/$suite/.complete ]] || ms_fail "$roots/$suite missing: scripts/test makes it (scripts/minimal-roots)"
done

ms_start_s3
mkdir -p "$T/src/m"
head -c $((3 * 1048576 + 5)) /dev/urandom >"$T/src/m/warm.bin"
head -c $((5 * 1048576 + 7)) /dev/urandom >"$T/src/m/cold-bookworm.bin"
head -c $((5 * 1048576 + 9)) /dev/urandom >"$T/src/m/cold-bullseye.bin"
ms_import_src
ms_daemon_start
"$MS_BIN" cat --config "$T/ms.ini" /models/m/warm.bin | cmp -s - "$T/src/m/warm.bin" || ms_fail "warming failed"

# in_root SUITE CMD...: CMD inside the root with only the shim's environment, in a mount
# namespace where the test dir (config, cache, socket) is where the config says and the .so is
# on a tmpfs.
in_root() {
	local root=$roots/$1
	shift
	unshare -m bash -c '
		set -e
		root=$1 t=$2 so=$3 cfg=$4
		shift 4
		mount --make-rprivate /
		mount -t tmpfs tmpfs "$root/tmp"
		mount -t proc proc "$root/proc"
		cp "$so" "$root/tmp/libmodelshim.so"
		mkdir -p "$root$t"
		mount --bind "$t" "$root$t"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin LD_PRELOAD=/tmp/libmodelshim.so \
			MODELSHIM_CONFIG="$cfg" "$@"
	' in_root "$root" "$T" "$MS_SHIM" "$T/ms.ini" "$@"
}

for suite in bookworm bullseye; do
	glibc=$(in_root "$suite" /usr/bin/ldd --version 2>/dev/null | head -n 1 | grep -o '[0-9.]*$' || true)
	rc=0
	in_root "$suite" /bin/true 2>"$T/err" || rc=$?
	((rc == 0)) || ms_fail "$suite (glibc $glibc): a program with the .so preloaded exits $rc: $(head -c 300 "$T/err")"
	[[ ! -s $T/err ]] || ms_fail "$suite: the .so printed at start: $(head -c 300 "$T/err")"
	ms_ok "$suite (glibc $glibc): the .so loads (/bin/true exits 0, nothing printed)"

	in_root "$suite" /bin/cat /models/m/warm.bin >"$T/out" 2>"$T/err" || ms_fail "$suite: cat of the complete file failed: $(head -c 300 "$T/err")"
	cmp -s "$T/out" "$T/src/m/warm.bin" || ms_fail "$suite: cat of the complete file: $(ms_why_differs "$T/out" "$T/src/m/warm.bin")"
	want=$(sha256sum <"$T/src/m/cold-$suite.bin" | cut -d' ' -f1)
	got=$(in_root "$suite" /usr/bin/sha256sum "/models/m/cold-$suite.bin" 2>"$T/err" | cut -d' ' -f1) ||
		ms_fail "$suite: sha256sum of the cold file failed: $(head -c 300 "$T/err")"
	[[ $got == "$want" ]] || ms_fail "$suite: sha256sum of the cold file through the shim: $got, not $want"
	in_root "$suite" /bin/ls /models/m >"$T/ls" 2>"$T/err" || ms_fail "$suite: ls /models/m failed: $(head -c 300 "$T/err")"
	grep -qx warm.bin "$T/ls" || ms_fail "$suite: ls /models/m does not list warm.bin: $(tr '\n' ' ' <"$T/ls")"
	ms_ok "$suite: cat, sha256sum and ls of the image read virtual files right (complete from the cache, cold through the daemon)"
done
ms_done
