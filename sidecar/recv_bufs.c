/*
 * recv_bufs.c: the daemon's pool of chunk receive buffers (a chunk's bytes are copied into one
 * as they arrive, and written into the cache file from it). Owns getting, keeping and freeing
 * them, and priming the pool while the daemon is idle. Never holds more than cap_free_bufs
 * buffers, never primes while a GET runs or waits or a write is in flight, nor more than one
 * buffer per loop pass, nor past its target counting the buffers lent out (they come back).
 *
 * Why prime: on VMs whose freed memory goes back to the host (virtio-balloon free-page
 * reporting, this project's test machines), the first write into a page the daemon was just
 * given faults in the hypervisor: copying into fresh buffers ran at ~0.5 GB/s against ~20 GB/s
 * into buffers written before, even with MAP_POPULATE (the guest maps pages the host reported
 * zero without touching them). A new daemon's first load paid it for every buffer it
 * allocated (a quarter of the daemon's CPU in a cold 256 MiB read, perf). Priming writes one
 * byte per page of up to PRIME_BYTES of buffers before any load asks for them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon.h"

/* What an idle daemon primes: the buffers of one GET per connection at most, 64 MiB at most. */
#define PRIME_BYTES (64u << 20)

/*
 * Populated at once: the guest's page faults are taken in the one call, not one per page on the
 * first memcpy; the host's first touch is still paid by the first write (see above).
 */
static uint8_t *
buf_map(uint32_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
	    -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

uint8_t *
recv_buf_get(struct daemon *d, uint32_t size)
{
	uint8_t *buf;

	if (size != d->cfg.chunk_size)
		return buf_map(size);
	buf = d->nfree_bufs > 0 ? d->free_bufs[--d->nfree_bufs] : buf_map(size);
	if (buf != NULL)
		d->nlent_bufs++;
	return buf;
}

/* Back into the pool if it has room (a buffer of the configured chunk size), or unmapped. */
static void
pool_or_unmap(struct daemon *d, uint8_t *buf, uint32_t size)
{
	if (size == d->cfg.chunk_size && d->nfree_bufs < d->cap_free_bufs) {
		d->free_bufs[d->nfree_bufs++] = buf;
		return;
	}
	munmap(buf, size);
}

void
recv_buf_put(struct daemon *d, uint8_t *buf, uint32_t size)
{
	if (buf == NULL)
		return;
	if (size == d->cfg.chunk_size)
		d->nlent_bufs--;
	pool_or_unmap(d, buf, size);
}

static unsigned
prime_target(const struct daemon *d)
{
	unsigned n = d->cfg.chunk_size > 0 ? PRIME_BYTES / d->cfg.chunk_size : 0;

	if (n > d->cfg.connections)
		n = d->cfg.connections;
	return n < d->cap_free_bufs ? n : d->cap_free_bufs;
}

/*
 * Short of the target, counting the buffers lent out; and idle: no GET running or waiting, no
 * write in flight (priming a 4 MiB buffer takes ~7 ms of the loop on such a VM: a waiting
 * reader would wait that much longer for its chunk's last piece to be reaped).
 */
bool
recv_bufs_want_prime(const struct daemon *d)
{
	return d->nfree_bufs + d->nlent_bufs < prime_target(d) && d->nactive == 0 &&
	    d->writes_inflight == 0 && TAILQ_EMPTY(&d->demand_q) && TAILQ_EMPTY(&d->prefetch_q) &&
	    TAILQ_EMPTY(&d->retry_q);
}

void
recv_bufs_prime_one(struct daemon *d)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t step = page > 0 ? (uint32_t)page : 4096, off;
	uint8_t *buf;

	if (!recv_bufs_want_prime(d) || (buf = buf_map(d->cfg.chunk_size)) == NULL)
		return;
	for (off = 0; off < d->cfg.chunk_size; off += step)
		((volatile uint8_t *)buf)[off] = 0;
	pool_or_unmap(d, buf, d->cfg.chunk_size);
}

void
recv_bufs_free(struct daemon *d)
{
	while (d->nfree_bufs > 0)
		munmap(d->free_bufs[--d->nfree_bufs], d->cfg.chunk_size);
	free(d->free_bufs);
	d->free_bufs = NULL;
}
