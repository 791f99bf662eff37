'use strict';
// Owns the `node -r` preload that corrects s3rver 3.7.1 where it differs from S3 in ways the
// tests depend on: Range bytes=0-0, suffix ranges bytes=-N, If-Match on GET/HEAD.
// It must never touch the files under node_modules, and refuses to load on any other s3rver
// version (the hooks below are tied to 3.7.1's internals).

const path = require('path');

const LIB = path.join(__dirname, 'node_modules', 's3rver', 'lib');
const pkg = require(path.join(LIB, '..', 'package.json'));
if (pkg.version !== '3.7.1') {
  throw new Error(`s3rver-fixes: written for s3rver 3.7.1, found ${pkg.version}`);
}

const fs = require('fs');
const objectCtrl = require(path.join(LIB, 'controllers', 'object.js'));
const FilesystemStore = require(path.join(LIB, 'stores', 'filesystem.js'));
const S3Object = require(path.join(LIB, 'models', 'object.js'));
const S3Error = require(path.join(LIB, 'models', 'error.js'));

/* Store fix: the original treats `end: 0` as "no end" and reads to EOF, and calls a range on an
 * empty object satisfiable. This version takes {start, end} (either may be absent, end
 * inclusive) and marks the range unsatisfiable when start is past the last byte. */
FilesystemStore.prototype.getObject = async function getObjectFixed(bucket, key, options) {
  let metadata;
  try {
    metadata = await this.getMetadata(bucket, key);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  const size = Number(metadata['content-length']);
  // A range that does not parse as numbers is ignored (whole object), as S3 does.
  const ranged = !!options && (options.start !== undefined || options.end !== undefined) &&
    !Number.isNaN(options.start) && !Number.isNaN(options.end);
  const start = ranged && options.start !== undefined ? options.start : 0;
  const end = ranged && options.end !== undefined ? Math.min(options.end, size - 1) : size - 1;
  if (ranged && (size === 0 || start < 0 || start > size - 1 || end < start)) {
    const object = new S3Object(bucket, key, null, metadata);
    object.range = { start, end };
    return object; // the controller answers 416 InvalidRange
  }
  const content = await new Promise((resolve, reject) => {
    const stream = fs
      .createReadStream(this.getResourcePath(bucket, key, 'object'), size === 0 ? {} : { start, end })
      .on('error', reject)
      .on('open', () => resolve(stream));
  }).catch(err => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (content === undefined) return null;
  const object = new S3Object(bucket, key, content, metadata);
  if (ranged) object.range = { start, end };
  return object;
};

function invalidRange(ctx, size) {
  return new S3Error('InvalidRange', 'The requested range is not satisfiable', {
    RangeRequested: ctx.get('range'),
    ActualObjectSize: size,
  });
}

/* Controller fix, wrapped around the original GET/HEAD handler (routes.js calls
 * `objectCtrl.getObject(ctx)` through the module object at request time, so replacing the export
 * takes effect even though routes.js was loaded first):
 *  - If-Match: compared with the stored ETag as an opaque string (quotes included), '*' matches
 *    anything; a mismatch is 412 PreconditionFailed, checked before the range as S3 does.
 *  - bytes=-N: rewritten to the absolute range of the last N bytes before the original runs;
 *    N = 0 or an empty object is 416.
 *  The original parses `bytes=A-B` itself; the store fix above makes B = 0 work. */
const originalGetObject = objectCtrl.getObject;
objectCtrl.getObject = async function getObjectFixed(ctx) {
  const ifMatch = ctx.headers['if-match'];
  const range = ctx.headers['range'];
  const suffix = typeof range === 'string' ? /^bytes=-(\d+)$/.exec(range.trim()) : null;
  if (ifMatch === undefined && !suffix) return originalGetObject(ctx);

  let metadata = null;
  try {
    metadata = await ctx.store.getMetadata(ctx.params.bucket, ctx.params.key);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  if (metadata === null) return originalGetObject(ctx); // answers NoSuchKey

  if (ifMatch !== undefined && ifMatch.trim() !== '*' && ifMatch.trim() !== metadata.etag) {
    throw new S3Error('PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  }
  if (suffix) {
    const size = Number(metadata['content-length']);
    const n = Number(suffix[1]);
    if (n === 0 || size === 0) throw invalidRange(ctx, size);
    const rewritten = `bytes=${Math.max(0, size - n)}-${size - 1}`;
    ctx.req.headers.range = rewritten;
    try {
      return await originalGetObject(ctx);
    } finally {
      ctx.req.headers.range = range;
    }
  }
  return originalGetObject(ctx);
};
objectCtrl.getObject.s3rverFixes = true;

// Prove the hooks are the ones s3rver will call (same module instances as its own requires).
if (require(path.join(LIB, 'controllers', 'object')).getObject.s3rverFixes !== true ||
    require(path.join(LIB, 'stores', 'filesystem')).prototype.getObject.name !== 'getObjectFixed') {
  throw new Error('s3rver-fixes: patch did not take effect');
}
