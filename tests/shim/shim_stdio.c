/* shim_stdio: fopen+fread (odd sizes), fseek/fgetc/ungetc/ftell, fopen "rm" (glibc mmaps) and fdopen of a virtual file. */
#include "shimtest.h"

/* Reads the whole stream in odd-sized freads from position AT and compares. */
static void
read_all(FILE *f, const unsigned char *ref, size_t size, size_t at, const char *what)
{
	static const size_t sizes[] = { 1000, 7, 70001, 4096, 333333, 1 };
	unsigned char *buf = st_alloc(size);
	size_t i, n;

	for (i = 0; i < 100000 && at < size; i++) {
		n = fread(buf, 1, sizes[i % 6], f);
		if (n == 0)
			st_die("%s: fread at %zu: %s", what, at, ferror(f) ? strerror(errno) : "early EOF");
		st_check(buf, ref, size, at, n, what);
		at += n;
	}
	if (at != size || fread(buf, 1, 1, f) != 0 || !feof(f))
		st_die("%s: stream ended at %zu, want EOF at %zu", what, at, size);
	free(buf);
}

int
main(int argc, char **argv)
{
	unsigned char *ref, buf[200];
	size_t size;
	long mid;
	FILE *f;
	int c, fd;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	if (size < 400)
		st_die("reference too small for this test");
	mid = (long)(size / 2 + 17);

	/* "r": seek around first (cold), then read everything. */
	if ((f = fopen(argv[1], "r")) == NULL)
		st_die("fopen(%s, \"r\"): %s", argv[1], strerror(errno));
	if (fseek(f, mid, SEEK_SET) != 0 || (c = fgetc(f)) == EOF)
		st_die("fseek+fgetc at %ld: %s", mid, strerror(errno));
	if (c != ref[mid])
		st_die("fgetc at %ld: got 0x%02x, want 0x%02x%s", mid, c, ref[mid], c == 0 ? " (zero)" : "");
	if (ungetc(c, f) == EOF || ftell(f) != mid)
		st_die("ungetc/ftell at %ld: ftell says %ld", mid, ftell(f));
	if (fread(buf, 1, sizeof buf, f) != sizeof buf)
		st_die("fread after ungetc: %s", strerror(errno));
	st_check(buf, ref, size, (uint64_t)mid, sizeof buf, "fread after ungetc");
	if (fseek(f, -100, SEEK_END) != 0 || fread(buf, 1, 100, f) != 100 || ftell(f) != (long)size)
		st_die("fseek(-100, SEEK_END)+fread: %s", strerror(errno));
	st_check(buf, ref, size, size - 100, 100, "fread of the last 100 bytes");
	st_say("fopen \"r\": fseek/fgetc/ungetc/ftell/SEEK_END ok");
	rewind(f);
	read_all(f, ref, size, 0, "fopen \"r\" fread");
	fclose(f);
	st_say("fopen \"r\": fread of %zu bytes ok", size);

	/* "rm": glibc reads through an internal mmap of the file. */
	if ((f = fopen(argv[1], "rme")) == NULL)
		st_die("fopen(%s, \"rme\"): %s", argv[1], strerror(errno));
	read_all(f, ref, size, 0, "fopen \"rm\" fread");
	fclose(f);
	st_say("fopen \"rm\": fread of %zu bytes ok", size);

	/* fdopen of an fd whose position is not at 0. */
	fd = st_open(argv[1], O_RDONLY);
	if (lseek(fd, (off_t)(size / 3), SEEK_SET) < 0 || (f = fdopen(fd, "r")) == NULL)
		st_die("lseek+fdopen: %s", strerror(errno));
	read_all(f, ref, size, size / 3, "fdopen fread");
	fclose(f);
	st_say("fdopen: fread from %zu to EOF ok", size / 3);

	/* getline: an unbounded consumer whose refills glibc does internally. */
	{
		char *line = NULL;
		size_t cap = 0, at = 0, i;
		ssize_t n = 0;

		if ((f = fopen(argv[1], "r")) == NULL)
			st_die("fopen for getline: %s", strerror(errno));
		for (i = 0; i <= size && (n = getline(&line, &cap, f)) > 0; i++) {
			st_check((unsigned char *)line, ref, size, at, (size_t)n, "getline");
			at += (size_t)n;
		}
		if (at != size)
			st_die("getline stopped at %zu of %zu: %s", at, size, ferror(f) ? strerror(errno) : "EOF");
		free(line);
		fclose(f);
		st_say("getline: %zu lines, %zu bytes ok", i, at);
	}
	free(ref);
	return 0;
}
