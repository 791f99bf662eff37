'use strict';
// Owns seeding and trimming the tests' S3 bucket: uploads a directory tree (streamed, 8 at a time,
// SigV4-signed, keys canonically percent-encoded) or deletes keys. It must never buffer a whole
// file, talk to anything but a loopback http endpoint, or exit 0 after a failed request.
// usage: node put.js ENDPOINT BUCKET SRC_DIR [KEY_PREFIX] | node put.js --delete ENDPOINT BUCKET KEY...

const fs = require('fs');
const http = require('http');
const path = require('path');
const sigv4 = require('./sigv4');

const ACCESS_KEY = 'S3RVER';
const SECRET = 'S3RVER';
const PARALLEL = 8;

function die(msg) {
  console.error(`put.js: ${msg}`);
  process.exit(1);
}

function usage() {
  console.error('usage: node put.js ENDPOINT BUCKET SRC_DIR [KEY_PREFIX]\n' +
    '       node put.js --delete ENDPOINT BUCKET KEY...');
  process.exit(2);
}

let endpoint;
const agent = new http.Agent({ keepAlive: true, maxSockets: PARALLEL });

function setEndpoint(s) {
  let u;
  try {
    u = new URL(s);
  } catch (e) {
    die(`bad endpoint ${s}`);
  }
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') die(`endpoint must be http://127.0.0.1:PORT, got ${s}`);
  endpoint = { host: u.hostname, port: Number(u.port || 80), hostHeader: u.host };
}

/* One signed request. body: a readable stream (with size) or null. Resolves {status, text}. */
function request(method, urlPath, body, size) {
  const headers = { host: endpoint.hostHeader, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const signed = sigv4.sign({
    method, url: urlPath, headers, accessKey: ACCESS_KEY, secret: SECRET, region: 'us-east-1',
  }).headers;
  if (body) signed['content-length'] = String(size);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: endpoint.host, port: endpoint.port, method, path: urlPath, headers: signed, agent });
    req.on('error', err => reject(new Error(`${method} ${urlPath}: ${err.message}`)));
    req.on('response', res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', d => {
        if (text.length < 4096) text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', err => reject(new Error(`${method} ${urlPath}: ${err.message}`)));
    });
    if (body) {
      body.on('error', err => {
        req.destroy();
        reject(new Error(`${method} ${urlPath}: reading source: ${err.message}`));
      });
      body.pipe(req);
    } else {
      req.end();
    }
  });
}

function expectStatus(method, urlPath, r, ok) {
  if (!ok.includes(r.status)) {
    const code = /<Code>([^<]*)<\/Code>/.exec(r.text);
    throw new Error(`${method} ${urlPath}: HTTP ${r.status}${code ? ' ' + code[1] : ''}`);
  }
}

function objectPath(bucket, key) {
  return `/${sigv4.uriEncode(bucket, false)}/${sigv4.uriEncode(key, true)}`;
}

async function ensureBucket(bucket) {
  const p = `/${sigv4.uriEncode(bucket, false)}`;
  const head = await request('HEAD', p, null, 0);
  if (head.status === 200) return;
  if (head.status !== 404) expectStatus('HEAD', p, head, [200, 404]);
  const put = await request('PUT', p, null, 0);
  expectStatus('PUT', p, put, [200]);
}

/* Every regular file under dir (symlinks to regular files included, symlinked dirs not
 * followed), as [absolute path, '/'-separated relative path, size]. */
async function walk(root) {
  const out = [];
  async function visit(dir, rel) {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(abs, r);
      else if (e.isFile() || e.isSymbolicLink()) {
        const st = await fs.promises.stat(abs).catch(() => null);
        if (st && st.isFile()) out.push([abs, r, st.size]);
      }
    }
  }
  await visit(root, '');
  out.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return out;
}

/* Runs fn over items, PARALLEL at a time; stops scheduling at the first failure and rethrows it. */
async function pool(items, fn) {
  let next = 0;
  let failure = null;
  async function worker() {
    while (failure === null && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        if (failure === null) failure = e;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  if (failure) throw failure;
}

async function upload(bucket, src, prefix) {
  const st = await fs.promises.stat(src).catch(e => die(`${src}: ${e.message}`));
  if (!st.isDirectory()) die(`${src}: not a directory`);
  const t0 = Date.now();
  await ensureBucket(bucket);
  const files = await walk(src);
  let bytes = 0;
  await pool(files, async ([abs, rel, size]) => {
    const p = objectPath(bucket, prefix + rel);
    const r = await request('PUT', p, fs.createReadStream(abs, { highWaterMark: 1 << 20 }), size);
    expectStatus('PUT', p, r, [200]);
    bytes += size;
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(2);
  console.log(`put.js: uploaded ${files.length} files (${bytes} bytes) to ${bucket}/${prefix} in ${secs} s`);
}

async function remove(bucket, keys) {
  await pool(keys, async key => {
    const p = objectPath(bucket, key);
    const r = await request('DELETE', p, null, 0);
    expectStatus('DELETE', p, r, [200, 204]);
  });
  console.log(`put.js: deleted ${keys.length} keys from ${bucket}`);
}

async function main(argv) {
  if (argv[0] === '--delete') {
    if (argv.length < 4) usage();
    setEndpoint(argv[1]);
    return remove(argv[2], argv.slice(3));
  }
  if (argv.length < 3 || argv.length > 4) usage();
  setEndpoint(argv[0]);
  return upload(argv[1], argv[2], argv[3] || '');
}

main(process.argv.slice(2)).then(
  () => agent.destroy(),
  e => die(e.message),
);
