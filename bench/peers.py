"""peers.py: the clients compared, one class each behind one interface:
  set_up()        once per run: configs, credentials, directories
  mount(origin)   a fresh client on ORIGIN (s3, front, nginx) with an empty cache; raises on failure
  env()           the environment a reader runs in as this peer (None: the harness's own)
  root            where the data set appears to a reader
  tear_down()     stops and unmounts what the peer started (idempotent)
  options()       the exact options, for the results
Every process goes through mslife's registry (a killed run's leftovers are stopped by the next).
Never leaves a mount or a process behind, never talks to anything but 127.0.0.1.
"""
import contextlib
import os
import shutil
import subprocess
import time

import harness
from harness import mslife


class PeerError(Exception):
    pass


class Peer:
    name = "?"
    fallback = False  # modelshim without its shim: whole-file reads through `modelshim cat`

    def __init__(self, b):
        self.b = b  # the Bench: run, ds, origins, logs

    def set_up(self):
        pass

    def mount(self, origin):
        pass

    def env(self):
        return None

    def tear_down(self):
        pass

    def options(self):
        return ""


class Local(Peer):
    """A plain local file. The checkpoint is a fresh copy written with 4 MiB writes (a warm mmap's
    cost depends on the page-cache folio size, which follows how the file was written; modelshim's
    cache files are written in 4 MiB chunks); the LoRAs and the small files are the data set's."""
    name = "local"

    def set_up(self):
        self.root = os.path.join(self.b.run.dir, "local")
        os.makedirs(os.path.join(self.root, "ckpt"), exist_ok=True)
        for d in ("loras", "meta"):
            os.symlink(os.path.join(self.b.ds.src, d), os.path.join(self.root, d))
        self.fresh_copy()

    def fresh_copy(self):
        """Written anew right before warm figures (a page cache drop in between would leave it
        with the folios of readahead instead)."""
        dst = os.path.join(self.root, self.b.ds.ckpt)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dst)
        subprocess.run(["dd", "if=" + os.path.join(self.b.ds.src, self.b.ds.ckpt), "of=" + dst,
                        "bs=4M", "status=none"], check=True)

    @property
    def ckpt(self):
        return os.path.join(self.root, self.b.ds.ckpt)


