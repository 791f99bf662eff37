"""origins.py: the servers every peer reads from, all on 127.0.0.1: s3rver (direct), s3rver behind
the SigV4 front (which counts bytes per key), and nginx serving the large objects from s3rver's
files with sendfile (everything else proxied to s3rver), so that cold reads measure the client.
Owns starting and stopping them (through mslife's registry) and their byte counters.
Never listens or connects beyond loopback.
"""
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import harness
from harness import mslife

LABELS = {"s3": "s3rver (direct)", "front": "s3rver behind the SigV4 front", "nginx": "nginx"}
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy


def http(url, method="GET", timeout=5):
    """(status, body) of one request; status 0 when nothing answers."""
    try:
        with _http.open(urllib.request.Request(url, method=method), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NGINX_CONF = """daemon off;
user root;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format bytes '$request_method $status $body_bytes_sent $uri';
  access_log {log} bytes;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000; keepalive_timeout 300s;
  types {{ }} default_type binary/octet-stream;
  upstream s3rver {{ server 127.0.0.1:{s3_port}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    error_page 418 = @s3rver;
    location ~ ^/models/(?<key>{set}/(ckpt|loras)/[^/]+)$ {{
      if ($request_method !~ ^(GET|HEAD)$) {{ return 418; }}
      if ($args != "") {{ return 418; }}
      error_page 404 = @s3rver;
      alias {store}/models/$key._S3rver_object;
    }}
    location / {{ return 418; }}
    location @s3rver {{
      proxy_pass http://s3rver;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header Accept-Encoding "";
      proxy_buffering off;
      client_max_body_size 0;
      sub_filter_types *;
      sub_filter_once off;
      include {d}/etags.conf;
    }}
  }}
}}
"""


class Origins:
    """The three endpoints; start() brings s3rver, the front and nginx up, stop() takes them down."""

    def __init__(self, run, ds, logs):
        self.run, self.ds, self.logs = run, ds, logs
        self.s3 = None
        self.nginx_dir = os.path.join(run.dir, "nginx")
        self.nginx_log = os.path.join(self.nginx_dir, "access.log")
        self.nginx_pid = None
        self.nginx_endpoint = None
        self.nginx_off = 0

    def start_s3(self):
        s3dir = os.path.join(self.run.dir, "s3")
        os.makedirs(self.ds.store, exist_ok=True)
        os.makedirs(s3dir, exist_ok=True)
        os.symlink(self.ds.store, os.path.join(s3dir, "data"))
        self.s3 = mslife.s3_start(self.run, s3dir, buckets=["models"])

    def upload(self):
        with open(os.path.join(self.logs, "put.log"), "ab") as out:
            subprocess.run(["node", os.path.join(harness.TOP, "tests", "s3", "put.js"), self.s3["S3_ENDPOINT"],
                            "models", self.ds.src, self.ds.p.set + "/"], stdout=out, check=True)

    def start_nginx(self):
        """nginx's ETag ("mtime-size") is not s3rver's (md5), and modelshim sends If-Match with the
        listed ETag: the listings proxied through nginx carry nginx's ETag for the objects it
        serves (sub_filter, one pattern per object: nginx allows 255, hence large objects only)."""
        d = self.nginx_dir
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        subs = []
        for rel in self.ds.large:
            f = self.ds.obj_file(rel)
            with open(f + ".md5") as m:
                md5 = m.read().strip()
            if not re.fullmatch(r"[0-9a-f]{32}", md5):
                raise RuntimeError("no md5 for " + f)
            st = os.stat(f)
            subs.append("sub_filter '%s' '%x-%x';\n" % (md5, int(st.st_mtime), st.st_size))
        if len(subs) >= 255:
            raise RuntimeError("too many large objects for nginx's sub_filter (%d)" % len(subs))
        with open(os.path.join(d, "etags.conf"), "w") as f:
            f.writelines(subs)
        for _ in range(5):
            port = free_port()
            with open(os.path.join(d, "nginx.conf"), "w") as f:
                f.write(NGINX_CONF.format(d=d, log=self.nginx_log, s3_port=self.s3["S3_PORT"], port=port,
                                          set=self.ds.p.set, store=self.ds.store))
            p = self.run.spawn(["nginx", "-c", os.path.join(d, "nginx.conf"), "-e", os.path.join(d, "error.log")],
                               "nginx", os.path.join(self.logs, "nginx.log"))
            url = "http://127.0.0.1:%d" % port
            for _ in range(50):
                if not mslife.alive(p.pid) or http(url + "/__probe", timeout=2)[0] != 0:
                    break
                time.sleep(0.1)
            if mslife.alive(p.pid) and http(url + "/__probe", timeout=2)[0] != 0:
                self.nginx_pid, self.nginx_endpoint = p.pid, url
                return
            self.run.stop(p.pid)
        raise RuntimeError("nginx did not start; see %s/error.log" % d)

    def stop(self):
        if self.nginx_pid is not None:
            self.run.stop(self.nginx_pid)
            self.nginx_pid = None
        if self.s3 is not None:
            mslife.s3_stop(self.run, os.path.join(self.run.dir, "s3"))
            self.s3 = None

    def endpoint(self, o):
        return {"s3": self.s3["S3_ENDPOINT"], "front": self.s3["FRONT_ENDPOINT"], "nginx": self.nginx_endpoint}[o]

    # -- the origin's files stay in the page cache during cold runs: the client is measured
    def warm(self):
        """Before every cold measurement: cheap when the files are cached already."""
        for rel in self.ds.large:
            harness.cat(self.ds.obj_file(rel))

    # -- bytes of the checkpoint fetched from an origin since the last reset
    def counter_reset(self, o):
        if o == "front":
            if http(self.s3["FRONT_ENDPOINT"] + "/__front/reset", "POST")[0] != 200:
                raise RuntimeError("the front's counters cannot be reset")
        elif o == "nginx":
            self.nginx_off = os.path.getsize(self.nginx_log)

    def counter_bytes(self, o):
        time.sleep(0.5)  # nginx writes its log line when the response is done
        key = "/models/%s/%s" % (self.ds.p.set, self.ds.ckpt)
        if o == "front":
            code, body = http(self.s3["FRONT_ENDPOINT"] + "/__front/stats")
            if code != 200:
                raise RuntimeError("the front's stats are unavailable")
            keys = json.loads(body)["keys"]
            return sum(v["bytes"] for k, v in keys.items() if k.endswith(self.ds.ckpt))
        with open(self.nginx_log) as f:
            f.seek(self.nginx_off)
            total = 0
            for line in f:
                fs = line.split()
                if len(fs) == 4 and fs[0] == "GET" and fs[3] == key:
                    total += int(fs[2])
            return total

    def nginx_server_block(self):
        with open(os.path.join(self.nginx_dir, "nginx.conf")) as f:
            conf = f.read()
        block = conf[conf.index("  server {"):conf.rindex("  }") + 3]
        return block.replace(self.run.dir, "bench/work/run").replace(self.ds.store, "bench/work/store")
