/* shim_syscall: syscall(2) on virtual paths and fds: openat/read/pread64 (also on an fd from open()), statx, newfstatat, faccessat, getdents64 of a virtual dir, and io_uring_setup refused with ENOSYS. */
#include "shimtest.h"

#include <linux/io_uring.h>
#include <stdbool.h>
#include <sys/syscall.h>

/* st_check that reports instead of exiting. */
static bool
same(const unsigned char *got, const unsigned char *ref, size_t size, size_t off, size_t len,
    const char *what)
{
	size_t i, z;

	if (off > size || len > size - off) {
		st_fail("%s: %zu bytes at %zu run past the end of the %zu-byte file", what, len, off, size);
		return false;
	}
	if (memcmp(got, ref + off, len) == 0)
		return true;
	for (i = 0; i < len && got[i] == ref[off + i]; i++)
		;
	for (z = i; z < len && got[z] == 0; z++)
		;
	if (z - i >= 16 || z == len)
		st_fail("%s: got %zu zero bytes at offset %zu where the source has data (unfilled cache "
		    "bytes reached the application)", what, z - i, off + i);
	else
		st_fail("%s: byte %zu differs: got 0x%02x, want 0x%02x", what, off + i, got[i], ref[off + i]);
	return false;
}

/* LEN bytes with syscall(SYS_read) from FD's position, which is OFF; compared with REF. */
static void
sys_read_check(int fd, const unsigned char *ref, size_t size, size_t off, size_t len,
    const char *what)
{
	unsigned char *buf = st_alloc(len);
	size_t got = 0;
	long n = 0;
	int i;

	for (i = 0; i < 100000 && got < len; i++) {
		if ((n = syscall(SYS_read, fd, buf + got, len - got)) <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len)
		st_fail("%s: %zu of %zu bytes, then %s", what, got, len, n < 0 ? strerror(errno) : "EOF");
	else if (same(buf, ref, size, off, len, what))
		st_say("%s: %zu bytes at %zu ok", what, len, off);
	free(buf);
}

static void
sys_pread_check(int fd, const unsigned char *ref, size_t size, size_t off, size_t len,
    const char *what)
{
	unsigned char *buf = st_alloc(len);
	long n = syscall(SYS_pread64, fd, buf, len, (off_t)off);

	if (n < 0 || (size_t)n != len)
		st_fail("%s: %zu bytes at %zu: returned %ld%s%s", what, len, off, n, n < 0 ? ", " : "",
		    n < 0 ? strerror(errno) : "");
	else if (same(buf, ref, size, off, len, what))
		st_say("%s: %zu bytes at %zu ok", what, len, off);
	free(buf);
}

/* The d_names of a getdents64 buffer of N bytes, each checked against WANT[0..NWANT). */
struct raw_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void
list_dir(const char *vdir, char **want, int nwant)
{
	static char buf[65536] __attribute__((aligned(8)));
	char seen[64], extra[512] = "";
	long n;
	int fd, i, k, nseen = 0, missing = 0;

	memset(seen, 0, sizeof seen);
	if (nwant > (int)sizeof seen)
		st_die("too many expected names");
	fd = (int)syscall(SYS_openat, AT_FDCWD, vdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		st_fail("syscall(SYS_openat, %s, O_DIRECTORY): %s", vdir, strerror(errno));
		return;
	}
	for (k = 0; k < 10000; k++) {
		if ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) <= 0)
			break;
		for (long at = 0; at < n;) {
			const struct raw_dirent64 *d = (const struct raw_dirent64 *)(buf + at);

			at += d->d_reclen;
			if (d->d_reclen == 0) {
				st_fail("getdents64(%s): an entry of length 0", vdir);
				n = -1;
				break;
			}
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			for (i = 0; i < nwant && strcmp(d->d_name, want[i]) != 0; i++)
				;
			if (i < nwant) {
				seen[i]++;
				nseen++;
			} else {
				size_t used = strlen(extra);

				snprintf(extra + used, sizeof extra - used, " '%s'", d->d_name);
			}
		}
	}
	if (n < 0)
		st_fail("syscall(SYS_getdents64, %s): %s", vdir, strerror(errno));
	syscall(SYS_close, fd);
	for (i = 0; i < nwant; i++)
		if (seen[i] != 1) {
			st_fail("getdents64(%s): '%s' listed %d times, want once", vdir, want[i], seen[i]);
			missing++;
		}
	if (extra[0] != '\0')
		st_fail("getdents64(%s): unexpected entries:%s", vdir, extra);
	if (n >= 0 && missing == 0 && extra[0] == '\0')
		st_say("syscall(SYS_getdents64, %s): the %d expected names, nothing else", vdir, nseen);
}

