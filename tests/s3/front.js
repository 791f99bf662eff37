'use strict';
// Owns the tests' SigV4-verifying, fault-injecting, counting HTTP proxy in front of s3rver.
// It must never listen beyond 127.0.0.1, buffer an object body (objects run to 2 GiB), or let an
// unsigned or wrongly signed request through to s3rver. Control endpoints live under /__front/.
// usage: node front.js --listen PORT --upstream http://127.0.0.1:S3PORT [--secret S] [--access-key K]
//
// POST /__front/config takes any of (each optional, kept until changed):
//   rate       B/s cap shared by every response body (0: none)
//   fail, status   the next `fail` requests of an object key answer `status` (default 503)
//   delay_ms   every request waits this long before anything else happens
// and three body faults for GETs of an object key (0/false: off), for transport-failure tests:
//   reset_after B  after B bytes of a 2xx body the connection is reset (TCP RST)
//   truncate B     after B bytes of a 2xx body the connection is closed (FIN) although the
//                  Content-Length announced the whole range
//   stall          true: the request is read and never answered; "headers": the status and
//                  headers are sent, then no body byte, ever (until the client gives up)
// With `fail` > 0 a body fault replaces the status failure and hits only the next `fail` GETs
// (for reset_after and truncate: the next `fail` 2xx bodies longer than B; shorter ones pass
// whole); the fault clears itself when they are spent. With `fail` 0 it hits every such GET
// until cleared. Each fault counts in `injected`. Cut bodies are not throttled by `rate`; their
// bytes count in get_bytes and keys as far as they were sent.
//   list_extra     an array of keys (any characters, as JSON strings) added to the first page of
//                  every ListObjectsV2 answer, each 1 byte: a hostile listing for the import.
// ListObjectsV2 with encoding-type=url is answered as AWS does and s3rver does not: every <Key>
// percent-encoded (space as '+') and <EncodingType>url</EncodingType> added.

const http = require('http');
const sigv4 = require('./sigv4');

function parseArgs(argv) {
  const o = { listen: null, upstream: null, secret: 'S3RVER', accessKey: 'S3RVER' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--listen') o.listen = Number(v);
    else if (a === '--upstream') o.upstream = v;
    else if (a === '--secret') o.secret = v;
    else if (a === '--access-key') o.accessKey = v;
    else usage(`unknown argument ${a}`);
    i++;
    if (v === undefined) usage(`${a} needs a value`);
  }
  if (!Number.isInteger(o.listen) || o.listen < 0 || o.listen > 65535) usage('--listen PORT required');
  if (!o.upstream) usage('--upstream URL required');
  const u = new URL(o.upstream);
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') usage('--upstream must be http://127.0.0.1:PORT');
  o.upHost = u.hostname;
  o.upPort = Number(u.port || 80);
  return o;
}

function usage(msg) {
  console.error(`front.js: ${msg}\nusage: node front.js --listen PORT --upstream http://127.0.0.1:PORT ` +
    '[--secret S] [--access-key K]');
  process.exit(2);
}

const opt = parseArgs(process.argv.slice(2));
const agent = new http.Agent({ keepAlive: true, maxSockets: 512, timeout: 60000 });

/* ---- counters and configuration ---- */

function freshStats() {
  return { requests: 0, methods: Object.create(null), rejected: 0, get_bytes: 0, injected: 0, keys: new Map() };
}
let stats = freshStats();
const config = { rate: 0, fail: 0, status: 503, delay_ms: 0, reset_after: 0, truncate: 0, stall: false,
  list_extra: [] };
let requestSeq = 0;

function statsJson() {
  const keys = {};
  for (const [k, v] of stats.keys) keys[k] = { count: v.count, bytes: v.bytes };
  return JSON.stringify({
    requests: stats.requests, methods: { ...stats.methods }, rejected: stats.rejected,
    get_bytes: stats.get_bytes, injected: stats.injected, keys, config,
  });
}

/* ---- global response-body throttle: one token bucket (GCRA) shared by every response ---- */

