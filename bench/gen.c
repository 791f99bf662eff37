/*
 * gen: writes BYTES deterministic pseudo-random bytes (xorshift64*, seeded) to FILE, fast
 * enough that making a 2 GiB checkpoint costs what the page cache costs.
 * usage: gen SEED BYTES FILE
 */
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"

int
main(int argc, char **argv)
{
	uint64_t x, left, *w;
	size_t blk = 4u << 20; /* large writes: large page-cache folios, as modelshim's chunk fills */
	int fd;

	if (argc != 4)
		die("usage: gen SEED BYTES FILE");
	x = strtoull(argv[1], NULL, 0) * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	left = strtoull(argv[2], NULL, 0);
	if ((w = aligned_alloc(PAGE, blk)) == NULL)
		die("gen: out of memory");
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("gen: %s: %s", argv[3], strerror(errno));
	while (left > 0) {
		size_t n = left < blk ? (size_t)left : blk;

		for (size_t i = 0; i < blk / 8; i++) {
			x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
			w[i] = x * 0x2545f4914f6cdd1dull;
		}
		if (write(fd, w, n) != (ssize_t)n)
			die("gen: write %s: %s", argv[3], strerror(errno));
		left -= n;
	}
	if (close(fd) < 0)
		die("gen: close %s: %s", argv[3], strerror(errno));
	return 0;
}
