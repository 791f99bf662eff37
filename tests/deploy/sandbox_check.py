#!/usr/bin/env python3
"""sandbox_check.py UNIT STRACE CACHE_DIR: would what a process did (STRACE: `strace -f -qq -yy -o`
output, every system call) survive the sandbox UNIT's [Service] section sets up? Checks each
call against SystemCallFilter= (expanded by `systemd-analyze syscall-filter`, entries merged in
order as systemd does), each socket's family against RestrictAddressFamilies=, each path
created, written, renamed, removed or chmod'ed against ProtectSystem=strict (writable: the
CacheDirectory=, which CACHE_DIR stands for, and ReadWritePaths=), each path opened against
ProtectHome= and ProcSubset=pid. Prints one line per kind of violation and exits 1 if any; on
success prints what it checked."""
import re
import subprocess
import sys

unit, trace, cache_dir = sys.argv[1:4]

settings = []
section = None
for raw in open(unit):
    line = raw.strip()
    if not line or line[0] in "#;":
        continue
    if line.startswith("["):
        section = line
        continue
    if section == "[Service]" and "=" in line:
        k, v = line.split("=", 1)
        settings.append((k.strip(), v.strip()))


def values(key):
    return [v for k, v in settings if k == key]


group_cache = {}


def expand(name):
    """The system calls of NAME (a call, or a @group, recursively)."""
    if not name.startswith("@"):
        return {name}
    if name not in group_cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                             text=True, check=True).stdout
        calls = set()
        for ln in out.splitlines()[1:]:
            ln = ln.strip()
            if not ln or ln.startswith("#"):
                continue
            calls |= expand(ln)
        group_cache[name] = calls
    return group_cache[name]


allowed = None  # None: no filter
for v in values("SystemCallFilter"):
    if v == "":
        allowed = None
        continue
    deny = v.startswith("~")
    names = set()
    for item in v.lstrip("~").split():
        names |= expand(item)
    if allowed is None:
        allowed = set() if not deny else None
        if deny:
            sys.exit("sandbox_check: a deny-list first is not supported by this check")
    allowed = allowed - names if deny else allowed | names

families = None
for v in values("RestrictAddressFamilies"):
    families = set(v.split())

protect_system = (values("ProtectSystem") or ["no"])[-1]
writable = [cache_dir] + [p.lstrip("-") for v in values("ReadWritePaths") for p in v.split()]
protect_home = (values("ProtectHome") or ["no"])[-1]
proc_subset = (values("ProcSubset") or ["all"])[-1]

call_re = re.compile(r"^\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()")
path_re = re.compile(r'"(/[^"]*)"')
bad = {}


def violation(kind, what):
    bad.setdefault(kind, set()).add(what)


WRITE_CALLS = {"mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir",
               "chmod", "fchmodat", "chown", "fchownat", "lchown", "link", "linkat", "symlink",
               "symlinkat", "truncate", "creat", "mknod", "mknodat", "utimensat", "bind"}
ncalls = 0
seen = set()
for line in open(trace, errors="replace"):
    m = call_re.match(line)
    if not m:
        continue
    name = m.group(1) or m.group(2)
    ncalls += 1
    seen.add(name)
    if allowed is not None and name not in allowed:
        violation("system call outside SystemCallFilter", name)
    if name == "socket" and families is not None:
        fam = re.search(r"socket\((AF_\w+)", line)
        if fam and fam.group(1) not in families:
            violation("address family outside RestrictAddressFamilies", fam.group(1))
    if name == "execve" and "resumed" not in line:
        continue  # the exec of the traced program itself
    paths = path_re.findall(line)
    writes = name in WRITE_CALLS or (
        name in ("open", "openat", "openat2") and re.search(r"O_(WRONLY|RDWR|CREAT|TRUNC)", line))
    failed = re.search(r"\)\s+= -1 ", line) is not None
    for p in paths[:2] if name in ("rename", "renameat", "renameat2", "link", "linkat") else paths[:1]:
        if writes and not failed and protect_system == "strict" and not p.startswith("/dev/") and \
                not p.startswith("/proc/") and not any(p == w or p.startswith(w.rstrip("/") + "/") for w in writable):
            violation("written outside the writable paths (ProtectSystem=strict)", "%s %s" % (name, p))
        if protect_home in ("yes", "read-only", "tmpfs") and re.match(r"^/(home|root|run/user)(/|$)", p):
            violation("ProtectHome= hides", "%s %s" % (name, p))
        if proc_subset == "pid" and p.startswith("/proc/sys"):
            violation("ProcSubset=pid hides", "%s %s" % (name, p))

if ncalls == 0:
    sys.exit("sandbox_check: no system calls in %s" % trace)
for kind, whats in sorted(bad.items()):
    print("%s: %s" % (kind, " ".join(sorted(whats))))
if bad:
    sys.exit(1)
print("%d calls of %d kinds inside SystemCallFilter (%d allowed), families %s, writes only under %s"
      % (ncalls, len(seen), len(allowed or ()), " ".join(sorted(families or [])) or "any", " ".join(writable)))
