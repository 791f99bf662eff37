/*
 * open.c: opening and closing: the open family (plain, 64, at, fortified), creat, the fopen
 * family and fdopen, and close, close_range, closefrom, fclose, dup, dup2, dup3, fcntl(F_DUPFD).
 * A virtual path is opened read-only on its cache-tree file; any write intent is EROFS. stdio
 * reads through glibc internals the shim cannot see, so a FILE gets a complete file at open (and
 * stdio.c guards the FILEs it did not open, stdin first).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

static bool
needs_mode(int flags)
{
	return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

/* The common open: DIRFD/PATH/FLAGS/MODE as openat(2). */
static int
open_common(int dirfd, const char *path, int flags, mode_t mode)
{
	struct shim_path p;
	int fd, rc, saved;

	if (!shim_active())
		return REAL(openat)(dirfd, path, flags, mode);
	rc = shim_classify(dirfd, path, &p);
	if (rc == 0)
		return REAL(openat)(dirfd, path, flags, mode);
	if (rc < 0)
		return -1;
	if ((flags & WRITE_FLAGS) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EROFS;
		return -1;
	}
	fd = REAL(openat)(AT_FDCWD, p.tree, flags, mode);
	if (shim_lookup_found(rc, fd, &p))
		fd = REAL(openat)(AT_FDCWD, p.tree, flags, mode);
	if (fd < 0)
		return fd;
	shim_busy++;
	rc = shim_track_open(fd, &p);
	shim_busy--;
	if (rc < 0) {
		saved = rc == -ENOMEM ? ENOMEM : EIO;
		REAL(close)(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

#define OPEN_MODE_ARG(flags, mode) do { \
	if (needs_mode(flags)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = va_arg(ap, mode_t); \
		va_end(ap); \
	} \
} while (0)

SHIM_EXPORT int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_common(AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_common(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_common(dirfd, path, flags, mode);
}

SHIM_EXPORT int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_common(dirfd, path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int
__open_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int
__open64_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int
__openat_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags, 0);
}

SHIM_EXPORT int
__openat64_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int
creat(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int
creat64(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

/* A FILE on a virtual path: its reads run inside glibc, so the file is made complete first. */
static FILE *
fopen_common(const char *path, const char *mode, FILE *reopen, bool large)
{
	struct shim_path p;
	FILE *fp;
	int rc;

	if (!shim_active() || (rc = shim_classify(AT_FDCWD, path, &p)) == 0) {
		if (reopen != NULL)
			return large ? REAL(freopen64)(path, mode, reopen) : REAL(freopen)(path, mode, reopen);
		return large ? REAL(fopen64)(path, mode) : REAL(fopen)(path, mode);
	}
	if (rc < 0)
		return NULL;
	if (strpbrk(mode, "wa+") != NULL) {
		errno = EROFS;
		return NULL;
	}
	if (reopen != NULL)
		fp = large ? REAL(freopen64)(p.tree, mode, reopen) : REAL(freopen)(p.tree, mode, reopen);
	else
		fp = large ? REAL(fopen64)(p.tree, mode) : REAL(fopen)(p.tree, mode);
	if (fp == NULL && reopen == NULL && shim_lookup_found(1, -1, &p))
		fp = large ? REAL(fopen64)(p.tree, mode) : REAL(fopen)(p.tree, mode);
	if (fp == NULL)
		return NULL;
	shim_busy++;
	rc = shim_track_open(fileno(fp), &p);
	if (rc == 0)
		rc = shim_fd_ensure(fileno(fp), 0, 0);
	shim_busy--;
	if (rc < 0) {
		shim_fd_forget(fileno(fp));
		REAL(fclose)(fp);
		errno = EIO;
		return NULL;
	}
	return fp;
}

SHIM_EXPORT FILE *
fopen(const char *path, const char *mode)
{
	return fopen_common(path, mode, NULL, false);
}

SHIM_EXPORT FILE *
fopen64(const char *path, const char *mode)
{
	return fopen_common(path, mode, NULL, true);
}

SHIM_EXPORT FILE *
freopen(const char *path, const char *mode, FILE *stream)
{
	if (stream != NULL && shim_active())
		shim_fd_forget(fileno(stream));
	if (path == NULL)
		return REAL(freopen)(path, mode, stream);
	return fopen_common(path, mode, stream, false);
}

SHIM_EXPORT FILE *
freopen64(const char *path, const char *mode, FILE *stream)
{
	if (stream != NULL && shim_active())
		shim_fd_forget(fileno(stream));
	if (path == NULL)
		return REAL(freopen64)(path, mode, stream);
	return fopen_common(path, mode, stream, true);
}

SHIM_EXPORT FILE *
fdopen(int fd, const char *mode)
{
	if (shim_active() && shim_fd_tracked(fd) && shim_fd_ensure(fd, 0, 0) < 0) {
		errno = EIO;
		return NULL;
	}
	return REAL(fdopen)(fd, mode);
}

SHIM_EXPORT int
fclose(FILE *fp)
{
	if (fp != NULL && shim_active())
		shim_fd_forget(fileno(fp));
	return REAL(fclose)(fp);
}

SHIM_EXPORT int
close(int fd)
{
	if (shim_active())
		shim_fd_forget(fd);
	return REAL(close)(fd);
}

SHIM_EXPORT int
close_range(unsigned lo, unsigned hi, int flags)
{
	if (shim_active() && (flags & CLOSE_RANGE_CLOEXEC) == 0)
		shim_fd_forget_range(lo, hi);
	return REAL(close_range)(lo, hi, flags);
}

SHIM_EXPORT void
closefrom(int lo)
{
	if (shim_active() && lo >= 0)
		shim_fd_forget_range((unsigned)lo, ~0u);
	REAL(closefrom)(lo);
}

SHIM_EXPORT int
dup(int fd)
{
	int nfd = REAL(dup)(fd);

	if (nfd >= 0 && shim_active())
		shim_fd_dup(fd, nfd);
	return nfd;
}

SHIM_EXPORT int
dup2(int fd, int nfd)
{
	int rc = REAL(dup2)(fd, nfd);

	if (rc >= 0 && fd != nfd && shim_active())
		shim_fd_dup(fd, rc);
	return rc;
}

SHIM_EXPORT int
dup3(int fd, int nfd, int flags)
{
	int rc = REAL(dup3)(fd, nfd, flags);

	if (rc >= 0 && shim_active())
		shim_fd_dup(fd, rc);
	return rc;
}

static int
fcntl_common(int fd, int cmd, va_list ap, bool large)
{
	void *arg = va_arg(ap, void *);
	int rc = large ? REAL(fcntl64)(fd, cmd, arg) : REAL(fcntl)(fd, cmd, arg);

	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && shim_active())
		shim_fd_dup(fd, rc);
	return rc;
}

SHIM_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int rc;

	va_start(ap, cmd);
	rc = fcntl_common(fd, cmd, ap, false);
	va_end(ap);
	return rc;
}

SHIM_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	int rc;

	va_start(ap, cmd);
	rc = fcntl_common(fd, cmd, ap, true);
	va_end(ap);
	return rc;
}
