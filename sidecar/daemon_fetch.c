/*
 * daemon_fetch.c: the fetch state machine: fetching chunks from the object store (a backend,
 * store.h) into the cache. Owns the queues of GET jobs (demand before retries before prefetch,
 * a quarter of the connections kept for demand), admission against the quota, retries with
 * backoff, the node-wide bandwidth limit, the checks of every answer against the imported object,
 * and the io_uring that writes received chunks into the sparse data files (the writes and the
 * marks: daemon_write.c). Bytes reach a chunk only from an answer whose range, size and ETag
 * were checked against the imported object (invariant 7), whichever backend it came from. Never
 * talks to a server itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "store.h"

#define RING_DEPTH 64
/* The bandwidth limit's smallest burst: one receive buffer of the S3 backend. */
#define MIN_BURST_BYTES (128.0 * 1024)
/*
 * Body bytes a transfer may take per pass of the loop. curl hands a transfer everything its
 * socket holds in one perform: from a fast origin a whole 4 MiB chunk and the next, while the
 * written pieces wait to be reaped and their readers to be answered (a first 4 KiB came after
 * the whole GET, 25-30 ms, not after its first piece). Held past it, a transfer lets the loop
 * reap, answer and take requests, and goes on in the next pass.
 */
#define PASS_BYTES (1024u * 1024)
/*
 * While a program waits on some transfer, the others (readahead, prefetch, warm-up) take a
 * quarter of that per pass: the daemon's copies and writes go to what is waited on first.
 */
#define PASS_BYTES_BEHIND (PASS_BYTES / 4)

int
fetch_init(struct daemon *d)
{
	int rc;

	TAILQ_INIT(&d->demand_q);
	TAILQ_INIT(&d->prefetch_q);
	TAILQ_INIT(&d->retry_q);
	TAILQ_INIT(&d->active);
	d->cap_free_bufs = d->cfg.connections + 8;
	d->free_bufs = calloc(d->cap_free_bufs, sizeof *d->free_bufs);
	if (d->free_bufs == NULL)
		return -ENOMEM;
	rc = io_uring_queue_init(RING_DEPTH, &d->ring, 0);
	if (rc < 0)
		return rc;
	d->ring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->ring_efd < 0)
		return -errno;
	return io_uring_register_eventfd(&d->ring, d->ring_efd);
}

void
fetch_fini(struct daemon *d)
{
	if (d->ring_efd >= 0) {
		io_uring_queue_exit(&d->ring);
		close(d->ring_efd);
		d->ring_efd = -1;
	}
	if (d->store != NULL)
		d->store->ops->free(d->store);
	d->store = NULL;
	recv_bufs_free(d);
}

/*
 * The job queued last in Q, if it is O's, not started, ends at FIRST and may take chunks up to
 * END within MAX_CHUNKS: requests for neighbouring chunks that come one by one (a lazy-mmap
 * handler asks for each chunk of its run on its own) make one GET, not one each.
 */
static struct job *
joinable(struct daemon *d, struct job_list *q, struct obj *o, uint32_t first, uint32_t end,
    uint32_t max_chunks)
{
	struct job *j = TAILQ_LAST(q, job_list);

	if (j == NULL || j->o != o || j->end != first || j->xfer != NULL || j->warm_cl != NULL ||
	    j->attempt != 0 || end - j->first > max_chunks)
		return NULL;
	/* Through a tier, a job is one block: never two. */
	return obj_tier_block(d, o) == 0 ? j : NULL;
}

void
fetch_enqueue(struct daemon *d, struct obj *o, uint32_t first, uint32_t end, bool demand,
    uint32_t max_chunks)
{
	struct job_list *q = demand ? &d->demand_q : &d->prefetch_q;
	struct job *j;
	uint32_t i;

	if ((j = joinable(d, q, o, first, end, max_chunks)) != NULL) {
		for (i = first; i < end; i++)
			o->state[i] = MS_CHUNK_INFLIGHT;
		j->end = end;
		d->stats.inflight += end - first;
		return;
	}
	j = calloc(1, sizeof *j);
	if (j == NULL) {
		for (i = first; i < end; i++)
			obj_chunk_done(d, o, i, -ENOMEM, "out of memory");
		return;
	}
	for (i = first; i < end; i++)
		o->state[i] = MS_CHUNK_INFLIGHT;
	j->d = d;
	j->o = o;
	j->first = j->next = first;
	j->end = end;
	j->demand = demand;
	o->refs++;
	d->stats.inflight += end - first;
	TAILQ_INSERT_TAIL(q, j, link);
}

