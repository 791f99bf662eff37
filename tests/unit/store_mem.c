/*
 * store_mem.c: the in-memory backend of store.h for unit tests (store_mem.h). An answer moves
 * only inside progress(), whole, in pieces of PIECE bytes, so that a test decides when bytes
 * arrive; a held answer (or its second half) waits for store_mem_release(). Never judges an answer: it sends what its
 * fault says and lets the state machine check it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "store_mem.h"

#define PIECE (64u * 1024)
#define MAX_OBJECTS 16
#define MAX_FAULTS 64
#define MAX_GETS 1024

struct mem_object {
	unsigned mount_idx;
	char key[256];
	const uint8_t *bytes;
	uint64_t size;
	char etag[64];
};

struct store_xfer {
	TAILQ_ENTRY(store_xfer) link;
	void *job;
	const struct mem_object *obj;
	unsigned get;      /* its index in the GET log */
	uint64_t off, len; /* the bytes it sends: [off, off + len) of the object */
	uint64_t sent;
	bool ranged;       /* asked with a Range header (len != 0) */
	bool headed, paused;
};
TAILQ_HEAD(xfer_list, store_xfer);

struct store_mem {
	struct store base;
	struct mem_object objs[MAX_OBJECTS];
	unsigned nobjs;
	enum store_mem_fault faults[MAX_FAULTS];
	unsigned nfaults, next_fault;
	struct store_mem_get gets[MAX_GETS];
	unsigned ngets;
	bool released;
	struct xfer_list running;
};

static struct store_mem *
mem(const struct store *s)
{
	return (struct store_mem *)(uintptr_t)s;
}

static const struct mem_object *
find(const struct store_mem *s, unsigned mount_idx, const char *key)
{
	unsigned i;

	for (i = 0; i < s->nobjs; i++)
		if (s->objs[i].mount_idx == mount_idx && strcmp(s->objs[i].key, key) == 0)
			return &s->objs[i];
	return NULL;
}

static int
mem_start(struct store *base, const struct store_get *g, void *job, struct store_xfer **out)
{
	struct store_mem *s = mem(base);
	struct store_mem_get *log;
	struct store_xfer *x;

	if (s->ngets == MAX_GETS)
		return -ENOSPC;
	x = calloc(1, sizeof *x);
	if (x == NULL)
		return -ENOMEM;
	log = &s->gets[s->ngets];
	log->mount_idx = g->mount_idx;
	snprintf(log->key, sizeof log->key, "%s", g->key);
	snprintf(log->etag, sizeof log->etag, "%s", g->etag);
	log->off = g->off;
	log->len = g->len;
	log->fault = s->next_fault < s->nfaults ? s->faults[s->next_fault++] : MEM_OK;
	x->job = job;
	x->get = s->ngets++;
	x->obj = find(s, g->mount_idx, g->key);
	x->off = g->off;
	x->len = g->len;
	x->ranged = g->len != 0;
	if (x->obj != NULL && (x->len == 0 || x->off + x->len > x->obj->size))
		x->len = x->obj->size > x->off ? x->obj->size - x->off : 0;
	TAILQ_INSERT_TAIL(&s->running, x, link);
	*out = x;
	return 0;
}

static void
mem_resume(struct store *base, struct store_xfer *x)
{
	(void)base;
	x->paused = false;
}

static void
mem_abort(struct store *base, struct store_xfer *x)
{
	TAILQ_REMOVE(&mem(base)->running, x, link);
	free(x);
}

static void
finish(struct store_mem *s, struct store_xfer *x, int err, const char *what)
{
	struct store_result r = { .err = err };

	snprintf(r.what, sizeof r.what, "%s", what);
	TAILQ_REMOVE(&s->running, x, link);
	s->base.ev->done(x->job, &r);
	free(x);
}

/* The head of a 2xx answer to X, as its fault makes it. */
static void
head_of(const struct store_xfer *x, enum store_mem_fault f, struct store_head *h)
{
	*h = (struct store_head){ .status = 206, .etag = x->obj->etag, .have_range = true,
	    .range_start = x->off, .range_total = x->obj->size };
	if (!x->ranged || f == MEM_WHOLE_OBJECT)
		*h = (struct store_head){ .status = 200, .etag = x->obj->etag };
	if (f == MEM_OTHER_ETAG)
		h->etag = "\"another-version\"";
	else if (f == MEM_NO_ETAG)
		h->etag = "";
	else if (f == MEM_WRONG_RANGE)
		h->range_start++;
	else if (f == MEM_WRONG_TOTAL)
		h->range_total++;
}

