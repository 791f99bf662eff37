/*
 * shimtest.h: helpers shared by the tests/shim programs: die with a clear message, load the
 * reference (source) file, and compare bytes read through the shim with it, naming zeros
 * (unfilled cache bytes) as such. Everything is static inline: each program uses a subset.
 */
#ifndef MS_SHIMTEST_H
#define MS_SHIMTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *st_prog = "shimtest";
static int st_fails; /* checks failed with st_fail */

static inline void __attribute__((format(printf, 1, 0)))
st_vfail(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: FAIL: ", st_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Prints "PROG: FAIL: MSG" on stderr and exits 1. */
static inline void __attribute__((format(printf, 1, 2), noreturn))
st_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	st_vfail(fmt, ap);
	va_end(ap);
	exit(1);
}

/* The same, counted in st_fails, and the program goes on (to report every failing check). */
static inline void __attribute__((format(printf, 1, 2)))
st_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	st_vfail(fmt, ap);
	va_end(ap);
	st_fails++;
}

/* "PROG: MSG" on stdout: what the program did. */
static inline void __attribute__((format(printf, 1, 2)))
st_say(const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", st_prog);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static inline void
st_init(int argc, char **argv, int want, const char *usage)
{
	const char *slash = strrchr(argv[0], '/');

	st_prog = slash ? slash + 1 : argv[0];
	if (argc != want + 1) {
		fprintf(stderr, "usage: %s %s\n", st_prog, usage);
		exit(2);
	}
}

/* Reads a whole local file (the reference copy of the object) into memory. */
static inline unsigned char *
st_load(const char *path, size_t *size)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		st_die("reference %s: %s", path, strerror(errno));
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		st_die("out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			st_die("reference %s: short read", path);
		got += (size_t)n;
	}
	close(fd);
	*size = got;
	return buf;
}

/* Dies unless GOT[0..LEN) equals REF at offset OFF; WHAT names the call that produced GOT. */
static inline void
st_check(const unsigned char *got, const unsigned char *ref, size_t refsize, uint64_t off,
    size_t len, const char *what)
{
	size_t i, z;

	if (off > refsize || len > refsize - off)
		st_die("%s: %zu bytes at offset %llu run past the end of the %zu-byte file", what, len,
		    (unsigned long long)off, refsize);
	if (memcmp(got, ref + off, len) == 0)
		return;
	for (i = 0; i < len && got[i] == ref[off + i]; i++)
		;
	for (z = i; z < len && got[z] == 0; z++)
		;
	if (z - i >= 16 || z == len)
		st_die("%s: got %zu zero bytes at offset %llu where the source has data (unfilled "
		    "cache bytes reached the application)", what, z - i, (unsigned long long)(off + i));
	st_die("%s: byte %llu differs: got 0x%02x, want 0x%02x", what, (unsigned long long)(off + i),
	    got[i], ref[off + i]);
}

static inline int
st_open(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		st_die("open(%s, 0x%x): %s", path, flags, strerror(errno));
	return fd;
}

static inline void *
st_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		st_die("out of memory");
	return p;
}

/*
 * Reads LEN bytes at OFF of FD (both clipped to the SIZE-byte file) with pread, dies unless they
 * are REF's, and says so.
 */
static inline void
st_pread_check(int fd, const unsigned char *ref, size_t size, uint64_t off, size_t len,
    const char *what)
{
	unsigned char *buf = st_alloc(len);
	size_t got = 0;

	if (off > size)
		off = size;
	if (len > size - off)
		len = size - off;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n <= 0)
			st_die("%s: pread(fd %d) at %llu: %s", what, fd, (unsigned long long)(off + got),
			    n < 0 ? strerror(errno) : "early EOF");
		got += (size_t)n;
	}
	st_check(buf, ref, size, off, len, what);
	free(buf);
	st_say("%s: fd %d, %zu bytes at %llu ok", what, fd, len, (unsigned long long)off);
}

/* Checks that FD (a local file such as a memfd) holds exactly REF. */
static inline void
st_check_fd(int fd, const unsigned char *ref, size_t refsize, const char *what)
{
	unsigned char *buf = st_alloc(refsize);
	struct stat st;
	size_t got = 0;

	if (fstat(fd, &st) < 0)
		st_die("%s: fstat of the output: %s", what, strerror(errno));
	if ((size_t)st.st_size != refsize)
		st_die("%s: output has %lld bytes, want %zu", what, (long long)st.st_size, refsize);
	while (got < refsize) {
		ssize_t n = pread(fd, buf + got, refsize - got, (off_t)got);

		if (n <= 0)
			st_die("%s: reading the output back failed", what);
		got += (size_t)n;
	}
	st_check(buf, ref, refsize, 0, refsize, what);
	free(buf);
}

/*
 * After CALL copied FD's file (REF, SIZE bytes) into OUT from offset START through an explicit
 * offset, which ended at END: it reached the end, FD's own position did not move (still 0), and
 * OUT holds REF from START.
 */
static inline void
st_copied_at(int fd, int out, const unsigned char *ref, size_t size, off_t start, off_t end,
    const char *call)
{
	char what[64];
	off_t pos;

	if ((size_t)end != size)
		st_die("%s with an offset stopped at %lld of %zu", call, (long long)end, size);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != 0)
		st_die("%s with an offset moved the input position to %lld", call, (long long)pos);
	snprintf(what, sizeof what, "%s(offset) copy", call);
	st_check_fd(out, ref + start, size - (size_t)start, what);
	st_say("%s from offset %lld: %zu bytes ok", call, (long long)start, size - (size_t)start);
}

/*
 * CALL through the file positions: COPY(FD, OUT, LEN) (a call of CALL with NULL offsets) until
 * FD's file (REF, SIZE bytes) is copied into OUT, in at most 10000 calls; then FD's position is
 * at its end and OUT holds REF.
 */
static inline void
st_copy_whole(int fd, int out, const unsigned char *ref, size_t size,
    ssize_t (*copy)(int in, int out, size_t len), const char *call)
{
	size_t done = 0, calls;
	char what[64];
	off_t pos;

	for (calls = 0; calls < 10000 && done < size; calls++) {
		ssize_t n = copy(fd, out, size - done);

		if (n < 0)
			st_die("%s(NULL offsets) after %zu bytes: %s", call, done, strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done != size)
		st_die("%s copied %zu bytes, want %zu", call, done, size);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != (off_t)size)
		st_die("input position %lld after %s, want %zu", (long long)pos, call, size);
	snprintf(what, sizeof what, "%s(NULL offsets) copy", call);
	st_check_fd(out, ref, size, what);
	st_say("%s of the whole file: %zu bytes ok in %zu calls", call, done, calls);
}

#endif
