'use strict';
// Owns the tests' SigV4-verifying, fault-injecting, counting HTTP proxy in front of s3rver.
// It must never listen beyond 127.0.0.1, buffer an object body (objects run to 2 GiB), or let an
// unsigned or wrongly signed request through to s3rver. Control endpoints live under /__front/.
// usage: node front.js --listen PORT --upstream http://127.0.0.1:S3PORT [--secret S] [--access-key K]
//        [--region R] [--session-token T] [--tls-cert F --tls-key F]
// --tls-cert/--tls-key: served over HTTPS with that certificate and key (PEM), for the TLS tests.
//
// Requests are verified as S3 verifies them (sigv4.verify): the credential scope must name the
// front's region (default us-east-1) and service s3, every x-amz-* header sent must be signed, and
// with a session token configured (temporary credentials) each request must carry it, signed, as
// x-amz-security-token (without one, a request carrying a token is refused). Path-style
// (Host 127.0.0.1:PORT or localhost:PORT, /BUCKET/KEY) and virtual-hosted addressing (Host
// BUCKET.localhost:PORT, /KEY; libcurl resolves *.localhost to loopback itself) are both served:
// the front verifies the request as sent, then hands s3rver its path-style form.
//
// POST /__front/config takes any of (each optional, kept until changed):
//   rate       B/s cap shared by every response body (0: none)
//   fail, status   the next `fail` requests of an object key answer `status` (default 503)
//   delay_ms   every request waits this long before anything else happens
//   region, session_token   as --region and --session-token ('' : no token), for the next requests
//   anonymous  true: a GET or HEAD without an Authorization header is served (a public bucket);
//              a signed request is still verified
// Besides the static key, the front accepts the temporary keys its credential doubles issued
// (creds_double.js: STS, container endpoint and IMDS under /__sts/, /__ecs/, /__imds/, control
// under /__creds/), each with its own session token and only until it expires (400 ExpiredToken).
// and three body faults for GETs of an object key (0/false: off), for transport-failure tests:
//   reset_after B  after B bytes of a 2xx body the connection is reset (TCP RST)
//   truncate B     after B bytes of a 2xx body the connection is closed (FIN) although the
//                  Content-Length announced the whole range
//   stall          true: the request is read and never answered; "headers": the status and
//                  headers are sent, then no body byte, ever (until the client gives up)
// and three answers a correct client must refuse to take bytes from (0/false: off):
//   etag           true: a 2xx answer's ETag header is not the object's (though If-Match held);
//                  "missing": the answer has no ETag header at all
//   whole          true: a GET with a Range header is answered 200 with the whole object (the
//                  store ignored the Range)
//   content_range  on a 206: "bad": Content-Range names another range (start and end + 1),
//                  "total": it names another object size, "missing": no Content-Range at all
//   ignore_if_match  true: the store ignores If-Match (not sent to s3rver): the object as it is
//                  now is sent, whatever the client's condition (an object replaced since its
//                  import comes back 2xx with its new bytes and new ETag instead of 412)
// With `fail` > 0 a body fault replaces the status failure and hits only the next `fail` GETs
// (for reset_after and truncate: the next `fail` 2xx bodies longer than B; shorter ones pass
// whole; for etag the next 2xx answers, for content_range the next 206 answers, for whole the
// next ranged GETs and for ignore_if_match the next GETs with If-Match, whatever their answer);
// the fault clears itself when they are spent. With `fail`
// 0 it hits every such GET until cleared. Each fault counts in `injected`. Cut bodies are not
// throttled by `rate`; their bytes count in get_bytes and keys as far as they were sent.
// Set one body fault at a time: two set together each spend `fail`.
//   list_extra     an array of keys (any characters, as JSON strings) added to the first page of
//                  every ListObjectsV2 answer, each 1 byte: a hostile listing for the import.
// ListObjectsV2 with encoding-type=url is answered as AWS does and s3rver does not: every <Key>
// percent-encoded (space as '+') and <EncodingType>url</EncodingType> added.
// Listing faults, for ListObjectsV2 requests only (GET faults above never touch a listing, these
// never touch a GET of an object):
//   list_page      answer in pages of at most this many keys (the client's max-keys lowered)
//   list_fail, list_status   the next `list_fail` listing requests answer `list_status` (503)
//   list_stall     true: the request is read and never answered; "headers": status and headers
//                  are sent, never a body byte
//   list_reset_after B   after B bytes of a listing body the connection is reset (TCP RST)
//   list_truncate P      page P (1: the first, 2: the one after the first continuation token...)
//                  is cut in half: list_truncate_how "close" (default): Content-Length announces
//                  the whole page and the connection is closed after half of it; "xml": a
//                  complete HTTP answer of half the XML document
// With `list_fail` > 0 a listing body fault hits only the next `list_fail` listings it applies
// to (list_truncate: page-P requests) and clears itself; with 0 every one until cleared. Each
// counts in `injected`; `listings` counts ListObjectsV2 requests that passed the signature check,
// `virtual_hosted` the requests (signature checked) addressed as BUCKET.localhost.

