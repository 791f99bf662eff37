/* shim_mmap_lazy: lazy mmap of a cold virtual file, one case per mode: sparse touches (and a kernel read from the mapping), shared and private walks, private copy-on-write writes, threads faulting at once, fork, munmap/mremap/mprotect/madvise, MAP_POPULATE, many mappings at once, and SIGBUS when no daemon fills. */
#include "shimtest.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static unsigned char *ref;
static size_t size, page, chunk;
static int vfd;

static unsigned char *
map(size_t len, int prot, int flags, size_t off)
{
	unsigned char *m = mmap(NULL, len, prot, flags, vfd, (off_t)off);

	if (m == MAP_FAILED)
		st_die("mmap(len=%zu, prot=%d, flags=0x%x, off=%zu): %s", len, prot, flags, off,
		    strerror(errno));
	return m;
}

/* One page of chunk IDX (its middle), read through the mapping M of the whole file. */
static void
check_chunk_page(const unsigned char *m, size_t idx, const char *what)
{
	size_t off = idx * chunk + chunk / 2;

	off &= ~(page - 1);
	if (off + page > size)
		off = (size - page) & ~(page - 1);
	st_check(m + off, ref, size, off, page, what);
}

/* sparse IDX...: one page of each chunk named, then one more through write(2) to a pipe. */
static void
mode_sparse(int n, char **idx)
{
	unsigned char *m = map(size, PROT_READ, MAP_SHARED, 0), buf[4096];
	size_t last = 0;
	int i, p[2];

	for (i = 0; i < n; i++) {
		last = (size_t)strtoul(idx[i], NULL, 10);
		check_chunk_page(m, last, "sparse touch");
	}
	/* The kernel reads the mapping (copy_from_user): it waits for the fill too. */
	if (pipe(p) < 0)
		st_die("pipe: %s", strerror(errno));
	if (write(p[1], m + last * chunk, sizeof buf) != (ssize_t)sizeof buf ||
	    read(p[0], buf, sizeof buf) != (ssize_t)sizeof buf)
		st_die("write(pipe) from the mapping: %s", strerror(errno));
	st_check(buf, ref, size, last * chunk, sizeof buf, "write(2) from the mapping");
	munmap(m, size);
	st_say("sparse: %d chunks touched, one page each, and a kernel read: ok", n);
}

/* shared / private: the whole file walked forward, then a mapping at a chunk's middle. */
static void
mode_walk(int flags)
{
	unsigned char *m = map(size, PROT_READ, flags, 0);
	size_t off = (chunk + chunk / 2) & ~(page - 1);

	st_check(m, ref, size, 0, size, "walk of the whole mapping");
	munmap(m, size);
	m = map(size - off, PROT_READ, flags, off);
	st_check(m + (size - off) - 1, ref, size, size - 1, 1, "last byte first");
	st_check(m, ref, size, off, size - off, "mapping at an offset inside a chunk");
	munmap(m, size - off);
	st_say("%s: whole file and at offset %zu: ok", flags == MAP_SHARED ? "shared" : "private", off);
}

