/*
 * aio.c: POSIX AIO (aio_read, lio_listio and their 64 names). glibc runs the reads in its own
 * threads through internal calls no preload sees, so the range of each read request on an
 * incomplete virtual file is filled before it is queued, or the call fails with EIO: the request
 * never reads a hole. Everything else passes straight through.
 */
#include <aio.h>
#include <errno.h>

#include "shim.h"

/* Bytes [OFF, OFF+N) of FD present if FD is a tracked virtual file, or false (errno set). */
static bool
range_ready(int fd, off_t off, size_t n)
{
	return !TRACKED(fd) || shim_read_ensure(fd, off, n);
}

static bool
fill_request(const struct aiocb *cb)
{
	return cb == NULL || cb->aio_lio_opcode != LIO_READ ||
	    range_ready(cb->aio_fildes, cb->aio_offset, cb->aio_nbytes);
}

SHIM_EXPORT int
aio_read(struct aiocb *cb)
{
	return range_ready(cb->aio_fildes, cb->aio_offset, cb->aio_nbytes) ? REAL(aio_read)(cb) : -1;
}

SHIM_EXPORT int
aio_read64(struct aiocb64 *cb)
{
	return range_ready(cb->aio_fildes, (off_t)cb->aio_offset, cb->aio_nbytes) ?
	    REAL(aio_read64)(cb) : -1;
}

SHIM_EXPORT int
lio_listio(int mode, struct aiocb *const list[], int n, struct sigevent *sev)
{
	int i;

	for (i = 0; i < n; i++)
		if (!fill_request(list[i]))
			return -1;
	return REAL(lio_listio)(mode, list, n, sev);
}

SHIM_EXPORT int
lio_listio64(int mode, struct aiocb64 *const list[], int n, struct sigevent *sev)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i] != NULL && list[i]->aio_lio_opcode == LIO_READ &&
		    !range_ready(list[i]->aio_fildes, (off_t)list[i]->aio_offset, list[i]->aio_nbytes))
			return -1;
	return REAL(lio_listio64)(mode, list, n, sev);
}