void
fetch_enqueue_tier_warm(struct daemon *d, struct obj *o, uint32_t first, struct client *cl,
    uint64_t id)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL) {
		client_reply_done(d, cl, id, -ENOMEM, "out of memory");
		return;
	}
	j->d = d;
	j->o = o;
	j->first = j->next = j->end = first; /* no chunk: the block's bytes are not kept */
	j->warm_cl = cl;
	j->warm_id = id;
	client_ref(cl);
	o->refs++;
	TAILQ_INSERT_TAIL(&d->prefetch_q, j, link);
}

/* Fails chunks [next, end) of J with STATUS (a warm-up's client gets it) and frees J. */
static void
job_end(struct daemon *d, struct job *j, int status, const char *msg)
{
	struct obj *o = j->o;
	uint32_t i;

	chunk_fill_abandon(d, j->cf); /* first: a chunk it cannot finish is not present */
	j->cf = NULL;
	for (i = j->next; i < j->end; i++)
		obj_chunk_done(d, o, i, status, msg);
	d->stats.inflight -= j->end - j->next;
	account_reserved(d, o->mount_idx, -(int64_t)j->reserved);
	if (j->xfer != NULL)
		d->store->ops->abort(d->store, j->xfer);
	if (j->warm_cl != NULL) {
		client_reply_done(d, j->warm_cl, j->warm_id, status, msg);
		client_unref(d, j->warm_cl);
	}
	free(j);
	obj_unref(d, o);
}

/*
 * The head of a 200/206 answer, checked against what was asked before any byte of it is taken:
 * 0, -EBADMSG (no ETag), -ESTALE (another version), -EPROTO (another range).
 */
static int
check_head(const struct job *j, const struct store_head *sh)
{
	const struct ms_map_header *h = &j->o->map.hdr;
	uint64_t off = j->req_off;

	/* S3 always names the version it sends: without an ETag the bytes cannot be trusted. */
	if (sh->etag[0] == '\0')
		return -EBADMSG;
	if (strcmp(sh->etag, h->etag) != 0)
		return -ESTALE;
	if (sh->status == 206) {
		if (!sh->have_range || sh->range_start != off)
			return -EPROTO;
		if (sh->range_total != h->size)
			return -ESTALE;
		return 0;
	}
	/* A 200 carries the whole object: usable only from its start. */
	return sh->status == 200 && off == 0 ? 0 : -EPROTO;
}

static int
on_head(void *arg, const struct store_head *sh)
{
	struct job *j = arg;

	j->fail_status = check_head(j, sh);
	return j->fail_status;
}

static size_t
on_body(void *arg, const uint8_t *ptr, size_t n)
{
	struct job *j = arg;
	struct daemon *d = j->d;
	const struct ms_map_header *h = &j->o->map.hdr;
	size_t done = 0;

	/* Its share of this pass is taken: the rest waits for the next (the backend keeps it). */
	if (j->pass_bytes >= (d->pass_awaited && !j->awaited ? PASS_BYTES_BEHIND : PASS_BYTES)) {
		if (!j->held) {
			j->held = true;
			d->nheld++;
		}
		return STORE_BODY_PAUSE;
	}
	/* The node-wide bandwidth limit: no tokens, the transfer waits (the backend keeps the data). */
	if (d->cfg.max_bandwidth > 0 && d->bw_tokens < (double)n) {
		if (!j->paused) {
			j->paused = true;
			d->npaused++;
		}
		return STORE_BODY_PAUSE;
	}
	if (d->cfg.max_bandwidth > 0)
		d->bw_tokens -= (double)n;
	j->pass_bytes += (uint32_t)n;
	d->stats.bytes_fetched += n;
	d->stats.mounts[j->o->mount_idx].bytes_fetched += n;
	if (j->warm_cl != NULL) {
		/* A warm-up into the tier: its bytes are counted, not kept; never past its block. */
		j->pos += n;
		if (j->pos <= j->req_end)
			return n;
		j->fail_status = -EPROTO;
		return 0;
	}
	/* A tier block starts before the job's first absent chunk: what precedes it is not taken. */
	if (j->pos < (uint64_t)j->next * h->chunk_size) {
		uint64_t skip = (uint64_t)j->next * h->chunk_size - j->pos;

		done = skip < n ? (size_t)skip : n;
		j->pos += done;
	}
	while (done < n && j->next < j->end) {
		uint32_t clen = ms_map_chunk_len(h, j->next), room;
		size_t take;

		if (j->cf == NULL && (j->cf = chunk_fill_new(d, j->o, j->next, j->cf_served)) == NULL) {
			j->fail_status = -ENOMEM;
			return 0;
		}
		room = chunk_fill_room(j->cf);
		take = n - done < room ? n - done : room;
		if (chunk_fill_take(d, j->cf, ptr + done, (uint32_t)take) < 0) {
			j->fail_status = -ENOMEM;
			return 0;
		}
		j->received += take;
		j->pos += take;
		done += take;
		if (take < room)
			continue;
		j->cf = NULL; /* its writes end it */
		j->cf_served = false;
		j->next++;
		d->stats.inflight--;
		/*
		 * The chunk's reservation goes with its writes: its bytes count as cached once they
		 * are marked (daemon_write.c), as a scan of the maps counts them.
		 */
		j->reserved -= clen;
	}
	/*
	 * Bytes past the last chunk asked for: a tier block is read to its end (the tier caches a
	 * block only when it was sent whole); any other transfer (a 200 for the whole object) stops.
	 */
	return j->next == j->end && j->pos < j->req_end ? n : done;
}

