#!/usr/bin/env python3
"""mslife: the lifecycle library of the tests and the benchmark (issue 12, "one home for each rule").

Owns: a run directory and its PID registry (RUN/registry: every process started or handed to it,
with its start time, every FUSE mount point and every cache dir whose daemon is ours); stopping
them (TERM, a bounded wait, KILL), also from a later run when the caller was killed; the loopback
S3 pair (through scripts/s3-server); writing modelshim configs and credentials files; starting,
finding and stopping the daemon; the daemon's counters, read only through `modelshim status --json`;
the cache layout (one function, cache_path, says where a virtual file's tree or map file lives).
Never: signals a process other than a recorded PID whose start time still matches (PIDs wrap
fast) or the daemon named by the pid file of a cache dir it was given (its executable checked);
waits without a bound; binds or connects beyond 127.0.0.1; turns an absent counter into 0.
Python 3.11 standard library only. Usable as a module (bench/run) and as a command (tests/lib.sh):
`python3 scripts/mslife.py COMMAND ...` prints one value or does one thing, exits non-zero with a
message on stderr otherwise; `python3 scripts/mslife.py help` lists the commands.

What tests/lib.sh delegates here (nothing here reads lib.sh; its registry is $T/run/registry):
  ms_cleanup, ms_stop_tracked -> stop-all --cache $MS_CACHE_DIR --pid PID:START (each PID that
      ms_track_pid recorded: lib.sh keeps that list in bash, one Python start per tracked
      process being too slow for its loops)                              ms_wait_gone -> wait-gone
  ms_start_s3, ms_start_s3_opts -> s3-start (then it sources the s3.env printed)
  ms_write_config -> credentials + config (+ cache-path: MS_TREE)
  ms_write_two_tenants -> credentials + config --mount-spec (twice) --extra
  ms_daemon_start -> `&` in bash (the daemon stays the test shell's child, for `wait`), then
      daemon-wait            ms_daemon_stop -> stop --start START --strict (then `wait`: MS_DAEMON_RC)
  ms_stop_daemon_any -> daemon-stop (of a cache dir)                     ms_daemon_pid -> daemon-pid
  ms_status_fields -> counters --need-daemon
  ms_status_counts -> counters mounts.models.objects mounts.models.complete mounts.models.partial
  ms_daemon_requests -> counters daemon.requests (exit 3: no daemon runs, "none")
  ms_cache_path (MS_TREE, ms_fresh, ms_cache_fingerprint, the tests' paths) -> cache-path
Left in bash: ms_alive and ms_proc_start (the /proc reads of alive() and start_time()), polled in
loops or called per process started; ms_track_pid/ms_untrack_pid (the list handed to stop-all).
"""
import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LifeError(Exception):
    """A lifecycle step failed; the message says which and why."""


class NoDaemon(LifeError):
    """status --json answered, but no daemon serves the cache dir (its "daemon" is null)."""


def default_bin():
    """The modelshim binary: $MS_BIN, else build/modelshim of this tree."""
    return os.environ.get("MS_BIN") or os.path.join(TOP, "build", "modelshim")


# ------------------------------------------------------------------------------------ processes

def _stat(pid):
    """The fields of /proc/PID/stat after the command name (field 3, the state, first), or None
    if PID is gone."""
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            st = f.read()
    except (OSError, ValueError):
        return None
    return st[st.rindex(")") + 2:].split()


def start_time(pid):
    """When PID started (field 22 of /proc/PID/stat, clock ticks since boot), or None if gone."""
    fields = _stat(pid)
    return None if fields is None else fields[19]


def alive(pid):
    """PID runs and is not a zombie (an orphan's zombie lingers until init reaps it)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _reap(pid):
    """Collects PID's exit status if it is our child; returns it (waitpid form) or None."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return status if got == pid else None


