/*
 * daemon_write.c: a chunk's way from its receive buffer into the cache file. The bytes of a chunk
 * being received go to the sparse data file in aligned pieces (2 MiB of 4 MiB) as they arrive
 * (io_uring writes from the buffer, which stays until the chunk ends), so that writing into page
 * cache overlaps the transfer and a chunk is marked one piece after its last byte, not one whole
 * chunk's write later. Each write that completes extends the chunk's written prefix, and the
 * waiters whose bytes lie in it are answered before the chunk is complete (obj_range_written);
 * waiters that take the bytes themselves are answered from the buffer as soon as they are
 * received (obj_range_received).
 * A chunk is marked present in its map only once every piece is written in full (invariant 9);
 * a failed write fails the chunk. Never marks a chunk another way, and never punches a hole under
 * bytes a reader was told are there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "crash.h"
#include "daemon.h"
#include "log.h"

/*
 * A piece is PIECE_BYTES, a page-cache folio of the largest size (2 MiB, what a PMD maps), or
 * half a smaller chunk; pieces end on multiples of it. The size of what one write creates is the
 * size of the folios the page cache keeps for it: 256 KiB pieces left 256 KiB folios, and the
 * warm mmap of a cache file filled that way ran 25x slower than the local file's (bench workload
 * 2, page cache warm). So a chunk is written in at most MAX_PIECES aligned pieces.
 */
#define PIECE_BYTES (2u * 1024 * 1024)
#define MAX_PIECES 64

/* A chunk being received and written. */
struct chunk_fill {
	TAILQ_ENTRY(chunk_fill) link; /* on o->fills */
	struct obj *o;
	uint32_t chunk, len;
	uint8_t *buf;
	uint32_t filled;                 /* bytes received into BUF */
	uint32_t submitted;              /* bytes handed to the ring, a prefix of FILLED */
	uint32_t piece;                  /* pieces end on multiples of it */
	uint32_t piece_end[MAX_PIECES];  /* where piece I ends in the chunk */
	unsigned npieces, inflight;
	uint64_t written;                /* bit I: piece I is in the file */
	int err;                         /* the first failed write: -errno, or 1 for a short one */
	int short_res;                   /* that short write's byte count */
	bool abandoned;                  /* its job ended or restarts: no mark, no more answers */
	bool served;                     /* a waiter was answered from its written bytes */
	uint64_t sum;                    /* xxh3 of the whole chunk, once received */
};

/* One write in flight: piece IDX of CF. */
struct piece {
	struct chunk_fill *cf;
	unsigned idx;
};

/* Half a chunk, at most PIECE_BYTES; a multiple of it where MAX_PIECES of those are too few. */
static uint32_t
piece_size(uint32_t chunk_size)
{
	uint32_t piece = chunk_size / 2 < PIECE_BYTES ? chunk_size / 2 : PIECE_BYTES;
	uint32_t least = (chunk_size + MAX_PIECES - 1) / MAX_PIECES;

	if (piece == 0)
		return chunk_size;
	if (piece < least)
		piece = (least + PIECE_BYTES - 1) / PIECE_BYTES * PIECE_BYTES;
	return piece;
}

struct chunk_fill *
chunk_fill_new(struct daemon *d, struct obj *o, uint32_t chunk, bool served)
{
	struct chunk_fill *cf = calloc(1, sizeof *cf);

	if (cf == NULL)
		return NULL;
	cf->len = ms_map_chunk_len(&o->map.hdr, chunk);
	if ((cf->buf = recv_buf_get(d, o->map.hdr.chunk_size)) == NULL) {
		free(cf);
		return NULL;
	}
	cf->o = o;
	cf->chunk = chunk;
	cf->served = served;
	cf->piece = piece_size(o->map.hdr.chunk_size);
	TAILQ_INSERT_TAIL(&o->fills, cf, link);
	o->refs++;
	return cf;
}

static void
chunk_fill_free(struct daemon *d, struct chunk_fill *cf)
{
	struct obj *o = cf->o;

	TAILQ_REMOVE(&o->fills, cf, link);
	recv_buf_put(d, cf->buf, o->map.hdr.chunk_size);
	free(cf);
	obj_unref(d, o);
}

bool
chunk_fill_served(const struct chunk_fill *cf)
{
	return cf->served;
}

