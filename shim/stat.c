/*
 * stat.c: metadata calls on virtual paths and tracked fds: the stat family (2.33 names and the
 * older __xstat ABI), statx, access, readlink, realpath, getcwd, chdir and fchdir. Virtual paths
 * are answered from the cache tree, where each object is a file of the right size and mtime;
 * a file that is not complete reports the blocks of a dense one. Results never show cache paths
 * (invariant 4): they are rewritten to virtual ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

/* Linux takes a NULL path with AT_EMPTY_PATH (fstatat, statx); glibc declares them nonnull. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Wtautological-pointer-compare"
#else
#pragma GCC diagnostic ignored "-Wnonnull-compare"
#endif

/* Classifies DIRFD/PATH: 1 ours (P filled), 0 not ours, -1 error (errno set). */
#define CLASSIFY(dirfd, path, p) (shim_active() ? shim_classify((dirfd), (path), (p)) : 0)
#define CLASSIFY_LINK(dirfd, path, p) (shim_active() ? shim_classify_nofollow((dirfd), (path), (p)) : 0)

static int
fix_stat(int rc, struct stat *st, bool ours)
{
	if (rc == 0 && ours)
		shim_fix_stat(st);
	return rc;
}

SHIM_EXPORT int
stat(const char *path, struct stat *st)
{
	struct shim_path p;
	int c = CLASSIFY(AT_FDCWD, path, &p), rc;

	if (c < 0)
		return -1;
	rc = REAL(stat)(c ? p.tree : path, st);
	if (shim_lookup_found(c, rc, &p))
		rc = REAL(stat)(p.tree, st);
	return fix_stat(rc, st, c);
}

SHIM_EXPORT int
stat64(const char *path, struct stat64 *st)
{
	return stat(path, (struct stat *)st);
}

SHIM_EXPORT int
lstat(const char *path, struct stat *st)
{
	struct shim_path p;
	int c = CLASSIFY_LINK(AT_FDCWD, path, &p), rc;

	if (c < 0)
		return -1;
	rc = REAL(lstat)(c ? p.tree : path, st);
	if (shim_lookup_found(c, rc, &p))
		rc = REAL(lstat)(p.tree, st);
	return fix_stat(rc, st, c);
}

SHIM_EXPORT int
lstat64(const char *path, struct stat64 *st)
{
	return lstat(path, (struct stat *)st);
}

static int
fix_fstat(int rc, int fd, struct stat *st)
{
	if (rc == 0 && shim_fd_ours(fd))
		shim_fix_fstat(fd, st);
	return rc;
}

SHIM_EXPORT int
fstat(int fd, struct stat *st)
{
	return fix_fstat(REAL(fstat)(fd, st), fd, st);
}

SHIM_EXPORT int
fstat64(int fd, struct stat64 *st)
{
	return fstat(fd, (struct stat *)st);
}

SHIM_EXPORT int
fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct shim_path p;
	int c, rc;

	if (path != NULL && path[0] == '\0' && (flags & AT_EMPTY_PATH) != 0)
		return fix_fstat(REAL(fstatat)(dirfd, path, st, flags), dirfd, st);
	c = (flags & AT_SYMLINK_NOFOLLOW) != 0 ? CLASSIFY_LINK(dirfd, path, &p) : CLASSIFY(dirfd, path, &p);
	if (c < 0)
		return -1;
	rc = c ? REAL(fstatat)(AT_FDCWD, p.tree, st, flags) : REAL(fstatat)(dirfd, path, st, flags);
	if (shim_lookup_found(c, rc, &p))
		rc = REAL(fstatat)(AT_FDCWD, p.tree, st, flags);
	return fix_stat(rc, st, c);
}

SHIM_EXPORT int
fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat(dirfd, path, (struct stat *)st, flags);
}

/* The pre-2.33 ABI, still imported by older binaries. */
SHIM_EXPORT int
__xstat(int ver, const char *path, struct stat *st)
{
	struct shim_path p;
	int c = CLASSIFY(AT_FDCWD, path, &p), rc;

	if (c < 0)
		return -1;
	rc = REAL(__xstat)(ver, c ? p.tree : path, st);
	if (shim_lookup_found(c, rc, &p))
		rc = REAL(__xstat)(ver, p.tree, st);
	return fix_stat(rc, st, c);
}

SHIM_EXPORT int
__xstat64(int ver, const char *path, struct stat64 *st)
{
	return __xstat(ver, path, (struct stat *)st);
}

SHIM_EXPORT int
__lxstat(int ver, const char *path, struct stat *st)
{
	struct shim_path p;
	int c = CLASSIFY_LINK(AT_FDCWD, path, &p), rc;

	if (c < 0)
		return -1;
	rc = REAL(__lxstat)(ver, c ? p.tree : path, st);
	if (shim_lookup_found(c, rc, &p))
		rc = REAL(__lxstat)(ver, p.tree, st);
	return fix_stat(rc, st, c);
}