let tat = 0; // theoretical arrival time of the bucket, ms
const BURST_MS = 50;

/* Books n bytes against the bucket; returns how long the sender should pause, in ms. */
function throttleWait(n) {
  const rate = config.rate;
  if (!(rate > 0)) return 0;
  const now = performance.now();
  tat = Math.max(tat, now) + (n * 1000) / rate;
  return Math.max(0, tat - now - BURST_MS);
}

/* ---- helpers ---- */

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);
}

function sendError(res, status, code, message, resource) {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>front-${++requestSeq}</RequestId></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-error-code': code,
  });
  res.end(body);
}

function sendJson(res, status, text) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const S3_CODE = {
  400: 'InvalidRequest', 403: 'AccessDenied', 404: 'NoSuchKey', 409: 'OperationAborted',
  412: 'PreconditionFailed', 416: 'InvalidRange', 429: 'SlowDown', 500: 'InternalError',
  501: 'NotImplemented', 503: 'SlowDown', 504: 'RequestTimeout',
};

/* Path-style: /bucket/key... -> decoded key ('' for service and bucket requests). */
function objectKey(url) {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  const slash = p.indexOf('/', 1);
  if (slash < 0) return '';
  return sigv4.percentDecode(p.slice(slash + 1)).toString('utf8');
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade',
  'te', 'trailer', 'expect']);

function endToEnd(headers) {
  const out = {};
  for (const k of Object.keys(headers)) if (!HOP.has(k)) out[k] = headers[k];
  return out;
}

