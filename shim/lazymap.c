/*
 * lazymap.c: the lazy mappings of incomplete files: one region per mmap, the state of each of
 * its chunks, and the only code that maps a cache file's chunk over a region's placeholder. Each
 * page of a region is mapped over at most once (a chunk whole, or the piece a fault waits on and
 * then the rest of its chunk; then never touched again), so copy-on-write pages of a MAP_PRIVATE
 * mapping are never replaced, and a chunk that cannot be filled gets a mapping that raises
 * SIGBUS, never a zero page. The handler thread (uffd.c) and the program's threads (the
 * wrappers of mmap.c, fork) meet under one lock, never held across a daemon round trip nor while
 * touching lazy memory. Never writes to the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "file.h"
#include "lazymap.h"
#include "shim.h"

#define MAX_REGIONS 256
#define READAHEAD_MAX_CHUNKS 16
/*
 * The readahead window of a forward run of faults is the run's length so far divided by this
 * (at most READAHEAD_MAX_CHUNKS): chunks asked for past a run's end are then at most a tenth of
 * the run (an expert's weights touched and left), while a long walk still grows its window
 * geometrically, by a tenth of what it walked.
 */
#define READAHEAD_DIVISOR 10
/*
 * A fault's own piece: the daemon writes a chunk in aligned 2 MiB pieces and answers a range as
 * soon as its bytes are written (MS_FILL_RANGE). In a MAP_SHARED region a fault asks for its
 * chunk and for the piece it lies in, maps that piece once it is written and the rest of the
 * chunk once the chunk is complete: the program goes on after one piece's receive and write,
 * not the whole chunk's (a cold 4 MiB chunk's two writes into new page cache took ~13 ms on the
 * bench VM, its GET 5 ms). MAP_SHARED only: there the parts merge into one VMA again (a shared
 * mapping has no anonymous pages); at most AHEAD_MAX chunks of a region are split at once, each
 * into at most 3 VMAs, so a region reserves 2 * AHEAD_MAX VMAs more.
 */
#define PIECE_BYTES (2u * 1024 * 1024)
#define AHEAD_MAX 4
#define AHEAD_MAPPED 0x8000u

enum chunk_state { CH_UNFILLED, CH_FILLING, CH_MAPPED, CH_FAILED, CH_GONE };

struct region {
	bool used;            /* the slot is taken (ADDR NULL while the mapping is being made) */
	bool done;            /* no chunk left to fill: let go by the next program call (reap) */
	unsigned gen;         /* bumped whenever the slot is let go: fills of an old region are dropped */
	char *addr;
	size_t len;           /* page-rounded */
	uint64_t off;
	int prot, type;       /* type: MAP_SHARED or MAP_PRIVATE */
	struct shim_file *f;  /* a held reference */
	int fd;               /* our dup of the program's fd: keeps its open file (and flock pin) */
	uint32_t first, n;    /* the region covers file chunks [first, first + n) */
	uint8_t *state;       /* enum chunk_state, per chunk */
	uint16_t *ahead;      /* per chunk: 1 + its piece asked ahead of it, | AHEAD_MAPPED once mapped
	                       * (NULL where no piece is mapped ahead: pieces_ahead) */
	uint32_t nahead;      /* chunks with a piece asked ahead, not closed yet (<= AHEAD_MAX) */
	uint32_t open;        /* chunks still UNFILLED or FILLING */
	uint32_t vmas;        /* VMAs reserved for it (worst case: every other chunk mapped, plus
	                       * the chunks split by a piece mapped ahead) */
	int64_t last;         /* readahead: the chunk of the last fault, */
	uint32_t run;         /* the first chunk of the forward run it belongs to, */
	uint32_t ra_end;      /* and the end of the chunks asked for in that run */
};

static struct region regions[MAX_REGIONS];
static atomic_uint nused;
static uint32_t vma_budget, vmas_reserved;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The lock, with this thread's signals blocked (a handler calling munmap must not deadlock). */
static void
lock_regions(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&lock);
}

