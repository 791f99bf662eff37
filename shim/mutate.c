/*
 * mutate.c: every call that would change a file or directory answers EROFS on a virtual path or
 * a cache-tree path (invariant 4), and on an fd whose file lies in a cache tree. Not ours: the
 * real call, untouched. Nothing here ever reaches the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "shim.h"

/* True (errno set) if DIRFD/PATH is ours: EROFS, or the classification's own error. */
static bool
refused(int dirfd, const char *path)
{
	struct shim_path p;
	int c;

	if (!shim_active())
		return false;
	c = shim_classify(dirfd, path, &p);
	if (c == 1)
		errno = EROFS;
	return c != 0;
}

/* True (errno EROFS) if FD is a file in a cache tree. */
static bool
refused_fd(int fd)
{
	char proc[32], link[MS_PATH_MAX * 2];
	struct shim_path p;
	ssize_t n;

	if (!shim_active())
		return false;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	n = REAL(readlink)(proc, link, sizeof link - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	if (shim_classify(AT_FDCWD, link, &p) != 1)
		return false;
	errno = EROFS;
	return true;
}

SHIM_EXPORT int
remove(const char *path)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(remove)(path);
}

SHIM_EXPORT int
unlink(const char *path)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(unlink)(path);
}

SHIM_EXPORT int
unlinkat(int dirfd, const char *path, int flags)
{
	return refused(dirfd, path) ? -1 : REAL(unlinkat)(dirfd, path, flags);
}

SHIM_EXPORT int
rename(const char *from, const char *to)
{
	return refused(AT_FDCWD, from) || refused(AT_FDCWD, to) ? -1 : REAL(rename)(from, to);
}

SHIM_EXPORT int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	return refused(fromfd, from) || refused(tofd, to) ? -1 : REAL(renameat)(fromfd, from, tofd, to);
}

SHIM_EXPORT int
renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
	return refused(fromfd, from) || refused(tofd, to) ? -1 :
	    REAL(renameat2)(fromfd, from, tofd, to, flags);
}

SHIM_EXPORT int
mkdir(const char *path, mode_t mode)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(mkdir)(path, mode);
}

SHIM_EXPORT int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	return refused(dirfd, path) ? -1 : REAL(mkdirat)(dirfd, path, mode);
}

SHIM_EXPORT int
rmdir(const char *path)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(rmdir)(path);
}

SHIM_EXPORT int
truncate(const char *path, off_t len)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(truncate)(path, len);
}

SHIM_EXPORT int
truncate64(const char *path, off64_t len)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(truncate64)(path, len);
}

SHIM_EXPORT int
chmod(const char *path, mode_t mode)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(chmod)(path, mode);
}

SHIM_EXPORT int
fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	return refused(dirfd, path) ? -1 : REAL(fchmodat)(dirfd, path, mode, flags);
}

SHIM_EXPORT int
chown(const char *path, uid_t uid, gid_t gid)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(chown)(path, uid, gid);
}

SHIM_EXPORT int
lchown(const char *path, uid_t uid, gid_t gid)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(lchown)(path, uid, gid);
}

SHIM_EXPORT int
fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	return refused(dirfd, path) ? -1 : REAL(fchownat)(dirfd, path, uid, gid, flags);
}

SHIM_EXPORT int
utime(const char *path, const struct utimbuf *t)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(utime)(path, t);
}

SHIM_EXPORT int
utimes(const char *path, const struct timeval t[2])
{
	return refused(AT_FDCWD, path) ? -1 : REAL(utimes)(path, t);
}

SHIM_EXPORT int
lutimes(const char *path, const struct timeval t[2])
{
	return refused(AT_FDCWD, path) ? -1 : REAL(lutimes)(path, t);
}

/* Linux accepts a NULL path here (it means DIRFD itself), though glibc declares it nonnull. */
#pragma GCC diagnostic push
#ifdef __clang__
#pragma clang diagnostic ignored "-Wtautological-pointer-compare"
#else
#pragma GCC diagnostic ignored "-Wnonnull-compare"
#endif
SHIM_EXPORT int
utimensat(int dirfd, const char *path, const struct timespec t[2], int flags)
{
	if (path == NULL)
		return refused_fd(dirfd) ? -1 : REAL(utimensat)(dirfd, path, t, flags);
	return refused(dirfd, path) ? -1 : REAL(utimensat)(dirfd, path, t, flags);
}
#pragma GCC diagnostic pop

SHIM_EXPORT int
futimesat(int dirfd, const char *path, const struct timeval t[2])
{
	return refused(dirfd, path) ? -1 : REAL(futimesat)(dirfd, path, t);
}

SHIM_EXPORT int
link(const char *from, const char *to)
{
	return refused(AT_FDCWD, to) ? -1 : REAL(link)(from, to);
}

SHIM_EXPORT int
linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	return refused(tofd, to) ? -1 : REAL(linkat)(fromfd, from, tofd, to, flags);
}

SHIM_EXPORT int
symlink(const char *target, const char *linkpath)
{
	return refused(AT_FDCWD, linkpath) ? -1 : REAL(symlink)(target, linkpath);
}

SHIM_EXPORT int
symlinkat(const char *target, int dirfd, const char *linkpath)
{
	return refused(dirfd, linkpath) ? -1 : REAL(symlinkat)(target, dirfd, linkpath);
}

SHIM_EXPORT int
setxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(setxattr)(path, name, value, size, flags);
}

SHIM_EXPORT int
lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(lsetxattr)(path, name, value, size, flags);
}

SHIM_EXPORT int
removexattr(const char *path, const char *name)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(removexattr)(path, name);
}

SHIM_EXPORT int
lremovexattr(const char *path, const char *name)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(lremovexattr)(path, name);
}

SHIM_EXPORT int
mknod(const char *path, mode_t mode, dev_t dev)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(mknod)(path, mode, dev);
}

SHIM_EXPORT int
mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	return refused(dirfd, path) ? -1 : REAL(mknodat)(dirfd, path, mode, dev);
}

SHIM_EXPORT int
mkfifo(const char *path, mode_t mode)
{
	return refused(AT_FDCWD, path) ? -1 : REAL(mkfifo)(path, mode);
}

SHIM_EXPORT int
mkfifoat(int dirfd, const char *path, mode_t mode)
{
	return refused(dirfd, path) ? -1 : REAL(mkfifoat)(dirfd, path, mode);
}

SHIM_EXPORT int
fchmod(int fd, mode_t mode)
{
	return refused_fd(fd) ? -1 : REAL(fchmod)(fd, mode);
}

SHIM_EXPORT int
fchown(int fd, uid_t uid, gid_t gid)
{
	return refused_fd(fd) ? -1 : REAL(fchown)(fd, uid, gid);
}

SHIM_EXPORT int
futimens(int fd, const struct timespec t[2])
{
	return refused_fd(fd) ? -1 : REAL(futimens)(fd, t);
}

SHIM_EXPORT int
fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)
{
	return refused_fd(fd) ? -1 : REAL(fsetxattr)(fd, name, value, size, flags);
}

SHIM_EXPORT int
fremovexattr(int fd, const char *name)
{
	return refused_fd(fd) ? -1 : REAL(fremovexattr)(fd, name);
}
