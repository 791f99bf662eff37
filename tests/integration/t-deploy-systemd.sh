#!/usr/bin/env bash
# t-deploy-systemd: deploy/systemd/modelshim.service as systemd would load it, and the daemon
# inside the sandbox it sets up. `systemd-analyze verify` (no systemd as PID 1 needed) of the
# unit as shipped, in a root laid out like an install (/usr/bin/modelshim, the distribution's
# units), prints nothing; the check itself is shown to catch a bad key. Then what the unit runs
# (its ExecStartPre import and its ExecStart daemon, serving a cold read) is traced (strace) and
# every system call, socket family and written path is checked against the unit's
# SystemCallFilter, RestrictAddressFamilies, ProtectSystem=strict (only the CacheDirectory
# written), ProtectHome and ProcSubset (tests/deploy/sandbox_check.py): what it does survives
# the hardening.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
command -v systemd-analyze >/dev/null || ms_skip "systemd-analyze is missing (scripts/setup installs systemd)"
command -v strace >/dev/null || ms_skip "strace is missing (scripts/setup installs it)"
unit=$MS_TOP/deploy/systemd/modelshim.service
[[ -f $unit ]] || ms_fail "$unit is missing"
units=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)
[[ -e $units/sysinit.target ]] || ms_skip "no systemd unit tree at $units (the systemd package)"

# 1. verify, in a root with the distribution's units and the binary where ExecStart= says.
root=$T/root
exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[[ $exe == /* ]] || ms_fail "ExecStart= of $unit names no absolute program: '$exe'"
mkdir -p "$root$(dirname "$exe")" "$root/etc/systemd/system" "$root$units"
cp -a "$units/." "$root$units/"
cp "$MS_BIN" "$root$exe"
cp "$unit" "$root/etc/systemd/system/"
verify() {
	systemd-analyze verify --root="$root" "$1" >"$T/verify.out" 2>&1 || echo "(exit $?)" >>"$T/verify.out"
}
verify modelshim.service
[[ ! -s $T/verify.out ]] || ms_fail "systemd-analyze verify of $unit: $(cat "$T/verify.out")"
ms_ok "systemd-analyze verify of deploy/systemd/modelshim.service prints nothing (ExecStart=$exe)"

sed 's/^Type=notify$/Type=notify\nProtectSystem=strcit/' "$unit" >"$root/etc/systemd/system/modelshim-bad.service"
verify modelshim-bad.service
grep -q "strcit" "$T/verify.out" || ms_fail "verify did not notice a bad value: $(cat "$T/verify.out")"
ms_ok "the check can fail: a misspelt value is reported ($(head -n 1 "$T/verify.out"))"

# What the unit relies on, stated so that an edit that drops it fails here.
for want in "Type=notify" "WatchdogSec=" "CacheDirectory=modelshim" "ProtectSystem=strict" "ProtectHome=yes" \
	"PrivateTmp=yes" "NoNewPrivileges=yes" "SystemCallFilter=@system-service" "Restart=on-failure"; do
	grep -q "^$want" "$unit" || ms_fail "$unit lacks $want"
done
! grep -q "^DynamicUser=yes" "$unit" || ms_fail "DynamicUser=yes puts the cache under the 0700 /var/cache/private: tenants could not reach the socket"
ms_ok "the unit keeps Type=notify, WatchdogSec, CacheDirectory, the hardening, and no DynamicUser"

# 2. The unit's commands, traced, in the test's cache dir (standing for /var/cache/modelshim).
# A sanitized build's runtime makes calls of its own (and LeakSanitizer cannot run traced):
# the sandbox is checked on the plain builds only.
[[ ${MS_SANITIZED:-0} == 1 ]] && {
	ms_ok "sandbox check skipped: a sanitized build's runtime makes system calls the product does not"
	ms_done
	exit 0
}
ms_start_s3
mkdir -p "$T/src"
head -c $((3 * 1048576 + 11)) /dev/urandom >"$T/src/cold.bin"
ms_put "$T/src"
ms_write_config "$T/ms.ini"
# A tenant with a gid, as the shipped config has: the daemon chgrp's the tenant's tree (@chown).
printf '[tenant "default"]\ngid = 2001\n' >>"$MS_CONFIG"
grep -q "^ExecStartPre=-$exe import -q --config " "$unit" || ms_fail "the unit's ExecStartPre is not '-$exe import -q --config ...'"
strace -f -qq -yy -o "$T/import.strace" "$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
strace -f -qq -yy -o "$T/daemon.strace" "$MS_BIN" daemon --config "$MS_CONFIG" >>"$T/daemon.log" 2>&1 &
tracer=$!
ms_track_pid "$tracer"
for ((i = 0; i < 100; i++)); do
	[[ -n $(ms_daemon_pid) ]] && break
	ms_alive "$tracer" || ms_fail "the traced daemon exited: $(tail -n 5 "$T/daemon.log")"
	sleep 0.1
done
[[ -n $(ms_daemon_pid) ]] || ms_fail "the traced daemon does not serve after 10 s"
"$MS_BIN" cat --config "$MS_CONFIG" /models/cold.bin | cmp -s - "$T/src/cold.bin" || ms_fail "the cold read through the traced daemon failed"
ms_life daemon-stop "$MS_RUN" "$MS_CACHE_DIR" --timeout 10 >/dev/null || ms_fail "the traced daemon did not stop on SIGTERM"
ms_wait_gone "$tracer" 100 || ms_fail "strace did not exit"
ms_untrack_pid "$tracer"
for call in io_uring_setup io_uring_enter chown; do
	grep -q "^[0-9]* *$call(\|<\.\.\. $call resumed>" "$T/import.strace" "$T/daemon.strace" || ms_fail "no $call in the traces: the check would not cover it"
done
for what in import daemon; do
	out=$("$MS_PY" "$MS_TOP/tests/deploy/sandbox_check.py" "$unit" "$T/$what.strace" "$MS_CACHE_DIR" 2>&1) ||
		ms_fail "$what would not survive the unit's sandbox: $out"
	ms_ok "$what under the unit's sandbox: $out"
done

# The check can fail: a call outside the filter and a write outside the cache dir are reported.
printf '1 reboot(LINUX_REBOOT_MAGIC1, 0) = -1 EPERM\n1 openat(AT_FDCWD, "/etc/x", O_WRONLY|O_CREAT, 0644) = 3\n' >"$T/bad.strace"
if out=$("$MS_PY" "$MS_TOP/tests/deploy/sandbox_check.py" "$unit" "$T/bad.strace" "$MS_CACHE_DIR" 2>&1); then
	ms_fail "sandbox_check accepted reboot and a write to /etc: $out"
fi
[[ $out == *reboot* && $out == */etc/x* ]] || ms_fail "sandbox_check missed one of reboot, /etc/x: $out"
ms_ok "the sandbox check can fail: $(echo "$out" | tr '\n' ';')"
ms_done