const crypto = require('crypto');
const http = require('http');
const sigv4 = require('./sigv4');
const credsDouble = require('./creds_double');

function parseArgs(argv) {
  const o = { listen: null, upstream: null, secret: 'S3RVER', accessKey: 'S3RVER', region: 'us-east-1',
    sessionToken: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--listen') o.listen = Number(v);
    else if (a === '--upstream') o.upstream = v;
    else if (a === '--secret') o.secret = v;
    else if (a === '--access-key') o.accessKey = v;
    else if (a === '--region') o.region = v;
    else if (a === '--session-token') o.sessionToken = v;
    else if (a === '--tls-cert') o.tlsCert = v;
    else if (a === '--tls-key') o.tlsKey = v;
    else usage(`unknown argument ${a}`);
    i++;
    if (v === undefined) usage(`${a} needs a value`);
  }
  if (!Number.isInteger(o.listen) || o.listen < 0 || o.listen > 65535) usage('--listen PORT required');
  if (!o.upstream) usage('--upstream URL required');
  if (!/^[a-z0-9-]+$/.test(o.region)) usage('--region must be like us-east-1');
  if (!o.tlsCert !== !o.tlsKey) usage('--tls-cert and --tls-key go together');
  const u = new URL(o.upstream);
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') usage('--upstream must be http://127.0.0.1:PORT');
  o.upHost = u.hostname;
  o.upPort = Number(u.port || 80);
  return o;
}

function usage(msg) {
  console.error(`front.js: ${msg}\nusage: node front.js --listen PORT --upstream http://127.0.0.1:PORT ` +
    '[--secret S] [--access-key K] [--region R] [--session-token T] [--tls-cert F --tls-key F]');
  process.exit(2);
}

const opt = parseArgs(process.argv.slice(2));
const agent = new http.Agent({ keepAlive: true, maxSockets: 512, timeout: 60000 });

/* ---- counters and configuration ---- */

function freshStats() {
  return { requests: 0, methods: Object.create(null), rejected: 0, get_bytes: 0, injected: 0, listings: 0,
    virtual_hosted: 0, keys: new Map() };
}
let stats = freshStats();
const config = { rate: 0, fail: 0, status: 503, delay_ms: 0, reset_after: 0, truncate: 0, stall: false,
  etag: false, whole: false, content_range: false, ignore_if_match: false,
  list_extra: [], list_page: 0, list_fail: 0, list_status: 503, list_stall: false, list_reset_after: 0,
  list_truncate: 0, list_truncate_how: 'close',
  region: opt.region, session_token: opt.sessionToken, anonymous: false };
/* The page number of the listing page each NextContinuationToken we sent leads to. */
const tokenPage = new Map();
let requestSeq = 0;

