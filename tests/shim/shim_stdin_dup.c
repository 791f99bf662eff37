/* shim_stdin_dup: a virtual file put on fd 0 (open+dup2, or close(0)+open) and read through stdin's stdio (fread, fgets, getline), where glibc reads it internally. */
#include "shimtest.h"

#define LINE_MAX_BYTES (1 << 20)

static int stdin_used;

/* Puts a fresh open of PATH on fd 0; stdin's buffer and flags are reset if it was used before. */
static void
onto_stdin(const char *path, int close_first)
{
	int fd;

	if (close_first) {
		if (close(STDIN_FILENO) < 0)
			st_die("close(0): %s", strerror(errno));
		if ((fd = st_open(path, O_RDONLY)) != STDIN_FILENO)
			st_die("close(0)+open(%s) returned fd %d, want 0", path, fd);
	} else {
		fd = st_open(path, O_RDONLY);
		if (fd != STDIN_FILENO) {
			if (dup2(fd, STDIN_FILENO) != STDIN_FILENO)
				st_die("dup2(%d, 0): %s", fd, strerror(errno));
			close(fd);
		}
	}
	if (stdin_used) {
		clearerr(stdin);
		if (fseek(stdin, 0, SEEK_SET) != 0)
			st_die("fseek(stdin, 0, SEEK_SET): %s", strerror(errno));
	}
	stdin_used = 1;
}

/* What a consumer of stdin got through FN (GOT[0..N)), compared with the reference; frees GOT. */
static void
check_all(unsigned char *got, size_t n, const unsigned char *ref, size_t size, const char *what,
    const char *fn)
{
	if (ferror(stdin))
		st_die("%s: %s at %zu: %s", what, fn, n, strerror(errno));
	st_check(got, ref, size, 0, n < size ? n : size, what);
	if (n != size)
		st_die("%s: got %zu bytes, want %zu", what, n, size);
	free(got);
}

/* fread in odd sizes until EOF. */
static void
by_fread(const unsigned char *ref, size_t size, const char *what)
{
	static const size_t sizes[] = { 1000, 70001, 4096, 7, 333333 };
	unsigned char *buf = st_alloc(size + 1);
	size_t at = 0, n, want;
	int i;

	for (i = 0; i < 1000000 && at <= size; i++) {
		want = sizes[i % 5] < size + 1 - at ? sizes[i % 5] : size + 1 - at;
		if ((n = fread(buf + at, 1, want, stdin)) == 0)
			break;
		at += n;
	}
	check_all(buf, at, ref, size, what, "fread");
	st_say("%s: %zu bytes ok", what, at);
}

/* fgets with a large buffer; each call's length is the change of ftell(stdin) (binary data). */
static void
by_fgets(const unsigned char *ref, size_t size, const char *what)
{
	unsigned char *buf = st_alloc(size + 1);
	char *line = st_alloc(LINE_MAX_BYTES);
	long before = ftell(stdin), after;
	size_t at = 0, len, calls = 0;

	if (before != 0)
		st_die("%s: ftell(stdin) is %ld before the first fgets, want 0", what, before);
	for (calls = 0; calls <= size + 1 && fgets(line, LINE_MAX_BYTES, stdin) != NULL; calls++) {
		if ((after = ftell(stdin)) < 0)
			st_die("%s: ftell(stdin): %s", what, strerror(errno));
		len = (size_t)(after - before);
		if (after <= before || len > LINE_MAX_BYTES - 1 || at + len > size)
			st_die("%s: fgets call %zu moved the position from %ld to %ld (file size %zu)",
			    what, calls, before, after, size);
		memcpy(buf + at, line, len);
		at += len;
		before = after;
	}
	check_all(buf, at, ref, size, what, "fgets");
	free(line);
	st_say("%s: %zu bytes in %zu lines ok", what, at, calls);
}

/* getline: the lengths it returns, concatenated. */
static void
by_getline(const unsigned char *ref, size_t size, const char *what)
{
	unsigned char *buf = st_alloc(size + 1);
	char *line = NULL;
	size_t cap = 0, at = 0, calls;
	ssize_t n;

	for (calls = 0; calls <= size + 1 && (n = getline(&line, &cap, stdin)) > 0; calls++) {
		if ((size_t)n > size - at)
			st_die("%s: getline returned %zd bytes at %zu, past the %zu-byte file", what, n,
			    at, size);
		memcpy(buf + at, line, (size_t)n);
		at += (size_t)n;
	}
	check_all(buf, at, ref, size, what, "getline");
	free(line);
	st_say("%s: %zu bytes in %zu lines ok", what, at, calls);
}

/* The methods, in the order "all" runs them: how the file gets onto fd 0, how stdin is read. */
static const struct method {
	const char *name;
	int close_first; /* close(0) and open, instead of open and dup2 */
	void (*read)(const unsigned char *ref, size_t size, const char *what);
	const char *what;
} methods[] = {
	{ "fread", 0, by_fread, "open+dup2 onto 0, fread(stdin)" },
	{ "fgets", 0, by_fgets, "open+dup2 onto 0, fgets(stdin)" },
	{ "getline", 0, by_getline, "open+dup2 onto 0, getline(stdin)" },
	{ "open0", 1, by_fread, "close(0)+open as fd 0, fread(stdin)" },
};

int
main(int argc, char **argv)
{
	const struct method *mt;
	unsigned char *ref;
	size_t size;
	int all, ran = 0;

	st_init(argc, argv, 3, "VIRTUAL_PATH REFERENCE_FILE fread|fgets|getline|open0|all");
	all = strcmp(argv[3], "all") == 0;
	ref = st_load(argv[2], &size);
	for (mt = methods; mt < methods + sizeof methods / sizeof methods[0]; mt++) {
		if (!all && strcmp(argv[3], mt->name) != 0)
			continue;
		onto_stdin(argv[1], mt->close_first);
		mt->read(ref, size, mt->what);
		ran++;
	}
	if (ran == 0)
		st_die("unknown method %s", argv[3]);
	free(ref);
	return 0;
}
