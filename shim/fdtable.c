/*
 * fdtable.c: the per-process table of fds the shim must watch: files whose object is not
 * complete yet (reads must first make their chunks present) and directories under a virtual path
 * (for dirfd-relative calls). A flat array indexed by fd; complete files never enter it, so a hit
 * costs one load. Entries are reference-counted: looked up under a read lock, changed under a
 * write lock, and no lock is held across a daemon round trip (conn.c makes those). Never writes
 * to the cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "map.h"
#include "shim.h"
#include "verify.h"

#define TABLE_MAX (1u << 20)
#define SMALL_OBJECT_CHUNKS 4

struct shim_file {
	atomic_uint refs;
	bool is_dir;
	atomic_bool complete;
	atomic_bool warned;
	atomic_bool open_fill_failed; /* the fill at open failed: the first read fails at once */
	unsigned mount;
	char *key;
	dev_t dev;
	ino_t ino;
	uint64_t size;
	int64_t mtime;  /* the object's Last-Modified, from its map */
	uint32_t chunk_size, nchunks;
	uint8_t *bits; /* updated with atomic or */
};

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

static void
file_free(struct shim_file *f)
{
	free(f->bits);
	free(f->key);
	free(f);
}

void
shim_file_put(struct shim_file *f)
{
	if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1)
		file_free(f);
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

/* Puts F (a new reference, taken over) at FD, releasing what was there. */
static void
install(int fd, struct shim_file *f)
{
	struct shim_file *old;

	pthread_rwlock_wrlock(&table_lock);
	old = atomic_exchange(&table[fd], f);
	atomic_store(&shim_fd_kind[fd], FD_TRACKED);
	if (atomic_load(&tracked_end) <= (unsigned)fd)
		atomic_store(&tracked_end, (unsigned)fd + 1);
	pthread_rwlock_unlock(&table_lock);
	shim_file_put(old);
}

/* Clears FD if it still holds F (or anything, when F is NULL); it becomes NEW_KIND. */
static void
uninstall(int fd, struct shim_file *f, uint8_t new_kind)
{
	struct shim_file *old = NULL;

	if (fd < 0 || (unsigned)fd >= shim_fd_kind_size)
		return;
	pthread_rwlock_wrlock(&table_lock);
	if (f == NULL || atomic_load(&table[fd]) == f) {
		old = atomic_exchange(&table[fd], NULL);
		atomic_store(&shim_fd_kind[fd], new_kind);
	}
	pthread_rwlock_unlock(&table_lock);
	shim_file_put(old);
}

void
shim_fd_forget(int fd)
{
	if (!shim_fd_ours(fd) || shim_in_vfork_child())
		return;
	uninstall(fd, NULL, FD_NONE);
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
			uninstall((int)fd, NULL, FD_NONE);
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
		install(to, f); /* the reference taken by get moves into the table */
	else
		uninstall(to, NULL, shim_fd_ours(from) ? FD_COMPLETE : FD_NONE);
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

static bool
all_present(const struct shim_file *f, uint32_t first, uint32_t end)
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
	if (all_present(f, 0, f->nchunks))
		atomic_store(&f->complete, true);
}

static void
warn_once(struct shim_file *f, const char *msg)
{
	if (!atomic_exchange(&f->warned, true))
		ms_warn("%s/%s: %s", shim.cfg.mounts[f->mount].path, f->key, msg);
}

int
shim_file_ensure(struct shim_file *f, int fd, uint64_t off, uint64_t len)
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
	if (all_present(f, first, end))
		return 0;
	/* The fd may have been closed behind our back and its number reused (FD -1: no fd). */
	if (fd >= 0 && (REAL(fstat)(fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)) {
		if (!vforked)
			uninstall(fd, f, FD_NONE);
		return 0;
	}
	if (atomic_exchange(&f->open_fill_failed, false))
		return -EIO;
	rc = shim_conn_fill(f->mount, f->key, off, len, (uint64_t)f->ino, err, sizeof err);
	if (rc < 0) {
		warn_once(f, err);
		return -EIO;
	}
	mark_present(f, first, end);
	if (atomic_load(&f->complete) && fd >= 0 && !vforked)
		uninstall(fd, f, FD_COMPLETE); /* pass-through from now on */
	return 0;
}

