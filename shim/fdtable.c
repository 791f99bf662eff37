/*
 * fdtable.c: the per-process table of fds the shim must watch: files whose object is not
 * complete yet (reads must first make their chunks present) and directories under a virtual path
 * (for dirfd-relative calls), and the filling of those files' ranges. A flat array indexed by fd;
 * complete files never enter it, so a hit costs one load. Entries are reference-counted: looked
 * up under a read lock, changed under a write lock, and no lock is held across a daemon round
 * trip (conn.c makes those). Opening objects is object.c's. Never writes to the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "file.h"
#include "log.h"
#include "proto.h"
#include "shim.h"

#define TABLE_MAX (1u << 20)

static _Atomic(struct shim_file *) *table;
_Atomic uint8_t *shim_fd_kind;
unsigned shim_fd_kind_size;
/* One past the highest fd ever tracked: what an exec has to look through. */
static atomic_uint tracked_end;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;

void
shim_fdtable_init(void)
{
	struct rlimit rl;
	rlim_t n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > n)
		n = rl.rlim_cur;
	if (n > TABLE_MAX)
		n = TABLE_MAX;
	table = calloc(n, sizeof *table);
	shim_fd_kind = calloc(n, sizeof *shim_fd_kind);
	shim_fd_kind_size = table != NULL && shim_fd_kind != NULL ? (unsigned)n : 0;
}

void
shim_file_free(struct shim_file *f)
{
	free(f->bits);
	free(f->key);
	free(f);
}

void
shim_file_put(struct shim_file *f)
{
	if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1)
		shim_file_free(f);
}

struct shim_file *
shim_file_get(int fd)
{
	struct shim_file *f;

	if (fd < 0 || (unsigned)fd >= shim_fd_kind_size)
		return NULL;
	if (atomic_load_explicit(&table[fd], memory_order_relaxed) == NULL)
		return NULL;
	pthread_rwlock_rdlock(&table_lock);
	f = atomic_load(&table[fd]);
	if (f != NULL)
		atomic_fetch_add(&f->refs, 1);
	pthread_rwlock_unlock(&table_lock);
	return f;
}

uint64_t
shim_file_size(const struct shim_file *f)
{
	return f->size;
}

/*
 * The write lock, with this thread's signals blocked while it is held: a handler that reads a
 * tracked fd takes the read lock, which would never come in the thread holding the write lock.
 */
static void
table_write_lock(sigset_t *old_mask)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old_mask);
	pthread_rwlock_wrlock(&table_lock);
}

static void
table_write_unlock(const sigset_t *old_mask)
{
	pthread_rwlock_unlock(&table_lock);
	pthread_sigmask(SIG_SETMASK, old_mask, NULL);
}

void
shim_fd_install(int fd, struct shim_file *f)
{
	struct shim_file *old;

	sigset_t old_mask;

	table_write_lock(&old_mask);
	old = atomic_exchange(&table[fd], f);
	atomic_store(&shim_fd_kind[fd], FD_TRACKED);
	if (atomic_load(&tracked_end) <= (unsigned)fd)
		atomic_store(&tracked_end, (unsigned)fd + 1);
	table_write_unlock(&old_mask);
	shim_file_put(old);
}

void
shim_fd_uninstall(int fd, struct shim_file *f, uint8_t new_kind)
{
	struct shim_file *old = NULL;
	sigset_t old_mask;

	if (fd < 0 || (unsigned)fd >= shim_fd_kind_size)
		return;
	/* No entry to release (a complete file's fd): the kind alone changes, no lock (hit path). */
	if (f == NULL && atomic_load(&table[fd]) == NULL) {
		atomic_store(&shim_fd_kind[fd], new_kind);
		return;
	}
	table_write_lock(&old_mask);
	if (f == NULL || atomic_load(&table[fd]) == f) {
		old = atomic_exchange(&table[fd], NULL);
		atomic_store(&shim_fd_kind[fd], new_kind);
	}
	table_write_unlock(&old_mask);
	shim_file_put(old);
}

