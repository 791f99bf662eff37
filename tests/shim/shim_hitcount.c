/* shim_hitcount: ROUNDS times open, pread in 1 MiB pieces to EOF, and close PATH, between two marker calls (write(-1, "BEGIN") and write(-1, "END")) that an strace of it can cut its system calls by; prints the bytes read. Used to count what a hit costs against a local file. */
#include "shimtest.h"

int
main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	long long total = 0;
	int r, rounds;

	st_init(argc, argv, 2, "PATH ROUNDS");
	rounds = (int)strtol(argv[2], NULL, 10);
	if (write(-1, "BEGIN", 5) >= 0)
		st_die("the BEGIN marker was written");
	for (r = 0; r < rounds; r++) {
		int fd = st_open(argv[1], O_RDONLY);
		off_t off = 0;
		ssize_t n;

		while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
			off += n;
			total += n;
		}
		if (n < 0)
			st_die("pread at %lld: %s", (long long)off, strerror(errno));
		close(fd);
	}
	if (write(-1, "END", 3) >= 0)
		st_die("the END marker was written");
	printf("%lld\n", total);
	return 0;
}