/* Sends what it can of X now; true if X is done (and freed). */
static bool
step(struct store_mem *s, struct store_xfer *x)
{
	enum store_mem_fault f = s->gets[x->get].fault;
	const struct store_events *ev = s->base.ev;
	struct store_head h;
	uint64_t whole, from, limit, stop;
	size_t n, taken;

	if (x->paused || (f == MEM_HOLD && !s->released))
		return false;
	switch (f) {
	case MEM_HTTP_503: finish(s, x, -EAGAIN, "HTTP 503 SlowDown"); return true;
	case MEM_HTTP_403: finish(s, x, -EACCES, "HTTP 403 AccessDenied"); return true;
	case MEM_HTTP_404: finish(s, x, -ENOENT, "HTTP 404 NoSuchKey"); return true;
	case MEM_HTTP_412: finish(s, x, -ESTALE, "HTTP 412 PreconditionFailed"); return true;
	default: break;
	}
	if (x->obj == NULL) {
		finish(s, x, -ENOENT, "HTTP 404 NoSuchKey");
		return true;
	}
	head_of(x, f, &h);
	whole = h.status == 200;
	from = whole ? 0 : x->off;
	limit = whole ? x->obj->size : x->len;
	if (f == MEM_SHORT_BODY)
		limit /= 2;
	if (!x->headed) {
		x->headed = true;
		if (ev->head(x->job, &h) < 0) {
			finish(s, x, -EIO, "");
			return true;
		}
	}
	stop = f == MEM_HOLD_HALF && !s->released ? limit / 2 : limit;
	while (x->sent < stop) {
		n = stop - x->sent < PIECE ? (size_t)(stop - x->sent) : PIECE;
		taken = ev->body(x->job, x->obj->bytes + from + x->sent, n);
		if (taken == STORE_BODY_PAUSE) {
			x->paused = true;
			return false;
		}
		x->sent += taken;
		if (taken < n) {
			finish(s, x, -EIO, "");
			return true;
		}
	}
	if (x->sent < limit)
		return false; /* the rest is held */
	if (f == MEM_SHORT_BODY)
		finish(s, x, -EAGAIN, "the server closed the connection");
	else
		finish(s, x, 0, "");
	return true;
}

static void
mem_progress(struct store *base)
{
	struct store_mem *s = mem(base);
	struct store_xfer *x, *tmp;

	TAILQ_FOREACH_SAFE(x, &s->running, link, tmp)
		step(s, x);
}

static bool
can_move(const struct store_mem *s)
{
	const struct store_xfer *x;

	TAILQ_FOREACH(x, &s->running, link)
		if (!x->paused && ((s->gets[x->get].fault != MEM_HOLD &&
		    s->gets[x->get].fault != MEM_HOLD_HALF) || s->released))
			return true;
	return false;
}

static void
mem_wait(struct store *base, struct pollfd *fds, unsigned nfds, int timeout_ms)
{
	if (poll(fds, nfds, can_move(mem(base)) ? 0 : timeout_ms) < 0)
		perror("store_mem: poll");
}

/* No tier: nothing of its own to report. */
static void
mem_status(struct store *base, struct ms_msg_status_reply *r)
{
	(void)base;
	r->ntier_nodes = 0;
}

static void
mem_free(struct store *base)
{
	struct store_mem *s = mem(base);
	struct store_xfer *x;

	while ((x = TAILQ_FIRST(&s->running)) != NULL)
		mem_abort(base, x);
	free(s);
}

static const struct store_ops mem_ops = {
	.name = "mem",
	.start = mem_start,
	.resume = mem_resume,
	.abort = mem_abort,
	.wait = mem_wait,
	.progress = mem_progress,
	.status = mem_status,
	.free = mem_free,
};

struct store *
store_mem_new(const struct store_events *ev)
{
	struct store_mem *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->base.ops = &mem_ops;
	s->base.ev = ev;
	TAILQ_INIT(&s->running);
	return &s->base;
}

void
store_mem_put(struct store *base, unsigned mount_idx, const char *key, const uint8_t *bytes,
    uint64_t size, const char *etag)
{
	struct store_mem *s = mem(base);
	struct mem_object *o = &s->objs[s->nobjs++];

	o->mount_idx = mount_idx;
	snprintf(o->key, sizeof o->key, "%s", key);
	snprintf(o->etag, sizeof o->etag, "%s", etag);
	o->bytes = bytes;
	o->size = size;
}

void
store_mem_fault_next(struct store *base, enum store_mem_fault fault)
{
	struct store_mem *s = mem(base);

	if (s->nfaults < MAX_FAULTS)
		s->faults[s->nfaults++] = fault;
}

void
store_mem_release(struct store *base)
{
	mem(base)->released = true;
}

unsigned
store_mem_gets(const struct store *base)
{
	return mem(base)->ngets;
}

const struct store_mem_get *
store_mem_get_at(const struct store *base, unsigned i)
{
	return i < mem(base)->ngets ? &mem(base)->gets[i] : NULL;
}

unsigned
store_mem_running(const struct store *base)
{
	const struct store_xfer *x;
	unsigned n = 0;

	TAILQ_FOREACH(x, &mem(base)->running, link)
		n++;
	return n;
}

unsigned
store_mem_paused(const struct store *base)
{
	const struct store_xfer *x;
	unsigned n = 0;

	TAILQ_FOREACH(x, &mem(base)->running, link)
		n += x->paused;
	return n;
}
