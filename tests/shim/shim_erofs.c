/* shim_erofs: every mutating call on a virtual file or dir (path- and fd-based) fails with EROFS; the cache must be left unchanged. */
#include "shimtest.h"

#include <sys/time.h>
#include <sys/xattr.h>

static int bad;
static char f_[4096], d_[4096], new_[4096], new2_[4096];

/* CALL must fail with EROFS (STRICT) or at least fail (fd calls the kernel refuses on O_RDONLY). */
static void
expect(long rc, const char *call, int strict)
{
	int e = errno;

	if (rc != -1) {
		printf("%s: FAIL: %s succeeded (rc %ld), want EROFS\n", st_prog, call, rc);
		bad = 1;
	} else if (e != EROFS && strict) {
		printf("%s: FAIL: %s: %s, want EROFS\n", st_prog, call, strerror(e));
		bad = 1;
	} else {
		printf("%s: %s: %s ok\n", st_prog, call, strerror(e));
	}
}

#define EROFS_(call) expect((long)(call), #call, 1)
#define FAILS_(call) expect((long)(call), #call, 0)

static long
fopen_rc(const char *path, const char *mode)
{
	FILE *f = fopen(path, mode);

	if (f == NULL)
		return -1;
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };
	struct timeval tv[2] = { { 0, 0 }, { 0, 0 } };
	const char *f = f_, *d = d_, *nw = new_, *nw2 = new2_;
	int fd;

	st_init(argc, argv, 2, "VIRTUAL_FILE VIRTUAL_DIR");
	snprintf(f_, sizeof f_, "%s", argv[1]);
	snprintf(d_, sizeof d_, "%s", argv[2]);
	snprintf(new_, sizeof new_, "%s/new-file", argv[2]);
	snprintf(new2_, sizeof new2_, "%s/new-dir", argv[2]);

	EROFS_(open(f, O_WRONLY));
	EROFS_(open(f, O_RDWR));
	EROFS_(open(f, O_RDONLY | O_TRUNC));
	EROFS_(open(f, O_WRONLY | O_APPEND));
	EROFS_(open(nw, O_WRONLY | O_CREAT, 0644));
	EROFS_(open(nw, O_RDONLY | O_CREAT, 0644));
	EROFS_(openat(AT_FDCWD, nw, O_RDWR | O_CREAT | O_EXCL, 0644));
	EROFS_(creat(nw, 0644));
	EROFS_(fopen_rc(f, "w"));
	EROFS_(fopen_rc(f, "a"));
	EROFS_(fopen_rc(f, "r+"));
	EROFS_(fopen_rc(nw, "w"));
	EROFS_(truncate(f, 0));
	EROFS_(unlink(f));
	EROFS_(unlinkat(AT_FDCWD, f, 0));
	EROFS_(remove(f));
	EROFS_(rename(f, nw));
	EROFS_(renameat(AT_FDCWD, f, AT_FDCWD, nw));
	EROFS_(renameat2(AT_FDCWD, f, AT_FDCWD, nw, RENAME_NOREPLACE));
	EROFS_(mkdir(nw2, 0755));
	EROFS_(mkdirat(AT_FDCWD, nw2, 0755));
	EROFS_(rmdir(d));
	EROFS_(unlinkat(AT_FDCWD, d, AT_REMOVEDIR));
	EROFS_(chmod(f, 0777));
	EROFS_(chmod(d, 0777));
	EROFS_(fchmodat(AT_FDCWD, f, 0777, 0));
	EROFS_(chown(f, getuid(), getgid()));
	EROFS_(lchown(f, getuid(), getgid()));
	EROFS_(utimensat(AT_FDCWD, f, ts, 0));
	EROFS_(utimensat(AT_FDCWD, f, NULL, 0));
	EROFS_(utimes(f, tv));
	EROFS_(link(f, nw));
	EROFS_(linkat(AT_FDCWD, f, AT_FDCWD, nw, 0));
	EROFS_(symlink("target", nw));
	EROFS_(symlinkat("target", AT_FDCWD, nw));
	EROFS_(mkfifo(nw, 0644));
	EROFS_(mknod(nw, S_IFREG | 0644, 0));
	EROFS_(setxattr(f, "user.modelshim-test", "1", 1, 0));
	EROFS_(lsetxattr(f, "user.modelshim-test", "1", 1, 0));
	EROFS_(removexattr(f, "user.modelshim-test"));

	/* Through a read-only fd: the kernel would allow fchmod/fchown/futimens/fsetxattr to the owner. */
	fd = st_open(f, O_RDONLY);
	EROFS_(fchmod(fd, 0777));
	EROFS_(fchown(fd, getuid(), getgid()));
	EROFS_(futimens(fd, ts));
	EROFS_(fsetxattr(fd, "user.modelshim-test", "1", 1, 0));
	EROFS_(fremovexattr(fd, "user.modelshim-test"));
	FAILS_(ftruncate(fd, 0));
	FAILS_(fallocate(fd, 0, 0, 4096));
	FAILS_(write(fd, "x", 1));
	FAILS_(pwrite(fd, "x", 1, 0));
	close(fd);
	fd = st_open(d, O_RDONLY | O_DIRECTORY);
	EROFS_(fchmod(fd, 0777));
	EROFS_(openat(fd, "new-file", O_WRONLY | O_CREAT, 0644));
	EROFS_(mkdirat(fd, "new-dir", 0755));
	EROFS_(unlinkat(fd, "new-file", 0));
	close(fd);
	if (bad)
		st_die("some mutating calls on virtual paths did not fail with EROFS (see above)");
	st_say("all mutating calls failed with EROFS");
	return 0;
}
