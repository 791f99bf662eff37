/* shim_splice: splice from a virtual file into a pipe (explicit offset, then the file position); what comes out of the pipe must equal the source. */
#include "shimtest.h"

/* Splices [*off or position, +len) through a pipe into BUF, 64 KiB at a time. */
static void
through_pipe(int fd, loff_t *off, size_t len, unsigned char *buf, const char *what)
{
	size_t done = 0, i;
	int p[2];

	if (pipe(p) < 0)
		st_die("pipe: %s", strerror(errno));
	for (i = 0; i < 100000 && done < len; i++) {
		size_t want = len - done < 65536 ? len - done : 65536, got = 0;
		ssize_t n = splice(fd, off, p[1], NULL, want, 0);

		if (n < 0)
			st_die("%s: splice after %zu bytes: %s", what, done, strerror(errno));
		if (n == 0)
			st_die("%s: splice hit EOF after %zu of %zu bytes", what, done, len);
		while (got < (size_t)n) {
			ssize_t r = read(p[0], buf + done + got, (size_t)n - got);

			if (r <= 0)
				st_die("%s: reading the pipe: %s", what, r < 0 ? strerror(errno) : "EOF");
			got += (size_t)r;
		}
		done += (size_t)n;
	}
	if (done != len)
		st_die("%s: %zu of %zu bytes", what, done, len);
	close(p[0]);
	close(p[1]);
}

int
main(int argc, char **argv)
{
	unsigned char *ref, *buf;
	size_t size;
	loff_t off, start;
	off_t pos;
	int fd;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	buf = st_alloc(size);
	fd = st_open(argv[1], O_RDONLY);

	/* Explicit offset (cold), from an odd offset to the end; the position must not move. */
	start = (loff_t)(size / 3 + 5);
	off = start;
	through_pipe(fd, &off, size - (size_t)start, buf, "splice(offset)");
	st_check(buf, ref, size, (uint64_t)start, size - (size_t)start, "splice(offset)");
	if ((pos = lseek(fd, 0, SEEK_CUR)) != 0)
		st_die("splice with an offset moved the file position to %lld", (long long)pos);
	st_say("splice from offset %lld: %zu bytes ok", (long long)start, size - (size_t)start);

	/* NULL offset: the whole file through the position. */
	memset(buf, 0x5a, size);
	through_pipe(fd, NULL, size, buf, "splice(NULL offset)");
	st_check(buf, ref, size, 0, size, "splice(NULL offset)");
	st_say("splice of the whole file: %zu bytes ok", size);
	close(fd);
	free(buf);
	free(ref);
	return 0;
}
