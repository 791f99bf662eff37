#!/usr/bin/env bash
# t-model-prefetch: model-aware prefetch (sidecar/daemon_model.c). Opening an incomplete
# .safetensors file fetches its header (two chunks here) and nothing else; a read inside a tensor
# fetches that tensor's chunks and no further; opening a torch zip checkpoint fetches its tail
# (the central directory) and a read in an entry fetches that entry; a file named .safetensors
# with a garbage header reads right with plain readahead; a plain file's open fetches nothing
# unless its mount says fill = open, which fetches it whole. Byte counts come from the front and
# are checked exactly once the daemon is idle (nothing in flight), so they do not depend on timing.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
[[ -n $MS_BIN ]] || ms_skip "MS_BIN is not set (run under ctest)"
[[ -n ${MS_PRELOAD:-} ]] || ms_skip "MS_PRELOAD is not set (run under ctest)"
[[ ! -e /models ]] || ms_skip "/models exists on this host: the virtual prefix must not exist on disk"

ms_start_s3
mkdir -p "$T/src"
python3 "$MS_TOP/tests/model/make_checkpoints.py" "$T/src"
mv "$T/src/layout.json" "$T/layout.json"
ms_put "$T/src"
ms_write_config "$T/ms.ini" # chunk_size 1M
"$MS_BIN" import -q --config "$MS_CONFIG" || ms_fail "import failed"
ms_daemon_start

# layout FIELD: a number from layout.json, FIELD a python expression over it (L).
layout() {
	python3 -c 'import json, sys; L = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/layout.json" "$1"
}