function statsJson() {
  const keys = {};
  for (const [k, v] of stats.keys) keys[k] = { count: v.count, bytes: v.bytes };
  return JSON.stringify({
    requests: stats.requests, methods: { ...stats.methods }, rejected: stats.rejected,
    get_bytes: stats.get_bytes, injected: stats.injected, listings: stats.listings,
    virtual_hosted: stats.virtual_hosted, keys, config,
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

/* The bucket of a virtual-hosted request (Host: BUCKET.localhost[:PORT]), or null: path-style. */
function virtualBucket(host) {
  if (typeof host !== 'string') return null;
  const m = /^([a-z0-9][a-z0-9.-]*)\.localhost$/.exec(host.replace(/:\d+$/, '').toLowerCase());
  return m ? m[1] : null;
}

/* A virtual-hosted request URL ('/KEY?query', '/' for the bucket) in path-style form. */
function pathStyleUrl(bucket, url) {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  return '/' + bucket + (p === '/' ? '' : p) + (q < 0 ? '' : url.slice(q));
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

/* Which page of its listing a ListObjectsV2 request asks for: 1 without a continuation token. */
function listingPage(req) {
  const q = new URL(req.url, 'http://x').searchParams;
  if (!q.has('continuation-token')) return 1;
  return tokenPage.get(q.get('continuation-token')) || 2;
}

/* URL with its max-keys lowered to N (added when absent). The upstream does not check signatures. */
function lowerMaxKeys(url, n) {
  const q = url.indexOf('?');
  const parts = q < 0 ? [] : url.slice(q + 1).split('&');
  let found = false;
  for (let i = 0; i < parts.length; i++) {
    if (!parts[i].startsWith('max-keys=')) continue;
    found = true;
    const v = Number(parts[i].slice(9));
    if (!(v > 0 && v <= n)) parts[i] = `max-keys=${n}`;
  }
  if (!found) parts.push(`max-keys=${n}`);
  return (q < 0 ? url : url.slice(0, q)) + '?' + parts.join('&');
}

/* A ListObjectsV2 page as AWS would send it, with config.list_extra on the first page. PAGE is
 * its number: the page its NextContinuationToken leads to is remembered as PAGE + 1. */
function rewriteListing(req, xml, page) {
  const q = new URL(req.url, 'http://x').searchParams;
  const encode = q.get('encoding-type') === 'url';
  const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml);
  if (next) {
    if (tokenPage.size > 10000) tokenPage.clear();
    tokenPage.set(xmlUnescape(next[1]), page + 1);
  }
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

/* Resets (TCP RST) or closes (FIN) the connection of RES at once. */
function dropConnection(res, how) {
  const sock = res.socket;
  if (sock === null || sock.destroyed) return;
  if (how === 'reset' && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
  else if (how === 'reset') sock.destroy();
  else sock.end();
}

/* A 200 ListObjectsV2 answer, rewritten (rewriteListing), with LIST's fault if it has one:
 * how 'stall' (headers, never the body), or cut {how: 'reset' | 'close' | 'xml', limit}. */
function relayListing(req, upRes, res, list) {
  const parts = [];
  upRes.on('error', () => res.destroy());
  upRes.on('data', c => parts.push(c));
  upRes.on('end', () => {
    const body = Buffer.from(rewriteListing(req, Buffer.concat(parts).toString('utf8'), list.page), 'utf8');
    const headers = endToEnd(upRes.headers);
    delete headers['content-length'];
    headers['content-length'] = body.length;
    const cut = list.cut;
    if (list.how === 'stall') {
      res.writeHead(upRes.statusCode, headers);
      res.flushHeaders(); // and never a body byte
      return;
    }
    if (cut && cut.how === 'reset' && body.length > cut.limit) {
      spendListFault();
      res.writeHead(upRes.statusCode, headers);
      return res.write(body.subarray(0, cut.limit), () => dropConnection(res, 'reset'));
    }
    if (cut && (cut.how === 'close' || cut.how === 'xml')) {
      spendListFault();
      const half = body.subarray(0, Math.floor(body.length / 2));
      if (cut.how === 'xml') {
        headers['content-length'] = half.length;
        res.writeHead(upRes.statusCode, headers);
        return res.end(half);
      }
      res.writeHead(upRes.statusCode, headers);
      return res.write(half, () => dropConnection(res, 'close'));
    }
    res.writeHead(upRes.statusCode, headers);
    res.end(body);
  });
}

/* Another object's ETag than E (quoted, as S3 sends them). */
function otherEtag(e) {
  return '"' + crypto.createHash('md5').update(`front:${e}`).digest('hex') + '"';
}

/* The header faults (etag, content_range) applied to a 2xx GET answer's HEADERS, which it
 * changes; true when one was applied (the fault is spent then). */
function applyHeaderFaults(status, headers) {
  let hit = false;
  if (config.etag === 'missing') {
    delete headers.etag;
    hit = true;
  } else if (config.etag) {
    headers.etag = otherEtag(headers.etag);
    hit = true;
  }
  const cr = headers['content-range'];
  const m = typeof cr === 'string' ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(cr.trim()) : null;
  if (config.content_range && status === 206 && m) {
    const [a, b, t] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (config.content_range === 'missing') delete headers['content-range'];
    else if (config.content_range === 'total') headers['content-range'] = `bytes ${a}-${b}/${t + 1}`;
    else headers['content-range'] = `bytes ${a + 1}-${b + 1}/${t}`;
    hit = true;
  }
  return hit;
}

/* Relays REQ to s3rver. KEYSTAT: the counters of an object GET; FAULT: a body fault decided
 * already; LIST: {page, how, cut} of a ListObjectsV2 request; DROP: request headers not sent on
 * (lower-case names). */
function forward(req, res, keyStat, retried, fault, list, drop) {
  const upHeaders = endToEnd(req.headers);
  for (const h of drop || []) delete upHeaders[h];
  const upReq = http.request({
    host: opt.upHost, port: opt.upPort, method: req.method, path: req.url,
    headers: upHeaders, agent,
  });
  let answered = false;
  upReq.on('response', upRes => {
    answered = true;
    if (list && upRes.statusCode === 200) return relayListing(req, upRes, res, list);
    // Bytes are counted for successful GET bodies only (not error documents).
    const counted = req.method === 'GET' && upRes.statusCode >= 200 && upRes.statusCode < 300;
    const headers = endToEnd(upRes.headers);
    if (counted && keyStat && applyHeaderFaults(upRes.statusCode, headers)) spendFault();
    res.writeHead(upRes.statusCode, headers);
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
      return forward(req, res, keyStat, true, fault, list, drop);
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

/* The config fields that are not counts, with their valid values. */
const isBool = v => v === true || v === false;
const NON_NUMERIC = {
  stall: v => isBool(v) || v === 'headers',
  list_stall: v => isBool(v) || v === 'headers',
  list_extra: v => Array.isArray(v) && v.every(x => typeof x === 'string'),
  etag: v => isBool(v) || v === 'missing',
  whole: isBool,
  ignore_if_match: isBool,
  content_range: v => v === false || v === '' || v === 'bad' || v === 'total' || v === 'missing',
  list_truncate_how: v => v === 'close' || v === 'xml',
  region: v => typeof v === 'string' && /^[a-z0-9-]+$/.test(v),
  session_token: v => typeof v === 'string' && !/[\r\n]/.test(v),
  anonymous: isBool,
};

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
        const valid = k in config && (NON_NUMERIC[k] ? NON_NUMERIC[k](c[k]) : Number.isFinite(c[k]) && c[k] >= 0);
        if (!valid) return sendJson(res, 400, JSON.stringify({ error: `bad field ${k}` }));
      }
      for (const k of ['status', 'list_status']) {
        if (c[k] !== undefined && (c[k] < 400 || c[k] > 599))
          return sendJson(res, 400, `{"error":"${k} must be 4xx or 5xx"}`);
      }
      if (c.content_range === '') c.content_range = false;
      Object.assign(config, c);
      if (c.fail !== undefined && c.status === undefined) config.status = 503;
      if (c.list_fail !== undefined && c.list_status === undefined) config.list_status = 503;
      if (c.rate !== undefined) tat = 0;
      return sendJson(res, 200, JSON.stringify(config));
    });
  }
  req.resume();
  return sendJson(res, 404, '{"error":"unknown control endpoint"}');
}

/* ---- the server ---- */

/* One fault is injected: spends one of config[COUNTER], and with the last one sets CLEARED (the
   faults that counter governs, cleared). */
function spend(counter, cleared) {
  stats.injected++;
  if (config[counter] > 0 && --config[counter] === 0) Object.assign(config, cleared);
}

/* One body fault is injected: spends one of `fail`, and clears the faults with the last one. */
function spendFault() {
  spend('fail', { stall: false, reset_after: 0, truncate: 0, etag: false, whole: false,
    content_range: false, ignore_if_match: false });
}

/* One listing fault is injected: spends one of `list_fail`, and clears them with the last one. */
function spendListFault() {
  spend('list_fail', { list_stall: false, list_reset_after: 0, list_truncate: 0 });
}

/* A ListObjectsV2 request (signature checked): paged, failed or forwarded with its fault. */
function onListing(req, res) {
  stats.listings++;
  const page = listingPage(req);
  if (config.list_page > 0) req.url = lowerMaxKeys(req.url, config.list_page);
  if (config.list_stall) {
    const headers = config.list_stall === 'headers';
    spendListFault();
    if (!headers) return req.resume(); // read the request, never answer it
    return forward(req, res, null, false, null, { page, how: 'stall' });
  }
  const bodyFault = config.list_reset_after > 0 || config.list_truncate > 0;
  if (config.list_fail > 0 && !bodyFault) {
    config.list_fail--;
    stats.injected++;
    req.resume();
    const status = config.list_status;
    return sendError(res, status, S3_CODE[status] || 'InjectedFault',
      `front: injected listing failure (${status})`, req.url.split('?')[0]);
  }
  let cut = null;
  if (config.list_reset_after > 0) cut = { how: 'reset', limit: config.list_reset_after };
  else if (config.list_truncate > 0 && page === config.list_truncate)
    cut = { how: config.list_truncate_how === 'xml' ? 'xml' : 'close' };
  forward(req, res, null, false, null, { page, cut });
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
  return key === opt.accessKey ? opt.secret : credsDouble.lookup(key);
}

/* An unsigned GET or HEAD, served when the bucket is public (config.anonymous). */
function anonymousRead(req) {
  return config.anonymous && req.headers.authorization === undefined &&
    (req.method === 'GET' || req.method === 'HEAD');
}

function onRequest(req, res) {
  if (req.url.startsWith('/__front/')) return control(req, res);
  if (credsDouble.handle(req, res)) return;
  stats.requests++;
  stats.methods[req.method] = (stats.methods[req.method] || 0) + 1;
  const v = anonymousRead(req) ? { ok: true } : sigv4.verify(req, secretFor, {
    region: config.region, service: 's3', sessionToken: config.session_token, maxSkewMs: 15 * 60 * 1000,
  });
  if (v.ok && v.accessKey) credsDouble.noteUse(v.accessKey, true);
  else if (v.code === 'ExpiredToken') credsDouble.noteUse(v.accessKey, false);
  if (!v.ok) {
    stats.rejected++;
    req.resume();
    return sendError(res, v.status, v.code, v.message, req.url.split('?')[0]);
  }
  // s3rver knows the static key only: a request verified with an issued one goes on unsigned.
  if (v.accessKey !== undefined && v.accessKey !== opt.accessKey) {
    delete req.headers.authorization;
    delete req.headers['x-amz-security-token'];
  }
  // Verified as sent; from here on s3rver's path-style form.
  const bucket = virtualBucket(req.headers.host);
  if (bucket !== null) {
    stats.virtual_hosted++;
    req.url = pathStyleUrl(bucket, req.url);
  }
  const key = objectKey(req.url);
  let keyStat = null;
  if (req.method === 'GET' && key !== '') {
    keyStat = stats.keys.get(key);
    if (!keyStat) stats.keys.set(key, (keyStat = { count: 0, bytes: 0 }));
    keyStat.count++;
  }
  const go = () => {
    if (isListing(req)) return onListing(req, res);
    if (config.stall && keyStat) {
      const headers = config.stall === 'headers';
      spendFault();
      if (!headers) return req.resume(); // read the request, never answer it
      return forward(req, res, keyStat, false, { how: 'stall' });
    }
    const bodyFault = config.reset_after > 0 || config.truncate > 0 || config.etag || config.whole ||
      config.content_range || config.ignore_if_match;
    if (config.fail > 0 && key !== '' && !bodyFault) {
      config.fail--;
      stats.injected++;
      req.resume();
      const status = config.status;
      return sendError(res, status, S3_CODE[status] || 'InjectedFault',
        `front: injected failure (${status})`, req.url.split('?')[0]);
    }
    // whole and ignore_if_match: decided (and spent) now, for they change what s3rver is asked.
    const drop = [];
    if (config.whole && keyStat && req.method === 'GET' && req.headers.range !== undefined) drop.push('range');
    if (config.ignore_if_match && keyStat && req.headers['if-match'] !== undefined) drop.push('if-match');
    for (let i = 0; i < drop.length; i++) spendFault();
    forward(req, res, keyStat, false, null, null, drop);
  };
  if (config.delay_ms > 0) setTimeout(go, config.delay_ms);
  else go();
}

const server = opt.tlsCert ? require('https').createServer({
  cert: require('fs').readFileSync(opt.tlsCert), key: require('fs').readFileSync(opt.tlsKey) }, onRequest) :
  http.createServer(onRequest);
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