uint32_t
chunk_fill_room(const struct chunk_fill *cf)
{
	return cf->len - cf->filled;
}

/* Hands bytes [submitted, END) to the ring as the next piece. */
static int
submit_piece(struct daemon *d, struct chunk_fill *cf, uint32_t end)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct piece *p;
	struct obj *o = cf->o;

	p = malloc(sizeof *p);
	if (p == NULL)
		return -ENOMEM;
	p->cf = cf;
	p->idx = cf->npieces;
	while ((sqe = io_uring_get_sqe(&d->ring)) == NULL) {
		/* Ring full: wait for one write to finish. */
		io_uring_submit(&d->ring);
		if (io_uring_wait_cqe(&d->ring, &cqe) == 0)
			write_reap_one(d, cqe);
	}
	io_uring_prep_write(sqe, o->data_fd, cf->buf + cf->submitted, end - cf->submitted,
	    (uint64_t)cf->chunk * o->map.hdr.chunk_size + cf->submitted);
	io_uring_sqe_set_data(sqe, p);
	cf->piece_end[cf->npieces++] = end;
	cf->submitted = end;
	cf->inflight++;
	o->writes++;
	d->writes_inflight++;
	io_uring_submit(&d->ring);
	ms_crash_point("fill.submitted"); /* a write in flight: the kernel ends it, nobody marks it */
	return 0;
}

int
chunk_fill_take(struct daemon *d, struct chunk_fill *cf, const uint8_t *ptr, uint32_t n)
{
	memcpy(cf->buf + cf->filled, ptr, n);
	cf->filled += n;
	obj_range_received(d, cf->o, cf->chunk, cf->buf, cf->filled);
	if (cf->filled == cf->len) {
		cf->sum = XXH3_64bits(cf->buf, cf->len);
		return submit_piece(d, cf, cf->len);
	}
	if (cf->filled - cf->filled % cf->piece > cf->submitted)
		return submit_piece(d, cf, cf->filled - cf->filled % cf->piece);
	return 0;
}

/* Bytes of the chunk in the file from its start: the pieces written, up to the first not. */
static uint32_t
written_prefix(const struct chunk_fill *cf)
{
	unsigned i = 0;

	while (i < cf->npieces && (cf->written >> i & 1) != 0)
		i++;
	return i == 0 ? 0 : cf->piece_end[i - 1];
}

bool
chunk_fill_covers(struct obj *o, uint32_t chunk, uint32_t end)
{
	struct chunk_fill *cf;

	TAILQ_FOREACH(cf, &o->fills, link) {
		if (cf->chunk != chunk || cf->abandoned || cf->err != 0 || written_prefix(cf) < end)
			continue;
		cf->served = true;
		return true;
	}
	return false;
}

const uint8_t *
chunk_fill_received(const struct obj *o, uint32_t chunk, uint32_t end)
{
	const struct chunk_fill *cf;

	TAILQ_FOREACH(cf, &o->fills, link)
		if (cf->chunk == chunk && !cf->abandoned && cf->err == 0 && cf->filled >= end)
			return cf->buf;
	return NULL;
}

/*
 * What reached the file of a chunk that failed (a full disk: ENOSPC, a short write, a map that
 * could not be marked) or was abandoned is made a hole again, so that no bytes the map does not
 * count stay on the disk (an object with no chunk present is never evicted).
 */
static void
punch_chunk(const struct chunk_fill *cf)
{
	if (fallocate(cf->o->data_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)cf->chunk * cf->o->map.hdr.chunk_size, cf->len) < 0 && errno != EOPNOTSUPP)
		ms_warn("%s: releasing the bytes of unfinished chunk %u: %s", cf->o->key, cf->chunk,
		    strerror(errno));
}

/*
 * Writing moves the file's mtime: once the object's writes in flight are done it shows the
 * object's Last-Modified again (per burst, not per piece: setattr takes the inode lock the
 * writes hold).
 */
static void
restore_mtime(struct obj *o)
{
	struct timespec times[2] = { { 0, UTIME_OMIT }, { o->map.hdr.mtime, 0 } };

	if (o->writes == 0 && futimens(o->data_fd, times) < 0)
		ms_warn("%s: restoring mtime: %s", o->key, strerror(errno));
}

/*
 * An abandoned chunk's writes are done: its bytes are made a hole again (no bytes the map does
 * not count stay on the disk), unless a reader was told of them, another fill of the chunk goes
 * on, or the chunk is present now (a later fill marked it).
 */
