/*
 * mmaptouch: maps a file read-only and shared (as safetensors and llama.cpp do) and touches
 * every 4 KiB page in order. Prints "file PATH BYTES NS SUM" with the same page checksum as
 * readfiles, timed from before open to after munmap.
 * usage: mmaptouch FILE
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

int
main(int argc, char **argv)
{
	struct stat st;
	unsigned char *p;
	uint64_t t0, sum;
	int fd;

	if (argc != 2)
		die("usage: mmaptouch FILE");
	t0 = now_ns();
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("mmaptouch: %s: %s", argv[1], strerror(errno));
	if (st.st_size == 0)
		die("mmaptouch: %s: empty", argv[1]);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmaptouch: mmap %s: %s", argv[1], strerror(errno));
	/* page_sum reads exactly one byte per page (and the last byte): every page is touched. */
	sum = page_sum(p, 0, (uint64_t)st.st_size, (uint64_t)st.st_size);
	if (munmap(p, (size_t)st.st_size) < 0 || close(fd) < 0)
		die("mmaptouch: %s: %s", argv[1], strerror(errno));
	printf("file %s %llu %llu %llu\n", argv[1], (unsigned long long)st.st_size,
	    (unsigned long long)(now_ns() - t0), (unsigned long long)sum);
	return 0;
}
