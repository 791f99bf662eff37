/*
 * daemon_object.c: the daemon's table of open objects, their chunk states and the waiters on
 * them. Decides what to fetch for a request (absent runs, readahead) and answers waiters when
 * their chunks are in. Never marks a chunk present itself: daemon_fetch.c does, after the write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "daemon.h"
#include "io.h"
#include "keys.h"
#include "log.h"
#include "verify.h"

#define MAX_IDLE_OBJS 256
#define READAHEAD_INITIAL_BYTES (8u << 20)
#define GET_MAX_BYTES (16u << 20)

static int
obj_cmp(const struct obj *a, const struct obj *b)
{
	return ms_key_order(a->mount_idx, a->key, b->mount_idx, b->key);
}
RB_GENERATE_STATIC(obj_tree, obj, node, obj_cmp)

static void
obj_free(struct obj *o)
{
	if (o->data_fd >= 0)
		close(o->data_fd);
	ms_map_close(&o->map);
	model_free(o);
	free(o->state);
	free(o->key);
	free(o);
}

/*
 * Checks every chunk the map has as present (and not being refilled) against its checksum and
 * clears those that fail, in the map and in O's chunk states. *CHECKED and *BAD count them.
 */
int
obj_verify_chunks(struct obj *o, uint32_t *checked, uint32_t *bad, uint64_t *bad_bytes)
{
	uint32_t i;
	uint8_t *buf;
	int rc = 0, v;

	*checked = *bad = 0;
	*bad_bytes = 0;
	buf = malloc(MS_VERIFY_BUF);
	if (buf == NULL)
		return -ENOMEM;
	for (i = 0; i < o->map.hdr.nchunks && rc == 0; i++) {
		if (!ms_map_has(&o->map, i) || (o->state != NULL && o->state[i] != MS_CHUNK_PRESENT))
			continue;
		(*checked)++;
		v = ms_verify_chunk(o->data_fd, &o->map, i, buf, MS_VERIFY_BUF);
		if (v == 0)
			continue;
		if (v != -EBADMSG && v != -EIO) {
			rc = v;
			break;
		}
		rc = ms_map_clear(&o->map, i);
		if (o->state != NULL)
			o->state[i] = MS_CHUNK_ABSENT;
		(*bad)++;
		*bad_bytes += ms_map_chunk_len(&o->map.hdr, i);
	}
	free(buf);
	return rc;
}

/* A map from before a reboot: keep only the chunks whose bytes still match their checksum. */
static int
obj_verify_after_reboot(struct daemon *d, struct obj *o)
{
	uint32_t checked, dropped;
	uint64_t bytes;
	int rc;

	rc = obj_verify_chunks(o, &checked, &dropped, &bytes);
	account_cached(d, o->mount_idx, -(int64_t)bytes);
	if (rc == 0)
		rc = ms_map_stamp_boot(&o->map);
	if (dropped > 0)
		ms_warn("%s: %u chunks failed their checksum after a reboot; they will be refetched",
		    o->key, dropped);
	return rc;
}