static int
job_start(struct daemon *d, struct job *j)
{
	const struct ms_map_header *h = &j->o->map.hdr;
	uint64_t off = (uint64_t)j->next * h->chunk_size;
	uint64_t end = (uint64_t)j->end * h->chunk_size;
	uint64_t block = obj_tier_block(d, j->o);
	struct store_get g;
	uint64_t len;
	int rc;

	if (end > h->size)
		end = h->size;
	/*
	 * Through a tier, the request is the whole aligned block the job lies in (obj_fetch_range
	 * plans no job across a block's edge): every node asks for the same bytes, so the tier
	 * holds one entry per block. Otherwise the job's own bytes.
	 */
	j->req_off = off;
	j->req_end = end;
	if (block != 0) {
		j->req_off = off - off % block;
		j->req_end = j->req_off + block < h->size ? j->req_off + block : h->size;
		if (end > j->req_end)
			j->req_end = end;
	}
	j->pos = j->req_off;
	/* Its bytes must fit in the cache first: past the high watermark, this evicts. */
	rc = evict_admit(d, j->o->mount_idx, end - off);
	if (rc < 0)
		return rc;
	j->reserved = end - off;
	account_reserved(d, j->o->mount_idx, (int64_t)j->reserved);
	/* The whole object is asked for without a Range header (never through a tier). */
	len = j->req_off == 0 && j->req_end == h->size && block == 0 ? 0 : j->req_end - j->req_off;
	g = (struct store_get){ .mount_idx = j->o->mount_idx, .key = j->o->key, .off = j->req_off,
	    .len = len, .etag = h->etag, .size = h->size, .attempt = j->attempt,
	    .tier_only = j->warm_cl != NULL };
	rc = d->store->ops->start(d->store, &g, j, &j->xfer);
	if (rc < 0)
		return rc;
	d->stats.gets++;
	return 0;
}

static unsigned
low_reserve(const struct daemon *d)
{
	unsigned r = d->cfg.connections / 4;

	return d->cfg.connections <= 1 ? 0 : r == 0 ? 1 : r;
}

static struct job *
next_due(struct daemon *d)
{
	uint64_t now = ms_now_ms();
	struct job *j;

	if ((j = TAILQ_FIRST(&d->demand_q)) != NULL) {
		TAILQ_REMOVE(&d->demand_q, j, link);
		return j;
	}
	TAILQ_FOREACH(j, &d->retry_q, link) {
		if (j->not_before_ms <= now) {
			TAILQ_REMOVE(&d->retry_q, j, link);
			return j;
		}
	}
	/* Prefetch and warm-up leave a quarter of the connections to demand fills. */
	if (d->nactive_low >= d->cfg.connections - low_reserve(d))
		return NULL;
	if ((j = TAILQ_FIRST(&d->prefetch_q)) != NULL)
		TAILQ_REMOVE(&d->prefetch_q, j, link);
	return j;
}

