/*
 * load_reader: the reader of the load test (issue 7, tests/integration/t-load.sh). Owns the
 * deterministic content of the load files: each 8-byte word is a hash of (file name, offset), so
 * any byte can be recomputed without a reference copy. "gen" writes such files (never run it
 * under the shim); "run" reads them through the shim for a while (random preads of 1 B .. 2 MiB,
 * reads that cross chunk boundaries or EOF, read() at the cursor, mmaps) and checks every byte
 * it gets. It must never write to a virtual path, never count a byte it did not check, and never
 * run much longer than asked (one operation past its deadline at most).
 *
 * usage: load_reader gen PATH...                    PATH's name is NAME-SIZE.bin
 *        load_reader run SECONDS SEED CHUNK PATH...  PATHs are virtual; CHUNK the chunk size
 *
 * run prints one line "load_reader: reads=R preads=P cursor_reads=C tail_reads=T mmaps=M
 * opens=O bytes=B wrong=W eio=E errors=X" and exits 1 on any wrong byte or unexpected error,
 * 3 if the only failures were EIO (which the test judges), 0 otherwise.
 */
#include "shimtest.h"

#include <endian.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

#define MAX_READ (2u << 20)
#define MAX_FILES 1024
#define MAX_OPEN 2
#define MAX_REPORTS 8
#define GOLDEN 0x9e3779b97f4a7c15ull

struct lfile {
	const char *path;
	uint64_t hash;  /* of the file's name: the content's key */
	uint64_t size;  /* from the name */
};

struct handle {
	int fd;
	struct lfile *f;
};

struct counts {
	unsigned long long reads, preads, cursor_reads, tail_reads, mmaps, opens;
	unsigned long long bytes, wrong, eio, errors;
};

