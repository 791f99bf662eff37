#!/usr/bin/python3
"""Turns bench/run's measurements into markdown: one table per workload, the targets with the
gap where one is not met, the byte checks, the machine and the exact options. Prints it and
writes it to OUT.

usage: report.py RESULTS.json OUT

RESULTS.json (written by bench/run): {"meta": {KEY: VALUE}, "options": MARKDOWN, "results":
[[workload, row, peer, metric, value], ...]}; repeated measurements of the same (workload, row,
peer, metric) are reduced to their median. Nothing here asserts a number.
"""
import json
import statistics
import sys
from collections import defaultdict

res_path, out_path = sys.argv[1:3]
with open(res_path) as f:
    DOC = json.load(f)

R = defaultdict(list)
for w, row, peer, metric, value in DOC["results"]:
    R[(w, row, peer, metric)].append(value)

M = {k: str(v) for k, v in DOC["meta"].items()}

FUSE = ["s3fs", "rclone"]
ORIG = {"s3": "s3rver", "nginx": "nginx", "front": "s3rver via the SigV4 front"}


def num(w, row, peer, metric):
    """Median of the numeric values recorded, or None."""
    vals = []
    for v in R.get((w, row, peer, metric), []):
        try:
            vals.append(float(v))
        except ValueError:
            pass
    return statistics.median(vals) if vals else None


def nruns(w, row, peer, metric):
    return len(R.get((w, row, peer, metric), []))


def why(w, row, peer):
    """Why a cell has no number: n/a text or 'error'."""
    if R.get((w, row, peer, "error")):
        return "error"
    na = R.get((w, row, peer, "na"))
    if na:
        return na[0]
    return "–"


def f0(x):
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return "%.2f×" % (a / b)


