/*
 * mmap.c: file mappings. Page faults never pass through the shim, so before the real mmap of a
 * file that is not complete, the whole mapped range is made present (the daemon fetches its
 * chunks in parallel). Such mappings are remembered, so that an mremap that grows one fills the
 * new tail first; munmap forgets them. Mappings of complete files are never tracked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>

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

static void *
map_common(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct shim_file *f;
	bool remembered = false;
	void *p;

	if ((flags & MAP_ANONYMOUS) != 0 || !shim_active() || (f = shim_file_get(fd)) == NULL)
		return REAL(mmap)(addr, len, prot, flags, fd, off);
	if (shim_file_ensure(f, fd, (uint64_t)off, len) < 0) {
		shim_file_put(f);
		errno = EIO;
		return MAP_FAILED;
	}
	p = REAL(mmap)(addr, len, prot, flags, fd, off);
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
		REAL(munmap)(p, len);
		p = MAP_FAILED;
		errno = EIO;
	}
	shim_file_put(f);
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
	int rc = REAL(munmap)(addr, len);

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
	va_list ap;
	unsigned i;

	if ((flags & MREMAP_FIXED) != 0) {
		va_start(ap, flags);
		newaddr = va_arg(ap, void *);
		va_end(ap);
	}
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
	return p;
}
