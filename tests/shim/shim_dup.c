/* shim_dup: dup, dup2 (onto fd 0, as dd does), dup3 and fcntl(F_DUPFD_CLOEXEC) of a virtual fd; reads through each copy after the original is closed. */
#include "shimtest.h"

int
main(int argc, char **argv)
{
	unsigned char *ref, buf[100000];
	size_t size, eighth;
	int fd, a, b, c, d;
	ssize_t n;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	eighth = size / 8;
	fd = st_open(argv[1], O_RDONLY);
	if ((a = dup(fd)) < 0)
		st_die("dup: %s", strerror(errno));
	if (dup2(fd, 0) != 0)
		st_die("dup2(%d, 0): %s", fd, strerror(errno));
	if ((b = dup3(fd, 100, O_CLOEXEC)) != 100)
		st_die("dup3(%d, 100): %s", fd, strerror(errno));
	if ((c = fcntl(fd, F_DUPFD_CLOEXEC, 200)) < 200)
		st_die("fcntl(F_DUPFD_CLOEXEC): %s", strerror(errno));
	if ((d = fcntl(fd, F_DUPFD, 300)) < 300)
		st_die("fcntl(F_DUPFD): %s", strerror(errno));
	if (close(fd) < 0)
		st_die("close: %s", strerror(errno));
	st_say("fd %d closed; copies %d (dup), 0 (dup2), %d (dup3), %d, %d (fcntl)", fd, a, b, c, d);

	/* Each copy reads a region nobody read before. */
	st_pread_check(a, ref, size, 1 * eighth + 11, 150000, "dup");
	st_pread_check(b, ref, size, 3 * eighth + 13, 150000, "dup3");
	st_pread_check(c, ref, size, 4 * eighth + 17, 150000, "F_DUPFD_CLOEXEC");
	st_pread_check(d, ref, size, 5 * eighth + 19, 150000, "F_DUPFD");

	/* dd style: lseek on fd 0, then read() through the shared position. */
	if (lseek(0, (off_t)(2 * eighth + 7), SEEK_SET) < 0)
		st_die("lseek(0): %s", strerror(errno));
	n = read(0, buf, sizeof buf);
	if (n <= 0)
		st_die("read(0) after dup2: %s", n < 0 ? strerror(errno) : "EOF");
	st_check(buf, ref, size, 2 * eighth + 7, (size_t)n, "read(0) after dup2");
	if (lseek(a, 0, SEEK_CUR) != (off_t)(2 * eighth + 7) + n)
		st_die("the dup'd fds do not share the file position");
	st_say("dup2 onto fd 0: lseek+read %zd bytes ok, position shared", n);

	/* Close all but one; the last copy still reads to the end. */
	close(a);
	close(0);
	close(b);
	close(c);
	st_pread_check(d, ref, size, 6 * eighth + 23, size, "last copy to EOF");
	close(d);
	free(ref);
	return 0;
}
