/* shim_fdreuse: close_range, closefrom, raw SYS_close_range and dup2 over fds: reused fd numbers read their new files, virtual files still read right. */
#include "shimtest.h"

#include <sys/syscall.h>

/* A pipe that takes the lowest free number must work as a pipe. */
static void
pipe_works(int want_fd, const char *what)
{
	char buf[8];
	int p[2];

	if (pipe(p) < 0)
		st_die("pipe: %s", strerror(errno));
	if (write(p[1], "hello", 5) != 5 || read(p[0], buf, sizeof buf) != 5 || memcmp(buf, "hello", 5) != 0)
		st_die("%s: a pipe on reused fd %d/%d does not work: %s", what, p[0], p[1], strerror(errno));
	st_say("%s: pipe on fds %d,%d (virtual fd was %d) works", what, p[0], p[1], want_fd);
	close(p[0]);
	close(p[1]);
}

int
main(int argc, char **argv)
{
	unsigned char *ref, *loc;
	size_t size, lsize, q;
	int fd, l, v;

	st_init(argc, argv, 3, "VIRTUAL_PATH REFERENCE_FILE OTHER_LOCAL_FILE");
	ref = st_load(argv[2], &size);
	loc = st_load(argv[3], &lsize);
	q = size / 8;

	/* close_range(3, ~0U) behind the shim's back, then the number is reused. */
	fd = st_open(argv[1], O_RDONLY);
	st_pread_check(fd, ref, size, 0, 1000, "before close_range");
	if (close_range(3, ~0U, 0) < 0)
		st_die("close_range: %s", strerror(errno));
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
		st_die("fd %d still open after close_range", fd);
	pipe_works(fd, "after close_range");
	l = st_open(argv[3], O_RDONLY);
	st_pread_check(l, loc, lsize, 0, lsize, "local file on a reused number after close_range");
	close(l);
	fd = st_open(argv[1], O_RDONLY);
	st_pread_check(fd, ref, size, 1 * q + 3, 200000, "virtual file reopened after close_range");

	/* closefrom(3), same again. */
	closefrom(3);
	pipe_works(fd, "after closefrom");
	fd = st_open(argv[1], O_RDONLY);
	st_pread_check(fd, ref, size, 2 * q + 5, 200000, "virtual file reopened after closefrom");

	/* The raw system call: the shim cannot see it and must notice the fd changed. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		st_die("syscall(SYS_close_range): %s", strerror(errno));
	l = st_open(argv[3], O_RDONLY);
	if (l != fd)
		st_say("note: local file got fd %d, not the old virtual fd %d", l, fd);
	st_pread_check(l, loc, lsize, 0, lsize, "local file on a reused number after raw close_range");
	close(l);

	/* dup2 a local fd over a virtual one: the number now reads the local file. */
	v = st_open(argv[1], O_RDONLY);
	l = st_open(argv[3], O_RDONLY);
	if (dup2(l, v) != v)
		st_die("dup2(local, virtual): %s", strerror(errno));
	st_pread_check(v, loc, lsize, 0, lsize, "local file dup2'd over a virtual fd");
	{
		struct stat st;

		if (fstat(v, &st) < 0 || (size_t)st.st_size != lsize)
			st_die("fstat after dup2 over a virtual fd: size %lld, want %zu", (long long)st.st_size, lsize);
	}
	/* dup2 a virtual fd over the local one: the number now reads the virtual file (cold region). */
	fd = st_open(argv[1], O_RDONLY);
	if (dup2(fd, l) != l)
		st_die("dup2(virtual, local): %s", strerror(errno));
	close(fd);
	st_pread_check(l, ref, size, 5 * q + 7, 200000, "virtual fd dup2'd over a local fd");
	st_pread_check(l, ref, size, 0, size, "the whole virtual file through that fd");
	close(l);
	close(v);
	free(ref);
	free(loc);
	return 0;
}
