#!/usr/bin/env python3
"""pod_plan.py MANIFESTS.json OUT_DIR: reads deploy/kubernetes (MANIFESTS.json: every document of
every manifest, as tests/deploy/tojson.js gives them) and writes what t-deploy-pod needs to run
the DaemonSet's daemon and the application's pod the way the manifests wire them, one value a
file in OUT_DIR (so that bash reads them without parsing):

  node_cache       the DaemonSet's hostPath (the node's cache dir)
  config.ini       the ConfigMap's modelshim.ini, verbatim (what the pod reads)
  daemon_init.argv, daemon.argv   the import initContainer's and the daemon's commands, one
                   argument a line; daemon_config: the --config path they name
  daemon_env       NAME=SECRET_KEY per line, the env the daemon takes from the Secret
  daemon_caps      capabilities added after dropping ALL ("chown"); daemon_uid; daemon_ro_root
  metrics_port, ready_path, live_path   the probes (httpGet on the port named in them)
  app_uid, app_gid, app_groups (comma-separated supplementalGroups and fsGroup)
  app_env          NAME=VALUE per line (the application container's env)
  app_mounts       KIND SOURCE MOUNTPATH ro|rw per line: KIND emptyDir (SOURCE: the volume's
                   name), configMap (SOURCE: a dir here holding its keys), hostPath (SOURCE:
                   the node path)
  emptydirs        NAME MEDIUM SIZE per line
  inject_src, inject_dst   the initContainer's `cp SRC DST`: SRC in the modelshim image, DST
                   as the emptyDir volume's NAME/RELATIVE
  warmup.argv, warmup_mounts   the optional warm-up initContainer (`modelshim warmup`, run
                   from the modelshim image) and its mounts, as app_mounts
  model_dir        the application's --model argument (a virtual path); model_bucket and
                   model_key_prefix: where its files are in the store, by the mount's source;
                   mount_path, mount_key_prefix: that mount's path and its source's key prefix

It fails, naming the manifest field, where the manifests disagree with each other in ways a
cluster would only show as a broken pod: the config's [cache] dir against the mount paths of
the daemon and of the application, the hostPaths of both, the --config and MODELSHIM_CONFIG
paths against the ConfigMap's mounts and keys, LD_PRELOAD against where the initContainer copies
the .so, the metrics port against the probes."""
import json
import os
import re
import sys

docs, out = json.load(open(sys.argv[1])), sys.argv[2]
os.makedirs(out, exist_ok=True)


def fail(msg):
    sys.exit("pod_plan: " + msg)


def one(kind, pred=lambda d: True):
    hits = [d for d in docs if d.get("kind") == kind and pred(d)]
    if len(hits) != 1:
        fail("expected one %s in deploy/kubernetes, found %d" % (kind, len(hits)))
    return hits[0]


def write(name, value):
    with open(os.path.join(out, name), "w") as f:
        f.write(value if value.endswith("\n") or value == "" else value + "\n")


cm = one("ConfigMap")
cm_name = cm["metadata"]["name"]
ini = cm["data"].get("modelshim.ini") or fail("ConfigMap %s has no key modelshim.ini" % cm_name)
write("config.ini", ini)


def ini_value(section, key):
    cur = None
    for line in ini.splitlines():
        s = line.split(";")[0].strip()
        if s.startswith("["):
            cur = s
        elif cur == section and "=" in s and s.split("=", 1)[0].strip() == key:
            return s.split("=", 1)[1].strip()
    return None


cache_dir = ini_value("[cache]", "dir") or fail("the ConfigMap's modelshim.ini has no [cache] dir")
metrics = ini_value("[cache]", "metrics")

ds = one("DaemonSet")
pod = ds["spec"]["template"]["spec"]
vols = {v["name"]: v for v in pod.get("volumes", [])}
if len(pod["containers"]) != 1 or len(pod.get("initContainers", [])) != 1:
    fail("the DaemonSet should have one initContainer (import) and one container (daemon)")
init, daemon = pod["initContainers"][0], pod["containers"][0]


def mounts_of(container, volumes):
    """[(volume, mountPath, readOnly)] of a container."""
    res = []
    for m in container.get("volumeMounts", []):
        v = volumes.get(m["name"]) or fail("%s mounts volume %s, which the pod lacks" % (container["name"], m["name"]))
        res.append((v, m["mountPath"], bool(m.get("readOnly")), m.get("subPath")))
    return res


def config_path(container, volumes, what):
    for v, path, _, sub in mounts_of(container, volumes):
        if "configMap" in v:
            if v["configMap"]["name"] != cm_name:
                fail("%s: volume %s names ConfigMap %s, not %s" % (what, v["name"], v["configMap"]["name"], cm_name))
            if sub:
                fail("%s: a subPath mount of the ConfigMap does not follow its updates" % what)
            return path
    fail("%s mounts no ConfigMap" % what)


def host_cache(container, volumes, what):
    for v, path, ro, _ in mounts_of(container, volumes):
        if "hostPath" in v:
            return v["hostPath"]["path"], path, ro, v["hostPath"].get("type")
    fail("%s mounts no hostPath" % what)