static int
obj_open(struct daemon *d, unsigned mount_idx, const char *key, struct obj **out, char *err,
    size_t errlen)
{
	const struct ms_mount *m = &d->cfg.mounts[mount_idx];
	char path[MS_OBJECT_PATH_MAX];
	struct stat st;
	struct obj *o;
	uint32_t i;
	int rc;

	o = calloc(1, sizeof *o);
	if (o == NULL || (o->key = strdup(key)) == NULL) {
		free(o);
		return -ENOMEM;
	}
	o->mount_idx = mount_idx;
	o->map.fd = -1;
	TAILQ_INIT(&o->waiters);
	TAILQ_INIT(&o->fills);
	rc = ms_cache_object_path(&d->cfg, m, MS_AREA_TREE, key, path, sizeof path);
	if (rc < 0)
		goto fail;
	o->data_fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (o->data_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s/%s: not in the imported namespace (%s)", m->path, key,
		    strerror(errno));
		goto fail;
	}
	if (fstat(o->data_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = -EISDIR;
		snprintf(err, errlen, "%s/%s: not a file", m->path, key);
		goto fail;
	}
	o->ino = (uint64_t)st.st_ino;
	rc = ms_cache_object_path(&d->cfg, m, MS_AREA_STATE, key, path, sizeof path);
	if (rc == 0)
		rc = ms_map_open(&o->map, path, true);
	if (rc == 0 && !ms_map_names(&o->map, o->ino, (uint64_t)st.st_size))
		rc = -ESTALE;
	if (rc < 0) {
		snprintf(err, errlen, "%s/%s: cache state is missing or does not match (%s): run "
		    "'modelshim import %s'", m->path, key, strerror(-rc), m->name);
		rc = -ESTALE;
		goto fail;
	}
	if (!ms_map_same_boot(&o->map) && (rc = obj_verify_after_reboot(d, o)) < 0) {
		snprintf(err, errlen, "%s/%s: verifying cached chunks: %s", m->path, key, strerror(-rc));
		goto fail;
	}
	o->state = calloc(o->map.hdr.nchunks + 1, 1);
	if (o->state == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < o->map.hdr.nchunks; i++)
		o->state[i] = ms_map_has(&o->map, i) ? MS_CHUNK_PRESENT : MS_CHUNK_ABSENT;
	*out = o;
	return 0;
fail:
	obj_free(o);
	return rc;
}

static void
obj_detach(struct daemon *d, struct obj *o)
{
	RB_REMOVE(obj_tree, &d->objs, o);
	d->nobjs--;
	o->detached = true;
	if (o->refs == 0) {
		TAILQ_REMOVE(&d->idle, o, idle_link);
		obj_free(o);
	} else {
		TAILQ_INSERT_TAIL(&d->detached, o, idle_link);
	}
}

static void
obj_trim_idle(struct daemon *d)
{
	struct obj *o;

	while (d->nobjs > MAX_IDLE_OBJS && (o = TAILQ_FIRST(&d->idle)) != NULL)
		obj_detach(d, o);
}

/* The tree file's inode now, or 0. */
static uint64_t
tree_ino(struct daemon *d, unsigned mount_idx, const char *key)
{
	char path[MS_OBJECT_PATH_MAX];
	struct stat st;

	if (ms_cache_object_path(&d->cfg, &d->cfg.mounts[mount_idx], MS_AREA_TREE, key, path,
	    sizeof path) < 0 || stat(path, &st) < 0)
		return 0;
	return (uint64_t)st.st_ino;
}

static struct obj *
obj_find(struct daemon *d, unsigned mount_idx, const char *key)
{
	struct obj find = { .mount_idx = mount_idx, .key = (char *)key };

	return RB_FIND(obj_tree, &d->objs, &find);
}

int
obj_get(struct daemon *d, unsigned mount_idx, const char *key, uint64_t ino, struct obj **out,
    char *err, size_t errlen)
{
	struct obj *o;
	int rc;

	o = obj_find(d, mount_idx, key);
	if (o != NULL && ino != 0 && o->ino != ino) {
		/* Re-imported since we opened it: serve the new file from now on. */
		obj_detach(d, o);
		o = NULL;
	}
	if (o == NULL) {
		rc = obj_open(d, mount_idx, key, &o, err, errlen);
		if (rc < 0)
			return rc;
		RB_INSERT(obj_tree, &d->objs, o);
		d->nobjs++;
		TAILQ_INSERT_TAIL(&d->idle, o, idle_link);
		obj_trim_idle(d);
	}
	if (ino != 0 && o->ino != ino && tree_ino(d, mount_idx, key) != ino) {
		snprintf(err, errlen, "%s/%s: was re-imported while open: reopen it",
		    d->cfg.mounts[mount_idx].path, key);
		return -ESTALE;
	}
	if (o->refs++ == 0)
		TAILQ_REMOVE(&d->idle, o, idle_link);
	*out = o;
	return 0;
}

void
obj_unref(struct daemon *d, struct obj *o)
{
	if (--o->refs > 0)
		return;
	if (o->detached) {
		TAILQ_REMOVE(&d->detached, o, idle_link);
		obj_free(o);
		return;
	}
	TAILQ_INSERT_TAIL(&d->idle, o, idle_link);
	obj_trim_idle(d);
}