def wait_gone(pid, timeout):
    """True once PID has exited (reaped if our child), polling for at most TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        if not alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def stop_pid(pid, started, timeout=10.0):
    """TERM, then KILL after TIMEOUT s; only while PID is still the process that started at
    STARTED. True when it is gone."""
    if started is None or start_time(pid) != started:
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_gone(pid, timeout):
        return True
    if start_time(pid) == started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return wait_gone(pid, 5.0)


def term_or_raise(run, pid, started, timeout, what):
    """SIGTERM to PID (which started at STARTED) and TIMEOUT s for it to exit; if it does not,
    SIGKILL, RUN forgets it and LifeError says WHAT did not exit."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, timeout):
        stop_pid(pid, started, 0)
        run.untrack(pid)
        raise LifeError("%s did not exit within %g s of SIGTERM" % (what, timeout))


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def unmount(path):
    """Unmounts PATH if mounted: a few tries (a FUSE mount may be busy a moment), then lazily."""
    for _ in range(20):
        if not is_mounted(path):
            return
        if subprocess.run(["umount", path], stderr=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.25)
    subprocess.run(["umount", "-l", path], stderr=subprocess.DEVNULL)


class Run:
    """A run directory and its registry, RUN/registry, one entry a line:
    "pid PID START NAME", "mount PATH", "cache DIR" (a cache dir whose daemon is ours, whoever
    started it). The file outlives the caller: Run(dir).stop_all() in a next run stops leftovers."""

    def __init__(self, path):
        self.dir = os.path.abspath(path)
        self.registry = os.path.join(self.dir, "registry")
        self.children = {}  # pid -> Popen of what this process spawned

    def create(self):
        os.makedirs(self.dir, exist_ok=True)
        open(self.registry, "a").close()
        return self

    @contextlib.contextmanager
    def _locked(self):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.registry, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            yield f

    def entries(self):
        if not os.path.exists(self.registry):
            return []
        with self._locked() as f:
            return [line.split(" ", 3) if line.startswith("pid ") else line.split(" ", 1)
                    for line in f.read().splitlines() if line]

    def _add(self, line):
        with self._locked() as f:
            if line not in f.read().splitlines():
                f.write(line + "\n")
                f.flush()

    def _drop(self, match):
        with self._locked() as f:
            keep = [line for line in f.read().splitlines() if line and not match(line.split(" "))]
            f.seek(0)
            f.truncate()
            f.write("".join(line + "\n" for line in keep))

    # -- processes
    def track(self, pid, name="-"):
        """Records PID (with its start time, which it returns; an entry of an earlier process
        with that PID goes); raises if it is not running."""
        st = start_time(pid)
        if st is None:
            raise LifeError("track: no process %d" % pid)
        self._drop(lambda e: e[0] == "pid" and e[1] == str(pid) and e[2] != st)
        self._add("pid %d %s %s" % (pid, st, name.replace("\n", " ")))
        return st

    def untrack(self, pid):
        self._drop(lambda e: e[0] == "pid" and e[1] == str(pid))

    def spawn(self, argv, name, log, env=None, cwd=None):
        """Starts ARGV with stdin from /dev/null and output appended to LOG, records it, returns
        its Popen. No fd of ours is inherited (a lock held by the caller stays the caller's)."""
        with open(log, "ab") as out:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 env=env, cwd=cwd, close_fds=True)
        self.children[p.pid] = p
        self.track(p.pid, name)
        return p

    def stop(self, pid, timeout=10.0, strict=False, started=None):
        """Stops a recorded PID (or one the caller recorded itself: STARTED, its start time);
        returns its exit status if it was our child (else None). A PID not recorded, gone, or
        started anew since is left alone. Raises if it survives KILL, and with STRICT also if it
        needed KILL (it did not exit within TIMEOUT s of TERM)."""
        if started is None:
            started = next((e[2] for e in self.entries() if e[0] == "pid" and e[1] == str(pid)), None)
        if started is None:
            started = start_time(pid) if pid in self.children else None
        if strict and started is not None and start_time(pid) == started:
            term_or_raise(self, pid, started, timeout, "process %d" % pid)
        if not stop_pid(pid, started, timeout):
            raise LifeError("process %d did not exit after SIGKILL" % pid)
        self.untrack(pid)
        p = self.children.pop(pid, None)
        if p is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                return p.wait(timeout=1)
        return None

    # -- mounts and cache dirs
    def add_mount(self, path):
        self._add("mount " + os.path.abspath(path))

    def drop_mount(self, path):
        unmount(path)
        self._drop(lambda e: e[0] == "mount" and e[1] == os.path.abspath(path))

    def add_cache(self, cache_dir):
        self._add("cache " + os.path.abspath(cache_dir))

    def stop_all(self, timeout=10.0):
        """Unmounts every recorded mount, stops the daemon of every recorded cache dir and every
        recorded PID (TERM to all, one bounded wait, then KILL), then empties the registry.
        Raises if a process survives KILL (its entry is kept)."""
        ents = self.entries()
        for e in ents:
            if e[0] == "mount":
                unmount(e[1])
        procs = [(int(e[1]), e[2]) for e in ents if e[0] == "pid"]
        for e in ents:
            if e[0] == "cache":
                pid = daemon_pid_of_dir(e[1])
                if pid is not None:
                    procs.append((pid, start_time(pid)))
        live = [(p, s) for p, s in procs if s is not None and start_time(p) == s]
        for p, _ in live:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        stuck = []
        for p, s in live:
            if not wait_gone(p, max(0.0, deadline - time.monotonic())) and not stop_pid(p, s, 0):
                stuck.append(p)
        for p in list(self.children):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.children.pop(p).wait(timeout=0.1)
        self._drop(lambda e: not (e[0] == "pid" and int(e[1]) in stuck))
        if stuck:
            raise LifeError("stop-all: %s did not exit after SIGKILL" % " ".join(map(str, stuck)))