int
shim_fd_ensure(int fd, uint64_t off, uint64_t len)
{
	struct shim_file *f = shim_file_get(fd);
	int rc;

	if (f == NULL)
		return 0;
	rc = shim_file_ensure(f, fd, off, len);
	shim_file_put(f);
	return rc;
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

static struct shim_file *
file_new(const struct shim_path *p, const struct stat *st)
{
	struct shim_file *f = calloc(1, sizeof *f);

	if (f == NULL)
		return NULL;
	atomic_init(&f->refs, 1);
	f->mount = p->mount;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = (uint64_t)st->st_size;
	f->key = strdup(p->key);
	if (f->key == NULL) {
		free(f);
		return NULL;
	}
	return f;
}

/* Loads the object's map into F; an object whose map is missing or foreign gets no chunk. */
static int
load_map(struct shim_file *f)
{
	char state[MS_PATH_MAX * 2 + 64];
	struct ms_map map = { .fd = -1 };
	size_t nbytes;
	int rc;

	rc = ms_cache_object_path(&shim.cfg, &shim.cfg.mounts[f->mount], MS_AREA_STATE, f->key, state,
	    sizeof state);
	if (rc == 0)
		rc = ms_map_open(&map, state, false);
	if (rc < 0 || !ms_map_names(&map, (uint64_t)f->ino, f->size)) {
		if (rc == 0)
			ms_map_close(&map);
		f->chunk_size = shim.cfg.chunk_size;
		f->nchunks = ms_chunks_for(f->size, f->chunk_size);
		f->bits = calloc(((size_t)f->nchunks + 7) / 8 + 1, 1);
		return f->bits != NULL ? 0 : -ENOMEM;
	}
	f->chunk_size = map.hdr.chunk_size;
	f->nchunks = map.hdr.nchunks;
	f->mtime = map.hdr.mtime;
	nbytes = ((size_t)f->nchunks + 7) / 8;
	f->bits = calloc(nbytes + 1, 1);
	if (f->bits != NULL && ms_map_same_boot(&map))
		memcpy(f->bits, map.bits, nbytes);
	ms_map_close(&map);
	return f->bits != NULL ? 0 : -ENOMEM;
}

/*
 * verify = open: the chunks F has as present are checked against their checksums before the
 * file is served. Bad ones are dropped by the daemon (it checks again) and F's bits reloaded,
 * so that reading them refetches. -EIO if they cannot be dropped (no daemon).
 */
static int
verify_on_open(int fd, struct shim_file *f)
{
	char state[MS_PATH_MAX * 2 + 64], err[512];
	struct ms_map map = { .fd = -1 };
	uint32_t i, bad = 0;
	uint8_t *buf;
	int rc;

	if (ms_cache_object_path(&shim.cfg, &shim.cfg.mounts[f->mount], MS_AREA_STATE, f->key,
	    state, sizeof state) < 0 || ms_map_open(&map, state, false) < 0)
		return 0; /* load_map found no map either: nothing is served from the cache */
	buf = malloc(MS_VERIFY_BUF);
	if (buf == NULL) {
		ms_map_close(&map);
		return -ENOMEM;
	}
	for (i = 0; i < f->nchunks && i < map.hdr.nchunks; i++)
		if (all_present(f, i, i + 1) && ms_map_has(&map, i) &&
		    ms_verify_chunk(fd, &map, i, buf, MS_VERIFY_BUF) < 0)
			bad++;
	free(buf);
	ms_map_close(&map);
	if (bad == 0)
		return 0;
	rc = shim_conn_verify(f->mount, f->key, (uint64_t)f->ino, err, sizeof err);
	if (rc < 0 && rc != -EBADMSG) {
		ms_warn("%u chunks of %s/%s fail their checksum and could not be dropped: %s", bad,
		    shim.cfg.mounts[f->mount].path, f->key, err);
		atomic_store(&f->warned, true);
		return -EIO;
	}
	free(f->bits);
	f->bits = NULL;
	return load_map(f);
}

static void
mark_complete(int fd)
{
	if ((unsigned)fd < shim_fd_kind_size)
		uninstall(fd, NULL, FD_COMPLETE);
}

/*
 * Pins FD, just opened on P's tree file, before anything about that file is trusted: a shared
 * flock (the daemon evicts no object held so; it holds an exclusive one through each eviction),
 * then a check that the path still names FD's file. An eviction between the open and the flock
 * replaced it: the object's new file is opened onto FD (same flags; FD is fresh, so nothing
 * shares it) and ST updated. Returns 1 when pinned, 0 when it cannot be (the flock stayed busy
 * for a second, or FD refuses flocks): the object is then served as before, unpinned.
 */
static int
pin(int fd, const struct shim_path *p, struct stat *st)
{
	struct timespec ms = { 0, 1000 * 1000 };
	struct stat now;
	int tries, waits, nfd, fl, fdfl;

	for (tries = 0; tries < 8; tries++) {
		for (waits = 0; flock(fd, LOCK_SH | LOCK_NB) < 0; waits++) {
			/* The daemon holds LOCK_EX only for a check or an eviction: an instant. */
			if ((errno != EWOULDBLOCK && errno != EINTR) || waits == 1000)
				return 0;
			nanosleep(&ms, NULL);
		}
		if (stat(p->tree, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
			return 1;
		if ((fl = REAL(fcntl)(fd, F_GETFL)) < 0 || (fdfl = REAL(fcntl)(fd, F_GETFD)) < 0)
			return -errno;
		nfd = REAL(openat)(AT_FDCWD, p->tree, fl & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (nfd < 0)
			return -errno;
		if (REAL(dup3)(nfd, fd, (fdfl & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0) < 0) {
			REAL(close)(nfd);
			return -errno;
		}
		REAL(close)(nfd);
		if (REAL(fstat)(fd, st) < 0)
			return -errno;
		if (!S_ISREG(st->st_mode))
			return -ESTALE;
	}
	return -ESTALE;
}

/* FRESH: FD was just opened by us (not inherited: its file may be shared with another process). */
static int
track_open(int fd, const struct shim_path *p, bool fresh)
{
	struct shim_file *f;
	struct stat st;
	int rc, pinned = 0;

	if (fd < 0 || REAL(fstat)(fd, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return 0;
	f = file_new(p, &st);
	if (f == NULL)
		return -ENOMEM;
	if (S_ISDIR(st.st_mode)) {
		f->is_dir = true;
	} else {
		rc = load_map(f);
		/*
		 * A map that names this very file with every chunk present: complete, nothing to pin
		 * (the hit path). Anything else is pinned before it is trusted; if an eviction replaced
		 * the file between the open and the pin, pin() reopened FD and its map is read again.
		 */
		if (rc == 0 && fresh && !all_present(f, 0, f->nchunks)) {
			pinned = pin(fd, p, &st);
			if (pinned < 0) {
				rc = pinned;
			} else if (st.st_ino != f->ino || st.st_dev != f->dev) {
				file_free(f);
				f = file_new(p, &st);
				rc = f != NULL ? load_map(f) : -ENOMEM;
				if (f == NULL)
					return rc;
			}
		}
		if (rc < 0) {
			file_free(f);
			return rc;
		}
		shim_conn_touch(p->mount, p->key, (uint64_t)st.st_ino);
		if (shim.cfg.verify_on_open && (rc = verify_on_open(fd, f)) < 0) {
			file_free(f);
			return rc;
		}
		/* A complete file needs no pin: the daemon may replace it, our bytes stay. */
		if (all_present(f, 0, f->nchunks)) {
			file_free(f);
			if (pinned)
				flock(fd, LOCK_UN);
			mark_complete(fd);
			return 0;
		}
		/* Small objects are filled whole now; and an fd past the table must be complete. */
		if (f->nchunks <= SMALL_OBJECT_CHUNKS || (unsigned)fd >= shim_fd_kind_size) {
			rc = shim_file_ensure(f, fd, 0, 0);
			/* Its error was just reported: the first read must not wait out the same again. */
			atomic_store(&f->open_fill_failed, rc < 0);
			if ((unsigned)fd >= shim_fd_kind_size || atomic_load(&f->complete)) {
				file_free(f);
				if (pinned)
					flock(fd, LOCK_UN);
				mark_complete(fd);
				return (unsigned)fd >= shim_fd_kind_size ? rc : 0;
			}
		}
	}
	if ((unsigned)fd >= shim_fd_kind_size) {
		file_free(f);
		return 0;
	}
	/* An incomplete object open here stays pinned until closed (an inherited fd: pinned now). */
	if (!f->is_dir && !pinned)
		flock(fd, LOCK_SH | LOCK_NB);
	install(fd, f);
	return 0;
}

int
shim_track_open(int fd, const struct shim_path *p)
{
	return track_open(fd, p, true);
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

/*
 * FD was inherited before its file was complete and cannot be filled now: it is replaced by a
 * directory, so that every read of it fails (EISDIR), also the ones inside glibc's stdio that the
 * shim cannot see, instead of returning a hole's zeros.
 */
static void
refuse_reads(int fd, const char *vpath)
{
	int dir = REAL(openat)(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int flags = REAL(fcntl)(fd, F_GETFD);

	if (dir >= 0) {
		REAL(dup3)(dir, fd, flags >= 0 && (flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
		REAL(close)(dir);
	}
	uninstall(fd, NULL, FD_NONE);
	ms_warn("fd %d (%s) was inherited incomplete and could not be filled: its reads fail", fd,
	    vpath);
}

void
shim_fdtable_adopt_inherited(void)
{
	char proc[64], link[MS_PATH_MAX];
	struct shim_path p;
	struct dirent *de;
	DIR *d;
	ssize_t n;
	int fd;

	d = REAL(opendir)("/proc/self/fd");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = (int)strtol(de->d_name, NULL, 10);
		if (fd == dirfd(d))
			continue;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		n = REAL(readlink)(proc, link, sizeof link - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (shim_classify(AT_FDCWD, link, &p) != 1)
			continue;
		/*
		 * Whatever reads it here may do so inside glibc (stdio on stdin, say), where the shim
		 * cannot see: an inherited file is made complete before the program runs.
		 */
		if (track_open(fd, &p, false) < 0 || shim_fd_ensure(fd, 0, 0) < 0) {
			shim_untranslate(link, sizeof link);
			refuse_reads(fd, link);
		}
	}
	closedir(d);
}