void
fetch_start_due(struct daemon *d)
{
	struct statvfs sv;
	struct job *j;
	char msg[256];
	int rc;

	while (d->nactive < d->cfg.connections && (j = next_due(d)) != NULL) {
		rc = job_start(d, j);
		if (rc == -ENOSPC && (d->nactive > 0 || d->writes_inflight > 0)) {
			/*
			 * No room now, but fills in flight will end and make room (what they fill
			 * becomes evictable): the job waits at the head of its queue.
			 */
			TAILQ_INSERT_HEAD(j->attempt > 0 ? &d->retry_q : j->demand ? &d->demand_q :
			    &d->prefetch_q, j, link);
			break;
		}
		if (rc < 0) {
			if (rc == -ENOSPC)
				snprintf(msg, sizeof msg, "cache full: quota %llu bytes, %llu cached, %llu "
				    "free on its file system (min_free %u%%), and nothing left that may be "
				    "evicted (all in use)", (unsigned long long)d->cfg.cache_size,
				    (unsigned long long)d->cached, statvfs(d->cfg.cache_dir, &sv) == 0 ?
				    (unsigned long long)sv.f_bavail * sv.f_frsize : 0ULL, d->cfg.min_free_pct);
			else if (rc == -EHOSTDOWN)
				snprintf(msg, sizeof msg, "warming %s [bytes %llu-%llu] into the tier: no "
				    "tier node left to ask (each failed or is marked down); a warm-up never "
				    "reads the origin instead", j->o->key, (unsigned long long)j->req_off,
				    (unsigned long long)j->req_end - 1);
			else
				snprintf(msg, sizeof msg, "cannot start a GET: %s", strerror(-rc));
			ms_error("%s", msg);
			job_end(d, j, rc, msg);
			continue;
		}
		TAILQ_INSERT_TAIL(&d->active, j, link);
		d->nactive++;
		if (!j->demand)
			d->nactive_low++;
	}
}

/* "fetching KEY [chunks A-B]: why", from the state machine's own refusal or the backend's words. */
static void
describe_failure(const struct job *j, const struct store_result *r, char *out, size_t outlen)
{
	const char *what = r->what[0] != '\0' ? r->what : "short body";

	if (j->fail_status == -ESTALE)
		what = "the object changed in the store since import (ETag or size differ): run "
		    "'modelshim import'";
	else if (j->fail_status == -EPROTO)
		what = "the server answered with a range that was not asked for";
	else if (j->fail_status == -EBADMSG)
		what = "the server's answer has no ETag: its version cannot be checked against the "
		    "imported one";
	else if (j->fail_status == -ENOMEM)
		what = "out of memory";
	if (j->warm_cl != NULL)
		snprintf(out, outlen, "warming %s [bytes %llu-%llu] into the tier: %s", j->o->key,
		    (unsigned long long)j->req_off, (unsigned long long)j->req_end - 1, what);
	else
		snprintf(out, outlen, "fetching %s [chunks %u-%u]: %s", j->o->key, j->next, j->end - 1,
		    what);
}

/* The errno a failed job ends with: -EAGAIN (transient) to retry, or its final one. */
static int
failure_errno(const struct job *j, const struct store_result *r)
{
	switch (j->fail_status) {
	case 0: return r->err == 0 ? -EAGAIN : r->err; /* a body that ended short: transient */
	case -ENOMEM: case -EPROTO: return -EAGAIN;
	case -ESTALE: return -ESTALE;
	default: return -EIO;
	}
}

static void
on_done(void *arg, const struct store_result *r)
{
	struct job *j = arg;
	struct daemon *d = j->d;
	char msg[512];
	int err;

	j->xfer = NULL; /* the backend frees it once this returns */
	TAILQ_REMOVE(&d->active, j, link);
	d->nactive--;
	if (!j->demand)
		d->nactive_low--;
	if (j->paused) {
		j->paused = false;
		d->npaused--;
	}
	if (j->held) {
		j->held = false;
		d->nheld--;
	}

	if (j->next == j->end && (j->warm_cl == NULL || j->pos == j->req_end)) {
		/*
		 * Every chunk asked for arrived (a transfer we stopped early is fine too); a warm-up
		 * into the tier: the whole block.
		 */
		job_end(d, j, 0, NULL);
		return;
	}
	err = failure_errno(j, r);
	describe_failure(j, r, msg, sizeof msg);
	if (err == -EAGAIN && j->attempt + 1 < d->cfg.retries && !d->stopping) {
		ms_warn("%s: retrying (attempt %u)", msg, j->attempt + 2);
		j->attempt++;
		d->stats.retries++;
		account_reserved(d, j->o->mount_idx, -(int64_t)j->reserved); /* taken again on restart */
		j->reserved = 0;
		j->not_before_ms = ms_now_ms() + ms_backoff_ms(j->attempt);
		if (j->cf != NULL) { /* the chunk is received again from its start */
			j->cf_served = chunk_fill_served(j->cf);
			chunk_fill_abandon(d, j->cf);
			j->cf = NULL;
		}
		j->fail_status = 0;
		TAILQ_INSERT_TAIL(&d->retry_q, j, link);
		return;
	}
	if (err == -EAGAIN && j->attempt > 0) /* transient, but it did not pass */
		snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (gave up after %u attempts)",
		    j->attempt + 1);
	ms_error("%s", msg);
	d->stats.mounts[j->o->mount_idx].errors++;
	job_end(d, j, err == -EAGAIN ? -EIO : err, msg);
}