for c, what in ((init, "DaemonSet initContainer"), (daemon, "DaemonSet container")):
    hp, mp, ro, _ = host_cache(c, vols, what)
    if mp != cache_dir:
        fail("%s mounts the cache at %s, the config's [cache] dir is %s" % (what, mp, cache_dir))
    if ro:
        fail("%s mounts the cache read-only: the daemon writes it" % what)
    cfg = config_path(c, vols, what)
    argv = c.get("command", []) + c.get("args", [])
    if "--config" not in argv or argv.index("--config") + 1 >= len(argv):
        fail("%s: no --config in %s" % (what, argv))
    cfgarg = argv[argv.index("--config") + 1]
    if cfgarg != cfg.rstrip("/") + "/modelshim.ini":
        fail("%s: --config %s, but the ConfigMap's modelshim.ini is at %s/modelshim.ini" % (what, cfgarg, cfg))
node_cache = host_cache(daemon, vols, "DaemonSet container")[0]
write("node_cache", node_cache)
init_argv = init.get("command", []) + init.get("args", [])
daemon_argv = daemon.get("command", []) + daemon.get("args", [])
if init_argv[:2] != ["modelshim", "import"] or daemon_argv[:2] != ["modelshim", "daemon"]:
    fail("the DaemonSet runs %s then %s, not modelshim import then modelshim daemon" % (init_argv, daemon_argv))
if "--detach" in daemon_argv:
    fail("the DaemonSet's daemon must stay in the foreground (no --detach)")
write("daemon_init.argv", "\n".join(init_argv))
write("daemon.argv", "\n".join(daemon_argv))
write("daemon_config", daemon_argv[daemon_argv.index("--config") + 1])

env = []
for e in daemon.get("env", []):
    ref = e.get("valueFrom", {}).get("secretKeyRef")
    if ref is None:
        fail("the daemon's env %s is not from the Secret" % e["name"])
    if not ref.get("optional"):
        env.append("%s=%s" % (e["name"], ref["key"]))
write("daemon_env", "\n".join(env))
sc = daemon.get("securityContext", {})
caps = sc.get("capabilities", {})
if caps.get("drop") != ["ALL"]:
    fail("the daemon's securityContext does not drop ALL capabilities")
write("daemon_caps", ",".join(c.lower() for c in caps.get("add", [])))
write("daemon_uid", str(sc.get("runAsUser", 0)))
write("daemon_ro_root", "yes" if sc.get("readOnlyRootFilesystem") else "no")

ports = {p["name"]: p["containerPort"] for p in daemon.get("ports", []) if "name" in p}
for probe, name in (("readinessProbe", "ready_path"), ("livenessProbe", "live_path")):
    g = daemon.get(probe, {}).get("httpGet") or fail("the daemon has no httpGet %s" % probe)
    port = ports.get(g["port"], g["port"])
    if metrics is None or not metrics.endswith(":%s" % port):
        fail("%s probes port %s, the config's [cache] metrics is %s" % (probe, port, metrics))
    write(name, g["path"])
write("metrics_port", str(port))

dep = one("Deployment")
pod = dep["spec"]["template"]["spec"]
vols = {v["name"]: v for v in pod.get("volumes", [])}
if len(pod["containers"]) != 1:
    fail("the application should have one container")
app = pod["containers"][0]
inject, warmup = None, None
for c in pod.get("initContainers", []):
    argv = c.get("command", []) + c.get("args", [])
    if argv[:1] == ["cp"] and inject is None:
        inject = c
    elif argv[:2] == ["modelshim", "warmup"] and warmup is None:
        warmup = c
    else:
        fail("the application's initContainer %s runs %s: neither `cp SRC DST` nor `modelshim warmup`" % (c["name"], argv))
if inject is None:
    fail("the application has no initContainer copying the .so")
psc = pod.get("securityContext", {})
uid = app.get("securityContext", {}).get("runAsUser", psc.get("runAsUser"))
gid = app.get("securityContext", {}).get("runAsGroup", psc.get("runAsGroup", uid))
if uid is None or uid == 0:
    fail("the application pod should run as a non-root runAsUser")
groups = [str(g) for g in psc.get("supplementalGroups", [])] + ([str(psc["fsGroup"])] if "fsGroup" in psc else [])
write("app_uid", str(uid))
write("app_gid", str(gid))
write("app_groups", ",".join(groups))

hp, mp, ro, hptype = host_cache(app, vols, "the application")
if hp != node_cache:
    fail("the application mounts hostPath %s, the DaemonSet's cache is %s" % (hp, node_cache))
if mp != cache_dir:
    fail("the application mounts the cache at %s, the config's [cache] dir is %s" % (mp, cache_dir))
if not ro:
    fail("the application mounts the cache read-write")
appenv = {}
for e in app.get("env", []):
    if "value" not in e:
        fail("the application's env %s has no literal value" % e["name"])
    appenv[e["name"]] = e["value"]
