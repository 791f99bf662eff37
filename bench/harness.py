"""harness.py: what every part of bench/run shares: the run's parameters, the results file, the
log, the page cache, the readers in bench/work/bin and the data set.
Owns the results file (one JSON file: meta, options, measurements; bench/report.py reads it).
Never asserts a number, and never lets a failed read count as a fast one (it is recorded as an error).
"""
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from types import SimpleNamespace

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(TOP, "bench")
WORK = os.path.join(BENCH, "work")
sys.path.insert(0, os.path.join(TOP, "scripts"))
import mslife  # noqa: E402  (scripts/mslife.py: processes, S3 server, daemon, counters, paths)

# Data set and repetitions per mode. check_n: how many reads of workload 7's fixed, seeded
# sequence are hashed for the byte check (whatever the time cap of the timed loop).
MODES = {
    "quick": dict(ckpt_mib=256, nlora=8, lora_min=16, lora_max=16, picks=40, ndirs=10, per_dir=50,
                  reps=3, creps=1, pread_n=300000, pread_t=1, w6_n=300000, w6_rounds=3, check_n=4096),
    "full": dict(ckpt_mib=2048, nlora=40, lora_min=64, lora_max=150, picks=200, ndirs=20, per_dir=100,
                 reps=5, creps=2, pread_n=1000000, pread_t=2, w6_n=1000000, w6_rounds=5, check_n=4096),
}
CURL_STREAMS = (4, 8, 16)
READERS = ("readfiles", "mmaptouch", "pread4k", "walk", "gen")
READER_TIMEOUT = 900  # seconds: no reader of the full data set comes near it


class ReadError(Exception):
    """A reader failed (its message), or a measurement is not applicable (message "n/a ...")."""


def params(mode):
    p = SimpleNamespace(mode=mode, **MODES[mode])
    p.set = mode  # the data set's name, also its key prefix in the bucket
    p.ckpt_bytes = p.ckpt_mib << 20
    return p


T0 = time.monotonic()


def log(msg):
    print("bench [%3ds] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def die(msg):
    log("FATAL: " + msg)
    sys.exit(1)


class Results:
    """The measurements: (workload, row, peer, metric, value), repeats reduced by the report.
    save() writes them with the meta data and the peers' options to one JSON file."""

    def __init__(self, path):
        self.path = path
        self.rows = []
        self.meta = {}
        self.options = ""

    def rec(self, w, row, peer, metric, value):
        self.rows.append([str(w), row, peer, metric, str(value)])

    def na(self, w, row, peer, why):
        self.rec(w, row, peer, "na", why)

    def err(self, w, row, peer, msg):
        msg = " ".join(str(msg).split())
        self.rec(w, row, peer, "error", msg[:160])
        log("  FAILED %s/%s/%s: %s" % (w, row, peer, msg[:200]))

    def fail(self, w, row, peer, e):
        """Records exception E: n/a when it says so, an error otherwise."""
        if str(e).startswith("n/a"):
            self.na(w, row, peer, str(e))
        else:
            self.err(w, row, peer, e)

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"meta": self.meta, "options": self.options, "results": self.rows}, f, indent=0)
        os.replace(tmp, self.path)


def mibps(nbytes, ns):
    return "%.1f" % (nbytes / 1048576 / (ns / 1e9))


# ------------------------------------------------------------------------------------ page cache

def can_drop_caches():
    try:
        drop_caches()
        return True
    except OSError:
        return False


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def cat(path):
    """Reads PATH whole (into the page cache)."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


# ------------------------------------------------------------------------------------ readers

def compile_readers(bindir):
    os.makedirs(bindir, exist_ok=True)
    for r in READERS:
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE", "-o",
                        os.path.join(bindir, r), os.path.join(BENCH, r + ".c")], check=True)


def run_reader(argv, env=None, timeout=READER_TIMEOUT):
    """Runs a reader; returns its stdout, or raises ReadError with what it said."""
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise ReadError("%s: no answer within %d s" % (os.path.basename(argv[0]), timeout)) from e
    if r.returncode != 0:
        raise ReadError((r.stderr or r.stdout or "exit %d" % r.returncode).strip())
    return r.stdout


def line_of(out, tag):
    """The fields after TAG of the reader's first line starting with TAG."""
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == tag:
            return f[1:]
    raise ReadError("no %r line in the reader's output: %s" % (tag, out.strip()[:200]))


# ------------------------------------------------------------------------------------ data set

SAFETENSORS_HEADER = 8192  # bytes of JSON after the 8-byte length, space-padded
SAFETENSORS_TENSORS = 64