SHIM_EXPORT int
__lxstat64(int ver, const char *path, struct stat64 *st)
{
	return __lxstat(ver, path, (struct stat *)st);
}

SHIM_EXPORT int
__fxstat(int ver, int fd, struct stat *st)
{
	return fix_fstat(REAL(__fxstat)(ver, fd, st), fd, st);
}

SHIM_EXPORT int
__fxstat64(int ver, int fd, struct stat64 *st)
{
	return __fxstat(ver, fd, (struct stat *)st);
}

SHIM_EXPORT int
__fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	struct shim_path p;
	int c = CLASSIFY(dirfd, path, &p), rc;

	if (c < 0)
		return -1;
	rc = c ? REAL(__fxstatat)(ver, AT_FDCWD, p.tree, st, flags) :
	    REAL(__fxstatat)(ver, dirfd, path, st, flags);
	if (shim_lookup_found(c, rc, &p))
		rc = REAL(__fxstatat)(ver, AT_FDCWD, p.tree, st, flags);
	return fix_stat(rc, st, c);
}

SHIM_EXPORT int
__fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	return __fxstatat(ver, dirfd, path, (struct stat *)st, flags);
}

SHIM_EXPORT int
statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	struct shim_path p;
	bool ours;
	int c = 0, rc;

	if (path != NULL && path[0] == '\0' && (flags & AT_EMPTY_PATH) != 0) {
		ours = shim_fd_ours(dirfd);
		rc = REAL(statx)(dirfd, path, flags, mask, stx);
	} else {
		c = (flags & AT_SYMLINK_NOFOLLOW) != 0 ? CLASSIFY_LINK(dirfd, path, &p) :
		    CLASSIFY(dirfd, path, &p);
		if (c < 0)
			return -1;
		ours = c == 1;
		rc = c ? REAL(statx)(AT_FDCWD, p.tree, flags, mask, stx) :
		    REAL(statx)(dirfd, path, flags, mask, stx);
		if (shim_lookup_found(c, rc, &p))
			rc = REAL(statx)(AT_FDCWD, p.tree, flags, mask, stx);
	}
	if (rc == 0 && ours && S_ISREG(stx->stx_mode)) {
		stx->stx_blocks = (stx->stx_size + 511) / 512;
		stx->stx_ctime = stx->stx_mtime;
	}
	return rc;
}

/* access: a virtual path exists as its tree file; nothing there is writable. */
static int
access_call(int dirfd, const char *path, int amode, int flags, int kind, int c,
    const struct shim_path *p)
{
	switch (kind) {
	case 0: return REAL(access)(c ? p->tree : path, amode);
	case 1: return REAL(euidaccess)(c ? p->tree : path, amode);
	case 2: return REAL(eaccess)(c ? p->tree : path, amode);
	default: return c ? REAL(faccessat)(AT_FDCWD, p->tree, amode, flags) :
	    REAL(faccessat)(dirfd, path, amode, flags);
	}
}

static int
access_common(int dirfd, const char *path, int amode, int flags, int kind)
{
	struct shim_path p;
	int c = CLASSIFY(dirfd, path, &p), rc;

	if (c < 0)
		return -1;
	if (c == 1 && (amode & W_OK) != 0) {
		errno = EROFS;
		return -1;
	}
	rc = access_call(dirfd, path, amode, flags, kind, c, &p);
	if (shim_lookup_found(c, rc, &p))
		rc = access_call(dirfd, path, amode, flags, kind, c, &p);
	return rc;
}

SHIM_EXPORT int
access(const char *path, int amode)
{
	return access_common(AT_FDCWD, path, amode, 0, 0);
}

SHIM_EXPORT int
euidaccess(const char *path, int amode)
{
	return access_common(AT_FDCWD, path, amode, 0, 1);
}

SHIM_EXPORT int
eaccess(const char *path, int amode)
{
	return access_common(AT_FDCWD, path, amode, 0, 2);
}

SHIM_EXPORT int
faccessat(int dirfd, const char *path, int amode, int flags)
{
	return access_common(dirfd, path, amode, flags, 3);
}

/* readlink: a link into a cache tree (/proc/self/fd/N, /proc/self/cwd) reads as virtual. */
static ssize_t
untranslate_link(ssize_t n, char *buf, size_t len)
{
	char tmp[MS_PATH_MAX * 2];
	size_t out;

	if (n <= 0 || (size_t)n >= sizeof tmp || !shim_active())
		return n;
	snprintf(tmp, sizeof tmp, "%.*s", (int)n, buf); /* readlink's result has no NUL */
	if (!shim_untranslate(tmp, sizeof tmp))
		return n;
	out = strlen(tmp);
	if (out > len)
		out = len; /* readlink truncates silently */
	memcpy(buf, tmp, out);
	return (ssize_t)out;
}

SHIM_EXPORT ssize_t
readlink(const char *path, char *buf, size_t len)
{
	struct shim_path p;
	int c = CLASSIFY_LINK(AT_FDCWD, path, &p);

	if (c < 0)
		return -1;
	return untranslate_link(REAL(readlink)(c ? p.tree : path, buf, len), buf, len);
}

