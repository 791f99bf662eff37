'use strict';
// Owns the test doubles of the AWS credential endpoints the daemon talks to, served on the
// front's port (front.js hands them every request under these paths):
//   POST /__sts/...   STS AssumeRoleWithWebIdentity (form body; unsigned, as STS takes it)
//   GET  /__ecs/...   the container credentials endpoint (checks the Authorization header)
//   PUT  /__imds/latest/api/token, GET /__imds/latest/meta-data/iam/security-credentials/[ROLE]
//                     IMDSv2: every GET without a valid X-aws-ec2-metadata-token is refused (401)
//   GET  /__creds/stats, POST /__creds/config, POST /__creds/expire   control (below)
// Each hands out a fresh key pair with a session token that expires after `lifetime_s`; the
// front accepts an issued key only with its own token and only until it expires (then 400
// ExpiredToken, as S3 answers). It must never listen itself, log a secret, or accept a key it
// did not issue. Standard library only.
//
// POST /__creds/config takes any of (each kept until changed):
//   lifetime_s         seconds an issued key lives (default 900)
//   web_tokens         web identity tokens STS accepts (default: any non-empty one)
//   sts_status         answer every AssumeRoleWithWebIdentity with this 4xx/5xx (0: off)
//   container_token    the Authorization value the container endpoint wants ('' : none)
//   container_bad_json true: the container endpoint answers 200 with a broken document
// POST /__creds/expire makes every key issued so far expired now (the next request signed with
// one gets ExpiredToken). GET /__creds/stats: {sts, container, imds_token, imds_creds, refused,
// web_tokens: {TOKEN: n}, issued, keys_used, expired_answers}. GET /__creds/last: the last key
// issued, {id, secret, token}, for the secrets test to look for (loopback, tests only).

const crypto = require('crypto');

const config = { lifetime_s: 900, web_tokens: null, sts_status: 0, container_token: '',
  container_bad_json: false };
const ROLE = 'modelshim-test-role';
const issued = new Map(); // access key -> {secret, token, expiresMs, used}
const imdsTokens = new Set();
let last = null; // the last key issued
let stats = fresh();

function fresh() {
  return { sts: 0, container: 0, imds_token: 0, imds_creds: 0, refused: 0, web_tokens: {},
    expired_answers: 0 };
}

function issue() {
  if (issued.size > 10000) issued.clear();
  const id = 'ASIA' + crypto.randomBytes(8).toString('hex').toUpperCase();
  const expiresMs = Math.floor((Date.now() + config.lifetime_s * 1000) / 1000) * 1000;
  const key = { secret: crypto.randomBytes(20).toString('base64'),
    token: 'FwoTEST/' + crypto.randomBytes(48).toString('base64'), expiresMs, used: 0 };
  issued.set(id, key);
  last = { id, secret: key.secret, token: key.token };
  return { id, ...key, expiration: new Date(expiresMs).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/* For the front's signature check: an issued key as {secret, sessionToken, expired}, or undefined. */
function lookup(accessKey) {
  const k = issued.get(accessKey);
  if (!k) return undefined;
  return { secret: k.secret, sessionToken: k.token, expired: Date.now() >= k.expiresMs };
}

/* The front verified a request signed with ACCESSKEY; OK: it passed (else it was refused as expired). */
function noteUse(accessKey, ok) {
  const k = issued.get(accessKey);
  if (!k) return;
  if (ok) k.used++;
  else stats.expired_answers++;
}

function send(res, status, type, body, headers) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function readBody(req, cb) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', d => {
    body += d;
    if (body.length > 65536) req.destroy();
  });
  req.on('end', () => cb(body));
}

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);
}

function stsError(res, status, code, message) {
  stats.refused++;
  send(res, status, 'text/xml', '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
    `<Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>` +
    '<RequestId>sts-double</RequestId></ErrorResponse>');
}