function hasBody(req) {
  return req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/* ---- relaying ---- */

function relayBody(upRes, res, counted, keyStat) {
  if (!(config.rate > 0)) {
    upRes.pipe(res);
    if (counted) {
      upRes.on('data', c => {
        stats.get_bytes += c.length;
        if (keyStat) keyStat.bytes += c.length;
      });
    }
    return;
  }
  upRes.on('data', c => {
    if (counted) {
      stats.get_bytes += c.length;
      if (keyStat) keyStat.bytes += c.length;
    }
    const drained = res.write(c);
    const wait = throttleWait(c.length);
    if (drained && wait === 0) return;
    upRes.pause();
    let pending = (drained ? 0 : 1) + (wait > 0 ? 1 : 0);
    const done = () => {
      if (--pending === 0) upRes.resume();
    };
    if (!drained) res.once('drain', done);
    if (wait > 0) setTimeout(done, wait);
  });
  upRes.on('end', () => res.end());
}

/*
 * A 2xx body cut after LIMIT bytes: HOW 'reset' resets the connection, 'truncate' closes it
 * after flushing what was sent. A shorter body is sent whole.
 */
function relayCut(upReq, upRes, res, keyStat, limit, how) {
  let sent = 0;
  let cut = false;
  upRes.on('data', c => {
    if (cut) return;
    const part = c.length > limit - sent ? c.subarray(0, limit - sent) : c;
    sent += part.length;
    stats.get_bytes += part.length;
    if (keyStat) keyStat.bytes += part.length;
    if (sent < limit) {
      if (!res.write(part)) {
        upRes.pause();
        res.once('drain', () => upRes.resume());
      }
      return;
    }
    cut = true;
    upRes.pause();
    const sock = res.socket;
    const kill = () => {
      upReq.destroy();
      if (sock === null || sock.destroyed) return;
      if (how === 'reset' && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
      else if (how === 'reset') sock.destroy();
      else sock.end();
    };
    if (part.length > 0) res.write(part, kill);
    else kill();
  });
  upRes.on('end', () => {
    if (!cut) res.end();
  });
}

/* ---- listings ---- */

function xmlUnescape(s) {
  return s.replace(/&(lt|gt|amp|apos|quot|#x[0-9a-fA-F]+|#[0-9]+);/g, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' }[e];
  });
}

/* What AWS sends for encoding-type=url: percent-encoded UTF-8, '/' kept, space as '+'. */
function urlEncodeKey(k) {
  return encodeURIComponent(k).replace(/%2F/g, '/').replace(/%20/g, '+');
}

function isListing(req) {
  const q = new URL(req.url, 'http://x').searchParams;
  return req.method === 'GET' && objectKey(req.url) === '' && q.get('list-type') === '2';
}

/* A ListObjectsV2 page as AWS would send it, with config.list_extra on the first page. */
function rewriteListing(req, xml) {
  const q = new URL(req.url, 'http://x').searchParams;
  const encode = q.get('encoding-type') === 'url';
  let extra = '';
  if (!q.has('continuation-token')) {
    for (const k of config.list_extra) {
      stats.injected++;
      extra += `<Contents><Key>${encode ? urlEncodeKey(k) : xmlEscape(k)}</Key>` +
        '<LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size>' +
        '<StorageClass>STANDARD</StorageClass></Contents>';
    }
  }
  if (encode) {
    xml = xml.replace(/<Key>([^<]*)<\/Key>/g, (m, k) => `<Key>${xmlEscape(urlEncodeKey(xmlUnescape(k)))}</Key>`);
    xml = xml.replace(/(<ListBucketResult[^>]*>)/, '$1<EncodingType>url</EncodingType>');
  }
  return xml.replace('</ListBucketResult>', extra + '</ListBucketResult>');
}

function relayListing(req, upRes, res) {
  const parts = [];
  upRes.on('error', () => res.destroy());
  upRes.on('data', c => parts.push(c));
  upRes.on('end', () => {
    const body = Buffer.from(rewriteListing(req, Buffer.concat(parts).toString('utf8')), 'utf8');
    const headers = endToEnd(upRes.headers);
    delete headers['content-length'];
    headers['content-length'] = body.length;
    res.writeHead(upRes.statusCode, headers);
    res.end(body);
  });
}

function forward(req, res, keyStat, retried, fault) {
  const upReq = http.request({
    host: opt.upHost, port: opt.upPort, method: req.method, path: req.url,
    headers: endToEnd(req.headers), agent,
  });
  let answered = false;
  upReq.on('response', upRes => {
    answered = true;
    if (upRes.statusCode === 200 && isListing(req)) return relayListing(req, upRes, res);
    res.writeHead(upRes.statusCode, endToEnd(upRes.headers));
    // Bytes are counted for successful GET bodies only (not error documents).
    const counted = req.method === 'GET' && upRes.statusCode >= 200 && upRes.statusCode < 300;
    if (!fault && counted && keyStat) fault = cutFault(upRes);
    if (fault && counted && fault.how === 'stall') {
      res.flushHeaders(); // and never a body byte: upRes stays paused until the client leaves
      upRes.pause();
      upRes.on('error', () => {});
      return;
    }
    upRes.on('error', () => res.destroy());
    if (fault && counted) return relayCut(upReq, upRes, res, keyStat, fault.limit, fault.how);
    relayBody(upRes, res, counted, keyStat);
  });
  upReq.on('error', err => {
    // A pooled connection the upstream closed while idle: retry once if nothing was consumed.
    if (!answered && !retried && upReq.reusedSocket && err.code === 'ECONNRESET' && !hasBody(req))
      return forward(req, res, keyStat, true, fault);
    if (!res.headersSent) sendError(res, 502, 'InternalError', `front: upstream: ${err.message}`, req.url);
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) upReq.destroy();
  });
  if (hasBody(req)) {
    req.on('error', () => upReq.destroy());
    req.pipe(upReq);
  } else {
    req.resume();
    upReq.end();
  }
}

/* ---- control endpoints (unsigned) ---- */

function readJson(req, cb) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', d => {
    body += d;
    if (body.length > 65536) req.destroy();
  });
  req.on('end', () => {
    try {
      cb(null, body.trim() === '' ? {} : JSON.parse(body));
    } catch (e) {
      cb(e);
    }
  });
}