void
shim_fd_forget(int fd)
{
	if (!shim_fd_ours(fd) || shim_in_vfork_child())
		return;
	shim_fd_uninstall(fd, NULL, FD_NONE);
}

void
shim_fd_forget_range(unsigned lo, unsigned hi)
{
	unsigned fd;

	if (shim_fd_kind_size == 0 || lo >= shim_fd_kind_size || shim_in_vfork_child())
		return;
	if (hi >= shim_fd_kind_size)
		hi = shim_fd_kind_size - 1;
	for (fd = lo; fd <= hi; fd++)
		if (atomic_load_explicit(&shim_fd_kind[fd], memory_order_relaxed) != FD_NONE)
			shim_fd_uninstall((int)fd, NULL, FD_NONE);
}

void
shim_fd_dup(int from, int to)
{
	struct shim_file *f;

	if (to < 0 || (unsigned)to >= shim_fd_kind_size || shim_in_vfork_child())
		return;
	if (!shim_fd_ours(from) && !shim_fd_ours(to))
		return;
	f = shim_file_get(from);
	if (f != NULL)
		shim_fd_install(to, f); /* the reference taken by get moves into the table */
	else
		shim_fd_uninstall(to, NULL, shim_fd_ours(from) ? FD_COMPLETE : FD_NONE);
}

void
shim_fix_fstat(int fd, struct stat *st)
{
	struct shim_file *f = shim_file_get(fd);

	/* While fills write into it, the file's mtime is not the object's: the map's is. */
	if (f != NULL && !f->is_dir && f->mtime != 0) {
		st->st_mtim.tv_sec = f->mtime;
		st->st_mtim.tv_nsec = 0;
	}
	shim_file_put(f);
	shim_fix_stat(st);
}

void
shim_fix_stat(struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return;
	st->st_blocks = (st->st_size + 511) / 512;
	/* Fills write into the cache file: its change time is ours, not the object's. */
	st->st_ctim = st->st_mtim;
}

bool
shim_file_has(const struct shim_file *f, uint32_t first, uint32_t end)
{
	uint32_t i;

	for (i = first; i < end; i++)
		if (!((__atomic_load_n(&f->bits[i >> 3], __ATOMIC_ACQUIRE) >> (i & 7)) & 1))
			return false;
	return true;
}

static void
mark_present(struct shim_file *f, uint32_t first, uint32_t end)
{
	uint32_t i;

	for (i = first; i < end; i++)
		__atomic_fetch_or(&f->bits[i >> 3], (uint8_t)(1u << (i & 7)), __ATOMIC_RELEASE);
	if (shim_file_has(f, 0, f->nchunks))
		atomic_store(&f->complete, true);
}

void
shim_file_warn_once(struct shim_file *f, const char *msg)
{
	if (!atomic_exchange(&f->warned, true))
		ms_warn("%s/%s: %s", shim.cfg.mounts[f->mount].path, f->key, msg);
}

/*
 * Makes bytes [off, off + len) of F present: 0, or -EIO. With DST (a read's, MS_FILL_RANGE) the
 * daemon may hand the bytes over instead: MS_CLIENT_BYTES, their count in *GOT (-EFAULT if DST
 * cannot be written).
 */
