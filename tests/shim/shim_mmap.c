/* shim_mmap: mmap of a not-yet-cached virtual file: at a nonzero offset touching the last page first, a small mapping grown by mremap, then the whole file MAP_SHARED. */
#include "shimtest.h"

#include <sys/mman.h>

int
main(int argc, char **argv)
{
	unsigned char *ref, *m, tail;
	size_t size, page = (size_t)sysconf(_SC_PAGESIZE), half, len, small;
	int fd;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	if (size < 4 * page)
		st_die("reference too small (%zu bytes)", size);
	fd = st_open(argv[1], O_RDONLY);
	half = (size / 2) & ~(page - 1);

	/* 1. Second half, at a page-aligned nonzero offset; the last byte is touched first. */
	len = size - half;
	m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)half);
	if (m == MAP_FAILED)
		st_die("mmap(len=%zu, off=%zu): %s", len, half, strerror(errno));
	tail = m[len - 1];
	if (tail != ref[size - 1])
		st_die("last byte through mmap(off=%zu): got 0x%02x, want 0x%02x", half, tail, ref[size - 1]);
	st_check(m, ref, size, half, len, "mmap at a nonzero offset");
	munmap(m, len);
	st_say("mmap of [%zu, %zu) MAP_PRIVATE: ok (last page touched first)", half, size);

	/* 2. The first 64 KiB, then mremap grows it over the rest of the first half. */
	small = 65536 < half ? 65536 : page;
	m = mmap(NULL, small, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		st_die("mmap(len=%zu, off=0): %s", small, strerror(errno));
	st_check(m, ref, size, 0, small, "mmap of the first 64 KiB");
	m = mremap(m, small, half, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		st_die("mremap(%zu -> %zu): %s", small, half, strerror(errno));
	st_check(m + half - page, ref, size, half - page, page, "last page of the mremap-grown mapping");
	st_check(m, ref, size, 0, half, "mremap-grown mapping");
	munmap(m, half);
	st_say("mmap of [0, %zu) grown by mremap to [0, %zu): ok", small, half);

	/* 3. The whole file, MAP_SHARED, after closing the fd. */
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		st_die("mmap(whole, MAP_SHARED): %s", strerror(errno));
	close(fd);
	if (madvise(m, size, MADV_SEQUENTIAL) < 0)
		st_die("madvise: %s", strerror(errno));
	st_check(m, ref, size, 0, size, "mmap of the whole file MAP_SHARED");
	munmap(m, size);
	st_say("mmap of the whole file (%zu bytes) MAP_SHARED, fd closed: ok", size);
	free(ref);
	return 0;
}