const struct store_events fetch_events = {
	.head = on_head,
	.body = on_body,
	.done = on_done,
};

void
fetch_pace(struct daemon *d)
{
	double rate = (double)d->cfg.max_bandwidth, burst;
	uint64_t now = ms_now_ms();
	struct job *j;

	if (rate <= 0)
		return;
	/* A quarter second of burst, at least one receive buffer's worth. */
	burst = rate / 4 > MIN_BURST_BYTES ? rate / 4 : MIN_BURST_BYTES;
	if (d->bw_last_ms != 0)
		d->bw_tokens += rate * (double)(now - d->bw_last_ms) / 1000.0;
	if (d->bw_tokens > burst)
		d->bw_tokens = burst;
	d->bw_last_ms = now;
	if (d->npaused == 0 || d->bw_tokens <= 0)
		return;
	TAILQ_FOREACH(j, &d->active, link) {
		if (!j->paused)
			continue;
		j->paused = false;
		d->npaused--;
		d->store->ops->resume(d->store, j->xfer); /* may pause it again at once */
	}
}

/* Whether a program waits on a chunk J has still to receive (a demand waiter of its object). */
static bool
job_awaited(const struct job *j)
{
	const struct waiter *w;

	TAILQ_FOREACH(w, &j->o->waiters, link)
		if (w->demand && w->first < j->end && w->end > j->next)
			return true;
	return false;
}

void
fetch_next_pass(struct daemon *d)
{
	struct job *j, *tmp;

	d->pass_awaited = false;
	TAILQ_FOREACH(j, &d->active, link) {
		j->pass_bytes = 0;
		j->awaited = job_awaited(j);
		d->pass_awaited = d->pass_awaited || j->awaited;
	}
	if (d->nheld == 0)
		return;
	TAILQ_FOREACH_SAFE(j, &d->active, link, tmp) {
		if (!j->held)
			continue;
		j->held = false;
		d->nheld--;
		d->store->ops->resume(d->store, j->xfer); /* may end it, or hold it again at once */
	}
}

int
fetch_next_timeout_ms(struct daemon *d)
{
	uint64_t now = ms_now_ms(), best = now + (d->npaused > 0 ? 10 : 1000);
	struct job *j;

	if (d->nheld > 0) /* their bytes are in curl already: no socket will say so */
		return 0;
	TAILQ_FOREACH(j, &d->retry_q, link)
		if (j->not_before_ms < best)
			best = j->not_before_ms;
	return best <= now ? 0 : (int)(best - now);
}

void
fetch_cancel_all(struct daemon *d)
{
	struct job_list *queues[] = { &d->demand_q, &d->retry_q, &d->prefetch_q, &d->active };
	struct io_uring_cqe *cqe;
	struct job *j;
	size_t q;

	for (q = 0; q < sizeof queues / sizeof queues[0]; q++) {
		while ((j = TAILQ_FIRST(queues[q])) != NULL) {
			TAILQ_REMOVE(queues[q], j, link);
			if (queues[q] == &d->active) {
				d->nactive--;
				if (!j->demand)
					d->nactive_low--;
				if (j->paused)
					d->npaused--;
				if (j->held)
					d->nheld--;
			}
			job_end(d, j, -ESHUTDOWN, "the modelshim daemon is stopping");
		}
	}
	while (d->writes_inflight > 0 && io_uring_wait_cqe(&d->ring, &cqe) == 0)
		write_reap_one(d, cqe);
}

/* A demand fill for chunks a queued prefetch or warm-up job holds: that job goes first now. */
void
fetch_promote(struct daemon *d, struct obj *o, uint32_t first, uint32_t end)
{
	struct job *j, *tmp;

	TAILQ_FOREACH_SAFE(j, &d->prefetch_q, link, tmp) {
		if (j->o != o || j->end <= first || j->first >= end || j->warm_cl != NULL)
			continue;
		TAILQ_REMOVE(&d->prefetch_q, j, link);
		j->demand = true;
		TAILQ_INSERT_HEAD(&d->demand_q, j, link);
	}
}
