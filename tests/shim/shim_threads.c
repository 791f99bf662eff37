/* shim_threads: 16 threads doing random preads (sizes 1..300000) on one shared virtual fd and on their own fds, all compared with the source. */
#include "shimtest.h"

#include <pthread.h>

#define NTHREADS 16
#define NREADS 40

static const unsigned char *ref;
static size_t size;
static const char *vpath;
static int shared_fd;
static char errors[NTHREADS][256];
static unsigned long long bytes[NTHREADS];

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *
worker(void *arg)
{
	long t = (long)arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
	unsigned char *buf = st_alloc(300000);
	int own = open(vpath, O_RDONLY), i;

	if (own < 0) {
		snprintf(errors[t], sizeof errors[t], "open: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < NREADS; i++) {
		size_t len = 1 + rnd(&seed) % 300000, off = rnd(&seed) % size, got = 0;
		int fd = i % 2 ? own : shared_fd;

		if (len > size - off)
			len = size - off;
		while (got < len) {
			ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

			if (n <= 0) {
				snprintf(errors[t], sizeof errors[t], "pread(%zu, %zu): %s", off + got, len - got,
				    n < 0 ? strerror(errno) : "EOF");
				goto out;
			}
			got += (size_t)n;
		}
		if (memcmp(buf, ref + off, len) != 0) {
			size_t j;

			for (j = 0; buf[j] == ref[off + j]; j++)
				;
			snprintf(errors[t], sizeof errors[t], "pread(%zu, %zu): byte %zu is 0x%02x, want 0x%02x",
			    off, len, off + j, buf[j], ref[off + j]);
			goto out;
		}
		bytes[t] += len;
	}
out:
	close(own);
	free(buf);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	unsigned long long total = 0;
	long t;
	int bad = 0;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	vpath = argv[1];
	if (size == 0)
		st_die("empty reference");
	shared_fd = st_open(vpath, O_RDONLY);
	for (t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t) != 0)
			st_die("pthread_create failed");
	for (t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		if (errors[t][0]) {
			fprintf(stderr, "%s: FAIL: thread %ld: %s\n", st_prog, t, errors[t]);
			bad = 1;
		}
		total += bytes[t];
	}
	if (bad)
		return 1;
	st_say("%d threads x %d random preads: %llu bytes ok", NTHREADS, NREADS, total);
	close(shared_fd);
	return 0;
}