def safetensors_header(path, size):
    """Makes the checkpoint at PATH (SIZE bytes of pseudo-random data) a valid safetensors file in
    place: its first 8 + SAFETENSORS_HEADER bytes become the header, which lays out
    SAFETENSORS_TENSORS F16 tensors of seeded, 4 KiB-aligned sizes over the rest (the last takes
    what is left), in file order."""
    data = size - 8 - SAFETENSORS_HEADER
    rnd = random.Random(10)
    weights = [rnd.uniform(0.5, 2.0) for _ in range(SAFETENSORS_TENSORS)]
    total, tensors, at = sum(weights), {}, 0
    for i, w in enumerate(weights):
        end = data if i == len(weights) - 1 else at + int(data * w / total) // 4096 * 4096
        tensors["model.layers.%02d.weight" % i] = {"dtype": "F16", "shape": [(end - at) // 2],
                                                    "data_offsets": [at, end]}
        at = end
    tensors["__metadata__"] = {"format": "pt"}
    head = json.dumps(tensors, separators=(",", ":")).encode()
    if len(head) > SAFETENSORS_HEADER or data % 2:
        raise RuntimeError("safetensors header of %d bytes does not fit" % len(head))
    with open(path, "r+b") as f:
        f.write(SAFETENSORS_HEADER.to_bytes(8, "little") + head.ljust(SAFETENSORS_HEADER, b" "))


class DataSet:
    """The local copy (src), s3rver's store (kept between runs) and the keys of this mode."""

    def __init__(self, p, bindir):
        self.p = p
        self.bindir = bindir
        self.src = os.path.join(WORK, "src", p.set)
        self.store = os.path.join(WORK, "store")
        self.obj = os.path.join(self.store, "models", p.set)  # s3rver's files: KEY._S3rver_object
        self.spec = "v2 ckpt=%dM+safetensors loras=%dx%d-%dM meta=%dx%d" % (
            p.ckpt_mib, p.nlora, p.lora_min, p.lora_max, p.ndirs, p.per_dir)
        self.stamp = os.path.join(WORK, p.set + ".stamp")
        self.ckpt = "ckpt/model.safetensors"
        self.loras = ["loras/lora-%02d.safetensors" % i for i in range(p.nlora)]
        self.large = [self.ckpt] + self.loras  # what nginx serves

    def current(self):
        try:
            with open(self.stamp) as f:
                ok = f.read().strip() == self.spec
        except OSError:
            return False
        return ok and os.path.isfile(os.path.join(self.src, self.ckpt)) and \
            os.path.isfile(self.obj_file(self.ckpt))

    def obj_file(self, rel):
        return os.path.join(self.obj, rel + "._S3rver_object")

    def generate(self):
        """Writes the local copy: the checkpoint, the LoRAs, and the small files (each one unique;
        a file at every level: s3rver's delimiter listings drop prefixes that hold no object
        directly, which would hide directories from the FUSE peers)."""
        p = self.p
        for d in (self.src, self.obj):
            subprocess.run(["rm", "-rf", d], check=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.stamp)
        for d in ("ckpt", "loras", "meta"):
            os.makedirs(os.path.join(self.src, d))
        gen = os.path.join(self.bindir, "gen")
        subprocess.run([gen, "1", str(p.ckpt_bytes), os.path.join(self.src, self.ckpt)], check=True)
        safetensors_header(os.path.join(self.src, self.ckpt), p.ckpt_bytes)
        for i, rel in enumerate(self.loras):
            mib = p.lora_min + (i * 37) % (p.lora_max - p.lora_min + 1)
            subprocess.run([gen, str(100 + i), str(mib << 20), os.path.join(self.src, rel)], check=True)
        rnd = random.Random(4)
        with open(os.path.join(self.src, "README.md"), "w") as f:
            f.write("modelshim benchmark data set\n")
        with open(os.path.join(self.src, "meta", "README.md"), "w") as f:
            f.write("2000-file metadata tree\n")
        n = 0
        for d in range(p.ndirs):
            dd = os.path.join(self.src, "meta", "d%02d" % d)
            os.makedirs(dd)
            for _ in range(p.per_dir):
                filler = "%x" % rnd.getrandbits(64)
                with open(os.path.join(dd, "f%04d.json" % n), "w") as f:
                    f.write('{"index": %d, "dir": %d, "pad": "%s"}\n' % (n, d, filler * rnd.randint(4, 200)))
                n += 1

    def mark_uploaded(self):
        with open(self.stamp, "w") as f:
            f.write(self.spec + "\n")

    def picks(self):
        """Workload 3's fixed sequence of LoRA loads."""
        rnd = random.Random(3)
        return [rnd.choice(self.loras) for _ in range(self.p.picks)]

    def lora_total(self):
        return sum(os.path.getsize(os.path.join(self.src, r)) for r in self.loras)

