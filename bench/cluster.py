#!/usr/bin/env python3
"""bench/cluster.py (also `bench/run --cluster`): the cluster workload on the test bed of
tests/cluster/bed.py. N nodes (8) cold-load one model (1 GiB) at once through a WAN link shaped to
1 Gbit/s with 30 ms per request at the origin: (a) each node straight from the origin, (b) through
a 3-node tier of nginx, (c) through the tier after `modelshim warmup --tier` from node 1, and (b)
and (c) again with one tier node killed (kill -9) at 40% of the run (once the tier has delivered
40% of the blocks the nodes will ask of it: one per node and block). Reports, per scenario, origin egress / model size (goal <= 1.05), p50 and p99 of the nodes'
completion times (goal p99 <= 1.5x p50), and every node's sha256 check.

Owns bench/work/cluster/ (the model, kept between runs; the bed and its logs, made afresh) and the
marked cluster section of its output file (bench/RESULTS.md, or --out): only that section is
replaced, and bench/report.py carries it over when it rewrites the file. Never asserts a number;
a node that reads a wrong byte or fails is reported as such, never timed as a success. The bed is
taken down at exit, also after a failure (its namespaces and processes by name and PID).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(TOP, "tests", "cluster"))
import bed as bedlib  # noqa: E402
import mslife  # noqa: E402  (imported by bed from scripts/)

WORK = os.path.join(BENCH, "work", "cluster")
MARK_BEGIN = "<!-- cluster: written by bench/cluster.py; bench/report.py keeps it -->"
MARK_END = "<!-- /cluster -->"
MODES = {"full": dict(nodes=8, tiers=3, mib=1024, rate="1gbit", delay_ms=30),
         "quick": dict(nodes=8, tiers=3, mib=128, rate="1gbit", delay_ms=30)}
KEY = "cluster/model.bin"
BLOCK = 16 << 20  # the tier's block (bed.py's default, "16M")


def log(msg):
    print("cluster [%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def model(mib):
    """The model file (random bytes) and its sha256, made once per size and kept."""
    path = os.path.join(WORK, "src-%d" % mib, KEY)
    stamp = path + ".sha256"
    if not os.path.exists(stamp):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        h = hashlib.sha256()
        with open("/dev/urandom", "rb") as src, open(path, "wb") as out:
            for _ in range(mib):
                b = src.read(1 << 20)
                h.update(b)
                out.write(b)
        with open(stamp, "w") as f:
            f.write(h.hexdigest())
    with open(stamp) as f:
        return path, f.read().strip()


class Cluster:
    def __init__(self, p, ms_bin, shim):
        self.p, self.ms_bin, self.shim = p, ms_bin, shim
        self.bed = bedlib.Bed(os.path.join(WORK, "bed"), ms_bin)

    def cold(self, tier, wipe_tier=True):
        """Every node cold (daemon stopped, cache emptied, namespace imported, daemon started),
        with the tier on or off; the tier's caches emptied too unless WIPE_TIER is False."""
        b = self.bed
        b.fresh_nodes()
        for i in b.nodes:
            b.node_config(i, tier=tier)
        if wipe_tier:
            for j in b.tiers:
                b.wipe_tier(j)
        b.import_all()
        b.start_daemons()
        b.front("reset")

    def load(self, kill_at=None):
        """All nodes read the model at once (cat through the shim, in their namespaces); then
        each node's copy is checked (sha256sum through the shim: a hit). KILL_AT: the share of
        the run (blocks the tier has delivered, of one per node and block) after which tier node
        1 is killed with -9. Returns the figures."""
        b = self.bed
        size = self.p.mib << 20
        wan0 = b.wan_bytes()
        killer, killed = None, {}
        if kill_at is not None:
            want = b.tier_served() + int(kill_at * len(b.nodes) * -(-size // BLOCK))

            def strike():
                while b.tier_served() < want and time.monotonic() - t0 < 1800:
                    time.sleep(0.1)
                killed["at"] = time.monotonic() - t0
                b.kill_tier(1)
            killer = threading.Thread(target=strike, daemon=True)
        t0 = time.monotonic()
        procs = [subprocess.Popen(b.on_node(i, ["cat", "/models/" + KEY], shim=self.shim),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in b.nodes]
        if killer:
            killer.start()
        done, errs = {}, {}
        while len(done) < len(procs):
            for i, pr in zip(b.nodes, procs):
                if i not in done and pr.poll() is not None:
                    done[i] = time.monotonic() - t0
                    if pr.returncode != 0:
                        errs[i] = pr.stderr.read().strip()[:200]
            if time.monotonic() - t0 > 1800:
                raise mslife.LifeError("the nodes did not finish within 30 min")
            time.sleep(0.02)
        if killer:
            killer.join(timeout=5)
        wrong = []
        for i in b.nodes:
            if i in errs:
                continue
            out = subprocess.run(b.on_node(i, ["sha256sum", "/models/" + KEY], shim=self.shim),
                                 capture_output=True, text=True).stdout.split()
            if not out or out[0] != self.sha:
                wrong.append(i)
        times = sorted(done[i] for i in b.nodes if i not in errs)
        return {"origin": b.origin_bytes(KEY), "wan": b.wan_bytes() - wan0, "size": size, "times": times,
                "failed": sorted(errs), "errors": errs, "wrong": wrong, "killed_at": killed.get("at"),
                "tier_failures": sum(int(n["failures"]) for i in b.nodes for n in b.tier_stats(i))
                if any(b.node(i)["tier"] for i in b.nodes) else 0}

    def warmup_tier(self):
        """`modelshim warmup --tier` of the model from node 1; returns (seconds, origin bytes)."""
        b = self.bed
        t0 = time.monotonic()
        r = subprocess.run(b.on_node(1, [self.ms_bin, "warmup", "--tier", "-q", "--config", b.node(1)["ini"],
                                         "/models/" + KEY]), capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            raise mslife.LifeError("warmup --tier failed: %s" % (r.stderr or r.stdout).strip()[:300])
        return time.monotonic() - t0, b.origin_bytes(KEY)

    def run(self):
        p, b = self.p, self.bed
        src, self.sha = model(p.mib)
        if os.path.exists(os.path.join(b.dir, "bed.json")):  # a killed earlier run's bed
            b.down()
        shutil.rmtree(b.dir, ignore_errors=True)
        b = self.bed = bedlib.Bed(b.dir, self.ms_bin)
        log("bed: %d nodes, %d tier nodes, WAN %s, %d ms per request at the origin" % (
            p.nodes, p.tiers, p.rate, p.delay_ms))
        b.up(os.getpid(), nodes=p.nodes, tiers=p.tiers, rate=p.rate, delay_ms=p.delay_ms, block="%dM" % (BLOCK >> 20))
        log("uploading the %d MiB model" % p.mib)
        b.put(os.path.dirname(os.path.dirname(src)))
        rows = []
        for name, what, tier, warm in (("a", "straight from the origin", False, False),
                                       ("b", "through the 3-node tier", True, False),
                                       ("c", "through the tier after warmup --tier", True, True)):
            for kill in (False, True) if tier else (False,):
                if kill:
                    name, what = name + "-kill", what + ", tier node 1 killed at 40% of the run"
                log("scenario %s: %s" % (name, what))
                self.cold(tier)
                w = None
                if warm:
                    w = self.warmup_tier()
                    self.cold(True, wipe_tier=False)
                rows.append((name, what, self.load(0.4 if kill else None), w))
        return rows


def pct(times, q):
    """Nearest-rank percentile of sorted TIMES (with 8 nodes, p99 is the slowest)."""
    if not times:
        return None
    k = max(0, min(len(times) - 1, int(-(-q * len(times) // 100)) - 1))
    return times[k]


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def report(p, rows, elapsed, cmd, load):
    out = [MARK_BEGIN, "## Cluster: %d nodes cold-load one %d MiB model through a %s WAN link" % (
        p.nodes, p.mib, p.rate.replace("gbit", " Gbit/s").replace("mbit", " Mbit/s")), ""]
    out.append("Written by `%s` on %s in %d s (tests/cluster/bed.py: network namespaces on this 2-core VM; "
               "absolute times are noisy, read the ratios). %d node namespaces, each with its own daemon and "
               "cache dir, reading `/models/%s` with `cat` through the shim at once; %d nginx tier nodes "
               "(`modelshim tier-config`, 16 MiB blocks); the origin (s3rver behind the SigV4 front, %d ms "
               "per request) behind a `tc tbf` link of %s. Origin egress: the front's bytes for the model; "
               "WAN: the tbf's counter. Completion: from the common start to each node's end; p99 is the "
               "slowest of %d (nearest rank). Load average at the start and the end: %s and %s (other work shares "
               "the machine)." % (cmd, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), elapsed, p.nodes, KEY,
                                  p.tiers, p.delay_ms, p.rate, p.nodes, load, loadavg()))
    out += ["", "| scenario | origin egress ÷ model (goal ≤ 1.05) | WAN bytes ÷ model | p50 (s) | p99 (s) | "
            "p99 ÷ p50 (goal ≤ 1.5) | nodes right | notes |", "|---|---|---|---|---|---|---|---|"]
    for name, what, r, w in rows:
        p50, p99 = pct(r["times"], 50), pct(r["times"], 99)
        notes = []
        if r["killed_at"] is not None:
            notes.append("killed %.1f s in (40%% of the blocks delivered)" % r["killed_at"])
        if r["tier_failures"]:
            notes.append("%d tier failures seen by the daemons" % r["tier_failures"])
        if w:
            notes.append("warm-up took %.1f s, origin %.2f× during it" % (w[0], w[1] / r["size"]))
        if r["failed"]:
            notes.append("failed: " + "; ".join("node %d: %s" % (i, e) for i, e in r["errors"].items()))
        if r["wrong"]:
            notes.append("WRONG BYTES on nodes %s" % r["wrong"])
        right = p.nodes - len(r["failed"]) - len(r["wrong"])
        out.append("| %s: %s | %.3f× | %.3f× | %s | %s | %s | %d of %d | %s |" % (
            name, what, r["origin"] / r["size"], r["wan"] / r["size"],
            "%.1f" % p50 if p50 else "–", "%.1f" % p99 if p99 else "–",
            "%.2f×" % (p99 / p50) if p50 else "–", right, p.nodes, "; ".join(notes)))
    by = {name: r for name, _, r, _ in rows}
    tiered = [n for n in ("b", "c") if n in by]
    egress = max(by[n]["origin"] / by[n]["size"] for n in tiered)
    spread = [pct(r["times"], 99) / pct(r["times"], 50) for _, _, r, _ in rows if r["times"]]
    out += ["", "Goals: origin egress ÷ model through the tier (b, c) at most %.3f× (goal ≤ 1.05: %s); p99 ÷ p50 "
            "at most %.2f× over all scenarios (goal ≤ 1.5: %s); %s." % (
                egress, "met" if egress <= 1.05 else "NOT met", max(spread, default=0), "met" if max(spread, default=0) <= 1.5 else "NOT met",
                "every node of every scenario read the right bytes"
                if all(not r["failed"] and not r["wrong"] for _, _, r, _ in rows) else "SOME NODES FAILED (see notes)"),
            "", "With a tier node killed, the daemons mark it down and send its blocks to the next node in hash "
            "order, which fetches them from the origin unless it holds them: in b-kill that adds what the dead "
            "node had fetched; in c-kill (after the warm-up) the dead node's share of the blocks not yet read comes "
            "from the origin again. Every node here runs on the same 2 cores as the tier and the origin, so "
            "completion times measure this machine's CPU more than the network: compare them between rows."]
    out += ["", MARK_END]
    return "\n".join(out)


def write_section(path, text):
    """Replaces the marked cluster section of PATH (appends it when there is none)."""
    old = open(path).read() if os.path.exists(path) else ""
    if MARK_BEGIN in old and MARK_END in old:
        a, rest = old.split(MARK_BEGIN, 1)
        new = a + text + rest.split(MARK_END, 1)[1]
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text + "\n"
    with open(path + ".tmp", "w") as f:
        f.write(new)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(prog="bench/cluster.py", description="the cluster workload (see its header)")
    ap.add_argument("--quick", action="store_true", help="a 128 MiB model (8 nodes, 3 tier nodes)")
    ap.add_argument("--out", help="file whose cluster section is written (default bench/RESULTS.md; "
                    "--quick: bench/work/RESULTS-cluster-quick.md)")
    a = ap.parse_args(sys.argv[2:] if len(sys.argv) > 1 and sys.argv[1] == "--cluster" else sys.argv[1:])
    p = argparse.Namespace(**MODES["quick" if a.quick else "full"])
    out = a.out or (os.path.join(BENCH, "work", "RESULTS-cluster-quick.md") if a.quick
                    else os.path.join(BENCH, "RESULTS.md"))
    ms_bin = mslife.default_bin()
    shim = os.environ.get("MS_SHIM") or os.path.join(os.path.dirname(ms_bin), "libmodelshim.so")
    for f in (ms_bin, shim):
        if not os.path.exists(f):
            sys.exit("bench/cluster.py: no %s (build modelshim first, or set MS_BIN and MS_SHIM)" % f)
    os.makedirs(WORK, exist_ok=True)
    started, load = time.monotonic(), loadavg()
    c = Cluster(p, ms_bin, shim)
    try:
        rows = c.run()
    except bedlib.Skip as e:
        sys.exit("bench/cluster.py: cannot build the bed here: %s" % e)
    finally:
        log("taking the bed down")
        c.bed.down()
    cmd = "bench/run --cluster" + (" --quick" if a.quick else "")
    text = report(p, rows, time.monotonic() - started, cmd, load)
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump({"mode": vars(p), "rows": rows}, f, indent=1, default=str)
    write_section(out, text)
    print(text)
    log("done in %d s; written to %s" % (time.monotonic() - started, os.path.relpath(out, TOP)))


if __name__ == "__main__":
    main()