def cell(w, row, peer, metric, fmt=f0):
    v = num(w, row, peer, metric)
    return fmt(v) if v is not None else why(w, row, peer)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def loads(w, row, peer):
    """(mean, p99, n) of the per-load milliseconds, or None."""
    vals = R.get((w, row, peer, "loads_ms"))
    if not vals:
        return None
    xs = sorted(float(x) for x in vals[-1].split(",") if x)
    if not xs:
        return None
    k = max(0, -(-99 * len(xs) // 100) - 1)  # nearest rank
    return statistics.fmean(xs), xs[k], len(xs)


def curl_best(row):
    best, which = None, None
    for n in M.get("curl_streams", "").split():
        v = num("1", row, "curl" + n, "mibps")
        if v is not None and (best is None or v > best):
            best, which = v, n
    return best, which


out = []
P = out.append
gib = int(M["ckpt_bytes"]) / 2**30
ckpt_desc = ("%.0f GiB" % gib) if gib >= 1 else ("%d MiB" % int(M["ckpt_mib"]))
P("# modelshim benchmark results%s" % (" (quick mode)" if M.get("mode") == "quick" else ""))
P("")
P("Written by `bench/run%s` on %s in %s s. Numbers come from one shared, noisy 2-core VM: "
  "read them as ratios on this machine, not as absolutes. Nothing here is asserted by a test."
  % (" --quick" if M.get("mode") == "quick" else "", M["date"], M["elapsed"]))
P("")
P("| machine | |")
P("|---|---|")
P("| cores | %s |" % M["cpu"])
P("| memory | %s |" % M["mem"])
P("| kernel | %s (%s) |" % (M["kernel"], M["os"]))
P("| file system of the caches | %s |" % M["fs"])
if "pc_write_4m" in M:
    P("| new page cache: 1 GiB written into a new file (dd, no fsync) | %s MB/s with 4 MiB writes, %s MB/s with "
      "256 KiB writes (the page cache keeps the write's size as its folio size; see Cold path) |"
      % (M["pc_write_4m"], M["pc_write_256k"]))
P("| modelshim | commit %s; shim %s |" % (M["commit"], "built (LD_PRELOAD)" if M["shim"] == "1"
                                            else "NOT built: whole-file reads through `modelshim cat`, the rest n/a"))
P("| peers | %s, %s, %s (origin), %s, fuse3 %s, s3rver %s on node %s |"
  % (M["v_s3fs"], M["v_rclone"], M["v_nginx"], M["v_curl"], M["v_fuse"].split()[-1] if M["v_fuse"] else "?",
     M["v_s3rver"], M["v_node"]))
P("")
P("Data set: one %s checkpoint; %s LoRAs of %s MiB (%.2f GiB in all), %s random picks; a tree of %s "
  "small files in %s directories. Warm figures are medians of %s runs, cold figures of %s. "
  "**Ratios are modelshim ÷ peer for throughput and peer ÷ modelshim for times: above 1 means modelshim "
  "is better.**"
  % (ckpt_desc, M["nlora"], M["lora_mib"], int(M["lora_total"]) / 2**30, M["picks"], M["meta_files"],
     M["meta_dirs"], M["reps"], M["creps"]))
P("")
P("Origins: *s3rver* is the project's loopback S3 server (node, one thread; ~0.9 GiB/s at best here); "
  "*nginx* serves the same large objects from s3rver's files with sendfile and proxies everything else "
  "(listings, small files) to s3rver, so cold reads measure the client rather than the server. "
  "Every peer reads from the origin named in the row; workload 5 counts bytes at the SigV4 front "
  "(s3rver) and in nginx's access log. Before each cold run the origin's files are in the page cache; "
  "the client's cache is empty (modelshim: fresh cache dir and import; FUSE peers: fresh mount and cache dir).")
P("")
if M.get("can_drop") != "1":
    P("**Dropping the page cache (`/proc/sys/vm/drop_caches`) did not work here: the page-cache-cold rows are n/a.**")
    P("")

# ---------------------------------------------------------------------------------------- W1, W2
def seq_table(w, title, with_curl):
    P("## %s" % title)
    P("")
    hdr = ["state", "local file", "modelshim", "s3fs", "rclone"]
    if with_curl:
        hdr += ["curl (best N)", "curl ×8 into new files"]
    hdr += ["modelshim ÷ local", "÷ s3fs", "÷ rclone"]
    if with_curl:
        hdr += ["÷ curl"]
    rows = []
    spec = [("warm-pcwarm", "warm: cache complete, page cache warm", "warm-pcwarm"),
            ("warm-pccold", "warm: cache complete, page cache dropped", "warm-pccold"),
            ("cold-s3", "cold: empty cache, origin s3rver", None),
            ("cold-nginx", "cold: empty cache, origin nginx", None)]
    for row, label, localrow in spec:
        msv = num(w, row, "modelshim", "mibps")
        loc = num(w, localrow, "local", "mibps") if localrow else None
        r = [label, (cell(w, localrow, "local", "mibps") if localrow else "–"),
             cell(w, row, "modelshim", "mibps"), cell(w, row, "s3fs", "mibps"), cell(w, row, "rclone", "mibps")]
        cb = None
        if with_curl:
            if row.startswith("cold"):
                cb, n = curl_best(row)
                r += [("%s (×%s)" % (f0(cb), n)) if cb is not None else why(w, row, "curl8"),
                      cell(w, row, "curlfile", "mibps")]
            else:
                r += ["–", "–"]
        r += [ratio(msv, loc), ratio(msv, num(w, row, "s3fs", "mibps")), ratio(msv, num(w, row, "rclone", "mibps"))]
        if with_curl:
            r += [ratio(msv, cb)]
        rows.append(r)
    P(table(hdr, rows))
    P("")


def ms_builds(w):
    """The modelshim builds measured beside the default one (bench/run with BENCH_MS_BUILDS)."""
    return sorted({k[2] for k in R if k[0] == w and k[2].startswith("modelshim@")})


def section(w, title):
    """Whether workload W has results in this run; if so, its heading TITLE is written."""
    if not any(k[0] == w for k in R):
        return False
    P("## " + title)
    P("")
    return True


def cold_peers(w):
    """(origin, peer) of each row of workload W: the local file, then on the SigV4 front and on nginx
    modelshim, its other builds and the FUSE peers."""
    for o in ["local", "front", "nginx"]:
        for peer in (["local"] if o == "local" else ["modelshim"] + ms_builds(w) + FUSE):
            yield o, peer


def builds_note(w):
    """The closing lines of workload W's section: what its modelshim@LABEL rows are, if any."""
    if ms_builds(w):
        P("")
        P("Rows `modelshim@LABEL`: another modelshim build, measured in turn with the default one in this run "
          "(`BENCH_MS_BUILDS`).")
    P("")


def builds_table(w, rows, metric, higher):
    """Cold figures (METRIC of ROWS) of every modelshim build, measured in turn in this run
    (BENCH_MS_BUILDS); HIGHER: a higher figure is better."""
    other = ms_builds(w)
    if not other:
        return
    P("modelshim builds side by side (measured in turn in this run, `BENCH_MS_BUILDS`; ratio: the "
      "default build `modelshim` against each other one, above 1 means the default build is better):")
    P("")
    out = []
    for row, label in rows:
        base = num(w, row, "modelshim", metric)
        r = [label, cell(w, row, "modelshim", metric)]
        for q in other:
            v = num(w, row, q, metric)
            r += [cell(w, row, q, metric), ratio(base, v) if higher else ratio(v, base)]
        out.append(r)
    hdr = ["state", "modelshim"]
    for q in other:
        hdr += [q, "modelshim ÷ " + q.split("@", 1)[1] if higher else q.split("@", 1)[1] + " ÷ modelshim"]
    P(table(hdr, out))
    P("")


seq_table("1", "1. Sequential read of the %s checkpoint, 1 MiB reads (MiB/s)" % ckpt_desc, True)
P("curl: the checkpoint split into N equal ranges fetched at once by one curl, to /dev/null (the network "
  "limit; best N of %s) and, for reference, into fresh files. curl writes its files in pieces of at most "
  "16 KiB (what libcurl hands its write callback), which the page cache keeps as small folios; modelshim "
  "writes 2 MiB pieces, kept as 2 MiB folios (what a warm mmap maps whole, workload 2): the machine table "
  "gives what each costs here." % "/".join(M["curl_streams"].split()))
P("")
builds_table("1", [("cold-s3", "cold: empty cache, origin s3rver"), ("cold-nginx", "cold: empty cache, origin nginx")],
             "mibps", True)
seq_table("2", "2. The same checkpoint mmapped and every 4 KiB page touched (MiB/s)", False)
P("Warm rows of workloads 1 and 2: the local file and modelshim are measured in turn. The local file is a fresh "
  "copy written with 4 MiB writes: from a warm page cache, mmap costs depend on the page-cache folio size, which "
  "follows how the file was written (here 4 MiB writes give 2 MiB folios mapped whole; 64 KiB writes make the "
  "same touch loop ~25× slower), and modelshim's cache files are written in 4 MiB chunks.")
P("")


builds_table("2", [("cold-s3", "cold: empty cache, origin s3rver"), ("cold-nginx", "cold: empty cache, origin nginx")],
             "mibps", True)

# ---------------------------------------------------------------------------------------- W3
P("## 3. LoRA switching: %s picks among %s LoRAs of %s MiB, each read whole (ms per load: mean / p99)"
  % (M["picks"], M["nlora"], M["lora_mib"]))
P("")
rows = []
for row, label, lrow in [("cold-s3", "from an empty cache, origin s3rver", "cold"),
                         ("cold-nginx", "from an empty cache, origin nginx", "cold"),
                         ("warm", "cache complete, page cache warm", "warm")]:
    ms = loads("3", row, "modelshim")
    r = [label]
    for peer, prow in [("local", lrow), ("modelshim", row), ("s3fs", row), ("rclone", row)]:
        v = loads("3", prow, peer)
        r.append("%s / %s" % (f0(v[0]), f0(v[1])) if v else why("3", prow, peer))
    for peer, prow in [("local", lrow), ("s3fs", row), ("rclone", row)]:
        v = loads("3", prow, peer)
        r.append("%s / %s" % (ratio(v[0], ms[0]), ratio(v[1], ms[1])) if (v and ms) else "–")
    rows.append(r)
P(table(["sequence", "local file", "modelshim", "s3fs", "rclone", "speed-up vs local", "vs s3fs", "vs rclone"], rows))
P("")
P("The local file's cold sequence starts right after the page cache is dropped. A cold sequence loads each "
  "LoRA from the origin the first time it is picked and from the client's cache after that.")
P("")

# ---------------------------------------------------------------------------------------- W4
P("## 4. Metadata: list and stat a tree of %s files in %s directories (ms per walk)" % (M["meta_files"], M["meta_dirs"]))
P("")
rows = []
imp = num("4", "import", "modelshim", "ms")
first = num("4", "first", "modelshim", "ms")
for row, label in [("first", "first walk (FUSE: fresh mount; modelshim: after import and a page cache drop; local: page cache dropped)"),
                   ("second", "second walk (caches warm)")]:
    msv = num("4", row, "modelshim", "ms")
    r = [label] + [cell("4", row, p, "ms") for p in ["local", "modelshim", "s3fs", "rclone"]]
    r += [ratio(num("4", row, p, "ms"), msv) for p in ["local", "s3fs", "rclone"]]
    rows.append(r)
both = imp + first if (imp is not None and first is not None) else None
rows.append(["import + first walk (modelshim's whole cold path; FUSE: first walk)", "–",
             f0(both) if both is not None else why("4", "import", "modelshim"),
             cell("4", "first", "s3fs", "ms"), cell("4", "first", "rclone", "ms"), "–",
             ratio(num("4", "first", "s3fs", "ms"), both), ratio(num("4", "first", "rclone", "ms"), both)])
P(table(["walk", "local file", "modelshim", "s3fs", "rclone", "speed-up vs local", "vs s3fs", "vs rclone"], rows))
P("")
P("`modelshim import` lists the whole data set (%s objects), not only the tree; it took %s ms. Origin: s3rver."
  % (int(M["meta_files"]) + int(M["nlora"]) + 3, f0(imp) if imp is not None else why("4", "import", "modelshim")))
ents = {p: R.get(("4", "first", p, "entries"), [None])[-1] for p in ["local", "modelshim", "s3fs", "rclone"]}
seen = {p: e for p, e in ents.items() if e}
if len(set(seen.values())) > 1:
    P("")
    P("**The peers did not see the same tree** (entries/files/bytes): %s" %
      ", ".join("%s %s" % (p, e) for p, e in seen.items()))
P("")

# ---------------------------------------------------------------------------------------- W5
P("## 5. Eight processes loading the same checkpoint at once, cold")
P("")
ob = int(M["ckpt_bytes"])
for o in ["front", "nginx"]:
    P("Origin: %s." % ORIG[o])
    P("")
    rows = []
    ms8 = num("5", o, "modelshim", "wall8")
    for peer in ["local", "modelshim", "s3fs", "rclone"]:
        row = "local" if peer == "local" else o
        w1, w8 = num("5", row, peer, "wall1"), num("5", row, peer, "wall8")
        b1, b8 = num("5", row, peer, "bytes1"), num("5", row, peer, "bytes8")
        r = [peer + (" (page cache dropped)" if peer == "local" else ""),
             "%.2f" % w1 if w1 is not None else why("5", row, peer),
             "%.2f" % w8 if w8 is not None else why("5", row, peer),
             ratio(w8, w1)]
        if peer == "local":
            r += ["–", "–"]
        else:
            r += [("%.2f×" % (b1 / ob)) if b1 is not None else "–",
                  ("%.2f× (%d MiB)" % (b8 / ob, b8 / 2**20)) if b8 is not None else "–"]
        r.append("–" if peer == "modelshim" else ratio(w8, ms8))
        rows.append(r)
    P(table(["peer", "1 reader (s)", "8 readers (s)", "8 ÷ 1", "fetched, 1 reader (× object)",
             "fetched, 8 readers (× object)", "modelshim speed-up (8 readers)"], rows))
    P("")
    d1, d8 = num("5", o, "modelshim", "daemon_bytes1"), num("5", o, "modelshim", "daemon_bytes8")
    if d1 is not None and d8 is not None:
        P("modelshim's daemon counted %.2f× (1 reader) and %.2f× (8 readers) the object fetched "
          "(`modelshim status --json`, daemon.bytes_fetched)." % (d1 / ob, d8 / ob))
        P("")

# ---------------------------------------------------------------------------------------- W6
P("## 6. Interception overhead on a non-virtual file (ns per call, page cache warm)")
P("")
rows = []
for m, label in [("rand", "4 KiB pread at random offsets of the local checkpoint"),
                 ("open", "open + fstat + close of the local checkpoint's path")]:
    a, b = num("6", m, "without", "nsop"), num("6", m, "with", "nsop")
    rows.append([label, cell("6", m, "without", "nsop"), cell("6", m, "with", "nsop"),
                 ("%+.1f" % (b - a)) if (a is not None and b is not None) else "–",
                 ("%+.1f%%" % ((b - a) / a * 100)) if (a is not None and b is not None) else "–"])
P(table(["call", "without the shim", "with the shim (LD_PRELOAD)", "overhead (ns)", "overhead"], rows))
P("")
P("Medians of %s alternating rounds of %s preads (%s open rounds) each." % (M["w6_rounds"], M["w6_n"], int(M["w6_n"]) // 5))
P("")

# ---------------------------------------------------------------------------------------- W7
P("## 7. Random 4 KiB preads over the cached %s checkpoint, page cache warm (thousand reads/s)" % ckpt_desc)
P("")


def kops(w, row, peer):
    v = num(w, row, peer, "nsop")
    return 1e6 / v if v else None


r = ["warm"]
for p in ["local", "modelshim", "s3fs", "rclone"]:
    v = kops("7", "warm", p)
    r.append(("%s (%.2f µs)" % (f0(v), 1e3 / v)) if v else why("7", "warm", p))
msk = kops("7", "warm", "modelshim")
r += [ratio(msk, kops("7", "warm", p)) for p in ["local", "s3fs", "rclone"]]
P(table(["state", "local file", "modelshim", "s3fs", "rclone", "modelshim ÷ local", "÷ s3fs", "÷ rclone"], [r]))
P("")
P("Each run: up to %s reads or %s s, whichever comes first, after reading the file once so the page cache is "
  "warm; median of %s runs, the local file and modelshim in turn. Before the clock starts, the first %s reads of "
  "the same seeded offsets are hashed whole for the byte check." % (M["pread_n"], M["pread_t"], M["reps"],
                                                                     M.get("check_n", "?")))
P("")

# ---------------------------------------------------------------------------------------- W8
W8 = any(k[0] == "8" for k in R)


def mib(x):
    return f0(x / 2**20) if x is not None else "–"


if W8:
    P("## 8. The %s checkpoint mmapped whole, 5%% of it touched as 8 contiguous runs (experts), cold" % ckpt_desc)
    P("")
    rows = []
    for o in ["local", "front", "nginx"]:
        peers8 = ["local"] if o == "local" else ["modelshim"] + ms_builds("8") + FUSE
        for peer in peers8:
            t, rnd, got = num("8", o, peer, "touched"), num("8", o, peer, "rounded"), num("8", o, peer, "bytes")
            first, cg = num("8", o, peer, "first_ms"), num("8", o, "curl", "chunk_get_ms")
            if t is None:
                rows.append([peer, ORIG.get(o, "– (local file)"), why("8", o, peer)] + ["–"] * 7)
                continue
            rows.append([peer, ORIG.get(o, "– (local file)"), mib(t), mib(rnd), mib(got),
                         ratio(got, rnd) if got is not None else "–",
                         cell("8", o, peer, "first_ms"), cell("8", o, peer, "all_ms"),
                         f0(cg) if (cg is not None and o != "local") else "–",
                         ratio(first, cg) if (cg is not None and o != "local") else "–"])
    P(table(["peer", "origin", "touched (MiB)", "touched, rounded out to 4 MiB chunks (MiB)", "fetched (MiB)",
             "fetched ÷ rounded", "first touched byte (ms)", "all runs (ms)", "one chunk's GET (ms, curl)",
             "first byte ÷ one GET"], rows))
    P("")
    P("The loader (`EXPERTS_PY` in `bench/workloads.py`, python's `mmap`) maps the whole file shared and "
      "read-only and touches one byte of every page of 8 runs of 5%%/8 of the file each, one at a seeded place "
      "in each eighth; times run from just before `mmap()`. Fetched: bytes of the checkpoint counted at the "
      "origin (the SigV4 front, nginx's access log); modelshim's fetch includes the first chunk, which its "
      "daemon fetches at open for any `*.safetensors` (the header a loader reads first). One chunk's GET: "
      "curl's own time for a ranged GET of the first run's first chunk to /dev/null (median of 3). Cold "
      "figures are medians of %s runs, each from an empty cache." % M["creps"])
    d = [(o, num("8", o, "modelshim", "daemon_bytes"), num("8", o, "modelshim", "rounded")) for o in ["front", "nginx"]]
    if all(x is not None and r for _, x, r in d):
        P("modelshim's daemon counted %s (`modelshim status --json`, daemon.bytes_fetched)." % ", ".join(
            "%s MiB from %s (%.2f× rounded)" % (mib(x), ORIG[o], x / r) for o, x, r in d))
    builds_note("8")

# ---------------------------------------------------------------------------------------- W9
if section("9", "9. Time to the first byte of a cold read of the %s checkpoint" % ckpt_desc):
    rows = []
    for o, peer in cold_peers("9"):
        first, mid = num("9", o, peer, "first_ms"), num("9", o, peer, "mid_ms")
        g0, gm = num("9", o, "curl", "first_get_ms"), num("9", o, "curl", "mid_get_ms")
        if first is None:
            rows.append([peer, ORIG.get(o, "– (local file)"), why("9", o, peer)] + ["–"] * 5)
            continue
        rows.append([peer, ORIG.get(o, "– (local file)"), cell("9", o, peer, "first_ms"),
                     f0(g0) if (g0 is not None and o != "local") else "–",
                     ratio(first, g0) if o != "local" else "–",
                     cell("9", o, peer, "mid_ms"), f0(gm) if (gm is not None and o != "local") else "–",
                     ratio(mid, gm) if o != "local" else "–"])
    P(table(["peer", "origin", "open + first 4 KiB (ms)", "that chunk's GET (ms, curl)", "÷ GET",
             "4 KiB mid-file (ms)", "that chunk's GET (ms, curl)", "÷ GET"], rows))
    P("")
    P("The reader (`TTFB_PY` in `bench/workloads.py`) opens the checkpoint and reads 4 KiB at offset 0, timed from "
      "just before `open()`, then 4 KiB in the middle of a chunk in the middle of the file, timed alone. Each "
      "chunk's GET: curl's own time for a ranged GET of that 4 MiB chunk to /dev/null (median of 3). Cold figures "
      "are medians of %s runs, each from an empty cache." % M["creps"])
    builds_note("9")

# ---------------------------------------------------------------------------------------- W10
if section("10", "10. A safetensors-style load of the %s checkpoint: header, then every tensor, cold" % ckpt_desc):
    rows = []
    for o, peer in cold_peers("10"):
        msv = num("10", o, "modelshim", "mibps")
        rows.append([peer, ORIG.get(o, "– (local file, page cache warm)"),
                     cell("10", o, peer, "header_ms"), cell("10", o, peer, "mibps"),
                     ratio(msv, num("10", o, peer, "mibps")) if peer in FUSE or "@" in peer else "–"])
    P(table(["peer", "origin", "header parsed (ms)", "load (MiB/s)", "modelshim ÷ peer"], rows))
    P("")
    P("The loader (`LOAD_PY` in `bench/workloads.py`) opens the checkpoint, reads its 8-byte header length "
      "and the JSON header (the data set writes a valid safetensors header of 64 F16 tensors over the "
      "checkpoint's bytes), then reads every tensor whole with one pread each, in file order; times from just "
      "before `open()`. Cold figures are medians of %s runs, each from an empty cache." % M["creps"])
    builds_note("10")

# ---------------------------------------------------------------------------------------- bytes
# Every peer runs the same reader over the same bytes: whole files (1, 2), the same pick list (3),
# the same seeded offsets (7: the first check_n reads, whatever the time cap). Each checksum must
# equal the local file's.
bad, nref = [], 0
for w, metric, refrow in [("1", "sum", "warm-pcwarm"), ("2", "sum", "warm-pcwarm"), ("3", "loads_sum", "warm"),
                          ("7", "sum", "warm"), ("8", "sum", "local"), ("9", "sum", "local"),
                          ("10", "sum", "local")]:
    got = {(k[1], k[2]): v for k, v in R.items() if k[0] == w and k[3] == metric}
    if not got:
        continue
    ref = set(R.get((w, refrow, "local", metric), []))
    if len(ref) != 1:
        bad.append("workload %s: no single reference from the local file (%s)" % (w, ", ".join(sorted(ref)) or "none"))
        continue
    ref = ref.pop()
    nref += 1
    bad += ["workload %s %s/%s" % (w, row, peer) for (row, peer), v in sorted(got.items()) if any(s != ref for s in v)]
P("## Bytes")
P("")
if bad:
    P("**WRONG BYTES: these reads returned bytes whose checksum differs from the local file's: %s.**" % ", ".join(bad))
elif nref:
    P("Every peer's reads were checksummed (1, 2: one byte of every page and the last byte; 3: the same, over the "
      "same %s picks; 7: every byte of the first %s reads of the same seeded offsets, whatever the time cap; 8: one "
      "byte of every touched page; 9: both reads; 10: one byte in 4096 of every tensor) and matched the local file's." % (M["picks"], M.get("check_n", "?")))
else:
    P("No checksums were recorded in this run (workloads %s)." % M.get("only", "?"))
P("")

# ---------------------------------------------------------------------------------------- targets
P("## Targets")
P("")
trows = []


def target(name, value, goal, higher=True, fmt="%.2f×"):
    if value is None:
        trows.append([name, "≥ " + fmt % goal if higher else "≤ " + fmt % goal, "–", "n/a"])
        return
    ok = value >= goal if higher else value <= goal
    if ok:
        verdict = "met"
    elif higher:
        verdict = "**not met**: %.0f%% short (needs %.2f× more)" % ((1 - value / goal) * 100, goal / value)
    else:
        verdict = "**not met**: %.0f%% over" % ((value / goal - 1) * 100)
    trows.append([name, ("≥ " if higher else "≤ ") + fmt % goal, fmt % value, verdict])


def rt(a, b):
    return a / b if (a is not None and b) else None


for row, lab in [("warm-pcwarm", "page cache warm"), ("warm-pccold", "page cache dropped")]:
    target("Warm sequential vs local file (%s)" % lab, rt(num("1", row, "modelshim", "mibps"), num("1", row, "local", "mibps")), 0.99)
target("Warm random 4 KiB vs local file", rt(kops("7", "warm", "modelshim"), kops("7", "warm", "local")), 0.98)
for peer in FUSE:
    for row, lab in [("warm-pcwarm", "sequential, page cache warm"), ("warm-pccold", "sequential, page cache dropped")]:
        target("Warm vs %s (%s)" % (peer, lab), rt(num("1", row, "modelshim", "mibps"), num("1", row, peer, "mibps")), 5)
    target("Warm vs %s (mmap, page cache warm)" % peer, rt(num("2", "warm-pcwarm", "modelshim", "mibps"), num("2", "warm-pcwarm", peer, "mibps")), 5)
    target("Warm vs %s (random 4 KiB)" % peer, rt(kops("7", "warm", "modelshim"), kops("7", "warm", peer)), 5)
for o in ["s3", "nginx"]:
    target("Cold sequential vs raw curl (origin %s)" % ORIG[o], rt(num("1", "cold-" + o, "modelshim", "mibps"), curl_best("cold-" + o)[0]), 0.9)
for o in ["s3", "nginx"]:
    for peer in FUSE:
        target("Cold sequential vs %s (origin %s)" % (peer, ORIG[o]), rt(num("1", "cold-" + o, "modelshim", "mibps"), num("1", "cold-" + o, peer, "mibps")), 2)
        target("Cold mmap vs %s (origin %s)" % (peer, ORIG[o]), rt(num("2", "cold-" + o, "modelshim", "mibps"), num("2", "cold-" + o, peer, "mibps")), 2)
for peer in FUSE:
    target("Metadata vs %s (import + first walk)" % peer, rt(num("4", "first", peer, "ms"), both), 10)
    target("Metadata vs %s (second walk)" % peer, rt(num("4", "second", peer, "ms"), num("4", "second", "modelshim", "ms")), 10)
for o in ["front", "nginx"]:
    b8 = num("5", o, "modelshim", "bytes8")
    target("Eight cold readers: bytes fetched ÷ object size (origin %s)" % ORIG[o], b8 / ob if b8 is not None else None, 1.0, higher=False)
    target("Eight cold readers: wall time ÷ one reader's (origin %s)" % ORIG[o],
           rt(num("5", o, "modelshim", "wall8"), num("5", o, "modelshim", "wall1")), 1.2, higher=False)
for o in ["front", "nginx"]:
    if W8:
        target("Experts: bytes fetched ÷ touched rounded out to chunks (origin %s)" % ORIG[o],
               rt(num("8", o, "modelshim", "bytes"), num("8", o, "modelshim", "rounded")), 1.1, higher=False)
        target("Experts: time to the first touched byte ÷ one chunk's GET (origin %s)" % ORIG[o],
               rt(num("8", o, "modelshim", "first_ms"), num("8", o, "curl", "chunk_get_ms")), 2.0, higher=False)
    if any(k[0] == "10" for k in R):
        for peer in FUSE:
            target("Safetensors-style load vs %s (origin %s)" % (peer, ORIG[o]),
                   rt(num("10", o, "modelshim", "mibps"), num("10", o, peer, "mibps")), 1.5)
    if any(k[0] == "9" for k in R):
        for m, g, lab in [("first_ms", "first_get_ms", "open + first 4 KiB"), ("mid_ms", "mid_get_ms", "4 KiB mid-file")]:
            target("Time to first byte, %s ÷ that chunk's GET (origin %s)" % (lab, ORIG[o]),
                   rt(num("9", o, "modelshim", m), num("9", o, "curl", g)), 1.5, higher=False)
P(table(["target", "goal", "measured", "verdict"], trows))
P("")

# ---------------------------------------------------------------------------------------- notes, options
P("## Notes")
P("")
P("- Endpoints: workloads 1-3 run every peer against s3rver directly and against nginx; workload 4 against "
  "s3rver; workload 5 against s3rver behind the SigV4-verifying front (which counts the bytes) and against "
  "nginx (bytes from its access log); workloads 8, 9 and 10 against the same two as workload 5; workloads 6 and 7 touch "
  "no origin.")
P("- nginx answers with its own ETag (`\"mtime-size\"`), s3rver's listings carry the md5. modelshim sends "
  "`If-Match` with the listed ETag, so nginx rewrites the ETags of the objects it serves in the listings it "
  "proxies (`sub_filter`, one pattern per object; nginx allows 255, hence only the checkpoint and the LoRAs "
  "are served by nginx, the small files by s3rver behind it).")
P("- s3rver's delimiter listings omit prefixes that hold no object directly, which hides such directories "
  "from the FUSE peers: the data set keeps a file at every level.")
P("- The page cache is dropped with `echo 3 > /proc/sys/vm/drop_caches`; after that the origin's files are "
  "read back into the page cache before the next cold run.")
P("- On this VM the first write into fresh page cache runs at ~680 MB/s while overwrites are fast; every "
  "cold fill into a new cache file (modelshim, s3fs, rclone, curl into new files) pays it.")
P("")
P("## Options")
P("")
P(DOC["options"].rstrip("\n"))
P("")

text = "\n".join(out)
# Sections written elsewhere are kept as they were: the cluster's (bench/cluster.py, bench/run
# --cluster), the namespace's (bench/namespace-snapshot.sh and bench/lookup-miss.sh, by hand) and
# the cold path's (issue 14's before/after runs, by hand).
try:
    with open(out_path) as f:
        prev = f.read()
except OSError:
    prev = ""
for begin, end in (("<!-- cluster: written by bench/cluster.py", "<!-- /cluster -->"),
                   ("<!-- namespace: written by hand", "<!-- /namespace -->"),
                   ("<!-- cold-path: written by hand", "<!-- /cold-path -->")):
    if begin in prev and end in prev:
        text += "\n" + prev[prev.index(begin):prev.index(end) + len(end)] + "\n"
with open(out_path, "w") as f:
    f.write(text)
print(text)
