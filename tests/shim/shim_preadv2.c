/* shim_preadv2: preadv2 (flags 0, offset -1, RWF_NOWAIT), preadv and readv with several iovecs across chunk boundaries. */
#include "shimtest.h"

#include <sys/uio.h>

#define NIOV 4
static const size_t lens[NIOV] = { 1, 4095, 70001, 3 };

static void
setup(struct iovec *iov, unsigned char *buf)
{
	size_t i, at = 0;

	for (i = 0; i < NIOV; i++) {
		iov[i].iov_base = buf + at;
		iov[i].iov_len = lens[i];
		at += lens[i];
	}
	memset(buf, 0xa5, at);
}

/* Bytes a vectored read at OFF must return: all of them, or up to the end of the file. */
static size_t
want_len(size_t size, uint64_t off)
{
	size_t total = lens[0] + lens[1] + lens[2] + lens[3];

	return off >= size ? 0 : (size - off < total ? size - off : total);
}

int
main(int argc, char **argv)
{
	struct iovec iov[NIOV];
	unsigned char *ref, buf[80000];
	size_t size, i;
	char what[128];
	ssize_t n;
	int fd;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	fd = st_open(argv[1], O_RDONLY);
	{
		/* Offsets spread over the file: start, a chunk edge, the middle, the tail, past EOF. */
		uint64_t offs[] = { size / 2 + 13, 65535, 0, size > 1000 ? size - 1000 : 0,
			size + 5, size / 3 + 1 };

		for (i = 0; i < sizeof offs / sizeof offs[0]; i++) {
			setup(iov, buf);
			n = preadv2(fd, iov, NIOV, (off_t)offs[i], 0);
			snprintf(what, sizeof what, "preadv2(off=%llu, flags=0)", (unsigned long long)offs[i]);
			if (n < 0)
				st_die("%s: %s", what, strerror(errno));
			if ((size_t)n != want_len(size, offs[i]))
				st_die("%s returned %zd, want %zu", what, n, want_len(size, offs[i]));
			if (n > 0)
				st_check(buf, ref, size, offs[i], (size_t)n, what);
			st_say("%s: %zd bytes ok", what, n);
		}
	}
	/* preadv, same contract, at a fresh region. */
	setup(iov, buf);
	n = preadv(fd, iov, NIOV, (off_t)(size / 4 + 7));
	if (n < 0 || (size_t)n != want_len(size, size / 4 + 7))
		st_die("preadv(off=%zu) returned %zd (%s)", size / 4 + 7, n, n < 0 ? strerror(errno) : "short");
	st_check(buf, ref, size, size / 4 + 7, (size_t)n, "preadv");
	st_say("preadv: %zd bytes ok", n);

	/* Offset -1: reads at the file position and advances it. */
	{
		off_t pos = (off_t)(size / 5 * 3 + 101), now;

		if (lseek(fd, pos, SEEK_SET) != pos)
			st_die("lseek: %s", strerror(errno));
		setup(iov, buf);
		n = preadv2(fd, iov, NIOV, -1, 0);
		if (n < 0 || (size_t)n != want_len(size, (uint64_t)pos))
			st_die("preadv2(off=-1) at %lld returned %zd (%s)", (long long)pos, n,
			    n < 0 ? strerror(errno) : "short");
		st_check(buf, ref, size, (uint64_t)pos, (size_t)n, "preadv2(off=-1)");
		if ((now = lseek(fd, 0, SEEK_CUR)) != pos + n)
			st_die("preadv2(off=-1) left the position at %lld, want %lld", (long long)now,
			    (long long)(pos + n));
		st_say("preadv2(off=-1): %zd bytes ok, position advanced", n);

		/* readv continues from there. */
		setup(iov, buf);
		n = readv(fd, iov, NIOV);
		if (n < 0 || (size_t)n != want_len(size, (uint64_t)now))
			st_die("readv returned %zd (%s)", n, n < 0 ? strerror(errno) : "wrong length");
		st_check(buf, ref, size, (uint64_t)now, (size_t)n, "readv");
		st_say("readv: %zd bytes ok", n);
	}

	/* RWF_NOWAIT on a region not read before: EAGAIN or a short read is fine, wrong bytes are not. */
	setup(iov, buf);
	n = preadv2(fd, iov, NIOV, (off_t)(size / 7 * 6 + 3), RWF_NOWAIT);
	if (n < 0 && errno != EAGAIN && errno != EOPNOTSUPP)
		st_die("preadv2(RWF_NOWAIT): %s", strerror(errno));
	if (n > 0)
		st_check(buf, ref, size, size / 7 * 6 + 3, (size_t)n, "preadv2(RWF_NOWAIT)");
	st_say("preadv2(RWF_NOWAIT): %s", n < 0 ? strerror(errno) : "bytes ok");
	close(fd);
	free(ref);
	return 0;
}
