/*
 * syscall.c: glibc's syscall(), through which some runtimes (libuv, for one) make file system
 * calls that have no libc wrapper or that they prefer raw (statx, openat2, io_uring_setup).
 * Each file system call is routed through the shim's wrapper for it, so it behaves exactly as the
 * libc call would (virtual paths, fills before reads, EROFS); io_uring_setup is refused with
 * ENOSYS while the shim is on (its reads would bypass the shim; callers fall back to threads)
 * unless [cache] io_uring = allow. Any other number passes straight through. What this cannot
 * see is the syscall instruction itself (Go, liburing): see the README.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define S(i) ((const char *)a[i])
#define I(i) ((int)a[i])
#define U(i) ((unsigned)a[i])
#define P(i) ((void *)a[i])
#define Z(i) ((size_t)a[i])

/* A libc-style result (0/-1 and errno), or an error number returned as posix_fadvise does. */
static long
from_errnum(int rc)
{
	if (rc == 0)
		return 0;
	errno = rc;
	return -1;
}

/* openat2 of a virtual path is its openat (RESOLVE_* limits lookups that a tree path needs not). */
static long
openat2_common(const long *a)
{
	const struct open_how *how = P(2);
	struct shim_path p;
	int c;

	if (how == NULL || Z(3) < sizeof *how || (c = shim_classify(I(0), S(1), &p)) == 0)
		return REAL(syscall)(SYS_openat2, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (c < 0)
		return -1;
	return openat(I(0), S(1), (int)how->flags, (mode_t)how->mode);
}

static long
getcwd_common(const long *a)
{
	char *buf = P(0);

	if (getcwd(buf, Z(1)) == NULL)
		return -1;
	return (long)strlen(buf) + 1;
}

/* The routed calls' results; *ROUTED false when NR is not one of them. */
static long
route(long nr, const long *a, bool *routed)
{
	*routed = true;
	switch (nr) {
	case SYS_open: return open(S(0), I(1), (mode_t)a[2]);
	case SYS_openat: return openat(I(0), S(1), I(2), (mode_t)a[3]);
	case SYS_openat2: return openat2_common(a);
	case SYS_creat: return creat(S(0), (mode_t)a[1]);
	case SYS_close: return close(I(0));
	case SYS_close_range: return close_range(U(0), U(1), I(2));
	case SYS_dup: return dup(I(0));
	case SYS_dup2: return dup2(I(0), I(1));
	case SYS_dup3: return dup3(I(0), I(1), I(2));
	case SYS_fcntl: return fcntl(I(0), I(1), a[2]);
	case SYS_read: return read(I(0), P(1), Z(2));
	case SYS_pread64: return pread(I(0), P(1), Z(2), (off_t)a[3]);
	case SYS_readv: return readv(I(0), P(1), I(2));
	case SYS_preadv: return preadv(I(0), P(1), I(2), (off_t)a[3]);
	case SYS_preadv2: return preadv2(I(0), P(1), I(2), (off_t)a[3], I(5));
	case SYS_lseek: return lseek(I(0), (off_t)a[1], I(2));
	case SYS_sendfile: return sendfile(I(0), I(1), P(2), Z(3));
	case SYS_copy_file_range: return copy_file_range(I(0), P(1), I(2), P(3), Z(4), U(5));
	case SYS_splice: return splice(I(0), P(1), I(2), P(3), Z(4), U(5));
	case SYS_mmap: return (long)mmap(P(0), Z(1), I(2), I(3), I(4), (off_t)a[5]);
	case SYS_mremap: return (long)mremap(P(0), Z(1), Z(2), I(3), P(4));
	case SYS_munmap: return munmap(P(0), Z(1));
	case SYS_fadvise64: return from_errnum(posix_fadvise(I(0), (off_t)a[1], (off_t)a[2], I(3)));
	case SYS_readahead: return readahead(I(0), (off64_t)a[1], Z(2));
	case SYS_stat: return stat(S(0), P(1));
	case SYS_lstat: return lstat(S(0), P(1));
	case SYS_fstat: return fstat(I(0), P(1));
	case SYS_newfstatat: return fstatat(I(0), S(1), P(2), I(3));
	case SYS_statx: return statx(I(0), S(1), I(2), U(3), P(4));
	case SYS_access: return access(S(0), I(1));
	case SYS_faccessat: return faccessat(I(0), S(1), I(2), 0);
	case SYS_faccessat2: return faccessat(I(0), S(1), I(2), I(3));
	case SYS_readlink: return readlink(S(0), P(1), Z(2));
	case SYS_readlinkat: return readlinkat(I(0), S(1), P(2), Z(3));
	case SYS_getcwd: return getcwd_common(a);
	case SYS_chdir: return chdir(S(0));
	case SYS_fchdir: return fchdir(I(0));
	case SYS_getxattr: return getxattr(S(0), S(1), P(2), Z(3));
	case SYS_lgetxattr: return lgetxattr(S(0), S(1), P(2), Z(3));
	case SYS_listxattr: return listxattr(S(0), P(1), Z(2));
	case SYS_llistxattr: return llistxattr(S(0), P(1), Z(2));
	case SYS_execve: return execve(S(0), P(1), P(2));
	case SYS_unlink: return unlink(S(0));
	case SYS_unlinkat: return unlinkat(I(0), S(1), I(2));
	case SYS_rename: return rename(S(0), S(1));
	case SYS_renameat: return renameat(I(0), S(1), I(2), S(3));
	case SYS_renameat2: return renameat2(I(0), S(1), I(2), S(3), U(4));
	case SYS_mkdir: return mkdir(S(0), (mode_t)a[1]);
	case SYS_mkdirat: return mkdirat(I(0), S(1), (mode_t)a[2]);
	case SYS_rmdir: return rmdir(S(0));
	case SYS_truncate: return truncate(S(0), (off_t)a[1]);
	case SYS_chmod: return chmod(S(0), (mode_t)a[1]);
	case SYS_fchmodat: return fchmodat(I(0), S(1), (mode_t)a[2], 0);
	case SYS_chown: return chown(S(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_lchown: return lchown(S(0), (uid_t)a[1], (gid_t)a[2]);
	case SYS_fchownat: return fchownat(I(0), S(1), (uid_t)a[2], (gid_t)a[3], I(4));
	case SYS_utimensat: return utimensat(I(0), S(1), P(2), I(3));
	case SYS_link: return link(S(0), S(1));
	case SYS_linkat: return linkat(I(0), S(1), I(2), S(3), I(4));
	case SYS_symlink: return symlink(S(0), S(1));
	case SYS_symlinkat: return symlinkat(S(0), I(1), S(2));
	case SYS_setxattr: return setxattr(S(0), S(1), P(2), Z(3), I(4));
	case SYS_lsetxattr: return lsetxattr(S(0), S(1), P(2), Z(3), I(4));
	case SYS_removexattr: return removexattr(S(0), S(1));
	case SYS_lremovexattr: return lremovexattr(S(0), S(1));
	case SYS_mknod: return mknod(S(0), (mode_t)a[1], (dev_t)a[2]);
	case SYS_mknodat: return mknodat(I(0), S(1), (mode_t)a[2], (dev_t)a[3]);
	default:
		*routed = false;
		return -2;
	}
}

SHIM_EXPORT long
syscall(long nr, ...)
{
	long a[6], rc;
	bool routed;
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (shim_active()) {
		if (nr == SYS_io_uring_setup && !shim.cfg.io_uring_allowed) {
			errno = ENOSYS;
			return -1;
		}
		if (nr == SYS_execveat && shim_fds_complete_for_exec() < 0) {
			errno = EIO;
			return -1;
		}
		rc = route(nr, a, &routed);
		if (routed)
			return rc;
	}
	return REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
