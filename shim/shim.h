/*
 * shim.h: internals shared by the parts of libmodelshim.so. The shim only intercepts: it maps
 * virtual paths to the cache tree, keeps a table of fds whose file is not complete yet, and
 * asks the daemon for missing chunks before any call that reads them. It never writes to the
 * cache, never reads credentials, and never exits or aborts the host program.
 */
#ifndef MS_SHIM_H
#define MS_SHIM_H

#include <aio.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>
#include <wchar.h>

#include "cache.h"
#include "config.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Declarations glibc's headers do not give in this build. */
struct statx;
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
size_t __fread_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *fp);
size_t __fread_unlocked_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *fp);
char *__fgets_chk(char *s, size_t size, int n, FILE *fp);
char *__fgets_unlocked_chk(char *s, size_t size, int n, FILE *fp);
int _IO_getc(FILE *fp);
int __underflow(FILE *fp);
wint_t __wuflow(FILE *fp);
wint_t __wunderflow(FILE *fp);
int __isoc99_vfscanf(FILE *fp, const char *fmt, va_list ap);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);
char *__getcwd_chk(char *buf, size_t size, size_t buflen);

/*
 * Every libc function the shim calls through to, resolved with dlsym(RTLD_NEXT). The list is the
 * one place a real_ pointer is declared: add a name here and REAL(name) works.
 */
#define SHIM_REAL_SYMBOLS(X) \
	X(open) X(open64) X(openat) X(openat64) X(__open_2) X(__open64_2) X(__openat_2) \
	X(__openat64_2) X(creat) X(creat64) X(fopen) X(fopen64) X(freopen) X(freopen64) X(fdopen) \
	X(fclose) X(close) X(close_range) X(closefrom) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64) \
	X(read) X(__read_chk) X(pread) X(pread64) X(__pread_chk) X(__pread64_chk) X(readv) \
	X(preadv) X(preadv64) X(preadv2) X(preadv64v2) X(lseek) X(lseek64) X(sendfile) \
	X(sendfile64) X(copy_file_range) X(splice) X(posix_fadvise) X(posix_fadvise64) \
	X(readahead) X(ioctl) X(mmap) X(mmap64) X(mremap) X(munmap) X(mprotect) \
	X(stat) X(stat64) X(lstat) X(lstat64) X(fstat) X(fstat64) X(fstatat) X(fstatat64) \
	X(__xstat) X(__xstat64) X(__lxstat) X(__lxstat64) X(__fxstat) X(__fxstat64) \
	X(__fxstatat) X(__fxstatat64) X(statx) X(access) X(faccessat) X(euidaccess) X(eaccess) \
	X(readlink) X(readlinkat) X(__readlink_chk) X(__readlinkat_chk) X(realpath) \
	X(__realpath_chk) X(canonicalize_file_name) X(getcwd) X(__getcwd_chk) \
	X(get_current_dir_name) X(chdir) X(fchdir) X(getxattr) X(lgetxattr) X(listxattr) \
	X(llistxattr) \
	X(opendir) X(closedir) X(scandir) X(scandir64) X(nftw) X(nftw64) X(ftw) X(ftw64) X(glob) X(glob64) \
	X(remove) X(unlink) X(unlinkat) X(rename) X(renameat) X(renameat2) X(mkdir) X(mkdirat) X(rmdir) \
	X(truncate) X(truncate64) X(chmod) X(fchmodat) X(chown) X(lchown) X(fchownat) X(utime) \
	X(utimes) X(lutimes) X(utimensat) X(futimesat) X(link) X(linkat) X(symlink) X(symlinkat) \
	X(setxattr) X(lsetxattr) X(removexattr) X(lremovexattr) X(mknod) X(mknodat) X(mkfifo) \
	X(mkfifoat) X(fchmod) X(fchown) X(futimens) X(fsetxattr) X(fremovexattr) \
	X(execve) X(execvpe) X(fexecve) X(execv) X(execvp) X(posix_spawn) X(posix_spawnp) \
	X(posix_spawn_file_actions_adddup2) X(posix_spawn_file_actions_addopen) X(system) X(popen) \
	X(aio_read) X(aio_read64) X(lio_listio) X(lio_listio64) X(syscall) \
	X(fread) X(fread_unlocked) X(__fread_chk) X(__fread_unlocked_chk) X(fgets) X(fgets_unlocked) \
	X(__fgets_chk) X(__fgets_unlocked_chk) X(getline) X(getdelim) X(__getdelim) X(fgetc) X(getc) \
	X(_IO_getc) X(fgetc_unlocked) X(getc_unlocked) X(getchar) X(getchar_unlocked) X(getw) \
	X(__uflow) X(__underflow) X(__wuflow) X(__wunderflow) X(fgetwc) X(getwc) X(fgetwc_unlocked) \
	X(getwc_unlocked) X(getwchar) X(getwchar_unlocked) X(fgetws) X(fgetws_unlocked) X(vfscanf) \
	X(__isoc99_vfscanf)