SHIM_EXPORT ssize_t
readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	struct shim_path p;
	int c = CLASSIFY_LINK(dirfd, path, &p);

	if (c < 0)
		return -1;
	return untranslate_link(c ? REAL(readlinkat)(AT_FDCWD, p.tree, buf, len) :
	    REAL(readlinkat)(dirfd, path, buf, len), buf, len);
}

SHIM_EXPORT ssize_t
__readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	return readlink(path, buf, len < buflen ? len : buflen);
}

SHIM_EXPORT ssize_t
__readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen)
{
	return readlinkat(dirfd, path, buf, len < buflen ? len : buflen);
}

/*
 * realpath: glibc resolves through internal calls we cannot see, so a virtual path is resolved
 * on its tree path and the answer rewritten; an answer inside a tree is rewritten too.
 */
static char *
realpath_common(const char *path, char *resolved)
{
	char buf[PATH_MAX];
	struct shim_path p;
	char *r;
	int c = CLASSIFY(AT_FDCWD, path, &p);

	if (c < 0)
		return NULL;
	r = REAL(realpath)(c ? p.tree : path, buf);
	if (r == NULL)
		return NULL;
	if (shim_active() && !shim_untranslate(buf, sizeof buf) && c) {
		errno = ENOENT; /* resolved outside the tree: a symlink out of the cache is not served */
		return NULL;
	}
	if (resolved != NULL) {
		strlcpy(resolved, buf, PATH_MAX);
		return resolved;
	}
	return strdup(buf);
}

SHIM_EXPORT char *
realpath(const char *path, char *resolved)
{
	return realpath_common(path, resolved);
}

SHIM_EXPORT char *
__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	(void)resolvedlen;
	return realpath_common(path, resolved);
}

SHIM_EXPORT char *
canonicalize_file_name(const char *path)
{
	return realpath_common(path, NULL);
}

/* getcwd: a cwd inside a cache tree reads as its virtual path. */
static char *
getcwd_common(char *buf, size_t size)
{
	char tmp[PATH_MAX];
	size_t len;

	if (!shim_active())
		return REAL(getcwd)(buf, size);
	if (REAL(getcwd)(tmp, sizeof tmp) == NULL)
		return NULL;
	shim_untranslate(tmp, sizeof tmp);
	len = strlen(tmp) + 1;
	if (buf == NULL) {
		if (size != 0 && size < len) {
			errno = ERANGE;
			return NULL;
		}
		return strdup(tmp);
	}
	if (size < len) {
		errno = size == 0 ? EINVAL : ERANGE;
		return NULL;
	}
	memcpy(buf, tmp, len);
	return buf;
}

SHIM_EXPORT char *
getcwd(char *buf, size_t size)
{
	return getcwd_common(buf, size);
}

SHIM_EXPORT char *
__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	return getcwd_common(buf, size < buflen ? size : buflen);
}

SHIM_EXPORT char *
get_current_dir_name(void)
{
	return getcwd_common(NULL, 0);
}

SHIM_EXPORT int
chdir(const char *path)
{
	struct shim_path p;
	int c = CLASSIFY(AT_FDCWD, path, &p), rc;

	if (c < 0)
		return -1;
	rc = REAL(chdir)(c ? p.tree : path);
	if (rc == 0 && shim_active())
		shim_cwd_changed();
	return rc;
}

SHIM_EXPORT int
fchdir(int fd)
{
	int rc = REAL(fchdir)(fd);

	if (rc == 0 && shim_active())
		shim_cwd_changed();
	return rc;
}

/* Extended attributes are read on the tree file (ls -l asks for ACLs). */
SHIM_EXPORT ssize_t
getxattr(const char *path, const char *name, void *value, size_t size)
{
	struct shim_path p;
	int c = CLASSIFY(AT_FDCWD, path, &p);

	if (c < 0)
		return -1;
	return REAL(getxattr)(c ? p.tree : path, name, value, size);
}

SHIM_EXPORT ssize_t
lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	struct shim_path p;
	int c = CLASSIFY_LINK(AT_FDCWD, path, &p);

	if (c < 0)
		return -1;
	return REAL(lgetxattr)(c ? p.tree : path, name, value, size);
}

SHIM_EXPORT ssize_t
listxattr(const char *path, char *list, size_t size)
{
	struct shim_path p;
	int c = CLASSIFY(AT_FDCWD, path, &p);

	if (c < 0)
		return -1;
	return REAL(listxattr)(c ? p.tree : path, list, size);
}

SHIM_EXPORT ssize_t
llistxattr(const char *path, char *list, size_t size)
{
	struct shim_path p;
	int c = CLASSIFY_LINK(AT_FDCWD, path, &p);

	if (c < 0)
		return -1;
	return REAL(llistxattr)(c ? p.tree : path, list, size);
}
