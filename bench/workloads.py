"""workloads.py: the workloads, each a function of the Bench, and WORKLOADS, their table.
Each measures every peer it concerns and records into b.res; a peer that fails is recorded as an
error (or n/a) and the run goes on. Byte checks: every peer runs the same reader over the same
bytes (the same files, the same pick list, the same seeded offsets), and the report compares each
peer's checksum with the local file's.
Never records a number from a failed read.
"""
import os
import random
import subprocess
import sys
import time

import harness
from harness import ReadError, line_of, mibps, run_reader
from peers import PeerError

ORIGINS = ("s3", "nginx")  # workloads 1-3; workload 5 counts bytes at the front and in nginx's log


# ------------------------------------------------------------------------------------ readers as a peer

def read_one(b, peer, rel):
    """(bytes, ns, sum or None): one file read whole with 1 MiB reads."""
    if peer.fallback:
        t0 = time.monotonic_ns()
        r = subprocess.run([peer.bin, "cat", "--config", peer.config, "/models/" + rel],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise ReadError(r.stderr.strip())
        return os.path.getsize(os.path.join(b.ds.src, rel)), time.monotonic_ns() - t0, None
    _, n, ns, s = line_of(run_reader([b.reader("readfiles"), os.path.join(peer.root, rel)], peer.env()), "file")
    return int(n), int(ns), s


def mmap_one(b, peer, rel):
    if peer.fallback:
        raise ReadError("n/a (shim not built)")
    _, n, ns, s = line_of(run_reader([b.reader("mmaptouch"), os.path.join(peer.root, rel)], peer.env()), "file")
    return int(n), int(ns), s


def measure(b, w, row, peer, fn, rel):
    """One measurement of FN (read_one or mmap_one), recorded as MiB/s and its checksum."""
    try:
        n, ns, s = fn(b, peer, rel)
    except ReadError as e:
        b.res.fail(w, row, peer.name, e)
        return
    b.res.rec(w, row, peer.name, "mibps", mibps(n, ns))
    if s is not None:
        b.res.rec(w, row, peer.name, "sum", s)


def builds(peer):
    """PEER as each build it is measured as: itself, and for modelshim also every build named in
    BENCH_MS_BUILDS ("LABEL=DIR,...", DIR holding modelshim and libmodelshim.so; measured in turn
    with the default build, recorded as peer "modelshim@LABEL"), so that two builds are compared
    side by side in one run (workloads 1, 2, 8, 9 and 10). Yields the peer set up as that build."""
    yield peer
    spec = os.environ.get("BENCH_MS_BUILDS", "") if peer.name == "modelshim" and not peer.fallback else ""
    for item in filter(None, spec.split(",")):
        label, _, d = item.partition("=")
        saved = peer.name, peer.bin, peer.shim
        peer.tear_down()
        peer.name, peer.bin, peer.shim = ("modelshim@" + label, os.path.join(d, "modelshim"),
                                          os.path.join(d, "libmodelshim.so"))
        try:
            yield peer
        finally:
            peer.tear_down()
            peer.name, peer.bin, peer.shim = saved


def fresh(b, w, row, peer, origin):
    """PEER freshly mounted on ORIGIN with the origin's files in the page cache; False (and an
    error recorded) when the peer cannot be set up."""
    try:
        peer.mount(origin)
    except PeerError as e:
        b.res.err(w, row, peer.name, e)
        return False
    b.origins.warm()
    return True


def warm_rows(b, w, peer, fn):
    """Warm figures of PEER (cache complete: read twice first), page cache warm then dropped;
    modelshim takes turns with the local file so that both see the same machine."""
    for _ in range(2):
        try:
            read_one(b, peer, b.ds.ckpt)
        except ReadError:
            pass
    pair = [peer]
    if peer.name == "modelshim":
        b.local.fresh_copy()
        pair = [b.local, peer]
    for _ in range(b.p.reps):
        for q in pair:
            measure(b, w, "warm-pcwarm", q, fn, b.ds.ckpt)
    for _ in range(b.p.reps):
        for q in pair:
            if b.can_drop:
                harness.drop_caches()
                measure(b, w, "warm-pccold", q, fn, b.ds.ckpt)
            else:
                b.res.na(w, "warm-pccold", q.name, "n/a (cannot drop caches)")
    b.origins.warm()


# ------------------------------------------------------------------------------------ 1 and 2

def sequential(b, w, fn):
    """Cold from each origin (fresh client each time), then warm (workload 1: reads; 2: mmap)."""
    for peer in b.clients:
        for o in ORIGINS:
            b.log("workload %d: %s on %s" % (w, peer.name, o))
            for _ in range(b.p.creps):
                for q in builds(peer):
                    if fresh(b, w, "cold-" + o, q, o):
                        measure(b, w, "cold-" + o, q, fn, b.ds.ckpt)
            if o == "s3" and (peer.mounted() or fresh(b, w, "warm-pcwarm", peer, o)):
                warm_rows(b, w, peer, fn)
        peer.tear_down()


def w1_sequential(b):
    b.log("workload 1: raw parallel ranged curl")
    curl = b.curl
    for o in ORIGINS:
        for _ in range(b.p.creps):
            for n in harness.CURL_STREAMS:
                b.origins.warm()
                try:
                    b.res.rec(1, "cold-" + o, "curl%d" % n, "mibps", mibps(b.p.ckpt_bytes, curl.fetch(o, n)))
                except (PeerError, subprocess.TimeoutExpired) as e:
                    b.res.err(1, "cold-" + o, "curl%d" % n, e)
            out = os.path.join(b.run.dir, "curlout")
            subprocess.run(["rm", "-rf", out], check=True)
            os.makedirs(out)
            b.origins.warm()
            try:
                b.res.rec(1, "cold-" + o, "curlfile", "mibps", mibps(b.p.ckpt_bytes, curl.fetch(o, 8, out)))
            except (PeerError, subprocess.TimeoutExpired) as e:
                b.res.err(1, "cold-" + o, "curlfile", e)
            subprocess.run(["rm", "-rf", out], check=True)
    sequential(b, 1, read_one)


def w2_mmap(b):
    sequential(b, 2, mmap_one)


# ------------------------------------------------------------------------------------ 3

def loads(b, row, peer, picks):
    """Every file of PICKS read whole in order: milliseconds per load, and one checksum of all."""
    try:
        if peer.fallback:
            ms = []
            for rel in picks:
                ms.append("%.2f" % (read_one(b, peer, rel)[1] / 1e6))
            b.res.rec(3, row, peer.name, "loads_ms", ",".join(ms))
            return
        lst = os.path.join(b.run.dir, "list." + peer.name)
        with open(lst, "w") as f:
            f.writelines(os.path.join(peer.root, rel) + "\n" for rel in picks)
        out = run_reader([b.reader("readfiles"), "-l", lst], peer.env())
    except ReadError as e:
        b.res.fail(3, row, peer.name, e)
        return
    files = [line.split() for line in out.splitlines() if line.startswith("file ")]
    if len(files) != len(picks):
        b.res.err(3, row, peer.name, "%d loads of %d" % (len(files), len(picks)))
        return
    b.res.rec(3, row, peer.name, "loads_ms", ",".join("%.2f" % (int(f[3]) / 1e6) for f in files))
    b.res.rec(3, row, peer.name, "loads_sum", sum(int(f[4]) for f in files) % 1000000007)


def w3_loras(b):
    picks = b.ds.picks()
    b.log("workload 3: local file")
    for rel in b.ds.loras:
        harness.cat(os.path.join(b.ds.src, rel))
    loads(b, "warm", b.local, picks)
    if b.can_drop:
        harness.drop_caches()
        loads(b, "cold", b.local, picks)
    else:
        b.res.na(3, "cold", "local", "n/a (cannot drop caches)")
    b.origins.warm()
    for peer in b.clients:
        for o in ORIGINS:
            b.log("workload 3: %s on %s" % (peer.name, o))
            if not fresh(b, 3, "cold-" + o, peer, o):
                continue
            loads(b, "cold-" + o, peer, picks)
            if o == "s3":
                for rel in b.ds.loras:
                    try:
                        read_one(b, peer, rel)
                    except ReadError:
                        pass
                loads(b, "warm", peer, picks)
        peer.tear_down()


# ------------------------------------------------------------------------------------ 4

def walk(b, row, peer):
    """List and stat the meta tree: milliseconds, and what was seen (entries/files/bytes)."""
    if peer.fallback:
        b.res.na(4, row, peer.name, "n/a (shim not built)")
        return
    try:
        ents, files, nbytes, ns = line_of(run_reader([b.reader("walk"), os.path.join(peer.root, "meta")],
                                                     peer.env()), "walk")
    except ReadError as e:
        b.res.fail(4, row, peer.name, e)
        return
    b.res.rec(4, row, peer.name, "ms", "%.2f" % (int(ns) / 1e6))
    b.res.rec(4, row, peer.name, "entries", "%s/%s/%s" % (ents, files, nbytes))


def w4_metadata(b):
    """Local file and modelshim walk first after a page cache drop (modelshim after its import);
    the FUSE peers on a fresh mount. Origin: s3rver."""
    for peer in [b.local] + b.clients:
        b.log("workload 4: %s" % peer.name)
        if peer is not b.local and not fresh(b, 4, "first", peer, "s3"):
            continue
        if peer.name == "modelshim":
            b.res.rec(4, "import", "modelshim", "ms", "%.2f" % (peer.import_ns / 1e6))
        first = True
        if peer.name in ("local", "modelshim"):
            if b.can_drop:
                harness.drop_caches()
            elif peer is b.local:
                b.res.na(4, "first", "local", "n/a (cannot drop caches)")
                first = False
        if first:
            walk(b, "first", peer)
        for _ in range(b.p.reps):
            walk(b, "second", peer)
        peer.tear_down()
    b.origins.warm()


# ------------------------------------------------------------------------------------ 5

def eight(b, o, peer):
    """One cold reader, then eight at once, each from an empty cache: wall time and bytes of the
    checkpoint fetched from the origin (modelshim: also what its daemon says it fetched)."""
    row = "local" if peer is b.local else o
    for n in (1, 8):
        if peer is b.local:
            if not b.can_drop:
                b.res.na(5, row, "local", "n/a (cannot drop caches)")
                return
            harness.drop_caches()
        else:
            if not fresh(b, 5, row, peer, o):
                return
            b.origins.counter_reset(o)
        if peer.fallback:
            argv = [peer.bin, "cat", "--config", peer.config, "/models/" + b.ds.ckpt]
        else:
            argv = [b.reader("readfiles"), os.path.join(peer.root, b.ds.ckpt)]
        errs = [os.path.join(b.run.dir, "eight.%d.err" % i) for i in range(n)]
        t0 = time.monotonic_ns()
        procs = []
        for e in errs:
            with open(e, "w") as ef:
                procs.append(subprocess.Popen(argv, env=peer.env(), stdout=subprocess.DEVNULL, stderr=ef))
        bad = False
        for p in procs:
            try:
                bad |= p.wait(timeout=harness.READER_TIMEOUT) != 0
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                bad = True
        t1 = time.monotonic_ns()
        if bad:
            said = " ".join(open(e).read() for e in errs)
            b.res.err(5, row, peer.name, "%d readers: %s" % (n, said[:300]))
            return
        b.res.rec(5, row, peer.name, "wall%d" % n, "%.3f" % ((t1 - t0) / 1e9))
        if peer is not b.local:
            b.res.rec(5, row, peer.name, "bytes%d" % n, b.origins.counter_bytes(o))
        if peer.name == "modelshim":
            try:
                b.res.rec(5, row, peer.name, "daemon_bytes%d" % n, peer.counter("daemon.bytes_fetched"))
            except harness.mslife.LifeError as e:
                b.res.err(5, row, peer.name, e)


def w5_eight(b):
    b.log("workload 5: local file")
    eight(b, "local", b.local)
    b.origins.warm()
    for peer in b.clients:
        for o in ("front", "nginx"):
            b.log("workload 5: %s, eight readers on %s" % (peer.name, o))
            eight(b, o, peer)
        peer.tear_down()


# ------------------------------------------------------------------------------------ 6

def w6_overhead(b):
    """Per-call cost on a non-virtual file, without and with the shim preloaded (rounds alternate)."""
    ms = b.modelshim
    b.log("workload 6: interception overhead")
    if ms.have_shim:
        try:
            ms.mount("s3")  # the shim reads the config: a daemon and a cache dir as a user has them
        except PeerError as e:
            b.res.err(6, "rand", "with", e)
            return
    harness.cat(b.local.ckpt)
    for _ in range(b.p.w6_rounds):
        for env, who in ((None, "without"), (ms.env(), "with")):
            if who == "with" and not ms.have_shim:
                continue
            for m in ("rand", "open"):
                n = b.p.w6_n if m == "rand" else b.p.w6_n // 5
                try:
                    ops = line_of(run_reader([b.reader("pread4k"), "-m", m, "-n", str(n), b.local.ckpt], env), "ops")
                except ReadError as e:
                    b.res.err(6, m, who, e)
                    continue
                b.res.rec(6, m, who, "nsop", ops[2])
    if not ms.have_shim:
        for m in ("rand", "open"):
            b.res.na(6, m, "with", "n/a (shim not built)")
    ms.tear_down()


# ------------------------------------------------------------------------------------ 7

def pread_rand(b, peer):
    """Random 4 KiB preads, page cache warm: ns per read (up to pread_n reads or pread_t s), and
    the byte check: a hash of the first check_n reads of the same seeded sequence, every byte."""
    if peer.fallback:
        b.res.na(7, "warm", peer.name, "n/a (shim not built)")
        return
    try:
        out = run_reader([b.reader("pread4k"), "-w", "-c", str(b.p.check_n), "-n", str(b.p.pread_n),
                          "-t", str(b.p.pread_t), os.path.join(peer.root, b.ds.ckpt)], peer.env())
        ops, chk = line_of(out, "ops"), line_of(out, "check")
    except ReadError as e:
        b.res.fail(7, "warm", peer.name, e)
        return
    b.res.rec(7, "warm", peer.name, "nsop", ops[2])
    b.res.rec(7, "warm", peer.name, "sum", chk[1])


def w7_pread(b):
    for peer in b.clients:
        b.log("workload 7: %s" % peer.name)
        if not fresh(b, 7, "warm", peer, "s3"):
            continue
        for _ in range(2):
            try:
                read_one(b, peer, b.ds.ckpt)
            except ReadError:
                pass
        pair = [b.local, peer] if peer.name == "modelshim" else [peer]
        for _ in range(b.p.reps):
            for q in pair:
                pread_rand(b, q)
        peer.tear_down()
    b.origins.warm()


# ------------------------------------------------------------------------------------ 8

# The expert loader of workload 8, run by the peer's python3 (under the shim for modelshim): maps
# the whole file shared and read-only, touches one byte per page of NRUNS contiguous runs that
# cover SHARE of it (each at a seeded place in its own slice), and prints "experts TOUCHED
# NS_TO_FIRST_BYTE NS_ALL SUM ROUNDED" (times from just before mmap(); ROUNDED: the runs' bytes
# rounded out to CHUNK-byte chunks, a chunk shared by two runs counted once).
EXPERTS_PY = r"""
import mmap, os, random, sys, time
path, nruns, share, chunk = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
run, sl = int(size * share / nruns) & ~4095, size // nruns
rnd = random.Random(14)
starts = [(i * sl + rnd.randrange(0, max(1, sl - run))) & ~4095 for i in range(nruns)]
chunks = {c for a in starts for c in range(a // chunk, (a + run - 1) // chunk + 1)}
rounded = sum(min(chunk, size - c * chunk) for c in chunks)
t0 = time.monotonic_ns()
m = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
s = m[starts[0]]
first = time.monotonic_ns() - t0
for a in starts:
    for off in range(a, a + run, 4096):
        s = (s * 31 + m[off]) & 0xffffffff
print("experts %d %d %d %d %d" % (nruns * run, first, time.monotonic_ns() - t0, s, rounded))
"""
EXPERTS_CHUNK = 4 << 20  # modelshim's default chunk size (core/config.h): its config here sets none


def experts(b, argv, o, peer):
    """One cold run of the expert loader as PEER on origin O (local: the local file)."""
    b.log("workload 8: %s on %s" % (peer.name, o))
    if peer is not b.local:
        if not fresh(b, 8, o, peer, o):
            return
        b.origins.counter_reset(o)
    if peer.fallback:
        b.res.na(8, o, peer.name, "n/a (shim not built)")
        return
    argv[3] = os.path.join(peer.root, b.ds.ckpt)
    try:
        touched, first, total, s, rounded = line_of(run_reader(argv, peer.env()), "experts")
    except ReadError as e:
        b.res.fail(8, o, peer.name, e)
        return
    b.res.rec(8, o, peer.name, "touched", int(touched))
    b.res.rec(8, o, peer.name, "rounded", int(rounded))
    b.res.rec(8, o, peer.name, "first_ms", "%.1f" % (int(first) / 1e6))
    b.res.rec(8, o, peer.name, "all_ms", "%.1f" % (int(total) / 1e6))
    b.res.rec(8, o, peer.name, "sum", s)
    if peer is not b.local:
        b.res.rec(8, o, peer.name, "bytes", b.origins.counter_bytes(o))
        if peer.name.startswith("modelshim"):
            try:
                b.res.rec(8, o, peer.name, "daemon_bytes", peer.counter("daemon.bytes_fetched"))
            except harness.mslife.LifeError as e:
                b.res.err(8, o, peer.name, e)


def cold_runs(b, fn, argv):
    """FN(b, argv, origin, peer) for every client peer (each build of it) on the SigV4 front and
    on nginx, creps times each, every run from an empty cache; the origins' page cache warm after."""
    for peer in b.clients:
        for o in ("front", "nginx"):
            for _ in range(b.p.creps):
                for q in builds(peer):
                    fn(b, argv, o, q)
        peer.tear_down()
    b.origins.warm()


def chunk_get(b, w, o, off, metric):
    """One chunk's ranged GET from origin O (the chunk at OFF, rounded down to a chunk; curl's own
    time, to /dev/null, 3 runs), recorded as METRIC of workload W: the yardstick of a first byte."""
    size = b.p.ckpt_bytes
    first = off // EXPERTS_CHUNK * EXPERTS_CHUNK
    url = "%s/models/%s/%s" % (b.origins.endpoint(o), b.p.set, b.ds.ckpt)
    for _ in range(3):
        r = subprocess.run(["curl", "-sSf", "--no-progress-meter", "--aws-sigv4", "aws:amz:us-east-1:s3",
                            "--user", "S3RVER:S3RVER", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                            "-r", "%d-%d" % (first, min(first + EXPERTS_CHUNK, size) - 1), "-o", "/dev/null",
                            "-w", "%{time_total}", url], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            b.res.err(w, o, "curl", r.stderr.strip() or "curl exit %d" % r.returncode)
            return
        b.res.rec(w, o, "curl", metric, "%.1f" % (float(r.stdout) * 1e3))


def experts_first(b):
    """Where EXPERTS_PY's first run starts (its first touched byte)."""
    run = int(b.p.ckpt_bytes * 0.05 / 8) & ~4095  # 8 runs over 5%
    return random.Random(14).randrange(0, max(1, b.p.ckpt_bytes // 8 - run)) & ~4095


def w8_experts(b):
    """Whole-file mmap of the checkpoint touching 5% of it as 8 contiguous runs ("experts"), cold
    from each origin, creps times: bytes fetched (the origin's counter), the touched bytes, and
    the time from mmap() to the first touched byte; the local file gives the checksum every peer
    must match."""
    argv = [sys.executable, "-c", EXPERTS_PY, None, "8", "0.05", str(EXPERTS_CHUNK)]
    experts(b, argv, "local", b.local)
    for o in ("front", "nginx"):
        chunk_get(b, 8, o, experts_first(b), "chunk_get_ms")
    cold_runs(b, experts, argv)


# The first-byte reader of workload 9, run by the peer's python3: opens the checkpoint and reads
# 4 KiB at offset 0, then 4 KiB in the middle of a chunk in the middle of the file (a chunk no
# prefetch at open asks for), and prints "ttfb NS_OPEN_TO_FIRST NS_MID CRC" (NS_OPEN_TO_FIRST from
# just before open() to the first read's return; NS_MID: the second read alone).
TTFB_PY = r"""
import os, sys, time, zlib
path, chunk = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic_ns()
fd = os.open(path, os.O_RDONLY)
a = os.pread(fd, 4096, 0)
t1 = time.monotonic_ns()
mid = os.fstat(fd).st_size // 2 // chunk * chunk + chunk // 2
t2 = time.monotonic_ns()
c = os.pread(fd, 4096, mid)
t3 = time.monotonic_ns()
if len(a) != 4096 or len(c) != 4096:
    sys.exit("short read: %d and %d bytes" % (len(a), len(c)))
print("ttfb %d %d %d" % (t1 - t0, t3 - t2, zlib.crc32(c, zlib.crc32(a))))
"""


def cold_read(b, w, argv, o, peer, tag):
    """One cold run of the reader ARGV (its argv[3], the checkpoint's path, set here) as PEER on
    origin O for workload W (local: the local file, page cache warm): the fields of its TAG line,
    or None (recorded as n/a or as a failure)."""
    b.log("workload %d: %s on %s" % (w, peer.name, o))
    if peer is not b.local and not fresh(b, w, o, peer, o):
        return None
    if peer.fallback:
        b.res.na(w, o, peer.name, "n/a (shim not built)")
        return None
    argv[3] = os.path.join(peer.root, b.ds.ckpt)
    try:
        return line_of(run_reader(argv, peer.env()), tag)
    except ReadError as e:
        b.res.fail(w, o, peer.name, e)
        return None


def ttfb(b, argv, o, peer):
    """One cold run of the first-byte reader as PEER on origin O (local: the local file)."""
    got = cold_read(b, 9, argv, o, peer, "ttfb")
    if got is None:
        return
    first, mid, s = got
    b.res.rec(9, o, peer.name, "first_ms", "%.1f" % (int(first) / 1e6))
    b.res.rec(9, o, peer.name, "mid_ms", "%.1f" % (int(mid) / 1e6))
    b.res.rec(9, o, peer.name, "sum", s)


def w9_ttfb(b):
    """Time to the first byte of a cold read: open() and a 4 KiB read at offset 0, then one in the
    middle of the file, from an empty cache on each origin, creps times; the yardstick is one
    ranged curl GET of the same chunk."""
    argv = [sys.executable, "-c", TTFB_PY, None, str(EXPERTS_CHUNK)]
    ttfb(b, argv, "local", b.local)
    mid = b.p.ckpt_bytes // 2 // EXPERTS_CHUNK * EXPERTS_CHUNK
    for o in ("front", "nginx"):
        chunk_get(b, 9, o, 0, "first_get_ms")
        chunk_get(b, 9, o, mid, "mid_get_ms")
    cold_runs(b, ttfb, argv)


# The safetensors-style loader of workload 10, run by the peer's python3: reads the header (its
# 8-byte length, then the JSON), then every tensor whole with one pread each in file order, as a
# loader that copies tensors to a device does; prints "load BYTES NS_HEADER NS_ALL SUM" (times
# from just before open(); SUM: a CRC of one byte in 4096 of every tensor).
LOAD_PY = r"""
import json, os, sys, time, zlib
t0 = time.monotonic_ns()
fd = os.open(sys.argv[1], os.O_RDONLY)
n = int.from_bytes(os.pread(fd, 8, 0), "little")
head = json.loads(os.pread(fd, n, 8))
t1 = time.monotonic_ns()
s = total = 0
for a, b in sorted(tuple(t["data_offsets"]) for k, t in head.items() if k != "__metadata__"):
    buf = os.pread(fd, b - a, 8 + n + a)
    if len(buf) != b - a:
        sys.exit("short read: %d of %d bytes at %d" % (len(buf), b - a, 8 + n + a))
    s = zlib.crc32(buf[::4096], s)
    total += b - a
print("load %d %d %d %d" % (total, t1 - t0, time.monotonic_ns() - t0, s))
"""


def st_load(b, argv, o, peer):
    """One cold run of the safetensors loader as PEER on origin O (local: the local file, its page
    cache warm: the loader's own cost)."""
    got = cold_read(b, 10, argv, o, peer, "load")
    if got is None:
        return
    n, head, total, s = got
    b.res.rec(10, o, peer.name, "header_ms", "%.1f" % (int(head) / 1e6))
    b.res.rec(10, o, peer.name, "mibps", mibps(int(n), int(total)))
    b.res.rec(10, o, peer.name, "sum", s)


def w10_load(b):
    """A safetensors-style load of the checkpoint (header, then every tensor in file order), cold
    from each origin, creps times: the time to the parsed header and the load's MiB/s."""
    argv = [sys.executable, "-c", LOAD_PY, None]
    st_load(b, argv, "local", b.local)
    cold_runs(b, st_load, argv)


# (number, what it measures, function): bench/run runs the selected ones in this order.
WORKLOADS = [
    (1, "sequential 1 MiB reads of the checkpoint", w1_sequential),
    (2, "the checkpoint mmapped, every page touched", w2_mmap),
    (3, "LoRA switching", w3_loras),
    (4, "list and stat a tree of small files", w4_metadata),
    (5, "eight cold processes loading one checkpoint", w5_eight),
    (6, "interception overhead on a non-virtual file", w6_overhead),
    (7, "random 4 KiB preads, page cache warm", w7_pread),
    (8, "the checkpoint mmapped whole, 5% touched as 8 runs (experts)", w8_experts),
    (9, "time to the first byte of a cold read", w9_ttfb),
    (10, "a safetensors-style load: header, then every tensor", w10_load),
]