static int
file_ensure(struct shim_file *f, int fd, uint64_t off, uint64_t len, uint32_t flags, void *dst,
    size_t *got)
{
	bool vforked = shim_in_vfork_child();
	char err[512];
	uint32_t first, end;
	struct stat st;
	int rc;

	if (f->is_dir || atomic_load(&f->complete) || off >= f->size)
		return 0;
	if (len == 0 || len > f->size - off)
		len = f->size - off;
	first = (uint32_t)(off / f->chunk_size);
	end = (uint32_t)((off + len - 1) / f->chunk_size + 1);
	if (shim_file_has(f, first, end))
		return 0;
	/* The fd may have been closed behind our back and its number reused (FD -1: no fd). */
	if (fd >= 0 && (REAL(fstat)(fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)) {
		if (!vforked)
			shim_fd_uninstall(fd, f, FD_NONE);
		return 0;
	}
	if (atomic_exchange(&f->open_fill_failed, false))
		return -EIO;
	rc = shim_conn_fill(f->mount, f->key, off, len, (uint64_t)f->ino, flags, dst, got, err,
	    sizeof err);
	if (rc == -EFAULT) /* the caller's buffer, not the file: no warning */
		return rc;
	if (rc < 0) {
		shim_file_warn_once(f, err);
		return -EIO;
	}
	if (rc == MS_CLIENT_BYTES) /* in DST, maybe not in the file yet: their chunks are not taken */
		return rc;
	if (rc == MS_FILL_RANGE_READY) /* the bytes are there, their chunks not complete yet */
		return 0;
	mark_present(f, first, end);
	if (atomic_load(&f->complete) && fd >= 0 && !vforked)
		shim_fd_uninstall(fd, f, FD_COMPLETE); /* pass-through from now on */
	return 0;
}

int
shim_file_ensure(struct shim_file *f, int fd, uint64_t off, uint64_t len)
{
	return file_ensure(f, fd, off, len, 0, NULL, NULL);
}

static int
fd_ensure(int fd, uint64_t off, uint64_t len, uint32_t flags, void *dst, size_t *got)
{
	struct shim_file *f = shim_file_get(fd);
	int rc;

	if (f == NULL)
		return 0;
	rc = file_ensure(f, fd, off, len, flags, dst, got);
	shim_file_put(f);
	return rc;
}

int
shim_fd_ensure(int fd, uint64_t off, uint64_t len)
{
	return fd_ensure(fd, off, len, 0, NULL, NULL);
}

int
shim_fd_ensure_read(int fd, uint64_t off, uint64_t len, void *dst, size_t *got)
{
	return fd_ensure(fd, off, len, MS_FILL_RANGE, dst, got);
}

void
shim_fd_prefetch(int fd, uint64_t off, uint64_t len)
{
	struct shim_file *f = shim_file_get(fd);

	if (f == NULL)
		return;
	if (!f->is_dir && !atomic_load(&f->complete))
		shim_conn_prefetch(f->mount, f->key, off, len, (uint64_t)f->ino);
	shim_file_put(f);
}

/* The tracked file whose inode FD has, wherever it is in the table (a held reference), or NULL. */
static struct shim_file *
find_by_inode(int fd, unsigned end)
{
	struct shim_file *f;
	struct stat st;
	unsigned i;

	if (REAL(fstat)(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	for (i = 0; i < end; i++) {
		f = shim_file_get((int)i);
		if (f != NULL && !f->is_dir && f->dev == st.st_dev && f->ino == st.st_ino)
			return f;
		shim_file_put(f);
	}
	return NULL;
}

int
shim_fds_complete_for_exec(void)
{
	unsigned fd, end = atomic_load(&tracked_end);
	struct shim_file *f;
	int rc = 0, flags;

	if (end > shim_fd_kind_size)
		end = shim_fd_kind_size;
	for (fd = 0; fd < end && rc == 0; fd++) {
		if (atomic_load_explicit(&shim_fd_kind[fd], memory_order_relaxed) != FD_TRACKED) {
			/*
			 * A vfork child's dup2 onto a standard stream is not in the table (the table is
			 * its parent's): it is found by its inode.
			 */
			if (fd <= STDERR_FILENO && shim_in_vfork_child() &&
			    (f = find_by_inode((int)fd, end)) != NULL) {
				rc = shim_file_ensure(f, -1, 0, 0);
				shim_file_put(f);
			}
			continue;
		}
		f = shim_file_get((int)fd);
		if (f == NULL)
			continue;
		flags = REAL(fcntl)((int)fd, F_GETFD);
		if (!f->is_dir && flags >= 0 && (flags & FD_CLOEXEC) == 0)
			rc = shim_file_ensure(f, (int)fd, 0, 0);
		shim_file_put(f);
	}
	return rc;
}

