#!/usr/bin/env bash
# t-shim-python: /usr/bin/python3 under the shim, cold (fresh import) and warm (after a full read): open/read/seek/os.pread, the mmap module, os.scandir/listdir/walk/glob/pathlib, os.path.realpath and getcwd after chdir, shutil.copyfile (sendfile), and numpy.memmap/fromfile when python3-numpy is installed.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

py=/usr/bin/python3
[[ -x $py ]] || ms_skip "$py is not installed"
ms_shim_setup "retries = 2" "timeout = 5s"

cat >"$T/check.py" <<'PY'
import glob, hashlib, mmap, os, pathlib, shutil, sys

def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)

def same(got, want, what, off=0):
    if got == want:
        return
    i = next((j for j in range(min(len(got), len(want))) if got[j] != want[j]), min(len(got), len(want)))
    zeros = got[i:i + 64] == bytes(len(got[i:i + 64])) and i < len(got)
    fail(f"{what}: {len(got)} bytes vs {len(want)}, first difference at byte {off + i}"
         + (" (zeros there: unfilled cache bytes)" if zeros else ""))

mode, args = sys.argv[1], sys.argv[2:]
if mode == "read":
    v, s = args
    want = open(s, "rb").read()
    with open(v, "rb") as f:
        for off, n in [(len(want) // 2 + 11, 300001), (70000, 5), (len(want) - 77, 1000)]:
            f.seek(off)
            same(f.read(n), want[off:off + n], f"seek({off})+read({n})", off)
        fd = f.fileno()
        off = len(want) // 3 + 1
        same(os.pread(fd, 200000, off), want[off:off + 200000], f"os.pread at {off}", off)
        f.seek(0)
        same(f.read(), want, "read() of the whole file")
    with open(v, "rb", buffering=0) as f:
        parts = [f.read(12345) for _ in range(len(want) // 12345 + 2)]
        same(b"".join(parts), want, "unbuffered reads of 12345 bytes")
    print(f"read: seek/read, os.pread, whole and unbuffered reads of {len(want)} bytes ok")
elif mode == "mmap":
    v, s = args
    want = open(s, "rb").read()
    with open(v, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        off = len(want) * 2 // 3
        same(m[off:off + 100000], want[off:off + 100000], f"mmap slice at {off}", off)
        same(m[-1:], want[-1:], "mmap last byte", len(want) - 1)
        same(m[:], want, "mmap of the whole file")
        m.close()
        off = mmap.ALLOCATIONGRANULARITY * 5
        m = mmap.mmap(f.fileno(), len(want) - off, access=mmap.ACCESS_READ, offset=off)
        same(m[:], want[off:], f"mmap at offset {off}", off)
        m.close()
    print(f"mmap: ACCESS_READ mappings of {len(want)} bytes ok")
elif mode == "scandir":
    v, s = args  # virtual dir, source dir
    def tree(top, use_scandir):
        out = set()
        if use_scandir:
            stack = [top]
            while stack:
                d = stack.pop()
                with os.scandir(d) as it:
                    for e in it:
                        rel = os.path.relpath(e.path, top)
                        if e.is_dir():
                            out.add((rel, "dir", 0)); stack.append(e.path)
                        elif e.is_file():
                            out.add((rel, "file", e.stat().st_size))
                        else:
                            out.add((rel, "other", 0))
        else:
            for d, dirs, files in os.walk(top):
                out |= {(os.path.relpath(os.path.join(d, x), top), "dir", 0) for x in dirs}
                out |= {(os.path.relpath(os.path.join(d, x), top), "file", os.path.getsize(os.path.join(d, x))) for x in files}
        return out
    want = tree(s, False)
    for use, name in [(True, "os.scandir"), (False, "os.walk")]:
        got = tree(v, use)
        if got != want:
            fail(f"{name}({v}): extra {sorted(got - want)[:5]} missing {sorted(want - got)[:5]}")
    if sorted(os.listdir(v)) != sorted(os.listdir(s)):
        fail(f"os.listdir({v}) = {sorted(os.listdir(v))}, want {sorted(os.listdir(s))}")
    g = sorted(os.path.relpath(p, v) for p in glob.glob(v + "/**", recursive=True) if p != v + "/")
    gw = sorted(os.path.relpath(p, s) for p in glob.glob(s + "/**", recursive=True) if p != s + "/")
    if g != gw:
        fail(f"glob **: {g} want {gw}")
    r = sorted(str(p.relative_to(v)) for p in pathlib.Path(v).rglob("*"))
    if r != sorted(x[0] for x in want):
        fail(f"pathlib.rglob: {r}")
    if not (os.path.isdir(v) and os.path.exists(v) and not os.path.exists(v + "/nope")):
        fail("os.path.isdir/exists")
    print(f"scandir: os.scandir, os.walk, os.listdir, glob, pathlib.rglob agree on {len(want)} entries")
elif mode == "realpath":
    top, f, s = args  # e.g. /models, /models/dir/sub/nested.bin, its source
    d = os.path.dirname(f)
    checks = {
        os.path.realpath(f): f,
        os.path.realpath(d + "/../" + os.path.basename(d) + "/./" + os.path.basename(f)): f,
        os.path.realpath(top): top,
        str(pathlib.Path(d).resolve()): d,
    }
    os.chdir(d)
    checks[os.getcwd()] = d
    checks[os.path.realpath(".")] = d
    checks[os.path.realpath(os.path.basename(f))] = f
    checks[os.path.abspath(os.path.basename(f))] = f
    checks[os.readlink(f"/proc/self/fd/{os.open(f, os.O_RDONLY)}")] = f
    for got, want in checks.items():
        if got != want:
            fail(f"realpath/getcwd gave {got!r}, want {want!r} (all: {checks})")
    same(open(os.path.basename(f), "rb").read(), open(s, "rb").read(), "relative open after os.chdir")
    print(f"realpath: realpath, resolve, getcwd, abspath, /proc/self/fd are virtual; relative read ok")
elif mode == "copyfile":
    v, s, out = args
    shutil.copyfile(v, out)
    same(open(out, "rb").read(), open(s, "rb").read(), "shutil.copyfile output")
    print("copyfile: shutil.copyfile (sendfile) output equals the source")
elif mode == "numpy":
    import numpy as np
    v, s = args
    want = np.fromfile(s, dtype=np.uint8)
    off = 65536 * 3 + 1
    m = np.memmap(v, dtype=np.uint8, mode="r", offset=off)
    same(m[-4096:].tobytes(), want[-4096:].tobytes(), "numpy.memmap(offset) tail", len(want) - 4096)
    same(m.tobytes(), want[off:].tobytes(), f"numpy.memmap offset={off}", off)
    m = np.memmap(v, dtype=np.uint8, mode="r")
    same(m.tobytes(), want.tobytes(), "numpy.memmap of the whole file")
    same(np.fromfile(v, dtype=np.uint8).tobytes(), want.tobytes(), "numpy.fromfile")
    print(f"numpy: memmap (offset {off} and whole) and fromfile of {len(want)} bytes ok (numpy {np.__version__})")
PY

# check STATE NAME KEY ARG...: check.py NAME under the shim; KEY is cold first or warm.
check() {
	local state=$1 name=$2 key=$3 rc=0 req
	shift 3
	ms_prepare "$state" "$key"
	req=$(ms_daemon_requests)
	ms_shim "$py" "$T/check.py" "$name" "$@" >"$T/py.out" 2>"$T/py.err" || rc=$?
	if ((rc == 0)) && [[ $state == warm && $req != "$(ms_daemon_requests)" ]]; then
		ms_bad "python $name warm: the daemon's requests went from $req to $(ms_daemon_requests) although $key is complete"
	elif ((rc == 0)); then
		ms_ok "python $state: $(cat "$T/py.out")"
	else
		ms_bad "python $name $state, exit $rc$( ((rc != 124)) || echo " (hung: killed after ${MS_SHIM_TIMEOUT:-20} s)"): $(grep -m 1 FAIL "$T/py.err" || tail -n 3 "$T/py.err") [stdout: $(head -c 200 "$T/py.out")]"
		tail -n 15 "$T/py.err" | sed 's/^/    | /' >&2
	fi
}

have_numpy=0
"$py" -c 'import numpy' 2>/dev/null && have_numpy=1
for state in cold warm; do
	check $state read big.bin /models/big.bin "$MS_SRC/big.bin"
	check $state read small.txt /models/small.txt "$MS_SRC/small.txt"
	check $state mmap big.bin /models/big.bin "$MS_SRC/big.bin"
	check $state scandir big.bin /models "$MS_SRC"
	check $state realpath dir/sub/nested.bin /models /models/dir/sub/nested.bin "$MS_SRC/dir/sub/nested.bin"
	check $state copyfile big.bin /models/big.bin "$MS_SRC/big.bin" "$T/copyfile.out"
	if ((have_numpy)); then
		check $state numpy big.bin /models/big.bin "$MS_SRC/big.bin"
	else
		echo "skip: numpy.memmap $state: python3-numpy is not installed for $py"
	fi
done
ms_done
