/* shim_copyrange: copy_file_range from a virtual file into a local file on the cache's filesystem (explicit offsets, then file positions). */
#include "shimtest.h"

/* EXDEV/EOPNOTSUPP/ENOSYS: the shim may refuse the offload so callers fall back to read/write. */
static int
refused(int e)
{
	return e == EXDEV || e == EOPNOTSUPP || e == ENOSYS;
}

/* copy_file_range through both file positions. */
static ssize_t
by_positions(int in, int out, size_t len)
{
	return copy_file_range(in, NULL, out, NULL, len, 0);
}

int
main(int argc, char **argv)
{
	unsigned char *ref;
	size_t size, i;
	loff_t in_off, out_off = 0, start;
	int fd, out;

	st_init(argc, argv, 3, "VIRTUAL_PATH REFERENCE_FILE OUTPUT_FILE");
	ref = st_load(argv[2], &size);
	fd = st_open(argv[1], O_RDONLY);
	if ((out = open(argv[3], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		st_die("%s: %s", argv[3], strerror(errno));

	/* Explicit offsets (cold): from an odd source offset; the file positions must not move. */
	start = (loff_t)(size / 2 + 333);
	in_off = start;
	for (i = 0; i < 10000 && (size_t)in_off < size; i++) {
		ssize_t n = copy_file_range(fd, &in_off, out, &out_off, size - (size_t)in_off, 0);

		if (n < 0 && i == 0 && refused(errno)) {
			st_say("copy_file_range refused with %s (callers fall back to read/write): ok",
			    strerror(errno));
			return 0;
		}
		if (n < 0)
			st_die("copy_file_range(in_off=%lld): %s", (long long)in_off, strerror(errno));
		if (n == 0)
			break;
	}
	st_copied_at(fd, out, ref, size, (off_t)start, (off_t)in_off, "copy_file_range");

	/* NULL offsets: the whole file through the file positions. */
	if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) != 0)
		st_die("resetting the output: %s", strerror(errno));
	st_copy_whole(fd, out, ref, size, by_positions, "copy_file_range");
	close(out);
	close(fd);
	free(ref);
	return 0;
}
