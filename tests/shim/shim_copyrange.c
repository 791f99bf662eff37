/* shim_copyrange: copy_file_range from a virtual file into a local file on the cache's filesystem (explicit offsets, then file positions). */
#include "shimtest.h"

/* EXDEV/EOPNOTSUPP/ENOSYS: the shim may refuse the offload so callers fall back to read/write. */
static int
refused(int e)
{
	return e == EXDEV || e == EOPNOTSUPP || e == ENOSYS;
}

int
main(int argc, char **argv)
{
	unsigned char *ref;
	size_t size, done = 0, i;
	loff_t in_off, out_off = 0, start;
	off_t pos;
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
	if ((size_t)in_off != size)
		st_die("copy_file_range with offsets stopped at %lld of %zu", (long long)in_off, size);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != 0)
		st_die("copy_file_range with offsets moved the input position to %lld", (long long)pos);
	st_check_fd(out, ref + start, size - (size_t)start, "copy_file_range(offsets) copy");
	st_say("copy_file_range from offset %lld: %zu bytes ok", (long long)start, size - (size_t)start);

	/* NULL offsets: the whole file through the file positions. */
	if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) != 0)
		st_die("resetting the output: %s", strerror(errno));
	for (i = 0; i < 10000 && done < size; i++) {
		ssize_t n = copy_file_range(fd, NULL, out, NULL, size - done, 0);

		if (n < 0)
			st_die("copy_file_range(NULL offsets) after %zu bytes: %s", done, strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done != size)
		st_die("copy_file_range copied %zu bytes, want %zu", done, size);
	if ((pos = lseek(fd, 0, SEEK_CUR)) != (off_t)size)
		st_die("input position %lld after copy_file_range, want %zu", (long long)pos, size);
	st_check_fd(out, ref, size, "copy_file_range(NULL offsets) copy");
	st_say("copy_file_range of the whole file: %zu bytes ok in %zu calls", done, i);
	close(out);
	close(fd);
	free(ref);
	return 0;
}
