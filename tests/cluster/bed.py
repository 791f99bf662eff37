#!/usr/bin/env python3
"""bed.py: the cluster test bed (issue 13), a cluster in network namespaces on one machine, for
tests/integration/t-cluster*.sh (through its CLI and tests/cluster/bed.sh) and bench/cluster.py
(as a module).

Owns: the namespaces of one bed, named PREFIX-ROLE with PREFIX = "msc" + the owner's PID: a
bridge namespace (PREFIX-br, bridge br0); node namespaces (PREFIX-n1...), each with its own
modelshim daemon, cache dir and config under DIR/nI; tier namespaces (PREFIX-t1...), each an
nginx run with the config `modelshim tier-config` writes; a WAN namespace (PREFIX-wan, the router
between the bridge and the origin, whose two links are shaped by `tc tbf`); an origin namespace
(PREFIX-o: s3rver behind the SigV4 front on its 127.0.0.1, reached at ORIGIN through
tests/cluster/relay.py). The front's per-request delay (delay_ms) stands for the WAN's round trip.
Addresses are 10.77.0.0/24 (the cluster's LAN) and 10.78.0.0/30 (the WAN link), inside these
namespaces only: nothing is routed beyond them, and the host's own namespace is never touched.
Every process it starts is recorded (scripts/mslife.py's registry under DIR/run) and runs inside
one of its namespaces; down() signals the processes of its namespaces (ip netns pids: all of them
are the bed's) and the recorded PIDs, then deletes the namespaces by name. up() first takes down
the namespaces of beds whose owner is gone (a run killed before its trap ran).
Never: signals a process outside its namespaces that it did not record, touches a namespace whose
owner still runs, or waits without a bound.
Needs root, network namespaces, veth, bridge and tbf: Skip (exit 77 from the CLI) says which is
missing. State: DIR/bed.json, so that every CLI call finds the bed up() made.
"""
import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import mslife  # noqa: E402

LAN = "10.77.0."
WAN_ROUTER, WAN_ORIGIN = "10.78.0.1", "10.78.0.2"
ORIGIN_PORT = 9000
TIER_PORT = 8080
NS_RE = re.compile(r"^msc(\d+)-")


class Skip(Exception):
    """A kernel feature, a privilege or a program the bed needs is missing."""