/* cow: MAP_PRIVATE read-write; written pages keep their writes while other chunks fill. */
static void
mode_cow(void)
{
	unsigned char *m = map(size, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	size_t i, nchunks = (size + chunk - 1) / chunk;

	/* A write into an unfilled chunk, and into a filled one. */
	m[chunk * 2 + 5] = (unsigned char)~ref[chunk * 2 + 5];
	check_chunk_page(m, 0, "chunk 0 before writing");
	m[10] = (unsigned char)~ref[10];
	for (i = 0; i < nchunks; i++)
		check_chunk_page(m, i, "every chunk after the writes");
	if (m[10] != (unsigned char)~ref[10] || m[chunk * 2 + 5] != (unsigned char)~ref[chunk * 2 + 5])
		st_die("a private write was lost (a chunk was mapped over again)");
	m[10] = ref[10];
	m[chunk * 2 + 5] = ref[chunk * 2 + 5];
	st_check(m, ref, size, 0, size, "private mapping after the writes were undone");
	munmap(m, size);
	st_say("cow: private writes kept while the rest filled: ok");
}

struct worker {
	const unsigned char *m;
	size_t first, step;
};

static void *
worker_main(void *arg)
{
	const struct worker *w = arg;
	size_t off;

	for (off = w->first; off < size; off += w->step)
		st_check(w->m + off, ref, size, off, size - off < page ? size - off : page, "thread read");
	return NULL;
}

/* threads N: N threads on the same first chunk at once, then each on its own pages. */
static void
mode_threads(int n)
{
	unsigned char *m = map(size, PROT_READ, MAP_SHARED, 0);
	pthread_t th[16];
	struct worker w[16];
	int i;

	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++) {
		w[i] = (struct worker){ m, (size_t)i * page, (size_t)n * page };
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
			st_die("pthread_create");
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	st_check(m, ref, size, 0, size, "after the threads");
	munmap(m, size);
	st_say("threads: %d threads faulting at once over the whole file: ok", n);
}

/* fork: one chunk touched, then a child reads everything (it must never see zeros). */
static void
mode_fork(void)
{
	unsigned char *m = map(size, PROT_READ, MAP_PRIVATE, 0);
	int status;
	pid_t pid;

	check_chunk_page(m, 1, "before fork");
	pid = fork();
	if (pid < 0)
		st_die("fork: %s", strerror(errno));
	if (pid == 0) {
		st_check(m, ref, size, 0, size, "the fork child's read of the mapping");
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		st_die("the fork child failed (status 0x%x)", status);
	st_check(m, ref, size, 0, size, "the parent's read after fork");
	munmap(m, size);
	st_say("fork: the child read the whole mapping right: ok");
}

/*
 * vmops: munmap cutting chunks, mmap MAP_FIXED over a part, madvise(DONTNEED), mprotect, mremap
 * growing a lazy mapping.
 */
static void
mode_vmops(void)
{
	size_t half = (size / 2) & ~(page - 1), cut = (chunk + chunk / 2) & ~(page - 1);
	unsigned char *m = map(size, PROT_READ, MAP_SHARED, 0);

	/* A hole from the middle of chunk 1 to the middle of chunk 3; the rest reads right. */
	check_chunk_page(m, 0, "chunk 0");
	if (munmap(m + cut, 2 * chunk) < 0)
		st_die("munmap of the middle: %s", strerror(errno));
	st_check(m, ref, size, 0, cut, "before the hole");
	st_check(m + cut + 2 * chunk, ref, size, cut + 2 * chunk, size - cut - 2 * chunk, "after the hole");
	munmap(m, cut);
	munmap(m + cut + 2 * chunk, size - cut - 2 * chunk);

	/* mmap MAP_FIXED of anonymous memory over the middle of a lazy mapping: the rest reads right. */
	m = map(size, PROT_READ, MAP_PRIVATE, 0);
	if (mmap(m + cut, chunk, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != m + cut)
		st_die("mmap MAP_FIXED over the middle: %s", strerror(errno));
	st_check(m, ref, size, 0, cut, "before the MAP_FIXED part");
	st_check(m + cut + chunk, ref, size, cut + chunk, size - cut - chunk, "after the MAP_FIXED part");
	munmap(m, size);

	/* madvise(DONTNEED) on filled and unfilled chunks alike. */
	m = map(size, PROT_READ, MAP_PRIVATE, 0);
	check_chunk_page(m, 1, "chunk 1");
	if (madvise(m, size, MADV_DONTNEED) < 0)
		st_die("madvise: %s", strerror(errno));
	st_check(m, ref, size, 0, size, "after madvise(MADV_DONTNEED)");
	munmap(m, size);

	/* mprotect of a lazy mapping, then reads. */
	m = map(size, PROT_READ, MAP_PRIVATE, 0);
	if (mprotect(m, size, PROT_READ | PROT_WRITE) < 0)
		st_die("mprotect: %s", strerror(errno));
	m[3] = (unsigned char)~ref[3];
	st_check(m + page, ref, size, page, size - page, "after mprotect");
	munmap(m, size);

	/* mremap growing a lazy mapping of the first half to the whole file. */
	m = map(half, PROT_READ, MAP_SHARED, 0);
	check_chunk_page(m, 0, "chunk 0 of the half");
	m = mremap(m, half, size, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		st_die("mremap: %s", strerror(errno));
	st_check(m, ref, size, 0, size, "mremap-grown lazy mapping");
	munmap(m, size);
	st_say("vmops: munmap of a middle part, MAP_FIXED over a part, madvise, mprotect, mremap: ok");
}

/* populate: MAP_POPULATE is never lazy (the whole range is filled at mmap). */
static void
mode_populate(void)
{
	unsigned char *m = map(size, PROT_READ, MAP_SHARED | MAP_POPULATE, 0);

	st_check(m, ref, size, 0, size, "MAP_POPULATE mapping");
	munmap(m, size);
	st_say("populate: ok");
}

/* many N: the whole file mapped N times at once (the test counts what that fetched). */
static void
mode_many(int n)
{
	unsigned char **m = st_alloc(sizeof *m * (size_t)n);
	int i;

	for (i = 0; i < n; i++)
		m[i] = map(size, PROT_READ, MAP_SHARED, 0);
	check_chunk_page(m[n - 1], 1, "the last of the mappings");
	check_chunk_page(m[0], 5, "the first of the mappings");
	for (i = 0; i < n; i++)
		munmap(m[i], size);
	free(m);
	st_say("many: %d mappings of the whole file at once: ok", n);
}

static sigjmp_buf jb;

static void
on_sigbus(int sig)
{
	siglongjmp(jb, sig);
}

/* sigbus IDX: touching chunk IDX must raise SIGBUS (the test makes its fill impossible). */
static void
mode_sigbus(size_t idx)
{
	unsigned char *m = map(size, PROT_READ, MAP_SHARED, 0);
	volatile unsigned char got = 0;
	struct sigaction sa;
	size_t off = idx * chunk;
	int sig, tries;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	st_say("mapped: touching chunk %zu", idx);
	for (tries = 0; tries < 2; tries++) {
		sig = sigsetjmp(jb, 1);
		if (sig == 0) {
			got = m[off];
			st_die("read of chunk %zu returned 0x%02x (want SIGBUS; source byte 0x%02x)", idx,
			    got, ref[off]);
		}
		st_say("touch %d of chunk %zu: SIGBUS", tries + 1, idx);
	}
	munmap(m, size);
	st_say("sigbus: the access failed with SIGBUS, twice: ok");
}

int
main(int argc, char **argv)
{
	const char *mode;

	if (argc < 5) {
		fprintf(stderr, "usage: shim_mmap_lazy VIRTUAL_PATH REFERENCE CHUNK_SIZE MODE [ARG...]\n");
		return 2;
	}
	st_prog = "shim_mmap_lazy";
	ref = st_load(argv[2], &size);
	chunk = (size_t)strtoul(argv[3], NULL, 10);
	page = (size_t)sysconf(_SC_PAGESIZE);
	mode = argv[4];
	if (chunk < page || size < 4 * chunk)
		st_die("want a file of 4 chunks or more (chunk %zu, size %zu)", chunk, size);
	vfd = st_open(argv[1], O_RDONLY);
	if (strcmp(mode, "sparse") == 0)
		mode_sparse(argc - 5, argv + 5);
	else if (strcmp(mode, "shared") == 0)
		mode_walk(MAP_SHARED);
	else if (strcmp(mode, "private") == 0)
		mode_walk(MAP_PRIVATE);
	else if (strcmp(mode, "cow") == 0)
		mode_cow();
	else if (strcmp(mode, "threads") == 0)
		mode_threads(argc > 5 ? (int)strtol(argv[5], NULL, 10) : 4);
	else if (strcmp(mode, "fork") == 0)
		mode_fork();
	else if (strcmp(mode, "vmops") == 0)
		mode_vmops();
	else if (strcmp(mode, "populate") == 0)
		mode_populate();
	else if (strcmp(mode, "many") == 0 && argc > 5)
		mode_many((int)strtol(argv[5], NULL, 10));
	else if (strcmp(mode, "sigbus") == 0 && argc > 5)
		mode_sigbus((size_t)strtoul(argv[5], NULL, 10));
	else
		st_die("unknown mode %s", mode);
	close(vfd);
	free(ref);
	return 0;
}
