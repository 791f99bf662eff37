/* shim_sendfile: sendfile from a virtual file (file position, then an explicit offset) into a memfd; the copy must equal the source. */
#include "shimtest.h"

#include <sys/mman.h>
#include <sys/sendfile.h>

int
main(int argc, char **argv)
{
	unsigned char *ref;
	size_t size, done = 0, i;
	off_t off, start, pos;
	int fd, out, out2;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	fd = st_open(argv[1], O_RDONLY);
	if ((out = memfd_create("shim_sendfile", MFD_CLOEXEC)) < 0 ||
	    (out2 = memfd_create("shim_sendfile2", MFD_CLOEXEC)) < 0)
		st_die("memfd_create: %s", strerror(errno));

	/* Explicit offset first (cold): from an odd offset, the file position must not move. */
	start = (off_t)(size / 3 + 7);
	off = start;
	for (i = 0; i < 10000 && (size_t)off < size; i++) {
		ssize_t n = sendfile(out2, fd, &off, size - (size_t)off);

		if (n < 0)
			st_die("sendfile(offset=%lld): %s", (long long)off, strerror(errno));
		if (n == 0)
			break;
	}
	if ((size_t)off != size)
		st_die("sendfile with an offset stopped at %lld of %zu", (long long)off, size);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != 0)
		st_die("sendfile with an offset moved the file position to %lld", (long long)pos);
	st_check_fd(out2, ref + start, size - (size_t)start, "sendfile(offset) copy");
	st_say("sendfile with offset %lld: %zu bytes ok", (long long)start, size - (size_t)start);

	/* NULL offset: uses and advances the file position, the whole file in a bounded loop. */
	for (i = 0; i < 10000 && done < size; i++) {
		ssize_t n = sendfile(out, fd, NULL, size - done);

		if (n < 0)
			st_die("sendfile(NULL offset) after %zu bytes: %s", done, strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done != size)
		st_die("sendfile copied %zu bytes, want %zu", done, size);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != (off_t)size)
		st_die("file position %lld after sendfile, want %zu", (long long)pos, size);
	st_check_fd(out, ref, size, "sendfile(NULL offset) copy");
	st_say("sendfile of the whole file: %zu bytes ok in %zu calls", done, i);
	close(out);
	close(out2);
	close(fd);
	free(ref);
	return 0;
}
