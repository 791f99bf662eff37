/*
 * pread4k: per-call cost of small reads. Mode "rand" (default): N preads of 4 KiB at random
 * 4 KiB-aligned offsets (xorshift, fixed seed) over the whole file; "open": N rounds of
 * open+fstat+close of the file (the path-check cost). With -w the file is read once with 1 MiB
 * reads before the clock starts, so the page cache is warm. With -t SECONDS the loop also stops
 * once that much time has passed (slow peers), so N is an upper bound. Prints
 * "ops DONE NS NS_PER_OP SUM".
 * With -c K (mode rand), first, untimed: the first K reads of the same seeded sequence, every
 * byte hashed (FNV-1a 64), printed as "check K HASH": the byte check, the same reads for every
 * peer whatever the time cap.
 * usage: pread4k [-n N] [-t SECONDS] [-m rand|open] [-s SEED] [-c K] [-w] FILE
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define USAGE "usage: pread4k [-n N] [-t SECONDS] [-m rand|open] [-s SEED] [-c K] [-w] FILE"

/* The offset of the next 4 KiB read: xorshift64 over the file's pages. */
static off_t
next_off(uint64_t *x, uint64_t pages)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return (off_t)((*x % pages) * PAGE);
}

/* FNV-1a 64 over the first K reads of the sequence from SEED. */
static uint64_t
check(int fd, unsigned char *buf, uint64_t k, uint64_t seed, uint64_t pages)
{
	uint64_t x = seed, h = 0xcbf29ce484222325ull;

	for (uint64_t i = 0; i < k; i++) {
		off_t off = next_off(&x, pages);
		ssize_t r = pread(fd, buf, PAGE, off);

		if (r != (ssize_t)PAGE)
			die("pread4k: check pread at %lld: %s", (long long)off,
			    r < 0 ? strerror(errno) : "short read");
		for (unsigned j = 0; j < PAGE; j++)
			h = (h ^ buf[j]) * 0x100000001b3ull;
	}
	return h;
}

int
main(int argc, char **argv)
{
	uint64_t n = 1000000, cap = 0, done = 0, seed = 0x9e3779b97f4a7c15ull, t0, dt, sum = 0, pages;
	uint64_t k = 0;
	const char *mode = "rand";
	int warm = 0, c, fd;
	unsigned char *buf;
	struct stat st;

	while ((c = getopt(argc, argv, "n:t:m:s:c:w")) != -1) {
		switch (c) {
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 't': cap = (uint64_t)(strtod(optarg, NULL) * 1e9); break;
		case 'm': mode = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0) | 1; break;
		case 'c': k = strtoull(optarg, NULL, 0); break;
		case 'w': warm = 1; break;
		default: die(USAGE);
		}
	}
	if (optind + 1 != argc || n == 0)
		die(USAGE);
	if ((buf = aligned_alloc(PAGE, 1u << 20)) == NULL)
		die("pread4k: out of memory");
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("pread4k: %s: %s", argv[optind], strerror(errno));
	pages = (uint64_t)st.st_size / PAGE;
	if (pages == 0)
		die("pread4k: %s: smaller than a page", argv[optind]);
	if (warm) {
		ssize_t r;
		off_t off = 0;

		while ((r = pread(fd, buf, 1u << 20, off)) > 0)
			off += r;
		if (r < 0)
			die("pread4k: warm-up read: %s", strerror(errno));
	}
	if (strcmp(mode, "rand") == 0) {
		uint64_t x = seed;

		if (k > 0)
			printf("check %llu %llu\n", (unsigned long long)k,
			    (unsigned long long)check(fd, buf, k, seed, pages));
		t0 = now_ns();
		for (done = 0; done < n; done++) {
			if (cap != 0 && (done & 255) == 0 && done > 0 && now_ns() - t0 > cap)
				break;
			off_t off = next_off(&x, pages);
			ssize_t r = pread(fd, buf, PAGE, off);

			if (r != (ssize_t)PAGE)
				die("pread4k: pread at %lld: %s", (long long)off,
				    r < 0 ? strerror(errno) : "short read");
			sum += buf[0] + buf[PAGE - 1];
		}
		dt = now_ns() - t0;
	} else if (strcmp(mode, "open") == 0) {
		t0 = now_ns();
		for (done = 0; done < n; done++) {
			if (cap != 0 && (done & 255) == 0 && done > 0 && now_ns() - t0 > cap)
				break;
			int f = open(argv[optind], O_RDONLY | O_CLOEXEC);
			struct stat s2;

			if (f < 0 || fstat(f, &s2) < 0 || close(f) < 0)
				die("pread4k: open/fstat/close: %s", strerror(errno));
			sum += (uint64_t)s2.st_size;
		}
		dt = now_ns() - t0;
	} else {
		die("pread4k: unknown mode %s", mode);
	}
	close(fd);
	printf("ops %llu %llu %.1f %llu\n", (unsigned long long)done, (unsigned long long)dt,
	    (double)dt / (double)done, (unsigned long long)sum);
	return 0;
}
