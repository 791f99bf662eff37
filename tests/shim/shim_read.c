/* shim_read: plain read and pread of a few KiB, the reads a cold file may answer with the daemon's bytes: the right bytes, the cursor where read leaves it (pread leaves it alone), a short read at the end then 0, and a buffer the process cannot write fails with EFAULT, the next read at the same place still right. */
#include "shimtest.h"

#include <sys/mman.h>

/* read(2) of N bytes at the cursor, which must be AT: the source's bytes, the cursor moved on. */
static void
read_at_cursor(int fd, const unsigned char *ref, size_t size, off_t at, size_t n)
{
	unsigned char buf[8192];
	char what[96];
	size_t want = (uint64_t)at >= size ? 0 : size - (size_t)at < n ? size - (size_t)at : n;
	ssize_t got;
	off_t pos;

	snprintf(what, sizeof what, "read(%zu) at %lld", n, (long long)at);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != at)
		st_die("%s: the cursor is at %lld", what, (long long)pos);
	got = read(fd, buf, n);
	if (got < 0)
		st_die("%s: %s", what, strerror(errno));
	if ((size_t)got != want)
		st_die("%s returned %zd, want %zu", what, got, want);
	if (got > 0)
		st_check(buf, ref, size, (uint64_t)at, (size_t)got, what);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != at + got)
		st_die("%s left the cursor at %lld, want %lld", what, (long long)pos,
		    (long long)(at + got));
	st_say("%s: %zd bytes ok, cursor moved", what, got);
}

static void
pread_at(int fd, const unsigned char *ref, size_t size, off_t at, size_t n)
{
	unsigned char buf[8192];
	char what[96];
	off_t before = lseek(fd, 0, SEEK_CUR), after;
	ssize_t got;

	snprintf(what, sizeof what, "pread(%zu) at %lld", n, (long long)at);
	got = pread(fd, buf, n, at);
	if (got < 0 || (size_t)got != n)
		st_die("%s returned %zd (%s)", what, got, got < 0 ? strerror(errno) : "short");
	st_check(buf, ref, size, (uint64_t)at, n, what);
	if ((after = lseek(fd, 0, SEEK_CUR)) != before)
		st_die("%s moved the cursor from %lld to %lld", what, (long long)before, (long long)after);
	st_say("%s: ok, cursor unmoved", what);
}

int
main(int argc, char **argv)
{
	unsigned char *ref, *ro;
	size_t size;
	long page = sysconf(_SC_PAGESIZE);
	ssize_t got;
	int fd;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	if (size < 1 << 20)
		st_die("the reference must be 1 MiB at least, not %zu bytes", size);
	fd = st_open(argv[1], O_RDONLY);
	read_at_cursor(fd, ref, size, 0, 100);
	read_at_cursor(fd, ref, size, 100, 4096);
	pread_at(fd, ref, size, (off_t)(size / 2 + 777), 4096);
	read_at_cursor(fd, ref, size, 4196, 8);

	/* A buffer the process cannot write: EFAULT, as the kernel's read says; nothing else moves. */
	ro = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		st_die("mmap: %s", strerror(errno));
	got = pread(fd, ro, 4096, (off_t)(size / 3 + 5));
	if (got >= 0 || errno != EFAULT)
		st_die("pread into a read-only page returned %zd (%s), want EFAULT", got,
		    got < 0 ? strerror(errno) : "no error");
	st_say("pread into a read-only page: EFAULT ok");
	pread_at(fd, ref, size, (off_t)(size / 3 + 5), 4096);
	munmap(ro, (size_t)page);

	/* The tail: a short read, then 0. */
	if (lseek(fd, (off_t)size - 100, SEEK_SET) != (off_t)size - 100)
		st_die("lseek: %s", strerror(errno));
	read_at_cursor(fd, ref, size, (off_t)size - 100, 4096);
	read_at_cursor(fd, ref, size, (off_t)size, 4096);
	close(fd);
	free(ref);
	return 0;
}