# ------------------------------------------------------------------------------------ S3 server

def s3_start(run, s3dir=None, buckets=("models",), region=None, session_token=None, tls=None):
    """Starts s3rver and the SigV4 front through scripts/s3-server (which returns once both
    answer HTTP on 127.0.0.1), records both PIDs, returns s3.env as a dict (S3_PORT FRONT_PORT
    S3_PID FRONT_PID S3_ENDPOINT FRONT_ENDPOINT, and ENV: the file's path). TLS: (CERT, KEY),
    PEM files: the front serves HTTPS with them (FRONT_ENDPOINT https://127.0.0.1:PORT)."""
    s3dir = os.path.abspath(s3dir or os.path.join(run.dir, "s3"))
    argv = [os.path.join(TOP, "scripts", "s3-server"), "start", s3dir]
    for b in buckets:
        argv += ["--bucket", b]
    if region:
        argv += ["--region", region]
    if session_token is not None:
        argv += ["--session-token", session_token]
    if tls:
        argv += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, close_fds=True)
    if r.returncode != 0:
        raise LifeError("s3-server start %s failed: %s" % (s3dir, (r.stderr or r.stdout).strip()))
    env = s3_env(s3dir)
    run.track(int(env["S3_PID"]), "s3rver " + s3dir)
    run.track(int(env["FRONT_PID"]), "front " + s3dir)
    return env


def s3_env(s3dir):
    path = os.path.join(s3dir, "s3.env")
    try:
        with open(path) as f:
            env = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError as e:
        raise LifeError("no S3 server state in %s: %s" % (s3dir, e)) from e
    env["ENV"] = path
    return env


