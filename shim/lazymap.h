/*
 * lazymap.h: lazy file mappings (shim/lazymap.c keeps the regions, shim/uffd.c the
 * userfaultfd and its handler thread). Private to the shim. A lazy region is an anonymous
 * placeholder registered with userfaultfd; each chunk of it is replaced, once, by a mapping of
 * the cache file's chunk when that chunk is present (or by one that raises SIGBUS when it cannot
 * be filled): never a zero page.
 */
#ifndef MS_SHIM_LAZYMAP_H
#define MS_SHIM_LAZYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

struct shim_file;

/*
 * mmap of FD (F, an incomplete file) made lazily: 1 with the mapping in *OUT, 0 when it cannot
 * be lazy (the caller fills the whole range, as for any mapping), -1 with errno set.
 */
int shim_lazy_map(void **out, void *addr, size_t len, int prot, int flags, int fd, off_t off,
    struct shim_file *f);

/* True when any lazy region exists: the munmap/mremap/mprotect wrappers' fast path. */
bool shim_lazy_any(void);

/*
 * Around a call that unmaps or replaces [ADDR, ADDR + LEN) (munmap, mmap MAP_FIXED): _begin
 * settles the chunks that straddle the range's ends and forgets those inside it, and says
 * whether the range met a lazy region at all; if so, _end wakes any thread still waiting on a
 * fault there (it then faults on whatever is mapped now).
 */
bool shim_lazy_unmap_begin(void *addr, size_t len);
void shim_lazy_unmap_end(void *addr, size_t len);

/*
 * Every region overlapping [ADDR, ADDR + LEN) is filled and mapped in full (mremap, mprotect);
 * with FORGET it is then no longer lazy. Chunks that cannot be filled raise SIGBUS.
 */
void shim_lazy_settle(void *addr, size_t len, bool forget);

/* fork: the prepare hook settles every region (the child gets no userfaultfd registration). */
void shim_lazy_fork_prepare(void);
void shim_lazy_fork_parent(void);
void shim_lazy_fork_child(void);

/* What the handler thread (uffd.c) asks of the regions. */
struct lazy_fill {
	unsigned slot, gen; /* the region, as it was when the fill was asked for */
	uint32_t chunk;     /* index in the region: asked as MS_FILL_FAULT, a fault's chunk or its
	                     * readahead (lazymap.c sizes the window; the daemon adds none) */
	int piece;          /* -1: the whole chunk; else the piece of it a fault lies in, asked
	                     * with MS_FILL_RANGE too and mapped as soon as it is written */
};

/*
 * A fault at ADDR: fills to ask the daemon for (the chunk and, in a MAP_SHARED region, the piece
 * of it the fault lies in; the next chunks on a sequential pattern) into OUT (at most MAX); a
 * chunk already present is mapped and its waiters woken here.
 */
unsigned shim_lazy_fault(uintptr_t addr, struct lazy_fill *out, unsigned max);
/* What to ask the daemon for FILL: 0, or -ESTALE when its region or chunk went away. */
struct lazy_request {
	unsigned mount;
	char key[MS_MSG_MAX];
	uint64_t off, len, ino;
	uint32_t flags; /* MS_FILL_FAULT, with MS_FILL_RANGE for a piece */
};
int shim_lazy_request(const struct lazy_fill *fill, struct lazy_request *req);
/*
 * The daemon's answer to FILL: for a chunk, STATUS 0 maps it, else it raises SIGBUS (ERR: why);
 * for a piece, 0 or MS_FILL_RANGE_READY maps the piece (a failure is left to its chunk's answer).
 */
void shim_lazy_done(const struct lazy_fill *fill, int status, const char *err);

/* uffd.c */
/* The process's userfaultfd and handler thread, started on first use: false if unavailable. */
bool shim_uffd_start(void);
int shim_uffd_register(void *addr, size_t len);
void shim_uffd_wake(void *addr, size_t len);
/* An fd whose MAP_SHARED mappings raise SIGBUS on every access (a memfd of size 0). */
int shim_uffd_sigbus_fd(void);
/* In a fork child: the inherited userfaultfd and connection are dropped; the next use starts anew. */
void shim_uffd_forked(void);

#endif
