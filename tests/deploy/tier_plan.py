#!/usr/bin/env python3
"""tier_plan.py MANIFESTS.json OUT_DIR: reads deploy/kubernetes/tier.yaml's Service and
StatefulSet and configmap.yaml (MANIFESTS.json: every document, as tests/deploy/tojson.js gives
them) for t-deploy-tier, and fails, naming the field, where they disagree: the config's
[tier] nodes against the StatefulSet's pod names, its Service and port; the initContainer's
`modelshim tier-config` (tier name, --config, --listen, --dir, the file it writes) against the
mounts and the nginx container's -p and -c. Writes one value a file in OUT_DIR:

  config.ini      the ConfigMap's modelshim.ini with its one commented `; tier = NAME` enabled
  init.sh         the initContainer's sh -c script
  mounts          KIND SOURCE PATH per line (configMap/emptyDir/pvc, SOURCE the volume's name),
                  the volumes of both containers (they share their paths)
  conf_dir        where the nginx container reads nginx.conf (mounted read-only there)
  nginx.argv      the nginx container's command, one argument a line
  uid, gid, fsgroup, port, origin_host"""
import json
import os
import re
import shlex
import sys

docs, out = json.load(open(sys.argv[1])), sys.argv[2]
os.makedirs(out, exist_ok=True)


def fail(msg):
    sys.exit("tier_plan: " + msg)


def one(kind):
    hits = [d for d in docs if d.get("kind") == kind and d["metadata"]["name"].endswith("tier")] \
        if kind in ("Service", "StatefulSet") else [d for d in docs if d.get("kind") == kind]
    if len(hits) != 1:
        fail("expected one %s, found %d" % (kind, len(hits)))
    return hits[0]


def write(name, value):
    with open(os.path.join(out, name), "w") as f:
        f.write(value + ("" if value.endswith("\n") else "\n"))


cm, svc, sts = one("ConfigMap"), one("Service"), one("StatefulSet")
ini = cm["data"]["modelshim.ini"]
commented = re.findall(r"^(\s*);\s*tier\s*=\s*(\S+)\s*$", ini, re.M)
if len(commented) != 1:
    fail("the ConfigMap's config should have one commented '; tier = NAME' line, has %d" % len(commented))
tier = commented[0][1]
ini = re.sub(r"^(\s*);\s*(tier\s*=\s*\S+)\s*$", r"\1\2", ini, flags=re.M)
write("config.ini", ini)
m = re.search(r'^\s*\[tier "%s"\](.*?)(?=^\s*\[|\Z)' % re.escape(tier), ini, re.M | re.S)
if not m:
    fail("no [tier \"%s\"] section in the config" % tier)
nodes_m = re.search(r"^\s*nodes\s*=\s*(.*)$", m.group(1), re.M)
nodes = nodes_m.group(1).split(";")[0].split() if nodes_m else []
ep = re.search(r"^\s*endpoint\s*=\s*https?://([^/:\s]+)", ini, re.M)
write("origin_host", ep.group(1) if ep else fail("no endpoint in the config"))

pod = sts["spec"]["template"]["spec"]
if sts["spec"]["serviceName"] != svc["metadata"]["name"]:
    fail("the StatefulSet's serviceName %s is not the Service %s" % (sts["spec"]["serviceName"], svc["metadata"]["name"]))
if svc["spec"].get("clusterIP") != "None":
    fail("the Service is not headless (clusterIP: None): pods would have no names of their own")
labels = sts["spec"]["template"]["metadata"]["labels"]
if any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
    fail("the Service's selector does not select the StatefulSet's pods")
if len(pod.get("initContainers", [])) != 1 or len(pod["containers"]) != 1:
    fail("the tier's pod should have one initContainer (tier-config) and one container (nginx)")
init, nginx = pod["initContainers"][0], pod["containers"][0]
ports = {p["name"]: p["containerPort"] for p in nginx.get("ports", [])}
sport = svc["spec"]["ports"][0]
port = ports.get(sport["targetPort"], sport["targetPort"])
want = ["%s-%d.%s:%s" % (sts["metadata"]["name"], i, svc["metadata"]["name"], port)
        for i in range(sts["spec"]["replicas"])]
if nodes != want:
    fail("[tier \"%s\"] nodes = %s, but the StatefulSet's pods are %s" % (tier, " ".join(nodes), " ".join(want)))
