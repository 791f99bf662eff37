"""cache-audit.py CONFIG SRC BADFILE [--alloc]: checks every map of the first mount of the
modelshim config CONFIG (the tests' mount "models") against its data file and the source tree
SRC, read-only; where they live is scripts/mslife.py's cache_path. A map must name its data file
(inode, size) and every chunk it marks present must hold the source's bytes; with --alloc, a data
file must not hold allocated pages beyond its present chunks (what a failed write left). Prints
"OBJECTS COMPLETE PARTIAL PRESENT_BYTES ALLOCATED_BYTES EXCESS_BYTES BAD" and writes one line per
problem to BADFILE. Map layout: core/map.h (header 208 bytes, then the bitmap)."""
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import mslife  # noqa: E402

config, src, badf = sys.argv[1], sys.argv[2], sys.argv[3]
if not os.path.isfile(config):
    sys.exit("cache-audit.py: %s is no modelshim config (it takes the config, not the cache dir)" % config)
strict_alloc = "--alloc" in sys.argv[4:]
tree, state = mslife.cache_path(config, area="tree"), mslife.cache_path(config, area="state")
objs = complete = partial = present = alloc = excess = 0
bad = []
for top, dirs, files in os.walk(tree):
    for f in sorted(files):
        p = os.path.join(top, f)
        key = os.path.relpath(p, tree)
        objs += 1
        st = os.stat(p)
        alloc += st.st_blocks * 512
        try:
            d = open(os.path.join(state, key), "rb").read()
        except FileNotFoundError:
            bad.append(f"{key}: no map (unreadable until an import)")
            continue
        chunk = struct.unpack_from("<I", d, 12)[0]
        size, ino = struct.unpack_from("<QQ", d, 16)
        n = struct.unpack_from("<I", d, 40)[0]
        if ino != st.st_ino or size != st.st_size:
            bad.append(f"{key}: the map names inode {ino} size {size}, the file is {st.st_ino} size {st.st_size}")
            continue
        ref = open(os.path.join(src, key), "rb").read()
        bits = d[208:208 + (n + 7) // 8]
        have = pages = 0
        with open(p, "rb") as fh:
            for i in range(n):
                if not (bits[i >> 3] >> (i & 7)) & 1:
                    continue
                fh.seek(i * chunk)
                b = fh.read(min(chunk, size - i * chunk))
                if b != ref[i * chunk:i * chunk + len(b)]:
                    bad.append(f"{key}: chunk {i} is marked present but holds wrong bytes")
                have += 1
                present += len(b)
                pages += (len(b) + 4095) // 4096
        complete += have == n
        partial += 0 < have < n
        if st.st_blocks * 512 > pages * 4096:
            excess += st.st_blocks * 512 - pages * 4096
            if strict_alloc:
                bad.append(f"{key}: {st.st_blocks * 512} bytes allocated, its present chunks need {pages * 4096}")
with open(badf, "w") as out:
    out.writelines(b + "\n" for b in bad)
print(objs, complete, partial, present, alloc, excess, len(bad))
