/* shim_sendfile: sendfile from a virtual file (file position, then an explicit offset) into a memfd; the copy must equal the source. */
#include "shimtest.h"

#include <sys/mman.h>
#include <sys/sendfile.h>

/* sendfile through the input's file position. */
static ssize_t
by_position(int in, int out, size_t len)
{
	return sendfile(out, in, NULL, len);
}

int
main(int argc, char **argv)
{
	unsigned char *ref;
	size_t size, i;
	off_t off, start;
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
	st_copied_at(fd, out2, ref, size, start, off, "sendfile");

	/* NULL offset: uses and advances the file position, the whole file in a bounded loop. */
	st_copy_whole(fd, out, ref, size, by_position, "sendfile");
	close(out);
	close(out2);
	close(fd);
	free(ref);
	return 0;
}
