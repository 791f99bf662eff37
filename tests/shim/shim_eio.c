/* shim_eio: reads of a virtual file whose missing chunks cannot be filled fail with EIO (pread, read, sendfile, mmap or SIGBUS on its access, fread); whatever bytes do arrive are the source's, never zeros. */
#include "shimtest.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

static int bad;
static sigjmp_buf sigbus_jump;

static void
on_sigbus(int sig)
{
	siglongjmp(sigbus_jump, sig);
}

/*
 * mmap: failing the call is right, and so is a lazy mapping whose access raises SIGBUS; a
 * mapping that shows zeros is not.
 */
static void __attribute__((noinline))
check_mmap(int fd, const unsigned char *ref, size_t size)
{
	unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);

	signal(SIGBUS, on_sigbus);
	if (m == MAP_FAILED) {
		st_say("mmap of the whole file: refused (%s) ok", strerror(errno));
	} else if (sigsetjmp(sigbus_jump, 1) != 0) {
		st_say("mmap of the whole file: its access raised SIGBUS ok");
		munmap(m, size);
	} else {
		st_check(m, ref, size, 0, size, "mmap of a file whose fills fail");
		printf("%s: FAIL: mmap succeeded and showed the right bytes although fills fail\n", st_prog);
		bad = 1;
		munmap(m, size);
	}
}

static void
want_eio(ssize_t n, const char *what)
{
	if (n >= 0) {
		printf("%s: FAIL: %s returned %zd, want -1 EIO\n", st_prog, what, n);
		bad = 1;
	} else if (errno != EIO) {
		printf("%s: FAIL: %s: %s, want EIO\n", st_prog, what, strerror(errno));
		bad = 1;
	} else {
		st_say("%s: EIO ok", what);
	}
}

int
main(int argc, char **argv)
{
	unsigned char *ref, *buf;
	size_t size, miss, at = 0, i;
	ssize_t n = 0;
	FILE *f;
	int fd, out;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	buf = st_alloc(size);
	miss = size / 2;
	fd = st_open(argv[1], O_RDONLY);

	/* pread of a missing range. */
	n = pread(fd, buf, 100000, (off_t)miss);
	if (n > 0)
		st_check(buf, ref, size, miss, (size_t)n, "pread of a missing range");
	want_eio(n, "pread of a missing range");

	/* Sequential read() from 0: correct bytes up to some point, then EIO (not EOF). */
	for (i = 0; i < 100000 && at < size; i++) {
		if ((n = read(fd, buf, 65536)) <= 0)
			break;
		st_check(buf, ref, size, at, (size_t)n, "read() before the failure");
		at += (size_t)n;
	}
	if (at >= size)
		printf("%s: FAIL: read() returned the whole file although its fills fail\n", st_prog), bad = 1;
	else
		want_eio(n, "sequential read() into the missing range");
	st_say("read() returned %zu correct bytes first", at);

	/* sendfile into a memfd: fails; what it copied is correct. */
	if ((out = memfd_create("shim_eio", MFD_CLOEXEC)) < 0)
		st_die("memfd_create: %s", strerror(errno));
	{
		off_t off = 0;

		n = sendfile(out, fd, &off, size);
		if (n > 0)
			st_check_fd(out, ref, (size_t)n, "sendfile output before the failure");
		want_eio(n, "sendfile of the whole file");
	}
	close(out);

	check_mmap(fd, ref, size);

	/* fopen+fread: fopen or fread fails; bytes returned are correct. */
	errno = 0;
	if ((f = fopen(argv[1], "r")) == NULL) {
		if (errno == EIO)
			st_say("fopen: EIO ok");
		else
			printf("%s: FAIL: fopen: %s, want EIO\n", st_prog, strerror(errno)), bad = 1;
	} else {
		size_t got = fread(buf, 1, size, f);

		st_check(buf, ref, size, 0, got, "fread before the failure");
		if (got == size || !ferror(f))
			printf("%s: FAIL: fread got %zu of %zu bytes without an error\n", st_prog, got, size), bad = 1;
		else
			st_say("fread: %zu correct bytes, then an error ok", got);
		fclose(f);
	}
	close(fd);
	free(buf);
	free(ref);
	if (bad)
		st_die("unfillable reads did not all fail with EIO (see above)");
	return 0;
}