class Modelshim(Peer):
    """modelshim with the defaults a user gets: a config naming only the cache dir and the mount.
    A fresh mount is a new cache dir, `modelshim import`, and `modelshim daemon`."""
    name = "modelshim"
    root = "/models"

    def set_up(self):
        b = self.b
        self.bin = os.path.join(harness.TOP, "build", "modelshim")
        self.shim = os.path.join(harness.TOP, "build", "libmodelshim.so")
        self.have_shim = os.path.isfile(self.shim) and not os.environ.get("BENCH_NO_SHIM")
        self.fallback = not self.have_shim
        self.cache = os.path.join(b.run.dir, "mscache")
        creds = mslife.write_credentials(os.path.join(b.run.dir, "credentials"))
        self.ini = {}
        for o in ("s3", "front", "nginx"):
            self.ini[o] = mslife.write_config(
                os.path.join(b.run.dir, "modelshim-%s.ini" % o), self.cache,
                [{"name": "models", "path": "/models", "source": "s3://models/%s/" % b.p.set,
                  "endpoint": b.origins.endpoint(o), "credentials": creds}])
        self.config = self.ini["s3"]
        self.daemon = None
        self.import_ns = None

    def mount(self, origin):
        try:
            self.tear_down(strict=True)
        except mslife.LifeError as e:
            raise PeerError(str(e)) from e
        self.config = self.ini[origin]
        t0 = time.monotonic_ns()
        with open(os.path.join(self.b.logs, "modelshim-import.log"), "ab") as out:
            r = subprocess.run([self.bin, "import", "--config", self.config, "-q"], stdout=out, stderr=out)
        if r.returncode != 0:
            raise PeerError("modelshim import failed (see bench/work/run/logs/modelshim-import.log)")
        self.import_ns = time.monotonic_ns() - t0
        try:
            self.daemon = mslife.daemon_start(self.b.run, self.config, ms_bin=self.bin,
                                              log=os.path.join(self.b.logs, "modelshim-daemon.log"))
        except mslife.LifeError as e:
            raise PeerError(str(e)) from e

    def mounted(self):
        return mslife.daemon_pid(self.config) is not None

    def env(self):
        return dict(os.environ, LD_PRELOAD=self.shim, MODELSHIM_CONFIG=self.config)

    def counter(self, name):
        """One of the daemon's counters (status --json only; raises when it is absent)."""
        return mslife.counters(self.config, [name], ms_bin=self.bin)[0]

    def tear_down(self, strict=False):
        """Stops the daemon (also one a client started on its own) and deletes the cache. A daemon
        that needed SIGKILL is an error for the next mount (STRICT), a logged line at the end."""
        try:
            mslife.daemon_stop(self.b.run, self.config)
        except mslife.LifeError as e:
            if strict:
                raise
            harness.log("modelshim: " + str(e))
        self.daemon = None
        shutil.rmtree(self.cache, ignore_errors=True)

    def options(self):
        with open(self.ini["s3"]) as f:
            ini = f.read().replace(self.b.run.dir, "bench/work/run")
        how = ("`LD_PRELOAD=build/libmodelshim.so MODELSHIM_CONFIG=F READER`" if self.have_shim else
               "(this run: shim not built, whole-file reads through `modelshim cat --config F`)")
        return ("```ini\n; modelshim config (one per origin; endpoint differs): the defaults a user gets\n"
                "%s```\n\nmodelshim daemon: `modelshim daemon --config F` started by the harness after "
                "`modelshim import --config F`; readers run as %s.\n" % (ini, how))


class Fuse(Peer):
    """A FUSE client mounted at run/mnt/NAME with its cache in run/fcache/NAME."""

    def set_up(self):
        self.root = os.path.join(self.b.run.dir, "mnt", self.name)
        self.cache = os.path.join(self.b.run.dir, "fcache", self.name)
        os.makedirs(self.root, exist_ok=True)
        self.pid = None

    def argv(self, origin):
        raise NotImplementedError

    def mount(self, origin):
        self.tear_down()
        os.makedirs(self.cache)
        argv, env = self.argv(origin)
        self.b.run.add_mount(self.root)
        p = self.b.run.spawn(argv, self.name, os.path.join(self.b.logs, self.name + ".log"), env=env)
        self.pid = p.pid
        ckpt = os.path.join(self.root, self.b.ds.ckpt)
        for _ in range(150):
            if mslife.is_mounted(self.root) and os.path.exists(ckpt):
                return
            if not mslife.alive(self.pid):
                break
            time.sleep(0.1)
        raise PeerError("%s mount failed (see bench/work/run/logs/%s.log)" % (self.name, self.name))

    def mounted(self):
        return mslife.is_mounted(self.root)

    def tear_down(self):
        self.b.run.drop_mount(self.root)
        if self.pid is not None:
            self.b.run.stop(self.pid)
            self.pid = None
        shutil.rmtree(self.cache, ignore_errors=True)


class S3fs(Fuse):
    name = "s3fs"

    def set_up(self):
        super().set_up()
        self.passwd = os.path.join(self.b.run.dir, "s3fs.passwd")
        fd = os.open(self.passwd, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"S3RVER:S3RVER\n")
        os.close(fd)

    def opts(self, endpoint):
        return ("url=%s,use_path_request_style,endpoint=us-east-1,passwd_file=%s,use_cache=%s,ro,kernel_cache,"
                "parallel_count=16,multipart_size=16,max_stat_cache_size=100000,stat_cache_expire=3600,"
                "enable_noobj_cache" % (endpoint, self.passwd, self.cache))

    def argv(self, origin):
        return ["s3fs", "models:/" + self.b.p.set, self.root, "-f", "-o",
                self.opts(self.b.origins.endpoint(origin))], None

    def options(self):
        o = self.opts("ENDPOINT").replace(self.b.run.dir, "bench/work/run")
        return "```sh\n# s3fs (libfuse 2; ENDPOINT per origin)\ns3fs models:/%s MNT -f -o %s\n```\n" % (self.b.p.set, o)


