/*
 * readfiles: reads each named file whole with read(2) in BUF-sized calls (default 1 MiB), the
 * way a loader streams a checkpoint. Prints one line per file, "file PATH BYTES NS SUM", timed
 * from before open to after close, then "total BYTES NS". Paths come from the arguments or,
 * with -l LIST, one per line from LIST. Any error is fatal (exit 1): a benchmark never counts a
 * failed read as a fast one.
 * usage: readfiles [-b BYTES] [-l LIST] [FILE...]
 */
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"

static unsigned char *buf;
static size_t bufsz = 1u << 20;
static uint64_t tot_bytes;

static void
one(const char *path)
{
	uint64_t t0 = now_ns(), pos = 0, sum = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	off_t size;

	if (fd < 0)
		die("readfiles: open %s: %s", path, strerror(errno));
	size = lseek(fd, 0, SEEK_END);
	if (size < 0 || lseek(fd, 0, SEEK_SET) != 0)
		die("readfiles: lseek %s: %s", path, strerror(errno));
	for (;;) {
		n = read(fd, buf, bufsz);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("readfiles: read %s at %llu: %s", path, (unsigned long long)pos,
			    strerror(errno));
		}
		if (n == 0)
			break;
		sum += page_sum(buf, pos, (uint64_t)n, (uint64_t)size);
		pos += (uint64_t)n;
	}
	if (close(fd) < 0)
		die("readfiles: close %s: %s", path, strerror(errno));
	if (pos != (uint64_t)size)
		die("readfiles: %s: read %llu bytes of %lld", path, (unsigned long long)pos,
		    (long long)size);
	printf("file %s %llu %llu %llu\n", path, (unsigned long long)pos,
	    (unsigned long long)(now_ns() - t0), (unsigned long long)sum);
	tot_bytes += pos;
}

int
main(int argc, char **argv)
{
	const char *list = NULL;
	uint64_t t0;
	int c;

	while ((c = getopt(argc, argv, "b:l:")) != -1) {
		switch (c) {
		case 'b': bufsz = strtoull(optarg, NULL, 0); break;
		case 'l': list = optarg; break;
		default: die("usage: readfiles [-b BYTES] [-l LIST] [FILE...]");
		}
	}
	if (bufsz == 0 || (buf = aligned_alloc(PAGE, (bufsz + PAGE - 1) / PAGE * PAGE)) == NULL)
		die("readfiles: bad buffer size");
	t0 = now_ns();
	if (list != NULL) {
		char line[4096];
		FILE *f = fopen(list, "r");

		if (f == NULL)
			die("readfiles: %s: %s", list, strerror(errno));
		while (fgets(line, sizeof line, f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (line[0] != '\0')
				one(line);
		}
		fclose(f);
	}
	for (int i = optind; i < argc; i++)
		one(argv[i]);
	printf("total %llu %llu\n", (unsigned long long)tot_bytes, (unsigned long long)(now_ns() - t0));
	return 0;
}
