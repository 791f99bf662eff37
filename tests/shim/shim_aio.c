/* shim_aio: POSIX AIO on a virtual fd (glibc's aio threads pread inside libc): aio_read + aio_suspend at four offsets, then lio_listio(LIO_WAIT) of four LIO_READs. */
#include "shimtest.h"

#include <aio.h>
#include <time.h>

#define AIO_LEN 65536

/* Waits (at most ~30 s) for CB, then checks its status, length and bytes. */
static void
finish(struct aiocb *cb, const unsigned char *ref, size_t size, const char *what)
{
	const struct aiocb *list[1] = { cb };
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	size_t off = (size_t)cb->aio_offset, want;
	ssize_t n;
	int e = EINPROGRESS, i;

	for (i = 0; i < 300 && (e = aio_error(cb)) == EINPROGRESS; i++)
		aio_suspend(list, 1, &ts);
	if (e == EINPROGRESS) {
		aio_cancel(cb->aio_fildes, cb);
		st_die("%s: still in progress after 30 s", what);
	}
	n = aio_return(cb);
	if (e != 0)
		st_die("%s at %zu: aio_error %s", what, off, strerror(e));
	want = cb->aio_nbytes < size - off ? cb->aio_nbytes : size - off;
	if (n < 0 || (size_t)n != want)
		st_die("%s at %zu: aio_return %zd, want %zu", what, off, n, want);
	st_check((const unsigned char *)cb->aio_buf, ref, size, off, want, what);
}

int
main(int argc, char **argv)
{
	unsigned char *ref;
	struct aiocb cb, lcb[4];
	struct aiocb *list[4];
	size_t size, offs[4], loffs[4], llens[4] = { 100000, AIO_LEN, AIO_LEN, 3 * AIO_LEN + 5 };
	char what[96];
	int fd, i, rc;

	st_init(argc, argv, 2, "VIRTUAL_PATH REFERENCE_FILE");
	ref = st_load(argv[2], &size);
	if (size < 5 * 1048576)
		st_die("the reference must be at least 5 MiB");
	fd = st_open(argv[1], O_RDONLY);

	/* aio_read, one at a time. The last one asks for 64 KiB and gets the last 1000 bytes. */
	offs[0] = 0;
	offs[1] = 1048576 + 17;
	offs[2] = 3 * 1048576;
	offs[3] = size - 1000;
	for (i = 0; i < 4; i++) {
		memset(&cb, 0, sizeof cb);
		cb.aio_fildes = fd;
		cb.aio_buf = st_alloc(AIO_LEN);
		cb.aio_nbytes = AIO_LEN;
		cb.aio_offset = (off_t)offs[i];
		cb.aio_sigevent.sigev_notify = SIGEV_NONE;
		snprintf(what, sizeof what, "aio_read(%d bytes at %zu)", AIO_LEN, offs[i]);
		if (aio_read(&cb) != 0)
			st_die("%s: %s", what, strerror(errno));
		finish(&cb, ref, size, what);
		free((void *)cb.aio_buf);
		st_say("%s: bytes ok", what);
	}

	/* lio_listio(LIO_WAIT) of four reads at other offsets (chunk-crossing ones too). */
	loffs[0] = 7 * 65536 + 1;
	loffs[1] = 2 * 1048576 + 5;
	loffs[2] = 4 * 1048576 + 12345;
	loffs[3] = 4 * 1048576 + 524288 + 3;
	for (i = 0; i < 4; i++) {
		memset(&lcb[i], 0, sizeof lcb[i]);
		lcb[i].aio_fildes = fd;
		lcb[i].aio_lio_opcode = LIO_READ;
		lcb[i].aio_buf = st_alloc(llens[i]);
		lcb[i].aio_nbytes = llens[i];
		lcb[i].aio_offset = (off_t)loffs[i];
		lcb[i].aio_sigevent.sigev_notify = SIGEV_NONE;
		list[i] = &lcb[i];
	}
	/* A failed request makes it return -1 (EIO): finish() names which one and why. */
	rc = lio_listio(LIO_WAIT, list, 4, NULL);
	if (rc != 0 && errno != EIO)
		st_die("lio_listio(LIO_WAIT, 4 reads): %s", strerror(errno));
	for (i = 0; i < 4; i++) {
		snprintf(what, sizeof what, "lio_listio LIO_READ(%zu bytes at %zu)", llens[i], loffs[i]);
		finish(&lcb[i], ref, size, what);
		free((void *)lcb[i].aio_buf);
	}
	if (rc != 0)
		st_die("lio_listio(LIO_WAIT, 4 reads) returned -1 (EIO) but each request succeeded");
	st_say("lio_listio(LIO_WAIT): 4 reads ok");
	close(fd);
	free(ref);
	st_say("aio_read at 4 offsets and lio_listio of 4 reads of a %zu-byte file ok", size);
	return 0;
}