# chunk_bytes SIZE RANGE...: bytes of the 1 MiB chunks covering the union of the ranges BEGIN:END
# of an object of SIZE bytes (the last chunk cut at its end).
chunk_bytes() {
	python3 - "$@" <<'PY'
import sys
size, C = int(sys.argv[1]), 1 << 20
chunks = set()
for r in sys.argv[2:]:
    b, e = map(int, r.split(":"))
    chunks.update(range(b // C, (e - 1) // C + 1))
print(sum(min(C, size - c * C) for c in chunks))
PY
}

# settle KEY WANT: waits (at most 20 s) for the front to have sent WANT bytes of KEY and for the
# daemon to have nothing in flight, then fails with WHAT unless exactly WANT bytes were sent.
settle() {
	local key=$1 want=$2 what=$3 i got inflight
	for ((i = 0; i < 200; i++)); do
		got=$(ms_key_stat "$key" bytes)
		if [[ $got -ge $want ]]; then
			inflight=$(ms_status_fields daemon.inflight)
			[[ $inflight != 0 ]] || break
		fi
		sleep 0.1
	done
	got=$(ms_key_stat "$key" bytes)
	[[ $got == "$want" ]] || ms_fail "$what: $got bytes of $key fetched, expected $want"
	ms_ok "$what: $got bytes of $key fetched"
}

# pread_shim VPATH [OFF LEN]: opens VPATH through the shim, reads LEN bytes at OFF if given, and
# prints their sha256 (or nothing).
pread_shim() {
	ms_shim python3 -c '
import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
if len(sys.argv) > 2:
    print(hashlib.sha256(os.pread(fd, int(sys.argv[3]), int(sys.argv[2]))).hexdigest())
os.close(fd)' "$@"
}

src_sha() {
	python3 -c 'import hashlib, sys; f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2])); print(hashlib.sha256(f.read(int(sys.argv[3]))).hexdigest())' "$@"
}

# --- safetensors: the header at open, then one tensor
st_size=$(layout 'L["safetensors"]["size"]')
hdr_end=$(layout 'L["safetensors"]["header_end"]')
pread_shim /models/model.safetensors
want=$(chunk_bytes "$st_size" "0:$hdr_end")
settle model.safetensors "$want" "open of model.safetensors fetched its header (ends at $hdr_end), nothing more"

t_begin=$(layout 'L["safetensors"]["tensors"][6][0]')
t_end=$(layout 'L["safetensors"]["tensors"][6][1]')
got=$(pread_shim /models/model.safetensors "$t_begin" 4096)
[[ $got == $(src_sha "$T/src/model.safetensors" "$t_begin" 4096) ]] || ms_fail "tensor 6's first bytes are wrong"
want=$(chunk_bytes "$st_size" "0:$hdr_end" "$t_begin:$t_end")
settle model.safetensors "$want" "a 4 KiB read at tensor 6 ($t_begin-$t_end) fetched that tensor, no further"

# --- a fault of a lazy mmap in a tensor fetches the chunk it touches, not on to the tensor's end
# (the lazy-mmap handler reads ahead on its own pattern); needs userfaultfd, as t-mmap-lazy
if ms_have_uffd; then
	t8=$(layout 'L["safetensors"]["tensors"][8][0]')
	t8_end=$(layout 'L["safetensors"]["tensors"][8][1]')
	(((t8_end - 1) >> 20 > t8 >> 20)) || ms_fail "tensor 8 ($t8-$t8_end) lies in one chunk: the case shows nothing"
	got=$(ms_shim python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
print(m[int(sys.argv[2])])' /models/model.safetensors "$t8")
	[[ $got == $(python3 -c 'import sys; f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2])); print(f.read(1)[0])' "$T/src/model.safetensors" "$t8") ]] ||
		ms_fail "tensor 8's first byte through mmap is wrong ($got)"
	want=$(chunk_bytes "$st_size" "0:$hdr_end" "$t_begin:$t_end" "$t8:$((t8 + 1))")
	settle model.safetensors "$want" "a fault at tensor 8 ($t8-$t8_end) fetched its chunk, not on to the tensor's end"
else
	echo "skip: lazy-mmap case: no userfaultfd here (mmap is never lazy)"
fi

# --- torch zip: the central directory at open, then one entry
pt_size=$(layout 'L["zip"]["size"]')
cd=$(layout 'L["zip"]["cd"]')
tail_off=$((pt_size > 65557 ? pt_size - 65557 : 0))
pread_shim /models/model.pt
want=$(chunk_bytes "$pt_size" "$tail_off:$pt_size" "$cd:$pt_size")
settle model.pt "$want" "open of model.pt fetched its tail and central directory (at $cd)"
e_begin=$(layout 'L["zip"]["entries"][5][0]')
e_end=$(layout 'L["zip"]["entries"][5][1]')
got=$(pread_shim /models/model.pt $((e_begin + 100)) 4096)
[[ $got == $(src_sha "$T/src/model.pt" $((e_begin + 100)) 4096) ]] || ms_fail "entry 5's bytes are wrong"
want=$(chunk_bytes "$pt_size" "$tail_off:$pt_size" "$cd:$pt_size" "$e_begin:$e_end")
settle model.pt "$want" "a read in entry $(layout 'L["zip"]["names"][5]') fetched that entry, no further"

# --- the same zip as pytorch_model.bin: nothing at open (a .bin may be no zip); once the program
# has read the tail, as torch does, a read in an entry fetches that entry
got=$(pread_shim /models/pytorch_model.bin $((pt_size - 4096)) 4096)
[[ $got == $(src_sha "$T/src/pytorch_model.bin" $((pt_size - 4096)) 4096) ]] || ms_fail "pytorch_model.bin's tail is wrong"
want=$(chunk_bytes "$pt_size" "$((pt_size - 4096)):$pt_size")
settle pytorch_model.bin "$want" "open of pytorch_model.bin and a read of its last 4 KiB fetched that chunk only"
got=$(pread_shim /models/pytorch_model.bin $((e_begin + 100)) 4096)
[[ $got == $(src_sha "$T/src/pytorch_model.bin" $((e_begin + 100)) 4096) ]] || ms_fail "pytorch_model.bin's entry 5 is wrong"
want=$(chunk_bytes "$pt_size" "$((pt_size - 4096)):$pt_size" "$e_begin:$e_end")
settle pytorch_model.bin "$want" "then a read in entry 5 of pytorch_model.bin fetched that entry"

# --- a garbage header: plain readahead, right bytes, one line in the log
ms_shim cat /models/broken.safetensors | cmp - "$T/src/broken.safetensors" || ms_fail "broken.safetensors read wrong"
grep -q "broken.safetensors: no tensor layout" "$T/daemon.log" ||
	ms_fail "no log line for the garbage header: $(tail -n 5 "$T/daemon.log")"
ms_ok "a garbage safetensors header: plain readahead, bytes right"

# --- warmup of a checkpoint index: the index and the shards it names, not the other files
"$MS_BIN" warmup --config "$MS_CONFIG" /models/sharded/model.safetensors.index.json >"$T/wi.out" ||
	ms_fail "warmup of an index failed: $(cat "$T/wi.out")"
# The index itself is read first (to find the shards), so it counts as present.
grep -q "^warmup: 2 files warmed (6144K), 1 already present, 0 failed" "$T/wi.out" || ms_fail "warmup of the index: $(cat "$T/wi.out")"
[[ $(ms_key_stat sharded/pytorch_model.bin bytes) == 0 ]] || ms_fail "warmup of the index fetched pytorch_model.bin"
ms_front_reset
for k in 1 2; do
	f=sharded/model-0000$k-of-00002.safetensors
	"$MS_BIN" cat --config "$MS_CONFIG" "/models/$f" | cmp - "$T/src/$f" || ms_fail "$f wrong after warmup"
done
[[ $(ms_stat methods.GET) == 0 ]] || ms_fail "reading the shards after warmup made $(ms_stat methods.GET) GETs"
ms_ok "warmup of model.safetensors.index.json: $(cat "$T/wi.out"); pytorch_model.bin untouched"
if "$MS_BIN" warmup --config "$MS_CONFIG" /models/badindex/model.safetensors.index.json >/dev/null 2>"$T/wb.err"; then
	ms_fail "warmup of an index naming ../plain.dat succeeded"
fi
grep -q "badindex/model.safetensors.index.json: refused shard name '../plain.dat'" "$T/wb.err" ||
	ms_fail "the bad shard name is not named: $(cat "$T/wb.err")"
ms_ok "a shard name outside the index's directory refused: $(head -n 1 "$T/wb.err")"

# --- a plain file: open fetches nothing (default fill = demand); fill = open fetches it whole
size=$((20 * 1048576))
got=$(pread_shim /models/plain.dat $((size - 4096)) 4096)
[[ $got == $(src_sha "$T/src/plain.dat" $((size - 4096)) 4096) ]] || ms_fail "plain.dat's last bytes are wrong"
settle plain.dat 1048576 "fill = demand: opening plain.dat and reading its last 4 KiB fetched one chunk"
ms_daemon_stop
ms_mount_set fill open
ms_daemon_start
pread_shim /models/plain.dat
settle plain.dat "$size" "fill = open: opening plain.dat fetched all of it"
ms_shim cat /models/plain.dat | cmp - "$T/src/plain.dat" || ms_fail "plain.dat read wrong after fill = open"

# --- a bad value is refused with the key named
ms_daemon_stop
ms_mount_set fill always
if "$MS_BIN" status --config "$MS_CONFIG" >/dev/null 2>"$T/bad.err"; then ms_fail "fill = always was accepted"; fi
grep -q "fill" "$T/bad.err" || ms_fail "the bad fill value is not named: $(cat "$T/bad.err")"
ms_ok "fill = always refused: $(head -n 1 "$T/bad.err")"