static uint32_t
bytes_to_chunks(uint64_t bytes, uint32_t chunk_size)
{
	uint64_t n = bytes / chunk_size;

	return n == 0 ? 1 : (uint32_t)n;
}

uint64_t
obj_tier_block(const struct daemon *d, const struct obj *o)
{
	const struct ms_mount *m = &d->cfg.mounts[o->mount_idx];
	uint64_t block = m->tier >= 0 ? d->cfg.tiers[m->tier].block : 0;

	return block != 0 && block % o->map.hdr.chunk_size == 0 ? block : 0;
}

/*
 * Queues GETs for the absent chunks of [first, end), coalesced into runs of GET_MAX_BYTES. Through
 * a tier each GET asks for one whole block: the range grows to whole blocks (what a GET brings
 * anyway is not asked again), and no run crosses a block's edge.
 */
void
obj_fetch_range(struct daemon *d, struct obj *o, uint32_t first, uint32_t end, bool demand)
{
	struct ms_run runs[64];
	uint32_t max_run = bytes_to_chunks(GET_MAX_BYTES, o->map.hdr.chunk_size);
	uint32_t per_block = (uint32_t)(obj_tier_block(d, o) / o->map.hdr.chunk_size), stop;
	unsigned n, i;

	if (per_block != 0) {
		first -= first % per_block;
		end = end % per_block == 0 ? end : end - end % per_block + per_block;
		if (end > o->map.hdr.nchunks)
			end = o->map.hdr.nchunks;
	}
	while (first < end) {
		stop = per_block == 0 || end - first <= per_block - first % per_block ? end :
		    first - first % per_block + per_block;
		n = ms_plan_runs(o->state, first, stop, per_block ? per_block : max_run, runs, 64);
		if (n == 0) {
			first = stop;
			continue;
		}
		for (i = 0; i < n; i++)
			fetch_enqueue(d, o, runs[i].first, runs[i].end, demand,
			    per_block ? per_block : max_run);
		first = runs[n - 1].end;
	}
}

bool
obj_busy(struct daemon *d, unsigned mount_idx, const char *key)
{
	struct obj *o = obj_find(d, mount_idx, key);

	return o != NULL && o->refs > 0;
}

void
obj_forget(struct daemon *d, unsigned mount_idx, const char *key)
{
	struct obj *o = obj_find(d, mount_idx, key);

	if (o != NULL && o->refs == 0)
		obj_detach(d, o);
}

/* Records an access (open or fill) for the eviction policy, at most once a second. */
void
obj_touch(struct daemon *d, struct obj *o)
{
	int64_t now = (int64_t)time(NULL);

	if (o->map.hdr.atime != now && ms_map_set_atime(&o->map, now) < 0)
		ms_warn("%s: recording access time: %s", o->key, strerror(errno));
	evict_touch(d, o);
}

/*
 * Whether bytes [off, off + len) of O, in chunks [first, end) of which one is not present, are
 * in the cache file already: that chunk's fill has written them.
 */
static bool
range_written(struct obj *o, uint64_t off, uint64_t len, uint32_t first, uint32_t end)
{
	const struct ms_map_header *h = &o->map.hdr;
	uint64_t start, need;
	uint32_t i = first;

	while (i < end && o->state[i] == MS_CHUNK_PRESENT)
		i++;
	if (i == end)
		return true;
	start = (uint64_t)i * h->chunk_size;
	need = off + len < start + ms_map_chunk_len(h, i) ? off + len : start + ms_map_chunk_len(h, i);
	return chunk_fill_covers(o, i, (uint32_t)(need - start));
}

/*
 * Whether a waiter for bytes [off, off + len) in chunks [first, end), accepting ANSWERS, may be
 * answered with its bytes: asked for, small, and all in one chunk (one receive buffer).
 */
static bool
bytes_acceptable(uint32_t answers, uint64_t len, uint32_t first, uint32_t end)
{
	return (answers & MS_FILL_RANGE) != 0 && (answers & MS_FILL_BYTES) != 0 &&
	    len <= MS_FILL_BYTES_MAX && end == first + 1;
}

/*
 * Answers request ID with bytes [off, off + len) from BUF, which holds their chunk from its
 * start: true if sent.
 */
