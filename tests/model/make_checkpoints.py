#!/usr/bin/env python3
"""make_checkpoints.py DIR: writes the model-format test files of t-model-prefetch into DIR, and
their layout as DIR/layout.json (byte ranges the test checks fetches against):
  model.safetensors  a real safetensors file (8-byte length, JSON header padded with a large
                     __metadata__ so the header spans two 1 MiB chunks, 12 tensors of 1-3 MiB)
  model.pt           a zip as torch.save writes it (stored entries archive/data/N, 64-byte aligned
                     data, archive/data.pkl) of 10 tensors of 1.5-2.5 MiB
  pytorch_model.bin  the same zip under the name Hugging Face gives it (a .bin may be no zip:
                     its layout is parsed only once the program read the tail)
  broken.safetensors a file named like one whose header is garbage (plain readahead, right bytes)
  plain.dat          20 MiB of random bytes, no format
  sharded/           model.safetensors.index.json naming two shards (each tensor listed, so
                     each shard many times), the two shards, and pytorch_model.bin, not named
  badindex/          model.safetensors.index.json naming a shard "../plain.dat"
Deterministic (seeded), so the layout is the same on every run."""
import json, os, random, shutil, struct, sys, zipfile

out = sys.argv[1]
rnd = random.Random(1234)
MiB = 1 << 20


def blob(n):
    return rnd.randbytes(n)


# safetensors
sizes = [MiB + rnd.randrange(2 * MiB) for _ in range(12)]
hdr, off = {}, 0
for i, n in enumerate(sizes):
    hdr[f"layers.{i}.weight"] = {"dtype": "U8", "shape": [n], "data_offsets": [off, off + n]}
    off += n
hdr["__metadata__"] = {"pad": "x" * (MiB + 300000)}
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
base = 8 + len(h)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for n in sizes:
        f.write(blob(n))
tensors = [[base + hdr[f"layers.{i}.weight"]["data_offsets"][0],
            base + hdr[f"layers.{i}.weight"]["data_offsets"][1]] for i in range(12)]

# torch zip: stored entries, data aligned to 64 bytes through the local header's extra field
zpath = os.path.join(out, "model.pt")
with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", blob(2000))
    for i in range(10):
        zi = zipfile.ZipInfo(f"archive/data/{i}")
        name_len = len(zi.filename.encode())
        pad = -(z.fp.tell() + 30 + name_len + 4) % 64
        zi.extra = struct.pack("<HH", 0x1234, pad) + b"\0" * pad
        z.writestr(zi, blob(3 * MiB // 2 + rnd.randrange(MiB)))
    z.writestr("archive/version", b"3\n")
zf = zipfile.ZipFile(zpath)
infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
cd = zf.start_dir
entries = [[infos[i].header_offset, infos[i + 1].header_offset if i + 1 < len(infos) else cd]
           for i in range(len(infos))]
names = [i.filename for i in infos]

shutil.copyfile(zpath, os.path.join(out, "pytorch_model.bin"))
with open(os.path.join(out, "broken.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", 4096) + b"{not json" + blob(8 * MiB))
with open(os.path.join(out, "plain.dat"), "wb") as f:
    f.write(blob(20 * MiB))

os.makedirs(os.path.join(out, "sharded"))
wmap = {}
for k in (1, 2):
    name = f"model-0000{k}-of-00002.safetensors"
    h = {f"l{k}.{i}": {"dtype": "U8", "shape": [MiB], "data_offsets": [i * MiB, (i + 1) * MiB]}
         for i in range(3)}
    wmap.update({t: name for t in h})
    hb = json.dumps(h).encode()
    with open(os.path.join(out, "sharded", name), "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + blob(3 * MiB))
json.dump({"metadata": {"total_size": 6 * MiB}, "weight_map": wmap},
          open(os.path.join(out, "sharded", "model.safetensors.index.json"), "w"))
with open(os.path.join(out, "sharded", "pytorch_model.bin"), "wb") as f:
    f.write(blob(6 * MiB))
os.makedirs(os.path.join(out, "badindex"))
json.dump({"weight_map": {"a": "../plain.dat"}},
          open(os.path.join(out, "badindex", "model.safetensors.index.json"), "w"))

json.dump({"safetensors": {"header_end": base, "tensors": tensors,
                           "size": os.path.getsize(os.path.join(out, "model.safetensors"))},
           "zip": {"cd": cd, "entries": entries, "names": names, "size": os.path.getsize(zpath)}},
          open(os.path.join(out, "layout.json"), "w"))