void *shim_resolve(const char *name);

#define SHIM_DECLARE_REAL(name) \
	extern __typeof__(name) *real_##name; \
	static inline __typeof__(name) *shim_real_##name(void) \
	{ \
		if (real_##name == NULL) \
			real_##name = (__typeof__(real_##name))shim_resolve(#name); \
		return real_##name; \
	}
SHIM_REAL_SYMBOLS(SHIM_DECLARE_REAL)
#undef SHIM_DECLARE_REAL

#define REAL(name) (shim_real_##name())

/* Process-wide state, set once by the constructor. */
struct shim_mount_root {
	char tree[MS_AREA_PATH_MAX]; /* DIR/tenants/TENANT/MOUNT/tree */
	size_t tree_len;
	size_t vpath_len;             /* strlen of the mount's virtual path */
};

struct shim_state {
	bool enabled;
	pid_t pid;                    /* updated in fork children; differs in a vfork child */
	struct ms_config cfg;
	struct shim_mount_root roots[MS_MAX_MOUNTS];
	char self[MS_PATH_MAX];       /* path of libmodelshim.so, for exec */
	char daemon_exe[MS_PATH_MAX]; /* modelshim binary started when no daemon answers */
	char config_path[MS_PATH_MAX];
};
extern struct shim_state shim;

/* Per-thread guard: the shim's own libc calls pass straight through. */
extern __thread int shim_busy;

static inline bool
shim_active(void)
{
	return shim.enabled && !shim_busy;
}

/* True in a vfork child (shares the parent's memory): wrappers must change no state there. */
bool shim_in_vfork_child(void);

/* path.c: a path classified as ours. */
struct shim_path {
	unsigned mount;
	char tree[MS_PATH_MAX * 2];  /* the cache-tree path to hand to the kernel */
	const char *key;             /* points into tree: "" for the mount root */
};

/*
 * Classifies PATH relative to DIRFD (AT_FDCWD or a directory fd). Returns 1 and fills OUT when it
 * names a virtual path (or a cache-tree path), 0 when it is not ours, -1 with errno set when it
 * is ours but cannot be mapped (ENAMETOOLONG).
 */
int shim_classify(int dirfd, const char *path, struct shim_path *out);
/* The same for calls that act on a link itself (readlink, lstat): /proc/self/fd/N is not followed. */
int shim_classify_nofollow(int dirfd, const char *path, struct shim_path *out);

/* Rewrites a cache-tree path in BUF (in place, NUL-terminated, CAP bytes) to its virtual path. */
bool shim_untranslate(char *buf, size_t cap);

/* chdir/fchdir bookkeeping: whether the real cwd is inside a cache tree. */
void shim_cwd_changed(void);

/* conn.c: requests to the daemon over this thread's connection (see conn.c for the rules). */
/*
 * Bytes [off, off + len) of KEY present: 0, MS_FILL_RANGE_READY (FLAGS has MS_FILL_RANGE: the
 * bytes are in the file, their chunks not complete), MS_CLIENT_BYTES (only with a DST and
 * MS_FILL_RANGE: the bytes were handed over into DST, *GOT of them), or -errno with a message
 * in ERR.
 */
int shim_conn_fill(unsigned mount, const char *key, uint64_t off, uint64_t len, uint64_t ino,
    uint32_t flags, void *dst, size_t *got, char *err, size_t errlen);
/* Present chunks of KEY checked by the daemon: 0, -EBADMSG (some dropped), or -errno. */
int shim_conn_verify(unsigned mount, const char *key, uint64_t ino, char *err, size_t errlen);
void shim_conn_touch(unsigned mount, const char *key, uint64_t ino);
/* KEY missing from the namespace, looked for by the daemon: 0 (imported now), or -errno. */
int shim_conn_lookup(unsigned mount, const char *key);

/*
 * lookup.c: C and RC are a path call's classification and result on P's tree: true when the
 * call failed with ENOENT and the daemon found the name in the store since (call it again);
 * false otherwise, errno as the call left it.
 */
bool shim_lookup_found(int c, int rc, const struct shim_path *p);
void shim_conn_prefetch(unsigned mount, const char *key, uint64_t off, uint64_t len, uint64_t ino);

/* read.c: bytes [off, off + len) of FD made present; false with errno EIO if they cannot be. */
bool shim_read_ensure(int fd, off_t off, size_t len);
/*
 * For a read of LEN bytes at OFF into BUF: -1 (errno EIO, or EFAULT for a BUF that cannot be
 * written), 0 (the file has them now: read it), or the count of bytes the daemon handed over
 * into BUF (the read's result).
 */
ssize_t shim_read_fill(int fd, off_t off, void *buf, size_t len);
/*
 * An fd whose reads must be watched, while the shim is on: also inside the shim's own calls
 * (shim_busy), since a signal handler may read while the thread it interrupted is in the shim;
 * the shim itself never reads a tracked fd through a wrapper.
 */
#define TRACKED(fd) (shim_fd_tracked(fd) && shim.enabled)

/* fdtable.c */
struct shim_file;
void shim_fdtable_init(void);
/* Registers FD (just opened on the tree file of P) if its object is incomplete; fills small ones. */
int shim_track_open(int fd, const struct shim_path *p);
/* Looks FD up: NULL (the common case) or a held reference to be released with shim_file_put. */
struct shim_file *shim_file_get(int fd);
void shim_file_put(struct shim_file *f);
/*
 * Makes bytes [off, off + len) of F present (0) or fails with -EIO after one message per file.
 * FD, the fd F was found at, is checked to still be that file (-1: no fd to check).
 */
int shim_file_ensure(struct shim_file *f, int fd, uint64_t off, uint64_t len);
uint64_t shim_file_size(const struct shim_file *f);
/* Same, by fd: 0 when FD is not tracked. LEN 0 means to the end. */
int shim_fd_ensure(int fd, uint64_t off, uint64_t len);
/*
 * Same, for a caller that reads bytes [off, off + len) of FD once, right after: the daemon may
 * answer as soon as those bytes are written, before their chunks are complete (MS_FILL_RANGE),
 * or, given a DST of LEN bytes, with the bytes themselves: MS_CLIENT_BYTES, *GOT of them.
 */
int shim_fd_ensure_read(int fd, uint64_t off, uint64_t len, void *dst, size_t *got);
void shim_fd_prefetch(int fd, uint64_t off, uint64_t len);
/* Forgets FD (closed); copies FROM's entry to TO (dup). Both no-ops in a vfork child. */
void shim_fd_forget(int fd);
void shim_fd_forget_range(unsigned lo, unsigned hi);
void shim_fd_dup(int from, int to);
/*
 * Per fd, what the shim knows of it: FD_NONE (not ours), FD_TRACKED (an entry in the table: not
 * complete yet, or a virtual directory), FD_COMPLETE (a complete file opened through the shim).
 * Read inline by every wrapper: the whole cost of the shim on an fd that is not tracked.
 */
enum { FD_NONE, FD_TRACKED, FD_COMPLETE };
extern _Atomic uint8_t *shim_fd_kind;
extern unsigned shim_fd_kind_size;

static inline bool
shim_fd_tracked(int fd)
{
	return (unsigned)fd < shim_fd_kind_size &&
	    atomic_load_explicit(&shim_fd_kind[fd], memory_order_relaxed) == FD_TRACKED;
}

static inline bool
shim_fd_ours(int fd)
{
	return (unsigned)fd < shim_fd_kind_size &&
	    atomic_load_explicit(&shim_fd_kind[fd], memory_order_relaxed) != FD_NONE;
}
/*
 * Adopts fds inherited across exec that point into a cache tree, and makes their files complete
 * (the program may read them through stdio); one that cannot be filled has its reads refused.
 */
void shim_fdtable_adopt_inherited(void);
/*
 * Makes complete every tracked file that survives an exec (fds without FD_CLOEXEC; in a vfork
 * child also a standard stream dup'ed onto one). 0 or -EIO (reported on stderr).
 */
int shim_fds_complete_for_exec(void);
/* stat fix-up for our files: the blocks of a dense file, and ctime = mtime (Last-Modified). */
void shim_fix_stat(struct stat *st);
/* The same for an fd of ours; a file still being filled reports its object's mtime. */
void shim_fix_fstat(int fd, struct stat *st);

#endif
