/* shim_fork: fork with a virtual fd open; the child reads through the inherited fd and through a new open while the parent reads too. */
#include "shimtest.h"

#include <sys/wait.h>

static int
pread_ok(int fd, const unsigned char *ref, size_t size, size_t off, size_t len, const char *who)
{
	unsigned char *buf = st_alloc(len);
	size_t got = 0;

	if (len > size - off)
		len = size - off;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n <= 0) {
			printf("%s: pread at %zu: %s\n", who, off + got, n < 0 ? strerror(errno) : "EOF");
			return 0;
		}
		got += (size_t)n;
	}
	st_check(buf, ref, size, off, len, who);
	free(buf);
	st_say("%s: %zu bytes at %zu ok", who, len, off);
	return 1;
}

int
main(int argc, char **argv)
{
	unsigned char *ref, buf[1000];
	size_t size, q;
	int fd, fd2, status, i;
	pid_t pid;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	q = size / 4;
	fd = st_open(argv[1], O_RDONLY);
	if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
		st_die("first read: %s", strerror(errno));
	st_check(buf, ref, size, 0, sizeof buf, "parent read before fork");

	fflush(stdout);
	if ((pid = fork()) < 0)
		st_die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* The inherited fd (cold region), its shared position, then a fresh open (cold region). */
		if (!pread_ok(fd, ref, size, q + 5, 2 * 65536 + 9, "child via inherited fd"))
			_exit(1);
		if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
			_exit(1);
		st_check(buf, ref, size, sizeof buf, sizeof buf, "child read() at the shared position");
		fd2 = st_open(argv[1], O_RDONLY);
		if (!pread_ok(fd2, ref, size, 3 * q + 3, size, "child via a new open"))
			_exit(1);
		_exit(0);
	}
	/* Meanwhile the parent reads another cold region. */
	if (!pread_ok(fd, ref, size, 2 * q + 1, 300000, "parent after fork"))
		st_die("parent read after fork failed");
	for (i = 0; i < 600; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0)
			st_die("waitpid: %s", strerror(errno));
		usleep(50000);
	}
	if (i == 600) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		st_die("the child did not finish within 30 s");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		st_die("the child failed (status 0x%x)", status);
	st_say("child exited 0");
	/* And the parent again after the child is gone: the whole file. */
	if (!pread_ok(fd, ref, size, 0, size, "parent after the child exited"))
		st_die("parent read after the child failed");
	close(fd);
	free(ref);
	return 0;
}