function sts(req, res) {
  if (req.method !== 'POST') return stsError(res, 405, 'InvalidAction', 'POST only');
  readBody(req, body => {
    const q = new URLSearchParams(body);
    if (q.get('Action') !== 'AssumeRoleWithWebIdentity' || q.get('Version') !== '2011-06-15')
      return stsError(res, 400, 'InvalidAction', 'Could not find operation');
    const token = q.get('WebIdentityToken') || '';
    stats.sts++;
    stats.web_tokens[token] = (stats.web_tokens[token] || 0) + 1;
    if (config.sts_status) return stsError(res, config.sts_status, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    if (!q.get('RoleArn') || !q.get('RoleSessionName')) return stsError(res, 400, 'MissingParameter', 'RoleArn and RoleSessionName are required');
    if (token === '' || (config.web_tokens && !config.web_tokens.includes(token)))
      return stsError(res, 400, 'InvalidIdentityToken', 'The web identity token is not valid');
    const k = issue();
    send(res, 200, 'text/xml', '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n' +
      '  <AssumeRoleWithWebIdentityResult>\n    <Credentials>\n' +
      `      <SessionToken>${xmlEscape(k.token)}</SessionToken>\n` +
      `      <SecretAccessKey>${xmlEscape(k.secret)}</SecretAccessKey>\n` +
      `      <Expiration>${k.expiration}</Expiration>\n` +
      `      <AccessKeyId>${k.id}</AccessKeyId>\n    </Credentials>\n` +
      `    <SubjectFromWebIdentityToken>test</SubjectFromWebIdentityToken>\n` +
      '  </AssumeRoleWithWebIdentityResult>\n</AssumeRoleWithWebIdentityResponse>\n');
  });
}

function credentialsJson(k) {
  return JSON.stringify({ Code: 'Success', LastUpdated: new Date().toISOString(), Type: 'AWS-HMAC',
    AccessKeyId: k.id, SecretAccessKey: k.secret, Token: k.token, Expiration: k.expiration });
}

function container(req, res) {
  req.resume();
  if (config.container_token !== '' && req.headers.authorization !== config.container_token) {
    stats.refused++;
    return send(res, 401, 'application/json', '{"message":"unauthorized"}');
  }
  stats.container++;
  if (config.container_bad_json) return send(res, 200, 'application/json', '{"AccessKeyId": "ASIA", "Secret');
  send(res, 200, 'application/json', credentialsJson(issue()));
}

function imds(req, res, path) {
  req.resume();
  if (path === '/latest/api/token') {
    if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds'])
      return send(res, 400, 'text/plain', 'bad token request');
    stats.imds_token++;
    const t = crypto.randomBytes(24).toString('base64');
    if (imdsTokens.size > 1000) imdsTokens.clear();
    imdsTokens.add(t);
    return send(res, 200, 'text/plain', t);
  }
  if (req.method !== 'GET' || !imdsTokens.has(req.headers['x-aws-ec2-metadata-token'] || '')) {
    stats.refused++;
    return send(res, 401, 'text/plain', 'IMDSv2 token required');
  }
  const base = '/latest/meta-data/iam/security-credentials/';
  if (path === base) return send(res, 200, 'text/plain', ROLE);
  if (path === base + ROLE) {
    stats.imds_creds++;
    return send(res, 200, 'text/plain', credentialsJson(issue()));
  }
  send(res, 404, 'text/plain', 'not found');
}

const isNum = v => Number.isFinite(v) && v >= 0;
const VALID = {
  lifetime_s: v => isNum(v) && v >= 1,
  web_tokens: v => v === null || (Array.isArray(v) && v.every(x => typeof x === 'string')),
  sts_status: v => v === 0 || (Number.isInteger(v) && v >= 400 && v <= 599),
  container_token: v => typeof v === 'string' && !/[\r\n]/.test(v),
  container_bad_json: v => v === true || v === false,
};

function control(req, res, path) {
  if (path === '/__creds/stats' && req.method === 'GET') {
    req.resume();
    let used = 0;
    for (const k of issued.values()) if (k.used > 0) used++;
    return send(res, 200, 'application/json', JSON.stringify({ ...stats, issued: issued.size, keys_used: used }));
  }
  if (path === '/__creds/last' && req.method === 'GET') {
    req.resume();
    return send(res, last ? 200 : 404, 'application/json', JSON.stringify(last));
  }
  if (path === '/__creds/expire' && req.method === 'POST') {
    req.resume();
    const now = Date.now();
    for (const k of issued.values()) k.expiresMs = Math.min(k.expiresMs, now);
    return send(res, 200, 'application/json', '{}');
  }
  if (path === '/__creds/config' && req.method === 'POST') {
    return readBody(req, body => {
      let c;
      try {
        c = JSON.parse(body || '{}');
      } catch (e) {
        return send(res, 400, 'application/json', '{"error":"bad JSON"}');
      }
      for (const k of Object.keys(c))
        if (!VALID[k] || !VALID[k](c[k])) return send(res, 400, 'application/json', JSON.stringify({ error: `bad field ${k}` }));
      Object.assign(config, c);
      return send(res, 200, 'application/json', JSON.stringify(config));
    });
  }
  req.resume();
  send(res, 404, 'application/json', '{"error":"unknown control endpoint"}');
}

/* Serves REQ if its path is one of ours; false if it is not (the front's then). */
function handle(req, res) {
  const path = req.url.split('?')[0];
  if (path.startsWith('/__sts/') || path === '/__sts') sts(req, res);
  else if (path.startsWith('/__ecs/')) container(req, res);
  else if (path.startsWith('/__imds/')) imds(req, res, path.slice('/__imds'.length));
  else if (path.startsWith('/__creds/')) control(req, res, path);
  else return false;
  return true;
}

module.exports = { handle, lookup, noteUse };