def s3_stop(run, s3dir=None):
    """scripts/s3-server stop (by the PIDs it recorded, checked against their command lines)."""
    s3dir = os.path.abspath(s3dir or os.path.join(run.dir, "s3"))
    if not os.path.exists(os.path.join(s3dir, "s3.env")):
        return
    pids = [int(s3_env(s3dir)[k]) for k in ("S3_PID", "FRONT_PID")]
    r = subprocess.run([os.path.join(TOP, "scripts", "s3-server"), "stop", s3dir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise LifeError("s3-server stop %s failed: %s" % (s3dir, r.stderr.strip()))
    for p in pids:
        run.stop(p, timeout=5)


# ------------------------------------------------------------------------------------ config

def write_credentials(path, key_id="S3RVER", secret="S3RVER"):
    """An AWS shared-credentials file, profile default, mode 0600 from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (key_id, secret))
    return path


def write_config(path, cache_dir, mounts, cache_lines=(), extra=""):
    """A modelshim INI: [cache] dir and CACHE_LINES ("size = 64M"), EXTRA (more sections, as text),
    a blank line, then one [mount "NAME"] per dict of MOUNTS (each followed by a blank line):
    name, path, source, endpoint, credentials, and optionally region (us-east-1; None: no region
    line, modelshim's default), tenant (default) and "lines" (more "key = value" strings).
    Nothing else is set: modelshim's own defaults apply (the defaults a user gets)."""
    out = ["[cache]", "dir = %s" % os.path.abspath(cache_dir)] + list(cache_lines)
    if extra:
        out += [extra.rstrip("\n")]
    out += [""]
    for m in mounts:
        region = m.get("region", "us-east-1")
        out += ['[mount "%s"]' % m["name"], "path = %s" % m["path"], "source = %s" % m["source"],
                "endpoint = %s" % m["endpoint"]] + (["region = %s" % region] if region else [])
        out += ["tenant = %s" % m.get("tenant", "default"), "credentials = %s" % m["credentials"]]
        out += list(m.get("lines", ())) + [""]
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(out))
    os.replace(path + ".tmp", path)
    return path


def read_config(path):
    """The parts of a modelshim INI this library needs: {"dir": CACHE_DIR, "mounts": [{name,
    path, tenant}, ...]} in file order. Reads the grammar modelshim accepts (inih: ";" or "#"
    comment lines, " ;" inline comments); modelshim itself validates everything else."""
    cache_dir, mounts, sect = None, [], None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("\ufeff"):
                line = line[1:]
            if not line or line[0] in ";#":
                continue
            cut = line.find(" ;")
            if cut < 0:
                cut = line.find("\t;")
            if cut >= 0:
                line = line[:cut].rstrip()
            if line.startswith("["):
                head = line[1:line.index("]")].strip()
                sect = head
                if head.startswith("mount "):
                    mounts.append({"name": head[6:].strip().strip('"'), "path": None, "tenant": "default"})
                continue
            key, _, value = (s.strip() for s in line.partition("="))
            if sect == "cache" and key == "dir":
                cache_dir = value
            elif sect and sect.startswith("mount ") and key in ("path", "tenant"):
                mounts[-1][key] = value
    if not cache_dir:
        raise LifeError("%s: no [cache] dir" % path)
    if not mounts:
        raise LifeError("%s: no [mount] section" % path)
    return {"dir": cache_dir, "mounts": mounts}


# ------------------------------------------------------------------------------------ cache layout

CACHE_AREAS = ("tree", "state", "mount", "tenant", "tenants")


def cache_path(config, what=None, area="tree", mount=None):
    """Where things live in the cache dir (core/cache.c is the C side of this rule):
    DIR/tenants/TENANT/MOUNT/AREA/KEY. WHAT is a virtual path (/models/a/b: its mount is found by
    prefix), a key of MOUNT (default: the first mount), or None for the AREA dir itself. AREA is
    "tree" (sparse data files), "state" (presence maps), "mount" (DIR/tenants/TENANT/MOUNT),
    "tenant" (DIR/tenants/TENANT, of that mount's tenant) or "tenants" (DIR/tenants, every
    tenant's); a KEY is only joined to tree and state."""
    cfg = read_config(config)
    if area not in CACHE_AREAS:
        raise LifeError("cache-path: area must be one of %s, not %r" % (", ".join(CACHE_AREAS), area))
    key = what or ""
    if what and what.startswith("/"):
        hits = [m for m in cfg["mounts"] if what == m["path"] or what.startswith(m["path"].rstrip("/") + "/")]
        if not hits:
            raise LifeError("cache-path: %s is under no mount of %s" % (what, config))
        m = hits[0]
        key = what[len(m["path"]):].lstrip("/")
    elif mount is not None:
        ms = [m for m in cfg["mounts"] if m["name"] == mount]
        if not ms:
            raise LifeError("cache-path: no mount %r in %s" % (mount, config))
        m = ms[0]
    else:
        m = cfg["mounts"][0]
    if area == "tenants":
        return os.path.join(cfg["dir"], "tenants")
    if area == "tenant":
        return os.path.join(cfg["dir"], "tenants", m["tenant"])
    base = os.path.join(cfg["dir"], "tenants", m["tenant"], m["name"])
    if area == "mount":
        return base
    return os.path.join(base, area, key) if key else os.path.join(base, area)


def cache_file(config, name):
    """DIR/NAME: daemon.sock, daemon.pid, daemon.log, gc.lock, tmp."""
    return os.path.join(read_config(config)["dir"], name)


# ------------------------------------------------------------------------------------ daemon

def data_extents(path):
    """The allocated byte ranges of file PATH (SEEK_DATA / SEEK_HOLE), as [start, end) pairs:
    where a cache file holds bytes, the rest being holes."""
    out = []
    fd = os.open(path, os.O_RDONLY)
    try:
        size, off = os.fstat(fd).st_size, 0
        while off < size:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            off = os.lseek(fd, d, os.SEEK_HOLE)
            out.append((d, off))
    finally:
        os.close(fd)
    return out


def daemon_pid_of_dir(cache_dir):
    """PID of the live daemon serving CACHE_DIR (whoever started it), or None. Only a process
    whose executable is a modelshim binary and whose arguments hold "daemon" counts."""
    try:
        with open(os.path.join(cache_dir, "daemon.pid")) as f:
            pid = int(f.read().strip())
        exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    if not alive(pid) or not exe.startswith("modelshim") or b"daemon" not in args:
        return None
    return pid


def cache_dir_of(config):
    """The cache dir of CONFIG, a modelshim INI; CONFIG itself when it is no file (a cache dir,
    which may not exist yet)."""
    return read_config(config)["dir"] if os.path.isfile(config) else config


def daemon_pid(config):
    """PID of the live daemon of CONFIG's cache dir (CONFIG: an INI or the cache dir), or None."""
    return daemon_pid_of_dir(cache_dir_of(config))


def daemon_wait(config, pid, timeout=10.0, log=None):
    """Returns once daemon PID serves CONFIG's cache dir: its pid file names it, which it writes
    after its socket listens (a socket's inode is no sign: a new one may reuse the old number)."""
    d = read_config(config)["dir"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(d, "daemon.pid")) as f:
                named = f.read().strip()
        except OSError:
            named = ""
        if named == str(pid) and os.path.exists(os.path.join(d, "daemon.sock")):
            return pid
        if not alive(pid):
            raise LifeError("daemon %d exited during start-up%s" % (pid, _tail(log)))
        time.sleep(0.05)
    raise LifeError("daemon %d did not start serving %s within %g s%s" % (pid, d, timeout, _tail(log)))


def _tail(log, n=20):
    if not log:
        return ""
    try:
        with open(log, errors="replace") as f:
            return "; last lines of %s:\n%s" % (log, "".join(f.readlines()[-n:]))
    except OSError:
        return ""


def daemon_start(run, config, log=None, ms_bin=None, timeout=10.0, env=None):
    """`modelshim daemon --config CONFIG` in the background, recorded (and its cache dir too: a
    daemon a client restarts later is ours as well); returns its Popen once it serves."""
    log = log or os.path.join(run.dir, "daemon.log")
    p = run.spawn([ms_bin or default_bin(), "daemon", "--config", config], "modelshim daemon", log, env=env)
    run.add_cache(read_config(config)["dir"])
    try:
        daemon_wait(config, p.pid, timeout, log)
    except LifeError:
        run.stop(p.pid, timeout=2)
        raise
    return p


def daemon_stop(run, config, timeout=10.0):
    """Stops the daemon serving CONFIG's cache dir (CONFIG: an INI or the cache dir), whoever
    started it (TERM, TIMEOUT s, KILL).
    Returns its exit status when it was started by this Run object (else None); raises when it
    needed SIGKILL, which a clean daemon never does."""
    pid = daemon_pid(config)
    if pid is None:
        return None
    started = start_time(pid)
    term_or_raise(run, pid, started, timeout, "daemon (pid %d)" % pid)
    run.untrack(pid)
    p = run.children.pop(pid, None)
    return p.wait(timeout=1) if p is not None else None


# ------------------------------------------------------------------------------------ counters

def status(config, ms_bin=None, timeout=5.0):
    """`modelshim status --config CONFIG --json`, parsed. Raises if it fails or takes too long."""
    try:
        r = subprocess.run([ms_bin or default_bin(), "status", "--config", config, "--json"],
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LifeError("status --json did not answer within %g s" % timeout) from e
    if r.returncode != 0:
        raise LifeError("status --json failed (exit %d): %s" % (r.returncode, r.stderr.strip()))
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise LifeError("status --json printed no JSON: %s" % e) from e


def field(st, name):
    """One value of a status --json answer. NAME: daemon.F; mount.F (the first mount);
    mounts.NAME.F; tenants.NAME.F; or a top-level F (cache_dir, quota, chunk_size, eviction).
    Raises NoDaemon for a daemon field when no daemon runs, LifeError when the field is absent:
    an absent counter is never 0."""
    parts = name.split(".")
    if parts[0] == "daemon":
        if st.get("daemon") is None:
            raise NoDaemon("status --json: no daemon serves %s (field %s)" % (st.get("cache_dir"), name))
        scope, rest = st["daemon"], parts[1:]
    elif parts[0] == "mount" and len(parts) == 2:
        if not st.get("mounts"):
            raise LifeError("status --json: no mounts (field %s)" % name)
        scope, rest = st["mounts"][0], parts[1:]
    elif parts[0] in ("mounts", "tenants") and len(parts) == 3:
        hits = [x for x in st.get(parts[0], []) if x.get("name") == parts[1]]
        if not hits:
            raise LifeError("status --json: no %s named %r (field %s)" % (parts[0][:-1], parts[1], name))
        scope, rest = hits[0], parts[2:]
    else:
        scope, rest = st, parts
    if len(rest) != 1 or not isinstance(scope, dict) or rest[0] not in scope:
        why = " (no daemon runs: per-mount request counters need one)" if st.get("daemon") is None else ""
        raise LifeError("status --json has no field %s%s" % (name, why))
    return scope[rest[0]]


def counters(config, names, ms_bin=None, need_daemon=False):
    """The values of NAMES (see field) from one status --json answer. NEED_DAEMON: raise NoDaemon
    when no daemon answers, also for NAMES that do not need one (mount.objects...)."""
    st = status(config, ms_bin)
    if need_daemon and st.get("daemon") is None:
        raise NoDaemon("status --json: no daemon serves %s" % st.get("cache_dir"))
    return [field(st, n) for n in names]


# ------------------------------------------------------------------------------------ the CLI

def _cli():
    ap = argparse.ArgumentParser(prog="mslife.py", description="modelshim's lifecycle library "
                                 "(see the header of scripts/mslife.py). Exit 1 on error, 3: no daemon.")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def cmd(name, help_):
        return sub.add_parser(name, help=help_, description=help_)

    c = cmd("run-init", "create RUN (and its registry), stopping what a killed earlier run left in it")
    c.add_argument("run")
    c = cmd("spawn", "start CMD in the background (output appended to LOG), record it; print its PID")
    c.add_argument("run"); c.add_argument("name"); c.add_argument("log"); c.add_argument("argv", nargs="+")
    c = cmd("track", "record PID (started elsewhere) with its start time; print that start time")
    c.add_argument("run"); c.add_argument("pid", type=int); c.add_argument("name", nargs="?", default="-")
    c.add_argument("--if-running", action="store_true", help="a PID already gone is no error (nothing recorded)")
    c = cmd("untrack", "forget PID")
    c.add_argument("run"); c.add_argument("pid", type=int)
    c = cmd("stop", "stop a recorded PID: TERM, TIMEOUT s, KILL")
    c.add_argument("run"); c.add_argument("pid", type=int); c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--strict", action="store_true", help="fail (after the KILL) if TERM was not enough")
    c.add_argument("--start", help="PID's start time as the caller recorded it (PID need not be in the registry)")
    c = cmd("stop-all", "unmount recorded mounts, stop recorded daemons and PIDs; empty the registry")
    c.add_argument("run"); c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--cache", action="append", default=[], metavar="DIR",
                   help="also stop the daemon of cache dir DIR (one a client started, say)")
    c.add_argument("--pid", action="append", default=[], metavar="PID:START",
                   help="also stop PID if it still is the process that started at START (a caller's own record)")
    c = cmd("alive", "exit 0 if PID runs (not a zombie), 1 if not")
    c.add_argument("pid", type=int)
    c = cmd("start-time", "print PID's start time (/proc/PID/stat field 22); nothing if gone")
    c.add_argument("pid", type=int)
    c = cmd("wait-gone", "exit 0 once PID has exited, 1 if it still runs after SECONDS")
    c.add_argument("pid", type=int); c.add_argument("seconds", type=float)
    c = cmd("s3-start", "start s3rver + SigV4 front (ready when this returns), record both; print s3.env's path")
    c.add_argument("run"); c.add_argument("--dir"); c.add_argument("--bucket", action="append")
    c.add_argument("--region"); c.add_argument("--session-token")
    c.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="the front serves HTTPS with these PEM files")
    c = cmd("s3-stop", "stop the S3 pair of RUN (or --dir)")
    c.add_argument("run"); c.add_argument("--dir")
    c = cmd("credentials", "write an AWS shared-credentials file (mode 0600); print its path")
    c.add_argument("file"); c.add_argument("--key-id", default="S3RVER"); c.add_argument("--secret", default="S3RVER")
    c = cmd("config", "write a modelshim INI; print its path")
    c.add_argument("file"); c.add_argument("--cache-dir", required=True)
    c.add_argument("--endpoint", help="endpoint of the default mount (models at /models)")
    c.add_argument("--credentials", help="credentials file of every mount")
    c.add_argument("--source", default="s3://models/")
    c.add_argument("--region", help="region of every mount (default: us-east-1 for the default mount, "
                   "none written for a --mount-spec without one)")
    c.add_argument("--mount", default="models"); c.add_argument("--path", default="/models")
    c.add_argument("--tenant", default="default")
    c.add_argument("--cache-set", action="append", default=[], metavar="'KEY = VALUE'")
    c.add_argument("--mount-set", action="append", default=[], metavar="'KEY = VALUE'")
    c.add_argument("--extra", default="", help="more sections, as INI text, after [cache]")
    c.add_argument("--mount-spec", action="append", default=[], metavar="NAME,PATH,SOURCE,TENANT,ENDPOINT[,REGION]",
                   help="instead of the default mount: one per mount")
    c = cmd("daemon-start", "start `modelshim daemon`, record it; print its PID once it serves")
    c.add_argument("run"); c.add_argument("config"); c.add_argument("--log")
    c.add_argument("--bin"); c.add_argument("--timeout", type=float, default=10)
    c = cmd("daemon-wait", "return once daemon PID serves CONFIG's cache dir")
    c.add_argument("config"); c.add_argument("pid", type=int)
    c.add_argument("--timeout", type=float, default=10); c.add_argument("--log")
    c = cmd("daemon-pid", "print the PID of the daemon serving CONFIG's cache dir (CONFIG: INI or cache dir), or nothing")
    c.add_argument("config")
    c = cmd("daemon-stop", "stop the daemon of CONFIG's cache dir (CONFIG: INI or cache dir), whoever started it; "
            "fail if it needed KILL")
    c.add_argument("run"); c.add_argument("config"); c.add_argument("--timeout", type=float, default=10)
    c = cmd("counters", "print FIELDs of `modelshim status --json`, space-separated (see mslife.field)")
    c.add_argument("config"); c.add_argument("fields", nargs="+"); c.add_argument("--bin")
    c.add_argument("--need-daemon", action="store_true", help="exit 3 when no daemon answers, whatever FIELDs")
    c = cmd("cache-path", "print where WHAT (a virtual path or a key) lives in the cache dir")
    c.add_argument("config"); c.add_argument("what", nargs="?")
    c.add_argument("--area", default="tree", choices=CACHE_AREAS); c.add_argument("--mount")
    c = cmd("cache-file", "print DIR/NAME of CONFIG's cache dir (daemon.sock, daemon.pid, daemon.log)")
    c.add_argument("config"); c.add_argument("name")
    c = cmd("extents", "print the allocated byte ranges of FILE, one 'START END' line each (END exclusive)")
    c.add_argument("file")
    cmd("help", "list the commands")

    a, extra = ap.parse_known_args()
    if extra and a.cmd == "cache-path" and a.what is None and len(extra) == 1 and extra[0][:1] != "-":
        a.what = extra[0]  # cache-path CONFIG --area state KEY
    elif extra:
        ap.error("unrecognized arguments: %s" % " ".join(extra))
    out = None
    if a.cmd == "help":
        ap.print_help()
    elif a.cmd == "run-init":
        run = Run(a.run)
        if os.path.exists(run.registry):
            run.stop_all()
        out = run.create().dir
    elif a.cmd == "spawn":
        argv = a.argv[1:] if a.argv[0] == "--" else a.argv
        out = Run(a.run).spawn(argv, a.name, a.log).pid
    elif a.cmd == "track":
        if a.if_running and start_time(a.pid) is None:
            return 0
        out = Run(a.run).track(a.pid, a.name)
    elif a.cmd == "untrack":
        Run(a.run).untrack(a.pid)
    elif a.cmd == "stop":
        Run(a.run).stop(a.pid, a.timeout, a.strict, a.start)
    elif a.cmd == "stop-all":
        run = Run(a.run)
        for d in a.cache:
            run.add_cache(d)
        for ps in a.pid:
            pid, _, started = ps.partition(":")
            if not pid.isdigit() or not started.isdigit():
                raise LifeError("stop-all: --pid %r is not PID:START" % ps)
            run._add("pid %s %s -" % (pid, started))
        run.stop_all(a.timeout)
    elif a.cmd == "alive":
        return 0 if alive(a.pid) else 1
    elif a.cmd == "start-time":
        out = start_time(a.pid) or ""
    elif a.cmd == "wait-gone":
        return 0 if wait_gone(a.pid, a.seconds) else 1
    elif a.cmd == "s3-start":
        out = s3_start(Run(a.run).create(), a.dir, a.bucket or ["models"], a.region, a.session_token,
                       a.tls)["ENV"]
    elif a.cmd == "s3-stop":
        s3_stop(Run(a.run), a.dir)
    elif a.cmd == "credentials":
        out = write_credentials(a.file, a.key_id, a.secret)
    elif a.cmd == "config":
        if a.mount_spec:
            mounts = []
            for spec in a.mount_spec:
                f = spec.split(",")
                if len(f) not in (5, 6):
                    raise LifeError("config: --mount-spec %r is not NAME,PATH,SOURCE,TENANT,ENDPOINT[,REGION]" % spec)
                mounts.append({"name": f[0], "path": f[1], "source": f[2], "tenant": f[3], "endpoint": f[4],
                               "credentials": a.credentials, "region": f[5] if len(f) == 6 else a.region})
        else:
            mounts = [{"name": a.mount, "path": a.path, "source": a.source, "endpoint": a.endpoint,
                       "region": a.region or "us-east-1", "tenant": a.tenant, "credentials": a.credentials,
                       "lines": a.mount_set}]
        if any(not m["endpoint"] or not m["credentials"] for m in mounts):
            raise LifeError("config: every mount needs --endpoint and --credentials")
        out = write_config(a.file, a.cache_dir, mounts, a.cache_set, a.extra.replace("\\n", "\n"))
    elif a.cmd == "daemon-start":
        p = daemon_start(Run(a.run).create(), a.config, a.log, a.bin, a.timeout)
        out = p.pid
    elif a.cmd == "daemon-wait":
        daemon_wait(a.config, a.pid, a.timeout, a.log)
    elif a.cmd == "daemon-pid":
        pid = daemon_pid(a.config)
        out = "" if pid is None else pid
    elif a.cmd == "daemon-stop":
        daemon_stop(Run(a.run), a.config, a.timeout)
    elif a.cmd == "counters":
        out = " ".join(str(v) for v in counters(a.config, a.fields, a.bin, a.need_daemon))
    elif a.cmd == "cache-path":
        out = cache_path(a.config, a.what, a.area, a.mount)
    elif a.cmd == "cache-file":
        out = cache_file(a.config, a.name)
    elif a.cmd == "extents":
        out = "\n".join("%d %d" % e for e in data_extents(a.file)) or None
    if out is not None:
        print(out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(_cli())
    except NoDaemon as e:
        print("mslife: %s" % e, file=sys.stderr)
        sys.exit(3)
    except (LifeError, OSError) as e:
        print("mslife: %s" % e, file=sys.stderr)
        sys.exit(1)