static bool
answer_bytes(struct daemon *d, struct client *cl, uint64_t id, uint64_t off, uint64_t len,
    uint64_t chunk_start, const uint8_t *buf)
{
	return client_reply_bytes(d, cl, id, off, buf + (off - chunk_start), (uint32_t)len);
}

int
obj_request(struct daemon *d, struct obj *o, struct client *cl, uint64_t id, uint64_t off,
    uint64_t len, enum fill_kind kind, uint32_t answers)
{
	bool range_ok = (answers & MS_FILL_RANGE) != 0;
	const uint8_t *buf;
	uint64_t start;
	const struct ms_map_header *h = &o->map.hdr;
	bool demand = kind == FILL_DEMAND || kind == FILL_FAULT, waits = kind != FILL_PREFETCH;
	struct waiter *w;
	uint32_t first, end, i, pending = 0, ra, stop;

	if (kind != FILL_PREFETCH)
		obj_touch(d, o);
	if (off >= h->size || h->nchunks == 0) {
		if (waits)
			client_reply_done(d, cl, id, 0, NULL);
		return 0;
	}
	if (len == 0 || len > h->size - off)
		len = h->size - off;
	first = (uint32_t)(off / h->chunk_size);
	end = (uint32_t)((off + len - 1) / h->chunk_size + 1);

	if (demand)
		fetch_promote(d, o, first, end);
	obj_fetch_range(d, o, first, end, demand);
	if (kind == FILL_DEMAND) {
		ra = ms_readahead_update(&o->ra, first, end,
		    bytes_to_chunks(READAHEAD_INITIAL_BYTES, h->chunk_size),
		    bytes_to_chunks(d->cfg.readahead, h->chunk_size));
		stop = end + ra < h->nchunks ? end + ra : h->nchunks;
		if (ra > 0 && end < h->nchunks && ms_readahead_due(o->state, end, stop, ra))
			obj_fetch_range(d, o, end, stop, false);
	}
	if (kind == FILL_DEMAND) /* a fault's readahead is the lazy-mmap handler's own */
		model_readahead(d, o, off + len);
	if (!waits)
		return 0;
	for (i = first; i < end; i++)
		if (o->state[i] != MS_CHUNK_PRESENT)
			pending++;
	d->stats.mounts[o->mount_idx].chunks_requested += end - first;
	d->stats.mounts[o->mount_idx].chunks_present += end - first - pending;
	if (pending == 0) {
		client_reply_done(d, cl, id, 0, NULL);
		return 0;
	}
	if (range_ok && pending == 1 && range_written(o, off, len, first, end)) {
		client_reply_done(d, cl, id, MS_FILL_RANGE_READY, NULL);
		return 0;
	}
	/* Not in the file yet, but received: the bytes themselves, from the receive buffer. */
	start = (uint64_t)first * h->chunk_size;
	if (bytes_acceptable(answers, len, first, end) &&
	    (buf = chunk_fill_received(o, first, (uint32_t)(off + len - start))) != NULL &&
	    answer_bytes(d, cl, id, off, len, start, buf))
		return 0;
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return -ENOMEM;
	w->cl = cl;
	w->id = id;
	w->demand = demand;
	w->start_ms = ms_now_ms();
	w->first = first;
	w->end = end;
	w->pending = pending;
	w->off = off;
	w->len = len;
	w->range_ok = range_ok;
	w->bytes_ok = bytes_acceptable(answers, len, first, end);
	TAILQ_INSERT_TAIL(&o->waiters, w, link);
	client_ref(cl);
	o->refs++;
	return 0;
}

static void
record_latency(struct daemon *d, uint64_t ms)
{
	d->lat_us[d->lat_next] = (uint32_t)(ms * 1000 > UINT32_MAX ? UINT32_MAX : ms * 1000);
	d->lat_next = (d->lat_next + 1) % (sizeof d->lat_us / sizeof d->lat_us[0]);
	if (d->lat_n < sizeof d->lat_us / sizeof d->lat_us[0])
		d->lat_n++;
	metrics_observe_fill(d, ms);
}