cfg = config_path(app, vols, "the application")
if appenv.get("MODELSHIM_CONFIG") != cfg.rstrip("/") + "/modelshim.ini":
    fail("MODELSHIM_CONFIG=%s, but the ConfigMap's modelshim.ini is at %s/modelshim.ini" % (appenv.get("MODELSHIM_CONFIG"), cfg))
write("app_env", "\n".join("%s=%s" % kv for kv in appenv.items()))

def mount_lines(container):
    lines = []
    for v, path, ro, sub in mounts_of(container, vols):
        if sub:
            fail("%s mounts %s with a subPath: not emulated" % (container["name"], v["name"]))
        if "emptyDir" in v:
            lines.append("emptyDir %s %s %s" % (v["name"], path, "ro" if ro else "rw"))
        elif "configMap" in v:
            d = os.path.join(out, "cm-" + v["name"])
            os.makedirs(d, exist_ok=True)
            for k, val in cm["data"].items():
                with open(os.path.join(d, k), "w") as f:
                    f.write(val)
            lines.append("configMap %s %s %s" % (d, path, "ro" if ro else "rw"))
        elif "hostPath" in v:
            lines.append("hostPath %s %s %s" % (v["hostPath"]["path"], path, "ro" if ro else "rw"))
        else:
            fail("%s mounts volume %s of a kind not emulated" % (container["name"], v["name"]))
    return "\n".join(lines)


empties = []
write("app_mounts", mount_lines(app))
for name, v in vols.items():
    if "emptyDir" in v:
        empties.append("%s %s %s" % (name, v["emptyDir"].get("medium", "disk"), v["emptyDir"].get("sizeLimit", "-")))
write("emptydirs", "\n".join(empties))

argv = inject.get("command", []) + inject.get("args", [])
if len(argv) != 3 or argv[0] != "cp":
    fail("the application's initContainer runs %s, not `cp SRC DST` (the only form emulated)" % argv)
src, dst = argv[1], argv[2]
dvol = None
for v, path, ro, _ in mounts_of(inject, vols):
    if "emptyDir" in v and dst.startswith(path.rstrip("/") + "/"):
        dvol = (v["name"], dst[len(path.rstrip("/")) + 1:])
if dvol is None:
    fail("the initContainer copies to %s, in no emptyDir it mounts" % dst)
write("inject_src", src)
write("inject_dst", "%s/%s" % dvol)
preload = appenv.get("LD_PRELOAD", "")
app_paths = {v["name"]: path for v, path, _, _ in mounts_of(app, vols)}
if dvol[0] not in app_paths or preload != app_paths[dvol[0]].rstrip("/") + "/" + dvol[1]:
    fail("LD_PRELOAD=%s, but the initContainer's copy is at %s/%s in the application" % (preload, app_paths.get(dvol[0]), dvol[1]))

args = app.get("command", []) + app.get("args", [])
if "--model" not in args:
    fail("the application names no --model")
model = args[args.index("--model") + 1]
sections = re.findall(r"^\s*(\[mount \"[^\"]+\"\])", ini, re.M)
under = [s for s in sections if (ini_value(s, "path") or "/").rstrip("/") and model.startswith(ini_value(s, "path").rstrip("/") + "/")]
if not under:
    fail("--model %s is under no mount path of the config (%s)" % (model, [ini_value(s, "path") for s in sections]))
m = re.match(r"^s3://([^/]+)/(.*)$", ini_value(under[0], "source") or "")
if not m:
    fail("the mount %s has no source s3://BUCKET/PREFIX" % under[0])
write("model_dir", model)

if warmup is not None:
    argv = warmup.get("command", []) + warmup.get("args", [])
    if "--config" not in argv or argv[argv.index("--config") + 1] != config_path(warmup, vols, "the warm-up").rstrip("/") + "/modelshim.ini":
        fail("the warm-up's --config is not the ConfigMap's modelshim.ini as it mounts it")
    hp, mp, ro, _ = host_cache(warmup, vols, "the warm-up")
    if hp != node_cache or mp != cache_dir or not ro:
        fail("the warm-up mounts hostPath %s at %s (read-only: %s); the cache is %s at %s, read-only" % (hp, mp, ro, node_cache, cache_dir))
    if model not in argv:
        fail("the warm-up (%s) does not warm --model %s" % (argv, model))
    write("warmup.argv", "\n".join(argv))
    write("warmup_mounts", mount_lines(warmup))
write("model_bucket", m.group(1))
write("mount_path", ini_value(under[0], "path").rstrip("/"))
write("mount_key_prefix", m.group(2))
write("model_key_prefix", m.group(2) + model[len(ini_value(under[0], "path").rstrip("/")) + 1:].rstrip("/") + "/")
print("plan: daemon %s (hostPath %s at %s); app uid %s groups %s, LD_PRELOAD=%s, model %s"
      % (" ".join(daemon_argv), node_cache, cache_dir, uid, ",".join(groups), preload, model))
