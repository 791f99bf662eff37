/*
 * mmap.c: file mappings. A mapping of a file that is not complete is made lazy where it can be
 * (lazymap.c and uffd.c: each chunk is filled when first touched); otherwise, since page faults
 * never pass through the shim, the whole mapped range is made present before the real mmap (the
 * daemon fetches its chunks in parallel). Such mappings are remembered, so that an mremap that
 * grows one fills the new tail first; munmap forgets them. munmap, mremap, mprotect and mmap
 * MAP_FIXED over a lazy mapping first settle (fill and map) the chunks they cut or change.
 * Mappings of complete files are never tracked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>

#include "lazymap.h"
#include "shim.h"

#define MAX_MAPPINGS 256

struct mapping {
	void *addr;
	size_t len;
	off_t off;
	struct shim_file *f; /* a held reference */
};

static struct mapping mappings[MAX_MAPPINGS];
static unsigned nmappings;
static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;

/* Lazy mappings exist and this is the program's call (the shim's own never meet them). */
static bool
lazy_watch(void)
{
	return shim_active() && shim_lazy_any();
}

static void *
map_file(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct shim_file *f;
	bool remembered = false;
	int lazy;
	void *p = MAP_FAILED;

	if ((flags & MAP_ANONYMOUS) != 0 || !shim_active() || (f = shim_file_get(fd)) == NULL)
		return REAL(mmap)(addr, len, prot, flags, fd, off);
	lazy = shim_lazy_map(&p, addr, len, prot, flags, fd, off, f);
	if (lazy == 0) {
		if (shim_file_ensure(f, fd, (uint64_t)off, len) < 0) {
			shim_file_put(f);
			errno = EIO;
			return MAP_FAILED;
		}
		p = REAL(mmap)(addr, len, prot, flags, fd, off);
	}
	if (p == MAP_FAILED) {
		shim_file_put(f);
		return p;
	}
	pthread_mutex_lock(&mappings_lock);
	if (nmappings < MAX_MAPPINGS) {
		mappings[nmappings++] = (struct mapping){ p, len, off, f };
		remembered = true;
	}
	pthread_mutex_unlock(&mappings_lock);
	if (remembered)
		return p;
	/* No room to remember it: the whole file is filled, so any mremap stays safe. */
	if (shim_file_ensure(f, -1, 0, 0) < 0) {
		munmap(p, len);
		p = MAP_FAILED;
		errno = EIO;
	}
	shim_file_put(f);
	return p;
}

static void *
map_common(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	/* Replacing part of a lazy mapping: as an munmap of it first. */
	if ((flags & MAP_FIXED) == 0 || !lazy_watch() || !shim_lazy_unmap_begin(addr, len))
		return map_file(addr, len, prot, flags, fd, off);
	p = map_file(addr, len, prot, flags, fd, off);
	shim_lazy_unmap_end(addr, len);
	return p;
}

SHIM_EXPORT void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_common(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return map_common(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT int
munmap(void *addr, size_t len)
{
	struct shim_file *drop[MAX_MAPPINGS];
	unsigned i, ndrop = 0;
	bool lazy = lazy_watch() && !shim_in_vfork_child() && shim_lazy_unmap_begin(addr, len);
	int rc;

	rc = REAL(munmap)(addr, len);
	if (lazy)
		shim_lazy_unmap_end(addr, len);
	if (rc < 0 || nmappings == 0 || shim_in_vfork_child())
		return rc;
	pthread_mutex_lock(&mappings_lock);
	for (i = 0; i < nmappings;) {
		struct mapping *m = &mappings[i];

		if ((char *)m->addr >= (char *)addr && (char *)m->addr + m->len <= (char *)addr + len) {
			drop[ndrop++] = m->f;
			*m = mappings[--nmappings];
			continue;
		}
		i++;
	}
	pthread_mutex_unlock(&mappings_lock);
	for (i = 0; i < ndrop; i++)
		shim_file_put(drop[i]);
	return rc;
}

SHIM_EXPORT void *
mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	void *newaddr = NULL, *p;
	struct mapping *m = NULL;
	bool lazy = lazy_watch();
	va_list ap;
	unsigned i;

	if ((flags & MREMAP_FIXED) != 0) {
		va_start(ap, flags);
		newaddr = va_arg(ap, void *);
		va_end(ap);
	}
	/* A lazy mapping that moves or changes size is made whole first, and plain from then on. */
	if (lazy)
		shim_lazy_settle(old, oldlen, true);
	if (lazy && newaddr != NULL)
		lazy = shim_lazy_unmap_begin(newaddr, newlen);
	pthread_mutex_lock(&mappings_lock);
	for (i = 0; i < nmappings && newlen > oldlen; i++)
		if (mappings[i].addr == old)
			m = &mappings[i];
	if (m != NULL && shim_file_ensure(m->f, -1, (uint64_t)(m->off + (off_t)oldlen),
	    newlen - oldlen) < 0) {
		pthread_mutex_unlock(&mappings_lock);
		errno = EIO;
		return MAP_FAILED;
	}
	p = REAL(mremap)(old, oldlen, newlen, flags, newaddr);
	if (p != MAP_FAILED && m != NULL) {
		m->addr = p;
		m->len = newlen;
	}
	pthread_mutex_unlock(&mappings_lock);
	if (lazy && newaddr != NULL)
		shim_lazy_unmap_end(newaddr, newlen);
	return p;
}

SHIM_EXPORT int
mprotect(void *addr, size_t len, int prot)
{
	/* The chunks still to fill would be mapped with the old protection: all are mapped first. */
	if (lazy_watch())
		shim_lazy_settle(addr, len, false);
	return REAL(mprotect)(addr, len, prot);
}
