/*
 * read.c: every call that reads a file's bytes through an fd: read, pread, readv, preadv,
 * preadv2 and their fortified and 64 names, the in-kernel copies (sendfile, copy_file_range,
 * splice), lseek's SEEK_DATA/SEEK_HOLE, read hints, and the ioctls that would expose holes.
 * On an untracked fd each is one table load and the real call. On a tracked one the bytes the
 * call will read are made present first, or the call fails with EIO: never a hole's zeros. A
 * small read (pread, read) may instead get its bytes from the daemon straight into its buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client.h"
#include "shim.h"

ssize_t
shim_read_fill(int fd, off_t off, void *buf, size_t len)
{
	size_t got = 0;
	int rc;

	if (off < 0 || len == 0)
		return 0;
	rc = shim_fd_ensure_read(fd, (uint64_t)off, len, buf, &got);
	if (rc < 0) {
		errno = rc == -EFAULT ? EFAULT : EIO;
		return -1;
	}
	return rc == MS_CLIENT_BYTES ? (ssize_t)got : 0;
}

/* Without a buffer the daemon never hands bytes over: only made present, or EIO. */
bool
shim_read_ensure(int fd, off_t off, size_t len)
{
	return shim_read_fill(fd, off, NULL, len) == 0;
}

/*
 * A read at the cursor of tracked FD into BUF: -1, 0 (the file has the bytes: read it), or the
 * count handed over by the daemon, the cursor moved past them as the read would have.
 */
static ssize_t
read_fill_at_cursor(int fd, void *buf, size_t n)
{
	off_t off = REAL(lseek)(fd, 0, SEEK_CUR);
	ssize_t got = off < 0 ? 0 : shim_read_fill(fd, off, buf, n);

	if (got > 0 && REAL(lseek)(fd, off + got, SEEK_SET) < 0)
		return -1;
	return got;
}

/* The bytes at the current offset of a tracked FD, for the calls that read from it. */
static bool
ensure_at_cursor(int fd, size_t len)
{
	return read_fill_at_cursor(fd, NULL, len) == 0;
}

static size_t
iov_total(const struct iovec *iov, int n)
{
	size_t total = 0;
	int i;

	for (i = 0; i < n && iov != NULL; i++)
		total += iov[i].iov_len;
	return total;
}


/*
 * The plain reads into one buffer may get their bytes from the daemon itself (a cold read's
 * first bytes, before they are in the file); the fortified ones only when the buffer holds them
 * (else the real call reports the overflow).
 */
SHIM_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	ssize_t got;

	if (TRACKED(fd) && (got = read_fill_at_cursor(fd, buf, n)) != 0)
		return got;
	return REAL(read)(fd, buf, n);
}

SHIM_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	ssize_t got;

	if (TRACKED(fd) && n <= buflen && (got = read_fill_at_cursor(fd, buf, n)) != 0)
		return got;
	return REAL(__read_chk)(fd, buf, n, buflen);
}

SHIM_EXPORT ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	ssize_t got;

	if (TRACKED(fd) && (got = shim_read_fill(fd, off, buf, n)) != 0)
		return got;
	return REAL(pread)(fd, buf, n, off);
}

SHIM_EXPORT ssize_t
pread64(int fd, void *buf, size_t n, off64_t off)
{
	ssize_t got;

	if (TRACKED(fd) && (got = shim_read_fill(fd, off, buf, n)) != 0)
		return got;
	return REAL(pread64)(fd, buf, n, off);
}

SHIM_EXPORT ssize_t
__pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	ssize_t got;

	if (TRACKED(fd) && n <= buflen && (got = shim_read_fill(fd, off, buf, n)) != 0)
		return got;
	return REAL(__pread_chk)(fd, buf, n, off, buflen);
}

SHIM_EXPORT ssize_t
__pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	ssize_t got;

	if (TRACKED(fd) && n <= buflen && (got = shim_read_fill(fd, off, buf, n)) != 0)
		return got;
	return REAL(__pread64_chk)(fd, buf, n, off, buflen);
}

SHIM_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	if (TRACKED(fd) && !ensure_at_cursor(fd, iov_total(iov, n)))
		return -1;
	return REAL(readv)(fd, iov, n);
}

SHIM_EXPORT ssize_t
preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	if (TRACKED(fd) && !shim_read_ensure(fd, off, iov_total(iov, n)))
		return -1;
	return REAL(preadv)(fd, iov, n, off);
}

SHIM_EXPORT ssize_t
preadv64(int fd, const struct iovec *iov, int n, off64_t off)
{
	if (TRACKED(fd) && !shim_read_ensure(fd, off, iov_total(iov, n)))
		return -1;
	return REAL(preadv64)(fd, iov, n, off);
}