function control(req, res) {
  const path = req.url.split('?')[0];
  if (path === '/__front/stats' && req.method === 'GET') return sendJson(res, 200, statsJson());
  if (path === '/__front/reset' && req.method === 'POST') {
    req.resume();
    stats = freshStats();
    return sendJson(res, 200, statsJson());
  }
  if (path === '/__front/config' && req.method === 'GET') return sendJson(res, 200, JSON.stringify(config));
  if (path === '/__front/config' && req.method === 'POST') {
    return readJson(req, (err, c) => {
      if (err || typeof c !== 'object' || c === null) return sendJson(res, 400, '{"error":"bad JSON"}');
      for (const k of Object.keys(c)) {
        if (k === 'stall' && (c[k] === true || c[k] === false || c[k] === 'headers')) continue;
        if (k === 'list_extra' && Array.isArray(c[k]) && c[k].every(x => typeof x === 'string')) continue;
        if (!(k in config) || k === 'stall' || k === 'list_extra' || !Number.isFinite(c[k]) || c[k] < 0)
          return sendJson(res, 400, JSON.stringify({ error: `bad field ${k}` }));
      }
      if (c.status !== undefined && (c.status < 400 || c.status > 599))
        return sendJson(res, 400, '{"error":"status must be 4xx or 5xx"}');
      Object.assign(config, c);
      if (c.fail !== undefined && c.status === undefined) config.status = 503;
      if (c.rate !== undefined) tat = 0;
      return sendJson(res, 200, JSON.stringify(config));
    });
  }
  req.resume();
  return sendJson(res, 404, '{"error":"unknown control endpoint"}');
}

/* ---- the server ---- */

/* One body fault is injected: spends one of `fail`, and clears the faults with the last one. */
function spendFault() {
  stats.injected++;
  if (config.fail > 0 && --config.fail === 0) {
    config.stall = false;
    config.reset_after = 0;
    config.truncate = 0;
  }
}

/* The cut (reset_after or truncate) for a 2xx GET response arriving now, or null. */
function cutFault(upRes) {
  const how = config.reset_after > 0 ? 'reset' : config.truncate > 0 ? 'truncate' : null;
  if (how === null) return null;
  const limit = how === 'reset' ? config.reset_after : config.truncate;
  if (!(Number(upRes.headers['content-length']) > limit)) return null;
  spendFault();
  return { how, limit };
}

function secretFor(key) {
  return key === opt.accessKey ? opt.secret : undefined;
}

function onRequest(req, res) {
  if (req.url.startsWith('/__front/')) return control(req, res);
  stats.requests++;
  stats.methods[req.method] = (stats.methods[req.method] || 0) + 1;
  const v = sigv4.verify(req, secretFor);
  if (!v.ok) {
    stats.rejected++;
    req.resume();
    return sendError(res, v.status, v.code, v.message, req.url.split('?')[0]);
  }
  const key = objectKey(req.url);
  let keyStat = null;
  if (req.method === 'GET' && key !== '') {
    keyStat = stats.keys.get(key);
    if (!keyStat) stats.keys.set(key, (keyStat = { count: 0, bytes: 0 }));
    keyStat.count++;
  }
  const go = () => {
    if (config.stall && keyStat) {
      const headers = config.stall === 'headers';
      spendFault();
      if (!headers) return req.resume(); // read the request, never answer it
      return forward(req, res, keyStat, false, { how: 'stall' });
    }
    if (config.fail > 0 && key !== '' && !(config.reset_after > 0 || config.truncate > 0)) {
      config.fail--;
      stats.injected++;
      req.resume();
      const status = config.status;
      return sendError(res, status, S3_CODE[status] || 'InjectedFault',
        `front: injected failure (${status})`, req.url.split('?')[0]);
    }
    forward(req, res, keyStat, false, null);
  };
  if (config.delay_ms > 0) setTimeout(go, config.delay_ms);
  else go();
}

const server = http.createServer(onRequest);
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.requestTimeout = 0; // uploads of 2 GiB objects may take a while
server.on('clientError', (err, socket) => socket.destroy());
server.listen(opt.listen, '127.0.0.1', () => {
  const a = server.address();
  console.log(`front listening on ${a.address}:${a.port} upstream ${opt.upHost}:${opt.upPort}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