static void
unlock_regions(const sigset_t *old)
{
	pthread_mutex_unlock(&lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

bool
shim_lazy_any(void)
{
	return atomic_load_explicit(&nused, memory_order_relaxed) != 0;
}

static size_t
page_size(void)
{
	static size_t page;

	if (page == 0)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

/* Half of vm.max_map_count: the most VMAs lazy regions may ever split into, together. */
static uint32_t
read_vma_budget(void)
{
	char buf[32] = "";
	long max = 65530;
	int fd = REAL(openat)(AT_FDCWD, "/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (REAL(read)(fd, buf, sizeof buf - 1) > 0)
			max = strtol(buf, NULL, 10);
		REAL(close)(fd);
	}
	return max > 2 ? (uint32_t)(max / 2) : 1;
}

/* The addresses and file offset of chunk J of R (clipped to the region). */
static void
chunk_span(const struct region *r, uint32_t j, char **addr, size_t *len, uint64_t *foff)
{
	uint64_t cs = r->f->chunk_size, lo = (uint64_t)(r->first + j) * cs, hi = lo + cs;

	if (lo < r->off)
		lo = r->off;
	if (hi > r->off + r->len)
		hi = r->off + r->len;
	*addr = r->addr + (lo - r->off);
	*len = (size_t)(hi - lo);
	*foff = lo;
}

static bool
chunk_present(const struct region *r, uint32_t j)
{
	uint32_t c = r->first + j;

	return c >= r->f->nchunks || shim_file_has(r->f, c, c + 1);
}

/*
 * R's fd, checked to be its file still: the program may have closed it (closefrom) and reused
 * the number. Then the tree file is opened again, if the path still names the same file.
 */
static bool
region_fd(struct region *r)
{
	char path[MS_OBJECT_PATH_MAX];
	struct stat st;
	int fd;

	if (REAL(fstat)(r->fd, &st) == 0 && st.st_dev == r->f->dev && st.st_ino == r->f->ino)
		return true;
	if (ms_cache_object_path(&shim.cfg, &shim.cfg.mounts[r->f->mount], MS_AREA_TREE, r->f->key,
	    path, sizeof path) < 0)
		return false;
	fd = REAL(openat)(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (REAL(fstat)(fd, &st) < 0 || st.st_dev != r->f->dev || st.st_ino != r->f->ino) {
		REAL(close)(fd);
		return false;
	}
	r->fd = fd; /* the old number is the program's now: never closed by us */
	return true;
}

/* The addresses and file offset of piece PIECE of chunk J of R (clipped): false if empty. */
static bool
piece_span(const struct region *r, uint32_t j, unsigned piece, char **addr, size_t *len,
    uint64_t *foff)
{
	uint64_t cs = r->f->chunk_size, c0 = (uint64_t)(r->first + j) * cs;
	uint64_t lo = c0 + (uint64_t)piece * PIECE_BYTES, hi = lo + PIECE_BYTES;

	if (hi > c0 + cs)
		hi = c0 + cs;
	if (lo < r->off)
		lo = r->off;
	if (hi > r->off + r->len)
		hi = r->off + r->len;
	if (hi <= lo)
		return false;
	*addr = r->addr + (lo - r->off);
	*len = (size_t)(hi - lo);
	*foff = lo;
	return true;
}

/* Chunk J's piece asked ahead of it: 1 + the piece, | AHEAD_MAPPED once mapped; 0 if none. */
static uint16_t
ahead_of(const struct region *r, uint32_t j)
{
	return r->ahead != NULL ? r->ahead[j] : 0;
}

/* Chunk J of R is filled no more; with none left the region is done (never a lazy one again). */
static void
chunk_closed(struct region *r, uint32_t j)
{
	if (ahead_of(r, j) != 0) {
		r->ahead[j] = 0;
		r->nahead--;
	}
	if (--r->open == 0)
		r->done = true;
}

/* A region the handler and the wrappers still act on. */
static bool
live(const struct region *r)
{
	return r->used && r->addr != NULL && !r->done;
}

/*
 * Maps [A, A + LEN) of R over its placeholder (under the lock): the cache file from FOFF when
 * PRESENT, else a mapping that raises SIGBUS. True if the file was mapped (or LEN is 0).
 */
static bool
map_span(struct region *r, char *a, size_t len, uint64_t foff, bool present)
{
	void *p = MAP_FAILED;

	if (len == 0)
		return true;
	if (present && region_fd(r))
		p = REAL(mmap)(a, len, r->prot, r->type | MAP_FIXED, r->fd, (off_t)foff);
	if (p != MAP_FAILED)
		return true;
	p = REAL(mmap)(a, len, r->prot, MAP_SHARED | MAP_FIXED, shim_uffd_sigbus_fd(), 0);
	/* Not even that (out of VMAs): an access faults with SIGSEGV, still never zeros. */
	if (p == MAP_FAILED)
		REAL(mprotect)(a, len, PROT_NONE);
	return false;
}

/*
 * Maps chunk J of R (under the lock, J UNFILLED or FILLING): the cache file's chunk when PRESENT,
 * else a mapping that raises SIGBUS; around its piece mapped ahead, if any. Then wakes the
 * threads waiting on it.
 */
static void
map_chunk(struct region *r, uint32_t j, bool present)
{
	uint64_t foff, pfoff;
	size_t len, plen, before;
	char *a, *pa;
	bool ok, ok_after;

	chunk_span(r, j, &a, &len, &foff);
	if ((ahead_of(r, j) & AHEAD_MAPPED) != 0 &&
	    piece_span(r, j, (ahead_of(r, j) & ~AHEAD_MAPPED) - 1u, &pa, &plen, &pfoff)) {
		before = (size_t)(pa - a);
		ok = map_span(r, a, before, foff, present);
		ok_after = map_span(r, pa + plen, len - before - plen, pfoff + plen, present);
		ok = ok && ok_after;
	} else {
		ok = map_span(r, a, len, foff, present);
	}
	r->state[j] = ok ? CH_MAPPED : CH_FAILED;
	chunk_closed(r, j);
	shim_uffd_wake(a, len);
}

/*
 * Maps piece PIECE of chunk J of R (under the lock, J FILLING), written in the cache file, and
 * wakes the threads waiting on it. Not mapped, it is mapped with the rest of its chunk.
 */
static void
map_piece(struct region *r, uint32_t j, unsigned piece)
{
	uint64_t foff;
	size_t len;
	char *a;

	if (r->ahead[j] != piece + 1 || !piece_span(r, j, piece, &a, &len, &foff) || !region_fd(r))
		return;
	if (REAL(mmap)(a, len, r->prot, r->type | MAP_FIXED, r->fd, (off_t)foff) == MAP_FAILED)
		return;
	r->ahead[j] |= AHEAD_MAPPED;
	shim_uffd_wake(a, len);
}

static struct region *
find_locked(uintptr_t addr)
{
	unsigned i;

	for (i = 0; i < MAX_REGIONS; i++) {
		struct region *r = &regions[i];

		if (live(r) && addr >= (uintptr_t)r->addr &&
		    addr < (uintptr_t)r->addr + r->len)
			return r;
	}
	return NULL;
}

static uint32_t
chunk_of(const struct region *r, uintptr_t addr)
{
	return (uint32_t)((r->off + (addr - (uintptr_t)r->addr)) / r->f->chunk_size) - r->first;
}

/* What a let-go region leaves to release outside the lock. */
struct released {
	struct shim_file *f;
	uint8_t *state;
	uint16_t *ahead;
	int fd;
};

/* Lets slot R go (under the lock); its resources into *OUT. */
static void
release_locked(struct region *r, struct released *out)
{
	out->f = r->f;
	out->state = r->state;
	out->ahead = r->ahead;
	out->fd = r->fd;
	vmas_reserved -= r->vmas;
	r->gen++;
	r->used = false;
	r->done = false;
	r->addr = NULL;
	r->f = NULL;
	r->state = NULL;
	r->ahead = NULL;
	r->nahead = 0;
	r->fd = -1;
	atomic_fetch_sub(&nused, 1);
}

static void
release_finish(struct released *rel)
{
	struct stat st;

	if (rel->fd >= 0 && rel->f != NULL && REAL(fstat)(rel->fd, &st) == 0 &&
	    st.st_dev == rel->f->dev && st.st_ino == rel->f->ino)
		REAL(close)(rel->fd);
	free(rel->state);
	free(rel->ahead);
	shim_file_put(rel->f);
}

/* Takes a free slot with room for VMAS more VMAs: its index, or -1. */
/* Lets the done regions go (from a program's thread: the handler never frees). */
static void
reap(void)
{
	struct released rel[MAX_REGIONS];
	unsigned i, nrel = 0;
	sigset_t old;

	lock_regions(&old);
	for (i = 0; i < MAX_REGIONS; i++)
		if (regions[i].used && regions[i].done)
			release_locked(&regions[i], &rel[nrel++]);
	unlock_regions(&old);
	for (i = 0; i < nrel; i++)
		release_finish(&rel[i]);
}

static int
claim_slot(uint32_t vmas)
{
	sigset_t old;
	int i, got = -1;

	reap();
	lock_regions(&old);
	if (vma_budget == 0)
		vma_budget = read_vma_budget();
	if (vmas_reserved + vmas <= vma_budget) {
		for (i = 0; i < MAX_REGIONS && got < 0; i++) {
			if (!regions[i].used) {
				got = i;
				regions[i].used = true;
				regions[i].addr = NULL;
				regions[i].vmas = vmas;
				regions[i].fd = -1;
				vmas_reserved += vmas;
				atomic_fetch_add(&nused, 1);
			}
		}
	}
	unlock_regions(&old);
	return got;
}

static void
unclaim_slot(int slot)
{
	struct released rel;
	sigset_t old;

	lock_regions(&old);
	release_locked(&regions[slot], &rel);
	unlock_regions(&old);
	release_finish(&rel);
}

/* Whether a region of TYPE over chunks of CS bytes maps a fault's piece ahead of its chunk. */
static bool
pieces_ahead(int type, uint64_t cs)
{
	return type == MAP_SHARED && cs > PIECE_BYTES;
}

/*
 * Whether a mapping of F can be lazy: MAP_SHARED read-only, or MAP_PRIVATE read-only or
 * read-write, without MAP_POPULATE, MAP_LOCKED or other flags, of a page-aligned range that
 * starts inside the file and is not present already.
 */
static bool
can_be_lazy(size_t len, int prot, int flags, off_t off, const struct shim_file *f)
{
	int type = flags & MAP_TYPE, extra = flags & ~MAP_TYPE;

	/* A vfork child shares its parent's memory and shim state: it changes neither. */
	if (shim_in_vfork_child() || f->is_dir || len == 0 || off < 0 ||
	    (uint64_t)off % page_size() != 0 ||
	    (uint64_t)off >= f->size || f->chunk_size == 0)
		return false;
	if ((type != MAP_SHARED && type != MAP_PRIVATE) ||
	    (extra & ~(MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_NORESERVE)) != 0)
		return false;
	if (prot != PROT_READ && !(type == MAP_PRIVATE && prot == (PROT_READ | PROT_WRITE)))
		return false;
	return true;
}

int
shim_lazy_map(void **out, void *addr, size_t len, int prot, int flags, int fd, off_t off,
    struct shim_file *f)
{
	size_t plen = (len + page_size() - 1) & ~(page_size() - 1);
	uint64_t cs = f->chunk_size;
	uint32_t first, end, n;
	struct region *r;
	char err[512];
	sigset_t old;
	int slot, dfd, saved;
	void *p;

	if (!can_be_lazy(len, prot, flags, off, f))
		return 0;
	first = (uint32_t)((uint64_t)off / cs);
	end = (uint32_t)(((uint64_t)off + len - 1) / cs + 1);
	if (shim_file_has(f, first, end < f->nchunks ? end : f->nchunks))
		return 0;
	n = (uint32_t)(((uint64_t)off + plen - 1) / cs + 1) - first;
	if (!shim_uffd_start() ||
	    (slot = claim_slot(n + 2 + (pieces_ahead(flags & MAP_TYPE, cs) ? 2 * AHEAD_MAX : 0))) < 0)
		return 0;
	/*
	 * A fill past the end of the object, which the daemon answers at once without fetching: it
	 * starts the daemon if none runs, and if none can serve, the mapping is not lazy (the
	 * whole-range fill then fails with EIO at mmap, as for any miss without a daemon).
	 */
	if (shim_conn_fill(f->mount, f->key, f->size, 1, (uint64_t)f->ino, 0, NULL, NULL, err,
	    sizeof err) < 0) {
		unclaim_slot(slot);
		return 0;
	}
	r = &regions[slot];
	r->state = calloc(n, 1);
	if (pieces_ahead(flags & MAP_TYPE, cs))
		r->ahead = calloc(n, sizeof *r->ahead);
	dfd = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 0);
	if (r->state == NULL || (pieces_ahead(flags & MAP_TYPE, cs) && r->ahead == NULL) || dfd < 0) {
		if (dfd >= 0)
			REAL(close)(dfd);
		unclaim_slot(slot);
		return 0;
	}
	/*
	 * The placeholder: anonymous, inaccessible until registered, so that nothing (mlockall's
	 * MCL_FUTURE population, another thread) can see one of its zero pages before faults on it
	 * reach the handler.
	 */
	p = REAL(mmap)(addr, plen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
	    (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)), -1, 0);
	if (p == MAP_FAILED) {
		saved = errno;
		REAL(close)(dfd);
		unclaim_slot(slot);
		errno = saved;
		return -1;
	}
	if (shim_uffd_register(p, plen) < 0 || REAL(mprotect)(p, plen, prot) < 0) {
		/* With MAP_FIXED the caller's real mmap replaces the placeholder (and the old mapping is gone). */
		if ((flags & MAP_FIXED) == 0)
			REAL(munmap)(p, plen);
		REAL(close)(dfd);
		unclaim_slot(slot);
		return 0;
	}
	lock_regions(&old);
	r->f = f;
	atomic_fetch_add(&f->refs, 1);
	r->fd = dfd;
	r->len = plen;
	r->off = (uint64_t)off;
	r->prot = prot;
	r->type = flags & MAP_TYPE;
	r->first = first;
	r->n = n;
	r->open = n;
	r->last = -2;
	r->run = 0;
	r->ra_end = 0;
	r->addr = p; /* visible to the handler from here on */
	unlock_regions(&old);
	*out = p;
	return 1;
}

/*
 * Asks for chunk J of R (under the lock) into OUT[*N] unless it is present (then mapped): a
 * fault's own chunk or its readahead.
 */
static void
want_chunk(struct region *r, unsigned slot, uint32_t j, struct lazy_fill *out, unsigned max,
    unsigned *n)
{
	if (r->state[j] != CH_UNFILLED)
		return;
	if (chunk_present(r, j)) {
		map_chunk(r, j, true);
	} else if (*n < max) {
		r->state[j] = CH_FILLING;
		out[(*n)++] = (struct lazy_fill){ slot, r->gen, j, -1 };
	}
}

/*
 * Asks (under the lock) for the piece of chunk J of R that ADDR lies in, J being asked for,
 * when the region may map it ahead of the rest (PIECE_BYTES). The piece holds ADDR, so its
 * span in the region is never empty.
 */
static void
want_piece(struct region *r, unsigned slot, uint32_t j, uintptr_t addr, struct lazy_fill *out,
    unsigned max, unsigned *n)
{
	uint64_t cs = r->f->chunk_size;
	uint64_t at = r->off + (addr - (uintptr_t)r->addr) - (uint64_t)(r->first + j) * cs;
	unsigned piece = (unsigned)(at / PIECE_BYTES);

	if (!pieces_ahead(r->type, cs) || r->state[j] != CH_FILLING ||
	    r->ahead[j] != 0 || r->nahead >= AHEAD_MAX || *n >= max)
		return;
	r->ahead[j] = (uint16_t)(piece + 1);
	r->nahead++;
	out[(*n)++] = (struct lazy_fill){ slot, r->gen, j, (int)piece };
}

unsigned
shim_lazy_fault(uintptr_t addr, struct lazy_fill *out, unsigned max)
{
	unsigned n = 0, slot;
	uint32_t j, k, end, win, win_max;
	struct region *r;
	char *a;
	size_t len;
	uint64_t foff;
	sigset_t old;

	lock_regions(&old);
	r = find_locked(addr);
	if (r == NULL) {
		/* Unmapped meanwhile: the thread retries and faults on whatever is there now. */
		unlock_regions(&old);
		shim_uffd_wake((void *)(addr & ~(uintptr_t)(page_size() - 1)), page_size());
		return 0;
	}
	slot = (unsigned)(r - regions);
	j = chunk_of(r, addr);
	if (r->state[j] == CH_UNFILLED) {
		want_chunk(r, slot, j, out, max, &n);
		if (r->state[j] == CH_UNFILLED) /* no room for the request: it fails, loudly */
			map_chunk(r, j, false);
		want_piece(r, slot, j, addr, out, max, &n);
	} else if (r->state[j] != CH_FILLING) {
		chunk_span(r, j, &a, &len, &foff);
		shim_uffd_wake(a, len);
	}
	/*
	 * A fault walking forward (the next chunk, or up to the first chunk past those asked for:
	 * the program read the window's mapped chunks without faulting) continues its run, and so
	 * does one in the chunk of the last (past its piece mapped ahead); any other starts a new
	 * one. The window grows with the run (READAHEAD_DIVISOR), like the kernel's readahead ramp,
	 * but from nothing: a run of a few chunks (one expert's weights) is fetched as it faults and
	 * no further.
	 */
	if ((int64_t)j != r->last &&
	    !((int64_t)j > r->last && ((int64_t)j == r->last + 1 || j <= r->ra_end))) {
		r->run = j;
		r->ra_end = j + 1;
	}
	win_max = (uint32_t)(shim.cfg.readahead / r->f->chunk_size);
	if (win_max > READAHEAD_MAX_CHUNKS)
		win_max = READAHEAD_MAX_CHUNKS;
	win = (j - r->run + 1) / READAHEAD_DIVISOR;
	if (win > win_max)
		win = win_max;
	end = j + 1 + win < r->n ? j + 1 + win : r->n;
	/*
	 * Topped up only once at most half the window is left ahead of the fault: the chunks are
	 * then asked in one burst, which the daemon joins into GETs of several chunks (slid one
	 * chunk per fault, the window made one 4 MiB GET each, and per-request costs bounded a
	 * touch-all from a slow origin).
	 */
	if (r->ra_end <= j + 1 + win / 2) {
		for (k = r->ra_end > j + 1 ? r->ra_end : j + 1; k < end; k++)
			want_chunk(r, slot, k, out, max, &n);
		if (end > r->ra_end)
			r->ra_end = end;
	}
	r->last = j;
	unlock_regions(&old);
	return n;
}

int
shim_lazy_request(const struct lazy_fill *fill, struct lazy_request *req)
{
	struct region *r = &regions[fill->slot];
	int rc = -ESTALE;
	size_t len;
	char *a;
	sigset_t old;

	lock_regions(&old);
	if (live(r) && r->gen == fill->gen && r->state[fill->chunk] == CH_FILLING &&
	    (fill->piece < 0 || (r->ahead[fill->chunk] == (unsigned)fill->piece + 1 &&
	    piece_span(r, fill->chunk, (unsigned)fill->piece, &a, &len, &req->off)))) {
		if (fill->piece < 0)
			chunk_span(r, fill->chunk, &a, &len, &req->off);
		req->flags = fill->piece < 0 ? MS_FILL_FAULT : MS_FILL_FAULT | MS_FILL_RANGE;
		req->len = len;
		req->mount = r->f->mount;
		req->ino = (uint64_t)r->f->ino;
		strlcpy(req->key, r->f->key, sizeof req->key);
		rc = 0;
	}
	unlock_regions(&old);
	return rc;
}

void
shim_lazy_done(const struct lazy_fill *fill, int status, const char *err)
{
	struct region *r = &regions[fill->slot];
	char msg[640];
	sigset_t old;

	lock_regions(&old);
	if (live(r) && r->gen == fill->gen && r->state[fill->chunk] == CH_FILLING && fill->piece >= 0) {
		/* A piece that failed is left to its chunk's answer. */
		if (status == 0 || status == MS_FILL_RANGE_READY)
			map_piece(r, fill->chunk, (unsigned)fill->piece);
	} else if (live(r) && r->gen == fill->gen && r->state[fill->chunk] == CH_FILLING) {
		if (status < 0) {
			snprintf(msg, sizeof msg, "%s (an access to its mapping raises SIGBUS)", err);
			shim_file_warn_once(r->f, msg);
		}
		map_chunk(r, fill->chunk, status == 0);
	}
	unlock_regions(&old);
}

/* R's addresses meet [LO, HI). */
static bool
overlaps(const struct region *r, uintptr_t lo, uintptr_t hi)
{
	return r->used && r->addr != NULL && lo < (uintptr_t)r->addr + r->len &&
	    hi > (uintptr_t)r->addr;
}

/*
 * Fills and maps the chunks of slot SLOT whose addresses meet [LO, HI), from the calling
 * (program's) thread; with FORGET the region is let go afterwards.
 */
static void
settle_slot(unsigned slot, uintptr_t lo, uintptr_t hi, bool forget)
{
	struct region *r = &regions[slot];
	struct released rel = { .fd = -1 };
	struct shim_file *f = NULL;
	uint32_t j0 = 0, j1 = 0, j;
	unsigned gen = 0;
	uint64_t flo = 0, fhi = 0;
	bool gone = false;
	sigset_t old;
	int rc = 0;

	lock_regions(&old);
	if (overlaps(r, lo, hi) && !r->done) {
		if (lo < (uintptr_t)r->addr)
			lo = (uintptr_t)r->addr;
		if (hi > (uintptr_t)r->addr + r->len)
			hi = (uintptr_t)r->addr + r->len;
		j0 = chunk_of(r, lo);
		j1 = chunk_of(r, hi - 1) + 1;
		flo = r->off + (lo - (uintptr_t)r->addr);
		fhi = r->off + (hi - (uintptr_t)r->addr);
		gen = r->gen;
		f = r->f;
		atomic_fetch_add(&f->refs, 1);
	} else if (overlaps(r, lo, hi) && forget) {
		release_locked(r, &rel);
		gone = true;
	}
	unlock_regions(&old);
	if (gone)
		release_finish(&rel);
	if (f == NULL)
		return;
	if (flo < f->size)
		rc = shim_file_ensure(f, -1, flo, fhi - flo);
	lock_regions(&old);
	if (r->used && r->gen == gen) {
		for (j = j0; j < j1 && !r->done; j++)
			if (r->state[j] == CH_UNFILLED || r->state[j] == CH_FILLING)
				map_chunk(r, j, rc == 0 || chunk_present(r, j));
		if (forget) {
			release_locked(r, &rel);
			gone = true;
		}
	}
	unlock_regions(&old);
	if (gone)
		release_finish(&rel);
	shim_file_put(f);
}

/* Whether [LO, HI) meets any region: one look under the lock, the wrappers' common answer. */
static bool
meets_any(uintptr_t lo, uintptr_t hi)
{
	bool met = false;
	sigset_t old;
	unsigned i;

	lock_regions(&old);
	for (i = 0; i < MAX_REGIONS && !met; i++)
		met = overlaps(&regions[i], lo, hi);
	unlock_regions(&old);
	return met;
}

void
shim_lazy_settle(void *addr, size_t len, bool forget)
{
	unsigned i;

	if (!meets_any((uintptr_t)addr, (uintptr_t)addr + len + page_size() - 1))
		return;
	for (i = 0; i < MAX_REGIONS && shim_lazy_any(); i++)
		settle_slot(i, (uintptr_t)addr, (uintptr_t)addr + len + page_size() - 1, forget);
	reap();
}

/*
 * Chunks of R wholly inside [LO, HI) leave it (under the lock): never mapped over again. Those
 * the range cuts through must have been settled before.
 */
static void
cut_locked(struct region *r, uintptr_t lo, uintptr_t hi)
{
	uint64_t foff;
	size_t len;
	uint32_t j;
	char *a;

	for (j = 0; j < r->n && !r->done; j++) {
		chunk_span(r, j, &a, &len, &foff);
		if ((uintptr_t)a >= lo && (uintptr_t)a + len <= hi &&
		    (r->state[j] == CH_UNFILLED || r->state[j] == CH_FILLING)) {
			r->state[j] = CH_GONE;
			chunk_closed(r, j);
		}
	}
}

bool
shim_lazy_unmap_begin(void *addr, size_t len)
{
	/* The kernel unmaps whole pages: the length is rounded up as it does. */
	uintptr_t lo = (uintptr_t)addr, hi = lo + ((len + page_size() - 1) & ~(page_size() - 1));
	struct region *r;
	uint64_t foff;
	size_t clen;
	sigset_t old;
	unsigned i;
	char *a;

	if (!meets_any(lo, hi))
		return false;
	for (i = 0; i < MAX_REGIONS && shim_lazy_any(); i++) {
		bool edge_lo = false, edge_hi = false;

		r = &regions[i];
		lock_regions(&old);
		/* The chunks the range cuts through are settled before they lose a part. */
		if (overlaps(r, lo, hi) && !r->done) {
			if (lo > (uintptr_t)r->addr) {
				chunk_span(r, chunk_of(r, lo), &a, &clen, &foff);
				edge_lo = (uintptr_t)a < lo;
			}
			if (hi < (uintptr_t)r->addr + r->len) {
				chunk_span(r, chunk_of(r, hi - 1), &a, &clen, &foff);
				edge_hi = (uintptr_t)a + clen > hi;
			}
		}
		unlock_regions(&old);
		if (edge_lo)
			settle_slot(i, lo, lo + 1, false);
		if (edge_hi)
			settle_slot(i, hi - 1, hi, false);
		lock_regions(&old);
		if (overlaps(r, lo, hi) && !r->done)
			cut_locked(r, lo, hi);
		unlock_regions(&old);
	}
	return true;
}

void
shim_lazy_unmap_end(void *addr, size_t len)
{
	if (len > 0)
		shim_uffd_wake(addr, (len + page_size() - 1) & ~(page_size() - 1));
	reap();
}

/*
 * fork: the child would get no userfaultfd registration (its unfilled pages would read as
 * zeros), so every region is filled and mapped in full first; the lock then stays held across
 * the fork, so that no new lazy mapping is made meanwhile.
 */
static sigset_t fork_mask;

void
shim_lazy_fork_prepare(void)
{
	unsigned i;

	if (!shim.enabled)
		return;
	for (i = 0; i < MAX_REGIONS && shim_lazy_any(); i++)
		if (regions[i].used && regions[i].open > 0)
			settle_slot(i, 0, UINTPTR_MAX, false);
	lock_regions(&fork_mask);
}

void
shim_lazy_fork_parent(void)
{
	if (shim.enabled)
		unlock_regions(&fork_mask);
}

void
shim_lazy_fork_child(void)
{
	if (!shim.enabled)
		return;
	shim_uffd_forked();
	unlock_regions(&fork_mask);
}
