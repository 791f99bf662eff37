#!/usr/bin/env bash
# t-deploy-install: `cmake --install` puts each file where distributions expect it: the binary
# in bin, libmodelshim.so in lib/modelshim (where `modelshim run` finds it beside bin), the
# example config in share/doc/modelshim, the systemd unit (ExecStart= naming the prefix's
# binary) in lib/systemd/system with its sysusers.d user, the Kubernetes manifests in
# share/modelshim/kubernetes; with DESTDIR, for prefixes /usr and /opt/modelshim.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
builddir=$(dirname "$MS_BIN")
[[ -f $builddir/cmake_install.cmake ]] || ms_skip "$builddir is not a CMake build dir"
sdunit=yes
readelf -d "$MS_BIN" | grep -q 'libsystemd\.so' || sdunit=no

for prefix in /usr /opt/modelshim; do
	dest=$T/dest${prefix//\//-}
	DESTDIR=$dest cmake --install "$builddir" --prefix "$prefix" >"$T/install.log" 2>&1 ||
		ms_fail "cmake --install --prefix $prefix: $(tail -n 5 "$T/install.log")"
	root=$dest$prefix
	want=(bin/modelshim lib/modelshim/libmodelshim.so share/doc/modelshim/modelshim.ini)
	for f in "$MS_TOP"/deploy/kubernetes/*.yaml; do
		want+=("share/modelshim/kubernetes/${f##*/}")
		cmp -s "$f" "$root/share/modelshim/kubernetes/${f##*/}" || ms_fail "$prefix: ${f##*/} installed differs from the source"
	done
	[[ $sdunit == yes ]] && want+=(lib/systemd/system/modelshim.service lib/sysusers.d/modelshim.conf)
	for f in "${want[@]}"; do
		[[ -f $root/$f ]] || ms_fail "$prefix: $f is not installed (installed: $(cd "$dest" && find . -type f | tr '\n' ' '))"
	done
	[[ -x $root/bin/modelshim ]] || ms_fail "$prefix: bin/modelshim is not executable"
	cmp -s "$root/lib/modelshim/libmodelshim.so" "$MS_SHIM" || ms_fail "$prefix: the installed .so is not the built one"
	extra=$(cd "$dest" && find . -type f | sed 's|^\./||' | grep -v -x -F -f <(printf "${prefix#/}/%s\n" "${want[@]}") || true)
	[[ -z $extra ]] || ms_fail "$prefix: installed files nobody asked for: $extra"
	if [[ $sdunit == yes ]]; then
		unit=$root/lib/systemd/system/modelshim.service
		grep -q "^ExecStart=$prefix/bin/modelshim daemon --config " "$unit" || ms_fail "$prefix: ExecStart= of the installed unit: $(grep ^ExecStart "$unit")"
		grep -q "^ExecStartPre=-$prefix/bin/modelshim import " "$unit" || ms_fail "$prefix: ExecStartPre= of the installed unit: $(grep ^ExecStartPre "$unit")"
		if [[ $prefix == /usr ]]; then
			cmp -s "$unit" "$MS_TOP/deploy/systemd/modelshim.service" || ms_fail "/usr: the installed unit differs from deploy/systemd/modelshim.service"
		fi
	fi
	ms_ok "prefix $prefix: ${#want[@]} files where expected, nothing else$([[ $sdunit == yes ]] && echo ", ExecStart=$prefix/bin/modelshim")"
done

# `modelshim run` of the /opt/modelshim tree preloads that tree's .so (found beside bin/). A
# sanitized .so needs its runtimes preloaded first, which `modelshim run` does not add.
if [[ ${MS_SANITIZED:-0} == 1 ]]; then
	ms_ok "modelshim run of the installed tree not tried: a sanitized .so"
	ms_done
	exit 0
fi
FRONT_ENDPOINT=http://127.0.0.1:9 # never contacted
ms_write_config "$T/ms.ini"
root=$T/dest-opt-modelshim/opt/modelshim
rc=0
env -u MODELSHIM_SHIM "$root/bin/modelshim" run --config "$MS_CONFIG" -- printenv LD_PRELOAD >"$T/out" 2>"$T/err" || rc=$?
got=$(cat "$T/out")
((rc == 0)) || ms_fail "modelshim run from the installed tree exited $rc: $(cat "$T/err")"
[[ $got == "$root/lib/modelshim/libmodelshim.so" ]] ||
	ms_fail "modelshim run preloads '$got', not $root/lib/modelshim/libmodelshim.so (stderr: $(cat "$T/err"))"
ms_ok "modelshim run of the installed tree preloads $got"
ms_done