/* W, answered, leaves O's waiters. */
static void
waiter_free(struct daemon *d, struct obj *o, struct waiter *w)
{
	TAILQ_REMOVE(&o->waiters, w, link);
	client_unref(d, w->cl);
	free(w);
	obj_unref(d, o);
}

static void
waiter_answer(struct daemon *d, struct obj *o, struct waiter *w, int status)
{
	if (w->demand && status >= 0)
		record_latency(d, ms_now_ms() - w->start_ms);
	client_reply_done(d, w->cl, w->id, status, status < 0 ? w->msg : NULL);
	waiter_free(d, o, w);
}

void
obj_chunk_done(struct daemon *d, struct obj *o, uint32_t chunk, int status, const char *msg)
{
	struct waiter *w, *tmp;

	o->state[chunk] = status == 0 ? MS_CHUNK_PRESENT : MS_CHUNK_ABSENT;
	model_chunk_done(d, o, chunk, status);
	TAILQ_FOREACH_SAFE(w, &o->waiters, link, tmp) {
		if (chunk < w->first || chunk >= w->end)
			continue;
		if (status < 0 && w->status == 0) {
			w->status = status;
			strlcpy(w->msg, msg != NULL ? msg : strerror(-status), sizeof w->msg);
		}
		if (--w->pending > 0)
			continue;
		waiter_answer(d, o, w, w->status);
	}
}

bool
obj_range_written(struct daemon *d, struct obj *o, uint32_t chunk, uint32_t prefix)
{
	uint64_t start = (uint64_t)chunk * o->map.hdr.chunk_size, there = start + prefix;
	uint64_t chunk_end = start + ms_map_chunk_len(&o->map.hdr, chunk), need;
	struct waiter *w, *tmp;
	bool answered = false;

	TAILQ_FOREACH_SAFE(w, &o->waiters, link, tmp) {
		/*
		 * Its one chunk still pending is this one (every other is present), and its bytes in
		 * it are written: bytes from an answer checked like any (invariant 7).
		 */
		if (!w->range_ok || w->pending != 1 || w->status != 0 || chunk < w->first ||
		    chunk >= w->end)
			continue;
		need = w->off + w->len < chunk_end ? w->off + w->len : chunk_end;
		if (need > there)
			continue;
		waiter_answer(d, o, w, MS_FILL_RANGE_READY);
		answered = true;
	}
	return answered;
}

void
obj_range_received(struct daemon *d, struct obj *o, uint32_t chunk, const uint8_t *buf,
    uint32_t filled)
{
	uint64_t start = (uint64_t)chunk * o->map.hdr.chunk_size;
	struct waiter *w, *tmp;

	TAILQ_FOREACH_SAFE(w, &o->waiters, link, tmp) {
		/* Its one chunk is this one, still pending, and its bytes are all in the buffer. */
		if (!w->bytes_ok || w->pending != 1 || w->status != 0 || w->first != chunk ||
		    w->off + w->len > start + filled)
			continue;
		if (!answer_bytes(d, w->cl, w->id, w->off, w->len, start, buf))
			continue;
		if (w->demand)
			record_latency(d, ms_now_ms() - w->start_ms);
		waiter_free(d, o, w);
	}
}

static void
obj_free_all(struct daemon *d, struct obj *o)
{
	struct waiter *w;

	while ((w = TAILQ_FIRST(&o->waiters)) != NULL) {
		TAILQ_REMOVE(&o->waiters, w, link);
		client_unref(d, w->cl);
		free(w);
	}
	obj_free(o);
}

/*
 * At shutdown, after every job and write has ended: frees every object and waiter, and the
 * eviction index of cached objects with them.
 */
void
objs_close_all(struct daemon *d)
{
	struct obj *o, *next;

	RB_FOREACH_SAFE(o, obj_tree, &d->objs, next) {
		RB_REMOVE(obj_tree, &d->objs, o);
		obj_free_all(d, o);
	}
	while ((o = TAILQ_FIRST(&d->detached)) != NULL) {
		TAILQ_REMOVE(&d->detached, o, idle_link);
		obj_free_all(d, o);
	}
	d->nobjs = 0;
	TAILQ_INIT(&d->idle);
	evict_fini(d);
}