int
main(int argc, char **argv)
{
	struct io_uring_params params;
	unsigned char *ref;
	struct statx stx;
	struct stat st;
	const char *vpath, *vdir;
	size_t size;
	long rc;
	int fd;

	st_prog = "shim_syscall";
	if (argc < 5) {
		fprintf(stderr, "usage: %s VIRTUAL_PATH VIRTUAL_DIR REFERENCE_FILE NAME_IN_DIR...\n",
		    st_prog);
		return 2;
	}
	vpath = argv[1];
	vdir = argv[2];
	ref = st_load(argv[3], &size);
	if (size < 5 * 1048576)
		st_die("the reference must be at least 5 MiB");

	if (syscall(SYS_faccessat, AT_FDCWD, vpath, R_OK) == 0)
		st_say("syscall(SYS_faccessat, %s, R_OK): 0", vpath);
	else
		st_fail("syscall(SYS_faccessat, %s, R_OK): %s", vpath, strerror(errno));

	memset(&stx, 0, sizeof stx);
	if (syscall(SYS_statx, AT_FDCWD, vpath, 0, STATX_SIZE, &stx) != 0)
		st_fail("syscall(SYS_statx, %s): %s", vpath, strerror(errno));
	else if (!(stx.stx_mask & STATX_SIZE) || stx.stx_size != size)
		st_fail("syscall(SYS_statx, %s): size %llu (mask 0x%x), want %zu", vpath,
		    (unsigned long long)stx.stx_size, stx.stx_mask, size);
	else
		st_say("syscall(SYS_statx, %s): size %zu", vpath, size);

	memset(&st, 0, sizeof st);
	if (syscall(SYS_newfstatat, AT_FDCWD, vpath, &st, 0) != 0)
		st_fail("syscall(SYS_newfstatat, %s): %s", vpath, strerror(errno));
	else if ((size_t)st.st_size != size || !S_ISREG(st.st_mode))
		st_fail("syscall(SYS_newfstatat, %s): size %lld mode 0%o, want a %zu-byte file", vpath,
		    (long long)st.st_size, st.st_mode, size);
	else
		st_say("syscall(SYS_newfstatat, %s): size %zu", vpath, size);

	/* An fd from the raw openat, read with raw read and pread64 (cold chunks 0-3, 40-41). */
	fd = (int)syscall(SYS_openat, AT_FDCWD, vpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		st_fail("syscall(SYS_openat, %s, O_RDONLY): %s (the reads on its fd are skipped)", vpath,
		    strerror(errno));
	} else {
		st_say("syscall(SYS_openat, %s): fd %d", vpath, fd);
		sys_read_check(fd, ref, size, 0, 200001, "syscall(SYS_read) on the openat fd");
		sys_pread_check(fd, ref, size, size / 2 + 3, 100000,
		    "syscall(SYS_pread64) on the openat fd");
		syscall(SYS_close, fd);
	}

	/* An fd from open() (the shim's), read with raw read and pread64 (cold chunks 48, 64-65). */
	fd = st_open(vpath, O_RDONLY | O_CLOEXEC);
	if (lseek(fd, 3 * 1048576 + 7, SEEK_SET) != 3 * 1048576 + 7)
		st_die("lseek: %s", strerror(errno));
	sys_read_check(fd, ref, size, 3 * 1048576 + 7, 50000, "syscall(SYS_read) on an open() fd");
	sys_pread_check(fd, ref, size, 4 * 1048576 + 99, 70000,
	    "syscall(SYS_pread64) on an open() fd");
	close(fd);

	list_dir(vdir, argv + 4, argc - 4);

	memset(&params, 0, sizeof params);
	rc = syscall(SYS_io_uring_setup, 8, &params);
	if (rc >= 0) {
		close((int)rc);
		st_fail("syscall(SYS_io_uring_setup, 8): succeeded (fd %ld); want ENOSYS: reads submitted "
		    "through a ring are never seen by the shim", rc);
	} else if (errno != ENOSYS) {
		st_fail("syscall(SYS_io_uring_setup, 8): %s, want ENOSYS", strerror(errno));
	} else {
		st_say("syscall(SYS_io_uring_setup, 8): ENOSYS");
	}

	free(ref);
	if (st_fails)
		st_die("%d check(s) failed", st_fails);
	st_say("every syscall(2) check passed");
	return 0;
}