static struct counts n;
static unsigned reports;
static unsigned char *want;
static uint64_t rng;

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* FNV-1a of the file's name: the same file name holds the same bytes wherever it lives. */
static uint64_t
name_hash(const char *path)
{
	const unsigned char *p = (const unsigned char *)base_name(path);
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

/* NAME-SIZE.bin: the size is part of the name, so a wrong st_size is caught too. */
static void
lfile_init(struct lfile *f, const char *path)
{
	const char *name = base_name(path), *dash = strrchr(name, '-');
	char *end;

	if (dash == NULL)
		st_die("%s: the name must be NAME-SIZE.bin", path);
	errno = 0;
	f->size = strtoull(dash + 1, &end, 10);
	if (errno != 0 || end == dash + 1 || strcmp(end, ".bin") != 0)
		st_die("%s: the name must be NAME-SIZE.bin", path);
	f->path = path;
	f->hash = name_hash(path);
}

/* The bytes [off, off + len) of F, into OUT. */
static void
expect(const struct lfile *f, uint64_t off, size_t len, unsigned char *out)
{
	uint64_t p = off, word;
	size_t i = 0;
	unsigned b;

	while (i < len) {
		word = htole64(mix(f->hash + (p / 8) * GOLDEN));
		b = (unsigned)(p % 8);
		if (b == 0 && len - i >= 8) {
			memcpy(out + i, &word, 8);
			i += 8;
			p += 8;
			continue;
		}
		for (; b < 8 && i < len; b++, i++, p++)
			out[i] = ((const unsigned char *)&word)[b];
	}
}

static void __attribute__((format(printf, 1, 2)))
report(const char *fmt, ...)
{
	va_list ap;

	if (reports++ >= MAX_REPORTS)
		return;
	fprintf(stderr, "%s[%d]: ", st_prog, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Checks GOT[0..LEN) against F at OFF; WHAT names the operation. */
static void
check(const struct lfile *f, const unsigned char *got, uint64_t off, size_t len, const char *what)
{
	size_t i, bad = 0, first = 0, zeros = 0;

	expect(f, off, len, want);
	n.bytes += len;
	if (memcmp(got, want, len) == 0)
		return;
	for (i = 0; i < len; i++) {
		if (got[i] == want[i])
			continue;
		if (bad++ == 0)
			first = i;
		if (got[i] == 0)
			zeros++;
	}
	n.wrong += bad;
	report("WRONG BYTES: %s of %s [%" PRIu64 ", +%zu): %zu wrong, the first at %" PRIu64
	    " (got 0x%02x, want 0x%02x)%s", what, f->path, off, len, bad, off + first, got[first],
	    want[first], zeros == bad ? "; all of them zeros: unfilled cache bytes" : "");
}

/* An error of OP: EIO is counted apart (the test judges it), anything else is an error. */
static void
failed(const struct lfile *f, const char *op, uint64_t off, size_t len)
{
	int e = errno;

	if (e == EIO)
		n.eio++;
	else
		n.errors++;
	report("%s: %s of %s [%" PRIu64 ", +%zu): %s", e == EIO ? "EIO" : "ERROR", op, f->path, off,
	    len, strerror(e));
}

static size_t
random_len(void)
{
	switch (rnd() % 3) {
	case 0:
		return 1 + rnd() % 4096;
	case 1:
		return 1 + rnd() % (256 << 10);
	default:
		return 1 + rnd() % MAX_READ;
	}
}

/*
 * Reads [off, off + len) of H with pread (or lseek and read() when CURSOR) into BUF and checks
 * it; LEN may run past EOF: exactly the bytes up to EOF must come back, then 0.
 */
static void
read_range(struct handle *h, unsigned char *buf, uint64_t off, size_t len, bool cursor,
    const char *what)
{
	size_t got = 0, avail = off < h->f->size ? (size_t)(h->f->size - off) : 0;
	ssize_t r;

	if (avail > len)
		avail = len;
	if (cursor && lseek(h->fd, (off_t)off, SEEK_SET) != (off_t)off) {
		failed(h->f, "lseek", off, len);
		return;
	}
	n.reads++;
	while (got < avail) {
		r = cursor ? read(h->fd, buf + got, len - got) :
		    pread(h->fd, buf + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			failed(h->f, what, off + got, len - got);
			return;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got != avail) {
		n.errors++;
		report("ERROR: %s of %s [%" PRIu64 ", +%zu): %zu bytes, want %zu (EOF too early)",
		    what, h->f->path, off, len, got, avail);
	}
	check(h->f, buf, off, got, what);
	if (got == avail && avail < len) {
		r = cursor ? read(h->fd, buf, 1) : pread(h->fd, buf, 1, (off_t)h->f->size);
		if (r != 0) {
			n.errors++;
			report("ERROR: %s of %s at its end (%" PRIu64 "): returned %zd, want 0 (EOF)",
			    what, h->f->path, h->f->size, r);
		}
	}
}

static void
op_mmap(struct handle *h)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), off;
	bool shared = rnd() % 2 == 0;
	size_t len;
	void *p;

	off = rnd() % h->f->size / page * page;
	len = random_len();
	if (len > h->f->size - off)
		len = (size_t)(h->f->size - off);
	n.reads++;
	n.mmaps++;
	p = mmap(NULL, len, PROT_READ, shared ? MAP_SHARED : MAP_PRIVATE, h->fd, (off_t)off);
	if (p == MAP_FAILED) {
		failed(h->f, "mmap", off, len);
		return;
	}
	check(h->f, p, off, len, shared ? "mmap(MAP_SHARED)" : "mmap(MAP_PRIVATE)");
	munmap(p, len);
}

/* One random read of H. */
static void
op_read(struct handle *h, unsigned char *buf, uint32_t chunk)
{
	uint64_t size = h->f->size, nchunks = (size + chunk - 1) / chunk, b, before, after, off;
	unsigned op = (unsigned)(rnd() % 100);
	size_t len;

	if (op < 50) {
		n.preads++;
		off = rnd() % size;
		read_range(h, buf, off, random_len(), false, "pread");
	} else if (op < 70 && nchunks >= 2) {
		/* Across the boundary before chunk B: BEFORE bytes before it, AFTER after it. */
		n.preads++;
		b = (1 + rnd() % (nchunks - 1)) * chunk;
		before = 1 + rnd() % (b < (1u << 20) ? b : (1u << 20));
		after = 1 + rnd() % (1u << 20);
		len = (size_t)(before + after > MAX_READ ? MAX_READ : before + after);
		read_range(h, buf, b - before, len, false, "pread across a chunk boundary");
	} else if (op < 80) {
		n.cursor_reads++;
		off = rnd() % size;
		read_range(h, buf, off, random_len(), true, "lseek+read");
	} else if (op < 85) {
		/* Up to and past EOF. */
		n.tail_reads++;
		len = random_len();
		off = size - 1 - rnd() % (len < size ? len : size);
		read_range(h, buf, off, len + 1 + rnd() % 4096, rnd() % 2 == 0, "read past EOF");
	} else {
		op_mmap(h);
	}
}

/* Opens a random file of FILES into H; false if that failed (counted). */
static bool
open_one(struct handle *h, struct lfile *files, unsigned nfiles)
{
	struct lfile *f = &files[rnd() % nfiles];
	struct stat st;

	n.opens++;
	h->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (h->fd < 0) {
		failed(f, "open", 0, 0);
		return false;
	}
	if (fstat(h->fd, &st) < 0) {
		failed(f, "fstat", 0, 0);
		close(h->fd);
		return false;
	}
	if ((uint64_t)st.st_size != f->size) {
		n.errors++;
		report("ERROR: %s: st_size %lld, want %" PRIu64, f->path, (long long)st.st_size,
		    f->size);
		close(h->fd);
		return false;
	}
	h->f = f;
	return true;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
run(double seconds, uint64_t seed, uint32_t chunk, struct lfile *files, unsigned nfiles)
{
	struct handle open_files[MAX_OPEN];
	unsigned nopen = 0, i;
	unsigned char *buf;
	double end;

	rng = mix(seed) | 1;
	buf = st_alloc(MAX_READ + 4096);
	want = st_alloc(MAX_READ + 4096);
	end = now_s() + seconds;
	while (now_s() < end) {
		/* A new file a quarter of the time: the oldest one open is closed for it. */
		if (nopen == 0 || rnd() % 4 == 0) {
			if (nopen == MAX_OPEN) {
				close(open_files[0].fd);
				open_files[0] = open_files[--nopen];
			}
			if (open_one(&open_files[nopen], files, nfiles))
				nopen++;
			continue;
		}
		op_read(&open_files[rnd() % nopen], buf, chunk);
	}
	for (i = 0; i < nopen; i++)
		close(open_files[i].fd);
	free(buf);
	free(want);
	printf("%s: reads=%llu preads=%llu cursor_reads=%llu tail_reads=%llu mmaps=%llu opens=%llu "
	    "bytes=%llu wrong=%llu eio=%llu errors=%llu\n", st_prog, n.reads, n.preads,
	    n.cursor_reads, n.tail_reads, n.mmaps, n.opens, n.bytes, n.wrong, n.eio, n.errors);
	fflush(stdout);
	if (reports > MAX_REPORTS)
		fprintf(stderr, "%s[%d]: %u more failures not shown\n", st_prog, (int)getpid(),
		    reports - MAX_REPORTS);
	if (n.wrong > 0 || n.errors > 0)
		return 1;
	return n.eio > 0 ? 3 : 0;
}

static int
gen(struct lfile *files, unsigned nfiles)
{
	unsigned char *block = st_alloc(MAX_READ);
	uint64_t off;
	size_t len;
	unsigned i;
	int fd;

	for (i = 0; i < nfiles; i++) {
		fd = open(files[i].path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			st_die("%s: %s", files[i].path, strerror(errno));
		for (off = 0; off < files[i].size; off += len) {
			len = files[i].size - off < MAX_READ ? (size_t)(files[i].size - off) : MAX_READ;
			expect(&files[i], off, len, block);
			if (write(fd, block, len) != (ssize_t)len)
				st_die("%s: write: %s", files[i].path, strerror(errno));
		}
		if (close(fd) < 0)
			st_die("%s: close: %s", files[i].path, strerror(errno));
	}
	free(block);
	return 0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s gen PATH...\n       %s run SECONDS SEED CHUNK PATH...\n",
	    st_prog, st_prog);
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct lfile files[MAX_FILES];
	unsigned long long chunk, seed;
	unsigned nfiles = 0, first;
	double seconds;
	char *end;
	int i;

	st_prog = base_name(argv[0]);
	if (argc >= 3 && strcmp(argv[1], "gen") == 0)
		first = 2;
	else if (argc >= 6 && strcmp(argv[1], "run") == 0)
		first = 5;
	else
		usage();
	if (argc - (int)first > MAX_FILES)
		st_die("at most %d files", MAX_FILES);
	for (i = (int)first; i < argc; i++) {
		lfile_init(&files[nfiles], argv[i]);
		if (strcmp(argv[1], "run") == 0 && files[nfiles].size == 0)
			st_die("%s: an empty file cannot be read at random", argv[i]);
		nfiles++;
	}
	if (first == 2)
		return gen(files, nfiles);
	seconds = strtod(argv[2], &end);
	if (*end != '\0' || seconds <= 0)
		usage();
	seed = strtoull(argv[3], &end, 0);
	if (*end != '\0')
		usage();
	chunk = strtoull(argv[4], &end, 0);
	if (*end != '\0' || chunk == 0 || chunk > UINT32_MAX)
		usage();
	return run(seconds, seed, (uint32_t)chunk, files, nfiles);
}
