/* shim_chdir: chdir into a virtual dir, getcwd, then open/openat/fopen/stat of a relative path; also openat on a virtual dirfd and fchdir back into it. */
#include "shimtest.h"

static void
read_fd(int fd, const unsigned char *ref, size_t size, const char *what)
{
	unsigned char *buf = st_alloc(size);
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n <= 0)
			st_die("%s: read at %zu: %s", what, got, n < 0 ? strerror(errno) : "early EOF");
		got += (size_t)n;
	}
	if (read(fd, buf, 1) != 0)
		st_die("%s: no EOF at %zu", what, size);
	st_check(buf, ref, size, 0, size, what);
	free(buf);
	st_say("%s: %zu bytes ok", what, size);
}

static void
cwd_is(const char *want, const char *when)
{
	char cwd[4096];

	if (getcwd(cwd, sizeof cwd) == NULL)
		st_die("getcwd %s: %s", when, strerror(errno));
	if (strcmp(cwd, want) != 0)
		st_die("getcwd %s: \"%s\", want \"%s\"", when, cwd, want);
	st_say("getcwd %s: %s", when, cwd);
}

int
main(int argc, char **argv)
{
	const char *dir = argv[1], *rel = argv[2];
	unsigned char *ref;
	struct stat st;
	size_t size;
	int fd, dfd;
	FILE *f;

	st_init(argc, argv, 3, "VIRTUAL_DIR RELATIVE_PATH REFERENCE_FILE");
	ref = st_load(argv[3], &size);
	if (chdir(dir) < 0)
		st_die("chdir(%s): %s", dir, strerror(errno));
	cwd_is(dir, "after chdir");
	if (stat(rel, &st) < 0 || (size_t)st.st_size != size)
		st_die("stat(%s): %s (size %lld, want %zu)", rel, strerror(errno), (long long)st.st_size, size);
	fd = st_open(rel, O_RDONLY);
	read_fd(fd, ref, size, "open(relative)");
	close(fd);
	if ((fd = openat(AT_FDCWD, rel, O_RDONLY)) < 0)
		st_die("openat(AT_FDCWD, %s): %s", rel, strerror(errno));
	read_fd(fd, ref, size, "openat(AT_FDCWD, relative)");
	close(fd);
	if ((f = fopen(rel, "r")) == NULL)
		st_die("fopen(%s): %s", rel, strerror(errno));
	read_fd(fileno(f), ref, size, "fopen(relative)+read(fileno)");
	fclose(f);

	/* Leave, then come back through a dirfd. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		st_die("open(%s, O_DIRECTORY): %s", dir, strerror(errno));
	if (chdir("/") < 0)
		st_die("chdir(/): %s", strerror(errno));
	if ((fd = openat(dfd, rel, O_RDONLY)) < 0)
		st_die("openat(dirfd of %s, %s): %s", dir, rel, strerror(errno));
	read_fd(fd, ref, size, "openat(virtual dirfd, relative)");
	close(fd);
	if (fstatat(dfd, rel, &st, 0) < 0 || (size_t)st.st_size != size)
		st_die("fstatat(dirfd, %s): %s", rel, strerror(errno));
	if (fchdir(dfd) < 0)
		st_die("fchdir(dirfd of %s): %s", dir, strerror(errno));
	cwd_is(dir, "after fchdir");
	fd = st_open(rel, O_RDONLY);
	read_fd(fd, ref, size, "open(relative) after fchdir");
	close(fd);
	close(dfd);

	/* ".." from a virtual dir stays virtual. */
	if (chdir("..") < 0)
		st_die("chdir(..): %s", strerror(errno));
	{
		char parent[4096];
		const char *slash = strrchr(dir, '/');

		snprintf(parent, sizeof parent, "%.*s", slash == dir ? 1 : (int)(slash - dir), dir);
		cwd_is(parent, "after chdir(..)");
	}
	free(ref);
	return 0;
}
