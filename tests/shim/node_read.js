// node_read.js: Node's fs (libuv: threadpool or io_uring, statx by raw syscall) on a virtual file: statSync, promises.stat, fs.read/readSync at offsets, createReadStream, promises.readFile; bytes compared with the source.
// Usage: node node_read.js VIRTUAL_PATH REFERENCE_FILE. Exits 1 after printing "node_read: FAIL: ..."
// for each failed check, 0 when all passed.
'use strict';
const fs = require('fs');
const crypto = require('crypto');

const [vpath, refPath] = process.argv.slice(2);
if (!vpath || !refPath) {
  console.error('usage: node node_read.js VIRTUAL_PATH REFERENCE_FILE');
  process.exit(2);
}
const ref = fs.readFileSync(refPath);
const size = ref.length;
const ring = process.env.UV_USE_IO_URING === '1' ? 'UV_USE_IO_URING=1' : 'no io_uring';
let fails = 0;

function bad(msg) {
  console.error(`node_read: FAIL: ${msg} [${ring}]`);
  fails++;
}

function ok(msg) {
  console.log(`node_read: ${msg}`);
}

// GOT must equal the source's bytes at OFF; names zeros (unfilled cache bytes) as such.
function same(got, off, what) {
  const want = ref.subarray(off, off + got.length);
  if (got.length === want.length && got.equals(want)) return true;
  let i = 0;
  const n = Math.min(got.length, want.length);
  while (i < n && got[i] === want[i]) i++;
  if (i === n) {
    bad(`${what}: ${got.length} bytes at ${off}, want ${want.length} (same bytes as far as they go)`);
    return false;
  }
  let z = i;
  while (z < n && got[z] === 0) z++;
  const sha = crypto.createHash('sha256').update(got).digest('hex');
  const wsha = crypto.createHash('sha256').update(want).digest('hex');
  if (z - i >= 16 || z === n)
    bad(`${what}: got ${z - i} zero bytes at offset ${off + i} where the source has data (unfilled cache bytes; sha256 ${sha}, want ${wsha})`);
  else
    bad(`${what}: byte ${off + i} differs: got ${got[i]}, want ${want[i]} (sha256 ${sha}, want ${wsha})`);
  return false;
}

function errText(e) {
  return `${e.code || ''} ${e.message}`.trim();
}

async function main() {
  try {
    const s = fs.statSync(vpath);
    if (s.size === size && s.isFile()) ok(`fs.statSync: size ${s.size}`);
    else bad(`fs.statSync(${vpath}): size ${s.size} isFile ${s.isFile()}, want a ${size}-byte file`);
  } catch (e) {
    bad(`fs.statSync(${vpath}): ${errText(e)}`);
  }
  try {
    const s = await fs.promises.stat(vpath);
    if (s.size === size && s.isFile()) ok(`fs.promises.stat: size ${s.size}`);
    else bad(`fs.promises.stat(${vpath}): size ${s.size}, want ${size}`);
  } catch (e) {
    bad(`fs.promises.stat(${vpath}): ${errText(e)}`);
  }

  // fs.read (callback) and fs.readSync at positions in cold chunks.
  let fd;
  try {
    fd = fs.openSync(vpath, 'r');
  } catch (e) {
    bad(`fs.openSync(${vpath}): ${errText(e)} (fs.read and fs.readSync skipped)`);
  }
  if (fd !== undefined) {
    const off = 65536 * 17 + 5;
    const len = Math.min(1048576, size - off);
    const buf = Buffer.alloc(len);
    await new Promise((resolve) => {
      fs.read(fd, buf, 0, len, off, (err, n) => {
        if (err) bad(`fs.read(fd, ${len} bytes at ${off}): ${errText(err)}`);
        else if (n !== len) bad(`fs.read(fd, ${len} bytes at ${off}): returned ${n}`);
        else if (same(buf, off, `fs.read(fd, ${len} bytes at ${off})`)) ok(`fs.read: ${len} bytes at ${off} ok`);
        resolve();
      });
    });
    const off2 = Math.floor(size * 0.4) + 7;
    const buf2 = Buffer.alloc(100000);
    try {
      const n = fs.readSync(fd, buf2, 0, buf2.length, off2);
      if (n !== buf2.length) bad(`fs.readSync(fd, ${buf2.length} bytes at ${off2}): returned ${n}`);
      else if (same(buf2, off2, `fs.readSync(fd, ${buf2.length} bytes at ${off2})`)) ok(`fs.readSync: ${n} bytes at ${off2} ok`);
    } catch (e) {
      bad(`fs.readSync(fd, ${buf2.length} bytes at ${off2}): ${errText(e)}`);
    }
    fs.closeSync(fd);
  }

  // createReadStream of the second half (cold apart from what was read above), hashed.
  const start = Math.floor(size / 2) + 1;
  await new Promise((resolve) => {
    const parts = [];
    const h = crypto.createHash('sha256');
    fs.createReadStream(vpath, { start, end: size - 1 })
      .on('data', (d) => {
        parts.push(d);
        h.update(d);
      })
      .on('error', (e) => {
        bad(`fs.createReadStream(${vpath}, {start: ${start}}): ${errText(e)}`);
        resolve();
      })
      .on('end', () => {
        const got = Buffer.concat(parts);
        const want = crypto.createHash('sha256').update(ref.subarray(start)).digest('hex');
        const sha = h.digest('hex');
        if (sha === want && got.length === size - start) ok(`fs.createReadStream: ${got.length} bytes from ${start}, sha256 ok`);
        else same(got, start, `fs.createReadStream(${vpath}, {start: ${start}})`);
        resolve();
      });
  });

  // promises.readFile of everything (the first half is mostly cold still).
  try {
    const got = await fs.promises.readFile(vpath);
    const sha = crypto.createHash('sha256').update(got).digest('hex');
    const want = crypto.createHash('sha256').update(ref).digest('hex');
    if (sha === want) ok(`fs.promises.readFile: ${got.length} bytes, sha256 ok`);
    else same(got, 0, 'fs.promises.readFile');
  } catch (e) {
    bad(`fs.promises.readFile(${vpath}): ${errText(e)}`);
  }
}

main().then(
  () => {
    if (fails) console.error(`node_read: ${fails} check(s) failed [${ring}]`);
    else ok(`every check passed [${ring}]`);
    process.exit(fails ? 1 : 0);
  },
  (e) => {
    console.error(`node_read: FAIL: ${e.stack}`);
    process.exit(1);
  },
);