def sh(argv, check=True, timeout=60, **kw):
    """Runs ARGV (no shell) and returns its stdout; raises LifeError with its stderr on failure."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise mslife.LifeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, (r.stderr or r.stdout).strip()))
    return r.stdout


def netns_list():
    return [line.split()[0] for line in sh(["ip", "netns", "list"]).splitlines() if line.strip()]


def netns_pids(ns):
    return [int(p) for p in sh(["ip", "netns", "pids", ns], check=False).split()]


def kill_netns(ns, timeout=5.0):
    """TERM to every process of namespace NS, a bounded wait, KILL to what is left."""
    pids = netns_pids(ns)
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in pids:
        if not mslife.wait_gone(p, max(0.0, deadline - time.monotonic())):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
    for p in pids:
        mslife.wait_gone(p, 2.0)


def delete_netns(ns):
    kill_netns(ns)
    sh(["ip", "netns", "del", ns], check=False)


def reap_orphans():
    """Takes down the namespaces of beds whose owner process is gone."""
    for ns in netns_list():
        m = NS_RE.match(ns)
        if m and not mslife.alive(int(m.group(1))):
            delete_netns(ns)


def check_features(prefix):
    """Raises Skip naming the first missing need: root, the programs, netns, veth, bridge, tbf."""
    if os.getuid() != 0:
        raise Skip("needs root (network namespaces)")
    for prog in ("ip", "tc", "nginx", "node", "curl"):
        if shutil.which(prog) is None:
            raise Skip("%s is missing" % prog)
    a, b = prefix + "-pa", prefix + "-pb"
    steps = [("network namespaces", ["ip", "netns", "add", a]), ("network namespaces", ["ip", "netns", "add", b]),
             ("veth", ["ip", "link", "add", "p0", "netns", a, "type", "veth", "peer", "name", "p1", "netns", b]),
             ("bridge", ["ip", "-n", a, "link", "add", "br0", "type", "bridge"]),
             ("tc tbf", ["tc", "-n", b, "qdisc", "add", "dev", "p1", "root", "tbf", "rate", "1gbit",
                         "burst", "256kb", "latency", "50ms"])]
    try:
        for what, argv in steps:
            r = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                raise Skip("no %s here (%s: %s)" % (what, " ".join(argv[:4]), r.stderr.strip()))
    finally:
        for ns in (a, b):
            sh(["ip", "netns", "del", ns], check=False)


class Bed:
    """One bed: its state (DIR/bed.json) and what can be done to it."""

    def __init__(self, d, ms_bin=None):
        self.dir = os.path.abspath(d)
        self.run = mslife.Run(os.path.join(self.dir, "run"))
        self.ms_bin = ms_bin or mslife.default_bin()
        self.st = {}
        path = os.path.join(self.dir, "bed.json")
        if os.path.exists(path):
            with open(path) as f:
                self.st = json.load(f)

    def save(self):
        with open(os.path.join(self.dir, "bed.json.tmp"), "w") as f:
            json.dump(self.st, f, indent=1)
        os.replace(os.path.join(self.dir, "bed.json.tmp"), os.path.join(self.dir, "bed.json"))

    # -- what is where
    def node(self, i):
        return self.st["nodes"][i - 1]

    def tier(self, j):
        return self.st["tiers"][j - 1]

    @property
    def nodes(self):
        return range(1, len(self.st["nodes"]) + 1)

    @property
    def tiers(self):
        return range(1, len(self.st["tiers"]) + 1)

    def nsexec(self, ns, argv):
        return ["ip", "netns", "exec", ns] + list(argv)

    def on_node(self, i, argv, shim=None):
        """ARGV run in node I's namespace with its config (and with SHIM, a LD_PRELOAD value)."""
        pre = ["env", "MODELSHIM_CONFIG=" + self.node(i)["ini"]]
        if shim:
            pre.append("LD_PRELOAD=" + shim)
        return self.nsexec(self.node(i)["ns"], pre + list(argv))

    # -- up
    def up(self, owner, nodes=4, tiers=2, rate="1gbit", delay_ms=30, block="16M", chunk="4M",
           cache_lines=(), tier_size=None):
        prefix = "msc%d" % owner
        check_features(prefix)
        reap_orphans()
        os.makedirs(self.dir, exist_ok=True)
        self.run.create()
        self.st = {"prefix": prefix, "rate": rate, "delay_ms": delay_ms, "block": block, "chunk": chunk,
                   "cache_lines": list(cache_lines), "namespaces": [],
                   "origin": {"ns": prefix + "-o", "endpoint": "http://%s:%d" % (WAN_ORIGIN, ORIGIN_PORT)},
                   "nodes": [], "tiers": []}
        br, wan = prefix + "-br", prefix + "-wan"
        for ns in (br, wan, self.st["origin"]["ns"]):
            self._add_ns(ns)
        sh(["ip", "-n", br, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", br, "link", "set", "br0", "up"])
        # The WAN: the router's LAN side on the bridge, its WAN side to the origin, both shaped.
        self._lan_port(wan, "wan", LAN + "1")
        o = self.st["origin"]["ns"]
        sh(["ip", "link", "add", "wan1", "netns", wan, "type", "veth", "peer", "name", "eth0", "netns", o])
        sh(["ip", "-n", wan, "addr", "add", WAN_ROUTER + "/30", "dev", "wan1"])
        sh(["ip", "-n", wan, "link", "set", "wan1", "up"])
        sh(["ip", "-n", o, "addr", "add", WAN_ORIGIN + "/30", "dev", "eth0"])
        sh(["ip", "-n", o, "link", "set", "eth0", "up"])
        sh(["ip", "-n", o, "route", "add", "default", "via", WAN_ROUTER])
        sh(["ip", "netns", "exec", wan, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self.shape("add", rate)
        for j in range(1, tiers + 1):
            ns = "%s-t%d" % (prefix, j)
            self._add_ns(ns)
            addr = LAN + str(100 + j)
            self._lan_port(ns, "t%d" % j, addr, gateway=True)
            self.st["tiers"].append({"ns": ns, "addr": addr, "node": "%s:%d" % (addr, TIER_PORT),
                                     "dir": os.path.join(self.dir, "t%d" % j)})
        for i in range(1, nodes + 1):
            ns = "%s-n%d" % (prefix, i)
            self._add_ns(ns)
            addr = LAN + str(10 + i)
            self._lan_port(ns, "n%d" % i, addr, gateway=True)
            nd = os.path.join(self.dir, "n%d" % i)
            os.makedirs(nd, exist_ok=True)
            self.st["nodes"].append({"ns": ns, "addr": addr, "dir": nd, "ini": os.path.join(nd, "ms.ini"),
                                     "cache": os.path.join(nd, "cache"), "tier": True,
                                     "credentials": os.path.join(nd, "credentials")})
            mslife.write_credentials(self.node(i)["credentials"])
        self.save()
        self._start_origin()
        for i in self.nodes:
            self.node_config(i)
        self.tier_ini()
        for j in self.tiers:
            self.start_tier(j, tier_size)
        return self

    def shape(self, how, rate):
        """The WAN's two links (towards the LAN: the origin's answers; towards the origin) shaped
        to RATE (tc's units: 1gbit, 200mbit) by tbf; HOW: add, or change a bed's rate."""
        for dev in ("eth0", "wan1"):
            sh(["tc", "-n", self.st["prefix"] + "-wan", "qdisc", how, "dev", dev, "root", "tbf", "rate", rate,
                "burst", "256kb", "latency", "50ms"])
        self.st["rate"] = rate
        self.save()

    def _add_ns(self, ns):
        sh(["ip", "netns", "add", ns])
        self.st["namespaces"].append(ns)
        self.save()
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _lan_port(self, ns, port, addr, gateway=False):
        """A veth from namespace NS (eth0, ADDR/24) to the bridge (port PORT); the WAN router as
        the way to the origin when GATEWAY."""
        br = self.st["prefix"] + "-br"
        sh(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", br])
        sh(["ip", "-n", br, "link", "set", port, "master", "br0"])
        sh(["ip", "-n", br, "link", "set", port, "up"])
        sh(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0"])
        sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
        if gateway:
            sh(["ip", "-n", ns, "route", "add", WAN_ORIGIN + "/32", "via", LAN + "1"])

    def _start_origin(self):
        """s3rver + the front on the origin namespace's 127.0.0.1, the relay on its WAN address."""
        o = self.st["origin"]
        s3dir = os.path.join(self.dir, "s3")
        sh(self.nsexec(o["ns"], [os.path.join(TOP, "scripts", "s3-server"), "start", s3dir, "--bucket", "models"]))
        env = mslife.s3_env(s3dir)
        o.update({"s3_port": int(env["S3_PORT"]), "front_port": int(env["FRONT_PORT"])})
        for k in ("S3_PID", "FRONT_PID"):
            self.run.track(int(env[k]), k)
        log = os.path.join(self.dir, "relay.log")
        self.run.spawn(self.nsexec(o["ns"], [sys.executable, "-S", os.path.join(TOP, "tests", "cluster", "relay.py"),
                                             WAN_ORIGIN, str(ORIGIN_PORT), str(o["front_port"])]), "relay", log)
        self.save()
        self._wait(lambda: "relay listening" in open(log).read(), 10, "the origin's relay did not start: " + log)
        self.front("config", json.dumps({"delay_ms": self.st["delay_ms"]}))

    def _wait(self, cond, timeout, why):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise mslife.LifeError(why)
            time.sleep(0.05)

    # -- configs
    def node_config(self, i, tier=None, credentials=None):
        """Writes node I's config: its cache dir, the origin through the WAN, mount "models" at
        /models (through tier t1 unless TIER is False; kept as it was when None), CREDENTIALS
        (default: the node's own right ones)."""
        n = self.node(i)
        if tier is not None:
            n["tier"] = tier
        if credentials is not None:
            n["credentials"] = credentials
        self._write_config(n["ini"], n["cache"], n["credentials"], n["tier"], self.st["cache_lines"])
        self.save()

    def _write_config(self, path, cache, credentials, tier, cache_lines=()):
        """A node's INI: [tier "t1"] (every tier node, the bed's block, the LAN allowed, the cache's
        timeout if one was set) and mount "models" at /models, through the tier when TIER."""
        extra = '[tier "t1"]\nnodes = %s\nblock = %s\nallow = %s0/24' % (
            " ".join(self.tier(j)["node"] for j in self.tiers), self.st["block"], LAN)
        # A [cache] timeout the bed was given holds for the tier's nodes too (the timeout path
        # of a cut link must not take the tier's default 2 minutes).
        extra += "".join("\ntimeout = " + l.split("=", 1)[1].strip() for l in cache_lines
                         if l.split("=", 1)[0].strip() == "timeout")
        mslife.write_config(path, cache, [{
            "name": "models", "path": "/models", "source": "s3://models/", "endpoint": self.st["origin"]["endpoint"],
            "credentials": credentials, "lines": ["tier = t1"] if tier else []}],
            ["chunk_size = " + self.st["chunk"]] + list(cache_lines), extra)

    def tier_ini(self):
        """The config tier-config reads: node 1's, with the tier on (the daemons' own settings)."""
        path = os.path.join(self.dir, "tier.ini")
        self._write_config(path, self.node(1)["cache"], self.node(1)["credentials"], True)
        return path

    # -- the tier
    def start_tier(self, j, size=None):
        """nginx of tier node J in its namespace (config from tier-config), once it answers."""
        t = self.tier(j)
        os.makedirs(os.path.join(t["dir"], "tmp"), exist_ok=True)
        conf = os.path.join(t["dir"], "nginx.conf")
        argv = [self.ms_bin, "tier-config", "--config", self.tier_ini(), "t1", "--listen", t["node"],
                "--dir", t["dir"], "--user", "root"] + (["--size", size] if size else [])
        with open(conf, "w") as f:
            f.write(sh(argv))
        sh(self.nsexec(t["ns"], ["nginx", "-t", "-q", "-p", t["dir"], "-c", conf]))
        p = self.run.spawn(self.nsexec(t["ns"], ["nginx", "-p", t["dir"], "-c", conf]), "nginx t%d" % j,
                           os.path.join(t["dir"], "nginx.out"))
        url = "http://%s/" % t["node"]
        self._wait(lambda: sh(self.nsexec(t["ns"], ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url]),
                              check=False) not in ("", "000"), 10, "tier node %d's nginx did not start" % j)
        for w in netns_pids(t["ns"]):
            if w != p.pid:
                self.run.track(w, "nginx worker t%d" % j)
        t["pid"] = p.pid
        self.save()

    def kill_tier(self, j):
        """kill -9 of every process of tier node J (master and workers at once)."""
        pids = netns_pids(self.tier(j)["ns"])
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        for p in pids:
            mslife.wait_gone(p, 5.0)
            self.run.untrack(p)
        return len(pids)

    def cut_tier(self, j):
        """Tier node J's link down: its packets go nowhere (the timeout path, not a refusal)."""
        sh(["ip", "-n", self.tier(j)["ns"], "link", "set", "eth0", "down"])

    def mend_tier(self, j):
        t = self.tier(j)
        sh(["ip", "-n", t["ns"], "link", "set", "eth0", "up"])
        sh(["ip", "-n", t["ns"], "route", "replace", WAN_ORIGIN + "/32", "via", LAN + "1"])

    def tier_log(self, j):
        return os.path.join(self.tier(j)["dir"], "access.log")

    def tier_served(self):
        """Requests the tier's nodes have answered (the lines of their access logs: nginx writes
        one when an answer ends, so a block counts once it was delivered)."""
        n = 0
        for j in self.tiers:
            try:
                with open(self.tier_log(j), "rb") as f:
                    n += sum(1 for _ in f)
            except FileNotFoundError:
                pass
        return n

    def wipe_tier(self, j):
        """Tier node J stopped, its cache emptied, started again: a cold tier node."""
        self.kill_tier(j)
        shutil.rmtree(os.path.join(self.tier(j)["dir"], "cache"), ignore_errors=True)
        self.start_tier(j)

    # -- the origin
    def front(self, what, body=None):
        """The front's control endpoint: stats (parsed JSON), reset, config BODY (JSON text)."""
        o = self.st["origin"]
        url = "http://127.0.0.1:%d/__front/%s" % (o["front_port"], what)
        argv = ["curl", "-sf", url] if what == "stats" else ["curl", "-sf", "-X", "POST", url]
        if body is not None:
            argv += ["-H", "content-type: application/json", "--data-binary", body]
        out = sh(self.nsexec(o["ns"], argv))
        return json.loads(out) if what == "stats" else None

    def origin_bytes(self, key=None):
        """Body bytes the origin sent: of KEY, or of every GET."""
        st = self.front("stats")
        if key is None:
            return st["get_bytes"]
        k = st["keys"].get(key)
        return k["bytes"] if k else 0

    def wan_bytes(self):
        """Bytes the WAN link has carried towards the cluster (its tbf's counter): what really
        crossed, where the front's counters run ahead by what sits in socket buffers."""
        out = sh(["tc", "-n", self.st["prefix"] + "-wan", "-s", "qdisc", "show", "dev", "eth0"])
        m = re.search(r"Sent (\d+) bytes", out)
        if not m:
            raise mslife.LifeError("no byte counter in tc -s qdisc: %s" % out.strip())
        return int(m.group(1))

    def wait_wan(self, nbytes, timeout=60.0):
        """True once the WAN's counter (wan_bytes) reaches NBYTES (polled), False after TIMEOUT s."""
        deadline = time.monotonic() + timeout
        while self.wan_bytes() < nbytes:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def put(self, src, prefix=""):
        o = self.st["origin"]
        sh(self.nsexec(o["ns"], ["node", os.path.join(TOP, "tests", "s3", "put.js"), "http://127.0.0.1:%d" % o["s3_port"],
                                 "models", src] + ([prefix] if prefix else [])), timeout=600)

    # -- the nodes
    def import_all(self, nodes=None):
        """modelshim import on NODES (default all), in parallel."""
        ps = [(i, subprocess.Popen(self.on_node(i, [self.ms_bin, "import", "-q", "--config", self.node(i)["ini"]]),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
              for i in (nodes or self.nodes)]
        for i, p in ps:
            out = p.communicate(timeout=120)[0]
            if p.returncode != 0:
                raise mslife.LifeError("import on node %d failed: %s" % (i, out.strip()))

    def start_daemons(self, nodes=None):
        for i in nodes or self.nodes:
            n = self.node(i)
            log = os.path.join(n["dir"], "daemon.log")
            p = self.run.spawn(self.nsexec(n["ns"], [self.ms_bin, "daemon", "--config", n["ini"]]),
                               "daemon n%d" % i, log)
            mslife.daemon_wait(n["ini"], p.pid, 10, log)

    def stop_daemons(self, nodes=None):
        for i in nodes or self.nodes:
            mslife.daemon_stop(self.run, self.node(i)["ini"])

    def fresh_nodes(self, nodes=None):
        """Daemons stopped, caches emptied: cold nodes (import and start_daemons next)."""
        self.stop_daemons(nodes)
        for i in nodes or self.nodes:
            shutil.rmtree(self.node(i)["cache"], ignore_errors=True)

    def tier_stats(self, i):
        """Node I's daemon's view of the tier (status --json daemon.tier_nodes)."""
        return mslife.status(self.node(i)["ini"], self.ms_bin)["daemon"]["tier_nodes"]

    # -- down
    def down(self):
        """Every process of the bed's namespaces and every recorded PID stopped, the namespaces
        deleted; what is already gone is no error."""
        names = list(self.st.get("namespaces", []))
        prefix = self.st.get("prefix")
        if prefix:
            names += [ns for ns in netns_list() if ns.startswith(prefix + "-") and ns not in names]
        for ns in reversed(names):
            kill_netns(ns)
        self.run.stop_all(timeout=5)
        for ns in names:
            sh(["ip", "netns", "del", ns], check=False)


def _cli():
    ap = argparse.ArgumentParser(prog="bed.py", description="the cluster test bed (see its header)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("up", help="make a bed in DIR")
    c.add_argument("dir"); c.add_argument("--owner", type=int, default=os.getppid())
    c.add_argument("--nodes", type=int, default=4); c.add_argument("--tiers", type=int, default=2)
    c.add_argument("--rate", default="1gbit"); c.add_argument("--delay-ms", type=int, default=30)
    c.add_argument("--block", default="16M"); c.add_argument("--chunk", default="4M")
    c.add_argument("--cache-set", action="append", default=[])
    c = sub.add_parser("down", help="take DIR's bed down"); c.add_argument("dir")
    c = sub.add_parser("get", help="print a value: node.I.ns|addr|ini|cache|dir, tier.J.ns|addr|node|dir, "
                       "origin.ns|endpoint, prefix"); c.add_argument("dir"); c.add_argument("what")
    c = sub.add_parser("put", help="upload SRC to bucket models"); c.add_argument("dir"); c.add_argument("src")
    c.add_argument("prefix", nargs="?", default="")
    c = sub.add_parser("origin-bytes", help="body bytes the origin sent (of KEY)")
    c.add_argument("dir"); c.add_argument("key", nargs="?")
    c = sub.add_parser("rate", help="the WAN link's rate from now on (200mbit...)")
    c.add_argument("dir"); c.add_argument("rate")
    c = sub.add_parser("wan-bytes", help="bytes the WAN link carried towards the cluster"); c.add_argument("dir")
    c = sub.add_parser("wait-wan", help="exit 0 once wan-bytes reaches BYTES, 1 after --timeout s")
    c.add_argument("dir"); c.add_argument("bytes", type=int); c.add_argument("--timeout", type=float, default=60)
    c = sub.add_parser("strike", help="once wan-bytes reaches BYTES, kill or cut tier node J; exit 1 "
                       "if it never does within --timeout s")
    c.add_argument("dir"); c.add_argument("bytes", type=int); c.add_argument("what", choices=("kill", "cut"))
    c.add_argument("j", type=int); c.add_argument("--timeout", type=float, default=60)
    c = sub.add_parser("tier-sum", help="FIELD (requests, hits, misses, bytes, failures, down) of tier node J "
                       "summed over the nodes' daemons (status --json)")
    c.add_argument("dir"); c.add_argument("field"); c.add_argument("j", type=int)
    c = sub.add_parser("env", help="shell assignments: BED_PREFIX, BED_NS_I, BED_INI_I, BED_ADDR_I, BED_CACHE_I "
                       "(nodes), BED_TNS_J, BED_TDIR_J (tier nodes)"); c.add_argument("dir")
    c = sub.add_parser("front", help="front reset | config JSON"); c.add_argument("dir")
    c.add_argument("what", choices=("reset", "config")); c.add_argument("body", nargs="?")
    c = sub.add_parser("import", help="modelshim import on every node"); c.add_argument("dir")
    c = sub.add_parser("daemons", help="start, stop or restart every node's daemon (or --node I)")
    c.add_argument("dir"); c.add_argument("what", choices=("start", "stop", "restart", "fresh"))
    c.add_argument("--node", type=int, action="append")
    c = sub.add_parser("node-config", help="rewrite node I's config"); c.add_argument("dir"); c.add_argument("i", type=int)
    c.add_argument("--tier", choices=("on", "off")); c.add_argument("--credentials")
    c = sub.add_parser("tier", help="tier node J: kill (-9), cut (link down), mend (link up), start, wipe")
    c.add_argument("dir"); c.add_argument("j", type=int)
    c.add_argument("what", choices=("kill", "cut", "mend", "start", "wipe"))
    a = ap.parse_args()
    bed = Bed(a.dir)
    out = None
    if a.cmd == "up":
        try:
            bed.up(a.owner, a.nodes, a.tiers, a.rate, a.delay_ms, a.block, a.chunk, a.cache_set)
        except Skip as e:
            print("SKIP: %s" % e, file=sys.stderr)
            return 77
        except Exception:
            bed.down()
            raise
    elif a.cmd == "down":
        bed.down()
    elif a.cmd == "get":
        cur = bed.st
        for part in a.what.split("."):
            cur = cur[int(part) - 1] if isinstance(cur, list) else cur[{"node": "nodes", "tier": "tiers"}.get(part, part)]
        out = cur
    elif a.cmd == "put":
        bed.put(a.src, a.prefix)
    elif a.cmd == "origin-bytes":
        out = bed.origin_bytes(a.key)
    elif a.cmd == "rate":
        bed.shape("change", a.rate)
    elif a.cmd == "wan-bytes":
        out = bed.wan_bytes()
    elif a.cmd == "wait-wan":
        return 0 if bed.wait_wan(a.bytes, a.timeout) else 1
    elif a.cmd == "strike":
        if not bed.wait_wan(a.bytes, a.timeout):
            return 1
        (bed.kill_tier if a.what == "kill" else bed.cut_tier)(a.j)
    elif a.cmd == "tier-sum":
        out = sum(int(bed.tier_stats(i)[a.j - 1][a.field]) for i in bed.nodes)
    elif a.cmd == "env":
        lines = ["BED_PREFIX=%s" % bed.st["prefix"]]
        for i in bed.nodes:
            n = bed.node(i)
            lines += ["BED_NS_%d=%s" % (i, n["ns"]), "BED_INI_%d=%s" % (i, n["ini"]),
                      "BED_ADDR_%d=%s" % (i, n["addr"]), "BED_CACHE_%d=%s" % (i, n["cache"])]
        for j in bed.tiers:
            lines += ["BED_TNS_%d=%s" % (j, bed.tier(j)["ns"]), "BED_TDIR_%d=%s" % (j, bed.tier(j)["dir"])]
        out = "\n".join(lines)
    elif a.cmd == "front":
        bed.front(a.what, a.body)
    elif a.cmd == "import":
        bed.import_all()
    elif a.cmd == "daemons":
        if a.what in ("stop", "restart"):
            bed.stop_daemons(a.node)
        if a.what == "fresh":
            bed.fresh_nodes(a.node)
        if a.what in ("start", "restart"):
            bed.start_daemons(a.node)
    elif a.cmd == "node-config":
        bed.node_config(a.i, None if a.tier is None else a.tier == "on", a.credentials)
    elif a.cmd == "tier":
        {"kill": bed.kill_tier, "cut": bed.cut_tier, "mend": bed.mend_tier, "start": bed.start_tier,
         "wipe": bed.wipe_tier}[a.what](a.j)
    if out is not None:
        print(out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(_cli())
    except (mslife.LifeError, OSError, subprocess.SubprocessError) as e:
        print("bed.py: %s" % e, file=sys.stderr)
        sys.exit(1)