static void
abandoned_end(struct daemon *d, struct chunk_fill *cf)
{
	struct chunk_fill *other;
	bool keep = cf->served || cf->o->state[cf->chunk] == MS_CHUNK_PRESENT;

	TAILQ_FOREACH(other, &cf->o->fills, link)
		keep = keep || (other != cf && other->chunk == cf->chunk && !other->abandoned);
	if (!keep && cf->written != 0)
		punch_chunk(cf);
	restore_mtime(cf->o);
	chunk_fill_free(d, cf);
}

void
chunk_fill_abandon(struct daemon *d, struct chunk_fill *cf)
{
	if (cf == NULL)
		return;
	cf->abandoned = true;
	if (cf->inflight == 0)
		abandoned_end(d, cf);
}

/* Every piece of a received chunk is written or failed: marks it, or fails it. */
static void
chunk_fill_end(struct daemon *d, struct chunk_fill *cf)
{
	struct obj *o = cf->o;
	int rc = cf->err;
	char msg[256];

	if (rc == 0) {
		ms_crash_point("fill.written"); /* the bytes are in the file, the map does not say so */
		rc = ms_map_mark(&o->map, cf->chunk, cf->sum);
		if (rc == 0)
			ms_crash_point("fill.marked"); /* marked, its waiters not told yet */
	}
	/* Its bytes leave the reservation; cached only if marked. */
	account_reserved(d, o->mount_idx, -(int64_t)cf->len);
	if (rc == 0)
		evict_filled(d, o, cf->len);
	else if (!cf->served) /* a reader told of some bytes may be reading them: they stay */
		punch_chunk(cf); /* before the mtime is restored: a punched hole moves it */
	restore_mtime(o);
	if (rc == 0) {
		d->stats.fills++;
		d->stats.mounts[o->mount_idx].fills++;
		obj_chunk_done(d, o, cf->chunk, 0, NULL);
	} else {
		if (cf->err < 0)
			snprintf(msg, sizeof msg, "cache write failed for %s: %s", o->key,
			    strerror(-cf->err));
		else if (cf->err > 0) /* what a file system that fills up mid-write answers */
			snprintf(msg, sizeof msg, "cache write failed for %s: only %d bytes of a "
			    "piece written (is the cache's file system full?)", o->key, cf->short_res);
		else
			snprintf(msg, sizeof msg, "cache map update failed for %s: %s", o->key,
			    strerror(-rc));
		ms_error("%s", msg);
		obj_chunk_done(d, o, cf->chunk, -EIO, msg);
	}
	chunk_fill_free(d, cf);
}

void
write_reap_one(struct daemon *d, struct io_uring_cqe *cqe)
{
	struct piece *p = io_uring_cqe_get_data(cqe);
	struct chunk_fill *cf = p->cf;
	uint32_t start = p->idx == 0 ? 0 : cf->piece_end[p->idx - 1];
	uint32_t want = cf->piece_end[p->idx] - start;
	int res = cqe->res;

	io_uring_cqe_seen(&d->ring, cqe);
	d->writes_inflight--;
	cf->inflight--;
	cf->o->writes--;
	if (res == (int)want) {
		cf->written |= (uint64_t)1 << p->idx;
	} else if (cf->err == 0) {
		cf->err = res < 0 ? res : 1;
		cf->short_res = res;
	}
	free(p);
	if (cf->abandoned) {
		if (cf->inflight == 0)
			abandoned_end(d, cf);
		return;
	}
	/* Whole once its last piece is submitted (set after a full ring's reaps, never during). */
	if (cf->submitted == cf->len && cf->inflight == 0) {
		chunk_fill_end(d, cf);
		return;
	}
	if (cf->err == 0 && obj_range_written(d, cf->o, cf->chunk, written_prefix(cf)))
		cf->served = true;
}

void
fetch_reap_writes(struct daemon *d)
{
	struct io_uring_cqe *cqe;
	uint64_t v;

	if (read(d->ring_efd, &v, sizeof v) < 0 && errno != EAGAIN)
		ms_warn("reading the ring's eventfd: %s", strerror(errno));
	while (io_uring_peek_cqe(&d->ring, &cqe) == 0)
		write_reap_one(d, cqe);
}