class Rclone(Fuse):
    name = "rclone"
    FLAGS = ["--read-only", "--vfs-cache-mode", "full", "--vfs-cache-max-size", "100G", "--vfs-cache-max-age",
             "24h", "--vfs-read-ahead", "256M", "--buffer-size", "64M", "--vfs-read-chunk-size", "64M",
             "--dir-cache-time", "1h", "--attr-timeout", "1h", "--poll-interval", "0", "--vfs-fast-fingerprint",
             "--use-server-modtime", "--s3-no-check-bucket"]

    def set_up(self):
        super().set_up()
        self.conf = os.path.join(self.b.run.dir, "rclone.conf")
        with open(self.conf, "w") as f:
            for o in ("s3", "front", "nginx"):
                f.write(self.remote(o, self.b.origins.endpoint(o)))

    @staticmethod
    def remote(o, endpoint):
        return ("[%s]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\nsecret_access_key = S3RVER\n"
                "region = us-east-1\nendpoint = %s\nforce_path_style = true\n\n" % (o, endpoint))

    def argv(self, origin):
        # rclone fails to start while AWS_CA_BUNDLE is exported (this machine exports it).
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        return (["rclone", "mount", "%s:models/%s" % (origin, self.b.p.set), self.root, "--config", self.conf,
                 "--cache-dir", self.cache] + self.FLAGS, env)

    def options(self):
        return ("```sh\n# rclone (remote per origin, config below)\nenv -u AWS_CA_BUNDLE rclone mount "
                "ORIGIN:models/%s MNT --config rclone.conf --cache-dir DIR %s\n```\n\n```ini\n"
                "; rclone.conf (one remote per origin; this one for s3rver direct)\n%s```\n"
                % (self.b.p.set, " ".join(self.FLAGS), self.remote("s3", self.b.origins.endpoint("s3"))))


class Curl(Peer):
    """The network limit: the checkpoint split into N equal ranges fetched at once by one curl."""
    name = "curl"

    def fetch(self, origin, n, outdir=None):
        """Fetches the checkpoint in N ranges, to /dev/null or into OUTDIR/part.I; returns ns."""
        size = self.b.p.ckpt_bytes
        url = "%s/models/%s/%s" % (self.b.origins.endpoint(origin), self.b.p.set, self.b.ds.ckpt)
        step = -(-size // n)
        args = []
        for i in range(n):
            a, z = i * step, min((i + 1) * step, size) - 1
            args += ["-r", "%d-%d" % (a, z), "-o", os.path.join(outdir, "part.%d" % i) if outdir else "/dev/null", url]
        t0 = time.monotonic_ns()
        r = subprocess.run(["curl", "-sSf", "--no-progress-meter", "-Z", "--parallel-max", str(n),
                            "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "S3RVER:S3RVER",
                            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"] + args,
                           capture_output=True, text=True, timeout=harness.READER_TIMEOUT)
        if r.returncode != 0:
            raise PeerError(r.stderr.strip() or "curl exit %d" % r.returncode)
        return time.monotonic_ns() - t0

    def options(self):
        return ("```sh\n# raw curl: the checkpoint split in N equal ranges fetched at once, N in {%s}, best N "
                "reported\ncurl -sSf -Z --parallel-max N --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER "
                "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -r A-B -o /dev/null URL ...\n```\n"
                % " ".join(map(str, harness.CURL_STREAMS)))