/* preadv2 with offset -1 reads at the cursor. */
SHIM_EXPORT ssize_t
preadv2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	if (TRACKED(fd) && !(off == -1 ? ensure_at_cursor(fd, iov_total(iov, n)) :
	    shim_read_ensure(fd, off, iov_total(iov, n))))
		return -1;
	return REAL(preadv2)(fd, iov, n, off, flags);
}

SHIM_EXPORT ssize_t
preadv64v2(int fd, const struct iovec *iov, int n, off64_t off, int flags)
{
	if (TRACKED(fd) && !(off == -1 ? ensure_at_cursor(fd, iov_total(iov, n)) :
	    shim_read_ensure(fd, off, iov_total(iov, n))))
		return -1;
	return REAL(preadv64v2)(fd, iov, n, off, flags);
}

/* SEEK_DATA and SEEK_HOLE answer as for a dense file, so copies never skip "holes". */
static off_t
lseek_common(int fd, off_t off, int whence, bool large)
{
	if ((whence == SEEK_DATA || whence == SEEK_HOLE) && TRACKED(fd)) {
		struct shim_file *f = shim_file_get(fd);

		if (f != NULL) {
			uint64_t size = shim_file_size(f);

			shim_file_put(f);
			if (off < 0 || (uint64_t)off >= size) {
				errno = ENXIO;
				return -1;
			}
			return REAL(lseek)(fd, whence == SEEK_DATA ? off : (off_t)size, SEEK_SET);
		}
	}
	return large ? REAL(lseek64)(fd, off, whence) : REAL(lseek)(fd, off, whence);
}

SHIM_EXPORT off_t
lseek(int fd, off_t off, int whence)
{
	return lseek_common(fd, off, whence, false);
}

SHIM_EXPORT off64_t
lseek64(int fd, off64_t off, int whence)
{
	return lseek_common(fd, off, whence, true);
}

/* In-kernel copies read the source file directly: its range is filled first. */
static bool
ensure_source(int fd, off_t *offp, size_t count)
{
	return offp != NULL ? shim_read_ensure(fd, *offp, count) : ensure_at_cursor(fd, count);
}

SHIM_EXPORT ssize_t
sendfile(int out, int in, off_t *offp, size_t count)
{
	if (TRACKED(in) && !ensure_source(in, offp, count))
		return -1;
	return REAL(sendfile)(out, in, offp, count);
}

SHIM_EXPORT ssize_t
sendfile64(int out, int in, off64_t *offp, size_t count)
{
	if (TRACKED(in) && !ensure_source(in, offp, count))
		return -1;
	return REAL(sendfile64)(out, in, offp, count);
}

SHIM_EXPORT ssize_t
copy_file_range(int in, off64_t *inoff, int out, off64_t *outoff, size_t len, unsigned flags)
{
	if (TRACKED(in) && !ensure_source(in, inoff, len))
		return -1;
	return REAL(copy_file_range)(in, inoff, out, outoff, len, flags);
}

SHIM_EXPORT ssize_t
splice(int in, off64_t *inoff, int out, off64_t *outoff, size_t len, unsigned flags)
{
	if (TRACKED(in) && !ensure_source(in, inoff, len))
		return -1;
	return REAL(splice)(in, inoff, out, outoff, len, flags);
}

/* WILLNEED is a prefetch hint for the daemon; the real call still runs. */
SHIM_EXPORT int
posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	if (advice == POSIX_FADV_WILLNEED && TRACKED(fd))
		shim_fd_prefetch(fd, (uint64_t)off, (uint64_t)len);
	return REAL(posix_fadvise)(fd, off, len, advice);
}

SHIM_EXPORT int
posix_fadvise64(int fd, off64_t off, off64_t len, int advice)
{
	if (advice == POSIX_FADV_WILLNEED && TRACKED(fd))
		shim_fd_prefetch(fd, (uint64_t)off, (uint64_t)len);
	return REAL(posix_fadvise64)(fd, off, len, advice);
}

SHIM_EXPORT ssize_t
readahead(int fd, off64_t off, size_t count)
{
	if (TRACKED(fd))
		shim_fd_prefetch(fd, (uint64_t)off, count);
	return REAL(readahead)(fd, off, count);
}

/*
 * A reflink or extent map of a file that is not complete would copy or reveal its holes:
 * refused (cp falls back to reading). Every other request passes through.
 */
SHIM_EXPORT int
ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (shim_active()) {
		if (req == FICLONE && TRACKED((int)(intptr_t)arg)) {
			errno = EOPNOTSUPP;
			return -1;
		}
		if (req == FICLONERANGE && arg != NULL &&
		    TRACKED((int)((const struct file_clone_range *)arg)->src_fd)) {
			errno = EOPNOTSUPP;
			return -1;
		}
		if (req == FS_IOC_FIEMAP && TRACKED(fd)) {
			errno = EOPNOTSUPP;
			return -1;
		}
	}
	return REAL(ioctl)(fd, req, arg);
}