write("port", str(port))

argv = init.get("command", []) + init.get("args", [])
if argv[:2] != ["sh", "-c"] or len(argv) != 3:
    fail("the initContainer is not `sh -c SCRIPT`: %s" % argv)
write("init.sh", argv[2])
tok = shlex.split(argv[2])
if "tier-config" not in tok:
    fail("the initContainer does not run modelshim tier-config")
t = tok[tok.index("tier-config") + 1:]
opts, names, redirect = {}, [], None
i = 0
while i < len(t):
    if t[i].startswith(">"):
        redirect = t[i][1:] or t[i + 1]
        i += 1 if t[i][1:] else 2
    elif t[i].startswith("--"):
        opts[t[i]] = t[i + 1]
        i += 2
    else:
        names.append(t[i])
        i += 1
if names != [tier]:
    fail("tier-config writes the config of tier %s, the mount names %s" % (names, tier))
if opts.get("--listen") != "0.0.0.0:%s" % port:
    fail("tier-config --listen %s, the pods' port is %s" % (opts.get("--listen"), port))
if redirect is None:
    fail("tier-config's nginx.conf goes to no file")

vols = {v["name"]: v for v in pod.get("volumes", [])}
claims = {c["metadata"]["name"] for c in sts["spec"].get("volumeClaimTemplates", [])}


def mounts(c):
    res = {}
    for mnt in c.get("volumeMounts", []):
        name = mnt["name"]
        if name in claims:
            kind = "pvc"
        elif "configMap" in vols.get(name, {}):
            kind = "configMap"
            if vols[name]["configMap"]["name"] != cm["metadata"]["name"]:
                fail("volume %s is not the ConfigMap %s" % (name, cm["metadata"]["name"]))
        elif "emptyDir" in vols.get(name, {}):
            kind = "emptyDir"
        else:
            fail("volume %s: neither the ConfigMap, an emptyDir nor a volumeClaimTemplate" % name)
        res[mnt["mountPath"]] = (kind, name, bool(mnt.get("readOnly")))
    return res


mi, mn = mounts(init), mounts(nginx)
for path, (kind, name, ro) in mn.items():
    if path in mi and mi[path][:2] != (kind, name):
        fail("%s is volume %s in nginx but %s in the initContainer" % (path, name, mi[path][1]))


def under(path, mnts, kinds):
    return any(path.startswith(p.rstrip("/") + "/") and mnts[p][0] in kinds for p in mnts)


if opts.get("--config") != os.path.join(next((p for p in mi if mi[p][0] == "configMap"), "?"), "modelshim.ini"):
    fail("tier-config --config %s is not the ConfigMap's modelshim.ini as mounted" % opts.get("--config"))
if opts.get("--dir") not in mn or mn[opts["--dir"]][0] != "pvc" or mi.get(opts["--dir"], ("",))[0] != "pvc":
    fail("tier-config --dir %s is not the cache volume in both containers" % opts.get("--dir"))
if not under(redirect, mi, ("emptyDir",)) or not under(redirect, mn, ("emptyDir",)):
    fail("tier-config writes %s, in no emptyDir both containers mount" % redirect)
nargv = nginx.get("command", []) + nginx.get("args", [])
if nargv[:1] != ["nginx"] or "-p" not in nargv or "-c" not in nargv or \
        nargv[nargv.index("-p") + 1] != opts["--dir"] or nargv[nargv.index("-c") + 1] != redirect:
    fail("nginx runs %s: not -p %s -c %s" % (nargv, opts["--dir"], redirect))
write("nginx.argv", "\n".join(nargv))
write("conf_dir", os.path.dirname(redirect))
allm = dict(mi)
allm.update(mn)
write("mounts", "\n".join("%s %s %s" % (k, n, p) for p, (k, n, _) in sorted(allm.items())))
psc = pod.get("securityContext", {})
write("uid", str(psc.get("runAsUser", 0)))
write("gid", str(psc.get("runAsGroup", psc.get("runAsUser", 0))))
write("fsgroup", str(psc.get("fsGroup", psc.get("runAsGroup", 0))))
print("tier plan: %d nodes %s; tier-config %s; nginx %s" % (len(nodes), " ".join(nodes), " ".join(t), " ".join(nargv)))
